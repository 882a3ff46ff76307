//! OpenAI Chat Completions and the variants on the same wire format: Groq, xAI, LiteLLM proxy,
//! Azure OpenAI, Azure AI Inference and Mistral (protocols.md §1, §2, §5).

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use serde_json::{Map, Value, json};

use super::novelty;
use super::{
    Events, Req, Route, content_text, hint_headers, id_alnum, id_hex, json_response, sse_data,
};
use crate::action::{ErrorSpec, FaultKind};
use crate::model::{
    Answer, ChatRequest, Finish, OutputFormat, ToolChoice, ToolDef, split_fragments,
};
use crate::provider::Dialect;

/// Top-level request fields Mistral accepts; anything else is a 422 `extra_forbidden`.
const MISTRAL_FIELDS: [&str; 23] = [
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "stream",
    "stop",
    "random_seed",
    "metadata",
    "messages",
    "response_format",
    "tools",
    "tool_choice",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "prediction",
    "parallel_tool_calls",
    "reasoning_effort",
    "prompt_mode",
    "guardrails",
    "prompt_cache_key",
    "service_tier",
    "safe_prompt",
];

/// Message fields Mistral accepts.
const MISTRAL_MESSAGE_FIELDS: [&str; 6] = [
    "role",
    "content",
    "tool_calls",
    "prefix",
    "tool_call_id",
    "name",
];

/// An error's parts before the provider shapes them.
struct Detail {
    status: u16,
    kind: &'static str,
    code: Option<String>,
    param: Option<&'static str>,
    message: String,
}

fn detail(provider: Dialect, model: &str, kind: FaultKind) -> Detail {
    let d = |status, kind, code: Option<&str>, message: String| Detail {
        status,
        kind,
        code: code.map(str::to_owned),
        param: None,
        message,
    };
    match kind {
        FaultKind::RateLimit if provider == Dialect::Groq => d(
            429,
            "tokens",
            Some("rate_limit_exceeded"),
            format!("Rate limit reached for model `{model}` in organization `org_sim` service tier `on_demand` on tokens per minute (TPM): Limit 6000, Used 6000, Requested 120. Please try again in 1s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing"),
        ),
        FaultKind::RateLimit if provider == Dialect::AzureOpenAi => d(
            429,
            "requests",
            Some("429"),
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.".into(),
        ),
        FaultKind::RateLimit => d(
            429,
            "requests",
            Some("rate_limit_exceeded"),
            format!("Rate limit reached for {model} in organization org-sim on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more."),
        ),
        FaultKind::QuotaExhausted => d(
            429,
            "insufficient_quota",
            Some("insufficient_quota"),
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.".into(),
        ),
        FaultKind::Overloaded => d(503, "server_error", None, "The engine is currently overloaded, please try again later.".into()),
        FaultKind::ServerError => d(500, "server_error", None, "The server had an error while processing your request. Sorry about that!".into()),
        FaultKind::Timeout => d(504, "server_error", Some("timeout"), "Request timed out.".into()),
        FaultKind::Auth => d(
            if provider == Dialect::Xai { 400 } else { 401 },
            "invalid_request_error",
            Some("invalid_api_key"),
            match provider {
                Dialect::Xai => "Incorrect API key provided: xa***im. You can obtain an API key from https://console.x.ai.".into(),
                Dialect::Groq => "Invalid API Key".into(),
                Dialect::AzureOpenAi => "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.".into(),
                _ => "Incorrect API key provided: sk-sim***key. You can find your API key at https://platform.openai.com/account/api-keys.".into(),
            },
        ),
        FaultKind::PermissionDenied => d(403, "invalid_request_error", Some("unsupported_country_region_territory"), "Country, region, or territory not supported".into()),
        FaultKind::NotFound => d(
            404,
            "invalid_request_error",
            Some(if provider == Dialect::AzureOpenAi { "DeploymentNotFound" } else { "model_not_found" }),
            format!("The model `{model}` does not exist or you do not have access to it."),
        ),
        FaultKind::ContextWindowExceeded => Detail {
            param: Some("messages"),
            ..d(
                400,
                "invalid_request_error",
                Some("context_length_exceeded"),
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 130172 tokens. Please reduce the length of the messages.".into(),
            )
        },
        FaultKind::ContentFilter if matches!(provider, Dialect::AzureOpenAi | Dialect::AzureInference) => Detail {
            param: Some("prompt"),
            ..d(400, "invalid_request_error", Some("content_filter"), "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766".into())
        },
        FaultKind::ContentFilter => d(400, "invalid_request_error", Some("content_policy_violation"), "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.".into()),
        FaultKind::BadRequest => d(400, "invalid_request_error", Some("invalid_value"), "Invalid value for 'messages'.".into()),
        FaultKind::Conflict => d(409, "invalid_request_error", Some("conflict"), "The request conflicts with another request in progress. Please try again.".into()),
    }
}

