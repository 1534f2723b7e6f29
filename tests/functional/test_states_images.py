"""lxdapi.image_present / image_absent / image_alias_present / image_alias_absent.

Against the session's real daemon and, for pulls, a second real daemon serving images
over HTTPS on loopback. The session's ``busybox`` image and alias are never touched.
"""

import os
import shutil
import uuid

import pytest

import lxdhost
from conftest import core


def held(api, url):
    result = core.get_or_none(api, url)
    return None if result is None else result.metadata


def alias_target(api, alias):
    meta = held(api, "images/aliases/" + alias)
    return meta and meta["target"]


@pytest.fixture
def image_file(tmp_path):
    """A fresh busybox image tarball (its own fingerprint): ``(path, fingerprint)``."""
    path = str(tmp_path / "image.tar.gz")
    return path, lxdhost.build_busybox_image(path, description="test image")


@pytest.fixture
def cleanup(lxd):
    """Register images (fingerprints) and aliases this test may create."""
    made = {"images": [], "aliases": []}
    yield made
    for alias in made["aliases"]:
        lxd.lxc("image", "alias", "delete", alias, check=False)
    for fingerprint in made["images"]:
        assert fingerprint != lxd.fingerprint
        lxd.lxc("image", "delete", fingerprint, check=False)


@pytest.fixture
def alias(unique_name, cleanup):
    cleanup["aliases"].append(unique_name)
    return unique_name


# ---------------------------------------------------------------------- image_present


def test_import_from_a_file_then_noop(states, api, alias, image_file, cleanup, request_log):
    path, fingerprint = image_file
    cleanup["images"].append(fingerprint)
    cleanup["aliases"].append(alias + "-2")
    ret = states.lxdapi.image_present(name=alias, source=path, aliases=[alias + "-2"])
    assert ret.result is True, ret.comment
    assert ret.comment == f"Image {alias} imported."
    assert ret.changes == {
        "image": {"old": None, "new": fingerprint},
        "aliases": {
            "old": {alias: None, alias + "-2": None},
            "new": {alias: fingerprint, alias + "-2": fingerprint},
        },
    }
    image = held(api, "images/" + fingerprint)
    assert image["public"] is False and image["auto_update"] is False
    assert alias_target(api, alias) == fingerprint
    assert alias_target(api, alias + "-2") == fingerprint

    request_log.clear()
    ret = states.lxdapi.image_present(name=alias, source=path, aliases=[alias + "-2"])
    assert ret.result is True and ret.changes == {}, ret.comment
    assert ret.comment == f"Image {alias} is already present."
    assert request_log.writes == []
    assert request_log.count("GET") == 1  # the image: it lists its aliases


def test_test_mode_predicts_and_uploads_nothing(states, api, alias, image_file, request_log):
    path, fingerprint = image_file
    request_log.clear()
    ret = states.lxdapi.image_present(name=alias, source=path, public=True, test=True)
    assert ret.result is None
    assert ret.comment.startswith(f"Would have: Image {alias} imported")
    assert ret.changes["image"] == {"old": None, "new": fingerprint}
    assert ret.changes["aliases"]["new"] == {alias: fingerprint}
    assert request_log.writes == []
    assert held(api, "images/" + fingerprint) is None
    assert held(api, "images/aliases/" + alias) is None


def test_public_and_auto_update_are_kept_as_declared(
    states, api, alias, image_file, cleanup, request_log
):
    path, fingerprint = image_file
    cleanup["images"].append(fingerprint)
    ret = states.lxdapi.image_present(name=alias, source=path, public=True, auto_update=True)
    assert ret.result is True, ret.comment
    assert ret.changes["auto_update"] == {"old": False, "new": True}
    image = held(api, "images/" + fingerprint)
    assert image["public"] is True and image["auto_update"] is True

    request_log.clear()
    ret = states.lxdapi.image_present(name=alias, source=path)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Image {alias} updated."
    assert ret.changes == {
        "public": {"old": True, "new": False},
        "auto_update": {"old": True, "new": False},
    }
    assert [w[0] for w in request_log.writes] == ["PATCH"]
    image = held(api, "images/" + fingerprint)
    assert image["public"] is False and image["auto_update"] is False


