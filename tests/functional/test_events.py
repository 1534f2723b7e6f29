"""The event stream (issue 24) against real daemons, LXD and Incus: the core's
``lxdapi_events.Listener`` reading ``/1.0/events`` into a ``BoundedQueue``.

Lifecycle events of instances, images, profiles and networks with their tags and
payloads; operation and logging events; the action and project filters; resync after a
restart of the listener (a minion restart) and of the daemon; own writes; HTTPS with a
pinned certificate, a wrong one, a dead server and a server that sends no events; a
burst into a small queue.
"""

import base64
import hashlib
import logging
import os
import shutil
import socket
import threading
import time
import uuid

import pytest

import lxdapi_events as events
import lxdhost
from conftest import core


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """Reads look at the stop flag every second; reconnections come quickly."""
    monkeypatch.setattr(events, "READ_TIMEOUT", 1)
    monkeypatch.setattr(events, "BACKOFF", (0.2, 1))


def short_name(prefix="ev"):
    """A name short enough for a network (15 characters at most)."""
    return prefix + uuid.uuid4().hex[:8]


def path_of(event):
    return ((event.get("metadata") or {}).get("source") or "").split("?")[0]


def lifecycle(action, source):
    """A predicate: a lifecycle event ``action`` about ``source``."""

    def matches(event):
        return (
            event.get("type") == "lifecycle"
            and events.event_action(event) == action
            and path_of(event) == source
        )

    matches.__name__ = f"{action} {source}"
    return matches


