"""google-genai against the simulator."""

import pydantic
import pytest
from google import genai
from google.genai import errors, types

MODEL = "gemini-2.0-flash"


_CLIENTS = []


def client(sim):
    # Keep the client alive: a google-genai Client closes its HTTP client when collected.
    c = genai.Client(api_key="AIza-test", http_options=types.HttpOptions(base_url=sim.base("gemini")))
    _CLIENTS.append(c)
    return c


def test_text(sim):
    r = client(sim).models.generate_content(model=MODEL, contents="hello there world")
    assert r.text == "Echo: hello there world"
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.usage_metadata.total_token_count == r.usage_metadata.prompt_token_count + r.usage_metadata.candidates_token_count
    path = sim.journal()[0]["path"]
    assert path.endswith(f"/models/{MODEL}:generateContent")


def test_stream(sim):
    chunks = list(client(sim).models.generate_content_stream(model=MODEL, contents="hello there world"))
    assert "".join(c.text or "" for c in chunks) == "Echo: hello there world"
    assert len(chunks) == 4
    assert sim.journal()[0]["query"] == "alt=sse"


def test_max_tokens(sim):
    r = client(sim).models.generate_content(model=MODEL, contents="hello there world",
                                            config=types.GenerateContentConfig(max_output_tokens=2))
    assert r.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_forced_function_call(sim):
    decl = types.FunctionDeclaration(name="get_weather", parameters_json_schema={
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[decl])],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    r = client(sim).models.generate_content(model=MODEL, contents="weather?", config=config)
    assert r.function_calls[0].name == "get_weather"
    assert isinstance(r.function_calls[0].args["city"], str)


def test_thinking_model_signs_calls_and_wants_them_back(sim):
    # A simulated Gemini 3 model signs its function calls; the official SDK reads the signature
    # (bytes) and gives it back in the next turn, which the simulator then accepts.
    model = "gemini-3-pro-preview"
    decl = types.FunctionDeclaration(name="now", parameters_json_schema={"type": "object"})
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[decl])],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    c = client(sim)
    first = c.models.generate_content(model=model, contents="what time is it?", config=config)
    part = first.candidates[0].content.parts[0]
    assert part.function_call.name == "now"
    assert part.thought_signature == b"sim-thought-signature"
    history = [
        types.Content(role="user", parts=[types.Part(text="what time is it?")]),
        first.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(name="now", response={"now": "09:00"})]),
    ]
    answer = c.models.generate_content(model=model, contents=history)
    assert answer.text
    # Without the signature the simulated model refuses the conversation, as Gemini 3 does.
    unsigned = types.Content(role="model", parts=[types.Part(function_call=part.function_call)])
    with pytest.raises(errors.ClientError) as e:
        c.models.generate_content(model=model, contents=[history[0], unsigned, history[2]])
    assert e.value.code == 400
    assert "thought_signature" in e.value.message


class Book(pydantic.BaseModel):
    title: str
    author: str


def test_structured_output(sim):
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=Book)
    r = client(sim).models.generate_content(model=MODEL, contents="a book", config=config)
    assert isinstance(r.parsed, Book)
    sim.scenario([{"action": {"type": "structured", "json": {"title": "T", "author": "PATRICK ROTHFUSS"}}}])
    r = client(sim).models.generate_content(model=MODEL, contents="a book", config=config)
    assert r.parsed.author == "PATRICK ROTHFUSS"


def test_rate_limit_is_a_client_error_with_retry_info(sim):
    sim.scenario([{"action": {"type": "rate_limit", "retry_after": 7}}])
    with pytest.raises(errors.ClientError) as e:
        client(sim).models.generate_content(model=MODEL, contents="hi")
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED"
    delays = [d.get("retryDelay") for d in e.value.details["error"]["details"]]
    assert "7s" in delays


def test_overloaded_is_a_server_error(sim):
    sim.scenario([{"action": {"type": "overloaded"}}])
    with pytest.raises(errors.ServerError) as e:
        client(sim).models.generate_content(model=MODEL, contents="hi")
    assert e.value.code == 503


def test_in_band_error_mid_stream(sim):
    sim.scenario([{"action": {"type": "model", "error_after": 2, "stream_error": "overloaded"}}])
    with pytest.raises(errors.ServerError) as e:
        for _ in client(sim).models.generate_content_stream(model=MODEL, contents="one two three four"):
            pass
    assert e.value.code == 503


def test_bad_key(sim):
    sim.scenario([], require_key="right")
    with pytest.raises(errors.ClientError) as e:
        client(sim).models.generate_content(model=MODEL, contents="hi")
    assert e.value.code == 400 and "API key not valid" in e.value.message


# ----- novelty: unknown fields, parts and chunks must not change what the SDK yields -----

NOVEL_CALLS = {"type": "tool_call", "text": "Checking.", "tool_calls": [
    {"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]}


def _known(r):
    calls = [(f.name, f.args) for f in r.function_calls or []]
    finish = r.candidates[0].finish_reason if r.candidates else None
    return r.text, calls, finish


@pytest.mark.parametrize("action", [{"type": "model"}, NOVEL_CALLS], ids=["text", "tool_calls"])
def test_novelty_is_tolerated(sim, action):
    c = client(sim)
    plain, novel = sim.plain_and_novel(action, lambda: c.models.generate_content(model=MODEL, contents="hello there world"))
    assert _known(novel) == _known(plain)
    assert novel.usage_metadata == plain.usage_metadata
    # The unknown parts arrive as parts without any known field.
    assert len(novel.candidates[0].content.parts) == 2 * len(plain.candidates[0].content.parts) + 1

    stream = lambda: list(c.models.generate_content_stream(model=MODEL, contents="hello there world"))  # noqa: E731
    plain, novel = sim.plain_and_novel(action, stream)
    summary = lambda chunks: ("".join(ch.text or "" for ch in chunks),  # noqa: E731
                              [(f.name, f.args) for ch in chunks for f in ch.function_calls or []],
                              [ch.candidates[0].finish_reason for ch in chunks if ch.candidates and ch.candidates[0].finish_reason],
                              plain[-1].usage_metadata)
    assert summary(novel) == summary(plain)
    assert novel[-1].usage_metadata == plain[-1].usage_metadata
    assert len(novel) == len(plain) + 2
