//! One simulation run: a seed, a number of steps, a fault set; everything else follows from the
//! seed. Each step is one action, chosen at random by weight: a client sends (a new batch, a
//! resend, a duplicate), the network delivers a request (in any order) to the writer, the writer
//! commits its group, the network delivers an answer, the clock moves (due pending transfers
//! expire in a pulse), a snapshot is taken, or a fault strikes. After every step the live books
//! must balance; after every durable group and every start-up the oracle checks everything
//! (`oracle.rs`). A run ends with a power loss and one last start-up and check.

use crate::client::{Acknowledgements, Client, Reply, Request, Sent};
use crate::faults::{FaultSet, Rates};
use crate::oracle::{Oracle, check_books};
use crate::process_disk::{KillTiming, ProcessDisk};
use crate::rng::SimRng;
use crate::server::{Commit, Handled, RecoveryError, Server, Stopped};
use crate::snapshot_files;
use crate::stats::SimStats;
use crate::workload::Workload;
use ledger_core::LedgerConfig;
use ledger_durability::storage::{FaultyStorage, Storage, TornWrites};
use ledger_durability::wal::WalConfig;
use std::collections::{BTreeMap, BTreeSet};

/// Steps of a run unless told otherwise (`simulate --steps`).
pub const STEPS_DEFAULT: u64 = 1000;
/// The simulated wall clock starts here (2023-11-14): realistic timestamps.
const CLOCK_START_NS: u64 = 1_700_000_000 * NANOS_PER_SECOND;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// A group is written once it holds this many records, whatever the dice say: bounded.
const GROUP_RECORDS_MAX: usize = 32;
/// Start-ups that fail on an injected I/O error in a row before the run is declared stuck.
const FAILED_STARTS_MAX: u32 = 50;
/// How `FaultyStorage` words a failed fsync (in the error of whatever call it failed).
const FSYNC_FAILURE: &str = "simulated fsync failure";
/// Start-up attempts after the last power loss (no faults armed then).
const FINAL_START_ATTEMPTS: u32 = 3;

/// What to run.
#[derive(Clone, Copy, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub steps: u64,
    pub faults: FaultSet,
    /// Print every step to stderr (for reading a failing seed).
    pub trace: bool,
}

impl SimConfig {
    /// A quiet run of `seed` with the default faults.
    #[must_use]
    pub fn new(seed: u64, steps: u64) -> Self {
        Self { seed, steps, faults: FaultSet::DEFAULT, trace: false }
    }
}

/// How a run ended, when it did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed to the end.
    Clean,
    /// A flipped bit was found and reported by start-up, which refused to go on: the run ends
    /// there (correctly).
    CorruptionDetected { step: u64, error: String },
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct SimReport {
    pub config: SimConfig,
    pub outcome: Outcome,
    pub stats: SimStats,
}

/// A failed check, with what it takes to see it again.
#[derive(Clone, Debug, thiserror::Error)]
#[error(
    "seed {} failed at step {step}: {message}\nreproduce: {} (add --trace to print every step)",
    config.seed,
    reproduce_command(config)
)]
pub struct SimFailure {
    pub config: SimConfig,
    pub step: u64,
    pub message: String,
}

/// The one command that replays a run (add `--trace` to see every step).
#[must_use]
pub fn reproduce_command(config: &SimConfig) -> String {
    let mut command = format!("cargo run -p ledger-sim --release -- --seed {}", config.seed);
    if config.steps != STEPS_DEFAULT {
        command.push_str(&format!(" --steps {}", config.steps));
    }
    if config.faults != FaultSet::DEFAULT {
        command.push_str(&format!(" --faults {}", config.faults));
    }
    command
}

/// Runs one seed.
pub fn run(config: SimConfig) -> Result<SimReport, SimFailure> {
    let mut sim = Simulation::new(config);
    let result = sim.run();
    let fail = |message| SimFailure { config, step: sim.step, message };
    match result {
        Ok(outcome) => {
            sim.stats.events_acknowledged = sim.acks.events() as u64;
            Ok(SimReport { config, outcome, stats: sim.stats })
        }
        Err(message) => Err(fail(message)),
    }
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Send,
    Deliver,
    Commit,
    Answer,
    Tick,
    Snapshot,
    Disconnect,
    PowerLoss,
    PowerLossInCall,
    Kill,
    KillInCall,
    FailFsync,
    DiskFull,
    FlipWal,
    FlipSnapshot,
}

