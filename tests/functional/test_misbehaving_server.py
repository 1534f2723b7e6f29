"""A server that is not a healthy LXD: each of its misdeeds is a clear error.

A small fake server on a unix socket (started by the tests, one per test) answers what a
reverse proxy's error page, a web server on the wrong socket, a half-broken daemon or a
hostile one would: an HTML page, JSON of another shape, JSON that does not parse, nothing
at all, an operation that never ends, a body larger than ``max_body`` (with a
Content-Length, and chunked with none), a body cut short, a 502 page. Each is refused by
the core with an :class:`lxdapi.APIUnexpectedAnswer` (:class:`lxdapi.APITimeout` for
time) naming the server, the request, the status, the content type and the first bytes;
an execution function gives ``CommandExecutionError`` with those words (not "internal
error", no traceback logged); a state ``result: False`` with them, and nothing is written
after it. The real daemons' operation that outlives ``wait_timeout`` is at the end.
"""

import json
import logging
import os
import re
import socket
import threading
import time
import urllib.parse

import pytest
from salt.exceptions import CommandExecutionError

from conftest import core

WRITES = ("POST", "PUT", "PATCH", "DELETE")

#: What ``GET /1.0`` answers on the fake server when it behaves.
SERVER_DOC = {
    "api_extensions": ["instances", "etag"],
    "api_status": "stable",
    "api_version": "1.0",
    "auth": "trusted",
    "environment": {"server": "lxd", "server_version": "5.21.1"},
}

HTML = (
    b"<html><body>Welcome to nginx! If you see this page, the web server is successfully "
    b"installed and working.</body></html>"
)

OPERATION = {
    "id": "0b8e6c2a-fake",
    "class": "task",
    "description": "Creating instance",
    "created_at": "2024-01-01T00:00:00Z",
    "updated_at": "2024-01-01T00:00:00Z",
    "status": "Running",
    "status_code": 103,
    "resources": {"instances": ["/1.0/instances/web1"]},
    "metadata": None,
    "may_cancel": False,
    "err": "",
    "location": "none",
}


def answer(status, body, content_type="application/json", reason=None, headers=()):
    """One HTTP answer, as bytes: ``body`` (bytes, or JSON-able) with its length."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    reasons = {200: "OK", 202: "Accepted", 404: "Not Found", 502: "Bad Gateway"}
    head = [f"HTTP/1.1 {status} {reason or reasons.get(status, 'Status')}"]
    if content_type:
        head.append(f"Content-Type: {content_type}")
    head.append(f"Content-Length: {len(body)}")
    head.extend(headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def sync(metadata):
    """LXD's sync answer holding ``metadata``."""
    return answer(
        200, {"type": "sync", "status": "Success", "status_code": 200, "metadata": metadata}
    )


def not_found():
    """LXD's own 404."""
    return answer(404, {"type": "error", "error": "Not Found", "error_code": 404, "metadata": None})


def behaving(method, path, query):
    """The answers of a healthy (if empty) LXD: the server, nothing else (404)."""
    if method == "GET" and path == "/1.0":
        return sync(SERVER_DOC)
    if method == "GET" and path == "/1.0/instances":
        return sync([])
    return not_found()


class FakeServer:
    """A server on a unix socket ``path``; ``route(method, path, query)`` gives each
    request's answer: bytes, None (the default: :func:`behaving`'s), or a callable
    ``action(conn)`` that answers (or does not) on the connection itself, returning True
    when the connection may serve another request. ``requests`` lists ``(method,
    path)`` of each request received."""

    def __init__(self, path, route):
        self.path = path
        self.route = route
        self.requests = []
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def writes(self):
        """The requests received that would change something."""
        return [r for r in self.requests if r[0] in WRITES]

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buffer = b""
        try:
            while not self.stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                length = int({k.lower(): v for k, v in headers.items()}.get("content-length", 0))
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                parts = urllib.parse.urlsplit(target)
                query = dict(urllib.parse.parse_qsl(parts.query))
                self.requests.append((method, parts.path))
                reply = self.route(method, parts.path, query)
                if reply is None:
                    reply = behaving(method, parts.path, query)
                if callable(reply):
                    if not reply(conn):
                        return
                else:
                    conn.sendall(reply)
        except OSError:
            return
        finally:
            conn.close()

    def stop(self):
        """Stop serving; close every connection."""
        self.stopping.set()
        self.sock.close()
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass


