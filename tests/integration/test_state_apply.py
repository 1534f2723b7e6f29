"""``salt-call --local state.apply`` of SLS files, as a user runs it, and the demo.

Each SLS is applied twice: the first run makes the changes (checked on the server), the
second reports none. The demo (examples/demo.py) runs against the session's daemon
(``LXD_DIR``), so it starts no daemon of its own.
"""

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

import lxdhost
from conftest import core, file_header
from salt_call_support import ROOT, minion_config_dir, salt_call

pytestmark = pytest.mark.integration


def held(api, url):
    result = core.get_or_none(api, url)
    return None if result is None else result.metadata


@pytest.fixture
def salt(tmp_path, lxd):
    """``salt.apply(sls, **pillar-free options)`` runs salt-call state.apply on
    ``salt.tree`` (the file_roots) and returns ``(exit code, {state id: result})``."""
    tree = tmp_path / "tree"
    tree.mkdir()
    conf = minion_config_dir(
        tmp_path, file_roots={"base": [str(tree)]}, lxdapi={"endpoint": lxd.socket}
    )

    class Salt:
        def __init__(self):
            self.tree = tree

        def write(self, name, text):
            (tree / (name + ".sls")).write_text(textwrap.dedent(text))

        def apply(self, sls, test=False, pillar=None):
            args = ["--retcode-passthrough", "state.apply", sls]
            if test:
                args.append("test=True")
            if pillar:
                args.append("pillar=" + json.dumps(pillar))
            proc = salt_call(conf, *args, timeout=300)
            try:
                data = json.loads(proc.stdout)["local"]
            except (ValueError, KeyError):
                raise AssertionError(
                    f"salt-call printed no state results:\n{proc.stdout}\n{proc.stderr}"
                ) from None
            assert isinstance(data, dict), data  # a list means the SLS did not render
            return proc.returncode, {v["__id__"]: v for v in data.values()}

    return Salt()


