"""The server's warnings (``/1.0/warnings``): the execution functions, the
``warning_acknowledged`` state and the beacon's warning events, against the real daemons.

Both daemons raise a few warnings of their own at startup on these hosts (AppArmor
disabled, CGroup controllers missing, no vhost_vsock): the server's own, of no project.
Those are only read here. The warnings a test acknowledges or deletes are raised by the
daemon itself through its testing endpoint (``POST /internal/testing/warnings`` on LXD,
``/internal/debug/warnings`` on Incus: the very upsert the daemon uses for its own), in a
project of the test's own, so that tests never touch each other's warnings; deleting the
project deletes them.
"""

import json

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from resources_support import cleanup, short_name  # noqa: F401

#: The warning type codes used here, by server (the two numberings differ after 15).
UNDEFINED, BLKIO_WEIGHT = 0, 2
NETWORK_UNAVAILABLE = {"lxd": 20, "incus": 19}  # severity high

UNDEFINED_TYPE = "Undefined warning"
BLKIO_TYPE = "Couldn't find the CGroup blkio.weight"


@pytest.fixture
def project(lxd, cleanup):
    """A fresh project (its warnings go with it at teardown)."""
    name = short_name("t16w")
    lxd.lxc("project", "create", name)
    cleanup(["project", "delete", name])
    return name


def raise_warning(lxd, project, type_code=UNDEFINED, message="raised by the lxdapi tests"):
    """Have the daemon record a warning in ``project`` (or update the one it has of that
    type there: same UUID, one more ``count``); return the warnings of the project."""
    path = "/internal/testing/warnings" if lxd.server == "lxd" else "/internal/debug/warnings"
    body = {"type_code": type_code, "message": message, "project": project}
    lxd.lxc("query", "--wait", "-X", "POST", "-d", json.dumps(body), path)
    return project_warnings(lxd, project)


def project_warnings(lxd, project):
    """``{type: warning}`` of the warnings of ``project``, read with the daemon's client."""
    found = json.loads(lxd.lxc("query", "/1.0/warnings?recursion=1&project=" + project))
    return {w["type"]: w for w in found or []}


# ------------------------------------------------------------------ execution functions


def test_warnings_are_listed_read_and_filtered(modules, lxd, project):
    mine = raise_warning(lxd, project)[UNDEFINED_TYPE]
    uuid = mine["uuid"]
    assert mine["status"] == "new" and mine["project"] == project

    # every warning of the server, the server's own (no project) among them
    everything = modules.lxdapi.warning_list(recursion=1)
    assert uuid in [w["uuid"] for w in everything]
    assert modules.lxdapi.warning_list() == [w["uuid"] for w in everything]
    own = [w for w in everything if w["project"] == ""]
    assert own, f"the {lxd.server} daemon raised no warning of its own at startup"
    assert all(w["severity"] in ("low", "moderate", "high") for w in everything)

    # the connection's project: that project's warnings only
    assert modules.lxdapi.warning_list(project=project) == [uuid]
    assert modules.lxdapi.warning_list(project=project, status="acknowledged") == []
    assert modules.lxdapi.warning_list(project=project, status=["new", "resolved"]) == [uuid]
    assert modules.lxdapi.warning_list(type=UNDEFINED_TYPE, project=project) == [uuid]
    assert modules.lxdapi.warning_list(type=BLKIO_TYPE, project=project) == []
    assert modules.lxdapi.warning_list(severity="high", project=project) == []

    got = modules.lxdapi.warning_get(uuid)
    assert got["type"] == UNDEFINED_TYPE and got["last_message"] == "raised by the lxdapi tests"
    assert modules.lxdapi.warning_get(uuid.upper())["uuid"] == uuid
    assert modules.lxdapi.warning_get(own[0]["uuid"])["type"] == own[0]["type"]
    assert modules.lxdapi.warning_get("00000000-0000-0000-0000-000000000000") is False

    # the same problem seen again: the same warning, counted
    again = raise_warning(lxd, project, message="seen again")[UNDEFINED_TYPE]
    assert again["uuid"] == uuid and again["count"] == 2
    assert modules.lxdapi.warning_get(uuid)["last_message"] == "seen again"


