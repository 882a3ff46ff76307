//! The retrying stream: attempts under a retry policy (and along a fallback chain) until one
//! reaches its commit point, then that attempt's events — and, opted in, a restart after an
//! interruption past the commit point.

use std::collections::VecDeque;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use steadfast_retry::{Decision, Retry, RetryState};
use tokio::time::Instant;

use super::attempt::AttemptStream;
use crate::call::Call;
use crate::error::{Error, ErrorKind, PartialOutput};
use crate::prompt::Prompt;
use crate::provider::{BoxFuture, StreamEvent};
use crate::resilient::Chain;
use crate::resilient::admission;
use crate::resilient::attempts::{record_failure, with_wait};
use crate::response::{AttemptSummary, Response};

type Committed = Result<(AttemptStream, Vec<AttemptSummary>), Error>;
type CommittedAfterFallback = Result<(AttemptStream, Vec<AttemptSummary>, Vec<Error>), Error>;

enum State {
    /// The policy is at work until some attempt reaches its commit point.
    Committing(BoxFuture<CommittedAfterFallback>),
    /// The committed attempt, whose events this stream forwards.
    Committed(Box<AttemptStream>),
    Done,
}

/// Attempts until one commits, then forwards it. Holds no accumulator of its own: the committed
/// attempt has the data.
pub(crate) struct RetryingStream {
    state: State,
    /// The failed attempts that came before the committed one.
    prior: Vec<AttemptSummary>,
    /// The errors a fallback chain caught before the committed attempt's target.
    caught: Vec<Error>,
    /// How to start again after a failure past the commit point, when restarts are allowed.
    restart: Option<Box<Restart>>,
    /// With restarts allowed, the INTERNAL span over every pass (`steadfast.stream`).
    span: tracing::Span,
}

/// What a restart needs: the whole retrying procedure, and how many restarts are left.
struct Restart {
    call: Call,
    policy: Retry<Error>,
    chain: Option<Chain>,
    prompt: Prompt,
    left: u32,
    /// Restarts made so far.
    done: u32,
    /// The policy's view of the interruptions, one attempt each (without its stop): whether to
    /// restart, and after which wait.
    decisions: RetryState<Error>,
}

impl Restart {
    /// Whether to restart after `e`, and after which wait: restarts are left, and the policy
    /// would retry `e` as the next of the interruptions.
    fn decide(&mut self, e: &Error) -> Option<Decision> {
        if self.left == 0 || e.kind() != ErrorKind::StreamInterrupted {
            return None;
        }
        self.decisions.begin();
        let decision = self.decisions.fail(e.clone_for_history()).ok()?;
        self.left -= 1;
        self.done += 1;
        Some(decision)
    }

    /// Waits `wait` on the policy's clock (the same one its own retries sleep on), then commits
    /// again.
    fn commit_after(&self, wait: Duration) -> BoxFuture<CommittedAfterFallback> {
        let commit = commit_anywhere(
            self.call.clone(),
            self.policy.clone(),
            self.chain.clone(),
            self.prompt.clone(),
        );
        let policy = self.policy.clone();
        Box::pin(async move {
            policy.sleep(wait).await;
            commit.await
        })
    }
}

impl RetryingStream {
    /// A stream that retries under `policy` until an attempt reaches its commit point, and starts
    /// again (at most `restarts` times) after a failure past it.
    pub(crate) fn new(
        call: Call,
        policy: Retry<Error>,
        chain: Option<Chain>,
        prompt: Prompt,
        restarts: u32,
    ) -> Self {
        let restart = (restarts > 0).then(|| {
            Box::new(Restart {
                // `restarts` bounds the restarts; the policy's own stop is for the attempts
                // before each commit point.
                decisions: policy.clone().stop(steadfast_retry::stop::never()).start(),
                call: call.clone(),
                policy: policy.clone(),
                chain: chain.clone(),
                prompt: prompt.clone(),
                left: restarts,
                done: 0,
            })
        });
        let span = if restart.is_some() {
            tracing::info_span!(
                target: "steadfast",
                "steadfast.stream",
                otel.kind = "internal",
                steadfast.restarts = 0u32,
            )
        } else {
            tracing::Span::none()
        };
        RetryingStream {
            state: State::Committing(commit_anywhere(call, policy, chain, prompt)),
            prior: Vec::new(),
            caught: Vec::new(),
            restart,
            span,
        }
    }

    fn active(&self) -> Option<&AttemptStream> {
        match &self.state {
            State::Committed(inner) => Some(inner),
            _ => None,
        }
    }

    pub(crate) fn is_committed(&self) -> bool {
        self.active().is_some_and(AttemptStream::is_committed)
    }

    pub(crate) fn text(&self) -> &str {
        self.active().map_or("", AttemptStream::text)
    }

    pub(crate) fn partial(&self) -> PartialOutput {
        self.active()
            .map_or_else(PartialOutput::default, AttemptStream::partial)
    }

