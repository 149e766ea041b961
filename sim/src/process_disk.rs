//! `ProcessDisk`: the simulated server process's handle on the machine's disk.
//!
//! The disk itself is a `FaultyStorage` (page cache plus durable image; power loss, torn writes,
//! failed fsyncs, bit rot, a full disk). This wrapper adds the one fault the disk cannot show: the
//! *process* dying (`kill -9`) at a chosen storage call while the machine stays up. The call is
//! refused, or made and then reported as failed (the process died just after it), and every later
//! call of this process fails: a dead process does nothing more. The page cache survives, so the
//! next process (a new `ProcessDisk` over the same `FaultyStorage`) reads whatever the killed one
//! wrote, synced or not.

use ledger_durability::storage::{FaultyFile, FaultyStorage, Storage, StorageFile};
use std::cell::Cell;
use std::io;
use std::rc::Rc;

/// Where the armed kill lands relative to the chosen call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillTiming {
    /// The call never happens.
    Before,
    /// The call completes (its effect is in the page cache), then the process dies.
    After,
}

#[derive(Debug, Default)]
struct KillPoint {
    /// Mutating calls left before the kill (1: the next one).
    countdown: Cell<Option<u64>>,
    timing: Cell<Option<KillTiming>>,
    dead: Cell<bool>,
}

/// See the module documentation. Clones share the process (and its kill point).
#[derive(Clone, Debug)]
pub struct ProcessDisk {
    disk: FaultyStorage,
    kill: Rc<KillPoint>,
}

fn killed() -> io::Error {
    io::Error::other("simulated kill -9: the process is dead")
}

/// What to do with one mutating call.
enum Verdict {
    Go,
    Refuse,
    GoThenDie,
}

impl ProcessDisk {
    /// A new process's handle on `disk`.
    #[must_use]
    pub fn new(disk: FaultyStorage) -> Self {
        Self { disk, kill: Rc::new(KillPoint::default()) }
    }

    /// Arms a kill at the `n`-th mutating call from now (`n >= 1`).
    pub fn kill_at_operation(&self, n: u64, timing: KillTiming) {
        self.kill.countdown.set(Some(n.max(1)));
        self.kill.timing.set(Some(timing));
    }

    /// The process was killed by the armed kill point.
    #[must_use]
    pub fn is_killed(&self) -> bool {
        self.kill.dead.get()
    }

    #[must_use]
    pub fn disk(&self) -> &FaultyStorage {
        &self.disk
    }

    fn verdict(&self) -> Verdict {
        if self.kill.dead.get() {
            return Verdict::Refuse;
        }
        match self.kill.countdown.get() {
            Some(1) => {
                self.kill.countdown.set(None);
                self.kill.dead.set(true);
                match self.kill.timing.get() {
                    Some(KillTiming::After) => Verdict::GoThenDie,
                    _ => Verdict::Refuse,
                }
            }
            Some(n) => {
                self.kill.countdown.set(Some(n - 1));
                Verdict::Go
            }
            None => Verdict::Go,
        }
    }

    fn mutate<T>(&self, call: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        match self.verdict() {
            Verdict::Go => call(),
            Verdict::Refuse => Err(killed()),
            Verdict::GoThenDie => {
                // The call's outcome no longer matters: nobody is left to see it.
                let _ = call();
                Err(killed())
            }
        }
    }

    fn read<T>(&self, call: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        if self.kill.dead.get() { Err(killed()) } else { call() }
    }
}

impl Storage for ProcessDisk {
    type File = ProcessFile;

    fn list(&self) -> io::Result<Vec<String>> {
        self.read(|| self.disk.list())
    }

    fn create(&self, name: &str) -> io::Result<ProcessFile> {
        let file = self.mutate(|| self.disk.create(name))?;
        Ok(ProcessFile { file, process: self.clone() })
    }

    fn open(&self, name: &str) -> io::Result<ProcessFile> {
        let file = self.read(|| self.disk.open(name))?;
        Ok(ProcessFile { file, process: self.clone() })
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.mutate(|| self.disk.remove(name))
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.mutate(|| self.disk.sync_dir())
    }
}

/// An open file of a `ProcessDisk`.
#[derive(Debug)]
pub struct ProcessFile {
    file: FaultyFile,
    process: ProcessDisk,
}

impl StorageFile for ProcessFile {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let file = &mut self.file;
        self.process.mutate(|| file.write_at(offset, bytes))
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let file = &mut self.file;
        self.process.read(|| file.read_at(offset, buf))
    }

    fn len(&mut self) -> io::Result<u64> {
        let file = &mut self.file;
        self.process.read(|| file.len())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let file = &mut self.file;
        self.process.mutate(|| file.set_len(len))
    }

    fn sync(&mut self) -> io::Result<()> {
        let file = &mut self.file;
        self.process.mutate(|| file.sync())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kill_after_a_write_leaves_it_in_the_page_cache_for_the_next_process() {
        let disk = FaultyStorage::new();
        let process = ProcessDisk::new(disk.clone());
        let mut file = process.create("a").expect("create");
        process.kill_at_operation(1, KillTiming::After);
        assert!(file.write_at(0, b"abc").is_err(), "the caller never hears of the write");
        assert!(process.is_killed());
        assert!(process.list().is_err(), "a dead process does nothing more");
        assert_eq!(disk.file_bytes("a").as_deref(), Some(&b"abc"[..]), "the write is in the cache");
        let next = ProcessDisk::new(disk);
        assert_eq!(next.list().expect("list"), vec!["a".to_owned()]);
    }

    #[test]
    fn a_kill_before_a_call_refuses_it() {
        let disk = FaultyStorage::new();
        let process = ProcessDisk::new(disk.clone());
        process.kill_at_operation(2, KillTiming::Before);
        let mut file = process.create("a").expect("the first call goes through");
        assert!(file.write_at(0, b"abc").is_err());
        assert_eq!(disk.file_bytes("a").as_deref(), Some(&b""[..]));
    }
}
