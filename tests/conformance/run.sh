#!/usr/bin/env bash
# Drives the official provider SDKs against the steadfast-sim binary, and the OpenAI and Anthropic
# SDKs through `steadfast gateway --sim` (test_gateway_*.py start it themselves).
# Usage: tests/conformance/run.sh [VENV_DIR]   (default: $CONFORMANCE_VENV or /tmp/steadfast-conformance-venv)
# Creates the virtual environment if needed, installs the pinned SDKs, builds and starts the
# simulator on a free port, runs pytest, and exits non-zero on any failure.
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
