//! Planning: an event and its template become the postings of one journal entry, with every
//! amount in minor units and every account resolved to its deterministic id.
//!
//! Checks run in this order, so that the same bad event always gets the same code:
//! 0. the event id is valid (`invalid_event_id`; the parser checks it too);
//! 1. the event type has a template (`unknown_event_type`);
//! 2. the ledger is in the chart (`unknown_ledger`) and is the template's (`wrong_ledger`);
//! 3. every component is one the template uses (`unknown_component`), in name order, and
//!    converts exactly (`invalid_amount`, `negative_amount`, `too_many_decimals`,
//!    `amount_overflow`);
//! 4. every subject key is in the chart (`unknown_subject`) with a valid value
//!    (`invalid_subject_value`), in key order;
//! 5. postings in template order: the condition, the amount (`negative_posting_amount`,
//!    `amount_overflow`), and, for a posting that fires, its subjects (`missing_subject`);
//! 6. at least one posting fires (`empty_entry`).
//!
//! A component the event leaves out counts as zero; postings whose amount is zero, or whose
//! condition is false, are dropped.

use std::collections::BTreeMap;

use ledger_core::{Account, Transfer, TransferFlags};
use rust_decimal::Decimal;

use crate::account_id::{self, Subject};
use crate::amount;
use crate::business_date::BusinessDate;
use crate::chart::{AccountRef, Chart, EntryTemplate};
use crate::error::EventError;
use crate::event::{self, LedgerEvent, ReversalEvent, SUBJECT_VALUE_BYTES_MAX};

/// `user_data_32` of transfers of an original entry.
pub const ENTRY_KIND_ORIGINAL: u32 = 0;
/// `user_data_32` of transfers of a reversal entry.
pub const ENTRY_KIND_REVERSAL: u32 = 1;

/// An account an entry touches: its chart reference, subject and the record to open it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedAccount {
    pub id: u128,
    pub reference: AccountRef,
    /// The subject value, for accounts kept per subject.
    pub subject_value: Option<String>,
    /// The account record to create on first use (zero balances and timestamp).
    pub account: Account,
}

/// One posting that fires: debit and credit account ids and the amount in minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedPosting {
    /// The posting's position in its template (0-based).
    pub posting: usize,
    pub debit_account_id: u128,
    pub credit_account_id: u128,
    pub amount: u128,
}

/// The balanced entry an event posts, before transfer ids are assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPlan {
    pub event_id: String,
    /// The template's event type (also for a reversal: the type of the entry it mirrors).
    pub event_type: String,
    pub ledger: u32,
    pub transfer_code: u16,
    /// The chart version the entry was planned with (the template version).
    pub chart_version: u32,
    pub business_date: BusinessDate,
    /// For a reversal: the event id of the entry it reverses.
    pub reverses: Option<String>,
    /// The postings that fire, in chain order.
    pub postings: Vec<PlannedPosting>,
    /// Every account the postings touch, once each, in order of first use.
    pub accounts: Vec<PlannedAccount>,
}

