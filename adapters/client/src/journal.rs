//! The change feed on the client side: a page of journal entries (`Client::read_journal`) and
//! `JournalFollower`, which keeps the cursor and yields entries one by one, in commit order.
//!
//! A page is the JSON document of `GET /v1/journal` (`docs/http.md`, `docs/protocol.md`
//! "read_journal"). The client reads only what following needs, each entry's cursor
//! (`last_timestamp`) and the page's `next_after`, checks that cursors strictly increase past the
//! request's, and hands every entry over whole, as the server sent it.

use crate::client::Client;
use crate::error::ClientError;
use serde_json::Value;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// Transfers per page a follower asks for by default: a page of them fits a reply body.
pub const FOLLOW_LIMIT_DEFAULT: u32 = 1024;
/// How long each of a follower's reads may wait on the server for something new.
pub const FOLLOW_WAIT_DEFAULT: Duration = Duration::from_secs(10);

/// One journal entry: its cursor and the entry as the server sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    /// The entry's `last_timestamp`. Reading after it resumes right after this entry.
    pub cursor: u64,
    /// The whole entry (`kind`, `transfers`, `first_timestamp`, `last_timestamp`, ...).
    pub json: Value,
}

/// One page of the change feed.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalPage {
    /// Whole entries, in commit order; empty when nothing came after the cursor in time.
    pub entries: Vec<JournalEntry>,
    /// Where the next read starts: the last entry's cursor, or the request's `after`.
    pub next_after: u64,
    /// The history index's position when it answered (`{"op", "transfers"}`).
    pub current_to: Value,
}

impl JournalPage {
    /// Parses a page read after `after`, checking the cursors: each entry's is a decimal u64
    /// past the previous one (the first past `after`), and `next_after` is the last of them
    /// (`after` when there is none).
    ///
    /// # Errors
    /// `MalformedJournal` saying what is wrong.
    pub fn parse(after: u64, bytes: &[u8]) -> Result<Self, ClientError> {
        let malformed = |what: String| ClientError::MalformedJournal(what);
        let mut page: Value =
            serde_json::from_slice(bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
        let Some(fields) = page.as_object_mut() else {
            return Err(malformed("not a JSON object".to_owned()));
        };
        let next_after = decimal(fields.get("next_after"))
            .ok_or_else(|| malformed("`next_after` is not a decimal u64 string".to_owned()))?;
        let current_to = fields.remove("current_to").unwrap_or(Value::Null);
        let Some(Value::Array(raw)) = fields.remove("entries") else {
            return Err(malformed("`entries` is not an array".to_owned()));
        };
        let mut entries = Vec::with_capacity(raw.len());
        let mut previous = after;
        for (index, json) in raw.into_iter().enumerate() {
            let cursor = decimal(json.get("last_timestamp"))
                .ok_or_else(|| malformed(format!("entry {index}: `last_timestamp` is not a decimal u64")))?;
            if cursor <= previous {
                return Err(malformed(format!("entry {index}: cursor {cursor} does not follow {previous}")));
            }
            previous = cursor;
            entries.push(JournalEntry { cursor, json });
        }
        if next_after != previous {
            return Err(malformed(format!("`next_after` is {next_after}, the last cursor {previous}")));
        }
        Ok(Self { entries, next_after, current_to })
    }
}

fn decimal(value: Option<&Value>) -> Option<u64> {
    value?.as_str()?.parse().ok()
}

/// Follows the change feed from a cursor: yields every journal entry after it exactly once, in
/// commit order, waiting on the server (not polling) for new ones.
///
/// The follower keeps the cursor of the last entry it returned (`cursor`). A consumer stores
/// that cursor together with what it derived from the entries; after a restart,
/// `JournalFollower::new(client, stored_cursor)` resumes right after the last entry processed,
/// with nothing lost or repeated. Lost connections are the client's to retry (the read is
/// resent as it was); an error (e.g. `GaveUp` after a long outage) leaves the follower as it
/// was, so calling `next` again resumes.
#[derive(Debug)]
pub struct JournalFollower {
    client: Client,
    cursor: u64,
    limit: u32,
    wait: Duration,
    /// Entries of the last page not yet returned. Reads happen only when it is empty, so the
    /// next read starts at `cursor`.
    buffered: VecDeque<JournalEntry>,
}

impl JournalFollower {
    /// A follower starting after `after` (0: from the first entry).
    #[must_use]
    pub fn new(client: Client, after: u64) -> Self {
        Self {
            client,
            cursor: after,
            limit: FOLLOW_LIMIT_DEFAULT,
            wait: FOLLOW_WAIT_DEFAULT,
            buffered: VecDeque::new(),
        }
    }