def test_a_new_tarball_moves_the_alias_and_keeps_the_old_image(
    states, api, alias, image_file, cleanup, tmp_path
):
    path, fingerprint = image_file
    cleanup["images"].append(fingerprint)
    assert states.lxdapi.image_present(name=alias, source=path).result is True
    newer = str(tmp_path / "newer.tar.gz")
    new_fingerprint = lxdhost.build_busybox_image(newer, description="newer")
    cleanup["images"].append(new_fingerprint)
    assert new_fingerprint != fingerprint

    ret = states.lxdapi.image_present(name=alias, source=newer)
    assert ret.result is True, ret.comment
    assert ret.changes == {
        "image": {"old": None, "new": new_fingerprint},
        "aliases": {"old": {alias: fingerprint}, "new": {alias: new_fingerprint}},
    }
    assert alias_target(api, alias) == new_fingerprint
    assert held(api, "images/" + fingerprint) is not None  # kept

    # And back: the old image exists, only the alias moves.
    ret = states.lxdapi.image_present(name=alias, source=path)
    assert ret.changes == {
        "aliases": {"old": {alias: new_fingerprint}, "new": {alias: fingerprint}}
    }
    assert alias_target(api, alias) == fingerprint


def test_salt_url_source(states, api, alias, image_file, cleanup, minion_opts):
    path, fingerprint = image_file
    cleanup["images"].append(fingerprint)
    tree = minion_opts["file_roots"]["base"][0]
    name = f"img-{uuid.uuid4().hex[:8]}.tar.gz"
    shutil.copy(path, os.path.join(tree, name))
    try:
        ret = states.lxdapi.image_present(name=alias, source="salt://" + name)
        assert ret.result is True, ret.comment
        assert alias_target(api, alias) == fingerprint
        ret = states.lxdapi.image_present(name=alias, source="salt://" + name)
        assert ret.result is True and ret.changes == {}
    finally:
        os.remove(os.path.join(tree, name))


@pytest.mark.parametrize(
    "declared, problem",
    [
        ({"source": "/no/such/image.tar.gz"}, "image file '/no/such/image.tar.gz' does not exist"),
        ({"source": "salt://no-such-image.tar.gz"}, "salt://no-such-image.tar.gz was not found"),
        ({"source": None}, "source must be an image file"),
        ({"public": "yes"}, "public must be true or false"),
        ({"aliases": "other"}, "aliases must be a list of names"),
        (
            {"source": {"server": "https://127.0.0.1:1", "protocol": "ftp", "alias": "x"}},
            "unknown image protocol 'ftp'",
        ),
        ({"source": {"protocol": "lxd", "alias": "x"}}, "needs a server URL"),
        ({"source": {"server": "https://127.0.0.1:1"}}, "needs an alias or a fingerprint"),
        (
            {"source": {"server": "https://127.0.0.1:1", "alias": "x", "colour": "red"}},
            "unknown image source key(s): colour",
        ),
    ],
)
def test_image_present_bad_input(states, api, alias, image_file, request_log, declared, problem):
    declared = dict({"source": image_file[0]}, **declared)
    request_log.clear()
    ret = states.lxdapi.image_present(name=alias, **declared)
    assert ret.result is False
    assert problem in ret.comment, ret.comment
    assert ret.changes == {}
    assert request_log.writes == []
    assert held(api, "images/aliases/" + alias) is None
    assert held(api, "images/" + image_file[1]) is None


# ------------------------------------------------------------- pull from an image server


