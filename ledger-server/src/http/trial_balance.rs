//! `GET /v1/ledgers/{id}/trial-balance?at=T` (`{id}`: the ledger): per account code, the posted debits and
//! credits of the ledger's accounts at ledger timestamp T, the balance on the code's normal
//! side, and the totals (`crate::trial_balance`, `docs/http.md`).
//!
//! A ledger with no posted transfer (or unknown altogether) answers empty rows. Debits that do
//! not equal credits answer 500 `failed` (logged), never a wrong trial balance.

use super::HttpState;
use super::error::{ApiError, ErrorCode};
use super::params::invalid_query;
use crate::trial_balance::{TrialBalance, TrialBalanceError, TrialBalanceRow, trial_balance as build};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialBalanceQuery {
    at: Option<u64>,
}

pub async fn trial_balance(
    State(state): State<HttpState>,
    ledger: Result<Path<String>, PathRejection>,
    query: Result<Query<TrialBalanceQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let ledger = parse_ledger(ledger)?;
    let Query(query) = query.map_err(|e| invalid_query(&e))?;
    let balance = build(&state.service, ledger, query.at).await.map_err(|error| match error {
        TrialBalanceError::Service(error) => ApiError::from(error),
        other => ApiError::new(ErrorCode::Failed, other.to_string()),
    })?;
    Ok(Json(trial_balance_json(&balance)))
}

/// A ledger id: base-10 `u32`, never 0 (no account or transfer has ledger 0).
fn parse_ledger(ledger: Result<Path<String>, PathRejection>) -> Result<u32, ApiError> {
    let Path(text) = ledger.map_err(|e| ApiError::new(ErrorCode::InvalidId, e.body_text()))?;
    match text.parse::<u32>() {
        Ok(0) => Err(ApiError::new(ErrorCode::InvalidId, "ledger 0 is never valid")),
        Ok(ledger) => Ok(ledger),
        Err(e) => Err(ApiError::new(ErrorCode::InvalidId, format!("`{text}` is not a base-10 u32: {e}"))),
    }
}

/// The answer's JSON: `op` and `at` are u64s, so decimal strings (`crate::json`); amounts are
/// decimals at the ledger's scale.
#[must_use]
pub fn trial_balance_json(balance: &TrialBalance) -> Value {
    json!({
        "ledger": balance.ledger,
        "op": balance.position.op.to_string(),
        "at": balance.at.to_string(),
        "rows": balance.rows.iter().map(row_json).collect::<Vec<_>>(),
        "total_debits": balance.total_debits.text,
        "total_credits": balance.total_credits.text,
    })
}

fn row_json(row: &TrialBalanceRow) -> Value {
    json!({
        "code": row.code,
        "name": row.name,
        "class": row.class.map(|class| class.name()),
        "debits": row.debits.text,
        "credits": row.credits.text,
        "balance": row.balance.text,
    })
}

#[cfg(test)]
mod tests {
    use super::super::openapi::document;
    use super::super::tests::{Fixture, get, get_ok};
    use axum::http::StatusCode;
    use ledger_core::{Account, AccountFlags, Transfer, TransferFlags};
    use serde_json::json;

    const BANK: u128 = 1;
    const FUNDER: u128 = 2;
    const LOAN: u128 = 3;
    const ODD: u128 = 4;
    const USD: u128 = 5;
    const USD_OTHER: u128 = 6;

    fn account(id: u128, ledger: u32, code: u16) -> Account {
        Account { id, ledger, code, flags: AccountFlags::NONE, ..Account::default() }
    }

    fn transfer(id: u128, debit: u128, credit: u128, amount: u128, flags: TransferFlags) -> Transfer {
        Transfer {
            id,
            debit_account_id: debit,
            credit_account_id: credit,
            amount,
            ledger: 156,
            code: 1,
            flags,
            ..Transfer::default()
        }
    }

    fn resolve(id: u128, pending_id: u128, amount: u128, flags: TransferFlags) -> Transfer {
        Transfer { id, pending_id, amount, flags, ..Transfer::default() }
    }

    /// A funder deposits 1,000.00; 300.00 is disbursed in two phases but only 250.00 posted; a
    /// 40.00 hold is voided; 0.75 moves to a code the chart does not have; one USD transfer.
    /// Returns the timestamps of: the deposit, the pending disbursement, its post, the last.
    async fn story(fixture: &Fixture) -> [u64; 4] {
        fixture
            .create_accounts(vec![
                account(BANK, 156, 1002),
                account(FUNDER, 156, 2202),
                account(LOAN, 156, 1122),
                account(ODD, 156, 9999),
                account(USD, 840, 1002),
                account(USD_OTHER, 840, 2202),
            ])
            .await;
        let none = TransferFlags::NONE;
        fixture.create_transfers(vec![transfer(11, BANK, FUNDER, 100_000, none)]).await;
        fixture.create_transfers(vec![transfer(12, LOAN, BANK, 30_000, TransferFlags::PENDING)]).await;
        fixture.create_transfers(vec![transfer(13, LOAN, BANK, 4_000, TransferFlags::PENDING)]).await;
        fixture.create_transfers(vec![resolve(14, 12, 25_000, TransferFlags::POST_PENDING_TRANSFER)]).await;
        fixture.create_transfers(vec![resolve(15, 13, 0, TransferFlags::VOID_PENDING_TRANSFER)]).await;
        fixture
            .create_transfers(vec![
                transfer(16, ODD, BANK, 75, none),
                Transfer { ledger: 840, ..transfer(17, USD, USD_OTHER, 5, none) },
            ])
            .await;
        let mut timestamps = [0; 4];
        for (slot, id) in timestamps.iter_mut().zip([11, 12, 14, 17]) {
            *slot = fixture.stored_transfer(id).await.timestamp;
        }
        timestamps
    }