struct Simulation {
    config: SimConfig,
    step: u64,
    rng: SimRng,
    rates: Rates,
    wal_config: WalConfig,
    ledger_config: LedgerConfig,
    clock_ns: u64,
    disk: FaultyStorage,
    server: Option<Server>,
    clients: Vec<Client>,
    workload: Workload,
    to_server: Vec<Request>,
    to_clients: Vec<Reply>,
    oracle: Oracle,
    acks: Acknowledgements,
    /// Bits flipped in WAL segments: (offset, the byte's value after the flip) by segment.
    flipped_segments: BTreeMap<String, Vec<(usize, u8)>>,
    flipped_snapshots: BTreeSet<u64>,
    space_limited: bool,
    failed_starts: u32,
    stats: SimStats,
}

impl Simulation {
    fn new(config: SimConfig) -> Self {
        let mut rng = SimRng::new(config.seed);
        let rates = Rates::draw(&mut rng, config.faults);
        // Small segments: rolls, sealed segments and retirement happen every few groups.
        let wal_config = WalConfig { segment_size: 4096 * rng.between(1, 4) };
        let disk = FaultyStorage::new();
        disk.set_sector_size([64, 512, 4096][rng.index(3)]);
        let clients = (0..rng.between(1, 4))
            .map(|i| {
                Client::new(usize::try_from(i).unwrap_or(0), usize::try_from(rng.between(1, 3)).unwrap_or(1))
            })
            .collect();
        let workload = Workload::new(&mut rng);
        let ledger_config = LedgerConfig::default();
        Self {
            config,
            step: 0,
            rng,
            rates,
            wal_config,
            ledger_config,
            clock_ns: CLOCK_START_NS,
            disk,
            server: None,
            clients,
            workload,
            to_server: Vec::new(),
            to_clients: Vec::new(),
            oracle: Oracle::new(ledger_config),
            acks: Acknowledgements::default(),
            flipped_segments: BTreeMap::new(),
            flipped_snapshots: BTreeSet::new(),
            space_limited: false,
            failed_starts: 0,
            stats: SimStats::default(),
        }
    }

    fn run(&mut self) -> Result<Outcome, String> {
        if let Some(outcome) = self.start()? {
            return Ok(outcome);
        }
        while self.step < self.config.steps {
            self.step += 1;
            self.stats.steps += 1;
            if let Some(outcome) = self.step()? {
                return Ok(outcome);
            }
        }
        self.finish()
    }

    fn step(&mut self) -> Result<Option<Outcome>, String> {
        if self.disk.is_dead() {
            // A crash inside a storage call killed the machine: the power is out.
            self.stats.crashes_in_storage_calls += 1;
            self.power_loss();
        }
        if self.server.is_none() {
            // The server is down for a while; clients cannot connect meanwhile.
            if self.rng.chance(400) {
                return self.start();
            }
        }
        let action = self.choose();
        if self.config.trace {
            eprintln!(
                "step {:>5} {action:?} (server {}, durable op {}, logged {}, {} requests and {} answers in flight)",
                self.step,
                if self.server.is_some() { "up" } else { "down" },
                self.oracle.durable_op(),
                self.oracle.logged_ops(),
                self.to_server.len(),
                self.to_clients.len()
            );
        }
        match action {
            Action::Send => self.send(),
            Action::Deliver => self.deliver()?,
            Action::Commit => self.commit()?,
            Action::Answer => self.answer()?,
            Action::Tick => self.tick()?,
            Action::Snapshot => self.snapshot(),
            Action::Disconnect => self.disconnect(),
            Action::PowerLoss => self.power_loss(),
            Action::PowerLossInCall => self.disk.crash_at_operation(self.rng.between(1, 10)),
            Action::Kill => {
                if self.server.is_some() {
                    self.stats.kills += 1;
                    self.process_died("kill -9 between steps");
                }
            }
            Action::KillInCall => {
                if let Some(server) = &self.server {
                    let timing = if self.rng.chance(500) { KillTiming::Before } else { KillTiming::After };
                    server.disk().kill_at_operation(self.rng.between(1, 10), timing);
                }
            }
            Action::FailFsync => self.disk.fail_sync_at(self.rng.between(1, 3)),
            Action::DiskFull => self.toggle_disk_full(),
            Action::FlipWal => self.flip_wal(),
            Action::FlipSnapshot => self.flip_snapshot(),
        }
        if let Some(server) = &self.server {
            check_books(server.ledger()).map_err(|e| format!("live ledger after {action:?}: {e}"))?;
            server.ledger().check_invariants().map_err(|e| format!("live ledger after {action:?}: {e}"))?;
        }
        Ok(None)
    }

