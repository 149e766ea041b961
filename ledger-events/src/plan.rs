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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use ledger_core::{Account, AccountFlags, Transfer, TransferFlags};
use rust_decimal::Decimal;

use crate::account_id::{self, Subject};
use crate::amount;
use crate::business_date::BusinessDate;
use crate::chart::{AccountRef, Chart, EntryTemplate, Posting};
use crate::error::EventError;
use crate::event::{self, LedgerEvent, LedgerEventRef, ReversalEvent, SUBJECT_VALUE_BYTES_MAX};
use crate::expression::Expression;

/// `user_data_32` of transfers of an original entry.
pub const ENTRY_KIND_ORIGINAL: u32 = 0;
/// `user_data_32` of transfers of a reversal entry.
pub const ENTRY_KIND_REVERSAL: u32 = 1;

/// Components below this many minor units (10^20) are computed on integers when every
/// coefficient of the template is a small integer (`Expression::evaluate_minor`); an event
/// with a larger component, or a template with a share (`interest * 0.03`), is computed in
/// decimals (`Expression::evaluate`). Both give the same amounts wherever the integer way
/// applies (`expression::INTEGER_COEFFICIENT_MAX`).
pub const FAST_MINOR_UNITS_MAX: u128 = 100_000_000_000_000_000_000;

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

/// What planning an event gives before anything is copied out of the chart or the event: the
/// template's transfer code, the postings that fire and the accounts they touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEntry<'a> {
    pub transfer_code: u16,
    /// The postings that fire, in chain order.
    pub postings: Vec<PlannedPosting>,
    /// Every account the postings touch, once each, in order of first use.
    pub accounts: Vec<TouchedAccount<'a>>,
}

/// An account a planned entry touches; its record is in the `AccountCache` that planned it
/// (`AccountCache::account`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TouchedAccount<'a> {
    pub reference: &'a AccountRef,
    pub id: u128,
    /// Where the record sits in the cache.
    slot: usize,
}

/// Account records by (ledger, code, subject), made once each for the events of one request:
/// an account id and a subject hash are a BLAKE3 hash each, and a loan's events name the same
/// few accounts again and again. Keys borrow the chart's subject keys and the lines' subject
/// values, so the cache lives as long as one request's lines and grows by at most the distinct
/// accounts they name.
#[derive(Debug)]
pub struct AccountCache<'a> {
    /// False for the cache of a single event (`Chart::plan`): account records are made every
    /// time (the entry's own deduplication by reference already holds them), which costs less
    /// than a map for the handful of accounts of one entry.
    remembers: bool,
    slots: HashMap<AccountKey<'a>, usize, foldhash::fast::RandomState>,
    accounts: Vec<CachedAccount>,
    /// Subject hashes by subject: all accounts of one loan note share one.
    subjects: HashMap<SubjectKey<'a>, u128, foldhash::fast::RandomState>,
    /// The same for a cache that remembers no accounts: an event's few subjects.
    event_subjects: Vec<(SubjectKey<'a>, u128)>,
}

/// Subject key (from the chart) and value (from the line; owned if it had escapes).
type SubjectKey<'a> = (&'a str, Cow<'a, str>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct AccountKey<'a> {
    ledger: u32,
    code: u16,
    subject: Option<SubjectKey<'a>>,
}

/// What an account record holds (the rest is zero, or the code).
#[derive(Clone, Copy, Debug)]
struct CachedAccount {
    id: u128,
    user_data_128: u128,
    ledger: u32,
    code: u16,
    flags: AccountFlags,
    /// Whether `hand_out` has returned this account.
    handed_out: bool,
}

