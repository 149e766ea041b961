//! The trial-balance export: one row per account code with posted transfers, per ledger, as
//! `crate::trial_balance` computes it (posted debits and credits, the balance on the code's
//! normal side), with the ledger's currency beside every row.
//!
//! One ledger, or every ledger of the chart of accounts (in id order) when none is named. All
//! ledgers of one export count the same transfers: without `at`, the first ledger's answer
//! fixes `at` to the newest durable transfer, and the others are asked as of that `at`. A
//! ledger's rows are at most one per account code, so a chunk is one ledger's rows.

use super::format::{Cell, RowEncoder};
use super::{ExportError, ExportFormat};
use crate::service::LedgerService;
use crate::trial_balance::{TrialBalance, trial_balance};
use std::collections::VecDeque;

/// The trial-balance export's columns, in order (`docs/exports.md`).
pub const TRIAL_BALANCE_COLUMNS: [&str; 9] =
    ["ledger", "currency", "code", "name", "class", "normal_side", "debits", "credits", "balance"];

/// One row: a cell per column of `TRIAL_BALANCE_COLUMNS`.
pub type TrialBalanceExportRow = [Cell; TRIAL_BALANCE_COLUMNS.len()];

/// A trial-balance export in progress.
#[derive(Debug)]
pub struct TrialBalanceExport {
    service: LedgerService,
    encoder: RowEncoder<{ TRIAL_BALANCE_COLUMNS.len() }>,
    /// The ledgers still to export, in order.
    ledgers: VecDeque<u32>,
    /// The ledger timestamp every ledger is taken at: the request's, or (once the first ledger
    /// answered) the newest durable transfer's.
    at: Option<u64>,
    header_written: bool,
}

impl TrialBalanceExport {
    /// Exports `ledger` (every ledger of the chart when `None`) as of ledger timestamp `at`
    /// (everything durable when `None`).
    #[must_use]
    pub fn new(service: LedgerService, ledger: Option<u32>, at: Option<u64>, format: ExportFormat) -> Self {
        let ledgers = match ledger {
            Some(ledger) => VecDeque::from([ledger]),
            None => service.chart().ledgers().map(|spec| spec.id).collect(),
        };
        Self {
            service,
            encoder: RowEncoder { format, columns: &TRIAL_BALANCE_COLUMNS },
            ledgers,
            at,
            header_written: false,
        }
    }

    #[must_use]
    pub const fn format(&self) -> ExportFormat {
        self.encoder.format
    }

    /// The next ledger's rows, encoded (the first one after the CSV header); `None` once every
    /// ledger is exported.
    ///
    /// # Errors
    /// `ExportError`; the export cannot go on after one.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ExportError> {
        let mut out = Vec::new();
        if !self.header_written {
            self.encoder.header(&mut out)?;
            self.header_written = true;
        }
        if let Some(ledger) = self.ledgers.pop_front() {
            let balance = trial_balance(&self.service, ledger, self.at).await?;
            self.at = Some(balance.at);
            self.encoder.rows(&rows(&self.service, &balance), &mut out)?;
        }
        Ok((!out.is_empty()).then_some(out))
    }
}

/// The rows of one ledger's trial balance, by code.
fn rows(service: &LedgerService, balance: &TrialBalance) -> Vec<TrialBalanceExportRow> {
    let currency = service.chart().ledger(balance.ledger).map(|spec| spec.currency.clone());
    balance
        .rows
        .iter()
        .map(|row| {
            [
                Cell::Int(balance.ledger),
                Cell::text(currency.clone()),
                Cell::Int(u32::from(row.code)),
                Cell::text(row.name.clone()),
                Cell::text(row.class.map(|class| class.name())),
                Cell::Text(row.normal.name().to_owned()),
                Cell::Text(row.debits.text.clone()),
                Cell::Text(row.credits.text.clone()),
                Cell::Text(row.balance.text.clone()),
            ]
        })
        .collect()
}
