//! `FileStorage`: the WAL directory on a real file system, with positional I/O and `fdatasync`.
//!
//! Preallocation is `set_len` (`ftruncate`), which makes a sparse file: it is cheap and needs no
//! `unsafe` or extra crate, and it fixes the file's size, so that `fdatasync` after each group
//! never has to flush a size change. It does not reserve blocks: on a full disk the error comes
//! from a later `write_at` (a fatal WAL error) rather than from the preallocation (the WAL's
//! non-fatal `OutOfSpace`). Reserving blocks (`fallocate` through `rustix`, or writing zeros) is a
//! possible later change behind this same trait.

use super::{Storage, StorageFile};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A directory of files. `open` creates it if needed.
#[derive(Debug, Clone)]
pub struct FileStorage {
    dir: PathBuf,
}

impl FileStorage {
    /// The `wal/` directory inside `data_dir`, created (and made durable) if it does not exist.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let dir = data_dir.join("wal");
        if !dir.is_dir() {
            fs::create_dir_all(&dir)?;
            // The new directory's own name lives in its parent.
            File::open(data_dir)?.sync_all()?;
        }
        Ok(Self { dir })
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Rejects names that would leave the directory; the WAL only uses plain segment names.
fn checked(dir: &Path, name: &str) -> io::Result<PathBuf> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid file name {name:?}")));
    }
    Ok(dir.join(name))
}

impl Storage for FileStorage {
    type File = DiskFile;

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            // A name that is not UTF-8 cannot be a segment; it is listed lossily so that the
            // WAL reports it instead of ignoring it.
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn create(&self, name: &str) -> io::Result<DiskFile> {
        let file =
            OpenOptions::new().read(true).write(true).create_new(true).open(checked(&self.dir, name)?)?;
        Ok(DiskFile { file })
    }

    fn open(&self, name: &str) -> io::Result<DiskFile> {
        let file = OpenOptions::new().read(true).write(true).open(checked(&self.dir, name)?)?;
        Ok(DiskFile { file })
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(checked(&self.dir, name)?)
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }
}

/// One open file of a `FileStorage`.
#[derive(Debug)]
pub struct DiskFile {
    file: File,
}

impl DiskFile {
    /// Wraps an open file (the io_uring probe's, and tests').
    pub(super) fn from_file(file: File) -> Self {
        Self { file }
    }
}

impl AsFd for DiskFile {
    /// The open file, for backends that submit their own I/O on it (`UringFile`).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl StorageFile for DiskFile {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all_at(bytes, offset)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn len(&mut self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let old = self.file.metadata()?.len();
        self.file.set_len(len)?;
        if len > old {
            // `set_len` alone leaves a sparse hole: a full disk would then surface as a failed
            // write in the middle of a group (fatal). Reserving the blocks now makes a full disk
            // fail here, before anything is written, where the WAL reports it as `OutOfSpace`.
            // File systems without fallocate (EOPNOTSUPP) keep the sparse behaviour.
            match rustix::fs::fallocate(&self.file, rustix::fs::FallocateFlags::empty(), old, len - old) {
                Ok(()) | Err(rustix::io::Errno::OPNOTSUPP) => {}
                Err(errno) => {
                    // Give back the length we just claimed, so nothing half-reserved remains.
                    let _ = self.file.set_len(old);
                    return Err(io::Error::from(errno));
                }
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}
