//! HTTP transport shared by every provider: one connection pool per process, timeouts, error
//! classification hooks, and SSE streaming.

pub(crate) mod hints;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use crate::client::{ClientConfig, Timeouts};
use crate::codec::sse::{SseDecoder, SseEvent};
use crate::error::{Error, ErrorKind};
use crate::provider::{
    BoxFuture, Capabilities, ChatRequest, EncodedRequest, EventStream, HttpCodec, Provider,
    ProviderEvent,
};
use crate::response::{AttemptSummary, Response};

/// A request ready to go on the wire.
#[derive(Debug)]
pub(crate) struct HttpRequest {
    pub(crate) url: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl HttpRequest {
    pub(crate) fn json(url: String, body: &impl serde::Serialize) -> Result<Self, Error> {
        // Most request bodies are a few hundred bytes to a few KiB: one allocation up front
        // instead of `to_vec`'s growth from 128 bytes.
        let mut json = Vec::with_capacity(1024);
        serde_json::to_writer(&mut json, body).map_err(|e| {
            Error::new(ErrorKind::InvalidRequest, "could not serialise the request").with_source(e)
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(HttpRequest {
            url,
            headers,
            body: Bytes::from(json),
        })
    }

    /// Adds `Authorization: Bearer <key>`.
    #[cfg_attr(
        not(feature = "__bearer"),
        allow(dead_code, reason = "only bearer-token providers use it")
    )]
    pub(crate) fn bearer(&mut self, key: &crate::client::ApiKey) -> Result<(), Error> {
        let value = key.bearer().ok_or_else(|| {
            Error::config(
                "the value of header `authorization` (a credential) is not a valid header value",
            )
        })?;
        self.headers.insert(http::header::AUTHORIZATION, value);
        Ok(())
    }

    /// Adds a header; `sensitive` ones are hidden from `Debug` of the HTTP stack.
    pub(crate) fn header(&mut self, name: &str, value: &str, sensitive: bool) -> Result<(), Error> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::config(format!("invalid header name `{name}`")))?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            if sensitive {
                Error::config(format!(
                    "the value of header `{name}` (a credential) is not a valid header value"
                ))
            } else {
                Error::config(format!("invalid value for header `{name}`"))
            }
        })?;
        value.set_sensitive(sensitive);
        self.headers.insert(name, value);
        Ok(())
    }
}

/// What the parsers may read of a successful response besides its body: the status and the
/// headers.
#[derive(Debug)]
pub(crate) struct ResponseMeta {
    /// The HTTP status (2xx).
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
}

/// Turns SSE events into stream events for one response.
#[cfg_attr(
    not(feature = "__sse"),
    allow(dead_code, reason = "only the SSE providers use it")
)]
pub(crate) trait SseHandler: Send + 'static {
    /// Handles one event, pushing zero or more stream events.
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error>;
    /// Whether the protocol's terminator has been seen (`[DONE]`, `message_stop`, …).
    fn finished(&self) -> bool;
    /// The name of the terminator, for the truncation error message.
    fn terminator(&self) -> &'static str;
}

/// Turns the bytes of a streamed body into stream events, whatever the framing (SSE, AWS
/// eventstream).
pub(crate) trait BodyDecoder: Send + 'static {
    /// Feeds one chunk of the body.
    fn push(&mut self, chunk: &[u8], out: &mut VecDeque<ProviderEvent>) -> Result<(), Error>;
    /// The body ended: handles what is left and fails unless the protocol's end was seen.
    fn finish(&mut self, out: &mut VecDeque<ProviderEvent>) -> Result<(), Error>;
    /// Whether the protocol's terminator has been seen (nothing more is read after it).
    fn finished(&self) -> bool;
}

/// The [`BodyDecoder`] of SSE protocols: an [`SseDecoder`] feeding an [`SseHandler`].
#[cfg_attr(
    not(feature = "__sse"),
    allow(dead_code, reason = "only the SSE providers use it")
)]
pub(crate) struct SseBody {
    decoder: SseDecoder,
    handler: Box<dyn SseHandler>,
}

impl SseBody {
    #[cfg_attr(
        not(feature = "__sse"),
        allow(dead_code, reason = "only the SSE providers use it")
    )]
    pub(crate) fn new(handler: Box<dyn SseHandler>) -> Self {
        SseBody {
            decoder: SseDecoder::new(),
            handler,
        }
    }
}

