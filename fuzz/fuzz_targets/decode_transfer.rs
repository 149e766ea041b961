//! Any 128 bytes decode to a `Transfer` that encodes back to the same bytes, without panicking.

#![no_main]

use ledger_core::{TRANSFER_SIZE, Transfer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = data.first_chunk::<TRANSFER_SIZE>() else { return };
    let transfer = Transfer::from_bytes(bytes);
    assert_eq!(&transfer.to_bytes(), bytes, "encoding does not round-trip");
    let mut written = [0_u8; TRANSFER_SIZE];
    transfer.write_bytes(&mut written);
    assert_eq!(&written, bytes, "write_bytes differs from to_bytes");
    let flags = transfer.flags;
    let _ = (flags.has_reserved_bits(), flags.is_post_or_void(), flags.is_balancing(), flags.is_closing());
});
