#!/usr/bin/env bash
# Everything `make test` runs, in order, on a fresh 'test' stack that is torn down at
# the end whatever happens. Exits non-zero on the first failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export BH_STACK=test
# The API's port: scripts/serve.sh serves the test stack there (BH_API_PORT, else 9010).
API_PORT=${BH_API_PORT:-9010}
export PATH=$ROOT/.venv/bin:$PATH

step() { printf '\n==> %s\n' "$*"; }

teardown() {
  status=$?
  step "tearing the test stack down"
  scripts/serve.sh --kill || true
  BH_SERVE_NAME=watch-defaults scripts/serve.sh --kill || true
  if [ "$status" != 0 ] && [ -n "${BH_STACK_DIR:-}" ] && [ -d "$BH_STACK_DIR" ]; then
    # The stack's data goes with it: keep its logs, and show what the functions
    # answered with 5xx or logged as errors, which a failed test's message may not say.
    mkdir -p target/test-logs
    cp "$BH_STACK_DIR"/*.log target/test-logs/ 2>/dev/null || true
    step "the run failed: server errors and 5xx answers logged (all logs kept in target/test-logs/)"
    grep -h -E '"level":"ERROR"|"status":5[0-9][0-9]' "$BH_STACK_DIR"/watch*.log 2>/dev/null | tail -40 | cut -c1-1000 || true
  fi
  scripts/stack.sh down || true
  exit "$status"
}

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy --quiet --workspace --all-targets -- -D warnings

step "supply chain (cargo deny)"
scripts/deny.sh

step "unit tests (no stack needed)"
cargo test --quiet --workspace --lib --bins

step "fresh local stack"
trap teardown EXIT
scripts/stack.sh up --fresh
# shellcheck disable=SC1090
. "$(scripts/stack.sh env)"

step "compile-checked SQL: .sqlx/ is what this schema gives the query! statements"
scripts/sqlx-data.sh check

step "template.yaml: cfn-lint (every documented parameter combination, as written and translated), then checkov"
scripts/lint-template.sh

step "GitHub workflows: actionlint"
scripts/lint-workflows.sh

step "serving every function again with the default limits, for the attack suites"
# tests/tests/api/account_security.rs attacks as an outsider would: the default rate
# limits, backoffs and block ladder, several instances per function (as Lambda runs
# them, so races between instances can show), and a client address per test through
# X-Forwarded-For, believed from loopback only on this server.
DEFAULTS_PORT=${BH_DEFAULTS_API_PORT:-$(( ${BH_API_PORT:-9010} + 1 ))}
BH_SERVE_NAME=watch-defaults BH_API_PORT=$DEFAULTS_PORT BH_WATCH_CONCURRENCY=8 \
  TRUSTED_PROXIES=127.0.0.1/32 scripts/serve.sh --detach
export BH_DEFAULTS_API_URL=http://127.0.0.1:$DEFAULTS_PORT

step "serving every function through cargo lambda watch"
# A short reuse interval lets the replay test wait seconds, not the default 10.
export REFRESH_REUSE_INTERVAL_SECONDS=2
# The suites send hundreds of requests from 127.0.0.1; the limits themselves are tested
# in-process with low values and their own client IPs (tests/tests/api/rate_limits.rs).
export RATE_LIMIT_GLOBAL_MAX=1000000 RATE_LIMIT_AUTH_MAX=1000000 RATE_LIMIT_WRITE_MAX=1000000 RATE_LIMIT_SENSITIVE_MAX=1000000
export RATE_LIMIT_MAIL_MAX=1000000 RATE_LIMIT_MAIL_ADDRESS_MAX=1000000
export RATE_LIMIT_POST_CREATE_USER_MAX=1000000 RATE_LIMIT_POST_CREATE_MODERATOR_MAX=1000000 RATE_LIMIT_POST_CREATE_ADMIN_MAX=1000000
# The failover and fault suites stop dependencies; open breakers try again after 2 s,
# not 60, so recovery is seen within the suites' patience.
export BREAKER_OPEN_SECONDS=2
# The rotation suite waits for the functions to see a rotated key set.
export SECRETS_CACHE_TTL_SECONDS=2
# The mail queue suite waits for a failing message to exhaust its receives: retries
# after 1 s, then 2 s (not 30 s doubling); the outbox relay (the poller plays its
# schedule) runs every 2 s for rows older than 2 s (not every minute, older than 60 s).
export MAIL_RETRY_BASE_SECONDS=1 MAIL_RETRY_MAX_SECONDS=2
export OUTBOX_RELAY_AFTER_SECONDS=2 BH_OUTBOX_RELAY_EVERY_SECONDS=2
scripts/serve.sh --detach
export BH_API_URL=http://127.0.0.1:$API_PORT

step "cargo lambda invoke with events/apigw-health.json"
cargo lambda invoke health -A 127.0.0.1 -P "$API_PORT" --data-file events/apigw-health.json -o json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["statusCode"]==200, r; print("  invoke: 200, status", json.loads(r["body"])["status"])'

step "cargo lambda invoke health with events/apigw-health-ready.json (what the pre-traffic hook sends a new version)"
cargo lambda invoke health -A 127.0.0.1 -P "$API_PORT" --data-file events/apigw-health-ready.json -o json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["statusCode"]==200, r; print("  invoke: 200, ready")'

step "cargo lambda invoke partitions with events/scheduled-partitions.json"
cargo lambda invoke partitions -A 127.0.0.1 -P "$API_PORT" --data-file events/scheduled-partitions.json -o json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r.get("skipped") is None and "created" in r and isinstance(r.get("activeAccounts"), int), r; print("  partitions:", r["created"], "default rows:", r["rowsInDefault"], "active accounts:", r["activeAccounts"])'

step "post-deploy smoke test against the served API (scripts/smoke-test.py, as deploy.yml runs it on a stage)"
python3 scripts/smoke-test.py "$BH_API_URL"

# Every integration and end-to-end suite is one test binary, `api` (tests/tests/api/),
# run in steps by test name.
step "integration and end-to-end tests"
cargo test -p api-tests --test api -- --skip serial_ --skip final_

step "contract: schemathesis against openapi.yaml, every operation, as a user, a moderator and a stepped-up admin"
scripts/contract-test.sh

step "browser: the session flow from an allowed origin, nothing readable from another"
scripts/browser-test.sh

step "serial end-to-end tests (stop servers, restart the AWS emulators, rotate keys, count statements): every test named serial_*"
cargo test -p api-tests --test api -- serial_ --skip serial_fault_ --test-threads=1

step "fault injection under steady mixed traffic: replica, writer, DynamoDB and Secrets Manager stopped and restarted"
cargo test -p api-tests --test api -- serial_fault_ --test-threads=1 --nocapture

step "log scan: no secrets, tokens, cookies or unmasked emails in the logs of this run"
cargo test -p api-tests --test api -- final_ --nocapture

step "alerts: template.yaml's metric filters over this run's log; every critical event of the run matched, each type alarmed"
python scripts/check-alerts.py "$BH_STACK_DIR/watch.log"

step "dashboard: every widget and alarm names an emitted metric (sources and this run's EMF lines); rendered to target/dashboard/"
python scripts/dashboard.py --check "$BH_STACK_DIR/watch.log"
python scripts/dashboard.py --out target/dashboard/index.html "$BH_STACK_DIR/watch.log"
