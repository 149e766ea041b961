//! The baseline's schema and statements, and the column arrays its batched statements take.
//!
//! Schema (TigerBeetle's account and transfer fields; `numeric(39)` holds any u128, which is
//! what a team storing 128-bit ids and minor units in PostgreSQL would use):
//!
//! ```text
//! accounts  (id numeric(39) PRIMARY KEY, ledger bigint, code integer, flags integer,
//!            debits_pending, debits_posted, credits_pending, credits_posted numeric(39),
//!            user_data_128 numeric(39), user_data_64 numeric(20), user_data_32 bigint,
//!            timestamp bigint)
//! transfers (id numeric(39) PRIMARY KEY,                       -- idempotency: an id once
//!            debit_account_id, credit_account_id numeric(39)
//!                [REFERENCES accounts with --postgres-foreign-keys],
//!            amount, pending_id numeric(39), user_data_128 numeric(39), user_data_64 numeric(20),
//!            user_data_32 bigint, timeout bigint, ledger bigint, code integer, flags integer,
//!            timestamp bigint)
//!           + indexes (debit_account_id, timestamp) and (credit_account_id, timestamp) for the
//!             account history queries (the ledger keeps a history index too)
//! ```
//!
//! Batches travel as one array per column (`unnest`), u128 values as text arrays cast to
//! `numeric[]` by the server (tokio-postgres has no u128 or numeric codec of its own).

use ledger_core::Transfer;

/// Dropped and created fresh before every run, so runs repeat (`schema` adds the foreign keys).
const SCHEMA: &[&str] = &[
    "DROP TABLE IF EXISTS transfers",
    "DROP TABLE IF EXISTS accounts",
    "CREATE TABLE accounts (
        id              numeric(39) PRIMARY KEY,
        ledger          bigint      NOT NULL,
        code            integer     NOT NULL,
        flags           integer     NOT NULL,
        debits_pending  numeric(39) NOT NULL DEFAULT 0,
        debits_posted   numeric(39) NOT NULL DEFAULT 0,
        credits_pending numeric(39) NOT NULL DEFAULT 0,
        credits_posted  numeric(39) NOT NULL DEFAULT 0,
        user_data_128   numeric(39) NOT NULL DEFAULT 0,
        user_data_64    numeric(20) NOT NULL DEFAULT 0,
        user_data_32    bigint      NOT NULL DEFAULT 0,
        timestamp       bigint      NOT NULL
    )",
    "CREATE TABLE transfers (
        id                numeric(39) PRIMARY KEY,
        debit_account_id  numeric(39) NOT NULL,
        credit_account_id numeric(39) NOT NULL,
        amount            numeric(39) NOT NULL,
        pending_id        numeric(39) NOT NULL DEFAULT 0,
        user_data_128     numeric(39) NOT NULL,
        user_data_64      numeric(20) NOT NULL,
        user_data_32      bigint      NOT NULL,
        timeout           bigint      NOT NULL,
        ledger            bigint      NOT NULL,
        code              integer     NOT NULL,
        flags             integer     NOT NULL,
        timestamp         bigint      NOT NULL
    )",
    "CREATE INDEX transfers_debit_account_timestamp ON transfers (debit_account_id, timestamp)",
    "CREATE INDEX transfers_credit_account_timestamp ON transfers (credit_account_id, timestamp)",
];

/// Foreign keys from transfers to both accounts. Off by default: the transaction has already
/// read both accounts under `FOR UPDATE` (step 1), and accounts are never deleted, so the keys
/// only re-check what is locked, at a measured ~60% of the insert's time (two trigger calls per
/// transfer). `--postgres-foreign-keys` adds them for teams that keep them anyway.
const FOREIGN_KEYS: &str = "ALTER TABLE transfers
    ADD FOREIGN KEY (debit_account_id) REFERENCES accounts (id),
    ADD FOREIGN KEY (credit_account_id) REFERENCES accounts (id)";

/// The statements that (re)create the schema.
#[must_use]
pub fn schema(foreign_keys: bool) -> Vec<&'static str> {
    let mut statements = SCHEMA.to_vec();
    if foreign_keys {
        statements.push(FOREIGN_KEYS);
    }
    statements
}

