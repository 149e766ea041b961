//! The oracle: what the simulation knows to be true, and the checks against it.
//!
//! It keeps the history the writer logged (op by op: clock reading, events, record checksum,
//! results), the highest op a group write confirmed durable (`durable_op`), and a
//! `ReferenceLedger` fed exactly the durable history. The checks:
//! - after every durable group: the engine's results for each batch equal the reference model's,
//!   and the live ledger's whole state equals the model's;
//! - after every start-up: the recovered log reaches at least `durable_op` (nothing acknowledged
//!   lost) and never beyond what was logged, every replayed record has the checksum the writer
//!   computed (no record changed or invented), the recovered state's `state_hash` equals a replay
//!   of the logged history from genesis (whether it started from a snapshot or not), the model
//!   advanced to the same op agrees, and every event a client was told exists is there;
//! - always: the books balance (`check_books`).

use crate::server::{LoggedBatch, Recovered};
use ledger_core::reference_model::{ReferenceLedger, ReferenceResults};
use ledger_core::{AccountFlags, BatchResults, Ledger, LedgerConfig, Transfer, TransferFlags, TransferState};
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct Oracle {
    config: LedgerConfig,
    /// Index `op - 1`.
    history: Vec<LoggedBatch>,
    durable_op: u64,
    model: ReferenceLedger,
    model_op: u64,
}

impl Oracle {
    #[must_use]
    pub fn new(config: LedgerConfig) -> Self {
        Self { config, history: Vec::new(), durable_op: 0, model: ReferenceLedger::new(config), model_op: 0 }
    }

    #[must_use]
    pub fn durable_op(&self) -> u64 {
        self.durable_op
    }

    #[must_use]
    pub fn logged_ops(&self) -> u64 {
        self.history.len() as u64
    }

    /// The writer logged a batch (not yet durable).
    pub fn logged(&mut self, batch: LoggedBatch) -> Result<(), String> {
        let expected = self.history.len() as u64 + 1;
        if batch.op != expected {
            return Err(format!("the writer logged op {} where op {expected} was next", batch.op));
        }
        self.history.push(batch);
        Ok(())
    }

    /// A group write succeeded: ops up to `last_op` are durable. Feeds them to the model,
    /// compares each batch's results, then the whole live state.
    pub fn durable(&mut self, last_op: u64, live: &Ledger) -> Result<(), String> {
        if last_op < self.durable_op || last_op > self.logged_ops() {
            return Err(format!(
                "a group ending at op {last_op} became durable; durable so far {}, logged {}",
                self.durable_op,
                self.logged_ops()
            ));
        }
        advance(&mut self.model, &self.history[index(self.model_op)..index(last_op)])?;
        self.model_op = last_op;
        self.durable_op = last_op;
        if last_op == self.logged_ops() {
            compare_with_model(live, &self.model)
                .map_err(|e| format!("live ledger vs reference model: {e}"))?;
        }
        Ok(())
    }

    /// Start-up recovered `recovered` into `ledger`: the checks of the module documentation.
    /// Forgets logged ops that did not survive (the writer reuses their numbers).
    pub fn recovered(&mut self, recovered: &Recovered, ledger: &Ledger) -> Result<(), String> {
        let last = recovered.end.next_op - 1;
        if last < self.durable_op {
            return Err(format!(
                "acknowledged ops lost: the log was durable up to op {}, start-up recovered only up to op {last} \
                 (snapshot {:?}, torn tail {:?})",
                self.durable_op, recovered.snapshot, recovered.end.torn_tail
            ));
        }
        if last > self.logged_ops() {
            return Err(format!(
                "start-up recovered op {last}, but only {} ops were ever logged",
                self.logged_ops()
            ));
        }
        for &(op, checksum) in &recovered.replayed {
            let logged = op.checked_sub(1).and_then(|i| self.history.get(usize::try_from(i).ok()?));
            if logged.map(|b| b.checksum) != Some(checksum) {
                return Err(format!(
                    "replayed op {op} has record checksum {checksum:#010x}, the writer wrote {:?}",
                    logged.map(|b| b.checksum)
                ));
            }
        }
        self.history.truncate(index(last));

        let mut replay = Ledger::new(self.config);
        let mut results = BatchResults::default();
        for batch in &self.history {
            replay.apply(batch.clock_ns, batch.events.events(), &mut results).map_err(|e| e.to_string())?;
            if ReferenceResults::from(&results) != batch.results {
                return Err(format!(
                    "replaying op {} from genesis gives other results than the writer got",
                    batch.op
                ));
            }
        }
        if replay.state_hash() != ledger.state_hash() {
            return Err(format!(
                "the recovered state hash differs from a replay of the logged history up to op {last} \
                 (started from snapshot {:?})",
                recovered.snapshot.map(|s| s.op)
            ));
        }
        let mut model = self.model.clone();
        advance(&mut model, &self.history[index(self.model_op)..])?;
        compare_with_model(ledger, &model)
            .map_err(|e| format!("recovered ledger vs reference model: {e}"))?;
        ledger.check_invariants().map_err(|e| e.to_string())?;
        check_books(ledger)
    }
}

