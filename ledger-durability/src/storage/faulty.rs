//! `FaultyStorage`: an in-memory storage that simulates crashes and disk faults, for tests.
//!
//! Every file is two byte vectors: what reads return now (the page cache) and its durable image
//! (the disk), plus the writes and length changes made since its last successful `sync`. A crash
//! keeps the durable image and resolves each pending change by the `TornWrites` policy: lost,
//! kept, or torn (a random prefix or a random subset of its sectors, from a seed, in any order).
//! Names behave the same way: created and removed names become durable at `sync_dir`.
//!
//! Faults, each armed by a method:
//! - `crash_at_operation(n)`: the n-th mutating call from now (create, write_at, set_len, sync,
//!   remove, sync_dir) fails and the storage is dead afterwards; a write that crashes may still
//!   land partly, as a torn write. `crash()` then gives the durable image as a fresh storage.
//! - `fail_sync_at(n)`: the n-th `sync` from now fails; its pending changes are resolved by the
//!   policy as if the kernel had dropped dirty pages, while reads still show them (fsyncgate).
//! - `flip_bit(name, offset, bit)`: bit rot, in both the current and the durable image.
//! - `set_space_budget(bytes)`: growing the total file size beyond the budget fails with
//!   `StorageFull` (ENOSPC) and changes nothing.

use super::{Storage, StorageFile};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What a crash (or a failed sync) does to changes that were not yet synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TornWrites {
    /// None of them reached the disk.
    Lost,
    /// All of them reached the disk.
    Kept,
    /// Each write kept a random sector-aligned prefix (length changes: kept or not).
    Prefix { seed: u64 },
    /// Each sector of each write was kept or lost at random, independently.
    Sectors { seed: u64 },
}

#[derive(Clone, Debug)]
enum Pending {
    Write { offset: u64, bytes: Vec<u8> },
    SetLen(u64),
}

#[derive(Clone, Debug, Default)]
struct FileState {
    current: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
}

#[derive(Debug)]
struct State {
    files: BTreeMap<String, FileState>,
    /// Files removed since the last `sync_dir`; their durable images come back after a crash.
    removed: BTreeMap<String, FileState>,
    durable_names: BTreeSet<String>,
    dead: bool,
    operations: u64,
    syncs: u64,
    crash_at_operation: Option<u64>,
    fail_sync_at: Option<u64>,
    space_budget: Option<u64>,
    torn: TornWrites,
    sector_size: usize,
    rng: u64,
}

/// See the module documentation. Cloning gives another handle to the same storage.
#[derive(Clone, Debug)]
pub struct FaultyStorage {
    state: Arc<Mutex<State>>,
}

impl Default for FaultyStorage {
    fn default() -> Self {
        Self::new()
    }
}

fn dead() -> io::Error {
    io::Error::other("simulated crash: the storage is dead")
}

fn to_usize(value: u64) -> io::Result<usize> {
    usize::try_from(value).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))
}

impl State {
    fn lock(state: &Mutex<Self>) -> MutexGuard<'_, Self> {
        // A test that panicked while holding the lock left plain data behind; keep using it.
        state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one mutating call; fails it and kills the storage at the armed crash point.
    fn mutate(&mut self) -> io::Result<()> {
        if self.dead {
            return Err(dead());
        }
        self.operations += 1;
        if self.crash_at_operation == Some(self.operations) {
            self.dead = true;
            return Err(io::Error::other(format!("simulated crash at operation {}", self.operations)));
        }
        Ok(())
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64: tiny, seeded, good enough to pick sectors.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn total_len(&self) -> u64 {
        self.files.values().map(|f| f.current.len() as u64).sum()
    }

    fn check_space(&self, old_len: usize, new_len: usize) -> io::Result<()> {
        if let Some(budget) = self.space_budget
            && new_len > old_len
            && self.total_len() + (new_len - old_len) as u64 > budget
        {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "simulated ENOSPC"));
        }
        Ok(())
    }

    /// Moves a file's pending changes onto its durable image according to the torn policy.
    fn resolve_pending(&mut self, file: &mut FileState) {
        let sector = self.sector_size.max(1);
        for change in std::mem::take(&mut file.pending) {
            match change {
                Pending::SetLen(len) => {
                    let keep = match self.torn {
                        TornWrites::Lost => false,
                        TornWrites::Kept => true,
                        TornWrites::Prefix { .. } | TornWrites::Sectors { .. } => self.next_random() & 1 == 1,
                    };
                    if keep && let Ok(len) = usize::try_from(len) {
                        file.durable.resize(len, 0);
                    }
                }
                Pending::Write { offset, bytes } => {
                    let Ok(offset) = usize::try_from(offset) else { continue };
                    // Sector pieces of the write: boundaries at multiples of the sector size.
                    let mut pieces = Vec::new();
                    let mut start = offset;
                    let end = offset + bytes.len();
                    while start < end {
                        let piece_end = ((start / sector + 1) * sector).min(end);
                        pieces.push((start, piece_end));
                        start = piece_end;
                    }
                    let kept: Vec<bool> = match self.torn {
                        TornWrites::Lost => vec![false; pieces.len()],
                        TornWrites::Kept => vec![true; pieces.len()],
                        TornWrites::Prefix { .. } => {
                            #[expect(clippy::cast_possible_truncation, reason = "modulo a usize")]
                            let n = (self.next_random() % (pieces.len() as u64 + 1)) as usize;
                            (0..pieces.len()).map(|i| i < n).collect()
                        }
                        TornWrites::Sectors { .. } => {
                            (0..pieces.len()).map(|_| self.next_random() & 1 == 1).collect()
                        }
                    };
                    for ((s, e), keep) in pieces.into_iter().zip(kept) {
                        if keep {
                            if file.durable.len() < e {
                                file.durable.resize(e, 0);
                            }
                            file.durable[s..e].copy_from_slice(&bytes[s - offset..e - offset]);
                        }
                    }
                }
            }
        }
    }
}

