#!/usr/bin/env bash
# template.yaml, statically: cfn-lint on the template as written and on its offline SAM
# translation, for every parameter combination the README documents (a JSON copy with
# those parameters' defaults set: scripts/template-defaults.py); then checkov, the
# infrastructure-as-code security scanner, on the template as written and translated,
# failing on any finding the template does not skip with a stated reason
# (scripts/checkov-report.py).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/venv.sh"
PY=$ROOT/.venv/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The parameter combinations of README "Deploying" (LABEL|NAME=VALUE ...).
CERT=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b
combinations=(
  "defaults (no custom domain, no alert e-mail, password auth at the proxy, canary deployments)|"
  "custom domain without a Route 53 zone, alert e-mail|ApiDomainName=api.example.com ApiCertificateArn=$CERT AlertEmail=ops@example.com"
  "custom domain with its Route 53 zone, IAM auth required at the proxy, linear deployments, 50 instances per function|ApiDomainName=api.example.com ApiCertificateArn=$CERT ApiHostedZoneId=Z0123456789ABCDEFGHIJ DbIamAuth=REQUIRED DeploymentType=Linear10PercentEvery1Minute ApiFunctionConcurrency=50"
  "all at once deployments|DeploymentType=AllAtOnce"
)

i=0
for combination in "${combinations[@]}"; do
  i=$((i + 1))
  label=${combination%%|*}
  read -r -a assignments <<<"${combination#*|}"
  template=$out/template-$i.json
  "$PY" "$ROOT/scripts/template-defaults.py" "$ROOT/template.yaml" "$template" "${assignments[@]}"
  "$ROOT/.venv/bin/cfn-lint" "$template"
  "$PY" "$ROOT/scripts/sam-translate.py" "$template" "$out/translated-$i.json"
  # W2001 (unused parameter): SAM resolves a parameter used only in SAM properties
  # (DeploymentPreference's Type) at translation; the template as written uses it.
  "$ROOT/.venv/bin/cfn-lint" --ignore-checks W2001 -- "$out/translated-$i.json"
  echo "  cfn-lint clean, as written and translated: $label"
done
echo "template.yaml: cfn-lint clean (${#combinations[@]} parameter combinations, as written and translated)"

echo "  checkov on template.yaml as written and translated (about 20 s)"
"$PY" "$ROOT/scripts/sam-translate.py" "$ROOT/template.yaml" "$out/translated.json"
for target in "$ROOT/template.yaml" "$out/translated.json"; do
  # Non-zero exit on a failed check is checkov's own; the report says what and why.
  "$ROOT/.venv/bin/checkov" --compact --framework cloudformation -f "$target" -o json \
    >"$out/$(basename "$target").checkov.json" 2>"$out/checkov.stderr" || true
done
"$PY" "$ROOT/scripts/checkov-report.py" "$ROOT/template.yaml" \
  "as written=$out/template.yaml.checkov.json" "translated=$out/translated.json.checkov.json"
