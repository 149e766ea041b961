//! Snapshots: the whole state as one checksummed byte stream, and back.
//!
//! Layout (little-endian; `docs/formats.md`, "Snapshot"):
//!
//! ```text
//! header, 64 bytes
//!      0   4  magic            "LSNP"
//!      4   2  version          2 (1 is still read: see below)
//!      6   2  flags            bit 0: transfer records included
//!      8   8  log_op           the WAL op this state is the result of (opaque to the engine)
//!     16   8  clock            the ledger's last timestamp
//!     24   8  accounts
//!     32   8  transfers        records in the transfer store
//!     40   8  failed_ids
//!     48   8  pending          live pending transfers
//!     56   4  log_checksum     the record checksum of op `log_op` (opaque to the engine)
//!     60   4  header_crc32c    CRC32C of bytes 0..60
//! then six sections in this order, each a 16-byte frame (byte length u64, CRC32C u32,
//! reserved u32 = 0) and its bytes:
//!   accounts         128-byte account records, creation order
//!   transfer index   seeds [u64; 2], id count u64, slot count u64, then the slots (24 bytes each)
//!   failed ids       u128 each, in the order they failed
//!   pending          128-byte transfer records of the live pending transfers, by id
//!   records          128-byte transfer records in acceptance order (empty unless flag bit 0)
//!   balance history  per account with rows, in creation order: a 32-byte group head
//!                    (account_id u128, row_count u64, reserved u64 = 0), then row_count
//!                    104-byte rows oldest first (layout in `balance_history.rs`)
//! ```
//!
//! The header has no room for a row count, so the history section's length comes from its own
//! frame and is checked against the group heads. Version 1 (five sections, written before
//! balance history existed) is still read, as a ledger without rows, but only if no account has
//! the `history` flag: such an account's rows were never written, and loading it would silently
//! give it an empty history that replaying the WAL would not.
//!
//! The account index and the expiry queue are rebuilt on load (they follow from the accounts
//! and the pending transfers). The transfer index is stored as its raw slots because rebuilding
//! 100M ids would dominate restart time. Loading checks every checksum and count before the
//! state is used; `state_hash()` after loading equals `state_hash()` at writing.

use super::balance_history::{BALANCE_ROW_SIZE, BalanceHistory, BalanceRow};
use super::{ExpiryQueue, Ledger, TransferState, UndoLog, expiry};
use crate::account::{ACCOUNT_SIZE, Account, AccountFlags};
use crate::chunked::ChunkedVec;
use crate::id_index::IdIndex;
use crate::limits::LedgerConfig;
use crate::transfer::{TRANSFER_SIZE, Transfer};
use crate::transfer_store::TransferStore;
use std::io::{self, Read, Write};

// Sections are written as the in-memory bytes of `repr(C)` records and `[u64; 3]` slots, which
// equal the documented little-endian layout only on a little-endian host.
const _: () = assert!(cfg!(target_endian = "little"), "snapshots assume a little-endian host");

pub const SNAPSHOT_MAGIC: u32 = u32::from_le_bytes(*b"LSNP");
pub const SNAPSHOT_VERSION: u16 = 2;
/// The oldest version this build reads: version 1 lacks the balance history section.
const SNAPSHOT_VERSION_MIN: u16 = 1;
pub const SNAPSHOT_HEADER_SIZE: usize = 64;
const FLAG_RECORDS: u16 = 1;
const FRAME_SIZE: usize = 16;
/// Bytes hashed and written per step when streaming a large section.
const STREAM_CHUNK: usize = 1 << 20;
/// A history group head: account_id u128, row_count u64, reserved u64.
const HISTORY_GROUP_HEAD_SIZE: usize = 32;
/// Rows read per step when loading the history section.
const HISTORY_ROWS_PER_READ: usize = 8192;

/// Where in the log a snapshot stands; stored, not interpreted, by the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotPosition {
    pub op: u64,
    pub checksum: u32,
}

