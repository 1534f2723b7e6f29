"""Aggregated ``lxdapi.sls_applied`` states (issue 25): several in one state run (Salt's
own state run, ``state.high``, with ``aggregate: True``) run their inner salt-calls side
by side, each reporting its own instance's changes; against real Debian 12 containers
(python3, no Salt) on each server.

That they ran side by side is seen from inside the instances: each inner run writes the
start and end of a sleep in a file there, read back through the server; the intervals
overlap, and with ``concurrency: 1`` they do not.
"""

import ast
import os
import uuid

import pytest

#: Seconds each inner run sleeps between its two timestamps: longer than the host's
#: staggering of the runs' starts (their compiles share the host's Python).
SLEEP = 3

STAMP_SLS = f"""\
stamp:
  cmd.run:
    - name: >-
        python3 -c "import time; s = time.time(); time.sleep({SLEEP});
        open('{{{{ pillar['stamp'] }}}}', 'w').write('%f %f' % (s, time.time()))"
    - creates: {{{{ pillar['stamp'] }}}}

tag:
  file.managed:
    - name: {{{{ pillar['stamp'] }}}}.tag
    - contents: {{{{ pillar['tag'] }}}}
"""

BROKEN_SLS = """\
made:
  file.managed:
    - name: {{ pillar['stamp'] }}.made
    - contents: ok

broken:
  cmd.run:
    - name: "echo no such luck >&2; exit 4"
"""


