"""Shared fixtures: the running simulator (URL from STEADFAST_SIM_URL) and its control plane."""

import json
import os
import urllib.request

import pytest

SIM_URL = os.environ.get("STEADFAST_SIM_URL", "http://127.0.0.1:8080").rstrip("/")


class Sim:
    """A thin client for the simulator's /__sim control plane."""

    url = SIM_URL

    def _call(self, method, path, body=None):
        data = None if body is None else body.encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read() or b"null")

    def scenario(self, rules, **extra):
        """Replaces the scenario (and resets the journal and counters)."""
        self._call("POST", "/__sim/scenario", json.dumps({"rules": rules, **extra}))
        self._call("POST", "/__sim/reset")

    def plain_and_novel(self, action, call):
        """`call()` answered by `action` as is, then with the `novelty` fault (unknown fields,
        events and blocks): both results, for a test to compare what the SDK yields."""
        out = []
        for novelty in (False, True):
            self.scenario([{"action": {**action, "novelty": novelty}}])
            out.append(call())
        return out

    def journal(self):
        return self._call("GET", "/__sim/journal")

    def base(self, provider):
        return {
            "openai": f"{self.url}/openai/v1",
            "azure": f"{self.url}/azure",
            "anthropic": f"{self.url}/anthropic",
            "gemini": f"{self.url}/gemini",
            "mistral": f"{self.url}/mistral",
            "cohere": f"{self.url}/cohere",
            "bedrock": f"{self.url}/bedrock",
        }[provider]


@pytest.fixture
def sim():
    s = Sim()
    s.scenario([])
    yield s
    s.scenario([])


@pytest.fixture
def sleeps(monkeypatch):
    """Records the retry sleeps of the Stainless SDKs instead of sleeping."""
    recorded = []
    import anthropic._base_client as a
    import openai._base_client as o

    class FakeTime:
        def __getattr__(self, name):
            import time

            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            recorded.append(seconds)

    monkeypatch.setattr(o, "time", FakeTime())
    monkeypatch.setattr(a, "time", FakeTime())
    return recorded