/// The body of an error in the provider's own shape.
fn error_body(provider: Dialect, d: &Detail, seq: u64) -> Value {
    match provider {
        Dialect::Groq => json!({"error": {"message": d.message, "type": d.kind, "code": d.code}}),
        Dialect::Xai => json!({"code": xai_code(d.status), "error": d.message}),
        Dialect::LiteLlm => {
            let class = match d.status {
                429 => "RateLimitError",
                401 => "AuthenticationError",
                404 => "NotFoundError",
                503 => "ServiceUnavailableError",
                504 => "Timeout",
                s if s >= 500 => "InternalServerError",
                _ => "BadRequestError",
            };
            let kind = match d.status {
                429 => "throttling_error",
                401 => "auth_error",
                s if s >= 500 => "None",
                _ => "invalid_request_error",
            };
            json!({"error": {"message": format!("litellm.{class}: {}", d.message), "type": kind, "param": d.param, "code": d.status.to_string()}})
        }
        Dialect::AzureOpenAi => {
            let code = d.code.clone().unwrap_or_else(|| d.status.to_string());
            let mut e = json!({"code": code, "message": d.message});
            if code == "content_filter" {
                e = json!({"message": d.message, "type": null, "param": "prompt", "code": code, "status": 400,
                    "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": filter_results(true)}});
            }
            json!({ "error": e })
        }
        Dialect::AzureInference => {
            json!({"error": {"code": azure_inference_code(d.status), "message": d.message, "details": []}})
        }
        Dialect::Mistral => match d.status {
            401 => json!({"message": "Unauthorized", "request_id": id_hex(seq, 32)}),
            // Mistral's 429s share one type and code; the message tells a rate limit from an
            // exhausted quota.
            429 => {
                let message = if d.kind == "insufficient_quota" {
                    "You have exceeded your monthly quota".to_string()
                } else if d.message.starts_with("Rate limit reached for") {
                    "Rate limit exceeded".to_string()
                } else {
                    d.message.clone()
                };
                json!({"object": "error", "message": message, "type": "rate_limited", "param": null, "code": "1300"})
            }
            _ => {
                json!({"object": "error", "message": d.message, "type": if d.status >= 500 { "internal_server_error" } else { "invalid_request_error" }, "param": d.param, "code": d.code})
            }
        },
        _ => {
            json!({"error": {"message": d.message, "type": d.kind, "param": d.param, "code": d.code}})
        }
    }
}

fn xai_code(status: u16) -> &'static str {
    match status {
        400 => "Client specified an invalid argument",
        401 | 403 => "The caller does not have permission to execute the specified operation",
        404 => "Some requested entity was not found",
        429 => "Some resource has been exhausted",
        503 => "The service is currently unavailable",
        504 => "The deadline expired before the operation could complete",
        _ => "Internal error",
    }
}

fn azure_inference_code(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        408 | 504 => "Timeout",
        429 => "Throttled",
        503 => "ServiceUnavailable",
        _ => "InternalServerError",
    }
}

