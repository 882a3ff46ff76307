//! Admission by a call's [quota](crate::quota) before each attempt, inside the retry loops.
//!
//! Every HTTP attempt of a call that carries a [`Limiter`] (see [`Call::quota`]) is admitted
//! first, whatever the form (send, extract, stream; the plain forms run as a one-attempt policy):
//!
//! 1. the token cost is estimated from the attempt's prompt, tools and `max_tokens`
//!    ([`TokenEstimate`]);
//! 2. the limiter answers ([`Limiter::acquire`]): admitted (go), admitted for its turn (one
//!    store operation: the slot is reserved and the attempt sleeps until then, on the stores'
//!    clock, `tokio::time`), or
//!    refused (an [`ErrorKind::QuotaRefused`](crate::ErrorKind::QuotaRefused) error, which the
//!    retry policy does not retry and a fallback chain built with
//!    [`resilient::fallback`](crate::resilient::fallback) always catches — the request was never
//!    sent). A wait is refused too when, added to the waits before it, it would exceed the
//!    limiter's [`max_wait`](Limiter::max_wait), or when it would cross the retry policy's time
//!    limit ([`RetryState::time_left`]);
//! 3. after the attempt, the permit is settled with the response's usage, and a rate-limit error
//!    with a hint puts the whole scope in cooldown ([`Limiter::observe`]).
//!
//! The time spent waiting is the attempt's [`queued`](crate::AttemptSummary::queued), and each
//! wait is a `steadfast.quota.wait` event in the operation's span.

use std::time::Duration;

use steadfast_retry::RetryState;

use crate::call::Call;
use crate::error::Error;
use crate::prompt::Prompt;
use crate::quota::{Limiter, Permit, TokenEstimate};
use crate::response::Response;

/// The policy the plain forms (`Call::send`, `stream`, `extract`) run under when the call has a
/// quota: one attempt, its error returned as it is — only so that admission happens in one place.
pub(crate) fn one_attempt() -> steadfast_retry::Retry<Error> {
    steadfast_retry::Retry::new().retry_if(steadfast_retry::Predicate::never())
}

/// An admitted attempt: the permit to settle, and how long it waited for it.
pub(crate) struct Admitted {
    pub(crate) permit: Permit,
    pub(crate) queued: Option<Duration>,
}

/// Admits one attempt of `call` sending `prompt`, waiting within the limiter's `max_wait` and the
/// time `state`'s policy has left. `Ok(None)` when the call has no quota.
pub(crate) async fn admit(
    call: &Call,
    prompt: &Prompt,
    state: &RetryState<Error>,
) -> Result<Option<Admitted>, Error> {
    let Some(limiter) = call.limiter() else {
        return Ok(None);
    };
    let estimate =
        TokenEstimate::of_parts(prompt.messages(), call.tools(), call.params().max_tokens);
    wait_for(limiter, &estimate, state).await.map(Some)
}

async fn wait_for(
    limiter: &Limiter,
    estimate: &TokenEstimate,
    state: &RetryState<Error>,
) -> Result<Admitted, Error> {
    let bound = match state.time_left() {
        Some(left) => left.min(limiter.max_wait_limit()),
        None => limiter.max_wait_limit(),
    };
    let (permit, queued) = limiter.acquire_timed(estimate, bound).await?;
    Ok(Admitted {
        permit,
        queued: (!queued.is_zero()).then_some(queued),
    })
}

/// What the attempt's outcome tells the quota: the real usage of a success (settled against the
/// estimate), or a provider cooldown from a rate-limit error with a hint.
pub(crate) async fn settle(
    call: &Call,
    admitted: Option<Admitted>,
    outcome: Result<&Response, &Error>,
) {
    match outcome {
        Ok(response) => {
            if let (Some(a), Some(usage)) = (admitted, response.usage()) {
                a.permit.settle_usage(&usage).await;
            }
        }
        Err(error) => {
            if let Some(limiter) = call.limiter() {
                limiter.observe(error).await;
            }
        }
    }
}
