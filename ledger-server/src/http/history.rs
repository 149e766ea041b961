//! An account's history: `GET /v1/accounts/{id}/transfers` (from the history index) and
//! `GET /v1/accounts/{id}/balances` (the balance history the writer keeps for accounts with
//! the `history` flag, or the balance as of one timestamp).
//!
//! Both listings page by cursor (`cursor.rs`): a page continues strictly after the last
//! timestamp of the previous one, so writes between page requests neither lose nor repeat
//! items.

use super::HttpState;
use super::cursor::{Listing, Order, RequestedScope, Side};
use super::error::{ApiError, ErrorCode};
use super::params::{PageRequest, PagingParams, PathId, invalid_query, parse_id};
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
        None => BalancesRequest::Page(PageRequest::new(Listing::Balances, account_id, &paging)?),
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
            let balances = match page.filter() {
                Some(filter) => state.service.get_account_balances(filter).await?,
                None => Vec::new(),
            };
            let next_cursor = page.next_cursor(balances.len(), balances.last().map(|b| b.timestamp));
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
    Page(PageRequest),
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
    use super::*;

    #[test]
    fn no_balance_at_a_time_is_zero_with_a_null_timestamp() {
        let zero = balance_at_json(None);
        assert_eq!(zero["credits_posted"], "0");
        assert!(zero["timestamp"].is_null());
        let row = AccountBalance { debits_posted: 5, timestamp: 9, ..AccountBalance::default() };
        assert_eq!(balance_at_json(Some(&row)), balance_json(&row));
    }
}
