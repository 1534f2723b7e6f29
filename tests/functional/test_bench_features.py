"""The core features added for speed (issue 7), against the real daemon.

- ``UnixSession``: the fast HTTP path on the unix socket gives what requests gave;
- ``run_listing`` and the ``listing=`` of the planners: one listing answers like
  per-instance GETs, a plan with nothing to do costs no request, a plan that writes is
  built again from a fresh GET (its write carries the instance's ETag), writes through
  the API forget what they change;
- ``create_instances`` / ``apply_plans_concurrently``: every instance really created;
- ``lxdapi.container_present`` states of one run share one listing.

No test asserts a time.
"""

import json

import pytest
import requests

import lxdapi_batch
import lxdapi_instances
import lxdapi_readiness
import lxdapi_spec
from conftest import core


@pytest.fixture
def names(lxd, unique_name):
    """Three instance names for this test; whatever exists of them is deleted at teardown."""
    made = [f"{unique_name[:55]}-{i}" for i in range(3)]
    yield made
    for name in made:
        lxd.lxc("delete", "--force", name, check=False)


def held(api, name):
    result = core.get_or_none(api, api.instance_path(name))
    return None if result is None else result.metadata


# ------------------------------------------------------------------------ UnixSession


def test_unix_sessions_take_the_fast_path_and_answer_like_requests(lxd, api):
    assert isinstance(api.session, core.UnixSession)
    stock = requests.Session()
    stock.mount("http+unix://", core.UnixSocketAdapter())
    slow = core.API(stock, api.endpoint)
    for url, params in (
        ("", None),
        ("instances", {"recursion": 1}),
        ("profiles/default", None),
        ("images/aliases/busybox", None),
    ):
        fast_result, slow_result = api.get(url, params=params), slow.get(url, params=params)
        assert fast_result.metadata == slow_result.metadata
        assert fast_result.etag == slow_result.etag
        assert fast_result.response.status_code == slow_result.response.status_code
        assert fast_result.request.url == slow_result.request.url
        assert fast_result.response.headers["Content-Type"] == "application/json"


def test_fast_path_sends_json_bytes_headers_and_if_match(lxd, api, unique_name):
    api.post("profiles", json={"name": unique_name, "description": "é d"})
    try:
        current = api.get(api.path("profiles", unique_name))
        assert current.metadata["description"] == "é d"
        # If-Match with the current ETag passes, a stale one is refused (412).
        api.patch(api.path("profiles", unique_name), json={"description": "two"}, etag=current.etag)
        with pytest.raises(core.APIPreconditionFailed):
            api.patch(
                api.path("profiles", unique_name), json={"description": "three"}, etag=current.etag
            )
        # A raw bytes body with its own Content-Type.
        body = json.dumps({"config": {"user.raw": "1"}, "description": "raw"}).encode()
        api.put(
            api.path("profiles", unique_name),
            data=body,
            headers={"Content-Type": "application/json"},
        )
        held_profile = api.get(api.path("profiles", unique_name)).metadata
        assert held_profile["config"] == {"user.raw": "1"}
        assert held_profile["description"] == "raw"
    finally:
        api.delete(api.path("profiles", unique_name))


def test_fast_path_errors_are_the_cores(lxd, api, unique_name, tmp_path):
    with pytest.raises(core.APINotFoundException) as info:
        api.get(api.instance_path(unique_name))
    assert info.value.status == 404
    missing = core.API(
        core.unix_session(), "http+unix://" + str(tmp_path / "no.socket").replace("/", "%2F")
    )
    with pytest.raises(core.APIConnectionError):
        missing.get("")
    # A request that outlives its timeout (an operation wait) is an APITimeout.
    lxd.lxc("init", "busybox", unique_name)
    try:
        api.put(api.instance_path(unique_name, "state"), json={"action": "start"}).wait()
        op = api.post(
            api.instance_path(unique_name, "exec"),
            json={"command": ["sleep", "3"], "wait-for-websocket": False, "interactive": False},
        )
        with pytest.raises(core.APITimeout):
            api.get(op.operation + "/wait", params={"timeout": 10}, timeout=0.5)
        # The connection that timed out is replaced: the next request works.
        assert api.get("").metadata["api_version"] == "1.0"
        op.wait()
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)


def test_requests_the_fast_path_does_not_handle_go_through_requests(api):
    response = api.session.request("GET", api.absolute_url("instances"), stream=True)
    assert response.status_code == 200
    assert response.json()["metadata"] is not None
    (pool,) = api.session.get_adapter(api.endpoint).pools._container.values()
    assert len([c for c in pool.pool.queue if c is not None]) == 1  # still one connection


# ------------------------------------------------------------------- instance listing


