//! The validated chart: ledgers, chart of accounts, subject keys, components and entry templates.
//!
//! A `Chart` only exists if its file passed every check below, so planning never meets an
//! unknown account code, component or subject key in a template.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use ledger_core::AccountFlags;
use serde::Deserialize;

use crate::amount::SCALE_MAX;
use crate::config::{AccountRefFile, ChartFile, PostingFile, TemplateFile};
use crate::error::{ConfigError, ConfigProblem};
use crate::expression::{Expression, Rounding};

/// The only chart file format this build reads.
pub const CHART_FORMAT: u32 = 1;
/// The shipped default chart, used when no file is given.
pub const DEFAULT_CHART_TOML: &str = include_str!("../default.toml");
/// The name the shipped default goes by in messages.
pub const DEFAULT_CHART_FILE: &str = "default.toml";

pub const LEDGERS_MAX: usize = 64;
pub const ACCOUNTS_MAX: usize = 1024;
pub const TEMPLATES_MAX: usize = 256;
pub const SUBJECT_KEYS_MAX: usize = 32;
pub const COMPONENTS_MAX: usize = 32;
/// Postings of one template: one event becomes one linked chain of at most this many transfers.
pub const POSTINGS_MAX: usize = 32;
pub const NAME_BYTES_MAX: usize = 64;

/// The class of an account in the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountClass {
    Asset,
    Liability,
    Equity,
    Income,
    Expense,
}

impl AccountClass {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Asset => "asset",
            Self::Liability => "liability",
            Self::Equity => "equity",
            Self::Income => "income",
            Self::Expense => "expense",
        }
    }
}

/// The side on which an account's balance normally sits. Contra accounts (a coupon
/// contra-revenue in the income class, say) have the side opposite to their class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalSide {
    Debit,
    Credit,
}

impl NormalSide {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Debit => "debit",
            Self::Credit => "credit",
        }
    }
}

/// One ledger (book) of the chart: an asset and the scale of its amounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerSpec {
    pub id: u32,
    pub currency: String,
    /// Decimals of the major unit: 2 for CNY (amounts in fen).
    pub scale: u8,
}

/// One chart-of-accounts entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSpec {
    pub code: u16,
    pub name: String,
    pub class: AccountClass,
    pub normal: NormalSide,
    /// The flags every account of this code is opened with.
    pub flags: AccountFlags,
    pub ledgers: BTreeSet<u32>,
}

/// Which account a posting side names: a chart code, and the subject key that selects one
/// account per subject (`loan_note` → one receivable per loan note). `None`: platform-level.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountRef {
    pub code: u16,
    pub subject_key: Option<String>,
}

impl fmt::Display for AccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subject_key {
            Some(key) => write!(f, "{}[{key}]", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

/// One posting of a template: debit, credit, amount, optional condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    pub debit: AccountRef,
    pub credit: AccountRef,
    pub amount: Expression,
    pub when: Option<Expression>,
    pub rounding: Option<Rounding>,
    pub memo: String,
}

/// The template of one event type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryTemplate {
    pub event_type: String,
    /// The catalog event this entry records (`disbursement-succeeded`).
    pub catalog_event: String,
    /// The transfer code of every transfer this template posts.
    pub transfer_code: u16,
    pub ledger: u32,
    pub description: String,
    pub postings: Vec<Posting>,
    /// Every component the postings mention: the components an event of this type may carry.
    pub components: BTreeSet<String>,
}

/// A validated chart file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    file: String,
    version: u32,
    name: String,
    subjects: BTreeSet<String>,
    components: BTreeSet<String>,
    ledgers: BTreeMap<u32, LedgerSpec>,
    accounts: BTreeMap<u16, AccountSpec>,
    templates: BTreeMap<String, EntryTemplate>,
}

