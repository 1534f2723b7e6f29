"""``salt-call --local lxdapi.<function>`` against the Incus test daemon, as a user runs it.

The minion config sets no ``lxdapi:endpoint``: the module finds Incus from the
environment alone (``INCUS_DIR``), as a user with only Incus installed would have it.
"""

import json
import os

import pytest

from salt_call_support import minion_config_dir, salt_call

pytestmark = pytest.mark.integration


# Variables that would point the module at another server than the one under test.
OTHER_SERVER_VARIABLES = ("LXD_DIR", "LXD_SOCKET", "INCUS_SOCKET", "INCUS_DIR")


@pytest.fixture
def config_dir(tmp_path):
    """A minion config dir without any lxdapi settings (no endpoint)."""
    return minion_config_dir(tmp_path)


def salt_call_with_incus_dir(config_dir, incus_dir, *args):
    """salt-call with INCUS_DIR set to the test daemon's folder and LXD_DIR unset."""
    env = {k: v for k, v in os.environ.items() if k not in OTHER_SERVER_VARIABLES}
    env["INCUS_DIR"] = incus_dir
    return salt_call(config_dir, *args, env=env)


def test_info_with_only_incus_dir_answers_from_incus(config_dir, incus):
    server = json.loads(incus.lxc("query", "/1.0"))
    proc = salt_call_with_incus_dir(config_dir, incus.lxd_dir, "lxdapi.info")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = json.loads(proc.stdout)["local"]
    assert info["server"] == "incus", info
    assert info["version"] == server["environment"]["server_version"]
    # the very daemon of the test, not another one on the host
    assert info["environment"]["server_pid"] == server["environment"]["server_pid"]
    assert info["api_extensions"] == server["api_extensions"]


def test_container_list_with_only_incus_dir(config_dir, incus, unique_name):
    incus.lxc("init", "busybox", unique_name)
    try:
        proc = salt_call_with_incus_dir(config_dir, incus.lxd_dir, "lxdapi.container_list")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert unique_name in json.loads(proc.stdout)["local"]
    finally:
        incus.lxc("delete", "--force", unique_name, check=False)
