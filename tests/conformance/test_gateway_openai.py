"""openai-python against `steadfast gateway --sim`: every upstream family behind the OpenAI
Chat Completions API, retries and fallbacks the client cannot see, and the SDK's typed errors."""

import json

import openai
import pydantic
import pytest

from gateway_support import KEYS, gateway_process, gw  # noqa: F401 (fixtures)

KEY = KEYS[0]
MSG = [{"role": "user", "content": "hello there world"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"], "additionalProperties": False}}}]
# Every upstream family, reached through the OpenAI protocol.
UPSTREAMS = ["openai:gpt-4o-mini", "anthropic:claude-3-5-sonnet-latest", "gemini:gemini-2.0-flash",
             "bedrock:amazon.nova-lite-v1:0", "cohere:command-r-plus", "mistral:mistral-small-latest"]


def client(gw, **kw):
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=kw.pop("api_key", KEY),
                         max_retries=kw.pop("max_retries", 0), **kw)


@pytest.mark.parametrize("model", UPSTREAMS)
def test_text_from_every_upstream(gw, model):
    raw = client(gw).chat.completions.with_raw_response.create(model=model, messages=MSG)
    r = raw.parse()
    assert r.choices[0].message.content == "Echo: hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.model == model
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert raw.headers["x-steadfast-attempts"] == "1"
    assert raw.headers["x-steadfast-target"] == model
    assert r._request_id and r._request_id == raw.headers["x-request-id"]
    provider = model.split(":")[0]
    assert [e["provider"] for e in gw.sim.journal()] == [provider]


@pytest.mark.parametrize("model", UPSTREAMS)
def test_stream_with_usage_from_every_upstream(gw, model):
    stream = client(gw).chat.completions.create(model=model, messages=MSG, stream=True,
                                                stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hello there world"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4


@pytest.mark.parametrize("model", UPSTREAMS)
def test_tool_call_from_every_upstream(gw, model):
    r = client(gw).chat.completions.create(model=model, messages=MSG, tools=TOOLS, tool_choice="required")
    assert r.choices[0].finish_reason == "tool_calls"
    call = r.choices[0].message.tool_calls[0]
    args = json.loads(call.function.arguments)
    assert call.function.name == "get_weather" and isinstance(args["city"], str) and args["days"] >= 1


@pytest.mark.parametrize("model", ["openai:gpt-4o-mini", "anthropic:claude-3-5-sonnet-latest", "gemini:gemini-2.0-flash"])
def test_stream_helper_accumulates_tool_calls(gw, model):
    with client(gw).chat.completions.stream(model=model, messages=MSG, tools=TOOLS, tool_choice="required") as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)["days"] >= 1


def test_a_tool_result_round_trip(gw):
    c = client(gw)
    first = c.chat.completions.create(model="anthropic:claude-3-5-sonnet-latest", messages=MSG, tools=TOOLS,
                                      tool_choice="required")
    call = first.choices[0].message.tool_calls[0]
    messages = MSG + [first.choices[0].message.model_dump(exclude_none=True),
                      {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    messages[1].pop("annotations", None)
    second = c.chat.completions.create(model="anthropic:claude-3-5-sonnet-latest", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "Tool result: sunny"


class Book(pydantic.BaseModel):
    title: str
    author: str


@pytest.mark.parametrize("model", ["openai:gpt-4o-mini", "anthropic:claude-3-5-sonnet-latest", "gemini:gemini-2.0-flash"])
def test_structured_output_parse(gw, model):
    r = client(gw).chat.completions.parse(model=model, messages=MSG, response_format=Book)
    assert isinstance(r.choices[0].message.parsed, Book)


def test_json_object_output(gw):
    r = client(gw).chat.completions.create(model="openai:gpt-4o-mini", messages=MSG,
                                           response_format={"type": "json_object"})
    assert isinstance(json.loads(r.choices[0].message.content), dict)


def test_invalid_structured_output_is_retried_invisibly(gw):
    gw.sim.scenario([{"requests": [1], "action": {"type": "structured", "json": {"title": "No author"}}},
                     {"requests": [2], "action": {"type": "structured", "json": {"title": "T", "author": "A"}}}])
    raw = client(gw).chat.completions.with_raw_response.parse(model="openai:gpt-4o-mini", messages=MSG,
                                                              response_format=Book)
    assert raw.parse().choices[0].message.parsed == Book(title="T", author="A")
    assert raw.headers["x-steadfast-attempts"] == "2"


def test_streamed_structured_output_with_the_stream_helper(gw):
    # The first answer fails the schema: it is retried upstream, and the stream that starts once
    # the answer is valid never carries it.
    gw.sim.scenario([{"requests": [1], "action": {"type": "structured", "json": {"title": "Invalid draft"}}},
                     {"requests": [2], "action": {"type": "structured", "json": {"title": "T", "author": "A"}}}])
    with client(gw).chat.completions.stream(model="openai:gpt-4o-mini", messages=MSG, response_format=Book,
                                            stream_options={"include_usage": True}) as s:
        chunks = [e.chunk for e in s if e.type == "chunk"]
        final = s.get_final_completion()
    assert final.choices[0].message.parsed == Book(title="T", author="A")
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None and final.usage.completion_tokens > 0
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Invalid draft" not in streamed
    assert len(gw.sim.journal()) == 2


@pytest.mark.parametrize("model", ["openai:gpt-4o-mini", "anthropic:claude-3-5-sonnet-latest", "gemini:gemini-2.0-flash"])
def test_streamed_json_schema_from_every_family(gw, model):
    fmt = {"type": "json_schema", "json_schema": {"name": "book", "strict": True, "schema": Book.model_json_schema()
                                                  | {"additionalProperties": False}}}
    with client(gw).chat.completions.with_streaming_response.create(
            model=model, messages=MSG, response_format=fmt, stream=True) as resp:
        assert resp.headers["content-type"] == "text/event-stream"
        chunks = list(resp.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert Book.model_validate_json(text)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


def test_streamed_structured_output_that_never_validates_raises_before_the_stream(gw):
    gw.sim.scenario([{"action": {"type": "structured", "json": {"title": "Invalid draft"}}}])
    with pytest.raises(openai.InternalServerError) as e:
        with client(gw).chat.completions.stream(model="openai:gpt-4o-mini", messages=MSG,
                                                response_format=Book) as s:
            for _ in s:
                pass
    assert e.value.status_code == 502
    assert "Invalid draft" not in str(e.value.body)


def test_retry_the_client_cannot_see(gw):
    gw.sim.scenario([{"requests": [1], "action": {"type": "rate_limit", "retry_after_ms": 20}},
                     {"requests": [2], "action": {"type": "overloaded", "retry_after_ms": 20}}])
    raw = client(gw).chat.completions.with_raw_response.create(model="openai:gpt-4o-mini", messages=MSG)
    assert raw.parse().choices[0].message.content == "Echo: hello there world"
    assert raw.headers["x-steadfast-attempts"] == "3"
    assert [e["status"] for e in gw.sim.journal()] == [429, 503, 200]


def test_stream_retried_before_its_commit_point(gw):
    gw.sim.scenario([{"requests": [1], "action": {"type": "server_error", "retry_after_ms": 20}},
                     {"requests": [2], "action": {"type": "model", "reset_after": 1}}])
    with client(gw).chat.completions.with_streaming_response.create(
            model="openai:gpt-4o-mini", messages=MSG, stream=True) as resp:
        assert resp.headers["x-steadfast-attempts"] == "3"
        text = "".join(c.choices[0].delta.content or "" for c in resp.parse() if c.choices)
    assert text == "Echo: hello there world"


def test_fallback_the_client_cannot_see(gw):
    gw.sim.scenario([{"provider": "openai", "action": {"type": "server_error", "retry_after_ms": 10}}])
    model = "openai:gpt-4o-mini,anthropic:claude-3-5-haiku-latest"
    raw = client(gw).chat.completions.with_raw_response.create(model=model, messages=MSG)
    assert raw.parse().choices[0].message.content == "Echo: hello there world"
    assert raw.headers["x-steadfast-target"] == "anthropic:claude-3-5-haiku-latest"
    assert raw.headers["x-steadfast-attempts"] == "5"
    assert [e["provider"] for e in gw.sim.journal()] == ["openai"] * 4 + ["anthropic"]


def test_streamed_fallback_the_client_cannot_see(gw):
    gw.sim.scenario([{"provider": "openai", "action": {"type": "overloaded", "retry_after_ms": 10}}])
    stream = client(gw).chat.completions.create(model="openai:gpt-4o-mini,gemini:gemini-2.0-flash",
                                                messages=MSG, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: hello there world"


def test_mid_stream_failure_is_an_error_event(gw):
    gw.sim.scenario([{"action": {"type": "model", "error_after": 3, "stream_error": "server_error"}}])
    stream = client(gw).chat.completions.create(model="openai:gpt-4o-mini", messages=MSG, stream=True)
    received = []
    with pytest.raises(openai.APIError) as e:
        for c in stream:
            if c.choices:
                received.append(c.choices[0].delta.content or "")
    assert "".join(received) == "Echo: hello"
    assert e.value.message
    assert len(gw.sim.journal()) == 1, "a POST is never replayed after the commit point"


def test_mid_stream_cut_from_another_family_is_an_error_event(gw):
    gw.sim.scenario([{"action": {"type": "model", "cut_after": 4}}])
    stream = client(gw).chat.completions.create(model="anthropic:claude-3-5-sonnet-latest", messages=MSG, stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_rate_limit_raises_with_retry_after(gw):
    gw.sim.scenario([{"action": {"type": "rate_limit", "retry_after": 7, "should_retry": False}}])
    with pytest.raises(openai.RateLimitError) as e:
        client(gw).chat.completions.create(model="openai:gpt-4o-mini", messages=MSG)
    assert e.value.status_code == 429
    assert e.value.code == "rate_limit_exceeded"
    assert e.value.response.headers["retry-after"] == "7"
    assert e.value.response.headers["x-steadfast-attempts"] == "1"


def test_rate_limit_from_another_family_raises_rate_limit_error(gw):
    gw.sim.scenario([{"action": {"type": "rate_limit", "retry_after": 3, "should_retry": False}}])
    with pytest.raises(openai.RateLimitError) as e:
        client(gw).chat.completions.create(model="anthropic:claude-3-5-sonnet-latest", messages=MSG)
    assert e.value.response.headers["retry-after"] == "3"


def test_server_errors_after_every_retry_raise_internal_server_error(gw):
    gw.sim.scenario([{"action": {"type": "server_error", "retry_after_ms": 5}}])
    with pytest.raises(openai.InternalServerError) as e:
        client(gw).chat.completions.create(model="gemini:gemini-2.0-flash", messages=MSG)
    assert e.value.status_code == 500
    assert e.value.response.headers["x-steadfast-attempts"] == "4"
    assert "4 attempts" in e.value.message


@pytest.mark.parametrize("kind,cls", [
    ("auth", openai.AuthenticationError), ("permission_denied", openai.PermissionDeniedError),
    ("not_found", openai.NotFoundError), ("bad_request", openai.BadRequestError),
    ("context_window_exceeded", openai.BadRequestError), ("quota_exhausted", openai.RateLimitError),
])
def test_upstream_errors_raise_typed_errors(gw, kind, cls):
    gw.sim.scenario([{"action": {"type": kind}}])
    with pytest.raises(cls) as e:
        client(gw).chat.completions.create(model="openai:gpt-4o-mini", messages=MSG)
    assert e.value.message and e.value.body["message"]


def test_missing_key_is_401(gw):
    # No bearer token: the SDK's key replaced by another scheme.
    c = client(gw, default_headers={"Authorization": "Basic Zm9vOmJhcg=="})
    with pytest.raises(openai.AuthenticationError) as e:
        c.chat.completions.create(model="openai:gpt-4o-mini", messages=MSG)
    assert "API key" in e.value.message
    assert gw.sim.journal() == []


def test_unknown_parameter_is_400(gw):
    with pytest.raises(openai.BadRequestError) as e:
        client(gw).chat.completions.create(model="openai:gpt-4o-mini", messages=MSG, extra_body={"frobnicate": 1})
    assert "frobnicate" in e.value.message


def test_unsupported_parameter_is_400_naming_it(gw):
    with pytest.raises(openai.BadRequestError) as e:
        client(gw).chat.completions.create(model="openai:gpt-4o-mini", messages=MSG, n=2)
    assert e.value.param == "n"
    with pytest.raises(openai.BadRequestError) as e:
        client(gw).chat.completions.create(model="openai:gpt-4o-mini", messages=MSG, logprobs=True)
    assert "logprobs" in e.value.message
    assert gw.sim.journal() == []


def test_unknown_model_is_404(gw):
    with pytest.raises(openai.NotFoundError) as e:
        client(gw).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert e.value.code == "model_not_found"


def test_models_list(gw):
    ids = [m.id for m in client(gw).models.list()]
    assert "openai:gpt-4o-mini" in ids and "anthropic:claude-3-5-sonnet-latest" in ids


def test_keys_never_reach_the_logs(gw):
    client(gw).chat.completions.create(model="openai:gpt-4o-mini", messages=MSG)
    log = gw.log()
    assert "steadfast_gateway::access" in log, "the access log is on"
    for key in KEYS:
        assert key not in log
    assert "hello there world" not in log, "no prompt content in the logs"
