"""lxdapi.file_managed against the real daemon: content, mode and owner of a file."""

import hashlib
import os
import uuid

import pytest

import lxdapi_files
from conftest import file_header
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
    return (
        result.response.content,
        file_header(result.response, "Mode"),
        int(file_header(result.response, "Uid")),
        int(file_header(result.response, "Gid")),
    )


def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_create_then_noop_without_a_write(states, api, container, request_log):
    ret = states.lxdapi.file_managed(
        name="/root/app.conf",
        container=container,
        contents="port = 80\n",
        mode="0600",
        uid=5,
        gid=6,
    )
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
    ret = states.lxdapi.file_managed(
        name="/root/app.conf", container=container, contents="port = 80\n", mode=600, uid="5", gid=6
    )
    assert ret.result is True and ret.changes == {}
    assert "already as declared" in ret.comment
    assert request_log.writes == []


def test_content_and_mode_updates(states, api, container, request_log):
    states.lxdapi.file_managed(name="/root/a", container=container, contents="one", mode="0600")
    # content only: the mode on the server is kept
    ret = states.lxdapi.file_managed(name="/root/a", container=container, contents="two")
    assert ret.result is True, ret.comment
    assert "updated" in ret.comment
    assert ret.changes == {
        "content": {
            "old": _sha(b"one"),
            "new": _sha(b"two"),
            "diff": "--- /root/a (was)\n+++ /root/a\n@@ -1 +1 @@\n"
            "-one\n\\ No newline at end of file\n+two\n\\ No newline at end of file\n",
        }
    }
    assert _file(api, container, "/root/a") == (b"two", "0600", 0, 0)

    # mode and owner only: the content is kept
    request_log.clear()
    ret = states.lxdapi.file_managed(name="/root/a", container=container, mode="0640", uid=7)
    assert ret.result is True, ret.comment
    assert ret.changes == {"mode": {"old": "0600", "new": "0640"}, "uid": {"old": 0, "new": 7}}
    # LXD 5.0 sets mode and owner only on a file it creates: the file is recreated
    assert [w[0] for w in request_log.writes] == ["DELETE", "POST"]
    assert _file(api, container, "/root/a") == (b"two", "0640", 7, 0)

    request_log.clear()
    ret = states.lxdapi.file_managed(name="/root/a", container=container, mode="0640", uid=7, gid=0)
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


def test_path_argument_and_binary_content_that_looks_like_json(states, api, container):
    text = '{"type": "error", "error_code": 500, "status_code": 400}'
    ret = states.lxdapi.file_managed(
        name="my json file", container=container, path="/root/x.json", contents=text
    )
    assert ret.result is True, ret.comment
    assert ret.changes["file"] == {"old": None, "new": "/root/x.json"}
    assert _file(api, container, "/root/x.json")[0] == text.encode()
    ret = states.lxdapi.file_managed(
        name="my json file", container=container, path="/root/x.json", contents=text
    )
    assert ret.result is True and ret.changes == {}


def test_test_mode_predicts_and_writes_nothing(states, api, container, request_log):
    request_log.clear()
    ret = states.lxdapi.file_managed(name="/root/b", container=container, contents="x", test=True)
    assert ret.result is None
    assert ret.changes["content"] == {"old": None, "new": _sha(b"x")}
    assert request_log.writes == []
    assert _file(api, container, "/root/b") is None

    states.lxdapi.file_managed(name="/root/b", container=container, contents="x")
    request_log.clear()
    ret = states.lxdapi.file_managed(
        name="/root/b", container=container, contents="y", mode="0700", test=True
    )
    assert ret.result is None
    assert ret.changes == {
        "content": {
            "old": _sha(b"x"),
            "new": _sha(b"y"),
            "diff": lxdapi_files.text_diff(b"x", b"y", "/root/b"),
        },
        "mode": {"old": "0644", "new": "0700"},
    }
    assert request_log.writes == []
    assert _file(api, container, "/root/b") == (b"x", "0644", 0, 0)


