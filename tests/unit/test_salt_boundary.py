"""The Salt boundary with plain objects: the one ret shape of ``converge`` in every case,
and aggregation's choice of the states that join (no Salt run, no server).

The boundary reads its dunders from a plain dict, as it reads a Salt file's globals; a
plan is a small object with what ``converge`` uses of one (``writes``, ``changes``,
``notes``, ``waits``, ``apply``, ``applied_changes``). The API it builds names a file
that is never opened as a socket: these plans send nothing.
"""

import logging

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi_salt  # noqa: E402,I001 - loaded with the core by conftest
from conftest import core


class FakePlan:
    def __init__(self, changes=None, notes=(), waits=(), fails_with=None, made=None):
        self.changes = dict(changes or {})
        self.writes = ["a write"] if self.changes else []
        self.notes = list(notes)
        self.waits = list(waits)
        self.fails_with = fails_with
        self.made = made or {}
        self.applied = False

    def apply(self, api):
        if self.fails_with is not None:
            raise self.fails_with
        self.applied = True

    def applied_changes(self):
        return self.made


class FakeWait:
    def __init__(self, found=None, error=None):
        self.found, self.error = found, error

    def describe(self):
        return "wait for eth0"

    def run(self, api):
        if self.error is not None:
            raise self.error
        return self.found


@pytest.fixture
def dunders(tmp_path):
    return {
        "__opts__": {"cachedir": str(tmp_path)},
        "__salt__": {"config.get": lambda key, default=None: default, "sdb.get": lambda u: u},
        "__context__": {},
    }


@pytest.fixture
def boundary(dunders):
    return lxdapi_salt.SaltBoundary(dunders)


@pytest.fixture
def connection(tmp_path):
    socket = tmp_path / "never-opened.socket"
    socket.touch()  # it must exist; nothing connects to it
    return {"endpoint": str(socket)}


def converge(boundary, connection, plan, **words):
    words.setdefault("done", "Done.")
    words.setdefault("unchanged", "Nothing to do.")
    return boundary.converge("web1", connection, lambda api: plan, **words)


def test_nothing_to_do_is_true_with_no_changes(boundary, connection):
    plan = FakePlan(notes=["A note."])
    ret = converge(boundary, connection, plan)
    assert ret == {
        "name": "web1",
        "result": True,
        "comment": "Nothing to do. A note.",
        "changes": {},
    }
    assert not plan.applied


def test_test_mode_predicts_with_result_none_and_applies_nothing(boundary, dunders, connection):
    dunders["__opts__"]["test"] = True
    plan = FakePlan(changes={"config": {"old": None, "new": {"user.a": "1"}}})
    ret = converge(boundary, connection, plan)
    assert ret["result"] is None
    assert ret["changes"] == {"config": {"old": None, "new": {"user.a": "1"}}}
    assert ret["comment"] == "Would have: Done."
    assert not plan.applied


def test_test_mode_is_read_when_called_not_when_bound(boundary, dunders, connection):
    plan = FakePlan(changes={"status": {"old": "Stopped", "new": "Running"}})
    dunders["__opts__"]["test"] = True
    assert converge(boundary, connection, plan)["result"] is None
    dunders["__opts__"]["test"] = False
    assert converge(boundary, connection, plan)["result"] is True
    assert plan.applied


def test_a_run_applies_and_reports_the_changes(boundary, connection):
    plan = FakePlan(changes={"status": {"old": "Stopped", "new": "Running"}}, notes=["N."])
    ret = converge(boundary, connection, plan, done=lambda p: "Started.")
    assert ret == {
        "name": "web1",
        "result": True,
        "comment": "Started. N.",
        "changes": {"status": {"old": "Stopped", "new": "Running"}},
    }
    assert plan.applied


def test_secrets_are_redacted_in_reports_and_predictions(boundary, dunders, connection):
    changes = {"config": {"old": None, "new": {"core.trust_password": "s3cret"}}}
    ret = converge(boundary, connection, FakePlan(changes=changes))
    assert "s3cret" not in repr(ret)
    dunders["__opts__"]["test"] = True
    assert "s3cret" not in repr(converge(boundary, connection, FakePlan(changes=changes)))


