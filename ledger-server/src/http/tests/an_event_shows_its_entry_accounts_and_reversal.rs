//! `GET /v1/events/{event_id}`: a posted event's entry with account codes, chart names and
//! amounts at the ledger's scale; after a reversal, the mirror entry too; 404 for an event
//! never posted or refused; 400 for an id no event can have.

use super::schema::conforms;
use super::standard_events::{disbursement_story, event, post, post_ok, repayment, reversal};
use super::{Fixture, get, get_ok};
use crate::http::openapi::document;
use axum::http::StatusCode;
use ledger_events::posting::{EntrySide, entry_transfer_id};
use ledger_events::{EventOutcome, Subject, account_id};
use serde_json::{Value, json};

fn loan_account(code: u16) -> String {
    account_id(156, code, Some(Subject { key: "loan_note", value: "L1" })).to_string()
}

fn channel_account(code: u16) -> String {
    account_id(156, code, Some(Subject { key: "channel", value: "CH1" })).to_string()
}

fn fits_the_schema(view: &Value) {
    let doc = document();
    let schema = json!({ "$ref": "#/components/schemas/EventView" });
    if let Err(e) = conforms(&doc, &schema, view) {
        panic!("the event view does not fit its schema: {e}");
    }
}

fn entries(view: &Value) -> &Vec<Value> {
    view["entries"].as_array().expect("`entries` is an array")
}

#[tokio::test]
async fn a_posted_event_shows_its_entry_with_account_names_and_decimal_amounts() {
    let fixture = Fixture::open();
    post_ok(&fixture, disbursement_story()).await;
    let router = fixture.router();

    let view = get_ok(&router, "/v1/events/DISB-1").await;
    fits_the_schema(&view);
    assert_eq!(view["event_id"], "DISB-1");
    assert_eq!(view["status"], "posted");
    assert_eq!(view["event_type"], "loan.disbursed");
    assert_eq!((view["ledger"].as_u64(), view["currency"].as_str()), (Some(156), Some("CNY")));
    assert_eq!(view["business_date"], "2024-01-01");
    assert!(view["reversal"].is_null());
    assert!(view["current_to"]["op"].as_str().is_some_and(|op| op.parse::<u64>().is_ok_and(|n| n > 0)));
    // What the ledger recorded of the event, beside its transfers.
    assert_eq!(
        view["subjects"],
        json!({ "channel": "CH1", "customer": "C1", "funder": "F1", "loan_note": "L1" })
    );
    assert_eq!(view["components"], json!({ "principal": "1000.00" }));
    assert_eq!((view["chart_version"].as_u64(), &view["metadata"]), (Some(1), &json!({})));
    let op: u64 = view["op"].as_str().and_then(|op| op.parse().ok()).expect("the entry's op");
    assert!(view["current_to"]["op"].as_str().and_then(|c| c.parse::<u64>().ok()).is_some_and(|c| c >= op));

    // principal receivable ← cash at the channel; reserved → lent-out funds; the credit line.
    let postings = entries(&view);
    assert_eq!(postings.len(), 3, "the overpayment posting (0.00) does not fire: {postings:?}");
    for (i, entry) in postings.iter().enumerate() {
        let index = u32::try_from(i).expect("small");
        assert_eq!(entry["transfer_id"], entry_transfer_id(EntrySide::Original, "DISB-1", index).to_string());
        assert_eq!(entry["amount"], "1000.00");
    }
    assert_eq!(
        postings[0]["debit"],
        json!({ "account_id": loan_account(1122), "code": 1122, "name": "Loan principal receivable" })
    );
    assert_eq!(
        postings[0]["credit"],
        json!({ "account_id": channel_account(1012), "code": 1012, "name": "Cash at payment channels" })
    );
    assert_eq!(postings[1]["debit"]["name"], "Funder funds reserved for disbursement");
    assert_eq!(postings[1]["credit"]["name"], "Funder funds lent out");
    let timestamps: Vec<u64> = postings
        .iter()
        .map(|e| e["timestamp"].as_str().and_then(|t| t.parse().ok()).expect("a u64 timestamp"))
        .collect();
    assert!(timestamps.windows(2).all(|w| w[0] < w[1]), "in chain order: {timestamps:?}");

    // Minor units render at scale 2, with leading zeros.
    post_ok(&fixture, vec![repayment("REPAY-1", "0.07")]).await;
    let view = get_ok(&router, "/v1/events/REPAY-1").await;
    assert!(entries(&view).iter().all(|e| e["amount"] == "0.07"), "{view}");
}