/// Why a snapshot cannot be loaded. Never a panic: a snapshot is a file, and files rot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot I/O: {0}")]
    Io(#[from] io::Error),
    #[error("not a snapshot (magic {found:#010x})")]
    BadMagic { found: u32 },
    #[error(
        "snapshot format version {found} is not supported (this build reads {SNAPSHOT_VERSION_MIN} to {SNAPSHOT_VERSION})"
    )]
    UnsupportedVersion { found: u16 },
    #[error(
        "snapshot format version {version} has no balance history, but account {account_id} has the history flag: \
         its rows cannot be restored from this snapshot (recover from an older snapshot or the complete WAL)"
    )]
    HistoryMissing { version: u16, account_id: u128 },
    #[error("snapshot header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    HeaderChecksum { stored: u32, computed: u32 },
    #[error(
        "snapshot section {section}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
    )]
    SectionChecksum { section: &'static str, stored: u32, computed: u32 },
    #[error("snapshot section {section}: {reason}")]
    Invalid { section: &'static str, reason: String },
    #[error("the snapshot holds transfer records but this store keeps its own, or the other way round")]
    RecordsMismatch,
}

fn invalid(section: &'static str, reason: impl Into<String>) -> SnapshotError {
    SnapshotError::Invalid { section, reason: reason.into() }
}

/// Writes one section: frame, then `parts` in order, hashing as it goes.
fn write_section(out: &mut impl Write, parts: &[&[u8]]) -> io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut crc = 0;
    for part in parts {
        for chunk in part.chunks(STREAM_CHUNK) {
            crc = crc32c::crc32c_append(crc, chunk);
        }
    }
    let mut frame = [0_u8; FRAME_SIZE];
    frame[0..8].copy_from_slice(&(len as u64).to_le_bytes());
    frame[8..12].copy_from_slice(&crc.to_le_bytes());
    out.write_all(&frame)?;
    for part in parts {
        out.write_all(part)?;
    }
    Ok(())
}

/// Reads a section's frame; returns (byte length, stored checksum).
fn read_frame(input: &mut impl Read, section: &'static str, expected_len: u64) -> Result<u32, SnapshotError> {
    let mut frame = [0_u8; FRAME_SIZE];
    input.read_exact(&mut frame)?;
    let len = u64::from_le_bytes(frame[0..8].try_into().unwrap_or_default());
    if len != expected_len {
        return Err(invalid(section, format!("{len} bytes, the header implies {expected_len}")));
    }
    if frame[12..16] != [0; 4] {
        return Err(invalid(section, "reserved frame bytes are not zero"));
    }
    Ok(u32::from_le_bytes(frame[8..12].try_into().unwrap_or_default()))
}

/// Reads the frame of a section whose length the header does not imply; returns (byte length,
/// stored checksum).
fn read_frame_any_length(input: &mut impl Read, section: &'static str) -> Result<(u64, u32), SnapshotError> {
    let mut frame = [0_u8; FRAME_SIZE];
    input.read_exact(&mut frame)?;
    if frame[12..16] != [0; 4] {
        return Err(invalid(section, "reserved frame bytes are not zero"));
    }
    let len = u64::from_le_bytes(frame[0..8].try_into().unwrap_or_default());
    Ok((len, u32::from_le_bytes(frame[8..12].try_into().unwrap_or_default())))
}

/// Reads exactly `into.len()` bytes, returning their CRC32C.
fn read_hashed(input: &mut impl Read, into: &mut [u8]) -> io::Result<u32> {
    let mut crc = 0;
    for chunk in into.chunks_mut(STREAM_CHUNK) {
        input.read_exact(chunk)?;
        crc = crc32c::crc32c_append(crc, chunk);
    }
    Ok(crc)
}

fn check(section: &'static str, stored: u32, computed: u32) -> Result<(), SnapshotError> {
    if stored == computed {
        Ok(())
    } else {
        Err(SnapshotError::SectionChecksum { section, stored, computed })
    }
}

fn usize_of(section: &'static str, n: u64) -> Result<usize, SnapshotError> {
    usize::try_from(n).map_err(|_| invalid(section, format!("count {n} does not fit this machine")))
}

/// Reads `count` fixed-size records in bounded chunks (no allocation proportional to a count an
/// attacker or bit rot could inflate before the checksum is known to be good).
fn read_records<T: bytemuck::Pod>(
    input: &mut impl Read,
    section: &'static str,
    count: u64,
    mut each: impl FnMut(T) -> Result<(), SnapshotError>,
) -> Result<(), SnapshotError> {
    let size = std::mem::size_of::<T>() as u64;
    let stored =
        read_frame(input, section, count.checked_mul(size).ok_or_else(|| invalid(section, "too large"))?)?;
    let mut crc = 0;
    #[expect(clippy::useless_vec, reason = "8192 records of 128 bytes are too large for the stack")]
    let mut buffer = vec![T::zeroed(); 8192];
    let mut left = count;
    while left > 0 {
        let n = usize_of(section, left.min(8192))?;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buffer[..n]);
        input.read_exact(bytes)?;
        crc = crc32c::crc32c_append(crc, bytes);
        for record in &buffer[..n] {
            each(*record)?;
        }
        left -= n as u64;
    }
    check(section, stored, crc)
}

