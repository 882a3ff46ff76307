//! Bedrock credentials: where they come from, which one wins, and SigV4 signing.
//!
//! Precedence (the conformance cases of `fixtures/bedrock/cases.json`):
//!
//! 1. a bearer token configured in code ([`Call::api_key`](crate::Call::api_key)) — configuring
//!    SigV4 credentials in code as well is a `Config` error (conflicting explicit modes);
//! 2. SigV4 credentials configured in code ([`AwsConfig::credentials`]);
//! 3. the bearer token of `AWS_BEARER_TOKEN_BEDROCK` (empty means absent);
//! 4. the default chain: the SigV4 credentials of `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
//!    and `AWS_SESSION_TOKEN`, else the static keys of the profile `AWS_PROFILE` (or `default`)
//!    in the shared files (see [`profile`](super::profile); SSO, assumed roles, credential
//!    processes and instance roles are not run).
//!
//! A profile named in code ([`BedrockCallExt::aws_profile`]) counts as SigV4 credentials
//! configured in code (source `profile`).

use std::fmt;
use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;

use super::profile::{self, Profile};
use crate::call::Call;
use crate::client::{ApiKey, ClientConfig};
use crate::error::{Error, ErrorKind};

/// AWS access keys for SigV4 signing. The secret key and the session token never appear in
/// `Debug` (only the first four characters of the access key id do), and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    access_key_id: String,
    secret_access_key: ApiKey,
    session_token: Option<ApiKey>,
}

impl AwsCredentials {
    /// Long-term credentials: an access key id and its secret access key.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<ApiKey>) -> Self {
        AwsCredentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// Adds the session token of temporary credentials (sent as `X-Amz-Security-Token`).
    #[must_use]
    pub fn with_session_token(mut self, token: impl Into<ApiKey>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// The access key id.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret parts (secret access key, session token), for redaction.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &ApiKey> {
        std::iter::once(&self.secret_access_key).chain(self.session_token.as_ref())
    }
}

impl crate::client::ProviderSettings for AwsConfig {
    /// The region places a Bedrock call that has no base URL.
    fn placement(&self) -> Option<&str> {
        self.region.as_deref()
    }

    fn for_each_secret(&self, f: &mut dyn FnMut(&str)) {
        for k in self.secrets() {
            f(k.expose());
        }
    }
}

impl AwsConfig {
    /// Every secret this configuration holds, for redaction.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &ApiKey> {
        let profiles = [self.profile.as_ref(), self.env_profile.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|p| p.credentials.as_ref().ok());
        self.credentials
            .iter()
            .chain(self.env_credentials.iter())
            .chain(profiles)
            .flat_map(AwsCredentials::secrets)
            .chain(self.env_bearer.iter())
    }
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.access_key_id.chars().take(4).collect();
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &format_args!("{shown}…"))
            .field("secret_access_key", &format_args!("***"))
            .field(
                "session_token",
                &format_args!(
                    "{}",
                    if self.session_token.is_some() {
                        "***"
                    } else {
                        "None"
                    }
                ),
            )
            .finish()
    }
}

/// AWS settings of the Bedrock provider, carried in
/// [`ClientConfig::aws`](crate::ClientConfig): the region and SigV4 credentials.
///
/// Filled from the environment when a call is created; [`BedrockCallExt`] sets them in code.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AwsConfig {
    /// The region (`AWS_REGION`, then `AWS_DEFAULT_REGION`): the default endpoint's host and the
    /// SigV4 credential scope.
    pub region: Option<String>,
    /// SigV4 credentials configured in code. They win over the environment's bearer token;
    /// configuring them together with [`Call::api_key`](crate::Call::api_key) is a `Config` error.
    pub credentials: Option<AwsCredentials>,
    /// The credentials of `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
    pub(crate) env_credentials: Option<AwsCredentials>,
    /// The token of `AWS_BEARER_TOKEN_BEDROCK` as read, to tell it apart from a key set in code.
    pub(crate) env_bearer: Option<ApiKey>,
    /// A profile named in code ([`BedrockCallExt::aws_profile`]).
    pub(crate) profile: Option<Profile>,
    /// The default chain's profile (`AWS_PROFILE`, else `default`), when it was needed and found.
    pub(crate) env_profile: Option<Profile>,
}

