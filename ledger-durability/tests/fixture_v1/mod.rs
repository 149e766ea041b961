//! The committed v1 data directory (`tests/fixtures/v1/`): where it is, what recovering it must
//! give (`expected.txt`), and scratch copies of it that a test may damage or that recovery may
//! repair. `tests/fixtures/v1/README.md` describes its contents and how it is regenerated.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The segment size the fixture was written with: tiny files, several segments.
pub const FIXTURE_SEGMENT_SIZE: u64 = 4096;

/// The data directory of the fixture (it holds `wal/`).
#[must_use]
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join("v1")
}

/// What recovering the fixture must give, as written by the generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Records (ops) in the WAL, all of which recovery replays.
    pub records: u64,
    /// `Ledger::state_hash()` after replaying them, as lowercase hex.
    pub state_hash: String,
}

impl Expected {
    pub const FILE_NAME: &str = "expected.txt";

    /// Parses `expected.txt`: `#` comments, then `key value` lines.
    #[must_use]
    pub fn read(dir: &Path) -> Self {
        let path = dir.join(Self::FILE_NAME);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut records = None;
        let mut state_hash = None;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            match line.split_once(' ') {
                Some(("records", value)) => records = value.trim().parse().ok(),
                Some(("state_hash", value)) => state_hash = Some(value.trim().to_owned()),
                _ => panic!("unexpected line in {}: {line:?}", path.display()),
            }
        }
        Self {
            records: records.expect("expected.txt names the record count"),
            state_hash: state_hash.expect("expected.txt names the state hash"),
        }
    }

    pub fn write(&self, dir: &Path) {
        let text = format!(
            "# What recovering this data directory must give (written by the generator, see README.md).\n\
             records {}\nstate_hash {}\n",
            self.records, self.state_hash
        );
        std::fs::write(dir.join(Self::FILE_NAME), text).expect("write expected.txt");
    }
}

/// Lowercase hex of a state hash.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A scratch data directory under cargo's per-target temp dir, removed on drop.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// An empty directory whose name includes `label`, the process id and a counter.
    #[must_use]
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fixture-v1-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a scratch dir");
        Self { path }
    }

    /// A copy of the fixture's `wal/` (only the WAL: recovery needs nothing else).
    #[must_use]
    pub fn copy_of_fixture(label: &str) -> Self {
        let scratch = Self::new(label);
        let from = fixture_dir().join("wal");
        let to = scratch.wal();
        std::fs::create_dir_all(&to).expect("create wal/");
        for entry in std::fs::read_dir(&from).expect("the fixture's wal/ exists") {
            let entry = entry.expect("read the fixture's wal/");
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy a segment");
        }
        scratch
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    #[must_use]
    pub fn wal(&self) -> PathBuf {
        self.path.join("wal")
    }

    /// The path of one file in `wal/`.
    #[must_use]
    pub fn segment(&self, name: &str) -> PathBuf {
        self.wal().join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Leftovers in target/tmp are harmless; a failed clean-up must not hide a test result.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
