#!/usr/bin/env python3
"""Post-deploy smoke test: one new user through the API's main path, against a running
API (a deployed stage, or `make dev`):

  health (ready) -> signup -> login -> create a profile and a post -> read the post
  back (read-your-writes) -> refresh the session (cookies + CSRF) -> /api/auth/me with
  the refreshed token -> delete the account again

Exits non-zero at the first step that answers anything unexpected, printing that
step's status and error envelope (never a token or a password). Standard library
only, so it runs wherever python3 does.

Usage: smoke-test.py [API_URL]    (default: $BH_API_URL, else http://127.0.0.1:9000)
"""

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BH_API_URL", "http://127.0.0.1:9000")).rstrip("/")
TIMEOUT = 30


class Failed(Exception):
    pass


class Client:
    """JSON over HTTP with the session cookies kept by name (the stdlib cookie jar
    would not send Secure cookies to a local http:// API, which browsers and the API
    treat as secure)."""

    def __init__(self):
        self.cookies = {}
        self.consistency = None

    def call(self, method, path, body=None, token=None, csrf=None, cookies=False):
        headers = {"accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if token:
            headers["authorization"] = f"Bearer {token}"
        if csrf:
            headers["x-csrf-token"] = csrf
        if cookies and self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.consistency:
            headers["x-consistency-token"] = self.consistency
        request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as error:
            response = error
        raw = response.read()
        for line in response.headers.get_all("set-cookie") or []:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if value:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        if response.headers.get("x-consistency-token"):
            self.consistency = response.headers["x-consistency-token"]
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return response.status, payload


def expect(step, status, body, wanted):
    if status != wanted:
        error = (body or {}).get("error", body) if isinstance(body, dict) else body
        raise Failed(f"{step}: expected {wanted}, got {status}: {json.dumps(error)[:500]}")


def main():
    client = Client()
    suffix = f"{int(time.time())}_{secrets.token_hex(3)}"
    username = f"smoke_{suffix}"
    password = f"smoke test {secrets.token_hex(8)} orchid lantern"
    steps = []

    def step(name, function):
        started = time.monotonic()
        result = function()
        ms = (time.monotonic() - started) * 1000
        steps.append((name, ms))
        print(f"  ok  {name} ({ms:.0f} ms)", flush=True)
        return result

    def health():
        status, body = client.call("GET", "/api/health?type=ready")
        expect("health", status, body, 200)

    def signup():
        status, body = client.call("POST", "/api/auth/signup", {
            "username": username, "email": f"{username}@example.com", "password": password})
        expect("signup", status, body, 201)
        return body["account"]["id"]

    def login():
        status, body = client.call("POST", "/api/auth/login", {"login": username, "password": password})
        expect("login", status, body, 200)
        if body.get("mfaRequired"):
            raise Failed("login: a new account asked for a second factor")
        return body["accessToken"], body["csrfToken"]

    print(f"smoke test against {BASE} as {username}", flush=True)
    try:
        step("health ready", health)
        account_id = step("signup", signup)
        token, csrf = step("login", login)

        def create():
            status, body = client.call("POST", "/api/profiles", {"name": "Smoke test"}, token=token)
            expect("create profile", status, body, 201)
            post = {"content": {"title": f"Smoke {suffix}", "body": "<p>Post-deploy smoke test.</p>"},
                    "postTypeId": 1, "profileId": body["id"]}
            status, body = client.call("POST", "/api/posts", post, token=token)
            expect("create post", status, body, 201)
            return body["id"]

        post_id = step("create a profile and a post", create)

        def read():
            status, body = client.call("GET", f"/api/posts/{post_id}", token=token)
            expect("read the post", status, body, 200)
            title = (body.get("content") or {}).get("title")
            if title != f"Smoke {suffix}":
                raise Failed(f"read the post: title {title!r}")

        step("read the post back", read)

        def refresh():
            status, body = client.call("POST", "/api/auth/refresh", csrf=csrf, cookies=True)
            expect("refresh", status, body, 200)
            return body["accessToken"]

        refreshed = step("refresh the session", refresh)

        def me():
            status, body = client.call("GET", "/api/auth/me", token=refreshed)
            expect("me with the refreshed token", status, body, 200)
            if body["account"]["username"] != username:
                raise Failed("me: another account")

        step("me with the refreshed token", me)

        def delete():
            # Deleting one's own account needs re-authentication (the password here).
            status, body = client.call("DELETE", f"/api/accounts/{account_id}",
                                       {"currentPassword": password}, token=refreshed)
            expect("delete the account", status, body, 204)

        step("delete the smoke account", delete)
    except Failed as failure:
        print(f"  FAIL {failure}", file=sys.stderr)
        sys.exit(1)
    except (urllib.error.URLError, TimeoutError, KeyError, TypeError) as error:
        print(f"  FAIL {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    total = sum(ms for _, ms in steps)
    print(f"smoke test passed: {len(steps)} steps in {total:.0f} ms")


if __name__ == "__main__":
    main()
