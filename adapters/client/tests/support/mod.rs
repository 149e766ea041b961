//! A fake ledger server for the client's mechanics tests: a TCP listener that speaks the real
//! codec, under the test's full control (answer order, refusals, dropped connections). It does
//! not apply anything; end-to-end tests against the real server live with the server.

#![allow(dead_code, reason = "each test file uses a different part of the fake")]

use ledger_client::{Client, ClientConfig};
use ledger_protocol::{
    HEADER_SIZE, Header, Operation, Reply, Request, Status, decode_request, encode_error_reply, encode_reply,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct FakeServer {
    pub addr: String,
    listener: TcpListener,
}

impl FakeServer {
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
        let addr = listener.local_addr().expect("bound address").to_string();
        Self { addr, listener }
    }

    pub async fn accept(&self) -> FakeConnection {
        let (stream, _) = tokio::time::timeout(Duration::from_secs(10), self.listener.accept())
            .await
            .expect("the client connects within 10 s")
            .expect("accept");
        FakeConnection { stream }
    }
}

/// A request as the server read it: the decoded request and the exact bytes of the frame.
#[derive(Debug)]
pub struct Received {
    pub request_id: u64,
    pub request: Request,
    pub frame: Vec<u8>,
}

impl Received {
    pub fn operation(&self) -> Operation {
        self.request.operation()
    }

    pub fn transfer_ids(&self) -> Vec<u128> {
        match &self.request {
            Request::CreateTransfers(transfers) => transfers.iter().map(|t| t.id).collect(),
            other => panic!("expected create_transfers, got {other:?}"),
        }
    }
}

pub struct FakeConnection {
    stream: TcpStream,
}

impl FakeConnection {
    /// The next request, or `None` when the client closed the connection.
    pub async fn read_request(&mut self) -> Option<Received> {
        let mut header_bytes = [0_u8; HEADER_SIZE];
        tokio::time::timeout(Duration::from_secs(10), self.stream.read_exact(&mut header_bytes))
            .await
            .expect("a request within 10 s")
            .ok()?;
        let header = Header::decode(&header_bytes).expect("the client sends valid headers");
        let mut body = vec![0_u8; header.body_len as usize];
        self.stream.read_exact(&mut body).await.expect("the body follows its header");
        let request = decode_request(&header, &body).expect("the client sends valid bodies");
        let mut frame = header_bytes.to_vec();
        frame.extend_from_slice(&body);
        Some(Received { request_id: header.request_id, request, frame })
    }

    pub async fn read_requests(&mut self, count: usize) -> Vec<Received> {
        let mut requests = Vec::with_capacity(count);
        for _ in 0..count {
            requests.push(self.read_request().await.expect("the client keeps the connection open"));
        }
        requests
    }

    pub async fn reply(&mut self, to: &Received, reply: &Reply) {
        let mut out = Vec::new();
        encode_reply(to.request_id, to.operation(), reply, &mut out);
        self.stream.write_all(&out).await.expect("write reply");
    }

    /// Answers every request of a create, lookup or query as if it all went well.
    pub async fn reply_empty(&mut self, to: &Received) {
        self.reply(to, &Reply::empty(to.operation())).await;
    }

    pub async fn refuse(&mut self, to: &Received, status: Status) {
        let mut out = Vec::new();
        encode_error_reply(to.request_id, to.operation().code(), status, &mut out);
        self.stream.write_all(&out).await.expect("write refusal");
    }
}

/// A client for `addr` with short timeouts and backoff, so tests run fast.
pub fn config(addr: &str) -> ClientConfig {
    let mut config = ClientConfig::new(addr);
    config.request_timeout = Duration::from_secs(5);
    config.connect_timeout = Duration::from_secs(2);
    config.backoff.initial = Duration::from_millis(5);
    config.backoff.max = Duration::from_millis(50);
    config
}

pub async fn connect(server: &FakeServer, config: ClientConfig) -> (Client, FakeConnection) {
    let (client, connection) = tokio::join!(Client::connect(config), server.accept());
    (client.expect("the client connects"), connection)
}

pub fn transfer(id: u128, linked: bool) -> ledger_client::Transfer {
    ledger_client::Transfer {
        id,
        debit_account_id: 1,
        credit_account_id: 2,
        amount: 100,
        ledger: 156,
        code: 1,
        flags: if linked { ledger_client::TransferFlags::LINKED } else { ledger_client::TransferFlags::NONE },
        ..ledger_client::Transfer::default()
    }
}
