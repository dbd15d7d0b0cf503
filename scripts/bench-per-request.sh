#!/usr/bin/env bash
# Server CPU per request, by process (docs/benchmarks.md, "Server CPU per request"):
# a fresh bench stack, the release functions under cargo lambda watch, then one 10 s
# load run (8 clients) of the anonymous and the bearer posts list; CPU time (utime +
# stime from /proc, children included) of the posts function, the replica's
# PostgreSQL and dynalite, divided by the requests served. Run after `make bench`
# (or `cargo build --release --workspace --bins`): scripts/bench-cpu.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export BH_STACK=bench BH_PG_PORT=55482 BH_PG_REPLICA_PORT=55483 BH_MOTO_PORT=55484
export PATH=$ROOT/.venv/bin:$PATH
scripts/stack.sh up --fresh >/dev/null
. "$(scripts/stack.sh env)"
export RATE_LIMIT_GLOBAL_MAX=100000000 RATE_LIMIT_AUTH_MAX=100000000 RATE_LIMIT_WRITE_MAX=100000000
export RATE_LIMIT_SENSITIVE_MAX=100000000 RATE_LIMIT_POST_CREATE_USER_MAX=100000000 RUST_LOG=warn
mkdir -p target/bench
setsid cargo lambda watch --release --disable-cors --ignore-changes -A 127.0.0.1 -P 9060 >target/bench/cpu-watch.log 2>&1 &
watch=$!
trap 'kill -- -$watch 2>/dev/null || true; scripts/stack.sh down >/dev/null' EXIT
for _ in $(seq 1 120); do curl -fsS -o /dev/null http://127.0.0.1:9060/api/health?type=live 2>/dev/null && break; sleep 1; done
export BH_API_URL=http://127.0.0.1:9060
target/release/load seed 200 >/dev/null
target/release/load posts-anon 1 2 >/dev/null
target/release/load posts-bearer 1 2 >/dev/null
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
posts=$(pgrep -f "target/release/posts$" | head -1)
replica=$(ss -ltnpH "sport = :55483" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
dyn=$(cat "$BH_STACK_DIR/dynalite.pid")
hz=$(getconf CLK_TCK)
for kind in posts-anon posts-bearer; do
  b_posts=$(ticks $posts); b_rep=$(ticks $replica); b_dyn=$(ticks $dyn)
  out=$(target/release/load $kind 8 10)
  a_posts=$(ticks $posts); a_rep=$(ticks $replica); a_dyn=$(ticks $dyn)
  n=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
  python3 - "$kind" "$n" "$hz" $((a_posts-b_posts)) $((a_rep-b_rep)) $((a_dyn-b_dyn)) <<'PY'
import sys
kind, n, hz, posts, rep, dyn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *map(int, sys.argv[4:])
ms = lambda t: t * 1000 / hz / n
print(f"{kind}: {n} requests; CPU per request: posts function {ms(posts):.3f} ms, replica PostgreSQL {ms(rep):.3f} ms, dynalite {ms(dyn):.3f} ms")
PY
done
