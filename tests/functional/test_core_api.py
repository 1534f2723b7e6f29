"""The HTTP core and the seed's shortcuts, against the real private LXD daemon."""

import json
import os
import subprocess

import pytest

import lxdapi_instances
import lxdapi_spec
from conftest import core

# Long and unlike anything in a path or a generated name, so a match means a leak.
SECRET_VALUE = "t2-debug-Sup3r-s3cret-value"


def _state(lxd, name):
    return lxd.status(name)


def _instance(lxd, name):
    return json.loads(lxd.lxc("query", f"/1.0/instances/{name}"))


def test_seed_scenario_each_step_then_again_as_noop(lxd, api, unique_name, tmp_path):
    """The seed library's own walk: image, alias, container, start, freeze, destroy."""
    # upload the image: already there from the harness, so a no-op...
    assert core.image_present(api, lxd.image_path) is False
    fingerprint = core.image_get_fingerprint(lxd.image_path)
    assert fingerprint == lxd.fingerprint
    assert core.image_get(api, fingerprint).metadata["fingerprint"] == fingerprint

    alias = unique_name + "-img"
    assert core.image_alias_present(api, alias, fingerprint, "test alias") is True
    assert core.image_alias_present(api, alias, fingerprint, "test alias") is False
    assert json.loads(lxd.lxc("query", "/1.0/images/aliases/" + alias))["target"] == fingerprint

    config = {
        "name": unique_name,
        "source": {"type": "image", "alias": alias},
        "config": {"user.role": "web", "limits.processes": 100},
        "profiles": ["default"],
    }
    assert core.container_apply_config(api, core.container_get(api, unique_name), config)
    assert core.container_apply_config(api, core.container_get(api, unique_name), config) is False
    held = _instance(lxd, unique_name)
    assert held["config"]["user.role"] == "web"
    assert held["config"]["limits.processes"] == "100"

    container = core.container_get(api, unique_name)
    assert core.container_apply_status(api, container, "Running") is True
    assert _state(lxd, unique_name) == "Running"
    assert (
        core.container_apply_status(api, core.container_get(api, unique_name), "Running") is False
    )

    assert core.container_apply_status(api, core.container_get(api, unique_name), "Frozen") is True
    assert _state(lxd, unique_name) == "Frozen"
    assert core.container_apply_status(api, core.container_get(api, unique_name), "Frozen") is False

    # Running on a frozen container unfreezes it
    assert core.container_apply_status(api, core.container_get(api, unique_name), "Running") is True
    assert _state(lxd, unique_name) == "Running"

    assert core.container_absent(api, core.container_get(api, unique_name)) is True
    assert core.container_get(api, unique_name) is False
    assert core.container_absent(api, core.container_get(api, unique_name)) is False
    assert unique_name not in lxd.lxc("list", "--format", "csv", "-c", "n").split()

    # a frozen container is stopped cleanly and deleted as well
    assert core.container_apply_config(api, False, dict(config))
    assert core.container_apply_status(api, core.container_get(api, unique_name), "Frozen")
    assert core.container_absent(api, core.container_get(api, unique_name)) is True
    assert core.container_get(api, unique_name) is False

    assert core.image_alias_present(api, alias, fingerprint) is False


def test_alias_moves_when_it_points_elsewhere(lxd, api, unique_name, tmp_path):
    import lxdhost

    other_path = str(tmp_path / "other.tar.gz")
    other = lxdhost.build_busybox_image(other_path, description="another busybox")
    assert other != lxd.fingerprint
    try:
        assert core.image_present(api, other_path) is True
        assert core.image_present(api, other_path) is False
        assert core.image_alias_present(api, unique_name, lxd.fingerprint) is True
        assert core.image_alias_present(api, unique_name, other) is True
        assert json.loads(lxd.lxc("query", "/1.0/images/aliases/" + unique_name))["target"] == other
    finally:
        lxd.lxc("image", "alias", "delete", unique_name, check=False)
        assert core.image_absent(api, other) is True
        assert core.image_absent(api, other) is False
    assert core.image_get(api, other) is False