    /// The whole response: the committed attempt's, with every attempt before it and what the
    /// fallback chain caught.
    pub(crate) fn finish_response(&mut self) -> Result<Response, Error> {
        let State::Committed(inner) = &mut self.state else {
            return Err(Error::new(
                ErrorKind::StreamInterrupted,
                "the stream has not finished",
            ));
        };
        let mut r = inner.finish_response()?;
        let mut attempts = std::mem::take(&mut self.prior);
        attempts.append(&mut r.attempts);
        r.attempts = attempts;
        r.caught = std::sync::Arc::from(std::mem::take(&mut self.caught));
        Ok(r)
    }

    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<StreamEvent, Error>>> {
        let span = self.span.clone();
        let _entered = span.enter();
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(None),
                State::Committing(fut) => match ready!(fut.as_mut().poll(cx)) {
                    Ok((inner, mut prior, mut caught)) => {
                        // After a restart, the attempts before it come first.
                        self.prior.append(&mut prior);
                        self.caught.append(&mut caught);
                        self.state = State::Committed(Box::new(inner));
                    }
                    Err(e) => {
                        self.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                State::Committed(inner) => {
                    let e = match ready!(inner.poll_event(cx)) {
                        Some(Err(e)) => e,
                        other => return Poll::Ready(other),
                    };
                    // A failure after the commit point still reports every HTTP attempt (the
                    // failed ones before, and this one) and what fallback caught.
                    let mut this_attempt = inner.summary(Some(e.kind()));
                    if let Some(plan) = self.restart.as_mut() {
                        if let Some(decision) = plan.decide(&e) {
                            tracing::event!(
                                name: "steadfast.stream.restart",
                                target: "steadfast",
                                tracing::Level::INFO,
                                steadfast.restarts_left = plan.left,
                                steadfast.wait.duration_ms = decision.wait.as_millis() as u64,
                                error.type = e.kind().as_str(),
                            );
                            self.span.record("steadfast.restarts", plan.done);
                            with_wait(&mut this_attempt, decision);
                            self.prior.push(this_attempt);
                            self.state = State::Committing(plan.commit_after(decision.wait));
                            return Poll::Ready(Some(Ok(StreamEvent::Restarted {
                                reason: e.to_string(),
                            })));
                        }
                    }
                    let mut attempts = self.prior.clone();
                    attempts.push(this_attempt);
                    let e = if self.caught.is_empty() {
                        e
                    } else {
                        let caught = self.caught.iter().map(Error::clone_for_history).collect();
                        e.with_caught(caught)
                    };
                    return Poll::Ready(Some(Err(e.with_attempts(attempts))));
                }
            }
        }
    }
}

/// Retries (and falls back) until some attempt reaches its commit point.
fn commit_anywhere(
    call: Call,
    policy: Retry<Error>,
    chain: Option<Chain>,
    prompt: Prompt,
) -> BoxFuture<CommittedAfterFallback> {
    Box::pin(async move {
        let Some(chain) = chain else {
            let (s, prior) = commit_with_retry(call, policy, prompt).await?;
            return Ok((s, prior, Vec::new()));
        };
        let mut position = 0;
        let winner = chain
            .run(&call, move |c: Call| {
                // Called inside the chain's span: each target's outcome is noted on it.
                let chain_span = tracing::Span::current();
                let at = position;
                position += 1;
                let commit = commit_with_retry(c.clone(), policy.clone(), prompt.clone());
                async move {
                    let result = commit.await;
                    let outcome = result.as_ref().map(|_| ());
                    crate::telemetry::record_fallback_target(&chain_span, &c, at, outcome);
                    result
                }
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

/// Opens streams under `policy` until one reaches its commit point (its first content event), and
/// returns it with the events received so far queued for replay. Failures before the commit point
/// are attempt failures; the committed stream is never replayed.
///
/// The attempts, and the committed stream to its end, are one GenAI operation span (see
/// [`telemetry`](crate::telemetry)).
async fn commit_with_retry(call: Call, policy: Retry<Error>, prompt: Prompt) -> Committed {
    use tracing::Instrument as _;
    let obs = std::sync::Arc::new(crate::telemetry::Observation::start(
        &call,
        crate::telemetry::STREAM,
    ));
    let result = commit_attempts(&call, &policy, &prompt, &obs)
        .instrument(obs.span.clone())
        .await;
    if let Err(e) = &result {
        obs.failed(e);
    }
    result
}

async fn commit_attempts(
    call: &Call,
    policy: &Retry<Error>,
    prompt: &Prompt,
    obs: &std::sync::Arc<crate::telemetry::Observation>,
) -> Committed {
    let mut state = policy.start();
    let mut summaries: Vec<AttemptSummary> = Vec::new();
    loop {
        let number = state.begin().number();
        let admitted = match admission::admit(call, prompt, &state).await {
            Ok(a) => a,
            Err(e) => return Err(e.with_attempts(summaries)),
        };
        let queued = admitted.as_ref().and_then(|a| a.queued);
        let started = Instant::now();
        let prior = crate::telemetry::totals(&summaries);
        let mut s = call
            .attempt_stream(prompt.clone(), number, &obs.span)
            .observed(std::sync::Arc::clone(obs), false, prior)
            .admitted(admitted);
        let mut seen = VecDeque::new();
        let failure = loop {
            match std::future::poll_fn(|cx| s.poll_event(cx)).await {
                Some(Ok(ev)) => {
                    let content = ev.is_content();
                    seen.push_back(Ok(ev));
                    if content {
                        break None;
                    }
                }
                // A validation error on a complete tool call comes after the commit point.
                Some(Err(e)) if s.is_committed() => {
                    seen.push_back(Err(e));
                    break None;
                }
                Some(Err(e)) => break Some(e),
                None => break None,
            }
        };
        let Some(e) = failure else {
            s.set_replay(seen);
            return Ok((s, summaries));
        };
        admission::settle(call, None, Err(&e)).await;
        let decision = record_failure(&mut state, call, e, started, queued, &mut summaries)?;
        state.sleep(decision.wait).await;
    }
}
