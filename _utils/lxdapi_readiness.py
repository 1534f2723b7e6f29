"""Ready to use, not just Running: ``wait_for`` conditions on an instance (an address on a
NIC, a command that exits 0 inside it, a VM's agent answering), checked in that order
from its ``/state`` (an exec for the command), polled at a growing interval under one
deadline.

A wait is not a change: a plan carries it in ``waits`` (see :class:`lxdapi_plans.Plan`),
and a state runs it after the writes, on a run with none too; test mode only says it
would wait. A wait that runs out of time raises :class:`NotReady`, naming the condition
and the last thing seen, with the last console lines where the server keeps them.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import dataclasses
import re
import time

from lxdapi import APIException, APINotFoundException, APITimeout
from lxdapi_instances import (
    command_argv,
    instance_action,
    instance_exec,
    instance_get,
    plan_from_listing,
    plan_instance_present,
    plan_instance_status,
    validate_instance_name,
)
from lxdapi_logs import console_tail, with_lines
from lxdapi_values import check_bool, check_name, lxd_devices, normalize_status, planning_status

#: What ``wait_for`` may hold.
WAIT_KEYS = ("address", "exec", "agent", "timeout", "exec_timeout")
ADDRESS_KEYS = ("nic", "family", "scope")
FAMILIES = ("inet", "inet6")
SCOPES = ("global", "link", "local")

#: Seconds a wait may take when ``wait_for`` sets no ``timeout``.
WAIT_TIMEOUT = 60
#: Seconds one ``exec`` probe may run when ``wait_for`` sets no ``exec_timeout``.
EXEC_TIMEOUT = 10
#: The polling interval: the first, how it grows, the longest.
FIRST_INTERVAL, GROWTH, LONGEST_INTERVAL = 0.1, 1.5, 2.0

#: Statuses from which an instance will not become ready by waiting.
DEAD_STATUSES = ("Stopped", "Stopping", "Error", "Aborting")


class NotReady(APITimeout):
    """A ``wait_for`` ran out of time (or its instance stopped): ``error`` names the
    condition waited for and the last thing seen."""


@dataclasses.dataclass(frozen=True)
class WaitFor:
    """A parsed ``wait_for``: see :func:`parse_wait_for`."""

    nic: str = None
    family: str = None
    scope: str = "global"
    command: tuple = None
    agent: bool = False
    timeout: float = WAIT_TIMEOUT
    exec_timeout: float = EXEC_TIMEOUT

    def address_text(self, article=True):
        """``an inet6 global address on eth0`` (without ``an`` unless ``article``)."""
        words = "{}{} address on {}".format(
            (self.family + " ") if self.family else "", self.scope, self.nic
        )
        if not article:
            return words
        return ("an " if words[0] in "aeiou" else "a ") + words

    def describe(self):
        """What is waited for, in words: ``eth0 to have an inet6 global address, then
        [test -e /run/ready] to exit 0 (up to 120 s)``."""
        parts = []
        if self.nic:
            parts.append(self.address_text())
        if self.command:
            parts.append(f"{list(self.command)} to exit 0")
        if self.agent:
            parts.append("the VM agent")
        return "{} (up to {:g} s)".format(", then ".join(parts), self.timeout)


def _seconds(value, what, default):
    if value is None:
        return float(default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"wait_for: {what} must be a number of seconds, not {value!r}")
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"wait_for: {what} must be a number of seconds, not {value!r}") from None
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"wait_for: {what} must be a positive number of seconds, not {value!r}")
    return seconds


def parse_wait_for(value):
    """A :class:`WaitFor` from a state's ``wait_for`` mapping (None for None).

    ``address``: ``{nic: eth0, family: inet|inet6, scope: global|link|local}`` (a NIC
    name alone for any global address on it; ``scope`` defaults to ``global``, ``family``
    to either); ``exec``: a command (argv list, or a string split into words, no shell)
    that must exit 0 inside the instance; ``agent``: True for a VM's agent to answer;
    ``timeout``: seconds for all of them (default 60); ``exec_timeout``: seconds one run
    of the command may take (default 10). ValueError naming what is wrong. A
    :class:`WaitFor` is returned as it is.
    """
    if value is None or isinstance(value, WaitFor):
        return value
    if not isinstance(value, dict):
        raise ValueError(
            "wait_for must be a mapping of conditions ({}), not {!r}".format(
                ", ".join(WAIT_KEYS), value
            )
        )
    unknown = sorted(str(k) for k in value if k not in WAIT_KEYS)
    if unknown:
        raise ValueError(
            "wait_for: unknown condition(s) {}; choose from {}".format(
                ", ".join(unknown), ", ".join(WAIT_KEYS)
            )
        )
    fields = {
        "timeout": _seconds(value.get("timeout"), "timeout", WAIT_TIMEOUT),
        "exec_timeout": _seconds(value.get("exec_timeout"), "exec_timeout", EXEC_TIMEOUT),
    }
    address = value.get("address")
    if address is not None:
        if isinstance(address, str):
            address = {"nic": address}
        if not isinstance(address, dict):
            raise ValueError(
                "wait_for: address must be a NIC name or a mapping of {}, not {!r}".format(
                    ", ".join(ADDRESS_KEYS), address
                )
            )
        unknown = sorted(str(k) for k in address if k not in ADDRESS_KEYS)
        if unknown:
            raise ValueError(
                "wait_for: address: unknown key(s) {}; it takes {}".format(
                    ", ".join(unknown), ", ".join(ADDRESS_KEYS)
                )
            )
        nic = address.get("nic")
        if not isinstance(nic, str) or not re.match(r"^[A-Za-z0-9_.@-]{1,15}$", nic):
            raise ValueError(f"wait_for: address needs the nic's name, such as eth0, not {nic!r}")
        family = address.get("family")
        if family is not None and family not in FAMILIES:
            raise ValueError(f"wait_for: address family must be inet or inet6, not {family!r}")
        scope = address.get("scope", "global")
        if scope not in SCOPES:
            raise ValueError(
                "wait_for: address scope must be one of {}, not {!r}".format(
                    ", ".join(SCOPES), scope
                )
            )
        fields.update(nic=nic, family=family, scope=scope)
    if value.get("exec") is not None:
        try:
            fields["command"] = tuple(command_argv(value["exec"], "wait_for: exec"))
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    if value.get("agent") is not None:
        fields["agent"] = check_bool(value["agent"], "wait_for: agent")
    wait = WaitFor(**fields)
    if not (wait.nic or wait.command or wait.agent):
        raise ValueError("wait_for names no condition: give address, exec or agent")
    return wait


def nic_names(devices):
    """The interface names an instance's NIC devices get inside it (a device's ``name``,
    else its device name)."""
    return sorted(
        {
            str((dev or {}).get("name") or key)
            for key, dev in (devices or {}).items()
            if (dev or {}).get("type") == "nic"
        }
    )


def check_nic(wait, name, devices):
    """ValueError when ``wait`` waits for an address on a NIC the instance will not have
    (``devices``: its expanded devices, as they will be)."""
    if wait is None or not wait.nic or wait.nic == "lo":
        return
    names = nic_names(devices)
    if wait.nic not in names:
        raise ValueError(
            "wait_for: {} has no NIC {} (its NICs: {})".format(
                name, wait.nic, ", ".join(names) or "none"
            )
        )


def _address_seen(state, wait):
    """``(address or None, what was seen)`` on the NIC ``wait`` names, from ``/state``."""
    nic = ((state or {}).get("network") or {}).get(wait.nic)
    if nic is None:
        return None, f"{wait.nic} is not up yet"
    addresses = nic.get("addresses") or []
    for addr in addresses:
        if addr.get("scope") == wait.scope and (wait.family in (None, addr.get("family"))):
            return addr.get("address"), None
    have = ", ".join(
        "{} ({})".format(a.get("address"), a.get("scope")) for a in addresses if a.get("address")
    )
    return None, "no {} yet{}".format(
        wait.address_text(article=False), f" (has {have})" if have else ""
    )


def _agent_seen(state, instance_type):
    """``(True, None)`` when a VM's agent answers (its ``/state`` counts processes)."""
    if instance_type != "virtual-machine":
        return True, None
    if (state or {}).get("processes", -1) >= 0:
        return True, None
    return False, "the VM agent does not answer yet"