def test_config_drift_is_repaired_with_one_patch(lxd, api, unique_name, request_log):
    lxd.lxc("init", "busybox", unique_name)
    try:
        declared = {"config": {"user.a": "1"}, "profiles": ["default"], "description": "d"}
        assert core.container_apply_config(api, core.container_get(api, unique_name), declared)
        lxd.lxc("config", "set", unique_name, "user.a", "changed-by-hand")
        lxd.lxc("config", "set", unique_name, "user.other", "kept")
        del request_log[:]
        assert core.container_apply_config(api, core.container_get(api, unique_name), declared)
        assert [w[0] for w in request_log.writes] == ["PATCH"]
        held = _instance(lxd, unique_name)
        assert held["config"]["user.a"] == "1"
        assert held["config"]["user.other"] == "kept"  # undeclared keys are left alone
        assert held["description"] == "d"  # LXD 5.0 drops it on a PATCH without it
        assert any(k.startswith("volatile.") for k in held["config"])
        del request_log[:]
        assert (
            core.container_apply_config(api, core.container_get(api, unique_name), declared)
            is False
        )
        assert request_log.writes == []
    finally:
        lxd.lxc("delete", "--force", unique_name)


def test_purge_config_and_devices(lxd, api, unique_name):
    lxd.lxc("init", "busybox", unique_name, "-c", "user.gone=1")
    lxd.lxc("config", "device", "add", unique_name, "extra", "none")
    try:
        declared = {"config": {"user.kept": "1"}, "devices": {}}
        changed = core.container_apply_config(
            api,
            core.container_get(api, unique_name),
            declared,
            purge_config=True,
            purge_devices=True,
        )
        assert changed is True
        held = _instance(lxd, unique_name)
        assert "user.gone" not in held["config"]
        assert held["config"]["user.kept"] == "1"
        assert held["devices"] == {}
        assert "volatile.uuid" in held["config"]
    finally:
        lxd.lxc("delete", "--force", unique_name)


def test_profile_order_is_kept(lxd, api, unique_name):
    lxd.lxc("profile", "create", unique_name)
    lxd.lxc("init", "busybox", unique_name)
    try:
        declared = {"profiles": [unique_name, "default"]}
        assert core.container_apply_config(api, core.container_get(api, unique_name), declared)
        assert _instance(lxd, unique_name)["profiles"] == [unique_name, "default"]
        declared = {"profiles": ["default", unique_name]}
        assert core.container_apply_config(api, core.container_get(api, unique_name), declared)
        assert _instance(lxd, unique_name)["profiles"] == ["default", unique_name]
    finally:
        lxd.lxc("delete", "--force", unique_name)
        lxd.lxc("profile", "delete", unique_name)


def test_stale_etag_is_refused_and_nothing_is_overwritten(lxd, api, unique_name):
    lxd.lxc("init", "busybox", unique_name)
    try:
        container = core.container_get(api, unique_name)
        plan = lxdapi_instances.plan_instance_present(
            api,
            unique_name,
            lxdapi_spec.InstanceSpec(config={"user.a": "ours"}, ephemeral=None),
            current=container,
        )
        plan.recover = None  # the write alone (a container's state plans it again: see
        # test_concurrent_writers.py)
        lxd.lxc("config", "set", unique_name, "user.a", "theirs")  # a second writer
        with pytest.raises(core.APIPreconditionFailed, match="changed by another client"):
            plan.apply(api)
        assert _instance(lxd, unique_name)["config"]["user.a"] == "theirs"
    finally:
        lxd.lxc("delete", "--force", unique_name)


def test_errors_carry_the_class_and_the_servers_text(lxd, api, unique_name):
    with pytest.raises(core.APINotFoundException) as info:
        api.get(api.instance_path(unique_name))
    assert "Instance not found" in str(info.value)
    assert info.value.result.response.status_code == 404
    # The server's reason first, then the request (its path, not the socket's URL).
    # (Incus words it "Failed to fetch instance ...: Instance not found".)
    assert str(info.value).startswith(info.value.error)
    assert str(info.value).endswith(f"Instance not found (GET /1.0/instances/{unique_name})")

    with pytest.raises(core.APIException) as info:
        api.post("instances", json={"name": "bad_name!", "source": {"type": "none"}})
    assert "Invalid instance name" in info.value.error
    assert info.value.status == 400

    lxd.lxc("image", "alias", "create", unique_name, lxd.fingerprint)
    try:
        with pytest.raises(core.APIConflictException) as info:
            api.post("images/aliases", json={"name": unique_name, "target": lxd.fingerprint})
        assert "already exists" in info.value.error
    finally:
        lxd.lxc("image", "alias", "delete", unique_name)


