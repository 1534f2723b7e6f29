"""Beacon for LXD: an event each time an instance changes status (started, stopped,
frozen, created, deleted), for Salt's reactor to act on.

It polls: it sees only statuses, and only as they are at each look (a config changed by
hand, a profile edited, a stop and a start within one interval are invisible to it), and
it reacts up to ``interval`` seconds late. For anything but polling, use the events
engine (``_engines/lxdapi.py``): every event of the servers' event streams as it happens,
config changes and who made them included, and the drift-healing reactor recipe.

Thin: each interval it reads every instance with one request, through the execution
module (``lxdapi.container_list`` with ``recursion=1``), and compares their statuses with
what it saw the interval before. Configuration (a list of mappings, as every beacon's):

.. code-block:: yaml

    beacons:
      lxdapi:
        - interval: 10                 # seconds between looks (Salt's own option)
        - instances: [web1, web2]      # only these (default: all of the project)
        - emit_at_start: false         # the first look reports every instance (default: no)
        - warnings: true               # an event per new warning of the server (default: no)
        - remote: rack2                # or endpoint, cert, key, server_cert, project...

Each event's tag ends with the instance's name (``salt/beacon/MINION/lxdapi/web1``); its
data: ``instance``, ``old`` and ``new`` (a status, or None when the instance did not
exist or no longer does).

With ``warnings: true`` the beacon also reads the server's warnings (one more request
per interval, ``lxdapi.warning_list``) and sends an event the first time it sees each
warning whose status is ``new``; once per warning (by its UUID, remembered while the
minion runs): one the server sees again keeps its UUID and sends nothing more. As with
the instances, the first look records the warnings already there and reports none,
unless ``emit_at_start``. The tag ends with ``warning/`` and the warning's UUID
(``salt/beacon/MINION/lxdapi/warning/0c10b517-...``); the data: ``warning`` (the UUID),
``type``, ``severity``, ``status``, ``project``, ``message`` (the server's last one),
``count``, ``first_seen_at``, ``last_seen_at``, ``location``, ``entity_url``.
"""

import json
import logging
import os
import sys

from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "lxdapi"

#: Options every beacon takes, handled by Salt itself.
SALT_OPTIONS = (
    "interval",
    "enabled",
    "disable_during_state_run",
    "run_once",
    "beacon_module",
    "_beacon_name",
)


def _boundary():
    """The Salt boundary, with the core beside this file (see ``_utils/lxdapi_salt.py``),
    on first use: the beacon's own loader does not call ``__virtual__`` and, unlike the
    execution and state loaders, does not put the utils folders on ``sys.path``, so the
    folder beside this one (``_beacons`` -> ``_utils``, a synced ``extmods/beacons`` ->
    ``extmods/utils``, an installed ``saltext_lxdapi/beacons`` ->
    ``saltext_lxdapi/utils``) goes there for the import of its loader."""
    here = os.path.dirname(os.path.abspath(__file__))
    utils = "_utils" if os.path.basename(here).startswith("_") else "utils"
    folder = os.path.join(os.path.dirname(here), utils)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import lxdapi_loader  # noqa: PLC0415 - on first use, from the folder just put first

    return lxdapi_loader.salt_boundary(__file__, globals())


def __virtual__():
    return __virtualname__


def _connection_options():
    """The connection settings a beacon takes, as every lxdapi function does."""
    return _boundary().connection_arguments


def _options():
    return ("instances", "emit_at_start", "warnings") + _connection_options() + SALT_OPTIONS


def _config(config):
    """The beacon's list of mappings as one mapping."""
    merged = {}
    for item in config if isinstance(config, list) else [config]:
        if isinstance(item, dict):
            merged.update(item)
    return merged