class ReadinessWait:
    """The wait a plan carries for one instance (``plan.waits``): :meth:`describe` for
    test mode, :meth:`run` on a real run."""

    def __init__(
        self, name, wait, instance_type="container", clock=time.monotonic, sleep=time.sleep
    ):
        self.name = check_name(name, "name")
        self.wait = wait
        self.instance_type = instance_type
        self.clock = clock
        self.sleep = sleep

    def describe(self):
        """``wait for web1: a global address on eth0 (up to 60 s)``."""
        return f"wait for {self.name}: {self.wait.describe()}"

    def run(self, api):
        """Wait; return what was found (``web1: eth0 has 2001:db8::5 after 3.2 s``).
        :class:`NotReady` when the time runs out."""
        found = wait_ready(api, self.name, self.wait, self.instance_type, self.clock, self.sleep)
        return f"{self.name}: {found}"

    def __repr__(self):
        return f"<ReadinessWait {self.name}: {self.wait.describe()}>"


def _probe(api, name, wait, remaining):
    """Run the probe once: ``(True, None)``, or ``(False, what was seen)``. A probe that
    does not exit in time raises :class:`NotReady` (it may still be running)."""
    limit = max(1, int(min(wait.exec_timeout, max(remaining, 1)) + 0.999))
    try:
        result = instance_exec(api, name, list(wait.command), timeout=limit)
    except APITimeout as exc:
        raise NotReady(error=exc.error) from None
    except APIException as exc:  # a VM agent not up yet, a command not found...
        return False, f"{list(wait.command)} could not run: {exc.error or exc}"
    if result["retcode"] == 0:
        return True, None
    stderr = result["stderr"].decode("utf-8", "replace").strip()
    return False, "{} exited {}{}".format(
        list(wait.command), result["retcode"], ": " + stderr[-500:] if stderr else " (no stderr)"
    )


