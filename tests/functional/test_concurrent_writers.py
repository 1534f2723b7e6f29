"""Concurrent writers: another client changes a container (or profile) between our GET
and our write. Our write carries the ETag of what we read (If-Match), so LXD refuses it
with 412. A container's plan is then made again from a fresh read, once: the declared keys
are written over what the other client read (what it set and we did not declare stays);
a second refusal fails the state saying so. A profile's (any resource kind's) the same.

The other client is real: ``lxc`` in its own process, run either between building a plan
and applying it, or from a request observer on the core (called after the response to
our GET, before the plan's write is sent), so the state's own code runs unchanged.
"""

import json

import pytest

import lxdapi_instances
import lxdapi_spec
from conftest import core


def config_of(lxd, name, kind="instances"):
    return json.loads(lxd.lxc("query", f"/1.0/{kind}/{name}"))["config"]


@pytest.fixture
def container(lxd, unique_name):
    """A stopped busybox container with ``user.a=1``; deleted at teardown."""
    lxd.lxc("init", "busybox", unique_name, "-c", "user.a=1")
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


@pytest.fixture
def profile(lxd, unique_name):
    """A profile with ``user.a=1``; deleted at teardown."""
    lxd.lxc("profile", "create", unique_name)
    lxd.lxc("profile", "set", unique_name, "user.a", "1")
    yield unique_name
    lxd.lxc("profile", "delete", unique_name, check=False)


@pytest.fixture
def after_get_of():
    """``after_get_of(url_tail, action)``: run ``action()`` once, right after the core's
    first successful GET of a URL ending in ``url_tail`` (i.e. between our read and
    our write)."""
    installed = []

    def install(url_tail, action):
        fired = []

        def observer(method, url, status):
            if not fired and method == "GET" and status == 200 and url.endswith(url_tail):
                fired.append(url)
                action()

        core.API.observers.append(observer)
        installed.append(observer)
        return fired

    yield install
    for observer in installed:
        core.API.observers.remove(observer)


def test_plan_built_then_changed_by_another_client_is_refused(api, lxd, container):
    plan = lxdapi_instances.plan_instance_present(
        api, container, lxdapi_spec.InstanceSpec(config={"user.a": "ours"}, ephemeral=None)
    )
    assert [w.method for w in plan.writes] == ["PATCH"] and plan.writes[0].etag
    plan.recover = None  # the write itself, not planned again (see the states below)

    lxd.lxc("config", "set", container, "user.a", "theirs")  # the other writer

    with pytest.raises(core.APIPreconditionFailed) as info:
        plan.apply(api)
    assert info.value.status == 412
    assert "changed by another client since it was read; not overwritten" in str(info.value)
    assert config_of(lxd, container)["user.a"] == "theirs"


def test_a_change_between_get_and_patch_is_planned_again_once(
    states, lxd, container, after_get_of, request_log
):
    fired = after_get_of(
        "/instances/" + container,
        lambda: lxd.lxc("config", "set", container, "user.a=theirs", "user.b=also-theirs"),
    )

    ret = states.lxdapi.container_present(name=container, config={"user.a": "ours"})

    assert fired, "the other writer did not run"
    assert ret.result is True, ret.comment
    assert f"{container} was busy or changed by another client" in ret.comment
    assert "changed by another client since it was read" in ret.comment
    # What we changed, from what the fresh read showed.
    assert ret.changes == {"config": {"old": {"user.a": "theirs"}, "new": {"user.a": "ours"}}}
    assert [(m, s) for m, _, s in request_log.writes] == [("PATCH", 412), ("PATCH", 200)]
    config = config_of(lxd, container)
    assert config["user.a"] == "ours"  # declared
    assert config["user.b"] == "also-theirs"  # theirs, not declared: kept

    request_log.clear()
    ret = states.lxdapi.container_present(name=container, config={"user.a": "ours"})
    assert ret.result is True and ret.changes == {} and request_log.writes == []


def test_a_second_refusal_fails_the_state_saying_so(states, lxd, container, request_log):
    count = []

    def every_get(method, url, status):  # the other client writes after each of our GETs
        if method == "GET" and status == 200 and url.endswith("/instances/" + container):
            count.append(url)
            lxd.lxc("config", "set", container, "user.a", f"theirs-{len(count)}")

    core.API.observers.append(every_get)
    try:
        ret = states.lxdapi.container_present(
            name=container, config={"user.a": "ours"}, status="Running"
        )
    finally:
        core.API.observers.remove(every_get)
    assert len(count) == 2
    assert ret.result is False
    assert "tried again from a fresh read, after:" in ret.comment
    assert "changed by another client since it was read; not overwritten" in ret.comment
    assert ret.changes == {}
    assert [(m, s) for m, _, s in request_log.writes] == [("PATCH", 412), ("PATCH", 412)]
    instance = json.loads(lxd.lxc("query", "/1.0/instances/" + container))
    assert instance["config"]["user.a"] == "theirs-2"
    assert instance["status"] == "Stopped"  # nothing after a refused config write


