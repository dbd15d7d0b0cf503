#!/usr/bin/env python3
"""The CloudWatch dashboard of template.yaml (`Dashboard`), locally.

`make dashboard` renders its widgets from a run's log lines into a static HTML page
(target/dashboard/index.html; pygal, pinned in scripts/requirements.txt; no network):
the functions' EMF lines for the stack's own namespace, the template's metric filters
applied to the lines as CloudWatch Logs would (SecurityEvents, HttpResponses,
HttpServerErrors; scripts/cw_filters.py), and the access-log lines standing in for API
Gateway's Count/4xx/5xx/Latency. Widgets on other AWS metrics (RDS, DynamoDB, SQS)
exist only in AWS and say so.

`--check` (make test) fails when a widget or an alarm names a metric nothing emits:
  - in the stack's namespace, a metric must be emitted by the Rust code (the names
    passed to shared::metrics, read from the sources) or by one of the template's
    metric filters;
  - in an AWS namespace, it must be one of that service's metrics listed below;
  - given a run's log, every EMF metric in it must be among the names read from the
    sources (so that reading cannot silently miss one), and a widget's dimensions must
    be a set the run declared for that metric (a wrong set draws an empty graph).

Usage: dashboard.py [--check] [--out HTML] [--template template.yaml] [LOG...]
LOG defaults to .stack/test/watch.log or .stack/dev/watch.log, whichever is newer.
"""

import argparse
import ast
import datetime
import html
import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

from cw_filters import metric_filters, selected

ROOT = Path(__file__).resolve().parent.parent
OWN_NAMESPACE = "BlueHarvest"  # METRICS_NAMESPACE's default; the template's is BlueHarvest/<Stage>
LOCAL_PERIOD_CAP = 60

# AWS metrics a widget or alarm may name (the services' documented metric names).
AWS_METRICS = {
    "AWS/ApiGateway": {"Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed"},
    "AWS/Lambda": {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"},
    "AWS/RDS": {"AuroraReplicaLag", "CPUUtilization", "DatabaseConnections", "FreeableMemory"},
    "AWS/DynamoDB": {"ReadThrottleEvents", "WriteThrottleEvents", "ThrottledRequests",
                     "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"},
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage",
                "NumberOfMessagesSent"},
}

SEARCH = re.compile(r"SEARCH\(\s*'\{([^}]*)\}\s*MetricName=\"([^\"]+)\"'\s*,\s*'([^']+)'\s*,\s*(\d+)\s*\)")


def own(namespace):
    return namespace.split("/")[0] == OWN_NAMESPACE


# ---------------------------------------------------------------- the template

def load_template(path):
    sys.path.insert(0, str(ROOT / ".venv"))
    from samtranslator.yaml_helper import yaml_parse

    with open(path, encoding="utf-8") as handle:
        return yaml_parse(handle.read())


def substitute(text):
    """`${Stage}` -> nothing (the local namespace is BlueHarvest), `${X}` -> `X`."""
    text = text.replace("BlueHarvest/${Stage}", OWN_NAMESPACE)
    return re.sub(r"\$\{([^}]+)\}", lambda m: m.group(1).split(".")[0], text)


def dashboard(template):
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            body = resource["Properties"]["DashboardBody"]
            body = body["Fn::Sub"] if isinstance(body, dict) else body
            return json.loads(substitute(body))
    sys.exit("template.yaml has no AWS::CloudWatch::Dashboard")


def references(entry):
    """(namespace, metric, dimensions or None for 'any set the SEARCH names', kind)."""
    if isinstance(entry[0], dict):
        expression = entry[0].get("expression", "")
        found = []
        for keys, metric, _stat, _period in SEARCH.findall(expression):
            parts = [p.strip() for p in keys.split(",")]
            found.append((parts[0], metric, tuple(sorted(parts[1:])), "search"))
        return found
    namespace, metric = entry[0], entry[1]
    pairs = [e for e in entry[2:] if not isinstance(e, dict)]
    dims = tuple(sorted(pairs[0::2]))
    return [(namespace, metric, dims, "metric")]


def widget_references(board):
    for widget in board["widgets"]:
        for entry in widget.get("properties", {}).get("metrics", []):
            for ref in references(entry):
                yield widget["properties"].get("title", "?"), ref


