//! Any text fed to the JSON-lines parser of `ledger post`: no panic (a bad line is a `LineError`
//! for the user, never a crash of the command), and what it accepts is self-consistent.
//!
//! Input: the bytes as a line when they are UTF-8 (the command reads lines as strings, so
//! invalid UTF-8 never reaches the parser).

#![no_main]

use ledger_server::cli::post_line::{LineKind, PostLine, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = parse_line(line) else { return };
    // The accessors must agree with the variant they read.
    match (&parsed, parsed.kind()) {
        (PostLine::Account(account), LineKind::Account) => assert_eq!(account.id.to_string(), parsed.id()),
        (PostLine::Transfer(transfer), LineKind::Transfer) => assert_eq!(transfer.id.to_string(), parsed.id()),
        (PostLine::Event(event), LineKind::Event) => assert_eq!(event.event_id, parsed.id()),
        (_, kind) => panic!("kind {kind:?} disagrees with the parsed line"),
    }
    let _ = parsed.is_linked();
});
