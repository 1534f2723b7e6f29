"""Execution module, instances: get, list, state, create, delete, status actions, config.

Every test checks what the real daemon holds afterwards (through ``api`` or ``lxc``).
"""

import json

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError


@pytest.fixture
def container(lxd, unique_name):
    """A running busybox container, deleted at the end."""
    lxd.lxc("launch", "busybox", unique_name)
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


@pytest.fixture
def cleanup(lxd):
    """Names appended here are deleted (forced) at the end of the test."""
    names = []
    yield names
    for name in names:
        lxd.lxc("delete", "--force", name, check=False)


def status_of(api, name):
    return api.get(api.instance_path(name)).metadata["status"]


def config_of(api, name):
    return api.get(api.instance_path(name)).metadata["config"]


# ------------------------------------------------------------------------ reads


def test_container_get_returns_metadata(modules, api, container):
    meta = modules.lxdapi.container_get(container)
    assert meta["name"] == container
    assert meta["status"] == "Running"
    held = api.get(api.instance_path(container)).metadata
    for key in ("config", "devices", "profiles", "type", "architecture", "created_at"):
        assert meta[key] == held[key]


def test_container_get_absent_is_false(modules, unique_name):
    assert modules.lxdapi.container_get(unique_name) is False


def test_container_get_rejects_empty_name(modules):
    with pytest.raises(SaltInvocationError, match="name"):
        modules.lxdapi.container_get("")


def test_container_list_names_and_details(modules, container):
    names = modules.lxdapi.container_list()
    assert container in names
    assert all(isinstance(n, str) for n in names)
    details = modules.lxdapi.container_list(recursion=1)
    assert {d["name"]: d["status"] for d in details}[container] == "Running"
    with_state = modules.lxdapi.container_list(recursion=2)
    mine = [d for d in with_state if d["name"] == container][0]
    assert mine["state"]["status"] == "Running"


def test_container_list_bad_recursion(modules):
    with pytest.raises(SaltInvocationError, match="recursion must be 0, 1 or 2"):
        modules.lxdapi.container_list(recursion=7)


def test_container_state(modules, container, lxd):
    state = modules.lxdapi.container_state(container)
    assert state["status"] == "Running"
    assert state["pid"] > 0
    assert modules.lxdapi.container_state(container + "-absent") is False


def test_unknown_keyword_is_refused(modules, container):
    with pytest.raises(SaltInvocationError, match="unexpected argument.*colour"):
        modules.lxdapi.container_get(container, colour="blue")


# ----------------------------------------------------------------------- create


def test_container_create_from_alias(modules, api, unique_name, cleanup, lxd):
    cleanup.append(unique_name)
    meta = modules.lxdapi.container_create(
        unique_name,
        source="busybox",
        config={"limits.cpu": 1, "user.flag": True},
        devices={"extra": {"type": "disk", "path": "/mnt", "source": "/tmp"}},
        profiles=["default"],
        description="made by a test",
    )
    assert meta["name"] == unique_name
    held = api.get(api.instance_path(unique_name)).metadata
    assert held["status"] == "Stopped"
    assert held["type"] == "container"
    assert held["config"]["limits.cpu"] == "1"
    assert held["config"]["user.flag"] == "true"
    assert held["config"]["volatile.base_image"] == lxd.fingerprint
    assert held["devices"]["extra"] == {"type": "disk", "path": "/mnt", "source": "/tmp"}
    assert held["profiles"] == ["default"]
    assert held["description"] == "made by a test"
    assert held["ephemeral"] is False


def test_container_create_from_fingerprint_prefix(modules, api, unique_name, cleanup, lxd):
    cleanup.append(unique_name)
    modules.lxdapi.container_create(unique_name, source=lxd.fingerprint[:12])
    held = api.get(api.instance_path(unique_name)).metadata
    assert held["config"]["volatile.base_image"] == lxd.fingerprint


def test_container_create_from_source_dict_and_ephemeral(modules, api, unique_name, cleanup):
    cleanup.append(unique_name)
    modules.lxdapi.container_create(
        unique_name, source={"type": "image", "alias": "busybox"}, ephemeral=True
    )
    assert api.get(api.instance_path(unique_name)).metadata["ephemeral"] is True


