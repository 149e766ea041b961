//! The OpenAPI 3.0 document served at `/openapi.json`, written by hand.
//!
//! Its `paths` come from `Endpoint::ALL`, the list the router is built from, and each
//! operation from an exhaustive match on `Endpoint`: adding a route without describing it does
//! not compile. The schemas mirror `crate::json` (records) and the handlers' envelopes; every
//! object schema lists all its fields as required and forbids others, and every success
//! response carries an example, so the tests can check both the examples and real answers
//! against the schemas.

use super::error::ErrorCode;
use super::params::{PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX};
use super::{Endpoint, feed, journal};
use crate::export::{Cell, ExportFormat, JOURNAL_COLUMNS, RowEncoder, TRIAL_BALANCE_COLUMNS};
use axum::Json;
use serde_json::{Map, Value, json};

/// `GET /openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document())
}

/// The whole document.
#[must_use]
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in Endpoint::ALL {
        paths.insert(endpoint.path().to_owned(), json!({ "get": operation(endpoint) }));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "ledger HTTP read API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Read-only access to accounts, transfers, an account's transfer and balance \
                history, journal entries of standard ledger events, trial balances, finance exports (CSV or JSON lines), health and metrics. Writes go through the binary protocol. u128 and u64 values \
                are decimal strings; see docs/http.md.",
        },
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Required on every route but /healthz when the server has a token.",
                },
            },
            "schemas": schemas(),
        },
    })
}

