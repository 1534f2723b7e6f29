"""Faults: LXD not running, a daemon restarted mid-run, a failing operation, an operation
that outlives its wait, a server that never answers. Each gives a clear error that names
what failed (the endpoint, the operation), never a hang or a traceback.
"""

import json
import os
import re
import socket
import time

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi_instances
import lxdhost
from conftest import core


def held(lxd, name):
    """The instance as LXD holds it (via lxc), or None."""
    out = lxd.lxc("query", "/1.0/instances/" + name, check=False)
    return json.loads(out) if out.strip() else None


@pytest.fixture
def container(lxd, unique_name):
    """A name for this test's container; the container is deleted at teardown."""
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


@pytest.fixture
def sockets_dir(tmp_path):
    """A short folder for unix sockets (their paths are limited to 107 bytes)."""
    path = f"/tmp/lxdapi-t8-{os.urandom(3).hex()}"
    os.mkdir(path)
    yield path
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    os.rmdir(path)


@pytest.fixture
def refusing_socket(sockets_dir):
    """A unix socket file that exists but refuses connections (bound, not listening),
    as a crashed daemon leaves it."""
    path = os.path.join(sockets_dir, "refusing.socket")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    yield path
    sock.close()


@pytest.fixture
def silent_socket(sockets_dir):
    """A unix socket that accepts connections (into its backlog) and never answers."""
    path = os.path.join(sockets_dir, "silent.socket")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(16)
    yield path
    sock.close()