def test_acknowledge_then_delete(modules, lxd, project, request_log):
    uuid = raise_warning(lxd, project)[UNDEFINED_TYPE]["uuid"]
    assert modules.lxdapi.warning_acknowledge(uuid) is True
    assert project_warnings(lxd, project)[UNDEFINED_TYPE]["status"] == "acknowledged"
    request_log.clear()
    assert modules.lxdapi.warning_acknowledge(uuid) is False  # nothing sent
    assert request_log.writes == []
    # an acknowledged warning seen again stays acknowledged
    assert raise_warning(lxd, project)[UNDEFINED_TYPE]["status"] == "acknowledged"

    assert modules.lxdapi.warning_delete(uuid) is True
    assert project_warnings(lxd, project) == {}
    assert modules.lxdapi.warning_get(uuid) is False
    request_log.clear()
    assert modules.lxdapi.warning_delete(uuid) is False
    assert request_log.writes == []
    # LXD 5.0 answers a PUT of a UUID it does not know with success: it is read first
    with pytest.raises(CommandExecutionError, match=f"no warning {uuid}"):
        modules.lxdapi.warning_acknowledge(uuid)
    assert request_log.writes == []
    # the server records the problem again under another UUID
    assert raise_warning(lxd, project)[UNDEFINED_TYPE]["uuid"] != uuid


def test_warning_functions_bad_input(modules, lxd, project, request_log):
    request_log.clear()
    for call, problem in [
        (lambda: modules.lxdapi.warning_get("web1"), "must be a warning's UUID"),
        (lambda: modules.lxdapi.warning_acknowledge(""), "must be a warning's UUID"),
        (lambda: modules.lxdapi.warning_delete(None), "must be a warning's UUID"),
        (lambda: modules.lxdapi.warning_list(status="open"), "status must be one of new"),
        (lambda: modules.lxdapi.warning_list(severity=["low", 3]), "severity must be one of"),
        (lambda: modules.lxdapi.warning_list(type=7), "type must be a warning type"),
        (lambda: modules.lxdapi.warning_list(recursion=5), "recursion must be 0, 1 or 2"),
        (lambda: modules.lxdapi.warning_list(color="red"), "unexpected argument"),
    ]:
        with pytest.raises(SaltInvocationError, match=problem):
            call()
    with pytest.raises(CommandExecutionError, match="project 'no-such-project' does not exist"):
        modules.lxdapi.warning_list(project="no-such-project")
    assert request_log.writes == []


# ---------------------------------------------------------------------------- the state


def test_acknowledged_by_uuid_test_mode_then_real_then_noop(states, lxd, project, request_log):
    uuid = raise_warning(lxd, project)[UNDEFINED_TYPE]["uuid"]
    mine = f"{UNDEFINED_TYPE} ({uuid})"

    request_log.clear()
    ret = states.lxdapi.warning_acknowledged(name=uuid, test=True)
    assert ret.result is None, ret.comment
    assert ret.changes == {uuid: {"old": "new", "new": "acknowledged"}}
    assert ret.comment == f"Would acknowledge: {mine}."
    assert request_log.writes == []
    assert project_warnings(lxd, project)[UNDEFINED_TYPE]["status"] == "new"

    ret = states.lxdapi.warning_acknowledged(name=uuid)
    assert ret.result is True, ret.comment
    assert ret.changes == {uuid: {"old": "new", "new": "acknowledged"}}
    assert ret.comment == f"Acknowledged: {mine}."
    assert [m for m, _, _ in request_log.writes] == ["PUT"]
    assert project_warnings(lxd, project)[UNDEFINED_TYPE]["status"] == "acknowledged"

    request_log.clear()
    for test in (False, True):
        ret = states.lxdapi.warning_acknowledged(name=uuid, test=test)
        assert ret.result is True and ret.changes == {}, ret.comment
        assert ret.comment == f"Already acknowledged: {mine}."
    assert request_log.writes == []


