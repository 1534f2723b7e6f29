"""Shared bits of the ``wait_for`` tests (``test_readiness.py``): a bridge without addresses,
busybox guests whose init gives ``eth0`` an address after a delay, and counts of what the
core sent.

A guest never sends anything anywhere: its bridge has no address (``ipv4.address: none``,
``ipv6.address: none``) and the address its init adds is a documentation one
(``2001:db8::/32``). Imported by ``test_readiness.py`` (pytest puts this folder on
``sys.path``).
"""

import time

from conftest import core
from resources_support import require_firewall_tool, short_name

#: What test bridges are made with: no address, no DHCP, no NAT, no traffic.
NO_ADDRESSES = {"ipv4.address": "none", "ipv6.address": "none"}

#: The address a guest's init adds to eth0 (documentation range, never reached).
GUEST_ADDRESS = "2001:db8::5"

#: Seconds a guest's init waits before it brings eth0 up with :data:`GUEST_ADDRESS`.
GUEST_DELAY = 2


def inittab(*commands):
    """A busybox ``/etc/inittab`` that runs ``commands`` (shell text) once, in order, at boot."""
    return "::once:/bin/sh -c '{}'\n".format("; ".join(commands))


#: eth0 gets :data:`GUEST_ADDRESS` after :data:`GUEST_DELAY` seconds; then ``/tmp/ready``
#: exists and ``ready`` is written to the console.
ADDRESS_LATER = inittab(
    f"sleep {GUEST_DELAY}",
    "ip link set eth0 up",
    f"ip addr add {GUEST_ADDRESS}/64 dev eth0",
    "touch /tmp/ready",
    "echo ready >/dev/console",
)

#: The guest powers itself off (busybox init stops on SIGUSR2) after a second.
POWER_OFF_SOON = inittab("sleep 1", "poweroff")


def make_bridge(lxd):
    """Create a bridge with no addresses (a name of at most 15 characters); return it."""
    require_firewall_tool()
    name = short_name("trd")
    lxd.lxc("network", "create", name, *(f"{k}={v}" for k, v in NO_ADDRESSES.items()))
    return name


def put_file(api, name, path, text, mode="0644"):
    """Write ``text`` to ``path`` in instance ``name`` (straight through the file API)."""
    api.post(
        api.instance_path(name, "files"),
        params={"path": path},
        data=text.encode(),
        headers={api.header("type"): "file", api.header("mode"): mode},
    )


def make_guest(lxd, api, name, network, init=ADDRESS_LATER):
    """A stopped busybox container ``name`` with ``eth0`` on ``network`` and ``init`` as
    its ``/etc/inittab``. The caller deletes it."""
    lxd.lxc("init", "busybox", name)
    lxd.lxc("config", "device", "add", name, "eth0", "nic", "network=" + network, "name=eth0")
    put_file(api, name, "/etc/inittab", init)
    return name


def instance_state(api, name):
    """The instance's ``/state`` as the server gives it."""
    return api.get(api.instance_path(name, "state")).metadata


def has_guest_address(api, name):
    """Whether eth0 of ``name`` shows :data:`GUEST_ADDRESS` in its ``/state``."""
    nic = (instance_state(api, name).get("network") or {}).get("eth0") or {}
    return any(a.get("address") == GUEST_ADDRESS for a in nic.get("addresses") or [])


def settled_stopped(api, name):
    """Whether ``name`` reads as Stopped both as an instance and in its ``/state``. (Just
    after a failed start, Incus 6.0 says Running for half a second, and its ``/state``
    fails with "Invalid PID": a test waits for this before it starts the instance
    again.)"""
    try:
        return held(api, name)["status"] == "Stopped" == instance_state(api, name)["status"]
    except core.APIException:
        return False


def when_idle(call, timeout=10):
    """``call()``, called again while the server refuses it as busy: for a moment after an
    instance stopped by itself, LXD refuses to start it ("Instance is busy running a
    "stop" operation", an internal lock no operation listing shows)."""
    from salt.exceptions import CommandExecutionError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except CommandExecutionError as exc:
            if "is busy running" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def held(api, name):
    """The instance as the server holds it, or None."""
    result = core.get_or_none(api, "instances/" + name)
    return None if result is None else result.metadata


def state_reads(request_log, name):
    """How many GETs of ``name``'s ``/state`` the core sent."""
    suffix = f"/instances/{name}/state"
    return len([u for m, u, _ in request_log if m == "GET" and u.split("?")[0].endswith(suffix)])


def execs(request_log, name=None):
    """The exec POSTs the core sent (to ``name`` only, when given)."""
    part = f"/instances/{name}/exec"
    return [u for u in request_log.execs if name is None or part in u]


def console_marker(api, name, text):
    """Write a line to the console of running ``name`` (what its console buffer shows)."""
    api.post(
        api.instance_path(name, "exec"),
        json={
            "command": ["sh", "-c", f"echo {text} >/dev/console"],
            "wait-for-websocket": False,
            "interactive": False,
            "record-output": False,
        },
    ).wait(30)
