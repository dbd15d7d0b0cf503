#!/usr/bin/env python3
"""Translates a SAM template to plain CloudFormation offline (samtranslator), so
cfn-lint can check what SAM generates: cfn-lint alone misses broken !Ref/!GetAtt
inside AWS::Serverless::Function.

Usage: sam-translate.py TEMPLATE OUTPUT_JSON
"""

import json
import logging
import os
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template uses inline policy statements only; nothing to look up in IAM."""

    def load(self):
        return {}


def main(source, target):
    # samtranslator logs notes about its feature toggles; only errors matter here.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    # Pseudo-parameters need a region; any will do for linting.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(source, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    # What `sam package` does before deploying: local code becomes an S3 object.
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(props.get("CodeUri", "")).startswith("s3://"):
            props["CodeUri"] = f"s3://packaged-code/{logical_id}.zip"
    parameters = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    try:
        translated = transform(template, parameters, NoManagedPolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{source}: SAM translation: {cause.message}", file=sys.stderr)
        sys.exit(1)
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(translated, handle, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
