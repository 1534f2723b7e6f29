"""Warnings, host reads and image exports, without a server: what a server lacking an
API extension is told before any request, the arguments refused before any, and the
pure parts (the multipart reader of a split image's export, the metrics filter).

The API here points at a socket that does not exist: a request would fail with "cannot
reach", so each check passing says that nothing was sent."""

import hashlib

import pytest

import lxdapi_host
import lxdapi_images
import lxdapi_warnings
from conftest import core


def api_showing(extensions=(), kind="lxd"):
    api = core.API(None, "http+unix://%2Fnonexistent%2Funix.socket")
    api._server = {
        "api_extensions": list(extensions),
        "auth": "trusted",
        "environment": {"server": kind, "server_version": "5.0.2"},
    }
    return api


@pytest.mark.parametrize(
    "call, extension",
    [
        (lambda api: lxdapi_warnings.warning_list(api), "warnings"),
        (
            lambda api: lxdapi_warnings.warning_get(api, "0c10b517-b0c9-441f-b531-db8af1d22995"),
            "warnings",
        ),
        (lambda api: lxdapi_host.metrics(api), "metrics"),
        (lambda api: lxdapi_host.project_state(api, "p1"), "project_usage"),
        (lambda api: lxdapi_host.host_resources(api), "resources"),
        (lambda api: lxdapi_host.storage_pool_resources(api, "default"), "resources"),
    ],
)
def test_a_missing_api_extension_is_named_before_any_request(call, extension):
    with pytest.raises(core.APIException) as info:
        call(api_showing())
    assert f"no {extension} API extension" in str(info.value)
    assert "LXD at /nonexistent/unix.socket" in str(info.value)
    assert not isinstance(info.value, core.APIConnectionError)


def test_uuids():
    assert lxdapi_warnings.check_uuid(" 0C10B517-B0C9-441F-B531-DB8AF1D22995 ") == (
        "0c10b517-b0c9-441f-b531-db8af1d22995"
    )
    for bad in ("web1", "", None, 7, "0c10b517-b0c9-441f-b531-db8af1d2299"):
        with pytest.raises(ValueError, match="must be a warning's UUID"):
            lxdapi_warnings.check_uuid(bad)


@pytest.mark.parametrize(
    "kwargs, problem",
    [
        ({"name": "not-a-uuid"}, "name (with no type or severity to match) must be a warning"),
        ({"name": "x", "severity": "urgent"}, "severity must be one of low, moderate, high"),
        ({"name": "x", "severity": []}, "severity must be one of"),
        ({"name": "x", "type": "  "}, "type must be a warning type"),
    ],
)
def test_the_acknowledged_plan_refuses_bad_input_before_any_request(kwargs, problem):
    api = api_showing(["warnings"])
    with pytest.raises(ValueError) as info:
        lxdapi_warnings.plan_warning_acknowledged(api, **kwargs)
    assert problem in str(info.value)


# ----------------------------------------------------------------- a split image's export


def multipart(boundary, parts, preamble=b""):
    """A body as Go's mime/multipart writer makes it (LXD's and Incus's file response)."""
    out = preamble
    for name, data in parts:
        out += b"--" + boundary + b"\r\n"
        out += b'Content-Disposition: form-data; name="%s"; filename="f-%s"\r\n' % (name, name)
        out += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def chunks(data, size):
    return [data[i : i + size] for i in range(0, len(data), size)]


def read_parts(body, boundary, size):
    got = {}
    api = api_showing()
    for part, data in lxdapi_images._multipart_pieces(chunks(body, size), boundary, api, "f" * 64):
        got[part] = got.get(part, b"") + data
    return got


# Data that looks like a boundary, or almost: the reader must not be fooled by it.
METADATA = b"metadata\r\n--b0und" + b"x" * 100 + b"\r\n-"
ROOTFS = bytes(range(256)) * 40 + b"\r\n--b0undar" + b"\r\n"


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16, 1000, 1 << 20])
@pytest.mark.parametrize("rootfs_name", [b"rootfs", b"rootfs.img"])
def test_the_parts_of_a_split_export_whatever_the_chunks(size, rootfs_name):
    boundary = b"b0undary0123456789"
    body = multipart(boundary, [(b"metadata", METADATA), (rootfs_name, ROOTFS)])
    assert read_parts(body, boundary, size) == {"metadata": METADATA, "rootfs": ROOTFS}


def test_an_empty_part_and_a_preamble():
    boundary = b"xyz"
    body = multipart(boundary, [(b"metadata", b""), (b"rootfs", b"r")], preamble=b"ignored\r\n")
    assert read_parts(body, boundary, 4) == {"rootfs": b"r"}


def test_an_unknown_part_or_a_cut_answer_is_refused():
    boundary = b"xyz"
    with pytest.raises(core.APIException, match="unknown part 'other'"):
        read_parts(multipart(boundary, [(b"other", b"data")]), boundary, 5)
    cut = multipart(boundary, [(b"metadata", b"data"), (b"rootfs", b"r" * 50)])[:-30]
    with pytest.raises(core.APIException, match="ended before its last part"):
        read_parts(cut, boundary, 5)


def test_what_does_not_match_the_fingerprint_is_not_kept(tmp_path):
    dest = tmp_path / "image.tar.gz"
    pieces = [("metadata", b"not the image")]
    api = api_showing()
    with pytest.raises(core.APIException, match="not the image's fingerprint; nothing was"):
        lxdapi_images._write_pieces(iter(pieces), {"metadata": str(dest)}, api, "0" * 64, False)
    assert list(tmp_path.iterdir()) == []
    good = hashlib.sha256(b"the image").hexdigest()
    files = lxdapi_images._write_pieces(
        iter([("metadata", b"the "), ("metadata", b"image")]),
        {"metadata": str(dest)},
        api,
        good,
        False,
    )
    assert files["metadata"].size == 9 and dest.read_bytes() == b"the image"
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["image.tar.gz"]


def test_a_split_export_missing_its_rootfs_is_not_kept(tmp_path):
    api = api_showing()
    targets = {"metadata": str(tmp_path / "m"), "rootfs": str(tmp_path / "r")}
    with pytest.raises(core.APIException, match="has no rootfs part"):
        lxdapi_images._write_pieces(iter([("metadata", b"m")]), targets, api, "0" * 64, True)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ metrics

TEXT = """\
# HELP lxd_cpu_seconds_total The total number of CPU time used in seconds.
# TYPE lxd_cpu_seconds_total counter
lxd_cpu_seconds_total{cpu="0",mode="system",name="web1",project="default",type="container"} 1.5
# HELP lxd_memory_RSS_bytes The amount of anonymous and swap cache memory.
# TYPE lxd_memory_RSS_bytes gauge
lxd_memory_RSS_bytes{name="web1",project="default",type="container"} 1.2e+06
# HELP lxd_procs_total The number of running processes.
# TYPE lxd_procs_total gauge
lxd_procs_total{name="web1",project="default",type="container"} 3
# EOF
"""


def pick(names):
    return "".join(
        line for line in TEXT.splitlines(True) if lxdapi_host._wanted_line(line, set(names))
    )


def test_picking_metrics_by_name_or_family():
    assert pick(["lxd_memory_RSS_bytes"]) == "".join(TEXT.splitlines(True)[3:6]) + "# EOF\n"
    family = pick(["lxd_cpu_seconds"])
    assert family == "".join(TEXT.splitlines(True)[0:3]) + "# EOF\n"
    assert pick(["lxd_cpu_seconds_total"]) == family
    assert pick(["nothing"]) == "# EOF\n"