impl Default for AccountCache<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> AccountCache<'a> {
    #[must_use]
    pub fn new() -> Self {
        Self { remembers: true, ..Self::single_event() }
    }

    /// A cache that remembers nothing: for planning a single event.
    fn single_event() -> Self {
        Self {
            remembers: false,
            slots: HashMap::default(),
            accounts: Vec::new(),
            subjects: HashMap::default(),
            event_subjects: Vec::new(),
        }
    }

    /// A cache with room for `accounts` accounts before it grows.
    #[must_use]
    pub fn with_capacity(accounts: usize) -> Self {
        Self {
            remembers: true,
            slots: HashMap::with_capacity_and_hasher(accounts, foldhash::fast::RandomState::default()),
            accounts: Vec::with_capacity(accounts),
            subjects: HashMap::with_capacity_and_hasher(accounts / 2, foldhash::fast::RandomState::default()),
            event_subjects: Vec::new(),
        }
    }

    /// The record of an account an entry planned with this cache touches (`None` for an
    /// account planned with another cache).
    #[must_use]
    pub fn account(&self, touched: &TouchedAccount<'_>) -> Option<Account> {
        self.accounts.get(touched.slot).filter(|cached| cached.id == touched.id).map(CachedAccount::record)
    }

    /// The id of `reference`'s account for `subject_value`, its record made on first use, and
    /// the record's slot.
    fn record(
        &mut self,
        chart: &Chart,
        ledger: u32,
        reference: &'a AccountRef,
        subject_value: Option<&Cow<'a, str>>,
    ) -> (u128, usize) {
        // A borrowed value is copied as a reference; only a value that had escapes is cloned.
        let subject = reference.subject_key.as_deref().zip(subject_value.cloned());
        let key = AccountKey { ledger, code: reference.code, subject };
        if self.remembers
            && let Some(&slot) = self.slots.get(&key)
            && let Some(cached) = self.accounts.get(slot)
        {
            return (cached.id, slot);
        }
        let user_data_128 = key.subject.as_ref().map_or(0, |subject| self.subject_hash(subject));
        let id = account_id::account_id(
            ledger,
            reference.code,
            key.subject.as_ref().map(|(key, value)| Subject { key, value }),
        );
        self.accounts.push(CachedAccount {
            id,
            user_data_128,
            ledger,
            code: reference.code,
            flags: chart.account_flags(reference.code),
            handed_out: false,
        });
        let slot = self.accounts.len() - 1;
        if self.remembers {
            self.slots.insert(key, slot);
        }
        (id, slot)
    }

    /// The hash of a subject, made once per subject (an entry names most of its subjects for
    /// several accounts: a repayment touches four accounts of its loan note).
    fn subject_hash(&mut self, subject: &SubjectKey<'a>) -> u128 {
        let hash = || account_id::subject_hash(Subject { key: subject.0, value: &subject.1 });
        if self.remembers {
            return *self.subjects.entry(subject.clone()).or_insert_with(hash);
        }
        if let Some((_, known)) = self.event_subjects.iter().find(|(known, _)| known == subject) {
            return *known;
        }
        let made = hash();
        self.event_subjects.push((subject.clone(), made));
        made
    }

    /// The records of `accounts` (planned with this cache) it has not handed out before, in
    /// order; they count as handed out from now on.
    pub fn hand_out(&mut self, accounts: &[TouchedAccount<'_>]) -> Vec<Account> {
        let mut new = Vec::new();
        for touched in accounts {
            if let Some(cached) = self.accounts.get_mut(touched.slot)
                && cached.id == touched.id
                && !cached.handed_out
            {
                cached.handed_out = true;
                new.push(cached.record());
            }
        }
        new
    }
}

impl CachedAccount {
    /// The record the account is opened with (zero balances and timestamp).
    fn record(&self) -> Account {
        Account {
            id: self.id,
            ledger: self.ledger,
            code: self.code,
            flags: self.flags,
            user_data_128: self.user_data_128,
            user_data_32: u32::from(self.code),
            ..Account::default()
        }
    }
}

impl Chart {
    /// Plans an event against its template. Pure: the same chart and event give the same plan.
    pub fn plan(&self, event: &LedgerEvent) -> Result<EntryPlan, EventError> {
        let borrowed = LedgerEventRef::from(event);
        let mut cache = AccountCache::single_event();
        let entry = self.plan_entry(&borrowed, &mut cache)?;
        // A fresh cache hands out every account the entry touches, once each, in order.
        let records = cache.hand_out(&entry.accounts);
        let accounts = entry
            .accounts
            .iter()
            .zip(records)
            .map(|(touched, account)| PlannedAccount {
                id: touched.id,
                reference: touched.reference.clone(),
                subject_value: touched
                    .reference
                    .subject_key
                    .as_deref()
                    .and_then(|key| event.subjects.get(key))
                    .cloned(),
                account,
            })
            .collect();
        Ok(EntryPlan {
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            ledger: event.ledger,
            transfer_code: entry.transfer_code,
            chart_version: self.version(),
            business_date: event.business_date,
            reverses: None,
            postings: entry.postings,
            accounts,
        })
    }

