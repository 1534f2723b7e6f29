"""The pure parts of the event stream (issue 24): messages checked, actions, filters,
tags and payloads, timestamps, the resync comparison, the write journal and how events
are matched to this host's own writes, the bounded queue."""

import json
import os
import stat

import pytest

import lxdapi_events as events
from conftest import core  # noqa: F401 - the core loaded first, as everywhere

STAMP = "2024-05-01T10:00:00.123456789Z"


def event(kind="lifecycle", **meta):
    return {"type": kind, "timestamp": STAMP, "metadata": meta}


# ------------------------------------------------------------------ messages


def test_parse_event_takes_an_event():
    text = json.dumps(event(action="instance-started", source="/1.0/instances/a"))
    assert events.parse_event(text, "local")["metadata"]["action"] == "instance-started"
    assert events.parse_event(text.encode(), "local")["type"] == "lifecycle"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hello", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "a JSON list, not an object"),
        ('"text"', "a JSON str, not an object"),
        ("null", "a JSON NoneType, not an object"),
        ('{"metadata": {}, "timestamp": "x"}', "no event type"),
        ('{"type": "lifecycle", "timestamp": "x"}', "its metadata is not an object"),
        ('{"type": "lifecycle", "timestamp": "x", "metadata": []}', "its metadata is not"),
        ('{"type": "lifecycle", "metadata": {}}', "no timestamp"),
    ],
)
def test_parse_event_refuses_what_is_not_one(text, problem):
    with pytest.raises(events.EventStreamError) as info:
        events.parse_event(text, "rack2")
    message = str(info.value)
    assert "the server rack2 sent on its event stream something that is not an event" in message
    assert f"({problem}" in message
    assert len(message) < 300


def test_parse_event_quotes_only_the_first_bytes():
    with pytest.raises(events.EventStreamError) as info:
        events.parse_event("x" * 100000, "local")
    assert len(str(info.value)) < 300


# ------------------------------------------------------- actions, filters, tags


def test_event_action_of_each_type():
    assert events.event_action(event(action="instance-started")) == "instance-started"
    assert events.event_action(event()) == "unknown"
    operation = event("operation", **{"class": "task", "status": "Running"})
    assert events.event_action(operation) == "task-running"  # as documented: lower case
    assert events.event_action(event("operation", status="Success")) == "operation-success"
    assert events.event_action(event("logging", level="warn")) == "warning"
    assert events.event_action(event("logging", level="ERROR")) == "error"
    assert events.event_action(event("logging")) == "info"
    assert events.event_action({"type": "other", "metadata": {}}) == "other"


def test_wanted_filters_actions_and_levels():
    started = event(action="instance-started")
    assert events.wanted(started)
    assert events.wanted(started, actions=["instance-*"])
    assert events.wanted(started, actions=["profile-*", "instance-st*"])
    assert not events.wanted(started, actions=["instance-stopped"])
    assert not events.wanted(started, actions=["Instance-*"])  # globs are case-sensitive
    task = event("operation", **{"class": "task", "status": "Success"})
    assert events.wanted(task, actions=["task-success"])
    # levels: the chosen one and above
    assert events.wanted(event("logging", level="error"), level="warning")
    assert events.wanted(event("logging", level="warn"), level="warning")
    assert not events.wanted(event("logging", level="info"), level="warning")
    assert not events.wanted(event("logging", level="debug"), level="info")
    assert events.wanted(event("logging", level="debug"), level="debug")
    assert events.wanted(event("logging", level="odd"), level="error")  # unknown: kept
    assert events.wanted(started, level="crit")  # levels are about logging events
    # both filters
    assert not events.wanted(event("logging", level="error"), actions=["crit"], level="info")


