"""LXD's event stream (``/1.0/events``, a websocket): what happens on a server, as it
happens, for the events engine (``_engines/lxdapi.py``).

- :func:`open_events` opens the websocket over the same transport as the server's
  :class:`lxdapi.API` (the unix socket; HTTPS with the client certificate, the CA bundle
  or the pinned ``server_cert``), with the ``websocket-client`` library (no frame parser
  of ours);
- :func:`parse_event` checks that a message is one of LXD's events (a JSON object with a
  ``type``, a ``timestamp`` and a ``metadata`` object) and refuses anything else with
  :class:`EventStreamError`, naming the server and what came;
- :func:`instance_snapshot` and :func:`snapshot_changes`: what the instances are, and
  what changed between two looks, as events marked ``resync`` (the engine compares on
  every connect, so that nothing that happened while it was not listening is lost);
- :class:`WriteJournal` and :class:`OwnWrites`: the writes a process of this host sent
  (every :class:`lxdapi.API` of a Salt process records them before sending), so that
  the events they cause can be told apart from a person's (``own``);
- :class:`Listener`: one server's stream in a thread, reconnecting with capped back-off,
  saying so in the log once per outage, handing events to a bounded queue that drops
  the oldest (and counts them) rather than grow or block.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); nothing of Salt.
"""

import collections
import fnmatch
import hashlib
import json
import logging
import os
import queue
import re
import socket
import ssl
import threading
import time
import urllib.parse

try:
    import websocket
except ImportError:  # the engine says so; nothing else of lxdapi needs it
    websocket = None

from lxdapi import (
    APICertificateMismatch,
    APIConnectionError,
    APIException,
    PinnedCertAdapter,
    certificate_fingerprint,
)
from lxdapi_values import lxd_time

log = logging.getLogger(__name__)

#: The event types LXD streams; ``lifecycle`` is the default.
EVENT_TYPES = ("lifecycle", "operation", "logging")
#: Logging levels, lowest first (``logging`` events below the chosen one are dropped).
LOG_LEVELS = ("debug", "info", "warning", "error", "crit")
#: Seconds between reconnection attempts: doubled from the first to the last.
BACKOFF = (1, 30)
#: Seconds a read waits before looking at the stop flag (and pinging the server).
READ_TIMEOUT = 5
#: The biggest event message read (LXD's are a few KiB; an operation with many
#: resources some more).
MAX_MESSAGE = 1 << 20
#: Seconds a write of this host's is remembered to match the events it causes.
OWN_WINDOW = 60
#: Bytes of the write journal before it starts again (the engine keeps what it read).
JOURNAL_MAX = 1 << 20
#: The most bytes of the journal read at once (it is started again past JOURNAL_MAX).
JOURNAL_READ_MAX = 1 << 23


class EventStreamError(APIException):
    """The event stream could not be opened, or sent something that is not an event."""


def stream_errors():
    """The exceptions a stream's failure may raise (any other is a bug)."""
    errors = (APIException, OSError)
    return errors + ((websocket.WebSocketException,) if websocket is not None else ())


def events_query(types=("lifecycle",), project=None):
    """The query of ``/1.0/events``: ``type=`` the event types, and ``project=NAME`` or
    ``all-projects=true`` (``project``: a name, or ``"*"`` for every project)."""
    query = {"type": ",".join(types)}
    if project == "*":
        query["all-projects"] = "true"
    elif project:
        query["project"] = project
    return urllib.parse.urlencode(query)


def check_types(types):
    """``types`` as a tuple of known event types (a name, a list, or None: lifecycle);
    ValueError naming a wrong one."""
    if types is None:
        return ("lifecycle",)
    if isinstance(types, str):
        types = [t.strip() for t in types.split(",") if t.strip()]
    if not isinstance(types, (list, tuple)) or not types:
        raise ValueError(f"types must name event types ({', '.join(EVENT_TYPES)}), not {types!r}")
    for name in types:
        if name not in EVENT_TYPES:
            raise ValueError(f"unknown event type {name!r}: choose among {', '.join(EVENT_TYPES)}")
    return tuple(dict.fromkeys(types))


