//! `AccountPostings`: for every account that appears in a transfer, its `PostingList`.
//!
//! Account ids map to a dense number through the engine's `IdIndex` (24-byte slots, 32 to 48
//! bytes per account), and the lists sit in one `Vec` by that number: an account costs its
//! slot, a 24-byte list header and its list's allocation.

use crate::posting::{Posting, PostingList};
use ledger_core::id_index::IdIndex;

#[derive(Debug, Default)]
pub struct AccountPostings {
    /// Account id -> index into `lists`.
    numbers: IdIndex,
    lists: Vec<PostingList>,
    /// Sum of the lists' allocations, kept as they grow (summing them on demand would walk
    /// every account).
    list_bytes: usize,
}

/// Bytes an `AccountPostings` holds, by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountPostingsMemory {
    pub accounts: usize,
    /// The id -> number table.
    pub id_table_bytes: usize,
    /// The list headers.
    pub list_header_bytes: usize,
    /// The postings themselves, with the room the lists have reserved.
    pub posting_bytes: usize,
}

impl AccountPostings {
    /// Appends `posting` to `account_id`'s list, creating the list on the account's first
    /// transfer. The caller has checked that the id is neither 0 nor `u128::MAX`.
    #[inline]
    pub fn append(&mut self, account_id: u128, posting: Posting) {
        let number = match self.numbers.get(account_id) {
            Some(number) => number,
            None => {
                let number = self.lists.len() as u64;
                self.numbers.insert_new(account_id, number);
                self.lists.push(PostingList::default());
                number
            }
        };
        // `number` came from `lists.len()` when the account was added, and lists only grow.
        let list = usize::try_from(number).ok().and_then(|n| self.lists.get_mut(n));
        let Some(list) = list else { unreachable!("account number {number} without a list") };
        self.list_bytes += list.push(posting);
    }

    /// A hint that `account_id` is about to be appended to: loads its table slot early.
    #[inline]
    pub fn prefetch(&self, account_id: u128) {
        self.numbers.prefetch(account_id);
    }

    #[must_use]
    pub fn postings(&self, account_id: u128) -> Option<&PostingList> {
        let number = usize::try_from(self.numbers.get(account_id)?).ok()?;
        self.lists.get(number)
    }

    #[must_use]
    pub fn memory(&self) -> AccountPostingsMemory {
        AccountPostingsMemory {
            accounts: self.lists.len(),
            id_table_bytes: self.numbers.allocated_bytes(),
            list_header_bytes: self.lists.capacity() * std::mem::size_of::<PostingList>(),
            posting_bytes: self.list_bytes,
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
        accounts.append(7, Posting::new(0, Side::Debit));
        accounts.append(u128::MAX - 1, Posting::new(0, Side::Credit));
        accounts.append(7, Posting::new(1, Side::Credit));
        let seven = accounts.postings(7).expect("account 7");
        assert_eq!(seven.len(), 2);
        assert_eq!(seven.get(0), Some(Posting::new(0, Side::Debit)));
        assert_eq!(seven.get(1), Some(Posting::new(1, Side::Credit)));
        assert_eq!(accounts.postings(u128::MAX - 1).map(PostingList::len), Some(1));
        assert!(accounts.postings(8).is_none());
        let memory = accounts.memory();
        assert_eq!(memory.accounts, 2);
        assert!(memory.posting_bytes >= 3 * crate::posting::POSTING_SIZE);
    }
}