    /// Transfers per page (the server caps it and cuts pages to fit a reply body).
    #[must_use]
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit.max(1);
        self
    }

    /// How long one read may wait on the server (at most `READ_JOURNAL_WAIT_MS_MAX`). Zero makes
    /// every read answer at once: polling, for tests.
    #[must_use]
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The cursor of the last entry returned, or the starting cursor.
    #[must_use]
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Entries already read and not yet returned: the next call returns one of them without
    /// asking the server (a printer flushes when this is 0, before the follower may wait).
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buffered.len()
    }

    /// The next entry, waiting as long as it takes (reads of `wait` each, back to back).
    ///
    /// # Errors
    /// Any `ClientError` of `read_journal`; the follower is unchanged and may be called again.
    pub async fn next(&mut self) -> Result<JournalEntry, ClientError> {
        loop {
            if let Some(entry) = self.pop() {
                return Ok(entry);
            }
            self.read(self.wait).await?;
        }
    }

    /// The next entry, or `None` if none came within `idle`.
    ///
    /// # Errors
    /// As `next`.
    pub async fn next_within(&mut self, idle: Duration) -> Result<Option<JournalEntry>, ClientError> {
        let deadline = Instant::now() + idle;
        loop {
            if let Some(entry) = self.pop() {
                return Ok(Some(entry));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            self.read(left.min(self.wait)).await?;
            if self.buffered.is_empty() && Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    fn pop(&mut self) -> Option<JournalEntry> {
        let entry = self.buffered.pop_front()?;
        self.cursor = entry.cursor;
        Some(entry)
    }

    /// Reads the page after the cursor into the buffer (empty when this is called).
    async fn read(&mut self, wait: Duration) -> Result<(), ClientError> {
        let page = self.client.read_journal(self.cursor, self.limit, wait).await?;
        self.buffered.extend(page.entries);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(after: u64, page: &str) -> Result<JournalPage, ClientError> {
        JournalPage::parse(after, page.as_bytes())
    }

    #[test]
    fn a_page_yields_its_entries_with_their_cursors() {
        let page = parse(
            5,
            r#"{"entries":[{"kind":"transfer","last_timestamp":"7"},{"kind":"event","last_timestamp":"9","x":1}],
                "next_after":"9","current_to":{"op":"3","transfers":"2"}}"#,
        )
        .expect("a valid page");
        assert_eq!(page.entries.iter().map(|e| e.cursor).collect::<Vec<_>>(), [7, 9]);
        assert_eq!(page.entries[1].json["x"], 1, "entries are handed over whole");
        assert_eq!((page.next_after, page.current_to["op"].as_str()), (9, Some("3")));
        let empty = parse(5, r#"{"entries":[],"next_after":"5"}"#).expect("an empty page");
        assert!(empty.entries.is_empty() && empty.current_to.is_null());
    }

    #[test]
    fn cursors_that_do_not_move_forward_are_refused() {
        for bad in [
            r#"{"entries":[{"last_timestamp":"5"}],"next_after":"5"}"#,
            r#"{"entries":[{"last_timestamp":"7"},{"last_timestamp":"6"}],"next_after":"6"}"#,
            r#"{"entries":[{"last_timestamp":"7"}],"next_after":"8"}"#,
            r#"{"entries":[],"next_after":"4"}"#,
            r#"{"entries":[{"last_timestamp":7}],"next_after":"7"}"#,
            r#"{"entries":{},"next_after":"5"}"#,
            r#"{"entries":[]}"#,
            r#"[]"#,
            "not json",
        ] {
            assert!(matches!(parse(5, bad), Err(ClientError::MalformedJournal(_))), "{bad}");
        }
    }
}
