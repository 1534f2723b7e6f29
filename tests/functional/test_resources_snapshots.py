"""lxdapi.snapshot_present / snapshot_absent against the real daemon."""

import pytest

from resources_support import cleanup, held, make_container, short_name  # noqa: F401


@pytest.fixture
def container(lxd, cleanup, unique_name):
    """A stopped busybox container, deleted (with its snapshots) at teardown."""
    return make_container(lxd, cleanup, unique_name)


def _snapshot(api, container, name, **params):
    return held(api, f"instances/{container}/snapshots/{name}", **params)


def test_create_noop_test_mode_absent_twice(states, api, container, request_log):
    request_log.clear()
    ret = states.lxdapi.snapshot_present(name="snap0", container=container, test=True)
    assert ret.result is None
    assert ret.changes == {"snapshot": {"old": None, "new": "snap0"}}
    assert request_log.writes == []
    assert _snapshot(api, container, "snap0") is None

    ret = states.lxdapi.snapshot_present(name="snap0", container=container)
    assert ret.result is True, ret.comment
    assert "created" in ret.comment
    assert ret.changes == {"snapshot": {"old": None, "new": "snap0"}}
    snapshot = _snapshot(api, container, "snap0")
    assert snapshot["name"] == "snap0" and snapshot["stateful"] is False

    request_log.clear()
    ret = states.lxdapi.snapshot_present(name="snap0", container=container)
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []

    ret = states.lxdapi.snapshot_absent(name="snap0", container=container, test=True)
    assert ret.result is None
    assert ret.changes == {"snapshot": {"old": "snap0", "new": None}}
    assert request_log.writes == []
    assert _snapshot(api, container, "snap0") is not None

    ret = states.lxdapi.snapshot_absent(name="snap0", container=container)
    assert ret.result is True, ret.comment
    assert ret.changes == {"snapshot": {"old": "snap0", "new": None}}
    assert _snapshot(api, container, "snap0") is None

    request_log.clear()
    ret = states.lxdapi.snapshot_absent(name="snap0", container=container)
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


def test_existing_snapshot_is_never_retaken(states, api, lxd, container, request_log):
    lxd.lxc("snapshot", container, "snap1")
    before = _snapshot(api, container, "snap1")
    request_log.clear()
    ret = states.lxdapi.snapshot_present(name="snap1", container=container, stateful=True)
    assert ret.result is True and ret.changes == {}
    assert "not stateful" in ret.comment
    assert request_log.writes == []
    assert _snapshot(api, container, "snap1") == before


def test_bad_input_fails_and_changes_nothing(states, api, container, unique_name):
    # a stateful snapshot needs a running instance (Incus: migration.stateful): the
    # server's refusal is the comment
    ret = states.lxdapi.snapshot_present(name="live", container=container, stateful=True)
    assert ret.result is False
    assert {"lxd": "running", "incus": "migration.stateful"}[api.server_kind] in ret.comment
    assert _snapshot(api, container, "live") is None

    ret = states.lxdapi.snapshot_present(name="snap0", container=unique_name + "-nope")
    assert ret.result is False
    assert "does not exist" in ret.comment and unique_name + "-nope" in ret.comment

    ret = states.lxdapi.snapshot_present(name="a/b", container=container)
    assert ret.result is False
    assert "cannot contain '/'" in ret.comment
    assert held(api, f"instances/{container}/snapshots") == []

    ret = states.lxdapi.snapshot_present(name="s", container=container, stateful="maybe")
    assert ret.result is False
    assert "stateful" in ret.comment


def test_snapshot_in_a_project(states, api, lxd, cleanup, unique_name):
    project = short_name("t5p")
    cleanup(["project", "delete", project])
    lxd.lxc(
        "project", "create", project, "-c", "features.images=false", "-c", "features.profiles=false"
    )
    container = make_container(lxd, cleanup, unique_name, project=project)
    ret = states.lxdapi.snapshot_present(name="snap0", container=container, project=project)
    assert ret.result is True, ret.comment
    assert _snapshot(api, container, "snap0", project=project)["name"] == "snap0"
    ret = states.lxdapi.snapshot_absent(name="snap0", container=container, project=project)
    assert ret.result is True and ret.changes
    assert _snapshot(api, container, "snap0", project=project) is None
