//! One provider request, end to end: route, auth, parse, match the scenario, answer, record.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use bytes::Bytes;
use futures_util::stream;
use http::Response;
use serde_json::json;

use crate::action::{Outcome, StreamFault};
use crate::engine::MatchInput;
use crate::journal::{JournalEntry, redact_header, redact_query};
use crate::model;
use crate::provider::Dialect;
use crate::providers::{self, Req};
use crate::server::{ResetConnection, Shared};

/// Largest request body accepted (the real APIs accept up to 32 MB).
const MAX_BODY: usize = 64 * 1024 * 1024;

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return providers::response(
                413,
                "text/plain",
                Vec::new(),
                Body::from("request too large"),
            );
        }
    };
    let path = parts.uri.path();
    let query = parts.uri.query();
    let seq = shared
        .seq
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    let received_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut entry = JournalEntry {
        seq,
        received_ms,
        provider: None,
        method: parts.method.to_string(),
        path: path.to_owned(),
        query: query.map(redact_query),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    redact_header(n.as_str(), v.as_bytes()),
                )
            })
            .collect(),
        // A copy: the received Bytes may share (and pin) a large connection read buffer.
        body: Bytes::copy_from_slice(&body),
        model: None,
        stream: false,
        status: 404,
        rule: None,
        action: "not_found".into(),
    };
    let Some((provider, route)) = providers::route(&parts.method, path) else {
        shared.journal.push(entry);
        return unknown_route(&parts.method, path);
    };
    entry.provider = Some(provider);
    shared.count(provider);
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let req = Req {
        provider,
        route: &route,
        method: &parts.method,
        path,
        query,
        headers: &parts.headers,
        body: &body,
        seq,
        created,
    };
    let engine = shared.engine();
    if let Err(resp) = providers::check_auth(&req, &engine.scenario) {
        return record(&shared, entry, resp, "auth_rejected");
    }
    let chat = match providers::parse(&req) {
        Ok(chat) => chat,
        Err(resp) => return record(&shared, entry, resp, "invalid_request"),
    };
    entry.model = Some(chat.model.clone());
    entry.stream = chat.stream;
    let tokens = chat
        .prompt_tokens
        .max(1)
        .saturating_add(chat.max_tokens.unwrap_or(0));
    let key = providers::presented_key(&req).unwrap_or_default();
    if let Err(exceeded) = engine.quotas.admit(provider, key, tokens) {
        let spec = exceeded.spec(provider, &chat.model);
        let resp = providers::error_response(&req, &chat.model, &spec);
        return record(&shared, entry, resp, "quota_exceeded");
    }
    let (rule, action) = engine.decide(&MatchInput {
        provider,
        model: &chat.model,
        path,
        stream: chat.stream,
    });
    entry.rule = rule;
    let resp = match &action.outcome {
        Outcome::Error(spec) => providers::error_response(&req, &chat.model, spec),
        Outcome::Gateway(status) => gateway_page(*status),
        Outcome::Reset => {
            let mut resp = Response::new(Body::empty());
            resp.extensions_mut().insert(ResetConnection);
            resp
        }
        Outcome::Reply(reply) => {
            let answer = model::answer(&chat, reply);
            if chat.stream {
                stream_response(
                    &req,
                    &chat,
                    &answer,
                    action.fault.as_ref(),
                    action.chunk_delay,
                    action.novelty,
                )
            } else {
                match &action.fault {
                    None => providers::render(&req, &chat, &answer, action.novelty),
                    Some(StreamFault::InBandError(_, spec)) => {
                        providers::error_response(&req, &chat.model, spec)
                    }
                    Some(fault) => {
                        let full = providers::render(&req, &chat, &answer, action.novelty);
                        truncated(full, matches!(fault, StreamFault::Reset(_))).await
                    }
                }
            }
        }
    };
    let label = action.label();
    let delay = action.delay;
    let resp = record(&shared, entry, resp, label);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    resp
}

