#!/usr/bin/env python3
"""A fake of the example vendor API the connector template speaks.

Why it exists: a connector author needs a vendor to test against before a
real test tenant exists. This one uses only Python's standard library and
behaves like a small real API: the bearer token is checked on every request
(401 without it), users and events are paged (at most 100 per page), events
are filtered by `since`, and deactivation and reactivation change state and
are idempotent. Change it along with the connector when you adapt the
template to your vendor, so `./test.sh` keeps testing what you ship.
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DAY_MS = 86_400_000
NOW_MS = int(time.time() * 1000)
LOCK = threading.Lock()
USERS = [
    {
        "id": "u-%04d" % i,
        "email": "user%d@example.com" % i,
        "name": "User %d" % i,
        "active": i % 13 != 0,
        "seat": ["member", "member", "viewer", "admin"][i % 4],
        "lastLogin": None if i % 7 == 0 else NOW_MS - (i % 90) * DAY_MS,
    }
    for i in range(250)
]
EVENTS = sorted(
    (
        {"userId": u["id"], "at": u["lastLogin"] - offset * DAY_MS, "type": kind}
        for u in USERS
        if u["lastLogin"] is not None
        for offset, kind in ((0, "LOGIN"), (1, "VIEW"))
    ),
    key=lambda e: e["at"],
)


class Vendor(BaseHTTPRequestHandler):
    token = ""

    def log_message(self, *args):
        pass

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Authorization") == "Bearer " + self.token:
            return True
        self.reply(401, {"error": "missing or wrong bearer token"})
        return False

    def page(self, items, query):
        try:
            page = max(1, int(query.get("page", ["1"])[0]))
            size = min(100, max(1, int(query.get("pageSize", ["100"])[0])))
        except ValueError:
            return None
        start = (page - 1) * size
        more = start + size < len(items)
        return items[start : start + size], (page + 1 if more else None)

    def do_GET(self):
        if not self.authorized():
            return
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path.endswith("/me"):
            return self.reply(200, {"id": "u-0001"})
        if url.path.endswith("/users"):
            with LOCK:
                paged = self.page(list(USERS), query)
            if paged is None:
                return self.reply(400, {"error": "page and pageSize are numbers"})
            return self.reply(200, {"users": paged[0], "nextPage": paged[1]})
        if url.path.endswith("/events"):
            try:
                since = int(query["since"][0])
            except (KeyError, ValueError):
                return self.reply(400, {"error": "since (ms) is required"})
            paged = self.page([e for e in EVENTS if e["at"] >= since], query)
            if paged is None:
                return self.reply(400, {"error": "page is a number"})
            return self.reply(200, {"events": paged[0], "nextPage": paged[1]})
        self.reply(404, {"error": "no such endpoint"})

    def do_POST(self):
        if not self.authorized():
            return
        parts = urlparse(self.path).path.strip("/").split("/")
        if len(parts) >= 3 and parts[-3] == "users" and parts[-1] in ("deactivate", "reactivate"):
            with LOCK:
                for user in USERS:
                    if user["id"] == parts[-2]:
                        user["active"] = parts[-1] == "reactivate"
                        return self.reply(204)
            return self.reply(404, {"error": "no user %s" % parts[-2]})
        self.reply(404, {"error": "no such endpoint"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the port here once listening")
    args = parser.parse_args()
    Vendor.token = args.token
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Vendor)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(port))
    print("fake vendor on http://127.0.0.1:%d" % port, file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
