//! The HTTP server: routes, the resilient call, headers and access logs.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::{get, post};
use futures_util::StreamExt;
use http::header::{CONTENT_TYPE, HeaderName, IntoHeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};
use steadfast::{
    Call, ErrorKind, FinishReason, Prompt, Resilient, ResponseStream, StreamEvent, resilient,
};
use tokio::time::Instant;

use crate::errors::{from_library, retry_after_secs};
use crate::inbound::{
    AnthropicMessages, ApiError, Envelope, InboundRequest, OpenAiChat, Protocol, StreamEncoder,
};
use crate::keys::{Admitted, InboundKeys};
use crate::metrics::{Metrics, Sample};
use crate::routes::{AttemptLog, Resolve, counted};

/// The gateway: a resolver for model names and the inbound keys it accepts. Turn it into an
/// axum [`Router`] with [`Gateway::router`], or serve it with [`Gateway::serve`].
///
/// Routes: `POST /v1/chat/completions` (OpenAI), `POST /v1/messages` (Anthropic),
/// `GET /v1/models` (OpenAI's list), `GET /metrics` (Prometheus text, unauthenticated: no label
/// holds a key or content), `GET /health`.
///
/// Clones share everything: [`Gateway::reload`] on one clone (the one kept after
/// [`serve`](Gateway::serve) took another) changes what the served one routes.
#[derive(Clone)]
pub struct Gateway {
    live: Arc<RwLock<Live>>,
    metrics: Arc<Metrics>,
    log_content: Arc<AtomicBool>,
}

/// What a reload replaces.
#[derive(Clone)]
struct Live {
    resolver: Arc<dyn Resolve>,
    keys: InboundKeys,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live = self.live();
        f.debug_struct("Gateway")
            .field("resolver", &live.resolver)
            .field("keys", &live.keys)
            .finish()
    }
}

impl Gateway {
    /// A gateway routing through `resolver`, accepting any key (set [`Gateway::keys`] for a
    /// deployment).
    pub fn new(resolver: impl Resolve) -> Self {
        Gateway {
            live: Arc::new(RwLock::new(Live {
                resolver: Arc::new(resolver),
                keys: InboundKeys::any(),
            })),
            metrics: Arc::default(),
            log_content: Arc::default(),
        }
    }

    /// Whether the access log holds each request's messages and its answer
    /// (`gen_ai.input.messages` and `gen_ai.output.messages`, JSON in the GenAI conventions'
    /// message schema; a stream's answer on a second line, `stream content`, when it ends).
    /// Default off: content may hold personal data. Keys are never logged, either way. Set for
    /// every clone of this gateway (the config's `[log] content`, again on a reload).
    #[must_use]
    pub fn log_content(self, on: bool) -> Self {
        self.log_content.store(on, Ordering::Relaxed);
        self
    }

    /// The inbound keys accepted.
    #[must_use]
    pub fn keys(self, keys: InboundKeys) -> Self {
        self.write().keys = keys;
        self
    }

    /// Replaces the resolver and the keys, for every clone of this gateway (a config reload on
    /// SIGHUP). Requests in flight, streams included, finish on the route they started with; the
    /// next request uses the new ones. The keys' limits start afresh.
    pub fn reload(&self, resolver: impl Resolve, keys: InboundKeys) {
        *self.write() = Live {
            resolver: Arc::new(resolver),
            keys,
        };
    }

    fn live(&self) -> Live {
        self.live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Live> {
        self.live
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The axum router of every route.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(openai_chat))
            .route("/v1/messages", post(anthropic_messages))
            .route("/v1/models", get(models))
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .fallback(not_found)
            .with_state(Arc::new(self))
    }

    /// Serves on `listener` until `shutdown` resolves; requests in flight (open streams
    /// included) are drained first.
    ///
    /// # Errors
    /// The server's I/O error.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        use axum::serve::ListenerExt;
        // No Nagle delay on the answers (the library's upstream connections have none either).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }
}

async fn health() -> axum::response::Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}), HeaderMap::new())
}

async fn metrics(State(gw): State<Arc<Gateway>>) -> axum::response::Response {
    let mut text = gw.metrics.render();
    let live = gw.live();
    crate::metrics::render_breakers(&mut text, &live.resolver.breakers());
    crate::metrics::render_budgets(&mut text, &live.resolver.budgets());
    let mut resp = axum::response::Response::new(Body::from(text));
    insert(
        resp.headers_mut(),
        "content-type",
        "text/plain; version=0.0.4; charset=utf-8",
    );
    resp
}

