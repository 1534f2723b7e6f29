"""Engine ``lxdapi``: every event of one or more LXD or Incus servers, as it happens, on
Salt's event bus (on a minion: sent to its master, where reactors run; on a master: its
own bus).

It holds each server's ``/1.0/events`` websocket (the core's ``lxdapi_events``, on the
``websocket-client`` library) and fires one Salt event per LXD event. Configuration, in
the minion's (or master's) config:

.. code-block:: yaml

    engines:
      - lxdapi:
          servers:                    # default: {local: {}}, this node's lxdapi settings
            local: {}
            rack2: {remote: rack2}    # any connection settings: remote, endpoint,
                                      # cert, key, server_cert, project...
          types: [lifecycle]          # and/or operation, logging
          level: warning              # the lowest level of logging events kept
          projects: "*"               # one name, a list, or "*" (all); default: the
                                      # connection's project
          actions: ["instance-*"]     # globs of the action (default: all)
          tag_prefix: lxdapi
          resync: true                # compare the instances on every (re)connect
          queue_size: 10000           # events held while the bus is slow (the oldest
                                      # are dropped past it, and counted)
          own_window: 10              # seconds after a write of this node to an
                                      # instance during which its events are "own"

Tags: ``<tag_prefix>/<server>/<type>/<action>``, e.g.
``lxdapi/local/lifecycle/instance-stopped``; an operation's action is its class and
status (``task-running``), a log record's its level. The data: ``server``, ``type``,
``action``, ``timestamp`` (the server's), ``project``, ``location``, ``metadata`` (LXD's:
``source``, ``context``, ``requestor``...), ``own`` (true when this node's own writes
caused it: the write journal every lxdapi function of this node keeps, or the requestor
being this node's certificate), ``resync`` (true when found by comparing listings after
a (re)connect rather than streamed) and ``id`` (this node's id). On a minion, Salt sends
the event to the master, where a reactor finds these under ``data['data']`` and the
minion's id as ``data['id']``.

``own`` is a matter of time: an event about a resource this node wrote to in the last
``own_window`` seconds (10 by default) is taken for the effect of that write (LXD 5.0
names no requestor on a local socket's ``instance-updated``). So a change made by hand
to an instance within those seconds of a Salt write to it is marked ``own`` too; an
event that a write of this node caused later than that (a stop that took longer) is not,
and a reactor acts on it once more: an apply that then finds nothing to change writes
nothing, so that goes no further.

A server that is down, refuses the certificate or sends something that is not an event
gives one warning when it starts failing and one when it is back; the engine tries again
every second at first, every 30 s at most. On every (re)connect it compares the
instances with what it saw last (kept in the cachedir, so a restart of the minion loses
nothing either) and fires one event per difference (``resync: true``).
"""

import logging
import os
import re
import sys
import time

log = logging.getLogger(__name__)

__virtualname__ = "lxdapi"

#: The engine's own options; anything else is a connection setting of every server.
OPTIONS = (
    "servers",
    "types",
    "level",
    "projects",
    "actions",
    "tag_prefix",
    "resync",
    "queue_size",
    "own_window",
)

#: Seconds after a write of this node to an instance during which the instance's events
#: are taken for that write's (``own``); see ``own_window``.
OWN_WINDOW = 10


def _boundary():
    """The Salt boundary, with the core beside this file (as the beacon does: the
    engines' loader does not put the utils folders on ``sys.path``)."""
    here = os.path.dirname(os.path.abspath(__file__))
    utils = "_utils" if os.path.basename(here).startswith("_") else "utils"
    folder = os.path.join(os.path.dirname(here), utils)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import lxdapi_loader  # noqa: PLC0415 - on first use, from the folder just put first

    return lxdapi_loader.salt_boundary(__file__, globals())


def __virtual__():
    return __virtualname__


def _servers(servers):
    """``servers`` as ``{name: connection settings}`` (a mapping, or a list of names of
    ``lxdapi:remotes``; ``local`` is this node's own settings)."""
    if servers is None:
        return {"local": {}}
    if isinstance(servers, str):
        servers = [servers]
    if isinstance(servers, list):
        named = {}
        for name in servers:
            if not isinstance(name, str) or not name:
                raise ValueError(f"servers must be names or a mapping, not {servers!r}")
            named[name] = {} if name == "local" else {"remote": name}
        return named
    if not isinstance(servers, dict) or not servers:
        raise ValueError(f"servers must be a mapping of names to settings, not {servers!r}")
    for name, settings in servers.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"a server's name must be a word (it goes in tags), not {name!r}")
        if settings is not None and not isinstance(settings, dict):
            raise ValueError(f"the settings of server {name} must be a mapping, not {settings!r}")
    return {name: dict(settings or {}) for name, settings in servers.items()}


def _projects(projects):
    """``(project for the stream, projects kept or None)``."""
    if projects is None:
        return None, None
    if projects in ("*", "all"):
        return "*", None
    if isinstance(projects, str):
        return projects, None
    if isinstance(projects, list) and projects and all(isinstance(p, str) for p in projects):
        return ("*", set(projects)) if len(projects) > 1 else (projects[0], None)
    raise ValueError(f"projects must be a name, a list of names or '*', not {projects!r}")


