"""``wait_for``: an instance ready to use, not just Running, against the real daemon; and
what a failed start tells (the server's reason, the request, the last lines of lxc.log),
the log functions, raw text answers and ``container_exec``'s ``timeout``.

The guests are busybox containers on a bridge without addresses; their init gives
``eth0`` the documentation address 2001:db8::5 after two seconds (see
``readiness_support``): a wait for that address has something real to wait for, and no
packet leaves the host. Every test checks what the server holds or says, and what the core
sent (``request_log``): a wait is not a write, and bad input is refused before any.
"""

import re
import shutil
import time
import uuid

import pytest
from readiness_support import (
    GUEST_ADDRESS,
    POWER_OFF_SOON,
    console_marker,
    execs,
    has_guest_address,
    held,
    instance_state,
    make_bridge,
    make_guest,
    settled_stopped,
    state_reads,
    when_idle,
)
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdhost
from resources_support import cleanup  # noqa: F401

INET6_ON_ETH0 = {"address": {"nic": "eth0", "family": "inet6"}}
FAILING_MOUNT = {"raw.lxc": "lxc.mount.entry = /nonexistent/q mnt none bind 0 0"}


@pytest.fixture(scope="module")
def bridge(lxd):
    """A bridge without addresses for this module's guests, deleted after them."""
    name = make_bridge(lxd)
    yield name
    lxd.lxc("network", "delete", name, check=False)


@pytest.fixture(scope="module")
def ready_guest(lxd, bridge):
    """A running guest whose eth0 already has 2001:db8::5 (shared: tests only read it, run
    probes in it or write to its console)."""
    api = lxd.api()
    name = "t-ready-" + uuid.uuid4().hex[:6]
    make_guest(lxd, api, name, bridge)
    try:
        lxd.lxc("start", name)
        assert lxdhost.wait_for(lambda: has_guest_address(api, name), timeout=30)
        yield name
    finally:
        lxd.lxc("delete", "--force", name, check=False)


@pytest.fixture
def guest(lxd, api, bridge, unique_name, cleanup):
    """A stopped guest (eth0 on the bridge, 2001:db8::5 two seconds after it starts),
    deleted at teardown."""
    cleanup(["delete", "--force", unique_name])
    return make_guest(lxd, api, unique_name, bridge)


def timed(call, *args, **kwargs):
    """``(call(*args, **kwargs), seconds it took)``."""
    start = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - start


def ready_text(name, *found):
    """The ``Ready:`` sentence of a state's comment, its times as a pattern."""
    return re.escape("Ready: {}: {}.".format(name, "; ".join(found))).replace(r"TIME", r"\d+\.\d")


# ------------------------------------------------------------------ container_present


def test_present_waits_for_the_address_then_a_rerun_reads_state_once(
    states, api, guest, request_log
):
    declared = dict(name=guest, source="busybox", status="Running", wait_for=INET6_ON_ETH0)
    ret, took = timed(states.lxdapi.container_present, **declared)
    assert ret.result is True, ret.comment
    assert ret.changes == {"status": {"old": "Stopped", "new": "Running"}}
    assert took >= 1.5, took  # the guest's init adds the address two seconds in
    assert re.search(ready_text(guest, f"eth0 has {GUEST_ADDRESS} after TIME s"), ret.comment), (
        ret.comment
    )
    assert has_guest_address(api, guest)

    request_log.clear()
    again, took = timed(states.lxdapi.container_present, **declared)
    assert again.result is True, again.comment
    assert again.changes == {}
    assert again.comment.startswith(f"Container {guest} is already as declared.")
    assert f"Ready: {guest}: eth0 has {GUEST_ADDRESS} after 0." in again.comment
    assert request_log.writes == []
    assert state_reads(request_log, guest) == 1  # already ready: one look at /state
    assert took < 1.5, took


