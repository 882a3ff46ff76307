"""openai-python against the simulator (OpenAI and Azure OpenAI)."""

import json

import openai
import pydantic
import pytest

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"], "additionalProperties": False}}}]
MSG = [{"role": "user", "content": "hello there world"}]


def client(sim, **kw):
    return openai.OpenAI(base_url=sim.base("openai"), api_key="sk-test", max_retries=kw.pop("max_retries", 0), **kw)


def test_text(sim):
    r = client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert r.choices[0].message.content == "Echo: hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_stream_with_usage(sim):
    stream = client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True,
                                                 stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hello there world"
    assert len([c for c in chunks if c.choices]) > 3
    assert chunks[-1].usage.completion_tokens == 4


def test_stream_helper_accumulates_tool_calls(sim):
    c = client(sim)
    with c.chat.completions.stream(model="gpt-4o-mini", messages=MSG, tools=TOOLS, tool_choice="required") as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    args = json.loads(call.function.arguments)
    assert call.function.name == "get_weather" and isinstance(args["city"], str) and args["days"] >= 1


def test_tool_call(sim):
    r = client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG, tools=TOOLS, tool_choice="required")
    assert r.choices[0].finish_reason == "tool_calls"
    assert json.loads(r.choices[0].message.tool_calls[0].function.arguments)["days"] >= 1


class Book(pydantic.BaseModel):
    title: str
    author: str


def test_structured_output_parse(sim):
    r = client(sim).chat.completions.parse(model="gpt-4o-mini", messages=MSG, response_format=Book)
    assert isinstance(r.choices[0].message.parsed, Book)


def test_scripted_structured_output_and_refusal(sim):
    sim.scenario([
        {"requests": [1], "action": {"type": "structured", "json": {"title": "The Name of the Wind", "author": "PATRICK ROTHFUSS"}}},
        {"requests": [2], "action": {"type": "refusal", "text": "I can't help with that."}},
    ])
    c = client(sim)
    r = c.chat.completions.parse(model="gpt-4o-mini", messages=MSG, response_format=Book)
    assert r.choices[0].message.parsed.author == "PATRICK ROTHFUSS"
    r = c.chat.completions.parse(model="gpt-4o-mini", messages=MSG, response_format=Book)
    assert r.choices[0].message.refusal == "I can't help with that."
    assert r.choices[0].message.parsed is None


def test_rate_limit_raises_with_retry_after(sim):
    sim.scenario([{"action": {"type": "rate_limit", "retry_after": 1}}])
    with pytest.raises(openai.RateLimitError) as e:
        client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert e.value.status_code == 429
    assert e.value.code == "rate_limit_exceeded"
    assert e.value.response.headers["retry-after"] == "1"


def test_sdk_sleeps_for_our_retry_hints(sim, sleeps):
    sim.scenario([{"requests": [1], "action": {"type": "rate_limit", "retry_after": 2}},
                  {"requests": [2], "action": {"type": "overloaded", "retry_after_ms": 250}}])
    r = client(sim, max_retries=2).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert r.choices[0].message.content == "Echo: hello there world"
    assert sleeps == [2.0, 0.25]
    j = sim.journal()
    assert [e["status"] for e in j] == [429, 503, 200]
    assert j[2]["headers"] and dict(j[2]["headers"]).get("x-stainless-retry-count") == "2"


def test_should_retry_false_and_long_retry_after_stop_the_sdk(sim, sleeps):
    sim.scenario([{"requests": [1], "action": {"type": "rate_limit", "should_retry": False}},
                  {"requests": [2], "action": {"type": "rate_limit", "retry_after": 300}}])
    c = client(sim, max_retries=2)
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert sleeps == []
    assert len(sim.journal()) == 2


@pytest.mark.parametrize("kind,cls", [
    ("quota_exhausted", openai.RateLimitError), ("server_error", openai.InternalServerError),
    ("auth", openai.AuthenticationError), ("permission_denied", openai.PermissionDeniedError),
    ("not_found", openai.NotFoundError), ("context_window_exceeded", openai.BadRequestError),
    ("conflict", openai.ConflictError), ("timeout", openai.InternalServerError),
])
def test_error_classes(sim, kind, cls):
    sim.scenario([{"action": {"type": kind}}])
    with pytest.raises(cls) as e:
        client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert e.value.message


def test_gateway_html_is_an_api_status_error(sim):
    sim.scenario([{"action": {"type": "gateway", "status": 502}}])
    with pytest.raises(openai.InternalServerError) as e:
        client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert e.value.status_code == 502


def test_in_band_stream_error_raises_api_error(sim):
    sim.scenario([{"action": {"type": "model", "error_after": 2}}])
    stream = client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True)
    with pytest.raises(openai.APIError) as e:
        for _ in stream:
            pass
    assert "server had an error" in str(e.value)


def test_cut_stream_ends_without_finish_reason(sim):
    sim.scenario([{"action": {"type": "model", "cut_after": 3}}])
    chunks = list(client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True))
    assert len(chunks) == 3
    assert all(c.choices[0].finish_reason is None for c in chunks)


def test_reset_is_a_connection_error(sim):
    sim.scenario([{"action": {"type": "reset"}}])
    with pytest.raises(openai.APIConnectionError):
        client(sim).chat.completions.create(model="gpt-4o-mini", messages=MSG)


