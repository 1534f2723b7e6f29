"""The pure parts of rolling restarts: ``rolling`` parsed and refused, batch sizes, the
batches of a group and what test mode says of them, a group's rolling."""

import pytest

import lxdapi_plans
import lxdapi_readiness
import lxdapi_rolling
import lxdapi_spec


def test_rolling_parses_counts_percentages_and_defaults():
    two = lxdapi_rolling.parse_rolling({"batch": 2})
    assert (two.count, two.percent, two.wait_for, two.stop_on_failure) == (2, None, None, True)
    assert lxdapi_rolling.parse_rolling({"batch": "3"}).count == 3
    quarter = lxdapi_rolling.parse_rolling(
        {"batch": "25%", "wait_for": {"exec": "true"}, "stop_on_failure": False}
    )
    assert (quarter.percent, quarter.stop_on_failure) == (25.0, False)
    assert quarter.wait_for.command == ("true",)
    assert lxdapi_rolling.parse_rolling({}).count == 1
    assert lxdapi_rolling.parse_rolling(None) is None
    assert lxdapi_rolling.parse_rolling(two) is two


@pytest.mark.parametrize(
    "value, words",
    [
        ({"batch": 0}, "batch must be a whole number of 1 or more"),
        ({"batch": -1}, "not -1"),
        ({"batch": "0%"}, "above 0%"),
        ({"batch": "101%"}, "up to 100%"),
        ({"batch": "lots"}, "not 'lots'"),
        ({"batch": True}, "not True"),
        ({"batch": 1.5}, "not 1.5"),
        ({"batch": 2, "size": 3}, "unknown key(s) size; it takes batch, wait_for"),
        ({"wait_for": {"nothing": 1}}, "rolling: wait_for: unknown condition(s) nothing"),
        ({"stop_on_failure": "yes"}, "rolling: stop_on_failure must be true or false"),
        (2, "rolling must be a mapping of batch, wait_for, stop_on_failure"),
        ("25%", "rolling must be a mapping"),
    ],
)
def test_bad_rolling_is_refused_naming_the_problem(value, words):
    with pytest.raises(ValueError) as caught:
        lxdapi_rolling.parse_rolling(value)
    assert words in str(caught.value)


def test_a_spec_checks_its_rolling():
    spec = lxdapi_spec.InstanceSpec.from_arguments({"rolling": {"batch": "50%"}})
    assert spec.rolling.percent == 50.0
    with pytest.raises(ValueError, match="rolling: batch"):
        lxdapi_spec.InstanceSpec.from_arguments({"rolling": {"batch": 0}})


@pytest.mark.parametrize(
    "rolling, total, sizes",
    [
        ({"batch": 2}, 5, [2, 2, 1]),
        ({"batch": 10}, 3, [3]),
        ({"batch": "25%"}, 8, [2, 2, 2, 2]),
        ({"batch": "25%"}, 5, [1] * 5),  # rounded down: never more than 25% down
        ({"batch": "10%"}, 3, [1, 1, 1]),  # at least one
        ({"batch": "100%"}, 4, [4]),
        ({"batch": "40%"}, 30, [12, 12, 6]),
    ],
)
def test_batches_cut_in_order(rolling, total, sizes):
    names = [f"c{i}" for i in range(total)]
    batches = lxdapi_rolling.parse_rolling(rolling).batches(names)
    assert [len(b) for b in batches] == sizes
    assert [n for b in batches for n in b] == names


def test_a_group_has_one_rolling_or_none():
    assert lxdapi_rolling.group_rolling([None, None]) is None
    assert lxdapi_rolling.group_rolling([None, {"batch": 2}, {"batch": "2"}]).count == 2
    with pytest.raises(ValueError, match="different rolling settings"):
        lxdapi_rolling.group_rolling([{"batch": 2}, {"batch": 3}])
    with pytest.raises(ValueError, match="rolling: batch"):
        lxdapi_rolling.group_rolling([{"batch": 0}])


def _plan(name, restart=True, create=False):
    plan = lxdapi_plans.Plan(name)
    if create:
        plan.add("instance", None, name)
        plan.writes.append(lxdapi_plans.Write("POST", "instances", {"name": name}))
    if restart:
        plan.add("restarted", False, True)
        plan.writes.append(lxdapi_plans.Write("PUT", f"instances/{name}/state", {}))
    return plan


def test_a_group_tells_its_batches_before_anything_is_sent():
    named = [(f"web{i}", _plan(f"web{i}")) for i in range(5)]
    named.append(("new1", _plan("new1", restart=False, create=True)))
    named.append(("idle", _plan("idle", restart=False)))

    def never(api, plans):
        raise AssertionError("nothing is sent while planning")

    group = lxdapi_rolling.RollingGroup(named, {"batch": 2}, never)
    assert [[n for n, _ in b] for b in group.batches] == [
        ["web0", "web1"],
        ["web2", "web3"],
        ["web4"],
    ]
    assert [n for n, _ in group.others] == ["new1"]  # not a restart: not rolled
    assert group.changes["web2"]["batch"] == {"old": None, "new": "2 of 3"}
    assert "batch" not in group.changes["new1"] and "idle" not in group.changes
    assert group.notes == [
        "Rolling restart of 5 in batches of 2 (3 batch(es)), each ready (its wait_for, else "
        "Running) before the next: 1: web0, web1; 2: web2, web3; 3: web4."
    ]
    assert group.member_note("web4") == (
        "Restarted in batch 3 of 3 (web4) of a rolling restart in batches of 2."
    )
    assert group.member_note("new1") is None
    assert len(group.writes) == 6 and bool(group)