    fn row(
        code: u16,
        name: Option<&str>,
        class: Option<&str>,
        debits: &str,
        credits: &str,
        balance: &str,
    ) -> serde_json::Value {
        json!({ "code": code, "name": name, "class": class, "debits": debits, "credits": credits, "balance": balance })
    }

    #[tokio::test]
    async fn the_trial_balance_counts_posted_amounts_as_of_a_time() {
        let fixture = Fixture::open();
        let [deposit, pending, post, last] = story(&fixture).await;
        let router = fixture.router();
        let chart = fixture.service().chart();
        let name = |code| chart.account(code).map(|a| a.name.as_str());
        let bank = |debits, credits, balance| row(1002, name(1002), Some("asset"), debits, credits, balance);
        let loan = |debits, credits, balance| row(1122, name(1122), Some("asset"), debits, credits, balance);
        let funder =
            |debits, credits, balance| row(2202, name(2202), Some("liability"), debits, credits, balance);

        let now = get_ok(&router, "/v1/ledgers/156/trial-balance").await;
        let op = fixture.service().index_position().op.to_string();
        assert_eq!(
            now,
            json!({
                "ledger": 156,
                "op": op,
                "at": last.to_string(),
                "rows": [
                    bank("1000.00", "250.75", "749.25"),
                    loan("250.00", "0.00", "250.00"),
                    funder("0.00", "1000.00", "1000.00"),
                    row(9999, None, None, "0.75", "0.00", "0.75"),
                ],
                "total_debits": "1250.75",
                "total_credits": "1250.75",
            }),
            "`at` is the newest transfer of the index (here ledger 840's)"
        );

        let at = |t: u64| format!("/v1/ledgers/156/trial-balance?at={t}");
        let at_deposit = get_ok(&router, &at(deposit)).await;
        assert_eq!(
            at_deposit["rows"],
            json!([bank("1000.00", "0.00", "1000.00"), funder("0.00", "1000.00", "1000.00")])
        );
        assert_eq!(at_deposit["at"], deposit.to_string());
        assert_eq!(get_ok(&router, &at(post - 1)).await["rows"], at_deposit["rows"], "pending moves nothing");
        assert!(pending < post);
        let at_post = get_ok(&router, &at(post)).await;
        assert_eq!(
            at_post["rows"],
            json!([
                bank("1000.00", "250.00", "750.00"),
                loan("250.00", "0.00", "250.00"),
                funder("0.00", "1000.00", "1000.00")
            ]),
            "the post counts the 250.00 it posted, not the 300.00 held"
        );
        assert_eq!(get_ok(&router, &at(deposit - 1)).await["rows"], json!([]), "before the first transfer");
        let later = get_ok(&router, &at(u64::MAX)).await;
        assert_eq!(later, now, "a time after the durable point answers for the durable point");

        // The fields are exactly the documented ones (the OpenAPI tests check the examples).
        let doc = document();
        let fields = |schema: &str| -> Vec<String> {
            let mut names: Vec<String> = doc["components"]["schemas"][schema]["required"]
                .as_array()
                .expect("a closed object")
                .iter()
                .map(|n| n.as_str().expect("a name").to_owned())
                .collect();
            names.sort_unstable();
            names
        };
        let keys = |value: &serde_json::Value| -> Vec<String> {
            let mut names: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
            names.sort_unstable();
            names
        };
        assert_eq!(keys(&now), fields("TrialBalance"));
        for row in now["rows"].as_array().expect("rows") {
            assert_eq!(keys(row), fields("TrialBalanceRow"));
        }

        let usd = get_ok(&router, "/v1/ledgers/840/trial-balance").await;
        assert_eq!(usd["at"], last.to_string());
        assert_eq!(usd["total_debits"], "5", "ledger 840 is not in the chart: scale 0");
        assert_eq!(usd["rows"][0]["debits"], "5");
    }

    #[tokio::test]
    async fn a_ledger_without_transfers_has_no_rows_and_bad_parameters_are_refused() {
        let fixture = Fixture::open();
        let router = fixture.router();
        let empty = get_ok(&router, "/v1/ledgers/7/trial-balance").await;
        assert_eq!(
            empty,
            json!({ "ledger": 7, "op": empty["op"], "at": "0", "rows": [], "total_debits": "0", "total_credits": "0" })
        );
        story(&fixture).await;
        let unknown = get_ok(&router, "/v1/ledgers/7/trial-balance?at=5").await;
        assert_eq!((unknown["rows"].clone(), unknown["total_debits"].clone()), (json!([]), json!("0")));

        for (uri, status, code) in [
            ("/v1/ledgers/156/trial-balance?at=-1", StatusCode::BAD_REQUEST, "invalid_query"),
            (
                "/v1/ledgers/156/trial-balance?at=18446744073709551616",
                StatusCode::BAD_REQUEST,
                "invalid_query",
            ),
            ("/v1/ledgers/156/trial-balance?at=soon", StatusCode::BAD_REQUEST, "invalid_query"),
            ("/v1/ledgers/156/trial-balance?from=1", StatusCode::BAD_REQUEST, "invalid_query"),
            ("/v1/ledgers/0/trial-balance", StatusCode::BAD_REQUEST, "invalid_id"),
            ("/v1/ledgers/4294967296/trial-balance", StatusCode::BAD_REQUEST, "invalid_id"),
            ("/v1/ledgers/cny/trial-balance", StatusCode::BAD_REQUEST, "invalid_id"),
        ] {
            let answer = get(&router, uri).await;
            assert_eq!((answer.status, answer.error().as_str()), (status, code), "{uri}");
        }
    }
}
