//! The finance exports over HTTP (`crate::export`, `docs/exports.md`):
//! - `GET /v1/exports/journal?from_op=&to_op=&format=`: one row per journal line of the entries
//!   created by ops `from_op..=to_op` (both optional: from the first op, to the newest durable);
//! - `GET /v1/exports/trial-balance?ledger=&at=&format=`: one row per account code of a ledger
//!   (every ledger of the chart when `ledger` is absent) at ledger timestamp `at`.
//!
//! `format` is `csv` (the default) or `jsonl`. The body is streamed: the first chunk is made
//! before answering, so a refusal (bad parameters, a busy server) is an ordinary error answer;
//! later chunks are made by a task, one page at a time, while the client reads. The channel
//! between them holds `CHUNKS_BUFFERED` chunks, so a slow client holds the export back instead
//! of the server holding the export in memory. When a later chunk fails, the body ends with an
//! error: the connection is closed without the final chunk of the chunked encoding, so a client
//! sees a broken answer, never a short file that looks whole.

use super::HttpState;
use super::error::{ApiError, ErrorCode};
use super::params::invalid_query;
use crate::export::{Export, ExportError, ExportFormat, JournalExport, OpRange, TrialBalanceExport};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Chunks (pages) made ahead of what the client has taken.
pub const CHUNKS_BUFFERED: usize = 1;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalExportQuery {
    from_op: Option<u64>,
    to_op: Option<u64>,
    format: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialBalanceExportQuery {
    ledger: Option<u32>,
    at: Option<u64>,
    format: Option<String>,
}

/// `GET /v1/exports/journal`.
pub async fn journal(
    State(state): State<HttpState>,
    query: Result<Query<JournalExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| invalid_query(&e))?;
    let format = parse_format(query.format.as_deref())?;
    let range = OpRange::new(query.from_op, query.to_op)
        .map_err(|detail| ApiError::new(ErrorCode::InvalidRange, detail))?;
    let export = JournalExport::open(state.service.clone(), range, format).await?;
    stream(Export::Journal(export)).await
}

/// `GET /v1/exports/trial-balance`.
pub async fn trial_balance(
    State(state): State<HttpState>,
    query: Result<Query<TrialBalanceExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| invalid_query(&e))?;
    let format = parse_format(query.format.as_deref())?;
    if query.ledger == Some(0) {
        return Err(ApiError::new(ErrorCode::InvalidQuery, "ledger 0 is never valid"));
    }
    let export = TrialBalanceExport::new(state.service.clone(), query.ledger, query.at, format);
    stream(Export::TrialBalance(export)).await
}

/// `csv` when absent.
fn parse_format(format: Option<&str>) -> Result<ExportFormat, ApiError> {
    format.map_or(Ok(ExportFormat::Csv), |text| {
        ExportFormat::parse(text).map_err(|detail| ApiError::new(ErrorCode::InvalidQuery, detail))
    })
}

/// An export failure as an error answer: the service's own for a busy or stopping server
/// (503, retry), 500 `failed` for the rest.
fn api_error(error: &ExportError) -> ApiError {
    match error.service_error() {
        Some(service) => ApiError::from(service.clone()),
        None => ApiError::new(ErrorCode::Failed, error.to_string()),
    }
}

/// Answers with the export's chunks as they are made (module docs).
async fn stream(mut export: Export) -> Result<Response, ApiError> {
    let format = export.format();
    let first = export.next_chunk().await.map_err(|e| api_error(&e))?;
    let (sender, receiver) = mpsc::channel(CHUNKS_BUFFERED);
    // Without a first chunk (an empty JSON-lines export) the sender drops here: an empty body.
    if let Some(first) = first {
        tokio::spawn(send_chunks(export, first, sender));
    }
    let mut response = Body::from_stream(Chunks(receiver)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    Ok(response)
}

/// The streaming task: sends `first`, then each next chunk, until the export ends, fails, or
/// the client goes away (the body, and so the receiver, is dropped).
async fn send_chunks(mut export: Export, first: Vec<u8>, sender: mpsc::Sender<Result<Bytes, ExportError>>) {
    let mut chunk = first;
    loop {
        if sender.send(Ok(Bytes::from(chunk))).await.is_err() {
            return;
        }
        let next = tokio::select! {
            next = export.next_chunk() => next,
            () = sender.closed() => return,
        };
        match next {
            Ok(Some(next)) => chunk = next,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, "an export was cut short: the client gets a broken answer");
                let _ = sender.send(Err(error)).await;
                return;
            }
        }
    }
}

