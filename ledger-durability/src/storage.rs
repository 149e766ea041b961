//! The files a WAL needs, behind a small trait: the WAL's logic runs unchanged on real files
//! (`FileStorage`: `pwrite` + `fdatasync`; `UringStorage`: the same through io_uring, Linux
//! only) and on a crash-simulating in-memory backend (`FaultyStorage`, tests only).
//! `open_storage` chooses between the two real backends at start-up (`AnyStorage`).
//!
//! A storage is one directory (the data directory's `wal/`) holding flat files by name. The
//! contract the WAL relies on, which both implementations keep:
//! - `write_at` may leave the written range partly on disk if the machine crashes before the
//!   next successful `sync` of that file; after a successful `sync`, every earlier write and
//!   length change of that file survives a crash.
//! - A created or removed name survives a crash only after a successful `sync_dir`.
//! - A failed `sync` may have lost earlier writes even though reads still return them
//!   (PostgreSQL's "fsyncgate"): callers must never retry it and treat the file as lost.
//! - Running out of space is an `io::Error` of kind `StorageFull`.

use std::io;

mod backend;
#[cfg(any(test, feature = "fault-injection"))]
mod faulty;
mod file;
#[cfg(target_os = "linux")]
mod uring;

pub use backend::{AnyFile, AnyStorage, IO_BACKEND_ENV, IoBackend, open_storage};
#[cfg(any(test, feature = "fault-injection"))]
pub use faulty::{FaultyFile, FaultyStorage, TornWrites};
pub use file::{DiskFile, FileStorage};
#[cfg(target_os = "linux")]
pub use uring::{UringFile, UringStorage, probe_uring};

/// One directory of files.
pub trait Storage: std::fmt::Debug {
    type File: StorageFile;

    /// Names of all files in the directory, in no particular order.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Creates a new, empty file; fails if the name exists.
    fn create(&self, name: &str) -> io::Result<Self::File>;
    /// Opens an existing file for reading and writing.
    fn open(&self, name: &str) -> io::Result<Self::File>;
    /// Removes a file (durable after `sync_dir`).
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes created and removed names durable.
    fn sync_dir(&self) -> io::Result<()>;
}

/// One open file.
#[expect(clippy::len_without_is_empty, reason = "a file's length, not a collection")]
pub trait StorageFile: std::fmt::Debug {
    /// Writes all of `bytes` at `offset`, extending the file if needed.
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// Fills `buf` from `offset`; fails with `UnexpectedEof` if the file is shorter.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// The file's length in bytes.
    fn len(&mut self) -> io::Result<u64>;
    /// Sets the file's length; new bytes read as zeros. Used to preallocate segments and to
    /// cut a torn tail.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes the file's data and length durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;

    /// `write_at` then `sync`, with the contract of both: on `Ok` the bytes are durable; on
    /// `Err` the write may be partly on disk and, if the sync failed, it must never be retried.
    /// This is the WAL's group commit. A backend may submit both at once (io_uring links them
    /// into one chain); by default it is the two calls.
    fn write_and_sync(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.write_at(offset, bytes)?;
        self.sync()
    }
}