@pytest.fixture
def silent_tcp():
    """``http://127.0.0.1:PORT`` of a TCP listener that never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


# ------------------------------------------------------------------- LXD not running


def test_missing_socket_is_a_clear_error_naming_it(modules, states, sockets_dir, lxd):
    path = os.path.join(sockets_dir, "no-lxd-here.socket")
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_list(endpoint=path)
    message = str(info.value)
    assert path in message
    assert "Is LXD or Incus running?" in message
    assert "Traceback" not in message

    ret = states.lxdapi.container_present(name="t8-fault", source="busybox", endpoint=path)
    assert ret.result is False
    assert path in ret.comment and "Is LXD or Incus running?" in ret.comment
    assert ret.changes == {}
    assert held(lxd, "t8-fault") is None


def test_refusing_socket_is_a_clear_error_naming_it(modules, states, refusing_socket):
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_get("web1", endpoint=refusing_socket)
    message = str(info.value)
    assert f"cannot reach LXD at {refusing_socket}" in message
    assert "Connection refused" in message
    assert "Traceback" not in message

    ret = states.lxdapi.profile_present(name="t8-fault", endpoint=refusing_socket)
    assert ret.result is False
    assert f"cannot reach LXD at {refusing_socket}" in ret.comment
    assert "Connection refused" in ret.comment
    assert ret.changes == {}


def test_unreachable_https_endpoint_is_named(modules):
    port = lxdhost.free_port()
    endpoint = f"https://127.0.0.1:{port}"
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.info(endpoint=endpoint, verify=False)
    assert f"cannot reach LXD at {endpoint}" in str(info.value)


# ------------------------------------------------------------- a daemon restarted mid-run


@pytest.fixture
def own_daemon():
    """An extra private daemon (its own LXD_DIR in a 0755 folder), stopped at the end."""
    base = lxdhost.make_base_dir("lxdapi-t8-restart-")
    lxd_dir = os.path.join(base, "lxd")
    try:
        lxdhost.start_daemon(lxd_dir)
        yield lxd_dir
    finally:
        lxdhost.stop_daemon(lxd_dir)
        lxdhost.stop_daemon(base)


def _restart(lxd_dir):
    lxdhost.run(["lxd", "shutdown", "--timeout", "60"], lxd_dir, timeout=90)
    lxdhost.start_daemon(lxd_dir)


def test_daemon_restart_between_calls_reconnects(own_daemon, modules, loaders):
    sock = os.path.join(own_daemon, "unix.socket")
    api = core.API.factory(sock)
    before = api.get("").metadata["environment"]["server_pid"]
    assert api.get("profiles").metadata == ["/1.0/profiles/default"]
    modules.lxdapi.profile_list(endpoint=sock)  # the module's cached API, connected
    cached = [v for k, v in loaders.context.items() if k.startswith("lxdapi.api.")]
    assert len(cached) == 1

    _restart(own_daemon)

    # The same API object: its kept connection died with the old daemon.
    after = api.get("").metadata["environment"]["server_pid"]
    assert after != before
    api.post("profiles", json={"name": "after-restart"})  # a write on the same API
    assert "/1.0/profiles/after-restart" in api.get("profiles").metadata

    # The module's cached API (same object) works on too, writes included.
    assert modules.lxdapi.profile_create("from-module", endpoint=sock)["name"] == "from-module"
    assert [v for k, v in loaders.context.items() if k.startswith("lxdapi.api.")] == cached
    assert sorted(modules.lxdapi.profile_list(endpoint=sock)) == [
        "after-restart",
        "default",
        "from-module",
    ]


def test_daemon_down_then_up_again(own_daemon, modules):
    sock = os.path.join(own_daemon, "unix.socket")
    api = core.API.factory(sock)
    api.get("")
    lxdhost.run(["lxd", "shutdown", "--timeout", "60"], own_daemon, timeout=90)
    with pytest.raises(core.APIConnectionError) as info:
        api.get("profiles")
    assert f"cannot reach LXD at {sock}" in str(info.value)
    lxdhost.start_daemon(own_daemon)
    assert api.get("profiles").metadata == ["/1.0/profiles/default"]


# ----------------------------------------------------------------- a failing operation


#: The server's own words when an empty instance cannot start (LXD: ".../rootfs: No such
#: file...", Incus: "Failed to run: .../incusd forkstart ...").
START_FAILURE_WORDS = {"lxd": "rootfs", "incus": "forkstart"}


def test_failing_start_gives_result_false_with_lxds_error(states, lxd, container):
    lxd.lxc("init", "--empty", container)  # no rootfs, no /sbin/init: it cannot start
    ret = states.lxdapi.container_running(name=container)
    assert ret.result is False
    # The server's reason first, then the request and its operation.
    assert re.search(
        rf"{START_FAILURE_WORDS[lxd.server]}.* \(PUT /1\.0/instances/{container}/state, operation "
        r"/1\.0/operations/[0-9a-f-]+\)",
        ret.comment,
    ), ret.comment
    assert "Traceback" not in ret.comment
    assert ret.changes == {}
    # The instance's own state (Incus 6.0's instance document may still say Running
    # after a start that failed, and its /state fails with "Invalid PID" or says Running
    # for a moment; then it says Stopped, as LXD's both do).
    assert lxd.status(container, until="Stopped") == "Stopped"


def test_failing_start_after_create_reports_what_was_made(states, lxd, container):
    ret = states.lxdapi.container_present(name=container, status="Running")  # no source
    assert ret.result is False
    assert START_FAILURE_WORDS[lxd.server] in ret.comment
    assert "made before the failure: instance" in ret.comment
    assert list(ret.changes) == ["instance"]  # created, never started
    assert "status" not in ret.changes
    assert lxd.status(container, until="Stopped") == "Stopped"  # Incus: Running for a moment


def test_failing_start_from_the_module(modules, lxd, container):
    lxd.lxc("init", "--empty", container)
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_start(container)
    message = str(info.value)
    assert re.search(
        rf"{START_FAILURE_WORDS[lxd.server]}.* \(PUT /1\.0/instances/{container}/state, operation "
        r"/1\.0/operations/[0-9a-f-]+\)",
        message,
    ), message
    assert "http+unix" not in message  # the path, not the socket's URL


# ---------------------------------------------------------------- a wait that times out


def _operation_from(message):
    found = re.search(r"operation (/1\.0/operations/[0-9a-f-]+)\)", message)
    assert found, message
    return found.group(1)


def test_wait_timeout_names_the_operation_and_leaves_it_running(modules, lxd, container):
    lxd.lxc("launch", "busybox", container)
    started = time.monotonic()
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_exec(container, ["sleep", "8"], wait_timeout=1)
    assert time.monotonic() - started < 5  # gave up after about 1s, long before the 8s
    message = str(info.value)
    assert "POST" in message and f"/1.0/instances/{container}/exec" in message
    assert f"['sleep', '8'] did not exit within 1 s in {container}" in message
    operation = _operation_from(message)
    assert json.loads(lxd.lxc("query", operation))["status"] == "Running"
    done = json.loads(lxd.lxc("query", operation + "/wait?timeout=30"))
    assert done["status"] == "Success"
    assert done["metadata"]["return"] == 0


def test_wait_timeout_in_the_core(lxd, container):
    lxd.lxc("launch", "busybox", container)
    api = lxd.api(wait_timeout=1)
    body = lxdapi_instances.exec_body(["sleep", "6"])
    result = api.post(api.instance_path(container, "exec"), json=body)
    with pytest.raises(core.APITimeout) as info:
        result.wait()
    assert info.value.operation == result.operation
    assert info.value.method == "POST"
    assert json.loads(lxd.lxc("query", result.operation))["status"] == "Running"
    assert result.wait(30).metadata["status"] == "Success"


# -------------------------------------------------------------------- request timeouts


def test_timeouts_have_sensible_defaults(lxd):
    api = lxd.api()
    assert api.timeout == core.DEFAULT_TIMEOUT == 30
    assert api.wait_timeout == core.DEFAULT_WAIT_TIMEOUT == 300
    api = lxd.api(timeout=5, wait_timeout="60")
    assert (api.timeout, api.wait_timeout) == (5.0, 60.0)


@pytest.mark.parametrize("bad", ["soon", 0, -1, True, [1]])
def test_bad_timeouts_are_refused(lxd, modules, bad):
    with pytest.raises(ValueError, match="timeout must be a number of seconds"):
        lxd.api(timeout=bad)
    with pytest.raises(SaltInvocationError, match="wait_timeout must be a number of seconds"):
        modules.lxdapi.container_list(wait_timeout=bad)


def _fails_fast(call, limit=3.0):
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        call()
    assert time.monotonic() - started < limit
    return info.value


def test_silent_unix_socket_times_out_quickly(silent_socket, modules):
    api = core.API.factory(silent_socket, timeout=0.5)
    exc = _fails_fast(lambda: api.get(""))
    assert isinstance(exc, core.APITimeout)
    assert f"no answer within 0.5s from {silent_socket}" in str(exc)

    exc = _fails_fast(lambda: modules.lxdapi.container_list(endpoint=silent_socket, timeout=0.5))
    assert isinstance(exc, CommandExecutionError)
    assert f"no answer within 0.5s from {silent_socket}" in str(exc)


def test_silent_tcp_server_times_out_quickly(silent_tcp, states):
    api = core.API.factory(silent_tcp, timeout=0.5)
    exc = _fails_fast(lambda: api.get(""))
    assert isinstance(exc, core.APITimeout)
    assert silent_tcp in str(exc)

    started = time.monotonic()
    ret = states.lxdapi.profile_present(name="t8-silent", endpoint=silent_tcp, timeout=0.5)
    assert time.monotonic() - started < 3
    assert ret.result is False
    assert f"no answer within 0.5s from {silent_tcp}" in ret.comment
