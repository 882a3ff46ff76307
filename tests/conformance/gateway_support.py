"""The gateway under test: `steadfast gateway --sim --addr 127.0.0.1:0`, started once per session.

STEADFAST_BIN names the `steadfast` binary (run.sh builds it). The gateway prints its URL and its
embedded simulator's URL on stdout; the simulator's /__sim control plane scripts the upstream
faults. Its stderr (access logs at -v) is kept in a file, so a test can check that no key ever
reaches a log line.
"""

import os
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import Sim

# Keys the suites send; none may appear in the gateway's logs.
KEYS = ["sk-gw-conformance-openai-7f3a", "sk-ant-gw-conformance-91bc"]


class Gateway:
    def __init__(self, url, sim_url, log_path):
        self.url = url
        self.sim = Sim()
        self.sim.url = sim_url
        self.log_path = log_path

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


def _start():
    binary = os.environ.get("STEADFAST_BIN")
    if not binary:
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        binary = os.path.join(root, "target", "debug", "steadfast")
    log = tempfile.NamedTemporaryFile(prefix="steadfast-gateway-", suffix=".log", delete=False)
    env = dict(os.environ, STEADFAST_LOG="info")
    # The default policy with short waits, so that the retries of a test take moments.
    proc = subprocess.Popen([binary, "-v", "gateway", "--sim", "--addr", "127.0.0.1:0", "--wait", "fixed:0.01"],
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    found = {}

    def read():
        for line in proc.stdout:
            for key in ("gateway", "simulator"):
                if line.startswith(key + ": "):
                    found[key] = line.split(": ", 1)[1].strip()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 30
    while len(found) < 2:
        if proc.poll() is not None:
            raise RuntimeError(f"steadfast gateway exited early: {open(log.name).read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("steadfast gateway did not print its URLs")
        time.sleep(0.05)
    return proc, Gateway(found["gateway"], found["simulator"], log.name)


@pytest.fixture(scope="session")
def gateway_process():
    proc, gw = _start()
    yield gw
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    os.unlink(gw.log_path)


@pytest.fixture
def gw(gateway_process):
    gateway_process.sim.scenario([])
    yield gateway_process
    gateway_process.sim.scenario([])
