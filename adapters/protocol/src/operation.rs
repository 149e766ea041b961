//! The operations a request can ask for, and the size of their records in each direction.

use ledger_core::query::{ACCOUNT_BALANCE_SIZE, ACCOUNT_FILTER_SIZE, QUERY_FILTER_SIZE};
use ledger_core::{ACCOUNT_SIZE, BATCH_EVENTS_MAX, TRANSFER_SIZE};

use crate::header::BODY_MAX;

/// The longest `hello` token, in bytes.
pub const TOKEN_MAX: usize = 256;

/// An id in a lookup body: a little-endian u128.
pub const ID_SIZE: usize = 16;
/// One failed event in a `create_*` or `post_events` reply: `index u32, result u32`.
pub const EVENT_RESULT_SIZE: usize = 8;

/// The longest event of a `post_events` request, in bytes of JSON: the longest line `ledger post`
/// reads, so that any line it accepts fits in one event.
pub const EVENT_JSON_MAX: usize = 64 * 1024;
/// The length prefix of each `post_events` entry: a little-endian u32.
pub const EVENT_LENGTH_SIZE: usize = 4;
/// The one record of a `read_journal` request (`journal_read.rs`).
pub const JOURNAL_READ_SIZE: usize = 16;

/// The operation byte of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Operation {
    /// Authenticates the connection; the body is the token.
    Hello = 0,
    CreateAccounts = 1,
    CreateTransfers = 2,
    LookupAccounts = 3,
    LookupTransfers = 4,
    GetAccountTransfers = 5,
    GetAccountBalances = 6,
    QueryAccounts = 7,
    QueryTransfers = 8,
    /// Standard ledger events as JSON (`docs/events.md`), each length-prefixed.
    PostEvents = 9,
    /// One page of the change feed after a cursor, waiting for something new; the reply is the
    /// page as JSON (`journal_read.rs`).
    ReadJournal = 10,
}

impl Operation {
    pub const ALL: [Self; 11] = [
        Self::Hello,
        Self::CreateAccounts,
        Self::CreateTransfers,
        Self::LookupAccounts,
        Self::LookupTransfers,
        Self::GetAccountTransfers,
        Self::GetAccountBalances,
        Self::QueryAccounts,
        Self::QueryTransfers,
        Self::PostEvents,
        Self::ReadJournal,
    ];