def test_event_tag_and_payload():
    e = event(action="instance-stopped", source="/1.0/instances/web1")
    e["project"], e["location"] = "prod", "member1"
    assert events.event_tag("lxdapi", "local", e) == "lxdapi/local/lifecycle/instance-stopped"
    assert (
        events.event_tag("/my/prefix/", "rack2", e) == "my/prefix/rack2/lifecycle/instance-stopped"
    )
    payload = events.event_payload("local", e, minion="m1")
    assert payload == {
        "server": "local",
        "type": "lifecycle",
        "action": "instance-stopped",
        "timestamp": STAMP,
        "project": "prod",
        "location": "member1",
        "metadata": e["metadata"],
        "own": False,
        "resync": False,
        "id": "m1",
    }
    assert events.event_payload("local", event())["project"] == "default"
    assert "id" not in events.event_payload("local", event())
    e["own"] = e["resync"] = True
    payload = events.event_payload("local", e)
    assert payload["own"] is True and payload["resync"] is True


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [
        ("2024-05-01T10:00:00.123456789Z", 1714557600.123456789),
        ("2024-05-01T10:00:00Z", 1714557600.0),
        ("2024-05-01T10:00:00.5Z", 1714557600.5),
        ("2024-05-01T12:00:00.25+02:00", 1714557600.25),
        ("2024-05-01T05:30:00-04:30", 1714557600.0),
        ("2024-05-01T10:00:00", 1714557600.0),
    ],
)
def test_event_time(stamp, seconds):
    assert events.event_time({"timestamp": stamp}) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize("stamp", [None, "", "yesterday", "2024-13-45T10:00:00Z", 12, "2024-05-01"])
def test_event_time_of_no_timestamp(stamp):
    assert events.event_time({"timestamp": stamp}) is None


# ------------------------------------------------------------ query and types


def test_events_query():
    assert events.events_query() == "type=lifecycle"
    assert events.events_query(("lifecycle", "logging"), "prod") == (
        "type=lifecycle%2Clogging&project=prod"
    )
    assert events.events_query(("operation",), "*") == "type=operation&all-projects=true"
    assert events.events_query(("lifecycle",), "a b&c") == "type=lifecycle&project=a+b%26c"


def test_check_types():
    assert events.check_types(None) == ("lifecycle",)
    assert events.check_types("lifecycle, operation") == ("lifecycle", "operation")
    assert events.check_types(["logging", "logging", "lifecycle"]) == ("logging", "lifecycle")
    assert events.check_types(("operation",)) == ("operation",)
    for wrong in ("lifecycles", ["lifecycle", "other"]):
        with pytest.raises(ValueError, match="unknown event type"):
            events.check_types(wrong)
    for wrong in ("", [], 3, {"lifecycle": True}):
        with pytest.raises(ValueError, match="types must name event types"):
            events.check_types(wrong)


# ------------------------------------------------------------------ resync


def test_snapshot_changes():
    running = {"status": "Running", "digest": "a"}
    old = {
        "default/same": running,
        "default/gone": running,
        "default/config": running,
        "default/stopped": running,
        "prod/paused": running,
        "default/resumed": {"status": "Frozen", "digest": "a"},
        "default/both": {"status": "Stopped", "digest": "a"},
    }
    new = {
        "default/same": running,
        "default/config": {"status": "Running", "digest": "b"},
        "default/stopped": {"status": "Stopped", "digest": "a"},
        "prod/paused": {"status": "Frozen", "digest": "a"},
        "default/resumed": running,
        "default/both": {"status": "Running", "digest": "b"},
        "prod/new": {"status": "Stopped", "digest": "c"},
    }
    changes = events.snapshot_changes(old, new)
    found = sorted(
        (e["project"], e["metadata"]["source"], e["metadata"]["action"]) for e in changes
    )
    assert found == [
        ("default", "/1.0/instances/both", "instance-started"),
        ("default", "/1.0/instances/both", "instance-updated"),
        ("default", "/1.0/instances/config", "instance-updated"),
        ("default", "/1.0/instances/gone", "instance-deleted"),
        ("default", "/1.0/instances/resumed", "instance-resumed"),
        ("default", "/1.0/instances/stopped", "instance-stopped"),
        ("prod", "/1.0/instances/new", "instance-created"),
        ("prod", "/1.0/instances/paused", "instance-paused"),
    ]
    for e in changes:
        assert e["resync"] is True and e["type"] == "lifecycle"
        assert e["metadata"]["project"] == e["project"]
        assert events.event_time(e) is not None
        payload = events.event_payload("local", e)
        assert payload["resync"] is True and payload["project"] == e["project"]
    gone = [e for e in changes if e["metadata"]["action"] == "instance-deleted"][0]
    assert gone["metadata"]["old"] == running and gone["metadata"]["new"] is None
    assert events.snapshot_changes(old, old) == []
    assert events.snapshot_changes({}, {}) == []
    odd = events.snapshot_changes(
        {"default/x": running}, {"default/x": {"status": "Error", "digest": "a"}}
    )
    assert [e["metadata"]["action"] for e in odd] == ["instance-status-changed"]