def test_container_create_empty(modules, api, unique_name, cleanup):
    cleanup.append(unique_name)
    modules.lxdapi.container_create(unique_name)
    held = api.get(api.instance_path(unique_name)).metadata
    assert "volatile.base_image" not in held["config"]


def test_container_create_existing_name(modules, container, api):
    with pytest.raises(CommandExecutionError, match="already exists"):
        modules.lxdapi.container_create(container, source="busybox")
    assert status_of(api, container) == "Running"


def test_container_create_unknown_image(modules, unique_name, api):
    with pytest.raises(CommandExecutionError, match="no image alias or fingerprint 'nope-img'"):
        modules.lxdapi.container_create(unique_name, source="nope-img")
    assert unique_name not in modules.lxdapi.container_list()


def test_container_create_bad_type(modules, unique_name):
    with pytest.raises(SaltInvocationError, match="unknown instance type 'vm'"):
        modules.lxdapi.container_create(unique_name, type="vm")
    assert modules.lxdapi.container_get(unique_name) is False


def test_container_create_virtual_machine_type_is_sent(modules, unique_name, cleanup):
    # This host has no VM support (no vhost_vsock): LXD's refusal proves the type was sent.
    cleanup.append(unique_name)
    try:
        meta = modules.lxdapi.container_create(unique_name, type="virtual-machine")
    except CommandExecutionError as exc:
        assert "virtual-machine" in str(exc)
        assert modules.lxdapi.container_get(unique_name) is False
    else:  # a host with VM support
        assert meta["type"] == "virtual-machine"


def test_container_create_bad_name(modules):
    # refused before any request, with the rule spelled out
    with pytest.raises(SaltInvocationError, match="invalid instance name 'bad_name!'"):
        modules.lxdapi.container_create("bad_name!", source="busybox")
    assert modules.lxdapi.container_get("bad-name") is False


def test_container_create_bad_config(modules, unique_name):
    with pytest.raises(SaltInvocationError, match="config must be a mapping"):
        modules.lxdapi.container_create(unique_name, config=["limits.cpu=1"])
    with pytest.raises(SaltInvocationError, match="device 'd' must be a mapping with a 'type'"):
        modules.lxdapi.container_create(unique_name, devices={"d": {"path": "/x"}})
    with pytest.raises(SaltInvocationError, match="profiles must be a list"):
        modules.lxdapi.container_create(unique_name, profiles="default")
    assert modules.lxdapi.container_get(unique_name) is False


# ----------------------------------------------------------------------- delete


def test_container_delete_stopped(modules, api, lxd, unique_name):
    lxd.lxc("init", "busybox", unique_name)
    assert modules.lxdapi.container_delete(unique_name) is True
    assert modules.lxdapi.container_get(unique_name) is False
    assert unique_name not in lxd.lxc("list", "--format=csv", "-c", "n")
    assert modules.lxdapi.container_delete(unique_name) is False


def test_container_delete_running_is_refused_without_force(modules, api, container):
    with pytest.raises(CommandExecutionError, match="is Running; stop it first"):
        modules.lxdapi.container_delete(container)
    assert status_of(api, container) == "Running"
    assert modules.lxdapi.container_delete(container, force=True) is True
    assert modules.lxdapi.container_get(container) is False


def test_container_delete_frozen_with_force(modules, lxd, container):
    lxd.lxc("pause", container)
    assert modules.lxdapi.container_delete(container, force=True) is True
    assert modules.lxdapi.container_get(container) is False


# --------------------------------------------------------------- status actions


def test_stop_start_cycle(modules, api, container, request_log):
    assert modules.lxdapi.container_stop(container) is True
    assert status_of(api, container) == "Stopped"
    stop = [r for r in request_log if r[0] == "PUT" and r[1].endswith("/state")]
    assert len(stop) == 1
    request_log.clear()
    assert modules.lxdapi.container_stop(container) is False
    assert request_log.writes == []
    assert modules.lxdapi.container_start(container) is True
    assert status_of(api, container) == "Running"
    request_log.clear()
    assert modules.lxdapi.container_start(container) is False
    assert request_log.writes == []


