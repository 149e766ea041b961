//! An account's history: `GET /v1/accounts/{id}/transfers` (from the history index) and
//! `GET /v1/accounts/{id}/balances` (the balance history the writer keeps for accounts with
//! the `history` flag, or the balance as of one timestamp).
//!
//! Both listings page by cursor (`cursor.rs`), so writes between page requests neither lose nor
//! repeat items. Transfer timestamps are unique: a transfers page continues strictly after the
//! last timestamp of the previous one (`PageRequest::filter`). Balance rows may share a
//! timestamp (an expiry row has the timestamp of the pass that released it, which an event of
//! the same batch or another expiry of the same pass also has): a balances page (`BalancePage`)
//! continues *at* the last timestamp and skips the rows of it the cursor counts as seen. Rows
//! of one timestamp keep the order they happened in, in both directions, so the skipped rows
//! are exactly the ones already returned.
//!
//! One case stays inexact, newest first only: a pulse that runs while the wall clock is behind
//! the ledger's clock gives its expiry rows the ledger's current timestamp, which the newest
//! event already has. If that happens between two `desc` page requests at that timestamp, the new
//! row is the newest of the timestamp, the skip counts it, and one row is returned twice (none
//! is lost). Oldest first, the new row comes after the skipped ones and is returned once.

use super::HttpState;
use super::cursor::{Cursor, Listing, Order, RequestedScope, Side};
use super::error::{ApiError, ErrorCode};
use super::params::{PAGE_LIMIT_MAX, PageRequest, PagingParams, PathId, invalid_query, parse_id};
use crate::json::{balance_json, transfer_json};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use ledger_core::{Account, AccountBalance, AccountFilter, AccountFilterFlags, AccountFlags};
use ledger_history::IndexPosition;
use serde_json::{Value, json};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransfersQuery {
    from: Option<u64>,
    to: Option<u64>,
    limit: Option<u64>,
    order: Option<Order>,
    cursor: Option<String>,
    side: Option<Side>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalancesQuery {
    at: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
    limit: Option<u64>,
    order: Option<Order>,
    cursor: Option<String>,
}

pub async fn account_transfers(
    State(state): State<HttpState>,
    id: PathId,
    query: Result<Query<TransfersQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let account_id = parse_id(id)?;
    let Query(query) = query.map_err(|e| invalid_query(&e))?;
    let paging = PagingParams {
        requested: RequestedScope { order: query.order, side: query.side, from: query.from, to: query.to },
        limit: query.limit,
        cursor: query.cursor,
    };
    let page = PageRequest::new(Listing::Transfers, account_id, &paging)?;
    let (transfers, current_to) = match page.filter() {
        Some(filter) => {
            let answer = state.service.get_account_transfers(filter).await?;
            (answer.items, answer.current_to)
        }
        None => (Vec::new(), state.service.index_position()),
    };
    // An empty page may mean "no such account": only then is the writer asked, so a busy
    // listing costs one read, not two.
    if transfers.is_empty() {
        find_account(&state, account_id).await?;
    }
    let next_cursor = page.next_cursor(transfers.len(), transfers.last().map(|t| t.timestamp));
    Ok(Json(json!({
        "transfers": transfers.iter().map(transfer_json).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
        "current_to": position_json(current_to),
    })))
}

pub async fn account_balances(
    State(state): State<HttpState>,
    id: PathId,
    query: Result<Query<BalancesQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let account_id = parse_id(id)?;
    let Query(query) = query.map_err(|e| invalid_query(&e))?;
    let paging = PagingParams {
        requested: RequestedScope { order: query.order, side: None, from: query.from, to: query.to },
        limit: query.limit,
        cursor: query.cursor,
    };
    // Validate the parameters before asking the writer anything.
    let request = match query.at {
        None => BalancesRequest::Page(BalancePage::new(account_id, &paging)?),
        Some(at)
            if paging.requested == RequestedScope::default()
                && paging.limit.is_none()
                && paging.cursor.is_none() =>
        {
            BalancesRequest::At(at)
        }
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::ConflictingParameters,
                "`at` asks for one balance; it does not combine with from, to, limit, order or cursor",
            ));
        }
    };
    let account = find_account(&state, account_id).await?;
    if !account.flags.contains(AccountFlags::HISTORY) {
        return Err(ApiError::new(
            ErrorCode::AccountHasNoHistory,
            "the account was created without the `history` flag, so no balance history is kept",
        ));
    }
    match request {
        BalancesRequest::At(at) => {
            Ok(Json(balance_at_json(balance_at(&state, account_id, at).await?.as_ref())))
        }
        BalancesRequest::Page(page) => {
            let rows = match page.filter() {
                Some(filter) => state.service.get_account_balances(filter).await?,
                None => Vec::new(),
            };
            let (balances, next_cursor) = page.answer(rows)?;
            Ok(Json(json!({
                "balances": balances.iter().map(balance_json).collect::<Vec<_>>(),
                "next_cursor": next_cursor,
            })))
        }
    }
}

