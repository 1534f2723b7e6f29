"""Backups (export to a local tarball, import as a new instance), renames and copies,
against the real daemon."""

import hashlib
import json

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from resources_support import cleanup, make_container  # noqa: F401


@pytest.fixture
def source(lxd, cleanup, unique_name, modules):
    """A stopped container holding /root/marker and a snapshot ``snap0``."""
    name = make_container(lxd, cleanup, unique_name[:50] + "-src")
    modules.lxdapi.container_file_put(name, "/root/marker", contents="from the source\n")
    lxd.lxc("snapshot", name, "snap0")
    return name


def _held(lxd, name):
    found = lxd.lxc("query", "/1.0/instances/" + name, check=False)
    return json.loads(found) if found else None


def test_export_then_import_as_a_new_instance(modules, lxd, cleanup, source, tmp_path):
    dest = tmp_path / "backup.tar.gz"
    out = modules.lxdapi.container_backup_export(source, str(dest))
    data = dest.read_bytes()
    assert out == {"dest": str(dest), "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert len(data) > 1000
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["backup.tar.gz"]  # no partial file
    # the server keeps no backup behind
    assert json.loads(lxd.lxc("query", f"/1.0/instances/{source}/backups")) == []

    copy = source[:-4] + "-restored"
    cleanup(["delete", "--force", copy])
    assert modules.lxdapi.container_backup_import(str(dest), name=copy) == copy
    assert modules.lxdapi.container_file_get(copy, "/root/marker")["content"] == "from the source\n"
    assert modules.lxdapi.snapshot_list(copy) == ["snap0"]

    # a second import under the same name is refused, the first one untouched
    with pytest.raises(CommandExecutionError, match="already exists; nothing was imported"):
        modules.lxdapi.container_backup_import(str(dest), name=copy)
    assert modules.lxdapi.container_file_get(copy, "/root/marker")["content"] == "from the source\n"


def test_instance_only_export_leaves_the_snapshots_out(modules, lxd, cleanup, source, tmp_path):
    dest = tmp_path / "only.tar.xz"
    modules.lxdapi.container_backup_export(source, str(dest), instance_only=True, compression="xz")
    copy = source[:-4] + "-only"
    cleanup(["delete", "--force", copy])
    modules.lxdapi.container_backup_import(str(dest), name=copy)
    assert modules.lxdapi.snapshot_list(copy) == []


def test_backup_bad_input(modules, lxd, source, tmp_path):
    cases = [
        (dict(name=source, dest="relative.tar.gz"), "dest must be an absolute path"),
        (dict(name=source, dest=str(tmp_path / "no" / "b.tar")), "does not exist"),
        (
            dict(name=source, dest=str(tmp_path / "b.tar"), compression="rar"),
            "unknown compression 'rar'",
        ),
        (
            dict(name=source, dest=str(tmp_path / "b.tar"), instance_only="yes"),
            "instance_only must be true or false",
        ),
    ]
    for kwargs, expected in cases:
        with pytest.raises(SaltInvocationError, match=expected):
            modules.lxdapi.container_backup_export(**kwargs)
    with pytest.raises(CommandExecutionError, match="instance 'no-such-ctr' does not exist"):
        modules.lxdapi.container_backup_export("no-such-ctr", str(tmp_path / "b.tar"))
    with pytest.raises(SaltInvocationError, match="source file /no/such.tar does not exist"):
        modules.lxdapi.container_backup_import("/no/such.tar")
    assert list(tmp_path.iterdir()) == []
    assert json.loads(lxd.lxc("query", f"/1.0/instances/{source}/backups")) == []


def test_rename(modules, lxd, cleanup, source, unique_name):
    new = unique_name[:50] + "-renamed"
    cleanup(["delete", "--force", new])
    assert modules.lxdapi.container_rename(source, new) is True
    assert _held(lxd, source) is None and _held(lxd, new) is not None
    assert modules.lxdapi.container_rename(source, new) is False  # already done

    other = make_container(lxd, cleanup, unique_name[:50] + "-other")
    with pytest.raises(CommandExecutionError, match="already exists"):
        modules.lxdapi.container_rename(new, other)
    lxd.lxc("start", new)
    with pytest.raises(CommandExecutionError, match="(?i)running"):
        modules.lxdapi.container_rename(new, unique_name[:50] + "-third")
    assert _held(lxd, new)["status"] == "Running"


def test_container_present_copies_a_snapshot(states, lxd, cleanup, source, request_log):
    copy = source[:-4] + "-copy"
    cleanup(["delete", "--force", copy])
    declared = dict(
        source={"type": "copy", "source": source + "/snap0"}, config={"user.role": "copy"}
    )
    ret = states.lxdapi.container_present(copy, **declared)
    assert ret.result is True, ret.comment
    held = _held(lxd, copy)
    assert held["config"]["user.role"] == "copy"
    # LXD 5.0 takes a copy's profiles only from the request: the source's are sent
    assert held["profiles"] == ["default"]
    assert ret.changes["instance"]["new"]["profiles"] == ["default"]
    request_log.clear()
    again = states.lxdapi.container_present(copy, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []


def test_a_copy_of_a_missing_source_fails_clearly(states, lxd, source, request_log):
    ret = states.lxdapi.container_present(
        source + "-x", source={"type": "copy", "source": source + "/nope"}
    )
    assert ret.result is False
    assert f"copy source '{source}/nope' does not exist" in ret.comment
    assert request_log.writes == []