def test_image_containers_and_alias_converge_then_nothing_changes(salt, api, lxd, unique_name):
    image = str(salt.tree / "img.tar.gz")
    fingerprint = lxdhost.build_busybox_image(image, description="sls image")
    web, worker = unique_name + "-web", unique_name + "-wrk"
    alias, extra = unique_name + "-img", unique_name + "-stable"
    salt.write(
        "site",
        f"""
        {alias}:
          lxdapi.image_present:
            - source: salt://img.tar.gz
        {extra}:
          lxdapi.image_alias_present:
            - target: {alias}
            - description: pinned
            - require:
              - lxdapi: {alias}
        {web}:
          lxdapi.container_present:
            - source: {alias}
            - profiles: [default]
            - config:
                limits.processes: 100
                user.role: web
                boot.autostart: false
            - devices:
                scratch: {{type: disk, source: /tmp, path: /mnt/scratch}}
            - status: Running
            - require:
              - lxdapi: {alias}
        {worker}:
          lxdapi.container_present:
            - source: {alias}
            - config: {{user.role: worker}}
            - status: Stopped
            - require:
              - lxdapi: {alias}
        """,
    )
    salt.write(
        "teardown",
        f"""
        {web}:
          lxdapi.container_absent: []
        {worker}:
          lxdapi.container_absent: []
        {extra}:
          lxdapi.image_alias_absent: []
        {alias}:
          lxdapi.image_absent:
            - require:
              - lxdapi: {web}
              - lxdapi: {worker}
        """,
    )
    try:
        code, first = salt.apply("site")
        assert code == 0, first
        assert all(r["result"] is True for r in first.values()), first
        assert first[alias]["changes"]["image"] == {"old": None, "new": fingerprint}
        assert first[extra]["changes"]["alias"]["new"]["target"] == fingerprint
        assert first[web]["changes"]["status"] == {"old": None, "new": "Running"}
        assert first[worker]["changes"]["instance"]["old"] is None
        assert "status" not in first[worker]["changes"]  # a new container is Stopped

        held_web = held(api, "instances/" + web)
        assert held_web["status"] == "Running"
        assert held_web["config"]["user.role"] == "web"
        assert held_web["config"]["limits.processes"] == "100"
        assert held_web["config"]["volatile.base_image"] == fingerprint
        assert held_web["devices"]["scratch"]["path"] == "/mnt/scratch"
        assert held(api, "instances/" + worker)["status"] == "Stopped"
        assert held(api, "images/aliases/" + extra)["target"] == fingerprint

        code, second = salt.apply("site")
        assert code == 0
        assert {k: (r["result"], r["changes"]) for k, r in second.items()} == {
            k: (True, {}) for k in first
        }

        # Drift made by someone else is repaired; test=True predicts it first.
        lxd.lxc("config", "set", web, "user.role", "changed-by-hand")
        lxd.lxc("start", worker)
        code, predicted = salt.apply("site", test=True)
        assert predicted[web]["result"] is None
        assert predicted[web]["changes"] == {
            "config": {"old": {"user.role": "changed-by-hand"}, "new": {"user.role": "web"}}
        }
        assert predicted[worker]["changes"] == {"status": {"old": "Running", "new": "Stopped"}}
        assert held(api, "instances/" + web)["config"]["user.role"] == "changed-by-hand"
        code, repaired = salt.apply("site")
        assert code == 0
        assert repaired[web]["changes"] == predicted[web]["changes"]
        assert repaired[worker]["changes"] == predicted[worker]["changes"]
        assert held(api, "instances/" + web)["config"]["user.role"] == "web"
        assert held(api, "instances/" + worker)["status"] == "Stopped"

        code, gone = salt.apply("teardown")
        assert code == 0, gone
        assert gone[web]["changes"]["instance"]["old"] == {"name": web, "status": "Running"}
        assert gone[alias]["changes"]["image"]["old"]["fingerprint"] == fingerprint
        assert held(api, "instances/" + web) is None
        assert held(api, "instances/" + worker) is None
        assert held(api, "images/" + fingerprint) is None
        assert held(api, "images/aliases/" + extra) is None
        code, again = salt.apply("teardown")
        assert code == 0
        assert all(r["result"] is True and r["changes"] == {} for r in again.values())
    finally:
        for name in (web, worker):
            lxd.lxc("delete", "--force", name, check=False)
        lxd.lxc("image", "alias", "delete", extra, check=False)
        lxd.lxc("image", "delete", fingerprint, check=False)


def test_bad_input_in_an_sls_fails_and_creates_nothing(salt, api, unique_name):
    salt.write(
        "bad",
        f"""
        {unique_name}-a:
          lxdapi.container_present:
            - source: busybox
            - status: Sleeping
        {unique_name}-b:
          lxdapi.container_present:
            - source: no-such-image
        {unique_name}-c:
          lxdapi.container_present:
            - source: busybox
            - profiles: [default, no-such-profile]
        {unique_name}-d:
          lxdapi.image_present:
            - source: salt://no-such.tar.gz
        """,
    )
    code, results = salt.apply("bad")
    assert code != 0
    assert {k: r["result"] for k, r in results.items()} == {
        unique_name + s: False for s in ("-a", "-b", "-c", "-d")
    }
    assert "unknown status 'Sleeping'" in results[unique_name + "-a"]["comment"]
    assert "no-such-image" in results[unique_name + "-b"]["comment"]
    assert "no-such-profile" in results[unique_name + "-c"]["comment"]
    assert "no-such.tar.gz" in results[unique_name + "-d"]["comment"]
    for suffix in ("-a", "-b", "-c"):
        assert held(api, "instances/" + unique_name + suffix) is None
    assert held(api, "images/aliases/" + unique_name + "-d") is None


