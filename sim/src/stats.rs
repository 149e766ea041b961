//! `SimStats`: counts of what a run did and suffered, summed over many runs by `simulate`.

use std::fmt;

/// Counts of what a run did and suffered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    pub steps: u64,
    pub batches: u64,
    pub resends: u64,
    pub duplicates: u64,
    pub requests_applied: u64,
    pub requests_refused: u64,
    pub answers_read: u64,
    pub ops_logged: u64,
    pub groups_written: u64,
    pub power_losses: u64,
    pub kills: u64,
    pub kills_in_storage_calls: u64,
    pub crashes_in_storage_calls: u64,
    pub failed_fsyncs: u64,
    pub disk_full_episodes: u64,
    pub disk_full_commits: u64,
    pub wal_bits_flipped: u64,
    pub snapshot_bits_flipped: u64,
    pub disconnects: u64,
    pub snapshots: u64,
    pub segments_retired: u64,
    pub starts: u64,
    pub starts_from_snapshot: u64,
    pub torn_tails_cut: u64,
    pub events_acknowledged: u64,
}

impl SimStats {
    pub fn add(&mut self, other: &Self) {
        let pairs = [
            (&mut self.steps, other.steps),
            (&mut self.batches, other.batches),
            (&mut self.resends, other.resends),
            (&mut self.duplicates, other.duplicates),
            (&mut self.requests_applied, other.requests_applied),
            (&mut self.requests_refused, other.requests_refused),
            (&mut self.answers_read, other.answers_read),
            (&mut self.ops_logged, other.ops_logged),
            (&mut self.groups_written, other.groups_written),
            (&mut self.power_losses, other.power_losses),
            (&mut self.kills, other.kills),
            (&mut self.kills_in_storage_calls, other.kills_in_storage_calls),
            (&mut self.crashes_in_storage_calls, other.crashes_in_storage_calls),
            (&mut self.failed_fsyncs, other.failed_fsyncs),
            (&mut self.disk_full_episodes, other.disk_full_episodes),
            (&mut self.disk_full_commits, other.disk_full_commits),
            (&mut self.wal_bits_flipped, other.wal_bits_flipped),
            (&mut self.snapshot_bits_flipped, other.snapshot_bits_flipped),
            (&mut self.disconnects, other.disconnects),
            (&mut self.snapshots, other.snapshots),
            (&mut self.segments_retired, other.segments_retired),
            (&mut self.starts, other.starts),
            (&mut self.starts_from_snapshot, other.starts_from_snapshot),
            (&mut self.torn_tails_cut, other.torn_tails_cut),
            (&mut self.events_acknowledged, other.events_acknowledged),
        ];
        for (sum, value) in pairs {
            *sum += value;
        }
    }
}

impl fmt::Display for SimStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  work:    {} steps, {} batches ({} resends, {} duplicates), {} applied, {} refused (disk full), \
             {} answers read, {} events acknowledged",
            self.steps,
            self.batches,
            self.resends,
            self.duplicates,
            self.requests_applied,
            self.requests_refused,
            self.answers_read,
            self.events_acknowledged
        )?;
        writeln!(
            f,
            "  log:     {} ops logged, {} groups written, {} snapshots, {} segments retired, {} starts \
             ({} from a snapshot), {} torn tails cut",
            self.ops_logged,
            self.groups_written,
            self.snapshots,
            self.segments_retired,
            self.starts,
            self.starts_from_snapshot,
            self.torn_tails_cut
        )?;
        write!(
            f,
            "  faults:  {} power losses ({} inside storage calls), {} kills ({} inside storage calls), \
             {} failed fsyncs, {} disk-full episodes ({} commits refused), {} WAL and {} snapshot bits \
             flipped, {} client disconnects",
            self.power_losses,
            self.crashes_in_storage_calls,
            self.kills,
            self.kills_in_storage_calls,
            self.failed_fsyncs,
            self.disk_full_episodes,
            self.disk_full_commits,
            self.wal_bits_flipped,
            self.snapshot_bits_flipped,
            self.disconnects
        )
    }
}
