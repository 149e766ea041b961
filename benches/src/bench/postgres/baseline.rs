//! Running the baseline: schema and accounts, the load from one connection per worker, the
//! history queries and a check of the result. The transaction itself is described in `mod.rs`.

use super::apply::{LockedAccount, LockedAccounts, apply, precheck};
use super::sql::{self, TransferColumns, accounts_in_lock_order};
use crate::bench::parameters::Parameters;
use crate::bench::progress::{Progress, ProgressMode};
use crate::{XorShift, account_batches};
use hdrhistogram::Histogram;
use ledger_core::{AccountFlags, CreateTransferResult, Transfer};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

/// The scripted server allows 100 connections; keep a margin for psql and autovacuum.
pub const CONNECTIONS_MAX: usize = 90;
/// A batch that deadlocks or fails serialization this many times in a row fails the run.
pub const BATCH_RETRIES_MAX: u32 = 8;
/// Latency histogram bounds in microseconds, as the ledger run's: 1 µs to 10 minutes.
const LATENCY_MICROS_MAX: u64 = 600_000_000;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("connecting to PostgreSQL ({url}): {source} (is it running? `scripts/postgres start`)")]
    Connect { url: String, source: tokio_postgres::Error },
    #[error("PostgreSQL, {step}: {source}")]
    Sql { step: &'static str, source: tokio_postgres::Error },
    #[error("PostgreSQL returned {value:?} for {column}, not a valid value")]
    Decode { column: &'static str, value: String },
    #[error("the PostgreSQL baseline implements single-phase transfers and linked chains, not {0}")]
    Unsupported(&'static str),
    #[error("{workers} workers need as many connections, more than the {CONNECTIONS_MAX} allowed")]
    Connections { workers: usize },
    #[error("a batch was retried {BATCH_RETRIES_MAX} times: {source}")]
    Retries { source: tokio_postgres::Error },
    #[error("after the load: {0}")]
    Verify(String),
    #[error("a load worker stopped: {0}")]
    Worker(String),
    #[error("latency histogram: {0}")]
    Histogram(String),
}

fn sql_error(step: &'static str) -> impl FnOnce(tokio_postgres::Error) -> BaselineError {
    move |source| BaselineError::Sql { step, source }
}

fn histogram() -> Result<Histogram<u64>, BaselineError> {
    Histogram::new_with_bounds(1, LATENCY_MICROS_MAX, 3).map_err(|e| BaselineError::Histogram(e.to_string()))
}

/// Opens one connection; its I/O runs on a spawned task until the client is dropped.
///
/// # Errors
/// The URL is invalid or the server does not answer.
pub async fn connect(url: &str) -> Result<Client, BaselineError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|source| BaselineError::Connect { url: url.to_owned(), source })?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("ledger-bench: PostgreSQL connection closed: {error}");
        }
    });
    Ok(client)
}

/// Refuses what the baseline does not implement, before anything is created.
///
/// # Errors
/// Two-phase transfers, reads while writing, or more workers than connections.
pub fn check_supported(parameters: &Parameters) -> Result<(), BaselineError> {
    if parameters.transfer_pending {
        return Err(BaselineError::Unsupported("two-phase transfers (--transfer-pending)"));
    }
    if parameters.reads.is_some() {
        return Err(BaselineError::Unsupported("reads while writing (--reads)"));
    }
    let workers = parameters.clients * parameters.in_flight;
    if workers > CONNECTIONS_MAX {
        return Err(BaselineError::Connections { workers });
    }
    Ok(())
}