/// The two questions `/balances` answers.
enum BalancesRequest {
    /// The balance as of a timestamp (`?at=`).
    At(u64),
    /// A page of the balance history.
    Page(BalancePage),
}

/// One page of the balance history. Rows may share a timestamp (module docs), so a page starts
/// *at* the cursor's timestamp, inclusive, and skips the first `seen_at_timestamp` rows that
/// have it: the ones earlier pages returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BalancePage {
    /// The scope, the cursor's timestamp and the client's `limit`.
    request: PageRequest,
    /// Rows with timestamp `request.after_timestamp` already returned; 0 for a first page.
    seen_at_timestamp: u32,
}

impl BalancePage {
    /// Validates the paging parameters (`PageRequest::new`) and takes the seen count from the
    /// cursor, which `PageRequest` does not carry.
    fn new(account_id: u128, paging: &PagingParams) -> Result<Self, ApiError> {
        let request = PageRequest::new(Listing::Balances, account_id, paging)?;
        let seen_at_timestamp = match &paging.cursor {
            // `PageRequest::new` has decoded this cursor already; decoding again cannot fail.
            Some(text) => {
                Cursor::decode(text)
                    .map_err(|e| ApiError::new(ErrorCode::InvalidCursor, e.to_string()))?
                    .seen_at_timestamp
            }
            None => 0,
        };
        debug_assert_eq!(request.after_timestamp.is_some(), seen_at_timestamp != 0);
        Ok(Self { request, seen_at_timestamp })
    }

    /// Rows to ask the engine for: the page, plus the rows it skips, within one engine read.
    /// At the cap, the page may come back short of `limit` (`answer` then still gives a cursor).
    fn read_limit(&self) -> u32 {
        self.request.limit.saturating_add(self.seen_at_timestamp).min(PAGE_LIMIT_MAX)
    }

    /// The engine filter: the scope's range, from the cursor's timestamp inclusive in the
    /// scope's order, or `None` when that range is empty.
    fn filter(&self) -> Option<AccountFilter> {
        let whole = PageRequest { after_timestamp: None, limit: self.read_limit(), ..self.request };
        let mut filter = whole.filter()?;
        if let Some(after) = self.request.after_timestamp {
            // In the engine's filter, 0 means unbounded on either side; `after` is never 0.
            match self.request.scope.order {
                Order::Asc => filter.timestamp_min = filter.timestamp_min.max(after),
                Order::Desc if filter.timestamp_max == 0 => filter.timestamp_max = after,
                Order::Desc => filter.timestamp_max = filter.timestamp_max.min(after),
            }
            if filter.timestamp_max != 0 && filter.timestamp_min > filter.timestamp_max {
                return None;
            }
        }
        debug_assert!(filter.is_valid());
        Some(filter)
    }

