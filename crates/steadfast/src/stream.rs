//! Streamed responses: [`Stream`].
//!
//! `call.stream(prompt)` returns at once and sends **no request until the stream is first polled**.
//! Events then arrive as [`StreamEvent`]s; [`Stream::collect`] gathers them into the same
//! [`Response`] a non-streaming call returns.
//!
//! # The commit point
//!
//! A stream is *uncommitted* until its first content event (text, refusal or tool call) reaches the
//! caller. An error before that point — a refused connection, a 429 on the initial response, an
//! in-band error as the first event — is returned as it is, with its own kind, so it can be retried
//! or fall back like the error of a plain call. After it, nothing is ever replayed behind the
//! caller's back: a failure is a [`StreamInterrupted`](crate::ErrorKind::StreamInterrupted) error
//! carrying the [partial output](crate::Error::partial), and its source is the underlying error.
//! A stream that ends without the provider's terminator is interrupted, never a clean end.
//!
//! What then is the caller's choice: retry the whole consuming code (the reference pattern), or
//! opt in to [`Resilient::restart_streams`](crate::Resilient::restart_streams), which starts an
//! interrupted stream again after an explicit [`StreamEvent::Restarted`] (so a UI can clear what
//! it showed) and keeps every HTTP attempt in the history.
//!
//! # Tool calls
//!
//! Tool-call fragments are assembled per call; when a call's arguments are complete the stream
//! yields [`StreamEvent::ToolCall`] if they validate against the call's tools, or a
//! [`Validation`](crate::ErrorKind::Validation) error if they do not (the stream goes on; the caller
//! decides whether to stop).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::time::Instant;

use std::collections::VecDeque;

use steadfast_retry::{Fallback, Retry, RetryState};

use crate::call::Call;
use crate::error::{Error, ErrorKind, PartialOutput};
use crate::message::ToolCall;
use crate::prompt::Prompt;
use crate::provider::{BoxFuture, ChatRequest, EventStream, Provider, StreamEvent};
use crate::response::{AttemptSummary, FinishReason, Response, Usage};
use crate::tool::{Tool, validate_calls};

type Committed = Result<(Stream, Vec<AttemptSummary>), Error>;
type CommittedAfterFallback = Result<(Stream, Vec<AttemptSummary>, Vec<Error>), Error>;

enum State {
    Idle(Box<(Arc<dyn Provider>, ChatRequest)>),
    Connecting(BoxFuture<Result<EventStream, Error>>),
    Streaming(EventStream),
    /// A retry policy is at work until some attempt reaches its commit point.
    Retrying(BoxFuture<CommittedAfterFallback>),
    /// The committed attempt, which this stream now forwards.
    Delegate(Box<Stream>),
    Done,
}

#[derive(Debug, Default)]
struct PendingCall {
    index: usize,
    id: String,
    name: String,
    arguments: String,
    signature: Option<String>,
}

/// Everything received so far.
#[derive(Debug, Default)]
struct Accumulator {
    id: Option<String>,
    model: Option<String>,
    request_id: Option<String>,
    text: String,
    refusal: Option<String>,
    pending: Vec<PendingCall>,
    calls: Vec<ToolCall>,
    finish: Option<(FinishReason, Option<String>)>,
    usage: Option<Usage>,
}

/// A streamed response. See the [module docs](self).
#[must_use = "streams do nothing unless polled"]
pub struct Stream {
    state: State,
    acc: Accumulator,
    committed: bool,
    tools: Arc<[Tool]>,
    provider: Arc<str>,
    model: Arc<str>,
    started: Option<Instant>,
    status: Option<u16>,
    /// Events already received (while looking for the commit point) and not yet yielded.
    replay: VecDeque<Result<StreamEvent, Error>>,
    /// The failed attempts that came before this one.
    prior: Vec<AttemptSummary>,
    /// The errors a fallback chain caught before this stream's target.
    caught: Vec<Error>,
    /// How to start again after a failure past the commit point, when restarts are allowed.
    restart: Option<Box<Restart>>,
}

