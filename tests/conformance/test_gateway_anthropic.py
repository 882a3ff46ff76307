"""anthropic-sdk-python against `steadfast gateway --sim`: the Messages API in front of every
upstream family, the real stream event sequence, and the SDK's typed errors."""

import anthropic
import pydantic
import pytest

from gateway_support import KEYS, gateway_process, gw  # noqa: F401 (fixtures)

KEY = KEYS[1]
MSG = [{"role": "user", "content": "hello there world"}]
TOOLS = [{"name": "get_weather", "description": "Weather.", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"]}}]
UPSTREAMS = ["anthropic:claude-3-5-sonnet-latest", "openai:gpt-4o-mini", "gemini:gemini-2.0-flash",
             "bedrock:amazon.nova-lite-v1:0", "cohere:command-r-plus", "mistral:mistral-small-latest"]


def client(gw, **kw):
    return anthropic.Anthropic(base_url=gw.url, api_key=kw.pop("api_key", KEY),
                               max_retries=kw.pop("max_retries", 0), **kw)


@pytest.mark.parametrize("model", UPSTREAMS)
def test_text_from_every_upstream(gw, model):
    raw = client(gw).messages.with_raw_response.create(model=model, max_tokens=64, messages=MSG)
    m = raw.parse()
    assert m.content[0].type == "text" and m.content[0].text == "Echo: hello there world"
    assert m.stop_reason == "end_turn"
    assert m.usage.output_tokens == 4
    assert raw.headers["x-steadfast-attempts"] == "1"
    assert raw.headers["x-steadfast-target"] == model
    assert m._request_id and m._request_id == raw.headers["request-id"]


@pytest.mark.parametrize("model", UPSTREAMS)
def test_stream_event_sequence(gw, model):
    with client(gw).messages.stream(model=model, max_tokens=64, messages=MSG) as s:
        events = [e.type for e in s]
        final = s.get_final_message()
    assert final.content[0].text == "Echo: hello there world"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 4
    # The raw event types, in order (the helper adds its own `text` events).
    raw = [e for e in events if e in ("message_start", "content_block_start", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop")]
    assert raw[0] == "message_start" and raw[1] == "content_block_start"
    assert raw[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(raw[2:-3]) == {"content_block_delta"}


@pytest.mark.parametrize("model", ["anthropic:claude-3-5-sonnet-latest", "openai:gpt-4o-mini", "cohere:command-r-plus"])
def test_tool_use(gw, model):
    m = client(gw).messages.create(model=model, max_tokens=64, messages=MSG, tools=TOOLS,
                                   tool_choice={"type": "any"})
    assert m.stop_reason == "tool_use"
    block = [b for b in m.content if b.type == "tool_use"][0]
    assert block.name == "get_weather" and isinstance(block.input["city"], str) and block.input["days"] >= 1


@pytest.mark.parametrize("model", ["anthropic:claude-3-5-sonnet-latest", "openai:gpt-4o-mini", "gemini:gemini-2.0-flash"])
def test_streamed_tool_use(gw, model):
    with client(gw).messages.stream(model=model, max_tokens=64, messages=MSG, tools=TOOLS,
                                    tool_choice={"type": "tool", "name": "get_weather"}) as s:
        final = s.get_final_message()
    block = [b for b in final.content if b.type == "tool_use"][0]
    assert block.name == "get_weather" and block.input["days"] >= 1
    assert final.stop_reason == "tool_use"


def test_a_tool_result_round_trip(gw):
    c = client(gw)
    first = c.messages.create(model="openai:gpt-4o-mini", max_tokens=64, messages=MSG, tools=TOOLS,
                              tool_choice={"type": "any"})
    use = [b for b in first.content if b.type == "tool_use"][0]
    messages = MSG + [{"role": "assistant", "content": [b.model_dump() for b in first.content]},
                      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}]
    second = c.messages.create(model="openai:gpt-4o-mini", max_tokens=64, messages=messages, tools=TOOLS)
    assert second.content[0].text == "Tool result: sunny"


class Book(pydantic.BaseModel):
    title: str
    author: str


@pytest.mark.parametrize("model", ["anthropic:claude-3-5-sonnet-latest", "openai:gpt-4o-mini", "gemini:gemini-2.0-flash"])
def test_structured_output_parse(gw, model):
    m = client(gw).messages.parse(model=model, max_tokens=256, messages=MSG, output_format=Book)
    assert isinstance(m.parsed_output, Book)


def test_streamed_structured_output_with_the_stream_helper(gw):
    # The first answer fails the schema: retried upstream, never streamed.
    gw.sim.scenario([{"requests": [1], "action": {"type": "structured", "json": {"title": "Invalid draft"}}},
                     {"requests": [2], "action": {"type": "structured", "json": {"title": "T", "author": "A"}}}])
    with client(gw).messages.stream(model="anthropic:claude-3-5-sonnet-latest", max_tokens=256, messages=MSG,
                                    output_format=Book) as s:
        events = [e.type for e in s]
        final = s.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_start" in events and "content_block_stop" in events
    assert final.parsed_output == Book(title="T", author="A")
    assert final.stop_reason == "end_turn"
    assert "Invalid draft" not in final.content[0].text
    assert len(gw.sim.journal()) == 2


@pytest.mark.parametrize("model", ["openai:gpt-4o-mini", "gemini:gemini-2.0-flash"])
def test_streamed_output_config_from_other_families(gw, model):
    schema = Book.model_json_schema() | {"additionalProperties": False}
    with client(gw).messages.stream(model=model, max_tokens=256, messages=MSG,
                                    output_config={"format": {"type": "json_schema", "schema": schema}}) as s:
        text = "".join(s.text_stream)
    assert Book.model_validate_json(text)


def test_streamed_structured_output_that_never_validates_raises_before_the_stream(gw):
    gw.sim.scenario([{"action": {"type": "structured", "json": {"title": "Invalid draft"}}}])
    with pytest.raises(anthropic.InternalServerError) as e:
        with client(gw).messages.stream(model="anthropic:claude-3-5-sonnet-latest", max_tokens=256,
                                        messages=MSG, output_format=Book) as s:
            for _ in s:
                pass
    assert e.value.status_code == 502
    assert "Invalid draft" not in str(e.value.body)


def test_retry_the_client_cannot_see(gw):
    gw.sim.scenario([{"requests": [1, 2], "action": {"type": "overloaded", "retry_after_ms": 20}}])
    raw = client(gw).messages.with_raw_response.create(model="anthropic:claude-3-5-sonnet-latest",
                                                       max_tokens=64, messages=MSG)
    assert raw.parse().content[0].text == "Echo: hello there world"
    assert raw.headers["x-steadfast-attempts"] == "3"


def test_streamed_fallback_the_client_cannot_see(gw):
    gw.sim.scenario([{"provider": "anthropic", "action": {"type": "overloaded"}}])
    model = "anthropic:claude-3-5-sonnet-latest,openai:gpt-4o-mini"
    with client(gw).messages.with_streaming_response.create(model=model, max_tokens=64, messages=MSG,
                                                            stream=True) as resp:
        assert resp.headers["x-steadfast-target"] == "openai:gpt-4o-mini"
        text = "".join(e.delta.text for e in resp.parse() if e.type == "content_block_delta")
    assert text == "Echo: hello there world"


def test_mid_stream_failure_is_an_error_event(gw):
    gw.sim.scenario([{"action": {"type": "model", "error_after": 4, "stream_error": "overloaded"}}])
    received = []
    with pytest.raises(anthropic.APIStatusError) as e:
        with client(gw).messages.stream(model="openai:gpt-4o-mini", max_tokens=64, messages=MSG) as s:
            for text in s.text_stream:
                received.append(text)
    assert "".join(received).startswith("Echo:")
    assert e.value.message
    assert e.value.body["error"]["type"] == "overloaded_error", e.value.body
    assert len(gw.sim.journal()) == 1, "a POST is never replayed after the commit point"


def test_rate_limit_raises_with_retry_after(gw):
    gw.sim.scenario([{"action": {"type": "rate_limit", "retry_after": 9, "should_retry": False}}])
    with pytest.raises(anthropic.RateLimitError) as e:
        client(gw).messages.create(model="openai:gpt-4o-mini", max_tokens=64, messages=MSG)
    assert e.value.status_code == 429
    assert e.value.response.headers["retry-after"] == "9"
    assert e.value.body["error"]["type"] == "rate_limit_error"


def test_overloaded_after_every_retry_is_529(gw):
    gw.sim.scenario([{"action": {"type": "overloaded"}}])
    with pytest.raises(anthropic.OverloadedError) as e:
        client(gw).messages.create(model="anthropic:claude-3-5-sonnet-latest", max_tokens=64, messages=MSG)
    assert e.value.status_code == 529
    assert e.value.response.headers["x-steadfast-attempts"] == "4"


@pytest.mark.parametrize("kind,cls", [
    ("server_error", anthropic.InternalServerError), ("auth", anthropic.AuthenticationError),
    ("permission_denied", anthropic.PermissionDeniedError), ("not_found", anthropic.NotFoundError),
    ("bad_request", anthropic.BadRequestError),
])
def test_upstream_errors_raise_typed_errors(gw, kind, cls):
    gw.sim.scenario([{"action": {"type": kind}}])
    with pytest.raises(cls) as e:
        client(gw).messages.create(model="gemini:gemini-2.0-flash", max_tokens=64, messages=MSG)
    assert e.value.message


def test_missing_key_is_401(gw):
    c = client(gw, default_headers={"Authorization": "Basic Zm9vOmJhcg==", "x-api-key": ""})
    with pytest.raises(anthropic.AuthenticationError):
        c.messages.create(model="openai:gpt-4o-mini", max_tokens=64, messages=MSG)
    assert gw.sim.journal() == []


def test_unsupported_parameter_is_400_naming_it(gw):
    with pytest.raises(anthropic.BadRequestError) as e:
        client(gw).messages.create(model="openai:gpt-4o-mini", max_tokens=64, messages=MSG, extra_body={"top_k": 5})
    assert "top_k" in e.value.message
    with pytest.raises(anthropic.BadRequestError) as e:
        client(gw).messages.create(model="openai:gpt-4o-mini", max_tokens=64, messages=MSG,
                                   extra_body={"frobnicate": True})
    assert "frobnicate" in e.value.message
    assert gw.sim.journal() == []


def test_keys_never_reach_the_logs(gw):
    client(gw).messages.create(model="anthropic:claude-3-5-sonnet-latest", max_tokens=64, messages=MSG)
    log = gw.log()
    assert "steadfast_gateway::access" in log
    for key in KEYS:
        assert key not in log
