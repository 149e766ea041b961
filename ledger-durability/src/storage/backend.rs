//! The start-up choice of WAL I/O backend: io_uring where it works, `pwrite` + `fdatasync`
//! everywhere else.
//!
//! `open_storage(data_dir, IoBackend::Auto)` probes io_uring (a ring, a no-op, and a 4 KiB
//! write linked to an fdatasync on a probe file) and falls back to `FileStorage` on any error:
//! an old kernel, `kernel.io_uring_disabled`, or a container's seccomp policy. `Uring` insists
//! (an error if the probe fails), `Pwrite` never touches io_uring. The environment variable
//! `LEDGER_WAL_IO` (`auto`, `uring` or `pwrite`) chooses for the binaries.

use super::{DiskFile, FileStorage, Storage, StorageFile};
#[cfg(target_os = "linux")]
use super::{UringFile, UringStorage, probe_uring};
use std::io;
use std::path::Path;
use std::str::FromStr;

/// The environment variable the binaries read to choose the backend.
pub const IO_BACKEND_ENV: &str = "LEDGER_WAL_IO";

/// Which file I/O the WAL uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoBackend {
    /// io_uring if the probe succeeds, else `Pwrite`.
    Auto,
    /// io_uring (Linux), linked write + fdatasync per group.
    Uring,
    /// Portable `pwrite` + `fdatasync`.
    Pwrite,
}

impl IoBackend {
    /// The backend named by `LEDGER_WAL_IO`, `Auto` if it is unset or empty.
    pub fn from_env() -> io::Result<Self> {
        match std::env::var(IO_BACKEND_ENV) {
            Ok(value) if value.is_empty() => Ok(Self::Auto),
            Ok(value) => value.parse(),
            Err(std::env::VarError::NotPresent) => Ok(Self::Auto),
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{IO_BACKEND_ENV}: {e}"))),
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Uring => "uring",
            Self::Pwrite => "pwrite",
        }
    }
}

impl FromStr for IoBackend {
    type Err = io::Error;

    fn from_str(value: &str) -> io::Result<Self> {
        match value {
            "auto" => Ok(Self::Auto),
            "uring" | "io_uring" => Ok(Self::Uring),
            "pwrite" => Ok(Self::Pwrite),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown WAL I/O backend {other:?}: expected auto, uring or pwrite"),
            )),
        }
    }
}

impl std::fmt::Display for IoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Opens the WAL directory of `data_dir` with the preferred backend. Returns the storage and the
/// backend in use (never `Auto`). `Auto` falls back to `Pwrite` when io_uring does not work
/// (`probe_uring` says why); `Uring` fails instead.
pub fn open_storage(data_dir: &Path, preference: IoBackend) -> io::Result<(AnyStorage, IoBackend)> {
    let files = FileStorage::open(data_dir)?;
    match preference {
        IoBackend::Pwrite => Ok((AnyStorage::Pwrite(files), IoBackend::Pwrite)),
        IoBackend::Uring | IoBackend::Auto => match uring(data_dir, files.clone()) {
            Ok(storage) => Ok((storage, IoBackend::Uring)),
            Err(_) if preference == IoBackend::Auto => Ok((AnyStorage::Pwrite(files), IoBackend::Pwrite)),
            Err(e) => Err(io::Error::new(e.kind(), format!("io_uring WAL backend unavailable: {e}"))),
        },
    }
}

#[cfg(target_os = "linux")]
fn uring(data_dir: &Path, files: FileStorage) -> io::Result<AnyStorage> {
    probe_uring(data_dir)?;
    Ok(AnyStorage::Uring(UringStorage::from_files(files)))
}

#[cfg(not(target_os = "linux"))]
fn uring(_data_dir: &Path, _files: FileStorage) -> io::Result<AnyStorage> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "io_uring exists only on Linux"))
}

/// Whichever storage `open_storage` chose.
#[derive(Debug, Clone)]
pub enum AnyStorage {
    Pwrite(FileStorage),
    #[cfg(target_os = "linux")]
    Uring(UringStorage),
}

impl AnyStorage {
    /// The backend in use (`Uring` or `Pwrite`).
    #[must_use]
    pub fn backend(&self) -> IoBackend {
        match self {
            Self::Pwrite(_) => IoBackend::Pwrite,
            #[cfg(target_os = "linux")]
            Self::Uring(_) => IoBackend::Uring,
        }
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        match self {
            Self::Pwrite(s) => s.dir(),
            #[cfg(target_os = "linux")]
            Self::Uring(s) => s.dir(),
        }
    }
}

/// Forwards a call to whichever variant `$self` is.
macro_rules! each {
    ($self:expr, $inner:ident => $call:expr) => {
        match $self {
            Self::Pwrite($inner) => $call,
            #[cfg(target_os = "linux")]
            Self::Uring($inner) => $call,
        }
    };
}

impl Storage for AnyStorage {
    type File = AnyFile;

    fn list(&self) -> io::Result<Vec<String>> {
        each!(self, s => s.list())
    }

    fn create(&self, name: &str) -> io::Result<AnyFile> {
        each!(self, s => s.create(name).map(Into::into))
    }

    fn open(&self, name: &str) -> io::Result<AnyFile> {
        each!(self, s => s.open(name).map(Into::into))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        each!(self, s => s.remove(name))
    }

    fn sync_dir(&self) -> io::Result<()> {
        each!(self, s => s.sync_dir())
    }
}

/// One open file of an `AnyStorage`.
#[derive(Debug)]
#[cfg_attr(
    target_os = "linux",
    expect(
        clippy::large_enum_variant,
        reason = "a ring's few hundred bytes, for the handful of open WAL files"
    )
)]
pub enum AnyFile {
    Pwrite(DiskFile),
    #[cfg(target_os = "linux")]
    Uring(UringFile),
}

impl From<DiskFile> for AnyFile {
    fn from(file: DiskFile) -> Self {
        Self::Pwrite(file)
    }
}

#[cfg(target_os = "linux")]
impl From<UringFile> for AnyFile {
    fn from(file: UringFile) -> Self {
        Self::Uring(file)
    }
}

impl StorageFile for AnyFile {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        each!(self, f => f.write_at(offset, bytes))
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        each!(self, f => f.read_at(offset, buf))
    }

    fn len(&mut self) -> io::Result<u64> {
        each!(self, f => f.len())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        each!(self, f => f.set_len(len))
    }

    fn sync(&mut self) -> io::Result<()> {
        each!(self, f => f.sync())
    }

    // Forwarded explicitly: the default would split io_uring's linked chain into two calls.
    fn write_and_sync(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        each!(self, f => f.write_and_sync(offset, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_parse_back() {
        for backend in [IoBackend::Auto, IoBackend::Uring, IoBackend::Pwrite] {
            assert_eq!(backend.name().parse::<IoBackend>().ok(), Some(backend));
        }
        assert_eq!("io_uring".parse::<IoBackend>().ok(), Some(IoBackend::Uring));
        let error = "mmap".parse::<IoBackend>().expect_err("an unknown name parsed");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
