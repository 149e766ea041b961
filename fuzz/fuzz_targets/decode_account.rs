//! Any 128 bytes decode to an `Account` that encodes back to the same bytes, without panicking.

#![no_main]

use ledger_core::{ACCOUNT_SIZE, Account};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = data.first_chunk::<ACCOUNT_SIZE>() else { return };
    let account = Account::from_bytes(bytes);
    assert_eq!(&account.to_bytes(), bytes, "encoding does not round-trip");
    let mut written = [0_u8; ACCOUNT_SIZE];
    account.write_bytes(&mut written);
    assert_eq!(&written, bytes, "write_bytes differs from to_bytes");
    // The derived views must not panic on any record either.
    let _ =
        (account.credit_balance_posted(), account.debit_balance_posted(), account.flags.has_reserved_bits());
});
