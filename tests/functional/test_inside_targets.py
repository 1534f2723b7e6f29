"""Targets of Salt inside instances: ``lxdapi.call``, ``lxdapi.grains``, ``lxdapi.sls`` and
``lxdapi.thin_purge`` on a list, a glob or a selector of instances, side by side and
bounded, against real Debian 12 containers (python3, no Salt) on each server.

Four containers for the whole file: ``w1`` and ``w2`` running with ``user.role`` web,
``w3`` stopped with it too, ``db1`` running with ``user.role`` db. The role's value is
unique to this file's run, so other tests' instances on the daemon never match. What the
calls did is read back from the instances through the server (a file there or not), and
the bound on side-by-side runs from times recorded inside the instances and from the
server's own running operations.
"""

import json
import os
import sys
import threading
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from salt_call_support import minion_config_dir  # noqa: E402
from salt_call_support import salt_call as run_salt_call  # noqa: E402


@pytest.fixture(scope="module")
def fleet(lxd, debian_image):
    """``{w1, w2, w3, db1: instance name}`` and the role value: see the module's doc."""
    prefix = "t-tgt-" + uuid.uuid4().hex[:5]
    role = "web-" + prefix
    names = {key: f"{prefix}-{key}" for key in ("w1", "w2", "w3", "db1")}
    try:
        for key, name in names.items():
            value = "db-" + prefix if key == "db1" else role
            verb = "init" if key == "w3" else "launch"
            lxd.lxc(verb, debian_image, name, "-c", f"user.role={value}")
        yield {"prefix": prefix, "role": role, **names}
    finally:
        for name in names.values():
            lxd.lxc("delete", "--force", name, check=False)


def _holds(lxd, name, path):
    """Whether instance ``name`` holds ``path`` (as the server's file API answers)."""
    return lxd.file_text(name, path) is not None


def _reached(lxd, fleet, path):
    return sorted(key for key in ("w1", "w2", "w3", "db1") if _holds(lxd, fleet[key], path))


def _file_writes(request_log):
    return [(m, u) for m, u, _ in request_log if m != "GET" and "/files" in u]


STOPPED = "is Stopped: Salt runs inside a running instance only (start it first)"


def test_a_glob_a_list_and_a_config_selector_reach_exactly_their_instances(
    modules, lxd, fleet, request_log
):
    w1, w2, w3, db1 = (fleet[k] for k in ("w1", "w2", "w3", "db1"))
    mark = "/root/glob-" + uuid.uuid4().hex[:6]
    ret = modules.lxdapi.call(fleet["prefix"] + "-w*", "file.touch", mark)
    assert ret == {w1: True, w2: True, w3: {"error": f"instance {w3!r} {STOPPED}"}}
    assert _reached(lxd, fleet, mark) == ["w1", "w2"]
    ran = {u.split("/instances/")[1].split("/")[0] for u in request_log.execs}
    assert ran == {w1, w2}  # the stopped one: reported, not run

    mark = "/root/list-" + uuid.uuid4().hex[:6]
    missing = fleet["prefix"] + "-nope"
    ret = modules.lxdapi.call([db1, w2, missing], "file.touch", mark)
    assert list(ret) == [db1, w2, missing]  # in the list's order
    assert ret[db1] is True and ret[w2] is True
    assert ret[missing]["error"].startswith(f"instance {missing!r} does not exist on ")
    assert _reached(lxd, fleet, mark) == ["db1", "w2"]

    mark = "/root/role-" + uuid.uuid4().hex[:6]
    ret = modules.lxdapi.call(f"config:user.role:{fleet['role']}", "file.touch", mark)
    assert sorted(ret) == sorted([w1, w2, w3]) and ret[w3] == {
        "error": f"instance {w3!r} {STOPPED}"
    }
    assert _reached(lxd, fleet, mark) == ["w1", "w2"]

    ret = modules.lxdapi.grains(f"config:user.role:{fleet['role']} and status:running", "id")
    assert ret == {w1: {"id": w1}, w2: {"id": w2}}


def test_a_failing_instance_does_not_hide_the_others(modules, lxd, fleet):
    w1, w2, db1 = fleet["w1"], fleet["w2"], fleet["db1"]
    path = "/root/only-in-w1-" + uuid.uuid4().hex[:6]
    lxd.lxc("exec", w1, "--", "sh", "-c", f"echo here > {path}")
    ret = modules.lxdapi.call([w1, w2, db1], "file.read", path)
    assert ret[w1] == "here\n"
    for other in (w2, db1):
        assert ret[other]["error"].startswith(f"file.read in {other!r} failed")
        assert f"No such file or directory: '{path}'" in ret[other]["error"]


