//! Creating an account: the checks in precedence order (`docs/result-codes.md`), then the insert.

use super::Ledger;
use super::chain::Undo;
use crate::account::{Account, AccountFlags};
use crate::result::CreateAccountResult as R;
use crate::transfer_store::TransferStore;

impl<S: TransferStore> Ledger<S> {
    pub(super) fn create_account(&mut self, a: &Account, timestamp: u64) -> R {
        if a.timestamp != 0 {
            return R::TimestampMustBeZero;
        }
        if a.reserved != 0 {
            return R::ReservedField;
        }
        if a.flags.has_reserved_bits() {
            return R::ReservedFlag;
        }
        if a.id == 0 {
            return R::IdMustNotBeZero;
        }
        if a.id == u128::MAX {
            return R::IdMustNotBeIntMax;
        }
        if let Some(position) = self.account_index.get(a.id) {
            return account_exists(a, self.account_at(position));
        }
        if a.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
            && a.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
        {
            return R::FlagsAreMutuallyExclusive;
        }
        if a.debits_pending != 0 {
            return R::DebitsPendingMustBeZero;
        }
        if a.debits_posted != 0 {
            return R::DebitsPostedMustBeZero;
        }
        if a.credits_pending != 0 {
            return R::CreditsPendingMustBeZero;
        }
        if a.credits_posted != 0 {
            return R::CreditsPostedMustBeZero;
        }
        if a.ledger == 0 {
            return R::LedgerMustNotBeZero;
        }
        if a.code == 0 {
            return R::CodeMustNotBeZero;
        }
        if self.accounts.len() as u64 >= self.config.accounts_max {
            return R::AccountsCapacityReached;
        }

        let position = self.accounts.push(Account { timestamp, ..*a }) as u64;
        self.account_index.insert_new(a.id, position);
        self.undo.record(|| Undo::AccountCreated { id: a.id });
        R::Ok
    }
}

/// Compares a resubmitted account with the stored one. Balances and the `closed` flag are state,
/// not part of what the client submitted, so they are not compared.
fn account_exists(a: &Account, e: &Account) -> R {
    let mutable = AccountFlags::CLOSED;
    if a.flags.without(mutable) != e.flags.without(mutable) {
        return R::ExistsWithDifferentFlags;
    }
    if a.user_data_128 != e.user_data_128 {
        return R::ExistsWithDifferentUserData128;
    }
    if a.user_data_64 != e.user_data_64 {
        return R::ExistsWithDifferentUserData64;
    }
    if a.user_data_32 != e.user_data_32 {
        return R::ExistsWithDifferentUserData32;
    }
    if a.ledger != e.ledger {
        return R::ExistsWithDifferentLedger;
    }
    if a.code != e.code {
        return R::ExistsWithDifferentCode;
    }
    R::Exists
}
