"""lxdapi: the HTTP core for LXD's REST API, and its idempotent shortcuts.

Plain Python (requests + requests-unixsocket); nothing here knows about Salt, so this file
is usable as a library of its own::

    api = API.factory()                       # the local unix socket
    api = API.factory("https://10.0.0.5:8443", cert=..., key=..., server_cert=...)
    api.post("instances", json={...}).wait()

Sections: exceptions, :class:`APIResult`, :class:`API` (the single HTTP choke point),
endpoints and sessions, value normalisation and diffs, plans (the writes a change needs),
and the seed library's shortcuts (``container_get``, ``container_apply_config``, ...).

The rest of the core lives beside this file, one file per concern, loaded at the end of
this one and re-exported from it (``lxdapi.plan_container_present`` works as it is):
``lxdapi_instances.py``, ``lxdapi_images.py``, ``lxdapi_resources.py`` (profiles,
networks, storage, projects, snapshots, files), ``lxdapi_trust.py`` (certificates,
clusters) and ``lxdapi_batch.py`` (what the states of one run share).
"""

import collections
import copy
import hashlib
import http.client
import importlib.util
import json
import logging
import os
import socket
import ssl
import sys
import time
import urllib.parse
import warnings
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
    session = UnixSession()  # requests.Session with a fast path
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


def ignored_config_key(key):
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
                if attempt == BUSY_RETRIES:  # LXD refused it: another update ran
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
        want = {k: v for k, v in lxd_config(declared["config"]).items() if not ignored_config_key(k)}
        old, new = {}, {}
        for key, value in want.items():
            if have.get(key, "") != value:  # "" (or None) declared: the key is absent
                old[key], new[key] = have.get(key), value
        if purge_config:
            for key in have:
                if key not in want and not ignored_config_key(key):
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


def listed_instance(api, name):
    """What the run's instance listing shows of ``name``: a :class:`ListedInstance`,
    or None (no listing serving now, or it cannot tell: GET it)."""
    listing = api.instance_listing
    return None if listing is None else listing.lookup(name)


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
    return status_plan(api, name, current, status, timeout, force)


def normalize_status(status):
    """``running`` -> ``Running``; raise ValueError listing the choices otherwise."""
    for choice in STATUSES:
        if str(status).lower() == choice.lower():
            return choice
    raise ValueError(
        "unknown status {!r}; choose one of {}".format(status, ", ".join(STATUSES))
    )


def status_plan(api, name, current, status, timeout=30, force=False):
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
    plan = status_plan(api, name, status, "Stopped", timeout, force)
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
    plan.add("image", None, fingerprint)
    plan.writes.append(image_upload_write(path, public))
    return plan


def image_upload_write(path, public=False):
    """The :class:`Write` that uploads the unified image tarball at ``path``."""
    with open(path, "rb") as fh:
        data = fh.read()
    headers = {"Content-Type": "application/octet-stream"}
    if public:
        headers["X-LXD-public"] = "1"
    return Write("POST", "images", data=data, headers=headers, keys=("image",))


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


# ---------------------------------------------------------------- connection settings

CONNECTION_KEYS = ("endpoint", "cert", "key", "verify", "server_cert", "timeout",
                   "wait_timeout", "project")

#: Other names for two settings, for the functions whose own parameters are called
#: ``key`` (a config key) or ``timeout`` (how long an LXD action may take).
CONNECTION_ALIASES = {"client_key": "key", "request_timeout": "timeout"}

#: Every keyword argument that is a connection setting.
CONNECTION_ARGUMENTS = CONNECTION_KEYS + tuple(CONNECTION_ALIASES)


def resolve_connection(kwargs, config_get=None):
    """The connection settings for one call, with their precedence written down once.

    keyword argument (``client_key`` and ``request_timeout`` stand for ``key`` and
    ``timeout``) > ``remote=NAME`` (looked up under ``lxdapi:remotes:NAME``) >
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
    for alias, key in CONNECTION_ALIASES.items():
        if kwargs.get(alias) is not None and kwargs.get(key) is None:
            settings[key] = kwargs[alias]
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


# ---- execution helpers ----
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
    if value is None or isinstance(value, (dict, list, bool)) or not str(value).strip():
        raise ValueError("{} must be a non-empty name, not {!r}".format(what, value))
    return str(value)


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


# ---------------------------------------------------------- the unix socket fast path



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


# ----------------------------------------------------------------- checks and errors
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


# ------------------------------------------------------------------------ the parts

PARTS = ("instances", "images", "resources", "members", "files", "backups", "server",
         "trust", "cluster", "batch")


def _load_parts():
    """Load ``lxdapi_<part>.py`` (beside this file) and re-export their public names.

    Each part does ``import lxdapi_core as core``: while the parts load, that name is this
    module, whatever name this module was imported under (``lxdapi`` from ``_utils``, the
    Salt modules' ``lxdapi_core``, ``saltext_lxdapi.utils.lxdapi`` when installed).
    """
    this = sys.modules.get(__name__)
    if this is None:
        raise ImportError("load {} as a registered module (sys.modules[name] = module "
                          "before exec_module): its parts import it".format(__file__))
    here = os.path.dirname(os.path.abspath(__file__))
    previous = sys.modules.get("lxdapi_core")
    sys.modules["lxdapi_core"] = this
    try:
        for part in PARTS:
            name = "lxdapi_" + part
            spec = importlib.util.spec_from_file_location(
                __name__ + "_" + part, os.path.join(here, name + ".py")
            )
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            setattr(this, part, module)
            for key, value in vars(module).items():
                if not key.startswith("_") and key != "core" and not hasattr(value, "__path__") \
                        and not type(value).__name__ == "module":
                    setattr(this, key, value)
    finally:
        if previous is None:
            del sys.modules["lxdapi_core"]
        else:
            sys.modules["lxdapi_core"] = previous


_load_parts()
