#!/usr/bin/env bash
# User-space instructions per proxied request (README "Gateway -> Performance", table F).
#
# Usage: crates/steadfast-load/callgrind.sh gateway|floor
#
# Starts the simulator (`target/release/steadfast sim`), then the proxy under callgrind: the
# gateway (`steadfast gateway --config`, one alias routed to the simulator's OpenAI API, one
# hashed inbound key) or the floor (`steadfast-load proxy-floor`). A keep-alive client (Python's
# http.client, one connection, c=1) sends 200 requests to warm it, the counters are zeroed, 1,000
# more are sent, the counters dumped: total / 1,000 is printed. Needs valgrind and python3, and
# `cargo build --release -p steadfast-cli -p steadfast-load` first.
set -euo pipefail

side="${1:-gateway}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${BIN:-$root/target/release}"
dir="$(mktemp -d)"
key="sk-bench-inbound-key-7f3a9c2e"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

url_in() {
    for _ in $(seq 300); do
        if grep -qo 'http://127.0.0.1:[0-9]*' "$1" 2>/dev/null; then
            grep -o 'http://127.0.0.1:[0-9]*' "$1" | head -n 1
            return
        fi
        sleep 0.2
    done
    echo "no URL in $1" >&2
    exit 1
}

"$bin/steadfast" sim --addr 127.0.0.1:0 >"$dir/sim.out" 2>&1 &
pids+=($!)
sim="$(url_in "$dir/sim.out")"

case "$side" in
gateway)
    hash="$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
    printf '[[keys]]\nname = "bench"\nsha256 = "%s"\n\n[models.fast]\ntargets = [{ target = "openai:gpt-4o-mini", base_url = "%s/openai/v1", api_key_env = "BENCH_UPSTREAM_KEY" }]\n' \
        "$hash" "$sim" >"$dir/gw.toml"
    BENCH_UPSTREAM_KEY=sim-key valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" \
        "$bin/steadfast" gateway --addr 127.0.0.1:0 --config "$dir/gw.toml" >"$dir/proxy.out" 2>/dev/null &
    path=/v1/chat/completions
    model=fast
    ;;
floor)
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" \
        "$bin/steadfast-load" proxy-floor --upstream "$sim" >"$dir/proxy.out" 2>/dev/null &
    path=/openai/v1/chat/completions
    model=gpt-4o-mini
    ;;
*)
    echo "usage: $0 gateway|floor" >&2
    exit 2
    ;;
esac
proxy=$!
pids+=("$proxy")
port="$(url_in "$dir/proxy.out")"
port="${port##*:}"

cat >"$dir/client.py" <<'EOF'
import http.client, json, sys
port, path, model, key, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hello there"}], "stream": False})
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"content-type": "application/json", "authorization": "Bearer " + key}
for _ in range(n):
    conn.request("POST", path, body, headers)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit(f"HTTP {r.status}: {data[:200]!r}")
EOF
python3 "$dir/client.py" "$port" "$path" "$model" "$key" 200
callgrind_control -z "$proxy" >/dev/null 2>&1
python3 "$dir/client.py" "$port" "$path" "$model" "$key" 1000
callgrind_control -d "$proxy" >/dev/null 2>&1
sleep 1
out="$(ls -S "$dir"/cg.* | head -n 1)"
total="$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')"
echo "$side: $((total / 1000)) instructions per request ($total for 1,000)"