async fn not_found() -> axum::response::Response {
    let e = ApiError::new(
        ErrorKind::NotFound,
        "Unknown route: the gateway serves POST /v1/chat/completions, POST /v1/messages and GET /v1/models",
    );
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"error": {"message": e.message, "type": "invalid_request_error", "param": null, "code": "unknown_url"}}),
        HeaderMap::new(),
    )
}

async fn models(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> axum::response::Response {
    let env = envelope(String::new());
    if let Err(e) = check_key(&gw, &OpenAiChat, &headers) {
        return error_response(&OpenAiChat, &e, &env, None, "");
    }
    let data: Vec<Value> = gw
        .live()
        .resolver
        .models()
        .into_iter()
        .map(|id| {
            // A provider:model is owned by its provider; an alias by the gateway.
            let owner = id
                .split_once(':')
                .map_or("steadfast", |(p, _)| p)
                .to_owned();
            json!({"id": id, "object": "model", "created": 0, "owned_by": owner})
        })
        .collect();
    let mut h = HeaderMap::new();
    insert(&mut h, OpenAiChat.request_id_header(), &env.request_id);
    json_response(StatusCode::OK, &json!({"object": "list", "data": data}), h)
}

async fn openai_chat(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    handle(&gw, &OpenAiChat, &headers, &body).await
}

async fn anthropic_messages(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    handle(&gw, &AnthropicMessages, &headers, &body).await
}

fn envelope(model: String) -> Envelope {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Envelope {
        request_id: request_id(),
        created,
        model,
    }
}

/// A fresh request id: 24 random lowercase hex digits (written directly: `format!` with width
/// and radix specs costs some ten times as much).
fn request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut n = (u128::from(fastrand::u64(..)) << 32) | u128::from(fastrand::u32(..));
    let mut digits = [0u8; 24];
    for d in digits.iter_mut().rev() {
        *d = HEX[(n & 0xf) as usize];
        n >>= 4;
    }
    std::str::from_utf8(&digits).unwrap_or_default().to_owned()
}

fn check_key(gw: &Gateway, p: &dyn Protocol, headers: &HeaderMap) -> Result<Admitted, ApiError> {
    match p.key(headers) {
        None => Err(ApiError::new(
            ErrorKind::Auth,
            "You didn't provide an API key: send it as `Authorization: Bearer <key>` (or `x-api-key` for the Messages API).",
        )),
        Some(k) => gw.live().keys.admit(k),
    }
}

/// One access-log line: no key, no content.
struct Access<'a> {
    protocol: &'static str,
    /// The key's name from the config (never the key).
    key: &'a str,
    request_id: &'a str,
    model: &'a str,
    stream: bool,
    started: Instant,
    metrics: &'a Metrics,
    /// The route's primary target (a request answered elsewhere fell back).
    primary: String,
    /// With content logging: the request's messages (`gen_ai.input.messages`).
    input: Option<String>,
}

impl Access<'_> {
    fn log(&self, status: u16, attempts: u32, target: &str, error: Option<&ApiError>) {
        self.log_answer(status, attempts, target, error, None);
    }

    /// As [`log`](Self::log), with the answer (`gen_ai.output.messages`) when content is logged.
    fn log_answer(
        &self,
        status: u16,
        attempts: u32,
        target: &str,
        error: Option<&ApiError>,
        output: Option<&str>,
    ) {
        let duration = self.started.elapsed();
        self.metrics.request(&Sample {
            protocol: self.protocol,
            status,
            attempts,
            fallback: !target.is_empty() && !self.primary.is_empty() && target != self.primary,
            duration,
            first_token: (self.stream && status == 200).then_some(duration),
        });
        tracing::info!(
            target: "steadfast_gateway::access",
            protocol = self.protocol,
            key = self.key,
            request_id = self.request_id,
            model = self.model,
            stream = self.stream,
            status,
            attempts,
            upstream = target,
            error_kind = error.map(|e| e.kind.as_str()),
            duration_ms = duration.as_secs_f64() * 1000.0,
            gen_ai.input.messages = self.input.as_deref(),
            gen_ai.output.messages = output,
            "request"
        );
    }
}