fn record(
    shared: &Shared,
    mut entry: JournalEntry,
    resp: Response<Body>,
    action: &str,
) -> Response<Body> {
    entry.status = if resp.extensions().get::<ResetConnection>().is_some() {
        0
    } else {
        resp.status().as_u16()
    };
    entry.action = action.to_owned();
    shared.journal.push(entry);
    resp
}

fn unknown_route(method: &http::Method, path: &str) -> Response<Body> {
    let known: Vec<String> = Dialect::ALL
        .iter()
        .map(|p| format!("{} ({})", p.base_path(), p.name()))
        .collect();
    let body = json!({"error": {"message": format!("Unknown route: {method} {path}. Dialect base paths: {}", known.join(", ")),
        "type": "invalid_request_error", "param": null, "code": "unknown_url"}});
    providers::json_response(404, Vec::new(), &body)
}

fn gateway_page(status: u16) -> Response<Body> {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let html = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
    );
    providers::response(status, "text/html", Vec::new(), Body::from(html))
}

/// A non-streaming body cut in the middle (and, for a reset, ended with a transport error).
async fn truncated(full: Response<Body>, reset: bool) -> Response<Body> {
    let (parts, body) = full.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    let mut parts = parts;
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let mut pieces = vec![Piece::Data(half)];
    if reset {
        pieces.push(Piece::Abort);
    }
    Response::from_parts(parts, body_from(pieces, None))
}

enum Piece {
    Data(Bytes),
    Abort,
}

fn stream_response(
    req: &Req<'_>,
    chat: &model::ChatRequest,
    answer: &model::Answer,
    fault: Option<&StreamFault>,
    chunk_delay: Option<Duration>,
    novelty: bool,
) -> Response<Body> {
    let providers::Events { events, end } = providers::stream_events(req, chat, answer, novelty);
    let mut pieces: Vec<Piece> = Vec::with_capacity(events.len() + end.len() + 1);
    let data = |v: Vec<Bytes>| v.into_iter().map(Piece::Data);
    match fault {
        None => {
            pieces.extend(data(events));
            pieces.extend(data(end));
        }
        Some(StreamFault::Cut(n)) => pieces.extend(data(events.into_iter().take(*n).collect())),
        Some(StreamFault::InBandError(n, spec)) => {
            pieces.extend(data(events.into_iter().take(*n).collect()));
            pieces.extend(data(providers::stream_error(req, spec)));
        }
        Some(StreamFault::Malformed(n)) => {
            let mut events = events;
            let rest = events.split_off((*n).min(events.len()));
            pieces.extend(data(events));
            pieces.push(Piece::Data(providers::malformed_event(req)));
            pieces.extend(data(rest));
            pieces.extend(data(end));
        }
        Some(StreamFault::Reset(n)) => {
            pieces.extend(data(events.into_iter().take(*n).collect()));
            pieces.push(Piece::Abort);
        }
    }
    let mut headers = providers::stream_headers(req);
    headers.push(("cache-control".into(), "no-cache".into()));
    providers::response(
        200,
        providers::stream_content_type(req),
        headers,
        body_from(pieces, chunk_delay),
    )
}

/// A body that sends the pieces in order, waiting `chunk_delay` between them.
fn body_from(pieces: Vec<Piece>, chunk_delay: Option<Duration>) -> Body {
    let body_stream = stream::unfold(
        (pieces.into_iter(), true),
        move |(mut it, first)| async move {
            let piece = it.next()?;
            if let (false, Some(d)) = (first, chunk_delay) {
                tokio::time::sleep(d).await;
            }
            let item = match piece {
                Piece::Data(b) => Ok(b),
                Piece::Abort => {
                    // Let hyper flush what was sent so far (it flushes when the body is
                    // pending), so the client sees the head and the first events first.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "simulated reset",
                    ))
                }
            };
            Some((item, (it, false)))
        },
    );
    Body::from_stream(body_stream)
}