def test_test_mode_says_what_it_would_wait_for_and_runs_nothing(
    states, api, guest, ready_guest, request_log
):
    wait_for = dict(INET6_ON_ETH0, exec=["test", "-e", "/tmp/ready"], timeout=30)
    predicted = states.lxdapi.container_present(
        name=guest, source="busybox", status="Running", wait_for=wait_for, test=True
    )
    assert predicted.result is None, predicted.comment
    assert predicted.changes == {"status": {"old": "Stopped", "new": "Running"}}
    assert (
        f"Would wait for {guest}: an inet6 global address on eth0, then ['test', '-e', "
        "'/tmp/ready'] to exit 0 (up to 30 s)."
    ) in predicted.comment
    assert request_log.writes == [] and execs(request_log) == []
    assert held(api, guest)["status"] == "Stopped"

    # Nothing to change: True, and still no look at /state, no probe.
    request_log.clear()
    unchanged = states.lxdapi.container_running(name=ready_guest, wait_for=wait_for, test=True)
    assert unchanged.result is True, unchanged.comment
    assert unchanged.changes == {}
    assert f"Would wait for {ready_guest}: an inet6 global address on eth0" in (unchanged.comment)
    assert request_log.writes == []
    assert state_reads(request_log, ready_guest) == 0


def test_a_timeout_names_the_condition_what_was_seen_and_the_console(
    states, api, ready_guest, request_log
):
    console_marker(api, ready_guest, "marker-before-timeout")
    request_log.clear()
    ret, took = timed(
        states.lxdapi.container_present,
        name=ready_guest,
        source="busybox",
        status="Running",
        wait_for={"address": {"nic": "eth0", "family": "inet"}, "timeout": 2},
    )
    assert ret.result is False
    assert ret.changes == {}
    assert 2 <= took < 4.5, took
    assert re.search(
        r"Not ready: timed out after 2\.\d s waiting for an inet global address on eth0: "
        rf"no inet global address on eth0 yet \(has {re.escape(GUEST_ADDRESS)} \(global\)",
        ret.comment,
    ), ret.comment
    assert re.search(rf"last \d+ console lines of {ready_guest}:", ret.comment)
    assert "marker-before-timeout" in ret.comment
    assert request_log.writes == []
    assert state_reads(request_log, ready_guest) >= 3  # polled, not looked at once


def test_a_failing_probe_is_retried_then_reported_with_its_stderr(states, ready_guest, request_log):
    probe = ["sh", "-c", "echo not yet >&2; exit 3"]
    ret, took = timed(
        states.lxdapi.container_running,
        name=ready_guest,
        wait_for={"exec": probe, "timeout": 1.5},
    )
    assert ret.result is False
    assert ret.changes == {}
    assert 1.5 <= took < 4, took
    assert re.search(
        r"Not ready: timed out after 1\.\d s waiting for \['sh', '-c', 'echo not yet >&2; "
        r"exit 3'\] to exit 0: \['sh', '-c', 'echo not yet >&2; exit 3'\] exited 3: not yet",
        ret.comment,
    ), ret.comment
    assert len(execs(request_log, ready_guest)) >= 2  # run again until the time ran out


def test_a_probe_that_does_not_exit_fails_after_exec_timeout(states, ready_guest, request_log):
    ret, took = timed(
        states.lxdapi.container_running,
        name=ready_guest,
        wait_for={"exec": "sleep 30", "exec_timeout": 1, "timeout": 30},
    )
    assert ret.result is False
    assert took < 5, took  # at once, not after the 30 s of timeout
    assert f"Not ready: ['sleep', '30'] did not exit within 1 s in {ready_guest}" in (ret.comment)
    assert len(execs(request_log, ready_guest)) == 1


