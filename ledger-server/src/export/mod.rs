//! Finance exports: the journal as one row per journal line (`journal.rs`), and the trial
//! balance as one row per account code (`trial_balance.rs`), as CSV or JSON lines
//! (`format.rs`). The columns, their order and their meaning are in `docs/exports.md`.
//!
//! An export is produced a chunk at a time (`Export::next_chunk`): each chunk is a run of whole
//! rows, the first one preceded by the CSV header. Nothing holds the whole export: the journal
//! is read a page of at most `EXPORT_PAGE_TRANSFERS` transfers at a time, and the trial balance
//! one ledger at a time. The HTTP routes (`http/exports.rs`) send the chunks as they come;
//! `ledger export` (`cli/export.rs`) writes what it receives.
//!
//! Determinism: the rows carry no wall-clock value (no commit timestamps), only what the
//! postings decided (ops, ids, accounts, amounts, the events' records). Exporting the same op
//! range of the same history again gives the same bytes.

pub mod format;
pub mod journal;
pub mod trial_balance;

use crate::service::ServiceError;
use crate::trial_balance::TrialBalanceError;
use ledger_core::BATCH_EVENTS_MAX;

pub use format::{Cell, EncodeError, RowEncoder};
pub use journal::{JOURNAL_COLUMNS, JournalExport, OpRange};
pub use trial_balance::{TRIAL_BALANCE_COLUMNS, TrialBalanceExport};

/// Transfers read per page of a journal export: one history-index read (its maximum).
pub const EXPORT_PAGE_TRANSFERS: u32 = 8189;
const _: () = assert!(EXPORT_PAGE_TRANSFERS as usize == BATCH_EVENTS_MAX);

/// How rows are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header line, `\n` line ends, UTF-8.
    Csv,
    /// JSON lines: one object per row, keys in column order.
    Jsonl,
}

impl ExportFormat {
    pub const ALL: [Self; 2] = [Self::Csv, Self::Jsonl];

    /// The name in `format=` and `--format`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
        }
    }

    /// The HTTP `Content-Type` of an export in this format.
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jsonl => "application/x-ndjson",
        }
    }

    /// `csv` or `jsonl`.
    ///
    /// # Errors
    /// A message naming the formats there are.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == text)
            .ok_or_else(|| format!("format must be `csv` or `jsonl`, got {text:?}"))
    }
}

impl std::fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The engine, the history index or the journal could not answer (busy, stopping, failed).
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    TrialBalance(#[from] TrialBalanceError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A full page of the journal held no whole entry: cannot happen while a page is longer
    /// than the longest chain (`JournalExport` asserts it), so this is a bug, not an answer.
    #[error("a page of {page_transfers} transfers after timestamp {after} holds no whole journal entry")]
    NoWholeEntry { after: u64, page_transfers: u32 },
}

impl ExportError {
    /// The service error behind this one, if it is one (busy, stopping: worth a retry).
    #[must_use]
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::Service(error) | Self::TrialBalance(TrialBalanceError::Service(error)) => Some(error),
            _ => None,
        }
    }
}

/// Either export, behind one `next_chunk` (for the HTTP routes' streaming task).
#[derive(Debug)]
pub enum Export {
    Journal(JournalExport),
    TrialBalance(TrialBalanceExport),
}

impl Export {
    /// The next run of whole rows (the first one starts with the CSV header); `None` once the
    /// export is complete.
    ///
    /// # Errors
    /// `ExportError`; the export cannot go on after one.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ExportError> {
        match self {
            Self::Journal(export) => export.next_chunk().await,
            Self::TrialBalance(export) => export.next_chunk().await,
        }
    }

    #[must_use]
    pub const fn format(&self) -> ExportFormat {
        match self {
            Self::Journal(export) => export.format(),
            Self::TrialBalance(export) => export.format(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name_only() {
        for format in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(format.name()), Ok(format));
        }
        for bad in ["", "CSV", "json", "ndjson", "csv "] {
            assert!(ExportFormat::parse(bad).expect_err(bad).contains("`csv` or `jsonl`"), "{bad}");
        }
    }
}