#[cfg_attr(
    not(feature = "__sse"),
    allow(dead_code, reason = "only the SSE providers use it")
)]
fn sse_decode_error(e: crate::codec::sse::SseError) -> Error {
    Error::new(ErrorKind::Decode, "malformed event stream").with_source(e)
}

impl BodyDecoder for SseBody {
    fn push(&mut self, chunk: &[u8], out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        self.decoder.push(chunk);
        while let Some(ev) = self.decoder.next_event().map_err(sse_decode_error)? {
            self.handler.on_event(&ev, out)?;
            if self.handler.finished() {
                break;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        // An event left without its final blank line is still dispatched (some servers omit it);
        // then the protocol's terminator must have been seen.
        if !self.handler.finished() {
            if let Some(ev) = self.decoder.finish().map_err(sse_decode_error)? {
                self.handler.on_event(&ev, out)?;
            }
        }
        if self.handler.finished() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::StreamInterrupted,
                format!(
                    "the stream ended without its terminator ({})",
                    self.handler.terminator()
                ),
            ))
        }
    }

    fn finished(&self) -> bool {
        self.handler.finished()
    }
}

/// A wire protocol: how to build requests and read responses and errors.
pub(crate) trait Wire: Send + Sync + fmt::Debug + 'static {
    fn name(&self) -> &str;
    fn capabilities(&self) -> Capabilities;
    fn client_from_env(&self) -> ClientConfig;
    fn build(&self, req: &ChatRequest, stream: bool) -> Result<HttpRequest, Error>;
    fn parse(&self, req: &ChatRequest, meta: &ResponseMeta, body: &[u8])
    -> Result<Response, Error>;
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error;
    fn stream_decoder(&self, req: &ChatRequest) -> Box<dyn BodyDecoder>;
    /// The response headers that may hold the request id, in order of preference.
    fn request_id_headers(&self) -> &'static [&'static str];
}

/// A [`Provider`] speaking a [`Wire`] protocol over HTTP.
#[derive(Debug)]
pub(crate) struct HttpProvider<W: Wire> {
    wire: Arc<W>,
    /// The wire's name, shared by every attempt summary and error.
    name: Arc<str>,
}

impl<W: Wire> HttpProvider<W> {
    pub(crate) fn new(wire: W) -> Self {
        HttpProvider {
            name: Arc::from(wire.name()),
            wire: Arc::new(wire),
        }
    }
}

impl<W: Wire> Provider for HttpProvider<W> {
    fn name(&self) -> &str {
        self.wire.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.wire.capabilities()
    }

    fn client_from_env(&self) -> ClientConfig {
        self.wire.client_from_env()
    }

    fn send(&self, request: ChatRequest) -> BoxFuture<Result<Response, Error>> {
        let wire = Arc::clone(&self.wire);
        let name = Arc::clone(&self.name);
        Box::pin(async move {
            let start = Instant::now();
            let http_req = match wire.build(&request, false) {
                Ok(r) => r,
                Err(e) => return Err(failed(&name, &request, e)),
            };
            let span = crate::telemetry::http_span(request.attempt, &http_req.url);
            let result = send_once(&*wire, &request, http_req).await;
            let elapsed = start.elapsed();
            match &result {
                Ok((_, status)) => {
                    crate::telemetry::record_http_outcome(&span, Some(*status), None)
                }
                Err(e) => crate::telemetry::record_http_outcome(&span, e.status(), Some(e)),
            }
            match result {
                Ok((mut r, status)) => {
                    r.attempts.push(AttemptSummary::new(
                        &name,
                        &request.model,
                        None,
                        Some(status),
                        elapsed,
                    ));
                    Ok(r)
                }
                Err(e) => Err(failed(&name, &request, e)),
            }
        })
    }

    fn http_codec(&self) -> Option<&dyn HttpCodec> {
        Some(self)
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<Result<EventStream, Error>> {
        let wire = Arc::clone(&self.wire);
        let name = Arc::clone(&self.name);
        Box::pin(async move {
            stream_once(wire, name, &request)
                .await
                .map_err(|e| request.client.redact(e))
        })
    }
}

impl<W: Wire> HttpCodec for HttpProvider<W> {
    fn encode(&self, request: &ChatRequest, stream: bool) -> Result<EncodedRequest, Error> {
        let http = self
            .wire
            .build(request, stream)
            .map_err(|e| failed(&self.name, request, e))?;
        Ok(EncodedRequest {
            url: http.url,
            body: http.body,
        })
    }

