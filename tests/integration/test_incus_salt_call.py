"""``salt-call --local lxdapi.<function>`` against the Incus test daemon, as a user runs it.

The minion config sets no ``lxdapi:endpoint``: the module finds Incus from the
environment alone (``INCUS_DIR``), as a user with only Incus installed would have it.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SALT_CALL = os.path.join(os.path.dirname(sys.executable), "salt-call")

# Variables that would point the module at another server than the one under test.
OTHER_SERVER_VARIABLES = ("LXD_DIR", "LXD_SOCKET", "INCUS_SOCKET", "INCUS_DIR")


@pytest.fixture
def config_dir(tmp_path):
    """A minion config dir without any lxdapi settings (no endpoint)."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "minion").write_text(
        json.dumps(
            {  # JSON is YAML
                "file_client": "local",
                "root_dir": str(tmp_path / "root"),
                "module_dirs": [ROOT],
            }
        )
    )
    return str(conf)


def salt_call_with_incus_dir(config_dir, incus_dir, *args):
    """salt-call with INCUS_DIR set to the test daemon's folder and LXD_DIR unset."""
    assert os.path.exists(SALT_CALL), "salt-call not found beside " + sys.executable
    env = {k: v for k, v in os.environ.items() if k not in OTHER_SERVER_VARIABLES}
    env["INCUS_DIR"] = incus_dir
    return subprocess.run(
        [SALT_CALL, "--local", "-c", config_dir, *args, "--out=json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


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
