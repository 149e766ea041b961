//! The change feed across a `kill -9`: standard events are posted continuously while three
//! followers read the feed, one over the binary protocol (`JournalFollower`), one by HTTP
//! long-poll (`GET /v1/journal?wait_ms=`) and one by Server-Sent Events
//! (`GET /v1/journal/stream`). The server is killed mid-way and restarted on the same data
//! directory; each follower resumes from the last cursor it had. At the end each follower's
//! sequence is exactly the journal: every entry once, in order, cursors strictly increasing,
//! nothing it saw lost by the crash; every acknowledged event is there exactly once, and an
//! event whose request the kill cut off at most once.

mod common;

use common::{Server, SseStream, try_http_get};
use ledger_client::{Client, ClientConfig, JournalFollower};
use ledger_events::posting::{EntrySide, entry_transfer_id};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRITERS: u64 = 2;
const EVENTS_PER_REQUEST: u64 = 8;
/// Requests acknowledged per writer before the kill, at least.
const REQUESTS_BEFORE_KILL: u64 = 6;
/// Requests per writer after the restart.
const REQUESTS_AFTER_RESTART: u64 = 8;
/// Entries each follower has seen before the kill, at least.
const ENTRIES_BEFORE_KILL: usize = 20;
/// Transfers per read of every follower: small, so the followers page often.
const LIMIT: u32 = 16;
const PATIENCE: Duration = Duration::from_secs(120);

/// What a follower saw: each entry's cursor and first transfer id, in order, across both lives.
type Seen = Arc<Mutex<Vec<(u64, u128)>>>;

fn last_cursor(seen: &Seen) -> u64 {
    seen.lock().expect("lock").last().map_or(0, |(cursor, _)| *cursor)
}

fn seen_count(seen: &Seen) -> usize {
    seen.lock().expect("lock").len()
}

/// An entry's cursor and first transfer id.
fn entry_key(entry: &Value) -> (u64, u128) {
    let cursor = entry["last_timestamp"].as_str().and_then(|t| t.parse().ok()).expect("a cursor");
    let first =
        entry["transfers"][0]["transfer_id"].as_str().and_then(|t| t.parse().ok()).expect("a transfer id");
    (cursor, first)
}

/// Event `i` of request `request` of writer `writer` in life `life`: alternately a one-posting
/// `fund.arrived` and a two-posting `interest.accrued` (a linked chain), neither of which any
/// balance limit can refuse.
fn event(life: u64, writer: u64, request: u64, i: u64) -> (String, Vec<u8>) {
    let id = format!("E{life}-{writer}-{request}-{i}");
    let json = if i.is_multiple_of(2) {
        format!(
            r#"{{"type":"event","event_id":"{id}","event_type":"fund.arrived","ledger":156,"subjects":{{"funder":"F{writer}","fund_account":"FA{writer}"}},"components":{{"principal":"10.00"}},"business_date":"2026-01-05","metadata":{{}}}}"#
        )
    } else {
        format!(
            r#"{{"type":"event","event_id":"{id}","event_type":"interest.accrued","ledger":156,"subjects":{{"loan_note":"L{writer}"}},"components":{{"interest":"1.25","fee":"0.50"}},"business_date":"2026-01-05","metadata":{{}}}}"#
        )
    };
    (id, json.into_bytes())
}

async fn client(addr: SocketAddr) -> Client {
    let mut config = ClientConfig::new(addr.to_string());
    // A killed server fails the call at once instead of being retried for 30 s.
    config.reconnect = false;
    Client::connect(config).await.expect("the client connects")
}

/// Event ids by outcome: acknowledged (posted), or cut off by the kill (unknown).
#[derive(Default)]
struct Posted {
    acknowledged: Vec<String>,
    unknown: Vec<String>,
}

/// Posts requests one after another until `requests` are done, `stop` is set or the server dies.
async fn post(addr: SocketAddr, life: u64, writer: u64, requests: u64, stop: Arc<AtomicBool>) -> Posted {
    let client = client(addr).await;
    let mut posted = Posted::default();
    for request in 0..requests {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let (ids, events): (Vec<String>, Vec<Vec<u8>>) =
            (0..EVENTS_PER_REQUEST).map(|i| event(life, writer, request, i)).unzip();
        match client.post_events(&events).await {
            Ok(refused) => {
                assert!(refused.is_empty(), "every event posts: {refused:?}");
                posted.acknowledged.extend(ids);
            }
            Err(_) => {
                posted.unknown.extend(ids);
                break;
            }
        }
    }
    posted
}

