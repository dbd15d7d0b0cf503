#!/usr/bin/env python3
"""Login latency through the local API (cargo lambda watch), for docs/benchmarks.md.

Signs up one account, then times N sequential logins of each kind: success, wrong
password, unknown account. Prints p50/p90/max per kind. Needs a running API:
  RATE_LIMIT_AUTH_MAX=100000 make dev   (in another terminal; the default auth tier
                                         allows 5 failed logins per 15 minutes), then
  scripts/bench-login.py [BASE_URL] [N]
"""

import json
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:9000"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 30


def post(path, body):
    request = urllib.request.Request(
        BASE + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, (time.perf_counter() - started) * 1000


def main():
    name = "bench_" + uuid.uuid4().hex[:10]
    password = "bench orchid " + uuid.uuid4().hex[:6] + " lantern"
    status, _ = post("/api/auth/signup", {"username": name, "email": name + "@example.com", "password": password})
    if status != 201:
        sys.exit(f"signup failed with {status}; is the API running at {BASE}?")
    kinds = {
        "login: success": {"login": name, "password": password},
        "login: wrong password": {"login": name, "password": "not the password at all"},
        "login: unknown account": {"login": "nobody_" + uuid.uuid4().hex[:8], "password": password},
    }
    print(f"{N} sequential requests each, {BASE}")
    print(f"{'kind':28} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8}")
    for kind, body in kinds.items():
        times = []
        for i in range(N):
            status, ms = post("/api/auth/login", body)
            times.append(ms)
            print(f"\r  {kind}: {i + 1}/{N}", end="", file=sys.stderr, flush=True)
        print("\r", end="", file=sys.stderr)
        times.sort()
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"{kind:28} {statistics.median(times):8.1f} {p90:8.1f} {times[-1]:8.1f}  (last status {status})")


if __name__ == "__main__":
    main()
