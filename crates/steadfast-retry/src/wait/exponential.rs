//! Exponential strategies and their builders.

use std::time::Duration;

use super::{InvalidWait, Kind, MAX_WAIT_SECS, Wait};

/// Validated exponential parameters, in seconds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Exp {
    pub(super) multiplier: f64,
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) exp_base: f64,
}

impl Exp {
    /// tenacity's defaults: multiplier 1, min 0, max `MAX_WAIT`, exp_base 2.
    pub(super) const DEFAULT: Exp = Exp {
        multiplier: 1.0,
        min: 0.0,
        max: MAX_WAIT_SECS as f64,
        exp_base: 2.0,
    };

    fn new(
        multiplier: f64,
        min: Duration,
        max: Duration,
        exp_base: f64,
    ) -> Result<Exp, InvalidWait> {
        if !(multiplier.is_finite() && multiplier >= 0.0) {
            return Err(InvalidWait::Multiplier(multiplier));
        }
        if !(exp_base.is_finite() && exp_base > 0.0) {
            return Err(InvalidWait::ExpBase(exp_base));
        }
        if min > max {
            return Err(InvalidWait::MinAboveMax { min, max });
        }
        Ok(Exp {
            multiplier,
            min: min.as_secs_f64(),
            max: max.as_secs_f64(),
            exp_base,
        })
    }

    /// tenacity `wait_exponential.__call__`, including its shortcut that answers `max` without
    /// computing a power once the exponent is past `log_base(max / multiplier)`.
    pub(super) fn seconds(&self, attempt: u32) -> f64 {
        let exponent = f64::from(attempt) - 1.0;
        let floor = self.min.max(0.0);
        if self.multiplier > 0.0
            && self.max > 0.0
            && self.exp_base > 1.0
            && self.max.is_finite()
            && exponent
                > self.max.ln() / self.exp_base.ln() - self.multiplier.ln() / self.exp_base.ln()
        {
            return floor.max(self.max);
        }
        let result = if self.multiplier == 0.0 {
            0.0
        } else {
            let r = self.multiplier * self.exp_base.powf(exponent);
            if !r.is_finite() {
                // tenacity's OverflowError branch.
                return self.max;
            }
            r
        };
        floor.max(result.min(self.max))
    }
}

/// tenacity `wait_exponential_jitter.__call__` with the uniform draw `jitter` already made.
pub(super) fn jittered_seconds(exp: &Exp, attempt: u32, jitter: f64) -> f64 {
    let exponent = f64::from(attempt) - 1.0;
    let result = if exp.multiplier == 0.0 {
        jitter
    } else {
        let r = exp.multiplier * exp.exp_base.powf(exponent) + jitter;
        // tenacity's OverflowError branch: an overflowing power means `max`.
        if r.is_finite() { r } else { exp.max }
    };
    exp.min.max(0.0).max(result.min(exp.max))
}

/// Builder for [`exponential`] and [`random_exponential`].
///
/// # Default
///
/// tenacity's: multiplier 1.0 (seconds), min 0, max unbounded (2^62 s, tenacity's `MAX_WAIT`),
/// exp_base 2.0.
#[derive(Clone, Copy, Debug)]
#[must_use = "call `.build()` to get the wait strategy"]
pub struct ExponentialBuilder {
    full_jitter: bool,
    multiplier: f64,
    min: Duration,
    max: Duration,
    exp_base: f64,
}

/// Exponential backoff without jitter (tenacity `wait_exponential`):
/// `max(max(0, min), min(multiplier * exp_base^(n-1), max))` seconds after failure `n`.
///
/// Deterministic, so suited to a single client waiting for a resource; prefer
/// [`random_exponential`] or [`exponential_jitter`] when many clients share a dependency.
pub const fn exponential() -> ExponentialBuilder {
    ExponentialBuilder {
        full_jitter: false,
        multiplier: 1.0,
        min: Duration::ZERO,
        max: Duration::from_secs(MAX_WAIT_SECS),
        exp_base: 2.0,
    }
}

/// "Full jitter" (tenacity `wait_random_exponential`): uniform in `[min, exponential(n))`.
///
/// Takes the same knobs as [`exponential`]; the exponential value is the upper end of the
/// random window.
pub const fn random_exponential() -> ExponentialBuilder {
    let mut b = exponential();
    b.full_jitter = true;
    b
}

impl ExponentialBuilder {
    /// Seconds multiplied by `exp_base^(n-1)`.
    pub const fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// The shortest wait.
    pub const fn min(mut self, min: Duration) -> Self {
        self.min = min;
        self
    }

    /// The longest wait.
    pub const fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// The base of the exponent.
    pub const fn exp_base(mut self, exp_base: f64) -> Self {
        self.exp_base = exp_base;
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// [`InvalidWait::Multiplier`] for a negative, infinite or NaN multiplier;
    /// [`InvalidWait::ExpBase`] for a base that is not finite and positive;
    /// [`InvalidWait::MinAboveMax`] when `min > max`.
    pub fn build(self) -> Result<Wait, InvalidWait> {
        let exp = Exp::new(self.multiplier, self.min, self.max, self.exp_base)?;
        Ok(Wait(if self.full_jitter {
            Kind::RandomExponential(exp)
        } else {
            Kind::Exponential(exp)
        }))
    }
}

/// Builder for [`exponential_jitter`].
///
/// # Default
///
/// tenacity 9's: multiplier 1.0 (tenacity's deprecated `initial`), min 0, max unbounded
/// (2^62 s), exp_base 2.0, jitter 1 s.
#[derive(Clone, Copy, Debug)]
#[must_use = "call `.build()` to get the wait strategy"]
pub struct ExponentialJitterBuilder {
    exp: ExponentialBuilder,
    jitter: Duration,
}

/// Exponential backoff plus additive jitter (tenacity `wait_exponential_jitter`, the strategy
/// Google Cloud recommends): `max(max(0, min), min(multiplier * exp_base^(n-1) +
/// uniform(0, jitter), max))` seconds after failure `n`.
pub const fn exponential_jitter() -> ExponentialJitterBuilder {
    ExponentialJitterBuilder {
        exp: exponential(),
        jitter: Duration::from_secs(1),
    }
}

impl ExponentialJitterBuilder {
    /// Seconds multiplied by `exp_base^(n-1)` (tenacity's `multiplier`, formerly `initial`).
    pub const fn multiplier(mut self, multiplier: f64) -> Self {
        self.exp = self.exp.multiplier(multiplier);
        self
    }