fn operation(endpoint: Endpoint) -> Value {
    let mut op = match endpoint {
        Endpoint::Health => json!({
            "operationId": "health",
            "summary": "Liveness for load balancers; never asks for a token",
            "parameters": [],
            "responses": { "200": ok("The server is up", "Health", health_example()) },
            "security": [],
        }),
        Endpoint::HealthV1 => json!({
            "operationId": "healthV1",
            "summary": "Liveness, the newest durable op and the history index's position and lag",
            "parameters": [],
            "responses": { "200": ok("The server is up", "Health", health_example()) },
        }),
        Endpoint::Metrics => json!({
            "operationId": "metrics",
            "summary": "Prometheus metrics (text exposition format 0.0.4)",
            "parameters": [],
            "responses": {
                "200": {
                    "description": "Every metric",
                    "content": { "text/plain": {
                        "schema": { "type": "string" },
                        "example": "# TYPE ledger_events_total counter\nledger_events_total{operation=\"create_transfers\"} 8189\n",
                    } },
                },
                "404": error_response("The server runs without a metrics recorder", &[ErrorCode::MetricsNotEnabled]),
            },
        }),
        Endpoint::OpenApi => json!({
            "operationId": "openapi",
            "summary": "This document",
            "parameters": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.0 document",
                    "content": { "application/json": { "schema": { "type": "object" } } },
                },
            },
        }),
        Endpoint::Account => json!({
            "operationId": "getAccount",
            "summary": "One account, as of a durable op",
            "parameters": [id_parameter("The account's id")],
            "responses": {
                "200": ok("The account", "Account", account_example()),
                "400": error_response("The id is not a base-10 u128 other than 0 and 2^128-1", &[ErrorCode::InvalidId]),
                "404": error_response("No account has this id", &[ErrorCode::AccountNotFound]),
            },
        }),
        Endpoint::Transfer => json!({
            "operationId": "getTransfer",
            "summary": "One transfer, as of a durable op",
            "parameters": [id_parameter("The transfer's id")],
            "responses": {
                "200": ok("The transfer", "Transfer", transfer_example()),
                "400": error_response("The id is not a base-10 u128 other than 0 and 2^128-1", &[ErrorCode::InvalidId]),
                "404": error_response("No transfer has this id", &[ErrorCode::TransferNotFound]),
            },
        }),
        Endpoint::AccountTransfers => json!({
            "operationId": "getAccountTransfers",
            "summary": "A page of the account's transfers, from the history index, in timestamp order",
            "parameters": [
                id_parameter("The account's id"),
                from_parameter(),
                to_parameter(),
                limit_parameter(),
                order_parameter(),
                cursor_parameter(),
                {
                    "name": "side",
                    "in": "query",
                    "required": false,
                    "description": "Transfers that debit the account, credit it, or both.",
                    "schema": { "type": "string", "enum": ["debits", "credits", "both"], "default": "both" },
                },
            ],
            "responses": {
                "200": ok("A page of transfers", "TransferPage", transfer_page_example()),
                "400": error_response("A parameter is invalid", &[
                    ErrorCode::InvalidId,
                    ErrorCode::InvalidQuery,
                    ErrorCode::InvalidLimit,
                    ErrorCode::InvalidRange,
                    ErrorCode::InvalidCursor,
                    ErrorCode::CursorMismatch,
                ]),
                "404": error_response("No account has this id", &[ErrorCode::AccountNotFound]),
            },
        }),
        Endpoint::AccountBalances => json!({
            "operationId": "getAccountBalances",
            "summary": "The balance as of a timestamp (`at`), or a page of the account's balance history",
            "description": "Only for accounts created with the `history` flag. With `at`: the balances right \
                after the account's newest transfer at or before `at`, or zero balances with a null timestamp \
                if it had none by then. Without `at`: one balance row per transfer of the account, paged like \
                the transfers.",
            "parameters": [
                id_parameter("The account's id"),
                {
                    "name": "at",
                    "in": "query",
                    "required": false,
                    "description": "A timestamp (ns). Excludes from, to, limit, order and cursor.",
                    "schema": { "type": "integer", "minimum": 0 },
                },
                from_parameter(),
                to_parameter(),
                limit_parameter(),
                order_parameter(),
                cursor_parameter(),
            ],
            "responses": {
                "200": {
                    "description": "With `at`: one BalanceAt; without: a BalancePage",
                    "content": { "application/json": {
                        "schema": { "oneOf": [schema_ref("BalancePage"), schema_ref("BalanceAt")] },
                        "examples": {
                            "page": { "value": balance_page_example() },
                            "at": { "value": balance_json_example() },
                            "before_any_transfer": { "value": balance_at_zero_example() },
                        },
                    } },
                },
                "400": error_response("A parameter is invalid", &[
                    ErrorCode::InvalidId,
                    ErrorCode::InvalidQuery,
                    ErrorCode::InvalidLimit,
                    ErrorCode::InvalidRange,
                    ErrorCode::InvalidCursor,
                    ErrorCode::CursorMismatch,
                    ErrorCode::ConflictingParameters,
                ]),
                "404": error_response("No account has this id", &[ErrorCode::AccountNotFound]),
                "409": error_response("The account has no `history` flag", &[ErrorCode::AccountHasNoHistory]),
            },
        }),
        Endpoint::Event => json!({
            "operationId": "getEvent",
            "summary": "One standard ledger event: its journal entry with account codes and names, and its reversal",
            "description": "Found by the transfer ids derived from the event id (docs/events.md). Amounts are \
                decimal strings at the ledger's scale.",
            "parameters": [{
                "name": "event_id",
                "in": "path",
                "required": true,
                "description": "The event id as posted (URL-encoded): 1 to 128 bytes of UTF-8",
                "schema": { "type": "string", "minLength": 1, "maxLength": 128 },
            }],
            "responses": {
                "200": ok("The event's entry", "EventView", event_view_example()),
                "400": error_response("The event id is empty or longer than 128 bytes", &[ErrorCode::InvalidId]),
                "404": {
                    "description": format!(
                        "No transfer of the event's entry exists: never posted, or refused (error: {})",
                        journal::EVENT_NOT_FOUND,
                    ),
                    "content": { "application/json": {
                        "schema": schema_ref("Error"),
                        "example": { "error": journal::EVENT_NOT_FOUND },
                    } },
                },
            },
        }),
        Endpoint::Journal => json!({
            "operationId": "getJournal",
            "summary": "Posted journal entries in commit order, after a timestamp (a polling change feed)",
            "description": "Transfers in timestamp order, grouped into entries: an event's or a reversal's \
                linked chain is one entry, any other transfer an entry of its own. A page never splits an \
                entry. Pass `next_after` as `after` for the next page: nothing is lost or repeated.",
            "parameters": [
                {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Entries whose transfers have timestamps after this one (ns); 0 or absent: from the start.",
                    "schema": { "type": "integer", "minimum": 0, "default": 0 },
                },
                {
                    "name": "from_op",
                    "in": "query",
                    "required": false,
                    "description": "Instead of `after`: start at the first entry created by this WAL op (or the \
                        first later op that created transfers). Not with `after`.",
                    "schema": { "type": "integer", "minimum": 0 },
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "The most transfers a page holds (whole entries only; one entry longer \
                        than the limit comes alone).",
                    "schema": { "type": "integer", "minimum": 1, "maximum": PAGE_LIMIT_MAX, "default": PAGE_LIMIT_DEFAULT },
                },
                {
                    "name": "wait_ms",
                    "in": "query",
                    "required": false,
                    "description": "Long-poll: when no entry comes after `after`, answer as soon as one is \
                        durable, or with the empty page after this many milliseconds (or at once when the \
                        server shuts down). 0 or absent: no wait.",
                    "schema": { "type": "integer", "minimum": 0, "maximum": feed::WAIT_MS_MAX, "default": 0 },
                },
            ],
            "responses": {
                "200": ok("A page of journal entries", "JournalPage", journal_page_example()),
                "400": error_response("A parameter is invalid", &[ErrorCode::InvalidQuery, ErrorCode::InvalidLimit]),
            },
        }),
        Endpoint::JournalStream => json!({
            "operationId": "streamJournal",
            "summary": "The change feed as Server-Sent Events: every journal entry after a cursor, then each new one as it becomes durable",
            "description": "One event per journal entry, in commit order: `id` is the entry's cursor (its \
                `last_timestamp`), `data` the entry as one line of JSON (a JournalEntry). A client that \
                reconnects with `Last-Event-ID` resumes right after the last entry it received: nothing \
                is lost or repeated. Idle streams carry a comment line every 15 s. The stream ends when \
                the server shuts down.",
            "parameters": [
                {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Start after this cursor (ns); 0 or absent: from the start. \
                        `Last-Event-ID`, when sent, takes its place.",
                    "schema": { "type": "integer", "minimum": 0, "default": 0 },
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "Transfers per read of the journal (how the stream is batched; it \
                        does not limit the stream).",
                    "schema": { "type": "integer", "minimum": 1, "maximum": PAGE_LIMIT_MAX, "default": PAGE_LIMIT_DEFAULT },
                },
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": false,
                    "description": "The `id` of the last event received: resume right after it.",
                    "schema": { "type": "string", "pattern": "^[0-9]{1,20}$" },
                },
            ],
            "responses": {
                "200": {
                    "description": "An endless text/event-stream, one event per journal entry",
                    "content": { "text/event-stream": {
                        "schema": { "type": "string" },
                        "example": journal_stream_example(),
                    } },
                },
                "400": error_response("A parameter or Last-Event-ID is invalid", &[
                    ErrorCode::InvalidQuery,
                    ErrorCode::InvalidLimit,
                    ErrorCode::InvalidCursor,
                ]),
            },
        }),
        Endpoint::TrialBalance => json!({
            "operationId": "getTrialBalance",
            "summary": "A ledger's trial balance at a time: posted debits, credits and balance per account code",
            "description": "Counts the transfers committed at or before `at` (pending transfers, voids and \
                expiries count nothing; a post counts the amount posted). One row per account code with a \
                posted transfer, by code; names, classes and normal sides from the chart of accounts. \
                Amounts are decimals at the ledger's scale; a balance against the code's normal side is \
                negative. total_debits always equals total_credits (else 500 failed).",
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "description": "The ledger: base-10 u32, not 0",
                    "schema": { "type": "string", "pattern": "^[0-9]{1,10}$" },
                },
                {
                    "name": "at",
                    "in": "query",
                    "required": false,
                    "description": "A ledger timestamp (ns). Absent, or after the newest durable transfer: \
                        everything durable now.",
                    "schema": { "type": "integer", "minimum": 0 },
                },
            ],
            "responses": {
                "200": ok("The trial balance", "TrialBalance", trial_balance_example()),
                "400": error_response(
                    "The ledger is not a base-10 u32 other than 0, or `at` is not a u64",
                    &[ErrorCode::InvalidId, ErrorCode::InvalidQuery],
                ),
            },
        }),
        Endpoint::ExportJournal => json!({
            "operationId": "exportJournal",
            "summary": "The journal lines of the entries created by a range of ops, as CSV or JSON lines (streamed)",
            "description": "One row per journal line (a transfer's debit line, then its credit line), entries in \
                commit order; columns and their order in docs/exports.md. The same range of the same history \
                always gives the same bytes. A range past the newest durable op ends at what is durable.",
            "parameters": [
                {
                    "name": "from_op",
                    "in": "query",
                    "required": false,
                    "description": "The first WAL op whose entries are exported (inclusive); absent: from the first.",
                    "schema": { "type": "integer", "minimum": 0 },
                },
                {
                    "name": "to_op",
                    "in": "query",
                    "required": false,
                    "description": "The last WAL op whose entries are exported (inclusive); absent: the newest durable.",
                    "schema": { "type": "integer", "minimum": 0 },
                },
                export_format_parameter(),
            ],
            "responses": {
                "200": export_ok("The journal lines", &journal_export_example(ExportFormat::Csv), &journal_export_example(ExportFormat::Jsonl)),
                "400": error_response(
                    "A parameter is not a u64, the format is unknown, or from_op > to_op",
                    &[ErrorCode::InvalidQuery, ErrorCode::InvalidRange],
                ),
            },
        }),
        Endpoint::ExportTrialBalance => json!({
            "operationId": "exportTrialBalance",
            "summary": "A trial balance as CSV or JSON lines: one row per ledger and account code (streamed)",
            "description": "The rows of GET /v1/ledgers/{id}/trial-balance with the ledger and its currency on each; \
                columns and their order in docs/exports.md. Without `ledger`: every ledger of the chart of \
                accounts, in id order, all as of the same `at`.",
            "parameters": [
                {
                    "name": "ledger",
                    "in": "query",
                    "required": false,
                    "description": "The ledger (a u32, not 0); absent: every ledger of the chart of accounts.",
                    "schema": { "type": "integer", "minimum": 1, "maximum": u32::MAX },
                },
                {
                    "name": "at",
                    "in": "query",
                    "required": false,
                    "description": "A ledger timestamp (ns). Absent, or after the newest durable transfer: \
                        everything durable now.",
                    "schema": { "type": "integer", "minimum": 0 },
                },
                export_format_parameter(),
            ],
            "responses": {
                "200": export_ok("The trial balance rows", &trial_balance_export_example(ExportFormat::Csv), &trial_balance_export_example(ExportFormat::Jsonl)),
                "400": error_response(
                    "`ledger` is not a u32 other than 0, `at` is not a u64, or the format is unknown",
                    &[ErrorCode::InvalidQuery],
                ),
            },
        }),
    };
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        if endpoint.requires_auth() {
            responses.insert(
                "401".into(),
                error_response("A token is configured and the request lacks it", &[ErrorCode::Unauthorized]),
            );
        }
        if asks_the_ledger(endpoint) {
            responses.insert(
                "500".into(),
                error_response("The ledger has stopped on an unrecoverable error", &[ErrorCode::Failed]),
            );
            let mut unavailable = error_response(
                "Try again after Retry-After seconds",
                &[ErrorCode::Unavailable, ErrorCode::Overloaded, ErrorCode::ShuttingDown],
            );
            unavailable["headers"] = json!({ "Retry-After": {
                "description": "Seconds to wait before retrying",
                "schema": { "type": "integer" },
            } });
            responses.insert("503".into(), unavailable);
        }
    }
    op
}

