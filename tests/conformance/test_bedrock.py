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
