//! `WalWriter`: appends groups of encoded records to the current segment, one write and one
//! `fdatasync` per group, and rolls to a new preallocated segment when a group does not fit.
//!
//! A group is one or more records written and synced together (group commit). It never spans
//! segments, so a crash can tear only the last segment, and it is at most `GROUP_BYTES_MAX`
//! bytes, which is the window the torn-tail rule of recovery allows.
//!
//! Failure is final: after any failed write or sync, every later call returns the same error.
//! A failed fsync may have dropped the data while reads still return it (PostgreSQL's
//! "fsyncgate"), so retrying it could acknowledge a record that is not on disk; the process must
//! restart and recover from what is durable. The one non-fatal storage error is `OutOfSpace`,
//! returned before anything of the group was written, when a new segment cannot be preallocated.

use super::error::WalError;
use super::record::{RECORD_BYTES_MAX, RECORD_HEADER_SIZE, RecordHeader};
use super::recovery::{LogPosition, RecoveryEnd};
use super::segment::{SEGMENT_SIZE_DEFAULT, SEGMENT_SIZE_MIN, SegmentInfo, segment_name};
use crate::storage::{Storage, StorageFile};

/// The largest group: 8 MiB, at least four records of the largest batch with the most notes
/// (and eight without notes). Larger groups would
/// not make `fdatasync` rarer in any way that matters, and every byte of this bound widens the
/// torn-tail window in which recovery cannot tell a torn write from damage.
pub const GROUP_BYTES_MAX: u64 = 8 * 1024 * 1024;
const _: () = assert!(GROUP_BYTES_MAX >= 4 * RECORD_BYTES_MAX);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalConfig {
    /// Bytes each new segment is preallocated to (a larger group gets a segment of its size).
    pub segment_size: u64,
}

impl Default for WalConfig {
    fn default() -> Self {
        Self { segment_size: SEGMENT_SIZE_DEFAULT }
    }
}

