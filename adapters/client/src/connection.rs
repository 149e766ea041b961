//! One TCP connection to the server, shared by every request in flight on it.
//!
//! Two tasks own the socket: the writer takes encoded frames from a bounded queue and writes
//! them in queue order, coalescing whatever is queued into one flush; the reader reads reply
//! frames and hands each to the request waiting on its `request_id`, in whatever order the
//! server answers. The waiting requests live in one map; when either task fails, the map is
//! closed and every waiting request learns why (`Lost`), so nothing waits on a dead connection.

use ledger_protocol::{
    BODY_MAX, FrameError, HEADER_SIZE, Header, Reply, Request, Status, decode_reply, encode_request,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// An encoded request frame (header and body). Shared, because a retry resends the same bytes.
pub(crate) type Frame = Arc<[u8]>;

/// What the server said to one request: a reply, a refusal status, or a body that did not decode.
pub(crate) type Answer = Result<Result<Reply, Status>, FrameError>;

/// The request id of the `hello` that opens an authenticated connection. It is the first frame on
/// its connection and is answered before any other is sent, so it cannot be confused; client
/// requests count from 1.
const HELLO_REQUEST_ID: u64 = 0;

/// Socket buffer sizes: large enough to coalesce many small requests (lookups) into one write,
/// small next to a full batch, which bypasses the buffer.
const SOCKET_BUFFER_SIZE: usize = 64 * 1024;

/// Why a connection ended. Cloned to every request that was waiting on it.
#[derive(Clone, Debug)]
pub(crate) enum Lost {
    /// Reading or writing the socket failed, or the server closed it.
    Io { kind: std::io::ErrorKind, message: String },
    /// The server sent bytes that are not a frame; the stream cannot be resynchronised.
    Framing(String),
    /// The client was closed.
    Closed,
}

impl Lost {
    fn from_io(error: &std::io::Error, last_status: Option<Status>) -> Self {
        let message = match (error.kind(), last_status) {
            (std::io::ErrorKind::UnexpectedEof, Some(status)) => {
                format!("the server closed the connection after answering {}", status.name())
            }
            (std::io::ErrorKind::UnexpectedEof, None) => "the server closed the connection".to_owned(),
            _ => error.to_string(),
        };
        Self::Io { kind: error.kind(), message }
    }
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// TCP connect failed, or the connection dropped during `hello`: worth retrying.
    Io(std::io::Error),
    /// The server answered `hello` with a status.
    Refused(Status),
    /// The `hello` reply was not a `hello` reply, or did not decode.
    Protocol(String),
}

/// The requests waiting for a reply on one connection.
#[derive(Debug, Default)]
struct Waiting {
    /// Set once the connection has ended; no request may wait after that.
    ended: Option<Lost>,
    replies: HashMap<u64, oneshot::Sender<Result<Answer, Lost>>>,
}

type SharedWaiting = Arc<Mutex<Waiting>>;

fn lock(waiting: &SharedWaiting) -> std::sync::MutexGuard<'_, Waiting> {
    // The critical sections below do not panic, so a poisoned lock still holds a consistent map.
    waiting.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Ends the connection for everyone waiting on it. The first reason wins.
fn end(waiting: &SharedWaiting, reason: Lost) {
    let replies = {
        let mut waiting = lock(waiting);
        if waiting.ended.is_some() {
            return;
        }
        waiting.ended = Some(reason.clone());
        std::mem::take(&mut waiting.replies)
    };
    for (_, reply) in replies {
        // A request that stopped waiting (timed out) has dropped its receiver; nothing to tell.
        let _ = reply.send(Err(reason.clone()));
    }
}

/// An open connection. Dropping the last reference stops both tasks.
#[derive(Debug)]
pub(crate) struct Connection {
    frames: mpsc::Sender<Frame>,
    waiting: SharedWaiting,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl Connection {
    /// Connects to `addr` and, when a token is given, authenticates with `hello` before anyone
    /// else may send. `queue_frames_max` bounds the frames waiting for the writer.
    pub(crate) async fn open(
        addr: &str,
        token: Option<&[u8]>,
        queue_frames_max: usize,
    ) -> Result<Arc<Self>, OpenError> {
        let socket = TcpStream::connect(addr).await.map_err(OpenError::Io)?;
        // Requests are small and latency-bound; batching happens in the writer, not in Nagle.
        socket.set_nodelay(true).map_err(OpenError::Io)?;
        let (read_half, write_half) = socket.into_split();
        let waiting = SharedWaiting::default();
        let (frames, queue) = mpsc::channel(queue_frames_max.max(1));
        let connection = Arc::new(Self {
            frames,
            reader: tokio::spawn(read_replies(read_half, Arc::clone(&waiting))),
            writer: tokio::spawn(write_frames(write_half, queue, Arc::clone(&waiting))),
            waiting,
        });
        if let Some(token) = token {
            connection.hello(token).await?;
        }
        Ok(connection)
    }

    async fn hello(self: &Arc<Self>, token: &[u8]) -> Result<(), OpenError> {
        let mut frame = Vec::with_capacity(HEADER_SIZE + token.len());
        encode_request(HELLO_REQUEST_ID, &Request::Hello { token: token.to_vec() }, &mut frame);
        let lost_to_open_error = |lost: Lost| match lost {
            Lost::Io { kind, message } => OpenError::Io(std::io::Error::new(kind, message)),
            Lost::Framing(message) => OpenError::Protocol(message),
            Lost::Closed => OpenError::Io(std::io::Error::other("the client is closed")),
        };
        let pending = self.submit(HELLO_REQUEST_ID, Frame::from(frame)).await.map_err(lost_to_open_error)?;
        match pending.answer().await.map_err(lost_to_open_error)? {
            Ok(Ok(Reply::Hello)) => Ok(()),
            Ok(Ok(_)) => Err(OpenError::Protocol("the server answered hello with another reply".to_owned())),
            Ok(Err(status)) => Err(OpenError::Refused(status)),
            Err(error) => Err(OpenError::Protocol(error.to_string())),
        }
    }

    /// Whether requests may still be sent (neither task has failed).
    pub(crate) fn is_open(&self) -> bool {
        lock(&self.waiting).ended.is_none()
    }

    /// Ends the connection: every waiting request gets `reason`, and the tasks stop when the
    /// last reference is dropped.
    pub(crate) fn end(&self, reason: Lost) {
        end(&self.waiting, reason);
    }

    /// Queues `frame` (which carries `request_id` in its header) for the writer and returns the
    /// handle that waits for its reply. Waits while the writer's queue is full.
    pub(crate) async fn submit(self: &Arc<Self>, request_id: u64, frame: Frame) -> Result<Pending, Lost> {
        let (reply, answer) = oneshot::channel();
        {
            let mut waiting = lock(&self.waiting);
            if let Some(reason) = &waiting.ended {
                return Err(reason.clone());
            }
            let previous = waiting.replies.insert(request_id, reply);
            debug_assert!(previous.is_none(), "request id {request_id} is already in flight");
        }
        // From here the guard removes the entry if this request stops waiting early.
        let pending = Pending { connection: Arc::clone(self), request_id, answer };
        if self.frames.send(frame).await.is_err() {
            // The writer has stopped, which it only does after ending the connection.
            let reason = lock(&self.waiting).ended.clone().unwrap_or(Lost::Closed);
            return Err(reason);
        }
        Ok(pending)
    }
}

/// A request in flight: resolves to its answer, or to why the connection ended first.
#[derive(Debug)]
pub(crate) struct Pending {
    connection: Arc<Connection>,
    request_id: u64,
    answer: oneshot::Receiver<Result<Answer, Lost>>,
}

impl Pending {
    pub(crate) async fn answer(mut self) -> Result<Answer, Lost> {
        match (&mut self.answer).await {
            Ok(answer) => answer,
            // The sender is only dropped by `end`, which sends first; treat it as the end anyway.
            Err(_) => Err(lock(&self.connection.waiting).ended.clone().unwrap_or(Lost::Closed)),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // A request abandoned before its reply (timeout, dropped future) must not leave its
        // entry behind: the map would grow with every lost reply.
        lock(&self.connection.waiting).replies.remove(&self.request_id);
    }
}

async fn write_frames(socket: OwnedWriteHalf, mut queue: mpsc::Receiver<Frame>, waiting: SharedWaiting) {
    let mut socket = BufWriter::with_capacity(SOCKET_BUFFER_SIZE, socket);
    let result: std::io::Result<()> = async {
        while let Some(frame) = queue.recv().await {
            socket.write_all(&frame).await?;
            // Whatever else is already queued goes out in the same flush.
            while let Ok(frame) = queue.try_recv() {
                socket.write_all(&frame).await?;
            }
            socket.flush().await?;
        }
        socket.shutdown().await
    }
    .await;
    if let Err(error) = result {
        end(&waiting, Lost::from_io(&error, None));
    }
}

async fn read_replies(socket: OwnedReadHalf, waiting: SharedWaiting) {
    let mut socket = BufReader::with_capacity(SOCKET_BUFFER_SIZE, socket);
    let mut header_bytes = [0_u8; HEADER_SIZE];
    let mut body = Vec::new();
    // A status the server sent for no waiting request (e.g. about a frame it could not read)
    // usually explains the close that follows it.
    let mut last_unclaimed_status = None;
    let reason = loop {
        if let Err(error) = socket.read_exact(&mut header_bytes).await {
            break Lost::from_io(&error, last_unclaimed_status);
        }
        let header = match Header::decode(&header_bytes) {
            Ok(header) => header,
            Err(error) => break Lost::Framing(format!("reply header: {error}")),
        };
        let body_len = match usize::try_from(header.body_len) {
            Ok(len) if len <= BODY_MAX => len,
            _ => break Lost::Framing(format!("reply body of {} bytes exceeds {BODY_MAX}", header.body_len)),
        };
        body.clear();
        body.resize(body_len, 0);
        if let Err(error) = socket.read_exact(&mut body).await {
            break Lost::from_io(&error, last_unclaimed_status);
        }
        let answer = decode_reply(&header, &body);
        let reply = lock(&waiting).replies.remove(&header.request_id);
        match reply {
            Some(reply) => {
                // The requester may have given up meanwhile; then the answer has no one to go to.
                let _ = reply.send(Ok(answer));
            }
            None => {
                if let Ok(Err(status)) = answer {
                    last_unclaimed_status = Some(status);
                }
                tracing::debug!(request_id = header.request_id, "reply for a request no longer waiting");
            }
        }
    };
    end(&waiting, reason);
}

/// How long to wait for one connection attempt; exposed for the client's retry loop.
pub(crate) async fn open_with_timeout(
    addr: &str,
    token: Option<&[u8]>,
    queue_frames_max: usize,
    timeout: Duration,
) -> Result<Arc<Connection>, OpenError> {
    match tokio::time::timeout(timeout, Connection::open(addr, token, queue_frames_max)).await {
        Ok(result) => result,
        Err(_) => Err(OpenError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("connecting to {addr} took longer than {timeout:?}"),
        ))),
    }
}