async fn handle(
    gw: &Gateway,
    p: &dyn Protocol,
    headers: &HeaderMap,
    body: &[u8],
) -> axum::response::Response {
    let started = Instant::now();
    let mut env = envelope(String::new());
    let mut access = Access {
        protocol: p.name(),
        key: "",
        request_id: "",
        model: "",
        stream: false,
        started,
        metrics: &gw.metrics,
        primary: String::new(),
        input: None,
    };
    let rid = env.request_id.clone();
    access.request_id = &rid;
    let fail = |e: ApiError, env: &Envelope, access: &Access<'_>| {
        access.log(p_status(p, &e), 0, "", Some(&e));
        error_response(p, &e, env, None, "")
    };
    let admitted = match check_key(gw, p, headers) {
        Ok(a) => a,
        Err(e) => return fail(e, &env, &access),
    };
    let key_name = admitted.name.clone();
    access.key = key_name.as_deref().unwrap_or("");
    let req = match p.decode(headers, body) {
        Ok(r) => r,
        Err(e) => return fail(e, &env, &access),
    };
    let log_content = gw.log_content.load(Ordering::Relaxed);
    if log_content {
        access.input = Some(steadfast::telemetry::input_messages_json(&req.messages));
    }
    env.model.clone_from(&req.model);
    let model = req.model.clone();
    access.model = &model;
    access.stream = req.stream;
    let route = match gw.live().resolver.resolve(&req.model) {
        Ok(r) => r,
        Err(e) => return fail(e, &env, &access),
    };
    access.primary = route.targets.first().map(Call::target).unwrap_or_default();
    let log = Arc::new(AttemptLog::default());
    let Some(resilient) = resilient_for(&route, &req, &log) else {
        let e = ApiError::new(
            ErrorKind::Config,
            format!("the model `{}` routes to no target", req.model),
        );
        return fail(e, &env, &access);
    };
    let prompt = Prompt::new(req.messages.clone());
    // Structured output is validated whole before anything is sent: a streamed request for
    // one runs as a complete call below, and its validated answer is then sent as a stream.
    if req.stream && req.output.is_none() {
        let upstream = resilient.stream(prompt);
        let metrics = Arc::clone(&gw.metrics);
        let ctx = (admitted, metrics, log_content);
        return stream(p, &req, &env, &access, upstream, &log, ctx).await;
    }
    let result = match &req.output {
        Some(out) => match resilient.extract_json(prompt, &out.name, out.schema.clone()) {
            Ok(x) => x.with_response().await.map(|(v, r)| (Some(v), r)),
            Err(e) => {
                let e =
                    ApiError::invalid(format!("the structured output's schema: {}", e.message()));
                return fail(e, &env, &access);
            }
        },
        None => resilient.send(prompt).await.map(|r| (None, r)),
    };
    let (attempts, target) = log.get();
    match &result {
        Ok((_, r)) => gw.metrics.quota(r.attempts(), r.caught()),
        Err(e) => gw
            .metrics
            .quota(e.attempts(), std::iter::once(e).chain(e.caught())),
    }
    match result {
        Ok((structured, response)) => {
            if let Some(u) = response.usage() {
                gw.metrics.tokens(u.input_tokens, u.output_tokens);
            }
            let output = log_content.then(|| match &structured {
                Some(v) => structured_output_json(v),
                None => steadfast::telemetry::output_messages_json(&response),
            });
            access.log_answer(200, attempts, &target, None, output.as_deref());
            // json_response sets the content type.
            let h = steadfast_headers(p, &env, attempts, &target);
            if req.stream {
                return validated_stream(p, &req, &env, &response, structured.as_ref(), h);
            }
            let body = p.encode_response_bytes(&req, &response, structured.as_ref(), &env);
            json_bytes_response(StatusCode::OK, body, h)
        }
        Err(e) => {
            let e = from_library(&e);
            access.log(p_status(p, &e), attempts, &target, Some(&e));
            error_response(p, &e, &env, Some(attempts), &target)
        }
    }
}

/// The validated structured output as `gen_ai.output.messages` (the answer the client gets).
fn structured_output_json(v: &Value) -> String {
    json!([{"role": "assistant", "parts": [{"type": "text", "content": v.to_string()}],
        "finish_reason": "stop"}])
    .to_string()
}

