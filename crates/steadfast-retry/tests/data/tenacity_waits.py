"""Generate the reference wait table from Python tenacity 9.

Run with tenacity 9 installed:

    python3 -m venv /tmp/tenv && /tmp/tenv/bin/pip install 'tenacity==9.*'
    /tmp/tenv/bin/python tests/data/tenacity_waits.py > tests/data/tenacity_waits.json

Each row is (strategy spec, attempt number, wait in seconds as tenacity computes it). The Rust
test `wait_tenacity_table.rs` rebuilds every strategy from its spec and checks every row.

Only deterministic strategies are tabulated (random ones cannot match Python's generator; their
bounds and seeding are tested in Rust). `wait_random(a, a)` and `wait_exponential_jitter(jitter=0)`
are deterministic and included.
"""

import json
import sys

import tenacity
from tenacity import RetryCallState

ATTEMPTS = list(range(1, 13)) + [20, 31, 32, 33, 63, 64, 65, 100, 1000, 1025, 10000]
HUGE = [2**32 - 1]  # u32::MAX


def build(spec):
    kind = spec["kind"]
    if kind == "none":
        return tenacity.wait_none()
    if kind == "fixed":
        return tenacity.wait_fixed(spec["wait"])
    if kind == "random":
        return tenacity.wait_random(min=spec["min"], max=spec["max"])
    if kind in ("exponential", "exponential_jitter"):
        kwargs = {"multiplier": spec["multiplier"], "exp_base": spec["exp_base"], "min": spec["min"]}
        if spec["max"] is not None:
            kwargs["max"] = spec["max"]
        if kind == "exponential":
            return tenacity.wait_exponential(**kwargs)
        return tenacity.wait_exponential_jitter(jitter=spec["jitter"], **kwargs)
    if kind == "sum":
        return sum((build(p) for p in spec["parts"]), start=0)
    if kind == "chain":
        return tenacity.wait_chain(*(build(p) for p in spec["parts"]))
    raise ValueError(kind)


def exp(multiplier, min, max, exp_base):
    return {"kind": "exponential", "multiplier": multiplier, "min": min, "max": max, "exp_base": exp_base}


def jit(multiplier, min, max, exp_base):
    return {"kind": "exponential_jitter", "multiplier": multiplier, "min": min, "max": max,
            "exp_base": exp_base, "jitter": 0}


def fixed(wait):
    return {"kind": "fixed", "wait": wait}


# (spec, include u32::MAX). Huge attempt numbers are left out where tenacity itself would build
# a 2^(2^32)-sized Python integer (integer base without its shortcut).
STRATEGIES = [
    (exp(1, 4, 10, 2), True),  # the reference scenario
    (exp(1, 0, None, 2), True),  # tenacity defaults
    (exp(0.5, 0, 60, 2), True),
    (exp(2, 1, 100, 3), True),
    (exp(0.1, 0.05, 5, 1.5), True),
    (exp(3, 0, None, 10), True),
    (exp(1.5, 0, 45.5, 2.5), True),
    (exp(1, 5, 5, 2), True),
    (exp(1, 0, 30, 1), True),
    (exp(1, 0, 30, 0.5), True),
    (exp(0.001, 0, 0.5, 2), True),
    (exp(0, 2, 10, 2), False),
    (jit(1, 0, None, 2.0), True),
    (jit(0.5, 1, 20, 2.0), True),
    (jit(2, 0, 50, 3.0), True),
    (jit(1, 3, 9, 2), False),
    (fixed(0), True),
    (fixed(1.5), True),
    ({"kind": "none"}, True),
    ({"kind": "random", "min": 2, "max": 2}, True),
    ({"kind": "sum", "parts": [fixed(1), exp(1, 4, 10, 2)]}, True),
    ({"kind": "sum", "parts": [fixed(0.5), fixed(0.25), {"kind": "none"}]}, True),
    ({"kind": "sum", "parts": [exp(0.5, 0, 60, 2), jit(1, 0, 5, 2.0)]}, True),
    ({"kind": "chain", "parts": [fixed(1)] * 3 + [fixed(2)] * 2 + [fixed(5)]}, True),
    ({"kind": "chain", "parts": [fixed(1), exp(1, 0, 100, 2)]}, True),
    ({"kind": "chain", "parts": [exp(1, 4, 10, 2), fixed(7),
                                 {"kind": "sum", "parts": [fixed(1), exp(2, 0, 20, 2)]}]}, True),
]


def main():
    rows = []
    for spec, huge in STRATEGIES:
        strategy = build(spec)
        for attempt in ATTEMPTS + (HUGE if huge else []):
            state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
            state.attempt_number = attempt
            rows.append({"strategy": spec, "attempt": attempt, "wait": float(strategy(state))})
    # One row per line: compact, and diffs stay readable.
    out = sys.stdout
    out.write('{"tenacity_version": %s,\n "rows": [\n' % json.dumps(tenacity_version()))
    out.write(",\n".join("  " + json.dumps(row) for row in rows))
    out.write("\n ]}\n")


def tenacity_version():
    from importlib.metadata import version

    return version("tenacity")


if __name__ == "__main__":
    main()
