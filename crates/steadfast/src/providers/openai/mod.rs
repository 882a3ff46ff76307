//! OpenAI Chat Completions and the OpenAI-compatible family.
//!
//! | name | base URL (default) | key | differences |
//! |---|---|---|---|
//! | `openai` | `OPENAI_BASE_URL` (`https://api.openai.com/v1`) | `OPENAI_API_KEY` | `max_completion_tokens`, usage chunk via `stream_options` |
//! | `groq` | `GROQ_BASE_URL` (`https://api.groq.com/openai/v1`) | `GROQ_API_KEY` | `max_tokens`; usage in `x_groq` |
//! | `xai` | `XAI_BASE_URL` (`https://api.x.ai/v1`) | `XAI_API_KEY` | bad key is a 400 with a flat error body |
//! | `litellm` | `LITELLM_BASE_URL` / `LITELLM_PROXY_API_BASE` (`http://localhost:4000/v1`) | `LITELLM_API_KEY` / `LITELLM_PROXY_API_KEY` (optional) | error `code` is the HTTP status as a string |
//! | `azure` | `AZURE_OPENAI_ENDPOINT` (`https://{resource}.openai.azure.com`) | `AZURE_OPENAI_API_KEY` (`api-key` header) or `AZURE_OPENAI_AD_TOKEN` (bearer) | model = deployment, URL `/openai/deployments/{model}/chat/completions?api-version=` (`OPENAI_API_VERSION`, default `2024-10-21`); empty first stream chunk |
//! | `ollama` | `OLLAMA_BASE_URL` (`http://localhost:11434/v1`) | none | local server |
//! | `vllm` | `VLLM_BASE_URL` (`http://localhost:8000/v1`) | `VLLM_API_KEY` (optional) | local server |
//!
//! Structured output uses `response_format: json_schema` by default ([`OutputMode::Tool`](crate::OutputMode)
//! forces a tool instead).

mod convert;
pub(crate) mod error;
pub(crate) mod stream;
pub(crate) mod wire;

use http::HeaderMap;

use crate::client::ClientConfig;
use crate::error::Error;
use crate::provider::{Capabilities, ChatRequest};
use crate::providers::common::{EnvSpec, has_client_header};
use crate::response::Response;
use crate::transport::{BodyDecoder, HttpRequest, ResponseMeta, SseBody, Wire, env, join_url};

#[cfg(feature = "azure-inference")]
pub(crate) use convert::parse_response;
pub(crate) use convert::{BodyOptions, request_body};

/// Which member of the OpenAI family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    OpenAi,
    Groq,
    Xai,
    LiteLlm,
    Azure,
    Ollama,
    Vllm,
}

/// The Azure OpenAI API version used when `OPENAI_API_VERSION` is not set.
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

impl Flavor {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Flavor::OpenAi => "openai",
            Flavor::Groq => "groq",
            Flavor::Xai => "xai",
            Flavor::LiteLlm => "litellm",
            Flavor::Azure => "azure",
            Flavor::Ollama => "ollama",
            Flavor::Vllm => "vllm",
        }
    }

    const fn key_vars(self) -> &'static [&'static str] {
        match self {
            Flavor::OpenAi => &["OPENAI_API_KEY"],
            Flavor::Groq => &["GROQ_API_KEY"],
            Flavor::Xai => &["XAI_API_KEY"],
            Flavor::LiteLlm => &["LITELLM_API_KEY", "LITELLM_PROXY_API_KEY"],
            Flavor::Azure => &["AZURE_OPENAI_API_KEY"],
            Flavor::Ollama => &[],
            Flavor::Vllm => &["VLLM_API_KEY"],
        }
    }

    const fn base_vars(self) -> &'static [&'static str] {
        match self {
            Flavor::OpenAi => &["OPENAI_BASE_URL"],
            Flavor::Groq => &["GROQ_BASE_URL"],
            Flavor::Xai => &["XAI_BASE_URL"],
            Flavor::LiteLlm => &["LITELLM_BASE_URL", "LITELLM_PROXY_API_BASE"],
            Flavor::Azure => &["AZURE_OPENAI_ENDPOINT"],
            Flavor::Ollama => &["OLLAMA_BASE_URL"],
            Flavor::Vllm => &["VLLM_BASE_URL"],
        }
    }

    const fn default_base(self) -> Option<&'static str> {
        match self {
            Flavor::OpenAi => Some("https://api.openai.com/v1"),
            Flavor::Groq => Some("https://api.groq.com/openai/v1"),
            Flavor::Xai => Some("https://api.x.ai/v1"),
            Flavor::LiteLlm => Some("http://localhost:4000/v1"),
            Flavor::Azure => None,
            Flavor::Ollama => Some("http://localhost:11434/v1"),
            Flavor::Vllm => Some("http://localhost:8000/v1"),
        }
    }

    /// Where this member's configuration comes from.
    const fn env_spec(self) -> EnvSpec {
        EnvSpec {
            provider: self.name(),
            base_vars: self.base_vars(),
            default_base: self.default_base(),
            key_vars: self.key_vars(),
        }
    }

    const fn key_required(self) -> bool {
        !matches!(self, Flavor::LiteLlm | Flavor::Ollama | Flavor::Vllm)
    }

    /// This member's request-body options.
    pub(crate) const fn body_options(self) -> BodyOptions {
        BodyOptions {
            max_completion_tokens: matches!(self, Flavor::OpenAi | Flavor::Azure),
            stream_options: self.sends_stream_options(),
        }
    }

    const fn sends_stream_options(self) -> bool {
        matches!(
            self,
            Flavor::OpenAi
                | Flavor::Azure
                | Flavor::Xai
                | Flavor::LiteLlm
                | Flavor::Vllm
                | Flavor::Ollama
        )
    }
}