fn common_headers(req: &Req<'_>, status: u16) -> Vec<(String, String)> {
    let id = id_hex(req.seq, 24);
    let mut h = Vec::with_capacity(8);
    match req.provider {
        Dialect::AzureOpenAi => {
            h.push(("apim-request-id".into(), id));
            h.push((
                "x-ratelimit-remaining-requests".into(),
                if status == 429 { "0" } else { "99" }.into(),
            ));
            h.push((
                "x-ratelimit-remaining-tokens".into(),
                if status == 429 { "0" } else { "99000" }.into(),
            ));
        }
        Dialect::AzureInference => {
            h.push(("apim-request-id".into(), id));
            if status >= 400 {
                h.push((
                    "x-ms-error-code".into(),
                    azure_inference_code(status).into(),
                ));
            }
        }
        Dialect::Mistral => {
            h.push(("x-ratelimit-limit-req-minute".into(), "60".into()));
            h.push((
                "x-ratelimit-remaining-req-minute".into(),
                if status == 429 { "0" } else { "59" }.into(),
            ));
        }
        Dialect::LiteLlm => {
            h.push(("x-litellm-call-id".into(), id));
            h.push(("x-litellm-response-duration-ms".into(), "1.0".into()));
        }
        _ => {
            h.push(("x-request-id".into(), format!("req_{id}")));
            h.push(("x-ratelimit-limit-requests".into(), "10000".into()));
            h.push((
                "x-ratelimit-remaining-requests".into(),
                if status == 429 { "0" } else { "9999" }.into(),
            ));
            h.push(("x-ratelimit-reset-requests".into(), "6ms".into()));
        }
    }
    if req.provider == Dialect::OpenAi {
        h.push(("openai-version".into(), "2020-10-01".into()));
        h.push(("openai-processing-ms".into(), "1".into()));
    }
    h
}

/// The provider-native HTTP error for `spec`.
pub(crate) fn error_response(req: &Req<'_>, model: &str, spec: &ErrorSpec) -> Response<Body> {
    let mut d = detail(req.provider, model, spec.kind);
    if let Some(s) = spec.status {
        d.status = s;
    }
    if let Some(m) = &spec.message {
        d.message = m.clone();
    }
    if let Some(t) = spec.error_type {
        d.kind = t;
    }
    send_error(req, &d, spec)
}

fn send_error(req: &Req<'_>, d: &Detail, spec: &ErrorSpec) -> Response<Body> {
    let mut headers = common_headers(req, d.status);
    hint_headers(spec, &mut headers);
    json_response(d.status, headers, &error_body(req.provider, d, req.seq))
}

fn invalid(
    req: &Req<'_>,
    message: impl Into<String>,
    param: Option<&'static str>,
    code: Option<&str>,
) -> Response<Body> {
    let d = Detail {
        status: 400,
        kind: "invalid_request_error",
        code: code.map(str::to_owned),
        param,
        message: message.into(),
    };
    send_error(req, &d, &ErrorSpec::new(FaultKind::BadRequest))
}

/// Mistral's FastAPI-style 422.
fn mistral_422(req: &Req<'_>, detail: Vec<Value>) -> Response<Body> {
    let body = json!({"object": "error", "message": {"detail": detail}, "type": "invalid_request_error", "param": null, "code": null});
    json_response(422, common_headers(req, 422), &body)
}

/// Checks the key in the provider's header form.
pub(crate) fn check_auth(req: &Req<'_>, require: Option<&str>) -> Result<(), Response<Body>> {
    let azure = matches!(req.provider, Dialect::AzureOpenAi | Dialect::AzureInference);
    let key = if azure {
        req.header("api-key").or_else(|| req.bearer())
    } else {
        req.bearer()
    };
    let key = key.filter(|k| !k.is_empty());
    let ok = match (key, require) {
        (None, _) => false,
        (Some(k), Some(r)) => k == r,
        (Some(_), None) => true,
    };
    if ok {
        return Ok(());
    }
    let mut d = detail(req.provider, "", FaultKind::Auth);
    if key.is_none() {
        d.code = None;
        d.message = match req.provider {
            Dialect::AzureOpenAi | Dialect::AzureInference => d.message,
            Dialect::Groq => "Invalid API Key".into(),
            _ => "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.".into(),
        };
    }
    Err(send_error(req, &d, &ErrorSpec::new(FaultKind::Auth)))
}