@pytest.fixture(scope="module")
def guests(lxd, debian_image):
    """Three running Debian containers, shared by this module's tests."""
    names = [f"t-sagg-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    for name in names:
        lxd.lxc("launch", debian_image, name)
    yield names
    for name in names:
        lxd.lxc("delete", "--force", name, check=False)


@pytest.fixture
def sls(minion_opts):
    """Writes an SLS file in the host's file_roots; returns its name."""

    def write(text):
        name = "sagg_" + uuid.uuid4().hex[:8]
        path = os.path.join(minion_opts["file_roots"]["base"][0], name + ".sls")
        with open(path, "w") as fh:
            fh.write(text)
        return name

    return write


def high_data(members, **common):
    """The high data of one sls_applied state per member (``{state id: arguments}``),
    each aggregated, with ``common`` arguments."""
    return {
        sid: {
            "lxdapi": ["sls_applied", dict(args, aggregate=True, **common)],
            "__sls__": "sagg",
            "__env__": "base",
        }
        for sid, args in members.items()
    }


def run(modules, high, test=False):
    """``state.high`` of ``high``: ``{state id: ret}``."""
    result = modules.state.high(high, test=test)
    raw = result.raw if hasattr(result, "raw") else result
    assert isinstance(raw, dict), raw
    return {ret["__id__"]: ret for ret in raw.values()}


def interval(lxd, guest, path):
    """The (start, end) an inner run wrote in ``path`` in ``guest``."""
    text = lxd.file_text(guest, path)
    assert text, f"no stamp at {path} in {guest}"
    start, end = (float(word) for word in text.split())
    return start, end


def execs_by_instance(request_log, names):
    return {n: sum(f"/instances/{n}/exec" in u for u in request_log.execs) for n in names}


def file_writes(request_log):
    return [(m, u) for m, u, _ in request_log if m != "GET" and "/files" in u]


def test_the_states_run_side_by_side_each_with_its_own_ret(
    modules, lxd, guests, sls, request_log, unique_name
):
    stamp_sls = sls(STAMP_SLS)
    stamps = {g: f"/root/stamp-{uuid.uuid4().hex[:6]}" for g in guests}
    ghost = unique_name  # no such instance: its state fails alone
    members = {
        f"apply-{g}": {
            "container": g,
            "mods": stamp_sls,
            "pillar": {"stamp": stamps[g], "tag": f"tag of {g}"},
        }
        for g in guests
    }
    members["apply-ghost"] = {"container": ghost, "mods": stamp_sls, "pillar": {"stamp": "/x"}}
    high = high_data(members, concurrency=len(guests))

    # Test mode: every member's own predictions, nothing written inside.
    ret = run(modules, high, test=True)
    for g in guests:
        own = ret[f"apply-{g}"]
        assert own["result"] is None, own["comment"]
        assert sorted(own["changes"]) == ["stamp", "tag"]
        assert own["changes"]["tag"]["newfile"] == stamps[g] + ".tag"  # its own pillar
        assert own["comment"].startswith(f"Would have changed 2 of 2 states in {g!r}")
        assert lxd.file_text(g, stamps[g]) is None
        assert lxd.file_text(g, stamps[g] + ".tag") is None
    assert ret["apply-ghost"]["result"] is None  # an earlier state may create it
    assert "which does not exist now" in ret["apply-ghost"]["comment"]

    ret = run(modules, high)
    for g in guests:
        own = ret[f"apply-{g}"]
        assert own["result"] is True, own["comment"]
        assert sorted(own["changes"]) == ["stamp", "tag"]
        assert own["changes"]["tag"]["diff"] == "New file"
        assert own["comment"] == f"Changed 2 of 2 states in {g!r}: stamp, tag."
        assert lxd.file_text(g, stamps[g] + ".tag") == f"tag of {g}\n"
    ghost_ret = ret["apply-ghost"]
    assert ghost_ret["result"] is False and ghost_ret["changes"] == {}
    assert ghost_ret["comment"] == (
        f"cannot apply {stamp_sls} in {ghost!r}: it does not exist, not Running"
    )
    # Side by side, as the instances saw it: every run started before any ended.
    spans = [interval(lxd, g, stamps[g]) for g in guests]
    assert max(s for s, _ in spans) < min(e for _, e in spans), spans

    # Again: nothing changes, nothing is shipped, one exec (the test run) per instance.
    request_log.clear()
    ret = run(modules, high)
    for g in guests:
        own = ret[f"apply-{g}"]
        assert own["result"] is True and own["changes"] == {}, own
        assert own["comment"] == f"All 2 states in {g!r} are as declared."
    assert ret["apply-ghost"]["result"] is False
    assert file_writes(request_log) == []
    assert execs_by_instance(request_log, guests) == {g: 1 for g in guests}, list(request_log)
    assert len(request_log.execs) == len(guests)
    assert not [r for r in request_log if r[0] in ("PUT", "PATCH")]
    assert [interval(lxd, g, stamps[g]) for g in guests] == spans  # not run again


def test_with_concurrency_1_they_run_one_after_the_other_and_a_failure_fails_alone(
    modules, lxd, guests, sls
):
    stamp_sls, broken_sls = sls(STAMP_SLS), sls(BROKEN_SLS)
    stamps = {g: f"/root/stamp-{uuid.uuid4().hex[:6]}" for g in guests}
    members = {
        f"apply-{g}": {"container": g, "mods": stamp_sls, "pillar": {"stamp": stamps[g], "tag": g}}
        for g in guests
    }
    broken = guests[1]
    members[f"apply-{broken}"]["mods"] = f"{stamp_sls},{broken_sls}"
    ret = run(modules, high_data(members, concurrency=1))

    for g in (guests[0], guests[2]):
        own = ret[f"apply-{g}"]
        assert own["result"] is True, own["comment"]
        assert sorted(own["changes"]) == ["stamp", "tag"]
    failed = ret[f"apply-{broken}"]
    assert failed["result"] is False
    assert failed["comment"].startswith(f"1 of 4 states failed in {broken!r}: broken: ")
    assert sorted(failed["changes"]) == ["broken", "made", "stamp", "tag"]  # it ran
    assert failed["changes"]["broken"]["retcode"] == 4
    assert lxd.file_text(broken, stamps[broken] + ".made") == "ok\n"
    # One after the other: each run ended before the next began.
    spans = sorted(interval(lxd, g, stamps[g]) for g in guests)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), spans


