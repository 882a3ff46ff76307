#!/usr/bin/env bash
# Drives the official provider SDKs against the steadfast-sim binary, and the OpenAI and Anthropic
# SDKs through `steadfast gateway --sim` (test_gateway_*.py start it themselves).
# Usage: tests/conformance/run.sh [VENV_DIR]   (default: $CONFORMANCE_VENV or /tmp/steadfast-conformance-venv)
# Creates the virtual environment if needed, installs the pinned SDKs, builds and starts the
# simulator on a free port, runs pytest, then the Node SDK suite (node/, see the block at the end),
# and exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-${CONFORMANCE_VENV:-/tmp/steadfast-conformance-venv}}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "conformance: creating virtual environment in $venv"
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

echo "conformance: building steadfast-sim and steadfast (for the gateway suites)"
(cd "$root" && cargo build --quiet -p steadfast-sim --bin steadfast-sim && cargo build --quiet -p steadfast-cli --bin steadfast)
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/steadfast-sim"

log="$(mktemp)"
"$bin" --addr 127.0.0.1:0 --quiet >"$log" 2>&1 &
sim_pid=$!
cleanup() {
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

url=""
for _ in $(seq 1 100); do
    url="$(sed -n 's#^export OPENAI_BASE_URL=\(http://[^/]*\)/openai/v1$#\1#p' "$log" | head -n 1)"
    [ -n "$url" ] && break
    if ! kill -0 "$sim_pid" 2>/dev/null; then
        echo "conformance: steadfast-sim exited early:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "conformance: steadfast-sim did not print its address" >&2
    cat "$log" >&2
    exit 1
fi
echo "conformance: simulator at $url"

cd "$here"
STEADFAST_SIM_URL="$url" STEADFAST_BIN="$target_dir/debug/steadfast" "$venv/bin/python" -m pytest -q -p no:cacheprovider -p no:warnings "$here"

# The Node SDKs through the gateway: openai and @anthropic-ai/sdk, pinned in node/package-lock.json,
# driven by Node's built-in test runner (node/*.test.mjs start their own `steadfast gateway --sim`).
# Skipped with a message when node or npm is not on PATH (or node is older than 20, the SDKs'
# minimum), or when npm ci fails because the registry is unreachable and CI is not set; with CI set
# an unreachable registry is a failure, and so is an npm ci failure with the registry reachable.
node_dir="$here/node"
# npm's defaults retry an unreachable registry for minutes; one quick retry and a 30 s timeout.
npm_net="--fetch-retries=1 --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=5000 --fetch-timeout=30000"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "conformance: SKIPPED the Node SDK suite: node and npm are not both on PATH"
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    echo "conformance: SKIPPED the Node SDK suite: node $(node --version) is older than 20, the SDKs' minimum"
elif ! (cd "$node_dir" && npm ci --no-audit --no-fund --prefer-offline $npm_net); then
    registry="$(cd "$node_dir" && npm config get registry)"
    if (cd "$node_dir" && npm ping $npm_net >/dev/null 2>&1); then
        echo "conformance: npm ci failed in $node_dir although the registry $registry answers" >&2
        exit 1
    elif [ -n "${CI:-}" ]; then
        echo "conformance: npm ci failed: the registry $registry is unreachable (CI is set: a failure)" >&2
        exit 1
    else
        echo "conformance: SKIPPED the Node SDK suite: npm ci failed, the registry $registry is unreachable"
    fi
else
    echo "conformance: the Node SDKs through the gateway ($(node --version), node --test)"
    (cd "$node_dir" && STEADFAST_BIN="$target_dir/debug/steadfast" node --test --test-reporter=spec)
fi
