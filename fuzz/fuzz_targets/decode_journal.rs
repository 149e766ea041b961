//! Any bytes as a `journal.log` record and as a standard ledger event's record (`EventNote`):
//! the decoders never panic, and what they accept is a fixed point (an accepted note encodes
//! back to the same bytes; an accepted record's notes lie inside its batch, in order).

#![no_main]

use ledger_durability::journal_log::decode_record;
use ledger_events::EventNote;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = EventNote::decode(data) {
        let mut encoded = Vec::new();
        assert!(note.encode(&mut encoded), "an accepted note re-encodes");
        assert_eq!(encoded, data, "an accepted note is its own encoding");
    }
    if let Ok(record) = decode_record(data) {
        assert!(record.record_len <= data.len() && record.record_len.is_multiple_of(8));
        let mut next_free = 0_u64;
        for note in &record.notes {
            assert!(note.count > 0 && u64::from(note.first) >= next_free);
            next_free = u64::from(note.first) + u64::from(note.count);
            assert!(next_free <= u64::from(record.event_count));
            let _ = EventNote::decode(note.payload);
        }
    }
});
