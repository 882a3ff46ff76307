"""anthropic-sdk-python against the simulator."""

import anthropic
import pytest

MSG = [{"role": "user", "content": "hello there world"}]
MODEL = "claude-3-5-sonnet-latest"
TOOLS = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}},
                                                  "required": ["location"]}}]


def client(sim, **kw):
    return anthropic.Anthropic(base_url=sim.base("anthropic"), api_key="sk-ant-test", max_retries=kw.pop("max_retries", 0), **kw)


def test_text(sim):
    r = client(sim).messages.create(model=MODEL, max_tokens=100, messages=MSG)
    assert r.content[0].text == "Echo: hello there world"
    assert r.stop_reason == "end_turn"
    assert r.usage.output_tokens == 4


def test_max_tokens(sim):
    r = client(sim).messages.create(model=MODEL, max_tokens=2, messages=MSG)
    assert (r.content[0].text, r.stop_reason) == ("Echo: hello", "max_tokens")


def test_stream_helper(sim):
    with client(sim).messages.stream(model=MODEL, max_tokens=100, messages=MSG) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Echo: hello there world"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 4


def test_tool_use_streamed_and_not(sim):
    c = client(sim)
    r = c.messages.create(model=MODEL, max_tokens=100, messages=MSG, tools=TOOLS, tool_choice={"type": "any"})
    assert r.stop_reason == "tool_use" and isinstance(r.content[0].input["location"], str)
    with c.messages.stream(model=MODEL, max_tokens=100, messages=MSG, tools=TOOLS, tool_choice={"type": "any"}) as s:
        final = s.get_final_message()
    assert final.content[0].type == "tool_use" and final.content[0].input == r.content[0].input


def test_scripted_invalid_tool_json_streams_as_partial_json(sim):
    sim.scenario([{"action": {"type": "tool_call", "tool_calls": [{"name": "get_weather", "arguments": '{"location": "Par'}]}}])
    events = list(client(sim).messages.create(model=MODEL, max_tokens=100, messages=MSG, tools=TOOLS, stream=True))
    partial = "".join(e.delta.partial_json for e in events if e.type == "content_block_delta")
    assert partial == '{"location": "Par'


def test_refusal(sim):
    sim.scenario([{"action": {"type": "refusal", "text": "I can't help with that."}}])
    r = client(sim).messages.create(model=MODEL, max_tokens=100, messages=MSG)
    assert r.stop_reason == "refusal"


def test_rate_limit_and_overloaded(sim):
    sim.scenario([{"requests": [1], "action": {"type": "rate_limit", "retry_after": 1}},
                  {"requests": [2], "action": {"type": "overloaded"}}])
    with pytest.raises(anthropic.RateLimitError) as e:
        client(sim).messages.create(model=MODEL, max_tokens=100, messages=MSG)
    assert e.value.response.headers["retry-after"] == "1"
    assert e.value.body["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.OverloadedError) as e:
        client(sim).messages.create(model=MODEL, max_tokens=100, messages=MSG)
    assert e.value.status_code == 529


def test_sdk_sleeps_for_retry_after(sim, sleeps):
    sim.scenario([{"requests": [1], "action": {"type": "rate_limit", "retry_after": 3}}])
    r = client(sim, max_retries=1).messages.create(model=MODEL, max_tokens=100, messages=MSG)
    assert r.content[0].text == "Echo: hello there world"
    assert sleeps == [3.0]


def test_in_band_overloaded_error_raises(sim):
    sim.scenario([{"action": {"type": "model", "error_after": 3, "stream_error": "overloaded"}}])
    with pytest.raises(anthropic.APIStatusError) as e:
        with client(sim).messages.stream(model=MODEL, max_tokens=100, messages=MSG) as s:
            for _ in s:
                pass
    assert "overloaded_error" in str(e.value) or "Overloaded" in str(e.value)


@pytest.mark.parametrize("kind,cls", [
    ("auth", anthropic.AuthenticationError), ("permission_denied", anthropic.PermissionDeniedError),
    ("not_found", anthropic.NotFoundError), ("bad_request", anthropic.BadRequestError),
    ("server_error", anthropic.InternalServerError), ("quota_exhausted", anthropic.APIStatusError),
])
def test_error_classes(sim, kind, cls):
    sim.scenario([{"action": {"type": kind}}])
    with pytest.raises(cls):
        client(sim).messages.create(model=MODEL, max_tokens=100, messages=MSG)


def test_sends_bearer_or_api_key(sim):
    client(sim).messages.create(model=MODEL, max_tokens=5, messages=MSG)
    headers = dict(sim.journal()[0]["headers"])
    assert headers.get("anthropic-version")
    assert headers.get("x-api-key") == "***" or headers.get("authorization") == "Bearer ***"


# ----- novelty: unknown fields, events and content blocks must not change what the SDK yields -----

NOVEL_CALLS = {"type": "tool_call", "text": "Checking.", "tool_calls": [
    {"name": "get_weather", "arguments": {"location": "Paris"}}, {"name": "get_weather", "arguments": {"location": "Oslo"}}]}


def _known(message):
    blocks = [(b.type, b.text if b.type == "text" else (b.name, b.input))
              for b in message.content if b.type in ("text", "tool_use")]
    return blocks, message.stop_reason, message.usage.output_tokens


@pytest.mark.parametrize("action", [{"type": "model"}, NOVEL_CALLS], ids=["text", "tool_calls"])
def test_novelty_is_tolerated(sim, action):
    c = client(sim)
    create = lambda **kw: c.messages.create(model=MODEL, max_tokens=100, messages=MSG, tools=TOOLS, **kw)  # noqa: E731
    plain, novel = sim.plain_and_novel(action, create)
    assert _known(novel) == _known(plain)
    assert [b.type for b in novel.content].count("x_novelty_block") == len(plain.content) + 1
    assert novel.x_novelty and novel.usage.x_novelty

    def helper():
        with c.messages.stream(model=MODEL, max_tokens=100, messages=MSG, tools=TOOLS) as s:
            text = "".join(s.text_stream)
            return text, s.get_final_message()

    (plain_text, plain), (novel_text, novel) = sim.plain_and_novel(action, helper)
    assert novel_text == plain_text
    assert _known(novel) == _known(plain)
    assert [b.type for b in novel.content].count("x_novelty_block") == len(plain.content) + 1

    raw = lambda: list(create(stream=True))  # noqa: E731
    plain, novel = sim.plain_and_novel(action, raw)
    deltas = lambda evs: [(e.index, e.delta.type, getattr(e.delta, "text", None) or getattr(e.delta, "partial_json", None))  # noqa: E731
                          for e in evs if e.type == "content_block_delta" and e.delta.type != "x_novelty_delta"]
    # The known blocks' indices shift (1, 3, ...) past the unknown blocks (0, 2, ...).
    assert [(2 * i + 1, t, v) for i, t, v in _renumbered(deltas(plain))] == deltas(novel)
    assert "x_novelty_event" in [e.type for e in novel]


def _renumbered(deltas):
    order = sorted({i for i, _, _ in deltas})
    return [(order.index(i), t, v) for i, t, v in deltas]