impl AwsConfig {
    /// Empty settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the region.
    #[must_use]
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets SigV4 credentials (as configured in code).
    #[must_use]
    pub fn with_credentials(mut self, credentials: AwsCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }
}

/// Bedrock settings on a [`Call`]: region and SigV4 credentials.
///
/// ```
/// use steadfast::llm;
/// use steadfast::providers::bedrock::{AwsCredentials, BedrockCallExt};
///
/// let call = llm::call("bedrock:amazon.nova-lite-v1:0")?
///     .aws_region("eu-west-1")
///     .aws_credentials(AwsCredentials::new("AKIDEXAMPLE", "secret"));
/// let aws = call.client().provider_settings::<steadfast::providers::bedrock::AwsConfig>();
/// assert_eq!(aws.and_then(|a| a.region.as_deref()), Some("eu-west-1"));
/// # Ok::<(), steadfast::Error>(())
/// ```
pub trait BedrockCallExt: Sized {
    /// Sets the AWS region (and, unless a base URL was configured, the endpoint
    /// `https://bedrock-runtime.{region}.amazonaws.com`).
    #[must_use]
    fn aws_region(self, region: impl Into<String>) -> Self;

    /// Signs requests with these SigV4 credentials (they win over `AWS_BEARER_TOKEN_BEDROCK`).
    #[must_use]
    fn aws_credentials(self, credentials: AwsCredentials) -> Self;

    /// Signs requests with the static keys of this profile of the AWS shared files
    /// (`~/.aws/credentials` and `~/.aws/config`, or `AWS_SHARED_CREDENTIALS_FILE` and
    /// `AWS_CONFIG_FILE`), read now; its `region` applies unless one is set. Like
    /// [`aws_credentials`](BedrockCallExt::aws_credentials) it wins over
    /// `AWS_BEARER_TOKEN_BEDROCK`. A profile that does not exist, or that gets its credentials
    /// through SSO, an assumed role or a credential process, makes sending a `Config` error
    /// saying so.
    #[must_use]
    fn aws_profile(self, name: &str) -> Self;
}

impl BedrockCallExt for Call {
    fn aws_region(self, region: impl Into<String>) -> Self {
        let mut client = self.client().clone();
        let region = region.into();
        client.update_provider_settings(|aws: &mut AwsConfig| aws.region = Some(region));
        self.with_client(client)
    }

    fn aws_credentials(self, credentials: AwsCredentials) -> Self {
        let mut client = self.client().clone();
        client.update_provider_settings(|aws: &mut AwsConfig| aws.credentials = Some(credentials));
        self.with_client(client)
    }

    fn aws_profile(self, name: &str) -> Self {
        let mut client = self.client().clone();
        with_profile(
            &mut client,
            name,
            &crate::transport::env,
            &profile::read_file,
        );
        self.with_client(client)
    }
}

/// Reads profile `name` (files found through `get`, read with `read`) into `client`.
pub(crate) fn with_profile(
    client: &mut ClientConfig,
    name: &str,
    get: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&std::path::Path) -> Option<String>,
) {
    let found = profile::load(name, get, read).unwrap_or_else(|| Profile {
        name: name.to_string(),
        region: None,
        credentials: Err(format!(
            "no AWS profile `{name}` in the shared credentials or config file"
        )),
    });
    client.update_provider_settings(|aws: &mut AwsConfig| {
        if aws.region.is_none() {
            aws.region = found.region.clone();
        }
        aws.profile = Some(found);
    });
}

/// The default endpoint of a region.
pub(crate) fn default_base(region: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://bedrock-runtime.{region}.{domain}")
}

/// Client settings from environment variables read through `get` (empty values are absent), and
/// the AWS shared files they point to.
pub(crate) fn config_from(get: &dyn Fn(&str) -> Option<String>) -> ClientConfig {
    config_from_files(get, &profile::read_file)
}

