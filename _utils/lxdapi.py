"""lxdapi: the HTTP core for LXD's REST API (Incus's too: the same ``/1.0`` API).

Plain Python (requests + requests-unixsocket); nothing here knows about Salt, so the core
is usable as a library of its own::

    import lxdapi

    api = lxdapi.API.factory()                 # the local unix socket
    api = lxdapi.API.factory("https://10.0.0.5:8443", cert=..., key=..., server_cert=...)
    api.post("instances", json={...}).wait()
    lxdapi.container_get(api, "web1")          # the 2016 library's shortcuts

This file, in dependency order: exceptions; redaction; results and operation waits
(:class:`APIResult`); transports and sessions (the pinned-certificate adapter, the unix
socket adapter and its fast path, :func:`make_session`); :class:`API`, the one HTTP choke
point (:meth:`API.request`); connection settings (:func:`resolve_connection`). It imports
no other part of the core. The 2016 library's public API is re-exported at the end, by
the explicit list :data:`SEED_API`.

The parts beside it, each a module of its own that imports what it uses:

==========================  ==========================================================
``lxdapi_loader``           the one bootstrap: :func:`lxdapi_loader.load`
``lxdapi_values``           values as LXD stores them; argument checks
``lxdapi_compat_salt3007``  the old Salt lxd modules' argument forms, read into lxdapi's
``lxdapi_plans``            :class:`Plan` and :class:`Write`: the one change model
``lxdapi_operations``       collections, the server document, operations
``lxdapi_kinds``            the resource kind registry (:class:`ResourceKind`)
``lxdapi_cluster``          cluster members, groups of a move
``lxdapi_files``            files and folders inside instances
``lxdapi_images``           images and aliases; refresh, export to a local file
``lxdapi_logs``             instance logs, the console, diagnostics of a failed start
``lxdapi_instances``        instances: create, converge, status, exec, snapshots
``lxdapi_inside``           Salt inside an instance: the thin, salt-call, SLS applied
``lxdapi_readiness``        ``wait_for``: an instance ready to use, not just Running
``lxdapi_rolling``          rolling restarts: a batch at a time, each ready before the next
``lxdapi_spec``             :class:`InstanceSpec`: an instance as declared, its arguments once
``lxdapi_prune``            prune: what a selector matches and the run does not declare
``lxdapi_member_config``    networks and pools across the members of a cluster
``lxdapi_reconcile``        profiles, networks, storage, projects... (the generic reconcile)
``lxdapi_backups``          instance backups, copies and moves to another server
``lxdapi_volumes``          custom volumes: copies, moves to another pool or server, backups
``lxdapi_retention``        snapshots and backup files by a strftime pattern, kept by policy
``lxdapi_server``           the server's own configuration
``lxdapi_warnings``         the server's warnings: list, acknowledge, delete
``lxdapi_host``             the host's resources, a pool's, a project's usage, metrics
``lxdapi_trust``            certificates, trust, client certificates
``lxdapi_preseed``          a host from nothing: a preseed document as one plan
``lxdapi_batch``            what the states of one run share (listing, side by side writes)
``lxdapi_parallel``         jobs on many instances side by side, a bounded number at once
``lxdapi_targets``          targets: one name, a list, a glob or a selector, resolved
``lxdapi_events``           the event stream: websocket, resync, own writes (the engine's)
``lxdapi_shortcuts_2016``   the 2016 library's idempotent shortcuts
``lxdapi_salt``             not the core: the Salt side's one boundary (imports Salt)
==========================  ==========================================================
"""

import collections
import hashlib
import http.client
import json
import logging
import math
import os
import socket
import ssl
import sys
import tempfile
import urllib.parse
import warnings
import weakref
import zlib

import requests
import requests.adapters

try:
    import requests_unixsocket
except ImportError:  # pragma: no cover - reported by the Salt modules' __virtual__
    requests_unixsocket = None

log = logging.getLogger(__name__)


DEFAULT_VERSION = "1.0"


DEFAULT_TIMEOUT = 30  # seconds, for one HTTP request


DEFAULT_WAIT_TIMEOUT = 300  # seconds, for one operation to finish


#: The local sockets tried after those the environment names ($LXD_DIR, $INCUS_SOCKET,
#: $INCUS_DIR), in this order: the snap's LXD, Debian's LXD, Incus.
SOCKET_CANDIDATES = (
    "/var/snap/lxd/common/lxd/unix.socket",
    "/var/lib/lxd/unix.socket",
    "/var/lib/incus/unix.socket",
    "/run/incus/unix.socket",
)


START_HINT = (
    "Is LXD or Incus running? Start LXD with 'systemctl start lxd' (or 'snap start lxd', "
    "or 'lxd --group lxd &' then 'lxd init'), Incus with 'systemctl start incus' (then "
    "'incus admin init'), or point endpoint= at a running daemon."
)

#: What ``GET /1.0`` names the two servers in ``environment.server``.
SERVER_KINDS = ("lxd", "incus")


# ------------------------------------------------------------------------- exceptions


class APIException(Exception):
    """The server refused a request, or an operation failed.

    ``result`` is the :class:`APIResult` (None when there was no response); ``error`` the
    server's error text; ``status`` the HTTP status (or the operation's status code);
    ``operation`` the operation that failed, when one did; ``details`` lines that explain
    it (an instance's log), shown after the message.
    """

    def __init__(self, result=None, error=None, method=None, url=None, status=None):
        self.result = result
        if result is not None:
            method = method or result.response.request.method
            url = url or result.response.request.url
            status = status or result.response.status_code
            if error is None:
                error = result.error_text()
        self.method = method
        self.url = url
        self.status = status
        self.error = error or ""
        self.operation = None
        self.details = ""
        super().__init__(self.error)

    @property
    def request_label(self):
        """The request as a person reads it: ``PUT /1.0/instances/web1/state`` (the path
        and query, not the socket or host), and the operation it started when one did."""
        if not self.method and not self.url:
            return ""
        parts = urllib.parse.urlsplit(self.url or "")
        path = parts.path + ("?" + parts.query if parts.query else "")
        label = "{} {}".format(self.method or "", path).strip()
        if self.operation:
            label += ", operation " + self.operation.split("?", 1)[0]
        return label

    def __str__(self):
        """The server's reason first, then the request: ``Instance not found (GET
        /1.0/instances/web1)``. Never empty: with neither a reason nor a request, what the
        exception's class stands for."""
        label = self.request_label
        text = (f"{self.error} ({label})" if self.error else label) if label else self.error
        if not text:
            meaning = (self.__class__.__doc__ or self.__class__.__name__).strip()
            text = f"{meaning.splitlines()[0]} (no reason given)"
        return text + "\n" + self.details if self.details else text


class APINotFoundException(APIException):
    """HTTP 404: the resource does not exist."""


class APIConflictException(APIException):
    """HTTP 409: the resource already exists or is busy."""


class APIPreconditionFailed(APIException):
    """HTTP 412: the resource changed since it was read (its ETag no longer matches)."""


class APIForbiddenException(APIException):
    """HTTP 403: the client is not trusted, or not allowed to do this."""


class APIConnectionError(APIException):
    """No answer: the socket is missing, the connection refused, TLS failed."""


class APITimeout(APIException):
    """A request or an operation wait ran out of time."""


class APICertificateMismatch(APIConnectionError):
    """The server's TLS certificate is not the pinned ``server_cert``."""


class APIProjectNotFound(APIException):
    """The API's ``project`` does not exist (not a 404 of the resource asked for)."""


class APIUnexpectedAnswer(APIException):
    """The server's answer is not LXD's API: not JSON, JSON of another shape (no
    ``type``, ``metadata`` of a kind the request cannot have), or cut short. Its message
    names the server, the request, the HTTP status, the content type and the first bytes
    of the body (a reverse proxy's error page, a web server on the wrong port...)."""

    def __str__(self):
        """The message, which names the request itself (see :func:`unexpected_answer`);
        the request after it when it does not."""
        label = self.request_label
        if not self.error or (label and label.split(",", 1)[0] not in self.error):
            return APIException.__str__(self)
        return self.error + "\n" + self.details if self.details else self.error


class APIAnswerTooLarge(APIUnexpectedAnswer):
    """A JSON answer longer than the connection's ``max_body``: refused unread."""


STATUS_EXCEPTIONS = {
    403: APIForbiddenException,
    404: APINotFoundException,
    409: APIConflictException,
    412: APIPreconditionFailed,
}


def reword(exc, text):
    """Give an :class:`APIException` a clearer ``error`` text (keeps its class); return it."""
    exc.error = text
    exc.args = (text,)
    return exc


# -------------------------------------------------------------------------- redaction


SECRET_KEY_WORDS = ("password", "token", "secret", "private", "trust_password")


REDACTED = "**redacted**"