def test_azure_openai(sim):
    c = openai.AzureOpenAI(azure_endpoint=sim.base("azure"), api_key="azure-key", api_version="2024-10-21", max_retries=0)
    r = c.chat.completions.create(model="my-deployment", messages=MSG)
    assert r.choices[0].message.content == "Echo: hello there world"
    chunks = list(c.chat.completions.create(model="my-deployment", messages=MSG, stream=True))
    # Azure's first chunk has no choices, only prompt filter results.
    assert chunks[0].choices == [] and chunks[0].prompt_filter_results
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "Echo: hello there world"
    with c.chat.completions.stream(model="my-deployment", messages=MSG) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "Echo: hello there world"
    j = sim.journal()
    assert j[0]["path"] == "/azure/openai/deployments/my-deployment/chat/completions"
    assert dict(j[0]["headers"])["api-key"] == "***"
    sim.scenario([{"action": {"type": "rate_limit", "retry_after": 1}}])
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="my-deployment", messages=MSG)


@pytest.mark.parametrize("prefix,status", [("/groq/openai/v1", 401), ("/xai/v1", 400), ("/litellm/v1", 401)])
def test_openai_compatible_hosts(sim, prefix, status):
    c = openai.OpenAI(base_url=sim.url + prefix, api_key="k", max_retries=0)
    r = c.chat.completions.create(model="some-model", messages=MSG)
    assert r.choices[0].message.content == "Echo: hello there world"
    text = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
        model="some-model", messages=MSG, stream=True) if ch.choices)
    assert text == "Echo: hello there world"
    sim.scenario([{"action": {"type": "rate_limit", "retry_after": 1}}])
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="some-model", messages=MSG)
    sim.scenario([{"action": {"type": "auth"}}])
    with pytest.raises(openai.APIStatusError) as e:
        c.chat.completions.create(model="some-model", messages=MSG)
    assert e.value.status_code == status


# ----- novelty: unknown fields and choice-less chunks must not change what the SDK yields -----

NOVEL_CALLS = {"type": "tool_call", "text": "Checking.", "tool_calls": [
    {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}},
    {"name": "get_weather", "arguments": {"city": "Oslo", "days": 1}}]}
HOSTS = {
    "openai": lambda sim: openai.OpenAI(base_url=sim.base("openai"), api_key="k", max_retries=0),
    "azure": lambda sim: openai.AzureOpenAI(azure_endpoint=sim.base("azure"), api_key="k", api_version="2024-10-21",
                                            max_retries=0),
    "azure-inference": lambda sim: openai.OpenAI(base_url=sim.url + "/azure-inference/models", api_key="k", max_retries=0,
                                                 default_query={"api-version": "2024-05-01-preview"}),
    "groq": lambda sim: openai.OpenAI(base_url=sim.url + "/groq/openai/v1", api_key="k", max_retries=0),
    "xai": lambda sim: openai.OpenAI(base_url=sim.url + "/xai/v1", api_key="k", max_retries=0),
    "litellm": lambda sim: openai.OpenAI(base_url=sim.url + "/litellm/v1", api_key="k", max_retries=0),
}


def _completion(r):
    m = r.choices[0].message
    calls = [(c.function.name, c.function.arguments) for c in m.tool_calls or []]
    return m.content, calls, r.choices[0].finish_reason, r.usage.total_tokens


def _streamed(chunks):
    text, calls, finish = "", {}, None
    for ch in chunks:
        for choice in ch.choices:
            text += choice.delta.content or ""
            for tc in choice.delta.tool_calls or []:
                name, args = calls.get(tc.index, ("", ""))
                calls[tc.index] = (name + (tc.function.name or ""), args + (tc.function.arguments or ""))
            finish = choice.finish_reason or finish
    usage = [ch.usage.total_tokens for ch in chunks if ch.usage]
    return text, [calls[i] for i in sorted(calls)], finish, usage


@pytest.mark.parametrize("host", sorted(HOSTS))
@pytest.mark.parametrize("action", [{"type": "model"}, NOVEL_CALLS], ids=["text", "tool_calls"])
def test_novelty_is_tolerated(sim, host, action):
    c = HOSTS[host](sim)
    model = "my-deployment" if host == "azure" else "gpt-4o-mini"
    create = lambda **kw: c.chat.completions.create(model=model, messages=MSG, tools=TOOLS, **kw)  # noqa: E731
    plain, novel = sim.plain_and_novel(action, create)
    assert _completion(novel) == _completion(plain)
    assert novel.x_novelty and novel.choices[0].message.x_novelty and novel.usage.x_novelty
    assert "x_novelty" not in plain.to_dict()

    stream = lambda: list(create(stream=True, stream_options={"include_usage": True}))  # noqa: E731
    plain, novel = sim.plain_and_novel(action, stream)
    assert _streamed(novel) == _streamed(plain)
    assert len([ch for ch in novel if not ch.choices and not ch.usage]) >= 2

    def helper():
        with c.chat.completions.stream(model=model, messages=MSG, tools=TOOLS) as s:
            for _ in s:
                pass
            return s.get_final_completion()

    plain, novel = sim.plain_and_novel(action, helper)
    p, n = plain.choices[0].message, novel.choices[0].message
    assert (n.content, [(t.function.name, t.function.arguments) for t in n.tool_calls or []]) == \
        (p.content, [(t.function.name, t.function.arguments) for t in p.tool_calls or []])
    assert novel.choices[0].finish_reason == plain.choices[0].finish_reason