/// Whether the endpoint waits on the writer or the index (and so can answer 500 or 503).
const fn asks_the_ledger(endpoint: Endpoint) -> bool {
    match endpoint {
        Endpoint::Health | Endpoint::HealthV1 | Endpoint::Metrics | Endpoint::OpenApi => false,
        Endpoint::Account
        | Endpoint::Transfer
        | Endpoint::AccountTransfers
        | Endpoint::AccountBalances
        | Endpoint::Event
        | Endpoint::Journal
        | Endpoint::JournalStream
        | Endpoint::TrialBalance
        | Endpoint::ExportJournal
        | Endpoint::ExportTrialBalance => true,
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn ok(description: &str, schema: &str, example: Value) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema_ref(schema), "example": example } },
    })
}

/// A 200 of an export: CSV or JSON lines, as `format` asks.
fn export_ok(description: &str, csv_example: &str, jsonl_example: &str) -> Value {
    json!({
        "description": description,
        "content": {
            ExportFormat::Csv.content_type(): { "schema": { "type": "string" }, "example": csv_example },
            ExportFormat::Jsonl.content_type(): { "schema": { "type": "string" }, "example": jsonl_example },
        },
    })
}

fn export_format_parameter() -> Value {
    json!({
        "name": "format",
        "in": "query",
        "required": false,
        "description": "csv: RFC 4180 with a header line; jsonl: one JSON object per line, keys in column order.",
        "schema": { "type": "string", "enum": ExportFormat::ALL.map(ExportFormat::name), "default": "csv" },
    })
}