/// Accounts `1..=N` before the load, a batch at a time.
pub const INSERT_ACCOUNTS: &str = "INSERT INTO accounts (id, ledger, code, flags, timestamp)
    SELECT * FROM unnest($1::text[]::numeric[], $2::bigint[], $3::integer[], $4::integer[], $5::bigint[])";

/// Step 1 of a batch: the batch's accounts (ids sorted by the caller), locked in ascending id
/// order. Every transaction locks its accounts in the same global order, in one statement, before
/// anything else, so two batches sharing accounts queue instead of deadlocking.
///
/// A join with `unnest`, not `WHERE id = ANY($1)`: a transaction that waited for a row lock
/// re-checks the row's newest version against the statement's condition (READ COMMITTED's
/// EvalPlanQual), and `= ANY` of a parameter array is a linear scan of the ~8,000 ids for every
/// re-checked row. With eight connections contending for the same accounts that turned a batch
/// from ~0.2 s into ~10 s after a few dozen batches; the join's re-check is one comparison.
pub const LOCK_ACCOUNTS: &str = "SELECT a.id::text, a.ledger, a.flags, a.debits_pending::text,
        a.debits_posted::text, a.credits_pending::text, a.credits_posted::text
    FROM accounts AS a JOIN unnest($1::text[]::numeric[]) AS v (id) ON a.id = v.id
    ORDER BY a.id FOR UPDATE OF a";

/// Step 2: every candidate transfer (those that passed the checks needing no balance); the
/// primary key makes the id the idempotency key: an id already stored is skipped, and the ids
/// returned are the ones this transaction inserted.
pub const INSERT_TRANSFERS: &str = "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount,
        user_data_128, user_data_64, user_data_32, timeout, ledger, code, flags, timestamp)
    SELECT * FROM unnest($1::text[]::numeric[], $2::text[]::numeric[], $3::text[]::numeric[],
        $4::text[]::numeric[], $5::text[]::numeric[], $6::text[]::numeric[], $7::bigint[], $8::bigint[],
        $9::bigint[], $10::integer[], $11::integer[], $12::bigint[])
    ON CONFLICT (id) DO NOTHING
    RETURNING id::text";

/// Step 3 (only when a limit or a chain refused something): the rows this transaction inserted
/// for transfers it then refused.
pub const DELETE_TRANSFERS: &str = "DELETE FROM transfers WHERE id = ANY($1::text[]::numeric[])";

/// Step 4: the new balances, computed by the application under the row locks of step 1.
pub const UPDATE_BALANCES: &str = "UPDATE accounts AS a SET debits_pending = v.debits_pending,
        debits_posted = v.debits_posted, credits_pending = v.credits_pending,
        credits_posted = v.credits_posted
    FROM unnest($1::text[]::numeric[], $2::text[]::numeric[], $3::text[]::numeric[],
        $4::text[]::numeric[], $5::text[]::numeric[])
        AS v (id, debits_pending, debits_posted, credits_pending, credits_posted)
    WHERE a.id = v.id";

/// The history query after the load, the ledger's `get_account_transfers` with debits and
/// credits: an account's transfers in timestamp order.
pub const ACCOUNT_TRANSFERS: &str = "SELECT id::text, debit_account_id::text, credit_account_id::text,
        amount::text, pending_id::text, user_data_128::text, user_data_64::text, user_data_32, timeout,
        ledger, code, flags, timestamp
    FROM transfers WHERE debit_account_id = $1::text::numeric OR credit_account_id = $1::text::numeric
    ORDER BY timestamp LIMIT $2";

/// After the load: stored transfers, and whether debits equal credits over all accounts.
pub const VERIFY: &str = "SELECT (SELECT count(*) FROM transfers),
    (SELECT sum(debits_posted) = sum(credits_posted) FROM accounts)";

/// The columns of `INSERT_TRANSFERS`, one vector per placeholder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferColumns {
    pub id: Vec<String>,
    pub debit_account_id: Vec<String>,
    pub credit_account_id: Vec<String>,
    pub amount: Vec<String>,
    pub user_data_128: Vec<String>,
    pub user_data_64: Vec<String>,
    pub user_data_32: Vec<i64>,
    pub timeout: Vec<i64>,
    pub ledger: Vec<i64>,
    pub code: Vec<i32>,
    pub flags: Vec<i32>,
    pub timestamp: Vec<i64>,
}

