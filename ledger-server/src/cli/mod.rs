//! Client-side commands: `ledger post` (JSON lines in, results out), `ledger lookup` and
//! `ledger follow` (the change feed, JSON lines out), and `ledger export` (finance exports).
//!
//! `post`, `lookup` and `follow` talk to a running server through `ledger-client` on the binary
//! protocol; the JSON they read and print has the HTTP API's shapes (`json.rs`, the journal's
//! entries). `export` reads the HTTP API's export routes.

pub mod export;
pub mod follow;
pub mod lookup;
pub mod post;
pub mod post_line;

use ledger_client::ClientConfig;
use std::path::Path;

/// The client configuration for `addr`, with the token from `token_file` if one is given. The
/// file holds the token as-is; trailing whitespace (a final newline) is not part of it.
fn client_config(addr: &str, token_file: Option<&Path>) -> Result<ClientConfig, String> {
    let config = ClientConfig::new(addr);
    let Some(path) = token_file else {
        return Ok(config);
    };
    Ok(config.with_token(read_token_file(path)?))
}

/// The token in a token file (see `client_config`); also `ledger export`'s bearer token.
fn read_token_file(path: &Path) -> Result<Vec<u8>, String> {
    let mut token =
        std::fs::read(path).map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    let len = token.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |last| last + 1);
    token.truncate(len);
    if token.is_empty() {
        return Err(format!("the token file {} is empty", path.display()));
    }
    Ok(token)
}

/// A single-threaded runtime: the commands send one request at a time and wait for it.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_file_loses_its_trailing_newline_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, b" s3cret token\r\n").expect("write token");
        let config = client_config("127.0.0.1:1", Some(&path)).expect("token read");
        assert_eq!(config.token.as_deref(), Some(&b" s3cret token"[..]));
        assert_eq!(config.addr, "127.0.0.1:1");
    }

    #[test]
    fn an_empty_or_missing_token_file_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, b"\n").expect("write token");
        assert!(client_config("a:1", Some(&path)).expect_err("empty").contains("is empty"));
        assert!(
            client_config("a:1", Some(&dir.path().join("nope")))
                .expect_err("missing")
                .contains("cannot read")
        );
        assert_eq!(client_config("a:1", None).expect("no token file").token, None);
    }
}
