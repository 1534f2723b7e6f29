"""Execution module: container_exec, container_file_get and container_file_put."""

import os

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from conftest import file_header


@pytest.fixture(scope="module")
def container(lxd):
    """One running busybox container for this module's tests (read-mostly)."""
    name = f"t-exec-files-{os.getpid()}"
    lxd.lxc("launch", "busybox", name)
    yield name
    lxd.lxc("delete", "--force", name, check=False)


def read_in(api, container, path):
    """The file's bytes and X-LXD headers, read straight from the server."""
    result = api.get(api.instance_path(container, "files"), params={"path": path})
    return result.response.content, (
        file_header(result.response, "mode"),
        file_header(result.response, "uid"),
        file_header(result.response, "gid"),
    )


def exec_logs(api, container):
    return [u for u in api.get(api.instance_path(container, "logs")).metadata if "exec_" in u]


# ------------------------------------------------------------------------- exec


def test_exec_returns_retcode_stdout_stderr(modules, api, container):
    before = exec_logs(api, container)
    result = modules.lxdapi.container_exec(
        container, ["sh", "-c", "echo out; echo err >&2; exit 3"]
    )
    assert result == {"retcode": 3, "stdout": "out\n", "stderr": "err\n"}
    # The recorded output logs were deleted from the server once read.
    assert exec_logs(api, container) == before


def test_exec_env_cwd_user_group(modules, container):
    result = modules.lxdapi.container_exec(
        container,
        ["sh", "-c", "echo $GREETING; pwd; id -u; id -g"],
        env={"GREETING": "hi there", "N": 1},
        cwd="/tmp",
        user=1000,
        group=1001,
    )
    assert result["retcode"] == 0
    assert result["stdout"].split("\n")[:4] == ["hi there", "/tmp", "1000", "1001"]


def test_exec_has_no_shell(modules, container):
    result = modules.lxdapi.container_exec(container, ["echo", "$HOME;", "*"])
    assert result["stdout"] == "$HOME; *\n"


def test_exec_numbers_in_argv_become_strings(modules, container):
    assert modules.lxdapi.container_exec(container, ["echo", 1, 2.5])["stdout"] == "1 2.5\n"


def test_exec_output_that_looks_like_json(modules, container):
    text = '{"type": "error", "error_code": 500, "x": {"status_code": 404}}'
    out = modules.lxdapi.container_exec(container, ["echo", text])
    assert out["stdout"] == text + "\n"


def test_exec_rejects_a_string(modules, container):
    with pytest.raises(SaltInvocationError, match="argv list"):
        modules.lxdapi.container_exec(container, "echo hi")
    with pytest.raises(SaltInvocationError, match="non-empty argv list"):
        modules.lxdapi.container_exec(container, [])
    with pytest.raises(SaltInvocationError, match="env must be a mapping"):
        modules.lxdapi.container_exec(container, ["true"], env="A=1")
    with pytest.raises(SaltInvocationError, match="cwd must be an absolute path"):
        modules.lxdapi.container_exec(container, ["true"], cwd="tmp")
    with pytest.raises(SaltInvocationError, match="user must be a numeric id"):
        modules.lxdapi.container_exec(container, ["true"], user="root")


def test_exec_command_not_found(modules, container):
    with pytest.raises(CommandExecutionError, match=r"\['no-such-cmd'\].*Command not found"):
        modules.lxdapi.container_exec(container, ["no-such-cmd"])


def test_exec_in_stopped_or_absent_container(modules, lxd, unique_name):
    lxd.lxc("init", "busybox", unique_name)
    try:
        with pytest.raises(CommandExecutionError, match="Instance is not running"):
            modules.lxdapi.container_exec(unique_name, ["true"])
    finally:
        lxd.lxc("delete", unique_name, check=False)
    with pytest.raises(CommandExecutionError, match="not found"):
        modules.lxdapi.container_exec(unique_name, ["true"])


# ------------------------------------------------------------------------ files


def test_file_put_contents_with_mode_uid_gid(modules, api, container, request_log):
    path = "/tmp/put-contents.txt"
    assert (
        modules.lxdapi.container_file_put(
            container, path, contents="hello\n", mode="0600", uid=1000, gid=1001
        )
        is True
    )
    assert read_in(api, container, path) == (b"hello\n", ("0600", "1000", "1001"))
    # Same content and attributes: nothing written.
    request_log.clear()
    assert (
        modules.lxdapi.container_file_put(
            container, path, contents="hello\n", mode="0600", uid=1000, gid=1001
        )
        is False
    )
    assert request_log.writes == []
    # Salt's YAML turns an unquoted 0640 into the int 640: still mode 0640.
    assert modules.lxdapi.container_file_put(container, path, contents="hello\n", mode=640) is True
    assert read_in(api, container, path) == (b"hello\n", ("0640", "1000", "1001"))
    # New content, attributes not given: they are kept.
    assert modules.lxdapi.container_file_put(container, path, contents="changed") is True
    assert read_in(api, container, path) == (b"changed", ("0640", "1000", "1001"))
    assert (
        modules.lxdapi.container_file_put(container, path, contents="changed", uid=0, gid=0) is True
    )
    assert read_in(api, container, path) == (b"changed", ("0640", "0", "0"))