    /// Turns the engine's rows (read with `filter`) into the page and its next cursor.
    ///
    /// # Errors
    /// `invalid_cursor` when every row of a full read had the cursor's timestamp and was
    /// skipped: `PAGE_LIMIT_MAX` or more rows share that timestamp, and one read cannot reach
    /// past them (a filter selects by timestamp, not by position). Answering an empty page
    /// without a cursor would end the listing early; a cursor at the same place would loop.
    fn answer(&self, rows: Vec<AccountBalance>) -> Result<(Vec<AccountBalance>, Option<String>), ApiError> {
        let read_limit = usize::try_from(self.read_limit()).unwrap_or(usize::MAX);
        let limit = usize::try_from(self.request.limit).unwrap_or(usize::MAX);
        let seen = usize::try_from(self.seen_at_timestamp).unwrap_or(usize::MAX);
        let read_full = rows.len() >= read_limit;
        let after = self.request.after_timestamp;
        let skipped = rows.iter().take(seen).take_while(|row| Some(row.timestamp) == after).count();
        // Rows past the page: possible only if fewer rows had the timestamp than the cursor
        // counts, which a cursor this server issued never does (rows are never removed).
        let beyond_page = rows.len().saturating_sub(skipped) > limit;
        let page: Vec<AccountBalance> = rows.into_iter().skip(skipped).take(limit).collect();
        let Some(last) = page.last().map(|row| row.timestamp) else {
            if read_full {
                return Err(ApiError::new(
                    ErrorCode::InvalidCursor,
                    format!(
                        "{PAGE_LIMIT_MAX} or more balance rows share timestamp {}, more than one read \
                         can skip; the listing cannot continue past them",
                        after.unwrap_or_default(),
                    ),
                ));
            }
            return Ok((page, None));
        };
        if !read_full && !beyond_page {
            return Ok((page, None));
        }
        let at_last = page.iter().rev().take_while(|row| row.timestamp == last).count();
        // `at_last` is at most `limit`; the count it continues comes from the client's cursor,
        // so the sum saturates rather than overflow.
        let mut seen_at_timestamp = u32::try_from(at_last).unwrap_or(u32::MAX);
        if after == Some(last) {
            seen_at_timestamp = seen_at_timestamp.saturating_add(self.seen_at_timestamp);
        }
        let cursor = Cursor { scope: self.request.scope, after_timestamp: last, seen_at_timestamp };
        Ok((page, Some(cursor.encode())))
    }
}

/// The newest balance row at or before `at`, or `None` if the account had no transfer by then.
async fn balance_at(
    state: &HttpState,
    account_id: u128,
    at: u64,
) -> Result<Option<AccountBalance>, ApiError> {
    // Timestamps are never 0, and 0 in a filter means "unbounded": nothing is at or before 0.
    if at == 0 {
        return Ok(None);
    }
    let filter = AccountFilter {
        account_id,
        timestamp_max: at,
        limit: 1,
        flags: Side::Both.filter_flags().union(AccountFilterFlags::REVERSED),
        ..AccountFilter::default()
    };
    let balances = state.service.get_account_balances(filter).await?;
    Ok(balances.into_iter().next().filter(|b| b.timestamp <= at))
}

/// The balance as of a timestamp: a balance row, or zero balances with `"timestamp": null`
/// when the account had no transfer at or before it (its balances were all zero then).
fn balance_at_json(balance: Option<&AccountBalance>) -> Value {
    match balance {
        Some(balance) => balance_json(balance),
        None => json!({
            "debits_pending": "0",
            "debits_posted": "0",
            "credits_pending": "0",
            "credits_posted": "0",
            "timestamp": null,
        }),
    }
}

async fn find_account(state: &HttpState, account_id: u128) -> Result<Account, ApiError> {
    let accounts = state.service.lookup_accounts(vec![account_id]).await?;
    accounts.into_iter().next().ok_or(ApiError::bare(ErrorCode::AccountNotFound))
}

/// An index position, its `u64` counters as decimal strings like every `u64` in the API.
pub fn position_json(position: IndexPosition) -> Value {
    json!({ "op": position.op.to_string(), "transfers": position.transfers.to_string() })
}

#[cfg(test)]
mod tests {
    use super::super::cursor::Scope;
    use super::*;

