//! The admission decision as one pure function: the model both stores implement.
//!
//! [`decide`] takes the scope's state (two theoretical arrival times and a cooldown end, in
//! microseconds on the store's clock), the time now and the two limits' GCRA parameters, and
//! returns the decision with the new state. The in-process store calls it under its lock; the
//! Redis store's Lua script (`admit.lua`) is a line-by-line transcription of it, and a test
//! (`quota/redis/tests.rs`, against a real redis-server) runs the same requests through both and
//! compares every decision and the state reached.
//!
//! Every quantity is an integer number of microseconds below 2^53 (the clock is Unix time in
//! microseconds, about 1.8 × 10^15, and every increment or lead is at most a minute's worth), so
//! Lua's doubles compute exactly what this code computes with `u64`. The divisions happen once,
//! in Rust ([`Quota::request_limit`](super::Quota) and `token_limit`), and are passed to the script
//! as integers.

/// One scope's state. A time at or before now means that limit is idle; `0` is "never used".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// Theoretical arrival time of the request limit.
    pub(crate) requests: u64,
    /// Theoretical arrival time of the token limit.
    pub(crate) tokens: u64,
    /// When a provider-imposed cooldown ends.
    pub(crate) cooldown_until: u64,
}

/// One limit's GCRA parameters for one request: the time it adds, and the lead (how far the
/// theoretical arrival time may run ahead of now) the limit tolerates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limit {
    pub(crate) increment: u64,
    pub(crate) tolerance: u64,
}

/// The two limits for one request; `None` where the quota has no such limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) requests: Option<Limit>,
    pub(crate) tokens: Option<Limit>,
}

impl Limits {
    /// The limits of `quota` for a request estimated at `cost` tokens.
    pub(crate) fn of(quota: &super::Quota, cost: u64) -> Limits {
        let limit = |(increment, tolerance)| Limit {
            increment,
            tolerance,
        };
        Limits {
            requests: quota.request_limit().map(limit),
            tokens: quota.token_limit(cost).map(limit),
        }
    }

    /// Whether the request can never be admitted: it alone needs more than the token allowance.
    pub(crate) fn too_large(&self) -> bool {
        self.tokens.is_some_and(|t| t.increment > t.tolerance)
    }
}

/// What [`decide`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Admitted; the state becomes this.
    Admit(State),
    /// Not now: admissible in this many microseconds. The state is unchanged (all-or-nothing).
    Wait {
        /// Microseconds until admission would succeed (if nothing else is admitted meanwhile).
        micros: u64,
        /// Whether the wait comes from a provider cooldown rather than the quota.
        cooldown: bool,
    },
    /// Never: the request alone exceeds the token allowance. The state is unchanged.
    TooLarge,
}

/// The lead a limit would have after admitting, or how long until it could admit.
fn check(tat: u64, now: u64, limit: Option<Limit>) -> (u64, u64) {
    let Some(limit) = limit else {
        return (tat, 0);
    };
    let new = tat.max(now).saturating_add(limit.increment);
    let lead = new - now;
    (new, lead.saturating_sub(limit.tolerance))
}

/// The admission decision for one request at `now`: all-or-nothing over both limits.
pub(crate) fn decide(state: State, now: u64, limits: Limits) -> Outcome {
    if limits.too_large() {
        return Outcome::TooLarge;
    }
    if state.cooldown_until > now {
        return Outcome::Wait {
            micros: state.cooldown_until - now,
            cooldown: true,
        };
    }
    let (requests, wait_r) = check(state.requests, now, limits.requests);
    let (tokens, wait_t) = check(state.tokens, now, limits.tokens);
    let wait = wait_r.max(wait_t);
    if wait > 0 {
        return Outcome::Wait {
            micros: wait,
            cooldown: false,
        };
    }
    Outcome::Admit(State {
        requests,
        tokens,
        cooldown_until: state.cooldown_until,
    })
}