class _FakeAPI:
    """Answers the gate's GET of an instance: Running, but for the names in ``down``."""

    def __init__(self, down=()):
        self.down = set(down)
        self.read = []

    def instance_path(self, name, *rest):
        return "/".join(("instances", name) + rest)

    def get(self, path):
        name = path.split("/")[1]
        self.read.append(name)

        class Result:
            metadata = {"status": "Stopped" if name in self.down else "Running"}

        return Result()


def test_a_group_applies_batch_after_batch_and_stops_at_the_first_failure(monkeypatch):
    sent = []

    def side_by_side(api, plans):
        sent.append([plan.name for plan in plans])
        return [None] * len(plans)

    monkeypatch.setattr(lxdapi_rolling.RunningCheck, "__init__", _quick_check)
    named = [(f"web{i}", _plan(f"web{i}")) for i in range(5)]
    group = lxdapi_rolling.RollingGroup(named, {"batch": 2}, side_by_side)
    api = _FakeAPI(down={"web2"})
    with pytest.raises(lxdapi_rolling.RollingFailed) as caught:
        group.apply(api)
    assert sent == [["web0", "web1"], ["web2", "web3"]]  # batch 3 never sent
    assert [n for n, _ in group.done] == ["web0", "web1", "web3"]
    assert [n for n, _, _ in group.failed] == ["web2"]
    assert group.not_done == ["web4"]
    assert "web2: web2 is Stopped, not Running" in caught.value.error
    assert "not done (the rolling restart stopped at web2's failure): web4" in caught.value.error
    errors = group.outcome_errors()
    assert isinstance(errors["web4"], lxdapi_rolling.NotDone)
    assert "stopped at the failure of web2" in errors["web4"].error
    assert sorted(group.applied_changes()) == ["web0", "web1", "web3"]


def test_without_stop_on_failure_every_batch_is_sent(monkeypatch):
    sent = []

    def side_by_side(api, plans):
        sent.append([plan.name for plan in plans])
        return [None] * len(plans)

    monkeypatch.setattr(lxdapi_rolling.RunningCheck, "__init__", _quick_check)
    named = [(f"web{i}", _plan(f"web{i}")) for i in range(3)]
    group = lxdapi_rolling.RollingGroup(named, {"batch": 1, "stop_on_failure": False}, side_by_side)
    with pytest.raises(lxdapi_rolling.RollingFailed):
        group.apply(_FakeAPI(down={"web0"}))
    assert sent == [["web0"], ["web1"], ["web2"]] and group.not_done == []


def _quick_check(self, name, timeout=30, clock=None, sleep=None):
    self.name, self.timeout = name, 0
    self.clock, self.sleep = (lambda: 0.0), (lambda seconds: None)


def test_rolling_in_a_container_entry_is_refused():
    lxdapi_rolling.refuse_member_rolling({"web1": {}, "web2": None}, {"status": "Running"})
    lxdapi_rolling.refuse_member_rolling(["web1"], None)
    with pytest.raises(ValueError, match="container web2: rolling is an argument of the state"):
        lxdapi_rolling.refuse_member_rolling({"web1": {}, "web2": {"rolling": {"batch": 1}}})
    with pytest.raises(ValueError, match="defaults: rolling is an argument of the state"):
        lxdapi_rolling.refuse_member_rolling(["web1"], {"rolling": {"batch": 1}})


class _TypedAPI(_FakeAPI):
    def get(self, path):
        self.read.append(path)

        class Result:
            metadata = {"status": "Running", "type": "virtual-machine"}

        return Result()


def test_the_gate_is_rolling_wait_for_else_the_own_waits_else_running():
    own = lxdapi_readiness.ReadinessWait("web1", lxdapi_readiness.parse_wait_for({"exec": "true"}))
    with_own = _plan("web1")
    with_own.waits.append(own)
    bare = _plan("web2")

    def never(api, plans):
        raise AssertionError("nothing is sent")

    group = lxdapi_rolling.RollingGroup([("web1", with_own), ("web2", bare)], {}, never)
    assert group.gate(None, "web1", with_own) == [own]
    assert [w.describe() for w in group.gate(None, "web2", bare)] == ["wait for web2: Running"]
    assert group.waits == []  # the own waits are the gates: not waited for again

    agent = {"wait_for": {"agent": True}}
    group = lxdapi_rolling.RollingGroup([("web1", with_own), ("web2", bare)], agent, never)
    api = _TypedAPI()
    (gate,) = group.gate(api, "web2", bare)  # its type read once, for the agent
    assert gate.instance_type == "virtual-machine" and api.read == ["instances/web2"]
    (gate,) = group.gate(api, "web1", with_own)  # the type its own wait knows
    assert gate.instance_type == "container" and len(api.read) == 1
    assert group.waits == [own]  # the state's own wait still runs at the end
