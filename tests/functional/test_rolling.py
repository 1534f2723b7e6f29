"""Rolling restarts (``rolling``) against the real daemon: ``containers_present``, the
restart of its ``watch`` and an aggregate of ``container_present`` states restart a
batch at a time, each batch ready before the next; never more than the batch down at
once (seen from the server: the instances' status polled during the run, and their start
times batch after batch); the first failure leaves the later batches untouched, reported
as not done; test mode lists the batches and restarts nothing; a second run changes
nothing; bad input is refused before anything is written."""

import datetime
import json
import os
import sys
import textwrap
import threading
import time

import pytest

import lxdapi_batch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "integration"))
from salt_call_support import minion_config_dir  # noqa: E402
from salt_call_support import salt_call as run_salt_call  # noqa: E402

#: A key that applies only at a restart (so ``restart_on_change`` restarts).
KEY = "limits.kernel.nofile"
#: Seconds a clean stop may take: busybox's init stops in a second or two, but a loaded
#: CI machine has seen one take over 30 s (the default).
STOP_TIMEOUT = 90


@pytest.fixture
def five(lxd, api, unique_name):
    """Five busybox containers, running, with ``KEY`` at 1024; deleted at teardown."""
    names = [f"{unique_name[:50]}-{i}" for i in range(5)]
    lxdapi_batch.create_instances(
        api,
        [{"name": n, "source": "busybox", "config": {KEY: "1024"}} for n in names],
        start=True,
    )
    yield names
    lxd.lxc("delete", "--force", *names, check=False)


def when(text):
    """A server timestamp (``2026-12-01T12:00:00.123456789Z``) as a datetime."""
    text = text.rstrip("Z")
    head, _, frac = text.partition(".")
    return datetime.datetime.fromisoformat(head + "." + (frac + "000000")[:6])


def held(api, names):
    """``{name: instance}`` of ``names`` as the server holds them now."""
    items = api.get("instances", params={"recursion": 1}).metadata or []
    return {i["name"]: i for i in items if i["name"] in names}


class DownWatch:
    """Polls the instances' status from a thread while a run goes: ``peak`` is the most
    of ``names`` seen not Running at once, ``samples`` how many polls were made."""

    def __init__(self, api, names):
        self.api, self.names = api, set(names)
        self.peak, self.samples, self.seen_down = 0, 0, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            items = self.api.get("instances", params={"recursion": 1}).metadata or []
            down = {i["name"] for i in items if i["name"] in self.names} - {
                i["name"] for i in items if i.get("status") == "Running"
            }
            self.seen_down |= down
            self.peak = max(self.peak, len(down))
            self.samples += 1
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def started_in_batches(before, after, batches):
    """True when every instance of each batch was started (``last_used_at``) after every
    instance of the batch before it, and each was restarted (a later start than
    ``before``)."""
    times = {n: when(after[n]["last_used_at"]) for n in after}
    assert all(times[n] > when(before[n]["last_used_at"]) for b in batches for n in b), times
    return all(
        min(times[n] for n in later) > max(times[n] for n in earlier)
        for earlier, later in zip(batches, batches[1:])
    )


def declared(names, nofile, **rolling):
    return dict(
        defaults={
            "source": "busybox",
            "status": "Running",
            "restart_on_change": True,
            "timeout": STOP_TIMEOUT,
            "config": {KEY: str(nofile)},
        },
        containers=names,
        rolling=rolling or None,
    )


def test_containers_present_restarts_a_batch_at_a_time(states, api, five, request_log):
    names = five
    batches = [names[0:2], names[2:4], names[4:]]
    before = held(api, names)

    predicted = states.lxdapi.containers_present(
        "farm", test=True, **declared(names, 2048, batch=2)
    )
    assert predicted.result is None, predicted.comment
    assert predicted.changes[names[2]]["batch"] == {"old": None, "new": "2 of 3"}
    assert predicted.changes[names[4]]["restarted"] == {"old": False, "new": True}
    assert "Rolling restart of 5 in batches of 2 (3 batch(es))" in predicted.comment
    assert "1: {}, {}; 2: {}, {}; 3: {}.".format(*names) in predicted.comment
    assert request_log.writes == []
    assert held(api, names) == before  # nothing restarted, nothing changed

    with DownWatch(api, names) as watch:
        ret = states.lxdapi.containers_present("farm", **declared(names, 2048, batch=2))
    assert ret.result is True, ret.comment
    assert ret.changes == predicted.changes
    assert "Batch 1 ({}, {}) ready. Batch 2 ({}, {}) ready. Batch 3 ({}) ready.".format(*names) in (
        ret.comment
    )
    after = held(api, names)
    assert all(after[n]["status"] == "Running" and after[n]["config"][KEY] == "2048" for n in names)
    assert started_in_batches(before, after, batches)
    assert watch.samples > 10 and watch.peak <= 2, (watch.samples, watch.peak)

    request_log.clear()
    again = states.lxdapi.containers_present("farm", **declared(names, 2048, batch=2))
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []
    assert held(api, names) == after  # nothing restarted