    fn decode(&self, request: &ChatRequest, body: &[u8]) -> Result<Response, Error> {
        // A recorded body is read as the answer of a plain success.
        let meta = ResponseMeta {
            status: 200,
            headers: HeaderMap::new(),
        };
        read_response(&*self.wire, request, &meta, Bytes::copy_from_slice(body))
            .map_err(|e| failed(&self.name, request, e))
    }

    fn decode_stream(&self, request: &ChatRequest, body: Bytes) -> EventStream {
        let chunks: BodyStream = Box::pin(futures_util::stream::iter([Ok(body)]));
        let events = body_events(self.wire.stream_decoder(request), chunks, None, None, 200);
        let name = Arc::clone(&self.name);
        let model = Arc::clone(&request.model);
        Box::pin(events.map(move |item| item.map_err(|e| e.in_context(&name, &model))))
    }
}

/// `e` as the caller sees it: naming the provider and the model, scrubbed of every secret of
/// the request's client settings.
fn failed(name: &Arc<str>, req: &ChatRequest, e: Error) -> Error {
    req.client.redact(e.in_context(name, &req.model))
}

/// The process-wide HTTP clients, one per distinct connect timeout (usually exactly one), so every
/// call shares a connection pool.
fn client_for(connect: Duration) -> Result<reqwest::Client, Error> {
    // The default connect timeout (nearly every call) needs no lock.
    static DEFAULT: OnceLock<reqwest::Client> = OnceLock::new();
    if connect == Timeouts::default().connect {
        if let Some(c) = DEFAULT.get() {
            return Ok(c.clone());
        }
        let c = build_client(connect)?;
        return Ok(DEFAULT.get_or_init(|| c).clone());
    }
    static CLIENTS: OnceLock<Mutex<HashMap<Duration, reqwest::Client>>> = OnceLock::new();
    let map = CLIENTS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(c) = map.get(&connect) {
        return Ok(c.clone());
    }
    let client = build_client(connect)?;
    map.insert(connect, client.clone());
    Ok(client)
}

fn build_client(connect: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .user_agent(concat!("steadfast/", env!("CARGO_PKG_VERSION")))
        // The call's policy owns every retry: none inside reqwest, whose default policy would
        // also copy each request's headers in case it replays it.
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .build()
        .map_err(|e| Error::config("could not build the HTTP client").with_source(e))
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

fn min_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

async fn with_timeout<T>(
    limit: Option<Duration>,
    what: &'static str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, Error> {
    match limit {
        Some(d) => tokio::time::timeout(d, fut)
            .await
            .map_err(|_| Error::new(ErrorKind::Timeout, format!("no {what} within {d:?}"))),
        None => Ok(fut.await),
    }
}

fn map_reqwest(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_builder() {
        ErrorKind::Config
    } else if e.is_decode() {
        ErrorKind::Decode
    } else {
        ErrorKind::Connect
    };
    let msg = if e.is_connect() {
        "could not connect"
    } else if e.is_body() {
        "the connection failed while reading the response body"
    } else if kind == ErrorKind::Config {
        "invalid request URL"
    } else {
        "the request failed before a response arrived"
    };
    Error::new(kind, msg).with_source(e.without_url())
}

/// Adds the call's own headers to the provider's, replacing those of the same name. Each value
/// keeps its sensitive mark.
fn merge_headers(headers: &mut HeaderMap, own: &HeaderMap) {
    for name in own.keys() {
        headers.remove(name);
    }
    for (name, value) in own {
        headers.append(name.clone(), value.clone());
    }
}

/// How many parsed request URLs each thread keeps (a process calls a handful of endpoints; a
/// provider whose path names the model has one per model).
const PARSED_URLS: usize = 16;

/// `url` parsed, from a small per-thread cache of the last URLs seen: a request URL changes only
/// with the base URL, the model or the operation, while `Url::parse` (host normalisation through
/// IDNA) costs some 20,000 instructions per request. A hit is a string comparison and a clone.
fn parsed_url(url: &str) -> Result<reqwest::Url, String> {
    thread_local! {
        static URLS: std::cell::RefCell<VecDeque<(Box<str>, reqwest::Url)>> =
            const { std::cell::RefCell::new(VecDeque::new()) };
    }
    URLS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, parsed)) = cache.iter().find(|(text, _)| &**text == url) {
            return Ok(parsed.clone());
        }
        let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        if cache.len() == PARSED_URLS {
            cache.pop_front();
        }
        cache.push_back((url.into(), parsed.clone()));
        Ok(parsed)
    })
}