def alarm_references(template):
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        stats = [props] if "MetricName" in props else [
            q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q
        ]
        for stat in stats:
            namespace = stat["Namespace"]
            namespace = namespace["Fn::Sub"] if isinstance(namespace, dict) else namespace
            dims = tuple(sorted(d["Name"] for d in stat.get("Dimensions", [])))
            yield f"alarm {name}", (substitute(namespace), stat["MetricName"], dims, "metric")


def filter_metrics(template):
    names = set()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Logs::MetricFilter":
            for transformation in resource["Properties"]["MetricTransformations"]:
                names.add(transformation["MetricName"])
    return names


# ---------------------------------------------------------------- the code

CALL = re.compile(r"metrics::(?:count|milliseconds|emit)\(\s*\"([A-Za-z0-9]+)\"")
TUPLE = re.compile(r"\(\s*\"([A-Za-z0-9]+)\"\s*,\s*Unit::")


def emitted_by_code():
    names = {}
    for path in sorted(list((ROOT / "shared" / "src").rglob("*.rs")) + list((ROOT / "functions").rglob("src/**/*.rs"))):
        text = path.read_text(encoding="utf-8")
        text = text.split("#[cfg(test)]")[0]  # unit tests' sample names do not count
        for pattern in (CALL, TUPLE):
            for name in pattern.findall(text):
                names.setdefault(name, str(path.relative_to(ROOT)))
    return names


# ---------------------------------------------------------------- a run's lines

def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def read_points(paths, filters=()):
    """[(namespace, metric, {dim: value}, seconds, value)], and per metric the
    dimension sets the run declared. `filters`: the template's metric filters, which
    turn matching lines into points as CloudWatch Logs would."""
    points, declared, lines = [], defaultdict(set), 0
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for raw in handle:
                lines += 1
                start = raw.find("{")
                if start < 0:
                    continue
                try:
                    line = json.loads(raw[start:])
                except ValueError:
                    continue
                if not isinstance(line, dict):
                    continue
                for _name, pattern, transformation, _group in filters:
                    if pattern.matches(line):
                        dims = {d["Key"]: str(selected(line, d["Value"])) for d in transformation.get("Dimensions", [])}
                        raw = str(transformation.get("MetricValue", "1"))
                        value = selected(line, raw) if raw.startswith("$.") else raw
                        seconds = parse_time(line["timestamp"]) if "timestamp" in line else 0
                        points.append((OWN_NAMESPACE, transformation["MetricName"], dims, seconds, float(value or 0)))
                emf = line.get("_aws")
                if isinstance(emf, dict):
                    seconds = emf.get("Timestamp", 0) / 1000
                    for directive in emf.get("CloudWatchMetrics", []):
                        namespace = directive.get("Namespace", "")
                        for metric in directive.get("Metrics", []):
                            name = metric["Name"]
                            for dim_set in directive.get("Dimensions", []) or [[]]:
                                declared[name].add(tuple(sorted(dim_set)))
                                dims = {d: str(line.get(d)) for d in dim_set}
                                points.append((namespace, name, dims, seconds, float(line.get(name, 0))))
                elif line.get("message") == "request" and "status" in line:
                    # API Gateway's own metrics, as the functions' access log sees them.
                    seconds = parse_time(line["timestamp"]) if "timestamp" in line else 0
                    status = int(line["status"])
                    dims = {"ApiId": "HttpApi"}
                    points.append(("AWS/ApiGateway", "Count", dims, seconds, 1.0))
                    points.append(("AWS/ApiGateway", "4xx", dims, seconds, float(400 <= status < 500)))
                    points.append(("AWS/ApiGateway", "5xx", dims, seconds, float(status >= 500)))
                    points.append(("AWS/ApiGateway", "Latency", dims, seconds, float(line.get("latencyMs", 0))))
    return points, declared, lines


# ---------------------------------------------------------------- --check