# -------------------------------------------------------------- own writes


class FakeAPI:
    display_endpoint = "/var/lib/lxd/unix.socket"


def write(journal, method, path, name=None, api=None):
    journal.record(api or FakeAPI(), method, "http+unix://%2Fsock" + path + "?project=x", name)


def test_write_journal_file(tmp_path, monkeypatch):
    path = str(tmp_path / "cache" / "lxdapi" / "writes.jsonl")
    journal = events.WriteJournal(path)
    write(journal, "POST", "/1.0/instances", "web1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as fh:
        entry = json.loads(fh.readline())
    assert entry["endpoint"] == "/var/lib/lxd/unix.socket"
    assert (entry["method"], entry["path"], entry["name"]) == ("POST", "/1.0/instances", "web1")
    monkeypatch.setattr(events, "JOURNAL_MAX", 100)
    for _ in range(5):
        write(journal, "PUT", "/1.0/instances/web1")
    assert os.path.getsize(path) < 400  # started again past JOURNAL_MAX
    # a journal that cannot be written never refuses the write
    events.WriteJournal(str(tmp_path / "cache" / "lxdapi" / "writes.jsonl" / "x")).record(
        FakeAPI(), "PUT", "http+unix://x/1.0/instances/a", None
    )


@pytest.fixture
def journal(tmp_path):
    return events.WriteJournal(str(tmp_path / "writes.jsonl"))


def test_own_writes_match_what_they_touched(journal):
    own = events.OwnWrites(journal.path)
    socket = FakeAPI.display_endpoint
    assert not own.matches(socket, "/1.0/instances/web1")  # no journal yet
    write(journal, "POST", "/1.0/instances", "web1")
    write(journal, "PUT", "/1.0/instances/web2/state")
    write(journal, "PATCH", "/1.0/profiles/p1")
    assert own.matches(socket, "/1.0/instances/web1", action="instance-created")
    assert own.matches(socket, "/1.0/instances/web1?project=x", action="instance-started")
    assert own.matches(socket, "/1.0/instances/web2", action="instance-started")
    assert own.matches(socket, "/1.0/profiles/p1", action="profile-updated")
    assert not own.matches(socket, "/1.0/instances/web3", action="instance-created")
    assert not own.matches(socket, "/1.0/instances/web", action="instance-created")  # a prefix
    assert not own.matches("https://other:8443", "/1.0/profiles/p1", action="profile-updated")
    assert not own.matches(socket, "", action="instance-created")
    assert not own.matches(socket, None)


def test_own_writes_explain_one_event_of_each_action(journal):
    own = events.OwnWrites(journal.path)
    socket = FakeAPI.display_endpoint
    write(journal, "POST", "/1.0/profiles", "p1")
    write(journal, "PATCH", "/1.0/profiles/p1")
    assert own.matches(socket, "/1.0/profiles/p1", action="profile-created")
    assert own.matches(socket, "/1.0/profiles/p1", action="profile-updated")
    # a person changing it right after: not this host's
    assert not own.matches(socket, "/1.0/profiles/p1", action="profile-updated")
    # the creation alone explains no change nor removal after it
    write(journal, "POST", "/1.0/profiles", "p2")
    assert not own.matches(socket, "/1.0/profiles/p2", action="profile-updated")
    assert not own.matches(socket, "/1.0/profiles/p2", action="profile-deleted")
    assert own.matches(socket, "/1.0/profiles/p2", action="profile-created")
    # a start (.../state) explains the start, not a change of the instance's config
    write(journal, "PUT", "/1.0/instances/web1/state")
    assert not own.matches(socket, "/1.0/instances/web1", action="instance-updated")
    assert own.matches(socket, "/1.0/instances/web1", action="instance-started")
    assert not own.matches(socket, "/1.0/instances/web1", action="instance-started")
    # two writes, two events
    write(journal, "PATCH", "/1.0/instances/web1")
    write(journal, "PATCH", "/1.0/instances/web1")
    assert own.matches(socket, "/1.0/instances/web1", action="instance-updated")
    assert own.matches(socket, "/1.0/instances/web1", action="instance-updated")
    assert not own.matches(socket, "/1.0/instances/web1", action="instance-updated")
    # without an action: any write touching it, none used up
    assert own.matches(socket, "/1.0/instances/web1")
    assert own.matches(socket, "/1.0/instances/web1")


def test_own_writes_window_and_journal_restarts(journal, monkeypatch):
    own = events.OwnWrites(journal.path, window=60)
    socket = FakeAPI.display_endpoint
    write(journal, "DELETE", "/1.0/profiles/old")
    with open(journal.path) as fh:
        later = json.loads(fh.readline())["time"] + 61
    assert not own.matches(socket, "/1.0/profiles/old", now=later, action="profile-deleted")
    assert own.matches(socket, "/1.0/profiles/old", action="profile-deleted")
    # a journal started again past JOURNAL_MAX: what the full one holds unread is read,
    # then the new one from its start
    write(journal, "DELETE", "/1.0/profiles/last-of-the-full-one")
    monkeypatch.setattr(events, "JOURNAL_MAX", 10)
    write(journal, "DELETE", "/1.0/profiles/new")  # in a new file
    assert os.path.exists(journal.path + ".1")
    assert own.matches(socket, "/1.0/profiles/new", action="profile-deleted")
    assert own.matches(socket, "/1.0/profiles/last-of-the-full-one", action="profile-deleted")
    monkeypatch.setattr(events, "JOURNAL_MAX", 1 << 20)
    # half a line (a write being recorded) waits for its end; bad lines are skipped
    with open(journal.path, "a") as fh:
        fh.write("not json\n[1]\n" + json.dumps({"time": "soon", "path": "/1.0/x"}) + "\n")
        line = json.dumps(
            {
                "time": own.writes[-1]["time"],
                "endpoint": socket,
                "method": "DELETE",
                "path": "/1.0/profiles/half",
                "name": None,
            }
        )
        fh.write(line[:20])
    assert not own.matches(socket, "/1.0/profiles/half", action="profile-deleted")
    with open(journal.path, "a") as fh:
        fh.write(line[20:] + "\n")
    assert own.matches(socket, "/1.0/profiles/half", action="profile-deleted")


def test_own_event(journal):
    own = events.OwnWrites(journal.path)
    socket = FakeAPI.display_endpoint
    write(journal, "PUT", "/1.0/instances/web1/state")
    started = event(action="instance-started", source="/1.0/instances/web1")
    assert events.own_event(started, socket, own)
    assert not events.own_event(started, socket, own)  # explained once
    assert not events.own_event(started, socket, None)
    # over HTTPS: the requestor is this client's certificate
    mine = event(action="profile-created", requestor={"username": "AB12", "protocol": "tls"})
    assert events.own_event(mine, "https://h:8443", None, fingerprint="ab12")
    assert not events.own_event(mine, "https://h:8443", None, fingerprint="cd34")
    # only lifecycle events are matched with writes
    write(journal, "PUT", "/1.0/instances/web1/state")
    task = event("operation", resources={"instances": ["/1.0/instances/web1"]})
    assert not events.own_event(task, socket, own)


# -------------------------------------------------------------------- queue


def test_bounded_queue_drops_the_oldest():
    sink = events.BoundedQueue(3)
    for i in range(10):
        sink.put(i)
    assert sink.dropped == 7
    assert [sink.get(timeout=0.1) for _ in range(4)] == [7, 8, 9, None]