#[tokio::test]
async fn a_reversed_event_shows_the_mirror_entry() {
    let fixture = Fixture::open();
    post_ok(&fixture, disbursement_story()).await;
    post_ok(&fixture, vec![repayment("REPAY-1", "16.43")]).await;
    let router = fixture.router();
    assert_eq!(get_ok(&router, "/v1/events/REPAY-1").await["status"], "posted");

    post_ok(&fixture, vec![reversal("REV-1", "REPAY-1")]).await;
    let view = get_ok(&router, "/v1/events/REPAY-1").await;
    fits_the_schema(&view);
    assert_eq!(view["status"], "reversed");
    assert_eq!(view["event_type"], "repayment.settled");
    assert_eq!(view["business_date"], "2024-01-01", "the original's date");
    let reversal = &view["reversal"];
    assert_eq!(reversal["business_date"], "2024-01-05", "the reversal's date");
    assert_eq!(reversal["event_id"], "REV-1", "the reversal event, from its record");
    let op = |v: &Value| v["op"].as_str().and_then(|op| op.parse::<u64>().ok()).expect("an op");
    assert!(op(reversal) > op(&view), "the reversal came later");
    let original = entries(&view);
    let mirror = entries(reversal);
    assert_eq!(original.len(), 3);
    assert_eq!(mirror.len(), original.len());
    // Mirrored, last first: each reversal posting swaps the sides of its original.
    for (i, (back, forth)) in mirror.iter().zip(original.iter().rev()).enumerate() {
        let index = u32::try_from(i).expect("small");
        assert_eq!(back["transfer_id"], entry_transfer_id(EntrySide::Reversal, "REPAY-1", index).to_string());
        assert_eq!(back["debit"], forth["credit"]);
        assert_eq!(back["credit"], forth["debit"]);
        assert_eq!(back["amount"], "16.43");
    }
    assert_eq!(original[0]["credit"]["name"], "Loan principal receivable");

    // A reversal's transfers derive from the id of the event it reverses: the reversal event's
    // own id names no entry.
    assert_eq!(get(&router, "/v1/events/REV-1").await.error(), "event_not_found");
    // The original that was never reversed stays `posted`.
    assert_eq!(get_ok(&router, "/v1/events/DISB-1").await["status"], "posted");
}

#[tokio::test]
async fn events_never_posted_or_refused_are_not_found() {
    let fixture = Fixture::open();
    post_ok(&fixture, disbursement_story()).await;
    // Repaying more than is owed: the ledger refuses the whole entry.
    let refused = post(&fixture, vec![repayment("REPAY-9", "5000.00")]).await;
    assert!(matches!(refused[..], [EventOutcome::LedgerRefused(_)]), "{refused:?}");
    let router = fixture.router();

    for uri in ["/v1/events/NEVER", "/v1/events/REPAY-9", "/v1/events/disb-1"] {
        let answer = get(&router, uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.json(), json!({ "error": "event_not_found" }), "{uri}");
    }
}

#[tokio::test]
async fn event_ids_are_url_decoded_and_at_most_128_bytes() {
    let fixture = Fixture::open();
    post_ok(&fixture, disbursement_story()).await;
    let odd = "L1/还款 #2?";
    post_ok(
        &fixture,
        vec![event(odd, "repayment.settled", super::standard_events::LOAN, r#""principal":"1.00""#)],
    )
    .await;
    let long = "x".repeat(128);
    post_ok(&fixture, vec![repayment(&long, "2.00")]).await;
    let router = fixture.router();

    let encoded = "L1%2F%E8%BF%98%E6%AC%BE%20%232%3F";
    let view = get_ok(&router, &format!("/v1/events/{encoded}")).await;
    assert_eq!(view["event_id"], odd);
    assert_eq!(entries(&view)[0]["amount"], "1.00");
    assert_eq!(get_ok(&router, &format!("/v1/events/{long}")).await["event_id"], long.as_str());

    for bad in [format!("/v1/events/{long}x"), "/v1/events/%FF".to_owned()] {
        let answer = get(&router, &bad).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(answer.error(), "invalid_id", "{bad}");
    }
    assert_eq!(get(&router, "/v1/events/").await.error(), "route_not_found");
}