def test_a_guest_that_stops_while_waited_on_fails_fast(
    request, states, modules, api, lxd, bridge, unique_name, cleanup
):
    # Incus 6.0 answers the /state of an instance that is shutting down with a 500
    # "Invalid PID": the wait then reads the instance's own status, and goes on.
    cleanup(["delete", "--force", unique_name])
    make_guest(lxd, api, unique_name, bridge, init=POWER_OFF_SOON)
    ret, took = timed(
        states.lxdapi.container_present,
        name=unique_name,
        source="busybox",
        status="Running",
        wait_for={"address": "eth0", "timeout": 60},
    )
    assert ret.result is False
    assert took < 20, took  # not the 60 s of the timeout
    assert ret.changes == {"status": {"old": "Stopped", "new": "Running"}}  # it did start
    assert lxdhost.wait_for(lambda: settled_stopped(api, unique_name), timeout=10)
    with pytest.raises(CommandExecutionError) as info:
        when_idle(lambda: modules.lxdapi.container_start(unique_name, wait_for={"address": "eth0"}))
    assert lxdhost.wait_for(lambda: settled_stopped(api, unique_name), timeout=10)
    for text in (ret.comment, "Not ready: " + str(info.value)):
        assert re.search(
            rf"Not ready: {re.escape(unique_name)} is Stopped while waiting for a global address "
            r"on eth0 \(up to "
            r"60 s\) after \d+\.\d s",
            text,
        ), text


@pytest.mark.parametrize(
    "declared, expected",
    [
        (dict(wait_for={"adress": "eth0"}), "wait_for: unknown condition(s) adress"),
        (dict(wait_for={"address": "eth0", "timeout": -5}), "positive number of seconds"),
        (dict(wait_for={"address": "eth0", "timeout": 0}), "positive number of seconds"),
        (dict(wait_for={"exec": "true", "exec_timeout": "soon"}), "must be a number of seconds"),
        (
            dict(wait_for={"address": {"nic": "eth0", "family": "ipv6"}}),
            "address family must be inet or inet6, not 'ipv6'",
        ),
        (
            dict(wait_for={"address": {"nic": "eth0", "scope": "universe"}}),
            "address scope must be one of global, link, local",
        ),
        (dict(wait_for={"address": "eth9"}), "has no NIC eth9 (its NICs: eth0)"),
        (dict(wait_for={"exec": []}), "must be a non-empty list of words"),
        (dict(wait_for={"timeout": 5}), "wait_for names no condition"),
        (dict(wait_for="eth0"), "wait_for must be a mapping of conditions"),
        (
            dict(wait_for=INET6_ON_ETH0, status="Stopped"),
            "wait_for needs status: Running",
        ),
        (dict(wait_for=INET6_ON_ETH0, status=None), "wait_for needs status: Running"),
    ],
)
def test_bad_wait_for_is_refused_before_anything_is_written(
    states, api, lxd, bridge, unique_name, request_log, declared, expected
):
    args = dict(
        name=unique_name,
        source="busybox",
        devices={"eth0": {"type": "nic", "network": bridge, "name": "eth0"}},
        status="Running",
    )
    args.update(declared)
    try:
        ret = states.lxdapi.container_present(**args)
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)
    assert ret.result is False
    assert expected in ret.comment, ret.comment
    assert ret.changes == {}
    assert request_log.writes == []
    assert held(api, unique_name) is None  # not created


def test_bad_wait_for_on_an_existing_guest_is_refused_too(states, modules, api, guest, request_log):
    ret = states.lxdapi.container_running(name=guest, wait_for={"address": "eth1"})
    assert ret.result is False
    assert f"wait_for: {guest} has no NIC eth1 (its NICs: eth0)" in ret.comment
    with pytest.raises(SaltInvocationError, match="unknown condition"):
        modules.lxdapi.container_start(guest, wait_for={"nic": "eth0"})
    with pytest.raises(SaltInvocationError, match="positive number of seconds"):
        modules.lxdapi.container_start(guest, wait_for={"agent": True, "timeout": "-1"})
    assert request_log.writes == []
    assert held(api, guest)["status"] == "Stopped"


# ------------------------------------------------------------------ container_running


