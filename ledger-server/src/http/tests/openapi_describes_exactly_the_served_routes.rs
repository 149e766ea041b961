//! `/openapi.json` documents every route the router serves and nothing else; its examples and
//! the server's real answers satisfy its schemas.

use super::schema::conforms;
use super::standard_events::{disbursement_story, post_ok};
use super::{Fixture, account, get, get_ok, transfer};
use crate::http::Endpoint;
use crate::http::openapi::document;
use axum::http::StatusCode;
use ledger_core::AccountFlags;
use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn documented_paths(doc: &Value) -> BTreeSet<String> {
    doc["paths"].as_object().expect("`paths` is an object").keys().cloned().collect()
}

/// The schema of an operation's response with this status, JSON content.
fn response_schema<'a>(doc: &'a Value, path: &str, status: &str) -> &'a Value {
    &doc["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_path_is_served() {
    let fixture = Fixture::open();
    fixture.create_accounts(vec![account(1, AccountFlags::HISTORY), account(2, AccountFlags::NONE)]).await;
    fixture.create_transfers(vec![transfer(1, 1, 2, 10)]).await;
    post_ok(&fixture, disbursement_story()).await;
    // A recorder that is not installed globally: enough for `/metrics` to answer.
    let handle = PrometheusBuilder::new().build_recorder().handle();
    let router = fixture.router_with(None, Some(handle));
    // The journal stream ends once the feeds are closed, so its whole answer can be read.
    fixture.service().close_feeds();

    let served: BTreeSet<String> = Endpoint::ALL.iter().map(|e| e.path().to_owned()).collect();
    assert_eq!(served.len(), Endpoint::ALL.len(), "no route is listed twice");
    let served_doc = get_ok(&router, "/openapi.json").await;
    assert_eq!(served_doc, document(), "the served document is the built one");
    assert_eq!(documented_paths(&served_doc), served);

    for path in documented_paths(&served_doc) {
        let uri = path.replace("{id}", "1").replace("{event_id}", "DISB-1");
        let answer = get(&router, &uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&answer.body));
        let operation = &served_doc["paths"][&path]["get"];
        assert!(operation["operationId"].is_string(), "{path} has an operationId");
        assert!(operation["responses"]["200"].is_object(), "{path} documents its 200");
        if Endpoint::ALL.iter().any(|e| e.path() == path && e.requires_auth()) {
            assert!(operation["responses"]["401"].is_object(), "{path} documents its 401");
        } else {
            assert_eq!(operation["security"], json!([]), "{path} needs no token");
        }
        for parameter in operation["parameters"].as_array().expect("parameters are listed") {
            if parameter["in"] == "path" {
                let name = parameter["name"].as_str().expect("a parameter has a name");
                assert!(path.contains(&format!("{{{name}}}")), "{path} has the path parameter {name}");
            }
        }
    }
    let unknown = get(&router, "/v1/ledgers").await;
    assert_eq!(unknown.error(), "route_not_found");
}

#[test]
fn the_documents_examples_satisfy_their_schemas() {
    let doc = document();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("`paths` is an object") {
        let responses = item["get"]["responses"].as_object().expect("responses are listed");
        for (status, response) in responses {
            let Some(content) = response["content"].get("application/json") else { continue };
            let mut examples: Vec<&Value> = content.get("example").into_iter().collect();
            if let Some(named) = content.get("examples").and_then(Value::as_object) {
                examples.extend(named.values().map(|e| &e["value"]));
            }
            if path != "/openapi.json" {
                assert!(!examples.is_empty(), "{path} {status} has an example");
            }
            for example in examples {
                if let Err(e) = conforms(&doc, &content["schema"], example) {
                    panic!("{path} {status}: the example does not fit the schema: {e}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "examples were found ({checked})");
}

#[tokio::test]
async fn real_answers_satisfy_the_documented_schemas() {
    let fixture = Fixture::open();
    fixture.create_accounts(vec![account(1, AccountFlags::HISTORY), account(2, AccountFlags::NONE)]).await;
    fixture.create_transfers(vec![transfer(1, 1, 2, 10), transfer(2, 2, 1, 4)]).await;
    let router = fixture.router();
    let doc = document();

    let first_timestamp = fixture.stored_transfer(1).await.timestamp;
    let ok_answers = [
        ("/v1/accounts/{id}", "/v1/accounts/1".to_owned()),
        ("/v1/transfers/{id}", "/v1/transfers/2".to_owned()),
        ("/v1/accounts/{id}/transfers", "/v1/accounts/1/transfers?limit=1".to_owned()),
        ("/v1/accounts/{id}/transfers", "/v1/accounts/1/transfers".to_owned()),
        ("/v1/accounts/{id}/balances", "/v1/accounts/1/balances?limit=1".to_owned()),
        ("/v1/accounts/{id}/balances", "/v1/accounts/1/balances".to_owned()),
        ("/v1/accounts/{id}/balances", format!("/v1/accounts/1/balances?at={first_timestamp}")),
        ("/v1/accounts/{id}/balances", "/v1/accounts/1/balances?at=1".to_owned()),
        ("/healthz", "/healthz".to_owned()),
        ("/v1/healthz", "/v1/healthz".to_owned()),
    ];
    for (path, uri) in ok_answers {
        let body = get_ok(&router, &uri).await;
        if let Err(e) = conforms(&doc, response_schema(&doc, path, "200"), &body) {
            panic!("GET {uri}: the answer does not fit the schema: {e}");
        }
    }

    let error_answers = [
        ("/v1/accounts/{id}", "/v1/accounts/9", "404"),
        ("/v1/transfers/{id}", "/v1/transfers/x", "400"),
        ("/v1/accounts/{id}/transfers", "/v1/accounts/1/transfers?limit=0", "400"),
        ("/v1/accounts/{id}/balances", "/v1/accounts/2/balances", "409"),
        ("/metrics", "/metrics", "404"),
    ];
    for (path, uri, status) in error_answers {
        let answer = get(&router, uri).await;
        assert_eq!(answer.status.as_str(), status, "{uri}");
        if let Err(e) = conforms(&doc, response_schema(&doc, path, status), &answer.json()) {
            panic!("GET {uri}: the error does not fit the schema: {e}");
        }
        // The documented description names the code the server used.
        let description =
            doc["paths"][path]["get"]["responses"][status]["description"].as_str().unwrap_or("");
        assert!(description.contains(&answer.error()), "{path} {status} documents `{}`", answer.error());
    }
}