impl<S: TransferStore> Ledger<S> {
    /// Writes the whole state. The caller supplies the log position it stands for, buffers
    /// `out`, and makes the file durable (temp file, fsync, rename, fsync directory).
    pub fn write_snapshot(&self, position: SnapshotPosition, out: &mut impl Write) -> io::Result<()> {
        assert!(self.undo.is_empty(), "snapshots are taken between batches");
        let mut header = [0_u8; SNAPSHOT_HEADER_SIZE];
        header[0..4].copy_from_slice(&SNAPSHOT_MAGIC.to_le_bytes());
        header[4..6].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        let flags = if S::KEEPS_RECORDS { 0 } else { FLAG_RECORDS };
        header[6..8].copy_from_slice(&flags.to_le_bytes());
        header[8..16].copy_from_slice(&position.op.to_le_bytes());
        header[16..24].copy_from_slice(&self.clock.to_le_bytes());
        header[24..32].copy_from_slice(&(self.accounts.len() as u64).to_le_bytes());
        header[32..40].copy_from_slice(&self.transfers.len().to_le_bytes());
        header[40..48].copy_from_slice(&(self.failed_ids.len() as u64).to_le_bytes());
        header[48..56].copy_from_slice(&(self.pending.len() as u64).to_le_bytes());
        header[56..60].copy_from_slice(&position.checksum.to_le_bytes());
        let crc = crc32c::crc32c(&header[..60]);
        header[60..64].copy_from_slice(&crc.to_le_bytes());
        out.write_all(&header)?;

        let accounts: Vec<&[u8]> = self.accounts.chunks().map(bytemuck::cast_slice).collect();
        write_section(out, &accounts)?;

        let (seeds, len, slots) = self.transfer_index.raw();
        let mut index_head = [0_u8; 32];
        index_head[0..8].copy_from_slice(&seeds[0].to_le_bytes());
        index_head[8..16].copy_from_slice(&seeds[1].to_le_bytes());
        index_head[16..24].copy_from_slice(&(len as u64).to_le_bytes());
        index_head[24..32].copy_from_slice(&(slots.len() as u64).to_le_bytes());
        write_section(out, &[&index_head, bytemuck::cast_slice(slots)])?;

        let failed: Vec<&[u8]> = self.failed_ids.chunks().map(bytemuck::cast_slice).collect();
        write_section(out, &failed)?;

        // By id, so that the bytes do not depend on hash-map order.
        let mut pending: Vec<Transfer> = self.pending.values().copied().collect();
        pending.sort_unstable_by_key(|t| t.id);
        write_section(out, &[bytemuck::cast_slice(&pending)])?;

        if S::KEEPS_RECORDS {
            write_section(out, &[])?;
        } else {
            let mut bytes =
                Vec::with_capacity(usize::try_from(self.transfers.len()).unwrap_or(0) * TRANSFER_SIZE);
            self.transfers.for_each(&mut |t| bytes.extend_from_slice(&t.to_bytes()));
            write_section(out, &[&bytes])?;
        }

        // The history may be large and its rows are scattered over the row table: stream it
        // twice through a bounded buffer, once for the frame's length and checksum, once to
        // write, instead of holding a copy of it.
        let history_accounts = self.history.accounts_in_creation_order();
        let (mut len, mut crc) = (0_u64, 0_u32);
        self.visit_history_bytes(&history_accounts, &mut |bytes| {
            len += bytes.len() as u64;
            crc = crc32c::crc32c_append(crc, bytes);
            Ok(())
        })?;
        let mut frame = [0_u8; FRAME_SIZE];
        frame[0..8].copy_from_slice(&len.to_le_bytes());
        frame[8..12].copy_from_slice(&crc.to_le_bytes());
        out.write_all(&frame)?;
        self.visit_history_bytes(&history_accounts, &mut |bytes| out.write_all(bytes))?;
        Ok(())
    }

    /// Hands the balance history section's bytes to `visit` in pieces of at most about
    /// `STREAM_CHUNK` bytes: per account (positions in creation order), its group head, then its
    /// rows, oldest first.
    fn visit_history_bytes(
        &self,
        accounts: &[u64],
        visit: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut buffer: Vec<u8> = Vec::new();
        for &position in accounts {
            let mut head = [0_u8; HISTORY_GROUP_HEAD_SIZE];
            head[0..16].copy_from_slice(&self.account_at(position).id.to_le_bytes());
            head[16..24].copy_from_slice(&(self.history.row_count_of(position) as u64).to_le_bytes());
            buffer.extend_from_slice(&head);
            for row in self.history.rows_of(position) {
                if buffer.len() + BALANCE_ROW_SIZE > STREAM_CHUNK {
                    visit(&buffer)?;
                    buffer.clear();
                }
                buffer.extend_from_slice(bytemuck::bytes_of(row));
            }
        }
        if !buffer.is_empty() {
            visit(&buffer)?;
        }
        Ok(())
    }