def test_without_rolling_all_restart_at_once(states, api, five):
    """The contrast that makes the test above able to fail: without ``rolling`` the
    restarts overlap (not one batch after another)."""
    before = held(api, five)
    ret = states.lxdapi.containers_present("farm", **declared(five, 4096))
    assert ret.result is True, ret.comment
    assert not started_in_batches(before, held(api, five), [five[0:2], five[2:4], five[4:]])


def test_the_first_failure_stops_the_roll_and_the_rest_is_not_done(states, api, lxd, five):
    names = five
    for name in names[:2] + names[3:]:  # the third never gets ready
        lxd.lxc("exec", name, "--", "sh", "-c", "echo ok > /ready")
    before = held(api, names)
    ret = states.lxdapi.containers_present(
        "farm",
        **declared(names, 2048, batch=2, wait_for={"exec": ["cat", "/ready"], "timeout": 3}),
    )
    assert ret.result is False
    assert ret.comment.startswith(f"1 of 5 container(s) failed: {names[2]}: timed out after ")
    assert f"not done (the rolling restart stopped at {names[2]}'s failure): {names[4]}" in (
        ret.comment
    )
    assert sorted(ret.changes) == sorted(names[:4])  # the failed one was restarted
    after = held(api, names)
    assert after[names[4]] == before[names[4]]  # untouched: its config, its start time
    assert after[names[4]]["config"][KEY] == "1024"
    assert all(after[n]["config"][KEY] == "2048" for n in names[:4])
    assert started_in_batches(before, {n: after[n] for n in names[:4]}, [names[:2], names[2:4]])


BAD = [
    ({"batch": 0}, "rolling: batch must be a whole number of 1 or more, or a percentage"),
    ({"batch": "150%"}, "above 0% and up to 100% (such as '25%'), not '150%'"),
    ({"batch": 2, "wait": 3}, "rolling: unknown key(s) wait; it takes batch, wait_for"),
    ({"wait_for": {"exec": []}}, "rolling: wait_for: exec must be a non-empty list"),
    ({"stop_on_failure": "no"}, "rolling: stop_on_failure must be true or false"),
    (2, "rolling must be a mapping of batch, wait_for, stop_on_failure"),
]


def test_bad_rolling_is_refused_before_anything_is_written(states, api, five, request_log):
    before = held(api, five)
    request_log.clear()
    for rolling, words in BAD:
        for how in ("containers_present", "watch"):
            if how == "watch":
                ret = states.lxdapi.mod_watch(
                    "farm", sfun="containers_present", containers=five, rolling=rolling
                )
            else:
                ret = states.lxdapi.containers_present(
                    "farm", **dict(declared(five, 2048), rolling=rolling)
                )
            assert ret.result is False and words in ret.comment, (how, ret.comment)
            assert ret.changes == {}
    for where, kwargs in (
        ("defaults", dict(containers=five, defaults={"rolling": {"batch": 1}})),
        (f"container {five[1]}", dict(containers={five[0]: {}, five[1]: {"rolling": {}}})),
    ):
        ret = states.lxdapi.containers_present("farm", **kwargs)
        assert ret.result is False, ret.comment
        assert f"{where}: rolling is an argument of the state" in ret.comment
    assert request_log.writes == [] and request_log.count() == 0  # not even a read
    assert held(api, five) == before


# ------------------------------------------------------------------ real state runs


def salt_call(tmp_path, socket, text, test=False):
    """``salt-call --local state.apply roll`` of ``text`` against ``socket``: ``{id:
    ret}``."""
    tree = tmp_path / "tree"
    tree.mkdir(exist_ok=True)
    conf = minion_config_dir(
        tmp_path, file_roots={"base": [str(tree)]}, lxdapi={"endpoint": socket}
    )
    (tree / "roll.sls").write_text(textwrap.dedent(text))
    proc = run_salt_call(conf, "state.apply", "roll", *(["test=True"] if test else []), timeout=300)
    try:
        data = json.loads(proc.stdout)["local"]
    except (ValueError, KeyError):
        raise AssertionError(f"no state results:\n{proc.stdout}\n{proc.stderr}") from None
    return {v.get("__id__", k): v for k, v in data.items()}


