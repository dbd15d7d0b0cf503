#!/usr/bin/env python3
"""Provisions the local stack's AWS emulators: DynamoDB tables (dynalite, or moto), SQS
queues and Secrets Manager secrets (moto), and the SES identity mail is sent from (the
SES moto).

Tables and queues are created from their definitions in template.yaml, so the local
stack and a deployed stack cannot drift apart. Key material is made once per stack and
kept in the stack's key folder (.stack/<name>/keys/, files of mode 0600): a restarted
moto is provisioned with the same keys, so sessions, access tokens and TOTP secrets
sealed with them outlive it. Nothing here is ever written to the repository.

Usage (the stack script calls it with the right environment):
  provision.py tables  TEMPLATE LogicalId=local-name [...]
  provision.py queues  TEMPLATE LogicalId=local-name [...]   (dead-letter targets first)
  provision.py secrets SIGNING_KEYS_ID APP_KEYS_ID KEYS_DIR
  provision.py save-secrets SIGNING_KEYS_ID APP_KEYS_ID KEYS_DIR
  provision.py db-secret SECRET_ID USERNAME PASSWORD_FILE
  provision.py ses-identity SENDER   (verifies the sender's domain; AWS_ENDPOINT_URL_SESV2)
"""

import base64
import hashlib
import json
import secrets
import os
import sys
import time
from email.utils import parseaddr

import boto3
import yaml
from botocore.exceptions import ClientError


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML: short-form tags (!Ref, !Sub, ...) become plain data."""


def _tagged(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Fn::" + tag_suffix if tag_suffix != "Ref" else "Ref": value}


CfnLoader.add_multi_constructor("!", _tagged)

# Properties of AWS::DynamoDB::Table that CreateTable understands as they are.
CREATE_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
)


def definitions(template_path, resource_type):
    with open(template_path, encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=CfnLoader)
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == resource_type
    }


def table_definitions(template_path):
    return definitions(template_path, "AWS::DynamoDB::Table")


# Properties of AWS::SQS::Queue that are CreateQueue attributes of the same name.
QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
    "SqsManagedSseEnabled",
)


def create_queues(template_path, mappings):
    """Queues in the order given; a RedrivePolicy's `!GetAtt X.Arn` names a queue made
    before it (list dead-letter queues first)."""
    client = boto3.client("sqs")
    queues = definitions(template_path, "AWS::SQS::Queue")
    arns = {}
    for mapping in mappings:
        logical_id, _, name = mapping.partition("=")
        if logical_id not in queues:
            sys.exit(f"provision: template.yaml has no AWS::SQS::Queue named {logical_id}")
        props = queues[logical_id]
        attributes = {key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
                      for key in QUEUE_ATTRIBUTES if key in props}
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"].get("Fn::GetAtt")
            target_id = target.split(".")[0] if isinstance(target, str) else target[0]
            if target_id not in arns:
                sys.exit(f"provision: {logical_id}'s dead-letter queue {target_id} must be listed before it")
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arns[target_id], "maxReceiveCount": int(redrive["maxReceiveCount"])}
            )
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arns[logical_id] = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        print(f"  queue {name} (from {logical_id})")


def ses_identity(sender):
    """Verifies the domain of the sender address on the SES endpoint (moto sends only
    from verified identities, as SES does)."""
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2]
    if not domain:
        sys.exit(f"provision: {sender!r} is not an address")
    client = boto3.client("sesv2", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_SESV2"))
    try:
        client.create_email_identity(EmailIdentity=domain)
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyExistsException":
            raise
    print(f"  SES identity {domain}")


def add_missing_indexes(client, name, props):
    """A table made before the template gained an index (a dev stack kept across
    changes) gets it, so code that queries the index works without `make clean`."""
    existing = {
        index["IndexName"]
        for index in client.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
    }
    for index in props.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in existing:
            continue
        try:
            client.update_table(
                TableName=name,
                AttributeDefinitions=props["AttributeDefinitions"],
                GlobalSecondaryIndexUpdates=[{"Create": index}],
            )
        except ClientError as error:
            # dynalite cannot add an index to a table: the stack must be made anew.
            sys.exit(
                f"provision: table {name} lacks index {index['IndexName']} and this emulator "
                f"cannot add it ({error.response['Error']['Code']}); `make clean` (or "
                "`scripts/stack.sh down`) and start again"
            )
        print(f"  table {name}: index {index['IndexName']} added")


def create_tables(template_path, mappings):
    client = boto3.client("dynamodb")
    definitions = table_definitions(template_path)
    for mapping in mappings:
        logical_id, _, name = mapping.partition("=")
        if logical_id not in definitions:
            sys.exit(f"provision: template.yaml has no AWS::DynamoDB::Table named {logical_id}")
        props = definitions[logical_id]
        request = {key: props[key] for key in CREATE_TABLE_KEYS if key in props}
        request["TableName"] = name
        try:
            client.create_table(**request)
            print(f"  table {name} created (from {logical_id})")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
            print(f"  table {name} exists")
            add_missing_indexes(client, name, props)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            enable_ttl(client, name, ttl["AttributeName"])


def enable_ttl(client, name, attribute):
    """dynalite has no UpdateTimeToLive (moto accepts it and expires nothing either):
    locally, items past their TTL stay until the stack is deleted. The code never
    relies on TTL deletion: every expiring item also carries its own end, which the
    code compares with the clock."""
    try:
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
        )
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code not in ("UnknownOperationException", "ValidationException"):
            raise
        print(f"  table {name}: TTL on {attribute} skipped (this emulator has no UpdateTimeToLive: {code})")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key_set():
    """One current RSA-2048 key; its kid is the RFC 7638 JWK thumbprint."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()

    def uint(value):
        return value.to_bytes((value.bit_length() + 7) // 8, "big")

    jwk = {"e": b64url(uint(numbers.e)), "kty": "RSA", "n": b64url(uint(numbers.n))}
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "keys": [
            {
                "kid": b64url(hashlib.sha256(canonical).digest()),
                "privateKeyPem": pem,
                "status": "current",
                "createdAt": int(time.time()),
            }
        ]
    }