impl FaultyStorage {
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                files: BTreeMap::new(),
                removed: BTreeMap::new(),
                durable_names: BTreeSet::new(),
                dead: false,
                operations: 0,
                syncs: 0,
                crash_at_operation: None,
                fail_sync_at: None,
                space_budget: None,
                torn: TornWrites::Lost,
                sector_size: 512,
                rng: 0,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        State::lock(&self.state)
    }

    /// How unsynced changes fare in a crash or a failed sync (default: `Lost`).
    pub fn set_torn_writes(&self, torn: TornWrites) {
        let mut s = self.state();
        s.torn = torn;
        s.rng = match torn {
            TornWrites::Prefix { seed } | TornWrites::Sectors { seed } => seed,
            TornWrites::Lost | TornWrites::Kept => 0,
        };
    }

    /// The unit a torn write keeps or loses (default 512 bytes).
    pub fn set_sector_size(&self, bytes: usize) {
        self.state().sector_size = bytes.max(1);
    }

    /// Arms a crash at the `n`-th mutating call from now (`n >= 1`).
    pub fn crash_at_operation(&self, n: u64) {
        let mut s = self.state();
        s.crash_at_operation = Some(s.operations + n.max(1));
    }

    /// Arms a failure of the `n`-th `sync` from now (`n >= 1`).
    pub fn fail_sync_at(&self, n: u64) {
        let mut s = self.state();
        s.fail_sync_at = Some(s.syncs + n.max(1));
    }

    /// Limits the total size of all files (`None`: unlimited).
    pub fn set_space_budget(&self, bytes: Option<u64>) {
        self.state().space_budget = bytes;
    }

    /// Mutating calls made so far (the unit of `crash_at_operation`).
    #[must_use]
    pub fn operations(&self) -> u64 {
        self.state().operations
    }

    /// `sync` calls made so far (the unit of `fail_sync_at`).
    #[must_use]
    pub fn syncs(&self) -> u64 {
        self.state().syncs
    }

    #[must_use]
    pub fn is_dead(&self) -> bool {
        self.state().dead
    }

    /// Flips one bit in both images of a file. Returns false if the byte does not exist.
    pub fn flip_bit(&self, name: &str, offset: u64, bit: u8) -> bool {
        let mut s = self.state();
        let Some(file) = s.files.get_mut(name) else { return false };
        let Ok(offset) = usize::try_from(offset) else { return false };
        let mask = 1_u8 << (bit % 8);
        let mut flipped = false;
        for image in [&mut file.current, &mut file.durable] {
            if let Some(byte) = image.get_mut(offset) {
                *byte ^= mask;
                flipped = true;
            }
        }
        flipped
    }

    /// What reads of `name` return now.
    #[must_use]
    pub fn file_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.state().files.get(name).map(|f| f.current.clone())
    }

    /// Simulates power loss: this storage dies, and the returned one holds what was durable,
    /// with unsynced changes resolved by the torn-write policy. The new storage has no faults
    /// armed and keeps the sector size.
    #[must_use]
    pub fn crash(&self) -> Self {
        let mut s = self.state();
        s.dead = true;
        let names: Vec<String> = s.durable_names.iter().cloned().collect();
        let mut files = BTreeMap::new();
        for name in names {
            let file = s.files.get(&name).or_else(|| s.removed.get(&name)).cloned();
            let Some(mut file) = file else { continue };
            s.resolve_pending(&mut file);
            files.insert(
                name,
                FileState { current: file.durable.clone(), durable: file.durable, pending: Vec::new() },
            );
        }
        let durable_names = files.keys().cloned().collect();
        let sector_size = s.sector_size;
        let after = Self::new();
        {
            let mut a = after.state();
            a.files = files;
            a.durable_names = durable_names;
            a.sector_size = sector_size;
        }
        after
    }
}