impl Chart {
    /// Parses and validates a chart file's text. `file` names it in error messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, ConfigError> {
        let raw: ChartFile = toml::from_str(text).map_err(|error| ConfigError {
            file: file.to_owned(),
            at: "syntax".to_owned(),
            problem: ConfigProblem::Syntax(error.to_string().trim_end().to_owned()),
        })?;
        Validator { file }.chart(raw)
    }

    /// Reads and validates a chart file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            file: file.clone(),
            at: "file".to_owned(),
            problem: ConfigProblem::Io(error.to_string()),
        })?;
        Self::from_toml(&file, &text)
    }

    /// The chart at `path`, or the shipped default when no path is given.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            Some(path) => Self::load(path),
            None => Self::from_toml(DEFAULT_CHART_FILE, DEFAULT_CHART_TOML),
        }
    }

    /// The shipped default (`ledger-events/default.toml`, embedded in the binary).
    #[must_use]
    pub fn shipped_default() -> Self {
        // The embedded text is fixed at build time and loaded by the crate's tests
        // (`shipped_default_loads`), so this cannot fail in a build that passed them.
        Self::from_toml(DEFAULT_CHART_FILE, DEFAULT_CHART_TOML).expect("the shipped default chart is valid")
    }

    #[must_use]
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The chart's revision, recorded with every entry posted from it (the template version).
    #[must_use]
    pub fn version(&self) -> u32 {
        self.version
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    #[must_use]
    pub fn ledger(&self, id: u32) -> Option<&LedgerSpec> {
        self.ledgers.get(&id)
    }

    pub fn ledgers(&self) -> impl Iterator<Item = &LedgerSpec> {
        self.ledgers.values()
    }

    #[must_use]
    pub fn account(&self, code: u16) -> Option<&AccountSpec> {
        self.accounts.get(&code)
    }

    /// Accounts in code order.
    pub fn accounts(&self) -> impl Iterator<Item = &AccountSpec> {
        self.accounts.values()
    }

    #[must_use]
    pub fn template(&self, event_type: &str) -> Option<&EntryTemplate> {
        self.templates.get(event_type)
    }

    /// Templates in event-type order.
    pub fn templates(&self) -> impl Iterator<Item = &EntryTemplate> {
        self.templates.values()
    }

    #[must_use]
    pub fn has_subject_key(&self, key: &str) -> bool {
        self.subjects.contains(key)
    }

    #[must_use]
    pub fn has_component(&self, component: &str) -> bool {
        self.components.contains(component)
    }
}

struct Validator<'a> {
    file: &'a str,
}