def test_failed_operation_raises_with_lxds_err(lxd, api, unique_name):
    # An instance with no image and no init cannot start: the operation fails.
    api.post("instances", json={"name": unique_name, "source": {"type": "none"}}).wait()
    try:
        with pytest.raises(core.APIException) as info:
            core.container_apply_status(api, core.container_get(api, unique_name), "Running")
        assert info.value.error  # LXD's own err text, first
        assert str(info.value).startswith(info.value.error)
        assert info.value.operation.startswith("/1.0/operations/")
        assert f", operation {info.value.operation})" in str(info.value)
        assert lxd.status(unique_name, until="Stopped") == "Stopped"
    finally:
        lxd.lxc("delete", "--force", unique_name)


def test_wait_timeout_names_the_operation_and_leaves_it_running(lxd, api, unique_name):
    lxd.lxc("launch", "busybox", unique_name)
    try:
        op = api.post(
            api.instance_path(unique_name, "exec"),
            json={
                "command": ["sleep", "3"],
                "wait-for-websocket": False,
                "interactive": False,
                "record-output": True,
            },
        )
        with pytest.raises(core.APITimeout) as info:
            op.wait(timeout=1)
        assert op.operation in str(info.value)
        assert "left running" in str(info.value)
        assert op.wait(timeout=30).metadata["metadata"]["return"] == 0
    finally:
        lxd.lxc("delete", "--force", unique_name)


def test_unknown_status_lists_the_choices(api, lxd, unique_name):
    with pytest.raises(ValueError, match="Running, Stopped, Frozen"):
        core.container_apply_status(api, False, "paused")


def test_uses_instances_api_and_reads_server_once(api, request_log):
    assert api.instances_collection == "instances"
    api.instance_path("x")
    api.has_extension("etag")
    assert [r for r in request_log if r[1].endswith("/1.0")] == [
        ("GET", api.endpoint + "/1.0", 200)
    ]


def test_one_keepalive_connection_is_reused(api, lxd):
    for path in ("", "instances", "profiles", "profiles/default", "images"):
        api.get(path)
    (pool,) = api.session.get_adapter(api.endpoint).pools._container.values()
    opened = [conn for conn in pool.pool.queue if conn is not None]
    assert len(opened) == 1  # five different URLs, one connection


def test_debug_dump_in_the_seeds_format(lxd, unique_name, capsys):
    api = lxd.api(debug=True)
    api.post(
        "profiles",
        json={
            "name": unique_name,
            "description": "x",
            "config": {"user.secret_token": SECRET_VALUE},
        },
    )
    try:
        err = capsys.readouterr().err
        lines = err.splitlines()
        assert lines[0] == f"POST {api.endpoint}/1.0/profiles"
        body_end = lines.index("}")
        assert json.loads("\n".join(lines[1 : body_end + 1]))["name"] == unique_name
        assert lines[body_end + 1] == "HTTP/201" or lines[body_end + 1] == "HTTP/200"
        assert json.loads("\n".join(lines[body_end + 2 :]))["type"] == "sync"
        assert SECRET_VALUE not in err  # secrets are redacted
        assert f'    "name": "{unique_name}"' in err  # indented JSON
    finally:
        api.delete(api.path("profiles", unique_name))


def test_debug_env_variable_turns_the_dump_on(lxd, monkeypatch, capsys):
    monkeypatch.setenv("DEBUG", "1")
    api = lxd.api()
    api.get("")
    assert f"GET {api.endpoint}/1.0" in capsys.readouterr().err


def test_connection_refused_names_the_endpoint(tmp_path):
    import socket

    path = str(tmp_path / "dead.socket")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.close()  # the file stays, nobody listens
    api = core.API.factory(path)
    with pytest.raises(core.APIConnectionError) as info:
        api.get("")
    assert path in str(info.value)


def test_project_is_sent_on_every_request(lxd, unique_name):
    lxd.lxc(
        "project",
        "create",
        unique_name,
        "-c",
        "features.images=false",
        "-c",
        "features.profiles=false",
    )
    try:
        api = lxd.api(project=unique_name)
        api.post(
            "instances", json={"name": "p1", "source": {"type": "image", "alias": "busybox"}}
        ).wait()
        assert "p1" in lxd.lxc("list", "--project", unique_name, "--format", "csv", "-c", "n")
        assert "p1" not in lxd.lxc("list", "--format", "csv", "-c", "n").split()
        assert core.container_absent(api, core.container_get(api, "p1")) is True
    finally:
        lxd.lxc("project", "delete", unique_name)


def test_importable_without_salt():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        "import sys; sys.path.insert(0, {!r}); import lxdapi; "
        "assert 'salt' not in sys.modules, sorted(m for m in sys.modules if 'salt' in m); "
        "print(lxdapi.API)".format(os.path.join(root, "_utils"))
    )
    out = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
