//! `ledger verify --data-dir DIR` on copies of the committed v1 fixture
//! (`ledger-durability/tests/fixtures/v1/`): a clean copy passes and lists its segments and
//! records; a copy with one flipped body byte fails with a non-zero exit and names the segment,
//! the offset and the op on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LEDGER: &str = env!("CARGO_BIN_EXE_ledger");

/// A copy of the fixture's `wal/` in cargo's per-target temp dir, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn copy_of_fixture(label: &str) -> Self {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ledger-durability/tests/fixtures/v1/wal");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("verify-reports-damage-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("wal")).expect("create the scratch wal/");
        for entry in std::fs::read_dir(&from).expect("the fixture's wal/ exists") {
            let entry = entry.expect("read the fixture's wal/");
            std::fs::copy(entry.path(), dir.join("wal").join(entry.file_name())).expect("copy a segment");
        }
        Self(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Leftovers in target/tmp are harmless; a failed clean-up must not hide a test result.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ledger_verify(dir: &Path) -> Output {
    Command::new(LEDGER).arg("verify").arg("--data-dir").arg(dir).output().expect("run `ledger verify`")
}

#[test]
fn verify_passes_a_clean_copy_and_names_the_damage_in_a_corrupt_one() {
    let clean = ScratchDir::copy_of_fixture("clean");
    let output = ledger_verify(&clean.0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for line in [
        "wal: 3 segment(s)",
        "  00000000000000000001.wal (first op 1)",
        "  00000000000000000011.wal (first op 11)",
        "  00000000000000000015.wal (first op 15)",
        "records: 18 (ops 1..=18), 10240 bytes; checksums and hash chain intact",
    ] {
        assert!(stdout.lines().any(|l| l == line), "missing {line:?} in:\n{stdout}");
    }

    // One flipped byte in the body of op 12, at offset 832 of the middle segment.
    let corrupt = ScratchDir::copy_of_fixture("corrupt");
    let segment = corrupt.0.join("wal").join("00000000000000000011.wal");
    let mut bytes = std::fs::read(&segment).expect("read the segment");
    bytes[832 + 64 + 10] ^= 0x40;
    std::fs::write(&segment, bytes).expect("write the segment");
    let output = ledger_verify(&corrupt.0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "ledger verify: {}: damaged: body checksum mismatch in segment 00000000000000000011.wal at offset \
             832, op 12: header says 0xa3a8bee9, body has 0xe0d9416d",
            corrupt.0.display()
        )
    );
}
