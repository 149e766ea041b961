//! The history index.
