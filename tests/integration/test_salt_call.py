"""``salt-call --local lxdapi.<function>`` as a user runs it, against the test daemon.

The minion config loads the modules from the checkout (``module_dirs``) and points
``lxdapi:endpoint`` at the private daemon's socket.
"""

import json

import pytest

from conftest import file_header
from salt_call_support import minion_config_dir, salt_call

pytestmark = pytest.mark.integration


@pytest.fixture
def config_dir(tmp_path, lxd):
    """A minion config dir: local file client, its own root_dir, modules from the checkout."""
    return minion_config_dir(tmp_path, lxdapi={"endpoint": lxd.socket})


@pytest.fixture
def container(lxd, unique_name):
    lxd.lxc("launch", "busybox", unique_name)
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


def test_container_get(config_dir, container, api):
    proc = salt_call(config_dir, "lxdapi.container_get", container)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["local"]
    assert data["name"] == container
    assert data["status"] == "Running"
    assert data["config"] == api.get(api.instance_path(container)).metadata["config"]


def test_container_get_absent_prints_false(config_dir, unique_name):
    proc = salt_call(config_dir, "lxdapi.container_get", unique_name)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"local": False}


def test_exec_and_config_set_from_the_command_line(config_dir, container, api):
    proc = salt_call(
        config_dir, "lxdapi.container_exec", container, '["sh", "-c", "echo $A"]', 'env={"A": 1}'
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["local"] == {"retcode": 0, "stdout": "1\n", "stderr": ""}
    proc = salt_call(config_dir, "lxdapi.container_config_set", container, "user.cli", "blue")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["local"] == {"user.cli": {"old": None, "new": "blue"}}
    assert api.get(api.instance_path(container)).metadata["config"]["user.cli"] == "blue"


def test_file_put_mode_written_unquoted(config_dir, container, api):
    # On the command line 0640 reaches the module as the int 640: still mode 0640.
    proc = salt_call(
        config_dir,
        "lxdapi.container_file_put",
        container,
        "/tmp/cli.txt",
        "contents=from the cli",
        "mode=0640",
    )
    assert proc.returncode == 0, proc.stderr
    result = api.get(api.instance_path(container, "files"), params={"path": "/tmp/cli.txt"})
    assert result.response.content == b"from the cli"
    assert file_header(result.response, "mode") == "0640"


def test_bad_input_fails_with_the_reason(config_dir, container):
    proc = salt_call(config_dir, "lxdapi.container_exec", container, "echo hi")
    assert proc.returncode != 0
    assert "command must be an argv list" in proc.stdout + proc.stderr


def test_server_error_fails_with_lxds_message(config_dir, unique_name):
    proc = salt_call(config_dir, "lxdapi.container_start", unique_name)
    assert proc.returncode != 0
    assert "not found" in (proc.stdout + proc.stderr)
    assert unique_name in (proc.stdout + proc.stderr)
