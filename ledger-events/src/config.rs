//! The chart file as written (TOML), before validation. `chart.rs` turns it into a `Chart`.
//!
//! Unknown keys are refused everywhere (`deny_unknown_fields`), so a misspelt key is an error,
//! not a silently ignored setting. Optional sides of a posting are `Option`s so that a missing
//! side is reported by the validator with the template's name, not by the TOML decoder.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChartFile {
    pub format: u32,
    pub version: u32,
    #[serde(default)]
    pub name: String,
    pub subjects: Vec<String>,
    pub components: Vec<String>,
    pub ledgers: Vec<LedgerFile>,
    pub accounts: Vec<AccountFile>,
    pub templates: Vec<TemplateFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LedgerFile {
    pub id: u32,
    pub currency: String,
    pub scale: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountFile {
    pub code: u16,
    pub name: String,
    pub class: crate::chart::AccountClass,
    pub normal: crate::chart::NormalSide,
    #[serde(default)]
    pub flags: Vec<String>,
    /// The ledgers this code is kept in; all ledgers of the file when absent.
    pub ledgers: Option<Vec<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateFile {
    pub event_type: String,
    pub catalog_event: String,
    pub code: u16,
    pub ledger: Option<u32>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub postings: Vec<PostingFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostingFile {
    pub debit: Option<AccountRefFile>,
    pub credit: Option<AccountRefFile>,
    pub amount: Option<String>,
    pub when: Option<String>,
    pub rounding: Option<String>,
    #[serde(default)]
    pub memo: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountRefFile {
    pub code: u16,
    pub subject: Option<String>,
}
