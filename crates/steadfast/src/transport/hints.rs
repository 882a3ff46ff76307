//! Server hints in response headers: `retry-after`, `retry-after-ms`, `x-should-retry`.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The wait the server asked for: `retry-after-ms` (float milliseconds) first, then `retry-after`
/// as float seconds or an HTTP date (the order the official SDKs use). Negative, NaN or
/// unparseable values are ignored; a date in the past means zero.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

pub(crate) fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) =
        header_str(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
    {
        if ms.is_finite() && ms >= 0.0 {
            return Some(hinted_secs(ms / 1000.0));
        }
    }
    let v = header_str(headers, "retry-after")?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| hinted_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A server's finite, non-negative wait in seconds as a `Duration`, capped at 10^9 s (~31
/// years): `Duration::from_secs_f64` panics past `u64::MAX` seconds, and a header may say
/// anything (`retry-after-ms: 1e300`). The policy's own cap on hinted waits then applies.
fn hinted_secs(secs: f64) -> Duration {
    Duration::from_secs_f64(secs.min(1e9))
}

/// `x-should-retry: true|false`.
pub(crate) fn should_retry(headers: &HeaderMap) -> Option<bool> {
    match header_str(headers, "x-should-retry")?.trim() {
        v if v.eq_ignore_ascii_case("true") => Some(true),
        v if v.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The first of `names` present, as a string.
pub(crate) fn first_of(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| header_str(headers, n))
        .map(str::to_string)
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250"), ("retry-after", "9")])),
            Some(Duration::from_millis(250)),
            "retry-after-ms wins"
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[])), None);
    }

    #[test]
    fn a_huge_hint_is_capped_not_a_panic() {
        let cap = Some(Duration::from_secs(1_000_000_000));
        assert_eq!(retry_after(&headers(&[("retry-after-ms", "1e300")])), cap);
        assert_eq!(retry_after(&headers(&[("retry-after", "1e300")])), cap);
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "18446744073709551616000")])),
            cap
        );
        assert_eq!(retry_after(&headers(&[("retry-after-ms", "inf")])), None);
    }

    #[test]
    fn retry_after_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]);
        assert_eq!(retry_after_at(&h, now), Some(Duration::from_secs(30)));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")]);
        assert_eq!(retry_after_at(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn should_retry_values() {
        assert_eq!(
            should_retry(&headers(&[("x-should-retry", "true")])),
            Some(true)
        );
        assert_eq!(
            should_retry(&headers(&[("x-should-retry", "FALSE")])),
            Some(false)
        );
        assert_eq!(should_retry(&headers(&[("x-should-retry", "maybe")])), None);
    }
}