def test_source_from_salt_and_from_a_local_path(states, api, container, minion_opts, tmp_path):
    state_tree = minion_opts["file_roots"]["base"][0]
    relative = f"lxdapi-test-{uuid.uuid4().hex[:8]}.txt"
    source = os.path.join(state_tree, relative)
    os.makedirs(state_tree, exist_ok=True)
    with open(source, "wb") as fh:
        fh.write(b"from the fileserver\n")
    try:
        ret = states.lxdapi.file_managed(
            name="/root/motd", container=container, source="salt://" + relative
        )
        assert ret.result is True, ret.comment
        assert _file(api, container, "/root/motd")[0] == b"from the fileserver\n"
        ret = states.lxdapi.file_managed(
            name="/root/motd", container=container, source="salt://" + relative
        )
        assert ret.result is True and ret.changes == {}
    finally:
        os.remove(source)

    local = tmp_path / "local.txt"
    local.write_bytes(b"\x00binary\xff")
    ret = states.lxdapi.file_managed(name="/root/motd", container=container, source=str(local))
    assert ret.result is True, ret.comment
    assert _file(api, container, "/root/motd")[0] == b"\x00binary\xff"

    ret = states.lxdapi.file_managed(
        name="/root/motd", container=container, source="salt://no-such-file-here.txt"
    )
    assert ret.result is False
    assert "could not be fetched" in ret.comment
    assert _file(api, container, "/root/motd")[0] == b"\x00binary\xff"


def test_bad_input_fails_and_changes_nothing(states, api, container, unique_name):
    cases = [
        (dict(name="relative/path", contents="x"), "absolute"),
        (dict(name="/etc", contents="x"), "directory"),
        (
            dict(name="/no/such/folder/f", contents="x"),
            "parent folder /no/such/folder does not exist",
        ),
        (dict(name="/root/c", contents="x", source="/etc/hostname"), "not both"),
        (dict(name="/root/c", contents="x", mode="rwx"), "octal"),
        (dict(name="/root/c", contents="x", mode="99999"), "octal"),
        (dict(name="/root/c", contents="x", uid=-1), "uid"),
        (dict(name="/root/c", contents=["x"]), "contents"),
        (dict(name="/root/c", source="relative.txt"), "absolute path"),
        (dict(name="/root/c", contents="x", owner="root"), "owner"),
        (dict(name="/root/c", contents="x", makedirs="yes"), "makedirs must be true or false"),
        (
            dict(name="/root/c", contents="{{ x }}", template="nope"),
            "unknown template engine 'nope'",
        ),
        (
            dict(name="/root/c", contents="{{ x ", template="jinja"),
            "the template could not be rendered",
        ),
        (
            dict(name="/root/c", contents="x", template="jinja", context=["x"]),
            "context must be a mapping",
        ),
        (dict(name="/root/c", template="jinja"), "template needs source or contents"),
        (
            dict(name="/root/c", contents="x", show_changes="no"),
            "show_changes must be true or false",
        ),
    ]
    for kwargs, expected in cases:
        ret = states.lxdapi.file_managed(container=container, **kwargs)
        assert ret.result is False, kwargs
        assert expected in ret.comment, (kwargs, ret.comment)
    assert _file(api, container, "/root/c") is None
    assert _file(api, container, "/etc")[1] == "0755"

    ret = states.lxdapi.file_managed(name="/root/c", container=unique_name + "-nope", contents="x")
    assert ret.result is False
    assert "does not exist" in ret.comment and unique_name + "-nope" in ret.comment


# ------------------------------------------------------------ folders, templates, diffs


def _entries(api, container, path):
    result = api.get(api.instance_path(container, "files"), params={"path": path})
    return sorted(result.metadata)