    /// Loads a snapshot into a ledger whose transfer store is `store`: for a store that keeps
    /// its own records, `store` must already hold exactly the snapshot's records (see
    /// `FileTransferStore::open_at`); otherwise `store` must be empty and is filled from the
    /// snapshot. Returns the ledger and the log position the snapshot stands for.
    pub fn read_snapshot(
        config: LedgerConfig,
        mut store: S,
        input: &mut impl Read,
    ) -> Result<(Self, SnapshotPosition), SnapshotError> {
        let mut header = [0_u8; SNAPSHOT_HEADER_SIZE];
        input.read_exact(&mut header)?;
        let u64_at = |o: usize| u64::from_le_bytes(header[o..o + 8].try_into().unwrap_or_default());
        let u32_at = |o: usize| u32::from_le_bytes(header[o..o + 4].try_into().unwrap_or_default());
        let magic = u32_at(0);
        if magic != SNAPSHOT_MAGIC {
            return Err(SnapshotError::BadMagic { found: magic });
        }
        let stored = u32_at(60);
        let computed = crc32c::crc32c(&header[..60]);
        if stored != computed {
            return Err(SnapshotError::HeaderChecksum { stored, computed });
        }
        let version = u16::from_le_bytes([header[4], header[5]]);
        if !(SNAPSHOT_VERSION_MIN..=SNAPSHOT_VERSION).contains(&version) {
            return Err(SnapshotError::UnsupportedVersion { found: version });
        }
        let flags = u16::from_le_bytes([header[6], header[7]]);
        if (flags & FLAG_RECORDS != 0) == S::KEEPS_RECORDS || flags & !FLAG_RECORDS != 0 {
            return Err(SnapshotError::RecordsMismatch);
        }
        let position = SnapshotPosition { op: u64_at(8), checksum: u32_at(56) };
        let clock = u64_at(16);
        let (account_count, transfer_count, failed_count, pending_count) =
            (u64_at(24), u64_at(32), u64_at(40), u64_at(48));

        let mut accounts = ChunkedVec::new();
        let mut account_index = IdIndex::with_capacity(config.accounts_initial_capacity);
        // Counted here so that the history checks need no second pass over the accounts.
        let (mut history_accounts, mut history_accounts_with_balances) = (0_u64, 0_u64);
        read_records::<Account>(input, "accounts", account_count, |a| {
            if a.id == 0 || account_index.get(a.id).is_some() {
                return Err(invalid("accounts", format!("account id {} is zero or repeated", a.id)));
            }
            if a.flags.contains(AccountFlags::HISTORY) {
                history_accounts += 1;
                history_accounts_with_balances += u64::from(has_balances(&a));
            }
            let position = accounts.push(a) as u64;
            account_index.insert_new(a.id, position);
            Ok(())
        })?;
        const _: () = assert!(std::mem::size_of::<Account>() == ACCOUNT_SIZE);

        let mut index_head = [0_u8; 32];
        let index_stored = {
            let mut frame = [0_u8; FRAME_SIZE];
            input.read_exact(&mut frame)?;
            input.read_exact(&mut index_head)?;
            let slot_count = u64::from_le_bytes(index_head[24..32].try_into().unwrap_or_default());
            let len = u64::from_le_bytes(frame[0..8].try_into().unwrap_or_default());
            let expected = slot_count.checked_mul(24).and_then(|b| b.checked_add(32));
            if Some(len) != expected || frame[12..16] != [0; 4] {
                return Err(invalid("transfer index", format!("{len} bytes for {slot_count} slots")));
            }
            u32::from_le_bytes(frame[8..12].try_into().unwrap_or_default())
        };
        let seeds = [
            u64::from_le_bytes(index_head[0..8].try_into().unwrap_or_default()),
            u64::from_le_bytes(index_head[8..16].try_into().unwrap_or_default()),
        ];
        let ids = usize_of(
            "transfer index",
            u64::from_le_bytes(index_head[16..24].try_into().unwrap_or_default()),
        )?;
        let slot_count = usize_of(
            "transfer index",
            u64::from_le_bytes(index_head[24..32].try_into().unwrap_or_default()),
        )?;
        let mut index_crc = crc32c::crc32c(&index_head);
        let transfer_index = IdIndex::from_raw(seeds, ids, slot_count, |slots| {
            let crc = read_hashed(input, bytemuck::cast_slice_mut(slots))?;
            index_crc = crc32c::crc32c_combine(index_crc, crc, slots.len() * 24);
            Ok(())
        })
        .map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => invalid("transfer index", e.to_string()),
            _ => SnapshotError::Io(e),
        })?;
        check("transfer index", index_stored, index_crc)?;
        // Every index value must decode to a state, and a stored transfer's position must lie
        // within the records: the engine treats both as invariants once loaded.
        let (_, _, slots) = transfer_index.raw();
        for slot in slots.iter().filter(|s| s[0] != 0 || s[1] != 0) {
            match TransferState::unpack_checked(slot[2]) {
                Some((TransferState::Failed, _)) => {}
                Some((_, locator)) if locator < transfer_count => {}
                _ => return Err(invalid("transfer index", format!("invalid entry value {:#018x}", slot[2]))),
            }
        }

        let mut failed_ids = ChunkedVec::new();
        read_records::<u128>(input, "failed ids", failed_count, |id| {
            failed_ids.push(id);
            Ok(())
        })?;

        let mut pending = hashbrown::HashMap::default();
        let mut expiry_queue = ExpiryQueue::default();
        read_records::<Transfer>(input, "pending", pending_count, |t| {
            // Everything the engine will later take as given must hold: a pending transfer names
            // existing accounts and is indexed as pending.
            if account_index.get(t.debit_account_id).is_none()
                || account_index.get(t.credit_account_id).is_none()
            {
                return Err(invalid(
                    "pending",
                    format!("pending transfer {} names an unknown account", t.id),
                ));
            }
            if transfer_index.get(t.id).map(|v| TransferState::unpack_checked(v).map(|(s, _)| s))
                != Some(Some(TransferState::Pending))
            {
                return Err(invalid(
                    "pending",
                    format!("pending transfer {} is not indexed as pending", t.id),
                ));
            }
            // Creation refused a deadline past the clock's range (`overflows_timeout`); a file
            // may hold anything, and the section checksum is checked only after its records.
            let timeout_ns = u64::from(t.timeout) * crate::limits::NANOS_PER_SECOND;
            if t.timeout > 0 && t.timestamp.checked_add(timeout_ns).is_none() {
                return Err(invalid(
                    "pending",
                    format!("pending transfer {} has a deadline past the clock's range", t.id),
                ));
            }
            if t.timeout > 0 {
                expiry_queue.push(expiry::deadline(&t), t.id);
            }
            if pending.insert(t.id, t).is_some() {
                return Err(invalid("pending", format!("pending transfer {} repeated", t.id)));
            }
            Ok(())
        })?;

        let record_count = if S::KEEPS_RECORDS { 0 } else { transfer_count };
        if !S::KEEPS_RECORDS && !store.is_empty() {
            return Err(invalid("records", "the transfer store to fill is not empty"));
        }
        read_records::<Transfer>(input, "records", record_count, |t| {
            store.append(&t);
            Ok(())
        })?;
        if store.len() != transfer_count {
            return Err(invalid(
                "records",
                format!("the transfer store holds {} records, the snapshot {transfer_count}", store.len()),
            ));
        }
        if transfer_index.len() as u64 != transfer_count + failed_count {
            return Err(invalid("transfer index", "id count differs from transfers + failed ids"));
        }
        let history = if version == 1 {
            if history_accounts > 0 {
                let account_id =
                    accounts.iter().find(|a| a.flags.contains(AccountFlags::HISTORY)).map_or(0, |a| a.id);
                return Err(SnapshotError::HistoryMissing { version, account_id });
            }
            BalanceHistory::default()
        } else {
            read_history(input, &accounts, &account_index, clock, history_accounts_with_balances)?
        };
        let ledger = Self {
            config,
            accounts,
            account_index,
            transfers: store,
            transfer_index,
            failed_ids,
            pending,
            expiry: expiry_queue,
            history,
            clock,
            undo: UndoLog::default(),
        };
        Ok((ledger, position))
    }
}

