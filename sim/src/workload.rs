//! What the simulated clients ask for: batches of accounts and transfers generated from the seed.
//!
//! The books are small on purpose (a few dozen accounts on two ledgers), so that transfers
//! collide on accounts, balance limits bite, pending transfers are posted, voided and expire, and
//! linked chains fail and roll back. Every transfer id is unique to the batch that carries it
//! (client number in the high bits, a per-client sequence in the low bits), so a retry with the
//! same ids is always the same request; a few batches reuse an old id with different fields on
//! purpose (`exists_with_different_*`), and a few re-create an existing account.

use crate::rng::SimRng;
use ledger_core::{AMOUNT_MAX, Account, AccountFlags, OwnedEvents, Transfer, TransferFlags};
use std::collections::VecDeque;

pub const LEDGERS: [u32; 2] = [1, 2];
/// Events in one client batch, at most.
pub const BATCH_EVENTS_SIM_MAX: u64 = 8;
/// Pending transfers remembered for later posts and voids.
const PENDING_MEMORY_MAX: usize = 64;
/// Transfers remembered for deliberate id reuse.
const SUBMITTED_MEMORY_MAX: usize = 64;

/// Which kind of transfer to generate, with its weight.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Plain,
    Pending,
    Post,
    Void,
    Balancing,
    Chain,
    Closing,
    Invalid,
    ReuseId,
}

const KINDS: [(Kind, u32); 9] = [
    (Kind::Plain, 40),
    (Kind::Pending, 15),
    (Kind::Post, 10),
    (Kind::Void, 6),
    (Kind::Balancing, 4),
    (Kind::Chain, 14),
    (Kind::Closing, 1),
    (Kind::Invalid, 3),
    (Kind::ReuseId, 2),
];

/// The accounts of a run and the memory of what was asked so far.
#[derive(Debug)]
pub struct Workload {
    accounts: Vec<Account>,
    /// Account batches not yet handed to a client.
    account_batches: VecDeque<Vec<Account>>,
    pendings: VecDeque<Transfer>,
    submitted: VecDeque<Transfer>,
}

impl Workload {
    pub fn new(rng: &mut SimRng) -> Self {
        let count = rng.between(6, 20);
        let accounts: Vec<Account> = (1..=u128::from(count))
            .map(|id| {
                let mut flags = AccountFlags::NONE;
                match rng.below(8) {
                    0 | 1 => flags = flags | AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
                    2 => flags = flags | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS,
                    _ => {}
                }
                if rng.chance(200) {
                    flags = flags | AccountFlags::HISTORY;
                }
                Account {
                    id,
                    // Most accounts on ledger 1, so that most transfers find a partner.
                    ledger: if rng.chance(250) { LEDGERS[1] } else { LEDGERS[0] },
                    code: 10,
                    flags,
                    user_data_64: rng.below(1000),
                    ..Account::default()
                }
            })
            .collect();
        let mut account_batches = VecDeque::new();
        let mut rest = &accounts[..];
        while !rest.is_empty() {
            let take = usize::try_from(rng.between(1, 4)).unwrap_or(1).min(rest.len());
            account_batches.push_back(rest[..take].to_vec());
            rest = &rest[take..];
        }
        Self { accounts, account_batches, pendings: VecDeque::new(), submitted: VecDeque::new() }
    }

    /// The next batch of `client`, whose transfer ids come from `next_seq`.
    pub fn next_batch(&mut self, rng: &mut SimRng, client: usize, next_seq: &mut u64) -> OwnedEvents {
        if let Some(batch) = self.account_batches.pop_front() {
            return OwnedEvents::CreateAccounts(batch);
        }
        if rng.chance(25) {
            return OwnedEvents::CreateAccounts(vec![self.recreated_account(rng)]);
        }
        let target = rng.between(1, BATCH_EVENTS_SIM_MAX);
        let mut transfers = Vec::new();
        while (transfers.len() as u64) < target {
            let mut id = || {
                *next_seq += 1;
                (u128::try_from(client).unwrap_or(0) + 1) << 64 | u128::from(*next_seq)
            };
            let kinds: Vec<u32> = KINDS.iter().map(|(_, w)| *w).collect();
            match KINDS[rng.weighted(&kinds)].0 {
                Kind::Plain => transfers.push(self.plain(rng, id())),
                Kind::Pending => transfers.push(self.pending(rng, id(), TransferFlags::NONE)),
                Kind::Post => {
                    transfers.push(self.post_or_void(rng, id(), TransferFlags::POST_PENDING_TRANSFER))
                }
                Kind::Void => {
                    transfers.push(self.post_or_void(rng, id(), TransferFlags::VOID_PENDING_TRANSFER))
                }
                Kind::Balancing => {
                    let flag = if rng.chance(500) {
                        TransferFlags::BALANCING_DEBIT
                    } else {
                        TransferFlags::BALANCING_CREDIT
                    };
                    let mut t = self.plain(rng, id());
                    t.flags = flag;
                    if rng.chance(500) {
                        t.amount = AMOUNT_MAX;
                    }
                    transfers.push(t);
                }
                Kind::Chain => {
                    let length = rng.between(2, 4);
                    for i in 0..length {
                        let mut t = if rng.chance(300) {
                            self.pending(rng, id(), TransferFlags::NONE)
                        } else {
                            self.plain(rng, id())
                        };
                        // The last member closes the chain, except sometimes (chain left open).
                        if i + 1 < length || rng.chance(80) {
                            t.flags = t.flags | TransferFlags::LINKED;
                        }
                        transfers.push(t);
                    }
                }
                Kind::Closing => {
                    let flag = if rng.chance(500) {
                        TransferFlags::CLOSING_DEBIT
                    } else {
                        TransferFlags::CLOSING_CREDIT
                    };
                    let mut t = self.pending(rng, id(), flag);
                    // Closed accounts refuse everything: keep them closed briefly.
                    t.timeout = 1;
                    transfers.push(t);
                }
                Kind::Invalid => {
                    let mut t = self.plain(rng, id());
                    match rng.below(3) {
                        0 => t.credit_account_id = t.debit_account_id,
                        1 => t.code = 0,
                        _ => t.timeout = 5,
                    }
                    transfers.push(t);
                }
                Kind::ReuseId => match self.submitted.get(rng.index(self.submitted.len().max(1))) {
                    Some(old) => {
                        let mut t = *old;
                        t.amount = t.amount.wrapping_add(1).max(1);
                        transfers.push(t);
                    }
                    None => transfers.push(self.plain(rng, id())),
                },
            }
        }
        transfers.truncate(usize::try_from(BATCH_EVENTS_SIM_MAX).unwrap_or(8));
        for t in &transfers {
            if t.flags.contains(TransferFlags::PENDING) {
                remember(&mut self.pendings, *t, PENDING_MEMORY_MAX);
            }
            remember(&mut self.submitted, *t, SUBMITTED_MEMORY_MAX);
        }
        OwnedEvents::CreateTransfers(transfers)
    }

