#!/usr/bin/env bash
# Serves every function through `cargo lambda watch`, with the real /api paths mapped
# by [workspace.metadata.lambda.watch.router] in Cargo.toml.
#
#   scripts/serve.sh            foreground (make dev); Ctrl-C stops it
#   scripts/serve.sh --detach   background, returns once the API answers (make test)
#   scripts/serve.sh --kill     stops a detached server
#
# The stack's env file must exist (scripts/stack.sh up). Port: BH_API_PORT.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ENV_FILE=$(scripts/stack.sh env)
[ -f "$ENV_FILE" ] || { echo "error: no stack env at $ENV_FILE; run scripts/stack.sh up first" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENV_FILE"
PORT=${BH_API_PORT:-$([ "$BH_STACK" = test ] && echo 9010 || echo 9000)}
PIDFILE=$BH_STACK_DIR/watch.pid
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
watch=(cargo lambda watch --disable-cors --ignore-changes -A 127.0.0.1 -P "$PORT")

case ${1:-} in
  --kill) stop ;;
  --detach)
    stop
    if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
      echo "error: port $PORT is already in use (another cargo lambda watch?); set BH_API_PORT or stop it" >&2
      exit 1
    fi
    build
    setsid "${watch[@]}" >"$BH_STACK_DIR/watch.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 300); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/health?type=live" 2>/dev/null; then
        urls
        exit 0
      fi
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { cat "$BH_STACK_DIR/watch.log" >&2; exit 1; }
      sleep 1
    done
    echo "error: the API did not answer within 300 s; see $BH_STACK_DIR/watch.log" >&2
    exit 1
    ;;
  "")
    build
    urls
    exec "${watch[@]}"
    ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
