"""Execution functions for profiles, networks, storage pools and volumes, projects.

Each: create, get, list, update (and a no-op update), delete (and again), duplicate
create and in-use delete refused; what the server holds is checked after each step.
"""

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from resources_support import cleanup, held, make_container, require_firewall_tool, short_name  # noqa: F401

NO_ADDRESSES = {"ipv4.address": "none", "ipv6.address": "none"}


def test_profile_functions(modules, api, lxd, unique_name, cleanup, request_log):
    fn = modules.lxdapi
    cleanup(["profile", "delete", unique_name])
    assert fn.profile_get(unique_name) is False
    created = fn.profile_create(
        unique_name,
        config={"user.a": 1},
        description="d",
        devices={"tmp": {"type": "disk", "source": "/tmp", "path": "/mnt"}},
    )
    assert created["config"] == {"user.a": "1"} and created["description"] == "d"
    assert held(api, "profiles/" + unique_name)["devices"]["tmp"]["path"] == "/mnt"
    assert fn.profile_get(unique_name)["config"] == {"user.a": "1"}
    assert unique_name in fn.profile_list()
    assert any(p["name"] == unique_name for p in fn.profile_list(recursion=True))

    with pytest.raises(CommandExecutionError, match="already exists"):
        fn.profile_create(unique_name)

    changes = fn.profile_update(unique_name, config={"user.b": 2}, devices={}, purge_devices=True)
    assert changes["config"] == {"old": {"user.b": None}, "new": {"user.b": "2"}}
    assert changes["devices"]["new"] == {"tmp": None}
    profile = held(api, "profiles/" + unique_name)
    assert profile["config"] == {"user.a": "1", "user.b": "2"} and profile["devices"] == {}
    request_log.clear()
    assert fn.profile_update(unique_name, config={"user.b": "2"}) == {}
    assert request_log.writes == []

    container = make_container(lxd, cleanup, unique_name + "-c", "-p", "default", "-p", unique_name)
    with pytest.raises(CommandExecutionError, match="in use by .*" + container):
        fn.profile_delete(unique_name)
    lxd.lxc("delete", "--force", container)
    assert fn.profile_delete(unique_name) is True
    assert held(api, "profiles/" + unique_name) is None
    assert fn.profile_delete(unique_name) is False

    with pytest.raises(CommandExecutionError, match="does not exist"):
        fn.profile_update(unique_name, config={"user.a": 1})
    with pytest.raises(CommandExecutionError, match="bogus"):
        fn.profile_create(unique_name, config={"bogus": 1})
    assert held(api, "profiles/" + unique_name) is None
    with pytest.raises(SaltInvocationError, match="config must be a mapping"):
        fn.profile_create(unique_name, config="user.a=1")
    with pytest.raises(SaltInvocationError, match="unexpected argument"):
        fn.profile_get(unique_name, colour="red")


def test_network_functions(modules, api, lxd, cleanup, unique_name):
    require_firewall_tool()
    fn = modules.lxdapi
    name = short_name("t5n")
    cleanup(["network", "delete", name])
    created = fn.network_create(name, config=NO_ADDRESSES, description="d")
    assert created["type"] == "bridge" and created["managed"] is True
    assert fn.network_get(name)["config"]["ipv4.address"] == "none"
    assert name in fn.network_list()
    with pytest.raises(CommandExecutionError, match="already exists"):
        fn.network_create(name, config=NO_ADDRESSES)

    changes = fn.network_update(name, config={"bridge.mtu": 1400}, description="e")
    assert changes == {
        "config": {"old": {"bridge.mtu": None}, "new": {"bridge.mtu": "1400"}},
        "description": {"old": "d", "new": "e"},
    }
    network = held(api, "networks/" + name)
    assert network["config"]["bridge.mtu"] == "1400" and network["description"] == "e"
    assert network["config"]["ipv4.address"] == "none"

    container = make_container(lxd, cleanup, unique_name, "--network", name)
    with pytest.raises(CommandExecutionError, match="in use"):
        fn.network_delete(name)
    lxd.lxc("delete", "--force", container)
    assert fn.network_delete(name) is True
    assert fn.network_get(name) is False
    assert fn.network_delete(name) is False