    #[must_use]
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Hello),
            1 => Some(Self::CreateAccounts),
            2 => Some(Self::CreateTransfers),
            3 => Some(Self::LookupAccounts),
            4 => Some(Self::LookupTransfers),
            5 => Some(Self::GetAccountTransfers),
            6 => Some(Self::GetAccountBalances),
            7 => Some(Self::QueryAccounts),
            8 => Some(Self::QueryTransfers),
            9 => Some(Self::PostEvents),
            10 => Some(Self::ReadJournal),
            _ => None,
        }
    }

    /// The wire byte.
    #[must_use]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The snake_case name used in logs, metrics and docs.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Hello => "hello",
            Self::CreateAccounts => "create_accounts",
            Self::CreateTransfers => "create_transfers",
            Self::LookupAccounts => "lookup_accounts",
            Self::LookupTransfers => "lookup_transfers",
            Self::GetAccountTransfers => "get_account_transfers",
            Self::GetAccountBalances => "get_account_balances",
            Self::QueryAccounts => "query_accounts",
            Self::QueryTransfers => "query_transfers",
            Self::PostEvents => "post_events",
            Self::ReadJournal => "read_journal",
        }
    }

    /// Bytes of one record in a request body (a `hello` token counts one event per byte), or
    /// `None` for `post_events`, whose events are length-prefixed JSON of any size up to
    /// `EVENT_JSON_MAX`.
    #[must_use]
    pub const fn request_event_size(self) -> Option<usize> {
        Some(match self {
            Self::Hello => 1,
            Self::CreateAccounts => ACCOUNT_SIZE,
            Self::CreateTransfers => TRANSFER_SIZE,
            Self::LookupAccounts | Self::LookupTransfers => ID_SIZE,
            Self::GetAccountTransfers | Self::GetAccountBalances => ACCOUNT_FILTER_SIZE,
            Self::QueryAccounts | Self::QueryTransfers => QUERY_FILTER_SIZE,
            Self::ReadJournal => JOURNAL_READ_SIZE,
            Self::PostEvents => return None,
        })
    }

    /// Bytes of one record in a successful reply body (0 for `hello`, whose reply is empty; 1
    /// for `read_journal`, whose reply is JSON counted in bytes).
    #[must_use]
    pub const fn reply_event_size(self) -> usize {
        match self {
            Self::Hello => 0,
            Self::ReadJournal => 1,
            Self::CreateAccounts | Self::CreateTransfers | Self::PostEvents => EVENT_RESULT_SIZE,
            Self::LookupAccounts | Self::QueryAccounts => ACCOUNT_SIZE,
            Self::LookupTransfers | Self::GetAccountTransfers | Self::QueryTransfers => TRANSFER_SIZE,
            Self::GetAccountBalances => ACCOUNT_BALANCE_SIZE,
        }
    }

    /// Whether a request carries exactly one record (a filter), no more and no fewer.
    #[must_use]
    pub const fn is_single_record(self) -> bool {
        matches!(
            self,
            Self::GetAccountTransfers
                | Self::GetAccountBalances
                | Self::QueryAccounts
                | Self::QueryTransfers
                | Self::ReadJournal
        )
    }

    /// The most records a request may carry: a batch for the batch operations, one filter for the
    /// queries, `TOKEN_MAX` token bytes for `hello`.
    #[must_use]
    pub const fn request_events_max(self) -> usize {
        match self {
            Self::Hello => TOKEN_MAX,
            Self::CreateAccounts
            | Self::CreateTransfers
            | Self::LookupAccounts
            | Self::LookupTransfers
            | Self::PostEvents => BATCH_EVENTS_MAX,
            Self::GetAccountTransfers
            | Self::GetAccountBalances
            | Self::QueryAccounts
            | Self::QueryTransfers
            | Self::ReadJournal => 1,
        }
    }

    /// The most records a successful reply may carry: a query never answers more than a batch,
    /// and a `read_journal` page (bytes of JSON) at most a body.
    #[must_use]
    pub const fn reply_events_max(self) -> usize {
        match self {
            Self::Hello => 0,
            Self::ReadJournal => BODY_MAX,
            _ => BATCH_EVENTS_MAX,
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_bytes_are_stable_and_round_trip() {
        for (byte, operation) in Operation::ALL.iter().enumerate() {
            assert_eq!(usize::from(operation.code()), byte);
            assert_eq!(Operation::from_u8(operation.code()), Some(*operation));
        }
        assert_eq!(Operation::from_u8(11), None);
        assert_eq!(Operation::from_u8(255), None);
        assert_eq!(Operation::PostEvents.name(), "post_events");
        assert_eq!(Operation::ReadJournal.name(), "read_journal");
        assert_eq!(Operation::CreateTransfers.name(), "create_transfers");
        assert_eq!(Operation::QueryAccounts.to_string(), "query_accounts");
    }

    #[test]
    fn every_full_request_and_reply_fits_in_a_frame() {
        for operation in Operation::ALL {
            // A full batch of `post_events` may not fit (the client splits by bytes too), but
            // its largest single event must, and so must a batch of its smallest events.
            let request = operation
                .request_event_size()
                .map_or(EVENT_LENGTH_SIZE + EVENT_JSON_MAX, |size| operation.request_events_max() * size);
            let reply = operation.reply_events_max() * operation.reply_event_size();
            assert!(request <= BODY_MAX, "{operation}: {request}");
            assert!(reply <= BODY_MAX, "{operation}: {reply}");
        }
        assert!(Operation::PostEvents.request_events_max() * EVENT_LENGTH_SIZE <= BODY_MAX);
        assert_eq!(Operation::CreateTransfers.request_events_max() * TRANSFER_SIZE, BODY_MAX);
    }
}
