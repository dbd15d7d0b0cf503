#!/usr/bin/env bash
# `make bench`: every benchmark of docs/benchmarks.md on a fresh 'bench' stack, torn
# down at the end. Results (JSON lines and a Markdown summary) go to target/bench/;
# docs/benchmarks.md quotes them with the machine and the date.
#
#   BENCH_SECONDS   seconds per load run (default 10)
#   BENCH_LEVELS    concurrency levels for the reads and writes (default "1 8 32")
#   BENCH_ARM64=1   also cross-build the arm64 release bootstraps (cargo lambda + zig)
#                   and report their sizes (slow: a full LTO build per function)
#   BH_LOCAL_DYNAMODB=moto   DynamoDB on moto instead of dynalite (the stack's default),
#                   to compare the two emulators
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export BH_STACK=bench BH_PG_PORT=55482 BH_PG_REPLICA_PORT=55483 BH_MOTO_PORT=55484 BH_DYNAMODB_PORT=55486
export PATH=$ROOT/.venv/bin:$PATH
SECONDS_EACH=${BENCH_SECONDS:-10}
LEVELS=${BENCH_LEVELS:-1 8 32}
OUT=$ROOT/target/bench
LAMBDA_PORT=9060 MERGED_PORT=9070
mkdir -p "$OUT"
: >"$OUT/results.jsonl"

step() { printf '\n==> %s\n' "$*"; }
record() { # record <group> <json line>: tags a result and keeps it
  python3 -c 'import json,sys; r=json.loads(sys.argv[2]); r["group"]=sys.argv[1]; print(json.dumps(r))' "$1" "$2" \
    | tee -a "$OUT/results.jsonl"
}

pids=()
teardown() {
  status=$?
  step "tearing the bench stack down"
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  scripts/stack.sh down >/dev/null || true
  exit "$status"
}

if ! command -v pgbench >/dev/null; then
  echo "error: pgbench not found (Debian: apt-get install postgresql-contrib-15 or postgresql-client)" >&2
  exit 1
fi

step "release build of every function, the merged server and the load generator"
cargo build --release --quiet --workspace --bins

trap teardown EXIT
step "fresh bench stack"
scripts/stack.sh up --fresh
# shellcheck disable=SC1090
. "$(scripts/stack.sh env)"
# The load would otherwise meet the rate limits it is not measuring.
export RATE_LIMIT_GLOBAL_MAX=100000000 RATE_LIMIT_AUTH_MAX=100000000 RATE_LIMIT_WRITE_MAX=100000000
export RATE_LIMIT_SENSITIVE_MAX=100000000 RATE_LIMIT_POST_CREATE_USER_MAX=100000000
export RATE_LIMIT_POST_CREATE_MODERATOR_MAX=100000000 RATE_LIMIT_POST_CREATE_ADMIN_MAX=100000000
export RUST_LOG=warn

step "serving: cargo lambda watch (release) on :$LAMBDA_PORT, merged server on :$MERGED_PORT"
setsid cargo lambda watch --release --disable-cors --ignore-changes -A 127.0.0.1 -P "$LAMBDA_PORT" \
  >"$OUT/watch.log" 2>&1 &
pids+=($!)
BH_MERGED_ADDR=127.0.0.1:$MERGED_PORT setsid target/release/merged_server >"$OUT/merged.log" 2>&1 &
pids+=($!)
for port in $LAMBDA_PORT $MERGED_PORT; do
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/api/health?type=live" 2>/dev/null && break
    sleep 1
  done
done

step "seeding 500 posts"
BH_API_URL=http://127.0.0.1:$MERGED_PORT target/release/load seed 500

