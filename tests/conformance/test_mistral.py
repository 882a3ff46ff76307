"""mistralai against the simulator."""

import json

import pytest
from mistralai.client import Mistral, errors

MODEL = "mistral-large-latest"
MSG = [{"role": "user", "content": "hello there world"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def client(sim):
    return Mistral(api_key="mistral-test", server_url=sim.base("mistral"))


def test_text(sim):
    r = client(sim).chat.complete(model=MODEL, messages=MSG)
    assert r.choices[0].message.content == "Echo: hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_stream(sim):
    events = list(client(sim).chat.stream(model=MODEL, messages=MSG))
    text = "".join(e.data.choices[0].delta.content or "" for e in events)
    assert text == "Echo: hello there world"
    assert events[-1].data.usage.completion_tokens == 4


def test_tool_call(sim):
    r = client(sim).chat.complete(model=MODEL, messages=MSG, tools=TOOLS, tool_choice="any")
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and len(call.id) == 9
    assert isinstance(json.loads(call.function.arguments)["city"], str)
    events = list(client(sim).chat.stream(model=MODEL, messages=MSG, tools=TOOLS, tool_choice="any"))
    calls = [tc for e in events for tc in (e.data.choices[0].delta.tool_calls or [])]
    assert len(calls) == 1 and calls[0].function.name == "get_weather"


def test_json_schema_response_format(sim):
    fmt = {"type": "json_schema", "json_schema": {"name": "Book", "schema": {
        "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}}
    r = client(sim).chat.complete(model=MODEL, messages=MSG, response_format=fmt)
    assert isinstance(json.loads(r.choices[0].message.content)["title"], str)


def test_rate_limit_raises_sdk_error(sim):
    sim.scenario([{"action": {"type": "rate_limit", "retry_after": 1}}])
    with pytest.raises(errors.SDKError) as e:
        client(sim).chat.complete(model=MODEL, messages=MSG)
    assert e.value.status_code == 429
    assert e.value.raw_response.headers["retry-after"] == "1"


def test_unknown_field_is_a_422_validation_error(sim):
    import urllib.error
    import urllib.request
    body = json.dumps({"model": MODEL, "messages": MSG, "max_completion_tokens": 10}).encode()
    req = urllib.request.Request(f"{sim.base('mistral')}/v1/chat/completions", data=body, method="POST",
                                 headers={"authorization": "Bearer k", "content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 422
    detail = json.loads(e.value.read())["message"]["detail"][0]
    assert detail["type"] == "extra_forbidden" and detail["loc"] == ["body", "max_completion_tokens"]


# ----- novelty: unknown fields and choice-less chunks must not change what the SDK yields -----

NOVEL_CALLS = {"type": "tool_call", "text": "Checking.", "tool_calls": [
    {"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]}


@pytest.mark.parametrize("action", [{"type": "model"}, NOVEL_CALLS], ids=["text", "tool_calls"])
def test_novelty_is_tolerated(sim, action):
    c = client(sim)

    def summary(r):
        m = r.choices[0].message
        calls = [(t.function.name, t.function.arguments) for t in m.tool_calls or []]
        return m.content, calls, r.choices[0].finish_reason, r.usage.total_tokens

    plain, novel = sim.plain_and_novel(action, lambda: c.chat.complete(model=MODEL, messages=MSG, tools=TOOLS))
    assert summary(novel) == summary(plain)

    def streamed(events):
        text, calls, finish, usage = "", [], None, None
        for e in events:
            for choice in e.data.choices:
                text += choice.delta.content or ""
                calls += [(t.function.name, t.function.arguments) for t in choice.delta.tool_calls or []]
                finish = choice.finish_reason or finish
            usage = e.data.usage.total_tokens if e.data.usage else usage
        return text, calls, finish, usage

    plain, novel = sim.plain_and_novel(action, lambda: list(c.chat.stream(model=MODEL, messages=MSG, tools=TOOLS)))
    assert streamed(novel) == streamed(plain)
    assert len([e for e in novel if not e.data.choices]) == 2
