"""Volume copies, moves and backups without a daemon: the checks made before anything is
sent, on servers that answer from a table (:class:`TableAPI`)."""

import io
import tarfile
import urllib.parse

import pytest

import lxdapi_volumes
from conftest import core


class Found:
    def __init__(self, metadata):
        self.metadata = metadata


class TableAPI:
    """An API of a server of ``kind`` whose GETs answer from ``table`` (relative URL ->
    metadata); any write fails the test."""

    def __init__(self, kind, endpoint, table=(), addresses=("127.0.0.1:8443",)):
        self.server_kind = kind
        self.server_label = "Incus" if kind == "incus" else "LXD"
        self.display_endpoint = endpoint
        self.table = dict(table)
        self.server = {"environment": {"addresses": list(addresses), "certificate": "PEM"}}

    def path(self, *parts):
        return "/".join(urllib.parse.quote(p, safe="") for p in parts)

    def get(self, url, **kwargs):
        if url in self.table:
            return Found(self.table[url])
        raise core.APINotFoundException(error="not found: " + url)

    def request(self, method, url, *args, **kwargs):
        pytest.fail(f"{method} {url} was sent")

    post = put = patch = delete = request


POOL = "storage-pools/default"
VOLUME = "storage-pools/default/volumes/custom/data1"


def test_incus_does_not_pull_a_volume_from_lxd():
    lxd = TableAPI("lxd", "https://lxd:8443")
    incus = TableAPI("incus", "https://incus:8443")
    with pytest.raises(ValueError, match="Incus at https://incus:8443 cannot pull storage volume"):
        lxdapi_volumes.check_pull(lxd, incus, "data1")
    for source, target in ((incus, lxd), (lxd, lxd), (incus, incus)):
        lxdapi_volumes.check_pull(source, target, "data1")


def test_a_move_from_lxd_to_incus_is_refused_before_anything_is_sent():
    lxd = TableAPI("lxd", "https://lxd:8443", {VOLUME: {"name": "data1", "used_by": []}})
    incus = TableAPI("incus", "https://incus:8443", {POOL: {"name": "default"}})
    with pytest.raises(ValueError, match="Incus 6.0 crashes on LXD 5.0's volume transfer"):
        lxdapi_volumes.plan_volume_migrated(lxd, "default", "data1", target_api=incus)
    with pytest.raises(ValueError, match="cannot pull storage volume 'data1'"):
        lxdapi_volumes.plan_volume_present(
            incus,
            "default",
            "data1",
            {},
            source={"pool": "default", "name": "data1", "remote": "lxd"},
            source_api=lxd,
        )


def test_a_move_to_another_server_of_a_volume_in_use_is_refused():
    users = ["/1.0/instances/web1"]
    here = TableAPI("lxd", "/here", {VOLUME: {"name": "data1", "used_by": users}})
    there = TableAPI("lxd", "https://there:8443", {POOL: {"name": "default"}})
    with pytest.raises(ValueError, match="is used by /1.0/instances/web1: it moves"):
        lxdapi_volumes.plan_volume_migrated(here, "default", "data1", target_api=there)


def test_a_move_from_a_server_without_https_is_refused():
    here = TableAPI("lxd", "/here", {VOLUME: {"name": "data1"}}, addresses=())
    there = TableAPI("lxd", "https://there:8443", {POOL: {"name": "default"}})
    with pytest.raises(ValueError, match="LXD at /here does not listen on HTTPS"):
        lxdapi_volumes.plan_volume_migrated(here, "default", "data1", target_api=there)


def test_the_plan_of_a_move_to_another_server():
    here = TableAPI("lxd", "/here", {VOLUME: {"name": "data1"}})
    there = TableAPI("lxd", "https://there:8443", {"storage-pools/fast": {"name": "fast"}})
    plan = lxdapi_volumes.plan_volume_migrated(
        here, "default", "data1", to_pool="fast", target_api=there
    )
    assert plan.changes == {
        "server": {"old": "/here", "new": "https://there:8443"},
        "pool": {"old": "default", "new": "fast"},
    }
    assert [type(w).__name__ for w in plan.writes] == ["Step", "Write"]
    assert (plan.writes[1].method, plan.writes[1].url) == ("DELETE", VOLUME)  # after the copy


def test_check_volume_source():
    assert lxdapi_volumes.check_volume_source({"pool": "p", "name": "v"}) == {
        "pool": "p",
        "name": "v",
        "remote": None,
        "volume_only": False,
        "source_url": None,
    }
    for bad, expected in (
        (["p", "v"], "source must be a mapping"),
        ({"pool": "p"}, "source name must be a non-empty name"),
        ({"name": "v"}, "source pool must be a non-empty name"),
        ({"pool": "p", "name": "v", "type": "copy"}, "source has no key type"),
        ({"pool": "p", "name": "v/s0"}, "must not contain '/'"),
    ):
        with pytest.raises(ValueError, match=expected):
            lxdapi_volumes.check_volume_source(bad)


def test_copy_fields_lay_the_declared_over_the_source():
    source = {"config": {"user.a": "1", "volatile.idmap.last": "[]"}, "description": "src"}
    assert lxdapi_volumes.copy_fields(source) == (
        {"user.a": "1", "volatile.idmap.last": "[]"},
        "src",
    )
    want = {"config": {"user.b": "2", "user.a": ""}, "description": "mine"}
    assert lxdapi_volumes.copy_fields(source, want) == (
        {"user.b": "2", "volatile.idmap.last": "[]"},
        "mine",
    )
    assert lxdapi_volumes.copy_fields(source, {"config": {"user.b": "2"}}, purge_config=True) == (
        {"user.b": "2", "volatile.idmap.last": "[]"},
        "src",
    )


def _tarball(path, index, mode="w:gz"):
    with tarfile.open(str(path), mode) as archive:
        data = index.encode()
        info = tarfile.TarInfo("backup/index.yaml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return str(path)


def test_the_name_in_a_backup(tmp_path):
    index = "name: data1\nbackend: dir\npool: default\nconfig:\n  volume:\n    name: data1\n"
    assert lxdapi_volumes.backup_volume_name(_tarball(tmp_path / "a.tar.gz", index)) == "data1"
    quoted = _tarball(tmp_path / "b.tar.xz", "name: '123'\n", "w:xz")
    assert lxdapi_volumes.backup_volume_name(quoted) == "123"
    (tmp_path / "c.tar.zst").write_bytes(b"\x28\xb5\x2f\xfd not a tarball python reads")
    assert lxdapi_volumes.backup_volume_name(str(tmp_path / "c.tar.zst")) is None