def test_a_refused_write_fails_and_reports_only_what_went_through(boundary, connection):
    refused = core.APIException(method="PATCH", url="/1.0/instances/web1", error="refused")
    plan = FakePlan(
        changes={"config": {"old": {}, "new": {"a": "1"}}, "status": {"old": "x", "new": "y"}},
        fails_with=refused,
        made={"config": {"old": {}, "new": {"a": "1"}}},
    )
    ret = converge(boundary, connection, plan)
    assert ret["result"] is False
    assert ret["changes"] == {"config": {"old": {}, "new": {"a": "1"}}}
    assert ret["comment"].startswith("web1: ") and "refused" in ret["comment"]


def test_a_failure_worded_by_the_state(boundary, connection):
    plan = FakePlan(changes={"a": {"old": 1, "new": 2}}, fails_with=OSError("disk full"))
    ret = converge(boundary, connection, plan, failed=lambda p, exc: f"Could not: {exc}")
    assert (ret["result"], ret["comment"], ret["changes"]) == (False, "Could not: disk full", {})


@pytest.mark.parametrize(
    "raised, comment",
    [
        (ValueError("config must be a mapping"), "web1: config must be a mapping"),
        (OSError("no such file"), "web1: no such file"),
        (core.APINotFoundException(error="not found"), None),
    ],
)
def test_bad_input_and_refusals_while_planning_fail_naming_the_problem(
    boundary, connection, raised, comment
):
    def make_plan(api):
        raise raised

    ret = boundary.converge("web1", connection, make_plan, "Done.", "Nothing.")
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"] == (comment or str(raised))


def test_a_bug_is_reported_as_one_with_its_traceback_logged(boundary, connection, caplog):
    def make_plan(api):
        return {}["missing"]

    with caplog.at_level(logging.ERROR):
        ret = boundary.converge("web1", connection, make_plan, "Done.", "Nothing.")
    assert ret["result"] is False
    assert ret["comment"].startswith("lxdapi internal error in web1: KeyError: 'missing'")
    assert any(r.exc_info for r in caplog.records), "no traceback in the log"


def test_a_bug_while_applying_keeps_what_was_made(boundary, connection):
    plan = FakePlan(
        changes={"a": {"old": 1, "new": 2}},
        fails_with=TypeError("oops"),
        made={"a": {"old": 1, "new": 2}},
    )
    ret = converge(boundary, connection, plan)
    assert ret["result"] is False and ret["changes"] == {"a": {"old": 1, "new": 2}}
    assert "internal error" in ret["comment"]


def test_unexpected_arguments_fail_before_any_plan(boundary, connection):
    planned = []
    ret = boundary.converge(
        "web1",
        dict(connection, colour="blue", aggregate=True),
        lambda api: planned.append(api) or FakePlan(),
        "Done.",
        "Nothing.",
    )
    assert ret["result"] is False
    assert ret["comment"] == "web1: unexpected argument(s): colour"  # aggregate is Salt's
    assert planned == []


def test_waits_run_after_the_writes_and_on_runs_with_none(boundary, dunders, connection):
    found = FakeWait(found="eth0 has 2001:db8::5 after 0.1 s")
    ret = converge(boundary, connection, FakePlan(waits=[found]))
    assert ret["result"] is True
    assert ret["comment"] == "Nothing to do. Ready: eth0 has 2001:db8::5 after 0.1 s."
    ret = converge(
        boundary, connection, FakePlan(changes={"a": {"old": 1, "new": 2}}, waits=[found])
    )
    assert ret["comment"] == "Done. Ready: eth0 has 2001:db8::5 after 0.1 s."
    dunders["__opts__"]["test"] = True
    ret = converge(boundary, connection, FakePlan(waits=[FakeWait(error=AssertionError())]))
    assert (ret["result"], ret["comment"]) == (True, "Nothing to do. Would wait for eth0.")


def test_a_wait_that_fails_fails_the_state_and_keeps_the_changes(boundary, connection):
    timeout = core.APIException(error="web1 is Stopped while waiting for eth0")
    plan = FakePlan(changes={"status": {"old": "Stopped", "new": "Running"}})
    plan.waits = [FakeWait(error=timeout)]
    ret = converge(boundary, connection, plan)
    assert ret["result"] is False
    assert ret["changes"] == {"status": {"old": "Stopped", "new": "Running"}}
    assert ret["comment"].startswith("Done. Not ready: ")


def test_the_api_is_cached_per_run(boundary, dunders, connection):
    first = boundary.api(connection)
    assert boundary.api(dict(connection)) is first
    dunders["__context__"].clear()
    assert boundary.api(connection) is not first


