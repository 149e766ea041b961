//! A seed is the whole run: running it twice gives the same outcome and the same counts of
//! everything it did, which is what makes `simulate --seed N` a reproduction. And a failure
//! prints the command that replays it.

use ledger_sim::{FaultSet, SimConfig, SimFailure, reproduce_command, run};

#[test]
fn the_same_seed_gives_the_same_run() {
    for seed in [0, 7, 123_456_789] {
        let first = run(SimConfig::new(seed, 400)).expect("passes");
        let second = run(SimConfig::new(seed, 400)).expect("passes");
        assert_eq!(first.outcome, second.outcome, "seed {seed}");
        assert_eq!(first.stats, second.stats, "seed {seed}");
        assert!(first.stats.ops_logged > 0, "seed {seed} did nothing");
    }
    let a = run(SimConfig::new(1, 400)).expect("passes").stats;
    let b = run(SimConfig::new(2, 400)).expect("passes").stats;
    assert_ne!(a, b, "different seeds make different runs");
}

#[test]
fn a_failure_names_the_command_that_replays_it() {
    let config = SimConfig::new(42, ledger_sim::STEPS_DEFAULT);
    assert_eq!(reproduce_command(&config), "cargo run -p ledger-sim --release -- --seed 42");
    let shorter = SimConfig::new(42, 300);
    assert_eq!(reproduce_command(&shorter), "cargo run -p ledger-sim --release -- --seed 42 --steps 300");
    let failure = SimFailure { config, step: 17, message: "acknowledged ops lost".to_owned() };
    let text = failure.to_string();
    assert!(text.contains("seed 42 failed at step 17: acknowledged ops lost"), "{text}");
    assert!(text.contains("reproduce: cargo run -p ledger-sim --release -- --seed 42"), "{text}");
    let other = SimConfig { faults: FaultSet::parse("all,-bit-flips").expect("a fault set"), ..config };
    assert!(reproduce_command(&other).contains("--faults"), "{}", reproduce_command(&other));
}
