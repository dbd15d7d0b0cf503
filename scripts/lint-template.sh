#!/usr/bin/env bash
# cfn-lint on template.yaml as written, then on its offline SAM translation; both
# twice: with the parameters' defaults (no custom domain), and with the optional custom
# domain, its certificate and its Route 53 zone set (a JSON copy with those defaults).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/venv.sh"
PY=$ROOT/.venv/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

lint() { # lint TEMPLATE LABEL
  "$ROOT/.venv/bin/cfn-lint" "$1"
  "$PY" "$ROOT/scripts/sam-translate.py" "$1" "$out/translated.json"
  "$ROOT/.venv/bin/cfn-lint" "$out/translated.json"
  echo "  cfn-lint clean, as written and translated: $2"
}

lint "$ROOT/template.yaml" "template.yaml (defaults: no custom domain)"
"$PY" "$ROOT/scripts/template-defaults.py" "$ROOT/template.yaml" "$out/custom-domain.json" \
  ApiDomainName=api.example.com \
  ApiCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b \
  ApiHostedZoneId=Z0123456789ABCDEFGHIJ
lint "$out/custom-domain.json" "with ApiDomainName, ApiCertificateArn and ApiHostedZoneId set"
echo "template.yaml: cfn-lint clean (as written and translated, without and with the custom domain)"
