#!/usr/bin/env bash
# cargo deny check (advisories, bans, licenses, sources), offline when it can be.
# With the team's RustSec snapshot beside the checkout (../shared/advisory-db) the
# advisory database is made from it and the check runs with --offline; elsewhere
# cargo-deny fetches the database as usual.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DENY_VERSION=0.20.2

if ! cargo deny --version 2>/dev/null | grep -qF "$DENY_VERSION"; then
  echo "[deny] installing cargo-deny $DENY_VERSION (first use only, a few minutes)"
  cargo install --locked --quiet cargo-deny --version "$DENY_VERSION"
fi

SNAPSHOT_TOOL=$ROOT/../shared/tools/advisory-db-setup
if [ -x "$SNAPSHOT_TOOL" ]; then
  # The folder name is the one cargo-deny derives from its default advisory-db URL.
  "$SNAPSHOT_TOOL" "$ROOT/.tools/advisory-dbs/advisory-db-3157b0e258782691" >/dev/null
  # --offline also keeps cargo metadata offline: fetch every target's crates first.
  cargo fetch --quiet
  cargo deny --offline check
else
  cargo deny check
fi
