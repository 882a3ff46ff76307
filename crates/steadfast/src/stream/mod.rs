//! Streamed responses: [`ResponseStream`].
//!
//! `call.stream(prompt)` returns at once and sends **no request until the stream is first polled**.
//! Events then arrive as [`StreamEvent`]s (it is a [`futures_core::Stream`]);
//! [`ResponseStream::into_response`] gathers them into the same [`Response`] a non-streaming call
//! returns.
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
//!
//! # Layout
//!
//! One attempt (`attempt.rs`) decodes and accumulates: it turns the provider's
//! [`ProviderEvent`](crate::ProviderEvent)s into [`StreamEvent`]s and judges the commit point. The
//! retrying stream (`retrying.rs`) only orchestrates attempts — retry, fallback and restart — and
//! forwards the committed one.

mod attempt;
mod retrying;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) use attempt::AttemptStream;
use retrying::RetryingStream;
use steadfast_retry::Retry;

use crate::call::Call;
use crate::error::{Error, PartialOutput};
use crate::prompt::Prompt;
use crate::provider::StreamEvent;
use crate::resilient::Chain;
use crate::response::Response;

#[allow(
    clippy::large_enum_variant,
    reason = "a plain stream (the common case) stays inline: one allocation fewer per stream"
)]
enum Inner {
    /// One attempt, as [`Call::stream`] makes.
    Attempt(AttemptStream),
    /// Attempts under a policy, as [`Resilient::stream`](crate::Resilient::stream) makes.
    Retrying(Box<RetryingStream>),
}

/// A streamed response: a [`futures_core::Stream`] of [`StreamEvent`]s. See the
/// [module docs](self).
///
/// ```no_run
/// # async fn run() -> Result<(), steadfast::Error> {
/// use futures_util::StreamExt;
/// use steadfast::{StreamEvent, llm};
///
/// let mut stream = llm::call("openai:gpt-4o-mini")?.stream("Recommend a fantasy book");
/// while let Some(event) = stream.next().await {
///     if let StreamEvent::Text(chunk) = event? {
///         print!("{chunk}");
///     }
/// }
/// let response = stream.into_response().await?;
/// println!("\n{} attempts", response.attempts().len());
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct ResponseStream {
    inner: Inner,
}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, committed) = match &self.inner {
            Inner::Attempt(a) => ("attempt", a.is_committed()),
            Inner::Retrying(r) => ("retrying", r.is_committed()),
        };
        f.debug_struct("ResponseStream")
            .field("kind", &kind)
            .field("committed", &committed)
            .field("text_len", &self.text().len())
            .finish_non_exhaustive()
    }
}

impl ResponseStream {
    pub(crate) fn attempt(attempt: AttemptStream) -> Self {
        ResponseStream {
            inner: Inner::Attempt(attempt),
        }
    }

    /// A stream that retries under `policy` (along `chain`) until an attempt reaches its commit
    /// point, and starts again (at most `restarts` times) after an interruption past it.
    pub(crate) fn retrying(
        call: Call,
        policy: Retry<Error>,
        chain: Option<Chain>,
        prompt: Prompt,
        restarts: u32,
    ) -> Self {
        ResponseStream {
            inner: Inner::Retrying(Box::new(RetryingStream::new(
                call, policy, chain, prompt, restarts,
            ))),
        }
    }

    /// Whether content has reached the caller (the commit point has passed).
    pub fn is_committed(&self) -> bool {
        match &self.inner {
            Inner::Attempt(a) => a.is_committed(),
            Inner::Retrying(r) => r.is_committed(),
        }
    }

    /// The text received so far (after a restart, of the new answer only).
    pub fn text(&self) -> &str {
        match &self.inner {
            Inner::Attempt(a) => a.text(),
            Inner::Retrying(r) => r.text(),
        }
    }

    /// What has been received so far: the text and the complete tool calls.
    pub fn partial(&self) -> PartialOutput {
        match &self.inner {
            Inner::Attempt(a) => a.partial(),
            Inner::Retrying(r) => r.partial(),
        }
    }

    /// Consumes the rest of the stream and returns the whole response, with every HTTP attempt
    /// in [`Response::attempts`].
    ///
    /// # Errors
    /// The first error the stream yields (see the [module docs](self) for which kind).
    pub async fn into_response(mut self) -> Result<Response, Error> {
        while let Some(item) = std::future::poll_fn(|cx| self.poll_event(cx)).await {
            item?;
        }
        match &mut self.inner {
            Inner::Attempt(a) => a.finish_response(),
            Inner::Retrying(r) => r.finish_response(),
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StreamEvent, Error>>> {
        match &mut self.inner {
            Inner::Attempt(a) => a.poll_event(cx),
            Inner::Retrying(r) => r.poll_event(cx),
        }
    }
}

impl futures_core::Stream for ResponseStream {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}
