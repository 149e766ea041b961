//! `Client`: typed calls over one pipelined connection, with batching and safe retry.

use crate::batching::{split_at_chain_boundaries, split_by_size};
use crate::config::{ClientConfig, MAX_IN_FLIGHT_LIMIT};
use crate::connection::{Connection, Frame, Lost, OpenError, Pending, open_with_timeout};
use crate::error::ClientError;
use crate::journal::JournalPage;
use ledger_core::{
    Account, AccountBalance, AccountFilter, AccountFlags, BATCH_EVENTS_MAX, CreateAccountResult,
    CreateTransferResult, EventResult, QueryFilter, Transfer, TransferFlags,
};
use ledger_protocol::{
    BODY_MAX, EVENT_JSON_MAX, EVENT_LENGTH_SIZE, EventCode, HEADER_SIZE, JournalRead,
    READ_JOURNAL_WAIT_MS_MAX, Reply, Request, Status, TOKEN_MAX, encode_request,
};
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// A handle to the ledger server. Cheap to clone; all clones share one connection, one limit on
/// requests in flight and one request-id counter, so any number of tasks may call at once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    /// One permit per request in flight (`max_in_flight`).
    slots: Semaphore,
    next_request_id: AtomicU64,
    /// The current connection. Replaced (under this lock, so by one task at a time) when it ends.
    connection: Mutex<Option<Arc<Connection>>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.inner.config.addr)
            .field("max_in_flight", &self.inner.config.max_in_flight)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// One request of a call: its frame (resent unchanged on retry) and what became of it.
struct Outgoing {
    request_id: u64,
    frame: Frame,
    /// Time the server may take on top of `request_timeout` (a `read_journal` wait).
    grace: Duration,
    /// When the request must be answered by; set on its first send.
    deadline: Option<Instant>,
    reply: Option<Reply>,
}

/// Why a round of sends ended early: the rest of the call is retried after a pause.
enum Interruption {
    Lost(Lost),
    Status(Status),
}

/// What a call has been through so far, for the error if it gives up.
struct Attempts {
    started: Instant,
    count: u32,
    last_error: String,
}

/// The statuses that say "not now" rather than "not this": the server is starting, saturated or
/// stopping, and the same bytes may succeed later or on the next server.
fn is_retryable(status: Status) -> bool {
    matches!(status, Status::Unavailable | Status::Overloaded | Status::ShuttingDown)
}

