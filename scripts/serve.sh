#!/usr/bin/env bash
# Serves every function through `cargo lambda watch`, with the real /api paths mapped
# by [workspace.metadata.lambda.watch.router] in Cargo.toml, and the mail poller
# (scripts/mail.py poll: the mail queue's event source and the outbox-relay schedule).
#
#   scripts/serve.sh            foreground (make dev); Ctrl-C stops it. Also serves
#                               examples/web on :BH_WEB_PORT (3000), where mailed links
#                               point, and writes each mail sent to .stack/dev/mail/
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
# The mail poller and examples/web belong to the first server (a second one shares
# its stack, queue and mail directory).
POLLER_PIDFILE=$BH_STACK_DIR/mail-poller.pid
WEB_PIDFILE=$BH_STACK_DIR/web.pid
WEB_PORT=${BH_WEB_PORT:-3000}
export PATH=$ROOT/.venv/bin:$PATH

kill_group() { # kill_group PIDFILE
  if [ -f "$1" ]; then
    kill -- "-$(cat "$1")" 2>/dev/null || true
    rm -f "$1"
  fi
}

stop() {
  kill_group "$PIDFILE"
  if [ "$NAME" = watch ]; then
    kill_group "$POLLER_PIDFILE"
    kill_group "$WEB_PIDFILE"
  fi
}

# The mail queue's event source and the outbox-relay schedule, against this server.
# make dev: its lines (mails sent, their links) in the terminal, mails under mail/.
start_poller() {
  kill_group "$POLLER_PIDFILE"
  if [ "$BH_STACK" = dev ]; then
    BH_API_PORT=$PORT setsid python3 -u scripts/mail.py poll --mail-dir "$BH_STACK_DIR/mail" &
  else
    BH_API_PORT=$PORT setsid python3 -u scripts/mail.py poll >>"$BH_STACK_DIR/mail-poller.log" 2>&1 &
  fi
  echo $! >"$POLLER_PIDFILE"
}

# examples/web, where the mailed links point (account.html).
start_web() {
  kill_group "$WEB_PIDFILE"
  if curl -s -o /dev/null "http://127.0.0.1:$WEB_PORT/" 2>/dev/null; then
    echo "note: port $WEB_PORT is in use; examples/web is not served (set BH_WEB_PORT)" >&2
    return
  fi
  setsid python3 -m http.server "$WEB_PORT" --bind 127.0.0.1 -d examples/web >/dev/null 2>&1 &
  echo $! >"$WEB_PIDFILE"
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
    "Each function also answers at http://127.0.0.1:$PORT/lambda-url/<function>/..." \
    "Mail: the poller drains the mail queue into the mailer; every mail SES sends is" \
    "  written to $BH_STACK_DIR/mail/ and its links printed here (or: make mail)" \
    "  links open http://127.0.0.1:$WEB_PORT/account.html (examples/web)"
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
        [ "$NAME" != watch ] || start_poller
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
    trap stop EXIT
    start_poller
    start_web
    urls
    "${watch[@]}"
    ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
