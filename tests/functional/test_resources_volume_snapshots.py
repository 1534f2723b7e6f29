"""Snapshots of custom storage volumes: the states, list/create/restore/delete, against
the real daemon; the restore is checked by what a container sees in the volume."""

import pytest
from salt.exceptions import CommandExecutionError

from resources_support import cleanup, held  # noqa: F401


@pytest.fixture
def volume(lxd, cleanup, unique_name):
    """A custom volume in the ``default`` pool, deleted at teardown."""
    name = unique_name[:50] + "-vol"
    cleanup(["storage", "volume", "delete", "default", name])
    lxd.lxc("storage", "volume", "create", "default", name)
    return name


def _snapshot(api, volume, name):
    return held(api, f"storage-pools/default/volumes/custom/{volume}/snapshots/{name}")


def test_snapshot_present_then_noop_then_absent(states, modules, api, volume, request_log):
    declared = dict(name="before", pool="default", volume=volume, description="v1")
    predicted = states.lxdapi.storage_volume_snapshot_present(test=True, **declared)
    assert predicted.result is None
    assert predicted.changes["storage_volume_snapshot"] == {"old": None, "new": "before"}
    assert request_log.writes == [] and _snapshot(api, volume, "before") is None

    ret = states.lxdapi.storage_volume_snapshot_present(**declared)
    assert ret.result is True, ret.comment
    assert _snapshot(api, volume, "before")["description"] == "v1"

    request_log.clear()
    again = states.lxdapi.storage_volume_snapshot_present(**declared)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []

    ret = states.lxdapi.storage_volume_snapshot_present(**dict(declared, description="v2"))
    assert ret.changes == {"description": {"old": "v1", "new": "v2"}}
    assert _snapshot(api, volume, "before")["description"] == "v2"
    assert modules.lxdapi.storage_volume_snapshot_list("default", volume) == ["before"]

    ret = states.lxdapi.storage_volume_snapshot_absent(name="before", pool="default", volume=volume)
    assert ret.result is True and ret.changes
    assert _snapshot(api, volume, "before") is None
    assert (
        states.lxdapi.storage_volume_snapshot_absent(
            name="before", pool="default", volume=volume
        ).changes
        == {}
    )
    assert modules.lxdapi.storage_volume_snapshot_delete("default", volume, "before") is False


def test_restore_brings_back_what_the_volume_held(modules, lxd, cleanup, api, volume, unique_name):
    name = unique_name[:50] + "-user"
    cleanup(["delete", "--force", name])
    lxd.lxc("launch", "busybox", name)
    lxd.lxc("storage", "volume", "attach", "default", volume, name, "/data")
    modules.lxdapi.container_file_put(name, "/data/state.txt", contents="first\n")
    modules.lxdapi.storage_volume_snapshot_create("default", volume, "s1")
    modules.lxdapi.container_file_put(name, "/data/state.txt", contents="second\n")

    with pytest.raises(CommandExecutionError):  # in use by a running container
        modules.lxdapi.storage_volume_snapshot_restore("default", volume, "s1")
    lxd.lxc("stop", "--force", name)
    assert modules.lxdapi.storage_volume_snapshot_restore("default", volume, "s1") is True
    lxd.lxc("start", name)
    assert modules.lxdapi.container_file_get(name, "/data/state.txt")["content"] == "first\n"

    with pytest.raises(CommandExecutionError, match="has no snapshot 'nope'"):
        modules.lxdapi.storage_volume_snapshot_restore("default", volume, "nope")
