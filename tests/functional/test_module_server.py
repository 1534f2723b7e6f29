"""Execution module, server: info and operations, against the real daemon."""

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

SLEEP_EXEC = {"record-output": True, "wait-for-websocket": False, "interactive": False}


@pytest.fixture
def container(lxd, unique_name):
    lxd.lxc("launch", "busybox", unique_name)
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


def start_background(api, container, argv):
    """Start a command in the container without waiting; return its operation id."""
    result = api.post(api.instance_path(container, "exec"), json=dict(SLEEP_EXEC, command=argv))
    assert result.is_async
    return result.operation.rsplit("/", 1)[-1]


def test_info(modules, api):
    info = modules.lxdapi.info()
    server = api.get("").metadata
    assert info["version"] == server["environment"]["server_version"]
    assert info["api_version"] == "1.0"
    assert info["auth"] == "trusted"
    assert "instances" in info["api_extensions"]
    assert info["api_extensions"] == server["api_extensions"]
    env = info["environment"]
    assert env["server_name"] == server["environment"]["server_name"]
    assert env["kernel"] == "Linux"
    assert "x86_64" in env["architectures"]
    assert env["storage"] == "dir"
    assert "certificate" not in env  # a summary, not the whole document


def test_info_refuses_unknown_arguments(modules):
    with pytest.raises(SaltInvocationError, match="unexpected argument.*verbose"):
        modules.lxdapi.info(verbose=True)


def test_operation_list_get_and_wait(modules, api, container):
    op_id = start_background(api, container, ["sleep", "1"])
    listed = modules.lxdapi.operation_list()
    assert op_id in listed["running"]
    detailed = modules.lxdapi.operation_list(recursion=1)
    assert op_id in [op["id"] for op in detailed["running"]]

    running = modules.lxdapi.operation_get(op_id)
    assert running["status"] == "Running"
    assert running["resources"]["instances"] == ["/1.0/instances/" + container]

    finished = modules.lxdapi.operation_wait("/1.0/operations/" + op_id, timeout=30)
    assert finished["status"] == "Success"
    assert finished["metadata"]["return"] == 0
    # The server agrees it ended.
    assert api.get("operations/" + op_id).metadata["status"] == "Success"
    assert op_id in modules.lxdapi.operation_list()["success"]


def test_operation_wait_times_out_and_leaves_it_running(modules, api, container):
    op_id = start_background(api, container, ["sleep", "3"])
    with pytest.raises(CommandExecutionError, match="still running after 0s"):
        modules.lxdapi.operation_wait(op_id, timeout=0)
    assert api.get("operations/" + op_id).metadata["status"] == "Running"
    assert modules.lxdapi.operation_wait(op_id, timeout=30)["status"] == "Success"


def test_failed_operation_is_listed_read_and_raised_by_wait(modules, api, container):
    op_id = start_background(api, container, ["no-such-command"])
    with pytest.raises(CommandExecutionError, match="Command not found"):
        modules.lxdapi.operation_wait(op_id, timeout=30)
    failed = modules.lxdapi.operation_get(op_id)
    assert failed["status"] == "Failure"
    assert failed["err"] == "Command not found"
    assert op_id in modules.lxdapi.operation_list()["failure"]
    # Listing with recursion works with a failed operation in the list.
    detailed = modules.lxdapi.operation_list(recursion=1)
    assert op_id in [op["id"] for op in detailed["failure"]]


def test_unknown_operation(modules):
    unknown = "00000000-0000-0000-0000-000000000000"
    assert modules.lxdapi.operation_get(unknown) is False
    assert modules.lxdapi.operation_wait(unknown, timeout=1) is False


def test_operation_bad_input(modules):
    with pytest.raises(SaltInvocationError, match="operation must be a non-empty name"):
        modules.lxdapi.operation_get("")
    with pytest.raises(SaltInvocationError, match="timeout must be a number of seconds"):
        modules.lxdapi.operation_wait("abc", timeout=-5)
    with pytest.raises(SaltInvocationError, match="recursion must be 0, 1 or 2"):
        modules.lxdapi.operation_list(recursion="all")