/// As [`config_from`], reading files with `read`.
pub(crate) fn config_from_files(
    get: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&std::path::Path) -> Option<String>,
) -> ClientConfig {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let mut region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"));
    // The endpoint follows the region unless set: it is derived when a request is built, so a
    // region set later in code moves it too.
    let base_url = get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
        .or_else(|| get("BEDROCK_BASE_URL"))
        .or_else(|| get("AWS_ENDPOINT_URL"));
    let env_bearer = get("AWS_BEARER_TOKEN_BEDROCK").map(ApiKey::new);
    let env_credentials = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            let c = AwsCredentials::new(id, secret);
            Some(match get("AWS_SESSION_TOKEN") {
                Some(t) => c.with_session_token(t),
                None => c,
            })
        }
        _ => None,
    };
    // The shared files are read only for what the environment did not give: a region, or
    // credentials.
    let env_profile = if region.is_none() || (env_bearer.is_none() && env_credentials.is_none()) {
        let name = get("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
        profile::load(&name, &get, read)
    } else {
        None
    };
    if region.is_none() {
        region = env_profile.as_ref().and_then(|p| p.region.clone());
    }
    // A profile kept only for its region does not take part in choosing credentials.
    let env_profile = env_profile.filter(|_| env_bearer.is_none() && env_credentials.is_none());
    ClientConfig {
        base_url,
        api_key: env_bearer.clone(),
        ..ClientConfig::default()
    }
    .with_provider_settings(AwsConfig {
        region,
        credentials: None,
        env_credentials,
        env_bearer,
        profile: None,
        env_profile,
    })
}

/// Where the chosen credentials come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthSource {
    /// A bearer token configured in code.
    Explicit,
    /// SigV4 credentials configured in code.
    Static,
    /// `AWS_BEARER_TOKEN_BEDROCK`.
    Environment,
    /// `AWS_ACCESS_KEY_ID` and friends, else the profile of `AWS_PROFILE` (or `default`).
    Default,
    /// A profile named in code.
    Profile,
}

/// The credentials a request is sent with.
#[derive(Debug)]
pub(crate) enum Auth<'a> {
    Bearer(&'a ApiKey, AuthSource),
    SigV4(&'a AwsCredentials, AuthSource),
}

/// Picks the credentials by the precedence in the [module docs](self).
pub(crate) fn select(client: &ClientConfig) -> Result<Auth<'_>, Error> {
    let aws = client.provider_settings::<AwsConfig>();
    let env_bearer = aws.and_then(|a| a.env_bearer.as_ref());
    let explicit_profile = aws.and_then(|a| a.profile.as_ref());
    let explicit_sigv4 = match (aws.and_then(|a| a.credentials.as_ref()), explicit_profile) {
        (Some(_), Some(p)) => {
            return Err(Error::config(format!(
                "bedrock: both SigV4 credentials and the AWS profile `{}` are configured in \
                 code; configure only one",
                p.name
            ))
            .with_code(Some("bedrock_conflicting_auth".into()))
            .with_provider("bedrock"));
        }
        (Some(c), None) => Some(Ok((c, AuthSource::Static))),
        (None, Some(p)) => Some(
            p.credentials
                .as_ref()
                .map(|c| (c, AuthSource::Profile))
                .map_err(|why| Error::config(why.clone()).with_provider("bedrock")),
        ),
        (None, None) => None,
    };
    let bearer = client.api_key.as_ref().filter(|k| !k.expose().is_empty());
    let explicit_bearer = bearer.filter(|k| Some(*k) != env_bearer);
    match (explicit_bearer, explicit_sigv4) {
        (Some(_), Some(_)) => Err(Error::config(
            "bedrock: both a bearer token (api_key) and SigV4 credentials are configured in \
             code; configure only one",
        )
        .with_code(Some("bedrock_conflicting_auth".into()))
        .with_provider("bedrock")),
        (Some(k), None) => Ok(Auth::Bearer(k, AuthSource::Explicit)),
        (None, Some(chosen)) => chosen.map(|(c, source)| Auth::SigV4(c, source)),
        (None, None) => {
            if let Some(k) = bearer {
                Ok(Auth::Bearer(k, AuthSource::Environment))
            } else if let Some(c) = aws.and_then(|a| a.env_credentials.as_ref()) {
                Ok(Auth::SigV4(c, AuthSource::Default))
            } else if let Some(p) = aws.and_then(|a| a.env_profile.as_ref()) {
                match &p.credentials {
                    Ok(c) => Ok(Auth::SigV4(c, AuthSource::Default)),
                    Err(why) => Err(Error::config(why.clone()).with_provider("bedrock")),
                }
            } else {
                Err(Error::config(
                    "no credentials for bedrock: set AWS_BEARER_TOKEN_BEDROCK, or \
                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for \
                     temporary credentials), or AWS_PROFILE for a profile with static keys in \
                     ~/.aws/credentials, or configure them with Call::api_key, \
                     BedrockCallExt::aws_credentials or BedrockCallExt::aws_profile",
                )
                .with_provider("bedrock"))
            }
        }
    }
}

