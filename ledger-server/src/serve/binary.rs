//! The binary protocol over TCP (`docs/protocol.md`).
//!
//! One task per connection reads frames in order and hands each request to the service at
//! once (so a connection's requests keep their order), then reads the next frame without
//! waiting for the answer: many requests are in flight per connection, answered by request id
//! as they complete. A writer task per connection sends the answers.
//!
//! Memory is bounded three times: the service's admission budget (events in flight across all
//! connections; a full budget makes readers wait, pushing back through TCP), a per-connection
//! limit of answers in flight (every answer, error answers included, holds a slot until it is
//! written), which caps what a client that never reads its answers can pile up: it stalls only
//! itself; and a limit on open connections, beyond which a new connection is closed at once.
//! There is no idle timeout: a pipelining client may legitimately be quiet for long, and an idle
//! connection costs only its task and small buffers (the frame buffer shrinks back after a large
//! frame), which `max_connections` bounds.
//!
//! A frame the server cannot trust (bad magic, bad header checksum, unknown kind) closes the
//! connection without an answer: its request id is not trustworthy. Other malformed frames get
//! an error status with their request id; the statuses that mean "this peer does not speak our
//! protocol" (version, oversize, auth, a reply sent to us) close after the answer. Every
//! refusal is logged (rate-limited) and counted; none changes anything.

use super::metrics;
use super::ratelimit::RateLimitedLog;
use crate::service::{LedgerService, ServiceError};
use ledger_protocol::{
    BODY_MAX, FrameKind, HEADER_SIZE, Header, HeaderError, Operation, Reply, Request, Status, decode_request,
    encode_error_reply, encode_reply,
};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;

/// Requests one connection may have in flight; the reader waits beyond it.
pub const CONNECTION_IN_FLIGHT_MAX: usize = 64;

/// Open connections by default; beyond `max_connections` a new one is accepted and closed.
pub const MAX_CONNECTIONS_DEFAULT: usize = 4096;

/// The frame buffer a connection keeps between frames; a larger one (after a large frame) is
/// freed, so that idle connections do not each hold a megabyte.
const FRAME_BUFFER_KEPT_BYTES: usize = 64 * 1024;

/// Connections closed at once because `max_connections` were open.
pub const REJECTED_CONNECTIONS_TOTAL: &str = "ledger_rejected_connections_total";

/// What the accept loop and every connection share.
#[derive(Clone, Debug)]
pub struct BinaryServer {
    pub service: LedgerService,
    pub token: Option<Arc<[u8]>>,
    pub rejections: Arc<RateLimitedLog>,
    pub connections: Arc<AtomicUsize>,
    /// Open connections allowed; a connection beyond it is closed without reading from it.
    pub max_connections: usize,
}