def test_running_waits_for_the_address_then_the_probe(states, api, guest, request_log):
    wait_for = dict(INET6_ON_ETH0, exec=["test", "-e", "/tmp/ready"], timeout=30)
    ret, took = timed(states.lxdapi.container_running, name=guest, wait_for=wait_for)
    assert ret.result is True, ret.comment
    assert ret.changes == {"status": {"old": "Stopped", "new": "Running"}}
    assert ret.comment.startswith(f"Container {guest} is now Running.")
    assert took >= 1.5, took
    assert re.search(
        ready_text(
            guest,
            f"eth0 has {GUEST_ADDRESS} after TIME s",
            "['test', '-e', '/tmp/ready'] exited 0 after TIME s",
        ),
        ret.comment,
    ), ret.comment
    # The probe runs once the address is there, not at every poll before it.
    assert 1 <= len(execs(request_log, guest)) <= 2, request_log
    assert state_reads(request_log, guest) >= 3

    request_log.clear()
    again = states.lxdapi.container_running(name=guest, wait_for=wait_for)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment.startswith(f"Container {guest} is already Running. Ready:")
    assert state_reads(request_log, guest) == 1
    assert len(execs(request_log, guest)) == 1  # the probe, once
    # The probe's only other requests: the deletion of its recorded output.
    assert all(
        url in execs(request_log, guest) or (method == "DELETE" and "/logs/" in url)
        for method, url, _ in request_log.writes
    ), request_log.writes
    assert instance_state(api, guest)["status"] == "Running"


# ------------------------------------------------------------------ containers_present


def test_containers_present_default_wait_is_for_the_running_ones(
    states, api, lxd, bridge, unique_name, cleanup, request_log
):
    up, down = unique_name + "-up", unique_name + "-down"
    for name in (down, up):
        cleanup(["delete", "--force", name])
        make_guest(lxd, api, name, bridge)
    declared = dict(
        name="pair",
        containers={up: {"status": "Running"}, down: {"status": "Stopped"}},
        defaults={"source": "busybox", "wait_for": dict(INET6_ON_ETH0, timeout=30)},
    )
    ret, took = timed(states.lxdapi.containers_present, **declared)
    assert ret.result is True, ret.comment
    assert ret.changes == {up: {"status": {"old": "Stopped", "new": "Running"}}}
    assert took >= 1.5, took
    assert re.search(ready_text(up, f"eth0 has {GUEST_ADDRESS} after TIME s"), ret.comment), (
        ret.comment
    )
    assert down + ":" not in ret.comment
    assert state_reads(request_log, up) >= 3
    assert state_reads(request_log, down) == 0  # a Stopped one is not waited on
    assert held(api, down)["status"] == "Stopped"

    request_log.clear()
    again = states.lxdapi.containers_present(**declared)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment.startswith("All 2 containers are already as declared. Ready:")
    assert request_log.writes == []
    assert state_reads(request_log, up) == 1 and state_reads(request_log, down) == 0

    # A wait_for of its own on a container declared Stopped is refused, before any write.
    request_log.clear()
    refused = states.lxdapi.containers_present(
        name="pair",
        containers={up: {"status": "Running"}, down: {"status": "Stopped", "wait_for": {}}},
        defaults={"source": "busybox"},
    )
    assert refused.result is False
    assert f"container {down}: wait_for" in refused.comment, refused.comment
    refused = states.lxdapi.containers_present(
        name="pair", containers=[up], defaults={"wait_for": {"adress": "eth0"}}
    )
    assert refused.result is False
    assert "defaults: wait_for: unknown condition(s) adress" in refused.comment
    assert request_log.writes == []


# ------------------------------------------------------- container_start / _restart