/// Sends the request and waits for the response headers, classifying HTTP errors.
async fn execute<W: Wire>(
    wire: &W,
    req: &ChatRequest,
    http_req: HttpRequest,
    deadline: Option<Instant>,
) -> Result<reqwest::Response, Error> {
    let client = client_for(req.client.timeouts.connect)?;
    let url = parsed_url(&http_req.url)
        .map_err(|e| Error::config(format!("invalid base URL for {}: {e}", wire.name())))?;
    req.client.check_headers()?;
    let mut headers = http_req.headers;
    merge_headers(&mut headers, &req.client.headers);
    let builder = client.post(url).headers(headers).body(http_req.body);
    let limit = min_opt(req.client.timeouts.first_byte, remaining(deadline));
    let resp = with_timeout(limit, "response headers", builder.send())
        .await?
        .map_err(map_reqwest)?;
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        return Ok(resp);
    }
    let mut resp = resp;
    let body = with_timeout(remaining(deadline), "error body", read_body(&mut resp))
        .await?
        .unwrap_or_default();
    let headers = std::mem::take(resp.headers_mut());
    let request_id = hints::first_of(&headers, wire.request_id_headers());
    let e = wire.classify(status, &headers, &body);
    // The standard headers win; a provider's own hint (Gemini `RetryInfo`, Bedrock
    // `x-amz-retry-after`) set by its classifier is kept when they say nothing.
    let retry_after = hints::retry_after(&headers).or(e.retry_after());
    let should_retry = hints::should_retry(&headers).or(e.should_retry());
    let e = e
        .with_status(status)
        .with_retry_after(retry_after)
        .with_should_retry(should_retry)
        .with_body(Some(String::from_utf8_lossy(&body).into_owned()));
    Err(if e.request_id().is_none() {
        e.with_request_id(request_id)
    } else {
        e
    })
}

/// Reads the whole body while keeping the response (and its headers) owned by the caller; a body
/// that arrives in one chunk is returned without a copy.
async fn read_body(resp: &mut reqwest::Response) -> Result<Bytes, reqwest::Error> {
    let Some(first) = resp.chunk().await? else {
        return Ok(Bytes::new());
    };
    let Some(second) = resp.chunk().await? else {
        return Ok(first);
    };
    let mut all = Vec::with_capacity(first.len() + second.len());
    all.extend_from_slice(&first);
    all.extend_from_slice(&second);
    while let Some(chunk) = resp.chunk().await? {
        all.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(all))
}

/// One attempt: the response and its HTTP status.
async fn send_once<W: Wire>(
    wire: &W,
    req: &ChatRequest,
    http_req: HttpRequest,
) -> Result<(Response, u16), Error> {
    // One timer for the whole attempt (headers and body) instead of one per phase.
    let Some(total) = req.client.timeouts.total else {
        return send_within(wire, req, http_req).await;
    };
    tokio::time::timeout(total, send_within(wire, req, http_req))
        .await
        .map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("no complete response within {total:?}"),
            )
        })?
}

async fn send_within<W: Wire>(
    wire: &W,
    req: &ChatRequest,
    http_req: HttpRequest,
) -> Result<(Response, u16), Error> {
    let mut resp = execute(wire, req, http_req, None).await?;
    let body = read_body(&mut resp).await.map_err(map_reqwest)?;
    // The body is read: the headers can be moved out instead of cloned.
    let meta = ResponseMeta {
        status: resp.status().as_u16(),
        headers: std::mem::take(resp.headers_mut()),
    };
    Ok((read_response(wire, req, &meta, body)?, meta.status))
}

/// A successful response body read into a `Response`, which keeps the body as received (a
/// reference count, not a copy).
fn read_response<W: Wire>(
    wire: &W,
    req: &ChatRequest,
    meta: &ResponseMeta,
    body: Bytes,
) -> Result<Response, Error> {
    let mut response = wire.parse(req, meta, &body)?;
    // The header wins; a provider with none (Gemini) may have set one from the body.
    response.request_id =
        hints::first_of(&meta.headers, wire.request_id_headers()).or(response.request_id.take());
    response.tools = Arc::clone(&req.tools);
    response.raw = Some(body);
    Ok(response)
}

/// A response body as a stream of chunks.
pub(crate) type BodyStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Bytes, Error>> + Send>>;

