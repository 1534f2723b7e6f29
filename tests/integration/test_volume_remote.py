"""Custom storage volumes copied and moved from one server to another over HTTPS.

A second daemon of the session daemon's kind (Incus 6.0 crashes on a volume pulled from
LXD 5.0: lxdapi refuses that pair, see ``tests/unit/test_volumes_pure.py``) listens on
127.0.0.1 (a free port) and is the source; the session daemon pulls from it (LXD's
migration in pull mode, with one-time secrets: neither server trusts the other). The
content is checked end to end: a file written into the volume through a container on
the source is read back through a container on the session daemon.
"""

import pytest
from salt.exceptions import CommandExecutionError

from remote_support import held, https_server

pytestmark = pytest.mark.integration

VOLUMES = "storage-pools/{}/volumes/custom/{}"


@pytest.fixture(scope="module")
def source_server(lxd):
    """The HTTPS daemon, with the busybox image (alias ``busybox``)."""
    with https_server("lxdapi-volsrv-", server=lxd.server) as server:
        server.lxc("image", "import", lxd.image_path, "--alias", "busybox")
        yield server


@pytest.fixture
def remote_volume(lxd, source_server, unique_name):
    """``(server, volume, container)``: a volume on the HTTPS daemon holding
    /mnt/data/marker (written through ``container``, stopped and detached again),
    with ``user.origin`` and a snapshot ``s0``; removed from both daemons at teardown."""
    server = source_server
    name = unique_name[:50]
    container = name[:46] + "-src"
    server.lxc("storage", "volume", "create", "default", name, "user.origin=remote")
    server.lxc("init", "busybox", container)
    server.lxc("storage", "volume", "attach", "default", name, container, "/mnt/data")
    yield server, name, container
    for daemon in (lxd, server):
        for leftover in (container, name[:46] + "-rd"):
            daemon.lxc("delete", "--force", leftover, check=False)
        for volume in (name, name[:46] + "-cp", name[:46] + "-vo"):
            daemon.lxc("storage", "volume", "delete", "default", volume, check=False)


def _mark(server, modules, volume, container):
    here = {"endpoint": server.socket}
    server.lxc("start", container)
    modules.lxdapi.container_file_put(
        container, "/mnt/data/marker", contents="from the remote\n", **here
    )
    server.lxc("stop", "--force", container)
    server.local_api().post(
        VOLUMES.format("default", volume) + "/snapshots", json={"name": "s0"}
    ).wait()


def _read_here(lxd, modules, volume, reader):
    lxd.lxc("init", "busybox", reader)
    lxd.lxc("storage", "volume", "attach", "default", volume, reader, "/mnt/data")
    lxd.lxc("start", reader)
    try:
        return modules.lxdapi.container_file_get(reader, "/mnt/data/marker")["content"]
    finally:
        lxd.lxc("delete", "--force", reader)


def _snapshots(api, volume):
    return [
        u.rsplit("/", 1)[-1] for u in held(api, VOLUMES.format("default", volume) + "/snapshots")
    ]


