//! `crash-driver`: posts transfers durably until killed, and checks a data directory after a
//! crash. Used by `tests/acknowledged_transfers_survive_kill_9.rs`; useful by hand too.
//!
//! ```text
//! crash-driver run   DIR ACCOUNTS FIRST_ID   # posts ids FIRST_ID.. forever; prints "ack N" once
//!                                            # every id <= N is durable
//! crash-driver check DIR ACCOUNTS ACKED      # recovers DIR, checks it, prints "ok LAST_ID"
//! crash-driver compact DIR                   # offline snapshot + WAL segment retirement
//! ```
//!
//! The WAL I/O backend is chosen at start-up (`LEDGER_WAL_IO` = `auto` (default), `uring` or
//! `pwrite`); the one in use is printed to stderr.
//!
//! Transfer `i` is a pure function of `i` (accounts, amount), so a restarted run may resubmit
//! ids that were durable but never acknowledged: they answer `exists`, which is what a retrying
//! client sees. `check` verifies that the recovered transfers are exactly ids `1..=K` for some
//! `K >= ACKED` (the log is a prefix: nothing acknowledged lost, nothing half-applied) and that
//! every balance equals the sum over those transfers.

use ledger_core::clock::SystemClock;
use ledger_core::transfer_store::FileTransferStore;
use ledger_core::writer::{Command, Reply};
use ledger_core::{Account, CreateTransferResult, Transfer};
use ledger_durability::data_dir::{self, DataDirConfig, DataDirLock, IoBackendChoice};
use ledger_durability::durable_writer::DurableWriter;
use ledger_durability::storage::IoBackend;
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const LEDGER: u32 = 1;
const BATCH: u128 = 500;
/// Batches in flight at once, so that group commit has something to group.
const PIPELINE: usize = 4;
/// Online snapshot interval (records): small, so that a run takes several.
const SNAPSHOT_EVERY_OPS: u64 = 25;

fn transfer(id: u128, accounts: u128) -> Transfer {
    Transfer {
        id,
        debit_account_id: id % accounts + 1,
        credit_account_id: (id + 1) % accounts + 1,
        amount: id % 97 + 1,
        ledger: LEDGER,
        code: 1,
        ..Transfer::default()
    }
}

type Writer = DurableWriter<FileTransferStore>;

/// Opens the data directory (newest snapshot + WAL). The writer and the directory lock are
/// returned together: the lock must live as long as the writer.
fn open(dir: &Path) -> Result<(Writer, DataDirLock), String> {
    let preference = IoBackend::from_env().map_err(|e| e.to_string())?;
    // Frequent online snapshots, so that kills also land in the middle of snapshot jobs.
    let config = DataDirConfig {
        io: IoBackendChoice(preference),
        snapshot_every_ops: Some(SNAPSHOT_EVERY_OPS),
        ..DataDirConfig::default()
    };
    let opened = data_dir::open(dir, config, SystemClock).map_err(|e| e.to_string())?;
    eprintln!("crash-driver: WAL I/O backend {} (asked for {preference})", opened.io);
    if let Some(torn) = &opened.recovery.torn_tail {
        eprintln!("recovery cut a torn tail: {torn:?}");
    }
    Ok((opened.writer, opened.lock))
}

fn run(dir: &Path, accounts: u128, first_id: u128) -> Result<(), String> {
    let (writer, _lock) = open(dir)?;
    let opened: Vec<Account> =
        (1..=accounts).map(|id| Account { id, ledger: LEDGER, code: 1, ..Account::default() }).collect();
    match writer.call(Command::CreateAccounts(opened)) {
        Ok(Reply::CreateAccounts { .. }) => {}
        other => return Err(format!("opening accounts: {other:?}")),
    }
    let mut stdout = std::io::stdout().lock();
    let mut in_flight = VecDeque::new();
    let mut next = first_id;
    loop {
        while in_flight.len() < PIPELINE {
            let batch: Vec<Transfer> = (next..next + BATCH).map(|id| transfer(id, accounts)).collect();
            let receiver = writer.submit(Command::CreateTransfers(batch)).map_err(|e| e.to_string())?;
            in_flight.push_back((next + BATCH - 1, receiver));
            next += BATCH;
        }
        let Some((last, receiver)) = in_flight.pop_front() else { continue };
        match receiver.recv() {
            Ok(Reply::CreateTransfers { results, .. })
                if results.iter().all(|r| r.result == CreateTransferResult::Exists) =>
            {
                writeln!(stdout, "ack {last}").and_then(|()| stdout.flush()).map_err(|e| e.to_string())?;
            }
            other => return Err(format!("batch ending at {last}: {other:?}")),
        }
    }
}

