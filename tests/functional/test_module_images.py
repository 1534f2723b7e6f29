"""Execution module: images and aliases, against the real daemon.

The session image (alias ``busybox``) is shared by every test: tests that delete an image
work on a second, different image built here.
"""

import os
import shutil
import sys

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

sys.path.insert(
    0,
    os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"
    ),
)

import lxdhost  # noqa: E402


@pytest.fixture(scope="module")
def other_image(tmp_path_factory):
    """A busybox tarball that differs from the session's (another description)."""
    path = str(tmp_path_factory.mktemp("img") / "other.tar.gz")
    fingerprint = lxdhost.build_busybox_image(path, description="busybox (module tests)")
    return path, fingerprint


@pytest.fixture
def clean_other(lxd, other_image):
    """Removes the other image from the server after the test."""
    yield other_image
    lxd.lxc("image", "delete", other_image[1], check=False)


def aliases_on_server(api):
    return {
        a["name"]: a["target"] for a in api.get("images/aliases", params={"recursion": 1}).metadata
    }


def images_on_server(api):
    """The fingerprints the server lists, sorted (Incus lists them in no fixed order)."""
    return sorted(u.rsplit("/", 1)[-1] for u in api.get("images").metadata)


# ------------------------------------------------------------------------ reads


def test_image_get_by_alias_fingerprint_and_prefix(modules, lxd):
    by_alias = modules.lxdapi.image_get("busybox")
    assert by_alias["fingerprint"] == lxd.fingerprint
    assert modules.lxdapi.image_get(lxd.fingerprint) == by_alias
    assert modules.lxdapi.image_get(lxd.fingerprint[:12])["fingerprint"] == lxd.fingerprint
    assert {"name": "busybox", "description": ""} in [
        {k: a[k] for k in ("name", "description")} for a in by_alias["aliases"]
    ]


def test_image_get_absent(modules):
    assert modules.lxdapi.image_get("no-such-alias") is False
    assert modules.lxdapi.image_get("0" * 64) is False
    with pytest.raises(SaltInvocationError, match="image must be a non-empty name"):
        modules.lxdapi.image_get("")


def test_image_list(modules, api, lxd):
    assert sorted(modules.lxdapi.image_list()) == images_on_server(api)  # any order
    assert lxd.fingerprint in modules.lxdapi.image_list()
    detailed = modules.lxdapi.image_list(recursion=1)
    assert lxd.fingerprint in [i["fingerprint"] for i in detailed]


def test_image_alias_list(modules, api, lxd):
    assert "busybox" in modules.lxdapi.image_alias_list()
    detailed = modules.lxdapi.image_alias_list(recursion=1)
    assert {a["name"]: a["target"] for a in detailed} == aliases_on_server(api)


# --------------------------------------------------------------------- import


def test_image_import_local_path_idempotent(modules, api, clean_other, request_log):
    path, fingerprint = clean_other
    assert fingerprint not in images_on_server(api)
    assert modules.lxdapi.image_import(path) == fingerprint
    assert fingerprint in images_on_server(api)
    assert api.get("images/" + fingerprint).metadata["public"] is False
    request_log.clear()
    assert modules.lxdapi.image_import(path) == fingerprint
    assert request_log.writes == []


def test_image_import_salt_url_with_alias_and_public(
    modules, api, clean_other, minion_opts, unique_name
):
    path, fingerprint = clean_other
    base = minion_opts["file_roots"]["base"][0]
    folder = os.path.join(base, "lxdapi-images")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(path, os.path.join(folder, "other.tar.gz"))
    alias = unique_name[:50] + "-img"
    try:
        got = modules.lxdapi.image_import(
            "salt://lxdapi-images/other.tar.gz", alias=alias, public=True
        )
    finally:
        shutil.rmtree(folder)
    assert got == fingerprint
    assert aliases_on_server(api)[alias] == fingerprint
    assert api.get("images/" + fingerprint).metadata["public"] is True


def test_image_import_bad_source(modules, api):
    before = images_on_server(api)
    with pytest.raises(SaltInvocationError, match="source file /no/such.tar.gz does not exist"):
        modules.lxdapi.image_import("/no/such.tar.gz")
    with pytest.raises(SaltInvocationError, match="salt://no/such.tar.gz was not found"):
        modules.lxdapi.image_import("salt://no/such.tar.gz")
    assert images_on_server(api) == before


def test_image_import_not_an_image(modules, api, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    before = images_on_server(api)
    with pytest.raises(CommandExecutionError):
        modules.lxdapi.image_import(str(junk))
    assert images_on_server(api) == before


# --------------------------------------------------------------------- delete


def test_image_delete_by_fingerprint_and_alias(modules, api, lxd, clean_other):
    path, fingerprint = clean_other
    lxd.lxc("image", "import", path, "--alias", "doomed")
    assert modules.lxdapi.image_delete("doomed") is True
    assert fingerprint not in images_on_server(api)
    assert "doomed" not in aliases_on_server(api)
    assert modules.lxdapi.image_delete("doomed") is False
    lxd.lxc("image", "import", path)
    assert modules.lxdapi.image_delete(fingerprint) is True
    assert fingerprint not in images_on_server(api)
    assert modules.lxdapi.image_delete(fingerprint) is False


# -------------------------------------------------------------------- aliases


def test_image_alias_add_and_delete(modules, api, lxd, unique_name, request_log):
    alias = unique_name[:50] + "-a"
    try:
        assert (
            modules.lxdapi.image_alias_add(alias, lxd.fingerprint[:12], description="test alias")
            is True
        )
        held = api.get("images/aliases/" + alias).metadata
        assert (held["target"], held["description"]) == (lxd.fingerprint, "test alias")
        request_log.clear()
        assert modules.lxdapi.image_alias_add(alias, "busybox") is False  # via another alias
        assert request_log.writes == []
        assert modules.lxdapi.image_alias_delete(alias) is True
        assert alias not in aliases_on_server(api)
        assert modules.lxdapi.image_alias_delete(alias) is False
        assert lxd.fingerprint in images_on_server(api)  # the image stays
    finally:
        lxd.lxc("image", "alias", "delete", alias, check=False)


def test_image_alias_add_move(modules, api, lxd, clean_other, unique_name):
    path, fingerprint = clean_other
    lxd.lxc("image", "import", path)
    alias = unique_name[:50] + "-m"
    try:
        modules.lxdapi.image_alias_add(alias, lxd.fingerprint)
        with pytest.raises(
            CommandExecutionError,
            match=f"already points at {lxd.fingerprint}; pass move=True",
        ):
            modules.lxdapi.image_alias_add(alias, fingerprint)
        assert aliases_on_server(api)[alias] == lxd.fingerprint
        assert modules.lxdapi.image_alias_add(alias, fingerprint, move=True) is True
        assert aliases_on_server(api)[alias] == fingerprint
    finally:
        lxd.lxc("image", "alias", "delete", alias, check=False)


def test_image_alias_add_missing_image(modules, api, unique_name):
    with pytest.raises(CommandExecutionError, match="no image alias or fingerprint 'ffff"):
        modules.lxdapi.image_alias_add(unique_name, "ffff" * 16)
    assert unique_name not in aliases_on_server(api)
    with pytest.raises(SaltInvocationError, match="alias must be a non-empty name"):
        modules.lxdapi.image_alias_add("", "busybox")