impl Client {
    /// Opens the first connection (one attempt, no retry, so that a wrong address fails fast)
    /// and returns a client that reconnects by itself from then on.
    ///
    /// # Errors
    /// `Config` or `TokenTooLong` for an unusable configuration; `Connect` when the server cannot
    /// be reached; `Status` when it refuses the token.
    pub async fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        if !(1..=MAX_IN_FLIGHT_LIMIT).contains(&config.max_in_flight) {
            return Err(ClientError::Config("max_in_flight must be between 1 and MAX_IN_FLIGHT_LIMIT"));
        }
        if config.request_timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(ClientError::Config("timeouts must be positive"));
        }
        if let Some(token) = &config.token
            && token.len() > TOKEN_MAX
        {
            return Err(ClientError::TokenTooLong { len: token.len(), max: TOKEN_MAX });
        }
        let connection = open_with_timeout(
            &config.addr,
            config.token.as_deref(),
            config.max_in_flight,
            config.connect_timeout,
        )
        .await
        .map_err(|error| match error {
            OpenError::Io(source) => ClientError::Connect { addr: config.addr.clone(), source },
            OpenError::Refused(status) => ClientError::Status(status),
            OpenError::Protocol(message) => ClientError::Framing(message),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                slots: Semaphore::new(config.max_in_flight),
                next_request_id: AtomicU64::new(1),
                connection: Mutex::new(Some(connection)),
                closed: AtomicBool::new(false),
                config,
            }),
        })
    }

    /// The configuration this client was built with.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Closes the client: calls in flight and later calls fail with `Closed`, and the connection
    /// is dropped. Requests already written may still be applied by the server.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.slots.close();
        if let Some(connection) = self.inner.connection.lock().await.take() {
            connection.end(Lost::Closed);
        }
    }

    /// Creates accounts. Any number may be given: they go out in requests of at most
    /// `BATCH_EVENTS_MAX`, split only between linked chains, pipelined on the connection.
    ///
    /// Returns the failed events only, as `(index into accounts, result)`, in index order; an
    /// empty vector means every account was created. After a retry, `exists` means the account
    /// was created by an earlier attempt (see the crate docs).
    ///
    /// # Errors
    /// `ChainTooLong` before anything is sent; otherwise any `ClientError`, in which case some
    /// requests of the call may have been applied (`ClientError::outcome_unknown`).
    pub async fn create_accounts(
        &self,
        accounts: &[Account],
    ) -> Result<Vec<EventResult<CreateAccountResult>>, ClientError> {
        let ranges = split_at_chain_boundaries(accounts, BATCH_EVENTS_MAX, |a| {
            a.flags.contains(AccountFlags::LINKED)
        })?;
        let requests = ranges.iter().map(|r| Request::CreateAccounts(accounts[r.clone()].to_vec()));
        let replies = self.call(requests).await?;
        rebase_results(&ranges, replies, |reply| match reply {
            Reply::CreateAccounts(results) => Some(results),
            _ => None,
        })
        .map_err(|e| e.unwrap_or(ClientError::UnexpectedReply { operation: "create_accounts" }))
    }

    /// Creates transfers; batching, ordering and the answer as for `create_accounts`.
    ///
    /// # Errors
    /// As for `create_accounts`.
    pub async fn create_transfers(
        &self,
        transfers: &[Transfer],
    ) -> Result<Vec<EventResult<CreateTransferResult>>, ClientError> {
        let ranges = split_at_chain_boundaries(transfers, BATCH_EVENTS_MAX, |t| {
            t.flags.contains(TransferFlags::LINKED)
        })?;
        let requests = ranges.iter().map(|r| Request::CreateTransfers(transfers[r.clone()].to_vec()));
        let replies = self.call(requests).await?;
        rebase_results(&ranges, replies, |reply| match reply {
            Reply::CreateTransfers(results) => Some(results),
            _ => None,
        })
        .map_err(|e| e.unwrap_or(ClientError::UnexpectedReply { operation: "create_transfers" }))
    }

    /// The accounts with these ids that exist, in the order of `ids`; ids that do not exist are
    /// left out. Any number of ids may be given.
    ///
    /// # Errors
    /// Any `ClientError` but `ChainTooLong`.
    pub async fn lookup_accounts(&self, ids: &[u128]) -> Result<Vec<Account>, ClientError> {
        let requests = ids.chunks(BATCH_EVENTS_MAX).map(|chunk| Request::LookupAccounts(chunk.to_vec()));
        let replies = self.call(requests).await?;
        concat_replies(replies, "lookup_accounts", |reply| match reply {
            Reply::Accounts(accounts) => Some(accounts),
            _ => None,
        })
    }

    /// The transfers with these ids that exist, in the order of `ids`; see `lookup_accounts`.
    ///
    /// # Errors
    /// Any `ClientError` but `ChainTooLong`.
    pub async fn lookup_transfers(&self, ids: &[u128]) -> Result<Vec<Transfer>, ClientError> {
        let requests = ids.chunks(BATCH_EVENTS_MAX).map(|chunk| Request::LookupTransfers(chunk.to_vec()));
        let replies = self.call(requests).await?;
        concat_replies(replies, "lookup_transfers", |reply| match reply {
            Reply::Transfers(transfers) => Some(transfers),
            _ => None,
        })
    }

    /// The transfers of one account selected by `filter` (at most `filter.limit`).
    ///
    /// # Errors
    /// Any `ClientError` but `ChainTooLong`.
    pub async fn get_account_transfers(&self, filter: AccountFilter) -> Result<Vec<Transfer>, ClientError> {
        let replies = self.call(std::iter::once(Request::GetAccountTransfers(filter))).await?;
        concat_replies(replies, "get_account_transfers", |reply| match reply {
            Reply::Transfers(transfers) => Some(transfers),
            _ => None,
        })
    }

    /// The balances of one account (with the `history` flag) after each selected transfer.
    ///
    /// # Errors
    /// Any `ClientError` but `ChainTooLong`.
    pub async fn get_account_balances(
        &self,
        filter: AccountFilter,
    ) -> Result<Vec<AccountBalance>, ClientError> {
        let replies = self.call(std::iter::once(Request::GetAccountBalances(filter))).await?;
        concat_replies(replies, "get_account_balances", |reply| match reply {
            Reply::Balances(balances) => Some(balances),
            _ => None,
        })
    }

    /// One page of the change feed: the journal entries after cursor `after` (0: from the
    /// start), at most `limit` transfers of whole entries (0: the server's default). When none
    /// has come yet, the server waits up to `wait` (at most `READ_JOURNAL_WAIT_MS_MAX`) and
    /// answers as soon as one is durable, or with an empty page. The request may take
    /// `request_timeout` on top of `wait`. A read changes nothing, so retries are always safe.
    /// `JournalFollower` keeps the cursor for you.
    ///
    /// # Errors
    /// Any `ClientError` but `ChainTooLong`; `MalformedJournal` when the page's cursors do not
    /// move forward from `after`.
    pub async fn read_journal(
        &self,
        after: u64,
        limit: u32,
        wait: Duration,
    ) -> Result<JournalPage, ClientError> {
        let wait_ms = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX).min(READ_JOURNAL_WAIT_MS_MAX);
        let mut outgoing = self.encode(&Request::ReadJournal(JournalRead { after, limit, wait_ms }));
        outgoing.grace = Duration::from_millis(u64::from(wait_ms));
        let reply = self.send_all(vec![outgoing]).await?.pop();
        match reply {
            Some(Reply::Journal(page)) => JournalPage::parse(after, &page),
            _ => Err(ClientError::UnexpectedReply { operation: "read_journal" }),
        }
    }

    /// Posts standard ledger events, each the bytes of one `{"type":"event",...}` JSON object
    /// (`docs/events.md`). Any number may be given: they go out in requests of at most
    /// `BATCH_EVENTS_MAX` events and `BODY_MAX` bytes (an event is never split), pipelined on the
    /// connection, and are retried with the same bytes like creates (events are idempotent by
    /// `event_id`: a retry of a posted event answers `exists`, code 1).
    ///
    /// Returns the events whose outcome is not `ok`, as `(index into events, raw code)`, in index
    /// order; an empty vector means every event was posted. The codes are
    /// `ledger_events::EventOutcome` codes, passed through unchecked so that a newer server's
    /// codes still arrive. The events are not parsed here: the server answers a malformed one
    /// with its code.
    ///
    /// # Errors
    /// `EventTooLong` before anything is sent; otherwise any `ClientError`, in which case some
    /// requests of the call may have been applied (`ClientError::outcome_unknown`).
    pub async fn post_events(&self, events: &[Vec<u8>]) -> Result<Vec<EventCode>, ClientError> {
        let sizes: Vec<usize> = events.iter().map(|event| EVENT_LENGTH_SIZE + event.len()).collect();
        let ranges = split_by_size(&sizes, EVENT_LENGTH_SIZE, EVENT_JSON_MAX, BATCH_EVENTS_MAX, BODY_MAX)?;
        let requests = ranges.iter().map(|r| Request::PostEvents(events[r.clone()].to_vec()));
        let replies = self.call(requests).await?;
        rebase_results(&ranges, replies, |reply| match reply {
            Reply::PostEvents(codes) => Some(codes),
            _ => None,
        })
        .map_err(|e| e.unwrap_or(ClientError::UnexpectedReply { operation: "post_events" }))
    }

    /// The accounts matching `filter` (at most `filter.limit`).
    ///
    /// # Errors
    /// Any `ClientError` but `ChainTooLong`.
    pub async fn query_accounts(&self, filter: QueryFilter) -> Result<Vec<Account>, ClientError> {
        let replies = self.call(std::iter::once(Request::QueryAccounts(filter))).await?;
        concat_replies(replies, "query_accounts", |reply| match reply {
            Reply::Accounts(accounts) => Some(accounts),
            _ => None,
        })
    }

    /// The transfers matching `filter` (at most `filter.limit`).
    ///
    /// # Errors
    /// Any `ClientError` but `ChainTooLong`.
    pub async fn query_transfers(&self, filter: QueryFilter) -> Result<Vec<Transfer>, ClientError> {
        let replies = self.call(std::iter::once(Request::QueryTransfers(filter))).await?;
        concat_replies(replies, "query_transfers", |reply| match reply {
            Reply::Transfers(transfers) => Some(transfers),
            _ => None,
        })
    }

    /// Sends `requests` in order, pipelined, and returns their replies in the same order.
    ///
    /// Each request is encoded once and given a fresh request id; retries resend those exact
    /// bytes. A round sends the unanswered requests in order on the current connection, keeping
    /// as many in flight as the client's slots allow, and collects the replies oldest first. If
    /// the connection ends or the server says "not now", the round stops sending and the
    /// requests still unanswered are retried in their original order after a backoff, so a later
    /// request of the call never overtakes an earlier one that was refused.
    async fn call(&self, requests: impl Iterator<Item = Request>) -> Result<Vec<Reply>, ClientError> {
        self.send_all(requests.map(|request| self.encode(&request)).collect()).await
    }

    /// `call` for requests already encoded.
    async fn send_all(&self, mut outgoing: Vec<Outgoing>) -> Result<Vec<Reply>, ClientError> {
        let config = &self.inner.config;
        let mut attempts = Attempts { started: Instant::now(), count: 0, last_error: String::new() };
        loop {
            if self.inner.closed.load(Ordering::Acquire) {
                return Err(ClientError::Closed);
            }
            let unanswered: Vec<usize> =
                (0..outgoing.len()).filter(|&i| outgoing[i].reply.is_none()).collect();
            if unanswered.is_empty() {
                break;
            }
            // Reconnecting counts against the oldest request already sent, or against the call.
            let deadline = unanswered
                .iter()
                .filter_map(|&i| outgoing[i].deadline)
                .min()
                .unwrap_or(attempts.started + config.request_timeout);
            let connection = self.connection(deadline, &mut attempts).await?;
            let Some(interruption) = self.round(&connection, &mut outgoing, &unanswered).await? else {
                continue;
            };
            let reason = match interruption {
                Interruption::Lost(Lost::Closed) => return Err(ClientError::Closed),
                Interruption::Lost(Lost::Framing(message)) => return Err(ClientError::Framing(message)),
                Interruption::Lost(Lost::Io { kind, message }) => {
                    if !config.reconnect {
                        return Err(ClientError::Io(std::io::Error::new(kind, message)));
                    }
                    message
                }
                Interruption::Status(status) => {
                    if !config.reconnect {
                        return Err(ClientError::Status(status));
                    }
                    if status.closes_connection() {
                        self.forget(&connection).await;
                    }
                    format!("the server answered {}", status.name())
                }
            };
            tracing::debug!(addr = %config.addr, attempt = attempts.count, %reason, "retrying");
            attempts.last_error = reason;
            self.pause(deadline, &mut attempts).await?;
        }
        Ok(outgoing.into_iter().filter_map(|o| o.reply).collect())
    }

    /// One round: sends `unanswered` (indexes into `outgoing`) in order on `connection` and
    /// collects replies. Returns why it stopped early, if it did.
    async fn round(
        &self,
        connection: &Arc<Connection>,
        outgoing: &mut [Outgoing],
        unanswered: &[usize],
    ) -> Result<Option<Interruption>, ClientError> {
        let request_timeout = self.inner.config.request_timeout;
        let mut to_send = unanswered.iter().copied().peekable();
        let mut in_flight: VecDeque<(usize, SemaphorePermit<'_>, Pending)> = VecDeque::new();
        let mut interruption = None;
        loop {
            if interruption.is_none()
                && let Some(&index) = to_send.peek()
            {
                let slot = match self.inner.slots.try_acquire() {
                    Ok(slot) => Some(slot),
                    // Nothing of ours in flight to wait for: wait for another task's slot.
                    Err(_) if in_flight.is_empty() => {
                        match tokio::time::timeout(request_timeout, self.inner.slots.acquire()).await {
                            Ok(Ok(slot)) => Some(slot),
                            Ok(Err(_closed)) => return Err(ClientError::Closed),
                            Err(_) => return Err(ClientError::Timeout(request_timeout)),
                        }
                    }
                    Err(_) => None,
                };
                if let Some(slot) = slot {
                    to_send.next();
                    let request = &mut outgoing[index];
                    request.deadline.get_or_insert_with(|| Instant::now() + request_timeout + request.grace);
                    match connection.submit(request.request_id, Arc::clone(&request.frame)).await {
                        Ok(pending) => in_flight.push_back((index, slot, pending)),
                        Err(lost) => interruption = Some(Interruption::Lost(lost)),
                    }
                    continue;
                }
            }
            let Some((index, slot, pending)) = in_flight.pop_front() else {
                return Ok(interruption);
            };
            let deadline = outgoing[index].deadline.unwrap_or_else(|| Instant::now() + request_timeout);
            let answer = match tokio::time::timeout_at(deadline, pending.answer()).await {
                Ok(answer) => answer,
                Err(_) => return Err(ClientError::Timeout(request_timeout)),
            };
            drop(slot);
            match answer {
                Ok(Ok(Ok(reply))) => outgoing[index].reply = Some(reply),
                Ok(Ok(Err(status))) if is_retryable(status) => {
                    interruption.get_or_insert(Interruption::Status(status));
                }
                Ok(Ok(Err(status))) => return Err(ClientError::Status(status)),
                Ok(Err(frame_error)) => return Err(ClientError::Protocol(frame_error)),
                Err(lost) => {
                    interruption.get_or_insert(Interruption::Lost(lost));
                }
            }
        }
    }

    fn encode(&self, request: &Request) -> Outgoing {
        let request_id = self.inner.next_request_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = Vec::with_capacity(HEADER_SIZE + request.body_len());
        encode_request(request_id, request, &mut frame);
        Outgoing { request_id, frame: Frame::from(frame), grace: Duration::ZERO, deadline: None, reply: None }
    }

    /// The current connection, or a new one. One task reconnects at a time (the others wait on
    /// the lock and then find the new connection), retrying with backoff until `deadline`.
    async fn connection(
        &self,
        deadline: Instant,
        attempts: &mut Attempts,
    ) -> Result<Arc<Connection>, ClientError> {
        let config = &self.inner.config;
        let Ok(mut current) = tokio::time::timeout_at(deadline, self.inner.connection.lock()).await else {
            return Err(self.gave_up(attempts, "waiting for another task to reconnect"));
        };
        loop {
            if self.inner.closed.load(Ordering::Acquire) {
                return Err(ClientError::Closed);
            }
            if let Some(connection) = current.as_ref().filter(|c| c.is_open()) {
                return Ok(Arc::clone(connection));
            }
            *current = None;
            let timeout = config.connect_timeout.min(deadline.saturating_duration_since(Instant::now()));
            let error =
                match open_with_timeout(&config.addr, config.token.as_deref(), config.max_in_flight, timeout)
                    .await
                {
                    Ok(connection) => {
                        tracing::info!(addr = %config.addr, "reconnected");
                        *current = Some(Arc::clone(&connection));
                        return Ok(connection);
                    }
                    Err(OpenError::Io(error)) if config.reconnect => error.to_string(),
                    Err(OpenError::Io(error)) => return Err(ClientError::Io(error)),
                    Err(OpenError::Refused(status)) if config.reconnect && is_retryable(status) => {
                        format!("the server answered hello with {}", status.name())
                    }
                    Err(OpenError::Refused(status)) => return Err(ClientError::Status(status)),
                    Err(OpenError::Protocol(message)) => return Err(ClientError::Framing(message)),
                };
            tracing::debug!(addr = %config.addr, %error, "reconnect failed");
            attempts.last_error = format!("connect: {error}");
            self.pause(deadline, attempts).await?;
        }
    }

    /// Drops `connection` if it is still the current one, so the next send reconnects.
    async fn forget(&self, connection: &Arc<Connection>) {
        let mut current = self.inner.connection.lock().await;
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, connection)) {
            *current = None;
        }
    }

    /// Sleeps for the next backoff delay, or gives up if that would pass `deadline`.
    async fn pause(&self, deadline: Instant, attempts: &mut Attempts) -> Result<(), ClientError> {
        let delay = self.inner.config.backoff.delay(attempts.count);
        attempts.count = attempts.count.saturating_add(1);
        if Instant::now() + delay >= deadline {
            return Err(self.gave_up(attempts, ""));
        }
        tokio::time::sleep(delay).await;
        Ok(())
    }

    fn gave_up(&self, attempts: &Attempts, context: &str) -> ClientError {
        let last_error = match (attempts.last_error.is_empty(), context.is_empty()) {
            (false, _) => attempts.last_error.clone(),
            (true, false) => context.to_owned(),
            (true, true) => "no answer".to_owned(),
        };
        ClientError::GaveUp {
            addr: self.inner.config.addr.clone(),
            attempts: attempts.count,
            waited: attempts.started.elapsed(),
            last_error,
        }
    }
}

