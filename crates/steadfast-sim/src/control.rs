//! The HTTP control plane (`/__sim/*`) for tests written in other languages, and the router.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde_json::{Value, json};

use crate::scenario::Scenario;
use crate::server::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__sim/health", get(health))
        .route("/__sim/journal", get(journal))
        .route("/__sim/reset", post(reset))
        .route("/__sim/scenario", post(set_scenario).get(get_scenario))
        .fallback(crate::dispatch::handle)
        .with_state(shared)
}

fn json(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let scenario = shared.engine().scenario.name.clone();
    json(
        StatusCode::OK,
        &json!({"status": "ok", "scenario": scenario}),
    )
}

async fn journal(State(shared): State<Arc<Shared>>) -> Response {
    let entries: Vec<Value> = shared
        .journal
        .snapshot()
        .into_iter()
        .map(|e| {
            let parsed = e.json();
            let mut v = serde_json::to_value(&e).unwrap_or(Value::Null);
            v["json"] = parsed.unwrap_or(Value::Null);
            v
        })
        .collect();
    json(StatusCode::OK, &Value::Array(entries))
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.reset();
    json(StatusCode::OK, &json!({"status": "ok"}))
}

async fn set_scenario(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match Scenario::from_str_any(&text) {
        Ok(s) => {
            let rules = s.rules.len();
            shared.set_scenario(s);
            json(StatusCode::OK, &json!({"status": "ok", "rules": rules}))
        }
        Err(e) => json(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()})),
    }
}

async fn get_scenario(State(shared): State<Arc<Shared>>) -> Response {
    let v = serde_json::to_value(&shared.engine().scenario).unwrap_or(Value::Null);
    json(StatusCode::OK, &v)
}