/// Rows of an example journal export: one transfer of a disbursement, its two lines.
fn journal_export_example(format: ExportFormat) -> String {
    let event = |line: &str, account_id: &str, code: u32, name: &str, debit: &str, credit: &str| {
        [
            Cell::Text("8".into()),
            Cell::Text("event".into()),
            Cell::Text("DISB-1".into()),
            Cell::Text("loan.disbursed".into()),
            Cell::Absent,
            Cell::Text("2024-01-01".into()),
            Cell::Int(1),
            Cell::Text("30727469618927201688333934909205660320".into()),
            Cell::Int(103),
            Cell::Text("posted".into()),
            Cell::Absent,
            Cell::Text(line.into()),
            Cell::Text(account_id.into()),
            Cell::Int(code),
            Cell::Text(name.into()),
            Cell::Text("channel=CH1;customer=C1;funder=F1;loan_note=L1".into()),
            Cell::Text(debit.into()),
            Cell::Text(credit.into()),
            Cell::Text("CNY".into()),
            Cell::Int(156),
            Cell::Text(r#"{"order_no":"LN-1"}"#.into()),
        ]
    };
    let rows = [
        event(
            "debit",
            "300073869116891301284563867438258375216",
            1122,
            "Loan principal receivable",
            "1000.00",
            "0.00",
        ),
        event(
            "credit",
            "260292187648361729217519798789906893747",
            1012,
            "Cash at payment channels",
            "0.00",
            "1000.00",
        ),
    ];
    encode_example(RowEncoder { format, columns: &JOURNAL_COLUMNS }, &rows)
}

fn trial_balance_export_example(format: ExportFormat) -> String {
    let row =
        |code: u32, name: &str, class: &str, normal: &str, debits: &str, credits: &str, balance: &str| {
            [
                Cell::Int(156),
                Cell::Text("CNY".into()),
                Cell::Int(code),
                Cell::Text(name.into()),
                Cell::Text(class.into()),
                Cell::Text(normal.into()),
                Cell::Text(debits.into()),
                Cell::Text(credits.into()),
                Cell::Text(balance.into()),
            ]
        };
    let rows = [
        row(1012, "Cash at payment channels", "asset", "debit", "0.00", "1000.00", "-1000.00"),
        row(1122, "Loan principal receivable", "asset", "debit", "1000.00", "0.00", "1000.00"),
    ];
    encode_example(RowEncoder { format, columns: &TRIAL_BALANCE_COLUMNS }, &rows)
}

fn encode_example<const N: usize>(encoder: RowEncoder<N>, rows: &[[Cell; N]]) -> String {
    let mut out = Vec::new();
    // Encoding into memory does not fail; an example that did would be empty, not a panic.
    if encoder.header(&mut out).and_then(|()| encoder.rows(rows, &mut out)).is_err() {
        out.clear();
    }
    String::from_utf8(out).unwrap_or_default()
}

fn error_response(description: &str, codes: &[ErrorCode]) -> Value {
    let names: Vec<&str> = codes.iter().map(|c| c.name()).collect();
    let example = match codes.first() {
        Some(code) => json!({ "error": code.name(), "detail": "why, for people" }),
        None => json!({ "error": "failed" }),
    };
    json!({
        "description": format!("{description} (error: {})", names.join(", ")),
        "content": { "application/json": { "schema": schema_ref("Error"), "example": example } },
    })
}

fn id_parameter(description: &str) -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": format!("{description}: base-10 u128, not 0 and not 2^128-1"),
        "schema": { "type": "string", "pattern": "^[0-9]{1,39}$" },
    })
}