def wait_ready(api, name, wait, instance_type="container", clock=time.monotonic, sleep=time.sleep):
    """Wait until instance ``name`` meets ``wait`` (a :class:`WaitFor`); return what was
    found, in words (``eth0 has 2001:db8::5 after 3.2 s``).

    Conditions are checked in order (address, exec, agent), each once the one before is
    met, from one ``/state`` read per round (the probe is an exec), polled at an interval
    that grows from 0.1 s to 2 s, all under ``wait.timeout``. Already ready: one
    ``/state`` read (and one probe). Raises :class:`NotReady` naming the condition and
    the last thing seen (with the console's last lines where the server keeps them) when
    the time runs out or the instance stops.
    """
    start = clock()
    deadline = start + wait.timeout
    interval = FIRST_INTERVAL
    found = []
    address_done, exec_done = not wait.nic, not wait.command
    while True:
        try:
            state = api.get(api.instance_path(name, "state")).metadata or {}
        except APINotFoundException:
            raise
        except APIException as exc:  # Incus, while an instance stops: "Invalid PID"
            state = {"status": _status_of(api, name), "unreadable": exc.error}
        seen, waiting_for = None, None
        status = state.get("status")
        if status in DEAD_STATUSES:
            raise _not_ready(api, name, wait, f"{name} is {status}", clock() - start, stopped=True)
        if not address_done:
            address, seen = _address_seen(state, wait)
            if address:
                address_done = True
                found.append(f"{wait.nic} has {address} after {clock() - start:.1f} s")
            else:
                waiting_for = wait.address_text()
        if waiting_for is None and not exec_done:
            ok, seen = _probe(api, name, wait, deadline - clock())
            if ok:
                exec_done = True
                found.append(f"{list(wait.command)} exited 0 after {clock() - start:.1f} s")
            else:
                waiting_for = f"{list(wait.command)} to exit 0"
        if waiting_for is None and wait.agent:
            ok, seen = _agent_seen(state, instance_type)
            if ok:
                found.append(
                    f"the VM agent answers after {clock() - start:.1f} s"
                    if instance_type == "virtual-machine"
                    else "a container has no agent to wait for"
                )
            else:
                waiting_for = "the VM agent"
        if waiting_for is None:
            return "; ".join(found)
        now = clock()
        if now >= deadline:
            raise _not_ready(api, name, wait, f"waiting for {waiting_for}: {seen}", now - start)
        sleep(min(interval, deadline - now))
        interval = min(interval * GROWTH, LONGEST_INTERVAL)


def _status_of(api, name):
    """The instance's status from its own document (when its ``/state`` cannot be read)."""
    return (api.get(api.instance_path(name)).metadata or {}).get("status")


def _not_ready(api, name, wait, what, elapsed, stopped=False):
    if stopped:
        text = f"{what} while waiting for {wait.describe()} after {elapsed:.1f} s"
    else:
        text = f"timed out after {elapsed:.1f} s {what}"
    exc = NotReady(error=text)
    lines = console_tail(api, name)
    if lines:
        with_lines(exc, f"last {len(lines)} console lines of {name}", lines)
    return exc


# -- plans that wait


