"""A real Salt master and minion (pytest-salt-factories) driving the session's LXD.

The minion loads lxdapi from the checkout (``module_dirs``) and its ``lxdapi:endpoint``
is the session daemon's socket; the master's ``file_roots`` hold a small SLS. Both
daemons start once for the module and are stopped at its end.
"""

import shutil
import uuid

import pytest

from conftest import ROOT
from remote_support import held

pytestmark = pytest.mark.integration

SLS = """\
{name}:
  lxdapi.container_present:
    - source: busybox
    - config:
        user.managed-by: salt-master
    - status: Running

{name}-profile:
  lxdapi.profile_present:
    - config:
        user.role: web
"""


@pytest.fixture(scope="module")
def names():
    """Names of what the SLS makes (a container and a profile)."""
    suffix = uuid.uuid4().hex[:6]
    return {"container": "t-mm-" + suffix}


@pytest.fixture(scope="module")
def file_roots(tmp_path_factory, names):
    root = tmp_path_factory.mktemp("file_roots")
    (root / "lxdapi_demo.sls").write_text(SLS.format(name=names["container"]))
    return str(root)


@pytest.fixture(scope="module")
def master(salt_factories, file_roots):
    factory = salt_factories.salt_master_daemon(
        "lxdapi-master-" + uuid.uuid4().hex[:4],
        overrides={"file_roots": {"base": [file_roots]}},
    )
    with factory.started():
        yield factory
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture(scope="module")
def minion(master, lxd):
    factory = master.salt_minion_daemon(
        "lxdapi-minion-" + uuid.uuid4().hex[:4],
        overrides={"module_dirs": [ROOT], "lxdapi": {"endpoint": lxd.socket}},
    )
    with factory.started():
        yield factory
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture(scope="module")
def salt_cli(master, minion):
    return master.salt_cli(timeout=120)


@pytest.fixture(scope="module")
def cleanup(lxd, names):
    yield
    lxd.lxc("delete", "--force", names["container"], check=False)
    lxd.lxc("profile", "delete", names["container"] + "-profile", check=False)


def test_salt_minion_lxdapi_container_get(salt_cli, minion, lxd, unique_name):
    lxd.lxc("init", "busybox", unique_name)
    try:
        ret = salt_cli.run("lxdapi.container_get", unique_name, minion_tgt=minion.id)
        assert ret.returncode == 0, ret
        assert ret.data["name"] == unique_name
        assert ret.data["status"] == "Stopped"

        missing = salt_cli.run("lxdapi.container_get", unique_name + "-x", minion_tgt=minion.id)
        assert missing.returncode == 0 and missing.data is False
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)


def test_state_apply_through_the_master(salt_cli, minion, api, names, cleanup):
    name = names["container"]
    predicted = salt_cli.run("state.apply", "lxdapi_demo", "test=True", minion_tgt=minion.id)
    assert predicted.returncode == 0, predicted
    assert all(s["result"] is None for s in predicted.data.values())
    assert held(api, "instances/" + name) is None

    ret = salt_cli.run("state.apply", "lxdapi_demo", minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    states = {s["__id__"]: s for s in ret.data.values()}
    assert states[name]["result"] is True and states[name]["changes"]
    found = held(api, "instances/" + name)
    assert found["status"] == "Running"
    assert found["config"]["user.managed-by"] == "salt-master"
    assert held(api, "profiles/" + name + "-profile")["config"] == {"user.role": "web"}

    again = salt_cli.run("state.apply", "lxdapi_demo", minion_tgt=minion.id)
    assert again.returncode == 0, again
    assert all(s["result"] is True and not s["changes"] for s in again.data.values())


def test_bad_arguments_come_back_through_the_master(salt_cli, minion):
    ret = salt_cli.run("lxdapi.container_get", "web1", "colour=red", minion_tgt=minion.id)
    assert ret.returncode != 0
    assert "unexpected argument(s): colour" in str(ret.data or ret.stdout)


def test_remote_settings_come_from_the_minion_config(salt_cli, minion, lxd):
    ret = salt_cli.run("config.get", "lxdapi:endpoint", minion_tgt=minion.id)
    assert ret.data == lxd.socket
    info = salt_cli.run("lxdapi.info", minion_tgt=minion.id)
    assert info.returncode == 0 and info.data["auth"] == "trusted"