class Heard:
    """What a listener handed to its queue, read as the test goes."""

    def __init__(self, listener, sink):
        self.listener, self.sink = listener, sink
        self.seen = []

    def drain(self, wait=0.0):
        """Take what is in the queue now (after ``wait`` seconds of quiet at most)."""
        while True:
            item = self.sink.get(timeout=wait) if wait else self.sink.get(timeout=0)
            if item is None:
                return self.seen
            self.seen.append(item[1])

    def wait(self, predicate, timeout=30, after=0):
        """The first event heard (past the first ``after``) that ``predicate`` accepts,
        waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        checked = after
        while True:
            while checked < len(self.seen):
                event = self.seen[checked]
                checked += 1
                if predicate(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no event {getattr(predicate, '__name__', predicate)} within {timeout} s; "
                    f"heard {self.summary()}"
                )
            item = self.sink.get(timeout=min(left, 0.5))
            if item is not None:
                self.seen.append(item[1])

    def summary(self):
        return [(e.get("type"), events.event_action(e), path_of(e)) for e in self.seen]

    def actions(self, source=None):
        return [events.event_action(e) for e in self.seen if source is None or path_of(e) == source]


@pytest.fixture
def listen(lxd):
    """``listen(**Listener options)``: a started listener on the session daemon (or
    ``make_api``'s), connected; a :class:`Heard` on its queue. Stopped afterwards."""
    started = []

    def start(make_api=None, name="local", size=10000, connect=True, **options):
        sink = events.BoundedQueue(size)
        listener = events.Listener(name, make_api or lxd.api, sink, **options)
        started.append(listener)
        listener.start()
        if connect:
            assert listener.connected.wait(60), f"the listener of {name} did not connect"
        return Heard(listener, sink)

    yield start
    for listener in started:
        listener.stop()
    for listener in started:
        assert not listener.thread.is_alive(), "a listener did not stop"


def check_payload(event, action, source, project="default", own=False):
    tag = events.event_tag("lxdapi", "local", event)
    assert tag == f"lxdapi/local/lifecycle/{action}"
    payload = events.event_payload("local", event, minion="m1")
    assert payload["server"] == "local"
    assert payload["type"] == "lifecycle"
    assert payload["action"] == action
    assert payload["metadata"]["source"].split("?")[0] == source
    assert payload["project"] == project
    assert payload["own"] is own
    assert payload["resync"] is False
    assert payload["id"] == "m1"
    assert events.event_time(event) == pytest.approx(time.time(), abs=120)
    return payload


# ------------------------------------------------------------------- 1. lifecycle


def test_instance_lifecycle_events(lxd, listen, unique_name):
    heard = listen()
    name = unique_name
    source = f"/1.0/instances/{name}"
    lxd.lxc("init", "busybox", name)
    try:
        lxd.lxc("config", "set", name, "user.note", "by-hand")
        lxd.lxc("start", name)
        lxd.lxc("stop", name, "--force")
    finally:
        lxd.lxc("delete", name, "--force")
    actions = [
        "instance-created",
        "instance-updated",
        "instance-started",
        "instance-stopped",
        "instance-deleted",
    ]
    for action in actions:
        payload = check_payload(heard.wait(lifecycle(action, source)), action, source)
        requestor = payload["metadata"].get("requestor")
        if action == "instance-created":
            if lxd.server == "incus":  # LXD 5.0.2 names no requestor
                assert requestor["protocol"] == "unix", payload
    heard.drain()
    mine = [a for a in heard.actions(source) if a in actions]
    assert sorted(set(mine), key=mine.index) == actions, heard.summary()


def test_image_profile_and_network_events(lxd, listen, unique_name):
    heard = listen()
    alias, profile, network = short_name("al"), short_name("pr"), short_name("nt")
    lxd.lxc("image", "alias", "create", alias, lxd.fingerprint)
    lxd.lxc("image", "alias", "delete", alias)
    lxd.lxc("profile", "create", profile)
    lxd.lxc("profile", "set", profile, "user.note", "x")
    lxd.lxc("profile", "delete", profile)
    lxd.lxc("network", "create", network, "ipv4.address=none", "ipv6.address=none")
    try:
        lxd.lxc("network", "set", network, "user.note", "x")
    finally:
        lxd.lxc("network", "delete", network)
    expected = [
        ("image-alias-created", f"/1.0/images/aliases/{alias}"),
        ("image-alias-deleted", f"/1.0/images/aliases/{alias}"),
        ("profile-created", f"/1.0/profiles/{profile}"),
        ("profile-updated", f"/1.0/profiles/{profile}"),
        ("profile-deleted", f"/1.0/profiles/{profile}"),
        ("network-created", f"/1.0/networks/{network}"),
        ("network-updated", f"/1.0/networks/{network}"),
        ("network-deleted", f"/1.0/networks/{network}"),
    ]
    for action, source in expected:
        check_payload(heard.wait(lifecycle(action, source)), action, source)


# ---------------------------------------------------- 2. operations, logs, filters


def test_operation_events(lxd, listen, unique_name):
    heard = listen(types=("operation",))
    assert heard.listener.resync is False  # resync is about lifecycle events
    lxd.lxc("init", "busybox", unique_name)
    lxd.lxc("delete", unique_name)
    done = heard.wait(lambda e: events.event_action(e) == "task-success")
    assert events.event_tag("lxdapi", "local", done) == "lxdapi/local/operation/task-success"
    assert done["metadata"]["status"] == "Success"
    assert f"/1.0/instances/{unique_name}" in str(done["metadata"].get("resources"))
    assert {e["type"] for e in heard.drain()} == {"operation"}


def test_logging_events_with_a_level(lxd, listen, unique_name):
    verbose = listen(types=("logging",), level="debug")
    quiet = listen(types=("logging",), level="error")
    lxd.lxc("init", "busybox", unique_name)
    lxd.lxc("delete", unique_name)
    record = verbose.wait(lambda e: e["type"] == "logging")
    tag = events.event_tag("lxdapi", "local", record)
    assert tag.startswith("lxdapi/local/logging/"), tag
    assert record["metadata"]["level"] in tag
    time.sleep(1)
    levels = {e["metadata"]["level"] for e in verbose.drain()}
    assert levels & {"debug", "info"}, levels
    assert not [e for e in quiet.drain() if e["metadata"]["level"] in ("debug", "info")]


def test_actions_filter(lxd, listen):
    heard = listen(actions=["profile-c*"])
    first, last = short_name("pa"), short_name("pb")
    try:
        lxd.lxc("profile", "create", first)
        lxd.lxc("profile", "set", first, "user.note", "x")
        lxd.lxc("profile", "create", last)
        heard.wait(lifecycle("profile-created", f"/1.0/profiles/{last}"))
    finally:
        lxd.lxc("profile", "delete", first)
        lxd.lxc("profile", "delete", last)
    assert heard.actions() == ["profile-created", "profile-created"], heard.summary()


@pytest.fixture
def project(lxd):
    name = short_name("pj")
    lxd.lxc("project", "create", name)
    yield name
    lxd.lxc("project", "delete", name)


def test_projects_filters(lxd, listen, project):
    one = listen(project=project)
    kept = listen(project="*", projects=[project])
    every = listen(project="*")
    default = listen()
    there, here = short_name("pt"), short_name("ph")
    try:
        lxd.lxc("profile", "create", here)
        lxd.lxc("profile", "create", there, "--project", project)
        for heard in (one, kept, every):
            event = heard.wait(lifecycle("profile-created", f"/1.0/profiles/{there}"))
            assert events.event_payload("local", event)["project"] == project
        every.wait(lifecycle("profile-created", f"/1.0/profiles/{here}"))
        default.wait(lifecycle("profile-created", f"/1.0/profiles/{here}"))
    finally:
        lxd.lxc("profile", "delete", there, "--project", project)
        lxd.lxc("profile", "delete", here)
    one.wait(lifecycle("profile-deleted", f"/1.0/profiles/{there}"))
    kept.wait(lifecycle("profile-deleted", f"/1.0/profiles/{there}"))
    default.wait(lifecycle("profile-deleted", f"/1.0/profiles/{here}"))
    for heard in (one, kept):
        assert f"/1.0/profiles/{here}" not in {path_of(e) for e in heard.seen}, heard.summary()
    assert f"/1.0/profiles/{there}" not in {path_of(e) for e in default.seen}


# ------------------------------------------------------------------- 3. restarts


@pytest.fixture(scope="module")
def own_daemon(lxd):
    """An extra private daemon of the session's kind, with the busybox image."""
    base = lxdhost.make_base_dir("lxdapi-events-")
    lxd_dir = os.path.join(base, lxd.server)
    try:
        lxdhost.start_daemon(lxd_dir, server=lxd.server)
        lxdhost.lxc(lxd_dir, "image", "import", lxd.image_path, "--alias", "busybox")
        yield lxd_dir
    finally:
        lxdhost.stop_daemon(lxd_dir)
        shutil.rmtree(base, ignore_errors=True)


def own_api(lxd_dir):
    return lambda: core.API.factory(os.path.join(lxd_dir, "unix.socket"))


def test_listener_restart_resyncs_what_changed_meanwhile(own_daemon, listen, tmp_path):
    def lxc(*args):
        return lxdhost.lxc(own_daemon, *args)

    state = str(tmp_path / "state" / "own.json")
    kept, changed, started, gone = (short_name(p) for p in ("kp", "ch", "st", "gn"))
    for name in (kept, changed, started, gone):
        lxc("init", "busybox", name)
    heard = listen(own_api(own_daemon), state_file=state)
    assert os.path.exists(state) and oct(os.stat(state).st_mode & 0o777) == "0o600"
    heard.listener.stop()  # as a minion restart would
    assert not heard.drain(), "no resync event on a first look"

    new = short_name("nw")
    lxc("config", "set", changed, "user.note", "by-hand")
    lxc("start", started)
    lxc("delete", gone)
    lxc("init", "busybox", new)
    try:
        again = listen(own_api(own_daemon), state_file=state)
        time.sleep(1)
        again.drain()
        resynced = sorted((events.event_action(e), path_of(e)) for e in again.seen)
        assert resynced == [
            ("instance-created", f"/1.0/instances/{new}"),
            ("instance-deleted", f"/1.0/instances/{gone}"),
            ("instance-started", f"/1.0/instances/{started}"),
            ("instance-updated", f"/1.0/instances/{changed}"),
        ], again.summary()
        for event in again.seen:
            payload = events.event_payload("own", event)
            assert payload["resync"] is True and payload["own"] is False
            assert payload["project"] == "default"
            assert events.event_tag("lxdapi", "own", event).startswith("lxdapi/own/lifecycle/")
    finally:
        lxc("delete", "--force", kept, changed, started, new)


def test_daemon_restart_while_listening(own_daemon, listen, lxd, caplog):
    caplog.set_level(logging.INFO, logger=events.log.name)
    heard = listen(own_api(own_daemon), name="own")
    before = short_name("pb")
    lxdhost.lxc(own_daemon, "profile", "create", before)
    heard.wait(lifecycle("profile-created", f"/1.0/profiles/{before}"))

    lxdhost.stop_daemon(own_daemon, remove=False)
    assert lxdhost.wait_for(lambda: not heard.listener.connected.is_set(), timeout=30)
    time.sleep(2)  # several attempts fail while it is down
    lxdhost.start_daemon(own_daemon, server=lxd.server)
    assert heard.listener.connected.wait(60), "not back after the restart"
    after = short_name("pa")
    lxdhost.lxc(own_daemon, "profile", "create", after)
    heard.wait(lifecycle("profile-created", f"/1.0/profiles/{after}"))
    for name in (before, after):
        lxdhost.lxc(own_daemon, "profile", "delete", name)

    mine = [r for r in caplog.records if r.name == events.log.name]
    warnings = [r.getMessage() for r in mine if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "closed its event stream" in warnings[0] or "cannot reach" in warnings[0], warnings
    assert "own is back" in warnings[1], warnings
    assert not [r for r in mine if r.exc_info], "a traceback in the log"


# ------------------------------------------------------------------- 4. own writes


def test_own_writes_are_told_apart(lxd, listen, tmp_path, unique_name):
    journal = events.WriteJournal(str(tmp_path / "journal" / "writes.jsonl"))
    heard = listen(own=events.OwnWrites(journal.path))
    ours, theirs = short_name("po"), short_name("pt")
    api = lxd.api()
    core.API.write_hooks.append(journal.record)
    try:
        api.post("profiles", json={"name": ours})
        api.patch(f"profiles/{ours}", json={"config": {"user.note": "ours"}})
        api.post("instances", json={"name": unique_name, "source": {"type": "none"}})
    finally:
        core.API.write_hooks.remove(journal.record)
    lxd.lxc("profile", "create", theirs)
    lxd.lxc("profile", "set", theirs, "user.note", "theirs")
    try:
        for action in ("profile-created", "profile-updated"):
            assert heard.wait(lifecycle(action, f"/1.0/profiles/{ours}"))["own"] is True
            assert heard.wait(lifecycle(action, f"/1.0/profiles/{theirs}"))["own"] is False
        created = heard.wait(lifecycle("instance-created", f"/1.0/instances/{unique_name}"))
        assert events.event_payload("local", created)["own"] is True
        # A person changing what this host wrote a moment ago: not ours.
        heard.drain(wait=1)
        seen = len(heard.seen)
        lxd.lxc("profile", "set", ours, "user.note", "by-hand")
        later = heard.wait(lifecycle("profile-updated", f"/1.0/profiles/{ours}"), after=seen)
        assert later["own"] is False, heard.summary()
    finally:
        lxd.lxc("profile", "delete", ours)
        lxd.lxc("profile", "delete", theirs)
        lxd.lxc("delete", unique_name)


# ------------------------------------------------------------ 5. HTTPS and faults


@pytest.fixture(scope="module")
def https_daemon(lxd, tmp_path_factory):
    """A daemon answering HTTPS on 127.0.0.1, a trusted client pair, its certificate."""
    base = lxdhost.make_base_dir("lxdapi-events-https-")
    lxd_dir = os.path.join(base, lxd.server)
    folder = tmp_path_factory.mktemp("events-certs")
    try:
        address = f"127.0.0.1:{lxdhost.free_port()}"
        lxdhost.start_https_daemon(lxd_dir, address, server=lxd.server)
        server_cert = str(folder / "server.crt")
        with open(server_cert, "w") as fh:
            fh.write(lxdhost.server_certificate(lxd_dir))
        cert, key = str(folder / "client.crt"), str(folder / "client.key")
        lxdhost.make_client_certificate(cert, key, common_name="events")
        lxdhost.trust_certificate(lxd_dir, cert, name="events")
        yield {
            "lxd_dir": lxd_dir,
            "endpoint": "https://" + address,
            "cert": cert,
            "key": key,
            "server_cert": server_cert,
        }
    finally:
        lxdhost.stop_daemon(lxd_dir)
        shutil.rmtree(base, ignore_errors=True)


def https_api(daemon, **overrides):
    settings = {k: daemon[k] for k in ("endpoint", "cert", "key", "server_cert")}
    settings.update(overrides)
    return lambda: core.API.factory(**settings)


def test_https_remote_with_pinned_certificate(https_daemon, listen):
    heard = listen(https_api(https_daemon), name="lab")
    theirs, ours = short_name("ph"), short_name("pm")
    lxdhost.lxc(https_daemon["lxd_dir"], "profile", "create", theirs)
    event = heard.wait(lifecycle("profile-created", f"/1.0/profiles/{theirs}"))
    assert event["own"] is False
    assert events.event_tag("lxdapi", "lab", event) == "lxdapi/lab/lifecycle/profile-created"
    # A write with this client's certificate: the requestor says it is ours.
    remote = https_api(https_daemon)()
    remote.post("profiles", json={"name": ours})
    event = heard.wait(lifecycle("profile-created", f"/1.0/profiles/{ours}"))
    assert event["own"] is True, event
    for name in (theirs, ours):
        remote.delete(f"profiles/{name}")


def attempts_counted(make_api):
    calls = []

    def counted():
        calls.append(time.monotonic())
        return make_api()

    return counted, calls


def check_one_warning(caplog, calls, words):
    assert lxdhost.wait_for(lambda: len(calls) >= 3, timeout=30), calls
    mine = [r for r in caplog.records if r.name == events.log.name]
    warnings = [r.getMessage() for r in mine if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert words in warnings[0], warnings
    assert "\n" not in warnings[0] and "Traceback" not in caplog.text
    assert not [r for r in mine if r.exc_info], "a traceback in the log"


def test_wrong_pinned_certificate_one_warning_and_retries(https_daemon, listen, lxd, caplog):
    caplog.set_level(logging.INFO, logger=events.log.name)
    wrong = os.path.join(lxd.lxd_dir, "server.crt")  # another daemon's certificate
    make_api, calls = attempts_counted(https_api(https_daemon, server_cert=wrong))
    heard = listen(make_api, name="lab", connect=False)
    check_one_warning(caplog, calls, "pinned server_cert")
    assert heard.listener.thread.is_alive() and not heard.listener.connected.is_set()


def test_dead_server_one_warning_and_retries(https_daemon, listen, caplog):
    caplog.set_level(logging.INFO, logger=events.log.name)
    dead = f"https://127.0.0.1:{lxdhost.free_port()}"
    make_api, calls = attempts_counted(https_api(https_daemon, endpoint=dead))
    heard = listen(make_api, name="gone", connect=False)
    check_one_warning(caplog, calls, "cannot reach")
    assert heard.listener.thread.is_alive()


def fake_events_server(path, messages):
    """A unix-socket server that opens a websocket and sends ``messages`` (text
    frames), then waits for the client to go."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                key = ""
                for line in request.decode("latin-1").split("\r\n"):
                    if line.lower().startswith("sec-websocket-key:"):
                        key = line.split(":", 1)[1].strip()
                accept = base64.b64encode(
                    hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
                ).decode()
                conn.sendall(
                    (
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                    ).encode()
                )
                for message in messages:
                    data = message.encode()
                    header = bytes([0x81, len(data)]) if len(data) < 126 else None
                    if header is None:
                        header = bytes([0x81, 126]) + len(data).to_bytes(2, "big")
                    conn.sendall(header + data)
                try:
                    while conn.recv(4096):
                        pass
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server


def test_a_message_that_is_not_an_event(listen, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger=events.log.name)
    path = str(tmp_path / "fake.socket")
    good = '{"type": "lifecycle", "timestamp": "2024-05-01T10:00:00.5Z", "metadata": {"action": "profile-created", "source": "/1.0/profiles/x"}}'  # noqa: E501
    server = fake_events_server(path, ["hello", "[1, 2]", '{"type": "lifecycle"}', good])
    try:
        heard = listen(lambda: core.API.factory(path), name="fake", resync=False)
        event = heard.wait(lifecycle("profile-created", "/1.0/profiles/x"))
        assert events.event_time(event) == pytest.approx(1714557600.5)
    finally:
        server.close()
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == events.log.name and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1, warnings  # one a connection, the others at debug
    assert (
        "the server fake sent on its event stream something that is not an event (not JSON): "
        "'hello' (skipped" in warnings[0]
    )
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("(a JSON list, not an object)" in line for line in debug), debug
    assert any("(its metadata is not an object)" in line for line in debug), debug
    assert "Traceback" not in caplog.text


# ---------------------------------------------------------------- 6. bounded memory


def test_a_burst_into_a_small_queue(lxd, listen):
    count = 300
    heard = listen(size=50, actions=["profile-created"])
    sink = heard.sink
    biggest = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            biggest.append(sink.queue.qsize())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    prefix = short_name("bu")
    names = [f"{prefix}-{i}" for i in range(count)]
    api = lxd.api()
    try:
        for name in names:  # nobody reads the queue meanwhile
            api.post("profiles", json={"name": name})
        deadline = time.monotonic() + 30
        while sink.dropped + sink.queue.qsize() < count and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        watcher.join()
        assert max(biggest) <= 50
        assert sink.queue.qsize() == 50
        assert sink.dropped == count - 50
        assert heard.listener.thread.is_alive() and heard.listener.connected.is_set()
        kept = [path_of(e) for e in heard.drain()]
        assert kept == [f"/1.0/profiles/{name}" for name in names[-50:]]
    finally:
        stop.set()
        for name in names:
            try:
                api.delete(f"profiles/{name}")
            except core.APINotFoundException:
                pass
