//! The HTTP read API of a real `ledger serve` process, over TCP: records posted through the
//! binary protocol (`ledger-client`) are served as JSON, the token guards every route but
//! `/healthz`, and `/metrics` counts the posted events (`ledger_events_total`).
//!
//! The in-process behaviour tests of every route are in `src/http/tests/` (the package has no
//! library target, so they cannot live here).

use ledger_client::{Client, ClientConfig};
use ledger_core::{Account, AccountFlags, Transfer};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const LEDGER: &str = env!("CARGO_BIN_EXE_ledger");
const TOKEN: &str = "e2e-token-7f3a";

/// A `ledger serve` child on ephemeral loopback ports, killed on drop.
struct Server {
    child: Child,
    binary_addr: String,
    http_addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write the token file");
        let mut child = Command::new(LEDGER)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--addr", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .arg("--token-file")
            .arg(&token_file)
            .env("LEDGER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start `ledger serve`");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        // "ledger listening binary=127.0.0.1:PORT http=127.0.0.1:PORT"
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(name))
                .unwrap_or_else(|| panic!("`{name}` in the listening line: {line:?}"))
                .to_owned()
        };
        let (binary_addr, http_addr) = (field("binary="), field("http="));
        Self { child, binary_addr, http_addr, _dir: dir }
    }

    /// One HTTP/1.1 GET on a fresh connection: the status and the body.
    fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.http_addr).expect("connect to the HTTP port");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("set a read timeout");
        let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: ledger\r\n{authorization}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("send the request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read the response");
        let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
        (status, body.to_owned())
    }

    fn get_json(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let (status, body) = self.get(path, token);
        let json =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: JSON body ({e}): {body}"));
        (status, json)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_records_are_served_and_counted_behind_the_token() {
    let server = Server::start();
    let client = Client::connect(ClientConfig::new(server.binary_addr.clone()).with_token(TOKEN))
        .await
        .expect("connect the binary client");
    let accounts = [
        Account { id: 1, ledger: 156, code: 1, flags: AccountFlags::HISTORY, ..Account::default() },
        Account { id: 2, ledger: 156, code: 1, ..Account::default() },
    ];
    assert!(client.create_accounts(&accounts).await.expect("create accounts").is_empty());
    let transfers: Vec<Transfer> = (1..=3)
        .map(|id| Transfer {
            id,
            debit_account_id: 1,
            credit_account_id: 2,
            amount: 100 * id,
            ledger: 156,
            code: 1,
            ..Transfer::default()
        })
        .collect();
    assert!(client.create_transfers(&transfers).await.expect("create transfers").is_empty());

    let http = tokio::task::spawn_blocking(move || {
        let (status, health) = server.get_json("/healthz", None);
        assert_eq!(status, 200, "/healthz needs no token");
        assert_eq!(health["status"], "ok");

        let (status, refused) = server.get_json("/v1/accounts/1", None);
        assert_eq!((status, refused["error"].as_str()), (401, Some("unauthorized")));
        let (status, refused) = server.get_json("/v1/accounts/1", Some("not-the-token"));
        assert_eq!((status, refused["error"].as_str()), (401, Some("unauthorized")));

        let (status, account) = server.get_json("/v1/accounts/1", Some(TOKEN));
        assert_eq!(status, 200);
        assert_eq!(account["debits_posted"], "600");
        assert_eq!(account["flags"], serde_json::json!(["history"]));

        let (status, page) = server.get_json("/v1/accounts/2/transfers?order=desc&limit=2", Some(TOKEN));
        assert_eq!(status, 200);
        let ids: Vec<&str> =
            page["transfers"].as_array().expect("an array").iter().filter_map(|t| t["id"].as_str()).collect();
        assert_eq!(ids, ["3", "2"]);
        let cursor = page["next_cursor"].as_str().expect("a full page has a cursor").to_owned();
        let (_, rest) = server.get_json(&format!("/v1/accounts/2/transfers?cursor={cursor}"), Some(TOKEN));
        assert_eq!(rest["transfers"][0]["id"], "1");
        assert!(rest["next_cursor"].is_null());

        let (status, balance) =
            server.get_json("/v1/accounts/1/balances?at=18446744073709551615", Some(TOKEN));
        assert_eq!(status, 200);
        assert_eq!(balance["debits_posted"], "600");

        let (status, _) = server.get("/metrics", None);
        assert_eq!(status, 401, "/metrics needs the token");
        let (status, metrics) = server.get("/metrics", Some(TOKEN));
        assert_eq!(status, 200);
        let events = metrics
            .lines()
            .find(|l| l.starts_with("ledger_events_total{") && l.contains("create_transfers"))
            .unwrap_or_else(|| panic!("ledger_events_total for create_transfers in:\n{metrics}"));
        let count: f64 = events.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a sample value");
        assert!((count - 3.0).abs() < f64::EPSILON, "three transfers were posted: {events}");
        assert!(metrics.contains("ledger_index_lag_transfers"), "the index gauge is exported");
    })
    .await;
    client.close().await;
    http.expect("the HTTP checks pass");
}
