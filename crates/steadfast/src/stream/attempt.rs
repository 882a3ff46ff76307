//! One streamed HTTP attempt: it opens the provider's stream, accumulates what arrives and turns
//! [`ProviderEvent`]s into the caller's [`StreamEvent`]s, judging the commit point.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::time::Instant;

use crate::error::{Error, ErrorKind, PartialOutput};
use crate::message::{Part, Reasoning, ToolCall};
use crate::provider::{BoxFuture, ChatRequest, EventStream, Provider, ProviderEvent, StreamEvent};
use crate::response::{Anchored, AttemptSummary, Citation, FinishReason, Response, Usage};
use crate::tool::Tool;

enum State {
    Idle(Box<(Arc<dyn Provider>, ChatRequest)>),
    Connecting(BoxFuture<Result<EventStream, Error>>),
    Streaming(EventStream),
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
    status: Option<u16>,
    text: String,
    refusal: Option<String>,
    pending: Vec<PendingCall>,
    calls: Vec<ToolCall>,
    extras: Vec<Anchored>,
    /// Whether the last of `extras` is reasoning that later reasoning text extends.
    reasoning_open: bool,
    citations: Vec<Citation>,
    finish: Option<(FinishReason, Option<String>)>,
    finish_details: Option<serde_json::Value>,
    usage: Option<Usage>,
}

impl Accumulator {
    /// Adds reasoning text and/or a signature to the reasoning part open at this point of the
    /// answer, or opens one with them.
    fn reason(&mut self, provider: &str, text: &str, signature: Option<String>) {
        let at = (self.text.len(), self.calls.len());
        if self.reasoning_open {
            if let Some(Anchored {
                text_at,
                calls_at,
                part: Part::Reasoning(r),
            }) = self.extras.last_mut()
            {
                if (*text_at, *calls_at) == at {
                    r.text.push_str(text);
                    if signature.is_some() {
                        r.signature = signature;
                    }
                    return;
                }
            }
        }
        let mut r = Reasoning::new(provider, text);
        r.signature = signature;
        self.extras.push(Anchored {
            text_at: at.0,
            calls_at: at.1,
            part: Part::Reasoning(r),
        });
        self.reasoning_open = true;
    }

    /// Records a complete part other than text or a tool call where the answer is now.
    fn push_extra(&mut self, part: Part) {
        self.reasoning_open = false;
        self.extras.push(Anchored {
            text_at: self.text.len(),
            calls_at: self.calls.len(),
            part,
        });
    }
}

/// One streamed attempt. Sends no request until first polled.
pub(crate) struct AttemptStream {
    state: State,
    acc: Accumulator,
    committed: bool,
    tools: Arc<[Tool]>,
    pub(super) provider: Arc<str>,
    pub(super) model: Arc<str>,
    started: Option<Instant>,
    /// Events already received (while a retrying stream looked for the commit point) and not yet
    /// yielded.
    replay: VecDeque<Result<StreamEvent, Error>>,
    /// The operation this attempt belongs to (none for a replayed body).
    obs: Option<Arc<crate::telemetry::Observation>>,
    /// The time from the request to the first content, once committed.
    ttfc: Option<std::time::Duration>,
    /// Whether this is the operation's only attempt (a plain stream): its failures before the
    /// commit point are the operation's, too.
    sole: bool,
    /// The attempts (and total wait, ms) of the operation before this one.
    prior: (usize, u64),
    /// The quota's claim for this attempt, settled with the usage when the stream finishes.
    permit: Option<crate::quota::Permit>,
    /// How long this attempt waited for admission.
    queued: Option<std::time::Duration>,
}

impl fmt::Debug for AttemptStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttemptStream")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("committed", &self.committed)
            .field("text_len", &self.acc.text.len())
            .finish_non_exhaustive()
    }
}