impl Chart {
    /// Plans an event against its template. Pure: the same chart and event give the same plan.
    pub fn plan(&self, event: &LedgerEvent) -> Result<EntryPlan, EventError> {
        // The parser checks the id already; an event built in code gets the same check.
        if !event::valid_text(&event.event_id, event::EVENT_ID_BYTES_MAX) {
            return Err(EventError::InvalidEventId);
        }
        let template = self
            .template(&event.event_type)
            .ok_or_else(|| EventError::UnknownEventType { event_type: event.event_type.clone() })?;
        let ledger = self.ledger(event.ledger).ok_or(EventError::UnknownLedger { ledger: event.ledger })?;
        if template.ledger != event.ledger {
            return Err(EventError::WrongLedger {
                event_type: event.event_type.clone(),
                expected: template.ledger,
                found: event.ledger,
            });
        }
        let values = component_values(template, event, ledger.scale)?;
        for (key, value) in &event.subjects {
            if !self.has_subject_key(key) {
                return Err(EventError::UnknownSubject { key: key.clone() });
            }
            if !event::valid_text(value, SUBJECT_VALUE_BYTES_MAX) {
                return Err(EventError::InvalidSubjectValue { key: key.clone() });
            }
        }

        let mut postings = Vec::with_capacity(template.postings.len());
        let mut accounts: Vec<PlannedAccount> = Vec::new();
        for (index, posting) in template.postings.iter().enumerate() {
            if let Some(when) = &posting.when {
                // Conditions only compare with zero, so no rounding is needed to decide them.
                let value = when.evaluate(&values, None, ledger.scale).ok_or_else(|| {
                    EventError::PostingOverflow {
                        event_type: event.event_type.clone(),
                        posting: index,
                        expression: when.text().to_owned(),
                    }
                })?;
                if value <= Decimal::ZERO {
                    continue;
                }
            }
            let overflow = || EventError::PostingOverflow {
                event_type: event.event_type.clone(),
                posting: index,
                expression: posting.amount.text().to_owned(),
            };
            let value =
                posting.amount.evaluate(&values, posting.rounding, ledger.scale).ok_or_else(overflow)?;
            if value.is_sign_negative() && !value.is_zero() {
                return Err(EventError::NegativePostingAmount {
                    event_type: event.event_type.clone(),
                    posting: index,
                    expression: posting.amount.text().to_owned(),
                });
            }
            let minor = amount::to_minor_units(value.normalize(), ledger.scale).map_err(|_| overflow())?;
            if minor == 0 {
                continue;
            }
            let debit = self.resolve(event, index, &posting.debit, &mut accounts)?;
            let credit = self.resolve(event, index, &posting.credit, &mut accounts)?;
            postings.push(PlannedPosting {
                posting: index,
                debit_account_id: debit,
                credit_account_id: credit,
                amount: minor,
            });
        }
        if postings.is_empty() {
            return Err(EventError::EmptyEntry { event_id: event.event_id.clone() });
        }
        Ok(EntryPlan {
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            ledger: event.ledger,
            transfer_code: template.transfer_code,
            chart_version: self.version(),
            business_date: event.business_date,
            reverses: None,
            postings,
            accounts,
        })
    }

    /// The id of a posting side's account, adding its record to `accounts` on first use.
    fn resolve(
        &self,
        event: &LedgerEvent,
        posting: usize,
        reference: &AccountRef,
        accounts: &mut Vec<PlannedAccount>,
    ) -> Result<u128, EventError> {
        let subject_value = match &reference.subject_key {
            None => None,
            Some(key) => Some(event.subjects.get(key).ok_or_else(|| EventError::MissingSubject {
                event_type: event.event_type.clone(),
                posting,
                key: key.clone(),
            })?),
        };
        let subject = reference
            .subject_key
            .as_deref()
            .zip(subject_value.map(String::as_str))
            .map(|(key, value)| Subject { key, value });
        // The same reference resolves to the same account within one event: reuse its id
        // rather than hashing again (an entry names each account several times).
        if let Some(known) = accounts.iter().find(|a| a.reference == *reference) {
            return Ok(known.id);
        }
        let id = account_id::account_id(event.ledger, reference.code, subject);
        if !accounts.iter().any(|a| a.id == id) {
            // Validation guarantees every template code is in the chart; an absent one would
            // simply open without flags, never panic.
            let flags = self.account(reference.code).map(|a| a.flags).unwrap_or_default();
            let account = Account {
                id,
                ledger: event.ledger,
                code: reference.code,
                flags,
                user_data_128: subject.map_or(0, account_id::subject_hash),
                user_data_32: u32::from(reference.code),
                ..Account::default()
            };
            accounts.push(PlannedAccount {
                id,
                reference: reference.clone(),
                subject_value: subject_value.cloned(),
                account,
            });
        }
        Ok(id)
    }
}

/// Converts the event's components exactly, refusing any the template does not use.
fn component_values(
    template: &EntryTemplate,
    event: &LedgerEvent,
    scale: u8,
) -> Result<BTreeMap<String, Decimal>, EventError> {
    let mut values = BTreeMap::new();
    for (component, text) in &event.components {
        if !template.components.contains(component) {
            return Err(EventError::UnknownComponent {
                event_type: event.event_type.clone(),
                component: component.clone(),
            });
        }
        let value = amount::parse(text, scale).map_err(|p| event::amount_error(p, component, text, scale))?;
        // Every component on its own must fit the ledger's u128 minor units too.
        amount::to_minor_units(value, scale).map_err(|p| event::amount_error(p, component, text, scale))?;
        values.insert(component.clone(), value);
    }
    Ok(values)
}