    #[test]
    fn no_balance_at_a_time_is_zero_with_a_null_timestamp() {
        let zero = balance_at_json(None);
        assert_eq!(zero["credits_posted"], "0");
        assert!(zero["timestamp"].is_null());
        let row = AccountBalance { debits_posted: 5, timestamp: 9, ..AccountBalance::default() };
        assert_eq!(balance_at_json(Some(&row)), balance_json(&row));
    }

    const ACCOUNT: u128 = 7;

    fn scope(order: Order, from: u64, to: u64) -> Scope {
        Scope { listing: Listing::Balances, account_id: ACCOUNT, order, side: Side::Both, from, to }
    }

    fn page(order: Order, after: Option<(u64, u32)>, limit: u32) -> BalancePage {
        BalancePage {
            request: PageRequest { scope: scope(order, 0, 0), after_timestamp: after.map(|a| a.0), limit },
            seen_at_timestamp: after.map_or(0, |a| a.1),
        }
    }

    /// Rows at the given timestamps; `debits_posted` numbers them, so that equal timestamps
    /// stay tellable apart.
    fn rows(timestamps: &[u64]) -> Vec<AccountBalance> {
        (1..)
            .zip(timestamps)
            .map(|(n, &timestamp)| AccountBalance {
                debits_posted: n,
                timestamp,
                ..AccountBalance::default()
            })
            .collect()
    }

    fn numbers(page: &[AccountBalance]) -> Vec<u128> {
        page.iter().map(|row| row.debits_posted).collect()
    }

    /// The timestamp and seen count a next cursor continues from.
    fn position(cursor: Option<&String>) -> Option<(u64, u32)> {
        let cursor = Cursor::decode(cursor?).expect("the page's own cursor decodes");
        assert_eq!(cursor.scope.listing, Listing::Balances);
        Some((cursor.after_timestamp, cursor.seen_at_timestamp))
    }

    #[test]
    fn a_continued_page_reads_from_its_timestamp_inclusive_and_the_skipped_rows_too() {
        let first = page(Order::Asc, None, 3).filter().expect("an unbounded range");
        assert_eq!((first.timestamp_min, first.timestamp_max, first.limit), (0, 0, 3));

        let asc = page(Order::Asc, Some((20, 2)), 3);
        let filter = asc.filter().expect("more to read");
        assert_eq!((filter.timestamp_min, filter.timestamp_max, filter.limit), (20, 0, 5));
        let bounded =
            BalancePage { request: PageRequest { scope: scope(Order::Asc, 25, 50), ..asc.request }, ..asc };
        let filter = bounded.filter().expect("more to read");
        assert_eq!((filter.timestamp_min, filter.timestamp_max), (25, 50), "from above the cursor stays");
        let past =
            BalancePage { request: PageRequest { scope: scope(Order::Asc, 0, 19), ..asc.request }, ..asc };
        assert_eq!(past.filter(), None, "the cursor is beyond `to`");

        let desc = page(Order::Desc, Some((20, 1)), 3);
        let filter = desc.filter().expect("more to read");
        assert_eq!((filter.timestamp_min, filter.timestamp_max, filter.limit), (0, 20, 4));
        assert!(filter.is_reversed());
        let bounded = BalancePage {
            request: PageRequest { scope: scope(Order::Desc, 10, 30), ..desc.request },
            ..desc
        };
        let filter = bounded.filter().expect("more to read");
        assert_eq!((filter.timestamp_min, filter.timestamp_max), (10, 20));
        let past =
            BalancePage { request: PageRequest { scope: scope(Order::Desc, 21, 0), ..desc.request }, ..desc };
        assert_eq!(past.filter(), None, "the cursor is below `from`");
        let earliest = page(Order::Desc, Some((1, 1)), 3).filter().expect("rows at timestamp 1 may remain");
        assert_eq!((earliest.timestamp_min, earliest.timestamp_max), (0, 1));
    }