def app_keys():
    return {
        name: base64.b64encode(secrets.token_bytes(32)).decode()
        for name in ("refreshKey", "csrfKey", "cursorKey", "totpKey", "backupCodeKey")
    }


def add_missing_app_keys(client, secret_id):
    """A stack made before a key was introduced gets just that key, freshly made."""
    current = json.loads(client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"])
    missing = {name: value for name, value in app_keys().items() if name not in current}
    if missing:
        client.put_secret_value(SecretId=secret_id, SecretString=json.dumps({**current, **missing}))
        print(f"  secret {secret_id}: added {', '.join(sorted(missing))}")


KEY_FILES = {"signing": "signing-keys.json", "app": "app-keys.json"}


def write_private(path, value):
    """Writes the file readable by its owner only (0600 from its creation on)."""
    temporary = path + ".tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)
    os.replace(temporary, path)


def kept_keys(keys_dir, kind, make):
    """The stack's key material of this kind, as its file's text (what the secret held
    when it was saved, byte for byte) and parsed; or made now and kept."""
    path = os.path.join(keys_dir, KEY_FILES[kind])
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        return text, json.loads(text), False
    text = json.dumps(make())
    write_private(path, text)
    return text, json.loads(text), True


def create_secrets(signing_keys_id, app_keys_id, keys_dir):
    client = boto3.client("secretsmanager")
    for secret_id, kind, make in (
        (signing_keys_id, "signing", signing_key_set),
        (app_keys_id, "app", app_keys),
    ):
        try:
            client.describe_secret(SecretId=secret_id)
            print(f"  secret {secret_id} exists")
            if secret_id == app_keys_id:
                add_missing_app_keys(client, secret_id)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            text, value, fresh = kept_keys(keys_dir, kind, make)
            if kind == "app":
                missing = {name: key for name, key in app_keys().items() if name not in value}
                if missing:
                    text = json.dumps({**value, **missing})
                    write_private(os.path.join(keys_dir, KEY_FILES[kind]), text)
                    print(f"  {KEY_FILES[kind]}: added {', '.join(sorted(missing))}")
            # The saved text as it is: the secret comes back identical, not re-serialized.
            client.create_secret(Name=secret_id, SecretString=text)
            origin = "fresh keys, kept in " + keys_dir if fresh else "the stack's keys from " + keys_dir
            print(f"  secret {secret_id} created with {origin}")


def save_secrets(signing_keys_id, app_keys_id, keys_dir):
    """Saves the secrets' current values as the stack's key material (before moto stops:
    a key set rotated since it started must come back as it is now)."""
    client = boto3.client("secretsmanager")
    for secret_id, kind in ((signing_keys_id, "signing"), (app_keys_id, "app")):
        try:
            value = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            continue
        write_private(os.path.join(keys_dir, KEY_FILES[kind]), value)


def db_secret(secret_id, username, password_file):
    """The database credentials in the RDS-managed secret's shape, from the stack's
    password file (never from argv). Put anew each time: moto forgets it on restart."""
    client = boto3.client("secretsmanager")
    with open(password_file, encoding="utf-8") as handle:
        value = json.dumps({"username": username, "password": handle.read().strip()})
    try:
        client.put_secret_value(SecretId=secret_id, SecretString=value)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        client.create_secret(Name=secret_id, SecretString=value)
    print(f"  secret {secret_id}: database credentials")


def main(argv):
    if len(argv) >= 3 and argv[1] == "tables":
        create_tables(argv[2], argv[3:])
    elif len(argv) >= 3 and argv[1] == "queues":
        create_queues(argv[2], argv[3:])
    elif len(argv) == 3 and argv[1] == "ses-identity":
        ses_identity(argv[2])
    elif len(argv) == 5 and argv[1] == "secrets":
        create_secrets(argv[2], argv[3], argv[4])
    elif len(argv) == 5 and argv[1] == "save-secrets":
        save_secrets(argv[2], argv[3], argv[4])
    elif len(argv) == 5 and argv[1] == "db-secret":
        db_secret(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
