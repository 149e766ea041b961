//! Account ids come from (ledger, code, subject key, subject value) alone: the same inputs give
//! the same id on every run and machine, different inputs give different ids, and no id is 0
//! or u128::MAX.

use std::collections::BTreeMap;

use ledger_events::{Subject, account_id, event_hash};
use proptest::prelude::*;

#[test]
fn known_ids_are_pinned() {
    // Changing the derivation would silently open new accounts for existing loan notes: these
    // values must never change (docs/events.md documents the encoding).
    assert_eq!(account_id(156, 1122, Some(Subject { key: "loan_note", value: "L1" })), PINNED_RECEIVABLE);
    assert_eq!(account_id(156, 6011, None), PINNED_INTEREST_INCOME);
    assert_eq!(event_hash("E1"), PINNED_EVENT_E1);
}

const PINNED_RECEIVABLE: u128 = 300_073_869_116_891_301_284_563_867_438_258_375_216;
const PINNED_INTEREST_INCOME: u128 = 32_643_099_003_347_083_973_753_132_452_067_018_968;
const PINNED_EVENT_E1: u128 = 31_696_967_772_813_954_039_356_602_114_500_491_032;

#[test]
fn each_part_of_the_key_changes_the_id() {
    let base = account_id(156, 1122, Some(Subject { key: "loan_note", value: "L1" }));
    assert_ne!(base, account_id(840, 1122, Some(Subject { key: "loan_note", value: "L1" })));
    assert_ne!(base, account_id(156, 1131, Some(Subject { key: "loan_note", value: "L1" })));
    assert_ne!(base, account_id(156, 1122, Some(Subject { key: "customer", value: "L1" })));
    assert_ne!(base, account_id(156, 1122, Some(Subject { key: "loan_note", value: "L2" })));
    assert_ne!(base, account_id(156, 1122, None));
}

/// (ledger, code, optional (subject key, subject value)).
type AccountKey = (u32, u16, Option<(String, String)>);

fn subject_strategy() -> impl Strategy<Value = Option<(String, String)>> {
    proptest::option::of(("[a-z_]{0,6}", "[A-Za-z0-9]{0,6}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn distinct_keys_never_collide_in_a_sample(
        keys in proptest::collection::btree_set((0_u32..4, 0_u16..6, subject_strategy()), 1..200)
    ) {
        let mut seen: BTreeMap<u128, AccountKey> = BTreeMap::new();
        for (ledger, code, subject) in keys {
            let id = account_id(ledger, code, subject.as_ref().map(|(key, value)| Subject { key, value }));
            prop_assert_ne!(id, 0);
            prop_assert_ne!(id, u128::MAX);
            let again = account_id(ledger, code, subject.as_ref().map(|(key, value)| Subject { key, value }));
            prop_assert_eq!(id, again, "deterministic");
            if let Some(other) = seen.insert(id, (ledger, code, subject.clone())) {
                prop_assert!(false, "{:?} and {:?} share id {}", other, (ledger, code, subject), id);
            }
        }
    }

    #[test]
    fn moving_bytes_between_key_and_value_changes_the_id(text in "[a-z]{2,12}", split in 1_usize..12) {
        let split = split.min(text.len() - 1);
        let (key, value) = text.split_at(split);
        let joined = account_id(156, 1122, Some(Subject { key, value }));
        let (key2, value2) = text.split_at(split + 1);
        prop_assume!(split + 1 < text.len());
        prop_assert_ne!(joined, account_id(156, 1122, Some(Subject { key: key2, value: value2 })));
    }
}