def test_acknowledged_by_type_and_severity(states, lxd, project, request_log):
    raise_warning(lxd, project, UNDEFINED)
    raise_warning(lxd, project, BLKIO_WEIGHT)
    held_now = raise_warning(lxd, project, NETWORK_UNAVAILABLE[lxd.server])
    high = [w for w in held_now.values() if w["severity"] == "high"]
    assert len(held_now) == 3 and len(high) == 1

    # every warning of a type, of the connection's project only
    ret = states.lxdapi.warning_acknowledged(
        name="quiet-blkio", type=BLKIO_TYPE, project=project, test=True
    )
    assert ret.result is None and list(ret.changes) == [held_now[BLKIO_TYPE]["uuid"]]
    ret = states.lxdapi.warning_acknowledged(name="quiet-blkio", type=BLKIO_TYPE, project=project)
    assert ret.result is True, ret.comment
    assert ret.changes == {held_now[BLKIO_TYPE]["uuid"]: {"old": "new", "new": "acknowledged"}}
    statuses = {t: w["status"] for t, w in project_warnings(lxd, project).items()}
    assert statuses[BLKIO_TYPE] == "acknowledged"
    assert sorted(statuses.values()) == ["acknowledged", "new", "new"]

    # by severity
    ret = states.lxdapi.warning_acknowledged(name="quiet-high", severity="high", project=project)
    assert ret.result is True and list(ret.changes) == [high[0]["uuid"]], ret.comment
    assert project_warnings(lxd, project)[high[0]["type"]]["status"] == "acknowledged"

    # the rest, then nothing more to do
    ret = states.lxdapi.warning_acknowledged(name="all-low", severity=["low"], project=project)
    assert list(ret.changes) == [held_now[UNDEFINED_TYPE]["uuid"]], ret.comment
    request_log.clear()
    ret = states.lxdapi.warning_acknowledged(name="all-low", severity="low", project=project)
    assert ret.result is True and ret.changes == {}
    assert ret.comment.startswith("Already acknowledged: ")
    assert request_log.writes == []

    # a type the project has no warning of: nothing to do, and the comment says which it has
    ret = states.lxdapi.warning_acknowledged(
        name="typo", type="AppArmor support has been disabeld", project=project
    )
    assert ret.result is True and ret.changes == {}
    assert "has no warning of type 'AppArmor support has been disabeld'" in ret.comment
    assert BLKIO_TYPE in ret.comment
    assert request_log.writes == []


def test_a_warning_the_server_does_not_have(states, request_log):
    request_log.clear()
    ret = states.lxdapi.warning_acknowledged(name="00000000-0000-0000-0000-000000000000")
    assert ret.result is True and ret.changes == {}
    assert "has no warning 00000000-0000-0000-0000-000000000000" in ret.comment
    assert request_log.writes == []


@pytest.mark.parametrize(
    "declared, problem",
    [
        ({"name": "quiet-everything"}, "must be a warning's UUID"),
        ({"name": "x", "severity": "urgent"}, "severity must be one of low, moderate, high"),
        ({"name": "x", "type": ["a"]}, "type must be a warning type"),
        ({"name": "", "type": UNDEFINED_TYPE}, "name must be a non-empty name"),
        ({"name": "x", "type": UNDEFINED_TYPE, "status": "new"}, "unexpected argument(s): status"),
        ({"name": "x", "type": UNDEFINED_TYPE, "project": "no-such-p"}, "project 'no-such-p'"),
    ],
)
def test_warning_acknowledged_bad_input(states, lxd, project, request_log, declared, problem):
    raise_warning(lxd, project)
    request_log.clear()
    ret = states.lxdapi.warning_acknowledged(**declared)
    assert ret.result is False
    assert problem in ret.comment, ret.comment
    assert "Traceback" not in ret.comment
    assert ret.changes == {}
    assert request_log.writes == []
    assert project_warnings(lxd, project)[UNDEFINED_TYPE]["status"] == "new"