def _tls_socket(api, host, port, timeout):
    """A TLS socket to ``host:port`` with the API's client certificate, verified as the
    API verifies (its CA bundle, or exactly its pinned ``server_cert``)."""
    session = api.session
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pinned = session.get_adapter(api.endpoint + "/")
    pinned = pinned.fingerprint if isinstance(pinned, PinnedCertAdapter) else None
    if pinned or session.verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(session.verify, str):
        context.load_verify_locations(session.verify)
    else:
        context.load_default_certs()
    if session.cert:
        cert, key = session.cert if isinstance(session.cert, tuple) else (session.cert, None)
        context.load_cert_chain(cert, key)
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        sock = context.wrap_socket(raw, server_hostname=host)
    except (OSError, ssl.SSLError):
        raw.close()
        raise
    if pinned:
        seen = hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()
        if seen.lower() != pinned.replace(":", "").lower():
            sock.close()
            raise APICertificateMismatch(
                url=api.endpoint,
                error=f"the certificate of {api.display_endpoint} is not the pinned "
                f"server_cert (it presents {seen[:16]}...)",
            )
    return sock


def open_events(api, types=("lifecycle",), project=None, timeout=None):
    """Open ``/1.0/events`` of ``api``'s server: a connected ``websocket.WebSocket``.

    ``project``: one project (default: the API's, else ``default``), or ``"*"`` for all.
    Raises :class:`APIConnectionError` (no server, TLS refused),
    :class:`APICertificateMismatch`, or :class:`EventStreamError` (the server did not
    open the websocket)."""
    if websocket is None:
        raise EventStreamError(
            error="the events engine needs the websocket-client library (pip install "
            "websocket-client): it is not installed"
        )
    timeout = api.timeout if timeout is None else timeout
    query = events_query(types, project if project is not None else api.project)
    path = f"/{api.default_version}/events?{query}"
    try:
        if api.endpoint.startswith("http+unix://"):
            sock_path = urllib.parse.unquote(api.endpoint[len("http+unix://") :])
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(sock_path)
            url = "ws://localhost" + path
        else:
            parts = urllib.parse.urlsplit(api.endpoint)
            scheme = "wss" if parts.scheme == "https" else "ws"
            port = parts.port or (443 if scheme == "wss" else 80)
            if scheme == "wss":
                sock = _tls_socket(api, parts.hostname, port, timeout)
            else:
                sock = socket.create_connection((parts.hostname, port), timeout=timeout)
            url = f"{scheme}://{parts.netloc}{path}"
    except APIException:
        raise
    except (OSError, ssl.SSLError) as exc:
        raise APIConnectionError(
            url=api.endpoint, error=f"cannot reach LXD at {api.display_endpoint}: {exc}"
        ) from None
    ws = websocket.WebSocket(enable_multithread=True)
    try:
        ws.connect(url, socket=sock, timeout=timeout, header=["User-Agent: lxdapi"])
    except (websocket.WebSocketException, OSError) as exc:
        sock.close()
        raise EventStreamError(
            method="GET",
            url=api.endpoint + path,
            error=f"the server at {api.display_endpoint} did not open its event stream: "
            f"{_short(exc)}",
        ) from None
    return ws


def _short(exc):
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def parse_event(text, server):
    """One message of the stream as LXD's event (a dict); :class:`EventStreamError`
    naming ``server`` and the first bytes of what came when it is not one."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    problem = None
    try:
        event = json.loads(text)
    except ValueError:
        event, problem = None, "not JSON"
    if problem is None:
        if not isinstance(event, dict):
            problem = f"a JSON {type(event).__name__}, not an object"
        elif not isinstance(event.get("type"), str):
            problem = "no event type"
        elif not isinstance(event.get("metadata"), dict):
            problem = "its metadata is not an object"
        elif not isinstance(event.get("timestamp"), str):
            problem = "no timestamp"
    if problem:
        raise EventStreamError(
            error=f"the server {server} sent on its event stream something that is not an "
            f"event ({problem}): {text[:80]!r}"
        )
    return event


def event_time(event):
    """The event's own timestamp as seconds since the epoch (LXD's RFC 3339 with
    nanoseconds), or None."""
    return lxd_time(event.get("timestamp") if isinstance(event, dict) else None)


def event_action(event):
    """What an event says happened: a lifecycle event's ``action``
    (``instance-started``), an operation's class and status (``task-running``), a log
    record's level (``warning``)."""
    meta = event.get("metadata") or {}
    kind = event.get("type")
    if kind == "lifecycle":
        return str(meta.get("action") or "unknown")
    if kind == "operation":
        kind, status = meta.get("class") or "operation", meta.get("status") or "unknown"
        return f"{kind}-{status}".lower()
    if kind == "logging":
        level = str(meta.get("level") or "info").lower()
        return "warning" if level == "warn" else level
    return str(kind)