step "warm requests: both paths, each kind, each concurrency level (${SECONDS_EACH}s each)"
for path in lambda merged; do
  port=$([ $path = lambda ] && echo $LAMBDA_PORT || echo $MERGED_PORT)
  export BH_API_URL=http://127.0.0.1:$port
  # Warm every function once so no cold start lands in a measurement.
  target/release/load posts-bearer 1 1 >/dev/null
  target/release/load create-post 1 1 >/dev/null
  target/release/load refresh 1 1 >/dev/null
  for kind in posts-anon posts-bearer create-post refresh; do
    for level in $LEVELS; do
      record "$path $kind" "$(target/release/load $kind "$level" "$SECONDS_EACH")"
    done
  done
  # argon2id takes 64 MiB and ~150 ms of one core per login: two cores, low levels.
  for level in 1 2 4; do
    record "$path login" "$(target/release/load login "$level" "$SECONDS_EACH")"
  done
done

step "read-your-writes: 90 % reads, 10 % writes each read back at once, replica 500 ms behind"
export BH_API_URL=http://127.0.0.1:$LAMBDA_PORT
for level in $LEVELS; do
  record "lambda mixed" "$(target/release/load mixed "$level" "$SECONDS_EACH")"
done

step "peak memory (VmHWM) of each process after the load"
for exe in health auth admin accounts profiles posts comments reports merged_server; do
  for pid in $(pgrep -f "target/release/$exe\$" || true); do
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    record "rss" "{\"process\": \"$exe\", \"peak_rss_kib\": $hwm}"
  done
done

step "the posts list statement through pgbench on the replica (${SECONDS_EACH}s per level)"
target/release/load list-sql >"$OUT/list.sql"
for level in $LEVELS; do
  tps=$(pgbench -n -f "$OUT/list.sql" -c "$level" -j "$level" -T "$SECONDS_EACH" "$DATABASE_URL_REPLICA" 2>/dev/null \
    | awk '/^tps/ {print $3; exit}')
  record "pgbench posts list" "{\"concurrency\": $level, \"tps\": ${tps:-0}}"
done

step "limiter against one bare DynamoDB call (in-process, 500 requests)"
cargo run --release --quiet -p shared --example limiter_latency 500 | tee "$OUT/limiter.txt"

step "identity layer against the one GetItem it replaced (in-process, 500 calls each)"
cargo run --release --quiet -p shared --example identity_latency 500 | tee "$OUT/identity.txt"

step "cold starts: process start to first response, 7 runs per function"
token=$(BH_API_URL=http://127.0.0.1:$MERGED_PORT python3 - <<'EOF'
import json, os, urllib.request, uuid
base = os.environ["BH_API_URL"]
n = uuid.uuid4().hex[:12]
body = json.dumps({"username": f"cold_{n}", "email": f"c{n}@example.com", "password": f"tidal orchid {n} lantern"}).encode()
request = urllib.request.Request(base + "/api/auth/signup", data=body, headers={"content-type": "application/json"})
print(json.load(urllib.request.urlopen(request))["accessToken"])
EOF
)
python3 scripts/bench_coldstart.py "$token" 7 | while read -r line; do record "cold start" "$line"; done

step "x86_64 release binary sizes"
for exe in health auth admin accounts profiles posts comments reports partitions migrate key-rotation; do
  record "size x86_64" "{\"function\": \"$exe\", \"bytes\": $(stat -c %s "target/release/$exe")}"
done
if [ "${BENCH_ARM64:-0}" = 1 ]; then
  step "arm64 release bootstraps (scripts/build.sh: every function, one cargo lambda build)"
  scripts/build.sh
  for boot in "${CARGO_TARGET_DIR:-target}"/lambda/*/bootstrap; do
    exe=$(basename "$(dirname "$boot")")
    record "size arm64" "{\"function\": \"$exe\", \"bytes\": $(stat -c %s "$boot")}"
  done
fi

step "criterion microbenchmarks"
cargo bench --quiet -p shared --bench auth --bench content 2>&1 | grep -E "^[a-z].*time:|time:" | tee "$OUT/criterion.txt"

python3 scripts/bench_report.py "$OUT/results.jsonl" >"$OUT/report.md"
echo
echo "results: $OUT/results.jsonl (one JSON line per measurement), tables: $OUT/report.md"
