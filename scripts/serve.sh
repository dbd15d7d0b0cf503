#!/usr/bin/env bash
# Serves every function through `cargo lambda watch`, with the real /api paths mapped
# by [workspace.metadata.lambda.watch.router] in Cargo.toml.
#
#   scripts/serve.sh            foreground (make dev); Ctrl-C stops it
#   scripts/serve.sh --detach   background, returns once the API answers (make test)
#   scripts/serve.sh --kill     stops a detached server
#
# The stack's env file must exist (scripts/stack.sh up). Port: BH_API_PORT.
# A second server beside the first (make test serves one with the default limits):
# BH_SERVE_NAME names its pid and log files ($BH_STACK_DIR/<name>.pid, .log; default
# watch), BH_WATCH_CONCURRENCY the instances per function (default 1; Lambda runs
# many, and races between them only show with more than one).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ENV_FILE=$(scripts/stack.sh env)
[ -f "$ENV_FILE" ] || { echo "error: no stack env at $ENV_FILE; run scripts/stack.sh up first" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENV_FILE"
PORT=${BH_API_PORT:-$([ "$BH_STACK" = test ] && echo 9010 || echo 9000)}
NAME=${BH_SERVE_NAME:-watch}
PIDFILE=$BH_STACK_DIR/$NAME.pid
LOG=$BH_STACK_DIR/$NAME.log
export PATH=$ROOT/.venv/bin:$PATH

stop() {
  if [ -f "$PIDFILE" ]; then
    kill -- "-$(cat "$PIDFILE")" 2>/dev/null || true
    rm -f "$PIDFILE"
  fi
}

# Built first so the first request does not wait for a compile.
build() { cargo build --quiet --workspace --bins; }

urls() {
  printf '%s\n' \
    "Blue Harvest API served by cargo lambda watch:" \
    "  http://127.0.0.1:$PORT/api/health" \
    "  http://127.0.0.1:$PORT/api/health?type=live" \
    "  http://127.0.0.1:$PORT/api/health?type=ready" \
    "  http://127.0.0.1:$PORT/api/auth/signup   (POST; login, refresh, 2fa/... beside it)" \
    "  http://127.0.0.1:$PORT/api/csrf-token" \
    "  http://127.0.0.1:$PORT/.well-known/jwks.json" \
    "  http://127.0.0.1:$PORT/api/admin/...     (admin role)" \
    "Each function also answers at http://127.0.0.1:$PORT/lambda-url/<function>/..."
}

# Its own CORS off: the functions' CORS is what is served and tested.
watch=(cargo lambda watch --disable-cors --ignore-changes -A 127.0.0.1 -P "$PORT" --concurrency "${BH_WATCH_CONCURRENCY:-1}")

case ${1:-} in
  --kill) stop ;;
  --detach)
    stop
    if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
      echo "error: port $PORT is already in use (another cargo lambda watch?); set BH_API_PORT or stop it" >&2
      exit 1
    fi
    build
    setsid "${watch[@]}" >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 300); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/health?type=live" 2>/dev/null; then
        urls
        exit 0
      fi
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
      sleep 1
    done
    echo "error: the API did not answer within 300 s; see $LOG" >&2
    exit 1
    ;;
  "")
    build
    urls
    exec "${watch[@]}"
    ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