impl BinaryServer {
    /// Accepts connections until `shutdown` turns true, then waits for every connection to
    /// answer what it has in flight and close.
    pub async fn run(self, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Counted here, before the task runs, so a burst of connects cannot
                        // overshoot the limit.
                        let open = self.connections.fetch_add(1, Ordering::Relaxed) + 1;
                        if open > self.max_connections {
                            self.connections.fetch_sub(1, Ordering::Relaxed);
                            self.refuse_connection(peer, stream);
                            continue;
                        }
                        metrics::record_connections(open);
                        let server = self.clone();
                        let shutdown = shutdown.clone();
                        connections.spawn(async move { server.connection(stream, peer, shutdown).await });
                    }
                    Err(e) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                _ = shutdown.changed() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        // Draining starts (`serve::run` has closed the change feeds, so waiting reads answer
        // now); closing them here too covers a binary server stopped on its own.
        self.service.close_feeds();
        while connections.join_next().await.is_some() {}
    }

    /// Closes a connection over the limit at once (dropping the stream sends FIN, or RST if the
    /// peer already sent data), logged rate-limited and counted.
    fn refuse_connection(&self, peer: SocketAddr, stream: TcpStream) {
        drop(stream);
        ::metrics::counter!(REJECTED_CONNECTIONS_TOTAL).increment(1);
        let max_connections = self.max_connections;
        self.rejections.warn(|suppressed| {
            tracing::warn!(%peer, max_connections, suppressed, "rejected connection: too many open");
        });
    }

    /// Serves one connection that `run` counted in `connections`; uncounts it at the end.
    async fn connection(self, stream: TcpStream, peer: SocketAddr, mut shutdown: watch::Receiver<bool>) {
        let _ = stream.set_nodelay(true);
        let (mut reader, writer) = stream.into_split();
        let (frames, outgoing) = mpsc::unbounded_channel::<Outgoing>();
        let sender = tokio::spawn(send_frames(writer, outgoing));
        let in_flight = Arc::new(Semaphore::new(CONNECTION_IN_FLIGHT_MAX));
        let mut answers = JoinSet::new();
        let mut authenticated = self.token.is_none();
        let mut header_bytes = [0_u8; HEADER_SIZE];
        let mut body = Vec::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            tokio::select! {
                read = reader.read_exact(&mut header_bytes) => if read.is_err() { break },
                _ = shutdown.changed() => break,
            }
            let header = match Header::decode(&header_bytes) {
                Ok(header) => header,
                Err(error) => {
                    // With a good magic and checksum the request id is the peer's: answer it.
                    let identity = Header::identify(&header_bytes);
                    let (Some(status), Some(identity)) = (error.status(), identity) else {
                        self.refuse(peer, header_error_reason(&error), &error.to_string());
                        break;
                    };
                    self.refuse(peer, header_error_reason(&error), &error.to_string());
                    let Ok(slot) = Arc::clone(&in_flight).acquire_owned().await else { break };
                    let mut out = Vec::new();
                    encode_error_reply(identity.request_id, identity.operation, status, &mut out);
                    let _ = frames.send((out, slot));
                    if status.closes_connection() {
                        break;
                    }
                    // The body length was bounded before this refusal: skip the body.
                    body.resize(identity.body_len as usize, 0);
                    if reader.read_exact(&mut body).await.is_err() {
                        break;
                    }
                    continue;
                }
            };
            if body.capacity() > FRAME_BUFFER_KEPT_BYTES {
                body = Vec::new();
            }
            body.resize(header.body_len as usize, 0);
            if reader.read_exact(&mut body).await.is_err() {
                break;
            }
            // Every answer below holds a slot until written, error answers included: a client
            // that never reads cannot queue unbounded answers by sending bad frames.
            let Ok(slot) = Arc::clone(&in_flight).acquire_owned().await else { break };
            if header.kind != FrameKind::Request {
                self.answer_error(
                    peer,
                    &frames,
                    (&header, slot),
                    Status::InvalidKind,
                    "a reply frame sent to the server",
                );
                break;
            }
            let request = match decode_request(&header, &body) {
                Ok(request) => request,
                Err(error) => {
                    let status = error.status();
                    self.answer_error(peer, &frames, (&header, slot), status, &error.to_string());
                    if status.closes_connection() {
                        break;
                    }
                    continue;
                }
            };
            if let Request::Hello { token } = &request {
                let accepted =
                    self.token.as_deref().is_none_or(|expected| super::config::tokens_match(expected, token));
                if accepted {
                    authenticated = true;
                    let mut out = Vec::new();
                    encode_reply(header.request_id, Operation::Hello, &Reply::Hello, &mut out);
                    let _ = frames.send((out, slot));
                    continue;
                }
                self.answer_error(peer, &frames, (&header, slot), Status::Unauthorized, "wrong token");
                break;
            }
            if !authenticated {
                self.answer_error(
                    peer,
                    &frames,
                    (&header, slot),
                    Status::Unauthorized,
                    "no hello with a token",
                );
                break;
            }
            // Admission: per connection first (the slot taken above: a client that never reads
            // stalls only itself), then the shared budget. Both waits push back through TCP.
            let events = request.event_count();
            let permit = match self.service.admit(events).await {
                Ok(permit) => permit,
                Err(_) => {
                    self.answer_error(peer, &frames, (&header, slot), Status::ShuttingDown, "shutting down");
                    break;
                }
            };
            let operation = request.operation();
            let received = std::time::Instant::now();
            let pending = dispatch(&self.service, request);
            let frames = frames.clone();
            let request_id = header.request_id;
            answers.spawn(async move {
                let answer = pending.await;
                drop(permit);
                let mut out = Vec::new();
                let status = match answer {
                    Ok(reply) => {
                        encode_reply(request_id, operation, &reply, &mut out);
                        Status::Ok
                    }
                    Err(error) => {
                        let status = status_of(&error);
                        encode_error_reply(request_id, operation as u8, status, &mut out);
                        status
                    }
                };
                metrics::record_request(
                    operation.name(),
                    status.name(),
                    events,
                    received.elapsed().as_secs_f64(),
                );
                // The slot travels with the answer and frees once it is written.
                let _ = frames.send((out, slot));
            });
            // Reap finished answers so the set does not grow on long connections.
            while answers.try_join_next().is_some() {}
        }
        // Draining: everything already handed to the service is answered before we close.
        while answers.join_next().await.is_some() {}
        drop(frames);
        let _ = sender.await;
        let open = self.connections.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        metrics::record_connections(open);
    }

    fn refuse(&self, peer: SocketAddr, reason: &'static str, detail: &str) {
        metrics::record_rejected_frame(reason);
        self.rejections.warn(|suppressed| {
            tracing::warn!(%peer, reason, detail, suppressed, "rejected frame");
        });
    }

    fn answer_error(
        &self,
        peer: SocketAddr,
        frames: &mpsc::UnboundedSender<Outgoing>,
        (header, slot): (&Header, OwnedSemaphorePermit),
        status: Status,
        detail: &str,
    ) {
        self.refuse(peer, status.name(), detail);
        let mut out = Vec::new();
        encode_error_reply(header.request_id, header.operation, status, &mut out);
        let _ = frames.send((out, slot));
    }
}

