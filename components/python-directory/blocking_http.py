# Why this file exists: Seatwarden connectors may reach the network only
# through `wasi:http/outgoing-handler`, and each connector call makes one or
# two sequential requests. This module is a small *blocking* client over the
# bindings componentize-py generates for that interface (no asyncio event
# loop, no third-party HTTP library, which could not work in the sandbox
# anyway). It owns the fiddly part of the WASI resource model: every child
# resource (pollables, streams, header fields) is dropped explicitly before
# its parent, because dropping them in the wrong order traps the instance.
# It also maps HTTP statuses and wasi:http error codes onto the contract's
# `connector-error`, the same way the Rust SDK (components/sdk) does.

import re

from componentize_py_types import Err
from wit_world.imports import outgoing_handler
from wit_world.imports import wasi_http_types as http
from wit_world.imports import streams
from wit_world.imports.seatwarden_connector_types import (
    ConnectorError_Config,
    ConnectorError_Forbidden,
    ConnectorError_InvalidResponse,
    ConnectorError_NotFound,
    ConnectorError_RateLimited,
    ConnectorError_Unauthorized,
    ConnectorError_Unavailable,
)

# The largest response body read; the host enforces its own cap as well.
MAX_BODY_BYTES = 16 * 1024 * 1024
READ_CHUNK = 64 * 1024
EXCERPT_CHARS = 200
U32_MAX = 2**32 - 1

_URL = re.compile(r"^(https?)://([^/?#@\s]+)(/[^?#\s]*)?$")
_RETRY_AFTER = re.compile(r"^\+?[0-9]+$")


class ConnectorFailure(Exception):
    """Carries one `connector-error` value up to the exported function."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


class Response:
    """A response with its body read in full."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (lowercase name, str value)
        self.body = body

    def header(self, name):
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


def excerpt(body):
    """Up to 200 characters of a body, lossily decoded, controls blanked."""
    if isinstance(body, (bytes, bytearray)):
        text = bytes(body[: EXCERPT_CHARS * 4]).decode("utf-8", errors="replace")
    else:
        text = str(body)
    short = text[:EXCERPT_CHARS]
    short = "".join(" " if (ord(c) < 32 or 127 <= ord(c) < 160) else c for c in short)
    if len(text) > EXCERPT_CHARS:
        short += "…"
    return short


def split_base_url(base_url):
    """`http(s)://authority[/path]` -> (scheme, authority, path prefix).

    The contract promises an absolute base URL without a trailing slash; a
    base URL that is not one is the connection's configuration error.
    """
    match = _URL.fullmatch(base_url or "")
    if match is None:
        raise ConnectorFailure(
            ConnectorError_Config(
                "base URL %r is not http(s)://host[:port][/path] without query"
                % excerpt(base_url or "")
            )
        )
    scheme, authority, path = match.group(1), match.group(2), match.group(3) or ""
    return scheme, authority, path.rstrip("/")


def _error_code_text(code):
    """`ErrorCode_HttpRequestDenied()` -> `HTTP-request-denied` style text."""
    name = type(code).__name__
    if name.startswith("ErrorCode_"):
        name = name[len("ErrorCode_"):]
    # CamelCase -> kebab-case, keeping the WIT's own spelling close enough.
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
    payload = getattr(code, "value", None)
    if payload is not None and not isinstance(payload, (str, int)):
        payload = getattr(payload, "__dict__", payload)
    return kebab if payload is None else "%s (%s)" % (kebab, payload)


def _transport_failure(what, code):
    # A refusal is the connection's configuration, not an outage: `config`
    # (as the Rust SDK says), so the host does not retry it with backoff.
    if isinstance(code, http.ErrorCode_HttpRequestDenied):
        return ConnectorFailure(ConnectorError_Config(
            "%s: the sandbox refused the request (HTTP-request-denied): "
            "destination, method or request count not allowed" % what
        ))
    message = "%s: HTTP transport error: %s" % (what, _error_code_text(code))
    return ConnectorFailure(ConnectorError_Unavailable(message))


def _drop(resource):
    """Release a WASI resource now rather than whenever the GC gets to it."""
    if resource is not None:
        resource.__exit__(None, None, None)


def _method(name):
    return {
        "GET": http.Method_Get(),
        "HEAD": http.Method_Head(),
        "POST": http.Method_Post(),
        "PUT": http.Method_Put(),
        "PATCH": http.Method_Patch(),
        "DELETE": http.Method_Delete(),
    }[name]