def test_makedirs_creates_the_missing_parent_folders(states, modules, api, container, request_log):
    predicted = states.lxdapi.file_managed(
        name="/srv/app/conf/app.ini",
        container=container,
        contents="[app]\n",
        makedirs=True,
        test=True,
    )
    assert predicted.result is None
    assert predicted.changes["folders"] == {
        "old": None,
        "new": ["/srv", "/srv/app", "/srv/app/conf"],
    }
    assert request_log.writes == [] and _file(api, container, "/srv") is None

    ret = states.lxdapi.file_managed(
        name="/srv/app/conf/app.ini", container=container, contents="[app]\n", makedirs=True
    )
    assert ret.result is True, ret.comment
    assert ret.changes["folders"]["new"] == ["/srv", "/srv/app", "/srv/app/conf"]
    assert [m for m, _, _ in request_log.writes] == ["POST"] * 4
    assert _file(api, container, "/srv/app/conf/app.ini")[0] == b"[app]\n"
    assert _entries(api, container, "/srv/app") == ["conf"]

    request_log.clear()
    again = states.lxdapi.file_managed(
        name="/srv/app/conf/app.ini", container=container, contents="[app]\n", makedirs=True
    )
    assert again.result is True and again.changes == {}
    assert request_log.writes == []

    # the module: the same, and a parent that is a file is refused
    assert (
        modules.lxdapi.container_file_put(container, "/opt/x/y.txt", contents="y", makedirs=True)
        is True
    )
    assert _file(api, container, "/opt/x/y.txt")[0] == b"y"
    ret = states.lxdapi.file_managed(
        name="/opt/x/y.txt/z", container=container, contents="z", makedirs=True
    )
    # (LXD itself answers the read of a path under a file with "not a directory")
    assert ret.result is False and "not a directory" in ret.comment
    ret = states.lxdapi.file_managed(
        name="/opt/x/y.txt", container=container, contents="z", makedirs=True, mode="0600"
    )
    assert ret.result is True and "mode" in ret.changes


def test_a_parent_that_is_a_symlink_to_a_folder_is_followed(states, modules, lxd, api, container):
    lxd.lxc("start", container)
    out = modules.lxdapi.container_exec(container, ["sh", "-c", "ln -s /tmp /root/tmp-link"])
    assert out["retcode"] == 0, out
    ret = states.lxdapi.file_managed(
        name="/root/tmp-link/via-link", container=container, contents="x"
    )
    assert ret.result is True, ret.comment
    assert _file(api, container, "/tmp/via-link")[0] == b"x"


def test_template_renders_with_context_defaults_and_grains(states, api, container, minion_opts):
    base = minion_opts["file_roots"]["base"][0]
    os.makedirs(os.path.join(base, "lxdapi-test"), exist_ok=True)
    source = os.path.join(base, "lxdapi-test", "app.ini.j2")
    with open(source, "w") as fh:
        fh.write("role = {{ role }}\nport = {{ port }}\nos = {{ grains['kernel'] }}\n")
    declared = dict(
        name="/root/app.ini",
        container=container,
        source="salt://lxdapi-test/app.ini.j2",
        template="jinja",
        defaults={"role": "web", "port": 80},
        context={"port": 8080},
    )
    try:
        ret = states.lxdapi.file_managed(**declared)
        assert ret.result is True, ret.comment
        assert _file(api, container, "/root/app.ini")[0] == b"role = web\nport = 8080\nos = Linux\n"
        assert states.lxdapi.file_managed(**declared).changes == {}

        ret = states.lxdapi.file_managed(**dict(declared, context={"port": 9090}))
        assert ret.result is True, ret.comment
        assert ret.changes["content"]["diff"].endswith("-port = 8080\n+port = 9090\n os = Linux\n")
    finally:
        os.remove(source)

    ret = states.lxdapi.file_managed(
        name="/root/inline",
        container=container,
        contents="hello {{ who }}",
        template="jinja",
        context={"who": "world"},
    )
    assert ret.result is True, ret.comment
    assert _file(api, container, "/root/inline")[0] == b"hello world"


def test_show_changes_false_and_binary_content_give_digests_only(states, container):
    states.lxdapi.file_managed(name="/root/s", container=container, contents="a = 1\n")
    ret = states.lxdapi.file_managed(
        name="/root/s", container=container, contents="a = 2\n", show_changes=False
    )
    assert set(ret.changes["content"]) == {"old", "new"}
    ret = states.lxdapi.file_managed(name="/root/s", container=container, contents=b"\0\1")
    assert set(ret.changes["content"]) == {"old", "new"}