/// Drops and recreates the schema and creates accounts `1..=account_count` (the ledger run's
/// accounts), then refreshes the planner's statistics so the load's plans use the indexes.
///
/// # Errors
/// Any statement fails.
pub async fn prepare(client: &Client, account_count: u64, foreign_keys: bool) -> Result<(), BaselineError> {
    for statement in sql::schema(foreign_keys) {
        client.batch_execute(statement).await.map_err(sql_error("creating the schema"))?;
    }
    let insert =
        client.prepare(sql::INSERT_ACCOUNTS).await.map_err(sql_error("preparing the account insert"))?;
    let now = clock_nanos();
    for batch in account_batches(account_count) {
        let ids: Vec<String> = batch.iter().map(|a| a.id.to_string()).collect();
        let ledgers: Vec<i64> = batch.iter().map(|a| i64::from(a.ledger)).collect();
        let codes: Vec<i32> = batch.iter().map(|a| i32::from(a.code)).collect();
        let flags: Vec<i32> = batch.iter().map(|a| i32::from(a.flags.0)).collect();
        let timestamps: Vec<i64> = vec![now; batch.len()];
        client
            .execute(&insert, &[&ids, &ledgers, &codes, &flags, &timestamps])
            .await
            .map_err(sql_error("creating accounts"))?;
    }
    client.batch_execute("ANALYZE accounts").await.map_err(sql_error("analyzing accounts"))?;
    Ok(())
}

/// The baseline's load: counts, duration and per-batch latency, as the ledger run's.
#[derive(Debug)]
pub struct PostgresLoad {
    pub sent: u64,
    pub failed: u64,
    pub seconds: f64,
    pub latency: Histogram<u64>,
    /// Batches retried after a deadlock or serialization failure (expected zero).
    pub retries: u64,
}

/// One worker's batches with their global index (the open-loop schedule slot).
pub type Share = Vec<(u64, Vec<Transfer>)>;

/// The prepared statements of one connection.
#[derive(Debug)]
struct Statements {
    lock_accounts: Statement,
    insert_transfers: Statement,
    delete_transfers: Statement,
    update_balances: Statement,
}

impl Statements {
    async fn prepare(client: &Client) -> Result<Self, BaselineError> {
        let prepare = |text| client.prepare(text);
        Ok(Self {
            lock_accounts: prepare(sql::LOCK_ACCOUNTS)
                .await
                .map_err(sql_error("preparing the account lock"))?,
            insert_transfers: prepare(sql::INSERT_TRANSFERS)
                .await
                .map_err(sql_error("preparing the transfer insert"))?,
            delete_transfers: prepare(sql::DELETE_TRANSFERS)
                .await
                .map_err(sql_error("preparing the transfer delete"))?,
            update_balances: prepare(sql::UPDATE_BALANCES)
                .await
                .map_err(sql_error("preparing the balance update"))?,
        })
    }
}