/// The OpenAI wire protocol, in one of its flavors.
#[derive(Debug)]
pub(crate) struct OpenAiWire {
    flavor: Flavor,
}

impl OpenAiWire {
    pub(crate) fn new(flavor: Flavor) -> Self {
        OpenAiWire { flavor }
    }
}

impl Wire for OpenAiWire {
    fn name(&self) -> &str {
        self.flavor.name()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn client_from_env(&self) -> ClientConfig {
        let f = self.flavor;
        let mut c = ClientConfig {
            base_url: f.env_spec().base_url(),
            api_key: f.env_spec().api_key(),
            ..ClientConfig::default()
        };
        if f == Flavor::Azure {
            c.api_version =
                Some(env("OPENAI_API_VERSION").unwrap_or_else(|| AZURE_DEFAULT_API_VERSION.into()));
            if c.api_key.is_none() {
                if let Some(token) = env("AZURE_OPENAI_AD_TOKEN") {
                    c.set_header("authorization", &format!("Bearer {token}"), true);
                }
            }
        }
        if f == Flavor::OpenAi {
            if let Some(org) = env("OPENAI_ORG_ID") {
                c.set_header("openai-organization", &org, false);
            }
            if let Some(project) = env("OPENAI_PROJECT_ID") {
                c.set_header("openai-project", &project, false);
            }
        }
        c
    }

    fn build(&self, req: &ChatRequest, stream: bool) -> Result<HttpRequest, Error> {
        let f = self.flavor;
        let spec = f.env_spec();
        let base = spec.require_base(req)?;
        let body = request_body(f.body_options(), req, stream)?;
        let url = if f == Flavor::Azure {
            let version = req
                .client
                .api_version
                .as_deref()
                .unwrap_or(AZURE_DEFAULT_API_VERSION);
            join_url(
                base,
                &format!(
                    "/openai/deployments/{}/chat/completions?api-version={}",
                    encode_segment(&req.model),
                    encode_segment(version)
                ),
            )
        } else {
            join_url(base, "/chat/completions")
        };
        let mut http = HttpRequest::json(url, &body)?;
        let has_auth_header = has_client_header(req, "authorization");
        match (&req.client.api_key, f) {
            (Some(k), Flavor::Azure) => http.header("api-key", k.expose(), true)?,
            (Some(k), _) => http.bearer(k)?,
            (None, _) if f.key_required() && !has_auth_header => {
                spec.require_key(req)?;
            }
            (None, _) => {}
        }
        if stream {
            http.header("accept", "text/event-stream", false)?;
        }
        Ok(http)
    }

    fn parse(
        &self,
        req: &ChatRequest,
        _meta: &ResponseMeta,
        body: &[u8],
    ) -> Result<Response, Error> {
        convert::parse_response(self.flavor.name(), req, body)
    }

    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        error::classify(status, headers, body)
    }

    fn stream_decoder(&self, _req: &ChatRequest) -> Box<dyn BodyDecoder> {
        Box::new(SseBody::new(Box::new(stream::OpenAiSse::default())))
    }

    fn request_id_headers(&self) -> &'static [&'static str] {
        match self.flavor {
            Flavor::Azure => &["apim-request-id", "x-request-id"],
            Flavor::LiteLlm => &["x-litellm-call-id", "x-request-id"],
            _ => &["x-request-id"],
        }
    }
}

/// Percent-encodes one URL path segment or query value.
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Registers this module's providers under their names (called once by the registry).
pub(crate) fn register(map: &mut crate::providers::Registry) {
    for f in [
        Flavor::OpenAi,
        Flavor::Groq,
        Flavor::Xai,
        Flavor::LiteLlm,
        Flavor::Azure,
        Flavor::Ollama,
        Flavor::Vllm,
    ] {
        crate::providers::register_wire(map, OpenAiWire::new(f));
    }
}