def wanted(event, actions=None, level=None):
    """Whether ``event`` passes the filters: ``actions`` (globs of :func:`event_action`,
    None: all) and ``level`` (the lowest logging level kept)."""
    if event.get("type") == "logging" and level:
        got = str((event.get("metadata") or {}).get("level") or "info").lower()
        got = "warning" if got == "warn" else got
        if got in LOG_LEVELS and LOG_LEVELS.index(got) < LOG_LEVELS.index(level):
            return False
    if actions:
        action = event_action(event)
        return any(fnmatch.fnmatchcase(action, pattern) for pattern in actions)
    return True


def event_tag(prefix, server, event):
    """The Salt event tag of an LXD event: ``<prefix>/<server>/<type>/<action>``
    (``lxdapi/local/lifecycle/instance-stopped``), for reactor globs."""
    parts = [prefix, server, str(event.get("type") or "unknown"), event_action(event)]
    return "/".join(part.strip("/") for part in parts if part)


def event_payload(server, event, minion=None):
    """What goes on the Salt bus with an event: LXD's own fields (``type``,
    ``timestamp``, ``metadata`` with ``action``, ``source``, ``context``, ``requestor``;
    ``project``, ``location``), the configured ``server`` name, ``action``, ``own``
    (caused by this node's writes) and ``resync`` (found by comparing listings, not
    streamed), and ``id`` (the minion that heard it)."""
    meta = event.get("metadata") or {}
    payload = {
        "server": server,
        "type": event.get("type"),
        "action": event_action(event),
        "timestamp": event.get("timestamp"),
        "project": event.get("project") or meta.get("project") or "default",
        "location": event.get("location"),
        "metadata": meta,
        "own": bool(event.get("own")),
        "resync": bool(event.get("resync")),
    }
    if minion:
        payload["id"] = minion
    return payload


# ------------------------------------------------------------------------ resync


def instance_snapshot(api, project=None):
    """What each instance is now, for :func:`snapshot_changes`: ``{"project/name":
    {"status", "digest"}}`` (``digest``: of its config, devices, profiles and
    description), from one listing (``project``: one, or ``"*"`` for every one)."""
    params = {"recursion": 1}
    if project == "*":
        params["all-projects"] = "true"
    elif project:
        params["project"] = project
    listing = api.get("instances", params=params).metadata
    if not isinstance(listing, list):
        raise EventStreamError(
            error=f"the server at {api.display_endpoint} listed its instances as "
            f"{type(listing).__name__}, not a list"
        )
    snapshot = {}
    for item in listing:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        declared = {key: item.get(key) for key in ("config", "devices", "profiles", "description")}
        config = {
            k: v for k, v in (declared["config"] or {}).items() if not k.startswith("volatile.")
        }
        declared["config"] = config
        digest = hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()
        key = "{}/{}".format(
            item.get("project") or project or api.project or "default", item["name"]
        )
        snapshot[key] = {"status": item.get("status"), "digest": digest[:16]}
    return snapshot


#: The lifecycle action a change of status stands for.
STATUS_ACTIONS = {
    "Running": "instance-started",
    "Stopped": "instance-stopped",
    "Frozen": "instance-paused",
}


def snapshot_changes(old, new):
    """The differences between two snapshots as lifecycle-like events (``resync:
    true``): an instance created, deleted, whose status or whose declared fields
    changed. Their ``metadata`` holds ``action``, ``source``, ``project``, ``old`` and
    ``new``."""
    events = []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000000Z"

    def add(action, key, before, after):
        project, _, name = key.partition("/")
        events.append(
            {
                "type": "lifecycle",
                "timestamp": stamp,
                "project": project,
                "resync": True,
                "metadata": {
                    "action": action,
                    "source": f"/1.0/instances/{name}",
                    "project": project,
                    "old": before,
                    "new": after,
                },
            }
        )

    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before is None:
            add("instance-created", key, None, after)
        elif after is None:
            add("instance-deleted", key, before, None)
        else:
            if before.get("digest") != after.get("digest"):
                add("instance-updated", key, before, after)
            if before.get("status") != after.get("status"):
                action = STATUS_ACTIONS.get(after.get("status"), "instance-status-changed")
                if before.get("status") == "Frozen" and after.get("status") == "Running":
                    action = "instance-resumed"
                add(action, key, before, after)
    return events


# ------------------------------------------------------------------ own writes


