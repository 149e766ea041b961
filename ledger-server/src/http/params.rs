//! Path and query parameters: ids, and the paging parameters of the history listings, turned
//! into the engine's `AccountFilter`.

use super::cursor::{Cursor, Listing, Order, RequestedScope, Scope};
use super::error::{ApiError, ErrorCode};
use axum::extract::Path;
use axum::extract::rejection::{PathRejection, QueryRejection};
use ledger_core::{AccountFilter, AccountFilterFlags, BATCH_EVENTS_MAX};

/// Items per page when the request names no `limit`.
pub const PAGE_LIMIT_DEFAULT: u32 = 100;
/// The most items per page: one engine read answers at most a batch's worth.
pub const PAGE_LIMIT_MAX: u32 = 8189;
const _: () = assert!(PAGE_LIMIT_MAX as usize == BATCH_EVENTS_MAX);
const _: () = assert!(PAGE_LIMIT_DEFAULT <= PAGE_LIMIT_MAX);

/// The `{id}` of a path as axum extracted it (it fails only on bytes that are not UTF-8).
pub type PathId = Result<Path<String>, PathRejection>;

/// Parses the `{id}` of a path; see `parse_id_text`.
pub fn parse_id(id: PathId) -> Result<u128, ApiError> {
    let Path(text) = id.map_err(|e| ApiError::new(ErrorCode::InvalidId, e.body_text()))?;
    parse_id_text(&text)
}

/// Parses a record id: base-10 `u128`, never 0 or `u128::MAX` (no record can have those ids,
/// so asking for them is a mistake rather than a miss).
pub fn parse_id_text(text: &str) -> Result<u128, ApiError> {
    match text.parse::<u128>() {
        Ok(0 | u128::MAX) => Err(ApiError::new(ErrorCode::InvalidId, "ids 0 and 2^128-1 are never valid")),
        Ok(id) => Ok(id),
        Err(e) => Err(ApiError::new(ErrorCode::InvalidId, format!("`{text}` is not a base-10 u128: {e}"))),
    }
}

/// A query string axum could not parse (an unknown parameter, a non-number, ...).
pub fn invalid_query(rejection: &QueryRejection) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, rejection.body_text())
}

/// The paging parameters common to both history listings, as the client sent them.
#[derive(Clone, Debug, Default)]
pub struct PagingParams {
    pub requested: RequestedScope,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// One page to fetch: its listing's scope, where to continue, and how many items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub scope: Scope,
    /// The last timestamp the previous page returned; `None` for a first page.
    pub after_timestamp: Option<u64>,
    pub limit: u32,
}