/// Parses an OpenAI-style chat request.
pub(crate) fn parse(req: &Req<'_>) -> Result<ChatRequest, Response<Body>> {
    let Ok(v) = serde_json::from_slice::<Value>(req.body) else {
        return Err(invalid(
            req,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
            None,
            None,
        ));
    };
    let Some(obj) = v.as_object() else {
        return Err(invalid(
            req,
            "Invalid type for request body: expected an object.",
            None,
            Some("invalid_type"),
        ));
    };
    if matches!(req.provider, Dialect::AzureOpenAi | Dialect::AzureInference)
        && req.query_param("api-version").is_none_or(str::is_empty)
        && !matches!(req.route, Route::Chat { deployment: None } if req.provider == Dialect::AzureOpenAi)
    {
        let body = if req.provider == Dialect::AzureOpenAi {
            json!({"error": {"code": "404", "message": "Resource not found"}})
        } else {
            json!({"error": {"code": "BadRequest", "message": "Missing required query parameter: api-version", "details": []}})
        };
        let status = if req.provider == Dialect::AzureOpenAi {
            404
        } else {
            400
        };
        return Err(json_response(status, common_headers(req, status), &body));
    }
    if req.provider == Dialect::Mistral {
        mistral_strict(req, obj)?;
    }
    let deployment = match req.route {
        Route::Chat { deployment } => deployment.clone(),
        _ => None,
    };
    let model = match (deployment, obj.get("model").and_then(Value::as_str)) {
        (Some(d), _) => d,
        (None, Some(m)) if !m.is_empty() => m.to_owned(),
        (None, _) if matches!(req.provider, Dialect::AzureInference | Dialect::AzureOpenAi) => {
            "default".to_owned()
        }
        (None, _) => {
            return Err(invalid(
                req,
                "you must provide a model parameter",
                None,
                None,
            ));
        }
    };
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => {
            return Err(invalid(
                req,
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                Some("messages"),
                Some("empty_array"),
            ));
        }
        _ => {
            return Err(invalid(
                req,
                "Missing required parameter: 'messages'.",
                Some("messages"),
                Some("missing_required_parameter"),
            ));
        }
    };
    let mut chat = ChatRequest::new(model);
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let text = content_text(m.get("content"));
        chat.count(&text);
        match role {
            "user" => {
                chat.last_user = text;
                chat.tool_result = None;
            }
            "tool" | "function" => chat.tool_result = Some(text),
            _ => {}
        }
    }
    chat.stream = obj.get("stream").and_then(Value::as_bool).unwrap_or(false);
    chat.include_usage = v
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    chat.max_tokens = obj
        .get("max_completion_tokens")
        .and_then(Value::as_u64)
        .or_else(|| obj.get("max_tokens").and_then(Value::as_u64));
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        chat.tools = tools
            .iter()
            .filter_map(|t| {
                let f = t.get("function")?;
                Some(ToolDef {
                    name: f.get("name")?.as_str()?.to_owned(),
                    schema: f
                        .get("parameters")
                        .cloned()
                        .unwrap_or_else(|| json!({"type": "object"})),
                })
            })
            .collect();
    }
    chat.tool_choice = match obj.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => ToolChoice::None,
        Some(Value::String(s)) if s == "required" || s == "any" => ToolChoice::Required,
        Some(Value::Object(o)) => match o
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
        {
            Some(name) => ToolChoice::Named(name.to_owned()),
            None => ToolChoice::Auto,
        },
        _ => ToolChoice::Auto,
    };
    chat.output = match obj.get("response_format") {
        Some(rf) => match rf.get("type").and_then(Value::as_str) {
            Some("json_schema") => rf
                .pointer("/json_schema/schema")
                .cloned()
                .map(OutputFormat::Schema),
            Some("json_object") => Some(OutputFormat::JsonObject),
            _ => None,
        },
        None => None,
    };
    Ok(chat)
}