def test_file_put_from_local_path_and_binary(modules, api, container, tmp_path):
    local = tmp_path / "blob.bin"
    local.write_bytes(bytes(range(256)))
    assert modules.lxdapi.container_file_put(container, "/tmp/blob.bin", source=str(local)) is True
    assert read_in(api, container, "/tmp/blob.bin")[0] == bytes(range(256))


def test_file_put_from_salt_url(modules, api, container, minion_opts):
    base = minion_opts["file_roots"]["base"][0]
    os.makedirs(os.path.join(base, "lxdapi-test"), exist_ok=True)
    src = os.path.join(base, "lxdapi-test", "motd")
    with open(src, "w") as fh:
        fh.write("from the fileserver\n")
    try:
        assert (
            modules.lxdapi.container_file_put(
                container, "/etc/motd", source="salt://lxdapi-test/motd", mode="0644"
            )
            is True
        )
    finally:
        os.remove(src)
    assert read_in(api, container, "/etc/motd") == (b"from the fileserver\n", ("0644", "0", "0"))


def test_file_put_bad_input(modules, api, container):
    with pytest.raises(SaltInvocationError, match="exactly one of source and contents"):
        modules.lxdapi.container_file_put(container, "/tmp/x")
    with pytest.raises(SaltInvocationError, match="exactly one of source and contents"):
        modules.lxdapi.container_file_put(container, "/tmp/x", source="/etc/hosts", contents="x")
    with pytest.raises(SaltInvocationError, match="source file /no/such/file does not exist"):
        modules.lxdapi.container_file_put(container, "/tmp/x", source="/no/such/file")
    with pytest.raises(SaltInvocationError, match="salt://nope/missing was not found"):
        modules.lxdapi.container_file_put(container, "/tmp/x", source="salt://nope/missing")
    with pytest.raises(SaltInvocationError, match="path must be an absolute path"):
        modules.lxdapi.container_file_put(container, "tmp/x", contents="x")
    with pytest.raises(SaltInvocationError, match="mode must be octal digits"):
        modules.lxdapi.container_file_put(container, "/tmp/x", contents="x", mode="rw-r--r--")
    with pytest.raises(SaltInvocationError, match="uid must be a numeric id"):
        modules.lxdapi.container_file_put(container, "/tmp/x", contents="x", uid="www")
    with pytest.raises(SaltInvocationError, match="is a directory"):
        modules.lxdapi.container_file_put(container, "/tmp", contents="x")
    with pytest.raises(CommandExecutionError, match="parent folder /no-dir does not exist"):
        modules.lxdapi.container_file_put(container, "/no-dir/x", contents="x")
    with pytest.raises(CommandExecutionError, match="instance 'absent-ctr' does not exist"):
        modules.lxdapi.container_file_put("absent-ctr", "/tmp/x", contents="x")
    names = api.get(api.instance_path(container, "files"), params={"path": "/tmp"}).metadata
    assert "x" not in names


def test_file_get(modules, container):
    got = modules.lxdapi.container_file_get(container, "/etc/passwd")
    assert got == {
        "path": "/etc/passwd",
        "type": "file",
        "mode": "0644",
        "uid": 0,
        "gid": 0,
        "content": "root:x:0:0:root:/root:/bin/sh\n",
    }


def test_file_get_json_content(modules, container):
    text = '{"type": "error", "error_code": 500, "x": {"status_code": 404}}\n'
    modules.lxdapi.container_file_put(container, "/tmp/data.json", contents=text)
    assert modules.lxdapi.container_file_get(container, "/tmp/data.json")["content"] == text


def test_file_get_binary_to_dest_and_directory(modules, api, container, tmp_path):
    modules.lxdapi.container_file_put(container, "/tmp/bin.dat", contents=b"\xff\x00\xfe")
    got = modules.lxdapi.container_file_get(container, "/tmp/bin.dat")
    assert (got["content"], got["encoding"]) == ("/wD+", "base64")
    dest = tmp_path / "copy.dat"
    got = modules.lxdapi.container_file_get(container, "/tmp/bin.dat", dest=str(dest))
    assert got["dest"] == str(dest) and "content" not in got
    assert dest.read_bytes() == b"\xff\x00\xfe"
    listing = modules.lxdapi.container_file_get(container, "/etc")
    assert listing["type"] == "directory"
    assert {"passwd", "group", "inittab"} <= set(listing["entries"])


def test_file_get_absent(modules, container):
    assert modules.lxdapi.container_file_get(container, "/no/such/file") is False
    assert modules.lxdapi.container_file_get("absent-ctr", "/etc/passwd") is False
    with pytest.raises(SaltInvocationError, match="path must be an absolute path"):
        modules.lxdapi.container_file_get(container, "etc/passwd")
