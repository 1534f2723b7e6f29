"""Retention by policy against the real daemon: ``snapshot_present`` and
``storage_volume_snapshot_present`` with ``keep``/``max_age`` and a strftime name, and
``backup_exported`` in a local folder.

The snapshots and files of past days are made by the test with names of those days (a
snapshot's ``created_at`` cannot be set): the policy reads a name's time from the name
when the pattern carries a year, which is what these tests rely on; one test checks the
other rule (no year in the pattern: ``created_at``, in the order the snapshots were
taken).
"""

import datetime
import os

import pytest

from resources_support import cleanup, held, make_container  # noqa: F401


def _day(days_ago, fmt="%Y%m%d"):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (now - datetime.timedelta(days=days_ago)).strftime(fmt)


def _names(api, url):
    return sorted(item.rsplit("/", 1)[-1] for item in held(api, url))


def _reads(request_log):
    """The paths read, the server document (once per run) left out."""
    paths = [u.split("/1.0", 1)[1].split("?")[0].lstrip("/") for m, u, _ in request_log]
    return [p for p in paths if p]


@pytest.fixture
def container(lxd, cleanup, unique_name):
    """A stopped busybox container, deleted (with its snapshots) at teardown."""
    return make_container(lxd, cleanup, unique_name[:40] + "-ret")


@pytest.fixture
def volume(lxd, cleanup, unique_name):
    """A custom volume in the ``default`` pool, deleted at teardown."""
    name = unique_name[:40] + "-rvol"
    cleanup(["storage", "volume", "delete", "default", name])
    lxd.lxc("storage", "volume", "create", "default", name)
    return name