/// An op count as an index into the history (ops are counted in memory: they fit).
fn index(op: u64) -> usize {
    usize::try_from(op).expect("the simulated history is held in memory, so its length fits usize")
}

/// Applies `batches` to the model, demanding the results the engine gave.
fn advance(model: &mut ReferenceLedger, batches: &[LoggedBatch]) -> Result<(), String> {
    for batch in batches {
        let results = model.apply(batch.clock_ns, batch.events.events()).map_err(|e| e.to_string())?;
        if results != batch.results {
            return Err(format!(
                "op {}: the engine answered {:?}, the reference model {:?}",
                batch.op, batch.results, results
            ));
        }
    }
    Ok(())
}

/// The engine's state equals the model's: clock, accounts in creation order, transfers in
/// creation order with their states, burnt ids.
pub fn compare_with_model(ledger: &Ledger, model: &ReferenceLedger) -> Result<(), String> {
    if ledger.clock() != model.clock() {
        return Err(format!("clock {} vs {}", ledger.clock(), model.clock()));
    }
    if ledger.account_count() != model.account_count() {
        return Err(format!("{} accounts vs {}", ledger.account_count(), model.account_count()));
    }
    for (engine, reference) in ledger.accounts().zip(model.accounts()) {
        if engine != reference {
            return Err(format!("account differs: engine {engine:?}, model {reference:?}"));
        }
    }
    let mut transfers: Vec<Transfer> = Vec::new();
    ledger_core::transfer_store::TransferStore::for_each(ledger.transfer_store(), &mut |t| {
        transfers.push(*t)
    });
    if transfers.len() != model.transfer_count() {
        return Err(format!("{} transfers vs {}", transfers.len(), model.transfer_count()));
    }
    for (engine, reference) in transfers.iter().zip(model.transfers()) {
        if engine != reference {
            return Err(format!("transfer differs: engine {engine:?}, model {reference:?}"));
        }
        if ledger.transfer_state(engine.id) != model.transfer_state(engine.id) {
            return Err(format!(
                "transfer {} is {:?} in the engine, {:?} in the model",
                engine.id,
                ledger.transfer_state(engine.id),
                model.transfer_state(engine.id)
            ));
        }
    }
    for id in model.burnt_transfer_ids() {
        if ledger.transfer_state(id) != Some(TransferState::Failed) {
            return Err(format!("burnt id {id} is {:?} in the engine", ledger.transfer_state(id)));
        }
    }
    Ok(())
}

