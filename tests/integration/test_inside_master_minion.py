"""Salt inside an instance from a real master and minion (pytest-salt-factories): the SLS
applied inside a container lives in the master's file_roots, and the guest's pillar in
the master's pillar; ``salt minion lxdapi.call`` and ``state.apply`` on the host's
minion carry them into the container.
"""

import json
import shutil
import uuid

import pytest

from conftest import ROOT

pytestmark = pytest.mark.integration

INNER_SLS = """\
from-master:
  file.managed:
    - name: /root/from-master
    - contents: {{ pillar['word'] }}

motd-from-master:
  file.managed:
    - name: /root/motd-from-master
    - source: salt://motd.j2
    - template: jinja
"""

#: In the master's tree, named by no state of the guest's: it must never reach it.
SECRET = "t-master-secret-" + uuid.uuid4().hex

HOST_SLS = """\
apply-inside:
  lxdapi.sls_applied:
    - container: {guest}
    - mods: inner
"""


@pytest.fixture(scope="module")
def guest(lxd, debian_image):
    name = "t-inside-mm-" + uuid.uuid4().hex[:6]
    lxd.lxc("launch", debian_image, name)
    yield name
    lxd.lxc("delete", "--force", name, check=False)


@pytest.fixture(scope="module")
def master(salt_factories, tmp_path_factory, guest):
    files = tmp_path_factory.mktemp("file_roots")
    (files / "inner.sls").write_text(INNER_SLS)
    (files / "host.sls").write_text(HOST_SLS.format(guest=guest))
    (files / "motd.j2").write_text("hello {{ grains['id'] }}\n")
    (files / "secret").mkdir()
    (files / "secret" / "prod.key").write_text(SECRET + "\n")
    pillar = tmp_path_factory.mktemp("pillar_roots")
    (pillar / "top.sls").write_text("base:\n  '*':\n    - guests\n")
    (pillar / "guests.sls").write_text(
        json.dumps({"lxdapi": {"pillar": {guest: {"word": "from the master's pillar"}}}})
    )
    factory = salt_factories.salt_master_daemon(
        "lxdapi-inside-master-" + uuid.uuid4().hex[:4],
        overrides={
            "file_roots": {"base": [str(files)]},
            "pillar_roots": {"base": [str(pillar)]},
            "fileserver_list_cache_time": 0,
        },
    )
    with factory.started():
        yield factory
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture(scope="module")
def minion(master, lxd):
    factory = master.salt_minion_daemon(
        "lxdapi-inside-minion-" + uuid.uuid4().hex[:4],
        overrides={"module_dirs": [ROOT], "lxdapi": {"endpoint": lxd.socket}},
    )
    with factory.started():
        yield factory
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture(scope="module")
def salt_cli(master, minion):
    return master.salt_cli(timeout=300)


def test_call_through_the_master(salt_cli, minion, guest):
    ret = salt_cli.run("lxdapi.call", guest, "grains.item", "os", "id", minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    assert ret.data == {"os": "Debian", "id": guest}


def test_state_apply_carries_the_masters_files_and_pillar_inside(salt_cli, minion, lxd, guest):
    ret = salt_cli.run("state.apply", "host", minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    (entry,) = ret.data.values()
    assert entry["result"] is True, entry["comment"]
    assert sorted(entry["changes"]) == ["from-master", "motd-from-master"]
    assert lxd.file_text(guest, "/root/from-master") == "from the master's pillar\n"
    assert lxd.file_text(guest, "/root/motd-from-master") == f"hello {guest}\n"
    # the master's secret/prod.key, named by no state of the guest's, is not in it
    half = len(SECRET) // 2
    found = lxd.lxc(
        "exec",
        guest,
        "--",
        "sh",
        "-c",
        'grep -rl "$0$1" /var/cache/lxdapi /tmp /var/tmp /root /run 2>/dev/null || true',
        SECRET[:half],
        SECRET[half:],
    )
    assert found.strip() == ""
    listing = lxd.lxc("exec", guest, "--", "find", "/var/cache/lxdapi", "-name", "prod.key")
    assert listing.strip() == ""

    again = salt_cli.run("state.apply", "host", minion_tgt=minion.id)
    (entry,) = again.data.values()
    assert entry["result"] is True and entry["changes"] == {}, entry
