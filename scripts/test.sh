#!/usr/bin/env bash
# Everything `make test` runs, in order, on a fresh 'test' stack that is torn down at
# the end whatever happens. Exits non-zero on the first failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export BH_STACK=test
export PATH=$ROOT/.venv/bin:$PATH

step() { printf '\n==> %s\n' "$*"; }

teardown() {
  status=$?
  step "tearing the test stack down"
  scripts/serve.sh --kill || true
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

step "template.yaml: cfn-lint, as written and after SAM translation"
scripts/lint-template.sh

step "GitHub workflows: actionlint"
scripts/lint-workflows.sh

step "serving every function through cargo lambda watch"
# A short reuse interval lets the replay test wait seconds, not the default 10.
export REFRESH_REUSE_INTERVAL_SECONDS=2
# The suites send hundreds of requests from 127.0.0.1; the limits themselves are tested
# in-process with low values and their own client IPs (shared/tests/rate_limits.rs).
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
export BH_API_URL=http://127.0.0.1:${BH_API_PORT:-9010}

step "cargo lambda invoke with events/apigw-health.json"
cargo lambda invoke health -A 127.0.0.1 -P "${BH_API_PORT:-9010}" --data-file events/apigw-health.json -o json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["statusCode"]==200, r; print("  invoke: 200, status", json.loads(r["body"])["status"])'

step "cargo lambda invoke partitions with events/scheduled-partitions.json"
cargo lambda invoke partitions -A 127.0.0.1 -P "${BH_API_PORT:-9010}" --data-file events/scheduled-partitions.json -o json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r.get("skipped") is None and "created" in r, r; print("  partitions:", r["created"], "default rows:", r["rowsInDefault"])'

step "integration and end-to-end tests"
cargo test --workspace --test '*' -- --skip serial_ --skip final_

step "contract: schemathesis against openapi.yaml, every operation"
scripts/contract-test.sh

step "browser: app.blueharvest.test + api.blueharvest.test over TLS (one site), nothing readable or credentialed from evil.test"
scripts/browser-test.sh

step "serial end-to-end tests (stop servers, rotate keys, count statements): every test named serial_*"
cargo test --workspace --test '*' -- serial_ --skip serial_fault_ --test-threads=1

step "fault injection under steady mixed traffic: replica, writer, moto stopped and restarted"
cargo test -p api-tests --test fault_injection -- serial_fault_ --test-threads=1 --nocapture

step "log scan: no secrets, tokens, cookies or unmasked emails in the logs of this run"
cargo test -p api-tests --test log_scan -- final_ --nocapture