def test_start_and_restart_with_wait_for_say_what_they_found(modules, api, guest, request_log):
    wait_for = dict(INET6_ON_ETH0, timeout=30)
    started, took = timed(modules.lxdapi.container_start, guest, wait_for=wait_for)
    assert set(started) == {"changed", "ready"}
    assert started["changed"] is True
    assert re.fullmatch(
        rf"{re.escape(guest)}: eth0 has {re.escape(GUEST_ADDRESS)} after \d+\.\d s",
        started["ready"],
    ), started
    assert took >= 1.5, took
    pid = instance_state(api, guest)["pid"]

    request_log.clear()
    again = modules.lxdapi.container_start(guest, wait_for=wait_for)
    assert again["changed"] is False
    assert again["ready"].startswith(f"{guest}: eth0 has {GUEST_ADDRESS} after 0.")
    assert request_log.writes == [] and state_reads(request_log, guest) == 1

    restarted, took = timed(
        modules.lxdapi.container_restart,
        guest,
        wait_for={"address": "eth0", "exec": "test -e /tmp/ready", "agent": True},
    )
    assert restarted["changed"] is True
    assert re.fullmatch(
        rf"{re.escape(guest)}: eth0 has {re.escape(GUEST_ADDRESS)} after \d+\.\d s; \['test', "
        r"'-e', '/tmp/ready'\] exited 0 after "
        r"\d+\.\d s; a container has no agent to wait for",
        restarted["ready"],
    ), restarted
    assert took >= 1.5, took  # the address is gone with the restart, and comes back later
    assert instance_state(api, guest)["pid"] != pid

    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_restart(
            guest, wait_for={"address": {"nic": "eth0", "family": "inet"}, "timeout": 1}
        )
    assert "timed out after 1." in str(info.value)
    assert "waiting for an inet global address on eth0" in str(info.value)


# ------------------------------------------------------------ diagnostics of a failure


def _check_start_failure(text, name):
    """``text`` says why the start failed: the server's reason first, then the request,
    then the last lines of the container's lxc.log."""
    first = text.splitlines()[0]
    assert first.startswith("Failed to"), text
    assert f"(PUT /1.0/instances/{name}/state, operation " in first, text
    assert "unix.socket" not in first and "http" not in first
    assert re.search(rf"last \d+ lines of {re.escape(name)}'s lxc\.log:", text), text
    assert text.index("(PUT ") < text.index("'s lxc.log:") < text.index("Failed to mount")


def test_a_failed_start_carries_the_reason_and_the_lxc_log(
    states, modules, api, lxd, unique_name, cleanup
):
    cleanup(["delete", "--force", unique_name])
    ret = states.lxdapi.container_present(
        name=unique_name, source="busybox", config=FAILING_MOUNT, status="Running"
    )
    assert ret.result is False
    assert ret.comment.startswith(unique_name + ": "), ret.comment
    _check_start_failure(ret.comment[len(unique_name) + 2 :], unique_name)
    assert "(made before the failure: instance)" in ret.comment
    assert set(ret.changes) == {"instance"}  # created, not started
    assert lxdhost.wait_for(lambda: settled_stopped(api, unique_name), timeout=10)

    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_start(unique_name)
    _check_start_failure(str(info.value), unique_name)
    assert lxdhost.wait_for(lambda: settled_stopped(api, unique_name), timeout=10)
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_start(unique_name, wait_for={"agent": True})
    _check_start_failure(str(info.value), unique_name)
    assert lxdhost.wait_for(lambda: settled_stopped(api, unique_name), timeout=10)

    ret = states.lxdapi.container_running(name=unique_name)
    assert ret.result is False
    _check_start_failure(ret.comment[len(unique_name) + 2 :], unique_name)

    # The log functions read the same log.
    assert "lxc.log" in modules.lxdapi.container_log_list(unique_name)
    log_text = modules.lxdapi.container_log_get(unique_name)
    assert "Failed to mount" in log_text
    last_two = modules.lxdapi.container_log_get(unique_name, lines=2).splitlines()
    # The server may append to the log between two reads (liblxc's own late lines):
    # the tail is two lines of the log as a read right after it shows them.
    after = [ln.rstrip() for ln in modules.lxdapi.container_log_get(unique_name).splitlines()]
    assert len(last_two) == 2 and all(line in after for line in last_two), (last_two, after)
    assert modules.lxdapi.container_log_get(unique_name, "lxc.log", lines=0) == ""

    # A raw GET of a log answers its text, as the server sent it.
    raw = modules.lxdapi.get(f"instances/{unique_name}/logs/lxc.log")
    assert isinstance(raw, str) and "Failed to mount" in raw
    direct = api.get(api.instance_path(unique_name, "logs", "lxc.log")).response.content
    assert direct.decode().startswith(raw)  # read after it: the server may have appended
    listed = modules.lxdapi.get(f"instances/{unique_name}/logs")  # JSON: metadata
    assert sorted(url.rsplit("/", 1)[-1] for url in listed) == (
        modules.lxdapi.container_log_list(unique_name)
    )


