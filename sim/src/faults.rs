//! The fault model: which kinds of fault a run may inject, and how often.
//!
//! Each seed draws its own rates (swarm testing): some runs are quiet, some are storms of one
//! kind, so that rare combinations come up without tuning. A rate is a weight beside the normal
//! actions of a step (which weigh about a thousand together), so a rate of 10 is roughly one
//! fault per hundred steps.

use crate::rng::SimRng;
use std::fmt;

/// The kinds of fault a run may inject. `--faults` names them, comma-separated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSet {
    /// Power loss between steps or at a chosen storage call: unsynced writes are lost or torn.
    pub power_loss: bool,
    /// `kill -9` of the server between steps: the page cache survives.
    pub process_kill: bool,
    /// `kill -9` inside a storage call (after a write, before its fsync; after a segment's
    /// creation, before the directory fsync, ...).
    pub kill_in_storage_call: bool,
    /// A failed fsync: fatal; the process stops and the machine goes down with it (the dropped
    /// pages are gone before the next start).
    pub failed_fsync: bool,
    /// A failed fsync after which only the process restarts, on the same page cache, which still
    /// shows the pages the kernel dropped (PostgreSQL's "fsyncgate").
    pub restart_after_failed_fsync: bool,
    /// Bit flips in sealed WAL segments and in complete snapshots: must be detected.
    pub bit_flips: bool,
    /// The disk fills up (new segments cannot be preallocated), then space comes back.
    pub disk_full: bool,
    /// Dropped connections, duplicate and reordered retries.
    pub client_faults: bool,
}

const NAMES: [&str; 8] = [
    "power-loss",
    "process-kill",
    "kill-in-storage-call",
    "failed-fsync",
    "restart-after-failed-fsync",
    "bit-flips",
    "disk-full",
    "client-faults",
];

impl FaultSet {
    pub const ALL: Self = Self {
        power_loss: true,
        process_kill: true,
        kill_in_storage_call: true,
        failed_fsync: true,
        restart_after_failed_fsync: true,
        bit_flips: true,
        disk_full: true,
        client_faults: true,
    };
    pub const NONE: Self = Self {
        power_loss: false,
        process_kill: false,
        kill_in_storage_call: false,
        failed_fsync: false,
        restart_after_failed_fsync: false,
        bit_flips: false,
        disk_full: false,
        client_faults: false,
    };
    /// Every fault. (Until start-up made what it recovered durable, `WalWriter::resume`, the
    /// two restart faults on a page cache that never reached the disk were left out: they
    /// found four bugs, `tests/start_up_makes_what_it_recovered_durable.rs`.)
    pub const DEFAULT: Self = Self::ALL;

    fn flags(&self) -> [bool; 8] {
        [
            self.power_loss,
            self.process_kill,
            self.kill_in_storage_call,
            self.failed_fsync,
            self.restart_after_failed_fsync,
            self.bit_flips,
            self.disk_full,
            self.client_faults,
        ]
    }

    /// Parses `default`, `all`, `none`, or a comma-separated list of names
    /// (`power-loss,bit-flips`), applied left to right; a name with a leading `-` removes it
    /// (`all,-failed-fsync`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut set = Self::NONE;
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let (on, name) = match word.strip_prefix('-') {
                Some(name) => (false, name),
                None => (true, word),
            };
            match name {
                "all" => set = if on { Self::ALL } else { Self::NONE },
                "default" => set = Self::DEFAULT,
                "none" => set = Self::NONE,
                _ => {
                    let Some(i) = NAMES.iter().position(|n| *n == name) else {
                        return Err(format!(
                            "unknown fault {name:?}; known: default, all, none, {}",
                            NAMES.join(", ")
                        ));
                    };
                    let flag = match i {
                        0 => &mut set.power_loss,
                        1 => &mut set.process_kill,
                        2 => &mut set.kill_in_storage_call,
                        3 => &mut set.failed_fsync,
                        4 => &mut set.restart_after_failed_fsync,
                        5 => &mut set.bit_flips,
                        6 => &mut set.disk_full,
                        _ => &mut set.client_faults,
                    };
                    *flag = on;
                }
            }
        }
        Ok(set)
    }
}

impl Default for FaultSet {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for FaultSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::ALL {
            return f.write_str("all");
        }
        if *self == Self::DEFAULT {
            return f.write_str("default");
        }
        let on: Vec<&str> = NAMES.iter().zip(self.flags()).filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        if on.is_empty() { f.write_str("none") } else { f.write_str(&on.join(",")) }
    }
}

/// One run's fault rates (weights per step; 0: never).
#[derive(Clone, Copy, Debug, Default)]
pub struct Rates {
    pub disconnect: u32,
    /// Per mille: a client with a full pipeline resends one of its batches anyway.
    pub duplicate: u32,
    pub snapshot: u32,
    pub power_loss: u32,
    pub power_loss_in_call: u32,
    pub kill: u32,
    pub kill_in_call: u32,
    pub failed_fsync: u32,
    pub disk_full: u32,
    pub flip_wal: u32,
    pub flip_snapshot: u32,
}

impl Rates {
    pub fn draw(rng: &mut SimRng, faults: FaultSet) -> Self {
        // Bit rot ends a run once start-up finds it, so it is rarer: a quarter of the runs.
        let rot = faults.bit_flips && rng.below(4) == 0;
        // A third of the runs leave out each enabled kind, so that the others get room.
        let mut rate = |enabled: bool, low: u64, high: u64| {
            if !enabled || rng.below(3) == 0 { 0 } else { u32::try_from(rng.between(low, high)).unwrap_or(0) }
        };
        Self {
            disconnect: rate(faults.client_faults, 5, 40),
            duplicate: rate(faults.client_faults, 50, 300),
            snapshot: rate(true, 5, 40),
            power_loss: rate(faults.power_loss, 2, 15),
            power_loss_in_call: rate(faults.power_loss, 2, 20),
            kill: rate(faults.process_kill, 2, 15),
            kill_in_call: rate(faults.kill_in_storage_call, 2, 20),
            failed_fsync: rate(faults.failed_fsync || faults.restart_after_failed_fsync, 2, 12),
            disk_full: rate(faults.disk_full, 2, 15),
            flip_wal: rate(rot, 1, 3),
            flip_snapshot: rate(rot, 1, 3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_sets_parse_and_print_back() {
        assert_eq!(FaultSet::parse("all").expect("parse"), FaultSet::ALL);
        assert_eq!(FaultSet::parse("default").expect("parse"), FaultSet::default());
        assert_eq!(FaultSet::DEFAULT, FaultSet::ALL, "every fault runs by default");
        let more = FaultSet::parse("none,kill-in-storage-call").expect("parse");
        assert!(more.kill_in_storage_call && !more.restart_after_failed_fsync);
        let set = FaultSet::parse("all,-failed-fsync").expect("parse");
        assert!(!set.failed_fsync && set.power_loss);
        assert_eq!(FaultSet::parse(&set.to_string()).expect("round trip"), set);
        assert_eq!(FaultSet::parse("none").expect("parse").to_string(), "none");
        assert!(FaultSet::parse("meteor").is_err());
    }
}