/// Reads section 6 (balance history) and checks what the engine later takes as given: each
/// group names an existing account with the `history` flag, once, in creation order; each row
/// names one side and is no older than the account nor newer than the clock; an account's rows
/// never go back in time and the last one equals the account's balances; and every history
/// account whose balances are not zero has rows.
fn read_history(
    input: &mut impl Read,
    accounts: &ChunkedVec<Account>,
    account_index: &IdIndex,
    clock: u64,
    history_accounts_with_balances: u64,
) -> Result<BalanceHistory, SnapshotError> {
    const SECTION: &str = "balance history";
    let (len, stored) = read_frame_any_length(input, SECTION)?;
    let mut history = BalanceHistory::default();
    let mut crc = 0;
    let mut consumed = 0_u64;
    let mut previous_position = None;
    let mut groups_with_balances = 0_u64;
    let mut buffer: Vec<BalanceRow> = Vec::new();
    while consumed < len {
        if len - consumed < HISTORY_GROUP_HEAD_SIZE as u64 {
            return Err(invalid(SECTION, "a group head is cut off by the section's end"));
        }
        let mut head = [0_u8; HISTORY_GROUP_HEAD_SIZE];
        input.read_exact(&mut head)?;
        crc = crc32c::crc32c_append(crc, &head);
        consumed += HISTORY_GROUP_HEAD_SIZE as u64;
        let account_id = u128::from_le_bytes(head[0..16].try_into().unwrap_or_default());
        let row_count = u64::from_le_bytes(head[16..24].try_into().unwrap_or_default());
        if head[24..32] != [0; 8] {
            return Err(invalid(SECTION, format!("account {account_id}: reserved group bytes are not zero")));
        }
        let Some(position) = account_index.get(account_id) else {
            return Err(invalid(SECTION, format!("rows for unknown account {account_id}")));
        };
        let account = accounts
            .get(usize_of(SECTION, position)?)
            .copied()
            .ok_or_else(|| invalid(SECTION, format!("account {account_id} is not stored")))?;
        if !account.flags.contains(AccountFlags::HISTORY) {
            return Err(invalid(SECTION, format!("rows for account {account_id} without the history flag")));
        }
        if previous_position.is_some_and(|previous| previous >= position) {
            return Err(invalid(SECTION, format!("account {account_id} repeated or out of creation order")));
        }
        previous_position = Some(position);
        groups_with_balances += u64::from(has_balances(&account));
        let bytes = row_count.checked_mul(BALANCE_ROW_SIZE as u64).filter(|b| *b <= len - consumed);
        let Some(bytes) = bytes.filter(|_| row_count > 0) else {
            return Err(invalid(
                SECTION,
                format!("account {account_id}: {row_count} rows do not fit the section"),
            ));
        };
        if buffer.is_empty() {
            buffer = vec![bytemuck::Zeroable::zeroed(); HISTORY_ROWS_PER_READ];
        }
        let mut last_timestamp = account.timestamp;
        let mut left = row_count;
        while left > 0 {
            let n = usize_of(SECTION, left.min(HISTORY_ROWS_PER_READ as u64))?;
            let chunk: &mut [u8] = bytemuck::cast_slice_mut(&mut buffer[..n]);
            input.read_exact(chunk)?;
            crc = crc32c::crc32c_append(crc, chunk);
            for row in &buffer[..n] {
                if !row.side_is_valid() {
                    return Err(invalid(SECTION, format!("account {account_id}: a row names no valid side")));
                }
                if row.timestamp <= account.timestamp
                    || row.timestamp < last_timestamp
                    || row.timestamp > clock
                {
                    return Err(invalid(
                        SECTION,
                        format!("account {account_id}: row timestamp {} out of order", row.timestamp),
                    ));
                }
                last_timestamp = row.timestamp;
                history.append(position, *row);
            }
            left -= n as u64;
        }
        consumed += bytes;
        if history.last_of(position).is_none_or(|last| !last.balances_equal(&account)) {
            return Err(invalid(
                SECTION,
                format!("account {account_id}: the last row differs from its balances"),
            ));
        }
    }
    check(SECTION, stored, crc)?;
    // Groups name distinct accounts, so equal counts mean every history account with balances
    // has rows. Only on failure are the accounts walked, to name one.
    if groups_with_balances != history_accounts_with_balances {
        let (position, account) = (0_u64..)
            .zip(accounts.iter())
            .find(|(p, a)| {
                a.flags.contains(AccountFlags::HISTORY) && has_balances(a) && history.row_count_of(*p) == 0
            })
            .map_or((0, 0), |(p, a)| (p, a.id));
        return Err(invalid(
            SECTION,
            format!("account {account} (position {position}) has balances but no rows"),
        ));
    }
    Ok(history)
}

