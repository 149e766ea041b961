//! The status of a reply: `ok`, or why the server did not execute the request. Per-event outcomes
//! are not statuses: they are result codes inside an `ok` reply (`docs/result-codes.md`).

macro_rules! statuses {
    ($($(#[$meta:meta])* $variant:ident = $code:literal => $name:literal,)+) => {
        /// The status of a reply. The numbers are part of the protocol and never change meaning.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Status {
            $($(#[$meta])* $variant = $code,)+
        }

        impl Status {
            /// Every status, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The wire number.
            #[must_use]
            pub const fn code(self) -> u16 {
                self as u16
            }

            /// `None` for numbers this version does not know.
            #[must_use]
            pub const fn from_code(code: u16) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The snake_case name used in logs, metrics and docs.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }
    };
}

statuses! {
    /// Executed; the body holds the answer.
    Ok = 0 => "ok",
    /// The request's `version` is not one this server speaks.
    UnsupportedVersion = 1 => "unsupported_version",
    UnknownOperation = 2 => "unknown_operation",
    BodyChecksumMismatch = 3 => "body_checksum_mismatch",
    /// `body_len != event_count × event size`, or a single-record operation without exactly one.
    BodySizeMismatch = 4 => "body_size_mismatch",
    /// More records than the operation allows (`BATCH_EVENTS_MAX`, or `TOKEN_MAX` for `hello`).
    TooManyEvents = 5 => "too_many_events",
    /// `body_len > BODY_MAX`.
    FrameTooLarge = 6 => "frame_too_large",
    /// No `hello` with the server's token came first on this connection.
    Unauthorized = 7 => "unauthorized",
    /// Try again later (e.g. the disk is full).
    Unavailable = 8 => "unavailable",
    ShuttingDown = 9 => "shutting_down",
    /// The engine refused the whole batch (e.g. its timestamps would pass the clock's end).
    BatchRejected = 10 => "batch_rejected",
    /// The writer stopped; nothing more will be written.
    ServerFailed = 11 => "server_failed",
    /// Too many requests in flight.
    Overloaded = 12 => "overloaded",
    /// A frame that is not a request was sent to the server.
    InvalidKind = 13 => "invalid_kind",
    /// Non-zero reserved header bytes (or a non-zero status in a request).
    ReservedBytesSet = 14 => "reserved_bytes_set",
}

impl Status {
    /// Whether the server closes the connection after sending this status: after these, the
    /// rest of the byte stream cannot be trusted (an unknown version or kind, a body too large to
    /// skip) or the peer is not allowed to continue (unauthorized).
    #[must_use]
    pub const fn closes_connection(self) -> bool {
        matches!(
            self,
            Self::UnsupportedVersion | Self::FrameTooLarge | Self::Unauthorized | Self::InvalidKind
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_dense_stable_and_round_trip() {
        for (code, status) in Status::ALL.iter().enumerate() {
            assert_eq!(usize::from(status.code()), code);
            assert_eq!(Status::from_code(status.code()), Some(*status));
        }
        assert_eq!(Status::ALL.len(), 15);
        assert_eq!(Status::from_code(15), None);
        assert_eq!(Status::BodySizeMismatch.name(), "body_size_mismatch");
        assert_eq!(Status::ReservedBytesSet.to_string(), "reserved_bytes_set");
    }

    #[test]
    fn only_untrustworthy_streams_and_unauthorized_peers_close_the_connection() {
        let closing: Vec<u16> =
            Status::ALL.iter().filter(|s| s.closes_connection()).map(|s| s.code()).collect();
        assert_eq!(closing, [1, 6, 7, 13]);
    }
}