/// A streamed request for structured output, once its answer has been validated: the answer
/// sent as the protocol's ordinary stream — the JSON as one text delta, the usage, the end —
/// all at once. Nothing is streamed before validation, so the client never sees output that
/// failed it.
fn validated_stream(
    p: &dyn Protocol,
    req: &InboundRequest,
    env: &Envelope,
    response: &steadfast::Response,
    structured: Option<&Value>,
    mut h: HeaderMap,
) -> axum::response::Response {
    let mut enc = p.stream_encoder(req, env);
    let text = structured.map(Value::to_string).unwrap_or_default();
    let mut frames = enc.event(&StreamEvent::Text(text));
    if let Some(u) = response.usage() {
        frames.extend(enc.event(&StreamEvent::Usage(u)));
    }
    frames.extend(enc.event(&StreamEvent::Finish {
        reason: FinishReason::Stop,
        raw: None,
    }));
    frames.extend(enc.finish());
    let body = futures_util::stream::iter(frames.into_iter().map(Ok::<Bytes, Infallible>));
    insert(&mut h, "content-type", "text/event-stream");
    insert(&mut h, "cache-control", "no-cache");
    let mut resp = axum::response::Response::new(Body::from_stream(body));
    *resp.headers_mut() = h;
    resp
}

/// The library call for `req`: every target with the request's parameters, tools and tool
/// choice, noting its attempts in `log`, under the route's policy and fallback chain (`None` for
/// a route without targets).
fn resilient_for(
    route: &crate::routes::Route,
    req: &InboundRequest,
    log: &Arc<AttemptLog>,
) -> Option<Resilient> {
    let calls: Vec<steadfast::Call> = route
        .order()
        .into_iter()
        .filter_map(|i| route.targets.get(i))
        .map(|c| {
            counted(c, log)
                .with_params(req.params.clone())
                .with_tools(req.tools.clone())
                .tool_choice(req.tool_choice.clone())
        })
        .collect();
    let policy = if req.output.is_some() {
        &route.output_policy
    } else {
        &route.policy
    };
    let (primary, backups) = calls.split_first()?;
    let mut policy = policy.clone();
    if let Some(b) = &route.budget {
        policy = policy.budget(b.clone());
    }
    let mut r = primary.retry(policy);
    if !backups.is_empty() || route.breakers.is_some() {
        let mut chain = resilient::fallback(route.fallback_on.clone());
        if let Some(b) = &route.breakers {
            chain = chain.breaker(b.lookup());
        }
        if let Some(b) = &route.budget {
            chain = chain.budget(b.clone());
        }
        for c in backups {
            chain = chain.backup(c.clone(), route.fallback_on.clone());
        }
        r = r.fallback(chain);
    }
    Some(r)
}