def aggregate_sls(names, nofile, rolling):
    text = ""
    for name in names:
        text += f"""
    {name}:
      lxdapi.container_present:
        - source: busybox
        - status: Running
        - restart_on_change: True
        - timeout: {STOP_TIMEOUT}
        - config: {{{KEY}: "{nofile}"}}
        - aggregate: True
        - rolling: {json.dumps(rolling)}
    """
    return text


def test_aggregated_states_roll_a_batch_at_a_time(tmp_path, lxd, api, five):
    names = five[:4]
    batches = [names[:2], names[2:]]
    before = held(api, names)

    ret = salt_call(tmp_path, lxd.socket, aggregate_sls(names, 2048, {"batch": 2}), test=True)
    for k, name in enumerate(names):
        assert ret[name]["result"] is None, ret[name]
        assert ret[name]["changes"]["batch"] == {"old": None, "new": f"{k // 2 + 1} of 2"}
        assert f"batch {k // 2 + 1} of 2 ({', '.join(batches[k // 2])})" in ret[name]["comment"]
    assert held(api, names) == before

    with DownWatch(api, names) as watch:
        ret = salt_call(tmp_path, lxd.socket, aggregate_sls(names, 2048, {"batch": 2}))
    for name in names:
        assert ret[name]["result"] is True, ret[name]
        assert ret[name]["changes"]["restarted"] == {"old": False, "new": True}
    after = held(api, names)
    assert all(after[n]["config"][KEY] == "2048" for n in names)
    assert started_in_batches(before, after, batches)
    assert watch.samples > 10 and watch.peak <= 2, (watch.samples, watch.peak)

    ret = salt_call(tmp_path, lxd.socket, aggregate_sls(names, 2048, {"batch": 2}))
    assert all(ret[n]["result"] is True and not ret[n]["changes"] for n in names), ret
    assert held(api, names) == after  # no restart, no write

    # Bad input: every state of the aggregate fails, nothing is written.
    ret = salt_call(tmp_path, lxd.socket, aggregate_sls(names, 4096, {"batch": 0}))
    for name in names:
        assert ret[name]["result"] is False
        assert "rolling: batch must be a whole number of 1 or more" in ret[name]["comment"]
    assert held(api, names) == after

    # A failure: the second never gets ready; the states not reached fail as not done,
    # their containers untouched.
    lxd.lxc("exec", names[0], "--", "sh", "-c", "echo ok > /ready")
    gate = {"batch": 1, "wait_for": {"exec": ["cat", "/ready"], "timeout": 3}}
    ret = salt_call(tmp_path, lxd.socket, aggregate_sls(names, 4096, gate))
    assert ret[names[0]]["result"] is True, ret[names[0]]
    assert ret[names[1]]["result"] is False
    assert "timed out after" in ret[names[1]]["comment"], ret[names[1]]["comment"]
    for name in names[2:]:
        assert ret[name]["result"] is False and ret[name]["changes"] == {}
        assert (
            f"not done: the rolling restart stopped at the failure of {names[1]}"
            in ret[name]["comment"]
        ), ret[name]["comment"]
    final = held(api, names)
    assert [final[n]["config"][KEY] for n in names] == ["4096", "4096", "2048", "2048"]
    assert all(final[n] == after[n] for n in names[2:])  # not even their config


def test_a_watch_restarts_a_batch_at_a_time(tmp_path, lxd, api, five):
    names = five
    batches = [names[0:2], names[2:4], names[4:]]
    text = f"""
    changed:
      test.succeed_with_changes: []

    farm:
      lxdapi.containers_present:
        - defaults: {{source: busybox, status: Running, timeout: {STOP_TIMEOUT}}}
        - containers: {json.dumps(names)}
        - rolling: {{batch: 2, wait_for: {{exec: [cat, /etc/passwd], timeout: 10}}}}
        - watch:
          - test: changed
    """
    before = held(api, names)
    with DownWatch(api, names) as watch:
        ret = salt_call(tmp_path, lxd.socket, text)
    assert ret["farm"]["result"] is True, ret["farm"]
    assert "Rolling restart of 5 in batches of 2 (3 batch(es))" in ret["farm"]["comment"]
    assert ret["farm"]["changes"][names[4]]["batch"] == {"old": None, "new": "3 of 3"}
    after = held(api, names)
    assert started_in_batches(before, after, batches)
    assert watch.samples > 10 and watch.peak <= 2, (watch.samples, watch.peak)
