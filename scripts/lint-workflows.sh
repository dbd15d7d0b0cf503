#!/usr/bin/env bash
# actionlint on .github/workflows/*.yml (syntax, expressions, action inputs, and the
# run: scripts through shellcheck when shellcheck is installed).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/venv.sh"
ACTIONLINT=$ROOT/.venv/bin/actionlint
[ -x "$ACTIONLINT" ] || { echo "error: $ACTIONLINT missing; delete .venv and run again (scripts/requirements.txt)" >&2; exit 1; }

shopt -s nullglob
files=(.github/workflows/*.yml .github/workflows/*.yaml)
[ ${#files[@]} -gt 0 ] || { echo "error: no workflow files in .github/workflows/" >&2; exit 1; }

args=()
if command -v shellcheck >/dev/null; then
  shellcheck_note="with shellcheck"
else
  args+=(-shellcheck=)   # empty: shellcheck integration off
  shellcheck_note="shellcheck not installed: run: scripts not checked"
fi
# Only actionlint and shellcheck: no other linters of run: scripts from PATH.
args+=(-pyflakes=)
"$ACTIONLINT" "${args[@]}" "${files[@]}"
echo "GitHub workflows: actionlint clean (${#files[@]} files; $shellcheck_note)"
