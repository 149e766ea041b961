//! Thousands of idle connections are held (no idle timeout: a pipelining client may be quiet
//! for long) and stay usable, in bounded memory; beyond `--max-connections` a new connection is
//! accepted and closed at once, counted in `ledger_rejected_connections_total` and logged
//! rate-limited, and a slot freed by a closing connection is usable again.

mod common;

use common::{RawConnection, Server, frame, metric_total, open_files_limit, rss_kib};
use ledger_protocol::{Reply, Request};
use std::io::Read;
use std::time::{Duration, Instant};

const IDLE_CONNECTIONS: u64 = 2000;
/// Descriptors this process keeps for itself besides the connections.
const SPARE_FILES: u64 = 200;
const RSS_BOUND_KIB: u64 = 512 * 1024;

fn lookup_is_answered(connection: &mut RawConnection, request_id: u64) {
    connection.send(&frame(request_id, &Request::LookupAccounts(vec![1])));
    let (header, reply) = connection.receive().expect("answered");
    assert_eq!((header.request_id, reply), (request_id, Ok(Reply::Accounts(Vec::new()))));
}

/// Whether the server closed `stream` (EOF or reset) within a few seconds without a byte.
fn closed_at_once(stream: &mut std::net::TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut byte = [0_u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn thousands_of_idle_connections_are_held_and_stay_usable() {
    // Both ends of every connection live in processes with this limit (the server inherits it).
    let limit = open_files_limit();
    let count = IDLE_CONNECTIONS.min(limit.saturating_sub(SPARE_FILES));
    if count < IDLE_CONNECTIONS {
        eprintln!(
            "NOTE: the open-files limit is {limit}: holding {count} idle connections instead of \
             {IDLE_CONNECTIONS} (raise it with `ulimit -n` to test the full number)"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let rss_before = rss_kib(server.child.id());

    let started = Instant::now();
    let mut idle: Vec<RawConnection> = (0..count).map(|_| RawConnection::connect(server.binary)).collect();
    // Every 100th idle connection, and a fresh one, are still served once all are open.
    for (i, connection) in idle.iter_mut().enumerate().step_by(100) {
        lookup_is_answered(connection, u64::try_from(i).expect("fits"));
    }
    lookup_is_answered(&mut RawConnection::connect(server.binary), 1);
    let opened = started.elapsed();
    let open_gauge = metric_total(server.http, "ledger_connections");
    assert!(open_gauge >= count as f64, "the server holds {open_gauge} of {count} connections");
    let rss_held = rss_kib(server.child.id());
    assert!(rss_held < RSS_BOUND_KIB, "{count} idle connections cost {rss_held} KiB");

    // Quiet for a while: nobody is timed out.
    std::thread::sleep(Duration::from_secs(1));
    lookup_is_answered(&mut idle[0], 7);
    let last = idle.len() - 1;
    lookup_is_answered(&mut idle[last], 8);
    assert_eq!(metric_total(server.http, "ledger_rejected_connections_total"), 0.0);

    drop(idle);
    let (status, log) = server.terminate();
    assert!(status.success(), "the server exits cleanly; log:\n{log}");
    println!(
        "{count} idle connections opened in {opened:?}; RSS {rss_before} KiB before, {rss_held} KiB held"
    );
}

#[test]
fn connections_beyond_the_limit_are_closed_at_once() {
    const LIMIT: usize = 50;
    const EXCESS: usize = 30;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &["--max-connections", &LIMIT.to_string()]);

    let mut held: Vec<RawConnection> = (0..LIMIT).map(|_| RawConnection::connect(server.binary)).collect();
    for (i, connection) in held.iter_mut().enumerate() {
        lookup_is_answered(connection, u64::try_from(i).expect("fits"));
    }
    for _ in 0..EXCESS {
        let mut stream = std::net::TcpStream::connect(server.binary).expect("the kernel accepts the connect");
        assert!(closed_at_once(&mut stream), "a connection beyond the limit is closed at once");
    }
    // The held ones are untouched.
    lookup_is_answered(&mut held[0], 1000);
    assert_eq!(metric_total(server.http, "ledger_rejected_connections_total"), EXCESS as f64);

    // Ten leave; new connections get their places.
    held.truncate(LIMIT - 10);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut newcomer = loop {
        let mut stream = std::net::TcpStream::connect(server.binary).expect("connect");
        stream.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
        let mut byte = [0_u8; 1];
        // Still counted as full: closed. Room: the read times out with the connection open.
        if matches!(stream.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut)
        {
            stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
            break RawConnection { stream };
        }
        assert!(Instant::now() < deadline, "closed connections never freed their places");
        std::thread::sleep(Duration::from_millis(50));
    };
    lookup_is_answered(&mut newcomer, 2000);

    drop(held);
    let (status, log) = server.terminate();
    assert!(status.success(), "the server exits cleanly; log:\n{log}");
    let lines = log.lines().filter(|line| line.contains("rejected connection")).count();
    assert!((1..=EXCESS).contains(&lines), "{lines} log lines for {EXCESS} refused connections:\n{log}");
    assert!(log.contains("max_connections=50"), "the log names the limit:\n{log}");
}