/// What a restart needs: the whole retrying procedure, and how many restarts are left.
struct Restart {
    call: Call,
    policy: Retry<Error>,
    chain: Option<Fallback<Call, Error>>,
    prompt: Prompt,
    left: u32,
    /// The policy's view of the interruptions, one attempt each (without its stop): whether to
    /// restart, and after which wait.
    decisions: RetryState<Error>,
}

impl Restart {
    fn commit(&self) -> BoxFuture<CommittedAfterFallback> {
        commit_anywhere(
            self.call.clone(),
            self.policy.clone(),
            self.chain.clone(),
            self.prompt.clone(),
        )
    }

    /// Whether to restart after `e`, and after which wait: restarts are left, and the policy
    /// would retry `e` as the next of the interruptions.
    fn decide(&mut self, e: &Error) -> Option<std::time::Duration> {
        if self.left == 0 || e.kind() != ErrorKind::StreamInterrupted {
            return None;
        }
        self.decisions.begin();
        let wait = self.decisions.fail(e.clone_for_history()).ok()?;
        self.left -= 1;
        Some(wait)
    }

    /// Waits `wait` on the policy's clock, then commits again.
    fn commit_after(&self, wait: std::time::Duration) -> BoxFuture<CommittedAfterFallback> {
        let policy = self.policy.clone();
        let commit = self.commit();
        Box::pin(async move {
            policy.start().sleep(wait).await;
            commit.await
        })
    }
}

/// Retries (and falls back) until some attempt reaches its commit point.
fn commit_anywhere(
    call: Call,
    policy: Retry<Error>,
    chain: Option<Fallback<Call, Error>>,
    prompt: Prompt,
) -> BoxFuture<CommittedAfterFallback> {
    Box::pin(async move {
        let Some(chain) = chain else {
            let (s, prior) = commit_with_retry(call, policy, prompt).await?;
            return Ok((s, prior, Vec::new()));
        };
        let winner = chain
            .run(&call, move |c| {
                commit_with_retry(c, policy.clone(), prompt.clone())
            })
            .await
            .map_err(Error::from)?;
        let ((s, mut last), _target, caught) = winner.into_parts();
        let mut prior: Vec<AttemptSummary> = caught
            .iter()
            .flat_map(|e| e.attempts().iter().cloned())
            .collect();
        prior.append(&mut last);
        Ok((s, prior, caught))
    })
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("committed", &self.committed)
            .field("text_len", &self.acc.text.len())
            .finish_non_exhaustive()
    }
}

impl Stream {
    pub(crate) fn new(provider: Arc<dyn Provider>, request: ChatRequest) -> Self {
        let mut s = Stream::named(
            Arc::from(provider.name()),
            Arc::clone(&request.model),
            Arc::clone(&request.tools),
        );
        s.state = State::Idle(Box::new((provider, request)));
        s
    }

    /// A stream of this provider, model and tools that has received nothing and will yield
    /// nothing until its state is set.
    fn named(provider: Arc<str>, model: Arc<str>, tools: Arc<[Tool]>) -> Self {
        Stream {
            tools,
            provider,
            model,
            state: State::Done,
            acc: Accumulator::default(),
            committed: false,
            started: None,
            status: None,
            replay: VecDeque::new(),
            prior: Vec::new(),
            caught: Vec::new(),
            restart: None,
        }
    }