def test_listing_answers_like_per_instance_gets(lxd, api, names, request_log):
    lxd.lxc("init", "busybox", names[0], "-c", "user.a=1")
    lxd.lxc("init", "busybox", names[1])
    lxd.lxc("start", names[1])
    store = {}
    listing = lxdapi_batch.run_listing(store, api, run_key="test")
    assert store == {api: listing}

    request_log.clear()
    seen = {name: lxdapi_instances.instance_get(api, name, listing=listing) for name in names}
    # All three came from the listing, the absent one too: no request (a creation it
    # misjudged is refused by LXD and converged: see test_concurrent_writers.py).
    assert request_log == []
    for name in names[:2]:
        fresh = api.get(api.instance_path(name)).metadata
        assert seen[name].metadata == fresh
        assert seen[name].etag is None  # a listing carries no ETag
    assert seen[names[2]] is False  # absent
    # Without the listing, a getter GETs: nothing set on the API changes what it does.
    request_log.clear()
    assert lxdapi_instances.instance_get(api, names[0]).etag
    assert core.container_get(api, names[0]).etag
    assert len(request_log) == 2
    # The same run does not list again; another run does, and so does the same state
    # asking again (another run, or a retry).
    request_log.clear()
    assert lxdapi_batch.run_listing(store, api, run_key="test", asker="s1") is listing
    assert request_log == []
    again = lxdapi_batch.run_listing(store, api, run_key="test", asker="s1")
    assert again is not listing and store[api] is again
    assert lxdapi_batch.run_listing(store, api, run_key="next") is not again
    assert [u.rsplit("/1.0", 1)[1] for _, u, _ in request_log] == ["/instances"] * 2
    # One that is too old is read again.
    request_log.clear()
    old = store[api]
    assert lxdapi_batch.run_listing(store, api, run_key="next", max_age=0) is not old
    assert len(request_log) == 1


def _config_spec(**config):
    return lxdapi_spec.InstanceSpec(config=config)


def test_a_plan_that_writes_is_rebuilt_from_a_fresh_get(lxd, api, names, request_log):
    name = names[0]
    lxd.lxc("init", "busybox", name, "-c", "user.a=1")
    listing = lxdapi_batch.run_listing({}, api, run_key="test")
    lxd.lxc("config", "set", name, "user.a=2")  # drift after the listing was read

    request_log.clear()
    plan = lxdapi_instances.plan_instance_present(
        api, name, _config_spec(**{"user.a": "3"}), listing=listing
    )
    # Decided on the instance as it is now, with its ETag for If-Match.
    assert plan.changes["config"] == {"old": {"user.a": "2"}, "new": {"user.a": "3"}}
    assert [(m, u.rsplit("/1.0/", 1)[1]) for m, u, _ in request_log] == [
        ("GET", "instances/" + name)
    ]
    assert plan.writes[0].etag == api.get(api.instance_path(name)).etag
    plan.apply(api)
    assert held(api, name)["config"]["user.a"] == "3"


def test_a_plan_with_nothing_to_do_costs_no_request(lxd, api, names, request_log):
    lxd.lxc("init", "busybox", names[0], "-c", "user.a=1")
    listing = lxdapi_batch.run_listing({}, api, run_key="test")
    assert api.server  # read once per API anyway
    request_log.clear()
    spec = _config_spec(**{"user.a": 1})
    plan = lxdapi_instances.plan_instance_present(api, names[0], spec, listing=listing)
    assert not plan.writes and plan.changes == {}
    declared = lxdapi_readiness.plan_instance_declared(api, names[0], spec, listing=listing)
    assert not declared.writes and declared.waits == []
    assert request_log == []


def test_writes_forget_what_they_change(lxd, api, names, unique_name):
    lxd.lxc("init", "busybox", names[0])
    lxd.lxc("init", "busybox", names[1])
    listing = lxdapi_batch.run_listing({}, api, run_key="test")
    try:
        assert listing.lookup(names[0]) and listing.lookup(names[1])
        assert listing.lookup(names[2]) is False  # not listed: absent
        # A write through the API to one instance forgets that one only.
        api.patch(api.instance_path(names[0]), json={"description": "x"})
        assert listing.lookup(names[0]) is None
        assert listing.lookup(names[1])
        # Renaming one forgets both names.
        api.post(api.instance_path(names[1]), json={"name": names[2]}).wait()
        assert listing.lookup(names[1]) is None and names[2] in listing.forgotten
        assert listing.valid
        # Any other write forgets the whole listing.
        api.post("profiles", json={"name": unique_name})
        assert not listing.valid and listing.lookup(names[0]) is None
    finally:
        core.get_or_none(api, api.path("profiles", unique_name)) and api.delete(
            api.path("profiles", unique_name)
        )