/// The books balance, checked from the records alone (not with the engine's own
/// `check_invariants`): per ledger, debits = credits (posted and pending); no account beyond its
/// balance limit; every account's balances equal the sums over the transfer records that touch
/// it (single-phase and posted amounts, and live pending reservations).
pub fn check_books(ledger: &Ledger) -> Result<(), String> {
    let mut totals: BTreeMap<u32, [u128; 4]> = BTreeMap::new();
    for a in ledger.accounts() {
        let t = totals.entry(a.ledger).or_default();
        for (sum, value) in
            t.iter_mut().zip([a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted])
        {
            *sum = sum.wrapping_add(value);
        }
        let debits = a.debits_pending.saturating_add(a.debits_posted);
        let credits = a.credits_pending.saturating_add(a.credits_posted);
        if a.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS) && debits > a.credits_posted {
            return Err(format!(
                "account {}: debits {debits} exceed posted credits {}",
                a.id, a.credits_posted
            ));
        }
        if a.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS) && credits > a.debits_posted {
            return Err(format!(
                "account {}: credits {credits} exceed posted debits {}",
                a.id, a.debits_posted
            ));
        }
    }
    for (ledger_id, [debits_pending, debits_posted, credits_pending, credits_posted]) in &totals {
        if debits_pending != credits_pending || debits_posted != credits_posted {
            return Err(format!(
                "ledger {ledger_id} does not balance: debits {debits_posted} posted {debits_pending} pending, \
                 credits {credits_posted} posted {credits_pending} pending"
            ));
        }
    }
    // [debits_pending, debits_posted, credits_pending, credits_posted] per account, from records.
    let mut sums: BTreeMap<u128, [u128; 4]> = BTreeMap::new();
    let mut add = |account: u128, slot: usize, amount: u128| {
        let entry = sums.entry(account).or_default();
        entry[slot] = entry[slot].wrapping_add(amount);
    };
    ledger_core::transfer_store::TransferStore::for_each(ledger.transfer_store(), &mut |t| {
        let pending = t.flags.contains(TransferFlags::PENDING);
        if pending {
            if ledger.transfer_state(t.id) == Some(TransferState::Pending) {
                add(t.debit_account_id, 0, t.amount);
                add(t.credit_account_id, 2, t.amount);
            }
        } else if !t.flags.contains(TransferFlags::VOID_PENDING_TRANSFER) {
            add(t.debit_account_id, 1, t.amount);
            add(t.credit_account_id, 3, t.amount);
        }
    });
    for a in ledger.accounts() {
        let expected = sums.get(&a.id).copied().unwrap_or_default();
        let actual = [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted];
        if expected != actual {
            return Err(format!(
                "account {}: balances {actual:?} (debits pending, posted, credits pending, posted), \
                 its transfer records sum to {expected:?}",
                a.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::{Account, OwnedEvents};
    use ledger_durability::wal::RecoveryEnd;
    use std::rc::Rc;

    fn account(id: u128) -> Account {
        Account { id, ledger: 1, code: 1, ..Account::default() }
    }

    /// An oracle that logged two batches (ops 1 and 2, checksums 11 and 22) and saw them durable,
    /// and the live ledger that applied them.
    fn two_durable_ops() -> (Oracle, Ledger) {
        let mut oracle = Oracle::new(LedgerConfig::default());
        let mut live = Ledger::default();
        let mut results = BatchResults::default();
        for (op, id) in [(1_u64, 1_u128), (2, 2)] {
            let events = Rc::new(OwnedEvents::CreateAccounts(vec![account(id)]));
            live.apply(op * 1000, events.events(), &mut results).expect("apply");
            let checksum = u32::try_from(op * 11).expect("small");
            let batch = LoggedBatch {
                op,
                clock_ns: op * 1000,
                events,
                checksum,
                results: ReferenceResults::from(&results),
            };
            oracle.logged(batch).expect("in order");
        }
        oracle.durable(2, &live).expect("the live ledger matches the model");
        (oracle, live)
    }

    fn recovered(last_op: u64, replayed: Vec<(u64, u32)>) -> Recovered {
        Recovered {
            snapshot: None,
            skipped_snapshots: Vec::new(),
            end: RecoveryEnd {
                segments: Vec::new(),
                next_op: last_op + 1,
                last_checksum: 0,
                tail_offset: 0,
                torn_tail: None,
                records_checked: last_op,
                records_replayed: last_op,
            },
            replayed,
        }
    }

    #[test]
    fn a_recovery_that_reaches_every_durable_op_with_the_written_records_passes() {
        let (mut oracle, live) = two_durable_ops();
        oracle.recovered(&recovered(2, vec![(1, 11), (2, 22)]), &live).expect("passes");
    }

    #[test]
    fn a_recovery_that_ends_before_a_durable_op_is_a_loss() {
        let (mut oracle, _) = two_durable_ops();
        let mut shorter = Ledger::default();
        assert!(shorter.create_accounts(1000, &[account(1)]).expect("apply").is_empty());
        let error = oracle.recovered(&recovered(1, vec![(1, 11)]), &shorter).expect_err("op 2 lost");
        assert!(error.contains("acknowledged ops lost"), "{error}");
    }

    #[test]
    fn a_replayed_record_that_differs_from_the_written_one_is_refused() {
        let (mut oracle, live) = two_durable_ops();
        let error = oracle.recovered(&recovered(2, vec![(1, 11), (2, 23)]), &live).expect_err("changed");
        assert!(error.contains("replayed op 2"), "{error}");
    }

    #[test]
    fn a_recovered_state_that_differs_from_the_replay_is_refused() {
        let (mut oracle, _) = two_durable_ops();
        let mut other = Ledger::default();
        assert!(other.create_accounts(1000, &[account(1), account(3)]).expect("apply").is_empty());
        let error = oracle.recovered(&recovered(2, vec![(1, 11), (2, 22)]), &other).expect_err("differs");
        assert!(error.contains("state hash differs"), "{error}");
    }

    #[test]
    fn a_live_state_that_differs_from_the_model_is_refused() {
        let mut oracle = Oracle::new(LedgerConfig::default());
        let events = Rc::new(OwnedEvents::CreateAccounts(vec![account(1)]));
        let mut live = Ledger::default();
        let mut results = BatchResults::default();
        live.apply(1000, events.events(), &mut results).expect("apply");
        let batch = LoggedBatch {
            op: 1,
            clock_ns: 1000,
            events,
            checksum: 1,
            results: ReferenceResults::from(&results),
        };
        oracle.logged(batch).expect("in order");
        // A second account the log never saw.
        assert!(live.create_accounts(2000, &[account(2)]).expect("apply").is_empty());
        let error = oracle.durable(1, &live).expect_err("differs");
        assert!(error.starts_with("live ledger vs reference model"), "{error}");
    }
}
