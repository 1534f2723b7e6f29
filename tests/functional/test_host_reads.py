"""What the host has and uses (resources, a pool's space, a project's usage, metrics) and
an image's export and refresh, against the real daemons."""

import gzip
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
import time

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdhost
from resources_support import cleanup, make_container, short_name  # noqa: F401

# ------------------------------------------------------------------------ resources


def test_the_host_resources(modules, lxd):
    found = modules.lxdapi.resources()
    for part in ("cpu", "memory", "storage", "network", "system"):
        assert part in found, sorted(found)
    assert found["cpu"]["total"] >= 1 and found["cpu"]["sockets"]
    assert found["memory"]["total"] > found["memory"]["used"] > 0
    if lxd.server == "incus":
        assert "load" in found  # Incus's resources_load
    with pytest.raises(SaltInvocationError, match="target must be a non-empty name"):
        modules.lxdapi.resources(target="")


def test_a_storage_pool_s_resources(modules):
    found = modules.lxdapi.storage_pool_resources("default")
    assert found["space"]["total"] >= found["space"]["used"] > 0
    assert found["inodes"]["total"] > 0
    with pytest.raises(CommandExecutionError, match="storage pool 'no-such-pool' does not exist"):
        modules.lxdapi.storage_pool_resources("no-such-pool")
    with pytest.raises(SaltInvocationError, match="pool must be a non-empty name"):
        modules.lxdapi.storage_pool_resources("")


def test_a_project_s_usage_against_its_limits(modules, lxd, cleanup):
    project = short_name("t16p")
    # its instances use the default project's profiles and images
    lxd.lxc(
        "project",
        "create",
        project,
        "-c",
        "features.profiles=false",
        "-c",
        "features.images=false",
        "-c",
        "limits.instances=3",
    )
    cleanup(["project", "delete", project])
    state = modules.lxdapi.project_state(project)
    assert state["resources"]["instances"] == {"Limit": 3, "Usage": 0}
    assert state["resources"]["memory"]["Limit"] == -1  # no limit
    make_container(lxd, cleanup, short_name("t16c"), project=project)
    assert modules.lxdapi.project_state(project)["resources"]["instances"]["Usage"] == 1
    # the connection's project is the default name
    assert modules.lxdapi.project_state(project=project)["resources"]["instances"]["Usage"] == 1
    assert "instances" in modules.lxdapi.project_state()["resources"]  # default
    with pytest.raises(CommandExecutionError, match="project 'no-such-p' does not exist"):
        modules.lxdapi.project_state("no-such-p")


# -------------------------------------------------------------------------- metrics


