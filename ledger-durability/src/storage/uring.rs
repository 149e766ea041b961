//! `UringStorage`: the WAL directory on a real file system, with writes and `fdatasync` submitted
//! through io_uring (the `io-uring` crate, Linux only).
//!
//! Directory operations, reads, lengths and preallocation are `FileStorage`'s, by composition:
//! they are rare and gain nothing from a ring. What io_uring changes is the group-commit path:
//! `write_and_sync` submits the group's write and its `fdatasync` as one linked chain
//! (`Write` with `IO_LINK`, then `Fsync` with `DATASYNC`), one `io_uring_enter` for both.
//!
//! Each file owns a small ring, made on its first write or sync, so files opened only to be read
//! (recovery) never make one. The kernel reads the caller's buffer after `push` returns, which is
//! why `push` is `unsafe`: every call here waits for all the completions it submitted before it
//! returns, so the borrowed buffer outlives each operation.
//!
//! Results follow the `StorageFile` contract: a short write is resubmitted for the rest (the
//! kernel cancels the linked fsync after a short write, and it is submitted again with the rest);
//! a negative result is an `io::Error` from its errno (ENOSPC is `StorageFull`); a failed fsync is
//! returned and never retried.

use super::{DiskFile, FileStorage, Storage, StorageFile};
use io_uring::{IoUring, opcode, squeue, types};
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

/// Submission queue entries per ring: a chain is at most two (write, fsync), and the queue is
/// always empty between calls.
const RING_ENTRIES: u32 = 4;
/// Submissions in one chain: a write and an fsync.
const CHAIN_LEN_MAX: usize = 2;
/// The most bytes one write entry carries (its length field is a `u32`); a longer write goes out
/// in several rounds, like a short write.
#[cfg(not(test))]
const WRITE_BYTES_MAX: usize = 1 << 30;
/// Small in unit tests, so that they take the several-rounds path that short writes take.
#[cfg(test)]
const WRITE_BYTES_MAX: usize = 4096;
/// Rounds (submissions) one `write_at` / `write_and_sync` may take before it gives up. Each round
/// writes at least one byte, and on a local file system a short write is rare (a signal, a nearly
/// full disk), so this bound is only reached if the kernel stops making progress.
const ROUNDS_MAX: u32 = 1024;

/// The result of a linked entry whose predecessor failed or was short: `-ECANCELED` (125 on
/// every Linux architecture, asm-generic/errno.h).
const ECANCELED_NEGATIVE: i32 = -125;

/// `user_data` of the write entry of a chain.
const WRITE_TAG: u64 = 1;
/// `user_data` of the fsync entry of a chain.
const SYNC_TAG: u64 = 2;

/// A directory of files written through io_uring. `open` creates it if needed.
#[derive(Debug, Clone)]
pub struct UringStorage {
    files: FileStorage,
}

impl UringStorage {
    /// The `wal/` directory inside `data_dir`, as `FileStorage::open` makes it. Does not check
    /// that io_uring works: `probe_uring` (or `open_storage`) does.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        Ok(Self { files: FileStorage::open(data_dir)? })
    }

    /// Writes through io_uring in the directory of `files`.
    pub(super) fn from_files(files: FileStorage) -> Self {
        Self { files }
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        self.files.dir()
    }
}

impl Storage for UringStorage {
    type File = UringFile;

    fn list(&self) -> io::Result<Vec<String>> {
        self.files.list()
    }

    fn create(&self, name: &str) -> io::Result<UringFile> {
        self.files.create(name).map(UringFile::new)
    }

    fn open(&self, name: &str) -> io::Result<UringFile> {
        self.files.open(name).map(UringFile::new)
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.files.remove(name)
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.files.sync_dir()
    }
}

/// One open file of a `UringStorage`: a `DiskFile` plus the ring its writes and syncs go through.
pub struct UringFile {
    disk: DiskFile,
    /// Made on the first write or sync; dropped after a submission error that leaves its state
    /// unknown, so that no stale entry can ever be submitted later.
    ring: Option<IoUring>,
}

impl std::fmt::Debug for UringFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringFile").field("disk", &self.disk).field("ring", &self.ring.is_some()).finish()
    }
}

/// What the kernel answered for one round: each entry's result, if it was submitted.
#[derive(Clone, Copy, Debug, Default)]
struct Round {
    written: Option<i32>,
    synced: Option<i32>,
}

impl UringFile {
    fn new(disk: DiskFile) -> Self {
        Self { disk, ring: None }
    }

