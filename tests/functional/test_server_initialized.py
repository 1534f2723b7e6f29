"""A host from nothing: ``lxdapi.server_initialized`` on a daemon that was never
initialized (no pool, no network, an empty default profile), of the session daemon's kind;
then run again (nothing sent), changed, and given bad entries (nothing sent).

The daemon is started for this module only and stopped at its end; its bridge has no
address (``ipv4.address=none``, ``ipv6.address=none``) and a name no other daemon uses.
"""

import os
import shutil
import uuid

import pytest

import lxdapi_operations
import lxdhost
from conftest import core


@pytest.fixture(scope="module")
def fresh(lxd):
    """``(socket, bridge name)`` of a never-initialized daemon of the session's kind."""
    base = lxdhost.make_base_dir("lxdapi-fresh-")
    lxd_dir = os.path.join(base, lxd.server)
    bridge = "ldi" + uuid.uuid4().hex[:8]
    try:
        socket = lxdhost.start_daemon(lxd_dir, preseed=False, server=lxd.server)
        yield socket, bridge
    finally:
        lxdhost.lxc(lxd_dir, "profile", "device", "remove", "default", "eth0", check=False)
        lxdhost.lxc(lxd_dir, "network", "delete", bridge, check=False)
        lxdhost.stop_daemon(lxd_dir)
        shutil.rmtree(base, ignore_errors=True)


def document(bridge):
    return dict(
        config={"images.remote_cache_expiry": "7"},
        storage_pools=[{"name": "default", "driver": "dir", "description": "from nothing"}],
        networks=[
            {
                "name": bridge,
                "type": "bridge",
                "config": {"ipv4.address": "none", "ipv6.address": "none"},
            }
        ],
        profiles=[
            {
                "name": "default",
                "devices": {
                    "root": {"type": "disk", "path": "/", "pool": "default"},
                    "eth0": {"type": "nic", "name": "eth0", "network": bridge},
                },
            }
        ],
    )


def held(api, url):
    found = core.get_or_none(api, url)
    return found.metadata if found else None


def test_a_fresh_daemon_is_initialized_once(states, fresh, request_log):
    socket, bridge = fresh
    api = core.API.factory(socket)
    assert lxdapi_operations.list_collection(api, "storage-pools") == []
    assert held(api, "profiles/default")["devices"] == {}
    declared = document(bridge)

    predicted = states.lxdapi.server_initialized("host", test=True, endpoint=socket, **declared)
    assert predicted.result is None, predicted.comment
    assert set(predicted.changes) == {"storage_pools", "networks", "profiles", "server"}
    assert predicted.changes["storage_pools"]["default"]["storage_pool"]["old"] is None
    assert predicted.changes["server"] == {
        "config": {
            "old": {"images.remote_cache_expiry": None},
            "new": {"images.remote_cache_expiry": "7"},
        }
    }
    assert predicted.comment.startswith("Would initialize the server: created storage pool")
    assert request_log.writes == []
    assert lxdapi_operations.list_collection(api, "storage-pools") == []

    ret = states.lxdapi.server_initialized("host", endpoint=socket, **declared)
    assert ret.result is True, ret.comment
    assert ret.changes == predicted.changes
    assert ret.comment == (
        f"Server initialized: created storage pool 'default', network '{bridge}'; updated "
        "the server config, profile 'default'."
    )
    assert held(api, "storage-pools/default")["driver"] == "dir"
    assert held(api, "storage-pools/default")["description"] == "from nothing"
    network = held(api, "networks/" + bridge)
    assert network["config"]["ipv4.address"] == "none"
    assert network["managed"] is True
    assert held(api, "profiles/default")["devices"] == declared["profiles"][0]["devices"]
    assert held(api, "")["config"]["images.remote_cache_expiry"] == "7"

    request_log.clear()
    again = states.lxdapi.server_initialized("host", endpoint=socket, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment == "The server is already initialized as declared."
    assert request_log.writes == []

    # A changed entry: only it is written (keys not declared are kept).
    declared["profiles"][0]["config"] = {"user.role": "web"}
    changed = states.lxdapi.server_initialized("host", endpoint=socket, **declared)
    assert changed.result is True, changed.comment
    assert list(changed.changes) == ["profiles"]
    assert changed.comment == "Server initialized: updated profile 'default'."
    profile = held(api, "profiles/default")
    assert profile["config"] == {"user.role": "web"}
    assert set(profile["devices"]) == {"root", "eth0"}


def test_bad_entries_refuse_the_whole_document(states, fresh, request_log):
    socket, bridge = fresh
    api = core.API.factory(socket)
    cases = [
        (
            dict(storage_pools=[{"name": "p2", "driver": "dir"}, {"driver": "dir"}]),
            "needs a mapping with a name",
        ),
        (
            dict(storage_pools=[{"name": "p2", "driver": "dir"}, {"name": "p2", "driver": "dir"}]),
            "names 'p2' twice",
        ),
        (
            dict(storage_pools=[{"name": "p2", "driver": "dir", "colour": "red"}]),
            "storage_pools 'p2'",
        ),
        (dict(networks={"name": bridge}), "networks must be a list of mappings"),
        (dict(clusters=[{"name": "c"}]), "unexpected argument(s): clusters"),
    ]
    for declared, words in cases:
        ret = states.lxdapi.server_initialized("host", endpoint=socket, **declared)
        assert ret.result is False, (declared, ret.comment)
        assert words in ret.comment, (declared, ret.comment)
        assert "Traceback" not in ret.comment
        assert ret.changes == {}
    assert request_log.writes == []
    assert held(api, "storage-pools/p2") is None