def _samples(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_metrics_of_a_running_instance(modules, lxd, cleanup, unique_name):
    name = make_container(lxd, cleanup, unique_name)
    lxd.lxc("start", name)
    prefix = lxd.server + "_"
    label = f'name="{name}"'

    # the server keeps its measures for 8 s: the started instance shows up by then
    text = lxdhost.wait_for(
        lambda: (lambda t: t if label in t else None)(modules.lxdapi.metrics()), timeout=30
    )
    assert text.rstrip().endswith("# EOF")
    names = {line.split("{")[0].split()[0] for line in _samples(text)}
    assert all(n.startswith(prefix) for n in names), names
    assert prefix + "cpu_seconds_total" in names and prefix + "memory_RSS_bytes" in names
    if lxd.server == "incus":
        assert "incus_uptime_seconds" in names  # its own, every time (see lxdapi_host)

    picked = modules.lxdapi.metrics(names=[prefix + "memory_RSS_bytes"])
    assert {line.split("{")[0] for line in _samples(picked)} == {prefix + "memory_RSS_bytes"}
    assert label in picked
    assert f"# TYPE {prefix}memory_RSS_bytes gauge" in picked
    assert picked.rstrip().endswith("# EOF")
    # a family's name, and names given as text, separated by commas
    family = modules.lxdapi.metrics(names=f"{prefix}cpu_seconds,{prefix}memory_RSS_bytes")
    assert {line.split("{")[0] for line in _samples(family)} == {
        prefix + "cpu_seconds_total",
        prefix + "memory_RSS_bytes",
    }
    with pytest.raises(SaltInvocationError, match="names must be a list of names"):
        modules.lxdapi.metrics(names=[3])


# ----------------------------------------------------------------------- image export


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_export_a_unified_image(modules, lxd, tmp_path, request_log):
    dest = tmp_path / "busybox.tar.gz"
    request_log.clear()
    out = modules.lxdapi.image_export("busybox", str(dest))
    assert request_log.writes == []
    data = dest.read_bytes()
    assert hashlib.sha256(data).hexdigest() == lxd.fingerprint
    assert data == open(lxd.image_path, "rb").read()
    assert out == {
        "fingerprint": lxd.fingerprint,
        "split": False,
        "dest": str(dest),
        "size": len(data),
        "sha256": lxd.fingerprint,
    }
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    assert _listing(tmp_path) == ["busybox.tar.gz"]  # no partial file left

    # by a fingerprint's prefix, over a file that exists: replaced whole
    dest.write_bytes(b"old")
    assert modules.lxdapi.image_export(lxd.fingerprint[:12], str(dest))["size"] == len(data)
    assert dest.read_bytes() == data
    assert _listing(tmp_path) == ["busybox.tar.gz"]


def test_export_bad_input_writes_nothing(modules, tmp_path, request_log):
    request_log.clear()
    for kwargs, problem in [
        ({"dest": "relative.tar.gz"}, "dest must be an absolute path"),
        ({"dest": str(tmp_path / "missing" / "b.tar.gz")}, "the folder .* does not exist"),
        ({"dest": str(tmp_path)}, "is a folder"),
        (
            {"dest": str(tmp_path / "a"), "rootfs_dest": str(tmp_path / "a")},
            "rootfs_dest must be another file than dest",
        ),
        (
            {"dest": str(tmp_path / "a"), "rootfs_dest": str(tmp_path / "no" / "r")},
            "rootfs_dest .* does not exist",
        ),
    ]:
        with pytest.raises(SaltInvocationError, match=problem):
            modules.lxdapi.image_export("busybox", **kwargs)
    with pytest.raises(CommandExecutionError, match="no image alias or fingerprint 'no-such-i'"):
        modules.lxdapi.image_export("no-such-i", str(tmp_path / "b.tar.gz"))
    assert _listing(tmp_path) == []
    assert not os.path.exists(str(tmp_path / "missing"))
    assert request_log.writes == []


def _targz(path, files):
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1700000000
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def split_image(lxd, tmp_path_factory, unique_name):
    """``(alias, fingerprint, metadata bytes, rootfs bytes)`` of a split image: a
    metadata tarball and a 3 MB root file system (more than one chunk of the export)."""
    folder = tmp_path_factory.mktemp("split")
    meta, rootfs = str(folder / "meta.tar.gz"), str(folder / "rootfs.tar.gz")
    metadata = {"architecture": "x86_64", "creation_date": 1700000000, "properties": {}}
    _targz(meta, {"metadata.yaml": json.dumps(metadata).encode()})
    _targz(rootfs, {"bin/noise": os.urandom(3 * 1024 * 1024)})
    with open(meta, "rb") as fh:
        meta_data = fh.read()
    with open(rootfs, "rb") as fh:
        rootfs_data = fh.read()
    fingerprint = hashlib.sha256(meta_data + rootfs_data).hexdigest()
    lxd.lxc("image", "import", meta, rootfs, "--alias", unique_name)
    yield unique_name, fingerprint, meta_data, rootfs_data
    lxd.lxc("image", "delete", fingerprint, check=False)


def test_export_a_split_image(modules, split_image, tmp_path):
    alias, fingerprint, meta_data, rootfs_data = split_image
    dest, rootfs_dest = tmp_path / "meta.tar.gz", tmp_path / "rootfs.tar.gz"
    with pytest.raises(SaltInvocationError, match="is a split image .* give rootfs_dest"):
        modules.lxdapi.image_export(alias, str(dest))
    assert _listing(tmp_path) == []  # nothing written

    out = modules.lxdapi.image_export(alias, str(dest), rootfs_dest=str(rootfs_dest))
    assert out == {
        "fingerprint": fingerprint,
        "split": True,
        "dest": str(dest),
        "size": len(meta_data),
        "sha256": fingerprint,
        "rootfs_dest": str(rootfs_dest),
        "rootfs_size": len(rootfs_data),
    }
    assert dest.read_bytes() == meta_data and rootfs_dest.read_bytes() == rootfs_data
    both = hashlib.sha256(dest.read_bytes() + rootfs_dest.read_bytes()).hexdigest()
    assert both == fingerprint
    for path in (dest, rootfs_dest):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert _listing(tmp_path) == ["meta.tar.gz", "rootfs.tar.gz"]


# ---------------------------------------------------------------------- image refresh


class StreamsServer:
    """A simple streams image server on http://127.0.0.1:PORT/streams serving one image,
    alias ``lxdapi/refresh``; :meth:`publish` puts another version in its place."""

    def __init__(self, server_kind, folder):
        self.kind, self.folder, self.files = server_kind, folder, {}
        port = lxdhost.free_port()
        self.url = f"http://127.0.0.1:{port}/streams"
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                body = files.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, version):
        """Serve a new busybox image as the latest version; return its fingerprint."""
        path = str(self.folder / (version + ".tar.gz"))
        fingerprint = lxdhost.build_busybox_image(path, description="refresh " + version)
        ftype = f"{self.kind}_combined.tar.gz"
        item = {
            "ftype": ftype,
            "path": f"images/{version}.tar.gz",
            "sha256": fingerprint,
            "size": os.path.getsize(path),
        }
        products = {
            "format": "products:1.0",
            "datatype": "image-downloads",
            "content_id": "images",
            "products": {
                "busybox:refresh:amd64:default": {
                    "aliases": "lxdapi/refresh",
                    "arch": "amd64",
                    "os": "busybox",
                    "release": "refresh",
                    "release_title": "refresh",
                    "versions": {version: {"items": {ftype: item}}},
                }
            },
        }
        index = {
            "format": "index:1.0",
            "index": {
                "images": {
                    "datatype": "image-downloads",
                    "path": "streams/v1/images.json",
                    "format": "products:1.0",
                    "products": list(products["products"]),
                }
            },
        }
        with open(path, "rb") as fh:
            self.files[f"/streams/images/{version}.tar.gz"] = fh.read()
        self.files["/streams/streams/v1/index.json"] = json.dumps(index).encode()
        self.files["/streams/streams/v1/images.json"] = json.dumps(products).encode()
        return fingerprint

    def age_the_daemon_s_copy(self, lxd):
        """The daemon keeps an image server's index for an hour (in
        ``cache/<sha256 of the URL>/``): make its copy an hour and more old."""
        folder = os.path.join(lxd.lxd_dir, "cache", hashlib.sha256(self.url.encode()).hexdigest())
        old = time.time() - 2 * 3600
        for name in os.listdir(folder):
            os.utime(os.path.join(folder, name), (old, old))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def streams(lxd, tmp_path):
    server = StreamsServer(lxd.server, tmp_path)
    made = []
    server.made = made
    yield server
    server.close()
    for fingerprint in made:
        lxd.lxc("image", "delete", fingerprint, check=False)


