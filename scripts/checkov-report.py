#!/usr/bin/env python3
"""Reads checkov's JSON results for template.yaml (as written and translated) and fails
unless every check passed or was skipped in the template with a reason.

A skip is Metadata on the resource, which SAM carries into the translated template:

    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_116
            comment: why the check does not apply here

Fails on: a failed check, a parse error, a skip without a reason of a few words, and a
skip that no longer skips anything (stale: the check now passes or is gone).

Usage: checkov-report.py TEMPLATE LABEL=RESULTS_JSON...
"""

import json
import sys

from samtranslator.yaml_helper import yaml_parse

MIN_REASON_WORDS = 6


def declared_skips(template_path):
    with open(template_path, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    skips = {}
    for logical_id, resource in template.get("Resources", {}).items():
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", []):
            skips[(logical_id, skip.get("id"))] = " ".join(str(skip.get("comment", "")).split())
    return skips


def main(template_path, runs):
    problems = []
    skips = declared_skips(template_path)
    for (resource, check), reason in sorted(skips.items()):
        if len(reason.split()) < MIN_REASON_WORDS:
            problems.append(f"{resource}: the skip of {check} does not say why ({reason!r})")
    used = set()
    for label, path in runs:
        with open(path, encoding="utf-8") as handle:
            results = json.load(handle)
        results = results if isinstance(results, list) else [results]
        summary = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}
        for result in results:
            for key in summary:
                summary[key] += result.get("summary", {}).get(key, 0)
            for failed in result.get("results", {}).get("failed_checks", []):
                problems.append(
                    f"{label}: {failed['check_id']} failed on {failed['resource']}: {failed['check_name']}"
                )
            for skipped in result.get("results", {}).get("skipped_checks", []):
                logical_id = skipped["resource"].split(".", 1)[-1]
                used.add((logical_id, skipped["check_id"]))
        if summary["parsing_errors"]:
            problems.append(f"{label}: checkov could not parse the template")
        if summary["passed"] == 0:
            problems.append(f"{label}: checkov ran no check (wrong framework or file?)")
        print(
            f"  checkov, {label}: {summary['passed']} passed, {summary['failed']} failed, "
            f"{summary['skipped']} skipped"
        )
    for key in sorted(set(skips) - used):
        problems.append(f"{key[0]}: the skip of {key[1]} skips nothing any more: remove it")
    print(f"  {len(skips)} skips in template.yaml, each with its reason:")
    for (resource, check), reason in sorted(skips.items()):
        print(f"    {check} {resource}: {reason}")
    if problems:
        sys.stdout.flush()
        print("checkov: " + str(len(problems)) + " finding(s):", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        sys.exit(1)
    print("template.yaml: checkov clean (as written and translated)")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], [arg.split("=", 1) for arg in sys.argv[2:]])
