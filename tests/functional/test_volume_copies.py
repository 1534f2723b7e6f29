"""Custom storage volumes copied, moved to another pool, backed up and restored, on one
server (the session daemon): ``storage_volume_present(source=...)``,
``storage_volume_moved``, ``storage_volume_copy`` / ``_move`` /
``_backup_export`` / ``_backup_import``.

Content is checked end to end: a file is written into a volume through a container it
is attached to, and read back the same way from the copy, the moved volume or the
restored one.
"""

import hashlib
import json
import uuid

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from resources_support import cleanup, held, make_container  # noqa: F401

VOLUMES = "storage-pools/{}/volumes/custom/{}"


def _volume(api, pool, name):
    return held(api, VOLUMES.format(pool, name))


def _snapshots(api, pool, name):
    return [u.rsplit("/", 1)[-1] for u in held(api, VOLUMES.format(pool, name) + "/snapshots")]


@pytest.fixture
def volume(lxd, modules, cleanup, unique_name):
    """A custom volume in ``default`` with a config key, a description and a snapshot
    ``s0``; deleted at teardown."""
    name = unique_name[:50] + "-vol"
    cleanup(["storage", "volume", "delete", "default", name])
    modules.lxdapi.storage_volume_create(
        "default", name, config={"user.origin": "source"}, description="the source"
    )
    modules.lxdapi.storage_volume_snapshot_create("default", name, "s0")
    return name


@pytest.fixture
def other_pool(lxd, cleanup):
    """A second ``dir`` pool, unique to the test; deleted at teardown (after the volumes
    and containers registered later)."""
    name = "t16p" + uuid.uuid4().hex[:8]
    cleanup(["storage", "delete", name])
    lxd.lxc("storage", "create", name, "dir")
    return name


def _attach(lxd, pool, volume, container):
    lxd.lxc("storage", "volume", "attach", pool, volume, container, "/mnt/data")


def write_marker(lxd, modules, container, text):
    """Write /mnt/data/marker through the (stopped) container; leave it stopped."""
    lxd.lxc("start", container)
    try:
        modules.lxdapi.container_file_put(container, "/mnt/data/marker", contents=text)
    finally:
        lxd.lxc("stop", "--force", container)


def read_marker(lxd, modules, container):
    """What /mnt/data/marker holds, read through the (stopped) container."""
    lxd.lxc("start", container)
    try:
        found = modules.lxdapi.container_file_get(container, "/mnt/data/marker")
    finally:
        lxd.lxc("stop", "--force", container)
    return found and found["content"]


@pytest.fixture
def marked(lxd, modules, cleanup, volume, unique_name):
    """``(volume, container)``: the volume holding /mnt/data/marker, attached to a
    stopped busybox container."""
    container = make_container(lxd, cleanup, unique_name[:50] + "-ct")
    _attach(lxd, "default", volume, container)
    write_marker(lxd, modules, container, "in the volume\n")
    return volume, container


def require_volume_backups(lxd, api):
    if not api.has_extension("custom_volume_backup"):
        pytest.skip(
            f"{lxd.server} has no custom_volume_backup API extension: it cannot back up storage "
            "volumes"
        )


# ------------------------------------------------------------------- copies, one server


