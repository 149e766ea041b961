//! The change feed: journal entries from a cursor, as they are posted, without polling.
//!
//! Three ways in, one mechanism:
//! - `GET /v1/journal?after=&limit=&wait_ms=` (long-poll): when nothing comes after `after`,
//!   the request waits up to `wait_ms` for something to;
//! - `GET /v1/journal/stream?after=` (Server-Sent Events): one event per journal entry, its
//!   `id:` the entry's cursor, so a reconnecting client's `Last-Event-ID` resumes exactly;
//! - `read_journal` on the binary protocol (`serve/binary.rs`), the same long-poll.
//!
//! Pages come from `journal::journal_page`: entries already serialised, each with its cursor
//! (its `last_timestamp`). The wait is
//! `LedgerService::wait_for_durable_transfers`: the durable observer bumps a counter and wakes
//! every waiter, so a reader learns of a new entry within a scheduler hop of its group commit,
//! and an idle reader is a parked future. The count is read *before* the page: a page read
//! afterwards includes every transfer counted (the observer announces a durable point to the
//! index before it bumps the count, and the index answers in order with what it was told), so
//! a commit between the read and the wait wakes the wait at once instead of being missed.
//!
//! Shutdown: `LedgerService::close_feeds` (called when the server starts draining) ends every
//! wait; long-polls answer what they have and streams end after what they hold, so HTTP's
//! graceful shutdown is not held up by followers.

use super::HttpState;
use super::error::{ApiError, ErrorCode};
use super::journal::{JournalError, JournalPage, journal_page, parse_limit};
use super::params::{PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, invalid_query};
use crate::service::{LedgerService, ServiceError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use ledger_protocol::JournalRead;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

/// The longest a long-poll waits (`wait_ms`), in milliseconds: the binary protocol's bound.
pub const WAIT_MS_MAX: u32 = ledger_protocol::READ_JOURNAL_WAIT_MS_MAX;
/// How long a stream's read waits for something new before it reads again: bounds how long a
/// stream's task can go without looking at its feed.
const STREAM_WAIT: Duration = Duration::from_secs(30);
/// Entries a stream holds for a client that reads slower than the journal grows; beyond it the
/// stream stops reading the journal (the slow client stalls only itself).
const STREAM_EVENTS_BUFFERED: usize = 1024;
/// A comment line on an idle stream, so proxies and clients know it is alive.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// The pause before a stream reads again after the ledger answered "not now".
const STREAM_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// How many times a binary-protocol page is cut down to fit a reply body.
const FIT_ATTEMPTS_MAX: u32 = 8;

/// One journal page after `after`, waiting up to `wait` for one with entries: answered as soon
/// as an entry is durable after `after`, or empty once `wait` has passed or the feeds closed.
pub async fn journal_page_waiting(
    service: &LedgerService,
    after: u64,
    limit: u32,
    wait: Duration,
) -> Result<JournalPage, JournalError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Read before the page (module docs).
        let seen = service.durable_transfers();
        let page = journal_page(service, after, limit).await?;
        if !page.is_empty() || service.feeds_closed() {
            return Ok(page);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() || !service.wait_for_durable_transfers(seen, left).await {
            return Ok(page);
        }
    }
}

/// The wait of a long-poll: `wait_ms` absent is no wait; more than `WAIT_MS_MAX` is refused.
pub fn parse_wait_ms(wait_ms: Option<u64>) -> Result<Duration, ApiError> {
    let wait_ms = wait_ms.unwrap_or(0);
    if wait_ms > u64::from(WAIT_MS_MAX) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("wait_ms must be 0..={WAIT_MS_MAX}, got {wait_ms}"),
        ));
    }
    Ok(Duration::from_millis(wait_ms))
}