/// An encoded answer, and the connection's in-flight slot it holds until written.
type Outgoing = (Vec<u8>, OwnedSemaphorePermit);

type Pending = Pin<Box<dyn Future<Output = Result<Reply, ServiceError>> + Send>>;

/// Hands the request to the service now (keeping the connection's order) and returns the
/// answer to wait for.
fn dispatch(service: &LedgerService, request: Request) -> Pending {
    match request {
        Request::Hello { .. } => Box::pin(async { Ok(Reply::Hello) }),
        Request::CreateAccounts(events) => {
            let answer = service.create_accounts(events);
            Box::pin(async move { answer.await.map(Reply::CreateAccounts) })
        }
        Request::CreateTransfers(events) => {
            let answer = service.create_transfers(events);
            Box::pin(async move { answer.await.map(Reply::CreateTransfers) })
        }
        Request::LookupAccounts(ids) => {
            let answer = service.lookup_accounts(ids);
            Box::pin(async move { answer.await.map(Reply::Accounts) })
        }
        Request::LookupTransfers(ids) => {
            let answer = service.lookup_transfers(ids);
            Box::pin(async move { answer.await.map(Reply::Transfers) })
        }
        Request::GetAccountTransfers(filter) => {
            let answer = service.get_account_transfers(filter);
            Box::pin(async move { answer.await.map(|page| Reply::Transfers(page.items)) })
        }
        Request::GetAccountBalances(filter) => {
            let answer = service.get_account_balances(filter);
            Box::pin(async move { answer.await.map(Reply::Balances) })
        }
        Request::QueryAccounts(filter) => {
            let answer = service.query_accounts(filter);
            Box::pin(async move { answer.await.map(Reply::Accounts) })
        }
        Request::PostEvents(events) => {
            let answer = service.post_events(events);
            Box::pin(async move {
                answer.await.map(|outcomes| {
                    Reply::PostEvents(
                        (0_u32..)
                            .zip(outcomes)
                            .filter(|(_, outcome)| *outcome != ledger_events::EventOutcome::Ok)
                            .map(|(index, outcome)| ledger_protocol::EventCode {
                                index,
                                code: outcome.code(),
                            })
                            .collect(),
                    )
                })
            })
        }
        Request::QueryTransfers(filter) => {
            let answer = service.query_transfers(filter);
            Box::pin(async move { answer.await.map(|page| Reply::Transfers(page.items)) })
        }
        Request::ReadJournal(read) => {
            // The page's reads are queued when this first runs, after the requests this
            // connection sent before it: a follower sees its own earlier posts.
            let service = service.clone();
            Box::pin(async move {
                crate::http::feed::read_journal(&service, read, BODY_MAX).await.map(Reply::Journal)
            })
        }
    }
}

fn status_of(error: &ServiceError) -> Status {
    match error {
        ServiceError::Unavailable(_) => Status::Unavailable,
        ServiceError::Overloaded => Status::Overloaded,
        ServiceError::ShuttingDown => Status::ShuttingDown,
        ServiceError::Failed(_) => Status::ServerFailed,
        ServiceError::Rejected(_) => Status::BatchRejected,
    }
}

fn header_error_reason(error: &HeaderError) -> &'static str {
    match error {
        HeaderError::BadMagic => "bad_magic",
        HeaderError::BadChecksum => "bad_header_checksum",
        HeaderError::ReservedBytesSet => "reserved_bytes_set",
        HeaderError::UnknownKind(_) => "unknown_kind",
        HeaderError::TooLarge { .. } => "frame_too_large",
    }
}

/// Writes answers in the order they complete, flushing when none is waiting, so a burst of
/// small answers shares one syscall.
async fn send_frames(writer: OwnedWriteHalf, mut frames: mpsc::UnboundedReceiver<Outgoing>) {
    let mut writer = BufWriter::with_capacity(256 * 1024, writer);
    while let Some((frame, _slot)) = frames.recv().await {
        if writer.write_all(&frame).await.is_err() {
            return;
        }
        while let Ok((frame, _slot)) = frames.try_recv() {
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
        if writer.flush().await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}