@pytest.fixture(scope="module")
def image_server(tmp_path_factory, lxd):
    """A second daemon of the same kind (LXD, or Incus: which takes no ``lxd`` protocol)
    serving a public image (alias ``served``) on https://127.0.0.1:PORT."""
    base = lxdhost.make_base_dir("lxdapi-imgsrv-")
    lxd_dir = os.path.join(base, lxd.server)
    address = f"127.0.0.1:{lxdhost.free_port()}"
    try:
        lxdhost.start_https_daemon(lxd_dir, address, server=lxd.server)
        path = str(tmp_path_factory.mktemp("served") / "served.tar.gz")
        fingerprint = lxdhost.build_busybox_image(path, description="served")
        lxdhost.lxc(lxd_dir, "image", "import", path, "--alias", "served", "--public")
        yield {
            "protocol": lxd.server,
            "server": "https://" + address,
            "certificate": lxdhost.server_certificate(lxd_dir),
            "fingerprint": fingerprint,
        }
    finally:
        lxdhost.stop_daemon(lxd_dir)
        shutil.rmtree(base, ignore_errors=True)


def test_pull_from_an_image_server_then_noop(
    states, api, alias, image_server, cleanup, request_log
):
    cleanup["images"].append(image_server["fingerprint"])
    source = {
        "server": image_server["server"],
        "protocol": image_server["protocol"],
        "alias": "served",
        "certificate": image_server["certificate"],
    }
    request_log.clear()
    ret = states.lxdapi.image_present(name=alias, source=source, test=True)
    assert ret.result is None
    assert ret.changes["image"] == {"old": None, "new": "served from " + image_server["server"]}
    assert request_log.writes == []

    ret = states.lxdapi.image_present(name=alias, source=source)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Image {alias} imported."
    assert ret.changes["image"]["old"] is None
    assert ret.changes["aliases"]["old"] == {alias: None}
    assert alias_target(api, alias) == image_server["fingerprint"]
    image = held(api, "images/" + image_server["fingerprint"])
    assert image["update_source"]["server"] == image_server["server"]
    assert image["update_source"]["alias"] == "served"

    request_log.clear()
    ret = states.lxdapi.image_present(name=alias, source=source)
    assert ret.result is True and ret.changes == {}, ret.comment
    assert request_log.writes == []

    # Pinned by fingerprint: the same image, still nothing to do.
    pinned = dict(source, fingerprint=image_server["fingerprint"])
    ret = states.lxdapi.image_present(name=alias, source=pinned)
    assert ret.result is True and ret.changes == {}, ret.comment


def test_pull_moves_an_alias_that_points_elsewhere(states, api, alias, image_server, cleanup, lxd):
    cleanup["images"].append(image_server["fingerprint"])
    lxd.lxc("image", "delete", image_server["fingerprint"], check=False)
    lxd.lxc("image", "alias", "create", alias, lxd.fingerprint)
    source = {
        "server": image_server["server"],
        "alias": "served",
        "certificate": image_server["certificate"],
    }
    ret = states.lxdapi.image_present(name=alias, source=source)
    assert ret.result is True, ret.comment
    assert ret.changes["aliases"] == {
        "old": {alias: lxd.fingerprint},
        "new": {alias: "served from " + image_server["server"]},
    }
    assert alias_target(api, alias) == image_server["fingerprint"]
    assert held(api, "images/" + lxd.fingerprint) is not None  # the session's image stays


def test_a_failed_pull_is_reported_and_leaves_nothing(
    states, api, alias, image_server, request_log
):
    source = {
        "server": image_server["server"],
        "alias": "no-such-image",
        "certificate": image_server["certificate"],
    }
    images_before = sorted(held(api, "images"))  # Incus lists them in no fixed order
    ret = states.lxdapi.image_present(name=alias, source=source)
    assert ret.result is False
    assert "no-such-image" in ret.comment or "not found" in ret.comment.lower(), ret.comment
    assert ret.changes == {}
    assert held(api, "images/aliases/" + alias) is None
    assert sorted(held(api, "images")) == images_before


# ------------------------------------------------------------------------ image_absent