impl Storage for FaultyStorage {
    type File = FaultyFile;

    fn list(&self) -> io::Result<Vec<String>> {
        let s = self.state();
        if s.dead {
            return Err(dead());
        }
        Ok(s.files.keys().cloned().collect())
    }

    fn create(&self, name: &str) -> io::Result<FaultyFile> {
        let mut s = self.state();
        s.mutate()?;
        if s.files.contains_key(name) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{name} exists")));
        }
        // Simplification: a name recreated before `sync_dir` forgets the removed file's image.
        s.removed.remove(name);
        s.files.insert(name.to_owned(), FileState::default());
        Ok(FaultyFile { state: Arc::clone(&self.state), name: name.to_owned() })
    }

    fn open(&self, name: &str) -> io::Result<FaultyFile> {
        let s = self.state();
        if s.dead {
            return Err(dead());
        }
        if !s.files.contains_key(name) {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{name} not found")));
        }
        Ok(FaultyFile { state: Arc::clone(&self.state), name: name.to_owned() })
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        let mut s = self.state();
        s.mutate()?;
        let Some(file) = s.files.remove(name) else {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{name} not found")));
        };
        s.removed.insert(name.to_owned(), file);
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        let mut s = self.state();
        s.mutate()?;
        s.removed.clear();
        s.durable_names = s.files.keys().cloned().collect();
        Ok(())
    }
}

/// An open file of a `FaultyStorage`.
#[derive(Debug)]
pub struct FaultyFile {
    state: Arc<Mutex<State>>,
    name: String,
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{name} was removed"))
}