class WriteJournal:
    """Where the writes of this host's Salt processes are recorded, one JSON line each
    (``time``, ``endpoint``, ``method``, ``path``, ``name``), before they are sent: a
    file of its owner's only (0600), started again past :data:`JOURNAL_MAX` bytes (a
    new file: the full one becomes ``<path>.1``, where the engine reads what it had
    not read yet). :meth:`record` is an :attr:`lxdapi.API.write_hooks` hook."""

    def __init__(self, path):
        self.path = path

    def record(self, api, method, url, name):
        """Append one write (an :attr:`lxdapi.API.write_hooks` hook)."""
        line = json.dumps(
            {
                "time": time.time(),
                "endpoint": api.display_endpoint,
                "method": method,
                "path": urllib.parse.urlsplit(url).path,
                "name": name,
            }
        )
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            try:
                if os.path.getsize(self.path) > JOURNAL_MAX:
                    os.replace(self.path, self.path + ".1")  # a new file, a new inode
            except OSError:
                pass
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (line + "\n").encode())  # one write: whole lines
            finally:
                os.close(fd)
        except OSError as exc:  # never a write refused for its journal
            log.debug("lxdapi: cannot record a write in %s: %s", self.path, exc)


#: The actions that say a resource itself was made, changed or removed
#: (``instance-updated``): a write to something under it (``.../state``,
#: ``.../snapshots``, ``.../exec``) causes other ones, its creation no change or
#: removal.
_OWN_ACTIONS = re.compile(r"[a-z]+-(created|updated|deleted)")


class OwnWrites:
    """The journal as the engine reads it: the writes of the last :data:`OWN_WINDOW`
    seconds, read anew when an event is judged (the write is recorded before it is sent,
    so before the event it causes).

    A write explains one event of each action about what it touched, not more: after
    this host changed an instance, a person changing it again (within the window) is
    not taken for this host."""

    def __init__(self, path, window=OWN_WINDOW):
        self.path, self.window = path, window
        self.offset = 0
        self.inode = None
        self.writes = collections.deque(maxlen=10000)
        self.lock = threading.Lock()  # one for the engine's listeners, each a thread

    def _read(self):
        try:
            stat = os.stat(self.path)
        except OSError:
            return
        if stat.st_ino != self.inode and self.inode is not None:
            self._read_from(self.path + ".1", self.inode)  # the rest of the full one
        if stat.st_ino != self.inode or stat.st_size < self.offset:
            self.inode, self.offset = stat.st_ino, 0  # a new or restarted journal
        if stat.st_size > self.offset:
            self._read_from(self.path, stat.st_ino)

    def _read_from(self, path, inode):
        """Read the whole lines past :attr:`offset` of ``path`` if it is the file
        ``inode``."""
        try:
            with open(path, "rb") as fh:
                if os.fstat(fh.fileno()).st_ino != inode:
                    return
                fh.seek(self.offset)
                data = fh.read(JOURNAL_READ_MAX)
        except OSError:
            return
        cut = data.rfind(b"\n") + 1
        self.offset += cut
        for line in data[:cut].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("time"), (int, float)):
                entry["used"] = set()  # the actions it explained already
                self.writes.append(entry)

    def matches(self, endpoint, source, now=None, action=None):
        """Whether a write to ``endpoint`` touching ``source`` (an event's URL path,
        ``/1.0/instances/web1``) was sent in the last :attr:`window` seconds and has not
        explained an event of the same ``action`` already (the event's; None: any
        write touching it will do, and none is used up)."""
        with self.lock:
            return self._matches(endpoint, source, now, action)

    def _matches(self, endpoint, source, now, action):
        self._read()
        now = time.time() if now is None else now
        source = urllib.parse.urlsplit(source or "").path.rstrip("/")
        if not source:
            return False
        found = None
        for entry in reversed(self.writes):
            if now - entry["time"] > self.window:
                break
            if entry.get("endpoint") != endpoint or (action and action in entry["used"]):
                continue
            path = str(entry.get("path") or "").rstrip("/")
            name = entry.get("name")
            named = f"{path}/{name}" if isinstance(name, str) and name else None
            plain = _OWN_ACTIONS.fullmatch(action or "")
            if path == source:  # a change of the resource itself: any of its events
                found = entry
            elif named == source:  # its creation: not a change or removal after it
                if not (plain and plain.group(1) != "created"):
                    found = entry
            elif path.startswith(source + "/") and not plain:  # its state, a snapshot...
                found = entry
        if found is None:
            return False
        if action:
            found["used"].add(action)  # the oldest write that explains it
        return True


