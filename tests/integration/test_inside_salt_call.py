"""Salt inside an instance from the host's command line: ``salt-call --local`` on the host
applies an SLS that creates a Debian container and applies states inside it with
``lxdapi.sls_applied`` (requisites on the host side included), and calls functions in it.
The host's file_roots and pillar_roots are real folders; what the inner states did is
read back from the container through the daemon's client.
"""

import json
import uuid

import pytest

from salt_call_support import minion_config_dir
from salt_call_support import salt_call as run_salt_call

pytestmark = pytest.mark.integration


HOST_SLS = """\
{guest}:
  lxdapi.container_present:
    - source: {image}
    - status: Running

inside:
  lxdapi.sls_applied:
    - container: {guest}
    - mods: inner
    - require:
      - lxdapi: {guest}

after-inside:
  lxdapi.container_exec:
    - container: {guest}
    - command: [sh, -c, "echo ran >> /root/onchanges"]
    - onchanges:
      - lxdapi: inside
"""

INNER_SLS = """\
greeting:
  file.managed:
    - name: /root/greeting
    - contents: {{ pillar['greeting'] }}

pillar-seen:
  file.managed:
    - name: /root/pillar.json
    - contents: {{ pillar | tojson | yaml_dquote }}

once:
  cmd.run:
    - name: echo once >> /root/once
    - creates: /root/once
"""


@pytest.fixture
def guest(lxd):
    name = "t-inside-cli-" + uuid.uuid4().hex[:6]
    yield name
    lxd.lxc("delete", "--force", name, check=False)


@pytest.fixture
def config_dir(tmp_path, lxd, guest, debian_image):
    """A masterless minion on the host: lxdapi from the checkout, the host SLS and the
    inner SLS in its file_roots, the guest's pillar (and a host secret) in pillar_roots."""
    files = tmp_path / "files"
    files.mkdir()
    (files / "host.sls").write_text(HOST_SLS.format(guest=guest, image=debian_image))
    (files / "inner.sls").write_text(INNER_SLS)
    pillar = tmp_path / "pillar"
    pillar.mkdir()
    (pillar / "top.sls").write_text("base:\n  '*':\n    - host\n")
    (pillar / "host.sls").write_text(
        json.dumps(
            {
                "host_secret": "stays on the host",
                "lxdapi": {"pillar": {guest: {"greeting": "hello from the host"}}},
            }
        )
    )
    return minion_config_dir(
        tmp_path,
        file_roots={"base": [str(files)]},
        pillar_roots={"base": [str(pillar)]},
        fileserver_list_cache_time=0,
        lxdapi={"endpoint": lxd.socket},
    )


def salt_call(config_dir, *args):
    """salt-call's exit code and its JSON return."""
    proc = run_salt_call(config_dir, *args, timeout=600)
    try:
        return proc.returncode, json.loads(proc.stdout)["local"]
    except ValueError:
        raise AssertionError(proc.stdout + proc.stderr) from None


def _by_id(ret):
    return {entry["__id__"]: entry for entry in ret.values()}


def test_host_sls_creates_the_container_applies_states_inside_and_predicts(config_dir, lxd, guest):
    code, ret = salt_call(config_dir, "state.apply", "host")
    states = _by_id(ret)
    assert code == 0, [e["comment"] for e in states.values()]
    assert all(entry["result"] is True for entry in states.values()), ret
    inside = states["inside"]
    assert sorted(inside["changes"]) == ["greeting", "once", "pillar-seen"]
    assert lxd.file_text(guest, "/root/greeting") == "hello from the host\n"
    # the guest's own pillar, and nothing else of the host's
    seen = json.loads(lxd.file_text(guest, "/root/pillar.json"))
    assert seen == {"greeting": "hello from the host"}
    assert states["after-inside"]["changes"]["retcode"] == 0  # onchanges fired

    code, again = salt_call(config_dir, "state.apply", "host")
    assert code == 0, again
    assert {sid: e["changes"] for sid, e in _by_id(again).items()} == {
        guest: {},
        "inside": {},
        "after-inside": {},
    }
    assert "All 3 states in" in _by_id(again)["inside"]["comment"]
    assert lxd.file_text(guest, "/root/onchanges") == "ran\n"  # not again
    assert lxd.file_text(guest, "/root/once") == "once\n"

    # test mode: the inner states' predictions, and nothing changed inside
    lxd.lxc("exec", guest, "--", "rm", "/root/greeting")
    code, predicted = salt_call(config_dir, "state.apply", "host", "test=True")
    inside = _by_id(predicted)["inside"]
    assert inside["result"] is None, inside
    assert list(inside["changes"]) == ["greeting"]
    assert inside["changes"]["greeting"]["newfile"] == "/root/greeting"
    assert lxd.file_text(guest, "/root/greeting") is None
    assert _by_id(predicted)["after-inside"]["changes"] == {}


def test_call_and_grains_from_the_command_line(config_dir, lxd, guest, debian_image):
    lxd.lxc("launch", debian_image, guest)
    code, ret = salt_call(config_dir, "lxdapi.call", guest, "test.ping")
    assert (code, ret) == (0, True)
    code, ret = salt_call(config_dir, "lxdapi.grains", guest, "os", "id")
    assert (code, ret) == (0, {"os": "Debian", "id": guest})
    code, ret = salt_call(config_dir, "lxdapi.call", guest, "file.write", "/root/x", "y z")
    assert code == 0 and lxd.file_text(guest, "/root/x") == "y z\n"
    proc = run_salt_call(config_dir, "lxdapi.call", guest, "test.retcode", "5", timeout=600)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"Error running 'lxdapi.call': test.retcode in {guest!r} failed with return code 5: True"
    )


def test_a_container_without_python_fails_the_state_clearly(config_dir, lxd, guest, tmp_path):
    lxd.lxc("launch", "busybox", guest)
    code, ret = salt_call(
        config_dir, "state.single", "lxdapi.sls_applied", "inner", "container=" + guest
    )
    (entry,) = ret.values()
    assert code != 0 and entry["result"] is False
    assert entry["comment"] == (
        f"instance {guest!r} has no python3: Salt runs there on the instance's own python3 "
        "(install it in the image, e.g. apt-get install python3)"
    )
