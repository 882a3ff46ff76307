"""cohere (ClientV2) against the simulator."""

import json

import cohere
import pytest

MODEL = "command-a-03-2025"
MSG = [{"role": "user", "content": "hello there world"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
NO_RETRY = {"max_retries": 0}


def client(sim):
    return cohere.ClientV2(api_key="co-test", base_url=sim.base("cohere"))


def test_text(sim):
    r = client(sim).chat(model=MODEL, messages=MSG)
    assert r.message.content[0].text == "Echo: hello there world"
    assert r.finish_reason == "COMPLETE"
    assert r.usage.tokens.output_tokens == 4


def test_stream(sim):
    events = list(client(sim).chat_stream(model=MODEL, messages=MSG))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == "Echo: hello there world"
    assert events[-1].type == "message-end" and events[-1].delta.finish_reason == "COMPLETE"


def test_tool_call(sim):
    r = client(sim).chat(model=MODEL, messages=MSG, tools=TOOLS, tool_choice="REQUIRED")
    assert r.finish_reason == "TOOL_CALL"
    assert isinstance(json.loads(r.message.tool_calls[0].function.arguments)["city"], str)
    events = list(client(sim).chat_stream(model=MODEL, messages=MSG, tools=TOOLS, tool_choice="REQUIRED"))
    args = "".join(e.delta.message.tool_calls.function.arguments for e in events if e.type == "tool-call-delta")
    assert json.loads(args) == json.loads(r.message.tool_calls[0].function.arguments)


def test_json_object_response_format(sim):
    fmt = {"type": "json_object", "json_schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}
    r = client(sim).chat(model=MODEL, messages=MSG, response_format=fmt)
    assert isinstance(json.loads(r.message.content[0].text)["name"], str)


def test_rate_limit_raises_too_many_requests(sim):
    sim.scenario([{"action": {"type": "rate_limit", "retry_after": 1}}])
    with pytest.raises(cohere.TooManyRequestsError) as e:
        client(sim).chat(model=MODEL, messages=MSG, request_options=NO_RETRY)
    assert e.value.status_code == 429


@pytest.mark.parametrize("kind,cls", [("auth", cohere.UnauthorizedError), ("overloaded", cohere.ServiceUnavailableError),
                                      ("server_error", cohere.InternalServerError), ("timeout", cohere.GatewayTimeoutError),
                                      ("bad_request", cohere.BadRequestError), ("not_found", cohere.NotFoundError)])
def test_error_classes(sim, kind, cls):
    sim.scenario([{"action": {"type": kind}}])
    with pytest.raises(cls):
        client(sim).chat(model=MODEL, messages=MSG, request_options=NO_RETRY)


def test_in_band_error_is_a_message_end_with_error(sim):
    sim.scenario([{"action": {"type": "model", "error_after": 2}}])
    events = list(client(sim).chat_stream(model=MODEL, messages=MSG))
    assert events[-1].type == "message-end" and events[-1].delta.finish_reason == "ERROR"
    assert events[-1].delta.error


# ----- novelty: unknown fields, events and content items must not change what the SDK yields -----

NOVEL_CALLS = {"type": "tool_call", "text": "Checking.", "tool_calls": [
    {"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]}


def _type(item):
    # The SDK keeps a content item of a type it does not know as a plain dict.
    return item["type"] if isinstance(item, dict) else item.type


def _known(r):
    m = r.message
    text = [i.text for i in m.content or [] if _type(i) == "text"]
    calls = [(t.function.name, t.function.arguments) for t in m.tool_calls or []]
    return text, m.tool_plan, calls, r.finish_reason, r.usage.tokens.output_tokens


def _streamed(events):
    types, text, plan, calls = {}, "", "", {}
    finish = None
    for e in events:
        if e.type == "content-start":
            types[e.index] = _type(e.delta.message.content)
        elif e.type == "content-delta" and types.get(e.index) == "text":
            text += e.delta.message.content.text
        elif e.type == "tool-plan-delta":
            plan += e.delta.message.tool_plan
        elif e.type == "tool-call-start":
            calls[e.index] = (e.delta.message.tool_calls.function.name, "")
        elif e.type == "tool-call-delta":
            name, args = calls[e.index]
            calls[e.index] = (name, args + e.delta.message.tool_calls.function.arguments)
        elif e.type == "message-end":
            finish = (e.delta.finish_reason, e.delta.usage.tokens.output_tokens)
    return text, plan, [calls[i] for i in sorted(calls)], finish, sorted(t for t in types.values() if t == "text")


@pytest.mark.parametrize("action", [{"type": "model"}, NOVEL_CALLS], ids=["text", "tool_calls"])
def test_novelty_is_tolerated(sim, action):
    c = client(sim)
    kw = {"model": MODEL, "messages": MSG, "tools": TOOLS}
    plain, novel = sim.plain_and_novel(action, lambda: c.chat(**kw))
    assert _known(novel) == _known(plain)
    assert "x_novelty_block" in [_type(i) for i in novel.message.content]

    plain, novel = sim.plain_and_novel(action, lambda: list(c.chat_stream(**kw)))
    assert _streamed(novel) == _streamed(plain)
    assert "x_novelty_block" in [_type(e.delta.message.content) for e in novel if e.type == "content-start"]