/// A per-event answer that names its event by its index in the request.
trait IndexedResult {
    fn index(&self) -> u32;
    fn with_index(self, index: u32) -> Self;
}

impl<R> IndexedResult for EventResult<R> {
    fn index(&self) -> u32 {
        self.index
    }
    fn with_index(self, index: u32) -> Self {
        Self { index, ..self }
    }
}

impl IndexedResult for EventCode {
    fn index(&self) -> u32 {
        self.index
    }
    fn with_index(self, index: u32) -> Self {
        Self { index, ..self }
    }
}

/// Joins the per-request results (create results, event codes) into one list indexed by the
/// caller's events. `Err(None)` means a reply of the wrong kind.
fn rebase_results<T: IndexedResult>(
    ranges: &[Range<usize>],
    replies: Vec<Reply>,
    results_of: impl Fn(Reply) -> Option<Vec<T>>,
) -> Result<Vec<T>, Option<ClientError>> {
    let mut all = Vec::new();
    for (range, reply) in ranges.iter().zip(replies) {
        for result in results_of(reply).ok_or(None)? {
            let out_of_range =
                || Some(ClientError::ResultIndexOutOfRange { index: result.index(), events: range.len() });
            let local = usize::try_from(result.index()).map_err(|_| out_of_range())?;
            if local >= range.len() {
                return Err(out_of_range());
            }
            let index = u32::try_from(range.start + local).map_err(|_| out_of_range())?;
            all.push(result.with_index(index));
        }
    }
    Ok(all)
}