# ------------------------------------------------------------------ execution functions


def test_errors_map_core_errors_to_salts():
    @lxdapi_salt.errors
    def raising(exc):
        raise exc

    with pytest.raises(CommandExecutionError, match="refused"):
        raising(core.APIException(error="refused"))
    with pytest.raises(SaltInvocationError, match="bad name"):
        raising(ValueError("bad name"))
    with pytest.raises(CommandExecutionError, match="disk full"):
        raising(OSError("disk full"))
    with pytest.raises(CommandExecutionError, match="internal error in raising: KeyError"):
        raising(KeyError("x"))
    assert raising.__name__ == "raising"


def test_connect_refuses_what_is_not_a_connection_setting(boundary, connection):
    with pytest.raises(SaltInvocationError, match="unexpected argument.*colour"):
        boundary.connect(dict(connection, colour="blue"))
    # Salt's own __pub_* keys are no arguments of the user's.
    assert boundary.connect(dict(connection, __pub_fun="lxdapi.info")) is not None


# ------------------------------------------------------------------ aggregation

ARGS = ("source", "status")


def chunk(name, **extra):
    low = {"state": "lxdapi", "fun": "container_present", "__id__": name, "name": name}
    low.update(extra)
    return low


def tag(low):
    return lxdapi_salt.state_tag(low)


def test_the_states_that_join_and_those_that_stay_out():
    opts = {"state_aggregate": True}
    low = chunk("web1", source="busybox")
    ran = chunk("db1")
    chunks = [
        low,
        chunk("web2", source="busybox"),
        chunk("web3", onlyif="true"),  # decides at its own turn
        chunk("web4", endpoint="https://elsewhere:8443"),  # another connection
        chunk("web5", colour="blue"),  # an argument its own state refuses
        chunk("web6", require=[{"lxdapi": "db1"}]),  # its requisite ran: True
        chunk("web7", require=[{"lxdapi": "nothing-yet"}]),  # not run yet
        dict(chunk("web8"), fun="container_absent"),
        chunk("web2", status="Running"),  # the same name twice: once
        chunk("web9", aggregate=False),
    ]
    running = {tag(ran): {"result": True}}
    group = lxdapi_salt.aggregate_group(low, chunks, running, opts, ARGS)
    assert [c["name"] for c in group] == ["web1", "web2", "web6"]
    assert "__agg__" not in low and all(c["__agg__"] for c in group[1:])


def test_a_failed_requisite_keeps_a_state_out():
    ran = chunk("db1")
    waiting = chunk("web2", watch=["db1"])
    assert not lxdapi_salt.requisites_met(waiting, {tag(ran): {"result": False}})
    assert lxdapi_salt.requisites_met(waiting, {tag(ran): {"result": True}})
    assert not lxdapi_salt.requisites_met(chunk("x", require=[["odd"]]), {})


@pytest.mark.parametrize(
    "option, own, joins",
    [
        (True, None, True),
        (["lxdapi"], None, True),
        (["pkg"], None, False),
        (False, None, False),
        (False, True, True),
        (True, False, False),
    ],
)
def test_aggregation_is_opted_in_by_the_minion_or_the_state(option, own, joins):
    other = chunk("web2") if own is None else chunk("web2", aggregate=own)
    group = lxdapi_salt.aggregate_group(
        chunk("web1"), [other], {}, {"state_aggregate": option}, ARGS
    )
    assert (len(group) == 2) is joins


def test_a_state_with_its_own_conditions_aggregates_nothing():
    low = chunk("web1", unless="false")
    assert lxdapi_salt.aggregate_group(
        low, [chunk("web2")], {}, {"state_aggregate": True}, ARGS
    ) == [low]


def test_a_config_key_read_as_a_keyword_is_named_with_the_target_form():
    # salt-call lxdapi.call user.role=web test.ping: Salt passes user.role as a keyword
    @lxdapi_salt.errors
    def call(name, fun, *args, **kwargs):
        """Run fun in name."""

    with pytest.raises(SaltInvocationError) as raised:
        call("test.ping", **{"user.role": "web"})
    text = str(raised.value)
    assert "missing a required argument: 'fun'" in text
    assert "Salt read user.role=web as a keyword argument" in text
    assert "config:user.role:web" in text
    with pytest.raises(SaltInvocationError) as raised:
        call("test.ping")
    assert "keyword" not in str(raised.value).split("Usage")[0]
