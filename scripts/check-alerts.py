#!/usr/bin/env python3
"""The alert path, tested on a run's real log lines (make test, after the suites):

1. every metric filter of template.yaml is evaluated (CloudWatch's JSON filter pattern
   syntax, the subset the template uses) over every line of the run's log:
   - SecurityEvents matches exactly the "critical security event" lines;
   - HttpResponses matches exactly the access-log lines, HttpServerErrors exactly
     those with a 5xx status (they roll deployments back);
2. every critical audit event the run's requests recorded (audit_log, by requestId)
   produced a matched line with its requestId and its type as the EventType dimension;
3. every EventType seen has an alarm, every alarm's EventType is an event type the
   code records, and each type in REQUIRED was seen (the suites cause them);
4. every HTTP function's log group has the SecurityEvents filter.

Usage: check-alerts.py [--template template.yaml] LOG   (DATABASE_URL: the stack's writer)
"""

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from cw_filters import metric_filters, selected

ROOT = Path(__file__).resolve().parent.parent
# Caused through the served API by the end-to-end suites (refresh_tokens, settings,
# admin_security, security_alerts). BRUTE_FORCE_DETECTED is tested in process (the
# served API runs with the limits raised); its line is the same code path.
REQUIRED = {"TOKEN_REUSE_DETECTED", "ROLE_CHANGED", "2FA_DISABLED", "SETTINGS_CHANGED", "IP_UNBLOCKED"}


# ---------------------------------------------------------------- inputs

def load_template(path):
    from samtranslator.yaml_helper import yaml_parse

    with open(path, encoding="utf-8") as handle:
        return yaml_parse(handle.read())


def read_lines(path):
    lines = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            start = raw.find("{")
            if start < 0:
                continue
            try:
                line = json.loads(raw[start:])
            except ValueError:
                continue
            if isinstance(line, dict):
                lines.append(line)
    return lines


def critical_audit_events():
    """(request id, event type) of every critical audit row, from the stack's writer."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("check-alerts: DATABASE_URL is not set (source the stack's env file)")
    psql = Path(os.environ.get("BH_PG_BIN", "/usr/lib/postgresql/15/bin")) / "psql"
    out = subprocess.run(
        [str(psql), url, "-qtA", "-F", "\t", "-c",
         "SELECT request_id, event_type FROM audit_log WHERE severity = 'critical' AND request_id IS NOT NULL"],
        check=True, capture_output=True, text=True,
    ).stdout
    return [tuple(row.split("\t", 1)) for row in out.splitlines() if "\t" in row]


def event_types_in_code():
    names = set()
    for path in list((ROOT / "shared" / "src").rglob("*.rs")) + list((ROOT / "functions").rglob("src/**/*.rs")):
        names.update(re.findall(r'"([A-Z0-9_]{4,})"', path.read_text(encoding="utf-8")))
    return names


# ---------------------------------------------------------------- the check

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("log")
    args = parser.parse_args()
    template = load_template(args.template)
    resources = template["Resources"]
    problems = []

    filters = {name: (pattern, transformation, group)
               for name, pattern, transformation, group in metric_filters(template)}
    by_metric = {}
    for name, (pattern, transformation, _group) in filters.items():
        by_metric.setdefault(transformation["MetricName"], {})[pattern.text] = (pattern, transformation)

    # 4. coverage: each HTTP function's log group carries the SecurityEvents filter.
    security_groups = {str(group) for _, (_, t, group) in filters.items() if t["MetricName"] == "SecurityEvents"}
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and props.get("Events"):
            group = str((props.get("LoggingConfig") or {}).get("LogGroup"))
            api = any(e.get("Type") == "HttpApi" for e in props["Events"].values())
            if api and group not in security_groups:
                problems.append(f"{name} answers API requests but its log group {group} has no SecurityEvents filter")

    lines = read_lines(args.log)
    critical = [l for l in lines if l.get("message") == "critical security event"]
    access = [l for l in lines if l.get("message") == "request"]
    print(f"  alert check: {len(lines)} JSON lines in {args.log}, {len(access)} access-log lines, "
          f"{len(critical)} critical security event lines")

    # 1. each distinct pattern against every line
    expectations = {
        "SecurityEvents": critical,
        "HttpResponses": access,
        "HttpServerErrors": [l for l in access if int(l.get("status", 0)) >= 500],
    }
    seen_types = Counter()
    matched_ids = set()
    for metric, patterns in sorted(by_metric.items()):
        if metric not in expectations:
            problems.append(f"metric filter {metric}: no expectation in check-alerts.py")
            continue
        for text, (pattern, transformation) in patterns.items():
            matched = [l for l in lines if pattern.matches(l)]
            expected = expectations[metric]
            if [id(l) for l in matched] != [id(l) for l in expected]:
                problems.append(f"{metric} filter {text}: matches {len(matched)} lines, {len(expected)} expected")
            print(f"  {metric}: {text} matches {len(matched)} lines")
            for dimension in transformation.get("Dimensions", []):
                for line in matched:
                    value = selected(line, dimension["Value"])
                    if not isinstance(value, str) or not value:
                        problems.append(f"{metric}: a matched line has no {dimension['Value']}: {line}")
                    elif metric == "SecurityEvents":
                        seen_types[value] += 1
                        matched_ids.add((line.get("requestId"), value))
    if not critical:
        problems.append("the run logged no critical security event: nothing was tested")

    # 2. audit rows of requests served in this run -> their matched line
    served = {l.get("requestId") for l in access}
    rows = [row for row in critical_audit_events() if row[0] in served]
    missing = [row for row in rows if row not in matched_ids]
    for request_id, event_type in missing[:20]:
        problems.append(f"audit_log has critical {event_type} of request {request_id}, and no matched log line")
    print(f"  alert check: {len(rows)} critical audit events of this run's requests, "
          f"{len(rows) - len(missing)} with their matched line")

    # 3. alarms per type
    alarmed = {}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::CloudWatch::Alarm" and resource["Properties"].get("MetricName") == "SecurityEvents":
            for dimension in resource["Properties"].get("Dimensions", []):
                if dimension["Name"] == "EventType":
                    alarmed[dimension["Value"]] = name
    code_types = event_types_in_code()
    for event_type in sorted(seen_types):
        if event_type not in alarmed:
            problems.append(f"critical {event_type} reaches SecurityEvents but no alarm watches it")
    for event_type, alarm in sorted(alarmed.items()):
        if event_type not in code_types:
            problems.append(f"{alarm} watches {event_type}, which the code never records")
    for event_type in sorted(REQUIRED - set(seen_types)):
        problems.append(f"the run caused no critical {event_type} (the suites should)")
    print("  SecurityEvents by type: " + ", ".join(f"{t} {n} ({alarmed.get(t, 'NO ALARM')})" for t, n in sorted(seen_types.items())))

    if problems:
        sys.stdout.flush()
        print(f"alerts: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        sys.exit(1)
    print("alerts: every critical event of the run reached its metric filter, and each type has its alarm")


if __name__ == "__main__":
    main()
