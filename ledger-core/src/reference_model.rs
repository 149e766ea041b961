//! Filled in by the reference-model work.
