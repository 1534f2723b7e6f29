"""The states and execution functions on a real Incus daemon (the ``incus`` fixture).

The same contract as on LXD: a first run makes the change, a second run reports none and
sends no write (``request_log``), ``test=True`` predicts and writes nothing. What the
server holds is read through the server itself (``incus query``, ``incus exec``), never
through the core under test.
"""

import json
import uuid

import pytest

import lxdhost

NO_ADDRESSES = {"ipv4.address": "none", "ipv6.address": "none"}


def query(incus, url):
    """``incus query URL`` (a ``/1.0/...`` path) decoded, or None when it is not found."""
    out = incus.lxc("query", url, check=False)
    return json.loads(out) if out.strip() else None


def require_extension(incus, extension):
    """Skip, naming the server and the API extension, when the daemon lacks it."""
    extensions = query(incus, "/1.0")["api_extensions"]
    if extension not in extensions:
        pytest.skip(f"{incus.server} lacks the API extension {extension!r}")


def short_name(prefix="ti"):
    """A unique name short enough for a network interface (at most 15 characters); the
    ``ti`` prefix keeps Incus's bridges apart from the LXD tests' (``t5...``)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cleanup(incus):
    """Register ``incus`` commands (argument lists) run in reverse order at teardown."""
    commands = []
    yield commands.append
    for args in reversed(commands):
        incus.lxc(*args, check=False)


@pytest.fixture
def name(unique_name, cleanup):
    """A name for this test's instance, deleted (forced) at teardown."""
    cleanup(["delete", "--force", unique_name])
    return unique_name


@pytest.fixture
def running(incus, name):
    """A running busybox container on Incus."""
    incus.lxc("launch", "busybox", name)
    return name


@pytest.fixture
def stopped(incus, name):
    """A stopped busybox container on Incus."""
    incus.lxc("init", "busybox", name)
    return name


def test_the_fixture_is_an_incus_daemon(incus, incus_api):
    server = query(incus, "/1.0")
    assert incus.server == "incus"
    assert server["environment"]["server"] == "incus"
    assert incus_api.get("").metadata["environment"]["server"] == "incus"
    aliases = [a["name"] for a in json.loads(incus.lxc("image", "alias", "list", "-f", "json"))]
    assert "busybox" in aliases


# ------------------------------------------------------------------ container_present


