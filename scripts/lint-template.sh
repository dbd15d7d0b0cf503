#!/usr/bin/env bash
# cfn-lint on template.yaml as written, then on its offline SAM translation.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/venv.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$ROOT/.venv/bin/cfn-lint" "$ROOT/template.yaml"
"$ROOT/.venv/bin/python" "$ROOT/scripts/sam-translate.py" "$ROOT/template.yaml" "$out/translated.json"
"$ROOT/.venv/bin/cfn-lint" "$out/translated.json"
echo "template.yaml: cfn-lint clean (as written and translated)"