# --------------------------------------------------------------------------- the beacon


@pytest.fixture
def beacons(minion_opts):
    import salt.beacons
    import salt.loader

    opts = dict(minion_opts)
    return salt.beacons.Beacon(opts, salt.loader.minion_mods(opts))


def _warning_events(beacons, project, **options):
    config = {"lxdapi": [{"warnings": True}, {"project": project}]}
    config["lxdapi"] += [{k: v} for k, v in options.items()]
    events = beacons.process(config, {}) or []
    return [e for e in events if "/warning/" in e["tag"]]


def test_the_beacon_fires_once_per_new_warning(beacons, lxd, project, modules):
    assert _warning_events(beacons, project) == []  # the first look only records
    first = raise_warning(lxd, project)[UNDEFINED_TYPE]
    events = _warning_events(beacons, project)
    assert [e["tag"] for e in events] == [
        "salt/beacon/{}/lxdapi/warning/{}".format(beacons.opts["id"], first["uuid"])
    ]
    data = events[0]["data"]
    assert data["warning"] == first["uuid"] and data["type"] == UNDEFINED_TYPE
    assert data["status"] == "new" and data["project"] == project
    assert data["message"] == "raised by the lxdapi tests" and data["severity"] == "low"

    assert _warning_events(beacons, project) == []  # once per warning
    raise_warning(lxd, project, message="seen again")  # the same warning, counted
    assert _warning_events(beacons, project) == []

    second = raise_warning(lxd, project, BLKIO_WEIGHT)[BLKIO_TYPE]
    assert [e["data"]["warning"] for e in _warning_events(beacons, project)] == [second["uuid"]]

    # one acknowledged before the beacon looks is not news
    third = raise_warning(lxd, project, NETWORK_UNAVAILABLE[lxd.server])
    high = [w for w in third.values() if w["severity"] == "high"][0]
    modules.lxdapi.warning_acknowledge(high["uuid"])
    assert _warning_events(beacons, project) == []

    # deleted, then raised again: another UUID, another event
    modules.lxdapi.warning_delete(first["uuid"])
    assert _warning_events(beacons, project) == []
    again = raise_warning(lxd, project)[UNDEFINED_TYPE]
    assert [e["data"]["warning"] for e in _warning_events(beacons, project)] == [again["uuid"]]


def test_the_beacon_warnings_option(beacons, lxd, project):
    held_now = raise_warning(lxd, project)
    # emit_at_start: the first look reports the warnings already there
    events = _warning_events(beacons, project, emit_at_start=True)
    assert [e["data"]["warning"] for e in events] == [held_now[UNDEFINED_TYPE]["uuid"]]
    assert _warning_events(beacons, project, emit_at_start=True) == []

    # without the option: no warning event, ever
    other = short_name("t16x")
    lxd.lxc("project", "create", other)
    try:
        config = {"lxdapi": [{"project": other}, {"emit_at_start": True}]}
        raise_warning(lxd, other)
        assert beacons.process(config, {}) == []
    finally:
        lxd.lxc("project", "delete", other, check=False)

    validate = beacons.beacons["lxdapi.validate"]
    assert validate([{"warnings": "yes"}]) == (
        False,
        "lxdapi beacon: warnings must be true or false",
    )
    assert validate([{"warnings": True}, {"interval": 30}])[0] is True


def test_the_beacon_logs_a_warning_listing_it_cannot_make(beacons, caplog):
    events = beacons.process({"lxdapi": [{"warnings": True}, {"project": "no-such-p"}]}, {})
    assert events == []
    assert "lxdapi beacon: cannot list the warnings" in caplog.text
