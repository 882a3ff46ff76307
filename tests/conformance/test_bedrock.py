"""boto3 bedrock-runtime (converse / converse_stream) against the simulator, SigV4-signed."""

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

MODEL = "amazon.nova-lite-v1:0"
MSG = [{"role": "user", "content": [{"text": "hello there world"}]}]
KEY, SECRET = "AKIDSIMULATOR", "simulator/secret+key"


def client(sim, secret=SECRET):
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=sim.base("bedrock"),
                        aws_access_key_id=KEY, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def creds():
    return {"aws": {"access_key_id": KEY, "secret_access_key": SECRET}}


def test_converse_with_verified_sigv4(sim):
    sim.scenario([], **creds())
    r = client(sim).converse(modelId=MODEL, messages=MSG)
    assert r["output"]["message"]["content"][0]["text"] == "Echo: hello there world"
    assert r["stopReason"] == "end_turn"
    assert r["usage"]["totalTokens"] == r["usage"]["inputTokens"] + r["usage"]["outputTokens"]
    e = sim.journal()[0]
    assert e["path"] == "/bedrock/model/amazon.nova-lite-v1%3A0/converse"
    assert e["model"] == MODEL and e["status"] == 200


def test_wrong_secret_is_invalid_signature(sim):
    sim.scenario([], **creds())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(sim, secret="wrong").converse(modelId=MODEL, messages=MSG)
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_converse_stream(sim):
    sim.scenario([], **creds())
    r = client(sim).converse_stream(modelId=MODEL, messages=MSG)
    events = list(r["stream"])
    text = "".join(ev["contentBlockDelta"]["delta"]["text"] for ev in events if "contentBlockDelta" in ev)
    assert text == "Echo: hello there world"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 4
    assert any("messageStop" in ev for ev in events)


def test_tool_use(sim):
    tool_config = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}], "toolChoice": {"any": {}}}
    r = client(sim).converse(modelId=MODEL, messages=MSG, toolConfig=tool_config)
    assert r["stopReason"] == "tool_use"
    assert isinstance(r["output"]["message"]["content"][0]["toolUse"]["input"]["city"], str)
    events = list(client(sim).converse_stream(modelId=MODEL, messages=MSG, toolConfig=tool_config)["stream"])
    start = next(ev["contentBlockStart"] for ev in events if "contentBlockStart" in ev)
    assert start["start"]["toolUse"]["name"] == "get_weather"


def test_throttling_exception(sim):
    sim.scenario([{"action": {"type": "rate_limit"}}])
    c = client(sim)
    with pytest.raises(c.exceptions.ThrottlingException):
        c.converse(modelId=MODEL, messages=MSG)


@pytest.mark.parametrize("kind,code", [("overloaded", "ServiceUnavailableException"), ("server_error", "InternalServerException"),
                                       ("timeout", "ModelTimeoutException"), ("bad_request", "ValidationException"),
                                       ("permission_denied", "AccessDeniedException"), ("not_found", "ResourceNotFoundException")])
def test_error_codes(sim, kind, code):
    sim.scenario([{"action": {"type": kind}}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(sim).converse(modelId=MODEL, messages=MSG)
    assert e.value.response["Error"]["Code"] == code


def test_in_stream_exception(sim):
    sim.scenario([{"action": {"type": "model", "error_after": 2, "stream_error": "rate_limit"}}])
    r = client(sim).converse_stream(modelId=MODEL, messages=MSG)
    with pytest.raises(botocore.exceptions.EventStreamError) as e:
        for _ in r["stream"]:
            pass
    assert e.value.response["Error"]["Code"] == "throttlingException"


# ----- novelty: unknown fields, union members and frames must not change what boto3 yields -----

NOVEL_CALLS = {"type": "tool_call", "text": "Checking.", "tool_calls": [
    {"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]}
TOOL_CONFIG = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}]}


def _known(r):
    blocks = [b for b in r["output"]["message"]["content"] if "SDK_UNKNOWN_MEMBER" not in b]
    known = [b.get("text") or (b["toolUse"]["name"], b["toolUse"]["input"]) for b in blocks]
    return known, r["stopReason"], r["usage"]


def _streamed(events):
    kinds, text, calls = {}, "", {}
    stop = usage = None
    for ev in events:
        if "contentBlockStart" in ev:
            start = ev["contentBlockStart"]
            kinds[start["contentBlockIndex"]] = list(start["start"])[0]
            if "toolUse" in start["start"]:
                calls[start["contentBlockIndex"]] = [start["start"]["toolUse"]["name"], ""]
        elif "contentBlockDelta" in ev:
            d = ev["contentBlockDelta"]
            if "text" in d["delta"]:
                text += d["delta"]["text"]
            elif "toolUse" in d["delta"]:
                calls[d["contentBlockIndex"]][1] += d["delta"]["toolUse"]["input"]
        elif "messageStop" in ev:
            stop = ev["messageStop"]["stopReason"]
        elif "metadata" in ev:
            usage = ev["metadata"]["usage"]
    return text, [tuple(calls[i]) for i in sorted(calls)], stop, usage


@pytest.mark.parametrize("action", [{"type": "model"}, NOVEL_CALLS], ids=["text", "tool_calls"])
def test_novelty_is_tolerated(sim, action):
    c = client(sim)
    plain, novel = sim.plain_and_novel(action, lambda: c.converse(modelId=MODEL, messages=MSG, toolConfig=TOOL_CONFIG))
    assert _known(novel) == _known(plain)
    unknown = [b for b in novel["output"]["message"]["content"] if "SDK_UNKNOWN_MEMBER" in b]
    assert unknown and all(b["SDK_UNKNOWN_MEMBER"]["name"] == "xNoveltyBlock" for b in unknown)

    stream = lambda: list(c.converse_stream(modelId=MODEL, messages=MSG, toolConfig=TOOL_CONFIG)["stream"])  # noqa: E731
    plain, novel = sim.plain_and_novel(action, stream)
    assert _streamed(novel) == _streamed(plain)
    starts = [ev["contentBlockStart"]["start"] for ev in novel if "contentBlockStart" in ev]
    assert {"SDK_UNKNOWN_MEMBER": {"name": "xNoveltyBlock"}} in starts