def check(template, board, log_paths):
    problems = []
    code = emitted_by_code()
    filters = filter_metrics(template)
    refs = list(widget_references(board)) + list(alarm_references(template))
    for where, (namespace, metric, _dims, _kind) in refs:
        if own(namespace):
            if metric not in code and metric not in filters:
                problems.append(f"{where}: {metric} is emitted by no code (shared::metrics) and no metric filter")
        elif namespace in AWS_METRICS:
            if metric not in AWS_METRICS[namespace]:
                problems.append(f"{where}: {namespace} has no metric {metric}")
        else:
            problems.append(f"{where}: unknown namespace {namespace}")
    if log_paths:
        _points, declared, lines = read_points(log_paths)
        if not declared:
            problems.append(f"no EMF line in {', '.join(map(str, log_paths))} ({lines} lines)")
        for metric in sorted(set(declared) - set(code)):
            problems.append(f"the run emitted {metric}, which reading the sources did not find: fix the pattern")
        for where, (namespace, metric, dims, _kind) in refs:
            if own(namespace) and metric in declared and dims not in declared[metric]:
                problems.append(
                    f"{where}: {metric} by {list(dims)}: the code declares it by "
                    f"{[list(d) for d in sorted(declared[metric])]} only"
                )
        seen = sum(1 for _, (ns, m, _, _) in refs if own(ns) and m in declared)
        print(f"  dashboard check: {len(declared)} metrics in the run's EMF lines, "
              f"{seen} of the {sum(1 for _, (ns, _, _, _) in refs if own(ns))} references to "
              f"the stack's namespace seen there")
    print(f"  dashboard check: {len(refs)} metric references ({len(board['widgets'])} widgets and the alarms) "
          f"against {len(code)} metrics in the code and {len(filters)} from metric filters")
    if problems:
        sys.stdout.flush()
        print("dashboard: " + str(len(problems)) + " problem(s):", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        sys.exit(1)
    print("dashboard: every widget and alarm names a metric that is emitted")


# ---------------------------------------------------------------- render

def statistic(values, stat):
    if not values:
        return None
    if stat == "Sum":
        return sum(values)
    if stat == "Average":
        return sum(values) / len(values)
    if stat == "Maximum":
        return max(values)
    if stat == "Minimum":
        return min(values)
    if stat == "SampleCount":
        return float(len(values))
    if stat.startswith("p"):
        ordered = sorted(values)
        rank = max(0, min(len(ordered) - 1, round(float(stat[1:]) / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank]
    raise ValueError(f"statistic {stat}")


def series_of(points, namespace, metric, dims, stat, period, match_exact_keys):
    """{label: {bucket: value}} for one metric (a SEARCH gives one series per
    combination of dimension values)."""
    buckets = defaultdict(lambda: defaultdict(list))
    for ns, name, point_dims, seconds, value in points:
        if name != metric or (own(namespace) != own(ns)) or (not own(ns) and ns != namespace):
            continue
        if match_exact_keys:
            if tuple(sorted(point_dims)) != tuple(sorted(dims)):
                continue
            label = " ".join(f"{point_dims[k]}" for k in sorted(point_dims)) or metric
        else:
            if point_dims != dims:
                continue
            label = None
        buckets[label][int(seconds // period) * period].append(value)
    return {label: {b: statistic(v, stat) for b, v in by.items()} for label, by in buckets.items()}


class Expression(ast.NodeVisitor):
    """Evaluates the dashboard's metric math (ids, numbers, + - * /, FILL(x, n))."""

    def __init__(self, values):
        self.values = values

    def run(self, text):
        return self.visit(ast.parse(text, mode="eval").body)

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        if left is None or right is None:
            return None
        ops = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
               ast.Mult: lambda: left * right, ast.Div: lambda: left / right if right else None}
        return ops[type(node.op)]()

    def visit_Constant(self, node):
        return float(node.value)

    def visit_Name(self, node):
        return self.values.get(node.id)

    def visit_Call(self, node):
        if getattr(node.func, "id", "") != "FILL":
            raise ValueError("only FILL() is supported")
        value = self.visit(node.args[0])
        return self.visit(node.args[1]) if value is None else value

    def generic_visit(self, node):
        raise ValueError(f"unsupported expression element {type(node).__name__}")


def widget_series(widget, points):
    props = widget["properties"]
    period = min(int(props.get("period", 60)), LOCAL_PERIOD_CAP)
    default_stat = props.get("stat", "Average")
    series, by_id, notes = {}, {}, []
    for entry in props.get("metrics", []):
        if isinstance(entry[0], dict):
            options = entry[0]
            expression = options.get("expression", "")
            match = SEARCH.search(expression)
            if match:
                keys, metric, stat, _period = match.groups()
                parts = [p.strip() for p in keys.split(",")]
                found = series_of(points, parts[0], metric, parts[1:], stat, period, True)
                for label, values in found.items():
                    series[f"{label}"] = values
                continue
            buckets = sorted({b for values in by_id.values() for b in values})
            computed = {}
            for bucket in buckets:
                value = Expression({k: v.get(bucket) for k, v in by_id.items()}).run(expression)
                if value is not None:
                    computed[bucket] = value
            series[options.get("label", options.get("id", "expression"))] = computed
            continue
        options = entry[-1] if isinstance(entry[-1], dict) else {}
        pairs = [e for e in entry[2:] if not isinstance(e, dict)]
        namespace, metric = entry[0], entry[1]
        if not own(namespace) and namespace != "AWS/ApiGateway":
            notes.append(f"{namespace} {metric}: in AWS only")
            continue
        stat = options.get("stat", default_stat)
        found = series_of(points, namespace, metric, dict(zip(pairs[0::2], pairs[1::2])), stat, period, False)
        values = found.get(None, {})
        if "id" in options:
            by_id[options["id"]] = values
        if options.get("visible", True):
            series[options.get("label", metric)] = values
    return series, notes, period


def render(board, points, sources, out):
    import pygal
    from pygal.style import CleanStyle

    times = [p[3] for p in points if p[3]]
    start = (min(times) // LOCAL_PERIOD_CAP) * LOCAL_PERIOD_CAP if times else 0
    cards = []
    for widget in board["widgets"]:
        props = widget["properties"]
        series, notes, period = widget_series(widget, points)
        title = props.get("title", "")
        span = max(1, min(24, int(widget.get("width", 8))))
        body = ""
        drawn = {k: v for k, v in series.items() if v}
        if drawn:
            chart = pygal.XY(style=CleanStyle, height=340, width=60 * span, show_dots=True, dots_size=2,
                             legend_at_bottom=True, legend_at_bottom_columns=3, truncate_legend=40,
                             x_title=f"minutes into the run (per {period} s)", js=[],
                             disable_xml_declaration=True, show_x_guides=False)
            for label, values in sorted(drawn.items()):
                chart.add(label, [((b - start) / 60, v) for b, v in sorted(values.items())])
            body = chart.render(is_unicode=True)
        else:
            notes.append("no data in this run")
        if int(props.get("period", 60)) > LOCAL_PERIOD_CAP:
            notes.append(f"CloudWatch: per {props['period']} s")
        note = "".join(f"<p class=note>{html.escape(n)}</p>" for n in notes)
        cards.append(f'<section style="grid-column: span {span}"><h2>{html.escape(title)}</h2>{note}{body}</section>')
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Blue Harvest dashboard (local run)</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }}
main {{ display: grid; grid-template-columns: repeat(24, 1fr); gap: 1rem; }}
section {{ border: 1px solid #ddd; border-radius: 6px; padding: .5rem; overflow: hidden; }}
h2 {{ font-size: 14px; margin: 0 0 .3rem; }} .note {{ color: #777; margin: .2rem 0; font-size: 12px; }}
svg {{ width: 100%; height: auto; }}
</style></head><body>
<h1>Blue Harvest: the CloudWatch dashboard, from a local run</h1>
<p>template.yaml's <code>Dashboard</code> widgets, fed by {html.escape(', '.join(sources))}:
the functions' EMF lines, and their access-log lines in place of API Gateway's metrics.
{len(points)} data points.</p>
<main>{''.join(cards)}</main></body></html>
"""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    print(f"dashboard: {len(board['widgets'])} widgets from {len(points)} data points -> {out}")


def default_logs():
    found = [ROOT / ".stack" / name / "watch.log" for name in ("test", "dev", "bench")]
    found = [p for p in found if p.exists()]
    return sorted(found, key=lambda p: p.stat().st_mtime)[-1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "target" / "dashboard" / "index.html"))
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("logs", nargs="*")
    args = parser.parse_args()
    template = load_template(args.template)
    board = dashboard(template)
    logs = [Path(p) for p in args.logs] or default_logs()
    if args.check:
        check(template, board, logs)
        return
    if not logs:
        sys.exit("dashboard: no log to read: run make dev or make test first, or name the log files")
    # One filter per log group in AWS; locally every function's lines are in one file,
    # so each distinct filter is applied once.
    distinct = {}
    for found in metric_filters(template):
        key = (found[1].text, json.dumps(found[2], sort_keys=True))
        distinct.setdefault(key, found)
    points, _declared, lines = read_points(logs, list(distinct.values()))
    print(f"dashboard: read {lines} lines from {', '.join(map(str, logs))}")
    render(board, points, [os.path.relpath(p, ROOT) for p in logs], Path(args.out))


if __name__ == "__main__":
    main()