@pytest.fixture
def sockets_dir():
    """A short folder for unix sockets (their paths are limited to 107 bytes)."""
    path = f"/tmp/lxdapi-mb-{os.urandom(3).hex()}"
    os.mkdir(path)
    yield path
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    os.rmdir(path)


@pytest.fixture
def serve(sockets_dir):
    """``serve(route)``: a :class:`FakeServer` answering with ``route``, stopped at the
    end of the test."""
    started = []

    def start(route):
        server = FakeServer(os.path.join(sockets_dir, f"s{len(started)}.socket"), route)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def everywhere(reply):
    """A route answering ``reply`` to every request."""
    return lambda method, path, query: reply


def except_server(reply):
    """A route answering ``reply`` to every request but ``GET /1.0`` (answered well)."""
    return lambda method, path, query: None if path == "/1.0" else reply


def silent(conn):
    """Answer nothing, ever (until the server stops)."""
    time.sleep(30)
    return False


def closing_mid_body(conn):
    """Promise 1000 bytes, send 20, close."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        b'{"type": "sync", "me'
    )
    return False


def oversized_declared(size):
    """Announce ``size`` bytes of JSON (Content-Length); send a little, then wait."""

    def action(conn):
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode()
            + b'{"type": "sync", "metadata": ["'
        )
        time.sleep(5)
        return False

    return action


def oversized_chunked(size):
    """Send ``size`` bytes of JSON, chunked, with no Content-Length; close."""

    def action(conn):
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        piece = b"x" * 65536
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        start = b'{"type": "sync", "metadata": ["'
        conn.sendall(f"{len(start):x}\r\n".encode() + start + b"\r\n")
        sent = len(start)
        try:
            while sent < size:
                conn.sendall(chunk)
                sent += len(piece)
            conn.sendall(b"0\r\n\r\n")
        except OSError:  # the client stopped reading: as it should
            pass
        return False

    return action


#: Each misdeed: (its route, the words its error must hold, the connection settings).
MISDEEDS = {
    "html-page": (
        everywhere(answer(200, HTML, "text/html; charset=utf-8")),
        r"with HTTP 200, a text/html page, not LXD's API: '<html><body>Welcome to nginx!",
        {},
    ),
    "metadata-a-string": (
        lambda m, p, q: sync("hello") if p == "/1.0" else None,
        r"with HTTP 200, application/json, not LXD's API \(its metadata is a string where an "
        r"object is due\): '\{\"type\": \"sync\"",
        {},
    ),
    "list-at-top": (
        everywhere(answer(200, [1, 2, 3])),
        r"not LXD's API \(the JSON is a list, not an object\): '\[1, 2, 3\]'",
        {},
    ),
    "async-without-operation": (
        everywhere(answer(202, {"type": "async", "status_code": 100, "metadata": {}})),
        r"with HTTP 202, application/json, not LXD's API \(an async answer with no operation "
        r"path\)",
        {},
    ),
    "invalid-json": (
        everywhere(answer(200, b'{"type": "sync", "metadata": {')),
        r"not LXD's API \(the JSON does not parse: .*\): '\{\"type\": \"sync\", \"metadata\": "
        r"\{'",
        {},
    ),
    "bad-gateway": (
        everywhere(answer(502, b"<html><h1>502 Bad Gateway</h1></html>", "text/html")),
        r"with HTTP 502 Bad Gateway, a text/html page, not LXD's API: "
        r"'<html><h1>502 Bad Gateway</h1></html>'",
        {},
    ),
    "plain-text-404": (
        everywhere(answer(404, b"404 page not found\n", "text/plain")),
        r"with HTTP 404 Not Found, a text/plain answer, not LXD's API: '404 page not found\\n'",
        {},
    ),
    "closed-mid-body": (
        everywhere(closing_mid_body),
        r"with HTTP 200, application/json, then closed the connection after 20 of 1000 "
        r"bytes, cutting the answer short: '\{\"type\": \"sync\", \"me'",
        {},
    ),
    "oversized-declared": (
        everywhere(oversized_declared(2000)),
        r"with HTTP 200, application/json, 2000 bytes by its Content-Length, more than "
        r"max_body \(1000 bytes\): refused unread$",
        {"max_body": 1000},
    ),
    "oversized-chunked": (
        everywhere(oversized_chunked(300_000)),
        r"with HTTP 200, application/json, more than max_body \(100000 bytes\) with no "
        r"Content-Length: refused, reading stopped there: '\{\"type\": \"sync\", "
        r"\"metadata\": \[\"xxx",
        {"max_body": 100_000},
    ),
    "silent": (
        everywhere(silent),
        r"no answer within 1(\.0)?s from .*: .*timed out \(GET /1\.0",
        {"request_timeout": 1},
    ),
}


def _server_words(server):
    return f"the server at {server.path} answered GET "


def check_words(message, server, words):
    """``message`` holds ``words`` (a pattern) and names the server; no traceback."""
    assert re.search(words, message), message
    assert server.path in message, message
    assert "Traceback" not in message
    assert "internal error" not in message


@pytest.mark.parametrize("misdeed", sorted(MISDEEDS))
def test_core_refuses_an_answer_that_is_not_lxds(serve, misdeed):
    route, words, settings = MISDEEDS[misdeed]
    server = serve(route)
    api = core.API.factory(
        server.path, **{core.CONNECTION_ALIASES.get(k, k): v for k, v in settings.items()}
    )
    expected = core.APITimeout if misdeed == "silent" else core.APIUnexpectedAnswer
    with pytest.raises(expected) as info:
        api.get(api.instance_path("web1"))
    check_words(str(info.value), server, words)
    if misdeed != "silent":
        assert _server_words(server) in str(info.value)
    if misdeed.startswith("oversized"):
        assert isinstance(info.value, core.APIAnswerTooLarge)


@pytest.mark.parametrize("misdeed", sorted(MISDEEDS))
def test_execution_function_says_so_and_logs_no_traceback(serve, modules, caplog, misdeed):
    route, words, settings = MISDEEDS[misdeed]
    server = serve(route)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(CommandExecutionError) as info:
            modules.lxdapi.container_get("web1", endpoint=server.path, **settings)
    check_words(str(info.value), server, words)
    assert not [r for r in caplog.records if r.exc_info or "internal error" in r.getMessage()]
    assert server.writes == []


@pytest.mark.parametrize("misdeed", sorted(MISDEEDS))
def test_state_fails_with_the_words_and_writes_nothing(serve, states, caplog, misdeed):
    route, words, settings = MISDEEDS[misdeed]
    server = serve(route)
    with caplog.at_level(logging.DEBUG):
        ret = states.lxdapi.container_present(
            name="web1", source="busybox", endpoint=server.path, **settings
        )
    assert ret.result is False
    assert ret.changes == {}
    check_words(ret.comment, server, words)
    assert not [r for r in caplog.records if r.exc_info or "internal error" in r.getMessage()]
    assert server.writes == []


def test_metadata_of_another_shape_where_the_instance_is_due(serve, modules, states):
    """The server is well, but an instance's GET answers a list: refused, not read into."""
    server = serve(lambda m, p, q: sync(["a", "b"]) if p == "/1.0/instances/web1" else None)
    api = core.API.factory(server.path)
    with pytest.raises(core.APIUnexpectedAnswer, match="its metadata is a list where an object"):
        api.get(api.instance_path("web1"))
    with pytest.raises(CommandExecutionError, match="answered GET /1.0/instances/web1 with"):
        modules.lxdapi.container_get("web1", endpoint=server.path)
    ret = states.lxdapi.container_present(name="web1", source="busybox", endpoint=server.path)
    assert ret.result is False
    assert "its metadata is a list where an object is due" in ret.comment, ret.comment
    assert server.writes == []