    /// A stream that retries under `policy` until an attempt reaches its commit point, and starts
    /// again (at most `restarts` times) after a failure past it.
    pub(crate) fn retrying(
        call: Call,
        policy: Retry<Error>,
        chain: Option<Fallback<Call, Error>>,
        prompt: Prompt,
        restarts: u32,
    ) -> Self {
        // The outer stream only forwards the committed attempt's events: it needs the call's
        // identity, not a request of its own.
        let mut s = Stream::named(
            Arc::clone(call.provider_name_arc()),
            Arc::clone(call.model_arc()),
            Arc::clone(call.tools_arc()),
        );
        if restarts == 0 {
            s.state = State::Retrying(commit_anywhere(call, policy, chain, prompt));
            return s;
        }
        let plan = Restart {
            // `restarts` bounds the restarts; the policy's own stop is for the attempts before
            // each commit point.
            decisions: policy.clone().stop(steadfast_retry::stop::never()).start(),
            call,
            policy,
            chain,
            prompt,
            left: restarts,
        };
        s.state = State::Retrying(plan.commit());
        s.restart = Some(Box::new(plan));
        s
    }

    /// The stream that holds the data: the committed attempt when retrying.
    fn active(&self) -> &Stream {
        match &self.state {
            State::Delegate(inner) => inner,
            _ => self,
        }
    }

    /// Whether content has reached the caller (the commit point has passed).
    pub fn is_committed(&self) -> bool {
        self.active().committed
    }

    /// The text received so far.
    pub fn text(&self) -> &str {
        &self.active().acc.text
    }

    /// What has been received so far: the text and the complete tool calls.
    pub fn partial(&self) -> PartialOutput {
        if let State::Delegate(inner) = &self.state {
            return inner.partial();
        }
        PartialOutput {
            text: self.acc.text.clone(),
            tool_calls: self.acc.calls.clone(),
        }
    }

    /// Consumes the rest of the stream and returns the whole response.
    ///
    /// # Errors
    /// The first error the stream yields (see the [module docs](self) for which kind).
    pub async fn collect(mut self) -> Result<Response, Error> {
        use futures_util::StreamExt;
        while let Some(item) = self.next().await {
            item?;
        }
        self.finish_response()
    }

    fn finish_response(&mut self) -> Result<Response, Error> {
        if let State::Delegate(inner) = &mut self.state {
            let mut r = inner.finish_response()?;
            let mut attempts = std::mem::take(&mut self.prior);
            attempts.append(&mut r.attempts);
            r.attempts = attempts;
            r.caught = Arc::from(std::mem::take(&mut self.caught));
            return Ok(r);
        }
        let acc = std::mem::take(&mut self.acc);
        let Some((reason, raw)) = acc.finish else {
            return Err(
                Error::new(ErrorKind::StreamInterrupted, "the stream has not finished")
                    .in_context(&self.provider, &self.model),
            );
        };
        let mut r = Response::empty(&self.provider, acc.model.as_deref().unwrap_or(&self.model));
        r.id = acc.id;
        r.request_id = acc.request_id;
        r.text = acc.text;
        r.refusal = acc.refusal;
        r.tool_calls = acc.calls;
        r.finish_reason = reason;
        r.raw_finish_reason = raw;
        r.usage = acc.usage;
        r.tools = Arc::clone(&self.tools);
        let duration = self.started.map(|s| s.elapsed()).unwrap_or_default();
        r.attempts.push(AttemptSummary::new(
            &self.provider,
            &self.model,
            None,
            self.status,
            duration,
        ));
        Ok(r)
    }

    /// Turns a provider error into what the caller sees, given the commit point.
    fn fail(&mut self, e: Error) -> Error {
        self.state = State::Done;
        let e = e.in_context(&self.provider, &self.model);
        if !self.committed || e.kind() == ErrorKind::StreamInterrupted {
            let partial = self.partial();
            return if self.committed {
                e.with_partial(partial)
            } else {
                e
            };
        }
        let message = format!(
            "the stream failed after content was delivered: {}",
            e.message()
        );
        let status = e.status();
        let code = e.code().map(str::to_string);
        let request_id = e.request_id().map(str::to_string);
        let retry_after = e.retry_after();
        let mut out = Error::new(ErrorKind::StreamInterrupted, message)
            .in_context(&self.provider, &self.model)
            .with_code(code)
            .with_request_id(request_id)
            .with_retry_after(retry_after)
            .with_partial(self.partial());
        if let Some(s) = status {
            out = out.with_status(s);
        }
        out.with_source(e)
    }

