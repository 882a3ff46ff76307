//! Turning `--attempts`, `--wait`, `--retry-on` and `--fallback-on` into policies.

use std::str::FromStr;
use std::time::Duration;

use steadfast::resilient;
use steadfast::retry::wait::Wait;
use steadfast::retry::{Predicate, Retry, stop, wait};
use steadfast::{Error, ErrorKind};

/// A parsed `--wait`.
#[derive(Debug, Clone)]
pub(crate) struct WaitSpec(pub(crate) Wait);

fn secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(v)
        .map_err(|_| format!("`{s}` is not a non-negative number of seconds below 2^64"))
}

fn number(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{s}` is not a non-negative number"));
    }
    Ok(v)
}

/// Parses `none`, `fixed:S`, `exponential:MULT:MIN:MAX`, `random-exponential:MULT:MIN:MAX`.
pub(crate) fn parse_wait(s: &str) -> Result<WaitSpec, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let w = match parts.as_slice() {
        ["none"] => wait::none(),
        ["fixed", d] => wait::fixed(secs(d)?),
        [
            kind @ ("exponential" | "random-exponential"),
            mult,
            min,
            max,
        ] => {
            let b = if *kind == "exponential" {
                wait::exponential()
            } else {
                wait::random_exponential()
            };
            b.multiplier(number(mult)?)
                .min(secs(min)?)
                .max(secs(max)?)
                .build()
                .map_err(|e| e.to_string())?
        }
        _ => {
            return Err(format!(
                "`{s}`: expected none, fixed:S, exponential:MULT:MIN:MAX or random-exponential:MULT:MIN:MAX"
            ));
        }
    };
    Ok(WaitSpec(w))
}

/// A parsed list of error kinds (`None` = any).
#[derive(Debug, Clone)]
pub(crate) struct Kinds(pub(crate) Option<Vec<ErrorKind>>);

impl Kinds {
    pub(crate) fn predicate(&self) -> Predicate<Error> {
        match &self.0 {
            None => Predicate::always(),
            Some(k) => resilient::kinds(k.iter().copied()),
        }
    }
}

/// Parses `any` or a comma-separated list of kebab-case kinds.
pub(crate) fn parse_kinds(s: &str) -> Result<Kinds, String> {
    if s.trim() == "any" {
        return Ok(Kinds(None));
    }
    let kinds = s
        .split(',')
        .filter(|k| !k.trim().is_empty())
        .map(|k| ErrorKind::from_str(k).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if kinds.is_empty() {
        return Err("expected `any` or at least one error kind".into());
    }
    Ok(Kinds(Some(kinds)))
}

/// Parses the demo's time scale.
pub(crate) fn parse_scale(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v > 10.0 {
        return Err("the time scale must be between 0 and 10".into());
    }
    Ok(v)
}

/// The retry policy of `steadfast ask`.
pub(crate) fn retry_policy(
    attempts: u32,
    wait: Option<&WaitSpec>,
    retry_on: Option<&Kinds>,
    reinsert: bool,
) -> Retry<Error> {
    let mut policy = steadfast::resilient::default_policy().stop(stop::after_attempt(attempts));
    if let Some(w) = wait {
        policy = policy.wait(w.0.clone());
    }
    let mut retry_if = retry_on.map_or_else(resilient::retryable, Kinds::predicate);
    if reinsert {
        retry_if = retry_if.or(resilient::validation());
        policy = policy.collect_errors(resilient::validation());
    }
    policy.retry_if(retry_if)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_specs() {
        let d = |w: &WaitSpec, n| w.0.delay(n, 1);
        assert_eq!(d(&parse_wait("none").unwrap(), 1), Duration::ZERO);
        assert_eq!(
            d(&parse_wait("fixed:1.5").unwrap(), 3),
            Duration::from_millis(1500)
        );
        let e = parse_wait("exponential:1:4:10").unwrap();
        let waits: Vec<u64> = (1..=6).map(|n| d(&e, n).as_secs()).collect();
        assert_eq!(waits, [4, 4, 4, 8, 10, 10]);
        let r = parse_wait("random-exponential:1:0:10").unwrap();
        assert!(d(&r, 3) <= Duration::from_secs(4));
        for bad in [
            "",
            "fixed",
            "fixed:-1",
            "exponential:1:4",
            "exponential:1:10:4",
            "sometimes:1",
            "fixed:x",
            "fixed:1e300",
            "fixed:inf",
            "fixed:NaN",
            "exponential:1:0:1e30",
        ] {
            assert!(parse_wait(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kind_lists() {
        assert!(parse_kinds("any").unwrap().0.is_none());
        let k = parse_kinds("rate-limited,overloaded").unwrap().0.unwrap();
        assert_eq!(k, [ErrorKind::RateLimited, ErrorKind::Overloaded]);
        assert!(
            parse_kinds("rate-limited,nope")
                .unwrap_err()
                .contains("nope")
        );
        assert!(parse_kinds("").is_err());
    }
}