def _is_secret_key(key):
    key = str(key).lower()
    return key == "key" or key.endswith(".key") or any(w in key for w in SECRET_KEY_WORDS)


def redact(data):
    """Return a copy of ``data`` with passwords, tokens and private keys replaced."""
    if isinstance(data, dict):
        return {k: (REDACTED if _is_secret_key(k) and v else redact(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [redact(v) for v in data]
    if isinstance(data, str) and "PRIVATE KEY-----" in data:
        return REDACTED
    return data


# ------------------------------------------------------- answers: what LXD's API looks like


#: The most a JSON answer may hold, in bytes, unless the connection's ``max_body`` says
#: otherwise: a longer one is refused before it is read whole or parsed.
DEFAULT_MAX_BODY = 64 * 1024 * 1024


#: How much of a body that is not LXD's API is read (for its error; the rest is not).
PEEK_BYTES = 4096


#: How many of a body's first bytes an error shows.
SHOWN_BYTES = 80


#: The size of one read of a body.
READ_CHUNK = 64 * 1024


#: The last part of the URLs whose GET answers raw content (a file, a log, an export, the
#: console's log, the metrics), not LXD's JSON.
RAW_ENDPOINTS = ("files", "export", "console", "metrics")


#: Collections whose members a GET answers as one object (``instances/web1``,
#: ``storage-pools/p/volumes/custom/v``...).
NAMED_COLLECTIONS = frozenset(
    (
        "instances",
        "containers",
        "virtual-machines",
        "snapshots",
        "images",
        "aliases",
        "profiles",
        "networks",
        "storage-pools",
        "custom",
        "projects",
        "certificates",
        "operations",
        "members",
        "groups",
        "warnings",
        "backups",
        "network-acls",
        "network-zones",
        "records",
        "forwards",
        "load-balancers",
        "peers",
    )
)


#: The last part of the URLs whose GET answers one object wherever they are.
OBJECT_ENDPOINTS = ("state", "resources", "wait")


def is_json_type(content_type):
    """True for a JSON content type (``application/json``, with or without parameters)."""
    kind = str(content_type or "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _api_parts(url):
    """The parts of ``url``'s path after its API version (``/1.0/instances/web1`` ->
    ``["instances", "web1"]``), or None for a path outside the versioned API."""
    parts = [p for p in urllib.parse.urlsplit(url).path.split("/") if p]
    if not parts or not parts[0][:1].isdigit():
        return None
    return [urllib.parse.unquote(p) for p in parts[1:]]


def raw_content_expected(method, url, params=None):
    """True when LXD answers a ``method`` request of ``url`` with raw content rather than
    its JSON: a GET of a file (``.../files``), a log (``.../logs/NAME``, an exec's
    output), an export (an image's, a backup's), the console's log, a template's content
    (``.../templates?path=``), the metrics."""
    if method != "GET":
        return False
    parts = _api_parts(url)
    if not parts:
        return False
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    if isinstance(params, dict):
        query.update(params)
    return (
        parts[-1] in RAW_ENDPOINTS
        or "logs" in parts[:-1]
        or (parts[-1] == "templates" and bool(query.get("path")))
    )


def object_expected(method, url):
    """True when LXD answers a ``method`` request of ``url`` with one object as its
    ``metadata`` (a dict): a GET of the server (``/1.0``), of one member of a collection
    (``instances/web1``), of a ``state``, ``resources`` or an operation's ``wait``."""
    if method != "GET":
        return False
    parts = _api_parts(url)
    if parts is None or raw_content_expected(method, url):
        return False
    if not parts or parts[-1] in OBJECT_ENDPOINTS:
        return True
    return (
        len(parts) >= 2
        and parts[-2] in NAMED_COLLECTIONS
        and parts[-1] not in NAMED_COLLECTIONS
        and parts[-1] != "volumes"
    )


def _json_kind(value):
    """What a JSON value is, in words: ``a string``, ``a list``, ``null``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def shape_problem(data, status, want_object=False):
    """What makes ``data`` (a decoded JSON body, answered with HTTP ``status``) other
    than an answer of LXD's API, in words; None when it is one.

    An answer is an object whose ``type`` is ``sync``, ``async`` or ``error``; an error
    has a numeric ``error_code`` and an ``error`` text; an async answer an ``operation``
    path and the operation (an object) as ``metadata``; a sync answer ``metadata`` that
    is an object, a list, a string or null, and an object where ``want_object``.
    """
    if not isinstance(data, dict):
        return f"the JSON is {_json_kind(data)}, not an object"
    kind = data.get("type")
    if kind not in ("sync", "async", "error"):
        if kind is None:
            return "the JSON has no type"
        return f"its type is {kind!r}, not sync, async or error"
    meta = data.get("metadata")
    if kind == "error":
        code = data.get("error_code")
        if not isinstance(code, int) or isinstance(code, bool):
            return "an error answer with no numeric error_code"
        if not isinstance(data.get("error"), str):
            return "an error answer with no error text"
        return None
    if status >= 400:
        return f"a {kind} answer with an HTTP error status"
    if kind == "async":
        operation = data.get("operation")
        if not isinstance(operation, str) or not operation.startswith("/"):
            return "an async answer with no operation path"
        if not isinstance(meta, dict):
            return f"an async answer whose metadata is {_json_kind(meta)}, not an operation"
        return None
    if want_object and not isinstance(meta, dict):
        return f"its metadata is {_json_kind(meta)} where an object is due"
    if not isinstance(meta, (dict, list, str, type(None))):
        return f"its metadata is {_json_kind(meta)}"
    return None


def shown_body(body):
    """The first :data:`SHOWN_BYTES` bytes of a body as an error shows them (text,
    repr'd, ``...`` when there is more), or ``an empty body``."""
    if body is None:
        return "its first bytes are not at hand"
    if not body:
        return "an empty body"
    text = bytes(body[: SHOWN_BYTES + 1]).decode("utf-8", "replace")
    return repr(text[:SHOWN_BYTES] + ("..." if len(text) > SHOWN_BYTES else ""))


def _content_words(content_type):
    kind = str(content_type or "").split(";", 1)[0].strip().lower()
    if not kind:
        return "an answer with no Content-Type"
    if "html" in kind:
        return f"a {kind} page"
    return f"a {kind} answer" if not is_json_type(kind) else kind


def unexpected_answer(
    api, method, url, status, reason, content_type, body, problem=None, cls=None, read=True
):
    """The :class:`APIUnexpectedAnswer` (or ``cls``) for an answer that is not LXD's
    API: its message names the server, the request, the HTTP status, the content type,
    what is wrong (``problem``) and the first bytes of ``body``. ``read`` False: the
    body was not read whole (too large, cut short): ``problem`` says so, alone."""
    cls = cls or APIUnexpectedAnswer
    parts = urllib.parse.urlsplit(url)
    label = f"{method} {parts.path}" + ("?" + parts.query if parts.query else "")
    http_status = f"HTTP {status}" + (f" {reason}" if reason and status >= 400 else "")
    text = (
        f"the server at {api.display_endpoint} answered {label} with {http_status}, "
        f"{_content_words(content_type)}, "
    )
    if read:
        text += "not LXD's API" + (f" ({problem})" if problem else "") + f": {shown_body(body)}"
    else:
        text += problem + (f": {shown_body(body)}" if body or body is None else "")
    return cls(method=method, url=url, status=status, error=text)


class BodyPolicy:
    """How much of an answer's body a session reads: up to ``max_body`` bytes of JSON
    (more is refused, unread); all of the raw content a request expects (``raw``: a
    file, a log); :data:`PEEK_BYTES` of anything else (refused anyway: not LXD's API)."""

    def __init__(self, max_body=DEFAULT_MAX_BODY, raw=False):
        self.max_body = max_body
        self.raw = raw

    def limit(self, content_type, status):
        """``(limit, strict)`` for an answer: read at most ``limit`` bytes (None: all);
        ``strict``: a longer body is refused (:class:`AnswerReadError`), else cut."""
        if is_json_type(content_type):
            return self.max_body, True
        if self.raw and status < 400:
            return None, False
        return PEEK_BYTES, False


class AnswerReadError(Exception):
    """A body a session would not or could not read whole (longer than ``max_body``,
    or cut short): what :meth:`API.request` turns into :class:`APIUnexpectedAnswer`
    naming the server and the request."""

    def __init__(self, status, reason, content_type, head, problem, too_large=False):
        super().__init__(problem)
        self.status = status
        self.reason = reason
        self.content_type = content_type
        self.head = head
        self.problem = problem
        self.too_large = too_large

    def refusal(self, api, method, url):
        """The :class:`APIUnexpectedAnswer` (:class:`APIAnswerTooLarge`) to raise."""
        return unexpected_answer(
            api,
            method,
            url,
            self.status,
            self.reason,
            self.content_type,
            self.head,
            self.problem,
            cls=APIAnswerTooLarge if self.too_large else APIUnexpectedAnswer,
            read=False,
        )


def _declared_length(headers):
    value = str(headers.get("Content-Length") or "").strip()
    return int(value) if value.isdigit() else None


def _too_large(limit, size, declared):
    if declared is not None and size is None:
        return (
            f"{declared} bytes by its Content-Length, more than max_body ({limit} bytes): "
            "refused unread"
        )
    return (
        f"more than max_body ({limit} bytes)"
        + (" with no Content-Length" if declared is None else "")
        + ": refused, reading stopped there"
    )


def _cut_short(size, declared):
    of = f" of {declared}" if declared is not None else ""
    return f"then closed the connection after {size}{of} bytes, cutting the answer short"


def read_bounded(read, policy, status, reason, headers):
    """Read a body with ``read(n)`` (a raw stream's read) as ``policy`` (a
    :class:`BodyPolicy`) allows: ``(content, complete)``, ``complete`` False when the
    rest was left unread (the connection must then be closed). Raises
    :class:`AnswerReadError` for a JSON body longer than the policy's limit (by its
    Content-Length, before anything is read, or while reading one with none) and for a
    body cut short."""
    content_type = headers.get("Content-Type", "")
    limit, strict = policy.limit(content_type, status)
    declared = _declared_length(headers)

    def refuse(problem, head=b"", too_large=False):
        return AnswerReadError(status, reason, content_type, head, problem, too_large)

    if strict and limit is not None and declared is not None and declared > limit:
        raise refuse(_too_large(limit, None, declared), too_large=True)
    chunks, size = [], 0
    while True:
        want = READ_CHUNK if limit is None else max(1, min(READ_CHUNK, limit + 1 - size))
        try:
            chunk = read(want)
        except http.client.IncompleteRead as exc:
            chunks.append(exc.partial)
            size += len(exc.partial)
            raise refuse(_cut_short(size, declared), b"".join(chunks)[:PEEK_BYTES]) from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            if strict:
                raise refuse(_too_large(limit, size, declared), chunks[0], too_large=True)
            return b"".join(chunks)[:limit], False
        if limit is not None and not strict and size >= limit:
            return b"".join(chunks), False
    content = b"".join(chunks)
    if declared is not None and size < declared:
        raise refuse(_cut_short(size, declared), content[:PEEK_BYTES])
    return content, True


def _partial_bytes(exc):
    """How many bytes a read that failed had read (urllib3's ``IncompleteRead`` in the
    chain of ``exc``), or 0."""
    seen, todo = set(), [exc]
    while todo:
        item = todo.pop()
        if id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        partial = getattr(item, "partial", None)
        if isinstance(partial, int) and not isinstance(partial, bool):
            return partial
        todo.extend(item.args)
        todo.extend((item.__cause__, item.__context__))
    return 0


def read_streamed(response, policy):
    """Read a :class:`requests.Response` made with ``stream=True`` as ``policy``
    allows (see :func:`read_bounded`), into its ``content``; close it when the rest is
    left unread."""
    chunks, size = [], 0
    content_type = response.headers.get("Content-Type", "")
    limit, strict = policy.limit(content_type, response.status_code)
    declared = _declared_length(response.headers)

    def refuse(problem, head=b"", too_large=False):
        response.close()
        return AnswerReadError(
            response.status_code, response.reason, content_type, head, problem, too_large
        )

    if strict and limit is not None and declared is not None and declared > limit:
        raise refuse(_too_large(limit, None, declared), too_large=True)
    complete = True
    try:
        for chunk in response.iter_content(READ_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit and strict:
                raise refuse(_too_large(limit, size, declared), chunks[0], too_large=True)
            if limit is not None and size >= limit and not strict:
                complete = False
                break
    except (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ConnectionError,
        requests.exceptions.ContentDecodingError,
    ) as exc:
        lost = _partial_bytes(exc)  # read by urllib3 before it gave up, not handed over
        raise refuse(
            _cut_short(size + lost, declared),
            b"".join(chunks)[:PEEK_BYTES] if not lost or chunks else None,
        ) from None
    response._content = b"".join(chunks)
    response._content_consumed = True
    if not complete:
        response.close()
    return response


# -------------------------------------------------------- results and operation waits


class APIResult:
    """One HTTP transaction made with :class:`API`.

    ``data`` is the decoded JSON body (None when the body is not JSON), ``metadata`` its
    ``metadata`` member, ``request``/``response`` the requests objects, ``etag`` the
    response's ETag header (for If-Match on a later write).
    """

    def __init__(self, api, response):
        self.api = api
        self.response = response
        self.request = response.request
        self.data = None
        #: Why the body is not JSON although its content type says it is (None: it
        #: parses, or it is not said to be JSON).
        self.json_error = None
        # Only LXD's own JSON documents: a file or an exec log is data, even if it
        # happens to start with "{".
        if is_json_type(response.headers.get("Content-Type", "")):
            try:
                self.data = response.json()
            except ValueError as exc:
                self.data = None
                self.json_error = str(exc) or exc.__class__.__name__

    @property
    def metadata(self):
        """The ``metadata`` member of the JSON body (None if absent)."""
        return self.data.get("metadata") if isinstance(self.data, dict) else None

    def metadata_object(self, what="the answer"):
        """The ``metadata``, which must be an object (a dict): for a caller that reads
        into it where the request alone does not say so. Raises
        :class:`APIUnexpectedAnswer` naming the request otherwise (``what`` says what
        was expected: ``the operation``...)."""
        meta = self.metadata
        if isinstance(meta, dict):
            return meta
        raise self.unexpected(f"{what} is {_json_kind(meta)} where an object is due")

    def unexpected(self, problem=None):
        """The :class:`APIUnexpectedAnswer` for this answer, saying ``problem``."""
        response = self.response
        return unexpected_answer(
            self.api,
            self.request.method,
            self.request.url,
            response.status_code,
            response.reason,
            response.headers.get("Content-Type", ""),
            response.content if response._content_consumed else b"",
            problem,
        )

    def check_answer(self, raw=False):
        """Raise :class:`APIUnexpectedAnswer` unless this answer is LXD's API: JSON
        (``application/json``) that parses, of LXD's shape (:func:`shape_problem`, an
        object as ``metadata`` where the request calls for one); raw content (a file, a
        log) where ``raw`` says the request expects it, with a status < 400. Return
        self."""
        response = self.response
        status = response.status_code
        if not is_json_type(response.headers.get("Content-Type", "")):
            if raw and status < 400:
                return self
            raise self.unexpected()
        if self.json_error is not None:
            raise self.unexpected(f"the JSON does not parse: {self.json_error}")
        problem = shape_problem(
            self.data, status, object_expected(self.request.method, self.request.url)
        )
        if problem:
            raise self.unexpected(problem)
        return self

    @property
    def etag(self):
        """The response's ``ETag`` header, or None."""
        return self.response.headers.get("ETag")

    @property
    def is_async(self):
        """True when the server answered with a background operation."""
        return isinstance(self.data, dict) and self.data.get("type") == "async"

    @property
    def operation(self):
        """The operation's URL path for an async answer (``/1.0/operations/<id>``)."""
        return self.data.get("operation") if self.is_async else None

    def error_text(self):
        """The server's error text: ``error``, or an operation's ``err``."""
        if isinstance(self.data, dict):
            if self.data.get("error"):
                return self.data["error"]
            meta = self.metadata
            if isinstance(meta, dict) and meta.get("err"):
                return meta["err"]
        if self.response.status_code >= 400:
            return "HTTP {} {}".format(self.response.status_code, self.response.reason or "")
        return ""

    def validate(self):
        """Raise the exception matching a status >= 400, then check nested metadata."""
        status = self.response.status_code
        if isinstance(self.data, dict) and self.data.get("type") == "error":
            status = max(status, int(self.data.get("error_code") or 0))
        if status >= 400:
            raise STATUS_EXCEPTIONS.get(status, APIException)(self, status=status)
        if isinstance(self.data, dict):
            self.validate_metadata(self.data)
        return self

    def validate_metadata(self, data):
        """Recursively raise :class:`APIException` for any ``status_code`` >= 400."""
        if isinstance(data, dict):
            code = data.get("status_code")
            if isinstance(code, int) and code >= 400:
                raise APIException(
                    self,
                    error=data.get("err") or data.get("error") or data.get("status"),
                    status=code,
                )
            for value in data.values():
                if isinstance(value, (dict, list)):
                    self.validate_metadata(value)
        elif isinstance(data, list):
            for value in data:
                self.validate_metadata(value)

    def wait(self, timeout=None):
        """Wait for an async operation to end; return the operation's :class:`APIResult`.

        Uses LXD's ``/1.0/operations/<id>/wait?timeout=`` long-poll. Raises
        :class:`APIException` with LXD's ``err`` text when the operation fails and
        :class:`APITimeout` (naming the operation, which is left running) when it has not
        ended after ``timeout`` seconds. A sync answer is returned as it is.
        """
        if not self.is_async:
            return self
        timeout = self.api.wait_timeout if timeout is None else timeout
        # A cluster member answers /1.0/operations/<id>?project=... (e.g. for ?target=):
        # the query goes after /wait.
        path, _, query = self.operation.partition("?")
        params = dict(urllib.parse.parse_qsl(query))
        params["timeout"] = int(math.ceil(timeout))  # LXD takes whole seconds
        try:
            result = self.api.request(
                "GET",
                path + "/wait",
                params=params,
                timeout=timeout + self.api.timeout,
            )
        except APIUnexpectedAnswer:
            raise
        except APIException as exc:
            # Incus and newer LXDs: a timeout is an error; a /wait that got no answer
            # at all (APITimeout) may be one too.
            running = operation_running(self.api, path, params)
            if running is not None:
                raise operation_timeout(self, running, timeout) from None
            raise operation_error(self, exc) from None
        op = result.metadata_object("the operation")
        if op.get("status") == "Running" or op.get("status_code") in OPERATION_RUNNING_CODES:
            raise operation_timeout(self, op, timeout, result)
        return result

    def request_summary(self):
        """``METHOD URL`` and the JSON body, indented, secrets redacted."""
        lines = [f"{self.request.method} {self.request.url}"]
        body = self.request.body
        if body:
            if isinstance(body, bytes):
                try:
                    lines.append(json.dumps(redact(json.loads(body)), indent=4))
                except ValueError:
                    lines.append(f"<{len(body)} bytes>")
            elif isinstance(body, str):
                try:
                    lines.append(json.dumps(redact(json.loads(body)), indent=4))
                except ValueError:
                    lines.append(f"<{len(body)} characters>")
            else:
                lines.append("<streamed body>")
        return "\n".join(lines)

    def response_summary(self):
        """``HTTP/<status>`` and the JSON response, indented, secrets redacted."""
        lines = [f"HTTP/{self.response.status_code}"]
        if self.data is not None:
            lines.append(json.dumps(redact(self.data), indent=4))
        elif not self.response._content_consumed:
            lines.append("<streamed body>")
        elif self.response.content:
            lines.append(f"<{len(self.response.content)} bytes>")
        return "\n".join(lines)

    def __repr__(self):
        return (
            f"<APIResult {self.request.method} {self.request.url} HTTP/{self.response.status_code}>"
        )


#: An operation's ``status_code`` while it has not ended: Running, Pending, Cancelling.
OPERATION_RUNNING_CODES = (103, 105, 106)


def operation_running(api, path, params=None):
    """The operation at ``path`` (its metadata, one GET) when it has not ended yet, else
    None. LXD 5.0 answers a ``/wait`` that times out with the operation, still running;
    Incus and LXD 5.21 and later with an error ("context deadline exceeded", no
    operation in it): this tells that apart from a failed operation."""
    query = {k: v for k, v in (params or {}).items() if k != "timeout"}
    try:
        meta = api.request("GET", path, params=query or None).metadata
    except APIException:
        return None
    if isinstance(meta, dict) and meta.get("status_code") in OPERATION_RUNNING_CODES:
        return meta
    return None


def operation_words(operation):
    """What an operation is doing, as LXD describes it, with the names of what it acts
    on: ``Creating instance web1``; empty when it says nothing."""
    if not isinstance(operation, dict):
        return ""
    words = str(operation.get("description") or "").strip()
    names = []
    resources = operation.get("resources")
    if isinstance(resources, dict):
        for urls in resources.values():
            for url in urls if isinstance(urls, list) else ():
                name = name_from_url(url)
                if name and name not in names:
                    names.append(name)
    return " ".join([words] + names).strip() if words else " ".join(names)


def operation_timeout(started, operation, timeout, result=None):
    """The :class:`APITimeout` for an operation (``started``: the :class:`APIResult`
    that started it) still running after ``timeout`` seconds: it names the operation,
    what it is doing (``operation``: its metadata, as LXD last showed it), how long it
    was waited for, and the request that started it."""
    path = (started.operation or "").split("?", 1)[0]
    doing = operation_words(operation) or operation_words(started.metadata)
    doing = f" ({doing})" if doing else ""
    text = (
        f"operation {path or '(unknown)'}{doing} still running after {float(timeout):g} s; "
        "it was left running, not cancelled"
    )
    exc = APITimeout(result, error=text)
    exc.operation = started.operation
    if started.request is not None:
        exc.method, exc.url = started.request.method, started.request.url
    return exc


def operation_error(started, exc):
    """Name the request that started an operation (``started``, its :class:`APIResult`)
    and the operation in the error of its failed ``/wait``; return ``exc``."""
    if started.request is None or exc.result is None or exc.result.response.status_code >= 400:
        return exc  # the /wait itself was refused (404 ...): keep that error
    exc.operation = started.operation
    exc.method, exc.url = started.request.method, started.request.url
    return reword(exc, exc.error or "the operation failed")


# ------------------------------------------------------------ transports and sessions


def certificate_fingerprint(pem):
    """SHA-256 fingerprint (hex) of a PEM certificate (text or path)."""
    if "-----BEGIN" not in pem:
        with open(pem) as fh:
            pem = fh.read()
    der = ssl.PEM_cert_to_DER_cert(pem.strip())
    return hashlib.sha256(der).hexdigest()


def presented_fingerprint(url, timeout=10):
    """SHA-256 fingerprint of the certificate the TLS server at ``url`` presents (no
    verification), or None when it cannot be read."""
    parts = urllib.parse.urlsplit(url)
    try:
        pem = ssl.get_server_certificate((parts.hostname, parts.port or 443), timeout=timeout)
    except (OSError, ValueError):
        return None
    return certificate_fingerprint(pem)


class PinnedCertAdapter(requests.adapters.HTTPAdapter):
    """Trust exactly one server certificate (by SHA-256), with no host-name check.

    This is how ``lxc remote add`` trusts a server: LXD's self-signed and cluster
    certificates do not name the member addresses.
    """

    def __init__(self, fingerprint, **kwargs):
        self.fingerprint = fingerprint
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_fingerprint"] = self.fingerprint
        kwargs["cert_reqs"] = ssl.CERT_NONE
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, False, cert)
        conn.assert_fingerprint = self.fingerprint

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        params, pool_kwargs = super().build_connection_pool_key_attributes(request, False, cert)
        pool_kwargs["assert_fingerprint"] = self.fingerprint
        pool_kwargs["cert_reqs"] = "CERT_NONE"
        return params, pool_kwargs

    def send(self, request, **kwargs):
        """Send; a TLS failure against a server presenting another certificate than the
        pinned one raises :class:`APICertificateMismatch` saying so."""
        try:
            return super().send(request, **kwargs)
        except requests.exceptions.SSLError:
            presented = presented_fingerprint(request.url)
            if presented is None or presented == self.fingerprint:
                raise
            parts = urllib.parse.urlsplit(request.url)
        raise APICertificateMismatch(
            method=request.method,
            url=request.url,
            error=(
                f"the server certificate of {parts.scheme}://{parts.netloc} does not match the "
                "pinned "
                f"server_cert (pinned sha256 {self.fingerprint}, the server presents {presented})"
            ),
        )


if requests_unixsocket is not None:

    class UnixSocketAdapter(requests_unixsocket.UnixAdapter):
        """requests-unixsocket's adapter, with one connection pool per socket.

        The stock adapter keys its pools by the whole URL, so every distinct path opens a
        new connection; here every request to one socket shares one keep-alive pool.
        """

        def get_connection(self, url, proxies=None):
            if proxies and proxies.get("http+unix"):
                raise ValueError("proxies are not supported on a unix socket")
            netloc = urllib.parse.urlparse(url).netloc
            with self.pools.lock:
                pool = self.pools.get(netloc)
                if pool is None:
                    pool = requests_unixsocket.adapters.UnixHTTPConnectionPool(
                        "http+unix://" + netloc, self.timeout
                    )
                    self.pools[netloc] = pool
            return pool


class UnixSession(requests.Session):
    """A :class:`requests.Session` for unix sockets, with a fast path for plain requests.

    requests' own machinery (preparing the request, merging environment settings,
    urllib3's response wrapping) costs more CPU than LXD spends answering a GET. The
    core's requests (a method, a URL, ``params``, a JSON or bytes body, ``headers``, a
    number of seconds as ``timeout``) go straight through :mod:`http.client` on a
    connection of the socket's one keep-alive pool (the adapter's, so every request
    still shares one connection) and come back as an ordinary :class:`requests.Response`.
    Anything else (``stream``, ``files``, a form body, hooks...) takes requests' usual
    path through the same pool. Errors are requests' (``ReadTimeout``,
    ``ConnectionError``).
    """

    def __init__(self):
        super().__init__()
        # Fewer headers to send: HTTP/1.1 keeps the connection alive anyway, LXD's JSON
        # is not compressed.
        self.headers = requests.structures.CaseInsensitiveDict(
            {"User-Agent": "lxdapi", "Accept-Encoding": "identity"}
        )

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        json=None,
        timeout=None,
        verify=None,
        body_policy=None,
        **kwargs,
    ):
        """Send a request; see :meth:`requests.Session.request`. ``body_policy`` (a
        :class:`BodyPolicy`): read the body as it allows, no more (see
        :func:`read_bounded`); :class:`AnswerReadError` when it refuses it."""
        if (
            kwargs
            or self.hooks.get("response")
            or not url.startswith("http+unix://")
            or isinstance(timeout, tuple)
            or (data is not None and (not isinstance(data, bytes) or json is not None))
        ):
            if body_policy is not None:
                kwargs["stream"] = True
            response = super().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                json=json,
                timeout=timeout,
                verify=verify,
                **kwargs,
            )
            return read_streamed(response, body_policy) if body_policy is not None else response
        return self._fast_request(
            str(method).upper(), url, params, data, headers, json, timeout, body_policy
        )

    def _fast_request(self, method, url, params, data, headers, body, timeout, policy=None):
        netloc, _, path = url[len("http+unix://") :].partition("/")
        path = requests.utils.requote_uri("/" + path)
        if params:
            items = params.items() if isinstance(params, dict) else params
            query = urllib.parse.urlencode([(k, v) for k, v in items if v is not None], doseq=True)
            if query:
                path += ("&" if "?" in path else "?") + query
        full_url = "http+unix://" + netloc + path
        sent = dict(self.headers)
        if headers:
            sent.update(headers)
        sent = {k: v for k, v in sent.items() if v is not None}
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode("utf-8")
            if not any(k.lower() == "content-type" for k in sent):
                sent["Content-Type"] = "application/json"
        adapter = self.get_adapter(url)
        pool = adapter.get_connection(url)
        conn = pool._get_conn()
        done = False
        try:
            raw, content, done = self._exchange(conn, method, path, data, sent, timeout, policy)
        except socket.timeout as exc:
            raise requests.exceptions.ReadTimeout(exc) from None
        except (OSError, http.client.HTTPException) as exc:
            raise requests.exceptions.ConnectionError(exc) from None
        finally:
            if not done:  # half a transaction on it: never reuse it
                conn.close()
            pool._put_conn(conn)
        prepared = requests.PreparedRequest()
        prepared.method, prepared.url, prepared.body = method, full_url, data
        prepared.headers = requests.structures.CaseInsensitiveDict(sent)
        response = requests.Response()
        response.status_code = raw.status
        response.reason = raw.reason
        response.headers = requests.structures.CaseInsensitiveDict(raw.msg.raw_items())
        encoding = response.headers.get("Content-Encoding", "").lower()
        if encoding in ("gzip", "deflate") and content:
            content = self._decompress(content, encoding, policy, response)
        response._content = content
        response._content_consumed = True
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url = full_url
        response.request = prepared
        response.connection = adapter
        return response

    @staticmethod
    def _decompress(content, encoding, policy, response):
        """A compressed body, inflated: no more than ``policy`` allows of it (a small
        body may inflate to gigabytes)."""
        limit, strict = (
            (None, False)
            if policy is None
            else policy.limit(response.headers.get("Content-Type", ""), response.status_code)
        )
        inflater = zlib.decompressobj(47 if encoding == "gzip" else 15)
        content = inflater.decompress(content, 0 if limit is None else limit + 1)
        if limit is not None and len(content) > limit and strict:
            raise AnswerReadError(
                response.status_code,
                response.reason,
                response.headers.get("Content-Type", ""),
                content[:PEEK_BYTES],
                f"more than max_body ({limit} bytes) once inflated ({encoding}): refused",
                too_large=True,
            )
        return content

    @staticmethod
    def _exchange(conn, method, path, data, headers, timeout, policy=None):
        """One request and its response on ``conn`` (reconnecting once when a kept
        connection turns out closed by the server before it answered a GET):
        ``(raw, content, complete)``; the body read as ``policy`` allows (all of it when
        None), ``complete`` False when some was left unread."""
        reused = conn.sock is not None
        while True:
            try:
                if conn.sock is None:
                    conn.connect()
                if conn.sock.gettimeout() != timeout:
                    conn.sock.settimeout(timeout)
                http.client.HTTPConnection.request(conn, method, path, body=data, headers=headers)
                raw = http.client.HTTPConnection.getresponse(conn)
                if policy is None:
                    return raw, raw.read(), True
                content, complete = read_bounded(raw.read, policy, raw.status, raw.reason, raw.msg)
                return raw, content, complete
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if not reused or method != "GET":
                    raise
                reused = False


def unix_session():
    """A :class:`requests.Session` that speaks HTTP over unix sockets, one pool per socket."""
    session = UnixSession()  # requests.Session with a fast path
    session.mount("http+unix://", UnixSocketAdapter())
    return session


def socket_candidates(environ=None):
    """The local sockets to try, in order: ``$LXD_DIR/unix.socket``, ``$INCUS_SOCKET``,
    ``$INCUS_DIR/unix.socket`` (those set), then :data:`SOCKET_CANDIDATES`."""
    environ = os.environ if environ is None else environ
    found = []
    if environ.get("LXD_DIR"):
        found.append(os.path.join(environ["LXD_DIR"], "unix.socket"))
    if environ.get("INCUS_SOCKET"):
        found.append(environ["INCUS_SOCKET"])
    if environ.get("INCUS_DIR"):
        found.append(os.path.join(environ["INCUS_DIR"], "unix.socket"))
    return found + [p for p in SOCKET_CANDIDATES if p not in found]


def find_local_socket():
    """The first local socket that exists (see :func:`socket_candidates`); raise
    :class:`APIConnectionError` naming every path tried."""
    candidates = socket_candidates()
    for path in candidates:
        if os.path.exists(path):
            return path
    raise APIConnectionError(
        error="no LXD or Incus socket found (tried {}). {}".format(
            ", ".join(candidates), START_HINT
        )
    )


#: What PEM text holds (a certificate or a key given as text, not as a path).
PEM_MARK = "-----BEGIN "


def is_pem_text(value):
    """True when ``value`` is PEM text (a certificate or key itself, not a path)."""
    return isinstance(value, str) and PEM_MARK in value


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def private_pem_file(text, owner, folder=None):
    """Write PEM ``text`` to a new file only its owner may read (0600) in ``folder``
    (made 0700 if missing; None: the system's temporary folder) and return its path:
    requests reads a client certificate and key from files only. The file is removed
    when ``owner`` (the session that uses it) is garbage-collected, or at the latest
    when the process exits. The text is never logged."""
    if folder:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="lxdapi-", suffix=".pem", dir=folder or None)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
    except BaseException:
        _remove_quietly(path)
        raise
    removal = weakref.finalize(owner, _remove_quietly, path)
    if not hasattr(owner, "lxdapi_private_files"):
        owner.lxdapi_private_files = []
    owner.lxdapi_private_files.append(removal)  # API.close() removes them at once
    return path


def _shown_path(value):
    """A setting as an error may show it: a path as it is, anything else (it may be a
    secret that is not PEM text) not at all."""
    if isinstance(value, str) and "\n" not in value and len(value) < 256:
        return repr(value)
    return "(not a path, nor PEM text)"


def make_session(
    endpoint=None, cert=None, key=None, verify=True, server_cert=None, private_folder=None
):
    """Return ``(base_url, session)`` for an endpoint; see :meth:`API.factory`.

    ``cert`` and ``key`` may be paths or PEM text: text is written to private files in
    ``private_folder`` for the session's lifetime (:func:`private_pem_file`)."""
    if endpoint and endpoint.startswith("https://"):
        session = requests.Session()
        if cert or key:
            if is_pem_text(cert):
                cert = private_pem_file(cert, session, private_folder)
            if is_pem_text(key):
                key = private_pem_file(key, session, private_folder)
            for label, path in (("cert", cert), ("key", key)):
                if not path or not os.path.exists(path):
                    raise APIConnectionError(
                        url=endpoint,
                        error=f"client {label} file {_shown_path(path)} does not exist",
                    )
            session.cert = (cert, key)
        if server_cert:
            try:
                fingerprint = certificate_fingerprint(server_cert)
            except (OSError, ValueError) as exc:
                raise APIConnectionError(
                    url=endpoint, error=f"cannot read server_cert: {exc}"
                ) from None
            session.mount(endpoint.rstrip("/") + "/", PinnedCertAdapter(fingerprint))
            session.verify = False
        else:
            if verify is False:
                log.warning("lxdapi: TLS verification is off for %s", endpoint)
                warnings.filterwarnings("ignore", message="Unverified HTTPS request")
            elif isinstance(verify, str) and not os.path.exists(verify):
                raise APIConnectionError(url=endpoint, error=f"CA bundle {verify!r} does not exist")
            session.verify = verify
        return endpoint.rstrip("/"), session
    if endpoint and endpoint.startswith("http://"):
        return endpoint.rstrip("/"), requests.Session()
    if requests_unixsocket is None:
        raise APIConnectionError(error="requests-unixsocket is not installed")
    if endpoint and endpoint.startswith("http+unix://"):
        return endpoint.rstrip("/"), unix_session()
    if endpoint and endpoint.startswith("unix:"):
        endpoint = endpoint[len("unix:") :]
    path = endpoint or find_local_socket()
    if endpoint and not os.path.exists(path):
        raise APIConnectionError(url=path, error=f"no LXD socket at {path}. {START_HINT}")
    return "http+unix://" + urllib.parse.quote(path, safe=""), unix_session()


# ------------------------------------------------------ API: the one HTTP choke point


def quote_path_part(part):
    """One URL path part, quoted so that it stays one part naming one resource.

    ``/``, ``?``, ``#`` and ``%`` are percent-encoded; ``.`` and ``..`` are refused
    (ValueError): requests and urllib3 remove dot segments (``%2E%2E`` included, which
    requests decodes first), so no quoting keeps them in the URL.
    """
    text = str(part)
    if text in (".", ".."):
        raise ValueError(f"{text!r} cannot be a name: it would address the resource above it")
    return urllib.parse.quote(text, safe="")


def check_max_body(value):
    """Bytes (int > 0) a JSON answer may hold: ``value``, or :data:`DEFAULT_MAX_BODY`
    for None. ValueError for anything else."""
    if value is None:
        return DEFAULT_MAX_BODY
    try:
        size = int(value) if not isinstance(value, (bool, float)) else -1
    except (TypeError, ValueError):
        size = -1
    if size <= 0:
        raise ValueError(f"max_body must be a number of bytes (> 0), not {value!r}")
    return size


def check_timeout(value, what, default):
    """Seconds (float > 0) for a request or operation timeout; ``default`` for None."""
    if value is None:
        return float(default)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1
    if isinstance(value, bool) or not seconds > 0:
        raise ValueError(f"{what} must be a number of seconds (> 0), not {value!r}")
    return seconds


#: How many of its last writes an :class:`API` keeps (see :meth:`API.writes_since`).
WRITES_KEPT = 256


class SentWrite(collections.namedtuple("SentWrite", "number method url name")):
    """A write an :class:`API` sent: its ``number`` (1 for the first), ``method``, full
    ``url``, and the ``name`` its JSON body gives (what a creation, a copy or a rename
    names), or None."""

    __slots__ = ()


class API:
    """Main entry point to interact with LXD's HTTP API.

    ``session`` is a :class:`requests.Session` (one keep-alive connection, reused),
    ``endpoint`` the base URL (``http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket`` or
    ``https://host:8443``), ``default_version`` the API version for relative URLs
    (``1.0``), ``debug`` dumps every transaction to stderr (also on with the ``DEBUG``
    environment variable). ``project`` is sent as ``?project=`` on every request.
    ``max_body``: the most bytes a JSON answer may hold (default
    :data:`DEFAULT_MAX_BODY`, 64 MiB); a longer one is refused unread
    (:class:`APIAnswerTooLarge`). Use :meth:`factory` rather than the constructor.
    """

    #: Callables ``observer(method, url, status)`` told of every transaction (tests and
    #: benchmarks count requests with it).
    observers = []
    #: Callables ``hook(api, method, url, name)`` told of every write (a request other
    #: than GET) before it is sent: ``name`` is what its JSON body names, or None. The
    #: Salt side records them for the events engine (``lxdapi_events.WriteJournal``).
    write_hooks = []

    def __init__(
        self,
        session,
        endpoint,
        default_version=None,
        debug=False,
        timeout=None,
        wait_timeout=None,
        project=None,
        max_body=None,
    ):
        self.session = session
        self.endpoint = endpoint.rstrip("/")
        self.default_version = default_version or DEFAULT_VERSION
        self.debug = bool(debug or os.environ.get("DEBUG"))
        self.timeout = check_timeout(timeout, "timeout", DEFAULT_TIMEOUT)
        self.wait_timeout = check_timeout(wait_timeout, "wait_timeout", DEFAULT_WAIT_TIMEOUT)
        self.project = project or None
        self.max_body = check_max_body(max_body)
        self.counts = collections.Counter()
        self._server = None
        #: Reads kept for the life of this API (one Salt run), keyed ``(collection,
        #: what)``: e.g. ``("images", "aliases")``, the image alias table. A write this
        #: API sends forgets those of its collection (see :meth:`forget_reads`).
        self.read_cache = {}
        #: How many writes (requests other than GET) this API has sent; the last
        #: :data:`WRITES_KEPT` of them are in ``recent_writes`` (see :meth:`writes_since`).
        self.writes_sent = 0
        self.recent_writes = collections.deque(maxlen=WRITES_KEPT)

    # -- construction ---------------------------------------------------------------

    @classmethod
    def factory(cls, endpoint=None, default_version=None, **kwargs):
        """Instanciate an :class:`API` with the right endpoint and session.

        ``endpoint``: a socket path, ``unix:PATH``, ``http+unix://...`` or
        ``https://host:port``. None means ``$LXD_DIR/unix.socket`` when LXD_DIR is set,
        else the first that exists of :data:`SOCKET_CANDIDATES`.

        Keyword arguments: ``cert`` and ``key`` (client certificate and key, HTTPS: paths
        or PEM text), ``verify`` (True, False or a CA bundle path; default True),
        ``server_cert`` (a PEM or its path: trust exactly this certificate, with no
        host-name check), ``timeout`` (seconds per request), ``wait_timeout`` (seconds
        per operation), ``project``, ``max_body`` (bytes a JSON answer may hold),
        ``debug``; ``private_folder``: where PEM text given
        as ``cert`` or ``key`` is written for the session (0600, removed with it).
        ``base_url`` is accepted as an alias of ``endpoint``.
        """
        endpoint = endpoint or kwargs.pop("base_url", None)
        cert, key = kwargs.pop("cert", None), kwargs.pop("key", None)
        verify = kwargs.pop("verify", True)
        server_cert = kwargs.pop("server_cert", None)
        base, session = make_session(
            endpoint,
            cert=cert,
            key=key,
            verify=verify,
            server_cert=server_cert,
            private_folder=kwargs.pop("private_folder", None),
        )
        return cls(session, base, default_version=default_version, **kwargs)

    # -- URLs -------------------------------------------------------------------------

    def path(self, *parts):
        """Join ``parts`` into a relative URL, each part quoted (``/`` and ``?`` too).

        A part that is ``.`` or ``..`` raises ValueError: HTTP clients resolve such dot
        segments away (``snapshots/..`` would reach the instance itself).
        """
        return "/".join(quote_path_part(p) for p in parts)

    def absolute_url(self, url):
        """The full URL for ``url``: relative ones go under ``/<version>/``."""
        if url.startswith(("http://", "https://", "http+unix://")):
            return url
        if not url.startswith("/"):
            url = f"/{self.default_version}/{url}" if url else "/" + self.default_version
        return self.endpoint + url

    # -- the choke point ---------------------------------------------------------------

    def request(self, method, url, *args, **kwargs):
        """Execute an HTTP request and return its validated :class:`APIResult`.

        ``etag`` (keyword) is sent as ``If-Match``. ``timeout`` defaults to the API's.
        Other args and kwargs go to :meth:`requests.Session.request`. Raises the
        :class:`APIException` subclass matching the status, :class:`APIConnectionError`
        when the server cannot be reached and :class:`APITimeout` when it does not answer.

        Every answer is checked (:meth:`APIResult.check_answer`): one that is not LXD's
        API (an HTML page, JSON of another shape, a body cut short) raises
        :class:`APIUnexpectedAnswer`, a JSON body longer than ``max_body``
        :class:`APIAnswerTooLarge` before it is read whole. Raw content (a file, a log, an
        export) is taken where the URL calls for it (:func:`raw_content_expected`) or
        ``raw=True`` says so; ``stream=True`` implies it and leaves such a body unread
        for the caller.
        """
        method = method.upper()
        full_url = self.absolute_url(url)
        if method != "GET":
            self.forget_reads(full_url)
            self._note_write(method, full_url, kwargs.get("json"))
        etag = kwargs.pop("etag", None)
        if etag:
            kwargs.setdefault("headers", {})["If-Match"] = etag
        if self.project and "all-projects" not in (kwargs.get("params") or {}):
            # LXD refuses a project beside all-projects ("Cannot specify a project when
            # requesting all projects")
            params = dict(kwargs.get("params") or {})
            params.setdefault("project", self.project)
            kwargs["params"] = params
        kwargs.setdefault("timeout", self.timeout)
        # The session's own TLS setting (a CA bundle, or False): requests would let
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment override it.
        kwargs.setdefault("verify", self.session.verify)
        streamed = bool(kwargs.get("stream"))
        raw = kwargs.pop("raw", None)
        if raw is None:
            raw = streamed or raw_content_expected(method, full_url, kwargs.get("params"))
        policy = BodyPolicy(self.max_body, raw)
        try:
            if streamed:
                response = self.session.request(method, full_url, *args, **kwargs)
                if response.status_code >= 400 or is_json_type(
                    response.headers.get("Content-Type", "")
                ):
                    read_streamed(response, policy)  # LXD's JSON (an error, a folder)
            elif isinstance(self.session, UnixSession):
                response = self.session.request(
                    method, full_url, *args, body_policy=policy, **kwargs
                )
            else:
                kwargs["stream"] = True
                response = read_streamed(
                    self.session.request(method, full_url, *args, **kwargs), policy
                )
        except AnswerReadError as exc:
            raise exc.refusal(self, method, full_url) from None
        except requests.exceptions.Timeout as exc:
            raise APITimeout(
                method=method,
                url=full_url,
                error="no answer within {}s from {}: {}".format(
                    kwargs["timeout"], self.display_endpoint, exc
                ),
            ) from None
        except requests.exceptions.SSLError as exc:
            pinned = isinstance(self.session.get_adapter(full_url), PinnedCertAdapter)
            raise APIConnectionError(
                method=method,
                url=full_url,
                error="TLS with {} failed: {}{}".format(
                    self.display_endpoint,
                    _root_cause(exc),
                    ""
                    if pinned
                    else ". Give verify= a CA bundle that signs the server's "
                    "certificate, or server_cert= the server's certificate to pin it",
                ),
            ) from None
        except (requests.exceptions.ConnectionError, OSError) as exc:
            raise APIConnectionError(
                method=method,
                url=full_url,
                error=f"cannot reach LXD at {self.display_endpoint}: {_root_cause(exc)}",
            ) from None
        result = APIResult(self, response)
        self.counts[method] += 1
        for observer in self.observers:
            observer(method, full_url, response.status_code)
        if self.debug:
            print(result.request_summary(), file=sys.stderr)
            print(result.response_summary(), file=sys.stderr)
        result.check_answer(raw)
        try:
            return result.validate()
        except APIForbiddenException as exc:
            if full_url != self.absolute_url(""):
                explain_forbidden(self, exc)
            raise
        except APINotFoundException:
            check_project_exists(self, full_url)  # a missing project is not "absent"
            raise

    def close(self):
        """Close the session's connections and remove the private files it holds (PEM
        text given as ``cert`` or ``key``) now, rather than when it is garbage-collected."""
        for removal in getattr(self.session, "lxdapi_private_files", ()):
            removal()
        self.session.close()

    def forget_reads(self, url):
        """Forget the cached reads a write to ``url`` may change: those of its collection
        (a write to ``images/...`` forgets the alias table, not the profiles); every one
        for a write to the server itself or to a project."""
        parts = urllib.parse.urlsplit(url).path.split("/")  # '', '1.0', collection, ...
        collection = parts[2] if len(parts) > 2 else ""
        if collection in ("", "projects"):
            self.read_cache.clear()
            return
        for key in list(self.read_cache):
            if not isinstance(key, tuple) or key[0] == collection:
                del self.read_cache[key]

    def _note_write(self, method, url, body):
        name = body.get("name") if isinstance(body, dict) else None
        self.writes_sent += 1
        name = name if isinstance(name, str) else None
        self.recent_writes.append(SentWrite(self.writes_sent, method, url, name))
        for hook in self.write_hooks:
            hook(self, method, url, name)

    def writes_since(self, count):
        """The writes this API sent after its first ``count`` (a past value of
        :attr:`writes_sent`), as :class:`SentWrite`, oldest first; None when some of them
        are no longer kept. What a reader that keeps what it read (an instance listing,
        :class:`lxdapi_batch.InstanceListing`) compares with, to tell what may have
        changed since."""
        behind = self.writes_sent - count
        if behind <= 0:
            return []
        if behind > len(self.recent_writes):
            return None
        return list(self.recent_writes)[-behind:]

    def get(self, url, *args, **kwargs):
        """GET ``url``; see :meth:`request`."""
        return self.request("GET", url, *args, **kwargs)

    def post(self, url, *args, **kwargs):
        """POST to ``url``; see :meth:`request`."""
        return self.request("POST", url, *args, **kwargs)

    def put(self, url, *args, **kwargs):
        """PUT ``url``; see :meth:`request`."""
        return self.request("PUT", url, *args, **kwargs)

    def patch(self, url, *args, **kwargs):
        """PATCH ``url``; see :meth:`request`."""
        return self.request("PATCH", url, *args, **kwargs)

    def delete(self, url, *args, **kwargs):
        """DELETE ``url``; see :meth:`request`."""
        return self.request("DELETE", url, *args, **kwargs)

    # -- server -------------------------------------------------------------------------

    @property
    def display_endpoint(self):
        """The endpoint as a person would write it (a socket path or an https URL)."""
        if self.endpoint.startswith("http+unix://"):
            return urllib.parse.unquote(self.endpoint[len("http+unix://") :])
        return self.endpoint

    @property
    def server(self):
        """``GET /1.0``'s metadata, read once per API."""
        if self._server is None:
            self._server = self.get("").metadata
        return self._server

    def has_extension(self, name):
        """True when the server lists API extension ``name``."""
        return name in (self.server.get("api_extensions") or ())

    @property
    def server_kind(self):
        """``lxd`` or ``incus``: what ``GET /1.0`` says in ``environment.server``; to an
        untrusted client, which is shown no environment, what its API extensions say
        (Incus renamed LXD's ``devlxd_*`` ones ``dev_incus_*``)."""
        kind = (self.server.get("environment") or {}).get("server")
        if kind in SERVER_KINDS:
            return kind
        extensions = self.server.get("api_extensions") or ()
        return "incus" if any(e.startswith("dev_incus") for e in extensions) else "lxd"

    @property
    def server_label(self):
        """How messages name the server: ``LXD`` or ``Incus``."""
        return "Incus" if self.server_kind == "incus" else "LXD"

    @property
    def takes_trust_password(self):
        """True when the server can trust a client by password (``core.trust_password``):
        LXD until 6.1, which dropped it; never Incus, which takes trust tokens only.

        No API extension marks the removal (LXD 5.21 lists every extension 6.1 does and
        still takes passwords), so this one capability is read from the version the
        server shows a trusted client (``environment.server_version``); to an untrusted
        one, which is shown none, an LXD may take passwords, and its answer tells.
        """
        if self.server_kind == "incus":
            return False
        version = (self.server.get("environment") or {}).get("server_version")
        return not version_at_least(version, (6, 1))

    def header(self, name):
        """The name of one of the server's own HTTP headers (``X-LXD-mode`` on LXD,
        ``X-Incus-mode`` on Incus, whose newer releases take only their own)."""
        return ("X-Incus-" if self.server_kind == "incus" else "X-LXD-") + name

    @property
    def instances_collection(self):
        """``instances`` when the server has that API extension, else ``containers``."""
        return "instances" if self.has_extension("instances") else "containers"

    def instance_path(self, name, *parts):
        """Relative URL of an instance (or of something under it)."""
        return self.path(self.instances_collection, name, *parts)

    def __repr__(self):
        return f"<API {self.display_endpoint} project={self.project}>"


def version_at_least(version, wanted):
    """True when the dotted ``version`` (``"6.1"``, ``"5.21.3"``) is ``wanted`` (a tuple)
    or later; False when it is older or unknown."""
    parts = []
    for part in str(version or "").split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return bool(parts) and tuple(parts) >= tuple(wanted)


def _root_cause(exc):
    seen = exc
    while getattr(seen, "__context__", None) is not None or getattr(seen, "reason", None):
        nxt = getattr(seen, "reason", None)
        if not isinstance(nxt, BaseException):  # ssl.SSLError.reason is a string
            nxt = seen.__context__
        if nxt is seen or nxt is None:
            break
        seen = nxt
    return str(seen) or exc.__class__.__name__


def explain_forbidden(api, exc):
    """Reword a 403 (:class:`APIForbiddenException`) from an HTTPS endpoint so it says
    whether the client is trusted at all (one fresh ``GET /1.0`` tells)."""
    if not api.endpoint.startswith("https://"):
        return
    try:
        auth = (api.request("GET", "").metadata or {}).get("auth")
    except APIException:
        return
    server_said = exc.error or "forbidden"
    if auth == "untrusted":
        cert = api.session.cert[0] if isinstance(api.session.cert, tuple) else api.session.cert
        if not cert:
            who = "no client certificate was given (set cert and key)"
        else:
            try:
                who = (
                    f"its certificate {cert} (sha256 {certificate_fingerprint(cert)}) is not "
                    "in the server's trust store"
                )
            except (OSError, ValueError):
                who = f"its certificate {cert} is not in the server's trust store"
        text = (
            f"not trusted: LXD at {api.display_endpoint} does not trust this client, so the "
            "request is "
            f"forbidden ({server_said}): {who}. Get it trusted with lxdapi.authenticate (a trust "
            "password or token) or 'lxc config trust add' on the server."
        )
    else:
        text = (
            f"forbidden: LXD at {api.display_endpoint} trusts this client but does not allow this "
            f"({server_said}); a "
            "restricted certificate only reaches its own projects."
        )
    reword(exc, text)


def check_project_exists(api, url):
    """After a 404 on ``url``: raise :class:`APIProjectNotFound` when the API's project is
    missing (checked once per API); return quietly otherwise."""
    path = urllib.parse.urlsplit(url).path
    if (
        not api.project
        or getattr(api, "_project_seen", False)
        or path.startswith(f"/{api.default_version}/projects")
    ):
        return
    try:
        api.get(api.path("projects", api.project))
    except APINotFoundException:
        raise APIProjectNotFound(
            method="GET",
            url=url,
            error=f"project {api.project!r} does not exist on {api.display_endpoint}",
        ) from None
    except APIException:
        return
    api._project_seen = True


def response_header(response, name):
    """A header of the server's own family in a response (``X-LXD-<name>`` or
    ``X-Incus-<name>``, whichever the server sent), or None."""
    headers = response.headers
    return headers.get("X-Incus-" + name, headers.get("X-LXD-" + name))


def get_or_none(api, url, **kwargs):
    """GET ``url``; the :class:`APIResult`, or None on 404."""
    try:
        return api.get(url, **kwargs)
    except APINotFoundException:
        return None


def name_from_url(url):
    """The last part of an API URL, unquoted: ``/1.0/instances/web%201?project=p`` -> ``web 1``."""
    path = str(url).split("?", 1)[0].rstrip("/")
    return urllib.parse.unquote(path.rsplit("/", 1)[-1])


# ---------------------------------------------------------------- connection settings


#: The connection settings (see :func:`resolve_connection`), as a remote's entry holds
#: them.
CONNECTION_KEYS = (
    "endpoint",
    "cert",
    "key",
    "verify",
    "server_cert",
    "timeout",
    "wait_timeout",
    "project",
    "max_body",
)


#: Other names for two settings, for the functions whose own parameters are called
#: ``key`` (a config key) or ``timeout`` (how long an LXD action may take).
CONNECTION_ALIASES = {"client_key": "key", "request_timeout": "timeout"}


#: Every keyword argument that is a connection setting: the execution functions, the
#: states and the beacon take these, and only these, besides their own parameters.
CONNECTION_ARGUMENTS = ("remote",) + CONNECTION_KEYS + tuple(CONNECTION_ALIASES)


def destination_arguments(to, what="to"):
    """The connection arguments of a destination server (a copy's, a move's), or of a
    copy's source server: ``to`` names a remote (``lxdapi:remotes:NAME``) or is a
    mapping of connection settings. ValueError naming ``what`` for anything else."""
    if isinstance(to, str) and to:
        return {"remote": to}
    if isinstance(to, dict):
        unknown = sorted(set(to) - set(CONNECTION_ARGUMENTS))
        if unknown:
            raise ValueError(
                "{}: unknown connection setting(s) {}".format(what, ", ".join(unknown))
            )
        return dict(to)
    raise ValueError(
        f"{what} must be a remote's name or a mapping of connection settings, not {to!r}"
    )


#: Settings that may be secrets: given as ``sdb://PROFILE/KEY``, they are looked up.
SECRET_SETTINGS = ("cert", "key", "server_cert")


def resolve_connection(kwargs, config_get=None, secret_get=None):
    """The connection settings for one call, with their precedence written down once.

    keyword argument (``client_key`` and ``request_timeout`` stand for ``key`` and
    ``timeout``) > ``remote=NAME`` (looked up under ``lxdapi:remotes:NAME``) >
    ``config_get('lxdapi:<key>')`` (in Salt: minion config, grains, pillar) > the
    built-in default (the local unix socket). ``config_get(key, default)`` is any
    lookup callable (Salt's ``config.get``); None means no configuration.
    ``cert``, ``key`` and ``server_cert`` given as ``sdb://PROFILE/KEY`` are looked up
    with ``secret_get(uri)`` (Salt's ``sdb.get``). Raises ValueError for an unknown
    remote, an unknown setting, or an ``sdb://`` secret that has no value.
    """
    config_get = config_get or (lambda key, default=None: default)
    settings = {}
    for key in CONNECTION_KEYS:
        value = config_get("lxdapi:" + key, None)
        if value is not None:
            settings[key] = value
    remote = kwargs.get("remote")
    if remote:
        remotes = config_get("lxdapi:remotes", {}) or {}
        if remote not in remotes:
            raise ValueError(
                "unknown remote {!r}; configured remotes: {}".format(
                    remote, ", ".join(sorted(remotes)) or "none (set lxdapi:remotes)"
                )
            )
        entry = remotes[remote] or {}
        unknown = set(entry) - set(CONNECTION_KEYS)
        if unknown:
            raise ValueError(
                "remote {!r} has unknown settings: {}".format(remote, ", ".join(sorted(unknown)))
            )
        settings = {k: v for k, v in settings.items() if k == "project"}
        settings.update(entry)
    for key in CONNECTION_KEYS:
        if kwargs.get(key) is not None:
            settings[key] = kwargs[key]
    for alias, key in CONNECTION_ALIASES.items():
        if kwargs.get(alias) is not None and kwargs.get(key) is None:
            settings[key] = kwargs[alias]
    for key in SECRET_SETTINGS:
        value = settings.get(key)
        if isinstance(value, str) and value.startswith("sdb://"):
            found = secret_get(value) if secret_get is not None else None
            if not found or found == value:
                raise ValueError(f"{key} {value} has no value (is the sdb profile set?)")
            settings[key] = found
    return settings


def cached_api(settings, cache, debug=False, private_folder=None):
    """One :class:`API` per distinct connection ``settings``, kept in ``cache`` (a dict).
    ``private_folder``: where PEM text given as ``cert`` or ``key`` is written while the
    API lives (see :meth:`API.factory`)."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    cache_key = "lxdapi.api." + digest.hexdigest()  # no secret in the cache's keys
    api = cache.get(cache_key)
    if api is None:
        api = API.factory(
            settings.get("endpoint"),
            debug=debug,
            private_folder=private_folder,
            **{k: v for k, v in settings.items() if k != "endpoint"},
        )
        cache[cache_key] = api
    return api


def connection_api(kwargs, cache, config_get=None, secret_get=None, cachedir=None):
    """The cached :class:`API` for one call's connection ``kwargs``: the settings
    resolved (:func:`resolve_connection`), one API per distinct settings in ``cache``
    (:func:`cached_api`); PEM text given as ``cert`` or ``key`` is written, 0600, under
    ``cachedir/lxdapi`` while that API lives. What the Salt modules, states and beacon
    call (with ``config.get``, ``sdb.get``, ``__context__`` and the minion's cachedir)."""
    settings = resolve_connection(kwargs, config_get, secret_get)
    private = os.path.join(cachedir, "lxdapi") if cachedir else None
    return cached_api(settings, cache, private_folder=private)


# ------------------------------------------------------------------ the 2016 library's API

#: The 2016 library's public API beyond what this file defines: its idempotent shortcuts,
#: re-exported from :mod:`lxdapi_shortcuts_2016` (``lxdapi.container_get``...). They are read
#: on first use, so that this file imports no other part of the core.
SEED_API = (
    "container_get",
    "container_absent",
    "container_apply_config",
    "container_apply_status",
    "image_get",
    "image_get_fingerprint",
    "image_present",
    "image_absent",
    "image_alias_present",
)

_defined_here = sorted(set(SEED_API) & set(globals()))
if _defined_here:
    raise ImportError("lxdapi defines {} and re-exports it too".format(", ".join(_defined_here)))


def __getattr__(name):
    if name in SEED_API:
        import lxdapi_shortcuts_2016  # noqa: PLC0415 - on first use: the shortcuts import this file

        value = getattr(lxdapi_shortcuts_2016, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