def _globs(actions):
    if actions is None:
        return None
    if isinstance(actions, str):
        actions = [actions]
    if not isinstance(actions, list) or not all(isinstance(a, str) and a for a in actions):
        raise ValueError(f"actions must be a list of globs, not {actions!r}")
    return actions


def _firer():
    """``fire(tag, data)``: on a master, its own bus; on a minion, sent to its master
    through the minion (one connection, kept)."""
    import salt.utils.event

    if __opts__.get("__role") == "master":
        bus = salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False)
        return lambda tag, data: bus.fire_event(data, tag)
    bus = salt.utils.event.get_event("minion", opts=__opts__, listen=False)

    def fire(tag, data):
        bus.fire_event({"data": data, "tag": tag, "events": None, "pretag": None}, "fire_master")

    return fire


def _listeners(config, boundary, sink):
    """One :class:`lxdapi_events.Listener` per configured server."""
    import lxdapi as core
    import lxdapi_events
    import lxdapi_salt

    unknown = sorted(set(config) - set(OPTIONS) - set(boundary.connection_arguments))
    if unknown:
        raise ValueError(
            "unknown option(s) {}; the engine takes {} and the connection settings".format(
                ", ".join(unknown), ", ".join(OPTIONS)
            )
        )
    common = {k: v for k, v in config.items() if k not in OPTIONS}
    types = lxdapi_events.check_types(config.get("types"))
    level = str(config.get("level") or "warning").lower()
    if level not in lxdapi_events.LOG_LEVELS:
        raise ValueError(
            f"level must be one of {', '.join(lxdapi_events.LOG_LEVELS)}, not {level!r}"
        )
    project, kept = _projects(config.get("projects"))
    actions = _globs(config.get("actions"))
    resync = config.get("resync", True)
    if not isinstance(resync, bool):
        raise ValueError(f"resync must be true or false, not {resync!r}")
    window = config.get("own_window", OWN_WINDOW)
    if isinstance(window, bool) or not isinstance(window, (int, float)) or window < 0:
        raise ValueError(f"own_window must be a number of seconds, not {window!r}")
    cachedir = __opts__["cachedir"]
    own = lxdapi_events.OwnWrites(lxdapi_salt.write_journal_path(cachedir), window=window)
    config_get, secret_get = __salt__["config.get"], __salt__["sdb.get"]
    listeners = []
    for name, settings in _servers(config.get("servers")).items():
        settings = dict(common, **settings)
        core.resolve_connection(dict(settings), config_get, secret_get)  # bad settings: now

        def make_api(settings=settings):
            return core.connection_api(dict(settings), {}, config_get, secret_get, cachedir)

        listeners.append(
            lxdapi_events.Listener(
                name,
                make_api,
                sink,
                types=types,
                project=project,
                projects=kept,
                actions=actions,
                level=level if "logging" in types else None,
                state_file=os.path.join(cachedir, "lxdapi", "engine", f"{name}.json"),
                own=own,
                resync=resync,
            )
        )
    return listeners


def start(**config):
    """
    Run the engine: hear every configured server's events and fire them on Salt's bus
    (see the module for the configuration, the tags and the data). Salt calls it in a
    process of its own; it returns only when that process is stopped.

    config
        The engine's configuration (``servers``, ``types``, ``level``, ``projects``,
        ``actions``, ``tag_prefix``, ``resync``, ``queue_size``, ``own_window``, and
        connection settings common to every server).

    CLI Example:

    .. code-block:: yaml

        # /etc/salt/minion.d/lxdapi-engine.conf
        engines:
          - lxdapi:
              types: [lifecycle]
              projects: "*"
    """
    boundary = _boundary()
    import lxdapi as core
    import lxdapi_events

    prefix = str(config.get("tag_prefix") or "lxdapi").strip("/")
    try:
        size = int(config.get("queue_size") or 10000)
        if size < 1:
            raise ValueError
    except (TypeError, ValueError):
        return _idle(f"queue_size must be a whole number of events, not {config['queue_size']!r}")
    sink = lxdapi_events.BoundedQueue(size)
    try:
        listeners = _listeners(config, boundary, sink)
    except (ValueError, core.APIException) as exc:
        return _idle(str(exc))
    fire = _firer()
    minion = __opts__.get("id")
    for listener in listeners:
        listener.start()
    reported = 0
    try:
        while True:
            item = sink.get(timeout=1)
            if sink.dropped > reported:
                log.warning(
                    "lxdapi engine: the event bus was slower than the servers: %d event(s) "
                    "dropped so far (queue_size %d)",
                    sink.dropped,
                    size,
                )
                reported = sink.dropped
            if item is None:
                continue
            server, event = item
            try:
                fire(
                    lxdapi_events.event_tag(prefix, server, event),
                    lxdapi_events.event_payload(server, event, minion),
                )
            except Exception:  # a bus that refuses one event must not stop the engine
                log.exception("lxdapi engine: could not fire an event of %s", server)
    finally:
        for listener in listeners:
            listener.stop()


def _idle(problem):
    """A configuration that cannot work: said once, then nothing (Salt would start the
    engine again and again if it returned)."""
    log.error(
        "lxdapi engine: %s; the engine does nothing until its configuration is fixed", problem
    )
    while True:
        time.sleep(3600)