fn from_parameter() -> Value {
    json!({
        "name": "from",
        "in": "query",
        "required": false,
        "description": "Inclusive lower timestamp bound (ns); 0 or absent: unbounded.",
        "schema": { "type": "integer", "minimum": 0 },
    })
}

fn to_parameter() -> Value {
    json!({
        "name": "to",
        "in": "query",
        "required": false,
        "description": "Inclusive upper timestamp bound (ns); 0 or absent: unbounded.",
        "schema": { "type": "integer", "minimum": 0 },
    })
}

fn limit_parameter() -> Value {
    json!({
        "name": "limit",
        "in": "query",
        "required": false,
        "description": "Items per page.",
        "schema": { "type": "integer", "minimum": 1, "maximum": PAGE_LIMIT_MAX, "default": PAGE_LIMIT_DEFAULT },
    })
}

fn order_parameter() -> Value {
    json!({
        "name": "order",
        "in": "query",
        "required": false,
        "description": "asc: oldest first; desc: newest first.",
        "schema": { "type": "string", "enum": ["asc", "desc"], "default": "asc" },
    })
}

fn cursor_parameter() -> Value {
    json!({
        "name": "cursor",
        "in": "query",
        "required": false,
        "description": "The previous page's next_cursor. The page continues right after that page's \
            last item (balance rows that share its timestamp and were not yet returned come first). \
            Filters left out are taken from the cursor; filters given must equal the cursor's \
            (else 400 cursor_mismatch).",
        "schema": { "type": "string", "pattern": format!("^[0-9a-fA-F]{{{}}}$", super::cursor::CURSOR_TEXT_LEN) },
    })
}

fn u128_schema(description: &str) -> Value {
    json!({ "type": "string", "format": "u128", "pattern": "^[0-9]{1,39}$", "description": description })
}

fn u64_schema(description: &str) -> Value {
    json!({ "type": "string", "format": "u64", "pattern": "^[0-9]{1,20}$", "description": description })
}

fn flags_schema(names: &[&str]) -> Value {
    json!({ "type": "array", "items": { "type": "string", "enum": names } })
}

/// An object schema whose every property is required and which allows no others.
fn closed_object(description: &str, properties: &Value) -> Value {
    let required: Vec<&String> = properties.as_object().map(|p| p.keys().collect()).unwrap_or_default();
    json!({
        "type": "object",
        "description": description,
        "required": required,
        "additionalProperties": false,
        "properties": properties,
    })
}