    /// Handles one provider event; returns the event to yield, if any.
    fn absorb(&mut self, ev: StreamEvent) -> Option<Result<StreamEvent, Error>> {
        let acc = &mut self.acc;
        match ev {
            StreamEvent::Metadata {
                id,
                model,
                request_id,
            } => {
                acc.id = acc.id.take().or(id);
                acc.model = acc.model.take().or(model);
                acc.request_id = acc.request_id.take().or(request_id);
                return None;
            }
            StreamEvent::Text(ref t) => acc.text.push_str(t),
            StreamEvent::Refusal(ref t) => acc.refusal.get_or_insert_with(String::new).push_str(t),
            StreamEvent::ToolCallStart {
                index,
                ref id,
                ref name,
            } => acc.pending.push(PendingCall {
                index,
                id: id.clone(),
                name: name.clone(),
                arguments: String::new(),
                signature: None,
            }),
            StreamEvent::ToolCallSignature {
                index,
                ref signature,
            } => match acc.pending.iter_mut().find(|p| p.index == index) {
                Some(p) => p.signature = Some(signature.clone()),
                None => {
                    let e = Error::new(
                        ErrorKind::Decode,
                        format!("tool-call signature for unknown call {index}"),
                    );
                    return Some(Err(self.fail(e)));
                }
            },
            StreamEvent::ToolCallDelta {
                index,
                ref arguments,
            } => match acc.pending.iter_mut().find(|p| p.index == index) {
                Some(p) => p.arguments.push_str(arguments),
                None => {
                    let e = Error::new(
                        ErrorKind::Decode,
                        format!("tool-call fragment for unknown call {index}"),
                    );
                    return Some(Err(self.fail(e)));
                }
            },
            StreamEvent::ToolCallEnd { index } => {
                let pos = acc.pending.iter().position(|p| p.index == index)?;
                let p = acc.pending.remove(pos);
                let mut call = ToolCall::new(p.id, p.name, p.arguments);
                call.signature = p.signature;
                self.committed = true;
                return Some(
                    match validate_calls(&self.tools, std::slice::from_ref(&call)) {
                        Ok(_) => {
                            self.acc.calls.push(call.clone());
                            Ok(StreamEvent::ToolCall(call))
                        }
                        Err(e) => {
                            self.acc.calls.push(call);
                            Err(e.in_context(&self.provider, &self.model))
                        }
                    },
                );
            }
            StreamEvent::ToolCall(ref c) => acc.calls.push(c.clone()),
            // Made by a restarting `Stream` itself, never by a provider: passed through as is.
            StreamEvent::Restarted { .. } => {}
            StreamEvent::Usage(u) => acc.usage = Some(u),
            StreamEvent::Finish { reason, ref raw } => acc.finish = Some((reason, raw.clone())),
        }
        if ev.is_content() {
            self.committed = true;
        }
        Some(Ok(ev))
    }
}