impl Validator<'_> {
    fn error(&self, at: impl Into<String>, problem: ConfigProblem) -> ConfigError {
        ConfigError { file: self.file.to_owned(), at: at.into(), problem }
    }

    fn chart(&self, raw: ChartFile) -> Result<Chart, ConfigError> {
        if raw.format != CHART_FORMAT {
            return Err(self.error(
                "format",
                ConfigProblem::UnsupportedFormat { found: raw.format, supported: CHART_FORMAT },
            ));
        }
        if raw.version == 0 {
            return Err(self.error("version", ConfigProblem::ZeroVersion));
        }
        let subjects = self.names("subjects", &raw.subjects, SUBJECT_KEYS_MAX)?;
        let components = self.names("components", &raw.components, COMPONENTS_MAX)?;
        let ledgers = self.ledgers(&raw)?;
        let accounts = self.accounts(&raw, &ledgers)?;
        let chart = Chart {
            file: self.file.to_owned(),
            version: raw.version,
            name: raw.name,
            subjects,
            components,
            ledgers,
            accounts,
            templates: BTreeMap::new(),
        };
        self.templates(chart, raw.templates)
    }

    fn names(&self, field: &str, names: &[String], max: usize) -> Result<BTreeSet<String>, ConfigError> {
        if names.is_empty() {
            return Err(self.error(field, ConfigProblem::Empty));
        }
        if names.len() > max {
            return Err(self.error(field, ConfigProblem::TooMany { max }));
        }
        let mut set = BTreeSet::new();
        for (index, name) in names.iter().enumerate() {
            let at = format!("{field}[{index}]");
            check_snake_name(name).map_err(|problem| self.error(&at, problem))?;
            if !set.insert(name.clone()) {
                return Err(self.error(at, ConfigProblem::Duplicate { value: name.clone() }));
            }
        }
        Ok(set)
    }

    fn ledgers(&self, raw: &ChartFile) -> Result<BTreeMap<u32, LedgerSpec>, ConfigError> {
        if raw.ledgers.is_empty() {
            return Err(self.error("ledgers", ConfigProblem::Empty));
        }
        if raw.ledgers.len() > LEDGERS_MAX {
            return Err(self.error("ledgers", ConfigProblem::TooMany { max: LEDGERS_MAX }));
        }
        let mut ledgers = BTreeMap::new();
        for (index, ledger) in raw.ledgers.iter().enumerate() {
            let at = |field: &str| format!("ledgers[{index}].{field}");
            if ledger.id == 0 {
                return Err(self.error(at("id"), ConfigProblem::Zero));
            }
            let currency_ok =
                ledger.currency.len() == 3 && ledger.currency.bytes().all(|b| b.is_ascii_uppercase());
            if !currency_ok {
                return Err(self.error(
                    at("currency"),
                    ConfigProblem::InvalidCurrency { value: ledger.currency.clone() },
                ));
            }
            if ledger.scale > SCALE_MAX {
                return Err(self.error(
                    at("scale"),
                    ConfigProblem::ScaleTooLarge { scale: ledger.scale, max: SCALE_MAX },
                ));
            }
            let spec = LedgerSpec { id: ledger.id, currency: ledger.currency.clone(), scale: ledger.scale };
            if ledgers.insert(ledger.id, spec).is_some() {
                return Err(self.error(at("id"), ConfigProblem::DuplicateLedger { ledger: ledger.id }));
            }
        }
        Ok(ledgers)
    }

    fn accounts(
        &self,
        raw: &ChartFile,
        ledgers: &BTreeMap<u32, LedgerSpec>,
    ) -> Result<BTreeMap<u16, AccountSpec>, ConfigError> {
        if raw.accounts.is_empty() {
            return Err(self.error("accounts", ConfigProblem::Empty));
        }
        if raw.accounts.len() > ACCOUNTS_MAX {
            return Err(self.error("accounts", ConfigProblem::TooMany { max: ACCOUNTS_MAX }));
        }
        let mut accounts = BTreeMap::new();
        for (index, account) in raw.accounts.iter().enumerate() {
            let at = |field: &str| format!("accounts[{index}].{field}");
            if account.code == 0 {
                return Err(self.error(at("code"), ConfigProblem::Zero));
            }
            if account.name.trim().is_empty() {
                return Err(self.error(at("name"), ConfigProblem::Empty));
            }
            let mut flags = AccountFlags::NONE;
            for flag in &account.flags {
                let known = AccountFlags::from_name(flag)
                    .filter(|f| *f != AccountFlags::LINKED && *f != AccountFlags::CLOSED)
                    .ok_or_else(|| {
                        self.error(at("flags"), ConfigProblem::UnknownFlag { flag: flag.clone() })
                    })?;
                flags = flags | known;
            }
            // A limit on the normal side would refuse the account's own balance: a receivable
            // (debit-normal) may limit its credits, a customer balance (credit-normal) its debits.
            let against = match account.normal {
                NormalSide::Debit => AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
                NormalSide::Credit => AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS,
            };
            if flags.contains(against) {
                let flag = AccountFlags::NAMES.iter().find(|(_, f)| *f == against).map_or("", |(n, _)| n);
                return Err(self.error(
                    at("flags"),
                    ConfigProblem::FlagAgainstNormalSide { flag, normal: account.normal.name() },
                ));
            }
            let account_ledgers: BTreeSet<u32> = match &account.ledgers {
                None => ledgers.keys().copied().collect(),
                Some(list) => {
                    if let Some(unknown) = list.iter().find(|l| !ledgers.contains_key(l)) {
                        return Err(
                            self.error(at("ledgers"), ConfigProblem::UnknownLedger { ledger: *unknown })
                        );
                    }
                    list.iter().copied().collect()
                }
            };
            let spec = AccountSpec {
                code: account.code,
                name: account.name.clone(),
                class: account.class,
                normal: account.normal,
                flags,
                ledgers: account_ledgers,
            };
            if accounts.insert(account.code, spec).is_some() {
                return Err(
                    self.error(at("code"), ConfigProblem::DuplicateAccountCode { code: account.code })
                );
            }
        }
        Ok(accounts)
    }

    fn templates(&self, mut chart: Chart, raw: Vec<TemplateFile>) -> Result<Chart, ConfigError> {
        if raw.is_empty() {
            return Err(self.error("templates", ConfigProblem::Empty));
        }
        if raw.len() > TEMPLATES_MAX {
            return Err(self.error("templates", ConfigProblem::TooMany { max: TEMPLATES_MAX }));
        }
        for (index, template) in raw.into_iter().enumerate() {
            let event_type = template.event_type.clone();
            let at_event_type = format!("templates[{index}].event_type");
            check_event_type(&event_type).map_err(|problem| self.error(&at_event_type, problem))?;
            if chart.templates.contains_key(&event_type) {
                return Err(self.error(at_event_type, ConfigProblem::DuplicateEventType { event_type }));
            }
            let validated = self.template(&chart, &format!("template {event_type:?}"), template)?;
            chart.templates.insert(event_type, validated);
        }
        Ok(chart)
    }

    fn template(&self, chart: &Chart, place: &str, raw: TemplateFile) -> Result<EntryTemplate, ConfigError> {
        let at = |field: &str| format!("{place} {field}");
        check_kebab_name(&raw.catalog_event).map_err(|problem| self.error(at("catalog_event"), problem))?;
        if raw.code == 0 {
            return Err(self.error(at("code"), ConfigProblem::Zero));
        }
        let ledger = match raw.ledger {
            Some(ledger) if chart.ledgers.contains_key(&ledger) => ledger,
            Some(ledger) => return Err(self.error(at("ledger"), ConfigProblem::UnknownLedger { ledger })),
            None => match chart.ledgers.keys().next() {
                Some(only) if chart.ledgers.len() == 1 => *only,
                _ => return Err(self.error(at("ledger"), ConfigProblem::LedgerRequired)),
            },
        };
        if raw.postings.is_empty() {
            return Err(self.error(at("postings"), ConfigProblem::NoPostings));
        }
        if raw.postings.len() > POSTINGS_MAX {
            return Err(self.error(at("postings"), ConfigProblem::TooMany { max: POSTINGS_MAX }));
        }
        let mut postings = Vec::with_capacity(raw.postings.len());
        let mut components = BTreeSet::new();
        for (index, posting) in raw.postings.into_iter().enumerate() {
            let place = format!("{place} postings[{index}]");
            let posting = self.posting(chart, ledger, &place, posting)?;
            components.extend(posting.amount.terms().keys().cloned());
            if let Some(when) = &posting.when {
                components.extend(when.terms().keys().cloned());
            }
            postings.push(posting);
        }
        Ok(EntryTemplate {
            event_type: raw.event_type,
            catalog_event: raw.catalog_event,
            transfer_code: raw.code,
            ledger,
            description: raw.description,
            postings,
            components,
        })
    }

    fn posting(
        &self,
        chart: &Chart,
        ledger: u32,
        place: &str,
        raw: PostingFile,
    ) -> Result<Posting, ConfigError> {
        let at = |field: &str| format!("{place}.{field}");
        let debit = raw.debit.ok_or_else(|| self.error(at("debit"), ConfigProblem::MissingSide))?;
        let credit = raw.credit.ok_or_else(|| self.error(at("credit"), ConfigProblem::MissingSide))?;
        let debit = self.account_ref(chart, ledger, &at("debit"), debit)?;
        let credit = self.account_ref(chart, ledger, &at("credit"), credit)?;
        if debit == credit {
            return Err(self.error(at("credit"), ConfigProblem::SameAccount));
        }
        let amount_text = raw.amount.ok_or_else(|| self.error(at("amount"), ConfigProblem::MissingAmount))?;
        let amount = Expression::parse(&amount_text).map_err(|error| {
            self.error(at("amount"), ConfigProblem::BadExpression { text: amount_text.clone(), error })
        })?;
        self.known_components(chart, &at("amount"), &amount)?;
        if !amount.can_be_positive() {
            let reason = format!("amount {amount_text:?} is never positive");
            return Err(self.error(at("amount"), ConfigProblem::NeverFires { reason }));
        }
        let when = match raw.when {
            None => None,
            Some(text) => {
                let when = Expression::parse_condition(&text).map_err(|error| {
                    self.error(at("when"), ConfigProblem::BadExpression { text: text.clone(), error })
                })?;
                self.known_components(chart, &at("when"), &when)?;
                if !when.can_be_positive() {
                    let reason = format!("condition {text:?} is never true");
                    return Err(self.error(at("when"), ConfigProblem::NeverFires { reason }));
                }
                Some(when)
            }
        };
        let rounding = match raw.rounding {
            None if amount.needs_rounding() => {
                return Err(self.error(at("rounding"), ConfigProblem::RoundingRequired { text: amount_text }));
            }
            None => None,
            Some(_) if !amount.needs_rounding() => {
                return Err(self.error(at("rounding"), ConfigProblem::RoundingUnused { text: amount_text }));
            }
            Some(name) => {
                Some(Rounding::from_name(&name).ok_or_else(|| {
                    self.error(at("rounding"), ConfigProblem::UnknownRounding { value: name })
                })?)
            }
        };
        Ok(Posting { debit, credit, amount, when, rounding, memo: raw.memo })
    }

    fn account_ref(
        &self,
        chart: &Chart,
        ledger: u32,
        at: &str,
        raw: AccountRefFile,
    ) -> Result<AccountRef, ConfigError> {
        let account = chart
            .accounts
            .get(&raw.code)
            .ok_or_else(|| self.error(at, ConfigProblem::UnknownAccountCode { code: raw.code }))?;
        if !account.ledgers.contains(&ledger) {
            return Err(self.error(at, ConfigProblem::AccountNotInLedger { code: raw.code, ledger }));
        }
        if let Some(key) = &raw.subject
            && !chart.subjects.contains(key)
        {
            return Err(
                self.error(format!("{at}.subject"), ConfigProblem::UnknownSubjectKey { key: key.clone() })
            );
        }
        Ok(AccountRef { code: raw.code, subject_key: raw.subject })
    }

    fn known_components(&self, chart: &Chart, at: &str, expression: &Expression) -> Result<(), ConfigError> {
        match expression.terms().keys().find(|c| !chart.components.contains(*c)) {
            Some(component) => {
                Err(self.error(at, ConfigProblem::UnknownComponent { component: component.clone() }))
            }
            None => Ok(()),
        }
    }
}