/// The region to sign for: the configured one, else the one in a standard endpoint's host.
pub(crate) fn signing_region<'a>(
    client: &'a ClientConfig,
    base: &'a str,
) -> Result<&'a str, Error> {
    if let Some(r) = client
        .provider_settings::<AwsConfig>()
        .and_then(|a| a.region.as_deref())
    {
        return Ok(r);
    }
    region_of_host(base).ok_or_else(|| {
        Error::config(
            "no AWS region for bedrock SigV4 signing: set AWS_REGION (or AWS_DEFAULT_REGION) \
             or configure one with BedrockCallExt::aws_region",
        )
        .with_provider("bedrock")
    })
}

/// `us-east-1` from `https://bedrock-runtime.us-east-1.amazonaws.com` (or `-fips`).
fn region_of_host(base: &str) -> Option<&str> {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let host = rest.split(['/', ':']).next()?;
    let tail = host
        .strip_prefix("bedrock-runtime.")
        .or_else(|| host.strip_prefix("bedrock-runtime-fips."))?;
    let (region, domain) = tail.split_once('.')?;
    (domain.starts_with("amazonaws.com") && valid_region(region)).then_some(region)
}

/// Whether `region` looks like an AWS region name (it ends up in a host name).
pub(crate) fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What to sign for and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signing<'a> {
    /// The signing name (`bedrock` for Bedrock Runtime).
    pub(crate) service: &'a str,
    pub(crate) region: &'a str,
    pub(crate) time: SystemTime,
    /// Also send and sign `x-amz-content-sha256` (S3 style; Bedrock does not need it).
    pub(crate) content_sha256: bool,
}

/// A header the signature adds to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignedHeader {
    pub(crate) name: &'static str,
    pub(crate) value: String,
    /// Credentials (`authorization`, `x-amz-security-token`): hidden from `Debug`.
    pub(crate) sensitive: bool,
}

fn signing_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> Error {
    Error::new(ErrorKind::Config, "could not SigV4-sign the request")
        .with_source(e)
        .with_provider("bedrock")
}

/// Signs a request with SigV4 (`aws-sigv4`; the path is double-encoded, as every AWS service but
/// S3 expects) and returns the headers to add: `x-amz-date`, `authorization`, and
/// `x-amz-security-token` / `x-amz-content-sha256` when they apply.
///
/// `url` is the URL as sent (already percent-encoded once); `headers` are the headers to sign
/// besides `host`, which comes from the URL.
pub(crate) fn sign_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    credentials: &AwsCredentials,
    signing: &Signing<'_>,
) -> Result<Vec<SignedHeader>, Error> {
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose().to_string(),
        credentials
            .session_token
            .as_ref()
            .map(|t| t.expose().to_string()),
        None,
        "steadfast",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = if signing.content_sha256 {
        PayloadChecksumKind::XAmzSha256
    } else {
        PayloadChecksumKind::NoHeader
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(signing.region)
        .name(signing.service)
        .time(signing.time)
        .settings(settings)
        .build()
        .map_err(signing_error)?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(signing_error)?;
    // aws-sigv4 traces the canonical request, which holds the session token: it signs with no
    // subscriber, so credentials never reach a log even at trace level.
    let signed =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            sign(request, &params)
        });
    let (instructions, _signature) = signed.map_err(signing_error)?.into_parts();
    let (added, _query) = instructions.into_parts();
    Ok(added
        .into_iter()
        .map(|h| SignedHeader {
            name: h.name(),
            value: h.value().to_string(),
            sensitive: h.sensitive() || h.name() == "authorization",
        })
        .collect())
}