def test_container_present_created_then_noop_and_test_mode(incus, incus_states, name, request_log):
    declared = dict(name=name, source="busybox", config={"user.role": "web"}, status="Running")

    request_log.clear()
    predicted = incus_states.lxdapi.container_present(test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes["instance"]["old"] is None
    assert predicted.changes["status"] == {"old": None, "new": "Running"}
    assert request_log.writes == []
    assert query(incus, "/1.0/instances/" + name) is None

    ret = incus_states.lxdapi.container_present(**declared)
    assert ret.result is True, ret.comment
    assert ret.comment.startswith(f"Container {name} created.")
    assert ret.changes["instance"]["old"] is None
    assert ret.changes["status"] == {"old": None, "new": "Running"}
    held = query(incus, "/1.0/instances/" + name)
    assert held["status"] == "Running"
    assert held["config"]["user.role"] == "web"
    assert held["config"]["volatile.base_image"] == incus.fingerprint

    request_log.clear()
    again = incus_states.lxdapi.container_present(**declared)
    assert again.result is True, again.comment
    assert again.changes == {}
    assert again.comment == f"Container {name} is already as declared."
    assert request_log.writes == []

    request_log.clear()
    predicted = incus_states.lxdapi.container_present(test=True, **declared)
    assert predicted.result is True and predicted.changes == {}, predicted.comment
    assert request_log.writes == []


# ------------------------------------------------------------ profiles, networks, volumes


def test_profile_present_twice_and_test_mode(
    incus, incus_states, unique_name, cleanup, request_log
):
    cleanup(["profile", "delete", unique_name])
    declared = dict(name=unique_name, config={"user.flag": True}, description="on incus")

    request_log.clear()
    predicted = incus_states.lxdapi.profile_present(test=True, **declared)
    assert predicted.result is None
    assert predicted.changes["profile"] == {"old": None, "new": unique_name}
    assert request_log.writes == []
    assert query(incus, "/1.0/profiles/" + unique_name) is None

    ret = incus_states.lxdapi.profile_present(**declared)
    assert ret.result is True, ret.comment
    assert ret.changes["profile"] == {"old": None, "new": unique_name}
    held = query(incus, "/1.0/profiles/" + unique_name)
    assert held["config"] == {"user.flag": "true"}
    assert held["description"] == "on incus"

    request_log.clear()
    again = incus_states.lxdapi.profile_present(**declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []

    changed = dict(declared, config={"user.flag": False})
    predicted = incus_states.lxdapi.profile_present(test=True, **changed)
    assert predicted.result is None
    assert predicted.changes == {
        "config": {"old": {"user.flag": "true"}, "new": {"user.flag": "false"}}
    }
    assert request_log.writes == []
    assert query(incus, "/1.0/profiles/" + unique_name)["config"] == {"user.flag": "true"}


def test_network_present_twice_and_test_mode(incus, incus_states, cleanup, request_log):
    network = short_name()
    cleanup(["network", "delete", network])
    declared = dict(name=network, config=NO_ADDRESSES, description="incus bridge")

    request_log.clear()
    predicted = incus_states.lxdapi.network_present(test=True, **declared)
    assert predicted.result is None
    assert predicted.changes["network"] == {"old": None, "new": network}
    assert request_log.writes == []
    assert query(incus, "/1.0/networks/" + network) is None

    ret = incus_states.lxdapi.network_present(**declared)
    assert ret.result is True, ret.comment
    assert ret.changes["network"] == {"old": None, "new": network}
    held = query(incus, "/1.0/networks/" + network)
    assert held["type"] == "bridge" and held["managed"] is True
    assert held["config"]["ipv4.address"] == "none"
    assert held["config"]["ipv6.address"] == "none"
    assert held["description"] == "incus bridge"

    request_log.clear()
    again = incus_states.lxdapi.network_present(**declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []

    predicted = incus_states.lxdapi.network_present(
        test=True, **dict(declared, config=dict(NO_ADDRESSES, **{"bridge.mtu": 1400}))
    )
    assert predicted.result is None
    assert predicted.changes == {
        "config": {"old": {"bridge.mtu": None}, "new": {"bridge.mtu": "1400"}}
    }
    assert request_log.writes == []
    assert "bridge.mtu" not in query(incus, "/1.0/networks/" + network)["config"]


def test_storage_volume_present_twice_and_test_mode(
    incus, incus_states, unique_name, cleanup, request_log
):
    volume = unique_name
    cleanup(["storage", "volume", "delete", "default", volume])
    url = "/1.0/storage-pools/default/volumes/custom/" + volume
    declared = dict(pool="default", name=volume, config={"user.owner": "web"}, description="d")

    request_log.clear()
    predicted = incus_states.lxdapi.storage_volume_present(test=True, **declared)
    assert predicted.result is None
    assert predicted.changes["storage_volume"] == {"old": None, "new": volume}
    assert request_log.writes == []
    assert query(incus, url) is None

    ret = incus_states.lxdapi.storage_volume_present(**declared)
    assert ret.result is True, ret.comment
    assert ret.changes["storage_volume"] == {"old": None, "new": volume}
    held = query(incus, url)
    assert held["config"]["user.owner"] == "web"
    assert held["description"] == "d"

    request_log.clear()
    again = incus_states.lxdapi.storage_volume_present(**declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []

    predicted = incus_states.lxdapi.storage_volume_present(
        test=True, **dict(declared, config={"user.owner": "db"})
    )
    assert predicted.result is None
    assert predicted.changes == {
        "config": {"old": {"user.owner": "web"}, "new": {"user.owner": "db"}}
    }
    assert request_log.writes == []
    assert query(incus, url)["config"]["user.owner"] == "web"


# ------------------------------------------------------------------------------ files


def stat_inside(incus, container, path):
    """``mode uid gid`` of ``path`` as the container itself sees it (busybox stat)."""
    return incus.lxc("exec", container, "--", "stat", "-c", "%a %u %g", path).strip()


def test_file_managed_mode_uid_gid_in_a_running_container(
    incus, incus_states, running, request_log
):
    declared = dict(
        name="/root/app.conf",
        container=running,
        contents="port = 80\n",
        mode="0640",
        uid=1000,
        gid=1000,
    )
    request_log.clear()
    predicted = incus_states.lxdapi.file_managed(test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes["file"] == {"old": None, "new": "/root/app.conf"}
    assert request_log.writes == []

    ret = incus_states.lxdapi.file_managed(**declared)
    assert ret.result is True, ret.comment
    assert ret.changes["mode"] == {"old": None, "new": "0640"}
    assert ret.changes["uid"] == {"old": None, "new": 1000}
    assert ret.changes["gid"] == {"old": None, "new": 1000}
    assert stat_inside(incus, running, "/root/app.conf") == "640 1000 1000"
    assert incus.lxc("exec", running, "--", "cat", "/root/app.conf") == "port = 80\n"

    request_log.clear()
    again = incus_states.lxdapi.file_managed(**declared)
    assert again.result is True, again.comment
    assert again.changes == {}
    assert request_log.writes == []
    assert stat_inside(incus, running, "/root/app.conf") == "640 1000 1000"


def test_directory_present_mode_uid_gid_in_a_running_container(
    incus, incus_states, running, request_log
):
    declared = dict(name="/srv/data", container=running, mode="0750", uid=1000, gid=1000)
    incus.lxc("exec", running, "--", "mkdir", "-p", "/srv")

    request_log.clear()
    predicted = incus_states.lxdapi.directory_present(test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes["folder"] == {"old": None, "new": "/srv/data"}
    assert request_log.writes == []

    ret = incus_states.lxdapi.directory_present(**declared)
    assert ret.result is True, ret.comment
    assert ret.changes["folder"] == {"old": None, "new": "/srv/data"}
    assert stat_inside(incus, running, "/srv/data") == "750 1000 1000"

    request_log.clear()
    again = incus_states.lxdapi.directory_present(**declared)
    assert again.result is True, again.comment
    assert again.changes == {}
    assert request_log.writes == []


# ------------------------------------------------------------------ images and backups


@pytest.fixture
def other_image(incus, tmp_path):
    """A busybox image Incus does not hold yet (its own description: its own fingerprint)."""
    path = str(tmp_path / "other.tar.gz")
    fingerprint = lxdhost.build_busybox_image(path, description="incus " + uuid.uuid4().hex)
    yield path, fingerprint
    incus.lxc("image", "delete", fingerprint, check=False)


def test_image_import_public(incus, incus_modules, other_image, unique_name, request_log):
    path, fingerprint = other_image
    alias = unique_name[:50] + "-pub"
    assert query(incus, "/1.0/images/" + fingerprint) is None

    assert incus_modules.lxdapi.image_import(path, alias=alias, public=True) == fingerprint
    held = query(incus, "/1.0/images/" + fingerprint)
    assert held["public"] is True, "the image was imported private"
    assert query(incus, "/1.0/images/aliases/" + alias)["target"] == fingerprint

    request_log.clear()
    assert incus_modules.lxdapi.image_import(path, alias=alias, public=True) == fingerprint
    assert request_log.writes == []


def test_backup_export_then_import_under_a_new_name(
    incus, incus_modules, stopped, cleanup, tmp_path
):
    require_extension(incus, "container_backup")
    incus.lxc("snapshot", "create", stopped, "snap0")
    dest = tmp_path / "backup.tar.gz"
    out = incus_modules.lxdapi.container_backup_export(stopped, str(dest))
    assert out["dest"] == str(dest) and out["size"] == dest.stat().st_size > 1000
    assert query(incus, f"/1.0/instances/{stopped}/backups") == []

    copy = stopped[:50] + "-restored"
    cleanup(["delete", "--force", copy])
    assert incus_modules.lxdapi.container_backup_import(str(dest), name=copy) == copy
    held = query(incus, "/1.0/instances/" + copy)
    assert held is not None, f"no instance named {copy} after the import"
    assert held["name"] == copy
    assert query(incus, f"/1.0/instances/{copy}/snapshots") == [
        f"/1.0/instances/{copy}/snapshots/snap0"
    ]
    # the source is untouched (the import did not land on the backup's own name)
    assert query(incus, "/1.0/instances/" + stopped)["name"] == stopped


# ------------------------------------------------------------------------- snapshots


def test_snapshot_present_twice_and_test_mode(incus, incus_states, stopped, request_log):
    url = f"/1.0/instances/{stopped}/snapshots/snap0"
    request_log.clear()
    predicted = incus_states.lxdapi.snapshot_present(name="snap0", container=stopped, test=True)
    assert predicted.result is None
    assert predicted.changes == {"snapshot": {"old": None, "new": "snap0"}}
    assert request_log.writes == []
    assert query(incus, url) is None

    ret = incus_states.lxdapi.snapshot_present(name="snap0", container=stopped)
    assert ret.result is True, ret.comment
    assert ret.changes == {"snapshot": {"old": None, "new": "snap0"}}
    assert query(incus, url)["name"] == "snap0"

    request_log.clear()
    again = incus_states.lxdapi.snapshot_present(name="snap0", container=stopped)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []
