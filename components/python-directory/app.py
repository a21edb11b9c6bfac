# Why this file exists: it is the Seatwarden connector for the "Example
# Directory" vendor, written in Python and compiled to a WebAssembly
# component with componentize-py. It is the Python twin of the Rust fixture
# in tests/guests/directory (same API, same status-to-error mapping), plus the
# vendor's `GET /events` activity feed. componentize-py looks for a class
# named after the exported interface (`connector-api` -> `ConnectorApi`) in
# this module. Every exported function returns values or raises
# `Err(connector-error)`; no other exception may escape, because an uncaught
# Python exception becomes a trap and the host would see a crashed guest
# instead of an error it can act on.
#
# The connector never sets `X-Directory-Key`: it declares it as its auth
# scheme and the host adds it to each allowed request.

import json
import json.scanner
import re

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log
from wit_world.imports.seatwarden_connector_types import (
    Account,
    AccountPage,
    Activity,
    ActivityPage,
    AuthScheme_ApiKeyHeader,
    Capabilities,
    ConnectorError_Config,
    ConnectorError_InvalidResponse,
    ConnectorError_NotFound,
    Descriptor,
    OptionSpec,
    Validated,
)

import blocking_http
from blocking_http import ConnectorFailure, excerpt

NAME = "directory-python"
VERSION = "0.1.0"
AUTH_HEADER = "X-Directory-Key"
DEFAULT_PAGE_SIZE = 100
I64_MIN, I64_MAX = -(2**63), 2**63 - 1

_CURSOR = re.compile(r"^[1-9][0-9]{0,8}$")  # a page number, 1 .. 999999999
_PAGE_SIZE = re.compile(r"^[0-9]{1,3}$")
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9-]+$")


class ShapeError(Exception):
    """The vendor's JSON is not the document this connector expects."""


# ---------------------------------------------------------------- helpers


def _log(level, message):
    try:
        log.log(level, message)
    except Exception:
        pass  # logging must never fail a call


def _option(settings, name):
    for key, value in settings.options:
        if key == name:
            return value
    return None


def _page_size(settings):
    raw = _option(settings, "page-size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    value = raw.strip()
    if not _PAGE_SIZE.fullmatch(value) or not 1 <= int(value) <= 100:
        raise ConnectorFailure(
            ConnectorError_Config("option page-size must be a whole number from 1 to 100, not %r" % excerpt(raw))
        )
    return int(value)


def _page_from_cursor(cursor):
    if cursor is None:
        return 1
    if not _CURSOR.fullmatch(cursor):
        raise ConnectorFailure(
            ConnectorError_Config("cursor %r is not a page number this connector returned" % excerpt(cursor))
        )
    return int(cursor)


def _get_json(settings, path_with_query, what):
    scheme, authority, prefix = blocking_http.split_base_url(settings.base_url)
    response = blocking_http.check_status(
        blocking_http.send("GET", scheme, authority, prefix + path_with_query)
    )
    try:
        text = response.body.decode("utf-8")
        return _parse_json(text), response
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ConnectorFailure(
            ConnectorError_InvalidResponse(
                "expected %s (HTTP %d), but the body is not JSON (%s); body starts: %s"
                % (what, response.status, _short(err), excerpt(response.body))
            )
        )


# Nesting guard. CPython's C JSON scanner recurses on the *wasm* call stack,
# which CPython cannot measure: a body like `[[[[...` 100,000 deep exhausts
# the host's wasm stack and traps the instance before Python's recursion
# limit fires (seen in the real host: "wasm trap: call stack exhausted").
# So the fast C parser only sees documents whose nesting is known to be
# shallow; anything else goes to the pure-Python scanner, whose recursion
# is Python frames on the heap and ends in a catchable RecursionError.
# Strings are removed first so that brackets inside them do not count.
MAX_FAST_DEPTH = 32
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _shallow(text):
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(MAX_FAST_DEPTH):
        if not brackets:
            return True
        reduced = brackets.replace("[]", "").replace("{}", "")
        if reduced == brackets:
            return False  # unbalanced: malformed, let the careful parser say where
        brackets = reduced
    return not brackets


def _parse_json(text):
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    if not _shallow(text):
        decoder.scan_once = json.scanner.py_make_scanner(decoder)
    return decoder.decode(text)


def _reject_constant(name):
    raise ValueError("%s is not a JSON number" % name)


def _short(err):
    return excerpt(str(err))[:120]


def _field(obj, key, kind, where, optional=False):
    """obj[key] checked against a JSON type; `optional` allows null/missing."""
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise ShapeError("%s.%s is missing or null" % (where, key))
    value = obj[key]
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "i64":
        ok = isinstance(value, int) and not isinstance(value, bool) and I64_MIN <= value <= I64_MAX
    elif kind == "page":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 999999999
    elif kind == "list":
        ok = isinstance(value, list)
    else:  # pragma: no cover - programming error
        raise AssertionError(kind)
    if not ok:
        raise ShapeError("%s.%s is not %s: %s" % (where, key, _KINDS[kind], _describe(value)))
    return value


def _describe(value):
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return excerpt(json.dumps(value))[:60]


_KINDS = {
    "string": "a string",
    "bool": "a boolean",
    "i64": "an integer in the signed 64-bit range",
    "page": "a page number from 1",
    "list": "an array",
}


def _object(value, where):
    if not isinstance(value, dict):
        raise ShapeError("%s is not an object" % where)
    return value


def _next_page(doc, page):
    nxt = _field(doc, "nextPage", "page", "$", optional=True)
    if nxt is not None and nxt <= page:
        raise ShapeError("$.nextPage %d does not come after page %d" % (nxt, page))
    return None if nxt is None else str(nxt)


def _decode(doc, response, what, build):
    try:
        return build(_object(doc, "$"))
    except ShapeError as err:
        raise ConnectorFailure(
            ConnectorError_InvalidResponse(
                "expected %s (HTTP %d), but %s; body starts: %s"
                % (what, response.status, err, excerpt(response.body))
            )
        )


def _to_account(user, where):
    role = _field(user, "role", "string", where)
    return Account(
        id=_field(user, "id", "string", where),
        principal=_field(user, "email", "string", where),
        display_name=_field(user, "name", "string", where, optional=True),
        active=_field(user, "active", "bool", where),
        subscriptions=[role],
        created_at=None,
        last_active_at=_field(user, "lastLogin", "i64", where, optional=True),
        attributes=[("role", role)],
    )


def _to_activity(event, where):
    return Activity(
        account_id=_field(event, "userId", "string", where),
        at=_field(event, "at", "i64", where),
        kind=_field(event, "type", "string", where),
    )


def _guarded(call):
    """Runs one exported call so that only `Err(connector-error)` escapes."""
    try:
        return call()
    except ConnectorFailure as failure:
        raise Err(failure.error)
    except Err:
        raise
    except BaseException as err:  # a bug here must not become a trap
        message = "connector error %s: %s" % (type(err).__name__, _short(err))
        _log(log.Level.ERROR, message)
        raise Err(ConnectorError_InvalidResponse(message))


# ---------------------------------------------------------------- the calls


def _validate(settings):
    # The first users page proves the base URL, the allowlist and the key.
    # Example Directory has no "who am I" endpoint, so the credentials'
    # account is unknown (the host then asks the operator to name it).
    _list_users(settings, None)
    return Validated(credential_account=None)


def _list_users(settings, cursor):
    page = _page_from_cursor(cursor)
    size = _page_size(settings)
    doc, response = _get_json(settings, "/users?page=%d&pageSize=%d" % (page, size), "a users page")

    def build(obj):
        users = _field(obj, "users", "list", "$")
        accounts = [
            _to_account(_object(user, "$.users[%d]" % i), "$.users[%d]" % i)
            for i, user in enumerate(users)
        ]
        return AccountPage(accounts=accounts, next_cursor=_next_page(obj, page))

    result = _decode(doc, response, "a users page", build)
    _log(
        log.Level.INFO,
        "users page %d: %d accounts, next page %s" % (page, len(result.accounts), result.next_cursor or "none"),
    )
    return result


def _get_activity(settings, since, cursor):
    page = _page_from_cursor(cursor)
    doc, response = _get_json(settings, "/events?since=%d&page=%d" % (since, page), "an events page")

    def build(obj):
        events = _field(obj, "events", "list", "$")
        activity = [
            _to_activity(_object(event, "$.events[%d]" % i), "$.events[%d]" % i)
            for i, event in enumerate(events)
        ]
        return ActivityPage(events=activity, next_cursor=_next_page(obj, page))

    result = _decode(doc, response, "an events page", build)
    _log(
        log.Level.INFO,
        "events page %d since %d: %d events, next page %s"
        % (page, since, len(result.events), result.next_cursor or "none"),
    )
    return result


def _post(settings, account_id, action):
    if not _ACCOUNT_ID.fullmatch(account_id or ""):
        raise ConnectorFailure(ConnectorError_NotFound("no account %r" % excerpt(account_id or "")))
    scheme, authority, prefix = blocking_http.split_base_url(settings.base_url)
    path = "%s/users/%s/%s" % (prefix, account_id, action)
    # An explicit zero length: some servers answer 411 to a body-less POST.
    response = blocking_http.send("POST", scheme, authority, path, [("content-length", "0")])
    blocking_http.check_status(response)
    _log(log.Level.INFO, "%s %s: HTTP %d" % (action, account_id, response.status))
    return None


class ConnectorApi(exports.ConnectorApi):
    def describe(self):
        return Descriptor(
            name=NAME,
            version=VERSION,
            vendor="Example Directory",
            summary="Example Directory users, last login and login events (Python connector)",
            capabilities=Capabilities.ACTIVITY | Capabilities.DEACTIVATE | Capabilities.REACTIVATE,
            auth=AuthScheme_ApiKeyHeader(AUTH_HEADER),
            default_hosts=["http://127.0.0.1"],
            default_base_url="http://127.0.0.1",
            regions=[],
            options=[
                OptionSpec(
                    name="page-size",
                    description="Users per page, 1 to 100 (default 100).",
                    required=False,
                )
            ],
        )

    def validate(self, settings):
        return _guarded(lambda: _validate(settings))

    def list_users(self, settings, cursor):
        return _guarded(lambda: _list_users(settings, cursor))

    def get_activity(self, settings, since, cursor):
        return _guarded(lambda: _get_activity(settings, since, cursor))

    def deactivate_user(self, settings, account_id):
        return _guarded(lambda: _post(settings, account_id, "deactivate"))

    def reactivate_user(self, settings, account_id):
        return _guarded(lambda: _post(settings, account_id, "reactivate"))
