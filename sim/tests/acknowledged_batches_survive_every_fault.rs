//! The simulator over a few hundred seeds with the default fault set: every run ends clean or
//! on detected corruption, never on a failed check (an acknowledged batch lost or applied twice,
//! unbalanced books, a balance limit exceeded, a recovered state that differs from a replay of
//! the logged history, damage accepted). The seeds are fixed, so a failure here is a seed that
//! `simulate --seed N` replays.
//!
//! The sum of the runs' counts must show that every fault kind really struck, so that the test
//! cannot pass by doing nothing. More seeds: `simulate --seeds N`, `scripts/crash-soak`.

use ledger_sim::{FaultSet, Outcome, SimConfig, SimStats, run};

/// Seeds and steps: a few hundred short runs, a few seconds in a debug build on two cores.
const SEEDS: u64 = 400;
const STEPS: u64 = 300;
const THREADS: usize = 2;

#[test]
fn acknowledged_batches_survive_every_fault() {
    let workers: Vec<_> = (0..THREADS as u64)
        .map(|worker| {
            std::thread::spawn(move || {
                let mut stats = SimStats::default();
                let mut corruption_detected = 0_u64;
                for seed in (worker..SEEDS).step_by(THREADS) {
                    let report = match run(SimConfig::new(seed, STEPS)) {
                        Ok(report) => report,
                        Err(failure) => panic!("{failure}"),
                    };
                    if let Outcome::CorruptionDetected { .. } = report.outcome {
                        corruption_detected += 1;
                    }
                    stats.add(&report.stats);
                }
                (stats, corruption_detected)
            })
        })
        .collect();
    let mut stats = SimStats::default();
    let mut corruption_detected = 0;
    for worker in workers {
        let (s, c) = worker.join().expect("a simulation thread panicked: see its message above");
        stats.add(&s);
        corruption_detected += c;
    }
    println!("{SEEDS} seeds of {STEPS} steps, {corruption_detected} ended on detected corruption\n{stats}");

    assert_eq!(FaultSet::DEFAULT, SimConfig::new(0, 1).faults);
    let struck = [
        ("acknowledged events", stats.events_acknowledged),
        ("resends after a dropped connection", stats.resends),
        ("duplicate requests", stats.duplicates),
        ("client disconnects", stats.disconnects),
        ("power losses", stats.power_losses),
        ("power losses inside storage calls", stats.crashes_in_storage_calls),
        ("kills", stats.kills),
        ("failed fsyncs", stats.failed_fsyncs),
        ("commits refused by a full disk", stats.disk_full_commits),
        ("torn tails cut", stats.torn_tails_cut),
        ("snapshots", stats.snapshots),
        ("starts from a snapshot", stats.starts_from_snapshot),
        ("segments retired", stats.segments_retired),
        ("WAL bits flipped", stats.wal_bits_flipped),
        ("snapshot bits flipped", stats.snapshot_bits_flipped),
        ("runs ended on detected corruption", corruption_detected),
    ];
    for (what, count) in struck {
        assert!(count > 0, "no {what} in {SEEDS} seeds: the fault model has a hole");
    }
}