/// `read_journal` (binary protocol): the page as JSON bytes, at most `bytes_max` of them. The
/// request's limit and wait are clamped (`docs/protocol.md`: 0 is the default limit, more than
/// the maximum is the maximum). A page too large for a reply body is read again with fewer
/// transfers, down to one entry.
pub async fn read_journal(
    service: &LedgerService,
    read: JournalRead,
    bytes_max: usize,
) -> Result<Vec<u8>, ServiceError> {
    let mut limit = match read.limit {
        0 => PAGE_LIMIT_DEFAULT,
        limit => limit.min(PAGE_LIMIT_MAX),
    };
    let wait = Duration::from_millis(u64::from(read.wait_ms.min(WAIT_MS_MAX)));
    let mut page = journal_page_waiting(service, read.after, limit, wait).await.map_err(service_error)?;
    for _ in 0..FIT_ATTEMPTS_MAX {
        let bytes = page.to_json();
        if bytes.len() <= bytes_max {
            return Ok(bytes);
        }
        if limit == 1 {
            break;
        }
        limit = fitted_limit(limit, bytes.len(), bytes_max);
        // Entries exist after `after` (this page had some), so no wait.
        page = journal_page(service, read.after, limit).await.map_err(service_error)?;
    }
    Err(ServiceError::Failed(format!("no journal page after {} fits {bytes_max} bytes", read.after)))
}

/// A smaller limit for a page of `limit` transfers that came out `len` bytes against `max`:
/// scaled by the overshoot with room to spare, and at least halved, so the attempts are few.
fn fitted_limit(limit: u32, len: usize, max: usize) -> u32 {
    let scaled = u64::from(limit) * (max as u64) / (len as u64).max(1) * 7 / 8;
    u32::try_from(scaled).unwrap_or(u32::MAX).min(limit / 2).max(1)
}

/// The answer to a refused journal read, as the service error the binary protocol maps.
fn service_error(error: JournalError) -> ServiceError {
    let JournalError::Api(api) = error else {
        return ServiceError::Failed("internal: a journal page answered event_not_found".to_owned());
    };
    let detail = api.detail.unwrap_or_else(|| api.code.name().to_owned());
    match api.code {
        ErrorCode::Unavailable => ServiceError::Unavailable(detail),
        ErrorCode::Overloaded => ServiceError::Overloaded,
        ErrorCode::ShuttingDown => ServiceError::ShuttingDown,
        ErrorCode::Rejected => ServiceError::Rejected(detail),
        _ => ServiceError::Failed(detail),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    after: Option<u64>,
    limit: Option<u64>,
}

/// The stream's events: fed by its follower task, ended when the task ends.
#[derive(Debug)]
pub struct EntryEvents(mpsc::Receiver<Event>);

impl futures_core::Stream for EntryEvents {
    type Item = Result<Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|event| event.map(Ok))
    }
}

/// `GET /v1/journal/stream?after=&limit=`: every journal entry after the cursor, then each new
/// one as it is posted, as Server-Sent Events (`docs/http.md`). `Last-Event-ID`, when present,
/// is the cursor (it is the newer position of the same stream). The first page is read before
/// answering, so a refusal is an ordinary HTTP error; later ones end the stream.
pub async fn stream(
    State(state): State<HttpState>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<KeepAliveStream<EntryEvents>>, ApiError> {
    let Query(query) = query.map_err(|e| invalid_query(&e))?;
    let limit = parse_limit(query.limit)?;
    let after = match last_event_id(&headers)? {
        Some(cursor) => cursor,
        None => query.after.unwrap_or(0),
    };
    let first = journal_page(&state.service, after, limit).await.map_err(|e| match e {
        JournalError::Api(api) => api,
        JournalError::EventNotFound => ApiError::bare(ErrorCode::Failed),
    })?;
    let (events, receiver) = mpsc::channel(STREAM_EVENTS_BUFFERED);
    tokio::spawn(follow(state.service.clone(), after, limit, first, events));
    Ok(Sse::new(EntryEvents(receiver)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE_INTERVAL)))
}

/// The `Last-Event-ID` header as a cursor; absent or empty is none.
fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else { return Ok(None) };
    let text = value.to_str().unwrap_or("?").trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidCursor,
            format!("Last-Event-ID must be an entry's last_timestamp (a decimal u64), got {text:?}"),
        )
    })
}