    /// Plans a borrowed event (`WireEventRef::parse`): the same checks, in the same order, with
    /// the same errors and amounts as `plan`. Account records come from `accounts` (made there
    /// on first use), so that the events of one request hash each account once.
    pub fn plan_entry<'a>(
        &'a self,
        event: &LedgerEventRef<'a>,
        accounts: &mut AccountCache<'a>,
    ) -> Result<PlannedEntry<'a>, EventError> {
        let mut scratch = PlanScratch::default();
        let transfer_code = self.plan_into(event, accounts, &mut scratch)?;
        Ok(PlannedEntry { transfer_code, postings: scratch.postings, accounts: scratch.touched })
    }

    /// `plan_entry` into reused buffers: the postings and the accounts touched are left in
    /// `scratch`, and the template's transfer code is returned.
    pub(crate) fn plan_into<'a>(
        &'a self,
        event: &LedgerEventRef<'a>,
        accounts: &mut AccountCache<'a>,
        scratch: &mut PlanScratch<'a>,
    ) -> Result<u16, EventError> {
        let PlanScratch { postings, touched, minor } = scratch;
        postings.clear();
        touched.clear();
        // The parser checks the id already; an event built in code gets the same check.
        if !event::valid_text(&event.event_id, event::EVENT_ID_BYTES_MAX) {
            return Err(EventError::InvalidEventId);
        }
        let template = self
            .template(&event.event_type)
            .ok_or_else(|| EventError::UnknownEventType { event_type: event.event_type.to_string() })?;
        let ledger = self.ledger(event.ledger).ok_or(EventError::UnknownLedger { ledger: event.ledger })?;
        if template.ledger != event.ledger {
            return Err(EventError::WrongLedger {
                event_type: event.event_type.to_string(),
                expected: template.ledger,
                found: event.ledger,
            });
        }
        let mut values = ComponentValues::new(template, event, ledger.scale, minor)?;
        for (key, value) in event.subjects() {
            if !self.has_subject_key(key) {
                return Err(EventError::UnknownSubject { key: key.to_owned() });
            }
            if !event::valid_text(value, SUBJECT_VALUE_BYTES_MAX) {
                return Err(EventError::InvalidSubjectValue { key: key.to_owned() });
            }
        }

        for (index, posting) in template.postings.iter().enumerate() {
            let Some(amount) = values.posting_amount(index, posting)? else { continue };
            let debit = self.resolve(event, index, &posting.debit, touched, accounts)?;
            let credit = self.resolve(event, index, &posting.credit, touched, accounts)?;
            postings.push(PlannedPosting {
                posting: index,
                debit_account_id: debit,
                credit_account_id: credit,
                amount,
            });
        }
        if postings.is_empty() {
            return Err(EventError::EmptyEntry { event_id: event.event_id.to_string() });
        }
        Ok(template.transfer_code)
    }

    /// The id of a posting side's account, adding its record to `touched` on first use.
    fn resolve<'a>(
        &self,
        event: &LedgerEventRef<'a>,
        posting: usize,
        reference: &'a AccountRef,
        touched: &mut Vec<TouchedAccount<'a>>,
        accounts: &mut AccountCache<'a>,
    ) -> Result<u128, EventError> {
        let subject_value = match &reference.subject_key {
            None => None,
            Some(key) => Some(event.subject(key).ok_or_else(|| EventError::MissingSubject {
                event_type: event.event_type.to_string(),
                posting,
                key: key.clone(),
            })?),
        };
        // The same reference resolves to the same account within one event: reuse its id
        // rather than hashing again (an entry names each account several times).
        if let Some(known) =
            touched.iter().find(|t| std::ptr::eq(t.reference, reference) || t.reference == reference)
        {
            return Ok(known.id);
        }
        let (id, slot) = accounts.record(self, event.ledger, reference, subject_value);
        if !touched.iter().any(|t| t.id == id) {
            touched.push(TouchedAccount { reference, id, slot });
        }
        Ok(id)
    }

    /// The flags every account of `code` is opened with.
    fn account_flags(&self, code: u16) -> AccountFlags {
        // Validation guarantees every template code is in the chart; an absent one would
        // simply open without flags, never panic.
        self.account(code).map(|a| a.flags).unwrap_or_default()
    }
}

/// Buffers `Chart::plan_into` reuses from one event to the next.
#[derive(Debug, Default)]
pub(crate) struct PlanScratch<'a> {
    pub(crate) postings: Vec<PlannedPosting>,
    pub(crate) touched: Vec<TouchedAccount<'a>>,
    minor: Vec<u128>,
}

