//! Bit rot in sealed WAL segments and in complete snapshots, across many seeds: start-up must
//! report a damaged segment (naming it) and refuse to go on, must never load a damaged snapshot
//! (it falls back to an older one, or refuses if none is left), and must never report damage
//! that was not injected. A run that ends on reported damage counts as a pass; the test demands
//! that enough runs did, so that it checks something.

use ledger_sim::{FaultSet, Outcome, SimConfig, run};

#[test]
fn bit_rot_is_reported_never_accepted() {
    let faults = FaultSet::parse("power-loss,process-kill,bit-flips").expect("fault names");
    let mut detected = Vec::new();
    let mut flipped = 0;
    for seed in 10_000..10_300 {
        let config = SimConfig { faults, ..SimConfig::new(seed, 300) };
        match run(config) {
            Ok(report) => {
                flipped += report.stats.wal_bits_flipped + report.stats.snapshot_bits_flipped;
                if let Outcome::CorruptionDetected { error, .. } = report.outcome {
                    detected.push(error);
                }
            }
            Err(failure) => panic!("{failure}"),
        }
    }
    println!("{flipped} bits flipped, {} runs ended on reported damage", detected.len());
    assert!(detected.len() >= 5, "only {} runs met damage: {detected:?}", detected.len());
    assert!(
        detected.iter().any(|e| e.contains(".wal")),
        "no damaged WAL segment was reported by name: {detected:?}"
    );
}