def test_the_demo_runs_twice_on_the_session_daemon(lxd, api, tmp_path):
    """examples/demo.py with LXD_DIR set: it uses that daemon and starts none."""
    env = dict(os.environ, LXD_DIR=lxd.lxd_dir, DEMO_BUILD_DIR=str(tmp_path / "build"))
    env.pop("DEBUG", None)
    names = ("demo-web", "demo-worker")
    assert all(held(api, "instances/" + n) is None for n in names)
    try:
        proc = subprocess.run(
            [sys.executable, os.path.join(ROOT, "examples", "demo.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = proc.stdout
        assert f"LXD: {lxd.socket}" in out
        assert "starting a private daemon" not in out
        assert "Succeeded: 7 (changed=7)" in out
        assert "Second run: 7 states, no changes." in out
        assert "The demo daemon in .lxd" not in out
        assert held(api, "instances/demo-web")["status"] == "Running"
        assert held(api, "instances/demo-worker")["status"] == "Stopped"
        assert held(api, "instances/demo-web")["config"]["user.role"] == "web"
        files = api.instance_path("demo-web", "files")
        motd = api.get(files, params={"path": "/etc/motd"}).response.content.decode()
        assert motd.startswith("This is ") and "demo web container" in motd
        assert "Host kernel: Linux" in motd
        assert file_header(api.get(files, params={"path": "/srv/app"}).response, "Mode") == "0750"
        assert api.get(files, params={"path": "/srv/app/ready"}).response.content
        target = held(api, "images/aliases/demo-busybox")["target"]
        assert held(api, "images/aliases/demo-stable")["target"] == target
    finally:
        for name in names:
            lxd.lxc("delete", "--force", name, check=False)
        alias = held(api, "images/aliases/demo-busybox")
        for extra in ("demo-busybox", "demo-bb", "demo-stable"):
            lxd.lxc("image", "alias", "delete", extra, check=False)
        if alias and alias["target"] != lxd.fingerprint:
            lxd.lxc("image", "delete", alias["target"], check=False)


def test_watch_restarts_a_running_container_when_a_watched_state_changed(
    salt, api, lxd, unique_name
):
    name = unique_name
    lxd.lxc("launch", "busybox", name)
    try:

        def pid():
            return held(api, f"instances/{name}/state")["pid"]

        def write(contents):
            salt.write(
                "watched",
                f"""
                {name}-conf:
                  lxdapi.file_managed:
                    - container: {name}
                    - name: /root/app.conf
                    - contents: {contents}

                {name}:
                  lxdapi.container_running:
                    - watch:
                      - lxdapi: {name}-conf
                """,
            )

        write("port-80")
        first = pid()
        code, ret = salt.apply("watched")
        assert code == 0, ret
        assert ret[name]["changes"] == {"restarted": {"old": False, "new": True}}
        assert "restarted (a watched state changed)" in ret[name]["comment"]
        second = pid()
        assert second != first and held(api, "instances/" + name)["status"] == "Running"

        code, ret = salt.apply("watched")  # nothing watched changed: no restart
        assert code == 0 and ret[name]["changes"] == {} and pid() == second

        write("port-8080")
        code, ret = salt.apply("watched", test=True)
        assert ret[name]["result"] is None
        assert f"Would have: Container {name} restarted" in ret[name]["comment"]
        assert pid() == second

        # a container_present that is stopped stays stopped
        lxd.lxc("stop", "--force", name)
        salt.write(
            "watched",
            f"""
            {name}-conf:
              lxdapi.file_managed:
                - container: {name}
                - name: /root/app.conf
                - contents: port-9090

            {name}:
              lxdapi.container_present:
                - watch:
                  - lxdapi: {name}-conf
            """,
        )
        code, ret = salt.apply("watched")
        assert code == 0, ret
        assert ret[name]["changes"] == {}
        assert "is not running; nothing to restart" in ret[name]["comment"]
        assert held(api, "instances/" + name)["status"] == "Stopped"
    finally:
        lxd.lxc("delete", "--force", name, check=False)


def test_the_estate_example_converges_then_nothing_changes(salt, api, lxd):
    """examples/estate.sls: a network, a volume, a profile, three containers made at
    once, and a file, a command and a snapshot inside one of them."""
    prefix = "t" + uuid.uuid4().hex[:6]
    with open(os.path.join(ROOT, "examples", "estate.sls")) as fh:
        salt.write("estate", fh.read())
    pillar = {"estate": {"prefix": prefix}}
    names = [prefix + "-web1", prefix + "-web2", prefix + "-db"]
    try:
        code, ret = salt.apply("estate", pillar=pillar)
        assert code == 0, {k: v["comment"] for k, v in ret.items() if v["result"] is not True}
        assert all(r["changes"] for r in ret.values()), ret
        ready = f"Ready: {prefix}-db: ['test', '-w', '/data'] exited 0 after"
        assert ready in " ".join(r["comment"] for r in ret.values())  # waited, then wrote
        for name in names:
            assert held(api, "instances/" + name)["status"] == "Running"
            assert held(api, "instances/" + name)["profiles"] == ["default", prefix + "-profile"]
        files = api.instance_path(prefix + "-db", "files")
        conf = api.get(files, params={"path": "/data/conf/db.ini"}).response
        assert conf.content.decode().startswith("[db]\nrole = primary\n")
        assert conf.headers.get("X-LXD-Mode", conf.headers.get("X-Incus-Mode")) == "0640"
        assert held(api, f"instances/{prefix}-db/snapshots/after-init") is not None
        volume = held(api, f"storage-pools/default/volumes/custom/{prefix}-data")
        assert volume["used_by"] == [f"/1.0/instances/{prefix}-db"]

        code, ret = salt.apply("estate", pillar=pillar)
        assert code == 0
        assert {k: v["changes"] for k, v in ret.items() if v["changes"]} == {}
        assert ready in " ".join(r["comment"] for r in ret.values())  # a no-op run waits too
    finally:
        for name in names:
            lxd.lxc("delete", "--force", name, check=False)
        lxd.lxc("profile", "delete", prefix + "-profile", check=False)
        lxd.lxc("storage", "volume", "delete", "default", prefix + "-data", check=False)
        lxd.lxc("network", "delete", prefix + "-br", check=False)


def test_watch_on_containers_present_restarts_the_running_ones(salt, api, lxd, unique_name):
    running, stopped = unique_name[:50] + "-run", unique_name[:50] + "-stop"
    profile = unique_name[:50] + "-prof"
    try:

        def write(version):
            salt.write(
                "watched_many",
                f"""
                {profile}:
                  lxdapi.profile_present:
                    - config:
                        user.version: "{version}"

                farm:
                  lxdapi.containers_present:
                    - defaults: {{source: busybox, profiles: [default, {profile}]}}
                    - containers:
                        {running}: {{status: Running}}
                        {stopped}: {{status: Stopped}}
                    - watch:
                      - lxdapi: {profile}
                """,
            )

        write("one")
        code, ret = salt.apply("watched_many")  # creates them: no restart on top
        assert code == 0, ret
        assert ret["farm"]["changes"][running]["instance"]["old"] is None
        first = held(api, f"instances/{running}/state")["pid"]

        write("two")
        code, ret = salt.apply("watched_many")
        assert code == 0, ret
        assert ret["farm"]["changes"] == {running: {"restarted": {"old": False, "new": True}}}
        assert f"Restarted {running}" in ret["farm"]["comment"]
        assert held(api, f"instances/{running}/state")["pid"] != first
        assert held(api, "instances/" + stopped)["status"] == "Stopped"

        code, ret = salt.apply("watched_many")
        assert code == 0 and ret["farm"]["changes"] == {}

        # watch on another lxdapi state: a require that runs on changes, nothing more
        salt.write(
            "watched_other",
            f"""
            {profile}:
              lxdapi.profile_present:
                - config:
                    user.version: "three"

            {profile}-motd:
              lxdapi.file_managed:
                - container: {running}
                - name: /root/motd
                - contents: hello
                - watch:
                  - lxdapi: {profile}
            """,
        )
        salt.apply("watched_other")
        salt.write(
            "watched_other", (salt.tree / "watched_other.sls").read_text().replace("three", "four")
        )
        code, ret = salt.apply("watched_other")
        assert code == 0, ret
        motd = ret[profile + "-motd"]
        assert motd["result"] is True and motd["changes"] == {}
        assert "has nothing more to do on watch" in motd["comment"]
    finally:
        for name in (running, stopped):
            lxd.lxc("delete", "--force", name, check=False)
        lxd.lxc("profile", "delete", profile, check=False)
