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
    /// Admitted for a later time: the state becomes this (the request counted now), and the
    /// request is to be sent in this many microseconds (see [`decide_reserving`]).
    Reserve {
        /// The state after the reservation.
        state: State,
        /// Microseconds until the reserved time.
        micros: u64,
    },
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
#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "the stores reserve; the model of the plain decision is for tests"
    )
)]
pub(crate) fn decide(state: State, now: u64, limits: Limits) -> Outcome {
    decide_reserving(state, now, limits, 0)
}

/// [`decide`], reserving: a request that would be admissible within `reserve` microseconds is
/// admitted now for that later time ([`Outcome::Reserve`]) — GCRA's virtual scheduling, where
/// the state already says when each admitted request conforms. One decision per request, however
/// long it waits, so waiters do not all wake at once to ask again. A provider cooldown is never
/// reserved through (it says nothing of when the provider will take requests again), and a
/// request that does not fit within `reserve` still consumes nothing.
pub(crate) fn decide_reserving(state: State, now: u64, limits: Limits, reserve: u64) -> Outcome {
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
    if wait > reserve {
        return Outcome::Wait {
            micros: wait,
            cooldown: false,
        };
    }
    let next = State {
        requests,
        tokens,
        cooldown_until: state.cooldown_until,
    };
    if wait > 0 {
        return Outcome::Reserve {
            state: next,
            micros: wait,
        };
    }
    Outcome::Admit(next)
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

    #[test]
    fn a_reservation_takes_the_next_conforming_time_and_consumes_it() {
        let q = Quota::builder()
            .requests_per_minute(60)
            .burst(1)
            .build()
            .unwrap();
        let now = 5_000_000;
        let Outcome::Admit(s) = decide_reserving(State::default(), now, Limits::of(&q, 1), 0)
        else {
            panic!("idle: admitted at once");
        };
        // Three more within 3 s: each reserved one second after the previous.
        let mut s = s;
        for k in 1..=3u64 {
            match decide_reserving(s, now, Limits::of(&q, 1), 3_000_000) {
                Outcome::Reserve { state, micros } => {
                    assert_eq!(micros, k * 1_000_000);
                    s = state;
                }
                other => panic!("reservation {k}: {other:?}"),
            }
        }
        // The fourth would be 4 s away: beyond the reserve, refused, and it consumes nothing.
        assert_eq!(
            decide_reserving(s, now, Limits::of(&q, 1), 3_000_000),
            Outcome::Wait {
                micros: 4_000_000,
                cooldown: false
            }
        );
        assert_eq!(
            decide(s, now + 4_000_000, Limits::of(&q, 1)),
            Outcome::Admit(State {
                requests: s.requests + 1_000_000,
                ..s
            })
        );
        // A cooldown is never reserved through.
        let cooling = State {
            cooldown_until: now + 1_000,
            ..State::default()
        };
        assert!(matches!(
            decide_reserving(cooling, now, Limits::of(&q, 1), u64::MAX),
            Outcome::Wait { cooldown: true, .. }
        ));
    }

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
                // Odd gaps may reserve up to 2 s ahead: a reserved request counts at its time.
                let reserve = if gap % 2 == 1 { 2_000_000 } else { 0 };
                match decide_reserving(s, now, Limits::of(&q, 1), reserve) {
                    Outcome::Admit(next) => { s = next; admitted.push(now); }
                    Outcome::Reserve { state, micros } => {
                        prop_assert!(micros > 0 && micros <= reserve);
                        s = state;
                        admitted.push(now + micros);
                    }
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
            admitted.sort_unstable();
            for (i, &start) in admitted.iter().enumerate() {
                let in_window = admitted[i..].iter().take_while(|&&t| t < start + 60_000_000).count();
                prop_assert!((in_window as u64) < rate + burst,
                    "{in_window} in a minute with rpm {rate} burst {burst}");
            }
        }
    }
}
