"""Execution module: snapshot_list, snapshot_create, snapshot_restore, snapshot_delete."""

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError


@pytest.fixture
def container(lxd, unique_name):
    """A stopped busybox container (snapshots of a stopped one are quick)."""
    lxd.lxc("init", "busybox", unique_name)
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


def snapshots_on_server(api, name):
    return sorted(
        u.rsplit("/", 1)[-1] for u in api.get(api.instance_path(name, "snapshots")).metadata
    )


def test_create_list_delete(modules, api, container):
    assert modules.lxdapi.snapshot_list(container) == []
    assert modules.lxdapi.snapshot_create(container, "before") == "before"
    assert snapshots_on_server(api, container) == ["before"]
    assert modules.lxdapi.snapshot_list(container) == ["before"]
    detailed = modules.lxdapi.snapshot_list(container, recursion=1)
    assert [s["name"] for s in detailed] == ["before"]
    assert detailed[0]["stateful"] is False
    assert modules.lxdapi.snapshot_delete(container, "before") is True
    assert snapshots_on_server(api, container) == []
    assert modules.lxdapi.snapshot_delete(container, "before") is False


def test_create_without_a_name_returns_lxds_name(modules, api, container):
    first = modules.lxdapi.snapshot_create(container)
    second = modules.lxdapi.snapshot_create(container)
    assert (first, second) == ("snap0", "snap1")
    assert snapshots_on_server(api, container) == ["snap0", "snap1"]


def test_create_existing_is_refused(modules, api, container, request_log):
    modules.lxdapi.snapshot_create(container, "s1")
    request_log.clear()
    with pytest.raises(CommandExecutionError, match="snapshot 's1' of .* already exists"):
        modules.lxdapi.snapshot_create(container, "s1")
    assert request_log.writes == []
    assert snapshots_on_server(api, container) == ["s1"]


def test_create_bad_input(modules, api, container, unique_name):
    with pytest.raises(SaltInvocationError, match="cannot contain '/'"):
        modules.lxdapi.snapshot_create(container, "a/b")
    with pytest.raises(SaltInvocationError, match="snapshot must be a non-empty name"):
        modules.lxdapi.snapshot_create(container, "")
    assert snapshots_on_server(api, container) == []
    with pytest.raises(CommandExecutionError, match="not found"):
        modules.lxdapi.snapshot_create(unique_name + "-absent", "s1")


def test_restore_brings_back_files_and_config(modules, api, container):
    api.patch(api.instance_path(container), json={"config": {"user.stage": "before"}})
    modules.lxdapi.container_file_put(container, "/root/data", contents="version 1")
    modules.lxdapi.snapshot_create(container, "v1")
    modules.lxdapi.container_file_put(container, "/root/data", contents="version 2")
    modules.lxdapi.container_config_set(container, "user.stage", "after")

    assert modules.lxdapi.snapshot_restore(container, "v1") is True

    data = api.get(api.instance_path(container, "files"), params={"path": "/root/data"})
    assert data.response.content == b"version 1"
    assert api.get(api.instance_path(container)).metadata["config"]["user.stage"] == "before"


def test_restore_unknown_snapshot(modules, api, container):
    with pytest.raises(CommandExecutionError, match="has no snapshot 'nope'"):
        modules.lxdapi.snapshot_restore(container, "nope")
    assert api.get(api.instance_path(container)).metadata["status"] == "Stopped"


def test_absent_container(modules, unique_name):
    assert modules.lxdapi.snapshot_list(unique_name) is False
    assert modules.lxdapi.snapshot_delete(unique_name, "s1") is False
    with pytest.raises(CommandExecutionError, match="has no snapshot"):
        modules.lxdapi.snapshot_restore(unique_name, "s1")