def send(method, scheme, authority, path_with_query, headers=()):
    """Sends a body-less request and reads the whole response.

    Raises ConnectorFailure for anything that kept a response from arriving.
    """
    what = "%s %s" % (method, path_with_query.split("?", 1)[0])
    fields = http.Fields()
    for name, value in headers:
        try:
            fields.append(name, value.encode("utf-8"))
        except Err as err:
            _drop(fields)
            raise ConnectorFailure(
                ConnectorError_Config(
                    "the host refused header %r: %s" % (name, type(err.value).__name__)
                )
            )
    request = http.OutgoingRequest(fields)  # takes ownership of `fields`
    body = None
    try:
        try:
            request.set_method(_method(method))
            request.set_scheme(http.Scheme_Https() if scheme == "https" else http.Scheme_Http())
            request.set_authority(authority)
            request.set_path_with_query(path_with_query)
        except Err:
            raise ConnectorFailure(
                ConnectorError_Config("invalid request target %s://%s%s" % (scheme, authority, excerpt(path_with_query)))
            )
        body = request.body()
    except BaseException:
        _drop(body)
        _drop(request)
        raise

    try:
        future = outgoing_handler.handle(request, None)  # consumes `request`
    except Err as err:
        _drop(body)
        raise _transport_failure(what, err.value)

    try:
        try:
            http.OutgoingBody.finish(body, None)  # consumes `body`
        except Err as err:
            raise _transport_failure(what, err.value)
        return _await_response(what, future)
    finally:
        _drop(future)


def _await_response(what, future):
    result = future.get()
    if result is None:
        pollable = future.subscribe()
        try:
            pollable.block()
        finally:
            _drop(pollable)
        result = future.get()
    if result is None or isinstance(result, Err):
        raise ConnectorFailure(ConnectorError_Unavailable("%s: response future in a bad state" % what))
    inner = result.value
    if isinstance(inner, Err):
        raise _transport_failure(what, inner.value)
    response = inner.value
    try:
        status = response.status()
        fields = response.headers()
        try:
            headers = [
                (name, value.decode("utf-8", errors="replace"))
                for name, value in fields.entries()
            ]
        finally:
            _drop(fields)
        try:
            incoming = response.consume()
        except Err:
            raise ConnectorFailure(ConnectorError_Unavailable("%s: response body already taken" % what))
        body = _read_body(what, incoming)
        return Response(status, headers, body)
    finally:
        _drop(response)


def _read_body(what, incoming):
    try:
        stream = incoming.stream()
    except Err:
        _drop(incoming)
        raise ConnectorFailure(ConnectorError_Unavailable("%s: response body stream already taken" % what))
    chunks = []
    size = 0
    failure = None
    try:
        while True:
            try:
                chunk = stream.blocking_read(READ_CHUNK)
            except Err as err:
                if isinstance(err.value, streams.StreamError_Closed):
                    break
                detail = "stream failed"
                try:
                    code = http.http_error_code(err.value.value)
                    detail = _error_code_text(code) if code is not None else err.value.value.to_debug_string()
                except Exception:
                    pass
                failure = ConnectorFailure(
                    ConnectorError_Unavailable("%s: reading response body: %s" % (what, detail))
                )
                break
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                failure = ConnectorFailure(
                    ConnectorError_InvalidResponse(
                        "%s: response body larger than %d bytes" % (what, MAX_BODY_BYTES)
                    )
                )
                break
            chunks.append(chunk)
    finally:
        _drop(stream)
    if failure is not None:
        _drop(incoming)
        raise failure
    trailers = http.IncomingBody.finish(incoming)  # consumes `incoming`
    _drop(trailers)
    return b"".join(chunks)


def retry_after_ms(response):
    """The wait a 429 asks for, from `Retry-After` in seconds, in ms."""
    value = response.header("retry-after")
    if value is None:
        return None
    value = value.strip()
    if not _RETRY_AFTER.fullmatch(value):
        return None
    seconds = int(value)
    if seconds > U32_MAX:
        return None
    return min(seconds * 1000, U32_MAX)


def check_status(response):
    """Maps a non-2xx status to the contract's error; returns 2xx responses."""
    status = response.status
    if 200 <= status <= 299:
        return response
    detail = "HTTP %d: %s" % (status, excerpt(response.body))
    if status == 401:
        error = ConnectorError_Unauthorized(detail)
    elif status == 403:
        error = ConnectorError_Forbidden(detail)
    elif status == 404:
        error = ConnectorError_NotFound(detail)
    elif status == 429:
        error = ConnectorError_RateLimited(retry_after_ms(response))
    elif 500 <= status <= 599:
        error = ConnectorError_Unavailable(detail)
    else:
        error = ConnectorError_InvalidResponse("unexpected " + detail)
    raise ConnectorFailure(error)
