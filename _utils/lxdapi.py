"""lxdapi: the HTTP core for LXD's REST API, and its idempotent shortcuts.

Plain Python (requests + requests-unixsocket); nothing here knows about Salt, so this file
is usable as a library of its own::

    api = API.factory()                       # the local unix socket
    api = API.factory("https://10.0.0.5:8443", cert=..., key=..., server_cert=...)
    api.post("instances", json={...}).wait()

Sections: exceptions, :class:`APIResult`, :class:`API` (the single HTTP choke point),
endpoints and sessions, value normalisation and diffs, plans (the writes a change needs),
and the seed library's shortcuts (``container_get``, ``container_apply_config``, ...).
"""

import collections
import copy
import hashlib
import json
import logging
import os
import re
import ssl
import sys
import urllib.parse
import warnings

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
SOCKET_CANDIDATES = ("/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket")
START_HINT = (
    "Is LXD running? Start it with 'systemctl start lxd' (or 'snap start lxd'), "
    "or run 'lxd --group lxd &' and 'lxd init', or point endpoint= at a running daemon."
)
IGNORED_CONFIG_PREFIXES = ("volatile.", "image.")
STATUSES = ("Running", "Stopped", "Frozen")

# --------------------------------------------------------------------------- exceptions


class APIException(Exception):
    """The server refused a request, or an operation failed.

    ``result`` is the :class:`APIResult` (None when there was no response); ``error`` the
    server's error text; ``status`` the HTTP status (or the operation's status code).
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
        super().__init__("{} {} {}".format(method or "", url or "", self.error).strip())


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


STATUS_EXCEPTIONS = {
    403: APIForbiddenException,
    404: APINotFoundException,
    409: APIConflictException,
    412: APIPreconditionFailed,
}

# ------------------------------------------------------------------------- redaction

SECRET_KEY_WORDS = ("password", "token", "secret", "private", "trust_password")
REDACTED = "**redacted**"


def _is_secret_key(key):
    key = str(key).lower()
    return key == "key" or key.endswith(".key") or any(w in key for w in SECRET_KEY_WORDS)


def redact(data):
    """Return a copy of ``data`` with passwords, tokens and private keys replaced."""
    if isinstance(data, dict):
        return {
            k: (REDACTED if _is_secret_key(k) and v else redact(v)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    if isinstance(data, str) and "PRIVATE KEY-----" in data:
        return REDACTED
    return data


# ------------------------------------------------------------------------- APIResult


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
        # Only LXD's own JSON documents: a file or an exec log is data, even if it
        # happens to start with "{".
        if "json" in response.headers.get("Content-Type", ""):
            try:
                self.data = response.json()
            except ValueError:
                self.data = None

    @property
    def metadata(self):
        """The ``metadata`` member of the JSON body (None if absent)."""
        return self.data.get("metadata") if isinstance(self.data, dict) else None

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
                    self, error=data.get("err") or data.get("error") or data.get("status"),
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
        params["timeout"] = int(timeout)
        try:
            result = self.api.request(
                "GET",
                path + "/wait",
                params=params,
                timeout=timeout + self.api.timeout,
            )
        except APIException as exc:
            raise operation_error(self, exc) from None
        op = result.metadata or {}
        if op.get("status") == "Running" or op.get("status_code") in (103, 105, 106):
            raise operation_error(self, APITimeout(result), timeout)
        return result

    def request_summary(self):
        """``METHOD URL`` and the JSON body, indented, secrets redacted."""
        lines = ["{} {}".format(self.request.method, self.request.url)]
        body = self.request.body
        if body:
            if isinstance(body, bytes):
                try:
                    lines.append(json.dumps(redact(json.loads(body)), indent=4))
                except ValueError:
                    lines.append("<{} bytes>".format(len(body)))
            elif isinstance(body, str):
                try:
                    lines.append(json.dumps(redact(json.loads(body)), indent=4))
                except ValueError:
                    lines.append("<{} characters>".format(len(body)))
            else:
                lines.append("<streamed body>")
        return "\n".join(lines)

    def response_summary(self):
        """``HTTP/<status>`` and the JSON response, indented, secrets redacted."""
        lines = ["HTTP/{}".format(self.response.status_code)]
        if self.data is not None:
            lines.append(json.dumps(redact(self.data), indent=4))
        elif self.response.content:
            lines.append("<{} bytes>".format(len(self.response.content)))
        return "\n".join(lines)

    def __repr__(self):
        return "<APIResult {} {} HTTP/{}>".format(
            self.request.method, self.request.url, self.response.status_code
        )


# ------------------------------------------------------------------------------- API


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
        params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, False, cert
        )
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
            method=request.method, url=request.url,
            error="the server certificate of {}://{} does not match the pinned "
                  "server_cert (pinned sha256 {}, the server presents {})".format(
                      parts.scheme, parts.netloc, self.fingerprint, presented))


def presented_fingerprint(url, timeout=10):
    """SHA-256 fingerprint of the certificate the TLS server at ``url`` presents (no
    verification), or None when it cannot be read."""
    parts = urllib.parse.urlsplit(url)
    try:
        pem = ssl.get_server_certificate((parts.hostname, parts.port or 443),
                                         timeout=timeout)
    except (OSError, ValueError):
        return None
    return certificate_fingerprint(pem)


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


def unix_session():
    """A :class:`requests.Session` that speaks HTTP over unix sockets, one pool per socket."""
    session = UnixSession()  # requests.Session with a fast path (issue 7)
    session.mount("http+unix://", UnixSocketAdapter())
    return session


def certificate_fingerprint(pem):
    """SHA-256 fingerprint (hex) of a PEM certificate (text or path)."""
    if "-----BEGIN" not in pem:
        with open(pem) as fh:
            pem = fh.read()
    der = ssl.PEM_cert_to_DER_cert(pem.strip())
    return hashlib.sha256(der).hexdigest()


class API:
    """Main entry point to interact with LXD's HTTP API.

    ``session`` is a :class:`requests.Session` (one keep-alive connection, reused),
    ``endpoint`` the base URL (``http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket`` or
    ``https://host:8443``), ``default_version`` the API version for relative URLs
    (``1.0``), ``debug`` dumps every transaction to stderr (also on with the ``DEBUG``
    environment variable). ``project`` is sent as ``?project=`` on every request.
    Use :meth:`factory` rather than the constructor.
    """

    #: Callables ``observer(method, url, status)`` told of every transaction (tests and
    #: benchmarks count requests with it).
    observers = []

    #: The run's :class:`InstanceListing` (see :func:`prefetch_instances`), or None.
    instance_listing = None

    def __init__(
        self,
        session,
        endpoint,
        default_version=None,
        debug=False,
        timeout=None,
        wait_timeout=None,
        project=None,
    ):
        self.session = session
        self.endpoint = endpoint.rstrip("/")
        self.default_version = default_version or DEFAULT_VERSION
        self.debug = bool(debug or os.environ.get("DEBUG"))
        self.timeout = check_timeout(timeout, "timeout", DEFAULT_TIMEOUT)
        self.wait_timeout = check_timeout(wait_timeout, "wait_timeout", DEFAULT_WAIT_TIMEOUT)
        self.project = project or None
        self.counts = collections.Counter()
        self._server = None
        #: Reads kept for the life of this API (one Salt run), e.g. the image alias table;
        #: emptied by every write this API sends.
        self.read_cache = {}

    # -- construction ---------------------------------------------------------------

    @classmethod
    def factory(cls, endpoint=None, default_version=None, **kwargs):
        """Instanciate an :class:`API` with the right endpoint and session.

        ``endpoint``: a socket path, ``unix:PATH``, ``http+unix://...`` or
        ``https://host:port``. None means ``$LXD_DIR/unix.socket`` when LXD_DIR is set,
        else the first that exists of :data:`SOCKET_CANDIDATES`.

        Keyword arguments: ``cert`` and ``key`` (client certificate and key paths, HTTPS),
        ``verify`` (True, False or a CA bundle path; default True), ``server_cert`` (a PEM
        or its path: trust exactly this certificate, with no host-name check), ``timeout``
        (seconds per request), ``wait_timeout`` (seconds per operation), ``project``,
        ``debug``. ``base_url`` is accepted as an alias of ``endpoint``.
        """
        endpoint = endpoint or kwargs.pop("base_url", None)
        cert, key = kwargs.pop("cert", None), kwargs.pop("key", None)
        verify = kwargs.pop("verify", True)
        server_cert = kwargs.pop("server_cert", None)
        base, session = make_session(endpoint, cert=cert, key=key, verify=verify,
                                     server_cert=server_cert)
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
            url = "/{}/{}".format(self.default_version, url) if url else "/" + self.default_version
        return self.endpoint + url

    # -- the choke point ---------------------------------------------------------------

    def request(self, method, url, *args, **kwargs):
        """Execute an HTTP request and return its validated :class:`APIResult`.

        ``etag`` (keyword) is sent as ``If-Match``. ``timeout`` defaults to the API's.
        Other args and kwargs go to :meth:`requests.Session.request`. Raises the
        :class:`APIException` subclass matching the status, :class:`APIConnectionError`
        when the server cannot be reached and :class:`APITimeout` when it does not answer.
        """
        method = method.upper()
        full_url = self.absolute_url(url)
        if method != "GET":
            self.read_cache.clear()
            if self.instance_listing is not None:
                self.instance_listing.forget(method, full_url, kwargs.get("json"))
        etag = kwargs.pop("etag", None)
        if etag:
            kwargs.setdefault("headers", {})["If-Match"] = etag
        if self.project:
            params = dict(kwargs.get("params") or {})
            params.setdefault("project", self.project)
            kwargs["params"] = params
        kwargs.setdefault("timeout", self.timeout)
        # The session's own TLS setting (a CA bundle, or False): requests would let
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment override it.
        kwargs.setdefault("verify", self.session.verify)
        try:
            response = self.session.request(method, full_url, *args, **kwargs)
        except requests.exceptions.Timeout as exc:
            raise APITimeout(
                method=method, url=full_url,
                error="no answer within {}s from {}: {}".format(
                    kwargs["timeout"], self.display_endpoint, exc),
            ) from None
        except requests.exceptions.SSLError as exc:
            pinned = isinstance(self.session.get_adapter(full_url), PinnedCertAdapter)
            raise APIConnectionError(
                method=method, url=full_url,
                error="TLS with {} failed: {}{}".format(
                    self.display_endpoint, _root_cause(exc),
                    "" if pinned else ". Give verify= a CA bundle that signs the server's "
                    "certificate, or server_cert= the server's certificate to pin it"),
            ) from None
        except (requests.exceptions.ConnectionError, OSError) as exc:
            raise APIConnectionError(
                method=method, url=full_url,
                error="cannot reach LXD at {}: {}".format(self.display_endpoint, _root_cause(exc)),
            ) from None
        result = APIResult(self, response)
        self.counts[method] += 1
        for observer in self.observers:
            observer(method, full_url, response.status_code)
        if self.debug:
            print(result.request_summary(), file=sys.stderr)
            print(result.response_summary(), file=sys.stderr)
        try:
            return result.validate()
        except APIForbiddenException as exc:
            if full_url != self.absolute_url(""):
                explain_forbidden(self, exc)
            raise
        except APINotFoundException:
            check_project_exists(self, full_url)  # a missing project is not "absent"
            raise

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
            return urllib.parse.unquote(self.endpoint[len("http+unix://"):])
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
    def instances_collection(self):
        """``instances`` when the server has that API extension, else ``containers``."""
        return "instances" if self.has_extension("instances") else "containers"

    def instance_path(self, name, *parts):
        """Relative URL of an instance (or of something under it)."""
        return self.path(self.instances_collection, name, *parts)

    def __repr__(self):
        return "<API {} project={}>".format(self.display_endpoint, self.project)


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


# --------------------------------------------------------------- endpoints and sessions


def find_local_socket():
    """The local socket path; raise :class:`APIConnectionError` naming every path tried."""
    if os.environ.get("LXD_DIR"):
        candidates = [os.path.join(os.environ["LXD_DIR"], "unix.socket")]
    else:
        candidates = list(SOCKET_CANDIDATES)
    for path in candidates:
        if os.path.exists(path):
            return path
    raise APIConnectionError(
        error="no LXD socket found (tried {}). {}".format(", ".join(candidates), START_HINT)
    )


def make_session(endpoint=None, cert=None, key=None, verify=True, server_cert=None):
    """Return ``(base_url, session)`` for an endpoint; see :meth:`API.factory`."""
    if endpoint and endpoint.startswith("https://"):
        session = requests.Session()
        if cert or key:
            for label, path in (("cert", cert), ("key", key)):
                if not path or not os.path.exists(path):
                    raise APIConnectionError(
                        url=endpoint,
                        error="client {} file {!r} does not exist".format(label, path),
                    )
            session.cert = (cert, key)
        if server_cert:
            try:
                fingerprint = certificate_fingerprint(server_cert)
            except (OSError, ValueError) as exc:
                raise APIConnectionError(
                    url=endpoint, error="cannot read server_cert: {}".format(exc)
                ) from None
            session.mount(endpoint.rstrip("/") + "/", PinnedCertAdapter(fingerprint))
            session.verify = False
        else:
            if verify is False:
                log.warning("lxdapi: TLS verification is off for %s", endpoint)
                warnings.filterwarnings("ignore", message="Unverified HTTPS request")
            elif isinstance(verify, str) and not os.path.exists(verify):
                raise APIConnectionError(
                    url=endpoint, error="CA bundle {!r} does not exist".format(verify)
                )
            session.verify = verify
        return endpoint.rstrip("/"), session
    if endpoint and endpoint.startswith("http://"):
        return endpoint.rstrip("/"), requests.Session()
    if requests_unixsocket is None:
        raise APIConnectionError(error="requests-unixsocket is not installed")
    if endpoint and endpoint.startswith("http+unix://"):
        return endpoint.rstrip("/"), unix_session()
    if endpoint and endpoint.startswith("unix:"):
        endpoint = endpoint[len("unix:"):]
    path = endpoint or find_local_socket()
    if endpoint and not os.path.exists(path):
        raise APIConnectionError(
            url=path, error="no LXD socket at {}. {}".format(path, START_HINT)
        )
    return "http+unix://" + urllib.parse.quote(path, safe=""), unix_session()


# ------------------------------------------------------------ values as LXD stores them


def lxd_value(value):
    """A config value as LXD stores it: a string (``True`` -> ``"true"``, 1 -> ``"1"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise TypeError("config values must be scalars, not {}".format(type(value).__name__))
    return str(value)


def lxd_config(config, what="config"):
    """Normalise a config mapping: string keys, string values."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError("{} must be a mapping, not {}".format(what, type(config).__name__))
    try:
        return {str(k): lxd_value(v) for k, v in config.items()}
    except TypeError as exc:
        raise ValueError("{}: {}".format(what, exc)) from None


def lxd_devices(devices):
    """Normalise a devices mapping: each device a mapping of strings with a ``type``."""
    if devices is None:
        return {}
    if not isinstance(devices, dict):
        raise ValueError("devices must be a mapping, not {}".format(type(devices).__name__))
    out = {}
    for name, dev in devices.items():
        if not isinstance(dev, dict) or not dev.get("type"):
            raise ValueError("device {!r} must be a mapping with a 'type'".format(name))
        out[str(name)] = lxd_config(dev, "device {!r}".format(name))
    return out


def _ignored(key):
    return key.startswith(IGNORED_CONFIG_PREFIXES)


# ---------------------------------------------------------------------------- plans


class Write:
    """One write a plan will send: method, relative URL, JSON body, If-Match ETag.

    ``keys`` names the plan's changes this write makes (so a plan that fails half-way
    can tell what it did write). ``body`` may be a callable ``body(previous)`` given the
    :class:`APIResult` of the plan's previous write (e.g. a fingerprint known only then).
    """

    def __init__(self, method, url, body=None, etag=None, data=None, headers=None,
                 wait_timeout=None, keys=()):
        self.method = method
        self.url = url
        self.body = body
        self.etag = etag
        self.data = data
        self.headers = headers
        self.wait_timeout = wait_timeout
        self.keys = tuple(keys)

    def request_kwargs(self, previous=None):
        """The keyword arguments of :meth:`API.request` for this write (``previous``: the
        result of the plan's write before it, for a body computed from it)."""
        kwargs = {"etag": self.etag}
        body = self.body(previous) if callable(self.body) else self.body
        if body is not None:
            kwargs["json"] = body
        if self.data is not None:
            kwargs["data"] = self.data
        if self.headers:
            kwargs["headers"] = dict(self.headers)
        return kwargs

    def send(self, api, previous=None):
        """Send it and wait for its operation; return the final :class:`APIResult`."""
        kwargs = self.request_kwargs(previous)
        for attempt in range(BUSY_RETRIES + 1):
            try:
                return api.request(self.method, self.url, **kwargs).wait(self.wait_timeout)
            except APIPreconditionFailed as exc:
                exc.error = "{} was changed by another client since it was read; not overwritten".format(
                    self.url
                )
                exc.args = ("{} {} {}".format(exc.method, exc.url, exc.error),)
                raise
            except APIException as exc:
                if not refused_as_busy(exc):
                    raise
                if attempt == BUSY_RETRIES:  # (issue 8) LXD refused it: another update ran
                    raise reword(exc, "{} was being changed by another client at the same "
                                      "moment; not overwritten ({})".format(self.url, exc.error))
                time.sleep(0.05 * (attempt + 1))  # then again, with the same If-Match

    def __repr__(self):
        return "<Write {} {}>".format(self.method, self.url)


class Plan:
    """What it takes to bring one resource to its declared form.

    ``changes`` maps each changed field to ``{"old": ..., "new": ...}``; ``writes`` are the
    requests that make them; ``notes`` are things worth telling that are not acted on
    (a different source, a pending restart). An empty plan means: nothing to do.
    """

    def __init__(self, name=None):
        self.name = name
        self.changes = {}
        self.writes = []
        self.notes = []

    def __bool__(self):
        return bool(self.writes)

    def add(self, key, old, new):
        """Record a change of ``key`` from ``old`` to ``new``."""
        self.changes[key] = {"old": old, "new": new}

    def extend(self, other):
        """Append another plan's changes, writes and notes."""
        self.changes.update(other.changes)
        self.writes.extend(other.writes)
        self.notes.extend(other.notes)
        return self

    def apply(self, api):
        """Send the writes in order; return True if anything was written.

        ``sent`` lists the writes that succeeded, so after a failure
        :meth:`applied_changes` tells what was written before it.
        """
        self.sent = []
        previous = None
        for write in self.writes:
            previous = write.send(api, previous)
            self.sent.append(write)
        return bool(self.writes)

    def applied_changes(self):
        """The changes whose writes all went through (all of them once :meth:`apply` ended).

        A change that no write names in ``keys`` counts as made only when every write was.
        """
        sent = getattr(self, "sent", [])
        if len(sent) == len(self.writes):
            return dict(self.changes)
        pending = set()
        for write in self.writes[len(sent):]:
            pending.update(write.keys)
        tagged = {key for write in self.writes for key in write.keys}
        return {key: change for key, change in self.changes.items()
                if key in tagged and key not in pending}


def diff_fields(current, declared, purge_config=False, purge_devices=False):
    """Compare the declared fields of a resource with what the server holds.

    ``current`` is the resource as GET returns it; ``declared`` may hold ``config``,
    ``devices``, ``profiles`` (ordered) and ``description`` (absent keys are not
    managed). ``volatile.*`` and ``image.*`` config keys are never compared or purged.
    Returns ``(changes, patch, removed_devices)``: ``patch`` is the PATCH body that makes
    the changes (a purged config key is sent as ``""``, which LXD removes); devices to
    remove cannot be PATCHed and are returned apart.
    """
    changes, patch, removed_devices = {}, {}, []
    if "config" in declared:
        have = current.get("config") or {}
        want = {k: v for k, v in lxd_config(declared["config"]).items() if not _ignored(k)}
        old, new = {}, {}
        for key, value in want.items():
            if have.get(key, "") != value:  # "" (or None) declared: the key is absent
                old[key], new[key] = have.get(key), value
        if purge_config:
            for key in have:
                if key not in want and not _ignored(key):
                    old[key], new[key] = have[key], None
        if new:
            changes["config"] = {"old": old, "new": new}
            patch["config"] = {k: ("" if v is None else v) for k, v in new.items()}
    if "devices" in declared:
        have = current.get("devices") or {}
        want = lxd_devices(declared["devices"])
        old, new = {}, {}
        for name, dev in want.items():
            if have.get(name) != dev:
                old[name], new[name] = have.get(name), dev
        if purge_devices:
            for name in have:
                if name not in want:
                    old[name], new[name] = have[name], None
                    removed_devices.append(name)
        if new:
            changes["devices"] = {"old": old, "new": new}
            patch["devices"] = {k: v for k, v in new.items() if v is not None}
    if "profiles" in declared and declared["profiles"] is not None:
        want = [str(p) for p in declared["profiles"]]
        if list(current.get("profiles") or []) != want:
            changes["profiles"] = {"old": current.get("profiles"), "new": want}
            patch["profiles"] = want
    if "description" in declared and declared["description"] is not None:
        if (current.get("description") or "") != str(declared["description"]):
            changes["description"] = {
                "old": current.get("description"), "new": str(declared["description"])
            }
            patch["description"] = str(declared["description"])
    if declared.get("ephemeral") is not None:
        if bool(current.get("ephemeral")) != bool(declared["ephemeral"]):
            changes["ephemeral"] = {"old": bool(current.get("ephemeral")),
                                    "new": bool(declared["ephemeral"])}
            patch["ephemeral"] = bool(declared["ephemeral"])
    return changes, patch, removed_devices


WRITABLE_FIELDS = ("config", "devices", "profiles", "description", "ephemeral",
                   "architecture", "stateful")


def plan_update(url, current, etag, declared, purge_config=False, purge_devices=False,
                writable=WRITABLE_FIELDS):
    """The :class:`Plan` that brings an existing resource to ``declared``.

    A PATCH with If-Match when it can; a PUT of the whole writable object (with
    If-Match, the server's own ``volatile.*`` keys kept as read) when devices must go.
    """
    plan = Plan()
    changes, patch, removed = diff_fields(current, declared, purge_config, purge_devices)
    plan.changes.update(changes)
    if not changes:
        return plan
    if removed:
        body = {k: copy.deepcopy(current[k]) for k in writable if k in current}
        for key, value in patch.items():
            if key in ("config", "devices"):
                body.setdefault(key, {}).update(value)
            else:
                body[key] = value
        body["config"] = {k: v for k, v in body.get("config", {}).items() if v != ""}
        for name in removed:
            body.get("devices", {}).pop(name, None)
        plan.writes.append(Write("PUT", url, body, etag=etag, keys=changes))
    else:
        # LXD 5.0 resets an instance's description on a PATCH that leaves it out.
        if "description" not in patch and current.get("description"):
            patch["description"] = current["description"]
        plan.writes.append(Write("PATCH", url, patch, etag=etag, keys=changes))
    return plan


def get_or_none(api, url, **kwargs):
    """GET ``url``; the :class:`APIResult`, or None on 404."""
    try:
        return api.get(url, **kwargs)
    except APINotFoundException:
        return None


# ------------------------------------------------------------------------ instances


def container_get(api, name):
    """Return the :class:`APIResult` for a container (any instance), or False."""
    listed = listed_instance(api, name)  # a run's listing, see plan_using_listing
    if listed is not None:
        return listed
    return get_or_none(api, api.instance_path(name)) or False


def _instance_name(container, config=None):
    if container:
        return container.metadata["name"]
    if config and config.get("name"):
        return config["name"]
    raise ValueError("an absent container needs a 'name' in its config")


def plan_instance(api, container, config, purge_config=False, purge_devices=False):
    """The :class:`Plan` to create an absent instance or converge an existing one.

    ``container`` is the instance's :class:`APIResult` (or False when absent); ``config``
    the instance as LXD's API takes it (``name``, ``source``, ``config``, ``devices``,
    ``profiles``, ``type``, ``ephemeral``, ``description``).
    """
    name = _instance_name(container, config)
    plan = Plan(name)
    if not container:
        body = {k: v for k, v in config.items() if v is not None}
        body["name"] = name
        if "config" in body:
            body["config"] = lxd_config(body["config"])
        if "devices" in body:
            body["devices"] = lxd_devices(body["devices"])
        if "source" not in body:
            body["source"] = {"type": "none"}
        plan.add("instance", None, name)
        plan.writes.append(Write("POST", api.instances_collection, body))
        return plan
    current = container.metadata
    plan.extend(plan_update(api.instance_path(name), current, container.etag, config,
                            purge_config, purge_devices))
    return plan


def container_apply_config(api, container, config, purge_config=False, purge_devices=False):
    """Create an absent container, or bring an existing one to ``config``.

    ``container`` is the :class:`APIResult` of :func:`container_get` (or False);
    ``config`` the dict LXD's API takes (with ``name`` when the container is absent).
    Declared config keys, devices, the ordered profile list and the description are
    compared as LXD stores them (``volatile.*`` and ``image.*`` ignored) and written with
    If-Match. Returns True if it wrote.

    Example::

        container_apply_config(api, container_get(api, 'web1'), {'name': 'web1', ...})
    """
    return plan_instance(api, container, config, purge_config, purge_devices).apply(api)


def plan_status(api, container, status, timeout=30, force=False):
    """The :class:`Plan` that brings an instance to ``status`` (Running/Stopped/Frozen).

    Running unfreezes a Frozen instance; Stopped is a clean shutdown with ``timeout``
    (a kill only with ``force``); Frozen starts a stopped instance and freezes it.
    ``container`` may be False for an instance the same plan creates (it is Stopped).
    """
    status = normalize_status(status)
    name = _instance_name(container) if container else None
    current = container.metadata.get("status") if container else "Stopped"
    return _status_plan(api, name, current, status, timeout, force)


def normalize_status(status):
    """``running`` -> ``Running``; raise ValueError listing the choices otherwise."""
    for choice in STATUSES:
        if str(status).lower() == choice.lower():
            return choice
    raise ValueError(
        "unknown status {!r}; choose one of {}".format(status, ", ".join(STATUSES))
    )


def _status_plan(api, name, current, status, timeout=30, force=False):
    plan = Plan(name)
    if current == status:
        return plan
    url = api.instance_path(name, "state") if name else None
    steps = {
        ("Stopped", "Running"): ["start"],
        ("Frozen", "Running"): ["unfreeze"],
        ("Running", "Stopped"): ["stop"],
        ("Frozen", "Stopped"): ["unfreeze", "stop"],
        ("Stopped", "Frozen"): ["start", "freeze"],
        ("Running", "Frozen"): ["freeze"],
    }.get((current, status), [])
    for action in steps:
        body = {"action": action, "timeout": int(timeout)}
        if action == "stop":
            body["force"] = bool(force)
        plan.writes.append(Write("PUT", url, body, wait_timeout=int(timeout) + 30,
                                 keys=("status",)))
    plan.add("status", current, status)
    return plan


def status_plan_for_new(api, name, status):
    """The status plan for an instance a plan is about to create (it starts Stopped)."""
    return _status_plan(api, name, "Stopped", normalize_status(status))


def container_apply_status(api, container, status, timeout=30, force=False):
    """Apply an LXD status to a container: Running, Stopped or Frozen.

    ``container`` is its :class:`APIResult`. Stopped is a clean shutdown (``timeout``
    seconds; ``force`` kills). Returns True if the status changed.
    Raises ValueError, listing the choices, for any other status.

    Example::

        container_apply_status(api, container_get(api, 'web1'), 'Running')
    """
    return plan_status(api, container, status, timeout, force).apply(api)


def plan_instance_absent(api, container, timeout=30, force=False):
    """The :class:`Plan` that stops (cleanly) and deletes an instance, if present."""
    if not container:
        return Plan()
    name, status = container.metadata["name"], container.metadata.get("status")
    plan = _status_plan(api, name, status, "Stopped", timeout, force)
    plan.add("instance", {"name": name, "status": status}, None)
    plan.writes.append(Write("DELETE", api.instance_path(name), keys=("instance",)))
    return plan


def container_absent(api, container, timeout=30, force=False):
    """Ensure a container is absent: stop it (cleanly) if it runs or is frozen, delete it.

    ``container`` is its :class:`APIResult` or False. Returns True if it deleted.

    Example::

        container_absent(api, container_get(api, 'web1'))
    """
    return plan_instance_absent(api, container, timeout, force).apply(api)


# -- container_present and friends: validation, source, restart, one plan per state

#: Config keys LXD applies only when the instance (re)starts ("Live update: no" in LXD's
#: instance options), and the exceptions under those prefixes that do apply live.
RESTART_CONFIG_KEYS = (
    "raw.idmap", "raw.lxc", "raw.qemu", "raw.seccomp", "security.devlxd",
    "security.devlxd.images", "security.privileged", "security.secureboot",
    "limits.memory.hugepages", "migration.stateful", "agent.nic_config",
)
RESTART_CONFIG_PREFIXES = ("limits.kernel.", "linux.sysctl.", "nvidia.", "security.idmap.",
                           "security.syscalls.")
LIVE_CONFIG_KEYS = (
    "security.syscalls.intercept.mount.allowed", "security.syscalls.intercept.mount.fuse",
    "security.syscalls.intercept.mount.shift",
)
INSTANCE_NAME_RULE = ("1 to 63 letters, digits and dashes, starting with a letter and not "
                      "ending with a dash")
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")


def restart_needed(keys):
    """The config keys among ``keys`` that take effect only when the instance restarts."""
    return sorted(
        key for key in keys
        if key not in LIVE_CONFIG_KEYS
        and (key in RESTART_CONFIG_KEYS or key.startswith(RESTART_CONFIG_PREFIXES))
    )


def validate_instance_name(name):
    """``name`` if LXD accepts it as an instance name; ValueError saying the rule otherwise."""
    if (not isinstance(name, str) or not re.match(r"^[A-Za-z][A-Za-z0-9-]{0,62}$", name)
            or name.endswith("-")):
        raise ValueError("invalid instance name {!r}: use {}".format(name, INSTANCE_NAME_RULE))
    return name


def check_bool(value, what):
    """``value`` if it is True or False; ValueError naming ``what`` otherwise."""
    if not isinstance(value, bool):
        raise ValueError("{} must be true or false, not {!r}".format(what, value))
    return value


def check_optional_str(value, what):
    """``value`` if it is None or a string; ValueError naming ``what`` otherwise."""
    if value is not None and not isinstance(value, str):
        raise ValueError("{} must be a string, not {!r}".format(what, value))
    return value


def check_names(values, what):
    """A list of non-empty names (from a list or tuple); ValueError naming ``what``."""
    if not isinstance(values, (list, tuple)) or not all(
            isinstance(v, str) and v for v in values):
        raise ValueError("{} must be a list of names, not {!r}".format(what, values))
    return list(values)


def profile_names(api):
    """The names of the server's profiles (in the API's project)."""
    return [name_from_url(url) for url in api.get("profiles").metadata or []]


def check_profiles_exist(api, profiles):
    """Raise ValueError naming the ``profiles`` the server does not have."""
    missing = [p for p in profiles if p not in profile_names(api)]
    if missing:
        raise ValueError("profile(s) {} do not exist on {}".format(
            ", ".join(repr(p) for p in missing), api.display_endpoint))


def image_alias_table(api):
    """``{alias: fingerprint}`` of the server's image aliases.

    Read with one ``GET images/aliases?recursion=1`` and kept in ``api.read_cache`` for
    the rest of the run (any write through the API forgets it), so many states naming
    images by alias cost one request, not one each.
    """
    table = api.read_cache.get("image_aliases")
    if table is None:
        result = api.get("images/aliases", params={"recursion": 1})
        table = {a["name"]: a["target"] for a in result.metadata or []}
        api.read_cache["image_aliases"] = table
    return table


def source_label(source):
    """A short text naming a declared source (for comments and changes)."""
    if isinstance(source, dict):
        what = source.get("alias") or source.get("fingerprint") or source.get("type")
        if source.get("server"):
            return "{} from {}".format(what, source["server"])
        return str(what)
    return str(source)


def declared_fingerprint(api, source):
    """The image fingerprint (or prefix) a declared ``source`` names on this server.

    None when it cannot be told without asking another server (a remote source without
    ``fingerprint``) or the source is not an image; False when no such alias exists here.
    """
    if isinstance(source, dict):
        if source.get("type", "image") != "image":
            return None
        if source.get("fingerprint"):
            return str(source["fingerprint"]).lower()
        if source.get("server"):
            return None
        ref = source.get("alias")
    else:
        ref = source
    if not ref:
        return None
    ref = str(ref)
    if FINGERPRINT_RE.match(ref):
        return ref
    table = image_alias_table(api)
    if ref in table:
        return table[ref]
    if re.match(r"^[0-9a-f]{6,64}$", ref):
        return ref
    return False


def source_note(api, current, source):
    """A note when an existing instance was not created from the declared ``source``.

    Compares the declared image with ``volatile.base_image`` (and tells the ``image.*``
    description); None when they agree or it cannot be told. Never acted on.
    """
    if source is None or source == "":
        return None
    wanted = declared_fingerprint(api, source)
    if wanted is None:
        return None
    name = current.get("name")
    config = current.get("config") or {}
    base = config.get("volatile.base_image")
    label = source_label(source)
    if not base:
        return ("{} was not created from an image, not from {} as declared; it is left as "
                "it is (nothing is recreated).".format(name, label))
    if wanted is False:
        return ("Cannot tell whether {} was created from {}: there is no such image alias "
                "now; it is left as it is.".format(name, label))
    if not base.startswith(wanted):
        was = base[:12]
        if config.get("image.description"):
            was += " ({})".format(config["image.description"])
        return ("{} was created from image {}, not from {} ({}) as declared; it is left as "
                "it is (nothing is recreated).".format(name, was, label, wanted[:12]))
    return None


def _restart_write(api, name, timeout):
    return Write("PUT", api.instance_path(name, "state"),
                 {"action": "restart", "timeout": int(timeout)},
                 wait_timeout=int(timeout) + 30, keys=("restarted",))


def plan_container_present(api, name, source=None, config=None, devices=None,
                           profiles=None, instance_type="container", ephemeral=False,
                           description=None, status=None, target=None,
                           restart_on_change=False, purge_config=False,
                           purge_devices=False, timeout=30, migrate=False):
    """The :class:`Plan` that creates an instance, or brings an existing one to what is
    declared; then its status.

    Absent: one POST (``source``: an image alias or fingerprint on the server, or LXD's
    source dict; ``target``: a cluster member), then the writes that reach ``status``.
    Present: one PATCH with If-Match for the declared config keys, devices, the exact
    ordered ``profiles``, ``description`` and ``ephemeral`` (a PUT when ``purge_devices``
    removes devices); keys and devices not declared are kept unless ``purge_config`` /
    ``purge_devices``; ``volatile.*`` and ``image.*`` are never touched; then
    ``status``; then a restart when changed keys only apply at restart and
    ``restart_on_change`` (else a note says a restart is pending). A different source,
    type or cluster member than declared is a note, never acted on; except that
    ``migrate`` moves an instance on another cluster member to ``target`` (LXD moves
    stopped instances: one that is running must be declared ``status: Stopped``).

    Bad input raises ValueError before any write; a missing image or profile too. Reads:
    the instance (one GET), plus ``GET /1.0`` once per API; an alias source adds the
    alias table, once per API.
    """
    name = validate_instance_name(name)
    if instance_type not in INSTANCE_TYPES:
        raise ValueError("unknown instance type {!r}; choose {}".format(
            instance_type, " or ".join(INSTANCE_TYPES)))
    status = None if status is None else normalize_status(status)
    config = None if config is None else lxd_config(config)
    devices = None if devices is None else lxd_devices(devices)
    profiles = None if profiles is None else check_names(profiles, "profiles")
    check_optional_str(description, "description")
    check_optional_str(target, "target")
    for flag, what in ((ephemeral, "ephemeral"), (restart_on_change, "restart_on_change"),
                       (purge_config, "purge_config"), (purge_devices, "purge_devices"),
                       (migrate, "migrate")):
        check_bool(flag, what)
    if source is not None and not isinstance(source, (str, dict)):
        raise ValueError("source must be an image alias or fingerprint, or LXD's source "
                         "mapping, not {!r}".format(source))
    timeout = check_seconds(timeout)
    ignored = sorted(k for k in (config or {}) if _ignored(k))
    config = None if config is None else {
        k: v for k, v in config.items() if not _ignored(k)}

    container = container_get(api, name)
    if not container:
        plan = _plan_container_create(api, name, source, config, devices, profiles,
                                      instance_type, ephemeral, description, status,
                                      target, timeout)
    else:
        plan = _plan_container_update(api, container, source, config, devices, profiles,
                                      instance_type, ephemeral, description, status,
                                      target, restart_on_change, purge_config,
                                      purge_devices, timeout, migrate)
    if ignored:
        plan.notes.append("{} left alone: volatile.* and image.* keys are LXD's own.".format(
            ", ".join(ignored)))
    return plan


def _plan_container_create(api, name, source, config, devices, profiles, instance_type,
                           ephemeral, description, status, target, timeout):
    plan = Plan(name)
    if isinstance(source, dict) and source.get("type", "image") == "image" \
            and not source.get("server") and declared_fingerprint(api, source) is False:
        raise ValueError("image {!r} does not exist on {}".format(
            source_label(source), api.display_endpoint))
    if profiles is not None:
        check_profiles_exist(api, profiles)
    body = {"name": name, "type": instance_type, "source": instance_source(api, source),
            "ephemeral": ephemeral}
    if config:
        body["config"] = config
    if devices:
        body["devices"] = devices
    if profiles is not None:
        body["profiles"] = profiles
    if description is not None:
        body["description"] = description
    url = api.instances_collection
    if target:
        url += "?" + urllib.parse.urlencode({"target": target})
    created = {k: v for k, v in body.items() if k not in ("source", "ephemeral")}
    created["source"] = source_label(source) if source else "none"
    if ephemeral:
        created["ephemeral"] = True
    if target:
        created["target"] = target
    plan.add("instance", None, created)
    plan.writes.append(Write("POST", url, body, keys=("instance",)))
    if status and status != "Stopped":
        status_plan = _status_plan(api, name, "Stopped", status, timeout)
        plan.writes.extend(status_plan.writes)
        plan.add("status", None, status)
    return plan


def _plan_container_update(api, container, source, config, devices, profiles,
                           instance_type, ephemeral, description, status, target,
                           restart_on_change, purge_config, purge_devices, timeout,
                           migrate=False):
    current = container.metadata
    name = current["name"]
    plan = Plan(name)
    declared = {"ephemeral": ephemeral}
    if config is not None or purge_config:
        declared["config"] = config or {}
    if devices is not None or purge_devices:
        declared["devices"] = devices or {}
    if profiles is not None:
        declared["profiles"] = profiles
    if description is not None:
        declared["description"] = description
    update = plan_update(api.instance_path(name), current, container.etag, declared,
                         purge_config, purge_devices)
    if "profiles" in update.changes:
        check_profiles_exist(api, profiles)
    plan.extend(update)

    note = source_note(api, current, source)
    if note:
        plan.notes.append(note)
    if current.get("type") and current["type"] != instance_type:
        plan.notes.append("{} is a {}, not a {} as declared; it is left as it is.".format(
            name, current["type"], instance_type))
    location = current.get("location")
    moving = bool(target and location not in (None, "", "none") and location != target)
    if moving and not migrate:
        plan.notes.append("{} is on cluster member {}, not {} as declared; it is not "
                          "moved (migrate: True moves it).".format(name, location, target))

    now = current.get("status")
    final = status or now
    if moving and migrate and now != "Stopped" and final != "Stopped":
        raise ValueError("{} is {} on cluster member {}; it must be stopped to move to {} "
                         "(declare status: Stopped, or stop it first)".format(
                             name, now, location, target))
    if moving and migrate and now == "Stopped":
        plan.extend(plan_instance_move(api, name, location, target))
    if status:
        plan.extend(_status_plan(api, name, now, status, timeout))
    if moving and migrate and now != "Stopped":  # stopped just above
        plan.extend(plan_instance_move(api, name, location, target))
    changed = (update.changes.get("config") or {}).get("new") or {}
    pending = restart_needed(changed)
    if pending and now in ("Running", "Frozen") and final != "Stopped":
        if restart_on_change and final == "Running":
            plan.writes.append(_restart_write(api, name, timeout))
            plan.add("restarted", False, True)
            plan.notes.append("Restarted to apply {}.".format(", ".join(pending)))
        else:
            plan.notes.append(
                "A restart is pending: {} only take(s) effect when {} restarts{}.".format(
                    ", ".join(pending), name,
                    "" if final == "Frozen" else " (restart_on_change: True does it)"))
    return plan


def plan_container_status(api, name, status, restart=False, force=False, timeout=30):
    """The :class:`Plan` that brings an existing instance to ``status``.

    ``restart`` restarts one that is already Running (or Frozen) when the status is
    Running; ``force`` makes Stopped a kill rather than a clean shutdown after
    ``timeout`` seconds. An instance that does not exist raises ValueError.
    """
    name = validate_instance_name(name)
    status = normalize_status(status)
    check_bool(restart, "restart")
    check_bool(force, "force")
    timeout = check_seconds(timeout)
    container = container_get(api, name)
    if not container:
        raise ValueError("container {!r} does not exist on {}".format(
            name, api.display_endpoint))
    now = container.metadata.get("status")
    plan = _status_plan(api, name, now, status, timeout, force)
    if restart and status == "Running" and now in ("Running", "Frozen"):
        plan.writes.append(_restart_write(api, name, timeout))
        plan.add("restarted", False, True)
    return plan


def plan_container_absent(api, name, force=False, timeout=30):
    """The :class:`Plan` that stops (cleanly, unless ``force``) and deletes an instance."""
    name = validate_instance_name(name)
    check_bool(force, "force")
    timeout = check_seconds(timeout)
    return plan_instance_absent(api, container_get(api, name), timeout, force)


# --------------------------------------------------------------------------- images


def image_get(api, fingerprint):
    """Return the :class:`APIResult` for an image fingerprint (or a unique prefix), or False."""
    return get_or_none(api, api.path("images", fingerprint)) or False


def image_alias_get(api, name):
    """Return the :class:`APIResult` for an image alias, or False."""
    return get_or_none(api, api.path("images", "aliases", name)) or False


def image_get_fingerprint(path):
    """Return the sha256 fingerprint of an image tarball (what LXD names it by)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def plan_image_present(api, path, fingerprint=None, public=False):
    """The :class:`Plan` that uploads the unified image tarball at ``path`` if absent."""
    fingerprint = fingerprint or image_get_fingerprint(path)
    plan = Plan(fingerprint)
    if image_get(api, fingerprint):
        return plan
    with open(path, "rb") as fh:
        data = fh.read()
    headers = {"Content-Type": "application/octet-stream"}
    if public:
        headers["X-LXD-public"] = "1"
    plan.add("image", None, fingerprint)
    plan.writes.append(Write("POST", "images", data=data, headers=headers))
    return plan


def image_present(api, path, fingerprint=None, public=False):
    """Upload the image tarball at ``path`` unless its fingerprint exists. True if uploaded.

    Example::

        image_present(api, '/srv/busybox.tar.gz')
    """
    return plan_image_present(api, path, fingerprint, public).apply(api)


def image_absent(api, fingerprint):
    """Return False if the image is absent, otherwise delete it and return True."""
    if not image_get(api, fingerprint):
        return False
    api.delete(api.path("images", fingerprint)).wait()
    return True


def plan_image_alias(api, name, target, description=None):
    """The :class:`Plan` that makes alias ``name`` point at fingerprint ``target``."""
    plan = Plan(name)
    alias = image_alias_get(api, name)
    if not alias:
        body = {"name": name, "target": target}
        if description is not None:
            body["description"] = description
        plan.add("alias", None, {"target": target, "description": description or ""})
        plan.writes.append(Write("POST", "images/aliases", body))
        return plan
    current = alias.metadata
    body = {"target": current.get("target"), "description": current.get("description") or ""}
    if current.get("target") != target:
        plan.add("target", current.get("target"), target)
        body["target"] = target
    if description is not None and (current.get("description") or "") != description:
        plan.add("description", current.get("description"), description)
        body["description"] = description
    if plan.changes:
        # PUT, not PATCH: LXD 5.0.2 hangs 20 s on an alias PATCH, then answers 500.
        plan.writes.append(
            Write("PUT", api.path("images", "aliases", name), body, etag=alias.etag)
        )
    return plan


def image_alias_present(api, name, target, description=None):
    """Ensure an image has an alias: create it, or move it when it points elsewhere.

    Returns True if it changed something.
    """
    return plan_image_alias(api, name, target, description).apply(api)


# -- image_present and friends: one plan per state

IMAGE_PROTOCOLS = ("lxd", "simplestreams")


def check_image_source(source):
    """A remote image source mapping, checked and completed for ``POST /1.0/images``.

    Keys: ``server`` (``https://...``), ``protocol`` (``lxd``, the default, or
    ``simplestreams``), ``alias`` or ``fingerprint`` (which image), ``certificate``
    (the server's PEM, for a self-signed LXD server). ValueError names what is wrong.
    """
    known = {"server", "protocol", "alias", "fingerprint", "certificate", "type", "mode",
             "image_type"}
    unknown = sorted(set(source) - known)
    if unknown:
        raise ValueError("unknown image source key(s): {}; use server, protocol, alias, "
                         "fingerprint, certificate".format(", ".join(unknown)))
    server = source.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise ValueError("an image source needs a server URL (https://host:port), not "
                         "{!r}".format(server))
    protocol = source.get("protocol") or "lxd"
    if protocol not in IMAGE_PROTOCOLS:
        raise ValueError("unknown image protocol {!r}; choose {}".format(
            protocol, " or ".join(IMAGE_PROTOCOLS)))
    if not source.get("alias") and not source.get("fingerprint"):
        raise ValueError("an image source needs an alias or a fingerprint")
    for key in ("alias", "fingerprint", "certificate"):
        check_optional_str(source.get(key), "image source " + key)
    out = {"type": "image", "mode": "pull", "server": server.rstrip("/"),
           "protocol": protocol}
    for key in ("alias", "fingerprint", "certificate", "image_type"):
        if source.get(key):
            out[key] = source[key]
    return out


def pulled_from(image, source):
    """True when ``image`` (LXD's image object) came from the remote ``source``."""
    if source.get("fingerprint"):
        return image.get("fingerprint", "").startswith(source["fingerprint"].lower())
    origin = image.get("update_source") or {}
    return (
        (origin.get("server") or "").rstrip("/") == source["server"]
        and (origin.get("protocol") or "lxd") == source["protocol"]
        and origin.get("alias") == source.get("alias")
    )


def plan_image(api, name, source, public=False, aliases=None, auto_update=False):
    """The :class:`Plan` that makes image alias ``name`` point at the declared image.

    ``source`` is the path of a unified image tarball (present when the server has an
    image with its sha256 fingerprint) or a remote image source (see
    :func:`check_image_source`; present when ``name`` points at an image pulled from
    it). The image is uploaded or pulled when missing; ``public`` and ``auto_update``
    are brought to what is declared (one PATCH with If-Match); ``name`` and every name
    in ``aliases`` point at it (created, or moved from another image, which is kept).
    """
    name = check_name(name, "name")
    check_bool(public, "public")
    check_bool(auto_update, "auto_update")
    extra = [] if aliases is None else check_names(aliases, "aliases")
    names = [name] + [a for a in extra if a != name]
    if isinstance(source, dict):
        return _plan_image_pull(api, name, check_image_source(source), public, names,
                                auto_update)
    if not isinstance(source, str) or not source:
        raise ValueError("source must be an image file (path or salt:// URL) or a remote "
                         "image source mapping, not {!r}".format(source))
    if not os.path.isfile(source):
        raise ValueError("image file {!r} does not exist".format(source))
    fingerprint = image_get_fingerprint(source)
    plan = Plan(name)
    image = image_get(api, fingerprint)
    if image:
        _plan_image_settings(api, plan, image, public, auto_update)
        have = {a.get("name") for a in image.metadata.get("aliases") or []}
    else:
        with open(source, "rb") as fh:
            data = fh.read()
        headers = {"Content-Type": "application/octet-stream"}
        if public:
            headers["X-LXD-public"] = "1"
        plan.add("image", None, fingerprint)
        plan.writes.append(Write("POST", "images", data=data, headers=headers,
                                 keys=("image",)))
        if auto_update:
            plan.add("auto_update", False, True)
            plan.writes.append(Write("PATCH", api.path("images", fingerprint),
                                     {"auto_update": True}, keys=("auto_update",)))
        have = set()
    _plan_aliases(api, plan, [a for a in names if a not in have], fingerprint)
    return plan


def _plan_image_settings(api, plan, image, public, auto_update):
    meta, patch = image.metadata, {}
    for key, want in (("public", public), ("auto_update", auto_update)):
        if bool(meta.get(key)) != want:
            plan.add(key, bool(meta.get(key)), want)
            patch[key] = want
    if patch:
        plan.writes.append(Write("PATCH", api.path("images", meta["fingerprint"]), patch,
                                 etag=image.etag, keys=tuple(patch)))


def _plan_aliases(api, plan, names, fingerprint):
    """Point each alias in ``names`` at ``fingerprint`` (a string, or a callable given
    the previous write's result for an image whose fingerprint is known only then)."""
    old, new = {}, {}
    for alias in names:
        current = image_alias_get(api, alias)
        if current:
            # PUT (target and description), not PATCH: LXD 5.0.2 hangs on an alias PATCH.
            old[alias] = current.metadata.get("target")
            kept = current.metadata.get("description") or ""
            body = (lambda prev, f=fingerprint, d=kept: {"target": f(prev), "description": d}
                    ) if callable(fingerprint) else {"target": fingerprint, "description": kept}
            plan.writes.append(Write("PUT", api.path("images", "aliases", alias), body,
                                     etag=current.etag, keys=("aliases",)))
        else:
            old[alias] = None
            body = (lambda prev, a=alias, f=fingerprint: {"name": a, "target": f(prev)}) \
                if callable(fingerprint) else {"name": alias, "target": fingerprint}
            plan.writes.append(Write("POST", "images/aliases", body, keys=("aliases",)))
        new[alias] = fingerprint if isinstance(fingerprint, str) else "(the pulled image)"
    if new:
        plan.changes["aliases"] = {"old": old, "new": new}


def _plan_image_pull(api, name, source, public, names, auto_update):
    plan = Plan(name)
    alias = image_alias_get(api, name)
    image = image_get(api, alias.metadata["target"]) if alias else False
    if image and pulled_from(image.metadata, source):
        _plan_image_settings(api, plan, image, public, auto_update)
        have = {a.get("name") for a in image.metadata.get("aliases") or []}
        _plan_aliases(api, plan, [a for a in names if a not in have],
                      image.metadata["fingerprint"])
        return plan
    table = image_alias_table(api)
    free = [a for a in names if a not in table]
    body = {"source": source, "public": public, "auto_update": auto_update,
            "aliases": [{"name": a} for a in free]}
    label = source_label(source)
    plan.add("image", None, label)
    plan.writes.append(Write("POST", "images", body, keys=("image",)))
    if free:
        plan.changes["aliases"] = {"old": {a: None for a in free},
                                   "new": {a: label for a in free}}
    pulled = {}

    def fingerprint_of(previous):
        # The first alias write follows the pull: its result names the fingerprint.
        if "fingerprint" not in pulled:
            pulled["fingerprint"] = ((previous.metadata or {}).get("metadata") or {}).get(
                "fingerprint")
        return pulled["fingerprint"]

    moved = [a for a in names if a in table]
    if moved:
        created = plan.changes.pop("aliases", {"old": {}, "new": {}})
        _plan_aliases(api, plan, moved, fingerprint_of)  # writes right after the pull
        created["old"].update(plan.changes["aliases"]["old"])
        created["new"].update({a: label for a in moved})
        plan.changes["aliases"] = created
    return plan


def plan_image_absent(api, name):
    """The :class:`Plan` that deletes the image named by alias or fingerprint (prefix)."""
    name = check_name(name, "name")
    alias = image_alias_get(api, name)
    image = image_get(api, alias.metadata["target"] if alias else name)
    plan = Plan(name)
    if not image:
        return plan
    meta = image.metadata
    plan.add("image", {"fingerprint": meta["fingerprint"],
                       "aliases": sorted(a.get("name") for a in meta.get("aliases") or [])},
             None)
    plan.writes.append(Write("DELETE", api.path("images", meta["fingerprint"]),
                             keys=("image",)))
    return plan


def plan_image_alias_present(api, name, target, description=None):
    """The :class:`Plan` that points alias ``name`` at ``target`` (a fingerprint, a unique
    prefix of one, or another alias); ValueError when no such image exists."""
    name = check_name(name, "name")
    target = check_name(target, "target")
    check_optional_str(description, "description")
    image = image_resolve(api, target)
    if not image:
        raise ValueError("image {!r} does not exist on {}".format(target,
                                                                  api.display_endpoint))
    return plan_image_alias(api, name, image.metadata["fingerprint"], description)


def plan_image_alias_absent(api, name):
    """The :class:`Plan` that deletes image alias ``name`` (never the image)."""
    name = check_name(name, "name")
    alias = image_alias_get(api, name)
    plan = Plan(name)
    if alias:
        plan.add("alias", {"target": alias.metadata.get("target"),
                           "description": alias.metadata.get("description") or ""}, None)
        plan.writes.append(Write("DELETE", api.path("images", "aliases", name),
                                 keys=("alias",)))
    return plan


# ---------------------------------------------------------------- connection settings

CONNECTION_KEYS = ("endpoint", "cert", "key", "verify", "server_cert", "timeout",
                   "wait_timeout", "project")


def resolve_connection(kwargs, config_get=None):
    """The connection settings for one call, with their precedence written down once.

    keyword argument > ``remote=NAME`` (looked up under ``lxdapi:remotes:NAME``) >
    ``config_get('lxdapi:<key>')`` (in Salt: minion config, grains, pillar) > the
    built-in default (the local unix socket). ``config_get(key, default)`` is any
    lookup callable (Salt's ``config.get``); None means no configuration.
    Raises ValueError for an unknown remote or an unknown setting.
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
            raise ValueError("unknown remote {!r}; configured remotes: {}".format(
                remote, ", ".join(sorted(remotes)) or "none (set lxdapi:remotes)"))
        entry = remotes[remote] or {}
        unknown = set(entry) - set(CONNECTION_KEYS)
        if unknown:
            raise ValueError("remote {!r} has unknown settings: {}".format(
                remote, ", ".join(sorted(unknown))))
        settings = {k: v for k, v in settings.items() if k == "project"}
        settings.update(entry)
    for key in CONNECTION_KEYS:
        if kwargs.get(key) is not None:
            settings[key] = kwargs[key]
    return settings


def cached_api(settings, cache, debug=False):
    """One :class:`API` per distinct connection ``settings``, kept in ``cache`` (a dict)."""
    cache_key = "lxdapi.api." + json.dumps(settings, sort_keys=True, default=str)
    api = cache.get(cache_key)
    if api is None:
        api = API.factory(settings.get("endpoint"), debug=debug,
                          **{k: v for k, v in settings.items() if k != "endpoint"})
        cache[cache_key] = api
    return api


# ---- execution helpers (issue 3) ----
# Plain functions behind the execution module's imperative calls: server information and
# operations, instance lists, actions, config keys, exec, files and snapshots, image and
# alias look-ups. Each takes an API first. Bad input raises ValueError (naming the
# argument); what the server refuses raises the APIException subclass, with a message that
# names the instance, file or image concerned.

INSTANCE_TYPES = ("container", "virtual-machine")
INSTANCE_ACTIONS = ("start", "stop", "restart", "freeze", "unfreeze")
SERVER_SUMMARY_KEYS = (
    "server_name", "server_version", "server_clustered", "server_pid", "project",
    "kernel", "kernel_version", "kernel_architecture", "architectures", "os_name",
    "os_version", "driver", "driver_version", "storage", "storage_version", "firewall",
)
OPERATION_RUNNING_CODES = (103, 105, 106)  # Running, Pending, Cancelling


def reword(exc, text):
    """Give an :class:`APIException` a clearer ``error`` text (keeps its class); return it."""
    exc.error = text
    exc.args = ("{} {} {}".format(exc.method or "", exc.url or "", text).strip(),)
    return exc


def name_from_url(url):
    """The last part of an API URL, unquoted: ``/1.0/instances/web%201?project=p`` -> ``web 1``."""
    path = str(url).split("?", 1)[0].rstrip("/")
    return urllib.parse.unquote(path.rsplit("/", 1)[-1])


def check_recursion(recursion):
    """``recursion`` as an int 0, 1 or 2; ValueError otherwise."""
    try:
        value = int(recursion or 0)
    except (TypeError, ValueError):
        value = -1
    if isinstance(recursion, bool) or value not in (0, 1, 2):
        raise ValueError("recursion must be 0, 1 or 2, not {!r}".format(recursion))
    return value


def check_seconds(value, what="timeout"):
    """A non-negative number of seconds (int); ValueError naming ``what`` otherwise."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = -1
    if isinstance(value, bool) or seconds < 0:
        raise ValueError("{} must be a number of seconds (>= 0), not {!r}".format(what, value))
    return seconds


def check_id(value, what):
    """A numeric uid/gid (int >= 0); ValueError naming ``what`` otherwise."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        number = -1
    if isinstance(value, bool) or number < 0:
        raise ValueError("{} must be a numeric id (0, 1000, ...), not {!r}".format(what, value))
    return number


def check_absolute_path(path, what="path"):
    """``path`` as a string; ValueError unless it is absolute."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("{} must be an absolute path, not {!r}".format(what, path))
    return path


def check_name(value, what):
    """A non-empty name as a string; ValueError naming ``what`` otherwise."""
    if value is None or isinstance(value, (dict, list, bool)) or str(value) == "":
        raise ValueError("{} must be a non-empty name, not {!r}".format(what, value))
    return str(value)


def get_unvalidated(api, url, **kwargs):
    """GET ``url``; the :class:`APIResult` even when its metadata holds failed operations.

    :meth:`APIResult.validate` raises for any nested ``status_code`` >= 400: right for
    the result of a write, wrong for reading a finished operation or a list of them.
    HTTP errors (404 ...) still raise.
    """
    try:
        return api.get(url, **kwargs)
    except APIException as exc:
        result = exc.result
        if (
            result is None
            or result.response.status_code >= 400
            or (isinstance(result.data, dict) and result.data.get("type") == "error")
        ):
            raise
        return result


def list_collection(api, url, recursion=0):
    """GET a collection: the names (``recursion=0``) or LXD's objects (1 or 2)."""
    recursion = check_recursion(recursion)
    params = {"recursion": recursion} if recursion else None
    items = api.get(url, params=params).metadata or []
    return items if recursion else [name_from_url(item) for item in items]


# -- server and operations


def server_info(api):
    """A summary of ``GET /1.0``: version, API version and extensions, auth, environment."""
    meta = api.get("").metadata or {}
    env = meta.get("environment") or {}
    return {
        "version": env.get("server_version"),
        "api_version": meta.get("api_version"),
        "api_status": meta.get("api_status"),
        "api_extensions": meta.get("api_extensions") or [],
        "auth": meta.get("auth"),
        "auth_methods": meta.get("auth_methods") or [],
        "environment": {k: env[k] for k in SERVER_SUMMARY_KEYS if k in env},
    }


def operation_path(api, operation):
    """Relative URL of an operation given its id or its URL (``/1.0/operations/<id>``)."""
    op_id = name_from_url(check_name(operation, "operation"))
    if not op_id:
        raise ValueError("operation must be an id or /1.0/operations/<id>, not {!r}".format(
            operation))
    return api.path("operations", op_id)


def operation_list(api, recursion=0):
    """Operations by status: ``{"running": [ids], "success": [...], "failure": [...]}``.

    With ``recursion=1`` the lists hold the operations themselves (a failed one too).
    """
    recursion = check_recursion(recursion)
    params = {"recursion": 1} if recursion else None
    meta = get_unvalidated(api, "operations", params=params).metadata or {}
    if recursion:
        return meta
    return {status: [name_from_url(url) for url in urls] for status, urls in meta.items()}


def operation_get(api, operation):
    """An operation's metadata (a failed one too: ``status`` Failure, ``err``), or False."""
    try:
        return get_unvalidated(api, operation_path(api, operation)).metadata
    except APINotFoundException:
        return False


def operation_wait(api, operation, timeout=None):
    """Wait for an operation to end (LXD's long-poll); its metadata, or False if unknown.

    Raises :class:`APIException` with LXD's ``err`` when it failed, and
    :class:`APITimeout` when it still runs after ``timeout`` seconds (it is left running).
    """
    url = operation_path(api, operation)
    timeout = api.wait_timeout if timeout is None else check_seconds(timeout)
    try:
        result = api.get(url + "/wait", params={"timeout": int(timeout)},
                         timeout=timeout + api.timeout)
    except APINotFoundException:
        return False
    meta = result.metadata or {}
    if meta.get("status_code") in OPERATION_RUNNING_CODES:
        raise APITimeout(result, error="operation {} still running after {}s; it was left "
                         "running".format(name_from_url(url), timeout))
    return meta


# -- instances


def instance_list(api, recursion=0):
    """Instance names, or (``recursion`` 1 or 2) LXD's instance objects."""
    return list_collection(api, api.instances_collection, recursion)


def instance_state(api, name):
    """``GET .../state``'s metadata (status, processes, memory, network...), or False."""
    result = get_or_none(api, api.instance_path(check_name(name, "name"), "state"))
    return result.metadata if result else False


def image_resolve(api, image):
    """The :class:`APIResult` of an image named by alias (tried first) or fingerprint
    (or a unique prefix of one), or False."""
    image = check_name(image, "image")
    alias = image_alias_get(api, image)
    if alias:
        return image_get(api, alias.metadata["target"])
    return image_get(api, image)


def instance_source(api, source):
    """The ``source`` of a new instance.

    None: no rootfs (``{"type": "none"}``); a dict: LXD's source as it is (a remote
    image, a copy...); a string: a local image alias, else a fingerprint, checked on the
    server (:class:`APINotFoundException` naming it when neither exists).
    """
    if source is None or source == "":
        return {"type": "none"}
    if isinstance(source, dict):
        if not source.get("type"):
            raise ValueError("source must have a 'type' (image, none, copy, migration)")
        return dict(source)
    source = check_name(source, "source")
    if image_alias_get(api, source):
        return {"type": "image", "alias": source}
    image = image_get(api, source)
    if image:
        return {"type": "image", "fingerprint": image.metadata["fingerprint"]}
    raise APINotFoundException(error="no image alias or fingerprint {!r} on {}".format(
        source, api.display_endpoint))


def instance_create(api, name, source=None, config=None, devices=None, profiles=None,
                    instance_type="container", ephemeral=False, description=None,
                    target=None):
    """Create an instance (waiting for it) and return its metadata.

    ``source`` is an image alias or fingerprint, LXD's source dict, or None (empty);
    ``instance_type`` is ``container`` or ``virtual-machine``; ``target`` a cluster
    member. Raises :class:`APIConflictException` when the name is taken.
    """
    name = validate_instance_name(check_name(name, "name"))
    if instance_type not in INSTANCE_TYPES:
        raise ValueError("unknown instance type {!r}; choose {}".format(
            instance_type, " or ".join(INSTANCE_TYPES)))
    if profiles is not None and not isinstance(profiles, (list, tuple)):
        raise ValueError("profiles must be a list of profile names, not {!r}".format(profiles))
    body = {
        "name": name,
        "type": instance_type,
        "source": instance_source(api, source),
        "config": lxd_config(config),
        "devices": lxd_devices(devices),
        "ephemeral": bool(ephemeral),
    }
    if profiles is not None:
        body["profiles"] = [str(p) for p in profiles]
    if description is not None:
        body["description"] = str(description)
    params = {"target": str(target)} if target else None
    try:
        api.post(api.instances_collection, json=body, params=params).wait()
    except APIConflictException as exc:
        raise reword(exc, "instance {!r} already exists".format(name)) from None
    return api.get(api.instance_path(name)).metadata


def instance_delete(api, name, force=False):
    """Delete an instance; True, or False when it does not exist.

    A running (or frozen) instance is refused with :class:`APIConflictException` unless
    ``force``, which kills it first (as ``lxc delete --force``).
    """
    container = container_get(api, check_name(name, "name"))
    if not container:
        return False
    status = container.metadata.get("status")
    if status != "Stopped":
        if not force:
            raise APIConflictException(
                method="DELETE", url=api.absolute_url(api.instance_path(name)),
                error="instance {!r} is {}; stop it first, or pass force=True to kill "
                      "it".format(name, status))
        Write("PUT", api.instance_path(name, "state"),
              {"action": "stop", "force": True, "timeout": -1}).send(api)
    Write("DELETE", api.instance_path(name)).send(api)
    return True


def instance_action(api, name, action, timeout=30, force=False):
    """Start, stop, restart, freeze or unfreeze an instance.

    Returns True when the status changed, False when it already was what ``action``
    leads to (start of a Running one...). ``stop`` is a clean shutdown that fails after
    ``timeout`` seconds unless ``force`` (a kill). ``start`` of a Frozen instance
    unfreezes it; ``stop`` of a Frozen one unfreezes then stops it. Freezing or
    unfreezing a Stopped instance, or restarting one, raises
    :class:`APIConflictException` naming its status.
    """
    name = check_name(name, "name")
    if action not in INSTANCE_ACTIONS:
        raise ValueError("unknown action {!r}; choose one of {}".format(
            action, ", ".join(INSTANCE_ACTIONS)))
    timeout = check_seconds(timeout)
    current = api.get(api.instance_path(name)).metadata.get("status")
    url = api.absolute_url(api.instance_path(name, "state"))
    refused = {
        ("restart", "Stopped"): "it is Stopped; start it instead",
        ("freeze", "Stopped"): "it is Stopped; start it first",
        ("unfreeze", "Stopped"): "it is Stopped, not Frozen",
    }.get((action, current))
    if refused or current not in STATUSES:
        raise APIConflictException(
            method="PUT", url=url, error="cannot {} instance {!r}: {}".format(
                action, name, refused or "it is " + str(current)))
    if action == "restart":
        body = {"action": "restart", "timeout": timeout, "force": bool(force)}
        Write("PUT", api.instance_path(name, "state"), body,
              wait_timeout=timeout + 30).send(api)
        return True
    status = {"start": "Running", "unfreeze": "Running", "stop": "Stopped",
              "freeze": "Frozen"}[action]
    return _status_plan(api, name, current, status, timeout, force).apply(api)


def instance_config_get(api, name, key=None, expanded=False):
    """An instance's ``config`` (``expanded_config`` with ``expanded``), or one key's
    value (None when unset); False when the instance does not exist."""
    container = container_get(api, check_name(name, "name"))
    if not container:
        return False
    config = container.metadata.get("expanded_config" if expanded else "config") or {}
    return dict(config) if key is None else config.get(str(key))


def plan_instance_config(api, name, config=None, unset=()):
    """The :class:`Plan` of one PATCH (with If-Match) that sets ``config`` keys and
    removes the ``unset`` ones; changes are ``{key: {old, new}}``, new None when removed.

    LXD 5.0 removes a key PATCHed to ``""``. Keys already as wanted are not written.
    """
    name = check_name(name, "name")
    want = lxd_config(config)
    unset = [str(k) for k in unset]
    both = set(want) & set(unset)
    if both:
        raise ValueError("keys both set and unset: {}".format(", ".join(sorted(both))))
    container = api.get(api.instance_path(name))
    want.update({key: "" for key in unset})
    # plan_update: the one PATCH path (If-Match, and the description LXD 5.0 would drop)
    plan = plan_update(api.instance_path(name), container.metadata, container.etag,
                       {"config": want})
    plan.name = name
    config = plan.changes.pop("config", {"old": {}, "new": {}})
    for key, new in config["new"].items():
        plan.add(key, config["old"][key], new or None)
    return plan


# -- exec


def exec_body(command, environment=None, cwd=None, user=None, group=None):
    """The body of ``POST .../exec`` in record-output mode (no websockets, no shell).

    ``command`` must be an argv list: a string is refused, since nothing runs through a
    shell (use ``["sh", "-c", "..."]`` for one).
    """
    if isinstance(command, (str, bytes)):
        raise ValueError(
            "command must be an argv list such as ['ls', '-l'], not the string {!r}: "
            "nothing runs through a shell (use ['sh', '-c', '...'] for one)".format(command))
    if not isinstance(command, (list, tuple)) or not command:
        raise ValueError("command must be a non-empty argv list, not {!r}".format(command))
    for arg in command:
        if isinstance(arg, (dict, list, tuple)) or arg is None:
            raise ValueError("each argument of command must be a string, not {!r}".format(arg))
    body = {
        "command": [str(arg) for arg in command],
        "record-output": True,
        "wait-for-websocket": False,
        "interactive": False,
    }
    if environment is not None:
        body["environment"] = lxd_config(environment, "env")
    if cwd is not None:
        body["cwd"] = check_absolute_path(cwd, "cwd")
    if user is not None:
        body["user"] = check_id(user, "user")
    if group is not None:
        body["group"] = check_id(group, "group")
    return body


def read_exec_log(api, url):
    """Read one recorded exec output (bytes) and delete it from the server."""
    if not url:
        return b""
    content = api.get(url).response.content
    try:
        api.delete(url)
    except APIException as exc:  # the output was read; a leftover log is harmless
        log.debug("lxdapi: could not delete exec log %s: %s", url, exc)
    return content


def instance_exec(api, name, command, environment=None, cwd=None, user=None, group=None,
                  timeout=None):
    """Run ``command`` (an argv list) in a running instance and wait for it.

    Returns ``{"retcode": int, "stdout": bytes, "stderr": bytes}``; the recorded output
    logs are deleted from the server once read. A command that cannot start (not found)
    raises :class:`APIException` naming it.
    """
    name = check_name(name, "name")
    body = exec_body(command, environment, cwd, user, group)
    try:
        op = api.post(api.instance_path(name, "exec"), json=body).wait(timeout)
    except APITimeout:
        raise
    except APIException as exc:
        raise reword(exc, "exec {} in {}: {}".format(body["command"], name, exc.error)) from None
    meta = (op.metadata or {}).get("metadata") or {}
    output = meta.get("output") or {}
    return {
        "retcode": meta.get("return"),
        "stdout": read_exec_log(api, output.get("1")),
        "stderr": read_exec_log(api, output.get("2")),
    }


# -- files


def normalize_mode(mode):
    """A file mode as LXD's ``X-LXD-mode`` header wants it: four octal digits.

    Accepts ``"0644"``, ``"644"``, ``"0o644"`` and ``644`` (what Salt's YAML makes of an
    unquoted 0644); ValueError otherwise.
    """
    text = str(mode).strip().lower()
    if text.startswith("0o"):
        text = text[2:]
    if isinstance(mode, bool) or not text or len(text) > 4 or set(text) - set("01234567"):
        raise ValueError("mode must be octal digits such as '0644', not {!r}".format(mode))
    return text.zfill(4)


def file_headers(mode=None, uid=None, gid=None, file_type="file"):
    """The ``X-LXD-*`` headers of a file write (overwrite, given mode/uid/gid)."""
    headers = {"X-LXD-type": file_type, "X-LXD-write": "overwrite"}
    if mode is not None:
        headers["X-LXD-mode"] = normalize_mode(mode)
    if uid is not None:
        headers["X-LXD-uid"] = str(check_id(uid, "uid"))
    if gid is not None:
        headers["X-LXD-gid"] = str(check_id(gid, "gid"))
    return headers


def file_info(result, path):
    """The ``X-LXD-*`` headers of a file read as a dict (type, mode, uid, gid)."""
    headers = result.response.headers
    info = {"path": path, "type": headers.get("X-LXD-type"), "mode": headers.get("X-LXD-mode")}
    for key in ("uid", "gid"):
        value = headers.get("X-LXD-" + key)
        info[key] = int(value) if value is not None and value.isdigit() else value
    return info


def instance_file_get(api, name, path):
    """``(info, content)`` of a file in an instance, or False when it (or the instance)
    does not exist. ``content`` is bytes; for a directory it is the list of entries."""
    name = check_name(name, "name")
    path = check_absolute_path(path)
    try:
        result = api.get(api.instance_path(name, "files"), params={"path": path})
    except APINotFoundException:
        return False
    info = file_info(result, path)
    if info["type"] == "directory":
        return info, list(result.metadata or [])
    return info, result.response.content


def instance_file_put(api, name, path, data, mode=None, uid=None, gid=None):
    """Write ``data`` (bytes) to ``path`` in an instance, with ``mode``/``uid``/``gid``.

    Reads the file first: returns False (and writes nothing) when it already has this
    content and the given mode, uid and gid; True when it wrote. LXD keeps an existing
    file's mode and owner when it overwrites it, so a file whose mode, uid or gid must
    change is deleted and written again (not atomic), with the attributes not given kept.
    Raises
    :class:`APINotFoundException` naming the instance or the missing parent folder.
    """
    name = check_name(name, "name")
    path = check_absolute_path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    headers = file_headers(mode, uid, gid)
    url = api.instance_path(name, "files")
    current = instance_file_get(api, name, path)
    if current and current[0]["type"] == "directory":
        raise ValueError("{} in {} is a directory".format(path, name))
    if current:
        info = current[0]
        same_attributes = (
            (mode is None or info["mode"] == headers["X-LXD-mode"])
            and (uid is None or str(info["uid"]) == headers["X-LXD-uid"])
            and (gid is None or str(info["gid"]) == headers["X-LXD-gid"])
        )
        if same_attributes and current[1] == data:
            return False
        if not same_attributes:
            # LXD keeps an existing file's mode and owner on overwrite: replace the file,
            # keeping the attributes that were not given.
            headers = file_headers(info["mode"] if mode is None else mode,
                                   info["uid"] if uid is None else uid,
                                   info["gid"] if gid is None else gid)
            api.delete(url, params={"path": path})
    try:
        api.post(url, params={"path": path}, data=data, headers=headers)
    except APINotFoundException as exc:
        if not container_get(api, name):
            raise reword(exc, "instance {!r} does not exist".format(name)) from None
        raise reword(exc, "cannot write {} in {}: its parent folder does not exist".format(
            path, name)) from None
    return True


# -- snapshots


def snapshot_path(api, name, snapshot=None):
    """Relative URL of an instance's snapshots, or of one snapshot."""
    parts = ["snapshots"] if snapshot is None else ["snapshots", snapshot]
    return api.instance_path(name, *parts)


def snapshot_list(api, name, recursion=0):
    """An instance's snapshot names (or objects with ``recursion``), or False if it is
    absent."""
    name = check_name(name, "name")
    try:
        return list_collection(api, snapshot_path(api, name), recursion)
    except APINotFoundException:
        return False


def snapshot_create(api, name, snapshot=None, stateful=False):
    """Snapshot an instance; return the snapshot's name (LXD picks ``snapN`` when None).

    Raises :class:`APIConflictException` when the snapshot exists.
    """
    name = check_name(name, "name")
    before = set(list_collection(api, snapshot_path(api, name)))
    body = {"stateful": bool(stateful)}
    if snapshot is not None:
        snapshot = check_name(snapshot, "snapshot")
        if "/" in snapshot:
            raise ValueError("snapshot names cannot contain '/': {!r}".format(snapshot))
        if snapshot in before:
            raise APIConflictException(
                method="POST", url=api.absolute_url(snapshot_path(api, name)),
                error="snapshot {!r} of {!r} already exists".format(snapshot, name))
        body["name"] = snapshot
    Write("POST", snapshot_path(api, name), body).send(api)
    if snapshot is None:
        created = set(list_collection(api, snapshot_path(api, name))) - before
        snapshot = sorted(created)[0] if created else None
    return snapshot


def snapshot_restore(api, name, snapshot, stateful=False):
    """Restore an instance to one of its snapshots (the instance's config and rootfs)."""
    name = check_name(name, "name")
    snapshot = check_name(snapshot, "snapshot")
    if not get_or_none(api, snapshot_path(api, name, snapshot)):
        raise APINotFoundException(
            method="PUT", url=api.absolute_url(api.instance_path(name)),
            error="instance {!r} has no snapshot {!r}".format(name, snapshot))
    Write("PUT", api.instance_path(name),
          {"restore": snapshot, "stateful": bool(stateful)}).send(api)
    return True


def snapshot_delete(api, name, snapshot):
    """Delete a snapshot; True, or False when it (or the instance) does not exist."""
    name = check_name(name, "name")
    snapshot = check_name(snapshot, "snapshot")
    try:
        Write("DELETE", snapshot_path(api, name, snapshot)).send(api)
    except APINotFoundException:
        return False
    return True


# -- images and aliases


def image_list(api, recursion=0):
    """Image fingerprints, or (``recursion``) LXD's image objects."""
    return list_collection(api, "images", recursion)


def image_alias_list(api, recursion=0):
    """Image alias names, or (``recursion``) the aliases (name, target, description)."""
    return list_collection(api, "images/aliases", recursion)


def image_import(api, path, alias=None, public=False):
    """Upload the unified image tarball at ``path`` unless the server has it, and point
    ``alias`` at it (moving the alias if it points elsewhere); return the fingerprint."""
    if not isinstance(path, str) or not os.path.isfile(path):
        raise ValueError("image file {!r} does not exist".format(path))
    fingerprint = image_get_fingerprint(path)
    image_present(api, path, fingerprint, public=bool(public))
    if alias:
        image_alias_present(api, check_name(alias, "alias"), fingerprint)
    return fingerprint


def image_delete(api, image):
    """Delete an image named by alias or fingerprint; True, or False when absent."""
    found = image_resolve(api, image)
    if not found:
        return False
    Write("DELETE", api.path("images", found.metadata["fingerprint"])).send(api)
    return True


def image_alias_add(api, alias, image, description=None, move=False):
    """Point ``alias`` at ``image`` (alias or fingerprint); True if it wrote.

    An alias already pointing at another image raises :class:`APIConflictException`
    unless ``move``; a missing image raises :class:`APINotFoundException`.
    """
    alias = check_name(alias, "alias")
    found = image_resolve(api, image)
    if not found:
        raise APINotFoundException(error="no image alias or fingerprint {!r} on {}".format(
            image, api.display_endpoint))
    fingerprint = found.metadata["fingerprint"]
    current = image_alias_get(api, alias)
    if current and current.metadata.get("target") != fingerprint and not move:
        raise APIConflictException(
            method="POST", url=api.absolute_url("images/aliases"),
            error="alias {!r} already points at {}; pass move=True to move it".format(
                alias, current.metadata.get("target")))
    return image_alias_present(api, alias, fingerprint, description)


def image_alias_delete(api, alias):
    """Delete an image alias (not the image); True, or False when absent."""
    try:
        api.delete(api.path("images", "aliases", check_name(alias, "alias")))
    except APINotFoundException:
        return False
    return True


# ---- resources (issue 5) ----
#
# Profiles, networks, storage pools, storage volumes and projects differ only in their URL
# and their fields, so one table (RESOURCE_KINDS) and one reconcile serve them all:
# GET -> POST when absent, PATCH with If-Match when the declared fields drifted (through
# plan_update), nothing when equal. Fields that LXD only takes at creation (a pool's
# driver, a network's type, a volume's content type) are reported in ``plan.notes`` when
# they differ, never acted on. Snapshots and files inside instances follow.


class ResourceInUse(APIException):
    """A profile, network, pool, volume or project still in use was not deleted.

    ``kind``, ``name`` and ``used_by`` (the URLs of what uses it, as LXD lists them).
    """

    def __init__(self, kind, name, used_by):
        self.kind = kind
        self.name = name
        self.used_by = list(used_by)
        super().__init__(error="{} {!r} is in use by {}; it was not deleted".format(
            resource_kind(kind)["label"], name, ", ".join(self.used_by)))


#: The kinds the generic reconcile serves. ``collection``: URL template of the collection
#: (``{param}`` parts come from the url_params, each quoted); ``fields``: what is compared
#: and written; ``create_only``: top-level fields LXD takes only at creation;
#: ``create_only_config``: config keys LXD refuses to change later; ``defaults``: url
#: parameter defaults; ``full_config``: send the whole config on update (LXD 5.0 replaces
#: a project's config with what a PATCH holds, dropping its ``features.*`` keys);
#: ``own_used_by``: ``used_by`` entries that do not count as "in use".
RESOURCE_KINDS = {
    "profile": {
        "label": "profile",
        "collection": "profiles",
        "fields": ("config", "devices", "description"),
        "create_only": (),
    },
    "network": {
        "label": "network",
        "collection": "networks",
        "fields": ("config", "description"),
        "create_only": ("type",),
    },
    "storage_pool": {
        "label": "storage pool",
        "collection": "storage-pools",
        "fields": ("config", "description"),
        "create_only": ("driver",),
        "create_only_config": ("source",),
    },
    "storage_volume": {
        "label": "storage volume",
        "collection": "storage-pools/{pool}/volumes/{type}",
        "fields": ("config", "description"),
        "create_only": ("content_type",),
        "defaults": {"type": "custom"},
    },
    "project": {
        "label": "project",
        "collection": "projects",
        "fields": ("config", "description"),
        "create_only": (),
        "full_config": True,
        "own_used_by": ("/1.0/profiles/default?project={name}",),
    },
}


def resource_kind(kind):
    """The :data:`RESOURCE_KINDS` entry of ``kind``; ValueError naming the kinds otherwise."""
    try:
        return RESOURCE_KINDS[kind]
    except (KeyError, TypeError):
        raise ValueError("unknown resource kind {!r}; choose one of {}".format(
            kind, ", ".join(sorted(RESOURCE_KINDS)))) from None


def _check_name(name, what):
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a {} name must be a non-empty string, not {!r}".format(what, name))
    return name


def resource_collection(api, kind, **url_params):
    """Relative URL of a kind's collection (``storage-pools/POOL/volumes/custom``)."""
    spec = resource_kind(kind)
    params = dict(spec.get("defaults", {}))
    params.update({k: v for k, v in url_params.items() if v is not None})
    wanted = [s[1:-1] for s in spec["collection"].split("/") if s.startswith("{")]
    unexpected = set(url_params) - set(wanted)
    if unexpected:
        raise ValueError("a {} takes no {} argument".format(
            spec["label"], ", ".join(sorted(unexpected))))
    parts = []
    for segment in spec["collection"].split("/"):
        if segment.startswith("{"):
            key = segment[1:-1]
            value = params.get(key)
            if not isinstance(value, str) or not value:
                raise ValueError("a {} needs {}= (a non-empty string)".format(
                    spec["label"], key))
            parts.append(value)
        else:
            parts.append(segment)
    return api.path(*parts)


def resource_url(api, kind, name, **url_params):
    """Relative URL of one resource of ``kind`` (its name quoted)."""
    _check_name(name, resource_kind(kind)["label"])
    return resource_collection(api, kind, **url_params) + "/" + api.path(name)


def _resource_declared(spec, declared):
    """The declared fields, validated and as LXD stores them (None means: not managed)."""
    declared = {k: v for k, v in (declared or {}).items() if v is not None}
    allowed = set(spec["fields"]) | set(spec["create_only"])
    unknown = set(declared) - allowed
    if unknown:
        raise ValueError("a {} has no field {}; it takes {}".format(
            spec["label"], ", ".join(sorted(unknown)), ", ".join(sorted(allowed))))
    want = {}
    for key, value in declared.items():
        if key == "config":
            want[key] = lxd_config(value)
        elif key == "devices":
            want[key] = lxd_devices(value)
        elif isinstance(value, (dict, list, bool)):
            raise ValueError("{} must be a string, not {}".format(key, type(value).__name__))
        else:
            want[key] = str(value)
    return want


def _plan_create(api, kind, name, want, url_params):
    plan = Plan(name)
    body = dict(want)
    body["name"] = name
    plan.add(kind, None, name)
    for key, value in want.items():
        plan.add(key, None, value)
    plan.writes.append(Write("POST", resource_collection(api, kind, **url_params), body))
    return plan


def _full_config_body(current, patch):
    """A PUT body that keeps every config key LXD holds, with the patch's changes."""
    config = dict(current.get("config") or {})
    for key, value in (patch.get("config") or {}).items():
        if value == "":
            config.pop(key, None)
        else:
            config[key] = value
    return {
        "config": config,
        "description": patch.get("description", current.get("description") or ""),
    }


def _plan_converge(api, kind, name, want, current, url, purge_config, purge_devices):
    """The plan that brings an existing resource (``current``: its APIResult) to ``want``."""
    spec = resource_kind(kind)
    meta = current.metadata or {}
    plan = Plan(name)
    if kind == "network" and meta.get("managed") is False:
        raise ValueError(
            "network {!r} is not managed by LXD (a {} interface of the host); "
            "it cannot be configured".format(name, meta.get("type")))
    for key in spec["create_only"]:
        if key in want and str(meta.get(key) or "") != want[key]:
            plan.notes.append(
                "The {} {!r} has {} {!r}, not the declared {!r}: it can only be set at "
                "creation, so it was left as it is.".format(
                    spec["label"], name, key, meta.get(key), want[key]))
    have_config = meta.get("config") or {}
    if "config" in want:
        config = dict(want["config"])
        for key in spec.get("create_only_config", ()):
            if key in config and config[key] != have_config.get(key):
                plan.notes.append(
                    "The {} {!r} has {} {!r}, not the declared {!r}: it can only be set "
                    "at creation, so it was left as it is.".format(
                        spec["label"], name, key, have_config.get(key), config[key]))
            if key in have_config:
                config[key] = have_config[key]  # never changed, never purged
            else:
                config.pop(key, None)
        want = dict(want, config=config)
    managed = {k: v for k, v in want.items() if k in spec["fields"]}
    update = plan_update(url, meta, current.etag, managed, purge_config, purge_devices,
                         writable=spec["fields"])
    if update.writes and spec.get("full_config"):
        update.writes = [Write("PUT", url, _full_config_body(meta, update.writes[0].body),
                               etag=current.etag)]
    return plan.extend(update)


def plan_resource_present(api, kind, name, declared, purge_config=False, purge_devices=False,
                          **url_params):
    """The :class:`Plan` that creates or converges one profile, network, pool, volume...

    ``kind`` is a key of :data:`RESOURCE_KINDS`; ``declared`` holds the managed fields
    (``config``, ``devices`` for profiles, ``description``) and the create-only ones
    (``type`` of a network, ``driver`` of a pool, ``content_type`` of a volume); a field
    that is None or missing is not managed. Declared config keys are compared as LXD
    stores them (strings); keys not declared are left alone unless ``purge_config``
    (devices: ``purge_devices``). ``url_params``: ``pool=`` and ``type=`` (default
    ``custom``) for storage volumes.

    Absent: one POST. Drifted: one PATCH with If-Match (a PUT of the whole config for a
    project). Create-only fields that differ: a note, no write.
    Raises ValueError for bad input.
    """
    spec = resource_kind(kind)
    want = _resource_declared(spec, declared)
    url = resource_url(api, kind, name, **url_params)
    current = get_or_none(api, url)
    if current is None:
        check_create_only_values(api, kind, want)
        return check_device_pools(api, kind, _plan_create(api, kind, name, want, url_params))
    return check_device_pools(api, kind, _plan_converge(
        api, kind, name, want, current, url, purge_config, purge_devices))


def resource_in_use(kind, name, current):
    """What uses a resource (``current``: its GET metadata): its ``used_by`` URLs.

    A project's own ``default`` profile does not count.
    """
    spec = resource_kind(kind)
    own = {t.format(name=name) for t in spec.get("own_used_by", ())}
    return [u for u in (current.get("used_by") or []) if u not in own]


def plan_resource_absent(api, kind, name, **url_params):
    """The :class:`Plan` that deletes one resource of ``kind`` if it exists.

    Raises :class:`ResourceInUse` (listing its ``used_by``) rather than deleting a
    resource that instances, profiles or volumes still use.
    """
    url = resource_url(api, kind, name, **url_params)
    plan = Plan(name)
    current = get_or_none(api, url)
    if current is None:
        return plan
    used_by = resource_in_use(kind, name, current.metadata or {})
    if used_by:
        raise ResourceInUse(kind, name, used_by)
    plan.add(kind, name, None)
    plan.writes.append(Write("DELETE", url))
    return plan


def resource_get(api, kind, name, **url_params):
    """The :class:`APIResult` of one resource of ``kind``, or False when it is absent."""
    return get_or_none(api, resource_url(api, kind, name, **url_params)) or False


def _name_from_url(url):
    path = urllib.parse.urlsplit(url).path
    return urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1])


def resource_list(api, kind, recursion=False, **url_params):
    """The names of every resource of ``kind`` (with ``recursion``: their full objects)."""
    url = resource_collection(api, kind, **url_params)
    volume_type = None
    if kind == "storage_volume":
        volume_type = url_params.get("type") or "custom"
    if recursion:
        items = api.get(url, params={"recursion": 1}).metadata or []
        return [i for i in items if volume_type is None or i.get("type") == volume_type]
    urls = api.get(url).metadata or []
    if volume_type is not None:
        urls = [u for u in urls
                if urllib.parse.urlsplit(u).path.rstrip("/").split("/")[-2] == volume_type]
    return [_name_from_url(u) for u in urls]


def resource_create(api, kind, name, declared, **url_params):
    """Create one resource of ``kind``; return its metadata as LXD then holds it.

    Raises :class:`APIConflictException` when it exists already (LXD 5.0 itself answers
    a duplicate with 400, 409 or 500 depending on the kind).
    """
    spec = resource_kind(kind)
    want = _resource_declared(spec, declared)
    url = resource_url(api, kind, name, **url_params)
    if get_or_none(api, url) is not None:
        raise APIConflictException(error="{} {!r} already exists".format(spec["label"], name))
    check_create_only_values(api, kind, want)
    check_device_pools(api, kind, _plan_create(api, kind, name, want, url_params)).apply(api)
    return api.get(url).metadata


def resource_update(api, kind, name, declared, purge_config=False, purge_devices=False,
                    **url_params):
    """Bring an existing resource to ``declared``; return the applied :class:`Plan`.

    Raises :class:`APINotFoundException` when it does not exist.
    """
    spec = resource_kind(kind)
    want = _resource_declared(spec, declared)
    url = resource_url(api, kind, name, **url_params)
    current = get_or_none(api, url)
    if current is None:
        raise APINotFoundException(error="{} {!r} does not exist".format(spec["label"], name))
    plan = _plan_converge(api, kind, name, want, current, url, purge_config, purge_devices)
    check_device_pools(api, kind, plan).apply(api)
    return plan


def resource_delete(api, kind, name, **url_params):
    """Delete one resource of ``kind``; True if deleted, False if it was absent.

    Raises :class:`ResourceInUse` when something still uses it.
    """
    return plan_resource_absent(api, kind, name, **url_params).apply(api)


# -- snapshots ------------------------------------------------------------------------


def _as_bool(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("{} must be true or false, not {!r}".format(what, value))


def _require_instance(api, instance):
    _check_name(instance, "instance")
    if get_or_none(api, api.instance_path(instance)) is None:
        raise APINotFoundException(error="instance {!r} does not exist".format(instance))


def plan_snapshot_present(api, instance, name, stateful=False):
    """The :class:`Plan` that takes snapshot ``name`` of ``instance`` unless it exists.

    A snapshot cannot change: an existing one that is not stateful while ``stateful`` is
    asked is reported in the notes. Raises :class:`APINotFoundException` when the
    instance does not exist.
    """
    _check_name(instance, "instance")
    _check_name(name, "snapshot")
    if "/" in name:
        raise ValueError("a snapshot name cannot contain '/': {!r}".format(name))
    stateful = _as_bool(stateful, "stateful")
    plan = Plan(name)
    current = get_or_none(api, api.instance_path(instance, "snapshots", name))
    if current is None:
        _require_instance(api, instance)
        plan.add("snapshot", None, name)
        plan.writes.append(Write("POST", api.instance_path(instance, "snapshots"),
                                 {"name": name, "stateful": stateful}))
        return plan
    if stateful and not (current.metadata or {}).get("stateful"):
        plan.notes.append(
            "Snapshot {!r} of {!r} exists and is not stateful; a snapshot cannot be "
            "changed, so it was left as it is.".format(name, instance))
    return plan


def plan_snapshot_absent(api, instance, name):
    """The :class:`Plan` that deletes snapshot ``name`` of ``instance`` if it exists."""
    _check_name(instance, "instance")
    _check_name(name, "snapshot")
    plan = Plan(name)
    url = api.instance_path(instance, "snapshots", name)
    if get_or_none(api, url) is None:
        return plan
    plan.add("snapshot", name, None)
    plan.writes.append(Write("DELETE", url))
    return plan


# -- files in instances ---------------------------------------------------------------


def file_mode(mode):
    """A file mode as LXD reports it: four octal digits (``"0644"``).

    ``mode`` is a string of octal digits (``"644"``, ``"0644"``, ``"0o644"``) or an int
    written with them (``644``: what Salt's YAML makes of an unquoted ``0644``). None
    stays None; anything else is a ValueError.
    """
    if mode is None:
        return None
    text = str(mode).strip().lower()
    if text.startswith("0o"):
        text = text[2:]
    text = text.lstrip("0") or "0"
    if isinstance(mode, bool) or not isinstance(mode, (int, str)) or len(text) > 4 \
            or set(text) - set("01234567"):
        raise ValueError("mode must be octal digits such as '0644', not {!r}".format(mode))
    return text.zfill(4)


def _owner_id(value, what):
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ValueError("{} must be a non-negative number, not {!r}".format(what, value))
    return int(str(value).strip())


def _check_file_path(path):
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("a file path must be absolute, not {!r}".format(path))
    return path


def instance_file_url(api, instance, path):
    """Relative URL of a file inside an instance (``instances/NAME/files?path=...``)."""
    return api.instance_path(instance, "files") + "?" + urllib.parse.urlencode(
        {"path": _check_file_path(path)})


def instance_file_read(api, instance, path):
    """A file inside an instance: ``(content, info)``, or None when there is none.

    ``content`` is bytes; ``info`` holds ``type`` (file, directory, symlink), ``mode``
    (``"0644"``), ``uid`` and ``gid`` (ints), from LXD's ``X-LXD-*`` headers. Raises
    :class:`APINotFoundException` when the instance does not exist.
    """
    _check_name(instance, "instance")
    url = instance_file_url(api, instance, path)
    try:
        result = api.get(url)
    except APINotFoundException:
        _require_instance(api, instance)
        return None
    except APIException as exc:
        # A file whose content looks like an LXD error document (JSON with an error
        # code) trips APIResult.validate(); the transfer itself succeeded.
        response = getattr(exc.result, "response", None)
        if response is None or response.status_code >= 400:
            raise
        result = exc.result
    headers = result.response.headers
    info = {
        "type": headers.get("X-LXD-Type", "file"),
        "mode": file_mode(headers.get("X-LXD-Mode") or "0"),
        "uid": int(headers.get("X-LXD-Uid") or 0),
        "gid": int(headers.get("X-LXD-Gid") or 0),
    }
    return result.response.content, info


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def plan_file_managed(api, instance, path, content=None, mode=None, uid=None, gid=None):
    """The :class:`Plan` that makes a file in ``instance`` hold ``content`` with this owner.

    ``content``: bytes or text (UTF-8); None manages only mode and owner (an absent file
    is created empty). ``mode`` (see :func:`file_mode`), ``uid`` and ``gid``: None leaves
    them as they are (a new file gets LXD's 0644, root). Reads the file and its headers
    first and writes only when something differs: one POST of the whole file when only
    the content differs (LXD keeps mode and owner); a DELETE then a POST when the mode
    or owner differ (LXD 5.0 sets them only on a file it creates). Content changes are
    reported as sha256 digests, never as the content itself.
    """
    _check_name(instance, "instance")
    url = instance_file_url(api, instance, path)
    mode = file_mode(mode)
    uid, gid = _owner_id(uid, "uid"), _owner_id(gid, "gid")
    if isinstance(content, str):
        content = content.encode("utf-8")
    if content is not None and not isinstance(content, bytes):
        raise ValueError("contents must be text or bytes, not {}".format(
            type(content).__name__))
    plan = Plan(path)
    headers = {"Content-Type": "application/octet-stream", "X-LXD-type": "file",
               "X-LXD-write": "overwrite"}
    wanted = (("mode", mode), ("uid", uid), ("gid", gid))
    current = instance_file_read(api, instance, path)
    if current is None:
        folder = path.rstrip("/").rsplit("/", 1)[0] or "/"
        parent = instance_file_read(api, instance, folder)
        if parent is None or parent[1]["type"] != "directory":
            raise ValueError("{} in {!r} cannot be written: {} is not a folder there".format(
                path, instance, folder))
        data = content if content is not None else b""
        plan.add("file", None, path)
        plan.add("content", None, _digest(data))
        for key, value in wanted:
            if value is not None:
                plan.add(key, None, value)
                headers["X-LXD-" + key] = str(value)
        plan.writes.append(Write("POST", url, data=data, headers=headers))
        return plan
    data, info = current
    if info["type"] != "file":
        raise ValueError("{} in {!r} is a {}, not a file; it was left as it is".format(
            path, instance, info["type"]))
    if content is not None and content != data:
        plan.add("content", _digest(data), _digest(content))
        data = content
    for key, value in wanted:
        if value is not None and value != info[key]:
            plan.add(key, info[key], value)
    if not plan.changes:
        return plan
    if set(plan.changes) - {"content"}:
        # LXD 5.0 applies X-LXD-mode/uid/gid only when it creates the file (and has no
        # X-LXD-modify-perm): recreate it, with every attribute given.
        for key, value in wanted:
            headers["X-LXD-" + key] = str(info[key] if value is None else value)
        plan.writes.append(Write("DELETE", url))
    plan.writes.append(Write("POST", url, data=data, headers=headers))
    return plan


# ---- remotes, trust and clusters (issue 6) ----
# The trust store (certificates), a minion's client certificate, authenticate (trust
# password or token), cluster members, and moving an instance between members. Also
# explain_forbidden, which the choke point calls on every 403.

CERTIFICATE_TYPES = ("client", "metrics")


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
                who = "its certificate {} (sha256 {}) is not in the server's trust " \
                      "store".format(cert, certificate_fingerprint(cert))
            except (OSError, ValueError):
                who = "its certificate {} is not in the server's trust store".format(cert)
        text = ("not trusted: LXD at {} does not trust this client, so the request is "
                "forbidden ({}): {}. Get it trusted with lxdapi.authenticate (a trust "
                "password or token) or 'lxc config trust add' on the server.").format(
                    api.display_endpoint, server_said, who)
    else:
        text = ("forbidden: LXD at {} trusts this client but does not allow this ({}); a "
                "restricted certificate only reaches its own projects.").format(
                    api.display_endpoint, server_said)
    exc.error = text
    exc.args = ("{} {} {}".format(exc.method or "", exc.url or "", text).strip(),)


def certificate_pem(certificate):
    """The PEM text of a certificate given as PEM text or as the path of a PEM file."""
    if not isinstance(certificate, str) or not certificate.strip():
        raise ValueError("certificate must be a PEM certificate or the path of one, not "
                         "{!r}".format(certificate))
    text = certificate
    if "-----BEGIN" not in certificate:
        if not os.path.isfile(certificate):
            raise ValueError("certificate {!r} is neither a PEM certificate nor an "
                             "existing file".format(certificate))
        with open(certificate) as fh:
            text = fh.read()
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text,
                      re.S)
    if not match:
        raise ValueError("no PEM certificate (-----BEGIN CERTIFICATE-----) in {}".format(
            "the given text" if text is certificate else certificate))
    try:
        ssl.PEM_cert_to_DER_cert(match.group(0))
    except ValueError as exc:
        raise ValueError("the certificate is not valid PEM: {}".format(exc)) from None
    return match.group(0) + "\n"


def certificate_body(pem):
    """A PEM certificate as ``POST /1.0/certificates`` takes it: base64 DER, no armour."""
    return "".join(line.strip() for line in pem.strip().splitlines()
                   if not line.startswith("-----"))


def certificate_list(api, recursion=0):
    """The trust store: fingerprints (``recursion=0``) or LXD's certificate objects."""
    return list_collection(api, "certificates", recursion)


def certificate_get(api, fingerprint):
    """The :class:`APIResult` of a certificate by fingerprint (or unique prefix), or None."""
    return get_or_none(api, api.path("certificates", check_name(fingerprint, "fingerprint")))


def certificate_find(api, name):
    """The certificates (LXD's objects) called ``name``, else the one whose fingerprint
    is ``name`` or starts with it (at least 8 hex digits); ValueError when a prefix
    fits several."""
    name = check_name(name, "name")
    certs = certificate_list(api, recursion=1)
    named = [c for c in certs if c.get("name") == name]
    if named:
        return named
    prefix = name.lower()
    if len(prefix) < 8 or not re.fullmatch(r"[0-9a-f]+", prefix):
        return []
    found = [c for c in certs if c.get("fingerprint", "").startswith(prefix)]
    if len(found) > 1:
        raise ValueError("fingerprint prefix {!r} fits {} certificates; give more "
                         "digits".format(name, len(found)))
    return found


def _certificate_summary(cert):
    return {"name": cert.get("name"), "fingerprint": cert.get("fingerprint"),
            "type": cert.get("type"), "restricted": bool(cert.get("restricted")),
            "projects": list(cert.get("projects") or [])}


def _check_certificate_args(certificate_type, restricted, projects):
    if certificate_type not in CERTIFICATE_TYPES:
        raise ValueError("unknown certificate type {!r}; choose {}".format(
            certificate_type, " or ".join(CERTIFICATE_TYPES)))
    check_bool(restricted, "restricted")
    return [] if projects is None else check_names(projects, "projects")


def plan_certificate_present(api, name, certificate, certificate_type="client",
                             restricted=False, projects=None):
    """The :class:`Plan` that puts ``certificate`` (PEM text or path) in the trust store
    as ``name`` with the declared type, ``restricted`` flag and ``projects``.

    The certificate is identified by its fingerprint: a missing one is added (one POST);
    a present one has its name, type, restriction and projects brought to what is
    declared (one PATCH with If-Match). Other certificates called ``name`` are reported
    in a note, never touched.
    """
    name = check_name(name, "name")
    projects = _check_certificate_args(certificate_type, restricted, projects)
    pem = certificate_pem(certificate)
    fingerprint = certificate_fingerprint(pem)
    plan = Plan(name)
    current = certificate_get(api, fingerprint)
    if current is None:
        _check_projects_exist(api, projects)
        body = {"type": certificate_type, "name": name, "certificate": certificate_body(pem),
                "restricted": restricted, "projects": projects}
        plan.add("certificate", None, {"name": name, "fingerprint": fingerprint,
                                       "type": certificate_type, "restricted": restricted,
                                       "projects": projects})
        plan.writes.append(Write("POST", "certificates", body, keys=("certificate",)))
        others = [c["fingerprint"] for c in certificate_list(api, recursion=1)
                  if c.get("name") == name]
        if others:
            plan.notes.append("Other certificate(s) called {!r} are kept: {}.".format(
                name, ", ".join(f[:12] for f in others)))
        return plan
    meta = current.metadata
    patch = {}
    for key, want in (("name", name), ("type", certificate_type),
                      ("restricted", restricted), ("projects", projects)):
        have = meta.get(key)
        if key == "restricted":
            have = bool(have)
        if key == "projects":
            have = list(have or [])
            if sorted(have) == sorted(want):
                continue
        if have != want:
            plan.add(key, have, want)
            patch[key] = want
    if patch:
        if "projects" in patch:
            _check_projects_exist(api, projects)
        plan.writes.append(Write("PATCH", api.path("certificates", fingerprint), patch,
                                 etag=current.etag, keys=tuple(patch)))
    return plan


def _check_projects_exist(api, projects):
    if projects:
        have = set(list_collection(api, "projects"))
        missing = [p for p in projects if p not in have]
        if missing:
            raise ValueError("project(s) {} do not exist on {}".format(
                ", ".join(missing), api.display_endpoint))


def plan_certificate_absent(api, name):
    """The :class:`Plan` that removes from the trust store every certificate called
    ``name`` (else the one whose fingerprint is, or starts with, ``name``)."""
    plan = Plan(name)
    found = certificate_find(api, name)
    if found:
        old = [_certificate_summary(c) for c in found]
        plan.add("certificate", old[0] if len(old) == 1 else old, None)
        for cert in found:
            plan.writes.append(Write("DELETE", api.path("certificates", cert["fingerprint"]),
                                     keys=("certificate",)))
    return plan


def certificate_add(api, certificate, name=None, certificate_type="client", restricted=False,
                    projects=None):
    """Add a certificate (PEM text or path) to the trust store; return its fingerprint.

    :class:`APIConflictException`-like errors from LXD (already trusted) are raised.
    """
    projects = _check_certificate_args(certificate_type, restricted, projects)
    pem = certificate_pem(certificate)
    _check_projects_exist(api, projects)
    body = {"type": certificate_type, "certificate": certificate_body(pem),
            "restricted": restricted, "projects": projects}
    if name is not None:
        body["name"] = check_name(name, "name")
    Write("POST", "certificates", body).send(api)
    return certificate_fingerprint(pem)


def certificate_delete(api, name):
    """Remove the certificate(s) called ``name`` (or with that fingerprint or prefix);
    return the fingerprints removed (empty when there was none)."""
    plan = plan_certificate_absent(api, name)
    plan.apply(api)
    return [w.url.rsplit("/", 1)[-1] for w in plan.writes]


def certificate_token_create(api, name, restricted=False, projects=None):
    """Ask the server for a trust token a client can redeem once (``certificate_token``
    API extension); return the token text (base64, as ``lxc config trust add`` prints)."""
    name = check_name(name, "name")
    projects = _check_certificate_args("client", restricted, projects)
    if not api.has_extension("certificate_token"):
        raise APIException(error="LXD at {} does not issue trust tokens (no "
                                 "certificate_token API extension)".format(
                                     api.display_endpoint))
    body = {"type": "client", "name": name, "token": True, "restricted": restricted,
            "projects": projects}
    result = api.post("certificates", json=body)
    meta = (result.metadata or {}).get("metadata") or {}  # the token operation's
    token = {"client_name": name, "fingerprint": meta.get("fingerprint"),
             "addresses": meta.get("addresses"), "secret": meta.get("secret"),
             "expires_at": meta.get("expires_at") or "0001-01-01T00:00:00Z"}
    import base64
    return base64.b64encode(json.dumps(token, separators=(",", ":")).encode()).decode()


def _write_private(path, data):
    """Write ``data`` (bytes) to ``path`` readable by its owner only (0600), atomically."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, ".{}.{}.tmp".format(os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _client_certificate_cryptography(common_name, days):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA384())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _client_certificate_openssl(common_name, days):
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # 0700: the key never sits readable
        key_path, cert_path = os.path.join(tmp, "client.key"), os.path.join(tmp, "client.crt")
        proc = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:secp384r1", "-sha384", "-nodes", "-days", str(days),
             "-subj", "/CN=" + common_name.replace("/", "\\/"), "-addext",
             "extendedKeyUsage=clientAuth", "-keyout", key_path, "-out", cert_path],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise OSError("openssl could not make the client certificate: {}".format(
                proc.stderr.strip().splitlines()[-1:] or proc.returncode))
        with open(cert_path, "rb") as fh:
            cert_pem = fh.read()
        with open(key_path, "rb") as fh:
            key_pem = fh.read()
    return cert_pem, key_pem


def create_client_certificate(cert_path, key_path, common_name="lxdapi", days=3650,
                              overwrite=False):
    """Make a client key (EC P-384, written 0600) and a self-signed certificate for it.

    Uses the ``cryptography`` package when it is importable, else the ``openssl``
    command. Existing files are kept unless ``overwrite`` (one of the two missing is an
    error). Returns ``{"cert", "key", "fingerprint", "certificate" (the PEM),
    "created"}``; the key itself is never returned or logged.
    """
    cert_path, key_path = check_name(cert_path, "cert"), check_name(key_path, "key")
    common_name = check_name(common_name, "common_name")
    if isinstance(days, bool) or not str(days).isdigit() or int(days) < 1:
        raise ValueError("days must be a whole number of days (>= 1), not {!r}".format(days))
    days = int(days)
    check_bool(overwrite, "overwrite")
    have = [os.path.exists(p) for p in (cert_path, key_path)]
    created = overwrite or not all(have)
    if not overwrite and any(have) and not all(have):
        raise ValueError("{} exists but {} does not; pass overwrite=True to make a new "
                         "pair".format(*((cert_path, key_path) if have[0]
                                         else (key_path, cert_path))))
    if created:
        for path in (cert_path, key_path):
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                os.makedirs(folder, mode=0o700)
        try:
            cert_pem, key_pem = _client_certificate_cryptography(common_name, days)
        except ImportError:
            cert_pem, key_pem = _client_certificate_openssl(common_name, days)
        _write_private(key_path, key_pem)
        with open(cert_path, "wb") as fh:
            fh.write(cert_pem)
    pem = certificate_pem(cert_path)
    return {"cert": cert_path, "key": key_path, "fingerprint": certificate_fingerprint(pem),
            "certificate": pem, "created": created}


def authenticate(api, password=None, token=None, name=None):
    """Get this client's certificate trusted by an HTTPS server: ``POST /1.0/certificates``
    with the trust ``password`` or a trust ``token`` (as ``trust_token`` where the server
    has the ``explicit_trust_token`` extension, else as the password, which LXD 5.0's
    ``certificate_token`` extension reads).

    Returns ``{"trusted": True, "changed": bool, "fingerprint": ...}``; an already trusted
    client changes nothing. A refused secret raises :class:`APIForbiddenException`.
    """
    if bool(password) == bool(token):
        raise ValueError("give a trust password or a trust token (one of them)")
    if not api.endpoint.startswith("https://"):
        raise ValueError("authenticate needs an HTTPS endpoint, not {}".format(
            api.display_endpoint))
    cert = api.session.cert[0] if isinstance(api.session.cert, tuple) else api.session.cert
    if not cert:
        raise ValueError("authenticate needs a client certificate and key (cert= and key=, "
                         "or the remote's settings); lxdapi.client_certificate_create makes "
                         "them")
    fingerprint = certificate_fingerprint(cert)
    api._server = None
    if api.server.get("auth") == "trusted":
        return {"trusted": True, "changed": False, "fingerprint": fingerprint}
    body = {"type": "client"}
    if name:
        body["name"] = check_name(name, "name")
    if password:
        body["password"] = str(password)
    elif api.has_extension("explicit_trust_token"):
        body["trust_token"] = str(token)
    elif api.has_extension("certificate_token"):
        body["password"] = str(token)
    else:
        raise APIException(error="LXD at {} does not take trust tokens (no certificate_token "
                                 "API extension); use its trust password".format(
                                     api.display_endpoint))
    try:
        api.post("certificates", json=body)
    except APIForbiddenException as exc:
        exc.error = "LXD at {} refused the trust {}: the client stays untrusted".format(
            api.display_endpoint, "password" if password else "token")
        exc.args = ("{} {} {}".format(exc.method, exc.url, exc.error),)
        raise
    api._server = None
    if api.server.get("auth") != "trusted":
        raise APIForbiddenException(
            method="POST", url=api.absolute_url("certificates"),
            error="LXD at {} took the certificate but still does not trust this "
                  "client".format(api.display_endpoint))
    return {"trusted": True, "changed": True, "fingerprint": fingerprint}


def _require_cluster(api):
    if not (api.get("cluster").metadata or {}).get("enabled"):
        raise APIException(method="GET", url=api.absolute_url("cluster"),
                           error="LXD at {} is not clustered".format(api.display_endpoint))


def cluster_members(api):
    """The cluster's members (LXD's objects: ``server_name``, ``url``, ``roles``,
    ``status``, ``message``, ...); :class:`APIException` when the server is not
    clustered."""
    _require_cluster(api)
    return api.get("cluster/members", params={"recursion": 1}).metadata or []


def cluster_member_get(api, name):
    """One cluster member (LXD's object), or None when there is no such member."""
    name = check_name(name, "name")
    _require_cluster(api)
    result = get_or_none(api, api.path("cluster", "members", name))
    return result.metadata if result else None


def plan_instance_move(api, name, location, target):
    """The :class:`Plan` that moves instance ``name`` from cluster member ``location`` to
    ``target``: ``POST /1.0/instances/NAME?target=MEMBER`` with ``{"migration": true}``.
    LXD moves stopped instances between members: the instance must be stopped when the
    write is sent."""
    plan = Plan(name)
    url = api.instance_path(name) + "?" + urllib.parse.urlencode({"target": target})
    plan.add("location", location, target)
    plan.writes.append(Write("POST", url, {"migration": True}, keys=("location",)))
    return plan


# ---- benchmarks and speed (issue 7) ----
#
# What keeps a run at what LXD itself costs (see BENCHMARKS.rst): a fast path for HTTP
# over the unix socket (UnixSession), one instance listing serving the container states
# of a run (prefetch_instances, plan_using_listing), and plans applied side by side so
# that their LXD operations run concurrently (apply_plans_concurrently, create_instances).

import http.client  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402


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
            {"User-Agent": "lxdapi", "Accept-Encoding": "identity"})

    def request(self, method, url, params=None, data=None, headers=None, json=None,
                timeout=None, verify=None, **kwargs):  # pylint: disable=arguments-differ
        if (kwargs or self.hooks.get("response") or not url.startswith("http+unix://")
                or isinstance(timeout, tuple)
                or (data is not None and (not isinstance(data, bytes) or json is not None))):
            return super().request(method, url, params=params, data=data, headers=headers,
                                   json=json, timeout=timeout, verify=verify, **kwargs)
        return self._fast_request(str(method).upper(), url, params, data, headers, json,
                                  timeout)

    def _fast_request(self, method, url, params, data, headers, body, timeout):
        netloc, _, path = url[len("http+unix://"):].partition("/")
        path = requests.utils.requote_uri("/" + path)
        if params:
            items = params.items() if isinstance(params, dict) else params
            query = urllib.parse.urlencode([(k, v) for k, v in items if v is not None],
                                           doseq=True)
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
        conn = pool._get_conn()  # pylint: disable=protected-access
        done = False
        try:
            raw, content = self._exchange(conn, method, path, data, sent, timeout)
            done = True
        except socket.timeout as exc:
            raise requests.exceptions.ReadTimeout(exc) from None
        except (OSError, http.client.HTTPException) as exc:
            raise requests.exceptions.ConnectionError(exc) from None
        finally:
            if not done:  # half a transaction on it: never reuse it
                conn.close()
            pool._put_conn(conn)  # pylint: disable=protected-access
        prepared = requests.PreparedRequest()
        prepared.method, prepared.url, prepared.body = method, full_url, data
        prepared.headers = requests.structures.CaseInsensitiveDict(sent)
        response = requests.Response()
        response.status_code = raw.status
        response.reason = raw.reason
        response.headers = requests.structures.CaseInsensitiveDict(raw.msg.raw_items())
        encoding = response.headers.get("Content-Encoding", "").lower()
        if encoding in ("gzip", "deflate") and content:
            content = zlib.decompress(content, 47 if encoding == "gzip" else 15)
        response._content = content  # pylint: disable=protected-access
        response._content_consumed = True  # pylint: disable=protected-access
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url = full_url
        response.request = prepared
        response.connection = adapter
        return response

    @staticmethod
    def _exchange(conn, method, path, data, headers, timeout):
        """One request and its whole response on ``conn`` (reconnecting once when a kept
        connection turns out closed by the server before it answered a GET)."""
        reused = conn.sock is not None
        while True:
            try:
                if conn.sock is None:
                    conn.connect()
                if conn.sock.gettimeout() != timeout:
                    conn.sock.settimeout(timeout)
                http.client.HTTPConnection.request(conn, method, path, body=data,
                                                   headers=headers)
                raw = http.client.HTTPConnection.getresponse(conn)
                return raw, raw.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if not reused or method != "GET":
                    raise
                reused = False


class ListedInstance:
    """An instance as one listing (``GET instances?recursion=1``) showed it.

    Looks like the :class:`APIResult` of a GET (``metadata``, ``data``) but has no
    ``etag``: LXD's listing carries none, so nothing is ever written from it.
    """

    etag = None
    is_async = False
    operation = None
    response = None
    listed = True

    def __init__(self, metadata):
        self.data = {"type": "sync", "metadata": metadata}

    @property
    def metadata(self):
        """The instance, as the listing showed it."""
        return self.data["metadata"]

    def __repr__(self):
        return "<ListedInstance {}>".format(self.metadata.get("name"))


class InstanceListing:
    """Every instance of a project as one ``GET instances?recursion=1`` showed it.

    Serves :func:`container_get` only while a plan is built through
    :func:`plan_using_listing`, and only reads: a plan built from it that wants to write
    is built again from fresh GETs, so every write carries the instance's own ETag. A
    write through the API to one instance (or creating, renaming one) forgets that
    instance, which is then read with its own GET; any other write forgets the whole
    listing. ``run_key`` names the run (a Salt state run) it was read for.
    """

    def __init__(self, collection, items, run_key=None):
        self.collection = collection
        self.items = {item.get("name"): item for item in items}
        self.run_key = run_key
        self.read_at = time.monotonic()
        self.valid = True
        self.forgotten = set()
        self.served = 0
        self.askers = set()
        self._serving_thread = None

    def age(self):
        """Seconds since the listing was read."""
        return time.monotonic() - self.read_at

    def lookup(self, name):
        """A :class:`ListedInstance`, or None: GET it. None when the listing is not
        serving now, when the instance was written to since, and when the listing does
        not show it (an instance to create: the plan that creates it is decided on a
        fresh 404, not on a listing that may be older)."""
        if (not self.valid or self._serving_thread != threading.get_ident()
                or name in self.forgotten):
            return None
        item = self.items.get(name)
        if item is None:
            return None
        self.served += 1
        return ListedInstance(item)

    def forget(self, method, url, body=None):
        """Called by :meth:`API.request` for every write: forget what it may change."""
        parts = urllib.parse.urlsplit(url).path.split("/")  # '', '1.0', 'instances', ...
        if len(parts) >= 3 and parts[2] == self.collection:
            names = [urllib.parse.unquote(parts[3])] if len(parts) >= 4 else []
            if isinstance(body, dict) and isinstance(body.get("name"), str):
                names.append(body["name"])  # created, copied, or renamed to
            if names:
                self.forgotten.update(names)
                return
        self.valid = False

    def serve(self, on):
        """Serve lookups (in this thread) or stop serving them."""
        self._serving_thread = threading.get_ident() if on else None
        if on:
            self.served = 0


#: Seconds a run's instance listing is trusted for (a longer run reads it again).
LISTING_MAX_AGE = 60


def prefetch_instances(api, run_key=None, max_age=LISTING_MAX_AGE, asker=None):
    """Read every instance of the API's project with one ``GET instances?recursion=1``
    for the container states of one run (``run_key``); return the
    :class:`InstanceListing`.

    Kept as ``api.instance_listing``; read again when the run key differs, when it is
    older than ``max_age`` seconds, when a write made it invalid, or when ``asker`` (a
    state of the run, e.g. its ID and name) asks again: a state runs once per run, so
    that is another run (or a retry), which gets fresh data. It serves only plans built
    through :func:`plan_using_listing`.
    """
    listing = api.instance_listing
    if (listing is not None and listing.valid and listing.run_key == run_key
            and listing.age() < max_age and (asker is None or asker not in listing.askers)):
        if asker is not None:
            listing.askers.add(asker)
        return listing
    items = api.get(api.instances_collection, params={"recursion": 1}).metadata or []
    api.instance_listing = InstanceListing(api.instances_collection, items, run_key)
    if asker is not None:
        api.instance_listing.askers.add(asker)
    return api.instance_listing


def listed_instance(api, name):
    """What the run's instance listing shows of ``name``: a :class:`ListedInstance`,
    or None (no listing serving now, or it cannot tell: GET it)."""
    listing = api.instance_listing
    return None if listing is None else listing.lookup(name)


def plan_using_listing(api, make_plan):
    """``make_plan(api)``, with :func:`container_get` answered from the run's listing.

    When the plan so built has writes (or fails) and used the listing, it is built again
    from fresh GETs: what is written is decided on the instance as it is now, with its
    ETag for If-Match. A plan with nothing to do costs no request of its own.
    """
    listing = api.instance_listing
    if listing is None or not listing.valid:
        return make_plan(api)
    listing.serve(True)
    try:
        plan = make_plan(api)
    except (APIException, ValueError, TypeError):
        if not listing.served:
            raise
        plan = None
    finally:
        served = listing.served
        listing.serve(False)
    if plan is not None and not (plan.writes and served):
        return plan
    return make_plan(api)


def submit_write(api, write, previous=None):
    """Send one :class:`Write` without waiting for its operation; return its
    :class:`APIResult` (call ``.wait()`` on it). Same request as :meth:`Write.send`."""
    return api.request(write.method, write.url, **write.request_kwargs(previous))


def apply_plans_concurrently(api, plans):
    """Apply several plans side by side, their LXD operations running at the same time.

    Round ``k`` sends the ``k``-th write of every plan still going (LXD answers each at
    once with a background operation), then waits for all those operations; so 20
    creations cost about the time of the slowest, not the sum. Writes of one plan stay in
    order. A plan whose write fails takes no further part; the others carry on.
    Returns one entry per plan: None (applied) or the :class:`APIException` that stopped
    it; each plan's ``sent`` lists the writes that went through (see
    :meth:`Plan.applied_changes`).
    """
    errors = [None] * len(plans)
    previous = [None] * len(plans)
    for plan in plans:
        plan.sent = []
    rounds = max([len(plan.writes) for plan in plans] or [0])
    for k in range(rounds):
        submitted = []
        for i, plan in enumerate(plans):
            if errors[i] is None and k < len(plan.writes):
                try:
                    submitted.append((i, plan.writes[k],
                                      submit_write(api, plan.writes[k], previous[i])))
                except APIException as exc:
                    errors[i] = exc
        for i, write, result in submitted:
            try:
                previous[i] = result.wait(write.wait_timeout)
                plans[i].sent.append(write)
            except APIException as exc:
                errors[i] = exc
    return errors


def create_instances(api, bodies, start=False, timeout=30):
    """Create many instances at once: every POST first, then wait on all the operations.

    ``bodies``: one mapping per instance as LXD's ``POST /1.0/instances`` takes it
    (``name`` required; ``source`` may also be an image alias or fingerprint, or None for
    an empty instance). ``start``: then start them all the same way (``timeout``:
    seconds each start may take). Returns the names created. When some fail, the others
    are still created (and started); an :class:`APIException` then names every failure.

    Example::

        create_instances(api, [{"name": "web%d" % i, "source": "busybox"}
                               for i in range(20)], start=True)
    """
    plans, sources = [], {}
    for body in bodies:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise ValueError("each instance needs a mapping with a 'name', not {!r}".format(
                body))
        body = dict(body)
        check_name(body["name"], "name")
        if not isinstance(body.get("source"), dict):
            source = body.get("source")
            if not isinstance(source, (str, type(None))):
                instance_source(api, source)  # raises ValueError naming it
            if source not in sources:  # an alias is looked up once for all
                sources[source] = instance_source(api, source)
            body["source"] = dict(sources[source])
        for key, normalise in (("config", lxd_config), ("devices", lxd_devices)):
            if key in body:
                body[key] = normalise(body[key])
        plan = Plan(body["name"])
        plan.add("instance", None, body["name"])
        plan.writes.append(Write("POST", api.instances_collection, body, keys=("instance",)))
        if start:
            plan.add("status", "Stopped", "Running")
            plan.writes.append(Write(
                "PUT", api.instance_path(body["name"], "state"),
                {"action": "start", "timeout": int(timeout)},
                wait_timeout=int(timeout) + 30, keys=("status",)))
        plans.append(plan)
    errors = apply_plans_concurrently(api, plans)
    failed = [(plan.name, exc) for plan, exc in zip(plans, errors) if exc is not None]
    if failed:
        raise APIException(
            error="{} of {} instance(s) failed: {}".format(
                len(failed), len(plans),
                "; ".join("{}: {}".format(name, exc.error or exc) for name, exc in failed)),
            status=failed[0][1].status)
    return [plan.name for plan in plans]


# ---- reliability and security (issue 8) ----
# Clear errors for what the server cannot tell well by itself: a project that does not
# exist (LXD answers "Instance not found" for an instance of a missing project), a failed
# or timed-out operation (named with the request that started it), bad timeouts, a
# network type or storage driver LXD does not know, a profile disk on a missing pool.

#: Network types LXD 5.0 creates (``POST /1.0/networks`` ``type``).
NETWORK_TYPES = ("bridge", "macvlan", "sriov", "ovn", "physical")


class APIProjectNotFound(APIException):
    """The API's ``project`` does not exist (not a 404 of the resource asked for)."""


def check_timeout(value, what, default):
    """Seconds (float > 0) for a request or operation timeout; ``default`` for None."""
    if value is None:
        return float(default)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1
    if isinstance(value, bool) or not seconds > 0:
        raise ValueError("{} must be a number of seconds (> 0), not {!r}".format(what, value))
    return seconds


def check_project_exists(api, url):
    """After a 404 on ``url``: raise :class:`APIProjectNotFound` when the API's project is
    missing (checked once per API); return quietly otherwise."""
    path = urllib.parse.urlsplit(url).path
    if not api.project or getattr(api, "_project_seen", False) \
            or path.startswith("/{}/projects".format(api.default_version)):
        return
    try:
        api.get(api.path("projects", api.project))
    except APINotFoundException:
        raise APIProjectNotFound(
            method="GET", url=url,
            error="project {!r} does not exist on {}".format(
                api.project, api.display_endpoint)) from None
    except APIException:
        return
    api._project_seen = True


def operation_error(started, exc, timeout=None):
    """Name the request that started an operation (``started``, its :class:`APIResult`)
    and the operation in the error of its failed or timed-out ``/wait``; return ``exc``."""
    if started.request is None or exc.result is None \
            or exc.result.response.status_code >= 400:
        return exc  # the /wait itself was refused (404 ...): keep that error
    exc.operation = started.operation
    exc.method, exc.url = started.request.method, started.request.url
    if isinstance(exc, APITimeout):
        text = "operation {} still running after {:g}s; it was left running".format(
            started.operation, float(timeout))
    else:
        text = "operation {} failed: {}".format(started.operation, exc.error)
    return reword(exc, text)


def check_create_only_values(api, kind, want):
    """ValueError naming a network ``type`` or a pool ``driver`` LXD would refuse with a
    bare "Unknown driver"."""
    if kind == "network" and want.get("type") and want["type"] not in NETWORK_TYPES:
        raise ValueError("unknown network type {!r}; choose one of {}".format(
            want["type"], ", ".join(NETWORK_TYPES)))
    if kind == "storage_pool" and want.get("driver"):
        drivers = [d.get("Name") for d in
                   (api.server.get("environment") or {}).get("storage_supported_drivers")
                   or () if isinstance(d, dict)]
        if drivers and want["driver"] not in drivers:
            raise ValueError("unknown storage driver {!r}; this server supports {}".format(
                want["driver"], ", ".join(drivers)))


def check_device_pools(api, kind, plan):
    """ValueError when a profile's new disk device names a storage pool that does not
    exist (LXD 5.0 accepts such a profile, and every instance using it then fails)."""
    if kind != "profile" or "devices" not in plan.changes:
        return plan
    for device, spec in (plan.changes["devices"]["new"] or {}).items():
        pool = (spec or {}).get("pool")
        if pool and get_or_none(api, api.path("storage-pools", pool)) is None:
            raise ValueError("device {!r}: storage pool {!r} does not exist on {}".format(
                device, pool, api.display_endpoint))
    return plan


#: LXD 5.0's answer (HTTP 500) to an instance update sent while another update of the
#: same instance ran: this write was not made. Sent again (with the same If-Match, so a
#: change the other update made still fails it with 412) up to BUSY_RETRIES times.
BUSY_UPDATE_TEXT = "A matching non-reusable operation has now succeeded"
BUSY_RETRIES = 3


def refused_as_busy(exc):
    """True when LXD refused a write only because another update of it was running."""
    return (exc.status == 500 and exc.result is not None
            and exc.result.response.status_code == 500
            and BUSY_UPDATE_TEXT in (exc.error or ""))


def quote_path_part(part):
    """One URL path part, quoted so that it stays one part naming one resource.

    ``/``, ``?``, ``#`` and ``%`` are percent-encoded; ``.`` and ``..`` are refused
    (ValueError): requests and urllib3 remove dot segments (``%2E%2E`` included, which
    requests decodes first), so no quoting keeps them in the URL.
    """
    text = str(part)
    if text in (".", ".."):
        raise ValueError("{!r} cannot be a name: it would address the resource above "
                         "it".format(text))
    return urllib.parse.quote(text, safe="")
