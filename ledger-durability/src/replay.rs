//! Replaying WAL records into a `Ledger`, and encoding a batch as a WAL record.
//!
//! A record holds a batch's *input* (its events and the writer's clock reading), not its effects:
//! `apply` is deterministic, so applying the same inputs in op order rebuilds the same state.
//! Replay re-checks what the record promised: the same event timestamps as when it was written.

use crate::journal_log::JournalLog;
use crate::notes;
use crate::storage::Storage;
use crate::wal::record::{Operation, RecordFields, RecordHeader, begin_record, finish_record};
use crate::wal::{LogPosition, RecoveryEnd, WalError, recover};
use ledger_core::transfer_store::TransferStore;
use ledger_core::writer::EntryNotes;
use ledger_core::{ACCOUNT_SIZE, Account, BatchError, BatchResults, Events, Ledger, TRANSFER_SIZE, Transfer};

/// Why a record could not be replayed: the log and the engine disagree. Fatal at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("op {op}: the engine refused the batch on replay ({error}); it was accepted when written")]
    Refused { op: u64, error: BatchError },
    #[error(
        "op {op}: replay assigned timestamps ending at {replayed}, the record says {recorded}: \
         the log and this engine version disagree"
    )]
    Diverged { op: u64, recorded: u64, replayed: u64 },
}

/// Reusable buffers for decoding record bodies (no allocation per record once warm).
#[derive(Debug, Default)]
pub struct ReplayBuffers {
    accounts: Vec<Account>,
    transfers: Vec<Transfer>,
    results: BatchResults,
}

/// Applies one validated record to `ledger`.
pub fn replay_record<S: TransferStore>(
    ledger: &mut Ledger<S>,
    header: &RecordHeader,
    body: &[u8],
    buffers: &mut ReplayBuffers,
) -> Result<(), ReplayError> {
    // Entry notes after the events are for readers, not for the engine.
    let body = &body[..header.events_len().min(body.len())];
    let events = match header.operation {
        Operation::CreateAccounts => {
            buffers.accounts.clear();
            buffers.accounts.extend(body.chunks_exact(ACCOUNT_SIZE).map(|chunk| {
                let mut record = [0_u8; ACCOUNT_SIZE];
                record.copy_from_slice(chunk);
                Account::from_bytes(&record)
            }));
            Events::CreateAccounts(&buffers.accounts)
        }
        Operation::CreateTransfers => {
            buffers.transfers.clear();
            buffers.transfers.extend(body.chunks_exact(TRANSFER_SIZE).map(|chunk| {
                let mut record = [0_u8; TRANSFER_SIZE];
                record.copy_from_slice(chunk);
                Transfer::from_bytes(&record)
            }));
            Events::CreateTransfers(&buffers.transfers)
        }
        Operation::Pulse => Events::Pulse,
    };
    ledger
        .apply(header.clock_ns, events, &mut buffers.results)
        .map_err(|error| ReplayError::Refused { op: header.op, error })?;
    if buffers.results.timestamp != header.timestamp_last {
        return Err(ReplayError::Diverged {
            op: header.op,
            recorded: header.timestamp_last,
            replayed: buffers.results.timestamp,
        });
    }
    Ok(())
}

/// Appends the WAL record of a batch that `apply` accepted to `out`; returns its checksum.
/// `results.timestamp` is the batch's last timestamp as `apply` reported it. `notes` (a
/// `create_transfers` batch only) are written for the runs whose transfers were all created.
pub fn encode_batch(
    out: &mut Vec<u8>,
    op: u64,
    prev_checksum: u32,
    clock_ns: u64,
    events: Events<'_>,
    results: &BatchResults,
    notes: Option<&EntryNotes>,
) -> u32 {
    let start = begin_record(out);
    let operation = match events {
        Events::CreateAccounts(accounts) => {
            for account in accounts {
                out.extend_from_slice(&account.to_bytes());
            }
            Operation::CreateAccounts
        }
        Events::CreateTransfers(transfers) => {
            for transfer in transfers {
                out.extend_from_slice(&transfer.to_bytes());
            }
            Operation::CreateTransfers
        }
        Events::Pulse => Operation::Pulse,
    };
    let notes_len = match (notes, operation) {
        (Some(notes), Operation::CreateTransfers) => notes::encode_created(out, notes, &results.transfers),
        _ => 0,
    };
    let count = events.len() as u64;
    let timestamp_last = results.timestamp;
    // An empty batch assigns no timestamps; its "first" is its last (the clock it left).
    let timestamp_first = if count == 0 { timestamp_last } else { timestamp_last + 1 - count };
    let fields = RecordFields { operation, op, clock_ns, timestamp_first, timestamp_last, prev_checksum };
    // The service splits batches so that their notes fit (`RECORD_NOTES_BYTES_MAX`); more is a
    // caller bug, which `finish_record` asserts.
    finish_record(out, start, &fields, u32::try_from(notes_len).unwrap_or(u32::MAX))
}

/// Why a record could not be replayed into the ledger during recovery.
#[derive(Debug, thiserror::Error)]
enum VisitError {
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("writing transfer records during replay: {0}")]
    TransferStore(#[source] std::io::Error),
    #[error("entry notes: {0}")]
    Notes(#[from] notes::NotesError),
    #[error("writing the journal during replay: {0}")]
    Journal(#[source] std::io::Error),
}

/// Recovers the WAL in `storage` into `ledger`, which holds the state at `from` (a snapshot's
/// position, or `LogPosition::GENESIS` for a fresh ledger): replays every later record, writes
/// the transfer records and, with a `journal`, the journal records, and cuts a torn tail. On an
/// error, discard `ledger`.
pub fn replay_log<St: Storage, S: TransferStore>(
    storage: &St,
    from: LogPosition,
    ledger: &mut Ledger<S>,
    mut journal: Option<&mut JournalLog>,
) -> Result<RecoveryEnd, WalError> {
    let mut buffers = ReplayBuffers::default();
    recover(storage, from, |header, body| -> Result<(), VisitError> {
        let notes = header.notes(body);
        // Checked before anything is applied: a record whose notes do not parse is damage.
        notes::decode(notes, header.event_count)?;
        replay_record(ledger, header, body, &mut buffers)?;
        ledger.flush_transfer_store().map_err(VisitError::TransferStore)?;
        if let Some(journal) = journal.as_deref_mut() {
            journal.append_replayed(header, notes).map_err(VisitError::Journal)?;
        }
        Ok(())
    })
}
