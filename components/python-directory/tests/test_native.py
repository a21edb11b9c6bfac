# Why this file exists: the connector's decisions (cursor and option checks,
# JSON shape checks, status-to-error mapping, the no-trap guarantee) are
# plain Python, so they can be tested in seconds on the build machine's
# CPython without a wasm runtime. The WIT bindings are the stubs that
# `componentize-py bindings` writes (their data classes are real; their
# import functions are replaced here), and HTTP is replaced by canned
# responses. The wasi:http plumbing itself is only exercised in a real host
# (see run_tests.sh and REPORT.md).
#
# Run: STUBS=<dir from `componentize-py -d wit -w connector bindings DIR`>
#      python3 -m unittest discover -s tests   (from python-directory/)

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ["STUBS"])
sys.path.insert(0, os.path.dirname(HERE))

from componentize_py_types import Err  # noqa: E402
from wit_world.imports import log  # noqa: E402
from wit_world.imports import seatwarden_connector_types as t  # noqa: E402

import app  # noqa: E402
import blocking_http  # noqa: E402

LINES = []
log.log = lambda level, message: LINES.append((level, message))

SENT = []
REPLIES = []


def fake_send(method, scheme, authority, path_with_query, headers=()):
    SENT.append((method, scheme, authority, path_with_query, list(headers)))
    reply = REPLIES.pop(0)
    if isinstance(reply, Exception):
        raise reply
    return reply


blocking_http.send = fake_send


def reply(status, body=b"", headers=()):
    if isinstance(body, str):
        body = body.encode()
    return blocking_http.Response(status, list(headers), body)


def settings(base="http://127.0.0.1:9", **options):
    return t.Settings(base_url=base, options=list(options.items()))


USER = '{"id":"u-1","email":"a@example.com","name":"A","active":true,"role":"admin","lastLogin":1700000000000}'


class ConnectorTests(unittest.TestCase):
    def setUp(self):
        SENT.clear()
        REPLIES.clear()
        LINES.clear()
        self.api = app.ConnectorApi()

    def err(self, call):
        with self.assertRaises(Err) as caught:
            call()
        return caught.exception.value

    def test_describe(self):
        d = self.api.describe()
        self.assertEqual(d.name, "directory-python")
        self.assertEqual(d.auth, t.AuthScheme_ApiKeyHeader("X-Directory-Key"))
        self.assertEqual(d.capabilities, t.Capabilities.ACTIVITY | t.Capabilities.DEACTIVATE | t.Capabilities.REACTIVATE)
        self.assertEqual(d.options[0].name, "page-size")
        self.assertFalse(d.options[0].required)

    def test_list_users_maps_and_pages(self):
        REPLIES.append(reply(200, '{"users":[%s,{"id":"u-2","email":"b@x","active":false,"role":"viewer","lastLogin":null}],"nextPage":3}' % USER))
        page = self.api.list_users(settings(**{"page-size": "25"}), "2")
        self.assertEqual(SENT[0][:4], ("GET", "http", "127.0.0.1:9", "/users?page=2&pageSize=25"))
        self.assertEqual(SENT[0][4], [])  # never a credential header
        self.assertEqual(page.next_cursor, "3")
        a, b = page.accounts
        self.assertEqual(a, t.Account("u-1", "a@example.com", "A", True, ["admin"], None, 1700000000000, [("role", "admin")]))
        self.assertIsNone(b.display_name)
        self.assertIsNone(b.last_active_at)
        self.assertEqual(LINES[0][0], log.Level.INFO)

    def test_first_page_default_size_and_path_prefix(self):
        REPLIES.append(reply(200, '{"users":[],"nextPage":null}'))
        page = self.api.list_users(settings("https://api.example.com/v1/"), None)
        self.assertEqual(SENT[0][1:4], ("https", "api.example.com", "/v1/users?page=1&pageSize=100"))
        self.assertIsNone(page.next_cursor)

    def test_validate(self):
        REPLIES.append(reply(200, '{"users":[],"nextPage":null}'))
        self.assertEqual(self.api.validate(settings()), t.Validated(None))

    def test_bad_cursor_and_options_are_config(self):
        for cursor in ["0", "-1", "abc", "1&x=2", "", "01", "9999999999", "2\n"]:
            self.assertIsInstance(self.err(lambda: self.api.list_users(settings(), cursor)), t.ConnectorError_Config, cursor)
            self.assertIsInstance(self.err(lambda: self.api.get_activity(settings(), 0, cursor)), t.ConnectorError_Config, cursor)
        for size in ["0", "101", "ten", "1e2", ""]:
            self.assertIsInstance(self.err(lambda: self.api.list_users(settings(**{"page-size": size}), None)), t.ConnectorError_Config, size)
        for base in ["ftp://h", "http://user@h", "http://h/x?y=1", "127.0.0.1", "", "http://h\n"]:
            self.assertIsInstance(self.err(lambda: self.api.list_users(settings(base), None)), t.ConnectorError_Config, base)
        self.assertEqual(SENT, [])

    def test_statuses(self):
        cases = [
            (401, t.ConnectorError_Unauthorized),
            (403, t.ConnectorError_Forbidden),
            (404, t.ConnectorError_NotFound),
            (500, t.ConnectorError_Unavailable),
            (503, t.ConnectorError_Unavailable),
            (400, t.ConnectorError_InvalidResponse),
            (302, t.ConnectorError_InvalidResponse),
        ]
        for status, kind in cases:
            REPLIES.append(reply(status, '{"error":"x"}'))
            self.assertIsInstance(self.err(lambda: self.api.list_users(settings(), None)), kind, status)

    def test_rate_limit(self):
        for header, expected in [("7", 7000), (" 3 ", 3000), ("soon", None), ("99999999999", None), ("4294968", 4294967295)]:
            REPLIES.append(reply(429, "", [("retry-after", header)]))
            self.assertEqual(self.err(lambda: self.api.list_users(settings(), None)), t.ConnectorError_RateLimited(expected))
        REPLIES.append(reply(429))
        self.assertEqual(self.err(lambda: self.api.list_users(settings(), None)), t.ConnectorError_RateLimited(None))

    def test_bad_bodies_are_invalid_response_with_excerpt(self):
        bodies = [
            "<html>" + "x" * 500,
            '{"users":[{"id":"u-1"',
            '{"users":[{"id":1,"email":"a","active":true,"role":"r"}]}',
            '{"users":[{"id":"1","email":"a","active":"yes","role":"r"}]}',
            '{"users":[{"id":"1","email":"a","active":true,"role":"r","lastLogin":1.5}]}',
            '{"users":[{"id":"1","email":"a","active":true,"role":"r","lastLogin":true}]}',
            '{"users":[{"id":"1","email":"a","active":true,"role":"r","lastLogin":9223372036854775808}]}',
            '{"users":[{"id":"1","email":"a","active":true}]}',
            '{"users":{}}',
            '{"users":[1]}',
            '[]',
            '{"users":[],"nextPage":"2"}',
            '{"users":[],"nextPage":1}',
            '{"users":[],"nextPage":NaN}',
            '',
            b"\xff\xfe",
            "[" * 100000,
            '{"users":[' + '{"a":' * 5000 + '1' + '}' * 5000 + ']}',
            '{"users":[{"id":"]]]]","email":"a","active":true,"role":"r","lastLogin":"x"}]}',
        ]
        for body in bodies:
            REPLIES.append(reply(200, body))
            error = self.err(lambda: self.api.list_users(settings(), None))
            self.assertIsInstance(error, t.ConnectorError_InvalidResponse, body[:80])
            self.assertLess(len(error.value), 600, body[:80])

    def test_activity(self):
        REPLIES.append(reply(200, '{"events":[{"userId":"u-00001","at":1700000000001,"type":"LOGIN"}],"nextPage":2}'))
        page = self.api.get_activity(settings(), 1700000000000, None)
        self.assertEqual(SENT[0][3], "/events?since=1700000000000&page=1")
        self.assertEqual(page, t.ActivityPage([t.Activity("u-00001", 1700000000001, "LOGIN")], "2"))
        REPLIES.append(reply(200, '{"events":[],"nextPage":null}'))
        page = self.api.get_activity(settings(), -5, "2")
        self.assertEqual(SENT[1][3], "/events?since=-5&page=2")
        self.assertEqual(page, t.ActivityPage([], None))
        for body in ['{"events":[{"userId":"u","at":"x","type":"LOGIN"}]}', '{"events":[{"userId":"u","at":1}]}', '{"nextPage":null}']:
            REPLIES.append(reply(200, body))
            self.assertIsInstance(self.err(lambda: self.api.get_activity(settings(), 0, None)), t.ConnectorError_InvalidResponse)

    def test_post(self):
        REPLIES.append(reply(204))
        self.assertIsNone(self.api.deactivate_user(settings(), "u-00003"))
        self.assertEqual(SENT[0][0], "POST")
        self.assertEqual(SENT[0][3], "/users/u-00003/deactivate")
        self.assertNotIn("x-directory-key", [name.lower() for name, _ in SENT[0][4]])
        REPLIES.append(reply(200))
        self.assertIsNone(self.api.reactivate_user(settings(), "u-00003"))
        self.assertEqual(SENT[1][3], "/users/u-00003/reactivate")
        REPLIES.append(reply(404, '{"error":"no user u-9"}'))
        self.assertIsInstance(self.err(lambda: self.api.deactivate_user(settings(), "u-9")), t.ConnectorError_NotFound)
        for bad in ["", "a/b", "../x", "a b", "ü", "u-1\n"]:
            self.assertIsInstance(self.err(lambda: self.api.deactivate_user(settings(), bad)), t.ConnectorError_NotFound)
        self.assertEqual(len(SENT), 3)

    def test_transport_failures_pass_through(self):
        REPLIES.append(blocking_http.ConnectorFailure(t.ConnectorError_Unavailable("GET /users: refused")))
        self.assertEqual(self.err(lambda: self.api.list_users(settings(), None)), t.ConnectorError_Unavailable("GET /users: refused"))

    def test_unexpected_exceptions_do_not_escape(self):
        REPLIES.append(RuntimeError("boom"))
        error = self.err(lambda: self.api.list_users(settings(), None))
        self.assertIsInstance(error, t.ConnectorError_InvalidResponse)
        self.assertIn("RuntimeError", error.value)

    def test_nesting_guard(self):
        self.assertTrue(app._shallow('{"users":[{"id":"[[[[{{{{\\"","x":[1,[2]]}]}'))
        self.assertFalse(app._shallow("[" * 40 + "]" * 40))
        self.assertFalse(app._shallow('{"a":[}'))
        self.assertEqual(app._parse_json("[" * 40 + "]" * 40), eval("[" * 40 + "]" * 40))
        with self.assertRaises(RecursionError):
            app._parse_json("[" * 100000)

    def test_excerpt(self):
        self.assertEqual(blocking_http.excerpt(b"a\nb\x00c"), "a b c")
        long = blocking_http.excerpt(b"x" * 300)
        self.assertEqual(len(long), 201)
        self.assertTrue(long.endswith("…"))


if __name__ == "__main__":
    unittest.main()