def validate(config):
    """
    Check the beacon's configuration: ``(True, message)`` or ``(False, the problem)``.

    config
        The beacon's configuration, a list of mappings.

    CLI Example:

    .. code-block:: bash

        salt '*' beacons.add lxdapi "[{'interval': 10}]"
    """
    if not isinstance(config, list) or not all(isinstance(c, dict) for c in config):
        return False, "lxdapi beacon: the configuration must be a list of mappings"
    merged = _config(config)
    try:
        options = _options()
    except ImportError as exc:
        return False, f"lxdapi beacon: cannot import the core: {exc}"
    unknown = sorted(set(merged) - set(options))
    if unknown:
        return False, "lxdapi beacon: unknown option(s) {}; it takes {}".format(
            ", ".join(unknown), ", ".join(o for o in options if not o.startswith("_"))
        )
    instances = merged.get("instances")
    if instances is not None and (
        not isinstance(instances, list) or not all(isinstance(i, str) and i for i in instances)
    ):
        return False, "lxdapi beacon: instances must be a list of names"
    if not isinstance(merged.get("emit_at_start", False), bool):
        return False, "lxdapi beacon: emit_at_start must be true or false"
    if not isinstance(merged.get("warnings", False), bool):
        return False, "lxdapi beacon: warnings must be true or false"
    return True, "Valid beacon configuration"


def beacon(config):
    """
    Return one event per instance whose status changed since the last look; with
    ``warnings: true``, one per warning the server raised since (see the module).

    config
        The beacon's configuration, a list of mappings (see the module).

    CLI Example:

    .. code-block:: yaml

        beacons:
          lxdapi:
            - interval: 10
    """
    conf = _config(config)
    try:
        names = _connection_options()
    except ImportError as exc:
        log.warning("lxdapi beacon: cannot import the core: %s", exc)
        return []
    connection = {k: conf[k] for k in names if conf.get(k) is not None}
    events = _status_events(conf, connection)
    if conf.get("warnings"):
        events.extend(_warning_events(conf, connection))
    return events


def _context_key(what, connection):
    """Where the beacon remembers ``what`` it saw through ``connection`` (one memory
    per server and project)."""
    return f"lxdapi.beacon.{what}.{json.dumps(connection, sort_keys=True, default=str)}"


def _status_events(conf, connection):
    """An event per instance whose status changed since the last look."""
    wanted = conf.get("instances")
    try:
        listed = __salt__["lxdapi.container_list"](recursion=1, **connection)
    except (CommandExecutionError, SaltInvocationError) as exc:
        log.warning("lxdapi beacon: cannot list the instances: %s", exc)
        return []
    now = {i["name"]: i.get("status") for i in listed if wanted is None or i.get("name") in wanted}
    key = _context_key("statuses", connection)
    before = __context__.get(key)
    __context__[key] = now
    if before is None:
        if not conf.get("emit_at_start"):
            return []
        before = {}
    return [
        {"tag": name, "instance": name, "old": before.get(name), "new": now.get(name)}
        for name in sorted(set(before) | set(now))
        if before.get(name) != now.get(name)
    ]


#: What a warning event carries: ``message`` is the warning's ``last_message``.
WARNING_FIELDS = (
    "type",
    "severity",
    "status",
    "project",
    "count",
    "first_seen_at",
    "last_seen_at",
    "location",
    "entity_url",
)


def _warning_events(conf, connection):
    """An event per warning seen ``new`` for the first time (by its UUID). The UUIDs
    seen are remembered as long as the server lists them."""
    try:
        listed = __salt__["lxdapi.warning_list"](recursion=1, **connection)
    except (CommandExecutionError, SaltInvocationError) as exc:
        log.warning("lxdapi beacon: cannot list the warnings: %s", exc)
        return []
    key = _context_key("warnings", connection)
    seen = __context__.get(key)
    fresh = [w for w in listed if w.get("status") == "new" and w.get("uuid") not in (seen or ())]
    # Forget the UUIDs the server no longer lists (deleted, pruned): the memory stays small.
    present = {w.get("uuid") for w in listed}
    __context__[key] = {u for u in seen or () if u in present} | {w.get("uuid") for w in fresh}
    if seen is None and not conf.get("emit_at_start"):
        return []
    return [
        dict(
            {f: w.get(f) for f in WARNING_FIELDS},
            tag="warning/" + w["uuid"],
            warning=w["uuid"],
            message=w.get("last_message"),
        )
        for w in fresh
    ]