impl futures_core::Stream for Stream {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.replay.pop_front() {
                return Poll::Ready(Some(item));
            }
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Retrying(fut) => match ready!(fut.as_mut().poll(cx)) {
                    Ok((inner, mut prior, mut caught)) => {
                        // After a restart, the attempts before it come first.
                        this.prior.append(&mut prior);
                        this.caught.append(&mut caught);
                        this.state = State::Delegate(Box::new(inner));
                    }
                    Err(e) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                State::Delegate(inner) => {
                    return match ready!(Pin::new(&mut **inner).poll_next(cx)) {
                        // A failure after the commit point still reports every HTTP attempt
                        // (the failed ones before, and this one) and what fallback caught.
                        Some(Err(e)) => {
                            let this_attempt = AttemptSummary::new(
                                &inner.provider,
                                &inner.model,
                                Some(e.kind()),
                                inner.status,
                                inner.started.map(|s| s.elapsed()).unwrap_or_default(),
                            );
                            let mut this_attempt = this_attempt;
                            if let Some(plan) = this.restart.as_mut() {
                                if let Some(wait) = plan.decide(&e) {
                                    tracing::info!(
                                        restarts_left = plan.left,
                                        wait_ms = wait.as_millis() as u64,
                                        error = %e,
                                        "steadfast: restarting an interrupted stream"
                                    );
                                    this_attempt.wait = Some(wait);
                                    this_attempt.wait_reason =
                                        Some(if e.retry_after() == Some(wait) && !wait.is_zero() {
                                            "server-hint"
                                        } else {
                                            "computed"
                                        });
                                    this.prior.push(this_attempt);
                                    this.state = State::Retrying(plan.commit_after(wait));
                                    return Poll::Ready(Some(Ok(StreamEvent::Restarted {
                                        reason: e.to_string(),
                                    })));
                                }
                            }
                            let mut attempts = this.prior.clone();
                            attempts.push(this_attempt);
                            let e = if this.caught.is_empty() {
                                e
                            } else {
                                let caught =
                                    this.caught.iter().map(Error::clone_for_history).collect();
                                e.with_caught(caught)
                            };
                            Poll::Ready(Some(Err(e.with_attempts(attempts))))
                        }
                        other => Poll::Ready(other),
                    };
                }
                State::Idle(_) => {
                    let State::Idle(boxed) = std::mem::replace(&mut this.state, State::Done) else {
                        return Poll::Ready(None);
                    };
                    let (provider, request) = *boxed;
                    if let Err(e) = crate::prompt::validate_messages(&request.messages) {
                        return Poll::Ready(Some(Err(this.fail(e))));
                    }
                    this.started = Some(Instant::now());
                    this.state = State::Connecting(provider.stream(request));
                }
                State::Connecting(fut) => match ready!(fut.as_mut().poll(cx)) {
                    Ok(s) => {
                        this.status = Some(200);
                        this.state = State::Streaming(s);
                    }
                    Err(e) => return Poll::Ready(Some(Err(this.fail(e)))),
                },
                State::Streaming(s) => match ready!(s.as_mut().poll_next(cx)) {
                    Some(Ok(ev)) => {
                        if let Some(out) = this.absorb(ev) {
                            return Poll::Ready(Some(out));
                        }
                    }
                    Some(Err(e)) => return Poll::Ready(Some(Err(this.fail(e)))),
                    None => {
                        this.state = State::Done;
                        if this.acc.finish.is_none() {
                            let e = Error::new(
                                ErrorKind::StreamInterrupted,
                                "the stream ended without a finish reason",
                            );
                            return Poll::Ready(Some(Err(this.fail(e))));
                        }
                        return Poll::Ready(None);
                    }
                },
            }
        }
    }
}

/// Opens streams under `policy` until one reaches its commit point (its first content event), and
/// returns it with the events received so far queued for replay. Failures before the commit point
/// are attempt failures; the committed stream is never replayed.
async fn commit_with_retry(call: Call, policy: Retry<Error>, prompt: Prompt) -> Committed {
    use futures_util::StreamExt;
    let mut state = policy.start();
    let mut summaries: Vec<AttemptSummary> = Vec::new();
    loop {
        state.begin();
        let started = Instant::now();
        let mut s = call.stream(prompt.clone());
        let mut seen = VecDeque::new();
        let failure = loop {
            match s.next().await {
                Some(Ok(ev)) => {
                    let content = ev.is_content();
                    seen.push_back(Ok(ev));
                    if content {
                        break None;
                    }
                }
                // A validation error on a complete tool call comes after the commit point.
                Some(Err(e)) if s.committed => {
                    seen.push_back(Err(e));
                    break None;
                }
                Some(Err(e)) => break Some(e),
                None => break None,
            }
        };
        let Some(e) = failure else {
            s.replay = seen;
            return Ok((s, summaries));
        };
        let wait = crate::resilient::record_failure(&mut state, &call, e, started, &mut summaries)?;
        state.sleep(wait).await;
    }
}