fn has_balances(account: &Account) -> bool {
    [account.debits_pending, account.debits_posted, account.credits_pending, account.credits_posted] != [0; 4]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::balance_history::{BALANCE_ROW_SIDE_OFFSET, BALANCE_ROW_TIMESTAMP_OFFSET};
    use crate::{AccountFlags, TransferFlags};

    fn sample_ledger() -> Ledger {
        let mut ledger = Ledger::default();
        let accounts: Vec<Account> = (1..=5)
            .map(|id| Account { id, ledger: 1, code: 1, flags: AccountFlags::HISTORY, ..Account::default() })
            .collect();
        assert!(ledger.create_accounts(10, &accounts).expect("batch").is_empty());
        let t = |id, flags, pending_id, timeout| Transfer {
            id,
            debit_account_id: if pending_id == 0 { 1 } else { 0 },
            credit_account_id: if pending_id == 0 { 2 } else { 0 },
            amount: 7,
            pending_id,
            timeout,
            ledger: if pending_id == 0 { 1 } else { 0 },
            code: if pending_id == 0 { 1 } else { 0 },
            flags,
            ..Transfer::default()
        };
        let batch = [
            t(100, TransferFlags::NONE, 0, 0),
            t(101, TransferFlags::PENDING, 0, 60),
            t(102, TransferFlags::PENDING, 0, 0),
            t(103, TransferFlags::POST_PENDING_TRANSFER, 102, 0),
            Transfer { debit_account_id: 9, ..t(104, TransferFlags::NONE, 0, 0) }, // burns 104
        ];
        let results = ledger.create_transfers(20, &batch).expect("batch");
        assert_eq!(results.len(), 1);
        ledger
    }

    #[test]
    fn a_loaded_snapshot_has_the_same_state_hash_and_behaves_the_same() {
        let mut ledger = sample_ledger();
        let mut bytes = Vec::new();
        let position = SnapshotPosition { op: 7, checksum: 0xdead_beef };
        ledger.write_snapshot(position, &mut bytes).expect("write");
        let (mut loaded, read_position) = Ledger::read_snapshot(
            LedgerConfig::default(),
            crate::transfer_store::MemoryTransferStore::new(),
            &mut &bytes[..],
        )
        .expect("read");
        assert_eq!(read_position, position);
        assert_eq!(loaded.state_hash(), ledger.state_hash());
        assert_eq!(loaded.balance_row_count(), ledger.balance_row_count());
        assert!(ledger.balance_row_count() > 0, "the sample keeps history");
        loaded.check_invariants().expect("invariants");
        // Both continue identically: idempotency, burnt ids, pending expiry.
        let next = [
            Transfer {
                id: 104,
                debit_account_id: 1,
                credit_account_id: 2,
                amount: 1,
                ledger: 1,
                code: 1,
                ..Transfer::default()
            },
            Transfer {
                id: 100,
                debit_account_id: 1,
                credit_account_id: 2,
                amount: 7,
                ledger: 1,
                code: 1,
                ..Transfer::default()
            },
            Transfer {
                id: 105,
                pending_id: 101,
                flags: TransferFlags::VOID_PENDING_TRANSFER,
                ..Transfer::default()
            },
        ];
        let a = ledger.create_transfers(30, &next).expect("batch");
        let b = loaded.create_transfers(30, &next).expect("batch");
        assert_eq!(a, b);
        assert_eq!(ledger.state_hash(), loaded.state_hash());
        assert_eq!(ledger.next_expiry(), loaded.next_expiry());
    }

    /// Byte offsets of the six section frames of a snapshot.
    fn section_frames(bytes: &[u8]) -> Vec<usize> {
        let mut frames = Vec::new();
        let mut at = SNAPSHOT_HEADER_SIZE;
        while at < bytes.len() {
            frames.push(at);
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
            at += FRAME_SIZE + usize::try_from(len).expect("small");
        }
        assert_eq!(frames.len(), 6);
        frames
    }

    /// The same snapshot as version 1: without the history section.
    fn as_version_1(bytes: &[u8]) -> Vec<u8> {
        let mut old = bytes[..section_frames(bytes)[5]].to_vec();
        old[4..6].copy_from_slice(&1_u16.to_le_bytes());
        let crc = crc32c::crc32c(&old[..60]);
        old[60..64].copy_from_slice(&crc.to_le_bytes());
        old
    }

    fn load(bytes: &[u8]) -> Result<(Ledger, SnapshotPosition), SnapshotError> {
        Ledger::read_snapshot(
            LedgerConfig::default(),
            crate::transfer_store::MemoryTransferStore::new(),
            &mut &bytes[..],
        )
    }

    #[test]
    fn version_1_loads_only_when_no_account_keeps_history() {
        let mut plain = Ledger::default();
        let accounts = [1, 2].map(|id| Account { id, ledger: 1, code: 1, ..Account::default() });
        assert!(plain.create_accounts(10, &accounts).expect("batch").is_empty());
        let moved = Transfer {
            id: 9,
            debit_account_id: 1,
            credit_account_id: 2,
            amount: 3,
            ledger: 1,
            code: 1,
            ..Transfer::default()
        };
        assert!(plain.create_transfers(20, &[moved]).expect("batch").is_empty());
        let mut bytes = Vec::new();
        plain.write_snapshot(SnapshotPosition::default(), &mut bytes).expect("write");
        let (loaded, _) =
            load(&as_version_1(&bytes)).expect("a version 1 snapshot without history accounts loads");
        assert_eq!(loaded.state_hash(), plain.state_hash());

        let mut bytes = Vec::new();
        sample_ledger().write_snapshot(SnapshotPosition::default(), &mut bytes).expect("write");
        match load(&as_version_1(&bytes)) {
            Err(SnapshotError::HistoryMissing { version: 1, account_id: 1 }) => {}
            other => panic!("expected HistoryMissing, got {other:?}"),
        }
        let mut future = bytes.clone();
        future[4..6].copy_from_slice(&3_u16.to_le_bytes());
        let crc = crc32c::crc32c(&future[..60]);
        future[60..64].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(load(&future), Err(SnapshotError::UnsupportedVersion { found: 3 })));
    }

    #[test]
    fn history_that_contradicts_the_accounts_is_refused_despite_a_good_checksum() {
        let ledger = sample_ledger();
        let mut bytes = Vec::new();
        ledger.write_snapshot(SnapshotPosition::default(), &mut bytes).expect("write");
        let frame = section_frames(&bytes)[5];
        let rows_end = bytes.len();
        let last_row = rows_end - BALANCE_ROW_SIZE;
        // (what the error says, where to write, what): each a plausible-looking lie.
        let cases: [(&str, usize, Vec<u8>); 4] = [
            ("differs from its balances", last_row, vec![bytes[last_row] ^ 1]),
            ("no valid side", last_row + BALANCE_ROW_SIDE_OFFSET, vec![3]),
            ("out of order", last_row + BALANCE_ROW_TIMESTAMP_OFFSET, u64::MAX.to_le_bytes().to_vec()),
            ("unknown account", frame + FRAME_SIZE, 77_u128.to_le_bytes().to_vec()),
        ];
        for (expected, offset, lie) in cases {
            let mut damaged = bytes.clone();
            damaged[offset..offset + lie.len()].copy_from_slice(&lie);
            // Reseal the section's checksum, so that only the validation can object.
            let crc = crc32c::crc32c(&damaged[frame + FRAME_SIZE..]);
            damaged[frame + 8..frame + 12].copy_from_slice(&crc.to_le_bytes());
            let error = load(&damaged).map(|_| ()).expect_err(expected);
            assert!(
                matches!(&error, SnapshotError::Invalid { section: "balance history", reason } if reason.contains(expected)),
                "{expected}: {error}"
            );
        }

        // Only the first account's group: the second history account keeps balances but no rows.
        let first_rows = u64::from_le_bytes(bytes[frame + 32..frame + 40].try_into().expect("8 bytes"));
        let first_group =
            HISTORY_GROUP_HEAD_SIZE + usize::try_from(first_rows).expect("small") * BALANCE_ROW_SIZE;
        let mut short = bytes[..frame + FRAME_SIZE + first_group].to_vec();
        assert!(short.len() < bytes.len(), "the sample has two history accounts with rows");
        short[frame..frame + 8].copy_from_slice(&(first_group as u64).to_le_bytes());
        let crc = crc32c::crc32c(&short[frame + FRAME_SIZE..]);
        short[frame + 8..frame + 12].copy_from_slice(&crc.to_le_bytes());
        let error = load(&short).map(|_| ()).expect_err("a missing group");
        assert!(error.to_string().contains("account 2 (position 1) has balances but no rows"), "{error}");
    }

    /// Found by `fuzz/fuzz_targets/snapshot_read.rs`: a pending transfer whose timestamp plus
    /// timeout overflows once panicked (debug) or wrapped (release) while its section was read.
    #[test]
    fn a_pending_deadline_past_the_clock_is_refused_not_a_panic() {
        let crash = include_bytes!("../../tests/fixtures/snapshot_pending_deadline_overflows.bin");
        let error = load(crash).map(|_| ()).expect_err("refused");
        assert!(
            matches!(&error, SnapshotError::Invalid { section: "pending", reason } if reason.contains("deadline")),
            "{error}"
        );
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let ledger = sample_ledger();
        let mut bytes = Vec::new();
        ledger.write_snapshot(SnapshotPosition::default(), &mut bytes).expect("write");
        for offset in (0..bytes.len()).step_by(7) {
            let mut damaged = bytes.clone();
            damaged[offset] ^= 0x40;
            let result = Ledger::read_snapshot(
                LedgerConfig::default(),
                crate::transfer_store::MemoryTransferStore::new(),
                &mut &damaged[..],
            );
            assert!(result.is_err(), "flip at byte {offset} of {} went unnoticed", bytes.len());
        }
        let truncated = &bytes[..bytes.len() - 1];
        assert!(
            Ledger::read_snapshot(
                LedgerConfig::default(),
                crate::transfer_store::MemoryTransferStore::new(),
                &mut &truncated[..]
            )
            .is_err()
        );
    }
}