/// Subject keys and components: `[a-z][a-z0-9_]*`, at most `NAME_BYTES_MAX` bytes.
fn check_snake_name(name: &str) -> Result<(), ConfigProblem> {
    let ok = name.len() <= NAME_BYTES_MAX
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ConfigProblem::InvalidName { value: name.to_owned(), rule: "[a-z][a-z0-9_]*" })
    }
}

/// Event types: dot-separated snake_case words (`loan.disbursed`); `reversal` is reserved for
/// reversal events.
fn check_event_type(name: &str) -> Result<(), ConfigProblem> {
    let rule = "dot-separated [a-z][a-z0-9_]* words, not \"reversal\"";
    let ok = name != "reversal"
        && name.len() <= NAME_BYTES_MAX
        && name.split('.').all(|word| check_snake_name(word).is_ok());
    if ok { Ok(()) } else { Err(ConfigProblem::InvalidName { value: name.to_owned(), rule }) }
}

/// Catalog event names: kebab-case (`disbursement-succeeded`).
fn check_kebab_name(name: &str) -> Result<(), ConfigProblem> {
    let ok = name.len() <= NAME_BYTES_MAX
        && !name.is_empty()
        && name.split('-').all(|word| {
            !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok { Ok(()) } else { Err(ConfigProblem::InvalidName { value: name.to_owned(), rule: "kebab-case" }) }
}
