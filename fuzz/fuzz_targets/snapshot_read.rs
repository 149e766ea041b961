//! Any bytes as a snapshot: `read_snapshot` never panics (nor aborts on a huge allocation: the
//! counts in its header must be checked against the bytes, not trusted), and a snapshot it
//! accepts is a fixed point: writing the loaded ledger and reading that back gives a ledger that
//! writes the very same bytes, at the same log position.

#![no_main]

use ledger_core::transfer_store::MemoryTransferStore;
use ledger_core::{Ledger, LedgerConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = LedgerConfig::default();
    let Ok((ledger, position)) = Ledger::read_snapshot(config, MemoryTransferStore::new(), &mut &data[..])
    else {
        return;
    };
    let mut written = Vec::new();
    ledger.write_snapshot(position, &mut written).expect("writing to memory");
    let (again, again_position) =
        Ledger::read_snapshot(config, MemoryTransferStore::new(), &mut &written[..])
            .expect("a snapshot the ledger wrote reads back");
    assert_eq!(again_position, position);
    let mut rewritten = Vec::new();
    again.write_snapshot(again_position, &mut rewritten).expect("writing to memory");
    assert_eq!(rewritten, written, "a loaded snapshot writes back the same bytes");
});