impl WalConfig {
    pub fn validate(&self) -> Result<(), WalError> {
        if self.segment_size < SEGMENT_SIZE_MIN {
            return Err(WalError::InvalidConfig {
                reason: format!("segment_size {} is below {SEGMENT_SIZE_MIN}", self.segment_size),
            });
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Current<F> {
    file: F,
    name: String,
    /// Where the next group goes: the end of the last record.
    tail: u64,
    /// The segment's preallocated size.
    capacity: u64,
}

/// Bytes `make_tail_durable` moves at a time.
const TAIL_REWRITE_CHUNK: u64 = 1024 * 1024;

/// Rewrites the part of the last segment that the previous process can have left only in the
/// page cache, exactly as recovery read it (records up to `tail`, zeros after), then syncs it.
///
/// Only one group is ever unsynced, at most `GROUP_BYTES_MAX` long, written at the tail of its
/// time; recovery's tail lies inside that group or at its end. So everything the disk may lack
/// or hold differently lies within `GROUP_BYTES_MAX` of `tail` on either side. Rewriting (not
/// just syncing) matters after a failed `fsync`: the kernel may have marked the lost pages
/// clean, and only a new write makes them dirty again (fsyncgate). A sync that fails here fails
/// start-up; the next start-up rewrites again.
fn make_tail_durable<F: StorageFile>(file: &mut F, tail: u64, capacity: u64) -> std::io::Result<()> {
    let start = tail.saturating_sub(GROUP_BYTES_MAX);
    let end = tail.saturating_add(GROUP_BYTES_MAX).min(capacity);
    let mut chunk =
        vec![0_u8; usize::try_from(TAIL_REWRITE_CHUNK.min(end.saturating_sub(start))).unwrap_or(0)];
    let mut offset = start;
    while offset < end {
        let len = usize::try_from((end - offset).min(TAIL_REWRITE_CHUNK)).unwrap_or(0);
        let bytes = &mut chunk[..len];
        let records = usize::try_from(tail.saturating_sub(offset)).unwrap_or(usize::MAX).min(len);
        file.read_at(offset, &mut bytes[..records])?;
        bytes[records..].fill(0);
        file.write_at(offset, bytes)?;
        offset += len as u64;
    }
    file.sync()
}

/// Writes the WAL. Owned by the one thread that does group commit.
#[derive(Debug)]
pub struct WalWriter<S: Storage> {
    storage: S,
    config: WalConfig,
    /// All segments in op order; the last one is `current`'s.
    segments: Vec<SegmentInfo>,
    current: Option<Current<S::File>>,
    next_op: u64,
    last_checksum: u32,
    failed: Option<WalError>,
}

impl<S: Storage> WalWriter<S> {
    /// A writer for a fresh WAL directory (no segments). The first segment is created with the
    /// first group, named after op 1.
    pub fn create(storage: S, config: WalConfig) -> Result<Self, WalError> {
        config.validate()?;
        if !super::segment::list_segments(&storage)?.is_empty() {
            return Err(WalError::NotEmpty);
        }
        Ok(Self {
            storage,
            config,
            segments: Vec::new(),
            current: None,
            next_op: 1,
            last_checksum: 0,
            failed: None,
        })
    }

    /// A writer that continues where `recover` left the log (after any torn tail was cut off).
    /// Nothing may have written to the storage in between.
    ///
    /// Before anything is appended, what recovery read is made durable (`make_tail_durable`):
    /// recovery reads through the page cache, which after a `kill -9` or a failed `fsync` of the
    /// previous process can hold a group, a torn-tail cut or a segment's name that never reached
    /// the disk. Appending after them and acknowledging would make new groups depend on data a
    /// power loss could still take away.
    pub fn resume(storage: S, config: WalConfig, end: RecoveryEnd) -> Result<Self, WalError> {
        config.validate()?;
        let current = match end.segments.last() {
            None => None,
            Some(last) => {
                let name = last.name.clone();
                let io = |action: &'static str| move |e| WalError::io(action, Some(&last.name), e);
                let mut file = storage.open(&name).map_err(io("open the last WAL segment"))?;
                let capacity = file.len().map_err(io("read the length of the last WAL segment"))?;
                // A crash while a torn tail was cut can leave the file shorter; records beyond
                // the tail are gone either way, and a group that does not fit rolls.
                let tail = end.tail_offset.min(capacity);
                make_tail_durable(&mut file, tail, capacity)
                    .map_err(io("make the recovered WAL tail durable"))?;
                storage.sync_dir().map_err(io("sync the WAL directory at start-up"))?;
                Some(Current { file, name, tail, capacity })
            }
        };
        Ok(Self {
            storage,
            config,
            segments: end.segments,
            current,
            next_op: end.next_op,
            last_checksum: end.last_checksum,
            failed: None,
        })
    }

    /// The op the next group must start with.
    #[must_use]
    pub fn next_op(&self) -> u64 {
        self.next_op
    }

    /// The record checksum of the last written record (the next record's `prev_checksum`).
    #[must_use]
    pub fn last_checksum(&self) -> u32 {
        self.last_checksum
    }

    /// The last durable position (what a snapshot taken now would record).
    #[must_use]
    pub fn last_position(&self) -> LogPosition {
        LogPosition { op: self.next_op - 1, checksum: self.last_checksum }
    }

    #[must_use]
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// The fatal error, if the writer has failed.
    #[must_use]
    pub fn failure(&self) -> Option<&WalError> {
        self.failed.as_ref()
    }

    #[must_use]
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Appends a group: `bytes` are whole encoded records with ops `first_op..=last_op`, the
    /// first chained to `last_checksum()` and the last with record checksum `last_checksum`.
    /// Returns once they are durable (one `write_and_sync`: one write and one sync). On `Ok` the group's clients may be
    /// answered; on `Err` they may not.
    ///
    /// Errors: `InvalidGroup` (a caller bug; nothing written, the writer is unchanged),
    /// `OutOfSpace` (a new segment could not be preallocated; nothing written, the same group
    /// may be retried once space was freed), anything else is fatal and returned again by every
    /// later call.
    pub fn write_group(
        &mut self,
        bytes: &[u8],
        first_op: u64,
        last_op: u64,
        last_checksum: u32,
    ) -> Result<(), WalError> {
        if let Some(failed) = &self.failed {
            return Err(failed.clone());
        }
        self.check_group(bytes, first_op, last_op, last_checksum)?;
        let len = bytes.len() as u64;
        let fits = self.current.as_ref().is_some_and(|c| c.tail + len <= c.capacity);
        if !fits {
            self.make_room(first_op, len)?;
        }
        let Some(current) = self.current.as_mut() else {
            // make_room leaves a current segment or returns an error.
            return Err(WalError::InvalidGroup { reason: "no segment after make_room".to_owned() });
        };
        let result = current.file.write_and_sync(current.tail, bytes).map_err(|e| {
            WalError::io(
                "append a group to a WAL segment and sync it (write + fdatasync)",
                Some(&current.name),
                e,
            )
        });
        if let Err(e) = result {
            self.failed = Some(e.clone());
            return Err(e);
        }
        current.tail += len;
        self.next_op = last_op + 1;
        self.last_checksum = last_checksum;
        Ok(())
    }

    /// Deletes whole segments whose records all have ops `<= op`, oldest first, then syncs the
    /// directory. Call it only once a snapshot covering `op` is durable. The current segment is
    /// never deleted. Returns how many segments were deleted. An error here is not fatal to the
    /// writer: the remaining segments are still a valid log (a crash in between does too).
    pub fn retire_segments_before(&mut self, op: u64) -> Result<usize, WalError> {
        if let Some(failed) = &self.failed {
            return Err(failed.clone());
        }
        let mut retired = 0;
        // Segment i ends right before segment i + 1 starts.
        while self.segments.len() >= 2 && self.segments[1].first_op - 1 <= op {
            let name = self.segments[0].name.clone();
            self.storage
                .remove(&name)
                .map_err(|e| WalError::io("remove a retired WAL segment", Some(&name), e))?;
            self.segments.remove(0);
            retired += 1;
        }
        if retired > 0 {
            self.storage.sync_dir().map_err(|e| WalError::io("sync the WAL directory", None, e))?;
        }
        Ok(retired)
    }

    /// Asserts before writing what recovery will check after reading: the group is whole records
    /// that continue the op sequence and the hash chain.
    fn check_group(
        &self,
        bytes: &[u8],
        first_op: u64,
        last_op: u64,
        last_checksum: u32,
    ) -> Result<(), WalError> {
        let invalid = |reason: String| Err(WalError::InvalidGroup { reason });
        if first_op != self.next_op {
            return invalid(format!("first_op {first_op}, but the log continues at op {}", self.next_op));
        }
        if bytes.is_empty() || bytes.len() as u64 > GROUP_BYTES_MAX {
            return invalid(format!("{} bytes, groups are 1..={GROUP_BYTES_MAX} bytes", bytes.len()));
        }
        let mut offset = 0_usize;
        let mut op = first_op;
        let mut prev = self.last_checksum;
        while offset < bytes.len() {
            let header = bytes
                .get(offset..offset + RECORD_HEADER_SIZE)
                .and_then(|h| <&[u8; RECORD_HEADER_SIZE]>::try_from(h).ok())
                .map(RecordHeader::decode);
            let header = match header {
                None => return invalid(format!("a record at byte {offset} is cut short")),
                Some(Err(e)) => return invalid(format!("record at byte {offset}: {e}")),
                Some(Ok(h)) => h,
            };
            if header.op != op || header.prev_checksum != prev {
                return invalid(format!(
                    "record at byte {offset} has op {} and prev_checksum {:#010x}, expected op {op} and {prev:#010x}",
                    header.op, header.prev_checksum
                ));
            }
            // record_len <= RECORD_BYTES_MAX (validated by decode) fits usize.
            let end = offset + RECORD_HEADER_SIZE + header.body_len as usize;
            let Some(body) = bytes.get(offset + RECORD_HEADER_SIZE..end) else {
                return invalid(format!("the body of op {op} is cut short"));
            };
            if cfg!(debug_assertions) && header.check_body(body).is_err() {
                return invalid(format!("the body checksum of op {op} does not match"));
            }
            prev = header.checksum;
            op += 1;
            offset = end;
        }
        if op - 1 != last_op || prev != last_checksum {
            return invalid(format!(
                "the group ends at op {} with checksum {prev:#010x}, the caller said op {last_op} and {last_checksum:#010x}",
                op - 1
            ));
        }
        Ok(())
    }

    /// Makes the current segment able to take `len` more bytes: grows it if it is still empty,
    /// otherwise rolls to a new segment named `first_op`.
    fn make_room(&mut self, first_op: u64, len: u64) -> Result<(), WalError> {
        let capacity = self.config.segment_size.max(len);
        if let Some(current) = self.current.as_mut().filter(|c| c.tail == 0) {
            // An empty segment (a crash right after it was created) is already named first_op.
            let name = current.name.clone();
            let result = match current.file.set_len(capacity) {
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                    return Err(WalError::OutOfSpace { segment: name, bytes: capacity, source: e.into() });
                }
                Err(e) => Err(WalError::io("preallocate a WAL segment", Some(&name), e)),
                Ok(()) => current
                    .file
                    .sync()
                    .map_err(|e| WalError::io("sync a preallocated WAL segment", Some(&name), e)),
            };
            return match result {
                Ok(()) => {
                    current.capacity = capacity;
                    Ok(())
                }
                Err(e) => Err(self.fail(e)),
            };
        }

        let name = segment_name(first_op);
        let mut file = match self.storage.create(&name) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                return Err(WalError::OutOfSpace { segment: name, bytes: capacity, source: e.into() });
            }
            Err(e) => return Err(self.fail(WalError::io("create a WAL segment", Some(&name), e))),
        };
        if let Err(e) = file.set_len(capacity) {
            if e.kind() != std::io::ErrorKind::StorageFull {
                return Err(self.fail(WalError::io("preallocate a WAL segment", Some(&name), e)));
            }
            // Nothing of the group was written. Remove the empty file so that the same group
            // can be retried (the name would be taken otherwise).
            drop(file);
            if let Err(remove) = self.storage.remove(&name) {
                return Err(self.fail(WalError::io(
                    "remove a segment that could not be preallocated",
                    Some(&name),
                    remove,
                )));
            }
            return Err(WalError::OutOfSpace { segment: name, bytes: capacity, source: e.into() });
        }
        // The size change and the new name must be durable before any record in the segment
        // is acknowledged; afterwards each group needs only fdatasync of its data.
        if let Err(e) = file.sync() {
            return Err(self.fail(WalError::io("sync a new WAL segment", Some(&name), e)));
        }
        if let Err(e) = self.storage.sync_dir() {
            return Err(self.fail(WalError::io(
                "sync the WAL directory after creating a segment",
                Some(&name),
                e,
            )));
        }
        self.segments.push(SegmentInfo { name: name.clone(), first_op });
        self.current = Some(Current { file, name, tail: 0, capacity });
        Ok(())
    }

    fn fail(&mut self, error: WalError) -> WalError {
        self.failed = Some(error.clone());
        error
    }
}
