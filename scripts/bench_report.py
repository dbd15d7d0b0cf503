#!/usr/bin/env python3
"""Turns target/bench/results.jsonl (scripts/bench.sh) into the Markdown tables of
docs/benchmarks.md, including the cost model. Prints to stdout.

Cost model (us-east-1 list prices, arm64, checked 2026-11): Lambda $0.0000133334 per
GB-second and $0.20 per million requests; DynamoDB on demand $0.625 per million write
request units and $0.125 per million read request units. Lambda bills the handler's
duration rounded up to the millisecond; the warm p50 through the Lambda path stands in
for it (local stack: moto and PostgreSQL on loopback, so real network round trips add).
"""

import json
import pathlib
import sys
from collections import defaultdict

RESULTS = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench/results.jsonl")
GB_SECOND = 0.0000133334
PER_REQUEST = 0.20 / 1e6
WRITE_UNIT = 0.625 / 1e6
READ_UNIT = 0.125 / 1e6

# Memory each kind runs with in template.yaml (MB), and DynamoDB units per request, at
# most (a leased tier writes once per lease, not per request; see the rate-limit
# section): one conditional UpdateItem per tier (1 WRU each: global; + write for POST;
# + post-create); a write also records the account's last write position on its
# account item (1 WRU: read-your-writes). The identity layer's one BatchGetItem: for a caller with an access
# token the IP's block, the session and the account item, strongly consistent (1 RRU
# each, 3); for an anonymous request the block, eventually consistent (0.5 RRU), or
# nothing when the IP was seen unblocked within the last second (not counted here).
# Refresh also reads and rotates its family; login adds the auth tiers, the refund of
# a success and the new family.
KINDS = {
    "posts-anon": (256, 1, 0.5),
    "posts-bearer": (256, 1, 3),
    "create-post": (256, 4, 3),
    "refresh": (1024, 3, 1.5),
    "login": (1024, 6, 0.5),
}

rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
by_group = defaultdict(list)
for row in rows:
    by_group[row["group"]].append(row)

print("### Warm requests (p50 / p99 ms, requests per second)\n")
print("| request | concurrency | Lambda path p50 | p99 | rps | merged server p50 | p99 | rps | errors |")
print("|---|---|---|---|---|---|---|---|---|")
for kind in KINDS:
    lambda_rows = {r["concurrency"]: r for r in by_group.get(f"lambda {kind}", [])}
    merged_rows = {r["concurrency"]: r for r in by_group.get(f"merged {kind}", [])}
    for level in sorted(set(lambda_rows) | set(merged_rows)):
        l, m = lambda_rows.get(level, {}), merged_rows.get(level, {})
        errors = l.get("errors", 0) + m.get("errors", 0)
        print(f"| {kind} | {level} | {l.get('p50_ms', '-')} | {l.get('p99_ms', '-')} | {l.get('rps', '-')} "
              f"| {m.get('p50_ms', '-')} | {m.get('p99_ms', '-')} | {m.get('rps', '-')} | {errors} |")

print("\n### Posts list: API against pgbench on the same statement and replica\n")
print("| concurrency | pgbench tps | merged server rps | fraction | Lambda path rps | fraction |")
print("|---|---|---|---|---|---|")
merged = {r["concurrency"]: r["rps"] for r in by_group.get("merged posts-anon", [])}
lambda_path = {r["concurrency"]: r["rps"] for r in by_group.get("lambda posts-anon", [])}
for row in by_group.get("pgbench posts list", []):
    level, tps = row["concurrency"], float(row["tps"])
    share = lambda rps: f"{rps / tps:.0%}" if tps and rps else "-"
    print(f"| {level} | {tps:.0f} | {merged.get(level, '-')} | {share(merged.get(level))} "
          f"| {lambda_path.get(level, '-')} | {share(lambda_path.get(level))} |")

print("\n### Read-your-writes under a 500 ms replica delay (Lambda path, `load mixed`)\n")
print("| clients | writes | reads after own write | misses | other reads | replica share of reads "
      "| token read p50 / p99 | other read p50 / p99 | write p50 / p99 | errors |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in by_group.get("lambda mixed", []):
    print(f"| {r['concurrency']} | {r['writes']} | {r['reads_after_write']} | {r['misses']} | {r['other_reads']} "
          f"| {r['replica_share']:.1%} | {r['token_read_p50_ms']} / {r['token_read_p99_ms']} "
          f"| {r['other_read_p50_ms']} / {r['other_read_p99_ms']} | {r['write_p50_ms']} / {r['write_p99_ms']} "
          f"| {r['errors']} |")

print("\n### Cold start (process start to first response, ms)\n")
print("| function | median | min | max | status |")
print("|---|---|---|---|---|")
for row in by_group.get("cold start", []):
    print(f"| {row['function']} | {row['median_ms']} | {row['min_ms']} | {row['max_ms']} | {row['status']} |")

print("\n### Size and peak memory\n")
print("| binary | x86_64 release (MiB) | arm64 bootstrap (MiB) | peak RSS after the load (MiB) |")
print("|---|---|---|---|")
sizes = {r["function"]: r["bytes"] for r in by_group.get("size x86_64", [])}
arm = {r["function"]: r["bytes"] for r in by_group.get("size arm64", [])}
rss = defaultdict(int)
for r in by_group.get("rss", []):
    rss[r["process"]] = max(rss[r["process"]], r["peak_rss_kib"])
for name in sorted(set(sizes) | set(rss)):
    mib = lambda b: f"{b / 2**20:.1f}" if b else "-"
    print(f"| {name} | {mib(sizes.get(name))} | {mib(arm.get(name))} | {rss[name] / 1024:.1f} |"
          if name in rss else f"| {name} | {mib(sizes.get(name))} | {mib(arm.get(name))} | - |")

print("\n### Cost per million requests (arm64, us-east-1 list prices)\n")
print("| request | memory MB | billed ms (Lambda p50, c=1) | Lambda compute | Lambda requests | DynamoDB | total |")
print("|---|---|---|---|---|---|---|")
for kind, (memory, writes, reads) in KINDS.items():
    single = [r for r in by_group.get(f"lambda {kind}", []) if r["concurrency"] == 1]
    if not single:
        continue
    billed_ms = max(1, -(-single[0]["p50_ms"] // 1))
    compute = billed_ms / 1000 * memory / 1024 * GB_SECOND * 1e6
    requests = PER_REQUEST * 1e6
    dynamo = (writes * WRITE_UNIT + reads * READ_UNIT) * 1e6
    print(f"| {kind} | {memory} | {billed_ms:.0f} | ${compute:.2f} | ${requests:.2f} | ${dynamo:.2f} "
          f"| ${compute + requests + dynamo:.2f} |")
