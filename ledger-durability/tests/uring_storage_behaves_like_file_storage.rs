//! `UringStorage` (io_uring) keeps the `StorageFile` contract exactly as `FileStorage` (pwrite +
//! fdatasync) does: the same calls on both give the same bytes, lengths and errors.
//!
//! Skipped, with the reason printed, where io_uring does not work on the machine.

#![cfg(target_os = "linux")]

use ledger_durability::storage::{FileStorage, Storage, StorageFile, UringStorage, probe_uring};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("ledger-uring-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The scratch directory, or `None` (with the reason printed) where io_uring is unavailable.
fn uring_dir(name: &str) -> Option<PathBuf> {
    let dir = scratch(name);
    match probe_uring(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            println!("SKIPPED {name}: io_uring is unavailable on this machine: {e}");
            eprintln!("SKIPPED {name}: io_uring is unavailable on this machine: {e}");
            let _ = std::fs::remove_dir_all(&dir);
            None
        }
    }
}

/// Runs the same sequence of calls on one file of `storage` and returns what it observed.
fn exercise(storage: &impl Storage) -> Vec<String> {
    let mut seen = Vec::new();
    let mut f = storage.create("a.wal").expect("create");
    seen.push(format!("len {}", f.len().expect("len")));
    f.write_at(0, b"hello").expect("write_at");
    f.sync().expect("sync");
    f.write_and_sync(5, b", world").expect("write_and_sync");
    seen.push(format!("len {}", f.len().expect("len")));
    // A write past the end extends the file; the gap reads as zeros.
    f.write_and_sync(20, b"!").expect("write past the end");
    let mut buf = [0_u8; 21];
    f.read_at(0, &mut buf).expect("read_at");
    seen.push(format!("{buf:?}"));
    // Preallocation, then a write into it, then cutting back.
    f.set_len(8192).expect("grow");
    f.write_and_sync(4096, &[7_u8; 4096]).expect("write into the preallocated range");
    seen.push(format!("len {}", f.len().expect("len")));
    let mut tail = [0_u8; 4096];
    f.read_at(4096, &mut tail).expect("read the tail");
    seen.push(format!("tail all 7: {}", tail.iter().all(|&b| b == 7)));
    f.set_len(12).expect("cut");
    f.sync().expect("sync after cut");
    seen.push(format!("len {}", f.len().expect("len")));
    let error = f.read_at(10, &mut [0_u8; 4]).expect_err("read past the end");
    seen.push(format!("{:?}", error.kind()));
    // An empty write is a no-op; an empty write_and_sync is a sync.
    f.write_at(3, &[]).expect("empty write");
    f.write_and_sync(3, &[]).expect("empty write_and_sync");
    drop(f);
    // Reopened, the file still holds what was written.
    let mut f = storage.open("a.wal").expect("open");
    let mut buf = [0_u8; 12];
    f.read_at(0, &mut buf).expect("read after reopen");
    seen.push(String::from_utf8_lossy(&buf).into_owned());
    seen.push(format!("{:?}", storage.create("a.wal").map(|_| ()).map_err(|e| e.kind())));
    storage.sync_dir().expect("sync_dir");
    seen.push(format!("{:?}", storage.list().expect("list")));
    storage.remove("a.wal").expect("remove");
    storage.sync_dir().expect("sync_dir");
    seen.push(format!("{:?}", storage.list().expect("list")));
    seen.push(format!("{:?}", storage.open("a.wal").map(|_| ()).map_err(|e| e.kind())));
    seen.push(format!("{:?}", storage.create("../x").map(|_| ()).map_err(|e| e.kind())));
    seen
}

#[test]
fn uring_and_pwrite_files_answer_the_same_calls_the_same_way() {
    let Some(uring) = uring_dir("same-calls") else { return };
    let pwrite = scratch("same-calls-pwrite");
    let expected = exercise(&FileStorage::open(&pwrite).expect("open"));
    let got = exercise(&UringStorage::open(&uring).expect("open"));
    assert_eq!(got, expected);
    assert!(expected.iter().any(|s| s == "hello, world"), "{expected:?}");
    for dir in [uring, pwrite] {
        std::fs::remove_dir_all(dir).expect("clean up");
    }
}

#[test]
fn a_large_write_and_sync_lands_whole() {
    let Some(dir) = uring_dir("large") else { return };
    let storage = UringStorage::open(&dir).expect("open");
    let mut f = storage.create("big.wal").expect("create");
    // 8 MiB, the largest WAL group, at an odd offset.
    let bytes: Vec<u8> = (0..253_u8).cycle().take(8 * 1024 * 1024).collect();
    f.write_and_sync(4097, &bytes).expect("write_and_sync");
    let mut back = vec![0_u8; bytes.len()];
    let mut disk = FileStorage::open(&dir).expect("open").open("big.wal").expect("open");
    disk.read_at(4097, &mut back).expect("read with pread");
    assert!(back == bytes, "the bytes read back with pread differ");
    assert_eq!(disk.len().expect("len"), 4097 + bytes.len() as u64);
    std::fs::remove_dir_all(dir).expect("clean up");
}