def test_stop_is_clean_by_default_and_force_kills(modules, api, container, monkeypatch):
    # A clean stop sends force=false with the timeout; force=True sends force=true.
    import lxdapi_plans

    bodies = []
    original = lxdapi_plans.Write.send

    def record(write, *args, **kwargs):
        bodies.append(write.body)
        return original(write, *args, **kwargs)

    monkeypatch.setattr(lxdapi_plans.Write, "send", record)
    assert modules.lxdapi.container_stop(container, timeout=20) is True
    modules.lxdapi.container_start(container)
    assert modules.lxdapi.container_stop(container, force=True) is True
    stops = [b for b in bodies if b and b.get("action") == "stop"]
    assert stops[0] == {"action": "stop", "timeout": 20, "force": False}
    assert stops[1]["force"] is True
    assert status_of(api, container) == "Stopped"


def test_stop_bad_timeout(modules, api, container):
    with pytest.raises(SaltInvocationError, match="timeout must be a number of seconds"):
        modules.lxdapi.container_stop(container, timeout="soon")
    assert status_of(api, container) == "Running"


def test_restart(modules, api, container):
    pid_before = api.get(api.instance_path(container, "state")).metadata["pid"]
    assert modules.lxdapi.container_restart(container) is True
    state = api.get(api.instance_path(container, "state")).metadata
    assert state["status"] == "Running"
    assert state["pid"] != pid_before


def test_restart_stopped_is_refused(modules, api, lxd, unique_name, cleanup):
    cleanup.append(unique_name)
    lxd.lxc("init", "busybox", unique_name)
    with pytest.raises(CommandExecutionError, match="cannot restart .*it is Stopped"):
        modules.lxdapi.container_restart(unique_name)
    assert status_of(api, unique_name) == "Stopped"


def test_freeze_unfreeze(modules, api, container):
    assert modules.lxdapi.container_freeze(container) is True
    assert status_of(api, container) == "Frozen"
    assert modules.lxdapi.container_freeze(container) is False
    assert modules.lxdapi.container_unfreeze(container) is True
    assert status_of(api, container) == "Running"
    assert modules.lxdapi.container_unfreeze(container) is False


def test_start_unfreezes_and_stop_of_frozen(modules, api, lxd, container):
    lxd.lxc("pause", container)
    assert modules.lxdapi.container_start(container) is True
    assert status_of(api, container) == "Running"
    lxd.lxc("pause", container)
    assert modules.lxdapi.container_stop(container) is True
    assert status_of(api, container) == "Stopped"


def test_freeze_or_unfreeze_stopped_is_refused(modules, api, lxd, unique_name, cleanup):
    cleanup.append(unique_name)
    lxd.lxc("init", "busybox", unique_name)
    with pytest.raises(CommandExecutionError, match="cannot freeze .*it is Stopped"):
        modules.lxdapi.container_freeze(unique_name)
    with pytest.raises(CommandExecutionError, match="cannot unfreeze .*not Frozen"):
        modules.lxdapi.container_unfreeze(unique_name)
    assert status_of(api, unique_name) == "Stopped"


def test_actions_on_absent_container(modules, unique_name):
    for func in (
        "container_start",
        "container_stop",
        "container_restart",
        "container_freeze",
        "container_unfreeze",
    ):
        with pytest.raises(CommandExecutionError, match="not found") as info:
            getattr(modules.lxdapi, func)(unique_name)
        assert unique_name in str(info.value)


# ----------------------------------------------------------------------- config


def test_config_get(modules, api, container):
    api.patch(api.instance_path(container), json={"config": {"user.color": "blue"}})
    config = modules.lxdapi.container_config_get(container)
    assert config["user.color"] == "blue"
    assert modules.lxdapi.container_config_get(container, "user.color") == "blue"
    assert modules.lxdapi.container_config_get(container, "user.unset") is None
    expanded = modules.lxdapi.container_config_get(container, expanded=True)
    assert expanded["user.color"] == "blue"
    assert modules.lxdapi.container_config_get(container + "-absent") is False