    /// The shortest wait.
    pub const fn min(mut self, min: Duration) -> Self {
        self.exp = self.exp.min(min);
        self
    }

    /// The longest wait.
    pub const fn max(mut self, max: Duration) -> Self {
        self.exp = self.exp.max(max);
        self
    }

    /// The base of the exponent.
    pub const fn exp_base(mut self, exp_base: f64) -> Self {
        self.exp = self.exp.exp_base(exp_base);
        self
    }

    /// The upper end of the uniform random amount added to each wait.
    pub const fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// As [`ExponentialBuilder::build`].
    pub fn build(self) -> Result<Wait, InvalidWait> {
        let b = self.exp;
        let exp = Exp::new(b.multiplier, b.min, b.max, b.exp_base)?;
        Ok(Wait(Kind::ExponentialJitter {
            exp,
            jitter: self.jitter.as_secs_f64(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(w: &Wait, n: u32) -> f64 {
        w.delay(n, 1).as_secs_f64()
    }

    #[test]
    fn reference_scenario_1_4_10() {
        let w = exponential()
            .min(Duration::from_secs(4))
            .max(Duration::from_secs(10))
            .build()
            .unwrap();
        let got: Vec<f64> = (1..=7).map(|n| secs(&w, n)).collect();
        assert_eq!(got, [4.0, 4.0, 4.0, 8.0, 10.0, 10.0, 10.0]);
    }

    #[test]
    fn huge_attempts_saturate_without_nan() {
        let unbounded = exponential().build().unwrap();
        let bases = [0.5, 1.0, 1.5, 2.0, 10.0];
        for n in [64, 1000, 1025, 10_000, u32::MAX - 1, u32::MAX] {
            assert_eq!(unbounded.delay(n, 0), Duration::from_secs(MAX_WAIT_SECS));
            for base in bases {
                for mult in [0.0, 1e-9, 1.0, 1e300] {
                    let w = exponential()
                        .exp_base(base)
                        .multiplier(mult)
                        .max(Duration::from_secs(30))
                        .build()
                        .unwrap();
                    assert!(w.delay(n, 0) <= Duration::from_secs(30));
                    let j = exponential_jitter()
                        .exp_base(base)
                        .multiplier(mult)
                        .max(Duration::from_secs(30))
                        .build()
                        .unwrap();
                    assert!(j.delay(n, 0) <= Duration::from_secs(30));
                    let r = random_exponential()
                        .exp_base(base)
                        .multiplier(mult)
                        .max(Duration::from_secs(30))
                        .build()
                        .unwrap();
                    assert!(r.delay(n, 0) <= Duration::from_secs(30));
                }
            }
        }
    }

    #[test]
    fn builders_reject_bad_config() {
        let d = Duration::from_secs;
        assert_eq!(
            exponential().min(d(5)).max(d(4)).build().unwrap_err(),
            InvalidWait::MinAboveMax {
                min: d(5),
                max: d(4)
            }
        );
        assert!(matches!(
            exponential().multiplier(-1.0).build(),
            Err(InvalidWait::Multiplier(_))
        ));
        assert!(matches!(
            exponential().multiplier(f64::NAN).build(),
            Err(InvalidWait::Multiplier(_))
        ));
        assert!(matches!(
            random_exponential().multiplier(f64::INFINITY).build(),
            Err(InvalidWait::Multiplier(_))
        ));
        assert!(matches!(
            exponential().exp_base(0.0).build(),
            Err(InvalidWait::ExpBase(_))
        ));
        assert!(matches!(
            exponential_jitter().exp_base(f64::NAN).build(),
            Err(InvalidWait::ExpBase(_))
        ));
        assert!(matches!(
            exponential_jitter().min(d(2)).max(d(1)).build(),
            Err(InvalidWait::MinAboveMax { .. })
        ));
    }

    #[test]
    fn random_exponential_is_full_jitter() {
        let w = random_exponential()
            .min(Duration::from_secs(1))
            .max(Duration::from_secs(20))
            .build()
            .unwrap();
        let mut below_half = 0;
        for seed in 0..500 {
            let d = w.delay(4, seed).as_secs_f64();
            assert!((1.0..8.0).contains(&d), "{d}");
            if d < 4.5 {
                below_half += 1;
            }
        }
        // Uniform over [1, 8): roughly half the draws land below the midpoint.
        assert!((150..350).contains(&below_half), "{below_half}");
    }

    #[test]
    fn exponential_jitter_adds_at_most_jitter() {
        let w = exponential_jitter()
            .jitter(Duration::from_millis(500))
            .max(Duration::from_secs(100))
            .build()
            .unwrap();
        for seed in 0..300 {
            let d = w.delay(3, seed).as_secs_f64();
            assert!((4.0..4.5).contains(&d), "{d}");
        }
        assert_eq!(w.delay(20, 3), Duration::from_secs(100));
    }
}
