"""lxdapi.containers_present: many containers converged with their LXD operations side
by side, against the real daemon."""

import json

import pytest

from resources_support import cleanup  # noqa: F401


@pytest.fixture
def names(lxd, cleanup, unique_name):
    made = [f"{unique_name[:50]}-{i}" for i in range(4)]
    for name in made:
        cleanup(["delete", "--force", name])
    return made


def _held(lxd, name):
    found = lxd.lxc("query", f"/1.0/instances/{name}?recursion=1", check=False)
    return json.loads(found) if found else None


def _status(lxd, name):
    held = _held(lxd, name)
    return held and held["state"]["status"]


def test_many_containers_created_side_by_side_then_a_no_op(states, lxd, names, request_log):
    web, batch = names[:3], names[3]
    declared = dict(
        defaults={"source": "busybox", "profiles": ["default"], "status": "Running"},
        containers=dict(
            {n: {} for n in web}, **{batch: {"status": "Stopped", "config": {"limits.cpu": 1}}}
        ),
    )

    predicted = states.lxdapi.containers_present("farm", test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert sorted(predicted.changes) == sorted(names)
    assert predicted.changes[batch]["instance"]["new"]["config"] == {"limits.cpu": "1"}
    assert "status" not in predicted.changes[batch]  # created stopped
    assert predicted.changes[web[0]]["status"]["new"] == "Running"
    assert predicted.comment.startswith("Would have: created " + ", ".join(names))
    assert request_log.writes == [] and all(_held(lxd, n) is None for n in names)

    ret = states.lxdapi.containers_present("farm", **declared)
    assert ret.result is True, ret.comment
    assert ret.changes == predicted.changes
    assert [_status(lxd, n) for n in names] == ["Running"] * 3 + ["Stopped"]
    assert _held(lxd, batch)["config"]["limits.cpu"] == "1"
    # side by side: every creation sent before the first start
    writes = [(m, u.rsplit("/1.0/", 1)[1]) for m, u, _ in request_log.writes]
    assert [m for m, _ in writes] == ["POST"] * 4 + ["PUT"] * 3
    assert all(u.endswith("/state") for m, u in writes if m == "PUT")

    request_log.clear()
    again = states.lxdapi.containers_present("farm", **declared)
    assert again.result is True and again.changes == {}
    assert again.comment == "All 4 containers are already as declared."
    assert request_log.writes == []
    reads = [u.rsplit("/1.0", 1)[1] for m, u, _ in request_log]
    # one listing for all four (GET /1.0 and the alias table aside), no GET of each
    assert sorted(reads) == ["", "/images/aliases", "/instances"], reads

    # one container changes: only it is written
    declared["containers"][batch] = {"status": "Stopped", "config": {"limits.cpu": 2}}
    ret = states.lxdapi.containers_present("farm", **declared)
    assert ret.result is True, ret.comment
    assert ret.changes == {
        batch: {"config": {"old": {"limits.cpu": "1"}, "new": {"limits.cpu": "2"}}}
    }
    assert ret.comment == f"Updated {batch}."


def test_a_refused_container_fails_the_state_and_the_others_are_made(states, lxd, names):
    good, bad = names[:2]
    ret = states.lxdapi.containers_present(
        "farm",
        defaults={"source": "busybox"},
        containers={good: {}, bad: {"config": {"limits.memory": "lots"}}},
    )
    assert ret.result is False
    assert ret.comment.startswith(f"1 of 2 container(s) failed: {bad}: ")
    assert "Invalid value: lots" in ret.comment  # LXD's own words
    assert f"Created {good}." in ret.comment
    assert list(ret.changes) == [good]
    assert _held(lxd, good) is not None and _held(lxd, bad) is None


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(containers="web1"), "containers must be a non-empty list of names or a mapping"),
        (dict(containers=[]), "containers must be a non-empty list"),
        (dict(containers={"web1": ["busybox"]}), "container web1: its arguments must be a mapping"),
        (
            dict(containers={"web1": {"sauce": "busybox"}}),
            "container web1: unknown argument(s) sauce",
        ),
        (dict(containers=["web1"], defaults="busybox"), "defaults must be a mapping"),
        (dict(containers={"web1": {"source": "no-such-image"}}), "container web1: "),
        (dict(containers={"web1": {"source": "busybox", "status": "Asleep"}}), "container web1: "),
        (dict(containers={"bad_name!": {"source": "busybox"}}), "bad_name!"),
    ],
)
def test_bad_input_fails_before_anything_is_written(states, lxd, request_log, kwargs, expected):
    ret = states.lxdapi.containers_present("farm", **kwargs)
    assert ret.result is False and expected in ret.comment, ret.comment
    assert ret.changes == {} and request_log.writes == []