def test_storage_volume_present_makes_a_copy_once(states, api, cleanup, volume, request_log):
    copy = volume[:-4] + "-copy"
    cleanup(["storage", "volume", "delete", "default", copy])
    declared = dict(
        pool="default", source={"pool": "default", "name": volume}, config={"user.role": "copy"}
    )

    predicted = states.lxdapi.storage_volume_present(copy, test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes == {
        "storage_volume": {"old": None, "new": copy},
        "source": {"old": None, "new": {"pool": "default", "name": volume}},
        "config": {"old": None, "new": {"user.role": "copy"}},
    }
    assert request_log.writes == []
    assert _volume(api, "default", copy) is None

    ret = states.lxdapi.storage_volume_present(copy, **declared)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Storage volume {copy!r} created."
    assert ret.changes == predicted.changes
    made = _volume(api, "default", copy)
    # the source's config and description, the declared key over them
    assert made["config"]["user.origin"] == "source"
    assert made["config"]["user.role"] == "copy"
    assert made["description"] == "the source"
    assert _snapshots(api, "default", copy) == ["s0"]

    request_log.clear()
    again = states.lxdapi.storage_volume_present(copy, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert "source is used only at creation, so nothing was copied" in again.comment
    assert request_log.writes == []

    # the source gone: an existing copy still converges, nothing is copied
    predicted = states.lxdapi.storage_volume_present(
        copy,
        pool="default",
        source={"pool": "default", "name": volume + "-gone"},
        description="a copy",
        test=True,
    )
    assert predicted.result is None
    assert predicted.changes == {"description": {"old": "the source", "new": "a copy"}}
    assert request_log.writes == []


def test_a_copy_into_another_pool_without_snapshots(
    states, api, cleanup, other_pool, volume, request_log
):
    copy = volume[:-4] + "-only"
    cleanup(["storage", "volume", "delete", other_pool, copy])
    ret = states.lxdapi.storage_volume_present(
        copy,
        pool=other_pool,
        source={"pool": "default", "name": volume, "volume_only": True},
        description="only the volume",
    )
    assert ret.result is True, ret.comment
    made = _volume(api, other_pool, copy)
    assert made["config"]["user.origin"] == "source"
    assert made["description"] == "only the volume"
    assert _snapshots(api, other_pool, copy) == []


def test_storage_volume_copy_keeps_the_content(
    modules, api, lxd, cleanup, marked, other_pool, unique_name
):
    volume, _ = marked
    copy = volume[:-4] + "-clone"
    cleanup(["storage", "volume", "delete", other_pool, copy])
    cleanup(["storage", "volume", "delete", "default", copy])
    assert modules.lxdapi.storage_volume_copy("default", volume, copy) == {
        "pool": "default",
        "name": copy,
    }
    assert _snapshots(api, "default", copy) == ["s0"]
    assert modules.lxdapi.storage_volume_copy(
        "default", volume, target_pool=other_pool, volume_only=True
    ) == {"pool": other_pool, "name": volume}
    assert _snapshots(api, other_pool, volume) == []
    cleanup(["storage", "volume", "delete", other_pool, volume])

    reader = make_container(lxd, cleanup, unique_name[:50] + "-rd")
    _attach(lxd, "default", copy, reader)
    assert read_marker(lxd, modules, reader) == "in the volume\n"

    with pytest.raises(CommandExecutionError, match="already exists; nothing was copied"):
        modules.lxdapi.storage_volume_copy("default", volume, copy)
    with pytest.raises(SaltInvocationError, match="needs new_name or another target_pool"):
        modules.lxdapi.storage_volume_copy("default", volume)
    with pytest.raises(CommandExecutionError, match="'nope' in pool 'default' .* does not exist"):
        modules.lxdapi.storage_volume_copy("default", "nope", "nope2")
    with pytest.raises(SaltInvocationError, match="storage pool 'no-pool' does not exist"):
        modules.lxdapi.storage_volume_copy("default", volume, target_pool="no-pool")
    with pytest.raises(SaltInvocationError, match="does not listen on HTTPS"):
        # the session daemon listens on no HTTPS address: nothing can pull from it
        modules.lxdapi.storage_volume_copy(
            "default", volume, volume[:-4] + "-back", to={"endpoint": lxd.socket}
        )


# ----------------------------------------------------------------- moves between pools


def test_storage_volume_moved_to_another_pool(
    states, modules, api, lxd, cleanup, other_pool, marked, request_log
):
    volume, container = marked
    cleanup(["storage", "volume", "delete", other_pool, volume])
    declared = dict(pool="default", to_pool=other_pool)
    move = {"pool": {"old": "default", "new": other_pool}}

    predicted = states.lxdapi.storage_volume_moved(volume, test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes == move
    assert request_log.writes == []
    assert _volume(api, other_pool, volume) is None

    ret = states.lxdapi.storage_volume_moved(volume, **declared)
    assert ret.result is True, ret.comment
    assert ret.changes == move
    assert ret.comment == f"Storage volume {volume!r} moved from pool default to pool {other_pool}."
    assert _volume(api, "default", volume) is None
    moved = _volume(api, other_pool, volume)
    assert moved["config"]["user.origin"] == "source"
    assert _snapshots(api, other_pool, volume) == ["s0"]
    # the container using it follows it
    assert held(api, "instances/" + container)["devices"][volume]["pool"] == other_pool
    assert read_marker(lxd, modules, container) == "in the volume\n"

    request_log.clear()
    again = states.lxdapi.storage_volume_moved(volume, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment == f"Storage volume {volume!r} is already where declared."
    assert request_log.writes == []

    # used by a running container: refused before anything is sent, as LXD refuses it
    lxd.lxc("start", container)
    request_log.clear()
    back = dict(pool=other_pool, to_pool="default")
    refused = states.lxdapi.storage_volume_moved(volume, **back)
    assert refused.result is False
    assert f"is used by running instance(s) {container}" in refused.comment
    assert refused.changes == {} and request_log.writes == []
    with pytest.raises(SaltInvocationError, match="used by running instance"):
        modules.lxdapi.storage_volume_move(other_pool, volume, to_pool="default")
    assert request_log.writes == []

    lxd.lxc("stop", "--force", container)
    changes = modules.lxdapi.storage_volume_move(other_pool, volume, to_pool="default")
    assert changes == {"pool": {"old": other_pool, "new": "default"}}
    assert _volume(api, other_pool, volume) is None
    assert _volume(api, "default", volume) is not None
    assert modules.lxdapi.storage_volume_move(other_pool, volume, to_pool="default") == {}


def test_a_volume_in_both_pools_is_left_alone(states, api, cleanup, other_pool, volume):
    cleanup(["storage", "volume", "delete", other_pool, volume])
    api.post(f"storage-pools/{other_pool}/volumes/custom", json={"name": volume}).wait()
    ret = states.lxdapi.storage_volume_moved(volume, pool="default", to_pool=other_pool)
    assert ret.result is True and ret.changes == {}, ret.comment
    assert f"has a storage volume {volume!r} in pool 'default' too; it is left alone" in ret.comment
    assert _volume(api, "default", volume)["config"]["user.origin"] == "source"


# ---------------------------------------------------------------------------- backups


def test_backup_export_then_import_as_a_new_volume(
    modules, api, lxd, cleanup, marked, unique_name, tmp_path
):
    require_volume_backups(lxd, api)
    volume, _ = marked
    dest = tmp_path / "volume.tar.gz"
    out = modules.lxdapi.storage_volume_backup_export("default", volume, str(dest))
    data = dest.read_bytes()
    assert out == {"dest": str(dest), "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["volume.tar.gz"]  # no partial file
    assert held(api, VOLUMES.format("default", volume) + "/backups") == []  # none left

    restored = volume[:-4] + "-restored"
    cleanup(["storage", "volume", "delete", "default", restored])
    assert modules.lxdapi.storage_volume_backup_import("default", str(dest), name=restored) == {
        "pool": "default",
        "name": restored,
    }
    made = _volume(api, "default", restored)
    assert made["config"]["user.origin"] == "source"
    assert made["description"] == "the source"
    assert _snapshots(api, "default", restored) == ["s0"]
    reader = make_container(lxd, cleanup, unique_name[:50] + "-rd")
    _attach(lxd, "default", restored, reader)
    assert read_marker(lxd, modules, reader) == "in the volume\n"

    # never over an existing volume: named, or the name in the backup
    for kwargs in ({"name": restored}, {}):
        with pytest.raises(CommandExecutionError, match="already exists; nothing was imported"):
            modules.lxdapi.storage_volume_backup_import("default", str(dest), **kwargs)
    assert read_marker(lxd, modules, reader) == "in the volume\n"


def test_volume_only_backup_in_another_pool(
    modules, api, lxd, cleanup, volume, other_pool, tmp_path
):
    require_volume_backups(lxd, api)
    dest = tmp_path / "only.tar.xz"
    modules.lxdapi.storage_volume_backup_export(
        "default", volume, str(dest), volume_only=True, compression="xz"
    )
    cleanup(["storage", "volume", "delete", other_pool, volume])
    # the name in the backup, in another pool
    assert modules.lxdapi.storage_volume_backup_import(other_pool, str(dest)) == {
        "pool": other_pool,
        "name": volume,
    }
    assert _snapshots(api, other_pool, volume) == []
    assert _volume(api, other_pool, volume)["config"]["user.origin"] == "source"


# -------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_before_anything_is_sent(
    states, modules, api, lxd, volume, tmp_path, request_log
):
    request_log.clear()
    present = [
        ("a string", "source must be a mapping of pool, name"),
        ({"pool": "default"}, "source name must be a non-empty name"),
        ({"pool": "default", "name": volume, "colour": "red"}, "source has no key colour"),
        ({"pool": "default", "name": "a/b"}, "source name must not contain '/'"),
        ({"pool": "default", "name": volume, "volume_only": "yes"}, "volume_only must be true"),
        ({"pool": "default", "name": "nope"}, "copy source storage volume 'nope' in pool"),
        ({"pool": "default", "name": volume, "remote": {"host": "x"}}, "source remote: unknown"),
        ({"pool": "default", "name": volume, "remote": 5}, "source remote must be a remote's"),
        (
            {"pool": "default", "name": volume, "source_url": "https://x:1"},
            "source_url is for a copy from another server",
        ),
    ]
    for source, expected in present:
        ret = states.lxdapi.storage_volume_present(volume + "-x", pool="default", source=source)
        assert ret.result is False, source
        assert expected in ret.comment, ret.comment
    ret = states.lxdapi.storage_volume_present(
        volume + "-x",
        pool="default",
        source={"pool": "default", "name": volume},
        content_type="block",
    )
    assert ret.result is False
    assert "content_type 'block' is declared, but a copy has its source's" in ret.comment
    ret = states.lxdapi.storage_volume_present(
        volume + "-x", pool="no-pool", source={"pool": "default", "name": volume}
    )
    assert ret.result is False and "storage pool 'no-pool' does not exist" in ret.comment

    migrated = [
        (dict(pool="default"), "a move needs to_pool (another pool) or to (another server)"),
        (dict(pool="default", to_pool="default"), "a move needs to_pool"),
        (dict(pool="default", to_pool="no-pool"), "storage pool 'no-pool' does not exist"),
        (dict(pool="default", to={"host": "x"}), "to: unknown connection setting(s) host"),
    ]
    for kwargs, expected in migrated:
        ret = states.lxdapi.storage_volume_moved(volume, **kwargs)
        assert ret.result is False, kwargs
        assert expected in ret.comment, ret.comment
    ret = states.lxdapi.storage_volume_moved("nope", pool="default", to_pool="other")
    assert ret.result is False
    assert "storage volume 'nope' exists neither in pool 'default'" in ret.comment

    exports = [
        (dict(dest="relative.tar.gz"), "dest must be an absolute path"),
        (dict(dest=str(tmp_path / "no" / "b.tar")), "does not exist"),
        (dict(dest=str(tmp_path / "b.tar"), compression="rar"), "unknown compression 'rar'"),
        (dict(dest=str(tmp_path / "b.tar"), volume_only="yes"), "volume_only must be true"),
    ]
    for kwargs, expected in exports:
        with pytest.raises(SaltInvocationError, match=expected):
            modules.lxdapi.storage_volume_backup_export("default", volume, **kwargs)
    with pytest.raises(CommandExecutionError, match="'nope' in pool 'default' .* does not exist"):
        modules.lxdapi.storage_volume_backup_export("default", "nope", str(tmp_path / "b.tar"))
    with pytest.raises(SaltInvocationError, match="source file /no/such.tar does not exist"):
        modules.lxdapi.storage_volume_backup_import("default", "/no/such.tar")
    with pytest.raises(SaltInvocationError, match="unexpected argument"):
        modules.lxdapi.storage_volume_copy("default", volume, "x", colour="red")
    with pytest.raises(SaltInvocationError, match="new_name must not contain '/'"):
        modules.lxdapi.storage_volume_copy("default", volume, "a/b")
    with pytest.raises(SaltInvocationError, match="a move needs to_pool"):
        modules.lxdapi.storage_volume_move("default", volume)

    assert request_log.writes == []
    assert list(tmp_path.iterdir()) == []
    assert (
        json.loads(lxd.lxc("query", "/1.0/" + VOLUMES.format("default", volume) + "/backups")) == []
    )
    assert _volume(api, "default", volume + "-x") is None