    #[test]
    fn a_tie_split_by_a_page_boundary_is_skipped_once_and_counted_on() {
        // Timestamps 10, 20, 20, 20, 30: a page of 2 ends inside the tie at 20.
        let all = rows(&[10, 20, 20, 20, 30]);
        let (first, cursor) = page(Order::Asc, None, 2).answer(all[..2].to_vec()).expect("a page");
        assert_eq!(numbers(&first), [1, 2]);
        assert_eq!(position(cursor.as_ref()), Some((20, 1)));

        // From 20 inclusive, 2 + 1 rows read: the one seen is skipped.
        let (second, cursor) = page(Order::Asc, Some((20, 1)), 2).answer(all[1..4].to_vec()).expect("a page");
        assert_eq!(numbers(&second), [3, 4]);
        assert_eq!(position(cursor.as_ref()), Some((20, 3)), "still at 20: 1 before plus 2 here");

        let (third, cursor) = page(Order::Asc, Some((20, 3)), 2).answer(all[1..].to_vec()).expect("a page");
        assert_eq!(numbers(&third), [5]);
        assert_eq!(cursor, None, "a short read is the end");

        // Newest first, the same rows reversed.
        let reversed: Vec<AccountBalance> = all.iter().rev().copied().collect();
        let (first, cursor) = page(Order::Desc, None, 2).answer(reversed[..2].to_vec()).expect("a page");
        assert_eq!(numbers(&first), [5, 4]);
        assert_eq!(position(cursor.as_ref()), Some((20, 1)));
        let (second, cursor) =
            page(Order::Desc, Some((20, 1)), 2).answer(reversed[1..4].to_vec()).expect("a page");
        assert_eq!(numbers(&second), [3, 2]);
        assert_eq!(position(cursor.as_ref()), Some((20, 3)));
    }

    #[test]
    fn a_cursor_follows_a_full_read_even_when_the_skip_shortens_the_page() {
        // At the cap, limit + seen rows do not fit one read: the page is one short, and the
        // cursor says the listing goes on.
        let limit = PAGE_LIMIT_MAX;
        let continued = page(Order::Asc, Some((5, 1)), limit);
        assert_eq!(continued.read_limit(), PAGE_LIMIT_MAX);
        let timestamps: Vec<u64> = (5..).take(usize::try_from(PAGE_LIMIT_MAX).expect("fits usize")).collect();
        let (short, cursor) = continued.answer(rows(&timestamps)).expect("a page");
        assert_eq!(short.len() + 1, timestamps.len());
        assert_eq!(position(cursor.as_ref()), Some((5 + u64::from(PAGE_LIMIT_MAX) - 1, 1)));

        // A cursor counting more rows at its timestamp than there are (not one this server
        // issues): nothing beyond the page is dropped without a cursor.
        let (page_rows, cursor) =
            page(Order::Asc, Some((20, 5)), 2).answer(rows(&[20, 30, 40, 50])).expect("a page");
        assert_eq!(numbers(&page_rows), [2, 3]);
        assert_eq!(position(cursor.as_ref()), Some((40, 1)));
    }

    #[test]
    fn a_tie_longer_than_one_read_is_an_error_not_a_loop() {
        let tie = vec![20; usize::try_from(PAGE_LIMIT_MAX).expect("fits usize")];
        // A first page of the tie is fine, and counts it all.
        let (first, cursor) = page(Order::Asc, None, PAGE_LIMIT_MAX).answer(rows(&tie)).expect("a page");
        assert_eq!(first.len(), tie.len());
        assert_eq!(position(cursor.as_ref()), Some((20, PAGE_LIMIT_MAX)));
        // Continuing it: the whole read is skipped rows.
        let error = page(Order::Asc, Some((20, PAGE_LIMIT_MAX)), 1).answer(rows(&tie)).expect_err("stuck");
        assert_eq!(error.code, ErrorCode::InvalidCursor);
        // The same cursor where fewer rows were read: the listing simply ends.
        let (rest, cursor) =
            page(Order::Asc, Some((20, PAGE_LIMIT_MAX)), 1).answer(rows(&[20; 3])).expect("a page");
        assert!(rest.is_empty());
        assert_eq!(cursor, None);
    }
}