impl TransferColumns {
    /// The transfers at `indexes` of `transfers`, stamped `timestamp_first`, `+1`, ... in batch
    /// order (the ledger assigns its timestamps the same way, one per event).
    #[must_use]
    pub fn new(transfers: &[Transfer], indexes: &[usize], timestamp_first: i64) -> Self {
        let mut columns = Self::default();
        for (offset, t) in indexes.iter().filter_map(|&i| transfers.get(i)).enumerate() {
            columns.id.push(t.id.to_string());
            columns.debit_account_id.push(t.debit_account_id.to_string());
            columns.credit_account_id.push(t.credit_account_id.to_string());
            columns.amount.push(t.amount.to_string());
            columns.user_data_128.push(t.user_data_128.to_string());
            columns.user_data_64.push(t.user_data_64.to_string());
            columns.user_data_32.push(i64::from(t.user_data_32));
            columns.timeout.push(i64::from(t.timeout));
            columns.ledger.push(i64::from(t.ledger));
            columns.code.push(i32::from(t.code));
            columns.flags.push(i32::from(t.flags.0));
            columns.timestamp.push(timestamp_first.saturating_add(i64::try_from(offset).unwrap_or(i64::MAX)));
        }
        columns
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.id.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }
}

/// The distinct accounts of a batch, ascending: the lock order of `LOCK_ACCOUNTS`.
#[must_use]
pub fn accounts_in_lock_order(transfers: &[Transfer]) -> Vec<u128> {
    let mut ids: Vec<u128> =
        transfers.iter().flat_map(|t| [t.debit_account_id, t.credit_account_id]).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::TransferFlags;

    #[test]
    fn columns_carry_full_u128_values_as_decimal_text() {
        let transfers = [
            Transfer {
                id: u128::MAX - 1,
                debit_account_id: 1,
                credit_account_id: 2,
                amount: 5,
                ..Transfer::default()
            },
            Transfer {
                id: 7,
                debit_account_id: 3,
                credit_account_id: 4,
                amount: u128::from(u64::MAX) + 1,
                ledger: u32::MAX,
                code: u16::MAX,
                flags: TransferFlags::LINKED,
                ..Transfer::default()
            },
        ];
        let columns = TransferColumns::new(&transfers, &[1, 0], 100);
        assert_eq!(columns.id, vec!["7".to_owned(), "340282366920938463463374607431768211454".to_owned()]);
        assert_eq!(columns.amount[0], "18446744073709551616");
        assert_eq!((columns.ledger[0], columns.code[0], columns.flags[0]), (4_294_967_295, 65_535, 1));
        assert_eq!(columns.timestamp, vec![100, 101]);
        assert_eq!(columns.len(), 2);
    }

    #[test]
    fn accounts_are_locked_once_each_in_ascending_order() {
        let t = |debit, credit| Transfer {
            debit_account_id: debit,
            credit_account_id: credit,
            ..Transfer::default()
        };
        assert_eq!(accounts_in_lock_order(&[t(9, 2), t(2, 5), t(5, 9), t(1, 9)]), vec![1, 2, 5, 9]);
    }

    #[test]
    fn batched_statements_take_one_array_per_column() {
        // Twelve columns inserted, twelve placeholders: a mismatch is a run-time error otherwise.
        assert!(INSERT_TRANSFERS.contains("$12::bigint[]") && !INSERT_TRANSFERS.contains("$13"));
        assert!(UPDATE_BALANCES.contains("$5::text[]") && !UPDATE_BALANCES.contains("$6"));
        // By the numeric column: `ORDER BY id` would sort by the output column `id::text`.
        assert!(LOCK_ACCOUNTS.contains("ORDER BY a.id FOR UPDATE OF a"));
    }

    #[test]
    fn foreign_keys_are_added_only_on_request() {
        assert!(!schema(false).iter().any(|s| s.contains("REFERENCES")));
        assert_eq!(schema(true).last(), Some(&FOREIGN_KEYS));
        assert_eq!(schema(true).len(), schema(false).len() + 1);
    }
}