def test_config_get_expanded_shows_profile_keys(modules, api, lxd, unique_name, cleanup):
    profile = unique_name[:50] + "-p"
    lxd.lxc("profile", "create", profile)
    try:
        lxd.lxc("profile", "set", profile, "user.from-profile", "yes")
        cleanup.append(unique_name)
        lxd.lxc("init", "busybox", unique_name, "-p", "default", "-p", profile)
        assert modules.lxdapi.container_config_get(unique_name, "user.from-profile") is None
        assert (
            modules.lxdapi.container_config_get(unique_name, "user.from-profile", expanded=True)
            == "yes"
        )
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)
        lxd.lxc("profile", "delete", profile, check=False)


def test_config_set_one_key_then_noop(modules, api, container, request_log):
    changes = modules.lxdapi.container_config_set(container, "limits.memory", "64MB")
    assert changes == {"limits.memory": {"old": None, "new": "64MB"}}
    assert config_of(api, container)["limits.memory"] == "64MB"
    patches = [r for r in request_log.writes if r[0] == "PATCH"]
    assert len(patches) == 1
    request_log.clear()
    assert modules.lxdapi.container_config_set(container, "limits.memory", "64MB") == {}
    assert request_log.writes == []


def test_config_set_several_keys_as_strings(modules, api, container):
    changes = modules.lxdapi.container_config_set(
        container, config={"user.a": 1, "user.b": True}, key="user.c", value="x"
    )
    assert set(changes) == {"user.a", "user.b", "user.c"}
    config = config_of(api, container)
    assert (config["user.a"], config["user.b"], config["user.c"]) == ("1", "true", "x")


def test_config_set_sends_if_match(modules, api, container, monkeypatch):
    # The PATCH carries the ETag of the GET it was planned from.
    import lxdapi

    seen = []
    original = lxdapi.API.request

    def spy(self, method, url, *args, **kwargs):
        seen.append((method, kwargs.get("etag")))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(lxdapi.API, "request", spy)
    modules.lxdapi.container_config_set(container, "user.etag", "1")
    patches = [etag for method, etag in seen if method == "PATCH"]
    assert patches and patches[0]
    assert config_of(api, container)["user.etag"] == "1"


def test_config_set_bad_input(modules, api, container):
    with pytest.raises(SaltInvocationError, match="needs a value"):
        modules.lxdapi.container_config_set(container, "user.a")
    with pytest.raises(SaltInvocationError, match="give key and value, or config"):
        modules.lxdapi.container_config_set(container)
    with pytest.raises(SaltInvocationError, match="config must be a mapping"):
        modules.lxdapi.container_config_set(container, config="user.a=1")
    with pytest.raises(CommandExecutionError, match="Unknown configuration key: bogus.key"):
        modules.lxdapi.container_config_set(container, "bogus.key", "1")
    assert "bogus.key" not in config_of(api, container)
    with pytest.raises(CommandExecutionError, match="not found"):
        modules.lxdapi.container_config_set(container + "-absent", "user.a", "1")


def test_config_unset(modules, api, container, request_log):
    api.patch(api.instance_path(container), json={"config": {"user.a": "1", "user.b": "2"}})
    changes = modules.lxdapi.container_config_unset(container, "user.a")
    assert changes == {"user.a": {"old": "1", "new": None}}
    config = config_of(api, container)
    assert "user.a" not in config and config["user.b"] == "2"
    changes = modules.lxdapi.container_config_unset(container, ["user.b", "user.never"])
    assert changes == {"user.b": {"old": "2", "new": None}}
    assert "user.b" not in config_of(api, container)
    request_log.clear()
    assert modules.lxdapi.container_config_unset(container, "user.b") == {}
    assert request_log.writes == []


def test_config_unset_bad_input(modules, container):
    with pytest.raises(SaltInvocationError, match="key must be a config key"):
        modules.lxdapi.container_config_unset(container, "")
    with pytest.raises(CommandExecutionError, match="not found"):
        modules.lxdapi.container_config_unset(container + "-absent", "user.a")


def test_returns_are_json_serialisable(modules, container):
    json.dumps(modules.lxdapi.container_get(container))
    json.dumps(modules.lxdapi.container_state(container))