    fn choose(&mut self) -> Action {
        if self.server.as_ref().is_some_and(|s| s.group_records() >= GROUP_RECORDS_MAX) {
            return Action::Commit;
        }
        let r = self.rates;
        let table = [
            (Action::Send, 300),
            (Action::Deliver, 300),
            (Action::Commit, 150),
            (Action::Answer, 200),
            (Action::Tick, 100),
            (Action::Snapshot, r.snapshot),
            (Action::Disconnect, r.disconnect),
            (Action::PowerLoss, r.power_loss),
            (Action::PowerLossInCall, r.power_loss_in_call),
            (Action::Kill, r.kill),
            (Action::KillInCall, r.kill_in_call),
            (Action::FailFsync, r.failed_fsync),
            (Action::DiskFull, r.disk_full),
            (Action::FlipWal, r.flip_wal),
            (Action::FlipSnapshot, r.flip_snapshot),
        ];
        let weights: Vec<u32> = table.iter().map(|(_, w)| *w).collect();
        table[self.rng.weighted(&weights)].0
    }

    fn send(&mut self) {
        if self.server.is_none() {
            return; // Connection refused: the client tries again later.
        }
        let client = self.rng.index(self.clients.len());
        let Some((request, sent)) =
            self.clients[client].next_request(&mut self.rng, &mut self.workload, self.rates.duplicate)
        else {
            return;
        };
        match sent {
            Sent::New => self.stats.batches += 1,
            Sent::Retry => self.stats.resends += 1,
            Sent::Duplicate => self.stats.duplicates += 1,
        }
        self.to_server.push(request);
    }

    fn deliver(&mut self) -> Result<(), String> {
        if self.to_server.is_empty() {
            return Ok(());
        }
        // Any request in flight may arrive first.
        let request = self.to_server.swap_remove(self.rng.index(self.to_server.len()));
        let Some(server) = &mut self.server else { return Ok(()) };
        // A request sent on a connection that has dropped since was read by the server, or not.
        if request.connection != self.clients[request.client].connection() && self.rng.chance(500) {
            return Ok(());
        }
        match server.handle(&request, self.clock_ns) {
            Handled::Logged(batch) => {
                if self.config.trace {
                    eprintln!(
                        "      op {} is client {}'s batch {} ({} events)",
                        batch.op,
                        request.client,
                        request.batch,
                        batch.events.events().len()
                    );
                }
                self.stats.requests_applied += 1;
                self.stats.ops_logged += 1;
                self.oracle.logged(batch)?;
            }
            Handled::Refused(reply) => {
                self.stats.requests_refused += 1;
                self.to_clients.push(reply);
            }
            Handled::EngineRefused(e) => return Err(format!("the engine refused a client batch: {e}")),
        }
        self.pulse()
    }

