//! `GET /v1/accounts/{id}/balances`: balance rows can share a timestamp (the expiry rows of
//! pending transfers released by one expiry pass, and a transfer of the batch that pass ran
//! before), and paging across such a tie returns every row exactly once, in order, whatever the
//! page size and direction.

use super::{Fixture, account, get_ok, pending, transfer, u64_field};
use ledger_core::{AccountBalance, AccountFilter, AccountFilterFlags, AccountFlags, Transfer};
use serde_json::Value;
use std::time::Duration;

const TRACKED: u128 = 1;
const PLAIN: u128 = 2;
/// The pending transfers' timeout, in seconds (the smallest there is).
const TIMEOUT_SECONDS: u32 = 1;
/// Longer than the timeout, so the deadlines have passed when the next batch comes.
const PAST_THE_DEADLINE: Duration = Duration::from_millis(1_200);
/// Bounds the paging loops: far more pages than the history has rows.
const PAGES_MAX: usize = 50;

/// TRACKED's history: a transfer, two pending transfers (one debit, one credit) that expire,
/// then a batch of two transfers and a last transfer. Both expiries happen in one expiry pass:
/// the writer's pulse at the first deadline (which also passes the second, 1 ns later), or,
/// if the batch arrives first, the pass before that batch's events, which gives them the first
/// event's timestamp. Either way two or three rows share a timestamp.
async fn fixture_with_a_tie() -> Fixture {
    let fixture = Fixture::open();
    fixture
        .create_accounts(vec![account(TRACKED, AccountFlags::HISTORY), account(PLAIN, AccountFlags::NONE)])
        .await;
    fixture.create_transfers(vec![transfer(1, TRACKED, PLAIN, 100)]).await;
    fixture
        .create_transfers(vec![
            Transfer { timeout: TIMEOUT_SECONDS, ..pending(2, TRACKED, PLAIN, 3) },
            Transfer { timeout: TIMEOUT_SECONDS, ..pending(3, PLAIN, TRACKED, 4) },
        ])
        .await;
    tokio::time::sleep(PAST_THE_DEADLINE).await;
    fixture.create_transfers(vec![transfer(4, PLAIN, TRACKED, 5), transfer(5, TRACKED, PLAIN, 6)]).await;
    fixture.create_transfers(vec![transfer(6, PLAIN, TRACKED, 7)]).await;
    fixture
}

/// The whole history as the service answers it, oldest first.
async fn service_rows(fixture: &Fixture) -> Vec<AccountBalance> {
    let filter = AccountFilter {
        account_id: TRACKED,
        limit: 8189,
        flags: AccountFilterFlags::DEBITS.union(AccountFilterFlags::CREDITS),
        ..AccountFilter::default()
    };
    fixture.service().get_account_balances(filter).await.expect("the service answers")
}

fn balances(page: &Value) -> Vec<Value> {
    page["balances"].as_array().expect("`balances` is an array").clone()
}

/// Every row of the listing `query` names, following `next_cursor` page by page.
async fn walk(fixture: &Fixture, query: &str) -> Vec<Value> {
    let router = fixture.router();
    let mut rows = Vec::new();
    let mut uri = format!("/v1/accounts/{TRACKED}/balances?{query}");
    for _ in 0..PAGES_MAX {
        let page = get_ok(&router, &uri).await;
        rows.extend(balances(&page));
        let Some(cursor) = page["next_cursor"].as_str() else { return rows };
        uri = format!("/v1/accounts/{TRACKED}/balances?{query}&cursor={cursor}");
    }
    panic!("the listing `{query}` did not end within {PAGES_MAX} pages");
}

#[tokio::test]
async fn pages_across_rows_of_one_timestamp_return_each_row_once_in_order() {
    let fixture = fixture_with_a_tie().await;
    let rows = service_rows(&fixture).await;

    // The tie exists: rows 4 and 5 are the expiries of transfers 2 and 3 (in deadline order),
    // released by one pass, so they share its timestamp (as does transfer 4's row if the pass
    // was the one before its batch).
    assert_eq!(rows.len(), 8, "6 transfers of TRACKED and 2 expiries: {rows:?}");
    assert!(rows.windows(2).all(|w| w[0].timestamp <= w[1].timestamp), "never decreasing: {rows:?}");
    let pending_after = |r: &AccountBalance| (r.debits_pending, r.credits_pending);
    assert_eq!(
        rows[..5].iter().map(pending_after).collect::<Vec<_>>(),
        [(0, 0), (3, 0), (3, 4), (0, 4), (0, 0)]
    );
    assert_eq!(rows[3].timestamp, rows[4].timestamp, "one expiry pass released both: {rows:?}");
    let timeout_ns = u64::from(TIMEOUT_SECONDS) * 1_000_000_000;
    assert!(rows[3].timestamp >= rows[2].timestamp + timeout_ns, "released at or after the deadline");

    let router = fixture.router();
    let unpaged = balances(&get_ok(&router, &format!("/v1/accounts/{TRACKED}/balances?limit=8189")).await);
    let stamps: Vec<u64> = unpaged.iter().map(|b| u64_field(b, "timestamp")).collect();
    assert_eq!(stamps, rows.iter().map(|r| r.timestamp).collect::<Vec<_>>(), "HTTP lists the service's rows");
    assert!(unpaged.windows(2).all(|w| w[0] != w[1]), "rows of one timestamp differ in their balances");
    let newest_first: Vec<Value> = unpaged.iter().rev().cloned().collect();

    for limit in 1..=4 {
        assert_eq!(walk(&fixture, &format!("limit={limit}")).await, unpaged, "asc, limit {limit}");
        assert_eq!(
            walk(&fixture, &format!("limit={limit}&order=desc")).await,
            newest_first,
            "desc, limit {limit}"
        );
    }
}

#[tokio::test]
async fn the_balance_at_a_tied_timestamp_is_the_last_row_of_it() {
    let fixture = fixture_with_a_tie().await;
    let rows = service_rows(&fixture).await;
    // The tie's last row: the second expiry, or transfer 4 if it shares the timestamp too.
    let tie_at = rows[3].timestamp;
    let last_of_tie = *rows.iter().rfind(|r| r.timestamp == tie_at).expect("the tie's rows exist");
    let at =
        get_ok(&fixture.router(), &format!("/v1/accounts/{TRACKED}/balances?at={}", last_of_tie.timestamp))
            .await;
    assert_eq!(at, crate::json::balance_json(&last_of_tie));
}
