#!/usr/bin/env python3
"""The local stack's mail: what Lambda's SQS event source mapping and the EventBridge
schedule do in AWS, and a view of what SES sent.

  mail.py poll [--mail-dir DIR]   drain the mail job queue into the mailer function
                                  (cargo lambda watch's Lambda invoke API), and invoke the
                                  outbox-relay function every BH_OUTBOX_RELAY_EVERY_SECONDS
                                  (default 60); with --mail-dir, write each mail SES sent to
                                  DIR as an .html and a .txt file and print its links
  mail.py show [N]                the last N (default 10) mails SES sent: to, subject, links

poll is the event source mapping, faithfully: up to 10 messages per batch with their
attributes (ApproximateReceiveCount...), one invocation per batch, the messages the
function does not report in batchItemFailures deleted, the others left to come back when
their visibility timeout ends (the mailer sets it), a whole batch left when the
invocation fails. SQS's own redrive policy moves a message to the dead-letter queue.

Environment: the stack's env file (MAIL_QUEUE_URL, AWS_*, AWS_ENDPOINT_URL_SESV2) and
BH_API_PORT (the cargo lambda watch server). Nothing here prints an unmasked address or
a token: the log scan reads this script's log too.
"""

import html
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

import boto3

LINK = re.compile(r"https?://[^\s\"'<>]+")


def masked(address):
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def api_port():
    default = "9010" if os.environ.get("BH_STACK") == "test" else "9000"
    return os.environ.get("BH_API_PORT") or default


def invoke(function, event):
    """The function's answer, or None when the invocation failed."""
    url = f"http://127.0.0.1:{api_port()}/2015-03-31/functions/{function}/invocations"
    request = urllib.request.Request(
        url, data=json.dumps(event).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read() or b"null")
    except (urllib.error.URLError, TimeoutError, ValueError, ConnectionError) as error:
        print(f"[mail] invoking {function} failed: {error}", flush=True)
        return None
    if isinstance(answer, dict) and "errorType" in answer:
        print(f"[mail] {function} failed: {answer.get('errorType')}", flush=True)
        return None
    return answer


def record(message, queue_arn, region):
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType"),
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sent_mails():
    """What the SES moto sent: [{id, source, subject, body, destinations}]."""
    endpoint = os.environ["AWS_ENDPOINT_URL_SESV2"].rstrip("/")
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=30) as response:
        data = json.loads(response.read())
    return data.get("ses", {}).get("Message", [])


def recipients(mail):
    return [a for addresses in mail.get("destinations", {}).values() for a in addresses]


def write_mail(directory, mail):
    os.makedirs(directory, exist_ok=True)
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{mail['id'][:12]}"
    body = mail.get("body", "")
    with open(os.path.join(directory, name + ".html"), "w", encoding="utf-8") as handle:
        handle.write(body)
    text = html.unescape(re.sub(r"<[^>]+>", "", body))
    header = f"To: {', '.join(recipients(mail))}\nSubject: {mail.get('subject')}\n\n"
    with open(os.path.join(directory, name + ".txt"), "w", encoding="utf-8") as handle:
        handle.write(header + text)
    links = sorted(set(html.unescape(link) for link in LINK.findall(body)))
    print(
        f"[mail] to {', '.join(masked(a) for a in recipients(mail))}: {mail.get('subject')}"
        f" -> {os.path.join(directory, name)}.html",
        flush=True,
    )
    for link in links:
        # The developer's own stack: its links are what they need to click.
        print(f"[mail]   link: {link}", flush=True)


def poll(mail_dir):
    queue_url = os.environ["MAIL_QUEUE_URL"]
    region = os.environ.get("AWS_REGION", "us-east-1")
    relay_every = float(os.environ.get("BH_OUTBOX_RELAY_EVERY_SECONDS", "60"))
    sqs = boto3.client("sqs")
    queue_arn = None
    next_relay = time.monotonic() + relay_every
    seen = set()
    if mail_dir:
        try:
            seen = {mail["id"] for mail in sent_mails()}  # written by an earlier run
        except Exception:
            pass
    print(f"[mail] draining the mail queue into the mailer (API port {api_port()})", flush=True)
    while True:
        try:
            if queue_arn is None:
                queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                    "Attributes"
                ]["QueueArn"]
            if time.monotonic() >= next_relay:
                next_relay = time.monotonic() + relay_every
                invoke("outbox-relay", {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}})
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if messages:
                answer = invoke("mailer", {"Records": [record(m, queue_arn, region) for m in messages]})
                if answer is not None:
                    failed = {f.get("itemIdentifier") for f in answer.get("batchItemFailures", [])}
                    done = [m for m in messages if m["MessageId"] not in failed]
                    if done:
                        sqs.delete_message_batch(
                            QueueUrl=queue_url,
                            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                        )
                if mail_dir:
                    for mail in sent_mails():
                        if mail["id"] not in seen:
                            seen.add(mail["id"])
                            write_mail(mail_dir, mail)
        except Exception as error:  # moto restarting (failover tests), the API starting
            print(f"[mail] {type(error).__name__}: {error}; retrying", flush=True)
            queue_arn = None
            time.sleep(1)


def show(count):
    mails = sent_mails()[-count:]
    if not mails:
        print("No mail sent yet.")
    for mail in mails:
        print(f"To:      {', '.join(recipients(mail))}")
        print(f"Subject: {mail.get('subject')}")
        for link in sorted(set(html.unescape(link) for link in LINK.findall(mail.get("body", "")))):
            print(f"Link:    {link}")
        print()


def main(argv):
    if len(argv) >= 2 and argv[1] == "poll":
        mail_dir = argv[3] if len(argv) == 4 and argv[2] == "--mail-dir" else None
        poll(mail_dir)
    elif len(argv) in (2, 3) and argv[1] == "show":
        show(int(argv[2]) if len(argv) == 3 else 10)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