def test_snapshots_keep_the_newest_of_the_pattern(states, api, lxd, container, request_log):
    url = f"instances/{container}/snapshots"
    past = [f"daily-{_day(n)}" for n in (1, 2, 3, 5, 8)]
    for name in past + ["manual", "daily-x"]:
        lxd.lxc("snapshot", container, name)
    before = _names(api, url)
    today = f"daily-{_day(0)}"
    declared = dict(name="daily-%Y%m%d", container=container, keep=3)

    request_log.clear()
    predicted = states.lxdapi.snapshot_present(test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes == {
        "snapshot": {"old": None, "new": today},
        "deleted": {"old": [past[4], past[3], past[2]], "new": None},
    }
    assert today in predicted.comment and past[4] in predicted.comment
    assert request_log.writes == []
    assert _names(api, url) == before

    ret = states.lxdapi.snapshot_present(**declared)
    assert ret.result is True, ret.comment
    assert ret.changes == predicted.changes
    # today's, the two newest of the pattern, and what does not match it
    assert _names(api, url) == sorted([today, past[0], past[1], "manual", "daily-x"])

    request_log.clear()
    again = states.lxdapi.snapshot_present(**declared)
    assert again.result is True and again.changes == {}, again.comment
    assert "nothing falls out" in again.comment
    assert request_log.writes == []
    assert _reads(request_log) == [url]  # one listing (and the server, once per run)


def test_snapshots_older_than_max_age_go(states, api, lxd, container, request_log):
    url = f"instances/{container}/snapshots"
    for name in [f"d-{_day(n)}" for n in (1, 2, 4, 9)] + ["d-manual"]:
        lxd.lxc("snapshot", container, name)
    today = f"d-{_day(0)}"
    declared = dict(name="d-%Y%m%d", container=container, max_age="3d", match="d-*")

    predicted = states.lxdapi.snapshot_present(test=True, **declared)
    assert predicted.result is None
    # d-manual matches the glob, but its time is its created_at (now): young enough
    assert predicted.changes["deleted"] == {"old": [f"d-{_day(9)}", f"d-{_day(4)}"], "new": None}
    assert len(_names(api, url)) == 5

    ret = states.lxdapi.snapshot_present(**declared)
    assert ret.result is True, ret.comment
    assert _names(api, url) == sorted([today, f"d-{_day(1)}", f"d-{_day(2)}", "d-manual"])

    request_log.clear()
    again = states.lxdapi.snapshot_present(**declared)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []


def test_without_a_year_the_time_is_created_at(states, api, lxd, container):
    # no %Y in the pattern: the order is the order they were taken in (created_at)
    url = f"instances/{container}/snapshots"
    for name in ("h-9903", "h-9901", "h-9902"):
        lxd.lxc("snapshot", container, name)
    ret = states.lxdapi.snapshot_present(name="h-%H%M", container=container, keep=2)
    assert ret.result is True, ret.comment
    assert ret.changes["deleted"] == {"old": ["h-9903", "h-9901"], "new": None}
    assert _names(api, url) == sorted(["h-9902", ret.changes["snapshot"]["new"]])


def test_volume_snapshots_keep_the_newest(states, modules, api, volume, request_log):
    url = f"storage-pools/default/volumes/custom/{volume}/snapshots"
    past = [f"v-{_day(n)}" for n in (1, 2, 3)]
    for name in past + ["keepme"]:
        modules.lxdapi.storage_volume_snapshot_create("default", volume, name)
    today = f"v-{_day(0)}"
    declared = dict(name="v-%Y%m%d", pool="default", volume=volume, keep=2, description="daily")

    request_log.clear()
    predicted = states.lxdapi.storage_volume_snapshot_present(test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes["storage_volume_snapshot"] == {"old": None, "new": today}
    assert predicted.changes["deleted"] == {"old": [past[2], past[1]], "new": None}
    assert request_log.writes == []
    assert _names(api, url) == sorted(past + ["keepme"])

    ret = states.lxdapi.storage_volume_snapshot_present(**declared)
    assert ret.result is True, ret.comment
    assert _names(api, url) == sorted([today, past[0], "keepme"])
    assert held(api, f"{url}/{today}")["description"] == "daily"

    request_log.clear()
    again = states.lxdapi.storage_volume_snapshot_present(**declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []
    assert _reads(request_log) == [url, f"{url}/{today}"]  # the listing, the snapshot

    # the description of today's snapshot is still managed, the policy holds
    ret = states.lxdapi.storage_volume_snapshot_present(**dict(declared, description="weekly"))
    assert ret.result is True and "updated" in ret.comment, ret.comment
    assert ret.changes == {"description": {"old": "daily", "new": "weekly"}}
    assert held(api, f"{url}/{today}")["description"] == "weekly"
    assert _names(api, url) == sorted([today, past[0], "keepme"])


def test_volume_snapshots_without_a_year_go_by_created_at(states, modules, api, volume):
    url = f"storage-pools/default/volumes/custom/{volume}/snapshots"
    for name in ("h-9903", "h-9901", "h-9902"):
        modules.lxdapi.storage_volume_snapshot_create("default", volume, name)
    reported = held(api, f"{url}/h-9903")["created_at"]
    ret = states.lxdapi.storage_volume_snapshot_present(
        name="h-%H%M", pool="default", volume=volume, keep=2
    )
    assert ret.result is True, ret.comment
    if reported.startswith("0001-"):
        # LXD 5.0 reports no creation time of a volume snapshot (its zero time): times
        # not known, the names order them, and h-9903 is the newest
        assert ret.changes["deleted"] == {"old": ["h-9901", "h-9902"], "new": None}
        kept = "h-9903"
    else:  # Incus: the order they were taken in
        assert ret.changes["deleted"] == {"old": ["h-9903", "h-9901"], "new": None}
        kept = "h-9902"
    assert _names(api, url) == sorted([kept, ret.changes["storage_volume_snapshot"]["new"]])


def test_backups_in_a_folder(states, api, lxd, container, tmp_path, request_log):
    past = [f"{container}-{_day(n)}.tar.gz" for n in (1, 2, 3, 6)]
    others = ["notes.txt", f"{container}-latest.tar.gz"]
    for name in past + others:
        (tmp_path / name).write_text("old backup\n")
    (tmp_path / f"{container}-{_day(10)}.tar.gz").mkdir()  # a folder: never touched
    today = tmp_path / f"{container}-{_day(0)}.tar.gz"
    declared = dict(name="backups", container=container, folder=str(tmp_path), keep=3)
    before = sorted(os.listdir(tmp_path))

    request_log.clear()
    predicted = states.lxdapi.backup_exported(test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes == {
        "backup": {"old": None, "new": str(today)},
        "deleted": {"old": [past[3], past[2]], "new": None},
    }
    assert request_log.writes == []
    assert sorted(os.listdir(tmp_path)) == before

    ret = states.lxdapi.backup_exported(**declared)
    assert ret.result is True, ret.comment
    assert ret.changes == predicted.changes
    left = sorted(os.listdir(tmp_path))
    assert left == sorted([today.name, past[0], past[1], f"{container}-{_day(10)}.tar.gz"] + others)
    assert today.stat().st_size > 1000 and oct(today.stat().st_mode & 0o777) == "0o600"
    assert held(api, f"instances/{container}/backups") == []  # none left on the server

    request_log.clear()
    again = states.lxdapi.backup_exported(**declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []
    assert _reads(request_log) == [f"instances/{container}"]  # the folder is read locally
    assert sorted(os.listdir(tmp_path)) == left


def test_backups_by_max_age_with_a_pattern_of_its_own(states, container, tmp_path):
    pattern = "nightly-%Y-%m-%d.tar.xz"
    for n in (2, 5):
        (tmp_path / f"nightly-{_day(n, '%Y-%m-%d')}.tar.xz").write_text("old\n")
    ret = states.lxdapi.backup_exported(
        name="nightly",
        container=container,
        folder=str(tmp_path),
        pattern=pattern,
        max_age="4d",
        compression="xz",
        instance_only=True,
    )
    assert ret.result is True, ret.comment
    assert ret.changes["deleted"] == {"old": [f"nightly-{_day(5, '%Y-%m-%d')}.tar.xz"], "new": None}
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f"nightly-{_day(2, '%Y-%m-%d')}.tar.xz", f"nightly-{_day(0, '%Y-%m-%d')}.tar.xz"]
    )


BAD_POLICIES = [
    (dict(keep=0), "keep must be a whole number of at least 1"),
    (dict(keep=-2), "keep must be a whole number of at least 1"),
    (dict(keep="many"), "keep must be a whole number"),
    (dict(max_age="7x"), "max_age must be a duration"),
    (dict(max_age=0), "max_age must be a duration"),
    (dict(keep=1, name="a/%Y%m%d"), "not a valid snapshot name"),
    (dict(keep=1, name="a %Y"), "not a valid snapshot name"),
    (dict(keep=1, name="a-%s"), "unsupported strftime directive '%s'"),
    (dict(keep=1, match="x-*"), "does not match 'x-*'"),
    (dict(match="s-*"), "needs keep or max_age"),
]


def test_bad_policies_are_refused_before_anything_is_touched(
    states, api, lxd, container, request_log
):
    lxd.lxc("snapshot", container, "s-20200101")
    url = f"instances/{container}/snapshots"
    for arguments, words in BAD_POLICIES:
        declared = dict(dict(name="s-%Y%m%d", container=container), **arguments)
        request_log.clear()
        ret = states.lxdapi.snapshot_present(**declared)
        assert ret.result is False, arguments
        assert words in ret.comment, (arguments, ret.comment)
        assert request_log.writes == []
    assert _names(api, url) == ["s-20200101"]
    ret = states.lxdapi.snapshot_present(name="s-%Y%m%d", container=container + "-nope", keep=1)
    assert ret.result is False and "does not exist" in ret.comment


def test_bad_backup_arguments_are_refused(states, container, tmp_path, request_log):
    (tmp_path / f"{container}-20200101.tar.gz").write_text("old\n")
    cases = [
        (dict(folder="relative/dir", keep=1), "folder must be an absolute path"),
        (dict(folder=str(tmp_path / "missing"), keep=1), "does not exist"),
        (dict(folder=str(tmp_path), pattern="sub/{container}-%Y.tgz", keep=1), "not a file name"),
        (dict(folder=str(tmp_path), keep=0), "keep must be"),
        (dict(folder=str(tmp_path), max_age="soon"), "max_age must be"),
        (dict(folder=str(tmp_path), keep=1, compression="rar"), "unknown compression"),
    ]
    for arguments, words in cases:
        request_log.clear()
        ret = states.lxdapi.backup_exported(name="b", container=container, **arguments)
        assert ret.result is False, arguments
        assert words in ret.comment, (arguments, ret.comment)
        assert request_log.writes == []
        assert os.listdir(tmp_path) == [f"{container}-20200101.tar.gz"]
    ret = states.lxdapi.backup_exported(
        name="b", container=container + "-nope", folder=str(tmp_path), keep=1
    )
    assert ret.result is False and "does not exist" in ret.comment
    assert os.listdir(tmp_path) == [f"{container}-20200101.tar.gz"]


def test_bad_volume_policy_is_refused(states, modules, api, volume, request_log):
    modules.lxdapi.storage_volume_snapshot_create("default", volume, "v-20200101")
    request_log.clear()
    url = f"storage-pools/default/volumes/custom/{volume}/snapshots"
    for arguments, words in [
        (dict(keep=0), "keep must be"),
        (dict(max_age="-1d"), "max_age must be"),
        (dict(keep=1, name="v/%Y"), "not a valid snapshot name"),
    ]:
        declared = dict(dict(name="v-%Y%m%d", pool="default", volume=volume), **arguments)
        ret = states.lxdapi.storage_volume_snapshot_present(**declared)
        assert ret.result is False and words in ret.comment, ret.comment
    ret = states.lxdapi.storage_volume_snapshot_present(
        name="v-%Y%m%d", pool="default", volume=volume + "-nope", keep=1
    )
    assert ret.result is False and "does not exist" in ret.comment
    assert request_log.writes == []
    assert _names(api, url) == ["v-20200101"]