fn concat_replies<T>(
    replies: Vec<Reply>,
    operation: &'static str,
    records_of: impl Fn(Reply) -> Option<Vec<T>>,
) -> Result<Vec<T>, ClientError> {
    let mut all = Vec::new();
    for reply in replies {
        all.extend(records_of(reply).ok_or(ClientError::UnexpectedReply { operation })?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shared by many tasks: a regression here fails to compile.
    const _: () = {
        const fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Client>();
    };

    #[test]
    fn results_are_rebased_to_the_callers_indexes() {
        let ranges = [0..3, 3..5];
        let replies = vec![
            Reply::CreateTransfers(vec![EventResult {
                index: 2,
                result: CreateTransferResult::ExceedsCredits,
            }]),
            Reply::CreateTransfers(vec![
                EventResult { index: 0, result: CreateTransferResult::LinkedEventFailed },
                EventResult { index: 1, result: CreateTransferResult::Exists },
            ]),
        ];
        let rebased = rebase_results(&ranges, replies, |r| match r {
            Reply::CreateTransfers(results) => Some(results),
            _ => None,
        })
        .expect("indexes are in range");
        let got: Vec<(u32, CreateTransferResult)> = rebased.iter().map(|r| (r.index, r.result)).collect();
        assert_eq!(
            got,
            vec![
                (2, CreateTransferResult::ExceedsCredits),
                (3, CreateTransferResult::LinkedEventFailed),
                (4, CreateTransferResult::Exists),
            ]
        );
    }

    #[test]
    fn a_result_index_outside_its_request_is_an_error() {
        let replies =
            vec![Reply::CreateAccounts(vec![EventResult { index: 2, result: CreateAccountResult::Exists }])];
        let request = 10..12;
        let error = rebase_results(std::slice::from_ref(&request), replies, |r| match r {
            Reply::CreateAccounts(results) => Some(results),
            _ => None,
        })
        .expect_err("index 2 of a 2-event request");
        assert!(matches!(error, Some(ClientError::ResultIndexOutOfRange { index: 2, events: 2 })));
    }

    #[test]
    fn event_codes_are_rebased_like_create_results() {
        let ranges = [0..2, 2..4];
        let replies = vec![
            Reply::PostEvents(vec![EventCode { index: 1, code: 1054 }]),
            Reply::PostEvents(vec![EventCode { index: 0, code: 1 }, EventCode { index: 1, code: 99_999 }]),
        ];
        let rebased = rebase_results(&ranges, replies, |r| match r {
            Reply::PostEvents(codes) => Some(codes),
            _ => None,
        })
        .expect("indexes are in range");
        assert_eq!(
            rebased,
            vec![
                EventCode { index: 1, code: 1054 },
                EventCode { index: 2, code: 1 },
                EventCode { index: 3, code: 99_999 },
            ]
        );
    }

    #[test]
    fn a_reply_of_the_wrong_kind_is_an_error() {
        let error = concat_replies(vec![Reply::Accounts(vec![])], "lookup_transfers", |r| match r {
            Reply::Transfers(transfers) => Some(transfers),
            _ => None,
        })
        .expect_err("accounts are not transfers");
        assert!(matches!(error, ClientError::UnexpectedReply { operation: "lookup_transfers" }));
    }
}
