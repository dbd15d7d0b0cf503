"""schemathesis hooks of scripts/contract-test.sh (loaded through SCHEMATHESIS_HOOKS).

Negative mode sends random bytes as JSON bodies. Bytes that are not UTF-8 never reach
the functions locally: `cargo lambda watch` answers them itself with a text/plain 500
(no request log line), because its API Gateway emulation puts the body in the event as
text. API Gateway base64-encodes such a body instead (`isBase64Encoded`), which
lambda_http decodes, and the JSON extractor refuses with the 400 envelope. So such
bodies are made UTF-8 (undecodable bytes become U+FFFD): still not JSON, still tested.
"""

import schemathesis


@schemathesis.hook
def map_case(context, case):
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            case.body = bytes(body).decode("utf-8", "replace").encode("utf-8")
    return case
