//! `adapters`: the protocol codec, the Rust client, the history index store, exports and
//! event-bus adapters.
//!
//! Empty on purpose: nothing here exists yet. The server issue fills it; until then no code
//! depends on this crate.