def test_storage_volume_present_pulls_a_copy_from_another_server(
    states, modules, api, lxd, remote_volume, request_log
):
    server, name, container = remote_volume
    _mark(server, modules, name, container)
    request_log.clear()
    copy = name[:46] + "-cp"
    declared = dict(
        pool="default",
        source={"pool": "default", "name": name, "remote": {"endpoint": server.socket}},
        config={"user.role": "copy"},
    )

    predicted = states.lxdapi.storage_volume_present(copy, test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes == {
        "storage_volume": {"old": None, "new": copy},
        "source": {"old": None, "new": {"pool": "default", "name": name, "server": server.socket}},
        "config": {"old": None, "new": {"user.role": "copy"}},
    }
    assert request_log.writes == []
    assert held(api, VOLUMES.format("default", copy)) is None

    ret = states.lxdapi.storage_volume_present(copy, **declared)
    assert ret.result is True, ret.comment
    assert ret.changes == predicted.changes
    made = held(api, VOLUMES.format("default", copy))
    assert made["config"]["user.origin"] == "remote"
    assert made["config"]["user.role"] == "copy"
    assert _snapshots(api, copy) == ["s0"]
    assert _read_here(lxd, modules, copy, name[:46] + "-rd") == "from the remote\n"
    # the source is untouched
    assert held(server.local_api(), VOLUMES.format("default", name)) is not None

    request_log.clear()
    again = states.lxdapi.storage_volume_present(copy, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert "nothing was copied" in again.comment
    assert request_log.writes == []


def test_storage_volume_copy_to_another_server(modules, api, lxd, remote_volume):
    server, name, _ = remote_volume
    here, there = {"endpoint": server.socket}, {"endpoint": lxd.socket}
    only = name[:46] + "-vo"
    server.local_api().post(
        VOLUMES.format("default", name) + "/snapshots", json={"name": "s0"}
    ).wait()
    assert modules.lxdapi.storage_volume_copy(
        "default", name, only, to=there, volume_only=True, **here
    ) == {"pool": "default", "name": only}
    assert held(api, VOLUMES.format("default", only))["config"]["user.origin"] == "remote"
    assert _snapshots(api, only) == []
    with pytest.raises(CommandExecutionError, match="already exists; nothing was copied"):
        modules.lxdapi.storage_volume_copy("default", name, only, to=there, **here)


def test_storage_volume_moved_to_another_server(
    states, modules, api, lxd, remote_volume, request_log
):
    server, name, container = remote_volume
    _mark(server, modules, name, container)
    request_log.clear()
    here, there = {"endpoint": server.socket}, {"endpoint": lxd.socket}

    # attached to a container on the source: it stays
    refused = states.lxdapi.storage_volume_moved(name, pool="default", to=there, **here)
    assert refused.result is False
    assert f"is used by /1.0/instances/{container}" in refused.comment
    assert "moves to another server only when nothing uses it here" in refused.comment
    assert refused.changes == {} and request_log.writes == []
    server.lxc("storage", "volume", "detach", "default", name, container)

    move = {"server": {"old": server.socket, "new": lxd.socket}}
    request_log.clear()
    predicted = states.lxdapi.storage_volume_moved(
        name, pool="default", to=there, test=True, **here
    )
    assert predicted.result is None, predicted.comment
    assert predicted.changes == move
    assert request_log.writes == []

    ret = states.lxdapi.storage_volume_moved(name, pool="default", to=there, **here)
    assert ret.result is True, ret.comment
    assert ret.changes == move
    assert ret.comment == f"Storage volume {name!r} moved from {server.socket} to {lxd.socket}."
    assert held(server.local_api(), VOLUMES.format("default", name)) is None
    assert held(api, VOLUMES.format("default", name))["config"]["user.origin"] == "remote"
    assert _snapshots(api, name) == ["s0"]
    assert _read_here(lxd, modules, name, name[:46] + "-rd") == "from the remote\n"

    request_log.clear()
    again = states.lxdapi.storage_volume_moved(name, pool="default", to=there, **here)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment == f"Storage volume {name!r} is already where declared."
    assert request_log.writes == []
    assert modules.lxdapi.storage_volume_move("default", name, to=there, **here) == {}


def test_storage_volume_migrate_into_another_pool_there(modules, api, lxd, remote_volume):
    server, name, container = remote_volume
    server.lxc("storage", "volume", "detach", "default", name, container)
    pool = "t16r" + name[-6:]
    lxd.lxc("storage", "create", pool, "dir")
    try:
        here, there = {"endpoint": server.socket}, {"endpoint": lxd.socket}
        changes = modules.lxdapi.storage_volume_move(
            "default", name, to_pool=pool, to=there, **here
        )
        assert changes == {
            "server": {"old": server.socket, "new": lxd.socket},
            "pool": {"old": "default", "new": pool},
        }
        assert held(api, VOLUMES.format(pool, name))["config"]["user.origin"] == "remote"
        assert held(server.local_api(), VOLUMES.format("default", name)) is None
    finally:
        lxd.lxc("storage", "volume", "delete", pool, name, check=False)
        lxd.lxc("storage", "delete", pool, check=False)
