//! `AccountPostings`: for every account that appears in a transfer, its posting list.
//!
//! Account ids map to a list number through the engine's `IdIndex` (24-byte slots, 32 to 48
//! bytes per account); the lists live in `PostingLists` (a 16-byte head per account, postings
//! in segments). So an account costs about 50 to 65 bytes plus its postings.

use crate::posting::Posting;
use crate::posting_lists::{ArenaFull, ListNumber, ListView, PostingLists};
use ledger_core::id_index::IdIndex;

#[derive(Debug, Default)]
pub struct AccountPostings {
    /// Account id -> list number.
    numbers: IdIndex,
    lists: PostingLists,
}

/// Bytes an `AccountPostings` holds, by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountPostingsMemory {
    pub accounts: usize,
    /// The id -> list number table.
    pub id_table_bytes: usize,
    /// The list heads.
    pub list_head_bytes: usize,
    /// The segments holding the postings, with the room reserved for more.
    pub posting_bytes: usize,
}

impl AccountPostings {
    /// Appends `posting` to `account_id`'s list, creating the list on the account's first
    /// transfer. `number` is the account's list if the caller has looked it up already. The
    /// caller has checked that the id is neither 0 nor `u128::MAX`.
    #[inline]
    pub fn append(
        &mut self,
        account_id: u128,
        number: Option<ListNumber>,
        posting: Posting,
    ) -> Result<(), ArenaFull> {
        let number = match number.or_else(|| self.number(account_id)) {
            Some(number) => number,
            None => {
                let number = self.lists.create();
                self.numbers.insert_new(account_id, number.to_u64());
                number
            }
        };
        self.lists.push(number, posting)
    }

    /// The account's list, if it has postings.
    #[inline]
    #[must_use]
    pub fn number(&self, account_id: u128) -> Option<ListNumber> {
        ListNumber::from_u64(self.numbers.get(account_id)?)
    }

    /// Hints that `account_id` is about to be looked up: loads its table slot.
    #[inline]
    pub fn prefetch_number(&self, account_id: u128) {
        self.numbers.prefetch(account_id);
    }

    /// Hints that `number`'s list is about to be appended to: loads its head.
    #[inline]
    pub fn prefetch_list(&self, number: ListNumber) {
        self.lists.prefetch_head(number);
    }

    /// Hints that `number`'s list is about to be appended to: loads where the posting goes.
    #[inline]
    pub fn prefetch_tail(&self, number: ListNumber) {
        self.lists.prefetch_tail(number);
    }

    /// Accounts with a list. Their list numbers are `0..account_count()`, in order of first
    /// posting.
    #[must_use]
    pub fn account_count(&self) -> usize {
        self.lists.lists()
    }

    /// The accounts numbered `first` or above, as (list number, id), in no particular order.
    pub fn numbered_from(&self, first: u64) -> impl Iterator<Item = (u64, u128)> + '_ {
        let (_, _, slots) = self.numbers.raw();
        // A slot is [id low half, id high half, list number]; all zero is empty (id 0 is never
        // stored).
        slots
            .iter()
            .filter(move |&&[low, high, number]| (low != 0 || high != 0) && number >= first)
            .map(|&[low, high, number]| (number, u128::from(low) | u128::from(high) << 64))
    }

    #[must_use]
    pub fn postings(&self, account_id: u128) -> Option<ListView<'_>> {
        self.lists.view(self.number(account_id)?)
    }

    #[must_use]
    pub fn memory(&self) -> AccountPostingsMemory {
        let (list_head_bytes, posting_bytes) = self.lists.allocated_bytes();
        AccountPostingsMemory {
            accounts: self.lists.lists(),
            id_table_bytes: self.numbers.allocated_bytes(),
            list_head_bytes,
            posting_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posting::Side;

    #[test]
    fn each_account_gets_its_own_postings_in_order() {
        let mut accounts = AccountPostings::default();
        accounts.append(7, None, Posting::new(0, Side::Debit)).expect("room");
        accounts.append(u128::MAX - 1, None, Posting::new(0, Side::Credit)).expect("room");
        let seven = accounts.number(7);
        accounts.append(7, seven, Posting::new(1, Side::Credit)).expect("room");
        let postings = accounts.postings(7).expect("account 7");
        assert_eq!(postings.len(), 2);
        assert_eq!(postings.get(0), Some(Posting::new(0, Side::Debit)));
        assert_eq!(postings.get(1), Some(Posting::new(1, Side::Credit)));
        assert_eq!(accounts.postings(u128::MAX - 1).map(|l| l.len()), Some(1));
        assert_eq!(accounts.account_count(), 2);
        let mut numbered: Vec<_> = accounts.numbered_from(0).collect();
        numbered.sort_unstable();
        assert_eq!(numbered, [(0, 7), (1, u128::MAX - 1)]);
        assert_eq!(accounts.numbered_from(1).collect::<Vec<_>>(), [(1, u128::MAX - 1)]);
        assert!(accounts.postings(8).is_none());
        let memory = accounts.memory();
        assert_eq!(memory.accounts, 2);
        assert!(memory.posting_bytes >= 3 * crate::posting::POSTING_SIZE);
    }
}
