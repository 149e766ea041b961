//! The PostgreSQL baseline of `ledger-bench --baseline postgres`: the double-entry schema most
//! teams would build instead of a dedicated ledger, driven with the same transfers, so that the
//! two throughputs can be compared in one run. A benchmark, not a CI test: it needs a running
//! server (`scripts/postgres start`) and is compiled only with the `postgres` feature.
//!
//! The schema is in `sql.rs`. One batch of transfers is one transaction (READ COMMITTED, the
//! default; `synchronous_commit=on`, so COMMIT returns after the WAL flush, like the ledger's
//! durable reply), on one of `clients x in_flight` connections (a connection carries one
//! transaction at a time, so every request slot the ledger run had becomes a connection):
//!
//! 1. `SELECT ... FROM accounts WHERE id = ANY($ids) ORDER BY id FOR UPDATE`: the batch's
//!    accounts, row-locked in ascending id order (the consistent order prevents deadlocks).
//! 2. In the application (`apply::precheck`): the checks that need no balance (ids, accounts
//!    exist and share the ledger, ...), in `ledger-core`'s order.
//! 3. `INSERT INTO transfers SELECT * FROM unnest(...) ON CONFLICT (id) DO NOTHING RETURNING id`:
//!    all candidates in one statement; an id not returned already existed (`exists`, the
//!    idempotency of a retried batch). With `--postgres-foreign-keys` the keys check both
//!    accounts again per row (redundant with step 1; off by default, see `sql::schema`).
//! 4. In the application (`apply::apply`): each transfer in batch order against the locked
//!    balances: overflow, `debits_must_not_exceed_credits`, `credits_must_not_exceed_debits`;
//!    linked chains all or nothing.
//! 5. `DELETE FROM transfers WHERE id = ANY($refused)`, only if step 4 refused something.
//! 6. `UPDATE accounts SET ... FROM unnest(...)`: the new balances of every changed account.
//! 7. `COMMIT`. A deadlock or serialization failure (not expected given step 1) retries the
//!    batch, at most `BATCH_RETRIES_MAX` times.
//!
//! All statements are prepared once per connection. Not implemented (the run refuses them):
//! two-phase transfers (pending, post, void, expiry), balancing and closing transfers.

pub mod apply;
pub mod baseline;
pub mod sql;

pub use baseline::{BaselineError, PostgresLoad, connect, prepare, run_load, run_queries, verify};
