//! Standard ledger events (work in progress).
