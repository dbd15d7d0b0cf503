#!/usr/bin/env bash
# What the server costs (docs/benchmarks.md, "Server cost"). A fresh bench stack with
# no replica delay, the release functions under cargo lambda watch, 200 posts seeded:
#  1. throughput, pinned: the functions, the merged server, PostgreSQL and dynalite on
#     CPU 1, every client on CPU 0; the anonymous posts list at 1, 8 and 32 clients
#     through the Lambda path and the merged server, and pgbench running the same
#     statement on the replica in each protocol (simple, extended, prepared): every
#     cell BENCH_SECONDS (5) long, in BENCH_REPEAT (3) interleaved rounds, medians;
#  2. CPU per request: one 10 s run of 8 clients per kind of request; the CPU time
#     (utime + stime from /proc, children included) of the serving function, the
#     replica's and the writer's PostgreSQL and dynalite during the run, divided by the
#     requests served (unpinned);
#  3. round trips per request: 1,000 requests from one client to a second cargo lambda
#     watch whose functions reach PostgreSQL and DynamoDB through
#     scripts/count_round_trips.py; its counts (round trips, and the HTTP requests and
#     DynamoDB operations among them) less those of the client's own signup, divided
#     by the requests; then the posts list statement alone, 1,000 times through one
#     sqlx connection to the relay, with the pool as it was before the round-trip work
#     (no statement cache, a ping before each acquire) and as it is now (`load
#     list-sqlx`).
# Run after `make bench` (or `cargo build --release --workspace --bins`):
#   scripts/bench-server.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export BH_STACK=bench BH_PG_PORT=55482 BH_PG_REPLICA_PORT=55483 BH_MOTO_PORT=55484 BH_DYNAMODB_PORT=55486
# What a request costs, not read-your-writes under lag (make bench's `load mixed`): with
# the bench stack's 500 ms replay delay a client's reads go to the writer for half a
# second after its signup.
export BH_REPLICA_APPLY_DELAY_MS=0
export PATH=$ROOT/.venv/bin:$PATH
KINDS=${BENCH_KINDS:-posts-anon posts-bearer create-post refresh}
REPEAT=${BENCH_REPEAT:-3}          # rounds of the pinned throughput cells
CELL_SECONDS=${BENCH_SECONDS:-5}   # seconds per throughput cell
OUT=$ROOT/target/bench
for tool in pgbench taskset; do
  command -v $tool >/dev/null || { echo "error: $tool not found (Debian: postgresql-client, util-linux)" >&2; exit 1; }