/// A streamed answer: retries and fallback run until the stream's commit point (its first
/// content), before any byte goes to the client — a failure there is an ordinary HTTP error.
/// After it, an upstream failure ends the client's stream with the protocol's error event.
async fn stream(
    p: &dyn Protocol,
    req: &InboundRequest,
    env: &Envelope,
    access: &Access<'_>,
    mut upstream: ResponseStream,
    log: &Arc<AttemptLog>,
    (admitted, metrics, log_content): (Admitted, Arc<Metrics>, bool),
) -> axum::response::Response {
    let mut head = Vec::new();
    let mut ended = false;
    loop {
        match upstream.next().await {
            Some(Ok(ev)) => {
                let content = ev.is_content();
                head.push(ev);
                if content {
                    break;
                }
            }
            Some(Err(e)) => {
                let (attempts, target) = log.get();
                access
                    .metrics
                    .quota(e.attempts(), std::iter::once(&e).chain(e.caught()));
                let e = from_library(&e);
                access.log(p_status(p, &e), attempts, &target, Some(&e));
                return error_response(p, &e, env, Some(attempts), &target);
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    let (attempts, target) = log.get();
    let mut enc = p.stream_encoder(req, env);
    let mut queue: VecDeque<Bytes> = head.iter().flat_map(|e| enc.event(e)).collect();
    if ended {
        queue.extend(enc.finish());
    }
    let upstream = if ended {
        let mut output = None;
        if let Ok(r) = upstream.into_response().await {
            metrics.quota(r.attempts(), r.caught());
            output = log_content.then(|| steadfast::telemetry::output_messages_json(&r));
        }
        access.log_answer(200, attempts, &target, None, output.as_deref());
        None
    } else {
        access.log(200, attempts, &target, None);
        Some(upstream)
    };
    let pump = Pump {
        upstream,
        enc,
        queue,
        request_id: env.request_id.clone(),
        protocol: p.name(),
        metrics,
        log_content,
        _admitted: admitted,
    };
    let body = futures_util::stream::unfold(pump, |mut pump| async move {
        loop {
            if let Some(b) = pump.queue.pop_front() {
                return Some((Ok::<Bytes, Infallible>(b), pump));
            }
            let upstream = pump.upstream.as_mut()?;
            match upstream.next().await {
                Some(Ok(ev)) => {
                    if let StreamEvent::Usage(u) = &ev {
                        pump.metrics.tokens(u.input_tokens, u.output_tokens);
                    }
                    let frames = pump.enc.event(&ev);
                    pump.queue.extend(frames);
                }
                Some(Err(e)) => {
                    pump.metrics.stream_error(pump.protocol);
                    pump.metrics
                        .quota(e.attempts(), std::iter::once(&e).chain(e.caught()));
                    let e = from_library(&e);
                    tracing::warn!(
                        target: "steadfast_gateway::access",
                        protocol = pump.protocol,
                        request_id = %pump.request_id,
                        error_kind = e.kind.as_str(),
                        "the upstream failed after the stream's commit point; the client's stream ends with an error event"
                    );
                    let frames = pump.enc.error(&e);
                    pump.queue.extend(frames);
                    pump.upstream = None;
                }
                None => {
                    let frames = pump.enc.finish();
                    pump.queue.extend(frames);
                    // The stream has ended: its response holds every attempt, and what its
                    // fallback chain caught.
                    if let Some(done) = pump.upstream.take() {
                        if let Ok(r) = done.into_response().await {
                            pump.metrics.quota(r.attempts(), r.caught());
                            if pump.log_content {
                                tracing::info!(
                                    target: "steadfast_gateway::access",
                                    protocol = pump.protocol,
                                    request_id = %pump.request_id,
                                    gen_ai.output.messages =
                                        steadfast::telemetry::output_messages_json(&r),
                                    "stream content"
                                );
                            }
                        }
                    }
                }
            }
        }
    });
    let mut h = steadfast_headers(p, env, attempts, &target);
    insert(&mut h, "content-type", "text/event-stream");
    insert(&mut h, "cache-control", "no-cache");
    let mut resp = axum::response::Response::new(Body::from_stream(body));
    *resp.headers_mut() = h;
    resp
}

/// A streamed answer in flight.
struct Pump {
    upstream: Option<ResponseStream>,
    enc: Box<dyn StreamEncoder>,
    queue: VecDeque<Bytes>,
    request_id: String,
    protocol: &'static str,
    metrics: Arc<Metrics>,
    /// Whether the answer is logged when the stream ends.
    log_content: bool,
    /// The key's place among its requests in flight, until the stream ends.
    _admitted: Admitted,
}

fn p_status(p: &dyn Protocol, e: &ApiError) -> u16 {
    p.status(e)
}

fn steadfast_headers(p: &dyn Protocol, env: &Envelope, attempts: u32, target: &str) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(6);
    let id = match p.request_id_header() {
        "x-request-id" => X_REQUEST_ID.clone(),
        "request-id" => REQUEST_ID.clone(),
        other => HeaderName::from_static(other),
    };
    insert(&mut h, id, &env.request_id);
    h.insert(ATTEMPTS.clone(), HeaderValue::from(attempts));
    if !target.is_empty() {
        insert(&mut h, TARGET.clone(), target);
    }
    h
}

// The gateway's own header names, made once (no parsing per response).
static ATTEMPTS: HeaderName = HeaderName::from_static("x-steadfast-attempts");
static TARGET: HeaderName = HeaderName::from_static("x-steadfast-target");
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

fn insert(h: &mut HeaderMap, name: impl IntoHeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

fn error_response(
    p: &dyn Protocol,
    e: &ApiError,
    env: &Envelope,
    attempts: Option<u32>,
    target: &str,
) -> axum::response::Response {
    let mut h = steadfast_headers(p, env, attempts.unwrap_or(0), target);
    if let Some(wait) = e.retry_after {
        insert(&mut h, "retry-after", &retry_after_secs(wait).to_string());
    }
    let status = StatusCode::from_u16(p.status(e)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &p.error_body(e, env), h)
}

fn json_response(status: StatusCode, body: &Value, h: HeaderMap) -> axum::response::Response {
    // Straight to bytes (`to_string` goes through `fmt::Write`, one call per token). A `Value`
    // always serialises; the fallback is never taken.
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    json_bytes_response(status, bytes, h)
}

/// A response with a JSON body already serialised.
fn json_bytes_response(
    status: StatusCode,
    bytes: Vec<u8>,
    mut h: HeaderMap,
) -> axum::response::Response {
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut resp = axum::response::Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    *resp.headers_mut() = h;
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_24_lowercase_hex_digits_and_differ() {
        let a = super::request_id();
        let b = super::request_id();
        for id in [&a, &b] {
            assert_eq!(id.len(), 24, "{id}");
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
                "{id}"
            );
        }
        assert_ne!(a, b);
    }
}
