//! Random bytes of many sizes, from several seeds, on thousands of connections at once: the
//! server closes each such connection, stays up, keeps answering a well-behaved client promptly
//! throughout, and logs the refusals rate-limited (a bounded number of lines, the rest counted
//! as "suppressed").

mod common;

use common::{RawConnection, Server, Xorshift, frame, metric_total};
use ledger_protocol::{HEADER_SIZE, MAGIC, Reply, Request};
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const SEEDS: [u64; 4] = [0x9E37_79B9_7F4A_7C15, 7, 0xDEAD_BEEF, 1_234_567];
const CONNECTIONS_PER_SEED: usize = 500;
const SIZES: [usize; 7] = [1, 17, 63, 64, 65, 1000, 70_000];

/// Sends `bytes` and checks the server closes the connection: at once for a whole bad header,
/// or once we half-close for a header cut short. Returns whether a full header was sent.
fn send_garbage(server: std::net::SocketAddr, bytes: &[u8]) -> bool {
    let mut stream = std::net::TcpStream::connect(server).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    // The server may close (and reset) before it read everything: a failed write is fine.
    let _ = stream.write_all(bytes);
    let whole_header = bytes.len() >= HEADER_SIZE;
    if !whole_header {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut sink = [0_u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return whole_header,
            // Random bytes could, once in 2^32, be a header with a good checksum: any answer
            // the server sends before closing is fine; what matters is that it closes.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return whole_header,
            Err(e) => panic!("the server did not close a connection that sent garbage: {e}"),
        }
    }
}

#[test]
fn random_bytes_close_the_connection_and_are_logged_rate_limited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let addr = server.binary;

    // A well-behaved client, answered promptly the whole time.
    let flooding = Arc::new(AtomicBool::new(true));
    let good = {
        let flooding = Arc::clone(&flooding);
        std::thread::spawn(move || {
            let mut connection = RawConnection::connect(addr);
            let mut slowest = Duration::ZERO;
            let mut answered = 0_u64;
            while flooding.load(Ordering::Relaxed) || answered < 10 {
                answered += 1;
                let started = Instant::now();
                connection.send(&frame(answered, &Request::LookupAccounts(vec![1, 2, 3])));
                let (header, reply) = connection.receive().expect("the good client is answered");
                assert_eq!(header.request_id, answered);
                assert_eq!(reply, Ok(Reply::Accounts(Vec::new())));
                slowest = slowest.max(started.elapsed());
                std::thread::sleep(Duration::from_millis(2));
            }
            (answered, slowest)
        })
    };

    let started = Instant::now();
    let floods: Vec<_> = SEEDS
        .iter()
        .map(|&seed| {
            std::thread::spawn(move || {
                let mut random = Xorshift(seed);
                let mut whole_headers = 0_u64;
                for i in 0..CONNECTIONS_PER_SEED {
                    let mut bytes = random.bytes(SIZES[i % SIZES.len()]);
                    // Every other one starts with the right magic, to reach the checksum check.
                    if i % 2 == 0 && bytes.len() >= MAGIC.len() {
                        bytes[..MAGIC.len()].copy_from_slice(&MAGIC);
                    }
                    whole_headers += u64::from(send_garbage(addr, &bytes));
                }
                whole_headers
            })
        })
        .collect();
    let whole_headers: u64 = floods.into_iter().map(|t| t.join().expect("flood thread")).sum();
    let flood_time = started.elapsed();

    // One more refusal after the rate-limit window turned over reports what was suppressed.
    std::thread::sleep(Duration::from_millis(1100));
    assert!(send_garbage(addr, &[0_u8; HEADER_SIZE]));
    flooding.store(false, Ordering::Relaxed);
    let (answered, slowest) = good.join().expect("the good client thread");
    assert!(answered >= 10, "the good client was served throughout ({answered} answers)");
    assert!(slowest < Duration::from_secs(2), "the good client waited {slowest:?} during the flood");

    let refused = metric_total(server.http, "ledger_rejected_frames_total");
    assert!(refused >= (whole_headers + 1) as f64, "{refused} counted for {whole_headers} bad headers");

    let elapsed_seconds = started.elapsed().as_secs() + 1;
    let (status, log) = server.terminate();
    assert!(status.success(), "the server exits cleanly; log:\n{log}");
    assert!(!log.contains("panicked"), "no panic:\n{log}");
    let lines = log.lines().filter(|line| line.contains("rejected frame")).count() as u64;
    // The budget is 10 lines a second; allow one window of slack on each side.
    assert!(
        lines <= 10 * (elapsed_seconds + 2),
        "{lines} log lines for {whole_headers} refusals in {flood_time:?}; log:\n{log}"
    );
    assert!(lines >= 2, "refusals are logged:\n{log}");
    let suppressed: u64 = log
        .lines()
        .filter_map(|line| line.split("suppressed=").nth(1)?.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    assert!(suppressed > 0, "a later line reports the suppressed count:\n{log}");
    println!(
        "{whole_headers} bad headers on {} connections in {flood_time:?}: {lines} log lines, {suppressed} \
         suppressed; good client: {answered} answers, slowest {slowest:?}",
        SEEDS.len() * CONNECTIONS_PER_SEED
    );
}
