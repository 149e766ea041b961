//! Async client for the binary protocol.