fn schemas() -> Value {
    let account_flags: Vec<&str> = ledger_core::AccountFlags::NAMES.iter().map(|(n, _)| *n).collect();
    let transfer_flags: Vec<&str> = ledger_core::TransferFlags::NAMES.iter().map(|(n, _)| *n).collect();
    let mut error_codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
    error_codes.push(journal::EVENT_NOT_FOUND);
    let balance_properties = |timestamp: Value| {
        json!({
            "debits_pending": u128_schema("Minor units"),
            "debits_posted": u128_schema("Minor units"),
            "credits_pending": u128_schema("Minor units"),
            "credits_posted": u128_schema("Minor units"),
            "timestamp": timestamp,
        })
    };
    let mut nullable_timestamp =
        u64_schema("The transfer that left these balances; null if there was none yet");
    nullable_timestamp["nullable"] = json!(true);
    let mut next_cursor = json!({
        "type": "string",
        "description": "Pass as `cursor` for the next page; null when the listing has no more items",
    });
    next_cursor["nullable"] = json!(true);
    let mut schemas = json!({
        "Account": closed_object("An account (see docs/http.md)", &json!({
            "id": u128_schema("Client-chosen id"),
            "ledger": { "type": "integer", "minimum": 0, "description": "The book (one asset)" },
            "code": { "type": "integer", "minimum": 0, "maximum": 65535, "description": "Chart-of-accounts code" },
            "flags": flags_schema(&account_flags),
            "debits_pending": u128_schema("Minor units reserved by pending transfers"),
            "debits_posted": u128_schema("Minor units"),
            "credits_pending": u128_schema("Minor units reserved by pending transfers"),
            "credits_posted": u128_schema("Minor units"),
            "user_data_128": u128_schema("Opaque to the ledger"),
            "user_data_64": u64_schema("Opaque to the ledger"),
            "user_data_32": { "type": "integer", "minimum": 0, "description": "Opaque to the ledger" },
            "timestamp": u64_schema("Nanoseconds, assigned by the writer at creation"),
        })),
        "Transfer": closed_object("A transfer (see docs/http.md)", &json!({
            "id": u128_schema("Client-chosen id"),
            "debit_account_id": u128_schema("The account debited"),
            "credit_account_id": u128_schema("The account credited"),
            "amount": u128_schema("Minor units"),
            "pending_id": u128_schema("For post/void: the pending transfer resolved; else 0"),
            "user_data_128": u128_schema("Opaque to the ledger"),
            "user_data_64": u64_schema("Opaque to the ledger"),
            "user_data_32": { "type": "integer", "minimum": 0, "description": "Opaque to the ledger" },
            "timeout": { "type": "integer", "minimum": 0, "description": "Seconds; pending transfers only" },
            "ledger": { "type": "integer", "minimum": 0 },
            "code": { "type": "integer", "minimum": 0, "maximum": 65535 },
            "flags": flags_schema(&transfer_flags),
            "timestamp": u64_schema("Nanoseconds, assigned by the writer"),
        })),
        "Balance": closed_object(
            "An account's balances right after one of its transfers",
            &balance_properties(u64_schema("The transfer that left these balances")),
        ),
        "BalanceAt": closed_object(
            "The balances as of a timestamp: zero with a null timestamp if the account had no transfer by then",
            &balance_properties(nullable_timestamp),
        ),
        "IndexPosition": closed_object("What the history index has ingested", &json!({
            "op": u64_schema("WAL op"),
            "transfers": u64_schema("Transfers ingested"),
        })),
        "TransferPage": closed_object("A page of an account's transfers", &json!({
            "transfers": { "type": "array", "items": schema_ref("Transfer") },
            "next_cursor": next_cursor.clone(),
            "current_to": schema_ref("IndexPosition"),
        })),
        "BalancePage": closed_object("A page of an account's balance history", &json!({
            "balances": { "type": "array", "items": schema_ref("Balance") },
            "next_cursor": next_cursor,
        })),
        "Health": closed_object("The server is up", &json!({
            "status": { "type": "string", "enum": ["ok"] },
            "durable_op": u64_schema("The newest durable WAL op"),
            "index": closed_object("The history index", &json!({
                "op": u64_schema("The WAL op the index has ingested up to"),
                "transfers": u64_schema("Transfers ingested"),
                "lag_transfers": u64_schema("Durable transfers not yet ingested"),
            })),
        })),
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": false,
            "properties": {
                "error": { "type": "string", "enum": error_codes },
                "detail": { "type": "string", "description": "For people; may change" },
            },
        },
    });
    if let Some(map) = schemas.as_object_mut() {
        map.extend(journal_schemas());
        map.extend(trial_balance_schemas());
    }
    schemas
}