def test_two_states_on_one_instance_are_not_run_at_once(modules, lxd, guests, sls):
    """A second sls_applied on the same instance stays out of the aggregate (two
    salt-calls in one instance at once would find each other running): both apply."""
    stamp_sls = sls(STAMP_SLS)
    guest = guests[0]
    stamps = [f"/root/stamp-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    members = {
        f"apply-{i}": {"container": guest, "mods": stamp_sls, "pillar": {"stamp": s, "tag": s}}
        for i, s in enumerate(stamps)
    }
    ret = run(modules, high_data(members, concurrency=4))
    assert [ret[f"apply-{i}"]["result"] for i in range(2)] == [True, True], ret
    (a_start, a_end), (b_start, b_end) = sorted(interval(lxd, guest, s) for s in stamps)
    assert a_end <= b_start


def test_bad_concurrency_fails_the_state_before_anything_runs(states, guests, request_log):
    ret = states.lxdapi.sls_applied("x", container=guests[0], concurrency=0)
    assert ret.result is False and ret.changes == {}
    assert ret.comment == "x: concurrency must be a whole number of 1 or more, not 0"
    assert request_log.execs == [] and request_log.writes == []


def test_the_aggregated_arguments_are_the_states_own():
    """What mod_aggregate passes on to each member is sls_applied's own arguments."""
    import lxdapi_inside
    from conftest import ROOT

    with open(os.path.join(ROOT, "_states", "lxdapi_inside.py")) as fh:
        tree = ast.parse(fh.read())
    (state,) = [n for n in tree.body if getattr(n, "name", None) == "sls_applied"]
    params = [a.arg for a in state.args.args]
    assert params[0] == "name"
    assert tuple(params[1:]) == lxdapi_inside.SLS_APPLIED_ARGUMENTS


def test_converge_sls_each_applies_only_predicted_changes_and_keeps_failures_apart():
    """The core's part alone (no server): each member planned, those that predict
    changes applied ahead; a member whose planning or run fails has its own outcome."""
    import lxdapi_inside

    class API:
        def instance_path(self, name, *parts):
            return "/".join(["instances", name, *parts])

    def entry(changes=None, result=True):
        return {"__id__": "s", "result": result, "changes": changes or {}}

    applied = []

    def runner(name, test_ret, real_ret):
        def run(test):
            if not test:
                applied.append(name)
            return {"cmd_|-s_|-s_|-run": test_ret if test else real_ret}

        return run

    api = API()
    runs = {
        "changes": runner("changes", entry(result=None), entry({"retcode": 0})),
        "same": runner("same", entry(), entry()),
        "broken": runner("broken", entry(result=None), entry({"retcode": 4}, result=False)),
    }
    members = {
        name: (lambda run=run, name=name: lxdapi_inside.plan_sls_applied(api, name, run))
        for name, run in runs.items()
    }

    def bad():
        raise ValueError("mods must name one SLS or more, not []")

    members["bad"] = bad
    outcomes = lxdapi_inside.converge_sls_each(api, members, concurrency=2)
    assert list(outcomes) == ["changes", "same", "broken", "bad"]
    assert sorted(applied) == ["broken", "changes"]  # not "same": nothing predicted
    assert outcomes["changes"].apply(api) is True and outcomes["changes"].changes == {
        "s": {"retcode": 0}
    }
    assert outcomes["same"].writes == []
    with pytest.raises(lxdapi_inside.SaltCallFailed, match="1 of 1 states failed in 'broken'"):
        outcomes["broken"].apply(api)
    assert outcomes["broken"].applied_changes() == {"s": {"retcode": 4}}
    assert isinstance(outcomes["bad"], ValueError)
    assert applied.count("changes") == 1  # apply at the state's turn sends nothing more

    applied.clear()
    predicted = lxdapi_inside.converge_sls_each(api, members, apply=False)
    assert applied == [] and predicted["changes"].changes == {"s": {"comment": ""}}