/// The event's components, converted exactly: minor units always, decimals only when some
/// posting needs them (module docs of `expression` and `FAST_MINOR_UNITS_MAX`).
struct ComponentValues<'e> {
    event: &'e LedgerEventRef<'e>,
    scale: u8,
    /// The minor units of each component, in the event's (name) order.
    minor: &'e [u128],
    /// True if every expression of the template evaluates on minor units.
    integer: bool,
    /// Component → decimal value, made on first need.
    decimal: Option<BTreeMap<String, Decimal>>,
}

impl<'e> ComponentValues<'e> {
    /// Converts the event's components, refusing any the template does not use.
    fn new(
        template: &EntryTemplate,
        event: &'e LedgerEventRef<'e>,
        scale: u8,
        minor: &'e mut Vec<u128>,
    ) -> Result<Self, EventError> {
        minor.clear();
        for (component, text) in event.components() {
            if !template.components.contains(component) {
                return Err(EventError::UnknownComponent {
                    event_type: event.event_type.to_string(),
                    component: component.to_owned(),
                });
            }
            // Every component on its own must fit the ledger's u128 minor units too.
            let value = amount::parse_minor_units(text, scale)
                .map_err(|p| event::amount_error(p, component, text, scale))?;
            minor.push(value);
        }
        let integer = minor.iter().all(|value| *value < FAST_MINOR_UNITS_MAX)
            && template.postings.iter().all(|p| {
                p.amount.has_integer_coefficients()
                    && p.when.as_ref().is_none_or(Expression::has_integer_coefficients)
            });
        Ok(Self { event, scale, minor, integer, decimal: None })
    }

    /// `expression` on minor units, when that way applies.
    fn minor_sum(&self, expression: &Expression) -> Option<i128> {
        if !self.integer {
            return None;
        }
        expression.evaluate_minor(|name| {
            self.event.components().zip(self.minor).find(|((n, _), _)| *n == name).map(|(_, v)| *v)
        })
    }

    fn decimals(&mut self) -> Result<&BTreeMap<String, Decimal>, EventError> {
        if self.decimal.is_none() {
            let mut values = BTreeMap::new();
            for (component, text) in self.event.components() {
                let value = amount::parse(text, self.scale)
                    .map_err(|p| event::amount_error(p, component, text, self.scale))?;
                values.insert((*component).to_owned(), value);
            }
            self.decimal = Some(values);
        }
        Ok(self.decimal.get_or_insert_default())
    }

    fn overflow(&self, posting: usize, expression: &Expression) -> EventError {
        EventError::PostingOverflow {
            event_type: self.event.event_type.to_string(),
            posting,
            expression: expression.text().to_owned(),
        }
    }

    /// The amount posting `index` moves in minor units; `None` if its condition is false or
    /// the amount is zero (the posting is dropped).
    fn posting_amount(&mut self, index: usize, posting: &Posting) -> Result<Option<u128>, EventError> {
        let scale = self.scale;
        if let Some(when) = &posting.when {
            // Conditions only compare with zero, so no rounding is needed to decide them.
            let positive = match self.minor_sum(when) {
                Some(sum) => sum > 0,
                None => {
                    let value = when.evaluate(self.decimals()?, None, scale);
                    value.ok_or_else(|| self.overflow(index, when))? > Decimal::ZERO
                }
            };
            if !positive {
                return Ok(None);
            }
        }
        let event = self.event;
        let negative = || EventError::NegativePostingAmount {
            event_type: event.event_type.to_string(),
            posting: index,
            expression: posting.amount.text().to_owned(),
        };
        let minor = match self.minor_sum(&posting.amount) {
            Some(sum) if sum < 0 => return Err(negative()),
            Some(sum) => u128::try_from(sum).map_err(|_| self.overflow(index, &posting.amount))?,
            None => {
                let value = posting.amount.evaluate(self.decimals()?, posting.rounding, scale);
                let value = value.ok_or_else(|| self.overflow(index, &posting.amount))?;
                if value.is_sign_negative() && !value.is_zero() {
                    return Err(negative());
                }
                amount::to_minor_units(value.normalize(), scale)
                    .map_err(|_| self.overflow(index, &posting.amount))?
            }
        };
        Ok((minor != 0).then_some(minor))
    }
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
