//! The HTTP client of `ledger-bench`'s read load: `GET` requests on one keep-alive connection,
//! one at a time (hyper's connection-level HTTP/1.1 client, no pool), so that the latency
//! measured is the server's, not a pool's: no retries, no redirects.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("HTTP connection to {addr}: {source}")]
    Http { addr: String, source: hyper::Error },
    #[error("bad request for {path}: {source}")]
    Request { path: String, source: hyper::http::Error },
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One keep-alive connection; reconnects by itself after an error or a closed connection.
#[derive(Debug)]
pub struct HttpConnection {
    addr: String,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl HttpConnection {
    /// Connects to `addr` (`host:port`).
    ///
    /// # Errors
    /// The connection is refused.
    pub async fn connect(addr: &str) -> Result<Self, HttpError> {
        let sender = Self::open(addr).await?;
        Ok(Self { addr: addr.to_owned(), sender: Some(sender) })
    }

    async fn open(addr: &str) -> Result<SendRequest<Empty<Bytes>>, HttpError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| HttpError::Connect { addr: addr.to_owned(), source })?;
        // Requests are small and sent whole: do not let Nagle hold them back.
        stream.set_nodelay(true).map_err(|source| HttpError::Connect { addr: addr.to_owned(), source })?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| HttpError::Http { addr: addr.to_owned(), source })?;
        // The connection task ends when the sender is dropped or the server closes.
        tokio::spawn(connection);
        Ok(sender)
    }

    /// `GET path` and its complete response. After an error the connection is dropped and the
    /// next request opens a new one.
    ///
    /// # Errors
    /// The connection cannot be (re)opened, or fails mid-request or mid-response.
    pub async fn get(&mut self, path: &str) -> Result<Response, HttpError> {
        let mut sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => Self::open(&self.addr).await?,
        };
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, &self.addr)
            .body(Empty::<Bytes>::new())
            .map_err(|source| HttpError::Request { path: path.to_owned(), source })?;
        let http = |source| HttpError::Http { addr: self.addr.clone(), source };
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(http)?.to_bytes().to_vec();
        self.sender = Some(sender);
        Ok(Response { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-connection server answering each request with `body`, closing after `answers`.
    async fn server(body: &'static str, answers: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut buffer = vec![0_u8; 4096];
            for _ in 0..answers {
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buffer).await.expect("read");
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buffer[..n]);
                }
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                stream.write_all(head.as_bytes()).await.expect("write");
                stream.write_all(body.as_bytes()).await.expect("write");
            }
        });
        addr
    }

    #[tokio::test]
    async fn requests_reuse_one_connection_and_read_whole_bodies() {
        let addr = server(r#"{"transfers":[]}"#, 2).await;
        let mut connection = HttpConnection::connect(&addr).await.expect("connect");
        for _ in 0..2 {
            let response = connection.get("/v1/accounts/1").await.expect("answered");
            assert_eq!((response.status, response.body.as_slice()), (200, &br#"{"transfers":[]}"#[..]));
        }
        // The server closed after two answers on its only connection: the third request fails
        // (it does not silently reconnect mid-request), and the one after opens a new connection,
        // which the server does not accept.
        assert!(connection.get("/v1/accounts/1").await.is_err());
    }
}
