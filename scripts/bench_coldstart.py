#!/usr/bin/env python3
"""Cold start of each function: process start to first response served.

Runs a function's release binary against a minimal Lambda Runtime API (this script),
hands it one real API Gateway v2 event (or the scheduled event for partitions) and
times from spawning the process to the function posting its response: runtime init,
config, AWS clients, pools, secrets fetched, the request served. Repeats each function
RUNS times and prints one JSON line per function with median, min and max (ms).

Needs the stack's environment (scripts/stack.sh env) and a bearer token for the
routes that need one: scripts/bench_coldstart.py TOKEN [RUNS]
"""

import http.server
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOKEN = sys.argv[1]
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 7

# function -> (method, path, query, needs the token); each touches its secrets and DB.
ROUTES = {
    "health": ("GET", "/api/health", "", False),
    "auth": ("GET", "/api/auth/me", "", True),
    "posts": ("GET", "/api/posts", "limit=20", False),
    "comments": ("GET", "/api/posts/1/comments", "", False),
    "profiles": ("GET", "/api/profiles", "limit=20", True),
    "accounts": ("GET", "/api/accounts/1", "", True),
    "reports": ("POST", "/api/reports", "", True),
    "admin": ("GET", "/api/admin/settings", "", True),
}


def api_event(method, path, query, with_token):
    event = json.loads((ROOT / "events/apigw-health.json").read_text())
    event["routeKey"] = f"{method} {path}"
    event["rawPath"] = path
    event["rawQueryString"] = query
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    if with_token:
        event["headers"]["authorization"] = f"Bearer {TOKEN}"
    if method == "POST":
        event["headers"]["content-type"] = "application/json"
        event["body"] = json.dumps({"targetType": "account", "targetId": 1, "reason": "spam"})
    return event


class Runtime(http.server.BaseHTTPRequestHandler):
    """GET .../invocation/next hands out the event once; POST .../response (or /error)
    ends a run. The Extensions API is answered too: the functions register an
    extension at start so that Lambda sends them SIGTERM (graceful shutdown)."""

    event = b"{}"
    served = threading.Event()
    answered_at = 0.0
    status = None

    def do_GET(self):
        if "/extension/event/next" in self.path or Runtime.served.is_set():
            time.sleep(3600)  # the function waits for a next event that never comes
            return
        Runtime.served.set()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(Runtime.event)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path.endswith("/extension/register"):
            reply = json.dumps({"functionName": "bench", "functionVersion": "$LATEST", "handler": "bootstrap"}).encode()
            self.send_response(200)
            self.send_header("Lambda-Extension-Identifier", "bench-extension")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
            return
        Runtime.answered_at = time.perf_counter()
        try:
            Runtime.status = json.loads(body).get("statusCode") if self.path.endswith("/response") else "error"
        except ValueError:
            Runtime.status = None
        self.send_response(202)
        self.end_headers()
        Runtime.done.set()

    def log_message(self, *_):
        pass


def one_run(binary, event):
    """One cold start, with its own runtime server so nothing from an earlier run (a
    killed process's last request) can reach it."""
    Runtime.event = json.dumps(event).encode()
    Runtime.served = threading.Event()
    Runtime.done = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": binary.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
    })
    started = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not Runtime.done.wait(30):
            raise RuntimeError(f"{binary.name} did not answer within 30 s")
        return (Runtime.answered_at - started) * 1000, Runtime.status
    finally:
        process.kill()
        process.wait()
        server.shutdown()
        server.server_close()


def main():
    release = ROOT / "target/release"
    functions = dict(ROUTES, partitions=None)
    for name, route in functions.items():
        event = (json.loads((ROOT / "events/scheduled-partitions.json").read_text())
                 if route is None else api_event(*route))
        times, statuses = [], set()
        for _ in range(RUNS):
            elapsed, status = one_run(release / name, event)
            times.append(elapsed)
            statuses.add(status)
        print(json.dumps({
            "function": name, "runs": RUNS, "status": sorted(statuses, key=str),
            "median_ms": round(statistics.median(times), 1),
            "min_ms": round(min(times), 1), "max_ms": round(max(times), 1),
        }), flush=True)


if __name__ == "__main__":
    main()