/// A stream's task: sends the entries of `first`, then of each page after them, until the
/// client goes away, the feeds close or the ledger fails.
async fn follow(
    service: LedgerService,
    mut after: u64,
    limit: u32,
    first: JournalPage,
    events: mpsc::Sender<Event>,
) {
    let mut next = Some(first);
    loop {
        let page = match next.take() {
            Some(page) => page,
            None => {
                let read = tokio::select! {
                    read = journal_page_waiting(&service, after, limit, STREAM_WAIT) => read,
                    () = events.closed() => return,
                };
                match read {
                    Ok(page) => page,
                    Err(JournalError::Api(api))
                        if matches!(api.code, ErrorCode::Overloaded | ErrorCode::Unavailable) =>
                    {
                        tokio::select! {
                            () = tokio::time::sleep(STREAM_RETRY_PAUSE) => continue,
                            () = events.closed() => return,
                        }
                    }
                    Err(error) => {
                        tracing::warn!(?error, after, "journal stream ended: the journal cannot be read");
                        return;
                    }
                }
            }
        };
        for entry in page.entries {
            // Cursors strictly increase: anything else would make `Last-Event-ID` lose or
            // repeat entries, so the stream ends instead.
            let cursor = entry.cursor;
            if cursor <= after {
                tracing::error!(
                    after,
                    cursor,
                    "journal stream ended: an entry without a cursor past the last"
                );
                return;
            }
            let event = Event::default().id(cursor.to_string()).data(entry.json);
            if events.send(event).await.is_err() {
                return;
            }
            after = cursor;
        }
        if service.feeds_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Fixture, account, get, get_ok, transfer};
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use ledger_core::AccountFlags;
    use serde_json::Value;
    use std::time::Instant;
    use tower::ServiceExt;

    /// An entry's cursor as served: its `last_timestamp`, a decimal u64 string.
    fn entry_cursor(entry: &Value) -> Option<u64> {
        entry["last_timestamp"].as_str()?.parse().ok()
    }

    /// Answers within this are "at once" (the waits under test are seconds long).
    const PROMPT: Duration = Duration::from_millis(1500);

    async fn ledger_with_two_accounts() -> Fixture {
        let fixture = Fixture::open();
        fixture.create_accounts(vec![account(1, AccountFlags::NONE), account(2, AccountFlags::NONE)]).await;
        fixture
    }

    fn cursors(page: &Value) -> Vec<u64> {
        page["entries"].as_array().expect("entries").iter().filter_map(entry_cursor).collect()
    }

    #[tokio::test]
    async fn a_long_poll_answers_as_soon_as_an_entry_is_durable() {
        let fixture = ledger_with_two_accounts().await;
        fixture.create_transfers(vec![transfer(10, 1, 2, 5)]).await;
        let router = fixture.router();
        let first = get_ok(&router, "/v1/journal").await;
        let after = cursors(&first)[0];

        let poll = tokio::spawn({
            let router = router.clone();
            async move {
                let answer = get_ok(&router, &format!("/v1/journal?after={after}&wait_ms=20000")).await;
                (answer, Instant::now())
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!poll.is_finished(), "nothing new yet: the poll waits");
        fixture.create_transfers(vec![transfer(11, 1, 2, 6)]).await;
        let acknowledged = Instant::now();
        let (page, answered) = tokio::time::timeout(PROMPT, poll).await.expect("woken at once").expect("ran");
        assert_eq!(page["entries"][0]["transfers"][0]["transfer_id"], "11");
        assert!(cursors(&page)[0] > after);
        assert!(answered.saturating_duration_since(acknowledged) < PROMPT);
    }

    #[tokio::test]
    async fn a_long_poll_with_nothing_new_answers_the_empty_page_after_its_wait() {
        let fixture = ledger_with_two_accounts().await;
        let router = fixture.router();
        let started = Instant::now();
        let page = get_ok(&router, "/v1/journal?after=0&wait_ms=300").await;
        assert!(started.elapsed() >= Duration::from_millis(300), "waited {:?}", started.elapsed());
        assert_eq!((cursors(&page).len(), page["next_after"].as_str()), (0, Some("0")));

        let refused = get(&router, "/v1/journal?wait_ms=30001").await;
        assert_eq!((refused.status, refused.error()), (StatusCode::BAD_REQUEST, "invalid_query".to_owned()));
    }

    #[tokio::test]
    async fn closing_the_feeds_answers_waiting_polls_at_once() {
        let fixture = ledger_with_two_accounts().await;
        let router = fixture.router();
        let poll = tokio::spawn({
            let router = router.clone();
            async move { get_ok(&router, "/v1/journal?wait_ms=30000").await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        fixture.service().close_feeds();
        let page = tokio::time::timeout(PROMPT, poll).await.expect("answered at once").expect("ran");
        assert!(cursors(&page).is_empty());
        // Later polls do not wait either.
        let started = Instant::now();
        get_ok(&router, "/v1/journal?wait_ms=30000").await;
        assert!(started.elapsed() < PROMPT);
    }

    #[tokio::test]
    async fn a_binary_page_too_large_for_a_body_is_cut_to_whole_entries_that_fit() {
        let fixture = ledger_with_two_accounts().await;
        fixture.create_transfers((100..140).map(|id| transfer(id, 1, 2, 1)).collect()).await;
        let service = fixture.service();
        let read = JournalRead { after: 0, limit: 0, wait_ms: 0 };
        let whole: Value =
            serde_json::from_slice(&read_journal(service, read, BODY).await.expect("read")).expect("JSON");
        assert_eq!(cursors(&whole).len(), 40, "limit 0 is the default, 100");
        let one_entry = serde_json::to_vec(&whole["entries"][0]).expect("JSON").len();
        let small = one_entry * 6;
        let cut = read_journal(service, read, small).await.expect("a smaller page fits");
        assert!(cut.len() <= small);
        let cut: Value = serde_json::from_slice(&cut).expect("JSON");
        let kept = cursors(&cut);
        assert!(!kept.is_empty() && kept.len() < 40);
        assert_eq!(kept, cursors(&whole)[..kept.len()], "the first entries, whole");
        assert_eq!(cut["next_after"].as_str(), Some(kept[kept.len() - 1].to_string().as_str()));
        let nothing_fits = read_journal(service, read, 10).await;
        assert!(matches!(nothing_fits, Err(ServiceError::Failed(_))), "{nothing_fits:?}");
    }

    const BODY: usize = ledger_protocol::BODY_MAX;

    /// Reads the stream until `count` events came: their ids and data.
    async fn next_events(body: &mut Body, buffer: &mut String, count: usize) -> Vec<(u64, Value)> {
        let mut events = Vec::new();
        while events.len() < count {
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("id: ") {
                        id = value.parse().ok();
                    } else if let Some(value) = line.strip_prefix("data: ") {
                        data = serde_json::from_str(value).ok();
                    }
                }
                if let (Some(id), Some(data)) = (id, data) {
                    events.push((id, data));
                }
            }
            if events.len() >= count {
                break;
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
                .await
                .expect("an event within 10 s")
                .expect("the stream goes on")
                .expect("a frame");
            if let Ok(data) = frame.into_data() {
                buffer.push_str(std::str::from_utf8(&data).expect("UTF-8"));
            }
        }
        events
    }

    async fn open_stream(fixture: &Fixture, uri: &str, last_event_id: Option<u64>) -> (StatusCode, Body) {
        let mut request = Request::builder().uri(uri);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let request = request.body(Body::empty()).expect("a request");
        let response = fixture.router().oneshot(request).await.expect("infallible");
        (response.status(), response.into_body())
    }

    #[tokio::test]
    async fn the_stream_sends_each_entry_once_with_its_cursor_and_resumes_from_last_event_id() {
        let fixture = ledger_with_two_accounts().await;
        fixture.create_transfers(vec![transfer(10, 1, 2, 1), transfer(11, 1, 2, 1)]).await;
        let (status, mut body) = open_stream(&fixture, "/v1/journal/stream?limit=1", None).await;
        assert_eq!(status, StatusCode::OK);
        let mut buffer = String::new();
        let old = next_events(&mut body, &mut buffer, 2).await;
        // New entries arrive as they are posted.
        fixture.create_transfers(vec![transfer(12, 1, 2, 1)]).await;
        let new = next_events(&mut body, &mut buffer, 1).await;
        let all: Vec<(u64, Value)> = old.into_iter().chain(new).collect();
        let ids: Vec<&str> = all
            .iter()
            .map(|(_, entry)| entry["transfers"][0]["transfer_id"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(ids, ["10", "11", "12"]);
        for (cursor, entry) in &all {
            assert_eq!(Some(*cursor), entry_cursor(entry), "the id is the entry's cursor");
        }
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "cursors increase");
        drop(body);

        // Reconnecting with the id of the first event resumes right after it.
        let (_, mut resumed) = open_stream(&fixture, "/v1/journal/stream?after=0", Some(all[0].0)).await;
        let mut buffer = String::new();
        let again = next_events(&mut resumed, &mut buffer, 2).await;
        assert_eq!(again.iter().map(|(c, _)| *c).collect::<Vec<_>>(), [all[1].0, all[2].0]);

        // Shutdown ends the stream cleanly.
        fixture.service().close_feeds();
        let end = tokio::time::timeout(PROMPT, async {
            while let Some(frame) = resumed.frame().await {
                frame.expect("no error on a clean end");
            }
        })
        .await;
        assert!(end.is_ok(), "the stream ended at once");

        let (status, _) = open_stream(&fixture, "/v1/journal/stream", Some(0)).await;
        assert_eq!(status, StatusCode::OK);
        let bad = get(&fixture.router(), "/v1/journal/stream?limit=0").await;
        assert_eq!(bad.error(), "invalid_limit");
    }

    #[test]
    fn a_fitted_limit_shrinks_by_the_overshoot_and_at_least_halves() {
        assert_eq!(fitted_limit(8189, 3_000_000, 1_048_192), 2503);
        assert_eq!(fitted_limit(1000, 1_100_000, 1_048_192), 500, "a small overshoot still halves");
        assert_eq!(fitted_limit(2, 10_000_000, 100), 1);
        assert_eq!(fitted_limit(1, 10, 1), 1, "never zero");
    }

    #[test]
    fn waits_are_bounded() {
        assert_eq!(parse_wait_ms(None), Ok(Duration::ZERO));
        assert_eq!(parse_wait_ms(Some(30_000)), Ok(Duration::from_secs(30)));
        assert_eq!(parse_wait_ms(Some(30_001)).map_err(|e| e.code), Err(ErrorCode::InvalidQuery));
        assert_eq!(parse_wait_ms(Some(u64::MAX)).map_err(|e| e.code), Err(ErrorCode::InvalidQuery));
    }

    #[test]
    fn last_event_id_is_a_decimal_cursor() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_event_id(&headers), Ok(None));
        headers.insert("last-event-id", "1764072000000000103".parse().expect("a header value"));
        assert_eq!(last_event_id(&headers), Ok(Some(1_764_072_000_000_000_103)));
        headers.insert("last-event-id", "".parse().expect("a header value"));
        assert_eq!(last_event_id(&headers), Ok(None), "an empty id starts over, as SSE says");
        for bad in ["abc", "-1", "18446744073709551616"] {
            headers.insert("last-event-id", bad.parse().expect("a header value"));
            assert_eq!(last_event_id(&headers).map_err(|e| e.code), Err(ErrorCode::InvalidCursor), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_page_serialises_its_entries_with_their_cursors() {
        let fixture = ledger_with_two_accounts().await;
        fixture.create_transfers(vec![transfer(10, 1, 2, 5), transfer(11, 1, 2, 6)]).await;
        let page = journal_page(fixture.service(), 0, 100).await.expect("a page");
        assert_eq!(page.entries.len(), 2);
        let json: Value = serde_json::from_slice(&page.to_json()).expect("the page is JSON");
        for (entry, served) in page.entries.iter().zip(json["entries"].as_array().expect("entries")) {
            assert_eq!(Some(entry.cursor), entry_cursor(served), "{served}");
            assert_eq!(&serde_json::from_str::<Value>(&entry.json).expect("JSON"), served);
        }
        assert_eq!(json["next_after"], page.entries[1].cursor.to_string());
        let empty = journal_page(fixture.service(), page.next_after, 100).await.expect("a page");
        assert!(empty.is_empty() && empty.next_after == page.next_after);
        let json: Value = serde_json::from_slice(&empty.to_json()).expect("JSON");
        assert_eq!(json["entries"], serde_json::json!([]));
    }
}