def test_directory_present(states, modules, api, container, request_log):
    declared = dict(
        name="/srv/data", container=container, mode="0750", uid=33, gid=33, makedirs=True
    )
    predicted = states.lxdapi.directory_present(test=True, **declared)
    assert predicted.result is None
    assert predicted.changes == {
        "folders": {"old": None, "new": ["/srv"]},
        "folder": {"old": None, "new": "/srv/data"},
        "mode": {"old": None, "new": "0750"},
        "uid": {"old": None, "new": 33},
        "gid": {"old": None, "new": 33},
    }
    assert request_log.writes == []

    ret = states.lxdapi.directory_present(**declared)
    assert ret.result is True and ret.changes == predicted.changes, ret.comment
    assert "Folder /srv/data in" in ret.comment and "created" in ret.comment
    assert _file(api, container, "/srv/data")[1:] == ("0750", 33, 33)

    request_log.clear()
    again = states.lxdapi.directory_present(**declared)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []

    # an empty folder is made again with the new mode
    ret = states.lxdapi.directory_present(**dict(declared, mode="0700"))
    assert ret.result is True and ret.changes == {"mode": {"old": "0750", "new": "0700"}}
    assert _file(api, container, "/srv/data")[1:] == ("0700", 33, 33)

    # one with entries cannot be: refused, nothing in it touched
    modules.lxdapi.container_file_put(container, "/srv/data/keep", contents="k")
    ret = states.lxdapi.directory_present(**dict(declared, mode="0755"))
    assert ret.result is False
    assert "has mode 0700, not the declared 0755" in ret.comment
    assert "container_exec" in ret.comment
    assert _file(api, container, "/srv/data/keep")[0] == b"k"

    ret = states.lxdapi.directory_present(name="/srv/data/keep", container=container)
    assert ret.result is False and "is a file, not a folder" in ret.comment

    assert modules.lxdapi.container_mkdir(container, "/srv/other", mode="0700") is True
    assert modules.lxdapi.container_mkdir(container, "/srv/other", mode="0700") is False
    assert _file(api, container, "/srv/other")[1] == "0700"


def test_file_absent(states, modules, api, container, request_log):
    modules.lxdapi.container_file_put(container, "/root/gone", contents="bye")
    request_log.clear()
    predicted = states.lxdapi.file_absent(name="/root/gone", container=container, test=True)
    assert predicted.result is None
    assert predicted.changes == {
        "file": {"old": "/root/gone", "new": None},
        "content": {"old": _sha(b"bye"), "new": None},
    }
    assert request_log.writes == [] and _file(api, container, "/root/gone") is not None

    ret = states.lxdapi.file_absent(name="/root/gone", container=container)
    assert ret.result is True and ret.changes == predicted.changes, ret.comment
    assert _file(api, container, "/root/gone") is None

    request_log.clear()
    again = states.lxdapi.file_absent(name="/root/gone", container=container)
    assert again.result is True and again.changes == {}
    assert "already absent" in again.comment
    assert request_log.writes == []

    # folders: an empty one goes, one with entries stays
    modules.lxdapi.container_file_put(container, "/root/full/f", contents="f", makedirs=True)
    ret = states.lxdapi.file_absent(name="/root/full", container=container)
    assert ret.result is False and "folder with 1 entries" in ret.comment
    assert _file(api, container, "/root/full/f")[0] == b"f"
    assert modules.lxdapi.container_file_delete(container, "/root/full/f") is True
    assert modules.lxdapi.container_file_delete(container, "/root/full/f") is False
    ret = states.lxdapi.file_absent(name="/root/full", container=container)
    assert ret.result is True and ret.changes == {"folder": {"old": "/root/full", "new": None}}
    assert _file(api, container, "/root/full") is None

    ret = states.lxdapi.file_absent(name="/root/x", container=container + "-nope")
    assert ret.result is False and "does not exist" in ret.comment