    /// Writes all of `bytes` at `offset` and, if `sync`, then makes the file durable, each round
    /// one linked chain. Empty `bytes` with `sync` is a plain fsync.
    fn write_chain(&mut self, offset: u64, bytes: &[u8], sync: bool) -> io::Result<()> {
        let ring = match &mut self.ring {
            Some(ring) => ring,
            none => none.insert(IoUring::new(RING_ENTRIES)?),
        };
        let fd = types::Fd(self.disk.as_fd().as_raw_fd());
        let mut done = 0_usize;
        for _ in 0..ROUNDS_MAX {
            let rest = &bytes[done..];
            let rest = &rest[..rest.len().min(WRITE_BYTES_MAX)];
            // `done <= bytes.len()`, and a slice's length fits u64.
            let at = offset + done as u64;
            let round = match submit_round(ring, fd, at, rest, sync) {
                Ok(round) => round,
                Err(e) => {
                    // The kernel consumed none of this round's entries (see `submit_round`);
                    // dropping the ring guarantees they are never submitted later.
                    self.ring = None;
                    return Err(e);
                }
            };
            if let Some(written) = round.written {
                let written = usize::try_from(written).map_err(|_| io::Error::from_raw_os_error(-written))?;
                if written == 0 {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "io_uring write wrote 0 bytes"));
                }
                if written > rest.len() {
                    return Err(io::Error::other(format!(
                        "io_uring write reported {written} bytes of {}",
                        rest.len()
                    )));
                }
                done += written;
            }
            let finished = done == bytes.len();
            match round.synced {
                // The write was short, so the kernel cancelled the linked fsync before it ran:
                // nothing failed, and the next round submits it again after the rest.
                Some(ECANCELED_NEGATIVE) if !finished => {}
                // A failed fsync is final (fsyncgate): report it, never retry it.
                Some(res) if res < 0 => return Err(io::Error::from_raw_os_error(-res)),
                Some(_) | None => {}
            }
            if finished {
                if sync && round.synced != Some(0) {
                    return Err(io::Error::other(format!("io_uring fsync answered {:?}", round.synced)));
                }
                return Ok(());
            }
        }
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!(
                "io_uring write made no full progress in {ROUNDS_MAX} rounds ({done} of {} bytes)",
                bytes.len()
            ),
        ))
    }
}

/// Submits one chain (a write of `rest` at `offset` if `rest` is not empty, then an fsync if
/// `sync`) and waits for all its completions.
///
/// On `Err`, the kernel consumed none of the entries, and the caller must drop the ring. Once
/// the kernel has consumed an entry this function does not return before its completion: if
/// waiting fails for any reason but a signal, the process aborts (a crash, which recovery
/// handles) rather than return while the kernel may still read `rest`.
#[expect(unsafe_code, reason = "io_uring's `push` is unsafe: the kernel reads the buffer after it returns")]
fn submit_round(
    ring: &mut IoUring,
    fd: types::Fd,
    offset: u64,
    rest: &[u8],
    sync: bool,
) -> io::Result<Round> {
    if !ring.submission().is_empty() || !ring.completion().is_empty() {
        return Err(io::Error::other("io_uring queue not empty before a submission"));
    }
    let mut chain = [opcode::Nop::new().build(), opcode::Nop::new().build()];
    let mut len = 0;
    if !rest.is_empty() {
        // `rest.len() <= WRITE_BYTES_MAX < u32::MAX` (checked by the caller's slicing).
        let write_len = u32::try_from(rest.len()).map_err(|_| io::Error::other("write too large"))?;
        let write =
            opcode::Write::new(fd, rest.as_ptr(), write_len).offset(offset).build().user_data(WRITE_TAG);
        chain[len] = if sync { write.flags(squeue::Flags::IO_LINK) } else { write };
        len += 1;
    }
    if sync {
        chain[len] = opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build().user_data(SYNC_TAG);
        len += 1;
    }
    debug_assert!(len <= CHAIN_LEN_MAX);
    if len == 0 {
        return Ok(Round::default());
    }
    let entries = &chain[..len];
    // SAFETY: the write entry points at `rest`, which is borrowed for this whole call, and `fd`
    // is the caller's open file, borrowed likewise; the fsync entry holds no buffer. This
    // function returns only (a) after reaping a completion for every entry the kernel consumed
    // (the loop below), or (b) with an error when the kernel consumed none of them, after which
    // the caller drops the ring so they are never submitted. So the kernel never reads `rest`
    // after the borrow ends. `push_multiple` pushes all entries or none (the queue is empty
    // and holds `RING_ENTRIES >= CHAIN_LEN_MAX`).
    unsafe { ring.submission().push_multiple(entries) }
        .map_err(|_| io::Error::other("io_uring submission queue full"))?;

    let mut round = Round::default();
    let mut reaped = 0_usize;
    while reaped < len {
        if let Err(e) = ring.submit_and_wait(len - reaped) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if reaped == 0 && ring.submission().len() == len {
                // Nothing was consumed (e.g. EAGAIN, EBUSY): nothing is in flight.
                return Err(e);
            }
            // Some entry may be in flight and reading `rest`; returning now would let the
            // caller free it. Waiting on a valid ring fails only on a signal, so this is a
            // broken kernel contract, and a crash is the one safe way out.
            eprintln!("ledger-durability: io_uring wait failed with operations in flight: {e}; aborting");
            std::process::abort();
        }
        for cqe in ring.completion() {
            match cqe.user_data() {
                WRITE_TAG => round.written = Some(cqe.result()),
                SYNC_TAG => round.synced = Some(cqe.result()),
                _ => {}
            }
            reaped += 1;
        }
    }
    Ok(round)
}

