//! Starting the real `ledger` binary for end-to-end tests: on ephemeral ports, in a temporary
//! data directory, with its addresses read from the line it prints when it listens.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

pub const LEDGER: &str = env!("CARGO_BIN_EXE_ledger");

/// A running `ledger serve`.
pub struct Server {
    pub child: Child,
    pub binary: SocketAddr,
    pub http: SocketAddr,
    pub data_dir: PathBuf,
    stderr: Option<ChildStderr>,
}

impl Server {
    /// Starts `ledger serve` on ephemeral loopback ports over `data_dir`, with `extra` flags.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(LEDGER)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--addr", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ledger binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let (binary, http) = loop {
            assert!(Instant::now() < deadline, "the server did not report its addresses in time");
            let Some(Ok(line)) = lines.next() else {
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
                panic!("the server exited before listening; stderr:\n{stderr}");
            };
            if let Some(rest) = line.strip_prefix("ledger listening ") {
                let mut binary = None;
                let mut http = None;
                for part in rest.split_whitespace() {
                    if let Some(a) = part.strip_prefix("binary=") {
                        binary = a.parse().ok();
                    } else if let Some(a) = part.strip_prefix("http=") {
                        http = a.parse().ok();
                    }
                }
                break (binary.expect("binary address"), http.expect("http address"));
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let stderr = child.stderr.take();
        Self { child, binary, http, data_dir: data_dir.to_path_buf(), stderr }
    }

    /// SIGTERM, then wait for the exit; returns the exit status and what it logged.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        signal(&self.child, "TERM");
        self.wait_with_log()
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill_9(mut self) {
        signal(&self.child, "KILL");
        let _ = self.child.wait();
    }

    pub fn wait_with_log(&mut self) -> (std::process::ExitStatus, String) {
        let mut log = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
        let status = self.child.wait().expect("wait for the server");
        (status, log)
    }

    /// A client connected to this server.
    pub async fn client(&self) -> ledger_client::Client {
        self.client_with_token(None).await
    }

    pub async fn client_with_token(&self, token: Option<&[u8]>) -> ledger_client::Client {
        let mut config = ledger_client::ClientConfig::new(self.binary.to_string());
        config.token = token.map(<[u8]>::to_vec);
        ledger_client::Client::connect(config).await.expect("the client connects")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, name: &str) {
    let status =
        Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().expect("kill runs");
    assert!(status.success(), "kill -{name} failed");
}

/// One HTTP/1.1 GET over a plain socket (the tests need no HTTP client crate): status and body.
pub fn http_get(addr: SocketAddr, path: &str, bearer: Option<&str>) -> (u16, String) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to HTTP");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n").expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A plain blocking connection speaking raw frames: for pipelining exactly, and for sending
/// what no well-behaved client would.
pub struct RawConnection {
    pub stream: std::net::TcpStream,
}

impl RawConnection {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Self { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stream.write_all(bytes).expect("send");
    }

    /// Reads one reply frame: its header and decoded answer.
    pub fn receive(
        &mut self,
    ) -> Option<(ledger_protocol::Header, Result<ledger_protocol::Reply, ledger_protocol::Status>)> {
        use std::io::Read;
        let mut header = [0_u8; ledger_protocol::HEADER_SIZE];
        self.stream.read_exact(&mut header).ok()?;
        let header = ledger_protocol::Header::decode(&header).expect("a valid reply header");
        let mut body = vec![0_u8; header.body_len as usize];
        self.stream.read_exact(&mut body).expect("the reply body");
        let reply = ledger_protocol::decode_reply(&header, &body).expect("a valid reply");
        Some((header, reply))
    }