/// Sends every share from its own connection, closed loop or at `parameters.rate` (latency
/// then from the scheduled time, as the ledger run measures it).
///
/// # Errors
/// A connection or statement fails (a refused transfer is counted, not an error).
pub async fn run_load(
    url: &str,
    parameters: &Parameters,
    shares: Vec<Share>,
    progress: ProgressMode,
) -> Result<PostgresLoad, BaselineError> {
    check_supported(parameters)?;
    let mut connections = Vec::with_capacity(shares.len());
    for _ in 0..shares.len() {
        let client = connect(url).await?;
        let statements = Statements::prepare(&client).await?;
        connections.push((client, statements));
    }
    let interval = parameters
        .rate
        .map(|rate| Duration::from_secs_f64(parameters.transfer_batch_count as f64 / rate as f64));
    let done = Arc::new(AtomicU64::new(0));
    let display = Progress::start(
        progress,
        "postgres",
        "transfers",
        parameters.transfer_count,
        Arc::clone(&done),
        None,
    );
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for ((mut client, statements), share) in connections.into_iter().zip(shares) {
        let done = Arc::clone(&done);
        let mut latency = histogram()?;
        tasks.spawn(async move {
            let (mut sent, mut failed, mut retries) = (0_u64, 0_u64, 0_u64);
            for (index, batch) in share {
                let scheduled = match interval {
                    Some(interval) => {
                        let due = started + interval.mul_f64(index as f64);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                let (refused, tries) = create_transfers_retrying(&mut client, &statements, &batch).await?;
                let micros = u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX);
                latency.saturating_record(micros.max(1));
                if let Some((first, result)) = refused.first()
                    && failed == 0
                {
                    eprintln!(
                        "ledger-bench: postgres: transfer {first} of batch {index} failed: {}",
                        result.name()
                    );
                }
                failed += refused.len() as u64;
                sent += batch.len() as u64;
                retries += u64::from(tries);
                done.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Ok::<_, BaselineError>((sent, failed, retries, latency))
        });
    }
    let mut load = PostgresLoad { sent: 0, failed: 0, seconds: 0.0, latency: histogram()?, retries: 0 };
    while let Some(joined) = tasks.join_next().await {
        let (sent, failed, retries, latency) = joined.map_err(|e| BaselineError::Worker(e.to_string()))??;
        load.sent += sent;
        load.failed += failed;
        load.retries += retries;
        load.latency.add(&latency).map_err(|e| BaselineError::Histogram(e.to_string()))?;
    }
    load.seconds = started.elapsed().as_secs_f64();
    display.finish();
    Ok(load)
}

/// `create_transfers` again after a deadlock or serialization failure; returns the refused
/// transfers and the number of retries.
async fn create_transfers_retrying(
    client: &mut Client,
    statements: &Statements,
    batch: &[Transfer],
) -> Result<(Vec<(usize, CreateTransferResult)>, u32), BaselineError> {
    let mut retries = 0;
    loop {
        match create_transfers(client, statements, batch).await {
            Ok(refused) => return Ok((refused, retries)),
            Err(Attempt::Sql(error)) if is_retryable(&error) && retries < BATCH_RETRIES_MAX => retries += 1,
            Err(Attempt::Sql(source)) if is_retryable(&source) => {
                return Err(BaselineError::Retries { source });
            }
            Err(Attempt::Sql(source)) => {
                return Err(BaselineError::Sql { step: "creating transfers", source });
            }
            Err(Attempt::Baseline(error)) => return Err(error),
        }
    }
}

fn is_retryable(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// Why one attempt at a batch failed: a database error (maybe retryable) or ours.
enum Attempt {
    Sql(tokio_postgres::Error),
    Baseline(BaselineError),
}

impl From<tokio_postgres::Error> for Attempt {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Sql(error)
    }
}

impl From<BaselineError> for Attempt {
    fn from(error: BaselineError) -> Self {
        Self::Baseline(error)
    }
}

/// One batch, one transaction (the steps are numbered as in `mod.rs`). Dropping the
/// transaction on an error rolls it back.
async fn create_transfers(
    client: &mut Client,
    statements: &Statements,
    batch: &[Transfer],
) -> Result<Vec<(usize, CreateTransferResult)>, Attempt> {
    let transaction = client.transaction().await?;

    // 1. Lock the accounts in ascending id order.
    let account_ids: Vec<String> = accounts_in_lock_order(batch).iter().map(u128::to_string).collect();
    let rows = transaction.query(&statements.lock_accounts, &[&account_ids]).await?;
    let mut accounts = LockedAccounts::with_capacity(rows.len());
    for row in &rows {
        let (id, account) = locked_account(row)?;
        accounts.insert(id, account);
    }

    // 2. Checks without balances; 3. insert the candidates.
    let prechecked = precheck(batch, &accounts);
    let candidates: Vec<usize> = (0..batch.len()).filter(|&i| prechecked[i].is_none()).collect();
    let mut inserted = HashSet::with_capacity(candidates.len());
    if !candidates.is_empty() {
        let c = TransferColumns::new(batch, &candidates, clock_nanos());
        let rows = transaction
            .query(
                &statements.insert_transfers,
                &[
                    &c.id,
                    &c.debit_account_id,
                    &c.credit_account_id,
                    &c.amount,
                    &c.user_data_128,
                    &c.user_data_64,
                    &c.user_data_32,
                    &c.timeout,
                    &c.ledger,
                    &c.code,
                    &c.flags,
                    &c.timestamp,
                ],
            )
            .await?;
        for row in &rows {
            inserted.insert(decode_u128(row, 0, "transfers.id")?);
        }
    }

    // 4. Balances and limits in batch order; 5. remove what was refused.
    let outcome = apply(batch, &prechecked, &inserted, &mut accounts);
    if !outcome.inserted_not_accepted.is_empty() {
        let ids: Vec<String> = outcome.inserted_not_accepted.iter().map(u128::to_string).collect();
        transaction.execute(&statements.delete_transfers, &[&ids]).await?;
    }

    // 6. Write the new balances; 7. commit (durable: synchronous_commit=on).
    if !outcome.balances.is_empty() {
        let column = |f: fn(&LockedAccount) -> u128| -> Vec<String> {
            outcome.balances.iter().map(|(_, a)| f(a).to_string()).collect()
        };
        let ids: Vec<String> = outcome.balances.iter().map(|(id, _)| id.to_string()).collect();
        transaction
            .execute(
                &statements.update_balances,
                &[
                    &ids,
                    &column(|a| a.debits_pending),
                    &column(|a| a.debits_posted),
                    &column(|a| a.credits_pending),
                    &column(|a| a.credits_posted),
                ],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(outcome.refused)
}

fn locked_account(row: &tokio_postgres::Row) -> Result<(u128, LockedAccount), BaselineError> {
    let ledger: i64 = row.try_get(1).map_err(sql_error("reading accounts.ledger"))?;
    let flags: i32 = row.try_get(2).map_err(sql_error("reading accounts.flags"))?;
    let account = LockedAccount {
        ledger: u32::try_from(ledger)
            .map_err(|_| BaselineError::Decode { column: "accounts.ledger", value: ledger.to_string() })?,
        flags: AccountFlags(
            u16::try_from(flags)
                .map_err(|_| BaselineError::Decode { column: "accounts.flags", value: flags.to_string() })?,
        ),
        debits_pending: decode_u128(row, 3, "accounts.debits_pending")?,
        debits_posted: decode_u128(row, 4, "accounts.debits_posted")?,
        credits_pending: decode_u128(row, 5, "accounts.credits_pending")?,
        credits_posted: decode_u128(row, 6, "accounts.credits_posted")?,
    };
    Ok((decode_u128(row, 0, "accounts.id")?, account))
}

fn decode_u128(row: &tokio_postgres::Row, index: usize, column: &'static str) -> Result<u128, BaselineError> {
    let text: &str = row.try_get(index).map_err(sql_error("reading a numeric column"))?;
    text.parse().map_err(|_| BaselineError::Decode { column, value: text.to_owned() })
}

/// Nanoseconds since the epoch as a timestamp column value (0 if the clock is before 1970).
fn clock_nanos() -> i64 {
    let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

/// The ledger run's `get_account_transfers` queries (same accounts, same limit, debits and
/// credits), one at a time; their latency and the mean number of transfers returned.
///
/// # Errors
/// A query fails.
pub async fn run_queries(
    client: &Client,
    parameters: &Parameters,
) -> Result<(Histogram<u64>, f64), BaselineError> {
    let sampler = parameters.sampler().map_err(|e| BaselineError::Verify(e.to_string()))?;
    let statement =
        client.prepare(sql::ACCOUNT_TRANSFERS).await.map_err(sql_error("preparing the history query"))?;
    let limit = i64::try_from(ledger_core::BATCH_EVENTS_MAX).unwrap_or(i64::MAX);
    let mut rng = XorShift::new(parameters.seed.wrapping_add(1));
    let mut latency = histogram()?;
    let mut returned = 0_u64;
    for _ in 0..parameters.query_count {
        let account = sampler.account(&mut rng).to_string();
        let sent = Instant::now();
        let rows = client.query(&statement, &[&account, &limit]).await.map_err(sql_error("history query"))?;
        latency.saturating_record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
        returned += rows.len() as u64;
    }
    Ok((latency, returned as f64 / parameters.query_count.max(1) as f64))
}

/// Checks the stored result: as many transfers as were accepted, and debits equal to credits
/// over all accounts (a lost or doubled balance update would break it).
///
/// # Errors
/// A mismatch, or the query fails.
pub async fn verify(client: &Client, accepted: u64) -> Result<(), BaselineError> {
    let row = client.query_one(sql::VERIFY, &[]).await.map_err(sql_error("verifying"))?;
    let stored: i64 = row.try_get(0).map_err(sql_error("reading the transfer count"))?;
    let balanced: Option<bool> = row.try_get(1).map_err(sql_error("reading the balance check"))?;
    if u64::try_from(stored).ok() != Some(accepted) {
        return Err(BaselineError::Verify(format!("{stored} transfers stored, {accepted} accepted")));
    }
    if balanced == Some(false) {
        return Err(BaselineError::Verify("debits_posted and credits_posted sums differ".to_owned()));
    }
    Ok(())
}
