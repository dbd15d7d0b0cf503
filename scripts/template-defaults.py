#!/usr/bin/env python3
"""Writes TEMPLATE as JSON with some parameters' defaults filled in, so cfn-lint (which
checks a default against its AllowedPattern and resolves Refs to defaults) lints the
template as deployed with those values, e.g. with the optional custom domain on.

Usage: template-defaults.py TEMPLATE OUTPUT_JSON [NAME=VALUE...]
"""

import json
import sys

from samtranslator.yaml_helper import yaml_parse


def main(source, target, assignments):
    with open(source, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    parameters = template.get("Parameters", {})
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or name not in parameters:
            sys.exit(f"{source}: no parameter {name!r} to set (from {assignment!r})")
        parameters[name]["Default"] = value
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(template, handle, indent=1)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
