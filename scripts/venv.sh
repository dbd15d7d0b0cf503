#!/usr/bin/env bash
# Creates .venv with the stack's Python tools on first use, and again whenever
# scripts/requirements.txt changes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=$ROOT/.venv
REQ=$ROOT/scripts/requirements.txt
stamp=$VENV/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi

command -v python3 >/dev/null || { echo "error: python3 not found. Install it with: apt-get install python3 python3-venv" >&2; exit 1; }
echo "[venv] installing the stack's Python tools into .venv (first use only)"
python3 -m venv "$VENV" || { echo "error: python3 cannot create a venv. Install it with: apt-get install python3-venv" >&2; exit 1; }
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
echo "$want" >"$stamp"