def test_a_start_refused_before_liblxc_runs_says_there_is_no_log(
    states, api, lxd, unique_name, cleanup
):
    source = lxdhost.make_base_dir("lxdapi-gone-", dir="/tmp")
    cleanup(["delete", "--force", unique_name])
    lxd.lxc("init", "busybox", unique_name)
    lxd.lxc("config", "device", "add", unique_name, "d", "disk", "source=" + source, "path=/mnt")
    shutil.rmtree(source)
    ret = states.lxdapi.container_running(name=unique_name)
    assert ret.result is False
    assert ret.changes == {}
    first = ret.comment.splitlines()[0]
    assert "Missing source path" in first, ret.comment
    assert first.index("Missing source path") < first.index(
        f"(PUT /1.0/instances/{unique_name}/state, operation "
    )
    assert f"({unique_name} has no lxc.log on " in ret.comment
    assert held(api, unique_name)["status"] == "Stopped"


def test_errors_give_the_servers_reason_then_the_request(modules, unique_name):
    missing = unique_name + "-nope"
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.get("instances/" + missing)
    text = str(info.value)
    assert re.fullmatch(
        rf".*Instance not found \(GET /1\.0/instances/{re.escape(missing)}\)", text
    ), text
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.container_log_list(missing)
    assert f"(GET /1.0/instances/{missing}/logs)" in str(info.value)
    with pytest.raises(SaltInvocationError, match="a log file name is a name such as lxc.log"):
        modules.lxdapi.container_log_get(missing, "../../etc/passwd")


# ------------------------------------------------------------------ console, exec timeout


def test_the_console_log_is_read_and_redacted(modules, api, ready_guest):
    console_marker(api, ready_guest, "first-line")
    console_marker(api, ready_guest, "db_password=hunter2")
    console_marker(api, ready_guest, "last-line")
    # One read: reading the console empties it on both servers.
    text = modules.lxdapi.container_console_log(ready_guest)
    assert "first-line" in text and "last-line" in text
    assert "db_password=**redacted**" in text
    assert "hunter2" not in text


def test_the_console_log_tail(modules, api, ready_guest):
    console_marker(api, ready_guest, "one-line")
    console_marker(api, ready_guest, "another-line")
    assert modules.lxdapi.container_console_log(ready_guest, lines=1) == "another-line"


def test_container_exec_timeout(states, modules, ready_guest):
    ret, took = timed(
        states.lxdapi.container_exec, "sleep", container=ready_guest, command="sleep 30", timeout=1
    )
    assert ret.result is False
    assert took < 5, took
    assert f"['sleep', '30'] did not exit within 1 s in {ready_guest}" in ret.comment
    assert ret.changes == {}

    with pytest.raises(CommandExecutionError, match="did not exit within 1 s"):
        modules.lxdapi.container_exec(ready_guest, ["sleep", "30"], timeout=1)
    quick = modules.lxdapi.container_exec(ready_guest, ["echo", "hi"], timeout=5)
    assert quick == {"retcode": 0, "stdout": "hi\n", "stderr": ""}
    with pytest.raises(SaltInvocationError, match="positive number of seconds"):
        modules.lxdapi.container_exec(ready_guest, ["true"], timeout=0)
    refused = states.lxdapi.container_exec("t", container=ready_guest, command="true", timeout=-1)
    assert refused.result is False
    assert "timeout must be a positive number of seconds" in refused.comment