/// The body's chunks, as the streaming task sends them.
#[derive(Debug)]
struct Chunks(mpsc::Receiver<Result<Bytes, ExportError>>);

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, ExportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Fixture, account, get, get_ok, pending, transfer};
    use super::*;
    use crate::export::{EXPORT_PAGE_TRANSFERS, JOURNAL_COLUMNS};
    use crate::service::LedgerService;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use ledger_core::{AccountFlags, Transfer, TransferFlags};
    use tower::ServiceExt;

    /// The shipped example of standard events (funding, a disbursement, an accrual, a
    /// repayment, a refused one, a reversal and a refused second reversal).
    const EVENTS: &str = include_str!("../../../examples/events.jsonl");

    /// Plain transfers between two accounts of code 1 (a single-phase one, a pending one and
    /// its post, a pending one and its void), then the example events one request each:
    /// entries of 1 to 4 transfers, in ops of their own.
    async fn story(fixture: &Fixture) {
        fixture.create_accounts(vec![account(1, AccountFlags::NONE), account(2, AccountFlags::NONE)]).await;
        fixture.create_transfers(vec![transfer(10, 1, 2, 1_250)]).await;
        fixture.create_transfers(vec![pending(11, 1, 2, 500), pending(12, 2, 1, 70)]).await;
        let resolve = |id, pending_id, flags| Transfer { id, pending_id, flags, ..Transfer::default() };
        fixture.create_transfers(vec![resolve(13, 11, TransferFlags::POST_PENDING_TRANSFER)]).await;
        fixture.create_transfers(vec![resolve(14, 12, TransferFlags::VOID_PENDING_TRANSFER)]).await;
        for line in EVENTS.lines().filter(|line| !line.is_empty()) {
            let outcomes =
                fixture.service().post_events(vec![line.as_bytes().to_vec()]).await.expect("answered");
            assert_eq!(outcomes.len(), 1, "{line}");
        }
    }

    async fn journal(service: &LedgerService, range: OpRange, format: ExportFormat, page: u32) -> String {
        let mut export =
            JournalExport::with_page(service.clone(), range, format, page).await.expect("opened");
        let mut out = Vec::new();
        while let Some(chunk) = export.next_chunk().await.expect("a chunk") {
            out.extend(chunk);
        }
        String::from_utf8(out).expect("UTF-8")
    }

    fn csv_rows(text: &str) -> Vec<csv::StringRecord> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().expect("a header").clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), JOURNAL_COLUMNS);
        reader.records().map(|r| r.expect("a record")).collect()
    }

    #[tokio::test]
    async fn any_page_length_gives_the_same_bytes_and_no_entry_is_split() {
        let fixture = Fixture::open();
        story(&fixture).await;
        let service = fixture.service();
        let whole = journal(service, OpRange::ALL, ExportFormat::Csv, EXPORT_PAGE_TRANSFERS).await;
        let rows = csv_rows(&whole);
        // 5 plain transfers and 1 + 2 + 1 + 3 + 1 + 4 + 4 event transfers: two lines each.
        assert_eq!(rows.len(), 2 * (5 + 16), "{whole}");
        for page in 1..=12 {
            assert_eq!(
                journal(service, OpRange::ALL, ExportFormat::Csv, page).await,
                whole,
                "page of {page}"
            );
        }
        let jsonl = journal(service, OpRange::ALL, ExportFormat::Jsonl, 5).await;
        assert_eq!(jsonl, journal(service, OpRange::ALL, ExportFormat::Jsonl, EXPORT_PAGE_TRANSFERS).await);
        assert_eq!(jsonl.lines().count(), rows.len());

        // Each entry's lines are contiguous and balance: debits equal credits per event.
        let column = |name: &str| JOURNAL_COLUMNS.iter().position(|c| *c == name).expect("a column");
        let (event_id, debit, credit) = (column("event_id"), column("debit"), column("credit"));
        let mut seen: Vec<&str> = Vec::new();
        let mut sums: std::collections::HashMap<&str, (u128, u128)> = std::collections::HashMap::new();
        let cents = |text: &str| text.replace('.', "").parse::<u128>().expect("a decimal");
        for row in &rows {
            let id = &row[event_id];
            if id.is_empty() {
                continue;
            }
            if seen.last() != Some(&id) {
                assert!(!seen.contains(&id), "the lines of {id} are contiguous");
                seen.push(id);
            }
            let sum = sums.entry(id).or_default();
            sum.0 += cents(&row[debit]);
            sum.1 += cents(&row[credit]);
        }
        assert_eq!(seen, ["FUND-1", "FUND-2", "FUND-3", "DISB-1", "ACCR-1", "REPAY-1", "REV-1"]);
        for (id, (debits, credits)) in sums {
            assert_eq!(debits, credits, "{id} balances");
        }
    }

    #[tokio::test]
    async fn op_ranges_are_inclusive_end_at_the_durable_op_and_export_the_same_again() {
        let fixture = Fixture::open();
        story(&fixture).await;
        let service = fixture.service();
        let last = service.durable_op();
        let whole = journal(service, OpRange::ALL, ExportFormat::Jsonl, EXPORT_PAGE_TRANSFERS).await;
        // Op by op, the exports put together are the whole.
        let mut pieces = String::new();
        for op in 0..=last + 1 {
            let range = OpRange { from_op: op, to_op: Some(op) };
            let piece = journal(service, range, ExportFormat::Jsonl, EXPORT_PAGE_TRANSFERS).await;
            for line in piece.lines() {
                let row: serde_json::Value = serde_json::from_str(line).expect("JSON");
                assert_eq!(row["op"], op.to_string(), "{line}");
            }
            pieces.push_str(&piece);
        }
        assert_eq!(pieces, whole);
        // Op 1 created the accounts, op 2 transfer 10: from op 3 on, all but its two lines.
        let beyond = OpRange { from_op: 3, to_op: Some(u64::MAX) };
        let from_three = journal(service, beyond, ExportFormat::Jsonl, 8).await;
        assert!(whole.ends_with(&from_three), "{from_three}");
        assert_eq!(from_three.lines().count() + 2, whole.lines().count());
        let future = OpRange { from_op: last + 1, to_op: None };
        assert_eq!(journal(service, future, ExportFormat::Jsonl, 8).await, "");
        assert_eq!(
            journal(service, future, ExportFormat::Csv, 8).await,
            format!("{}\n", JOURNAL_COLUMNS.join(",")),
            "an empty CSV export is its header"
        );

        // Later posts change nothing in a closed range.
        let closed = OpRange { from_op: 0, to_op: Some(last) };
        fixture.create_transfers(vec![transfer(20, 2, 1, 5)]).await;
        assert_eq!(journal(service, closed, ExportFormat::Jsonl, EXPORT_PAGE_TRANSFERS).await, whole);
        let now = journal(service, OpRange::ALL, ExportFormat::Jsonl, EXPORT_PAGE_TRANSFERS).await;
        assert_eq!(now.lines().count(), whole.lines().count() + 2);
    }

    #[tokio::test]
    async fn the_routes_answer_the_exports_with_their_content_types() {
        let fixture = Fixture::open();
        story(&fixture).await;
        let router = fixture.router();
        let service = fixture.service();
        for (uri, format) in [
            ("/v1/exports/journal", ExportFormat::Csv),
            ("/v1/exports/journal?format=jsonl&from_op=0", ExportFormat::Jsonl),
        ] {
            let answer = get(&router, uri).await;
            assert_eq!(answer.status, StatusCode::OK, "{uri}");
            assert_eq!(answer.headers[header::CONTENT_TYPE], format.content_type(), "{uri}");
            assert_eq!(
                answer.text(),
                journal(service, OpRange::ALL, format, EXPORT_PAGE_TRANSFERS).await,
                "{uri}"
            );
        }

        // The trial-balance export holds the JSON route's numbers.
        let json = get_ok(&router, "/v1/ledgers/156/trial-balance").await;
        let answer = get(&router, "/v1/exports/trial-balance?ledger=156&format=jsonl").await;
        assert_eq!(answer.headers[header::CONTENT_TYPE], ExportFormat::Jsonl.content_type());
        let rows: Vec<serde_json::Value> =
            answer.text().lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
        let expected = json["rows"].as_array().expect("rows");
        assert!(expected.len() > 5, "the story touches many codes");
        assert_eq!(rows.len(), expected.len());
        for (row, expected) in rows.iter().zip(expected) {
            for field in ["code", "name", "class", "debits", "credits", "balance"] {
                assert_eq!(row[field], expected[field], "{field} of {row}");
            }
            assert_eq!((row["ledger"].clone(), row["currency"].clone()), (156.into(), "CNY".into()));
        }
        // As of the first transfer: only the 12.50 of transfer 10, between two accounts of code 1.
        let at = fixture.stored_transfer(10).await.timestamp;
        let early = get(&router, &format!("/v1/exports/trial-balance?ledger=156&at={at}")).await;
        assert_eq!(
            early.text(),
            "ledger,currency,code,name,class,normal_side,debits,credits,balance\n\
             156,CNY,1,,,debit,12.50,12.50,0.00\n"
        );
        // Without a ledger: every ledger of the chart (the shipped one has 156 only).
        let all = get(&router, "/v1/exports/trial-balance?format=jsonl").await;
        assert_eq!(all.text(), answer.text());
    }

    #[tokio::test]
    async fn bad_parameters_are_refused_before_anything_is_sent() {
        let fixture = Fixture::open();
        let router = fixture.router();
        for (uri, code) in [
            ("/v1/exports/journal?format=xml", "invalid_query"),
            ("/v1/exports/journal?format=", "invalid_query"),
            ("/v1/exports/journal?from_op=-1", "invalid_query"),
            ("/v1/exports/journal?to_op=18446744073709551616", "invalid_query"),
            ("/v1/exports/journal?after=1", "invalid_query"),
            ("/v1/exports/journal?from_op=5&to_op=4", "invalid_range"),
            ("/v1/exports/trial-balance?ledger=0", "invalid_query"),
            ("/v1/exports/trial-balance?ledger=cny", "invalid_query"),
            ("/v1/exports/trial-balance?ledger=4294967296", "invalid_query"),
            ("/v1/exports/trial-balance?at=soon", "invalid_query"),
            ("/v1/exports/trial-balance?format=JSONL", "invalid_query"),
        ] {
            let answer = get(&router, uri).await;
            assert_eq!((answer.status, answer.error().as_str()), (StatusCode::BAD_REQUEST, code), "{uri}");
        }
    }

    #[tokio::test]
    async fn a_long_journal_is_sent_a_page_at_a_time() {
        const TRANSFERS: u32 = 2 * EXPORT_PAGE_TRANSFERS + 100;
        let fixture = Fixture::open();
        fixture.create_accounts(vec![account(1, AccountFlags::NONE), account(2, AccountFlags::NONE)]).await;
        let ids: Vec<u128> = (1..=u128::from(TRANSFERS)).collect();
        for batch in ids.chunks(EXPORT_PAGE_TRANSFERS as usize) {
            fixture.create_transfers(batch.iter().map(|&id| transfer(id, 1, 2, 1)).collect()).await;
        }
        let request =
            Request::get("/v1/exports/journal?format=jsonl").body(Body::empty()).expect("a request");
        let response = fixture.router().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        let mut chunks = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.expect("no error").into_data() {
                chunks.push(data);
            }
        }
        // One chunk per page: the body was never one buffer.
        assert_eq!(chunks.len(), 3, "pages of {EXPORT_PAGE_TRANSFERS} transfers");
        let lines: usize = chunks.iter().map(|c| c.iter().filter(|&&b| b == b'\n').count()).sum();
        assert_eq!(lines, 2 * TRANSFERS as usize);
        assert_eq!(
            chunks[0].iter().filter(|&&b| b == b'\n').count(),
            2 * EXPORT_PAGE_TRANSFERS as usize,
            "a full first page"
        );
        let last = chunks.last().expect("chunks");
        let last_line = last.split(|&b| b == b'\n').rev().nth(1).expect("a last line");
        let row: serde_json::Value = serde_json::from_slice(last_line).expect("JSON");
        assert_eq!(row["transfer_id"], TRANSFERS.to_string());
        assert_eq!(row["line"], "credit");
    }
}