struct BodyState {
    body: BodyStream,
    decoder: Box<dyn BodyDecoder>,
    pending: VecDeque<ProviderEvent>,
    /// A failure to report once the events decoded before it have been delivered.
    failure: Option<Error>,
    idle: Option<Duration>,
    deadline: Option<Instant>,
    /// One timer for the whole stream, moved forward before each read (moving a tokio timer
    /// later is an atomic store, not a trip through the timer wheel as a new timeout per chunk
    /// would be).
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
    status: u16,
}

impl BodyState {
    fn fail(&mut self, e: Error) -> Error {
        self.done = true;
        if e.status().is_none() {
            e.with_status(self.status)
        } else {
            e
        }
    }

    /// The next chunk of the body, within the idle timeout and the deadline.
    async fn read(&mut self) -> Result<Option<Result<Bytes, Error>>, Error> {
        // A limit too far off to be an `Instant` (`Duration::MAX` for "none") is no limit.
        let Some((limit, until)) = min_opt(self.idle, remaining(self.deadline))
            .and_then(|limit| Some((limit, Instant::now().checked_add(limit)?)))
        else {
            return Ok(self.body.next().await);
        };
        let timer = match &mut self.timer {
            Some(t) => {
                t.as_mut().reset(until);
                t
            }
            None => self.timer.insert(Box::pin(tokio::time::sleep_until(until))),
        };
        let body = &mut self.body;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(chunk) = body.poll_next_unpin(cx) {
                return Poll::Ready(Ok(chunk));
            }
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no stream data within {limit:?}"),
                ))),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    async fn next(&mut self) -> Option<Result<ProviderEvent, Error>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            if let Some(e) = self.failure.take() {
                return Some(Err(e));
            }
            if self.done {
                return None;
            }
            let chunk = match self.read().await {
                Ok(c) => c,
                Err(e) => return Some(Err(self.fail(e))),
            };
            let result = match chunk {
                Some(Ok(bytes)) => self.decoder.push(&bytes, &mut self.pending),
                Some(Err(e)) => Err(e),
                None => {
                    self.done = true;
                    self.decoder.finish(&mut self.pending)
                }
            };
            if let Err(e) = result {
                // Events decoded before the failure are delivered first, so the commit point is
                // judged on what really arrived.
                let e = self.fail(e);
                self.failure = Some(e);
                continue;
            }
            if self.decoder.finished() {
                self.done = true;
            }
        }
    }
}

async fn stream_once<W: Wire>(
    wire: Arc<W>,
    name: Arc<str>,
    req: &ChatRequest,
) -> Result<EventStream, Error> {
    let deadline = req
        .client
        .timeouts
        .total
        .and_then(|t| Instant::now().checked_add(t));
    let http_req = wire
        .build(req, true)
        .map_err(|e| e.in_context(&name, &req.model))?;
    let span = crate::telemetry::http_span(req.attempt, &http_req.url);
    let resp = match execute(&*wire, req, http_req, deadline).await {
        Ok(resp) => resp,
        Err(e) => {
            crate::telemetry::record_http_outcome(&span, e.status(), Some(&e));
            return Err(e.in_context(&name, &req.model));
        }
    };
    let status = resp.status().as_u16();
    crate::telemetry::record_http_outcome(&span, Some(status), None);
    let request_id = hints::first_of(resp.headers(), wire.request_id_headers());
    let body: BodyStream = Box::pin(resp.bytes_stream().map(|r| {
        r.map_err(|e| {
            Error::new(
                ErrorKind::StreamInterrupted,
                "the connection dropped mid-stream",
            )
            .with_source(e.without_url())
        })
    }));
    let events = body_events(
        wire.stream_decoder(req),
        body,
        req.client.timeouts.idle,
        deadline,
        status,
    );
    let meta = ProviderEvent::Metadata {
        id: None,
        model: None,
        request_id,
        status: Some(status),
    };
    let events = futures_util::stream::iter([Ok(meta)]).chain(events);
    let model = Arc::clone(&req.model);
    // The attempt's span lives as long as its stream: it ends when the stream is dropped.
    Ok(Box::pin(events.map(move |item| {
        item.map_err(|e| {
            crate::telemetry::record_http_outcome(&span, None, Some(&e));
            e.in_context(&name, &model)
        })
    })))
}

