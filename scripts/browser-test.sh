#!/usr/bin/env bash
# The browser test (make test): examples/web driven by Debian's headless Chromium via
# playwright-core (tests/browser). Installs what it lacks: Chromium from Debian's
# packages (as root), playwright-core from the npm registry (pinned by the lock file;
# it never downloads a browser). Needs the API at BH_API_URL.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[browser] installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: no Chromium at $CHROMIUM; install it (Debian: sudo apt-get install chromium) or set CHROMIUM" >&2
    exit 1
  fi
fi
command -v npm >/dev/null || { echo "error: npm not found (Debian: apt-get install nodejs npm)" >&2; exit 1; }

cd "$ROOT/tests/browser"
if [ ! -d node_modules/playwright-core ]; then
  echo "[browser] installing playwright-core (npm ci)"
  npm ci --no-audit --no-fund --silent
fi
CHROMIUM=$CHROMIUM node browser.test.mjs
