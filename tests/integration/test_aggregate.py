"""Aggregation (``aggregate: True`` or the minion's ``state_aggregate``): the
``container_present`` states of one ``salt-call`` run converged together, their LXD
operations side by side, each state keeping its own ret; counted by a proxy on the socket
(what a Salt process sends cannot be seen from the test's own core)."""

import datetime
import json
import subprocess
import textwrap

import pytest
from counting_proxy import CountingProxy

from conftest import core
from salt_call_support import ROOT, SALT_CALL, minion_config_dir
from salt_call_support import salt_call as run_salt_call

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(tmp_path, lxd):
    counting = CountingProxy(str(tmp_path / "count.socket"), lxd.socket)
    yield counting
    counting.close()


def salt_call(tmp_path, endpoint, sls, text, test=False, aggregate_option=None, options=None):
    """``salt-call --local state.apply sls`` (``text``: its SLS) with the minion's
    endpoint at ``endpoint`` (and the other ``lxdapi:`` ``options``); ``{state id:
    ret}``."""
    tree = tmp_path / "tree"
    tree.mkdir(exist_ok=True)
    conf = minion_config_dir(
        tmp_path,
        file_roots={"base": [str(tree)]},
        lxdapi=dict(options or {}, endpoint=endpoint),
        state_aggregate=aggregate_option,
    )
    (tree / (sls + ".sls")).write_text(textwrap.dedent(text))
    proc = run_salt_call(conf, "state.apply", sls, *(["test=True"] if test else []), timeout=300)
    try:
        data = json.loads(proc.stdout)["local"]
    except (ValueError, KeyError):
        raise AssertionError(f"no state results:\n{proc.stdout}\n{proc.stderr}") from None
    return {v.get("__id__", k): v for k, v in data.items()}


def when(text):
    """A server timestamp (``2026-12-01T12:00:00.123456789Z``) as a datetime."""
    text = text.rstrip("Z")
    head, _, frac = text.partition(".")
    return datetime.datetime.fromisoformat(head + "." + (frac + "000000")[:6])


def sls_for(prefix, names, aggregate=True, extra=""):
    text = f"""
    {prefix}-prof:
      lxdapi.profile_present:
        - config: {{user.marker: "1"}}
    """
    for i, name in enumerate(names):
        text += """
    {name}:
      lxdapi.container_present:
        - source: busybox
        - status: Running
        - profiles: [default, {prefix}-prof]
        - config: {{user.index: "{i}"}}
        {agg}- require:
          - lxdapi: {prefix}-prof
    """.format(
            name=name, prefix=prefix, i=i, agg="- aggregate: True\n        " if aggregate else ""
        )
    return text + extra


def cleanup(lxd, names, prefix):
    for name in names:
        lxd.lxc("delete", "--force", name, check=False)
    lxd.lxc("profile", "delete", prefix + "-prof", check=False)


def test_aggregated_states_create_side_by_side_each_with_its_own_ret(
    tmp_path, lxd, api, proxy, unique_name
):
    prefix = unique_name[:40]
    names = [f"{prefix}-{i}" for i in range(5)]
    bad, guarded = prefix + "-bad", prefix + "-guard"
    extra = f"""
    {bad}:
      lxdapi.container_present:
        - source: no-such-image
        - aggregate: True
    {guarded}:
      lxdapi.container_present:
        - source: busybox
        - aggregate: True
        - onchanges:
          - lxdapi: {prefix}-prof
    """
    text = sls_for(prefix, names, extra=extra)
    lxd.lxc("profile", "create", prefix + "-prof")  # so that test mode can predict
    lxd.lxc("profile", "set", prefix + "-prof", "user.marker", "1")
    try:
        # Test mode: every state predicted on its own, nothing written.
        ret = salt_call(tmp_path, proxy.path, "agg", text, test=True)
        assert proxy.writes() == []
        for name in names:
            assert ret[name]["result"] is None, ret[name]
            assert set(ret[name]["changes"]) == {"instance", "status"}
            assert ret[name]["changes"]["instance"]["new"]["name"] == name
        assert ret[bad]["result"] is False and "no-such-image" in ret[bad]["comment"]
        assert core.get_or_none(api, api.instance_path(names[0])) is None

        proxy.reset()
        ret = salt_call(tmp_path, proxy.path, "agg", text)
        for name in names:
            assert ret[name]["result"] is True, ret[name]
            assert ret[name]["comment"] == f"Container {name} created."
            assert ret[name]["changes"]["instance"]["new"]["name"] == name  # its own
            assert ret[name]["changes"]["status"] == {"old": None, "new": "Running"}
        # A failing container fails its own state only; one with a condition of its own
        # (onchanges) is not aggregated and runs at its turn, as Salt decides.
        assert ret[bad]["result"] is False and "no-such-image" in ret[bad]["comment"]
        assert ret[guarded]["result"] is True and not ret[guarded]["changes"]  # no onchanges
        held = {i["name"]: i for i in api.get("instances", params={"recursion": 1}).metadata or []}
        for i, name in enumerate(names):
            assert held[name]["status"] == "Running"
            assert held[name]["config"]["user.index"] == str(i)
            assert held[name]["profiles"] == ["default", prefix + "-prof"]
        # Side by side: every creation happened before any of them was started.
        created = max(when(held[n]["created_at"]) for n in names)
        started = min(when(held[n]["last_used_at"]) for n in names)
        assert created < started, (created, started)
        creates = [
            t for m, t in proxy.writes() if m == "POST" and t.split("?")[0].endswith("/instances")
        ]
        assert len(creates) == len(names)  # the bad one is refused before anything is sent
        # Their operations overlapped: every creation was sent before the first wait.
        sent = list(proxy.requests)
        posts = [i for i, (m, t) in enumerate(sent) if m == "POST" and "/instances" in t]
        waits = [i for i, (m, t) in enumerate(sent) if t.split("?")[0].endswith("/wait")]
        assert max(posts[: len(names)]) < min(waits), sent

        # Again: no changes, no write at all.
        proxy.reset()
        ret = salt_call(tmp_path, proxy.path, "agg", text)
        assert {k: v["changes"] for k, v in ret.items() if v["changes"]} == {}
        for name in names:
            assert ret[name]["result"] is True
            assert ret[name]["comment"] == f"Container {name} is already as declared."
        assert proxy.writes() == []
    finally:
        cleanup(lxd, names + [bad, guarded], prefix)


