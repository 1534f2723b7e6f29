"""Beacon for LXD: an event each time an instance changes status (started, stopped,
frozen, created, deleted), for Salt's reactor to act on.

Thin: each interval it reads every instance with one request, through the execution
module (``lxdapi.container_list`` with ``recursion=1``), and compares their statuses with
what it saw the interval before. Configuration (a list of mappings, as every beacon's):

.. code-block:: yaml

    beacons:
      lxdapi:
        - interval: 10                 # seconds between looks (Salt's own option)
        - instances: [web1, web2]      # only these (default: all of the project)
        - emit_at_start: false         # the first look reports every instance (default: no)
        - remote: rack2                # or endpoint, cert, key, server_cert, project...

Each event's tag ends with the instance's name (``salt/beacon/MINION/lxdapi/web1``); its
data: ``instance``, ``old`` and ``new`` (a status, or None when the instance did not
exist or no longer does).
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


# The core is the utils folder beside this file's folder: ``_modules`` -> ``_utils``, a
# synced ``extmods/modules`` -> ``extmods/utils``, an installed ``saltext_lxdapi/modules``
# -> ``saltext_lxdapi/utils``. lxdapi_loader.load() imports it as it is on disk now, so
# after a saltutil.sync_all the next job of a running minion uses the new core.
_HERE = os.path.dirname(os.path.abspath(__file__))
_CORE_FOLDER = os.path.join(
    os.path.dirname(_HERE), "_utils" if os.path.basename(_HERE).startswith("_") else "utils"
)


def _core():
    """lxdapi's core, as the execution module imports it (see there): the beacon's own
    loader does not call ``__virtual__``, so it is imported on first use."""
    if _CORE_FOLDER not in sys.path:
        sys.path.insert(0, _CORE_FOLDER)  # for the first import of the loader
    import lxdapi_loader  # noqa: PLC0415 - on first use, from the folder just put first

    return lxdapi_loader.load(_CORE_FOLDER)


def __virtual__():
    return __virtualname__


def _connection_options():
    """The connection settings a beacon takes, as every lxdapi function does."""
    return _core().CONNECTION_ARGUMENTS


def _options():
    return ("instances", "emit_at_start") + _connection_options() + SALT_OPTIONS


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
        return False, "lxdapi beacon: cannot import the core: {}".format(exc)
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
    return True, "Valid beacon configuration"


def beacon(config):
    """
    Return one event per instance whose status changed since the last look.

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
    wanted = conf.get("instances")
    try:
        listed = __salt__["lxdapi.container_list"](recursion=1, **connection)
    except (CommandExecutionError, SaltInvocationError) as exc:
        log.warning("lxdapi beacon: cannot list the instances: %s", exc)
        return []
    now = {i["name"]: i.get("status") for i in listed if wanted is None or i.get("name") in wanted}
    key = "lxdapi.beacon.statuses." + json.dumps(connection, sort_keys=True, default=str)
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