def test_an_error_without_lxds_fields_is_refused(serve):
    server = serve(everywhere(answer(500, {"type": "error", "message": "boom"})))
    api = core.API.factory(server.path)
    with pytest.raises(core.APIUnexpectedAnswer) as info:
        api.get("")
    assert "HTTP 500" in str(info.value)
    assert "an error answer with no numeric error_code" in str(info.value)


def test_default_cap_refuses_a_huge_announced_body_unread(serve):
    server = serve(everywhere(oversized_declared(200 * 1024 * 1024)))
    api = core.API.factory(server.path)
    assert api.max_body == 64 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(core.APIAnswerTooLarge) as info:
        api.get("")
    assert time.monotonic() - started < 3  # not read: the server keeps sending nothing
    assert str(info.value) == (
        f"the server at {server.path} answered GET /1.0 with HTTP 200, application/json, "
        "209715200 bytes by its Content-Length, more than max_body (67108864 bytes): "
        "refused unread"
    )


def test_default_cap_stops_reading_a_chunked_body_at_64_mib(serve):
    server = serve(everywhere(oversized_chunked(80 * 1024 * 1024)))
    api = core.API.factory(server.path)
    with pytest.raises(core.APIAnswerTooLarge, match="more than max_body \\(67108864 bytes\\)"):
        api.get("")


