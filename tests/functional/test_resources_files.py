"""lxdapi.file_managed against the real daemon: content, mode and owner of a file."""

import hashlib
import os
import uuid

import pytest

from resources_support import cleanup, make_container  # noqa: F401


@pytest.fixture
def container(lxd, cleanup, unique_name):
    """A stopped busybox container (its files can be read and written all the same)."""
    return make_container(lxd, cleanup, unique_name)


def _file(api, container, path):
    """(content, mode, uid, gid) of a file as LXD serves it, or None when absent."""
    from conftest import core

    try:
        result = api.get(api.instance_path(container, "files"), params={"path": path})
    except core.APINotFoundException:
        return None
    except core.APIException as exc:  # a file whose text looks like an LXD error
        result = exc.result
    headers = result.response.headers
    return (result.response.content, headers["X-LXD-Mode"], int(headers["X-LXD-Uid"]),
            int(headers["X-LXD-Gid"]))


def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_create_then_noop_without_a_write(states, api, container, request_log):
    ret = states.lxdapi.file_managed(name="/root/app.conf", container=container,
                                     contents="port = 80\n", mode="0600", uid=5, gid=6)
    assert ret.result is True, ret.comment
    assert "created" in ret.comment
    assert ret.changes == {
        "file": {"old": None, "new": "/root/app.conf"},
        "content": {"old": None, "new": _sha(b"port = 80\n")},
        "mode": {"old": None, "new": "0600"},
        "uid": {"old": None, "new": 5},
        "gid": {"old": None, "new": 6},
    }
    assert _file(api, container, "/root/app.conf") == (b"port = 80\n", "0600", 5, 6)

    request_log.clear()
    ret = states.lxdapi.file_managed(name="/root/app.conf", container=container,
                                     contents="port = 80\n", mode=600, uid="5", gid=6)
    assert ret.result is True and ret.changes == {}
    assert "already as declared" in ret.comment
    assert request_log.writes == []


def test_content_and_mode_updates(states, api, container, request_log):
    states.lxdapi.file_managed(name="/root/a", container=container, contents="one",
                               mode="0600")
    # content only: the mode on the server is kept
    ret = states.lxdapi.file_managed(name="/root/a", container=container, contents="two")
    assert ret.result is True, ret.comment
    assert "updated" in ret.comment
    assert ret.changes == {"content": {"old": _sha(b"one"), "new": _sha(b"two")}}
    assert _file(api, container, "/root/a") == (b"two", "0600", 0, 0)

    # mode and owner only: the content is kept
    request_log.clear()
    ret = states.lxdapi.file_managed(name="/root/a", container=container, mode="0640",
                                     uid=7)
    assert ret.result is True, ret.comment
    assert ret.changes == {"mode": {"old": "0600", "new": "0640"},
                           "uid": {"old": 0, "new": 7}}
    # LXD 5.0 sets mode and owner only on a file it creates: the file is recreated
    assert [w[0] for w in request_log.writes] == ["DELETE", "POST"]
    assert _file(api, container, "/root/a") == (b"two", "0640", 7, 0)

    request_log.clear()
    ret = states.lxdapi.file_managed(name="/root/a", container=container, mode="0640",
                                     uid=7, gid=0)
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


def test_path_argument_and_binary_content_that_looks_like_json(states, api, container):
    text = '{"type": "error", "error_code": 500, "status_code": 400}'
    ret = states.lxdapi.file_managed(name="my json file", container=container,
                                     path="/root/x.json", contents=text)
    assert ret.result is True, ret.comment
    assert ret.changes["file"] == {"old": None, "new": "/root/x.json"}
    assert _file(api, container, "/root/x.json")[0] == text.encode()
    ret = states.lxdapi.file_managed(name="my json file", container=container,
                                     path="/root/x.json", contents=text)
    assert ret.result is True and ret.changes == {}


def test_test_mode_predicts_and_writes_nothing(states, api, container, request_log):
    request_log.clear()
    ret = states.lxdapi.file_managed(name="/root/b", container=container, contents="x",
                                     test=True)
    assert ret.result is None
    assert ret.changes["content"] == {"old": None, "new": _sha(b"x")}
    assert request_log.writes == []
    assert _file(api, container, "/root/b") is None

    states.lxdapi.file_managed(name="/root/b", container=container, contents="x")
    request_log.clear()
    ret = states.lxdapi.file_managed(name="/root/b", container=container, contents="y",
                                     mode="0700", test=True)
    assert ret.result is None
    assert ret.changes == {"content": {"old": _sha(b"x"), "new": _sha(b"y")},
                           "mode": {"old": "0644", "new": "0700"}}
    assert request_log.writes == []
    assert _file(api, container, "/root/b") == (b"x", "0644", 0, 0)


def test_source_from_salt_and_from_a_local_path(states, api, container, minion_opts,
                                                tmp_path):
    state_tree = minion_opts["file_roots"]["base"][0]
    relative = "lxdapi-test-{}.txt".format(uuid.uuid4().hex[:8])
    source = os.path.join(state_tree, relative)
    os.makedirs(state_tree, exist_ok=True)
    with open(source, "wb") as fh:
        fh.write(b"from the fileserver\n")
    try:
        ret = states.lxdapi.file_managed(name="/root/motd", container=container,
                                         source="salt://" + relative)
        assert ret.result is True, ret.comment
        assert _file(api, container, "/root/motd")[0] == b"from the fileserver\n"
        ret = states.lxdapi.file_managed(name="/root/motd", container=container,
                                         source="salt://" + relative)
        assert ret.result is True and ret.changes == {}
    finally:
        os.remove(source)

    local = tmp_path / "local.txt"
    local.write_bytes(b"\x00binary\xff")
    ret = states.lxdapi.file_managed(name="/root/motd", container=container,
                                     source=str(local))
    assert ret.result is True, ret.comment
    assert _file(api, container, "/root/motd")[0] == b"\x00binary\xff"

    ret = states.lxdapi.file_managed(name="/root/motd", container=container,
                                     source="salt://no-such-file-here.txt")
    assert ret.result is False
    assert "could not be fetched" in ret.comment
    assert _file(api, container, "/root/motd")[0] == b"\x00binary\xff"


def test_bad_input_fails_and_changes_nothing(states, api, container, unique_name):
    cases = [
        (dict(name="relative/path", contents="x"), "absolute"),
        (dict(name="/etc", contents="x"), "directory"),
        (dict(name="/no/such/folder/f", contents="x"), "not a folder"),
        (dict(name="/root/c", contents="x", source="/etc/hostname"), "not both"),
        (dict(name="/root/c", contents="x", mode="rwx"), "octal"),
        (dict(name="/root/c", contents="x", mode="99999"), "octal"),
        (dict(name="/root/c", contents="x", uid=-1), "uid"),
        (dict(name="/root/c", contents=["x"]), "contents"),
        (dict(name="/root/c", source="relative.txt"), "absolute path"),
        (dict(name="/root/c", contents="x", owner="root"), "owner"),
    ]
    for kwargs, expected in cases:
        ret = states.lxdapi.file_managed(container=container, **kwargs)
        assert ret.result is False, kwargs
        assert expected in ret.comment, (kwargs, ret.comment)
    assert _file(api, container, "/root/c") is None
    assert _file(api, container, "/etc")[1] == "0755"

    ret = states.lxdapi.file_managed(name="/root/c", container=unique_name + "-nope",
                                     contents="x")
    assert ret.result is False
    assert "does not exist" in ret.comment and unique_name + "-nope" in ret.comment