    /// Whether the server closed the connection (EOF) without sending anything more.
    pub fn is_closed(&mut self) -> bool {
        use std::io::Read;
        let mut byte = [0_u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }
}

/// Encodes a request frame.
pub fn frame(request_id: u64, request: &ledger_protocol::Request) -> Vec<u8> {
    let mut out = Vec::new();
    ledger_protocol::encode_request(request_id, request, &mut out);
    out
}

/// The resident memory of process `pid` in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/<pid>/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// The sum of every series of the Prometheus metric `name` on `GET /metrics` (0 if absent).
pub fn metric_total(http: SocketAddr, name: &str) -> f64 {
    let (status, body) = http_get(http, "/metrics", None);
    assert_eq!(status, 200, "GET /metrics");
    body.lines()
        .filter(|line| line.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A seeded xorshift generator: reproducible "random" bytes without a dependency.
pub struct Xorshift(pub u64);

impl Xorshift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64().to_le_bytes()[0]).collect()
    }
}

/// The soft limit on open files of this process (`Max open files` in `/proc/self/limits`).
pub fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(1024)
}

/// `http_get` that reports failure instead of panicking (for servers that may be killed): the
/// status and body, or `None` if the server could not be reached or the answer was cut off.
pub fn try_http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    // A body shorter than announced was cut off by the server's death.
    let announced = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    if announced.is_some_and(|len| len != body.len()) {
        return None;
    }
    Some((status, body.to_owned()))
}

/// A Server-Sent Events stream over a plain socket (`GET` with optional `Last-Event-ID`):
/// yields `(id, data)` per event, skipping comments; decodes a chunked body.
pub struct SseStream {
    reader: BufReader<std::net::TcpStream>,
    /// A handle to shut the socket down from another thread, ending a blocked read.
    pub socket: std::net::TcpStream,
    chunked: bool,
    /// Bytes left in the current chunk.
    chunk_left: usize,
    pending: Vec<u8>,
}

impl SseStream {
    /// Connects and sends the request; `None` if the server is unreachable or does not answer
    /// 200.
    pub fn open(addr: SocketAddr, path: &str, last_event_id: Option<u64>) -> Option<Self> {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        let id = last_event_id.map(|id| format!("Last-Event-ID: {id}\r\n")).unwrap_or_default();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{id}Accept: text/event-stream\r\n\r\n")
            .ok()?;
        let socket = stream.try_clone().ok()?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).ok()?;
        if status_line.split_whitespace().nth(1) != Some("200") {
            return None;
        }
        let mut chunked = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        Some(Self { reader, socket, chunked, chunk_left: 0, pending: Vec::new() })
    }

    /// Reads more of the body; `None` at the end of the stream or on an error.
    fn read_more(&mut self) -> Option<()> {
        let mut buffer = [0_u8; 8192];
        let want = if self.chunked {
            if self.chunk_left == 0 {
                let mut size = String::new();
                // The CRLF that ends the previous chunk, then the size line.
                while size.trim().is_empty() {
                    size.clear();
                    if self.reader.read_line(&mut size).ok()? == 0 {
                        return None;
                    }
                }
                self.chunk_left = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
                if self.chunk_left == 0 {
                    return None;
                }
            }
            self.chunk_left.min(buffer.len())
        } else {
            buffer.len()
        };
        let read = self.reader.read(&mut buffer[..want]).ok()?;
        if read == 0 {
            return None;
        }
        self.chunk_left = self.chunk_left.saturating_sub(read);
        self.pending.extend_from_slice(&buffer[..read]);
        Some(())
    }

    /// The next event: its `id` and `data` fields; `None` when the stream ended.
    pub fn next_event(&mut self) -> Option<(String, String)> {
        loop {
            while let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let bytes: Vec<u8> = self.pending.drain(..end + 2).collect();
                let block = String::from_utf8(bytes).ok()?;
                let mut id = None;
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("id:") {
                        id = Some(value.trim_start().to_owned());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                    }
                }
                if let Some(id) = id {
                    return Some((id, data.join("\n")));
                }
            }
            self.read_more()?;
        }
    }
}

/// `ledger post --addr ADDR` with `input` on stdin: the command must succeed; its stdout (one
/// result line per input line).
pub fn ledger_post(addr: SocketAddr, input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(LEDGER)
        .args(["post", "--addr", &addr.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ledger post runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    let output = child.wait_with_output().expect("finishes");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}