/// The binary follower: from `after`, until the server dies or `done` says it is caught up.
async fn follow_binary(addr: SocketAddr, seen: Seen, done: Arc<AtomicU64>) {
    let client = client(addr).await;
    let mut follower = JournalFollower::new(client, last_cursor(&seen))
        .with_limit(LIMIT)
        .with_wait(Duration::from_millis(500));
    loop {
        if follower.cursor() >= done.load(Ordering::Acquire) {
            return;
        }
        match follower.next_within(Duration::from_millis(500)).await {
            Ok(Some(entry)) => {
                assert_eq!(entry.cursor, entry_key(&entry.json).0);
                seen.lock().expect("lock").push(entry_key(&entry.json));
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

/// The long-poll follower: pages of `GET /v1/journal` from its last cursor.
fn follow_long_poll(addr: SocketAddr, seen: &Seen, done: &AtomicU64) {
    loop {
        let after = last_cursor(seen);
        if after >= done.load(Ordering::Acquire) {
            return;
        }
        let Some((status, body)) =
            try_http_get(addr, &format!("/v1/journal?after={after}&limit={LIMIT}&wait_ms=500"))
        else {
            return;
        };
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).expect("a JSON page");
        let entries = page["entries"].as_array().expect("entries");
        let mut seen = seen.lock().expect("lock");
        seen.extend(entries.iter().map(entry_key));
        let next_after: u64 = page["next_after"].as_str().and_then(|t| t.parse().ok()).expect("next_after");
        assert_eq!(next_after, seen.last().map_or(0, |(c, _)| *c), "next_after is the last cursor");
    }
}

/// The SSE follower: one stream from its last cursor (`Last-Event-ID`) until it ends. Its socket
/// is handed out so the test can end a stream that is caught up.
fn follow_sse(addr: SocketAddr, seen: &Seen, socket: &Mutex<Option<std::net::TcpStream>>) {
    let after = last_cursor(seen);
    let Some(mut stream) = SseStream::open(addr, &format!("/v1/journal/stream?limit={LIMIT}"), Some(after))
    else {
        return;
    };
    *socket.lock().expect("lock") = stream.socket.try_clone().ok();
    while let Some((id, data)) = stream.next_event() {
        let entry: Value = serde_json::from_str(&data).expect("an entry");
        let key = entry_key(&entry);
        assert_eq!(id, key.0.to_string(), "the event id is the entry's cursor");
        seen.lock().expect("lock").push(key);
    }
}

/// The whole journal, page by page.
fn whole_journal(addr: SocketAddr) -> Vec<(u64, u128)> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let (status, body) = try_http_get(addr, &format!("/v1/journal?after={after}&limit=8189"))
            .expect("the journal is served");
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).expect("a JSON page");
        let entries = page["entries"].as_array().expect("entries");
        if entries.is_empty() {
            return all;
        }
        all.extend(entries.iter().map(entry_key));
        after = all.last().map_or(0, |(c, _)| *c);
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One life of the server: writers and the three followers, until the kill or until the
/// followers have caught up with everything posted.
struct Life {
    writers: Vec<tokio::task::JoinHandle<Posted>>,
    binary: tokio::task::JoinHandle<()>,
    http: Vec<std::thread::JoinHandle<()>>,
    sse_socket: Arc<Mutex<Option<std::net::TcpStream>>>,
}

fn start_life(
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    life: u64,
    requests: u64,
    followers: &[Seen; 3],
    done: &Arc<AtomicU64>,
    stop_writers: &Arc<AtomicBool>,
) -> Life {
    let writers = (0..WRITERS)
        .map(|writer| runtime.spawn(post(server.binary, life, writer, requests, Arc::clone(stop_writers))))
        .collect();
    let binary = runtime.spawn(follow_binary(server.binary, Arc::clone(&followers[0]), Arc::clone(done)));
    let sse_socket = Arc::new(Mutex::new(None));
    let http = vec![
        std::thread::spawn({
            let (addr, seen, done) = (server.http, Arc::clone(&followers[1]), Arc::clone(done));
            move || follow_long_poll(addr, &seen, &done)
        }),
        std::thread::spawn({
            let (addr, seen, socket) = (server.http, Arc::clone(&followers[2]), Arc::clone(&sse_socket));
            move || follow_sse(addr, &seen, &socket)
        }),
    ];
    Life { writers, binary, http, sse_socket }
}

impl Life {
    fn join(self, runtime: &tokio::runtime::Runtime, posted: &mut Posted) {
        for writer in self.writers {
            let done = runtime.block_on(writer).expect("writer");
            posted.acknowledged.extend(done.acknowledged);
            posted.unknown.extend(done.unknown);
        }
        runtime.block_on(self.binary).expect("binary follower");
        if let Some(socket) = self.sse_socket.lock().expect("lock").take() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        for thread in self.http {
            thread.join().expect("HTTP follower");
        }
    }
}

#[test]
fn change_feed_resumes_after_kill_9_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let followers: [Seen; 3] = Default::default();
    let mut posted = Posted::default();

    // Life 1: posting and following, then kill -9 mid-way.
    let server = Server::start(dir.path(), &[]);
    let done = Arc::new(AtomicU64::new(u64::MAX));
    let stop_writers = Arc::new(AtomicBool::new(false));
    let life = start_life(&runtime, &server, 1, u64::MAX, &followers, &done, &stop_writers);
    wait_until("the followers to see entries before the kill", || {
        followers.iter().all(|seen| seen_count(seen) >= ENTRIES_BEFORE_KILL)
            && seen_count(&followers[0]) as u64 >= WRITERS * REQUESTS_BEFORE_KILL * EVENTS_PER_REQUEST / 2
    });
    server.kill_9();
    life.join(&runtime, &mut posted);
    let before_kill: Vec<usize> = followers.iter().map(seen_count).collect();
    assert!(!posted.acknowledged.is_empty() && !posted.unknown.is_empty(), "the kill cut writers off");

    // Life 2: restart on the same directory; each follower resumes from its own last cursor.
    let server = Server::start(dir.path(), &[]);
    let stop_writers = Arc::new(AtomicBool::new(false));
    let life = start_life(&runtime, &server, 2, REQUESTS_AFTER_RESTART, &followers, &done, &stop_writers);
    for writer in &life.writers {
        wait_until("the writers to finish", || writer.is_finished());
    }
    let journal = whole_journal(server.http);
    let end = journal.last().map_or(0, |(c, _)| *c);
    done.store(end, Ordering::Release);
    wait_until("the followers to catch up", || followers.iter().all(|seen| last_cursor(seen) >= end));
    life.join(&runtime, &mut posted);

    // Each follower saw exactly the journal: every entry once, in commit order, and nothing it
    // saw before the kill was lost by it.
    assert!(journal.windows(2).all(|w| w[0].0 < w[1].0), "journal cursors strictly increase");
    for (name, seen) in ["binary", "long-poll", "sse"].iter().zip(&followers) {
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), journal.len(), "{name}: as many entries as the journal");
        assert!(*seen == journal, "{name}: the journal's entries, each once, in order");
    }
    assert!(before_kill.iter().all(|&n| n >= ENTRIES_BEFORE_KILL && n < journal.len()), "{before_kill:?}");

    // Every acknowledged event once; an event cut off by the kill at most once; nothing else.
    let mut occurrences: HashMap<u128, usize> = HashMap::new();
    for (_, first) in &journal {
        *occurrences.entry(*first).or_default() += 1;
    }
    let first_id = |id: &String| entry_transfer_id(EntrySide::Original, id, 0);
    for id in &posted.acknowledged {
        assert_eq!(occurrences.get(&first_id(id)), Some(&1), "acknowledged event {id} exactly once");
    }
    let mut known: BTreeMap<u128, &String> =
        posted.acknowledged.iter().map(|id| (first_id(id), id)).collect();
    for id in &posted.unknown {
        assert!(occurrences.get(&first_id(id)).is_none_or(|&n| n == 1), "cut-off event {id} at most once");
        known.insert(first_id(id), id);
    }
    assert!(journal.iter().all(|(_, first)| known.contains_key(first)), "no entry but the posted events");
    assert_eq!(
        journal.len(),
        posted.acknowledged.len()
            + posted.unknown.iter().filter(|id| occurrences.contains_key(&first_id(id))).count()
    );
}
