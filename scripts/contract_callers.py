"""The callers scripts/contract-test.sh runs schemathesis as, one access token each:

  user       a new account from signup, with a profile, a post and a comment of its own,
             so list and read routes answer items;
  moderator  made by the migrate function's create-account command (as an operator
             makes one), signed in with its password;
  admin      made the same way, with 2FA enabled through the API and signed in again
             with a backup code, so its token is stepped up (`amr` pwd + otp) and the
             admin routes that need step-up answer their success paths too.

Prints {"user": token, "moderator": token, "admin": token} as JSON. Standard library
only; the stack's environment (scripts/stack.sh env) must be loaded for create-account.
With --new-user, prints only the token of a new account with no data (the passes of
the self-destructive operations).

  contract_callers.py API_URL [--new-user]
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

API = sys.argv[1].rstrip("/")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = f"ct{int(time.time())}{os.getpid()}"


def call(method, path, body=None, token=None):
    """The answer's JSON (or None for a 204); any other status than 2xx stops the run."""
    request = urllib.request.Request(
        API + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        sys.exit(f"[contract] {method} {path}: {error.code} {error.read()[:300]!r}")
    return json.loads(text) if text else None


def totp(secret_base32, at=None):
    """RFC 6238: SHA-1, 6 digits, 30 s steps (shared/src/auth/totp.rs)."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def operator_account(role):
    """An account of `role` from create-account: {account, password}."""
    name = f"{RUN}_{role}"
    output = subprocess.run(
        ["cargo", "run", "--quiet", "-p", "migrate", "--", "create-account",
         "--role", role, "--username", name, "--email", f"{name}@example.com"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return name, json.loads(output)["password"]


def login(name, password):
    return call("POST", "/api/auth/login", {"login": name, "password": password})


def signup():
    """A new user account's access token."""
    name = f"{RUN}_user"
    return call("POST", "/api/auth/signup", {
        "username": name,
        "email": f"{name}@example.com",
        "password": f"contract tests {name} never guessed",
    })["accessToken"]


def user():
    token = signup()
    profile = call("POST", "/api/profiles",
                   {"name": "Contract tests", "details": {"about": "made by scripts/contract-test.sh"}},
                   token)["id"]
    post = call("POST", "/api/posts", {
        "content": {"title": "Contract", "body": "<p>A post of the contract tests.</p>"},
        "postTypeId": 1,
        "profileId": profile,
    }, token)["id"]
    call("POST", f"/api/posts/{post}/comments", {"body": "<p>A comment of the contract tests.</p>"}, token)
    # Something for the moderator's and the admin's report routes to read.
    call("POST", "/api/reports", {"targetType": "post", "targetId": post, "reason": "spam"}, token)
    return token


def moderator():
    name, password = operator_account("moderator")
    return login(name, password)["accessToken"]


def stepped_up_admin():
    name, password = operator_account("admin")
    first = login(name, password)["accessToken"]
    secret = call("POST", "/api/auth/2fa/setup", None, first)["secret"]
    codes = call("POST", "/api/auth/2fa/enable",
                 {"code": totp(secret), "currentPassword": password}, first)["backupCodes"]
    challenge = login(name, password)
    if not challenge.get("mfaRequired"):
        sys.exit(f"[contract] the admin's login after enabling 2FA was not challenged: {challenge}")
    return call("POST", "/api/auth/2fa/verify",
                {"mfaToken": challenge["mfaToken"], "code": codes[0]})["accessToken"]


if sys.argv[2:] == ["--new-user"]:
    print(signup())
else:
    print(json.dumps({"user": user(), "moderator": moderator(), "admin": stepped_up_admin()}))