done
mkdir -p "$OUT"
scripts/stack.sh up --fresh >/dev/null
. "$(scripts/stack.sh env)"
export RATE_LIMIT_GLOBAL_MAX=100000000 RATE_LIMIT_AUTH_MAX=100000000 RATE_LIMIT_WRITE_MAX=100000000
export RATE_LIMIT_SENSITIVE_MAX=100000000 RATE_LIMIT_POST_CREATE_USER_MAX=100000000 RUST_LOG=warn
pids=()
trap 'for p in "${pids[@]}"; do kill -- -$p 2>/dev/null || kill $p 2>/dev/null || true; done; scripts/stack.sh down >/dev/null' EXIT
wait_up() { # wait_up <port>: until the API there answers
  for _ in $(seq 1 120); do curl -fsS -o /dev/null "http://127.0.0.1:$1/api/health?type=live" 2>/dev/null && return; sleep 1; done
}
serve() { # serve <port> <log> [launcher ...]: the release functions under cargo lambda watch
  local port=$1 log=$2
  shift 2
  setsid "$@" cargo lambda watch --release --disable-cors --ignore-changes -A 127.0.0.1 -P "$port" >"$log" 2>&1 &
  pids+=($!)
  wait_up "$port"
}
warm() { # every kind once, so no cold start lands in a measurement
  for kind in $KINDS; do target/release/load "$kind" 1 1 >/dev/null; done
}
ticks() { # total utime+stime (clock ticks) of the given pids and their children
  local total=0 pid p
  for pid in "$@"; do
    for p in $pid $(pgrep -P "$pid" || true); do
      [ -r /proc/$p/stat ] || continue
      set -- $(sed 's/^.*) //' /proc/$p/stat)
      total=$((total + ${12} + ${13}))
    done
  done
  echo $total
}
function_of() { case $1 in posts-*|create-post) echo posts ;; *) echo auth ;; esac; }
served() { python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

port_pid() { ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
pin_servers() { # PostgreSQL (every backend) and dynalite on CPU 1, again as backends come
  for pid in $(pgrep -f "postgres|dynalite|node" || true); do taskset -a -p -c 1 "$pid" >/dev/null 2>&1 || true; done
}

echo "==> throughput, pinned: servers on CPU 1, clients on CPU 0 ($REPEAT rounds, ${CELL_SECONDS} s per cell)"
serve 9060 "$OUT/server-watch.log" taskset -c 1
BH_MERGED_ADDR=127.0.0.1:9070 setsid taskset -c 1 target/release/merged_server >"$OUT/server-merged.log" 2>&1 &
pids+=($!)
wait_up 9070
export BH_API_URL=http://127.0.0.1:9060
target/release/load seed 200 >/dev/null
warm
pin_servers
target/release/load list-sql >"$OUT/list.sql"
for port in 9060 9070; do
  BH_API_URL=http://127.0.0.1:$port taskset -c 0 target/release/load posts-anon 1 1 >/dev/null
done
# Repeated and interleaved (each round runs every cell once), since one run of a cell
# on this shared two-core machine can be off by a third; the report takes medians.
for round in $(seq 1 "$REPEAT"); do
  for c in 1 8 32; do
    for port in 9060 9070; do
      out=$(BH_API_URL=http://127.0.0.1:$port taskset -c 0 target/release/load posts-anon $c "$CELL_SECONDS")
      echo "round $round: $([ $port = 9060 ] && echo "Lambda path" || echo "merged server") c=$c: $out"
    done
    for mode in simple extended prepared; do
      pin_servers
      tps=$(taskset -c 0 pgbench -n -M $mode -f "$OUT/list.sql" -c $c -j $c -T "$CELL_SECONDS" "$DATABASE_URL_REPLICA" 2>/dev/null \
        | awk '/^tps/ {print $3; exit}')
      echo "round $round: pgbench -M $mode c=$c: {\"rps\": ${tps:-0}}"
    done
  done
done | tee "$OUT/server-throughput.txt"
python3 - "$OUT/server-throughput.txt" <<'PY'
import json, re, statistics, sys
cells = {}
for line in open(sys.argv[1]):
    m = re.match(r"round \d+: (.*) c=(\d+): (.*)$", line.strip())
    if m:
        cells.setdefault((m.group(1), int(m.group(2))), []).append(float(json.loads(m.group(3))["rps"]))
print("median requests/s over the rounds (API as a share of pgbench -M extended):")
for (who, c), values in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    share = ""
    if not who.startswith("pgbench"):
        share = f" ({statistics.median(values) / statistics.median(cells[('pgbench -M extended', c)]):.0%})"
    print(f"  c={c:<3} {who:<20} {statistics.median(values):8.0f}{share}   runs: {', '.join(f'{v:.0f}' for v in values)}")
PY
kill -- "-${pids[1]}" 2>/dev/null || true

echo "==> CPU per request (8 clients, 10 s per kind, unpinned)"
for pid in $(pgrep -f "postgres|dynalite|node|target/release|cargo-lambda|cargo lambda" || true); do taskset -a -p -c 0,1 "$pid" >/dev/null 2>&1 || true; done
export BH_API_URL=http://127.0.0.1:9060
writer=$(port_pid "$BH_PG_PORT"); replica=$(port_pid "$BH_PG_REPLICA_PORT"); dyn=$(cat "$BH_STACK_DIR/dynalite.pid")
hz=$(getconf CLK_TCK)
for kind in $KINDS; do
  fn=$(pgrep -f "target/release/$(function_of "$kind")$" | head -1)
  before="$(ticks "$fn") $(ticks "$replica") $(ticks "$writer") $(ticks "$dyn")"
  n=$(target/release/load "$kind" 8 10 | served)
  after="$(ticks "$fn") $(ticks "$replica") $(ticks "$writer") $(ticks "$dyn")"
  python3 - "$kind" "$n" "$hz" "$before" "$after" <<'PY'
import sys
kind, n, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
used = [a - b for a, b in zip(map(int, sys.argv[5].split()), map(int, sys.argv[4].split()))]
ms = [f"{t * 1000 / hz / n:.3f}" for t in used]
print(f"{kind}: {n} requests; CPU ms per request: function {ms[0]}, replica {ms[1]}, writer {ms[2]}, dynalite {ms[3]}")
PY
done
kill -- "-${pids[0]}" 2>/dev/null || true

echo "==> round trips per request (1 client, 1,000 requests per kind, through the counting relay)"
counts=$OUT/round-trips.json
# Below 32768: no client socket is ever given one of these ports by the kernel.
python3 scripts/count_round_trips.py "$counts" \
  "31492:$BH_PG_PORT:writer" "31493:$BH_PG_REPLICA_PORT:replica" "31496:$BH_DYNAMODB_PORT:dynamodb" &
pids+=($!)
sleep 1
DATABASE_URL=${DATABASE_URL/:$BH_PG_PORT\//:31492\/} DATABASE_URL_REPLICA=${DATABASE_URL_REPLICA/:$BH_PG_REPLICA_PORT\//:31493\/} \
  AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:31496 serve 9061 "$OUT/per-request-counted.log"
export BH_API_URL=http://127.0.0.1:9061
warm
for kind in $KINDS; do
  # Each run first signs its client up; a run of no requests counts that part alone.
  c0=$(cat "$counts")
  target/release/load "$kind" 1 120 0 >/dev/null
  sleep 0.3 # the relay writes its totals at most every 100 ms
  c1=$(cat "$counts")
  n=$(target/release/load "$kind" 1 120 1000 | served)
  sleep 0.3
  python3 - "$kind" "$n" "$c0" "$c1" "$(cat "$counts")" <<'PY'
import json, sys
kind, n = sys.argv[1], int(sys.argv[2])
c0, c1, c2 = (json.loads(a) for a in sys.argv[3:6])
def per(name, get):
    return ((get(c2[name]) - get(c1[name])) - (get(c1[name]) - get(c0[name]))) / n
trips = lambda name: per(name, lambda c: c["round_trips"])
ops = {op: per("dynamodb", lambda c: c["operations"].get(op, 0)) for op in c2["dynamodb"]["operations"]}
ops = ", ".join(f"{op} {v:.2f}" for op, v in sorted(ops.items()) if round(v, 2))
print(f"{kind}: {n} requests; per request: writer {trips('writer'):.2f} round trips, "
      f"replica {trips('replica'):.2f}, DynamoDB {per('dynamodb', lambda c: c['http_requests']):.2f} calls ({ops or 'none'})")
PY
done
for mode in before now; do
  before=$(cat "$counts")
  DATABASE_URL_REPLICA=${DATABASE_URL_REPLICA/:$BH_PG_REPLICA_PORT\//:31493\/} target/release/load list-sqlx "$mode" 1000 >/dev/null
  sleep 0.3
  python3 - "$mode" "$before" "$(cat "$counts")" <<'PY'
import json, sys
mode, before, after = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"posts list statement, sqlx pool as {mode}: "
      f"{(after['replica']['round_trips'] - before['replica']['round_trips']) / 1000:.2f} round trips per statement")
PY
done