def own_event(event, server_endpoint, own_writes=None, fingerprint=None):
    """Whether ``event`` was caused by this host's own writes: its requestor is this
    client's certificate (HTTPS), or a recorded write touched its source."""
    meta = event.get("metadata") or {}
    requestor = meta.get("requestor") or {}
    if fingerprint and isinstance(requestor, dict):
        if str(requestor.get("username") or "").lower() == fingerprint.lower():
            return True
    if own_writes is not None and event.get("type") == "lifecycle":
        return own_writes.matches(server_endpoint, meta.get("source"), action=event_action(event))
    return False


# ---------------------------------------------------------------------- listener


class Listener:
    """One server's event stream, read in a thread of its own.

    ``name``: the server as configured; ``make_api()``: a fresh :class:`lxdapi.API` for
    it (called on every connect); ``sink``: a :class:`BoundedQueue` the events go to, as
    ``(name, event)``; ``types``, ``project`` (a name or ``"*"``), ``actions`` (globs)
    and ``level`` filter them. ``state_file``: where the last snapshot of the instances
    is kept (so a restart of the minion loses nothing either; None: resync only within
    this process). ``own``: an :class:`OwnWrites`, to mark events ``own``.
    """

    def __init__(
        self,
        name,
        make_api,
        sink,
        types=("lifecycle",),
        project=None,
        actions=None,
        level=None,
        state_file=None,
        own=None,
        fingerprint=None,
        resync=True,
        projects=None,
    ):
        self.name, self.make_api, self.sink = name, make_api, sink
        self.types, self.project, self.actions, self.level = types, project, actions, level
        self.state_file, self.own, self.fingerprint = state_file, own, fingerprint
        self.resync = resync and "lifecycle" in types
        self.projects = set(projects) if projects else None  # several: read all, keep these
        self.stopping = threading.Event()
        self.thread = None
        self.snapshot = self._load_snapshot()
        self.dirty_since = None
        self.connected = threading.Event()
        self.outage = False
        self.endpoint = None
        self.ws = None  # the open stream, for stop() to wake its reader

    # -- the snapshot, kept between runs

    def _load_snapshot(self):
        if not self.state_file:
            return None
        try:
            with open(self.state_file) as fh:
                data = json.load(fh)
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    def _save_snapshot(self):
        if not self.state_file or self.snapshot is None:
            return
        tmp = self.state_file + ".tmp"
        try:
            os.makedirs(os.path.dirname(self.state_file), mode=0o700, exist_ok=True)
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
                json.dump(self.snapshot, fh)
            os.replace(tmp, self.state_file)
        except OSError as exc:
            log.warning("lxdapi events: cannot keep the instances of %s: %s", self.name, exc)

    def _refresh(self, api, report):
        """Read the instances; with ``report``, hand on what changed since the last look
        (as resync events)."""
        fresh = instance_snapshot(api, self.project)
        if report and self.snapshot is not None:
            for event in snapshot_changes(self.snapshot, fresh):
                if wanted(event, self.actions) and self._in_projects(event):
                    self._emit(event)
        self.snapshot = fresh
        self.dirty_since = None
        self._save_snapshot()

    # -- the thread

    def start(self):
        """Start reading in a daemon thread."""
        self.thread = threading.Thread(target=self.run, name=f"lxdapi-events-{self.name}")
        self.thread.daemon = True
        self.thread.start()
        return self

    def stop(self, timeout=10):
        """Ask the thread to stop, and wait for it (up to ``timeout`` seconds): a read
        under way is woken at once (its socket shut down)."""
        self.stopping.set()
        ws = self.ws
        if ws is not None:
            ws.abort()
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self):
        """Connect, resync and read until stopped; reconnect after any failure, the pause
        doubling from :data:`BACKOFF`'s first to its last; one warning per outage, one
        line when the stream is back."""
        delay = BACKOFF[0]
        while not self.stopping.is_set():
            try:
                self._session()
            except Exception as exc:  # the stream must outlive whatever broke it
                if self.stopping.is_set():  # stop() shut the stream: no outage
                    break
                if not isinstance(exc, stream_errors()):
                    log.exception("lxdapi events: unexpected failure on %s", self.name)
                if self.connected.is_set():  # it was up: a new outage
                    self.outage, delay = False, BACKOFF[0]
                if not self.outage:
                    text = (
                        str(exc)
                        if isinstance(exc, APIException)
                        else f"the event stream of {self.endpoint or self.name} failed: "
                        f"{_short(exc)}"
                    )
                    log.warning(
                        "lxdapi events: %s: %s; trying again (every %d s at most)",
                        self.name,
                        text,
                        BACKOFF[1],
                    )
                    self.outage = True
            self.connected.clear()
            if self.stopping.wait(delay):
                break
            delay = min(delay * 2, BACKOFF[1])

    def _session(self):
        api = self.make_api()
        self.endpoint = api.display_endpoint
        cert = api.session.cert
        if self.fingerprint is None and cert:
            try:
                self.fingerprint = certificate_fingerprint(
                    cert[0] if isinstance(cert, tuple) else cert
                )
            except (OSError, ValueError):
                self.fingerprint = None
        try:
            ws = open_events(api, self.types, self.project)
        except BaseException:
            api.close()
            raise
        self.ws = ws
        if self.stopping.is_set():  # stop() came while connecting
            ws.abort()
        try:
            ws.settimeout(READ_TIMEOUT)
            if self.resync:
                self._refresh(api, report=True)
            if self.outage:
                log.warning("lxdapi events: %s is back (%s)", self.name, self.endpoint)
                self.outage = False
            else:
                log.info("lxdapi events: listening to %s (%s)", self.name, self.endpoint)
            self.connected.set()
            self._read(api, ws)
        finally:
            self.ws = None
            ws.close()
            api.close()

    def _read(self, api, ws):
        refused = 0  # messages that were not events, on this connection
        while not self.stopping.is_set():
            try:
                opcode, data = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                self._ping(ws)
                self._maybe_refresh(api)
                continue
            except websocket.WebSocketConnectionClosedException:
                if self.stopping.is_set():
                    return
                raise EventStreamError(
                    error=f"the server {self.name} ({self.endpoint}) closed its event stream"
                ) from None
            except (OSError, websocket.WebSocketException) as exc:
                if self.stopping.is_set():
                    return
                raise EventStreamError(
                    error=f"the event stream of {self.name} ({self.endpoint}) broke: {_short(exc)}"
                ) from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise EventStreamError(
                    error=f"the server {self.name} ({self.endpoint}) closed its event stream"
                )
            if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                continue
            try:
                if len(data) > MAX_MESSAGE:
                    raise EventStreamError(
                        error=f"the server {self.name} sent on its event stream a message of "
                        f"{len(data)} bytes, more than an event's {MAX_MESSAGE}"
                    )
                event = parse_event(data, self.name)
            except EventStreamError as exc:
                refused += 1  # said once per connection: a server could send many
                if refused == 1:
                    log.warning("lxdapi events: %s (skipped; any more are logged at debug)", exc)
                else:
                    log.debug("lxdapi events: %s", exc)
                continue
            if self.resync and str(event_action(event)).startswith("instance-"):
                self.dirty_since = self.dirty_since or time.monotonic()
            if wanted(event, self.actions, self.level) and self._in_projects(event):
                self._emit(event)
            self._maybe_refresh(api)

    def _ping(self, ws):
        try:
            ws.ping()
        except (OSError, websocket.WebSocketException) as exc:
            if self.stopping.is_set():
                return
            raise EventStreamError(
                error=f"the event stream of {self.name} ({self.endpoint}) broke: {_short(exc)}"
            ) from None

    def _maybe_refresh(self, api):
        """Keep the snapshot current (one listing, at most every 2 s while events about
        instances come), so that a resync after an outage reports only what changed
        while the stream was down."""
        if self.dirty_since is not None and time.monotonic() - self.dirty_since > 2:
            self._refresh(api, report=False)

    def _in_projects(self, event):
        if self.projects is None:
            return True
        project = event.get("project") or (event.get("metadata") or {}).get("project")
        return (project or "default") in self.projects

    def _emit(self, event):
        event["own"] = own_event(event, self.endpoint, self.own, self.fingerprint)
        self.sink.put((self.name, event))


class BoundedQueue:
    """A queue of at most ``size`` items that never blocks its writer: when full, the
    oldest item is dropped, and counted in :attr:`dropped`."""

    def __init__(self, size=10000):
        self.queue = queue.Queue(maxsize=size)
        self.dropped = 0
        self.lock = threading.Lock()

    def put(self, item):
        """Add ``item``; drop the oldest when full."""
        with self.lock:
            while True:
                try:
                    self.queue.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        self.queue.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass

    def get(self, timeout=None):
        """The next item, or None after ``timeout`` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