def test_purging_put_is_refused_too(states, lxd, container, after_get_of):
    lxd.lxc(
        "config", "device", "add", container, "scratch", "disk", "source=/tmp", "path=/mnt/scratch"
    )
    fired = after_get_of(
        "/instances/" + container,
        lambda: lxd.lxc(
            "config",
            "device",
            "add",
            container,
            "theirs",
            "disk",
            "source=/tmp",
            "path=/mnt/theirs",
        ),
    )

    ret = states.lxdapi.container_present(name=container, devices={}, purge_devices=True)

    assert fired
    assert ret.result is True, ret.comment
    assert "changed by another client" in ret.comment  # refused, then planned again
    # Planned from the fresh read: purging every device not declared, theirs too.
    assert set(ret.changes["devices"]["old"]) == {"scratch", "theirs"}
    devices = json.loads(lxd.lxc("query", "/1.0/instances/" + container))["devices"]
    assert devices == {}


def test_status_follows_the_config_planned_again(states, lxd, container, after_get_of):
    after_get_of(
        "/instances/" + container, lambda: lxd.lxc("config", "set", container, "user.a", "theirs")
    )
    ret = states.lxdapi.container_present(
        name=container, config={"user.a": "ours"}, status="Running"
    )
    assert ret.result is True, ret.comment
    assert ret.changes["status"] == {"old": "Stopped", "new": "Running"}
    instance = json.loads(lxd.lxc("query", "/1.0/instances/" + container))
    assert instance["status"] == "Running"
    assert instance["config"]["user.a"] == "ours"


def test_profile_change_between_get_and_patch_is_planned_again_once(
    states, lxd, profile, after_get_of, request_log
):
    fired = after_get_of(
        "/profiles/" + profile,
        lambda: lxd.lxc("profile", "set", profile, "user.a=theirs", "user.b=also-theirs"),
    )
    ret = states.lxdapi.profile_present(name=profile, config={"user.a": "ours"})
    assert fired
    assert ret.result is True, ret.comment
    assert "changed by another client since it was read" in ret.comment
    assert ret.changes == {"config": {"old": {"user.a": "theirs"}, "new": {"user.a": "ours"}}}
    assert [(m, s) for m, _, s in request_log.writes] == [("PATCH", 412), ("PATCH", 200)]
    config = config_of(lxd, profile, "profiles")
    assert config["user.a"] == "ours" and config["user.b"] == "also-theirs"


def test_profile_already_as_declared_after_the_refusal_writes_nothing_more(
    states, lxd, profile, after_get_of, request_log
):
    """Two runs declaring the same profile at once: the one refused finds, from its
    fresh read, what it declared already there; result True, no second write."""
    after_get_of("/profiles/" + profile, lambda: lxd.lxc("profile", "set", profile, "user.a=ours"))
    ret = states.lxdapi.profile_present(name=profile, config={"user.a": "ours"})
    assert ret.result is True, ret.comment
    assert ret.changes == {}
    assert [(m, s) for m, _, s in request_log.writes] == [("PATCH", 412)]


def test_profile_second_refusal_fails_the_state(states, lxd, profile, request_log):
    count = []

    def every_get(method, url, status):
        if method == "GET" and status == 200 and url.endswith("/profiles/" + profile):
            count.append(url)
            lxd.lxc("profile", "set", profile, "user.a", f"theirs-{len(count)}")

    core.API.observers.append(every_get)
    try:
        ret = states.lxdapi.profile_present(name=profile, config={"user.a": "ours"})
    finally:
        core.API.observers.remove(every_get)
    assert ret.result is False
    assert "tried again from a fresh read, after:" in ret.comment
    assert [(m, s) for m, _, s in request_log.writes] == [("PATCH", 412), ("PATCH", 412)]
    assert config_of(lxd, profile, "profiles")["user.a"] == "theirs-2"


def test_module_update_fails_on_a_change_between_get_and_patch(modules, lxd, profile, after_get_of):
    from salt.exceptions import CommandExecutionError

    after_get_of(
        "/profiles/" + profile, lambda: lxd.lxc("profile", "set", profile, "user.a", "theirs")
    )
    with pytest.raises(CommandExecutionError, match="changed by another client"):
        modules.lxdapi.profile_update(profile, config={"user.a": "ours"})
    assert config_of(lxd, profile, "profiles")["user.a"] == "theirs"


def test_racing_writer_never_loses_an_update(states, lxd, container):
    """A second process writes ``user.a`` in a loop while the state converges it: every
    run either wins with the fresh ETag or fails saying the container changed; the value
    LXD ends with is always one of the two writers' and never a stale one."""
    import subprocess
    import sys

    # lxc too writes with If-Match: when our write lands between its GET and its PUT, it
    # is the one refused; it then tries again, as a person would.
    script = (
        "import subprocess, sys\n"
        "for i in range(40):\n"
        "    for attempt in range(20):\n"
        "        if subprocess.run(['lxc', 'config', 'set', sys.argv[1], 'user.a',\n"
        "                          'theirs-%d' % i], capture_output=True).returncode == 0:\n"
        "            break\n"
        "    else:\n"
        "        sys.exit('lxc config set kept failing')\n"
    )
    env = dict(__import__("os").environ, LXD_DIR=lxd.lxd_dir)
    racer = subprocess.Popen([sys.executable, "-c", script, container], env=env)
    outcomes = []
    try:
        while racer.poll() is None:
            ret = states.lxdapi.container_present(name=container, config={"user.a": "ours"})
            outcomes.append(ret)
    finally:
        racer.wait(60)
    assert racer.returncode == 0
    assert outcomes
    for ret in outcomes:
        assert ret.result is True or (
            ret.result is False and "tried again from a fresh read, after:" in ret.comment
        ), ret.comment
    final = config_of(lxd, container)["user.a"]
    assert final == "ours" or final == "theirs-39"