/// The schemas of the journal views (`journal.rs`).
fn journal_schemas() -> Map<String, Value> {
    let nullable = |mut schema: Value| {
        schema["nullable"] = json!(true);
        schema
    };
    let business_date = || {
        nullable(json!({
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "The business date (YYYY-MM-DD) from the transfers' user_data_64",
        }))
    };
    let event_type = || nullable(json!({ "type": "string", "description": "The template's event type" }));
    let entries = || json!({ "type": "array", "items": schema_ref("JournalTransfer") });
    let op = || nullable(u64_schema("The WAL op that created the entry (null if journal.log lacks it)"));
    let string_map = |description: &str| {
        nullable(json!({
            "type": "object",
            "additionalProperties": { "type": "string" },
            "description": description,
        }))
    };
    let subjects = || string_map("The event's subjects as recorded (null if its record is missing)");
    let components = || string_map("The event's components (decimal amounts) as posted");
    let metadata = || nullable(json!({ "type": "object", "description": "The event's metadata as posted" }));
    let chart_version = || {
        nullable(
            json!({ "type": "integer", "minimum": 0, "description": "Version of the chart whose template planned the entry" }),
        )
    };
    let event_id = || {
        nullable(json!({ "type": "string", "description": "The event id (null if its record is missing)" }))
    };
    let reversal = nullable(closed_object(
        "The reversal entry, or null",
        &json!({
            "event_id": event_id(),
            "op": op(),
            "business_date": business_date(),
            "metadata": metadata(),
            "entries": entries(),
        }),
    ));
    let mut journal_entry = closed_object(
        "One journal entry",
        &json!({
            "kind": {
                "type": "string",
                "enum": ["event", "reversal", "transfer"],
                "description": "An event's entry, a reversal's mirror entry, or a transfer created directly",
            },
            "op": op(),
            "event_id": event_id(),
            "event_type": event_type(),
            "business_date": business_date(),
            "chart_version": chart_version(),
            "subjects": subjects(),
            "components": components(),
            "reverses": nullable(json!({ "type": "string", "description": "A reversal: the event id it reverses" })),
            "metadata": metadata(),
            "transfers": entries(),
            "first_timestamp": u64_schema("The first transfer's timestamp"),
            "last_timestamp": u64_schema("The last transfer's timestamp"),
        }),
    );
    // The event fields are present for events and reversals only (`subjects` and `components`
    // for events, `reverses` for reversals).
    journal_entry["required"] = json!(["kind", "op", "transfers", "first_timestamp", "last_timestamp"]);
    let schemas = json!({
        "JournalAccount": closed_object("An account of a posting", &json!({
            "account_id": u128_schema("The account's id"),
            "code": nullable(json!({ "type": "integer", "minimum": 0, "maximum": 65535, "description": "Chart code" })),
            "name": nullable(json!({ "type": "string", "description": "The chart's name for the code" })),
        })),
        "JournalTransfer": closed_object("One posting of an entry", &json!({
            "transfer_id": u128_schema("The transfer's id"),
            "debit": schema_ref("JournalAccount"),
            "credit": schema_ref("JournalAccount"),
            "amount": {
                "type": "string",
                "pattern": "^[0-9]+(\\.[0-9]+)?$",
                "description": "Decimal at the ledger's scale (minor units if the chart does not know the ledger)",
            },
            "timestamp": u64_schema("Nanoseconds, assigned by the writer"),
        })),
        "EventView": closed_object("A standard ledger event's entry and its reversal", &json!({
            "event_id": { "type": "string" },
            "status": { "type": "string", "enum": ["posted", "reversed"] },
            "event_type": event_type(),
            "ledger": { "type": "integer", "minimum": 0 },
            "currency": nullable(json!({ "type": "string", "description": "ISO 4217, from the chart" })),
            "business_date": business_date(),
            "op": op(),
            "chart_version": chart_version(),
            "subjects": subjects(),
            "components": components(),
            "metadata": metadata(),
            "entries": entries(),
            "reversal": reversal,
            "current_to": closed_object("The durable op the answer is current to", &json!({
                "op": u64_schema("WAL op"),
            })),
        })),
        "JournalEntry": journal_entry,
        "JournalPage": closed_object("A page of journal entries", &json!({
            "entries": { "type": "array", "items": schema_ref("JournalEntry") },
            "next_after": u64_schema("Pass as `after` for the next page; the request's `after` when empty"),
            "current_to": schema_ref("IndexPosition"),
        })),
    });
    match schemas {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn health_example() -> Value {
    json!({ "status": "ok", "durable_op": "1042", "index": { "op": "1042", "transfers": "8380000", "lag_transfers": "0" } })
}

fn account_example() -> Value {
    json!({
        "id": "1001", "ledger": 156, "code": 1122, "flags": ["credits_must_not_exceed_debits", "history"],
        "debits_pending": "0", "debits_posted": "100000", "credits_pending": "0", "credits_posted": "30500",
        "user_data_128": "0", "user_data_64": "0", "user_data_32": 0, "timestamp": "1764072000000000001",
    })
}

fn transfer_example() -> Value {
    json!({
        "id": "50001", "debit_account_id": "1001", "credit_account_id": "2001", "amount": "100000",
        "pending_id": "0", "user_data_128": "7", "user_data_64": "0", "user_data_32": 0, "timeout": 0,
        "ledger": 156, "code": 1, "flags": ["linked"], "timestamp": "1764072000000000100",
    })
}

fn transfer_page_example() -> Value {
    json!({
        "transfers": [transfer_example()],
        "next_cursor": null,
        "current_to": { "op": "1042", "transfers": "8380000" },
    })
}

fn balance_json_example() -> Value {
    json!({
        "debits_pending": "0", "debits_posted": "100000", "credits_pending": "0", "credits_posted": "30500",
        "timestamp": "1764072000000000100",
    })
}

fn balance_at_zero_example() -> Value {
    json!({
        "debits_pending": "0", "debits_posted": "0", "credits_pending": "0", "credits_posted": "0",
        "timestamp": null,
    })
}

fn balance_page_example() -> Value {
    json!({ "balances": [balance_json_example()], "next_cursor": null })
}

fn journal_account_example(account_id: &str, code: u16, name: &str) -> Value {
    json!({ "account_id": account_id, "code": code, "name": name })
}

fn journal_transfer_example() -> Value {
    json!({
        "transfer_id": "30727469618927201688333934909205660320",
        "debit": journal_account_example("300073869116891301284563867438258375216", 1122, "Loan principal receivable"),
        "credit": journal_account_example("260292187648361729217519798789906893747", 1012, "Cash at payment channels"),
        "amount": "1000.00",
        "timestamp": "1764072000000000100",
    })
}

fn event_view_example() -> Value {
    json!({
        "event_id": "DISB-1",
        "status": "reversed",
        "event_type": "loan.disbursed",
        "ledger": 156,
        "currency": "CNY",
        "business_date": "2024-01-01",
        "op": "17",
        "chart_version": 1,
        "subjects": { "channel": "CH1", "customer": "C1", "funder": "F1", "loan_note": "L1" },
        "components": { "principal": "1000.00" },
        "metadata": { "order_no": "A-1" },
        "entries": [journal_transfer_example()],
        "reversal": {
            "event_id": "DISB-1-REV",
            "op": "21",
            "business_date": "2024-01-05",
            "metadata": {},
            "entries": [journal_transfer_example()],
        },
        "current_to": { "op": "1042" },
    })
}

/// Two events of the stream: `id`, then the entry as one line of JSON.
fn journal_stream_example() -> String {
    let entries = journal_page_example()["entries"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .map(|entry| {
            let id = entry["last_timestamp"].as_str().unwrap_or_default();
            format!("id: {id}\ndata: {entry}\n\n")
        })
        .collect()
}

fn journal_page_example() -> Value {
    json!({
        "entries": [
            {
                "kind": "event",
                "op": "17",
                "event_id": "DISB-1",
                "event_type": "loan.disbursed",
                "business_date": "2024-01-01",
                "chart_version": 1,
                "subjects": { "channel": "CH1", "customer": "C1", "funder": "F1", "loan_note": "L1" },
                "components": { "principal": "1000.00" },
                "metadata": { "order_no": "A-1" },
                "transfers": [journal_transfer_example()],
                "first_timestamp": "1764072000000000100",
                "last_timestamp": "1764072000000000100",
            },
            {
                "kind": "transfer",
                "op": "18",
                "transfers": [journal_transfer_example()],
                "first_timestamp": "1764072000000000101",
                "last_timestamp": "1764072000000000101",
            },
        ],
        "next_after": "1764072000000000101",
        "current_to": { "op": "1042", "transfers": "8380000" },
    })
}

/// The schemas of the trial balance (`trial_balance.rs`).
fn trial_balance_schemas() -> Map<String, Value> {
    let decimal = |description: &str, sign: &str| {
        json!({
            "type": "string",
            "pattern": format!("^{sign}[0-9]+(\\.[0-9]+)?$"),
            "description": format!("{description}: a decimal at the ledger's scale (minor units if the chart does not know the ledger)"),
        })
    };
    let classes: Vec<&str> = [
        ledger_events::AccountClass::Asset,
        ledger_events::AccountClass::Liability,
        ledger_events::AccountClass::Equity,
        ledger_events::AccountClass::Income,
        ledger_events::AccountClass::Expense,
    ]
    .map(ledger_events::AccountClass::name)
    .to_vec();
    let schemas = json!({
        "TrialBalanceRow": closed_object("One account code's posted totals", &json!({
            "code": { "type": "integer", "minimum": 0, "maximum": 65535, "description": "Chart-of-accounts code" },
            "name": { "type": "string", "nullable": true, "description": "The chart's name; null for a code it lacks" },
            "class": { "type": "string", "enum": classes, "nullable": true, "description": "The chart's class; null for a code it lacks" },
            "debits": decimal("Posted debits of every account with the code", ""),
            "credits": decimal("Posted credits of every account with the code", ""),
            "balance": decimal("On the code's normal side (debit for a code the chart lacks); negative against it", "-?"),
        })),
        "TrialBalance": closed_object("A ledger's trial balance at a consistent point", &json!({
            "ledger": { "type": "integer", "minimum": 1 },
            "op": u64_schema("The WAL op of the history index's position the rows are for"),
            "at": u64_schema("The rows count the transfers committed at or before this timestamp: the requested \
                `at`, or the newest durable transfer's (0 if none) when absent or later"),
            "rows": { "type": "array", "items": schema_ref("TrialBalanceRow") },
            "total_debits": decimal("Sum of the rows' debits", ""),
            "total_credits": decimal("Sum of the rows' credits: always equal to total_debits", ""),
        })),
    });
    match schemas {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn trial_balance_example() -> Value {
    let row = |code: u16, name: &str, class: &str, amounts: [&str; 3]| {
        let [debits, credits, balance] = amounts;
        json!({ "code": code, "name": name, "class": class, "debits": debits, "credits": credits, "balance": balance })
    };
    json!({
        "ledger": 156,
        "op": "1042",
        "at": "1764072000000000100",
        "rows": [
            row(1012, "Cash at payment channels", "asset", ["0.00", "1000.00", "-1000.00"]),
            row(1122, "Loan principal receivable", "asset", ["1000.00", "0.00", "1000.00"]),
        ],
        "total_debits": "1000.00",
        "total_credits": "1000.00",
    })
}
