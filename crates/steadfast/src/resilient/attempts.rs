//! The attempt history: what every retry loop (send, extract, stream) records after a failed
//! attempt.

use std::time::Duration;

use steadfast_retry::{Decision, RetryState, RunError};
use tokio::time::Instant;

use crate::call::Call;
use crate::error::Error;
use crate::response::AttemptSummary;

/// Records a failed attempt (which waited `queued` for admission) in `summaries` and asks the policy what next: `Ok(decision)` to sleep
/// before the next attempt, or the error to return (with every attempt attached, and why the
/// retries stopped).
pub(crate) fn record_failure(
    state: &mut RetryState<Error>,
    call: &Call,
    e: Error,
    started: Instant,
    queued: Option<Duration>,
    summaries: &mut Vec<AttemptSummary>,
) -> Result<Decision, Error> {
    let e = e.in_context(call.provider_name_arc(), call.model_arc());
    let mut summary = AttemptSummary::new(
        call.provider_name_arc(),
        call.model_arc(),
        Some(e.kind()),
        e.status(),
        started.elapsed(),
    );
    summary.queued = queued;
    match state.fail(e) {
        Ok(decision) => {
            with_wait(&mut summary, decision);
            summaries.push(summary);
            Ok(decision)
        }
        Err(RunError::Rejected(e)) => {
            summaries.push(summary);
            Err(e.with_attempts(std::mem::take(summaries)))
        }
        Err(RunError::Exhausted(history)) => {
            summaries.push(summary);
            let reason = history.reason().to_string();
            Err(history
                .into_last()
                .with_attempts(std::mem::take(summaries))
                .with_retry_stopped(reason))
        }
    }
}

/// Notes in `summary` the wait that follows its attempt, and why — as the policy decided it.
pub(crate) fn with_wait(summary: &mut AttemptSummary, decision: Decision) {
    summary.wait = Some(decision.wait);
    summary.wait_reason = Some(decision.reason);
}