    fn pulse(&mut self) -> Result<(), String> {
        let Some(server) = &mut self.server else { return Ok(()) };
        if let Some(batch) = server.pulse_if_due(self.clock_ns) {
            self.stats.ops_logged += 1;
            self.oracle.logged(batch)?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), String> {
        let Some(server) = &mut self.server else { return Ok(()) };
        match server.commit() {
            Ok(Commit::Idle) => {}
            Ok(Commit::Durable { first_op: _, last_op, replies }) => {
                self.stats.groups_written += 1;
                self.oracle.durable(last_op, server.ledger())?;
                self.to_clients.extend(replies);
            }
            Ok(Commit::DiskFull) => self.stats.disk_full_commits += 1,
            Err(Stopped(reason)) => self.process_died(&reason),
        }
        Ok(())
    }

    fn answer(&mut self) -> Result<(), String> {
        if self.to_clients.is_empty() {
            return Ok(());
        }
        let reply = self.to_clients.swap_remove(self.rng.index(self.to_clients.len()));
        if self.clients[reply.client].receive(&reply) {
            if self.config.trace {
                eprintln!(
                    "      client {} reads the answer to batch {}: {:?}",
                    reply.client, reply.batch, reply.answer
                );
            }
            self.stats.answers_read += 1;
            self.acks.record(&reply.events, &reply.answer)?;
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), String> {
        self.clock_ns = match self.rng.below(100) {
            // Now and then the wall clock steps back (an NTP correction): timestamps must not.
            0 => self.clock_ns.saturating_sub(self.rng.between(1, 500_000_000)),
            // Long pauses let pending transfers time out (timeouts are 1 to 3 s).
            1..=5 => self.clock_ns + self.rng.between(NANOS_PER_SECOND / 2, 4 * NANOS_PER_SECOND),
            _ => self.clock_ns + self.rng.between(1_000, 20_000_000),
        };
        self.pulse()
    }

    fn snapshot(&mut self) {
        let Some(server) = &mut self.server else { return };
        match server.snapshot() {
            Ok(Some(taken)) => {
                self.stats.snapshots += 1;
                self.stats.segments_retired += taken.segments_retired as u64;
            }
            Ok(None) => {}
            Err(Stopped(reason)) => self.process_died(&reason),
        }
    }

    fn disconnect(&mut self) {
        let client = self.rng.index(self.clients.len());
        self.clients[client].disconnect();
        self.stats.disconnects += 1;
    }

    /// The machine loses power: unsynced writes are lost or torn, as the dice say.
    fn power_loss(&mut self) {
        let torn = match self.rng.below(4) {
            0 => TornWrites::Lost,
            1 => TornWrites::Kept,
            2 => TornWrites::Prefix { seed: self.rng.fork() },
            _ => TornWrites::Sectors { seed: self.rng.fork() },
        };
        self.disk.set_torn_writes(torn);
        self.disk = self.disk.crash();
        self.space_limited = false;
        self.stats.power_losses += 1;
        self.process_died("power loss");
    }

    /// The server process is gone: every connection drops, and each client resends what it has
    /// no answer for once it can connect again.
    fn process_died(&mut self, reason: &str) {
        if self.config.trace {
            eprintln!("      the server process stopped: {reason}");
        }
        if reason.contains("kill -9: the process is dead") {
            self.stats.kills_in_storage_calls += 1;
        } else if reason.contains(FSYNC_FAILURE) {
            self.stats.failed_fsyncs += 1;
            if !self.restart_after_failed_fsync() {
                // The machine goes down before the next start: what the kernel dropped is gone
                // from the page cache too.
                self.power_loss();
                return;
            }
        }
        self.server = None;
        self.to_server.clear();
        self.to_clients.clear();
        for client in &mut self.clients {
            client.disconnect();
        }
    }

    fn toggle_disk_full(&mut self) {
        if self.space_limited {
            self.disk.set_space_budget(None);
            self.space_limited = false;
            return;
        }
        let Ok(names) = self.disk.list() else { return };
        let used: u64 = names.iter().filter_map(|n| self.disk.file_bytes(n)).map(|b| b.len() as u64).sum();
        self.disk.set_space_budget(Some(used + self.rng.below(2 * self.wal_config.segment_size)));
        self.space_limited = true;
        self.stats.disk_full_episodes += 1;
    }

    /// After a failed fsync: does only the process restart (on the page cache that still shows
    /// what the kernel dropped), or does the machine go down first?
    fn restart_after_failed_fsync(&mut self) -> bool {
        let faults = self.config.faults;
        faults.restart_after_failed_fsync && (!faults.failed_fsync || self.rng.chance(500))
    }

    /// Bit rot in a sealed segment (not the last one, which may legitimately end in a torn write).
    fn flip_wal(&mut self) {
        let Ok(mut names) = self.disk.list() else { return };
        names.retain(|n| n.ends_with(".wal"));
        names.sort();
        if names.len() < 2 {
            return;
        }
        let name = names[self.rng.index(names.len() - 1)].clone();
        if self.config.trace {
            eprintln!("      flipping a bit in {name} (segments {names:?})");
        }
        if let Some(flip) = self.flip_in(&name) {
            self.flipped_segments.entry(name).or_default().push(flip);
            self.stats.wal_bits_flipped += 1;
        }
    }

    fn flip_snapshot(&mut self) {
        let Ok(names) = self.disk.list() else { return };
        let complete = snapshot_files::listing(&names).complete;
        if complete.is_empty() {
            return;
        }
        let op = complete[self.rng.index(complete.len())];
        if self.flip_in(&snapshot_files::data_name(op)).is_some() {
            self.flipped_snapshots.insert(op);
            self.stats.snapshot_bits_flipped += 1;
        }
    }

    /// Flips a random bit of `name`; returns where, and the byte's new value.
    fn flip_in(&mut self, name: &str) -> Option<(usize, u8)> {
        let len = self.disk.file_bytes(name).map_or(0, |b| b.len() as u64);
        if len == 0 {
            return None;
        }
        let offset = self.rng.below(len);
        let bit = u8::try_from(self.rng.below(8)).unwrap_or(0);
        if !self.disk.flip_bit(name, offset, bit) {
            return None;
        }
        let offset = usize::try_from(offset).ok()?;
        let value = *self.disk.file_bytes(name)?.get(offset)?;
        Some((offset, value))
    }

    /// WAL segments that still hold a flipped bit. A flip can leave with the bytes it hit: the
    /// page-cache part of a file whose growth never reached the disk is gone after power loss.
    fn damaged_segments(&self, names: &[String]) -> Vec<String> {
        self.flipped_segments
            .iter()
            .filter(|(name, flips)| {
                names.contains(name)
                    && self.disk.file_bytes(name).is_some_and(|bytes| {
                        flips.iter().any(|&(offset, value)| bytes.get(offset) == Some(&value))
                    })
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Start-up, and the checks of what it recovered. `Some`: the run ends here (corruption
    /// detected, as it must be).
    fn start(&mut self) -> Result<Option<Outcome>, String> {
        let names = self.disk.list().map_err(|e| format!("listing the disk: {e}"))?;
        let damaged_segments = self.damaged_segments(&names);
        let complete = snapshot_files::listing(&names).complete;
        let all_snapshots_damaged =
            !complete.is_empty() && complete.iter().all(|op| self.flipped_snapshots.contains(op));
        let process = ProcessDisk::new(self.disk.clone());
        match Server::recover(process, self.wal_config, self.ledger_config) {
            Ok((server, recovered)) => {
                if self.config.trace {
                    eprintln!(
                        "      start-up: snapshot {:?}, recovered to op {} ({} replayed), torn tail {:?}",
                        recovered.snapshot.map(|s| s.op),
                        recovered.end.next_op - 1,
                        recovered.replayed.len(),
                        recovered.end.torn_tail
                    );
                }
                self.stats.starts += 1;
                self.failed_starts = 0;
                if !damaged_segments.is_empty() {
                    return Err(format!(
                        "corruption accepted: WAL segment(s) {damaged_segments:?} hold a flipped bit, yet start-up \
                         recovered the log up to op {} (torn tail {:?})",
                        recovered.end.next_op - 1,
                        recovered.end.torn_tail
                    ));
                }
                if let Some(snapshot) = recovered.snapshot {
                    self.stats.starts_from_snapshot += 1;
                    if self.flipped_snapshots.contains(&snapshot.op) {
                        return Err(format!(
                            "corruption accepted: snapshot {} holds a flipped bit and loaded",
                            snapshot.op
                        ));
                    }
                }
                for (op, why) in &recovered.skipped_snapshots {
                    if !self.flipped_snapshots.contains(op) {
                        return Err(format!(
                            "complete snapshot {op} was not damaged but did not load: {why}"
                        ));
                    }
                }
                if recovered.end.torn_tail.is_some() {
                    self.stats.torn_tails_cut += 1;
                }
                self.oracle.recovered(&recovered, server.ledger())?;
                self.acks.check_present(server.ledger())?;
                self.server = Some(server);
                Ok(None)
            }
            Err(RecoveryError::Wal(e)) => {
                let message = e.to_string();
                if damaged_segments.iter().any(|n| message.contains(n.as_str())) {
                    Ok(Some(Outcome::CorruptionDetected { step: self.step, error: message }))
                } else {
                    Err(format!(
                        "start-up found WAL damage that was not injected (or names the wrong segment; \
                         damaged: {damaged_segments:?}): {message}"
                    ))
                }
            }
            Err(RecoveryError::Snapshots(e)) if all_snapshots_damaged => {
                Ok(Some(Outcome::CorruptionDetected { step: self.step, error: e.to_string() }))
            }
            Err(e @ (RecoveryError::Snapshots(_) | RecoveryError::Replay(_))) => {
                Err(format!("start-up failed: {e}"))
            }
            Err(RecoveryError::Io(e)) => {
                // An armed fault hit start-up itself; the next attempt runs on what it left (or,
                // after a failed fsync, on what the disk holds once the machine went down).
                if self.config.trace {
                    eprintln!("      start-up failed: {e}");
                }
                self.failed_starts += 1;
                if self.failed_starts > FAILED_STARTS_MAX {
                    return Err(format!("start-up keeps failing: {e}"));
                }
                if e.contains(FSYNC_FAILURE) && !self.restart_after_failed_fsync() {
                    self.power_loss();
                }
                Ok(None)
            }
        }
    }

    /// The end of a run: write what is pending, lose power, and check one last start-up.
    fn finish(&mut self) -> Result<Outcome, String> {
        self.commit()?;
        if self.disk.is_dead() {
            self.stats.crashes_in_storage_calls += 1;
        }
        self.power_loss();
        for _ in 0..FINAL_START_ATTEMPTS {
            if let Some(outcome) = self.start()? {
                return Ok(outcome);
            }
            if self.server.is_some() {
                return Ok(Outcome::Clean);
            }
            if self.disk.is_dead() {
                self.power_loss();
            }
        }
        Err("the server did not start after the final power loss".to_owned())
    }
}