def test_sls_on_a_target_predicts_applies_then_changes_and_ships_nothing(
    modules, lxd, fleet, minion_opts, request_log
):
    name = "tgt_" + uuid.uuid4().hex[:6]
    root = minion_opts["file_roots"]["base"][0]
    os.makedirs(os.path.join(root, name))
    with open(os.path.join(root, name, "motd.txt"), "w") as fh:
        fh.write("managed for {{ grains['id'] }}\n")
    with open(os.path.join(root, name, "init.sls"), "w") as fh:
        fh.write(
            f"motd:\n  file.managed:\n    - name: /root/{name}\n"
            f"    - source: salt://{name}/motd.txt\n    - template: jinja\n"
        )
    target = fleet["prefix"] + "-w[12]"
    w1, w2 = fleet["w1"], fleet["w2"]

    predicted = modules.lxdapi.sls(target, name, test=True)
    assert sorted(predicted) == [w1, w2]
    for ret in predicted.values():
        (entry,) = ret.values()
        assert entry["result"] is None and entry["changes"]["newfile"] == f"/root/{name}"
    assert _reached(lxd, fleet, f"/root/{name}") == []  # test mode: nothing in any

    applied = modules.lxdapi.sls(target, name, concurrency=2)
    for instance, ret in applied.items():
        (entry,) = ret.values()
        assert entry["result"] is True and entry["changes"], ret
        assert lxd.file_text(instance, f"/root/{name}") == f"managed for {instance}\n"

    request_log.clear()
    again = modules.lxdapi.sls(target, name)
    for ret in again.values():
        (entry,) = ret.values()
        assert entry["result"] is True and entry["changes"] == {}
    assert _file_writes(request_log) == []  # neither the thin nor the files again
    assert sorted(u.split("/instances/")[1].split("/")[0] for u in request_log.execs) == [
        w1,
        w2,
    ]  # one salt-call in each, nothing else run
    listed = [u for m, u, _ in request_log if u.split("?")[0].endswith("/instances")]
    state_reads = [u for m, u, _ in request_log if u.split("?")[0].endswith("/state")]
    assert (len(listed), state_reads) == (1, [])  # one listing stands for the state reads


def _intervals(ret):
    """``{instance: (start, end)}`` from the two timestamps each printed inside."""
    return {name: tuple(float(t) for t in out.split()) for name, out in ret.items()}


def _most_at_once(intervals):
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def test_no_more_run_at_once_than_concurrency(modules, lxd, fleet, api):
    """Seen from inside (each instance's start and end times) and from the server (its
    running exec operations, polled while the call runs)."""
    names = [fleet["w1"], fleet["w2"], fleet["db1"]]
    modules.lxdapi.call(names, "test.ping")  # the thin is in each: only salt-call runs
    running, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            ops = api.get("operations", params={"recursion": 1}).metadata or {}
            execs = [
                op
                for op in ops.get("running") or []
                if "exec" in str(op.get("description", "")).lower()
                or "command" in str(op.get("description", "")).lower()
            ]
            running.append(len(execs))
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        command = "date +%s.%N; sleep 2; date +%s.%N"
        ret = modules.lxdapi.call(names, "cmd.run", command, python_shell=True, concurrency=2)
    finally:
        stop.set()
        poller.join()
    intervals = _intervals(ret)
    assert sorted(intervals) == sorted(names)
    assert _most_at_once(list(intervals.values())) == 2  # side by side, and never 3
    assert max(running) == 2, running


def test_a_single_name_keeps_todays_return_and_a_list_of_one_is_a_mapping(modules, fleet):
    w1 = fleet["w1"]
    assert modules.lxdapi.call(w1, "test.ping") is True
    assert modules.lxdapi.grains(w1, "id") == {"id": w1}
    assert modules.lxdapi.call([w1], "test.ping") == {w1: True}
    # a project selector: the listing and the call go to that project
    assert modules.lxdapi.call({"project": "default", "name": [w1]}, "test.ping") == {w1: True}


def test_a_target_matching_nothing_or_bad_says_so_and_runs_nothing(modules, fleet, request_log):
    from salt.exceptions import CommandExecutionError, SaltInvocationError

    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.call(fleet["prefix"] + "-zz*", "test.ping")
    text = str(info.value)
    assert text.startswith(f"the target {fleet['prefix']}-zz* matches no instance on ")
    assert fleet["w1"] in text and fleet["db1"] in text  # what the server has
    for bad, words in [
        ("role:web", "unknown selector 'role'"),
        ("status:running and status:stopped", "gives status twice"),
        ({"roles": "web"}, "not roles"),
    ]:
        with pytest.raises(SaltInvocationError, match=words):
            modules.lxdapi.call(bad, "test.ping")
    with pytest.raises(SaltInvocationError, match="give one"):
        modules.lxdapi.call("project:default and t-*", "test.ping", project="other")
    with pytest.raises(SaltInvocationError, match="concurrency must be a whole number"):
        modules.lxdapi.call(fleet["w1"], "test.ping", concurrency=0)
    assert request_log.execs == [] and request_log.writes == []


def test_thin_purge_on_a_target(modules, lxd, fleet):
    w1, w2 = fleet["w1"], fleet["w2"]
    assert modules.lxdapi.call([w1, w2], "test.ping") == {w1: True, w2: True}
    assert modules.lxdapi.thin_purge(f"{w1},{w2}") == {w1: True, w2: True}
    assert not _holds(lxd, w1, "/var/cache/lxdapi") and not _holds(lxd, w2, "/var/cache/lxdapi")
    assert modules.lxdapi.thin_purge([w1, w2]) == {w1: False, w2: False}


def test_salt_call_reads_a_selector_as_a_target(lxd, fleet, tmp_path):
    """``salt-call lxdapi.call 'config:user.role:web' test.ping``: the selector is the
    target, not a keyword argument; the stopped instance makes the retcode non-zero."""
    config_dir = minion_config_dir(tmp_path, lxdapi={"endpoint": lxd.socket})
    proc = run_salt_call(
        config_dir, "lxdapi.call", f"config:user.role:{fleet['role']}", "test.ping", timeout=600
    )
    ret = json.loads(proc.stdout)["local"]
    w1, w2, w3 = fleet["w1"], fleet["w2"], fleet["w3"]
    assert ret == {w1: True, w2: True, w3: {"error": f"instance {w3!r} {STOPPED}"}}
    assert proc.returncode != 0
    assert f"1 of 3 instances failed: {w3}: instance {w3!r} is Stopped" in proc.stderr

    proc = run_salt_call(
        config_dir,
        "lxdapi.call",
        f"config:user.role:{fleet['role']} and status:running",
        "test.ping",
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["local"] == {w1: True, w2: True}