    fn recreated_account(&self, rng: &mut SimRng) -> Account {
        let mut account = self.accounts[rng.index(self.accounts.len())];
        if rng.chance(300) {
            // Same id, different flags: `exists_with_different_flags`.
            account.flags = AccountFlags(account.flags.0 ^ AccountFlags::HISTORY.0);
        }
        account
    }

    fn amount(rng: &mut SimRng) -> u128 {
        match rng.below(20) {
            0..=13 => u128::from(rng.between(1, 100)),
            14..=18 => u128::from(rng.between(100, 10_000)),
            _ => u128::from(rng.between(1_000_000, 2_000_000)),
        }
    }

    /// Two different accounts, nearly always of one ledger.
    fn partners(&self, rng: &mut SimRng) -> (Account, Account) {
        let first = self.accounts[rng.index(self.accounts.len())];
        let same: Vec<&Account> = self
            .accounts
            .iter()
            .filter(|a| a.id != first.id && (a.ledger == first.ledger || rng.chance(30)))
            .collect();
        match same.get(rng.index(same.len().max(1))) {
            Some(second) => (first, **second),
            // A ledger with one account: the transfer will be refused, which is fine.
            None => (first, first),
        }
    }

    fn plain(&self, rng: &mut SimRng, id: u128) -> Transfer {
        let (debit, credit) = self.partners(rng);
        Transfer {
            id,
            debit_account_id: debit.id,
            credit_account_id: credit.id,
            amount: Self::amount(rng),
            ledger: debit.ledger,
            code: u16::try_from(rng.between(1, 3)).unwrap_or(1),
            user_data_32: u32::try_from(rng.below(100)).unwrap_or(0),
            ..Transfer::default()
        }
    }

    fn pending(&self, rng: &mut SimRng, id: u128, extra: TransferFlags) -> Transfer {
        let mut t = self.plain(rng, id);
        t.flags = TransferFlags::PENDING | extra;
        // Whole seconds; 0 never expires. The simulated clock jumps by seconds now and then.
        t.timeout = if rng.chance(400) { 0 } else { u32::try_from(rng.between(1, 3)).unwrap_or(1) };
        t
    }

    fn post_or_void(&self, rng: &mut SimRng, id: u128, flag: TransferFlags) -> Transfer {
        let Some(pending) = self.pendings.get(rng.index(self.pendings.len().max(1))).copied() else {
            return self.plain(rng, id);
        };
        let amount = if flag == TransferFlags::POST_PENDING_TRANSFER {
            match rng.below(4) {
                0 => pending.amount,
                1 => pending.amount / 2,
                2 => pending.amount + 1,
                _ => AMOUNT_MAX,
            }
        } else {
            0
        };
        Transfer { id, pending_id: pending.id, amount, flags: flag, ..Transfer::default() }
    }
}

fn remember(memory: &mut VecDeque<Transfer>, transfer: Transfer, max: usize) {
    if memory.len() == max {
        memory.pop_front();
    }
    memory.push_back(transfer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_come_first_then_transfers_with_ids_unique_to_their_client() {
        let mut rng = SimRng::new(3);
        let mut workload = Workload::new(&mut rng);
        let mut seq = 0;
        let mut accounts = 0;
        let mut ids = std::collections::BTreeSet::new();
        for _ in 0..200 {
            match workload.next_batch(&mut rng, 2, &mut seq) {
                OwnedEvents::CreateAccounts(a) => accounts += a.len(),
                OwnedEvents::CreateTransfers(t) => {
                    assert!(!t.is_empty() && t.len() <= 8);
                    for transfer in &t {
                        assert_eq!(transfer.id >> 64, 3, "client 2's ids carry 3 in the high bits");
                        ids.insert(transfer.id);
                    }
                }
                OwnedEvents::Pulse => unreachable!("clients never send pulses"),
            }
        }
        assert!(accounts >= 6);
        assert!(ids.len() > 300, "{} distinct ids", ids.len());
    }
}
