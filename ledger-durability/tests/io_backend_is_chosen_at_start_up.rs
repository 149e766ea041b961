//! `open_storage` picks the WAL I/O backend at start-up: `Pwrite` is honoured without touching
//! io_uring, `Auto` takes io_uring where the probe works and falls back to pwrite otherwise,
//! `Uring` insists, and `LEDGER_WAL_IO` names the choice.

mod common;

use common::{make_groups, recover_all, write};
use ledger_durability::storage::{IoBackend, Storage, open_storage};
use ledger_durability::wal::{LogPosition, WalConfig, WalWriter};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("ledger-choice-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Whether io_uring works here, with the reason printed when it does not.
fn uring_works(dir: &std::path::Path) -> bool {
    #[cfg(target_os = "linux")]
    match ledger_durability::storage::probe_uring(dir) {
        Ok(()) => true,
        Err(e) => {
            println!("io_uring is unavailable on this machine ({e}): checking the fallback only");
            false
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        println!("io_uring exists only on Linux: checking the fallback only");
        false
    }
}

#[test]
fn forced_pwrite_is_pwrite_and_works() {
    let dir = scratch("pwrite");
    let (storage, backend) = open_storage(&dir, IoBackend::Pwrite).expect("open");
    assert_eq!(backend, IoBackend::Pwrite);
    assert_eq!(storage.backend(), IoBackend::Pwrite);
    let groups = make_groups(&[vec![2], vec![1, 0]], 5);
    let mut writer = WalWriter::create(storage.clone(), WalConfig::default()).expect("create");
    for group in &groups {
        write(&mut writer, group).expect("write");
    }
    drop(writer);
    let (_, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert_eq!(seen.len(), 3);
    // The probe file of `Auto` never appears with `Pwrite`, and nothing else is left behind.
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["wal"]);
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn auto_takes_uring_where_it_works_and_pwrite_otherwise() {
    let dir = scratch("auto");
    let works = uring_works(&dir);
    let (storage, backend) = open_storage(&dir, IoBackend::Auto).expect("Auto always opens");
    let expected = if works { IoBackend::Uring } else { IoBackend::Pwrite };
    assert_eq!(backend, expected);
    assert_eq!(storage.backend(), expected);
    println!("auto chose {backend}");
    // The probe cleans up after itself.
    assert!(storage.list().expect("list").is_empty());
    assert_eq!(std::fs::read_dir(&dir).expect("read dir").count(), 1, "only wal/ remains");

    let forced = open_storage(&dir, IoBackend::Uring);
    match (works, forced) {
        (true, Ok((_, backend))) => assert_eq!(backend, IoBackend::Uring),
        (false, Err(e)) => println!("forced uring fails as it should: {e}"),
        (true, Err(e)) => panic!("io_uring works but forcing it failed: {e}"),
        (false, Ok(_)) => panic!("forcing io_uring succeeded where the probe failed"),
    }
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn backend_names_come_from_their_words() {
    assert_eq!("pwrite".parse::<IoBackend>().ok(), Some(IoBackend::Pwrite));
    assert_eq!("uring".parse::<IoBackend>().ok(), Some(IoBackend::Uring));
    assert_eq!("auto".parse::<IoBackend>().ok(), Some(IoBackend::Auto));
    assert!("aio".parse::<IoBackend>().is_err());
}
