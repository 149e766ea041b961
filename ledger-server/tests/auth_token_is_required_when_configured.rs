//! With `--token-file`, a binary connection must open with `hello` and the exact token, and
//! HTTP requests need it as a bearer token; without the flag, no token is asked for. A server
//! bound to a non-loopback address refuses to start without a token.

mod common;

use common::{LEDGER, RawConnection, Server, frame, http_get};
use ledger_core::Account;
use ledger_protocol::{Reply, Request, Status};

fn account(id: u128) -> Account {
    Account { id, ledger: 1, code: 1, ..Account::default() }
}

#[test]
fn binary_connections_present_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "open-sesame\n").expect("token");
    let token_flag = token_file.to_str().expect("utf-8 path");
    let server = Server::start(&dir.path().join("data"), &["--token-file", token_flag]);

    // No hello: refused and closed; nothing created.
    let mut anonymous = RawConnection::connect(server.binary);
    anonymous.send(&frame(1, &Request::CreateAccounts(vec![account(1)])));
    let (_, reply) = anonymous.receive().expect("an answer");
    assert_eq!(reply, Err(Status::Unauthorized));
    assert!(anonymous.is_closed());

    // A wrong token: refused and closed.
    let mut wrong = RawConnection::connect(server.binary);
    wrong.send(&frame(1, &Request::Hello { token: b"open-sesam".to_vec() }));
    assert_eq!(wrong.receive().expect("an answer").1, Err(Status::Unauthorized));
    assert!(wrong.is_closed());

    // The right token: served.
    let mut good = RawConnection::connect(server.binary);
    good.send(&frame(1, &Request::Hello { token: b"open-sesame".to_vec() }));
    assert_eq!(good.receive().expect("an answer").1, Ok(Reply::Hello));
    good.send(&frame(2, &Request::LookupAccounts(vec![1])));
    assert_eq!(
        good.receive().expect("an answer").1,
        Ok(Reply::Accounts(Vec::new())),
        "the refused create changed nothing"
    );

    // The Rust client presents it on connect.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = server.client_with_token(Some(b"open-sesame")).await;
        assert!(client.create_accounts(&[account(7)]).await.expect("created").is_empty());
    });

    // HTTP: bearer token required, except for the liveness probe.
    assert_eq!(http_get(server.http, "/v1/accounts/7", None).0, 401);
    assert_eq!(http_get(server.http, "/v1/accounts/7", Some("nope")).0, 401);
    let (status, body) = http_get(server.http, "/v1/accounts/7", Some("open-sesame"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"id\":\"7\""), "{body}");
    assert_eq!(http_get(server.http, "/healthz", None).0, 200);

    let (status, log) = server.terminate();
    assert!(status.success());
    assert!(log.contains("unauthorized") || log.contains("Unauthorized"), "refusals are logged:\n{log}");
}

#[test]
fn without_a_token_file_no_token_is_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let mut connection = RawConnection::connect(server.binary);
    connection.send(&frame(1, &Request::CreateAccounts(vec![account(1)])));
    assert_eq!(connection.receive().expect("answered").1, Ok(Reply::CreateAccounts(Vec::new())));
    assert_eq!(http_get(server.http, "/v1/accounts/1", None).0, 200);
}

#[test]
fn a_public_address_without_a_token_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = std::process::Command::new(LEDGER)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--addr", "0.0.0.0:0", "--http", "127.0.0.1:0"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--token-file"), "the message says what to do:\n{stderr}");
    assert!(!dir.path().join("wal").exists(), "nothing was opened");
}
