//! The binary wire protocol (docs/protocol.md).