def test_state_aggregate_in_the_minion_config_turns_it_on(tmp_path, lxd, api, unique_name):
    prefix = unique_name[:40]
    names = [f"{prefix}-{i}" for i in range(3)]
    text = sls_for(prefix, names, aggregate=False)
    try:
        ret = salt_call(tmp_path, lxd.socket, "agg", text, aggregate_option=["lxdapi"])
        assert all(ret[n]["result"] is True for n in names), ret
        held = {i["name"]: i for i in api.get("instances", params={"recursion": 1}).metadata}
        created = max(when(held[n]["created_at"]) for n in names)
        started = min(when(held[n]["last_used_at"]) for n in names)
        assert created < started
    finally:
        cleanup(lxd, names, prefix)


def test_without_aggregation_the_states_run_one_by_one(tmp_path, lxd, api, unique_name):
    prefix = unique_name[:40]
    names = [f"{prefix}-{i}" for i in range(3)]
    try:
        ret = salt_call(tmp_path, lxd.socket, "agg", sls_for(prefix, names, aggregate=False))
        assert all(ret[n]["result"] is True for n in names), ret
        held = {i["name"]: i for i in api.get("instances", params={"recursion": 1}).metadata}
        # The first was started before the last was created: one after the other.
        first_started = when(held[names[0]]["last_used_at"])
        assert first_started < when(held[names[-1]]["created_at"])
    finally:
        cleanup(lxd, names, prefix)


def test_two_salt_runs_converging_the_same_containers_at_once_both_succeed(
    tmp_path, lxd, api, unique_name
):
    """Two minions (two configs, one daemon) apply the same 10 containers at the same
    moment: every state of both runs is result True, the server holds what was
    declared, and a third run changes nothing."""
    prefix = unique_name[:40]
    names = [f"{prefix}-{i}" for i in range(10)]
    lxd.lxc("profile", "create", prefix + "-prof")
    text = sls_for(prefix, names)
    runs = []
    try:
        for which in ("a", "b"):
            folder = tmp_path / which
            folder.mkdir()
            runs.append(folder)
        procs = []
        for folder in runs:  # both started before either ends
            procs.append(_start_salt_call(folder, lxd.socket, "agg", text))
        results = [_finish(proc) for proc in procs]
        for ret in results:
            for name in names:
                assert ret[name]["result"] is True, ret[name]["comment"]
        held = {i["name"]: i for i in api.get("instances", params={"recursion": 1}).metadata or []}
        for i, name in enumerate(names):
            assert held[name]["status"] == "Running"
            assert held[name]["config"]["user.index"] == str(i)
            assert held[name]["profiles"] == ["default", prefix + "-prof"]
        # Each container was created once, by one of the runs; the other one reports
        # what it found (or converged) without failing.
        created = [
            name
            for name in names
            for ret in results
            if ret[name]["changes"].get("instance", {}).get("old", "x") is None
        ]
        assert sorted(created) == sorted(names)

        ret = salt_call(runs[0], lxd.socket, "agg", text)
        assert {k: v["changes"] for k, v in ret.items() if v["changes"]} == {}
    finally:
        cleanup(lxd, names, prefix)


def _start_salt_call(tmp_path, endpoint, sls, text):
    tree = tmp_path / "tree"
    tree.mkdir(exist_ok=True)
    conf = minion_config_dir(
        tmp_path, file_roots={"base": [str(tree)]}, lxdapi={"endpoint": endpoint}
    )
    (tree / (sls + ".sls")).write_text(textwrap.dedent(text))
    args = [SALT_CALL, "--local", "-c", conf, "--out=json", "state.apply", sls]
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )


def _finish(proc):
    out, err = proc.communicate(timeout=300)
    try:
        data = json.loads(out)["local"]
    except (ValueError, KeyError):
        raise AssertionError(f"no state results:\n{out}\n{err}") from None
    return {v.get("__id__", k): v for k, v in data.items()}


def test_parallel_states_still_work(tmp_path, lxd, api, unique_name):
    """``parallel: True`` (Salt runs each state in its own process) is left to Salt."""
    prefix = unique_name[:40]
    names = [f"{prefix}-{i}" for i in range(3)]
    text = ""
    for name in names:
        text += f"""
    {name}:
      lxdapi.container_present:
        - source: busybox
        - status: Running
        - config: {{user.p: "1"}}
        - parallel: True
    """
    try:
        ret = salt_call(tmp_path, lxd.socket, "par", text)
        for name in names:
            assert ret[name]["result"] is True, ret[name]["comment"]
            assert ret[name]["changes"]["status"]["new"] == "Running"
        held = {i["name"]: i for i in api.get("instances", params={"recursion": 1}).metadata}
        assert all(held[n]["status"] == "Running" for n in names)
        ret = salt_call(tmp_path, lxd.socket, "par", text)
        assert {k: v["changes"] for k, v in ret.items() if v["changes"]} == {}
    finally:
        for name in names:
            lxd.lxc("delete", "--force", name, check=False)