def test_a_listing_further_behind_than_the_api_remembers_is_not_used(lxd, api, names):
    lxd.lxc("init", "busybox", names[0])
    store = {}
    listing = lxdapi_batch.run_listing(store, api, run_key="test")
    target = api.instance_path(names[1])  # absent: every write fails, and counts
    for _ in range(core.WRITES_KEPT + 1):
        with pytest.raises(core.APINotFoundException):
            api.patch(target, json={"description": "x"})
    assert listing.lookup(names[0]) is None and not listing.valid
    assert lxdapi_batch.run_listing(store, api, run_key="test") is not listing


# --------------------------------------------------------------- concurrent creation


def test_create_instances_creates_and_starts_every_one(lxd, api, names, request_log):
    bodies = [
        {"name": n, "source": "busybox", "config": {"user.n": i}} for i, n in enumerate(names)
    ]
    request_log.clear()
    assert lxdapi_batch.create_instances(api, bodies, start=True) == names
    for i, name in enumerate(names):
        instance = held(api, name)
        assert instance["status"] == "Running"
        assert instance["config"]["user.n"] == str(i)
        assert instance["config"]["volatile.base_image"] == lxd.fingerprint
    # All POSTs went out before the first wait, then all starts.
    methods = [
        m
        for m, url, _ in request_log
        if "/wait" not in url and not url.split("?")[0].endswith(("/images/aliases/busybox",))
    ]
    writes = [m for m in methods if m != "GET"]
    assert writes == ["POST"] * 3 + ["PUT"] * 3


def test_create_instances_creates_the_others_when_one_fails(lxd, api, names):
    lxd.lxc("init", "busybox", names[1])  # taken
    bodies = [{"name": n, "source": "busybox"} for n in names]
    with pytest.raises(core.APIException) as info:
        lxdapi_batch.create_instances(api, bodies)
    assert "1 of 3 instance(s) failed" in str(info.value)
    assert names[1] in str(info.value)
    assert held(api, names[0]) is not None and held(api, names[2]) is not None


def test_create_instances_refuses_bad_input_before_writing(lxd, api, names, request_log):
    with pytest.raises(ValueError):
        lxdapi_batch.create_instances(api, [{"name": names[0]}, {"source": "busybox"}])
    assert request_log.writes == []
    assert held(api, names[0]) is None


def test_apply_plans_concurrently_reports_each_plan(lxd, api, names):
    lxd.lxc("init", "busybox", names[0])
    running = lxdapi_spec.InstanceSpec(source="busybox", status="Running")
    plans = [lxdapi_instances.plan_instance_present(api, n, running) for n in names[1:]]
    plans.append(
        lxdapi_instances.plan_instance_present(api, names[0], _config_spec(**{"user.x": "y"}))
    )
    assert lxdapi_batch.apply_plans_concurrently(api, plans) == [None, None, None]
    assert [held(api, n)["status"] for n in names[1:]] == ["Running", "Running"]
    assert held(api, names[0])["config"]["user.x"] == "y"
    assert all(len(p.sent) == len(p.writes) for p in plans)


# ---------------------------------------------------------------------- states of a run


def test_container_states_of_one_run_share_one_listing(modules, api, lxd, names, request_log):
    high = {
        name: {
            "lxdapi": ["container_present", {"source": "busybox", "config": {"user.k": "v"}}],
            "__sls__": "bench",
            "__env__": "base",
        }
        for name in names
    }
    first = modules.state.high(high)
    assert [r.result for r in first] == [True] * 3, first.raw
    assert all(held(api, n)["config"]["user.k"] == "v" for n in names)
    request_log.clear()
    second = modules.state.high(high)
    assert [(r.result, r.changes) for r in second] == [(True, {})] * 3
    assert request_log.writes == []
    paths = [url.split("/1.0", 1)[1] for _, url, _ in request_log]
    # GET /1.0, one listing (?recursion=1), the alias table: no request per container.
    assert sorted(paths) == ["", "/images/aliases", "/instances"], paths

    # Drift on one: only that one is read again (for its ETag) and written.
    lxd.lxc("config", "set", names[1], "user.k=drift")
    request_log.clear()
    third = modules.state.high(high)
    assert [bool(r.changes) for r in third] == [False, True, False]
    assert [m for m, _, _ in request_log.writes] == ["PATCH"]
    gets = [url for m, url, _ in request_log if m == "GET"]
    assert sum(url.endswith("/instances/" + names[1]) for url in gets) == 1
    assert not any(
        url.endswith(("/instances/" + names[0], "/instances/" + names[2])) for url in gets
    )
    assert held(api, names[1])["config"]["user.k"] == "v"