def test_a_body_under_the_cap_is_read(serve):
    server = serve(everywhere(sync({"api_extensions": [], "data": "x" * 5000})))
    api = core.API.factory(server.path, max_body=6000)
    assert api.get("").metadata["data"] == "x" * 5000
    with pytest.raises(ValueError, match="max_body must be a number of bytes"):
        core.API.factory(server.path, max_body=0)


def test_raw_content_where_the_url_calls_for_it_is_taken(serve):
    """A file, a log, an export are not LXD's JSON: taken as they are, beyond the cap."""
    body = b"\x00binary" * 400

    def route(method, path, query):
        if path.endswith(("/files", "/logs/lxc.log", "/export")):
            return answer(200, body, "application/octet-stream")
        return None

    server = serve(route)
    api = core.API.factory(server.path, max_body=1000)
    for path in (("files",), ("logs", "lxc.log")):
        result = api.get(api.instance_path("web1", *path), params={"path": "/etc/x"})
        assert result.response.content == body
    exported = api.get(api.path("images", "abc", "export"), stream=True)
    assert b"".join(exported.response.iter_content(1024)) == body
    # The same bytes where LXD's JSON is due are refused.
    with pytest.raises(core.APIUnexpectedAnswer, match="application/octet-stream answer"):
        api.get(api.instance_path("web1", "files"), raw=False)


def test_a_misbehaving_server_over_the_requests_path(serve):
    """The same checks when the unix session takes requests' own path (not the fast
    one): an HTML page, a body cut short, a body too large."""
    for route, words in (
        (everywhere(answer(200, HTML, "text/html")), "a text/html page, not LXD's API"),
        (everywhere(closing_mid_body), "closed the connection after 20 of 1000 bytes"),
        (everywhere(oversized_chunked(300_000)), "more than max_body (100000 bytes)"),
    ):
        server = serve(route)
        session = core.requests.Session()
        session.mount("http+unix://", core.UnixSocketAdapter())
        endpoint = "http+unix://" + core.urllib.parse.quote(server.path, safe="")
        api = core.API(session, endpoint, max_body=100_000)
        with pytest.raises(core.APIUnexpectedAnswer) as info:
            api.get("")
        assert words in str(info.value)
        assert f"the server at {server.path} answered GET /1.0 with HTTP 200" in str(info.value)


# ------------------------------------------------------------ an operation that never ends