impl PageRequest {
    /// Validates the parameters of a request for one page of `listing` of `account_id`.
    ///
    /// # Errors
    /// `invalid_limit`, `invalid_range`, `invalid_cursor` or `cursor_mismatch`.
    pub fn new(listing: Listing, account_id: u128, params: &PagingParams) -> Result<Self, ApiError> {
        let limit = match params.limit {
            None => PAGE_LIMIT_DEFAULT,
            Some(limit) => {
                u32::try_from(limit).ok().filter(|l| (1..=PAGE_LIMIT_MAX).contains(l)).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidLimit,
                        format!("limit must be 1..={PAGE_LIMIT_MAX}, got {limit}"),
                    )
                })?
            }
        };
        let requested = params.requested;
        if let (Some(from), Some(to)) = (requested.from, requested.to)
            && from != 0
            && to != 0
            && from > to
        {
            return Err(ApiError::new(ErrorCode::InvalidRange, format!("from ({from}) is after to ({to})")));
        }
        let Some(text) = &params.cursor else {
            let scope = Scope {
                listing,
                account_id,
                order: requested.order.unwrap_or_default(),
                side: requested.side.unwrap_or_default(),
                from: requested.from.unwrap_or(0),
                to: requested.to.unwrap_or(0),
            };
            return Ok(Self { scope, after_timestamp: None, limit });
        };
        let cursor =
            Cursor::decode(text).map_err(|e| ApiError::new(ErrorCode::InvalidCursor, e.to_string()))?;
        let scope = cursor
            .scope
            .merge(listing, account_id, requested)
            .map_err(|e| ApiError::new(ErrorCode::CursorMismatch, e.to_string()))?;
        Ok(Self { scope, after_timestamp: Some(cursor.after_timestamp), limit })
    }

    /// The engine filter for this page, or `None` when the rest of the listing is empty by
    /// construction (the cursor is at the end of the range), so there is nothing to ask.
    #[must_use]
    pub fn filter(&self) -> Option<AccountFilter> {
        let scope = &self.scope;
        // In the engine's filter, 0 means unbounded on either side.
        let (mut min, mut max) = (scope.from, scope.to);
        if let Some(after) = self.after_timestamp {
            match scope.order {
                Order::Asc => min = min.max(after.checked_add(1)?),
                Order::Desc => {
                    // Timestamps are never 0, so "before 1" is empty rather than unbounded.
                    let before = after.checked_sub(1).filter(|&t| t != 0)?;
                    max = if max == 0 { before } else { max.min(before) };
                }
            }
        }
        if min != 0 && max != 0 && min > max {
            return None;
        }
        let mut flags = scope.side.filter_flags();
        if scope.order == Order::Desc {
            flags = flags.union(AccountFilterFlags::REVERSED);
        }
        Some(AccountFilter {
            account_id: scope.account_id,
            timestamp_min: min,
            timestamp_max: max,
            limit: self.limit,
            flags,
            ..AccountFilter::default()
        })
    }

    /// The cursor of the next page: present when this page is full (there may be more), with
    /// the timestamp of the page's last item.
    #[must_use]
    pub fn next_cursor(&self, returned: usize, last_timestamp: Option<u64>) -> Option<String> {
        let full = u32::try_from(returned).is_ok_and(|n| n >= self.limit);
        let after_timestamp = last_timestamp.filter(|_| full)?;
        Some(Cursor { scope: self.scope, after_timestamp, seen_at_timestamp: 1 }.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::super::cursor::Side;
    use super::*;

    fn paging(limit: Option<u64>, cursor: Option<String>) -> PagingParams {
        PagingParams { requested: RequestedScope::default(), limit, cursor }
    }

    #[test]
    fn ids_are_base_10_u128_other_than_0_and_max() {
        assert_eq!(parse_id_text("42"), Ok(42));
        assert_eq!(parse_id_text("340282366920938463463374607431768211454"), Ok(u128::MAX - 1));
        for bad in ["0", "340282366920938463463374607431768211455", "-1", "0x10", "", "1e3", "12a"] {
            assert_eq!(parse_id_text(bad).map_err(|e| e.code), Err(ErrorCode::InvalidId), "{bad}");
        }
    }

    #[test]
    fn limits_default_to_100_and_stop_at_a_batch() {
        let first = |limit| PageRequest::new(Listing::Transfers, 7, &paging(limit, None)).map(|p| p.limit);
        assert_eq!(first(None), Ok(PAGE_LIMIT_DEFAULT));
        assert_eq!(first(Some(1)), Ok(1));
        assert_eq!(first(Some(8189)), Ok(8189));
        for bad in [0, 8190, u64::MAX] {
            assert_eq!(first(Some(bad)).map_err(|e| e.code), Err(ErrorCode::InvalidLimit));
        }
    }

    #[test]
    fn a_first_page_filters_the_requested_range_and_side() {
        let params = PagingParams {
            requested: RequestedScope {
                order: Some(Order::Desc),
                side: Some(Side::Debits),
                from: Some(5),
                to: Some(9),
            },
            limit: Some(3),
            cursor: None,
        };
        let page = PageRequest::new(Listing::Transfers, 7, &params).expect("valid parameters");
        let filter = page.filter().expect("a non-empty range");
        assert_eq!(
            (filter.account_id, filter.timestamp_min, filter.timestamp_max, filter.limit),
            (7, 5, 9, 3)
        );
        assert_eq!(filter.flags, AccountFilterFlags::DEBITS.union(AccountFilterFlags::REVERSED));
        assert!(filter.is_valid());

        let backwards = PagingParams {
            requested: RequestedScope { from: Some(9), to: Some(5), ..RequestedScope::default() },
            ..params
        };
        assert_eq!(
            PageRequest::new(Listing::Transfers, 7, &backwards).map_err(|e| e.code),
            Err(ErrorCode::InvalidRange)
        );
    }

    #[test]
    fn a_cursor_continues_strictly_after_its_timestamp_within_the_range() {
        let scope = Scope {
            listing: Listing::Transfers,
            account_id: 7,
            order: Order::Asc,
            side: Side::Both,
            from: 0,
            to: 50,
        };
        let asc = PageRequest { scope, after_timestamp: Some(20), limit: 10 };
        let filter = asc.filter().expect("more to read");
        assert_eq!((filter.timestamp_min, filter.timestamp_max), (21, 50));
        assert_eq!(PageRequest { after_timestamp: Some(50), ..asc }.filter(), None);
        assert_eq!(PageRequest { after_timestamp: Some(u64::MAX), ..asc }.filter(), None);

        let desc = PageRequest { scope: Scope { order: Order::Desc, from: 10, to: 0, ..scope }, ..asc };
        let filter = desc.filter().expect("more to read");
        assert_eq!((filter.timestamp_min, filter.timestamp_max), (10, 19));
        assert!(filter.is_reversed());
        assert_eq!(PageRequest { after_timestamp: Some(10), ..desc }.filter(), None);
        let unbounded =
            PageRequest { scope: Scope { from: 0, ..desc.scope }, after_timestamp: Some(1), ..desc };
        assert_eq!(unbounded.filter(), None, "nothing precedes timestamp 1");
    }

    #[test]
    fn only_a_full_page_has_a_next_cursor_and_it_round_trips() {
        let params = paging(Some(2), None);
        let page = PageRequest::new(Listing::Balances, 7, &params).expect("valid parameters");
        assert_eq!(page.next_cursor(1, Some(30)), None);
        assert_eq!(page.next_cursor(0, None), None);
        let next = page.next_cursor(2, Some(30)).expect("a full page");
        let follow = PageRequest::new(Listing::Balances, 7, &paging(Some(2), Some(next.clone())))
            .expect("its own cursor");
        assert_eq!(follow.after_timestamp, Some(30));
        assert_eq!(follow.scope, page.scope);

        let elsewhere = PageRequest::new(Listing::Transfers, 7, &paging(None, Some(next)));
        assert_eq!(elsewhere.map_err(|e| e.code), Err(ErrorCode::CursorMismatch));
        let garbage = PageRequest::new(Listing::Balances, 7, &paging(None, Some("zz".into())));
        assert_eq!(garbage.map_err(|e| e.code), Err(ErrorCode::InvalidCursor));
    }
}