fn mistral_strict(req: &Req<'_>, obj: &Map<String, Value>) -> Result<(), Response<Body>> {
    let mut detail = Vec::new();
    for (k, v) in obj {
        if !MISTRAL_FIELDS.contains(&k.as_str()) {
            detail.push(json!({"type": "extra_forbidden", "loc": ["body", k], "msg": "Extra inputs are not permitted", "input": v}));
        }
    }
    if let Some(messages) = obj.get("messages").and_then(Value::as_array) {
        for (i, m) in messages.iter().enumerate() {
            let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
            for (k, v) in m.as_object().into_iter().flatten() {
                if !MISTRAL_MESSAGE_FIELDS.contains(&k.as_str()) {
                    detail.push(json!({"type": "extra_forbidden", "loc": ["body", "messages", i, role, k], "msg": "Extra inputs are not permitted", "input": v}));
                }
            }
        }
    }
    for field in ["model", "messages"] {
        if !obj.contains_key(field) {
            detail.push(json!({"type": "missing", "loc": ["body", field], "msg": "Field required", "input": obj}));
        }
    }
    if detail.is_empty() {
        Ok(())
    } else {
        Err(mistral_422(req, detail))
    }
}

fn finish_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop | Finish::Refusal => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

fn usage(req: &Req<'_>, a: &Answer) -> Value {
    let mut u = json!({"prompt_tokens": a.prompt_tokens, "completion_tokens": a.completion_tokens, "total_tokens": a.total_tokens()});
    if matches!(
        req.provider,
        Dialect::OpenAi | Dialect::AzureOpenAi | Dialect::LiteLlm | Dialect::Xai
    ) {
        u["prompt_tokens_details"] = json!({"cached_tokens": 0, "audio_tokens": 0});
        u["completion_tokens_details"] = json!({"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0});
    }
    u
}

fn call_id(req: &Req<'_>, i: &str) -> String {
    match req.provider {
        Dialect::Mistral => id_alnum(req.seq, i.parse().unwrap_or(0), 9),
        _ => format!(
            "call_{}{}",
            id_alnum(req.seq, i.parse().unwrap_or(0), 20),
            i
        ),
    }
}

fn completion_id(req: &Req<'_>) -> String {
    match req.provider {
        Dialect::Mistral => id_hex(req.seq, 32),
        _ => format!("chatcmpl-{}", id_alnum(req.seq, 99, 29)),
    }
}

fn filter_results(filtered: bool) -> Value {
    let sev = |s: &str| json!({"filtered": filtered, "severity": s});
    json!({"hate": sev("safe"), "self_harm": sev("safe"), "sexual": sev("safe"), "violence": sev(if filtered { "high" } else { "safe" })})
}

/// The non-streaming response.
pub(crate) fn render(
    req: &Req<'_>,
    chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Response<Body> {
    let calls: Vec<Value> = a
        .tool_calls
        .iter()
        .map(|c| json!({"id": call_id(req, &c.id_suffix), "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
        .collect();
    let mut body = if req.provider == Dialect::Mistral {
        let message = json!({"role": "assistant", "content": a.text.clone().or(a.refusal.clone()).unwrap_or_default(),
            "tool_calls": if calls.is_empty() { Value::Null } else { Value::Array(calls) }, "prefix": false});
        json!({"id": completion_id(req), "object": "chat.completion", "model": chat.model, "created": req.created,
            "usage": usage(req, a), "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(a.finish)}]})
    } else {
        let mut message = json!({"role": "assistant", "content": a.text, "refusal": a.refusal, "annotations": []});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls);
        }
        let mut choice = json!({"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(a.finish)});
        let mut body = json!({"id": completion_id(req), "object": "chat.completion", "created": req.created, "model": chat.model,
            "choices": [], "usage": usage(req, a), "service_tier": "default", "system_fingerprint": "fp_sim0001"});
        match req.provider {
            Dialect::AzureOpenAi => {
                choice["content_filter_results"] = filter_results(false);
                body["prompt_filter_results"] =
                    json!([{"prompt_index": 0, "content_filter_results": filter_results(false)}]);
            }
            Dialect::Groq => body["x_groq"] = json!({"id": format!("req_{}", id_hex(req.seq, 26))}),
            _ => {}
        }
        body["choices"] = json!([choice]);
        body
    };
    if novelty {
        novelty::mark(&mut body, &novelty::OPENAI);
    }
    json_response(200, common_headers(req, 200), &body)
}

/// The streaming events.
pub(crate) fn stream_events(
    req: &Req<'_>,
    chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Events {
    let id = completion_id(req);
    let mistral = req.provider == Dialect::Mistral;
    let azure = req.provider == Dialect::AzureOpenAi;
    let base = |choices: Value| {
        let mut c = json!({"id": id, "object": "chat.completion.chunk", "created": req.created, "model": chat.model});
        if !mistral {
            c["system_fingerprint"] = json!("fp_sim0001");
        }
        c["choices"] = choices;
        if chat.include_usage && !mistral {
            c["usage"] = Value::Null;
        }
        c
    };
    let choice = |delta: Value, finish: Option<&str>| {
        let mut c = json!({"index": 0, "delta": delta, "finish_reason": finish});
        if !mistral {
            c["logprobs"] = Value::Null;
        }
        if azure {
            c["content_filter_results"] = if finish.is_none() {
                filter_results(false)
            } else {
                json!({})
            };
        }
        json!([c])
    };
    let mut events = Vec::new();
    if azure {
        events.push(json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": filter_results(false)}]}));
    }
    let mut first = base(choice(
        if mistral {
            json!({"role": "assistant", "content": ""})
        } else {
            json!({"role": "assistant", "content": "", "refusal": null})
        },
        None,
    ));
    if req.provider == Dialect::Groq {
        first["x_groq"] = json!({"id": format!("req_{}", id_hex(req.seq, 26))});
    }
    events.push(first);
    for piece in a.text_chunks() {
        events.push(base(choice(json!({"content": piece}), None)));
    }
    if let Some(refusal) = &a.refusal {
        for piece in crate::model::split_words(refusal) {
            events.push(base(choice(json!({"refusal": piece}), None)));
        }
    }
    for (i, c) in a.tool_calls.iter().enumerate() {
        let cid = call_id(req, &c.id_suffix);
        if mistral {
            let call = json!({"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.arguments}, "index": i});
            events.push(base(choice(json!({"tool_calls": [call]}), None)));
            continue;
        }
        let head = json!({"index": i, "id": cid, "type": "function", "function": {"name": c.name, "arguments": ""}});
        events.push(base(choice(json!({"tool_calls": [head]}), None)));
        for frag in split_fragments(&c.arguments, 12) {
            let part = json!({"index": i, "function": {"arguments": frag}});
            events.push(base(choice(json!({"tool_calls": [part]}), None)));
        }
    }
    let mut last = base(choice(
        if mistral {
            json!({"content": ""})
        } else {
            json!({})
        },
        Some(finish_reason(a.finish)),
    ));
    if mistral {
        last["usage"] = usage(req, a);
    }
    if req.provider == Dialect::Groq {
        last["x_groq"] =
            json!({"id": format!("req_{}", id_hex(req.seq, 26)), "usage": usage(req, a)});
    }
    events.push(last);
    if chat.include_usage && !mistral {
        let mut u = base(json!([]));
        u["usage"] = usage(req, a);
        events.push(u);
    }
    if novelty {
        // Unknown events: chunks without choices carrying an unknown field (like Azure's
        // `prompt_filter_results` chunk), after the first chunk and before the last.
        let mut novel = base(json!([]));
        novel[novelty::FIELD] = novelty::value();
        novelty::between(&mut events, novel.clone(), novel);
        for e in &mut events {
            novelty::mark(e, &novelty::OPENAI);
        }
    }
    Events {
        events: events.iter().map(sse_data).collect(),
        end: vec![Bytes::from_static(b"data: [DONE]\n\n")],
    }
}

/// The in-band error: a data event whose JSON is the provider's error body, then `[DONE]`.
pub(crate) fn stream_error(req: &Req<'_>, spec: &ErrorSpec) -> Vec<Bytes> {
    let mut d = detail(req.provider, "", spec.kind);
    if let Some(m) = &spec.message {
        d.message = m.clone();
    }
    let body = match req.provider {
        Dialect::Mistral
        | Dialect::Xai
        | Dialect::AzureInference
        | Dialect::Groq
        | Dialect::LiteLlm => error_body(req.provider, &d, req.seq),
        _ => {
            json!({"error": {"message": d.message, "type": d.kind, "param": d.param, "code": d.code}})
        }
    };
    vec![sse_data(&body), Bytes::from_static(b"data: [DONE]\n\n")]
}