/// The token limit's arrival time after correcting a request's cost by `delta` microseconds
/// (positive: it used more than estimated). Never before `now`: an unused estimate is credited
/// back, but idle time is not banked.
pub(crate) fn settle(tat: u64, now: u64, delta: i64) -> u64 {
    let base = tat.max(now);
    let corrected = if delta >= 0 {
        base.saturating_add(delta.unsigned_abs())
    } else {
        base.saturating_sub(delta.unsigned_abs())
    };
    corrected.max(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::Quota;
    use proptest::prelude::*;

    fn rpm(n: u64, burst: u64) -> Quota {
        Quota::builder()
            .requests_per_minute(n)
            .burst(burst)
            .build()
            .unwrap()
    }

    #[test]
    fn burst_then_steady_spacing() {
        let q = rpm(60, 3); // one a second, three at once
        let mut s = State::default();
        let now = 1_000_000_000;
        for i in 0..3 {
            match decide(s, now, Limits::of(&q, 1)) {
                Outcome::Admit(next) => s = next,
                other => panic!("request {i} of the burst: {other:?}"),
            }
        }
        assert_eq!(
            decide(s, now, Limits::of(&q, 1)),
            Outcome::Wait {
                micros: 1_000_000,
                cooldown: false
            }
        );
        // One interval later exactly one more goes.
        let later = now + 1_000_000;
        let Outcome::Admit(s) = decide(s, later, Limits::of(&q, 1)) else {
            panic!("one more after an interval");
        };
        assert!(matches!(
            decide(s, later, Limits::of(&q, 1)),
            Outcome::Wait { .. }
        ));
    }

    #[test]
    fn a_token_refusal_consumes_no_request() {
        let q = Quota::builder()
            .requests_per_minute(60)
            .burst(2)
            .tokens_per_minute(100)
            .build()
            .unwrap();
        let now = 5_000_000;
        let Outcome::Admit(s) = decide(State::default(), now, Limits::of(&q, 80)) else {
            panic!("fits");
        };
        // 80 more tokens do not fit: refused, and the state is untouched.
        let refused = decide(s, now, Limits::of(&q, 80));
        assert!(matches!(
            refused,
            Outcome::Wait {
                cooldown: false,
                ..
            }
        ));
        // The second request slot is still free for a small request.
        let Outcome::Admit(s2) = decide(s, now, Limits::of(&q, 20)) else {
            panic!("the refusal consumed nothing");
        };
        assert!(matches!(
            decide(s2, now, Limits::of(&q, 1)),
            Outcome::Wait { .. }
        ));
        assert_eq!(decide(s, now, Limits::of(&q, 101)), Outcome::TooLarge);
    }

    #[test]
    fn cooldown_waits_without_consuming() {
        let q = rpm(60, 1);
        let s = State {
            cooldown_until: 10_000_000,
            ..State::default()
        };
        assert_eq!(
            decide(s, 7_000_000, Limits::of(&q, 1)),
            Outcome::Wait {
                micros: 3_000_000,
                cooldown: true
            }
        );
        assert!(matches!(
            decide(s, 10_000_000, Limits::of(&q, 1)),
            Outcome::Admit(_)
        ));
    }

    #[test]
    fn settle_debits_and_credits_within_bounds() {
        assert_eq!(settle(100, 50, 30), 130);
        assert_eq!(settle(100, 50, -30), 70);
        assert_eq!(settle(100, 50, -80), 50, "no credit before now");
        assert_eq!(settle(10, 50, 5), 55, "an idle limit is debited from now");
        assert_eq!(settle(u64::MAX - 1, 0, i64::MAX), u64::MAX);
    }

    proptest! {
        /// Whatever the sequence, a refused request leaves the state exactly as it was, and no
        /// rolling minute admits more than `rpm + burst - 1` requests.
        #[test]
        fn refusals_are_free_and_the_rate_holds(
            rate in 1u64..=120,
            burst_pct in 1u64..=100,
            gaps in proptest::collection::vec(0u64..3_000_000, 1..300),
        ) {
            let burst = (rate * burst_pct / 100).max(1);
            let q = rpm(rate, burst);
            let mut s = State::default();
            let mut now = 1_700_000_000_000_000;
            let mut admitted = Vec::new();
            for gap in gaps {
                now += gap;
                match decide(s, now, Limits::of(&q, 1)) {
                    Outcome::Admit(next) => { s = next; admitted.push(now); }
                    Outcome::Wait { micros, .. } => {
                        prop_assert!(micros > 0);
                        // Waiting exactly that long admits.
                        prop_assert!(matches!(
                            decide(s, now + micros, Limits::of(&q, 1)),
                            Outcome::Admit(_)
                        ));
                    }
                    Outcome::TooLarge => prop_assert!(false, "no token limit"),
                }
            }
            for (i, &start) in admitted.iter().enumerate() {
                let in_window = admitted[i..].iter().take_while(|&&t| t < start + 60_000_000).count();
                prop_assert!((in_window as u64) < rate + burst,
                    "{in_window} in a minute with rpm {rate} burst {burst}");
            }
        }
    }
}