impl StorageFile for UringFile {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.write_chain(offset, bytes, false)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.disk.read_at(offset, buf)
    }

    fn len(&mut self) -> io::Result<u64> {
        self.disk.len()
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.disk.set_len(len)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.write_chain(0, &[], true)
    }

    fn write_and_sync(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.write_chain(offset, bytes, true)
    }
}

/// Checks that io_uring works here: makes a ring, runs a no-op, then writes 4 KiB to a probe
/// file in `dir` with a linked fdatasync and reads it back. Any error means "use pwrite": the
/// kernel may be too old, io_uring may be disabled (`kernel.io_uring_disabled`), or a container's
/// seccomp policy may block it. The probe file is removed afterwards.
pub fn probe_uring(dir: &Path) -> io::Result<()> {
    const PROBE_BYTES: usize = 4096;
    let mut ring = IoUring::new(RING_ENTRIES)?;
    probe_nop(&mut ring)?;
    drop(ring);

    let path = dir.join(format!(".io-uring-probe-{}", std::process::id()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
    let result = (|| {
        let mut probe = UringFile::new(DiskFile::from_file(file));
        let written: Vec<u8> = (0..=u8::MAX).cycle().take(PROBE_BYTES).collect();
        probe.write_and_sync(0, &written)?;
        let mut read = vec![0_u8; PROBE_BYTES];
        probe.read_at(0, &mut read)?;
        if read != written {
            return Err(io::Error::other("io_uring probe read back different bytes"));
        }
        Ok(())
    })();
    let removed = std::fs::remove_file(&path);
    result.and(removed)
}

#[expect(unsafe_code, reason = "io_uring's `push` is unsafe even for an entry without buffers")]
fn probe_nop(ring: &mut IoUring) -> io::Result<()> {
    let nop = opcode::Nop::new().build().user_data(0);
    // SAFETY: a no-op references no memory and no file; the ring is fresh and empty.
    unsafe { ring.submission().push(&nop) }
        .map_err(|_| io::Error::other("io_uring submission queue full"))?;
    loop {
        match ring.submit_and_wait(1) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    match ring.completion().next() {
        Some(cqe) if cqe.result() >= 0 => Ok(()),
        Some(cqe) => Err(io::Error::from_raw_os_error(-cqe.result())),
        None => Err(io::Error::other("io_uring no-op did not complete")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_longer_than_one_entry_goes_out_in_rounds() {
        let dir = std::env::temp_dir().join(format!("ledger-uring-rounds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        if let Err(e) = probe_uring(&dir) {
            eprintln!("skipped: io_uring unavailable: {e}");
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        let storage = UringStorage::open(&dir).expect("open");
        let mut f = storage.create("rounds.wal").expect("create");
        // Three full entries and a partial one, synced after the last.
        let bytes: Vec<u8> = (0..241_u8).cycle().take(3 * WRITE_BYTES_MAX + 100).collect();
        f.write_and_sync(10, &bytes).expect("write_and_sync");
        f.write_at(10 + bytes.len() as u64, &bytes).expect("write_at");
        let mut back = vec![0_u8; bytes.len()];
        for at in [10, 10 + bytes.len() as u64] {
            f.read_at(at, &mut back).expect("read");
            assert!(back == bytes, "bytes at {at} differ");
        }
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn enospc_from_the_ring_is_storage_full() {
        // /dev/full fails every write with ENOSPC.
        let file = match std::fs::OpenOptions::new().write(true).open("/dev/full") {
            Ok(file) => file,
            Err(e) => {
                eprintln!("skipped: cannot open /dev/full: {e}");
                return;
            }
        };
        if let Err(e) = IoUring::new(RING_ENTRIES) {
            eprintln!("skipped: io_uring unavailable: {e}");
            return;
        }
        let mut full = UringFile::new(DiskFile::from_file(file));
        let error = full.write_and_sync(0, &[1_u8; 512]).expect_err("/dev/full accepted a write");
        assert_eq!(error.kind(), io::ErrorKind::StorageFull, "{error}");
        let error = full.write_at(0, &[1_u8; 512]).expect_err("/dev/full accepted a write");
        assert_eq!(error.kind(), io::ErrorKind::StorageFull, "{error}");
    }
}