impl StorageFile for FaultyFile {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut guard = State::lock(&self.state);
        let s = &mut *guard;
        let start = to_usize(offset)?;
        let end = start + bytes.len();
        let old_len = s.files.get(&self.name).ok_or_else(|| not_found(&self.name))?.current.len();
        s.check_space(old_len, end)?;
        let crashed = s.mutate();
        let file = s.files.get_mut(&self.name).ok_or_else(|| not_found(&self.name))?;
        // A write that crashes may still reach the disk in part: keep it pending for `crash()`.
        file.pending.push(Pending::Write { offset, bytes: bytes.to_vec() });
        crashed?;
        if file.current.len() < end {
            file.current.resize(end, 0);
        }
        file.current[start..end].copy_from_slice(bytes);
        Ok(())
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let s = State::lock(&self.state);
        if s.dead {
            return Err(dead());
        }
        let file = s.files.get(&self.name).ok_or_else(|| not_found(&self.name))?;
        let start = to_usize(offset)?;
        let Some(src) = file.current.get(start..start + buf.len()) else {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the file"));
        };
        buf.copy_from_slice(src);
        Ok(())
    }

    fn len(&mut self) -> io::Result<u64> {
        let s = State::lock(&self.state);
        if s.dead {
            return Err(dead());
        }
        Ok(s.files.get(&self.name).ok_or_else(|| not_found(&self.name))?.current.len() as u64)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut guard = State::lock(&self.state);
        let s = &mut *guard;
        let new_len = to_usize(len)?;
        let old_len = s.files.get(&self.name).ok_or_else(|| not_found(&self.name))?.current.len();
        s.check_space(old_len, new_len)?;
        s.mutate()?;
        let file = s.files.get_mut(&self.name).ok_or_else(|| not_found(&self.name))?;
        file.pending.push(Pending::SetLen(len));
        file.current.resize(new_len, 0);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut guard = State::lock(&self.state);
        let s = &mut *guard;
        s.mutate()?;
        s.syncs += 1;
        let mut file = s.files.remove(&self.name).ok_or_else(|| not_found(&self.name))?;
        let result = if s.fail_sync_at == Some(s.syncs) {
            // The kernel wrote back what it managed to and marked the rest clean: reads still
            // show the data, the disk may not have it, and a later sync will not retry it.
            s.resolve_pending(&mut file);
            Err(io::Error::other(format!("simulated fsync failure (sync {})", s.syncs)))
        } else {
            // Pending changes reach the disk; data dropped by an earlier failed sync does not,
            // even though reads still show it: the kernel considers those pages clean.
            let torn = std::mem::replace(&mut s.torn, TornWrites::Kept);
            s.resolve_pending(&mut file);
            s.torn = torn;
            Ok(())
        };
        s.files.insert(self.name.clone(), file);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(storage: &FaultyStorage, name: &str, bytes: &[u8]) -> FaultyFile {
        let mut f = storage.create(name).expect("create");
        f.write_at(0, bytes).expect("write");
        f
    }

    #[test]
    fn synced_data_survives_a_crash_and_unsynced_data_is_lost() {
        let s = FaultyStorage::new();
        let mut f = write(&s, "a", b"hello");
        f.sync().expect("sync");
        s.sync_dir().expect("sync dir");
        f.write_at(5, b" world").expect("write");
        let after = s.crash();
        assert!(s.is_dead());
        assert!(f.write_at(0, b"x").is_err(), "a dead storage refuses everything");
        assert_eq!(after.file_bytes("a").as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn a_name_is_durable_only_after_sync_dir() {
        let s = FaultyStorage::new();
        let mut f = write(&s, "a", b"x");
        f.sync().expect("sync");
        assert_eq!(s.crash().file_bytes("a"), None);
    }

    #[test]
    fn a_torn_write_keeps_some_sectors_of_the_write() {
        let s = FaultyStorage::new();
        s.set_sector_size(4);
        s.set_torn_writes(TornWrites::Sectors { seed: 7 });
        let mut f = write(&s, "a", &[0; 64]);
        f.sync().expect("sync");
        s.sync_dir().expect("sync dir");
        f.write_at(0, &[1; 64]).expect("write");
        let bytes = s.crash().file_bytes("a").expect("file");
        assert_eq!(bytes.len(), 64);
        for chunk in bytes.chunks(4) {
            assert!(chunk == [0; 4] || chunk == [1; 4], "sectors are kept or lost whole");
        }
        assert!(bytes.contains(&0) && bytes.contains(&1), "seed 7 keeps some sectors and loses others");
    }

    #[test]
    fn the_armed_operation_fails_and_kills_the_storage() {
        let s = FaultyStorage::new();
        s.crash_at_operation(2);
        let mut f = s.create("a").expect("first operation succeeds");
        assert!(f.write_at(0, b"x").is_err());
        assert!(s.is_dead());
        assert!(s.create("b").is_err());
    }

    #[test]
    fn a_failed_sync_keeps_reads_but_not_the_disk() {
        let s = FaultyStorage::new();
        let mut f = write(&s, "a", b"abc");
        f.sync().expect("sync");
        s.sync_dir().expect("sync dir");
        s.fail_sync_at(1);
        f.write_at(0, b"xyz").expect("write");
        assert!(f.sync().is_err());
        let mut buf = [0; 3];
        f.read_at(0, &mut buf).expect("read");
        assert_eq!(&buf, b"xyz", "the page cache still shows the write");
        f.sync().expect("a later sync succeeds but does not carry the dropped write");
        assert_eq!(s.crash().file_bytes("a").as_deref(), Some(&b"abc"[..]));
    }

    #[test]
    fn growing_past_the_space_budget_fails_with_storage_full() {
        let s = FaultyStorage::new();
        s.set_space_budget(Some(100));
        let mut f = s.create("a").expect("create");
        f.set_len(100).expect("fits");
        assert_eq!(f.set_len(101).map_err(|e| e.kind()), Err(io::ErrorKind::StorageFull));
        f.write_at(90, &[1; 10]).expect("inside the file needs no space");
        assert_eq!(f.len().expect("len"), 100);
    }

    #[test]
    fn write_and_sync_counts_as_a_write_and_a_sync() {
        let storage = FaultyStorage::new();
        let mut f = storage.create("a").expect("create");
        let (operations, syncs) = (storage.operations(), storage.syncs());
        f.write_and_sync(0, b"hello").expect("write and sync");
        assert_eq!(storage.operations() - operations, 2);
        assert_eq!(storage.syncs() - syncs, 1);
        // Both halves stay separate fault points: a crash at the sync keeps the write torn.
        storage.crash_at_operation(2);
        assert!(f.write_and_sync(5, b" world").is_err());
        assert_eq!(storage.operations() - operations, 4);
    }

    #[test]
    fn flip_bit_changes_both_images() {
        let s = FaultyStorage::new();
        let mut f = write(&s, "a", &[0; 8]);
        f.sync().expect("sync");
        s.sync_dir().expect("sync dir");
        assert!(s.flip_bit("a", 3, 1));
        assert!(!s.flip_bit("a", 8, 0));
        assert_eq!(s.crash().file_bytes("a").expect("file")[3], 2);
    }
}