def _target(lxd, alias):
    found = lxd.lxc("query", "/1.0/images/aliases/" + alias, check=False)
    return json.loads(found)["target"] if found else None


def test_refresh_an_image_pulled_from_an_image_server(modules, lxd, streams, unique_name):
    first = streams.publish("20240101_0000")
    streams.made.append(first)
    source = {"server": streams.url, "protocol": "simplestreams", "alias": "lxdapi/refresh"}
    modules.lxdapi.post(
        "images",
        {"source": dict(source, type="image", mode="pull"), "aliases": [{"name": unique_name}]},
    )
    assert _target(lxd, unique_name) == first

    # nothing newer on the image server
    assert modules.lxdapi.image_refresh(unique_name) == {
        "refreshed": False,
        "old": first,
        "new": first,
    }
    assert _target(lxd, unique_name) == first

    second = streams.publish("20240102_0000")
    streams.made.append(second)
    streams.age_the_daemon_s_copy(lxd)
    assert modules.lxdapi.image_refresh(unique_name) == {
        "refreshed": True,
        "old": first,
        "new": second,
    }
    assert _target(lxd, unique_name) == second  # the alias moved
    assert modules.lxdapi.image_get(first) is False  # the old image is gone
    assert modules.lxdapi.image_get(second)["update_source"]["server"] == streams.url
    # by its fingerprint now: up to date
    assert modules.lxdapi.image_refresh(second)["refreshed"] is False


def test_refresh_an_image_with_nothing_to_refresh_from(modules, lxd, request_log):
    request_log.clear()
    with pytest.raises(SaltInvocationError, match="has no update source"):
        modules.lxdapi.image_refresh("busybox")
    with pytest.raises(CommandExecutionError, match="no image alias or fingerprint 'no-such-i'"):
        modules.lxdapi.image_refresh("no-such-i")
    with pytest.raises(SaltInvocationError, match="image must be a non-empty name"):
        modules.lxdapi.image_refresh("")
    assert request_log.writes == []
    assert modules.lxdapi.image_get("busybox")["fingerprint"] == lxd.fingerprint