def expected_devices(api, instance, devices=None, profiles=None):
    """The devices an instance will have once its plan ran: its expanded devices (or,
    for one to create, those of ``profiles``, default ``["default"]``), with the
    declared ``devices`` over them."""
    if instance:
        merged = dict(instance.metadata.get("expanded_devices") or {})
    else:
        merged = {}
        for profile in ["default"] if profiles is None else profiles:
            result = api.get(api.path("profiles", profile))
            merged.update((result.metadata or {}).get("devices") or {})
    for key, dev in lxd_devices(devices or {}).items():
        if dev is None:
            merged.pop(key, None)
        else:
            merged[key] = dev
    return merged


def readiness_wait(
    api, name, wait_for, status, instance=None, devices=None, profiles=None, instance_type=None
):
    """The :class:`ReadinessWait` a plan carries for ``wait_for`` (None when it is
    None), checked before anything is written: the declared ``status`` must be Running
    and an address's NIC must be one the instance will have (``instance``: its
    :class:`lxdapi.APIResult`, False when it is to be created). ValueError otherwise."""
    wait = parse_wait_for(wait_for)
    if wait is None:
        return None
    if status is None or normalize_status(status) != "Running":
        raise ValueError(
            f"wait_for needs status: Running (an instance is ready only once it runs), not {status}"
        )
    if wait.nic:
        check_nic(wait, name, expected_devices(api, instance, devices, profiles))
    if instance:
        instance_type = instance.metadata.get("type") or instance_type
    return ReadinessWait(name, wait, instance_type or "container")


def plan_instance_declared(api, name, spec, listing=None):
    """The plan of a declared instance (what ``container_present`` applies):
    :func:`lxdapi_instances.plan_instance_present` of ``spec`` (an
    :class:`lxdapi_spec.InstanceSpec`), then, when it has a ``wait_for``, a wait until
    the instance is ready to use in the plan's ``waits``, checked against the devices it
    will have (ValueError before any write).

    ``listing``: the run's :class:`lxdapi_batch.InstanceListing`, read instead of a GET
    of the instance; a plan made from it that writes is made again from a fresh GET (see
    :func:`lxdapi_instances.plan_from_listing`).
    """
    if spec.wait_for is None:
        return plan_instance_present(api, name, spec, listing=listing)
    name = validate_instance_name(name)
    return plan_from_listing(
        api, name, listing, lambda current: _present_then_ready(api, name, spec, current)
    )


def _present_then_ready(api, name, spec, current):
    plan = plan_instance_present(api, name, spec, current=current)
    ready = readiness_wait(
        api,
        name,
        spec.wait_for,
        spec.status,
        instance=current,
        devices=spec.devices,
        profiles=spec.profiles,
        instance_type=spec.instance_type,
    )
    plan.waits.append(ready)
    return plan


def plan_instance_running(api, name, wait_for=None, restart=False, timeout=30):
    """:func:`lxdapi_instances.plan_instance_status` to Running (``restart``: restart one
    that already runs), then a wait until it is ready (``wait_for``)."""
    wait = parse_wait_for(wait_for)
    if wait is None:
        return plan_instance_status(api, name, "Running", restart=restart, timeout=timeout)
    instance = instance_get(api, check_name(name, "name"))
    if not instance:
        raise ValueError(f"container {name!r} does not exist on {api.display_endpoint}")
    plan = plan_instance_status(
        api,
        name,
        "Running",
        restart=restart,
        timeout=timeout,
        current=planning_status(instance.metadata.get("status")),
    )
    plan.waits.append(readiness_wait(api, name, wait_for, "Running", instance=instance))
    return plan


def instance_action_ready(api, name, action, wait_for, timeout=30, force=False):
    """:func:`lxdapi_instances.instance_action` (``start`` or ``restart``), then a wait
    until the instance is ready (``wait_for``, checked before anything is sent).
    Returns ``{"changed": bool, "ready": what was found}``; :class:`NotReady` when the
    time runs out."""
    if action not in ("start", "restart"):
        raise ValueError(f"wait_for goes with start or restart, not {action}")
    parse_wait_for(wait_for)
    instance = instance_get(api, check_name(name, "name"))
    if not instance:
        raise ValueError(f"container {name!r} does not exist on {api.display_endpoint}")
    ready = readiness_wait(api, name, wait_for, "Running", instance=instance)
    changed = instance_action(api, name, action, timeout=timeout, force=force, instance=instance)
    return {"changed": changed, "ready": ready.run(api)}