/// Decodes a streamed body into stream events with `decoder`, enforcing the idle timeout and
/// deadline and insisting on the protocol's end.
pub(crate) fn body_events(
    decoder: Box<dyn BodyDecoder>,
    body: BodyStream,
    idle: Option<Duration>,
    deadline: Option<Instant>,
    status: u16,
) -> EventStream {
    let state = BodyState {
        body,
        decoder,
        pending: VecDeque::new(),
        failure: None,
        idle,
        deadline,
        timer: None,
        done: false,
        status,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        let item = st.next().await?;
        Some((item, st))
    }))
}

/// Joins a base URL and a path, tolerating a trailing slash on the base.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    [base.trim_end_matches('/'), path].concat()
}

/// Reads an environment variable, treating empty as absent.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(all(test, feature = "openai"))]
mod tests {
    use super::*;
    use crate::providers::openai::stream::OpenAiSse;

    /// An OpenAI stream of `words` content chunks and `[DONE]`, each arriving `gap` after the
    /// one before.
    fn paced_body(words: usize, gap: Duration) -> BodyStream {
        let chunks: Vec<Bytes> = (0..words)
            .map(|i| {
                Bytes::from(format!(
                    "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w{i} \"}}}}]}}\n\n"
                ))
            })
            .chain([Bytes::from_static(b"data: [DONE]\n\n")])
            .collect();
        Box::pin(futures_util::stream::unfold(
            chunks.into_iter(),
            move |mut rest| async move {
                let next = rest.next()?;
                tokio::time::sleep(gap).await;
                Some((Ok(next), rest))
            },
        ))
    }

    async fn text_of(body: BodyStream, idle: Duration) -> Result<String, Error> {
        let decoder: Box<dyn BodyDecoder> = Box::new(SseBody::new(Box::new(OpenAiSse::default())));
        let mut events = body_events(decoder, body, Some(idle), None, 200);
        let mut text = String::new();
        while let Some(ev) = events.next().await {
            if let ProviderEvent::Text(t) = ev? {
                text.push_str(&t);
            }
        }
        Ok(text)
    }

    #[tokio::test(start_paused = true)]
    async fn the_idle_timer_moves_forward_with_every_chunk() {
        // 50 chunks 80 ms apart: 4 s in all, never 100 ms without data.
        let started = Instant::now();
        let text = text_of(
            paced_body(50, Duration::from_millis(80)),
            Duration::from_millis(100),
        )
        .await
        .unwrap();
        assert_eq!(text.split_whitespace().count(), 50);
        assert_eq!(started.elapsed(), Duration::from_millis(80 * 51));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_longer_than_the_idle_timeout_fails_after_exactly_that_long() {
        let started = Instant::now();
        let e = text_of(
            paced_body(3, Duration::from_millis(250)),
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.message().contains("no stream data within 100ms"), "{e}");
        assert_eq!(started.elapsed(), Duration::from_millis(100));
    }

    #[test]
    fn a_cached_url_is_the_same_as_a_freshly_parsed_one_and_errors_are_not_cached() {
        let urls: Vec<String> = (0..PARSED_URLS + 4)
            .map(|i| format!("http://Example.COM:80/v{i}/chat/completions"))
            .collect();
        // Twice over more URLs than the cache holds: misses, evictions and hits.
        for _ in 0..2 {
            for u in &urls {
                let fresh = reqwest::Url::parse(u).unwrap();
                assert_eq!(parsed_url(u).unwrap(), fresh);
                assert_eq!(parsed_url(u).unwrap().as_str(), fresh.as_str());
            }
        }
        assert_eq!(
            parsed_url("http://example.com/x").unwrap().as_str(),
            "http://example.com/x"
        );
        for _ in 0..2 {
            let e = parsed_url("http://exa mple.com/x").unwrap_err();
            assert!(e.contains("invalid"), "{e}");
        }
    }

    #[test]
    fn the_calls_headers_replace_the_providers_and_stay_sensitive() {
        let mut sent = HeaderMap::new();
        sent.insert("authorization", HeaderValue::from_static("Bearer provider"));
        sent.insert("accept", HeaderValue::from_static("text/event-stream"));
        let own = ClientConfig::default()
            .header("authorization", "Bearer own-token")
            .sensitive_header("x-custom", "tok");
        merge_headers(&mut sent, &own.headers);
        assert_eq!(sent["authorization"], "Bearer own-token");
        assert!(sent["authorization"].is_sensitive());
        assert!(sent["x-custom"].is_sensitive());
        assert_eq!(sent["accept"], "text/event-stream");
        assert_eq!(sent.get_all("authorization").iter().count(), 1);
    }
}