def never_ending(wait_answers):
    """A server whose instance creation is an operation that never ends. Its ``/wait``
    answers the operation, still running, when its timeout is up (``wait_answers``, as
    LXD 5.0 does), or never (a server stuck)."""

    def route(method, path, query):
        if method == "POST" and path == "/1.0/instances":
            return answer(
                202,
                {
                    "type": "async",
                    "status": "Operation created",
                    "status_code": 100,
                    "operation": "/1.0/operations/" + OPERATION["id"],
                    "metadata": OPERATION,
                },
            )
        if path == "/1.0/operations/" + OPERATION["id"] + "/wait":
            if not wait_answers:
                return silent

            def later(conn):
                time.sleep(float(query.get("timeout", 1)))
                conn.sendall(sync(OPERATION))
                return True

            return later
        if path == "/1.0/operations/" + OPERATION["id"]:
            return sync(OPERATION)
        return None

    return route


TIMEOUT_WORDS = (
    r"operation /1\.0/operations/0b8e6c2a-fake \(Creating instance web1\) still running after "
    r"1 s; it was left running, not cancelled \(POST /1\.0/instances, operation "
    r"/1\.0/operations/0b8e6c2a-fake\)"
)


@pytest.mark.parametrize("wait_answers", [True, False], ids=["wait-answers", "wait-stuck"])
def test_an_operation_that_never_ends_is_named_with_what_it_does(
    serve, modules, states, wait_answers
):
    server = serve(never_ending(wait_answers))
    settings = {"endpoint": server.path, "wait_timeout": 1, "request_timeout": 1}
    api = core.API.factory(server.path, wait_timeout=1, timeout=1)
    with pytest.raises(core.APITimeout) as info:
        api.post("instances", json={"name": "web1", "source": {"type": "none"}}).wait()
    assert re.search(TIMEOUT_WORDS, str(info.value)), str(info.value)

    # The execution function: a message, not the empty one the issue saw.
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_create("web1", **settings)
    assert re.search(TIMEOUT_WORDS, str(info.value)), str(info.value)

    ret = states.lxdapi.container_present(name="web1", **settings)
    assert ret.result is False
    assert re.search(TIMEOUT_WORDS, ret.comment), ret.comment


def test_a_wait_answered_with_something_else_than_the_operation(serve):
    route = never_ending(True)

    def odd(method, path, query):
        if path.endswith("/wait"):
            return sync("done")
        return route(method, path, query)

    server = serve(odd)
    api = core.API.factory(server.path, wait_timeout=1, timeout=1)
    started = api.post("instances", json={"name": "web1", "source": {"type": "none"}})
    with pytest.raises(core.APIUnexpectedAnswer) as info:
        started.wait()
    assert "answered GET /1.0/operations/0b8e6c2a-fake/wait?timeout=1 with HTTP 200" in str(
        info.value
    )
    assert "where an object is due" in str(info.value)


# --------------------------------------------------- the real daemons: wait_timeout passed


def test_a_real_operation_past_wait_timeout_says_what_it_does(lxd, api, unique_name):
    lxd.lxc("launch", "busybox", unique_name)
    try:
        api = lxd.api(wait_timeout=1)
        op = api.post(
            api.instance_path(unique_name, "exec"),
            json={
                "command": ["sleep", "4"],
                "wait-for-websocket": False,
                "interactive": False,
                "record-output": True,
            },
        )
        started = time.monotonic()
        with pytest.raises(core.APITimeout) as info:
            op.wait()
        assert time.monotonic() - started < 3.5
        message = str(info.value)
        path = op.operation.split("?", 1)[0]
        assert message.startswith(f"operation {path} ("), message
        description = api.get(path).metadata["description"]  # "Executing command"
        assert f"({description} {unique_name}) still running after 1 s" in message, message
        assert f"(POST /1.0/instances/{unique_name}/exec, operation {path})" in message
        assert op.wait(timeout=30).metadata["metadata"]["return"] == 0
    finally:
        lxd.lxc("delete", "--force", unique_name)