def test_image_absent_by_alias_and_by_fingerprint(
    states, api, alias, image_file, lxd, cleanup, request_log
):
    path, fingerprint = image_file
    cleanup["images"].append(fingerprint)
    lxd.lxc("image", "import", path, "--alias", alias)

    request_log.clear()
    ret = states.lxdapi.image_absent(name=alias, test=True)
    assert ret.result is None
    assert ret.changes == {
        "image": {"old": {"fingerprint": fingerprint, "aliases": [alias]}, "new": None}
    }
    assert request_log.writes == [] and held(api, "images/" + fingerprint)

    ret = states.lxdapi.image_absent(name=alias)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Image {alias} deleted."
    assert held(api, "images/" + fingerprint) is None

    lxd.lxc("image", "import", path)
    ret = states.lxdapi.image_absent(name=fingerprint[:12])
    assert ret.result is True and ret.changes["image"]["old"]["fingerprint"] == fingerprint
    assert held(api, "images/" + fingerprint) is None

    request_log.clear()
    ret = states.lxdapi.image_absent(name=fingerprint)
    assert ret.result is True and ret.changes == {}
    assert ret.comment == f"Image {fingerprint} is already absent."
    assert request_log.writes == []


def test_image_absent_bad_input(states, request_log):
    request_log.clear()
    ret = states.lxdapi.image_absent(name="x", colour="red")
    assert ret.result is False and "unexpected argument(s): colour" in ret.comment
    assert request_log == []


# ------------------------------------------------------- image_alias_present / absent


def test_alias_create_describe_move_and_noop(
    states, api, alias, image_file, lxd, cleanup, request_log
):
    path, fingerprint = image_file
    cleanup["images"].append(fingerprint)
    lxd.lxc("image", "import", path)

    request_log.clear()
    ret = states.lxdapi.image_alias_present(name=alias, target=lxd.fingerprint[:12], test=True)
    assert ret.result is None
    assert ret.changes == {
        "alias": {"old": None, "new": {"target": lxd.fingerprint, "description": ""}}
    }
    assert request_log.writes == [] and held(api, "images/aliases/" + alias) is None

    ret = states.lxdapi.image_alias_present(name=alias, target=lxd.fingerprint[:12])
    assert ret.result is True, ret.comment
    assert ret.comment == f"Image alias {alias} created."
    assert alias_target(api, alias) == lxd.fingerprint

    ret = states.lxdapi.image_alias_present(name=alias, target=fingerprint, description="moved")
    assert ret.result is True, ret.comment
    assert ret.comment == f"Image alias {alias} updated."
    assert ret.changes == {
        "target": {"old": lxd.fingerprint, "new": fingerprint},
        "description": {"old": "", "new": "moved"},
    }
    assert held(api, "images/aliases/" + alias) == {
        "name": alias,
        "target": fingerprint,
        "description": "moved",
        "type": "container",
    }

    request_log.clear()
    ret = states.lxdapi.image_alias_present(name=alias, target=fingerprint, description="moved")
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []

    # A target given as another alias.
    ret = states.lxdapi.image_alias_present(name=alias, target="busybox")
    assert ret.changes["target"] == {"old": fingerprint, "new": lxd.fingerprint}


def test_alias_to_a_missing_image_creates_nothing(states, api, alias, request_log):
    request_log.clear()
    ret = states.lxdapi.image_alias_present(name=alias, target="0" * 64)
    assert ret.result is False
    assert "image '{}' does not exist".format("0" * 64) in ret.comment
    assert request_log.writes == []
    assert held(api, "images/aliases/" + alias) is None


def test_alias_absent_keeps_the_image(states, api, alias, lxd, request_log):
    lxd.lxc("image", "alias", "create", alias, lxd.fingerprint)
    ret = states.lxdapi.image_alias_absent(name=alias)
    assert ret.result is True, ret.comment
    assert ret.changes == {
        "alias": {"old": {"target": lxd.fingerprint, "description": ""}, "new": None}
    }
    assert held(api, "images/aliases/" + alias) is None
    assert held(api, "images/" + lxd.fingerprint) is not None

    request_log.clear()
    ret = states.lxdapi.image_alias_absent(name=alias)
    assert ret.result is True and ret.changes == {}
    assert ret.comment == f"Image alias {alias} is already absent."
    assert request_log.writes == []