impl AttemptStream {
    pub(crate) fn new(provider: Arc<dyn Provider>, request: ChatRequest) -> Self {
        AttemptStream {
            tools: Arc::clone(&request.tools),
            provider: Arc::from(provider.name()),
            model: Arc::clone(&request.model),
            state: State::Idle(Box::new((provider, request))),
            acc: Accumulator::default(),
            committed: false,
            started: None,
            replay: VecDeque::new(),
            obs: None,
            ttfc: None,
            sole: false,
            prior: (0, 0),
            permit: None,
            queued: None,
        }
    }

    /// This attempt as admitted by the call's quota: the permit is settled with the usage when
    /// the stream finishes, and the wait is the attempt's `queued`.
    pub(crate) fn admitted(mut self, admitted: Option<crate::resilient::Admitted>) -> Self {
        if let Some(a) = admitted {
            self.permit = Some(a.permit);
            self.queued = a.queued;
        }
        self
    }

    /// Settles the quota's permit with the finished stream's usage, in the background (the
    /// stream's caller is not kept waiting for the store).
    fn settle(&mut self) {
        let (Some(permit), Some(usage)) = (self.permit.take(), self.acc.usage) else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { permit.settle_usage(&usage).await });
        }
    }

    /// This attempt as part of the operation `span`, after `prior` attempts (count, total wait in
    /// ms); `sole` when it is the operation's only one.
    pub(crate) fn observed(
        mut self,
        obs: Arc<crate::telemetry::Observation>,
        sole: bool,
        prior: (usize, u64),
    ) -> Self {
        self.obs = Some(obs);
        self.sole = sole;
        self.prior = prior;
        self
    }

    /// Marks the commit point (once), noting its time to first chunk.
    fn commit(&mut self) {
        if !self.committed {
            self.committed = true;
            if let (Some(started), Some(obs)) = (self.started, &self.obs) {
                let ttfc = started.elapsed();
                self.ttfc = Some(ttfc);
                crate::telemetry::record_commit(&obs.span, ttfc);
            }
        }
    }

    /// Notes the operation's outcome: this attempt ended the operation.
    fn record_end(&self, failed: Option<ErrorKind>) {
        let Some(obs) = &self.obs else {
            return;
        };
        let finish = self.acc.finish.as_ref().map(|(reason, _)| reason);
        if failed.is_none() && finish.is_none() {
            return;
        }
        let ok = failed.is_none();
        obs.end(crate::telemetry::End {
            error: failed,
            id: self.acc.id.as_deref().filter(|_| ok),
            response_model: ok.then(|| self.acc.model.as_deref().unwrap_or(&self.model)),
            finish: finish.filter(|_| ok),
            usage: self.acc.usage.filter(|_| ok),
            attempts: self.prior.0 + 1,
            waited_ms: self.prior.1,
            time_to_first_chunk: self.ttfc,
        });
    }

    /// Queues events received before the caller saw them, to be yielded first.
    pub(crate) fn set_replay(&mut self, seen: VecDeque<Result<StreamEvent, Error>>) {
        self.replay = seen;
    }

    /// Whether content has reached the caller (the commit point has passed).
    pub(crate) fn is_committed(&self) -> bool {
        self.committed
    }

    /// The text received so far.
    pub(crate) fn text(&self) -> &str {
        &self.acc.text
    }

    /// What has been received so far: the text and the complete tool calls.
    pub(crate) fn partial(&self) -> PartialOutput {
        PartialOutput {
            text: self.acc.text.clone(),
            tool_calls: self.acc.calls.clone(),
        }
    }

    /// This attempt's summary with `outcome`, for the history.
    pub(crate) fn summary(&self, outcome: Option<ErrorKind>) -> AttemptSummary {
        let mut summary = AttemptSummary::new(
            &self.provider,
            &self.model,
            outcome,
            self.acc.status,
            self.started.map(|s| s.elapsed()).unwrap_or_default(),
        );
        summary.queued = self.queued;
        summary
    }

    /// The whole response, once the stream has finished.
    pub(crate) fn finish_response(&mut self) -> Result<Response, Error> {
        let summary = self.summary(None);
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
        // A refusal finish always has a message: the provider's, else the text, else a generic one
        // (as a whole response reads it).
        let refusal = acc.refusal.filter(|m| !m.is_empty());
        r.refusal = match (&reason, refusal) {
            (FinishReason::Refusal, None) if !acc.text.is_empty() => Some(acc.text.clone()),
            (FinishReason::Refusal, None) => Some("the model refused".into()),
            (_, refusal) => refusal,
        };
        r.text = acc.text;
        r.tool_calls = acc.calls;
        r.extras = acc.extras;
        r.citations = acc.citations;
        r.finish_reason = reason;
        r.raw_finish_reason = raw;
        r.finish_details = acc.finish_details;
        r.usage = acc.usage;
        r.tools = Arc::clone(&self.tools);
        r.attempts.push(summary);
        Ok(r)
    }

    /// Turns a provider error into what the caller sees, given the commit point.
    fn fail(&mut self, e: Error) -> Error {
        let e = self.failure(e);
        if self.sole || self.committed {
            self.record_end(Some(e.kind()));
        }
        e
    }

    fn failure(&mut self, e: Error) -> Error {
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

    /// A decode error for a tool-call fragment that names no started call.
    fn unknown_call(&mut self, what: &str, index: usize) -> Option<Result<StreamEvent, Error>> {
        let e = Error::new(
            ErrorKind::Decode,
            format!("{what} for unknown call {index}"),
        );
        Some(Err(self.fail(e)))
    }

    /// A complete tool call: kept, and yielded once its arguments validate against the declared
    /// tool of its name. A call of a tool the request did not declare is yielded as received
    /// (only a typed parse of it fails); one whose arguments fail their tool is an error.
    fn complete_call(&mut self, call: ToolCall) -> Result<StreamEvent, Error> {
        self.commit();
        self.acc.reasoning_open = false;
        let checked = match self.tools.iter().find(|t| t.name() == call.name) {
            Some(tool) => tool.validate(&call).map(|_| ()),
            None => Ok(()),
        };
        match checked {
            Ok(()) => {
                self.acc.calls.push(call.clone());
                Ok(StreamEvent::ToolCall(call))
            }
            Err(e) => {
                self.acc.calls.push(call);
                let extras = &self.acc.extras;
                Err(e
                    .in_context(&self.provider, &self.model)
                    .with_model_parts(|| extras.iter().map(|a| a.part.clone()).collect()))
            }
        }
    }

    /// Handles one provider event; returns the event to yield, if any.
    fn absorb(&mut self, ev: ProviderEvent) -> Option<Result<StreamEvent, Error>> {
        let acc = &mut self.acc;
        let out = match ev {
            ProviderEvent::Metadata {
                id,
                model,
                request_id,
                status,
            } => {
                acc.id = acc.id.take().or(id);
                acc.model = acc.model.take().or(model);
                acc.request_id = acc.request_id.take().or(request_id);
                acc.status = acc.status.or(status);
                return None;
            }
            ProviderEvent::Text(t) => {
                acc.reasoning_open = false;
                acc.text.push_str(&t);
                StreamEvent::Text(t)
            }
            ProviderEvent::Refusal(t) => {
                acc.refusal.get_or_insert_with(String::new).push_str(&t);
                StreamEvent::Refusal(t)
            }
            ProviderEvent::ToolCallStart { index, id, name } => {
                acc.reasoning_open = false;
                acc.pending.push(PendingCall {
                    index,
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                    signature: None,
                });
                StreamEvent::ToolCallStart { index, id, name }
            }
            ProviderEvent::ToolCallSignature { index, signature } => {
                match acc.pending.iter_mut().find(|p| p.index == index) {
                    Some(p) => p.signature = Some(signature),
                    None => return self.unknown_call("tool-call signature", index),
                }
                return None;
            }
            ProviderEvent::ToolCallDelta { index, arguments } => {
                match acc.pending.iter_mut().find(|p| p.index == index) {
                    Some(p) => p.arguments.push_str(&arguments),
                    None => return self.unknown_call("tool-call fragment", index),
                }
                StreamEvent::ToolCallDelta { index, arguments }
            }
            ProviderEvent::ToolCallEnd { index } => {
                let pos = acc.pending.iter().position(|p| p.index == index)?;
                let p = acc.pending.remove(pos);
                let mut call = ToolCall::new(p.id, p.name, p.arguments);
                call.signature = p.signature;
                return Some(self.complete_call(call));
            }
            ProviderEvent::Reasoning(t) => {
                acc.reason(&self.provider, &t, None);
                StreamEvent::Reasoning(t)
            }
            ProviderEvent::ReasoningSignature(signature) => {
                acc.reason(&self.provider, "", Some(signature));
                return None;
            }
            ProviderEvent::ReasoningEnd => {
                acc.reasoning_open = false;
                return None;
            }
            ProviderEvent::Part(Part::Text { text }) => {
                return self.absorb(ProviderEvent::Text(text));
            }
            ProviderEvent::Part(Part::ToolCall(call)) => {
                acc.reasoning_open = false;
                return Some(self.complete_call(call));
            }
            ProviderEvent::Part(part) => {
                acc.push_extra(part.clone());
                StreamEvent::Part(part)
            }
            ProviderEvent::Citation(c) => {
                acc.citations.push(c.clone());
                StreamEvent::Citation(c)
            }
            ProviderEvent::FinishDetails(details) => {
                acc.finish_details = Some(details);
                return None;
            }
            ProviderEvent::Usage(u) => {
                acc.usage = Some(u);
                StreamEvent::Usage(u)
            }
            ProviderEvent::Finish { reason, raw } => {
                acc.finish = Some((reason.clone(), raw.clone()));
                StreamEvent::Finish { reason, raw }
            }
        };
        if out.is_content() {
            self.commit();
        }
        Some(Ok(out))
    }

    /// The next event of this attempt.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<StreamEvent, Error>>> {
        // The attempt's HTTP span is made (and its body read) inside the operation's span.
        let span = self
            .obs
            .as_ref()
            .map_or_else(tracing::Span::none, |o| o.span.clone());
        let _entered = span.enter();
        loop {
            if let Some(item) = self.replay.pop_front() {
                return Poll::Ready(Some(item));
            }
            match &mut self.state {
                State::Done => return Poll::Ready(None),
                State::Idle(_) => {
                    let State::Idle(boxed) = std::mem::replace(&mut self.state, State::Done) else {
                        return Poll::Ready(None);
                    };
                    let (provider, request) = *boxed;
                    if let Err(e) = crate::prompt::validate_messages(&request.messages) {
                        return Poll::Ready(Some(Err(self.fail(e))));
                    }
                    self.started = Some(Instant::now());
                    self.state = State::Connecting(provider.stream(request));
                }
                State::Connecting(fut) => match ready!(fut.as_mut().poll(cx)) {
                    Ok(s) => self.state = State::Streaming(s),
                    Err(e) => {
                        self.acc.status = self.acc.status.or(e.status());
                        return Poll::Ready(Some(Err(self.fail(e))));
                    }
                },
                State::Streaming(s) => match ready!(Pin::as_mut(s).poll_next(cx)) {
                    Some(Ok(ev)) => {
                        if let Some(out) = self.absorb(ev) {
                            return Poll::Ready(Some(out));
                        }
                    }
                    Some(Err(e)) => return Poll::Ready(Some(Err(self.fail(e)))),
                    None => {
                        self.state = State::Done;
                        if self.acc.finish.is_none() {
                            let e = Error::new(
                                ErrorKind::StreamInterrupted,
                                "the stream ended without a finish reason",
                            );
                            return Poll::Ready(Some(Err(self.fail(e))));
                        }
                        self.settle();
                        self.record_end(None);
                        return Poll::Ready(None);
                    }
                },
            }
        }
    }
}