fn check(dir: &Path, accounts: u128, acked: u128) -> Result<u128, String> {
    let (writer, _lock) = open(dir)?;
    let lookup = |ids: Vec<u128>| match writer.call(Command::LookupTransfers(ids)) {
        Ok(Reply::Transfers(found)) => Ok(found),
        other => Err(format!("lookup: {other:?}")),
    };
    // Find the last id present, then check that 1..=last are all there and exactly as posted.
    let mut last = 0;
    loop {
        let ids: Vec<u128> = (last + 1..=last + BATCH).collect();
        let found = lookup(ids)?;
        for t in &found {
            let expected = transfer(t.id, accounts);
            if t.id != last + 1 {
                return Err(format!(
                    "transfer {} present but {} missing: the log is not a prefix",
                    t.id,
                    last + 1
                ));
            }
            if (t.debit_account_id, t.credit_account_id, t.amount)
                != (expected.debit_account_id, expected.credit_account_id, expected.amount)
            {
                return Err(format!("transfer {} differs from what was posted: {t:?}", t.id));
            }
            last = t.id;
        }
        if found.len() < BATCH as usize {
            break;
        }
    }
    if last < acked {
        return Err(format!("acknowledged transfers up to {acked} but only 1..={last} recovered"));
    }
    let mut debits = vec![0_u128; accounts as usize + 1];
    let mut credits = vec![0_u128; accounts as usize + 1];
    for id in 1..=last {
        let t = transfer(id, accounts);
        debits[t.debit_account_id as usize] += t.amount;
        credits[t.credit_account_id as usize] += t.amount;
    }
    let ids: Vec<u128> = (1..=accounts).collect();
    let Ok(Reply::Accounts(found)) = writer.call(Command::LookupAccounts(ids)) else {
        return Err("account lookup failed".to_owned());
    };
    if found.len() != accounts as usize {
        return Err(format!("{} of {accounts} accounts recovered", found.len()));
    }
    for a in &found {
        let i = a.id as usize;
        if (a.debits_posted, a.credits_posted) != (debits[i], credits[i]) {
            return Err(format!(
                "account {}: debits {} credits {}, replay of transfers 1..={last} gives {} and {}",
                a.id, a.debits_posted, a.credits_posted, debits[i], credits[i]
            ));
        }
    }
    let ledger = writer.shutdown().ok_or("the writer stopped on an error")?;
    ledger.check_invariants().map_err(|e| e.to_string())?;
    Ok(last)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let parse = |i: usize| args.get(i).and_then(|a| a.parse::<u128>().ok());
    let result = match (args.get(1).map(String::as_str), args.get(2), parse(3), parse(4)) {
        (Some("run"), Some(dir), Some(accounts), Some(first)) if accounts >= 2 => {
            run(Path::new(dir), accounts, first)
        }
        (Some("compact"), Some(dir), _, _) => data_dir::compact(Path::new(dir), DataDirConfig::default())
            .map(|report| println!("compacted: {:?}", report.written.map(|f| f.op)))
            .map_err(|e| e.to_string()),
        (Some("check"), Some(dir), Some(accounts), Some(acked)) if accounts >= 2 => {
            check(Path::new(dir), accounts, acked).map(|last| println!("ok {last}"))
        }
        _ => Err("usage: crash-driver run DIR ACCOUNTS FIRST_ID | check DIR ACCOUNTS ACKED (ACCOUNTS >= 2)"
            .to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("crash-driver: {message}");
            ExitCode::FAILURE
        }
    }
}