impl EntryPlan {
    /// The entry as one linked chain of transfers with ids `first_transfer_id, +1, ...`: all
    /// but the last carry `linked`, so the engine applies all of them or none.
    ///
    /// Every transfer carries the ledger, the template's transfer code, `user_data_128` = the
    /// hash of the event id (`account_id::event_hash`, so the transfers of an event can be
    /// found), `user_data_64` = the business date as `YYYYMMDD`, and `user_data_32` =
    /// `ENTRY_KIND_ORIGINAL` or `ENTRY_KIND_REVERSAL`.
    pub fn transfers(&self, first_transfer_id: u128) -> Result<Vec<Transfer>, EventError> {
        let count = self.postings.len();
        let out_of_range = || EventError::TransferIdOutOfRange { first: first_transfer_id, count };
        let last_id = u128::try_from(count)
            .ok()
            .and_then(|n| first_transfer_id.checked_add(n))
            .and_then(|end| end.checked_sub(1))
            .ok_or_else(out_of_range)?;
        if first_transfer_id == 0 || last_id == u128::MAX {
            return Err(out_of_range());
        }
        let user_data_128 = account_id::event_hash(&self.event_id);
        let user_data_32 = if self.reverses.is_some() { ENTRY_KIND_REVERSAL } else { ENTRY_KIND_ORIGINAL };
        let mut transfers = Vec::with_capacity(count);
        for (offset, (posting, id)) in self.postings.iter().zip(first_transfer_id..=last_id).enumerate() {
            let last = offset + 1 == count;
            transfers.push(Transfer {
                id,
                debit_account_id: posting.debit_account_id,
                credit_account_id: posting.credit_account_id,
                amount: posting.amount,
                user_data_128,
                user_data_64: self.business_date.as_yyyymmdd(),
                user_data_32,
                ledger: self.ledger,
                code: self.transfer_code,
                flags: if last { TransferFlags::NONE } else { TransferFlags::LINKED },
                ..Transfer::default()
            });
        }
        Ok(transfers)
    }

    /// The records of the accounts this entry touches, to create before the transfers (an
    /// account that already exists answers `exists`).
    #[must_use]
    pub fn accounts_to_open(&self) -> Vec<Account> {
        self.accounts.iter().map(|a| a.account).collect()
    }

    /// The reversal (红冲) of this entry: every posting mirrored (debit and credit swapped), in
    /// reverse order, so that the chain undoes the original last-first and never passes
    /// through a state the original did not (balance limits hold all the way).
    pub fn reversal(&self, event: &ReversalEvent) -> Result<EntryPlan, EventError> {
        if self.reverses.is_some() {
            return Err(EventError::ReversalOfReversal { event_id: self.event_id.clone() });
        }
        if event.reverses != self.event_id {
            return Err(EventError::ReversalMismatch {
                reverses: event.reverses.clone(),
                event_id: self.event_id.clone(),
            });
        }
        if event.ledger != self.ledger {
            return Err(EventError::WrongLedger {
                event_type: crate::event::REVERSAL_EVENT_TYPE.to_owned(),
                expected: self.ledger,
                found: event.ledger,
            });
        }
        let postings = self
            .postings
            .iter()
            .rev()
            .map(|p| PlannedPosting {
                posting: p.posting,
                debit_account_id: p.credit_account_id,
                credit_account_id: p.debit_account_id,
                amount: p.amount,
            })
            .collect();
        Ok(EntryPlan {
            event_id: event.event_id.clone(),
            event_type: self.event_type.clone(),
            ledger: self.ledger,
            transfer_code: self.transfer_code,
            chart_version: self.chart_version,
            business_date: event.business_date,
            reverses: Some(self.event_id.clone()),
            postings,
            accounts: self.accounts.clone(),
        })
    }

    /// The sum of the entry's amounts (both sides are equal by construction).
    #[must_use]
    pub fn total(&self) -> Option<u128> {
        self.postings.iter().try_fold(0_u128, |sum, p| sum.checked_add(p.amount))
    }
}
