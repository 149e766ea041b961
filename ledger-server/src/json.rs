//! The JSON shapes of records, shared by the HTTP read API and the `ledger lookup` command.
//!
//! One rule for numbers: `u128` and `u64` values are decimal strings, because JSON parsers
//! commonly hold numbers as IEEE doubles, which are exact only up to 2^53; narrower integers
//! (`ledger`, `code`, `user_data_32`, `timeout`) are JSON numbers. Flags are lists of their
//! snake_case names in bit order (`AccountFlags::NAMES`, `TransferFlags::NAMES`). `docs/http.md`
//! documents these shapes and `http/openapi.rs` declares them; a change here changes both.

use ledger_core::{Account, AccountBalance, AccountFlags, Transfer, TransferFlags};
use serde_json::{Value, json};

/// Every field of an account, in the order of `docs/http.md`.
#[must_use]
pub fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id.to_string(),
        "ledger": account.ledger,
        "code": account.code,
        "flags": account_flag_names(account.flags),
        "debits_pending": account.debits_pending.to_string(),
        "debits_posted": account.debits_posted.to_string(),
        "credits_pending": account.credits_pending.to_string(),
        "credits_posted": account.credits_posted.to_string(),
        "user_data_128": account.user_data_128.to_string(),
        "user_data_64": account.user_data_64.to_string(),
        "user_data_32": account.user_data_32,
        "timestamp": account.timestamp.to_string(),
    })
}

/// Every field of a transfer, in the order of `docs/http.md`.
#[must_use]
pub fn transfer_json(transfer: &Transfer) -> Value {
    json!({
        "id": transfer.id.to_string(),
        "debit_account_id": transfer.debit_account_id.to_string(),
        "credit_account_id": transfer.credit_account_id.to_string(),
        "amount": transfer.amount.to_string(),
        "pending_id": transfer.pending_id.to_string(),
        "user_data_128": transfer.user_data_128.to_string(),
        "user_data_64": transfer.user_data_64.to_string(),
        "user_data_32": transfer.user_data_32,
        "timeout": transfer.timeout,
        "ledger": transfer.ledger,
        "code": transfer.code,
        "flags": transfer_flag_names(transfer.flags),
        "timestamp": transfer.timestamp.to_string(),
    })
}

/// An account's balances right after one of its transfers; `timestamp` is that transfer's.
#[must_use]
pub fn balance_json(balance: &AccountBalance) -> Value {
    json!({
        "debits_pending": balance.debits_pending.to_string(),
        "debits_posted": balance.debits_posted.to_string(),
        "credits_pending": balance.credits_pending.to_string(),
        "credits_posted": balance.credits_posted.to_string(),
        "timestamp": balance.timestamp.to_string(),
    })
}

/// The names of the set flags, in bit order. Stored records never carry reserved bits (the
/// engine refuses them with a result code), so every set bit has a name.
#[must_use]
pub fn account_flag_names(flags: AccountFlags) -> Vec<&'static str> {
    AccountFlags::NAMES.iter().filter(|(_, flag)| flags.contains(*flag)).map(|(name, _)| *name).collect()
}

/// The names of the set flags, in bit order (see `account_flag_names`).
#[must_use]
pub fn transfer_flag_names(flags: TransferFlags) -> Vec<&'static str> {
    TransferFlags::NAMES.iter().filter(|(_, flag)| flags.contains(*flag)).map(|(name, _)| *name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_json_has_every_field_with_wide_integers_as_strings() {
        let account = Account {
            id: u128::MAX - 1,
            debits_pending: 1,
            debits_posted: 2,
            credits_pending: 3,
            credits_posted: u128::MAX,
            user_data_128: 5,
            user_data_64: u64::MAX,
            user_data_32: 7,
            reserved: 0,
            ledger: 156,
            code: 1001,
            flags: AccountFlags::HISTORY | AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
            timestamp: 1_700_000_000_000_000_000,
        };
        let expected = json!({
            "id": "340282366920938463463374607431768211454",
            "ledger": 156,
            "code": 1001,
            "flags": ["debits_must_not_exceed_credits", "history"],
            "debits_pending": "1",
            "debits_posted": "2",
            "credits_pending": "3",
            "credits_posted": "340282366920938463463374607431768211455",
            "user_data_128": "5",
            "user_data_64": "18446744073709551615",
            "user_data_32": 7,
            "timestamp": "1700000000000000000",
        });
        assert_eq!(account_json(&account), expected);
    }

    #[test]
    fn transfer_json_has_every_field_and_flag_names() {
        let transfer = Transfer {
            id: 10,
            debit_account_id: 11,
            credit_account_id: 12,
            amount: 100_000,
            pending_id: 0,
            user_data_128: 13,
            user_data_64: 14,
            user_data_32: 15,
            timeout: 60,
            ledger: 156,
            code: 7,
            flags: TransferFlags::LINKED | TransferFlags::PENDING,
            timestamp: 99,
        };
        let value = transfer_json(&transfer);
        let expected = json!({
            "id": "10",
            "debit_account_id": "11",
            "credit_account_id": "12",
            "amount": "100000",
            "pending_id": "0",
            "user_data_128": "13",
            "user_data_64": "14",
            "user_data_32": 15,
            "timeout": 60,
            "ledger": 156,
            "code": 7,
            "flags": ["linked", "pending"],
            "timestamp": "99",
        });
        assert_eq!(value, expected);
    }

    #[test]
    fn every_flag_has_its_own_name() {
        let all = AccountFlags::NAMES.iter().fold(AccountFlags::NONE, |acc, (_, f)| acc | *f);
        assert_eq!(account_flag_names(all).len(), AccountFlags::NAMES.len());
        let all = TransferFlags(TransferFlags::KNOWN.0);
        assert_eq!(transfer_flag_names(all).len(), TransferFlags::NAMES.len());
        assert!(transfer_flag_names(TransferFlags::NONE).is_empty());
    }

    #[test]
    fn balance_json_has_the_four_balances_and_the_timestamp() {
        let balance = AccountBalance {
            debits_pending: 0,
            debits_posted: 500,
            credits_pending: 0,
            credits_posted: 1,
            timestamp: 42,
        };
        let expected = json!({
            "debits_pending": "0",
            "debits_posted": "500",
            "credits_pending": "0",
            "credits_posted": "1",
            "timestamp": "42",
        });
        assert_eq!(balance_json(&balance), expected);
    }
}