def test_storage_pool_and_volume_functions(modules, api, lxd, cleanup, unique_name):
    fn = modules.lxdapi
    pool = short_name("t5s")
    cleanup(["storage", "delete", pool])
    created = fn.storage_pool_create(pool, "dir", description="d")
    assert created["driver"] == "dir" and created["config"]["source"]
    assert fn.storage_pool_get(pool)["description"] == "d"
    assert pool in fn.storage_pool_list()
    with pytest.raises(CommandExecutionError, match="already exists"):
        fn.storage_pool_create(pool, "dir")
    assert fn.storage_pool_update(pool, config={"rsync.bwlimit": "5MB"}) == {
        "config": {"old": {"rsync.bwlimit": None}, "new": {"rsync.bwlimit": "5MB"}}
    }
    assert held(api, "storage-pools/" + pool)["config"]["rsync.bwlimit"] == "5MB"

    cleanup(["storage", "volume", "delete", pool, unique_name])
    volume = fn.storage_volume_create(pool, unique_name, config={"user.a": 1})
    assert volume["config"] == {"user.a": "1"} and volume["type"] == "custom"
    assert fn.storage_volume_get(pool, unique_name)["content_type"] == "filesystem"
    assert fn.storage_volume_list(pool) == [unique_name]
    assert [v["name"] for v in fn.storage_volume_list(pool, recursion=True)] == [unique_name]
    assert fn.storage_volume_update(pool, unique_name, description="vol") == {
        "description": {"old": "", "new": "vol"}
    }
    assert held(api, f"storage-pools/{pool}/volumes/custom/{unique_name}")["description"] == "vol"

    with pytest.raises(CommandExecutionError, match="in use"):
        fn.storage_pool_delete(pool)
    container = make_container(lxd, cleanup, unique_name + "-c")
    lxd.lxc("storage", "volume", "attach", pool, unique_name, container, "/data")
    with pytest.raises(CommandExecutionError, match="in use by .*" + container):
        fn.storage_volume_delete(pool, unique_name)
    lxd.lxc("delete", "--force", container)
    assert fn.storage_volume_delete(pool, unique_name) is True
    assert fn.storage_volume_get(pool, unique_name) is False
    assert fn.storage_volume_delete(pool, unique_name) is False
    assert fn.storage_pool_delete(pool) is True
    assert fn.storage_pool_get(pool) is False
    assert fn.storage_pool_delete(pool) is False

    with pytest.raises(SaltInvocationError, match="pool="):
        fn.storage_volume_get("", unique_name)
    # refused by LXD (CommandExecutionError) or, checked first, as bad input
    with pytest.raises((CommandExecutionError, SaltInvocationError), match="(?i)driver"):
        fn.storage_pool_create(pool, "nosuchdriver")
    assert fn.storage_pool_get(pool) is False


def test_project_functions(modules, api, lxd, cleanup):
    fn = modules.lxdapi
    name = short_name("t5p")
    cleanup(["project", "delete", name])
    created = fn.project_create(name, config={"limits.instances": 3}, description="d")
    assert created["config"]["limits.instances"] == "3"
    assert created["config"]["features.profiles"] == "true"
    assert fn.project_get(name)["description"] == "d"
    assert name in fn.project_list()
    with pytest.raises(CommandExecutionError, match="already exists"):
        fn.project_create(name)

    assert fn.project_update(name, config={"limits.instances": 4}) == {
        "config": {"old": {"limits.instances": "3"}, "new": {"limits.instances": "4"}}
    }
    project = held(api, "projects/" + name)
    assert project["config"]["limits.instances"] == "4"
    assert project["config"]["features.profiles"] == "true"  # not dropped

    # a profile made inside the project (through project=) keeps it from being deleted
    fn.profile_create("inside", project=name)
    assert held(api, "profiles/inside", project=name) is not None
    assert held(api, "profiles/inside") is None
    with pytest.raises(CommandExecutionError, match="in use by .*inside"):
        fn.project_delete(name)
    assert fn.profile_delete("inside", project=name) is True
    assert fn.project_delete(name) is True
    assert fn.project_get(name) is False
    assert fn.project_delete(name) is False
