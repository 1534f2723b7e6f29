"""State module for LXD through its REST API: ``lxdapi.container_present`` in an SLS.

Thin: every state asks the core (``_utils/lxdapi.py``) for a :class:`Plan` (the changes
and the writes that make them), then :func:`_converge` turns it into the one ret shape:

- nothing to do: ``result: True``, no changes, and no write sent;
- ``test=True``: ``result: None``, the changes a real run would make, nothing written;
- otherwise the writes are sent (with If-Match where the plan read an ETag) and the
  changes reported as ``{old, new}`` per key;
- a refused write or failed operation: ``result: False`` and LXD's error in the comment.

Connection settings are the execution module's (``remote``, ``endpoint``, ``project``...).
"""

import collections.abc
import logging
import os
import sys

import salt.exceptions
import salt.utils.args
import salt.utils.templates

# The core is the utils folder beside this file's folder: ``_modules`` -> ``_utils``, a
# synced ``extmods/modules`` -> ``extmods/utils``, an installed ``saltext_lxdapi/modules``
# -> ``saltext_lxdapi/utils``. lxdapi_loader.load() imports it as it is on disk now, so
# after a saltutil.sync_all the next job of a running minion uses the new core.
_HERE = os.path.dirname(os.path.abspath(__file__))
_CORE_FOLDER = os.path.join(
    os.path.dirname(_HERE), "_utils" if os.path.basename(_HERE).startswith("_") else "utils"
)
try:
    if _CORE_FOLDER not in sys.path:
        sys.path.insert(0, _CORE_FOLDER)  # for the first import of the loader
    import lxdapi_loader

    lxdapi_loader.load(_CORE_FOLDER)
    import lxdapi as core
    import lxdapi_backups
    import lxdapi_batch
    import lxdapi_cluster
    import lxdapi_files
    import lxdapi_images
    import lxdapi_inside
    import lxdapi_instances
    import lxdapi_kinds
    import lxdapi_plans
    import lxdapi_preseed
    import lxdapi_readiness
    import lxdapi_reconcile
    import lxdapi_server
    import lxdapi_trust
    import lxdapi_values
    import lxdapi_volumes
    import lxdapi_warnings
except ImportError as exc:  # the core not synced, or a library it needs missing
    core = None
    IMPORT_ERROR = f"lxdapi: cannot import the core: {exc}"
else:
    IMPORT_ERROR = None

log = logging.getLogger(__name__)

__virtualname__ = "lxdapi"


def __virtual__():
    if IMPORT_ERROR:
        return (False, IMPORT_ERROR)
    if "lxdapi.request" not in __salt__:
        return (False, "lxdapi: the lxdapi execution module did not load")
    return __virtualname__


# ------------------------------------------------------------------ the one ret shape


def _ret(name):
    return {"name": name, "result": True, "comment": "", "changes": {}}


def _api(kwargs):
    """The cached :class:`API` for a state's connection kwargs (see the module doc)."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    return core.connection_api(
        kwargs,
        __context__,
        __salt__["config.get"],
        __salt__["sdb.get"],
        __opts__.get("cachedir"),
    )


def _fail(ret, message):
    ret["result"] = False
    ret["comment"] = message
    return ret


def _internal_error(where, exc):
    """Log the traceback of an unexpected exception (a bug in lxdapi) and return the
    comment that reports it: the state, the exception, and where its traceback is."""
    log.exception("lxdapi: internal error in %s", where)
    return (
        f"lxdapi internal error in {where}: {type(exc).__name__}: {exc} (a bug, not bad input; its "
        "traceback is "
        "in the minion log)"
    )


def _words(words, plan):
    """A comment given as text, or as ``words(plan)``."""
    return words(plan) if callable(words) else words


def _failure(name, plan, exc):
    """The comment of a plan whose writes failed: what LXD said, and what went through."""
    message = f"{name}: {exc}"
    sent = getattr(plan, "sent", None) or []
    if len(sent) < len(plan.writes):
        made = plan.applied_changes()
        if made:
            message += " (made before the failure: {})".format(", ".join(made))
        elif sent:
            message += " (some writes went through before the failure)"
    return message


def _converge(name, kwargs, make_plan, done, unchanged, would=None, failed=None):
    """The one path of every state: build the plan, then report, predict or apply it.

    ``kwargs``: the state's connection settings (any other argument is refused);
    ``make_plan(api)`` returns a :class:`lxdapi_plans.Plan` (or an object that behaves as
    one: ``writes``, ``changes``, ``notes``, ``apply``, ``applied_changes``). The comments,
    each a text or a callable given the plan: ``done`` after a run that changed something,
    ``unchanged`` when there was nothing to do, ``would`` in test mode (default "Would
    have: " and ``done``); ``failed(plan, exc)`` words a failure of its writes.

    Bad input (ValueError) and what LXD refuses become ``result: False`` with a comment
    naming the problem; anything else is a bug, reported as such with its traceback in
    the minion log. Never a traceback in the ret.
    """
    ret = _ret(name)
    connection, unexpected = _connection_args(kwargs)
    try:
        if unexpected:
            raise ValueError("unexpected argument(s): {}".format(", ".join(unexpected)))
        api = _api(connection)
        plan = make_plan(api)
    except core.APIException as exc:
        return _fail(ret, str(exc))
    except (ValueError, OSError) as exc:
        return _fail(ret, f"{name}: {exc}")
    except Exception as exc:  # a bug, not bad input
        return _fail(ret, _internal_error(name, exc))
    notes = list(plan.notes)
    waits = list(getattr(plan, "waits", None) or ())
    if __opts__.get("test") and waits:
        notes.append("Would {}.".format("; ".join(w.describe() for w in waits)))
    if not plan.writes:
        ret["comment"] = " ".join([_words(unchanged, plan)] + notes)
        return _await(ret, api, waits) if waits and not __opts__.get("test") else ret
    if __opts__.get("test"):
        ret["result"] = None
        ret["changes"] = core.redact(plan.changes)  # no password or key in a report
        text = _words(would, plan) if would else "Would have: " + _words(done, plan)
        ret["comment"] = " ".join([text] + notes)
        return ret
    try:
        plan.apply(api)
    except (core.APIException, OSError) as exc:
        # What went through before the failure is reported, and only that.
        ret["changes"] = core.redact(plan.applied_changes())
        return _fail(ret, failed(plan, exc) if failed else _failure(name, plan, exc))
    except Exception as exc:  # a bug, not bad input
        ret["changes"] = core.redact(plan.applied_changes())
        return _fail(ret, _internal_error(name, exc))
    ret["changes"] = core.redact(plan.changes)
    ret["comment"] = " ".join([_words(done, plan)] + list(plan.notes))  # applying may add
    return _await(ret, api, waits) if waits else ret


def _await(ret, api, waits):
    """Run a plan's waits (after its writes, or on a run with none): what was found goes
    in the comment; a wait that fails makes the state fail, naming what it waited for
    and what it saw (the changes made stay reported). Not a change either way."""
    found = []
    try:
        for wait in waits:
            found.append(wait.run(api))
    except (core.APIException, OSError) as exc:
        ret["result"] = False
        ret["comment"] = " ".join(part for part in (ret["comment"], f"Not ready: {exc}") if part)
        return ret
    except Exception as exc:  # a bug, not bad input
        ret["result"] = False
        ret["comment"] = _internal_error(ret["name"], exc)
        return ret
    ret["comment"] = " ".join(
        part for part in (ret["comment"], "Ready: {}.".format("; ".join(found))) if part
    )
    return ret


def _connection_args(kwargs):
    """A state's connection kwargs, and the sorted names of any other (unexpected) ones."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    kwargs.pop("aggregate", None)  # Salt's own keyword (see mod_aggregate), passed on to us
    allowed = set(core.CONNECTION_ARGUMENTS)
    unexpected = sorted(k for k in kwargs if k not in allowed)
    return {k: v for k, v in kwargs.items() if k in allowed}, unexpected


def _created(plan, key):
    """True when ``plan`` creates what its change ``key`` names."""
    return key in plan.changes and plan.changes[key]["old"] is None


def _cache_file(url):
    """A local copy of a fileserver URL (``cp.cache_file`` in the state's saltenv), or
    a false value when it cannot be fetched."""
    return __salt__["cp.cache_file"](url, saltenv=globals().get("__env__", "base"))


def _fileserver_path(source, what="source"):
    """A local path for ``source``: a ``salt://`` URL is fetched with ``cp.cache_file``;
    anything else is returned as it is."""
    if isinstance(source, str) and source.startswith("salt://"):
        cached = _cache_file(source)
        if not cached:
            raise ValueError(f"{what} {source} was not found on the fileserver")
        return cached
    return source


# ---- resources ----
#
# Profiles, networks, storage pools and volumes, projects, snapshots and files. Each
# state is a few lines: the core's plan (plan_resource_present/absent, plan_snapshot_*,
# plan_file_managed) handed to _converge. Every state also takes ``project=`` and the
# other connection settings (``remote``, ``endpoint``, ...).


def _resource_converge(name, what, make_plan, kwargs, created_key=None):
    """:func:`_converge` for one resource, with comments that name it.

    ``what`` names the resource (``Profile 'web'``); ``created_key`` is the plan's change
    key that marks a creation (None for an absent state).
    """
    if created_key is None:
        return _converge(
            name,
            kwargs,
            make_plan,
            f"{what} deleted.",
            f"{what} is already absent.",
        )
    return _converge(
        name,
        kwargs,
        make_plan,
        lambda plan: "{} {}.".format(what, "created" if _created(plan, created_key) else "updated"),
        f"{what} is already as declared.",
    )


def _present(
    kind,
    name,
    declared,
    kwargs,
    purge_config=False,
    purge_devices=False,
    member_config=None,
    **url_params,
):
    return _resource_converge(
        name,
        f"{lxdapi_kinds.resource_kind(kind).title} {name!r}",
        lambda api: lxdapi_reconcile.plan_resource_present(
            api,
            kind,
            name,
            declared,
            purge_config,
            purge_devices,
            member_config=member_config,
            **url_params,
        ),
        kwargs,
        created_key=kind,
    )


def _absent(kind, name, kwargs, **url_params):
    return _resource_converge(
        name,
        f"{lxdapi_kinds.resource_kind(kind).title} {name!r}",
        lambda api: lxdapi_reconcile.plan_resource_absent(api, kind, name, **url_params),
        kwargs,
    )


def profile_present(
    name,
    config=None,
    devices=None,
    description=None,
    purge_config=False,
    purge_devices=False,
    **kwargs,
):
    """
    Ensure a profile exists with the declared config keys, devices and description.

    Config keys and devices not declared are left alone unless ``purge_config`` /
    ``purge_devices``; values are compared as LXD stores them (strings). Changes are
    written with If-Match.

    name
        The profile's name.

    config
        A mapping of config keys; None: not managed.

    devices
        A mapping of device name to device (each with a ``type``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove config keys that are not declared (default False).

    purge_devices
        Remove devices that are not declared (default False).

    kwargs
        ``project`` and the other connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        web:
          lxdapi.profile_present:
            - config:
                limits.cpu: 2
            - devices:
                data:
                  type: disk
                  pool: default
                  source: data1
                  path: /srv
    """
    declared = {"config": config, "devices": devices, "description": description}
    return _present("profile", name, declared, kwargs, purge_config, purge_devices)


def profile_absent(name, **kwargs):
    """
    Ensure a profile does not exist. Refuses (result False, naming them) while
    instances use it.

    name
        The profile's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-profile:
          lxdapi.profile_absent
    """
    return _absent("profile", name, kwargs)


def network_present(
    name,
    type="bridge",
    config=None,
    description=None,
    purge_config=False,
    member_config=None,
    **kwargs,
):
    """
    Ensure a managed network exists with the declared config keys and description.

    Only declared config keys are compared (LXD fills in others). A different ``type``
    than the existing network's is reported in the comment, never acted on.

    name
        The network's name (an interface name: at most 15 characters).

    type
        The network type (default ``bridge``); only used at creation.

    config
        A mapping of config keys (``ipv4.address``, ``ipv6.address``...); None: not
        managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    member_config
        On an LXD cluster: each member's own keys, ``{member: {key: value}}`` (``parent``,
        ``bridge.external_interfaces``, ``bgp.ipv4.nexthop``, ``bgp.ipv6.nexthop``);
        member-specific keys in ``config`` go to every member, this overrides them per
        member. On a cluster the creation is LXD's two steps (a pending entry on each
        member, then the creation everywhere), and a creation that stopped half-way
        (``Pending`` or ``Errored``) is finished.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        br1:
          lxdapi.network_present:
            - config:
                ipv4.address: none
                ipv6.address: none

        lan:
          lxdapi.network_present:
            - type: macvlan
            - member_config:
                node1: {parent: eth1}
                node2: {parent: eno2}
    """
    declared = {"type": type, "config": config, "description": description}
    return _present("network", name, declared, kwargs, purge_config, member_config=member_config)


def network_absent(name, **kwargs):
    """
    Ensure a managed network does not exist. Refuses (result False, naming them) while
    instances or profiles use it.

    name
        The network's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        br1:
          lxdapi.network_absent
    """
    return _absent("network", name, kwargs)


def storage_pool_present(
    name, driver, config=None, description=None, purge_config=False, member_config=None, **kwargs
):
    """
    Ensure a storage pool exists with the declared config keys and description.

    Only declared config keys are compared (LXD adds its own, such as ``source``). A
    different ``driver`` or ``source`` than the existing pool's is reported in the
    comment, never acted on (nothing is destroyed).

    name
        The pool's name.

    driver
        The storage driver (``dir``, ``btrfs``, ``lvm``, ``zfs``...); only used at
        creation.

    config
        A mapping of config keys; None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    member_config
        On an LXD cluster: each member's own keys, ``{member: {key: value}}`` (``source``,
        ``size``, ``zfs.pool_name``, ``lvm.vg_name``...);
        member-specific keys in ``config`` go to every member, this overrides them per
        member. On a cluster the creation is LXD's two steps (a pending entry on each
        member, then the creation everywhere), and a creation that stopped half-way
        (``Pending`` or ``Errored``) is finished.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data:
          lxdapi.storage_pool_present:
            - driver: dir
            - config:
                source: /srv/lxd-data

        data-on-cluster:
          lxdapi.storage_pool_present:
            - driver: dir
            - member_config:
                node1: {source: /srv/a}
                node2: {source: /srv/b}
    """
    declared = {"driver": driver, "config": config, "description": description}
    return _present(
        "storage_pool", name, declared, kwargs, purge_config, member_config=member_config
    )


def storage_pool_absent(name, **kwargs):
    """
    Ensure a storage pool does not exist. Refuses (result False, naming them) while
    volumes, instances or profiles use it.

    name
        The pool's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data:
          lxdapi.storage_pool_absent
    """
    return _absent("storage_pool", name, kwargs)


def storage_volume_present(
    pool,
    name,
    type="custom",
    config=None,
    content_type=None,
    description=None,
    purge_config=False,
    source=None,
    **kwargs,
):
    """
    Ensure a storage volume exists in ``pool`` with the declared config and description.

    A different ``content_type`` than the existing volume's is reported in the comment,
    never acted on. With ``source``, a missing volume is made as a copy of another one
    (its data, snapshots, config and description, the declared ones over them); on
    another server, that server must listen on HTTPS, and this one pulls the volume
    from it. An existing volume is never copied again (``source`` is then a note).

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type (default ``custom``, the only one LXD creates).

    config
        A mapping of config keys (``size``, ``user.*``...); None: not managed.

    content_type
        ``filesystem`` or ``block``; only used at creation (LXD's default: filesystem).

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    source
        Create a missing volume as a copy of this one: a mapping of ``pool`` and
        ``name``, and optionally ``remote`` (the server it is on: a remote's name,
        ``lxdapi:remotes:NAME``, or a mapping of connection settings; default: this
        server), ``volume_only`` (True: without its snapshots) and ``source_url`` (the
        URL this server reaches that one at; default: its first HTTPS address). Only
        custom volumes; only used at creation.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data1:
          lxdapi.storage_volume_present:
            - pool: default
            - config:
                user.owner: web

        data1-clone:
          lxdapi.storage_volume_present:
            - pool: default
            - source:
                pool: default
                name: data1

        data1-from-rack2:
          lxdapi.storage_volume_present:
            - pool: default
            - source:
                pool: default
                name: data1
                remote: rack2
    """
    declared = {"config": config, "content_type": content_type, "description": description}
    if source is None:
        return _present(
            "storage_volume", name, declared, kwargs, purge_config, pool=pool, type=type
        )

    def make_plan(api):
        remote = source.get("remote") if isinstance(source, dict) else None
        return lxdapi_volumes.plan_volume_present(
            api,
            pool,
            name,
            declared,
            purge_config,
            source=source,
            source_api=(
                None
                if remote is None
                else _api(core.destination_arguments(remote, "source remote"))
            ),
            volume_type=type,
        )

    return _resource_converge(
        name,
        "{} {!r}".format(lxdapi_kinds.resource_kind("storage_volume").title, name),
        make_plan,
        kwargs,
        created_key="storage_volume",
    )


def storage_volume_absent(pool, name, type="custom", **kwargs):
    """
    Ensure a storage volume does not exist. Refuses (result False, naming them) while
    instances use it.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type (default ``custom``).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data1:
          lxdapi.storage_volume_absent:
            - pool: default
    """
    return _absent("storage_volume", name, kwargs, pool=pool, type=type)


def storage_volume_snapshot_present(pool, volume, name, description=None, **kwargs):
    """
    Ensure a snapshot of a custom storage volume exists (taken when missing; an existing
    one is never taken again), with the declared description.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    description
        The description; None: not managed.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.storage_volume_snapshot_present:
            - pool: default
            - volume: data1
    """
    return _present(
        "storage_volume_snapshot",
        name,
        {"description": description},
        kwargs,
        pool=pool,
        volume=volume,
    )


def storage_volume_snapshot_absent(pool, volume, name, **kwargs):
    """
    Ensure a snapshot of a custom storage volume does not exist.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.storage_volume_snapshot_absent:
            - pool: default
            - volume: data1
    """
    return _absent("storage_volume_snapshot", name, kwargs, pool=pool, volume=volume)


def _volume_moved(name, plan):
    """The comment of a volume's move: from where to where."""
    changes = plan.changes
    pools = changes.get("pool") or {}
    servers = changes.get("server") or {}
    if not servers:
        return "Storage volume {!r} moved from pool {} to pool {}.".format(
            name, pools["old"], pools["new"]
        )
    return "Storage volume {!r} moved from {} to {}{}.".format(
        name,
        servers["old"],
        servers["new"],
        " (pool {} to pool {})".format(pools["old"], pools["new"]) if pools else "",
    )


def storage_volume_moved(name, pool, to_pool=None, to=None, source_url=None, **connection):
    """
    Ensure a custom storage volume is in pool ``to_pool`` or on server ``to`` (or both).
    A volume already there is left alone (run after run, nothing is sent); otherwise it
    moves, and the original is deleted only once the destination holds it.

    To another pool of the same server it is LXD's move (the instances and profiles
    using it follow it), refused while a running instance uses the volume. To another
    server the destination pulls it (with its snapshots) from this server over HTTPS,
    then this server's is deleted; this server must listen on HTTPS
    (``core.https_address``), and nothing may use the volume here.

    name
        The volume's name.

    pool
        The pool it is in now (on this server).

    to_pool
        The pool it goes to (default ``pool``, which needs ``to``).

    to
        The destination server: a remote's name (``lxdapi:remotes:NAME``) or a mapping
        of connection settings (``endpoint``, ``cert``, ``key``, ``server_cert``...).
        None: this server.

    source_url
        The URL the destination reaches this server at (default: its first HTTPS
        address).

    connection
        This server's connection settings (``remote``, ``endpoint``, ``project``...).

    CLI Example:

    .. code-block:: yaml

        data1:
          lxdapi.storage_volume_moved:
            - pool: default
            - to_pool: fast

        data2:
          lxdapi.storage_volume_moved:
            - pool: default
            - to: rack2
    """
    return _converge(
        name,
        connection,
        lambda api: lxdapi_volumes.plan_volume_migrated(
            api,
            pool,
            name,
            to_pool=to_pool,
            target_api=None if to is None else _api(core.destination_arguments(to)),
            source_url=source_url,
        ),
        lambda plan: _volume_moved(name, plan),
        f"Storage volume {name!r} is already where declared.",
    )


def network_acl_present(
    name, ingress=None, egress=None, config=None, description=None, purge_config=False, **kwargs
):
    """
    Ensure a network ACL exists with the declared rules, config keys and description.

    Rule lists are compared whole and in order (a rule is compared by the fields it
    sets); a list that is None is not managed. Updates are a PUT of the whole ACL with
    If-Match (LXD 5.0.2's PATCH of an ACL loses what it leaves out).

    name
        The ACL's name.

    ingress
        The ingress rules, a list of mappings: ``action`` (allow, reject, drop),
        ``state`` (enabled, disabled, logged), and ``source``, ``destination``,
        ``protocol``, ``source_port``, ``destination_port``, ``icmp_type``,
        ``icmp_code``, ``description`` as needed.

    egress
        The egress rules, the same way.

    config
        A mapping of config keys (``user.*``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web-in:
          lxdapi.network_acl_present:
            - ingress:
              - {action: allow, protocol: tcp, destination_port: "80,443", state: enabled}
            - egress:
              - {action: reject, destination: 192.0.2.0/24, state: enabled}
    """
    declared = {"ingress": ingress, "egress": egress, "config": config, "description": description}
    return _present("network_acl", name, declared, kwargs, purge_config)


def network_acl_absent(name, **kwargs):
    """
    Ensure a network ACL does not exist. Refuses (result False, naming them) while
    networks or instances use it.

    name
        The ACL's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web-in:
          lxdapi.network_acl_absent
    """
    return _absent("network_acl", name, kwargs)


def network_zone_present(name, config=None, description=None, purge_config=False, **kwargs):
    """
    Ensure a network DNS zone exists with the declared config keys and description.

    name
        The zone's name (a DNS name, ``lxd.example.net``).

    config
        A mapping of config keys (``dns.nameservers``, ``peers.NAME.address``...); None:
        not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        lxd.example.net:
          lxdapi.network_zone_present:
            - config:
                dns.nameservers: ns1.example.net
    """
    declared = {"config": config, "description": description}
    return _present("network_zone", name, declared, kwargs, purge_config)


def network_zone_absent(name, **kwargs):
    """
    Ensure a network DNS zone does not exist (its records go with it). Refuses while
    networks use it.

    name
        The zone's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        lxd.example.net:
          lxdapi.network_zone_absent
    """
    return _absent("network_zone", name, kwargs)


def network_zone_record_present(
    zone, name, entries=None, config=None, description=None, purge_config=False, **kwargs
):
    """
    Ensure a record of a network DNS zone exists with the declared entries.

    zone
        The zone's name.

    name
        The record's name (``www``, or ``@`` for the zone itself).

    entries
        The record's entries, a list of mappings with ``type`` (A, AAAA, CNAME, TXT...),
        ``value`` and optionally ``ttl``; compared whole and in order. None: not managed.

    config
        A mapping of config keys (``user.*``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        www:
          lxdapi.network_zone_record_present:
            - zone: lxd.example.net
            - entries:
              - {type: A, value: 192.0.2.10, ttl: 300}
    """
    declared = {"entries": entries, "config": config, "description": description}
    return _present("network_zone_record", name, declared, kwargs, purge_config, zone=zone)


def network_zone_record_absent(zone, name, **kwargs):
    """
    Ensure a record of a network DNS zone does not exist.

    zone
        The zone's name.

    name
        The record's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        www:
          lxdapi.network_zone_record_absent:
            - zone: lxd.example.net
    """
    return _absent("network_zone_record", name, kwargs, zone=zone)


def network_forward_present(
    name, network, ports=None, config=None, description=None, purge_config=False, **kwargs
):
    """
    Ensure a network forward (an address of the host side forwarded into the network)
    exists with the declared port specs, config keys and description.

    Port specs are compared whole and in order, each as LXD stores it (trimmed, port
    lists without spaces, addresses in their canonical form); a list that is None is not
    managed. Updates are a PUT of the whole forward with If-Match. Port specs with a key
    LXD does not know (it would drop it without a word), a protocol other than tcp or
    udp, or a target that is not an IP address are refused before anything is written.

    name
        The listen address (an IP address, ``192.0.2.10``).

    network
        The network's name (a bridge or OVN network). LXD checks the targets against
        the network's own subnet for the listen address's family (``ipv4.address`` or
        ``ipv6.address``, which must then not be ``none``).

    ports
        The port specs, a list of mappings: ``protocol`` (tcp or udp), ``listen_port``
        (``80``, ``80,443``, ``8000-8010``), ``target_address``, and optionally
        ``target_port`` and ``description``; None: not managed.

    config
        A mapping of config keys: ``target_address`` (where what no port spec covers
        goes) and ``user.*``; None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        192.0.2.10:
          lxdapi.network_forward_present:
            - network: lxdbr0
            - ports:
              - {protocol: tcp, listen_port: "80,443", target_address: 10.0.3.20}
              - {protocol: udp, listen_port: 53, target_address: 10.0.3.21}
    """
    declared = {"ports": ports, "config": config, "description": description}
    return _present("network_forward", name, declared, kwargs, purge_config, network=network)


def network_forward_absent(name, network, **kwargs):
    """
    Ensure a network forward does not exist.

    name
        The listen address.

    network
        The network's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        192.0.2.10:
          lxdapi.network_forward_absent:
            - network: lxdbr0
    """
    return _absent("network_forward", name, kwargs, network=network)


def network_peer_present(
    name,
    network,
    target_network=None,
    target_project=None,
    config=None,
    description=None,
    purge_config=False,
    **kwargs,
):
    """
    Ensure a peering from an OVN network to another exists (LXD reports it ``Pending``
    until the other side peers back). Fails, saying so, on a network that is not OVN.

    name
        The peering's name.

    network
        The OVN network's name.

    target_network
        The OVN network to peer with (set at creation only: a different one later is
        reported, not acted on).

    target_project
        The project of ``target_network`` (set at creation only).

    config
        A mapping of config keys (``user.*``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        to-ovn2:
          lxdapi.network_peer_present:
            - network: ovn1
            - target_network: ovn2
    """
    declared = {
        "target_network": target_network,
        "target_project": target_project,
        "config": config,
        "description": description,
    }
    return _present("network_peer", name, declared, kwargs, purge_config, network=network)


def network_peer_absent(name, network, **kwargs):
    """
    Ensure a peering of an OVN network does not exist.

    name
        The peering's name.

    network
        The OVN network's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        to-ovn2:
          lxdapi.network_peer_absent:
            - network: ovn1
    """
    return _absent("network_peer", name, kwargs, network=network)


def project_present(name, config=None, description=None, purge_config=False, **kwargs):
    """
    Ensure a project exists with the declared config keys and description.

    Keys not declared (LXD's ``features.*`` among them) are kept: the whole config is
    written back with If-Match, since LXD 5.0 replaces a project's config on PATCH.

    name
        The project's name.

    config
        A mapping of config keys (``features.images``, ``limits.instances``...); None:
        not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    kwargs
        Connection settings.

    CLI Example:

    .. code-block:: yaml

        staging:
          lxdapi.project_present:
            - config:
                limits.instances: 10
    """
    declared = {"config": config, "description": description}
    return _present("project", name, declared, kwargs, purge_config)


def project_absent(name, **kwargs):
    """
    Ensure a project does not exist. Refuses (result False, naming them) while it
    holds anything besides its own default profile.

    name
        The project's name.

    kwargs
        Connection settings.

    CLI Example:

    .. code-block:: yaml

        staging:
          lxdapi.project_absent
    """
    return _absent("project", name, kwargs)


def snapshot_present(container, name, stateful=False, **kwargs):
    """
    Ensure an instance has a snapshot called ``name`` (taken now if missing).

    An existing snapshot is never retaken; asking ``stateful`` of an existing stateless
    one is reported in the comment.

    container
        The instance's name.

    name
        The snapshot's name.

    stateful
        Include the running state (needs CRIU and a running instance; default False).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.snapshot_present:
            - container: web1
    """
    return _resource_converge(
        name,
        f"Snapshot {name!r} of {container!r}",
        lambda api: lxdapi_reconcile.plan_snapshot_present(api, container, name, stateful),
        kwargs,
        created_key="snapshot",
    )


def snapshot_absent(container, name, **kwargs):
    """
    Ensure an instance has no snapshot called ``name``.

    container
        The instance's name.

    name
        The snapshot's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.snapshot_absent:
            - container: web1
    """
    return _resource_converge(
        name,
        f"Snapshot {name!r} of {container!r}",
        lambda api: lxdapi_reconcile.plan_snapshot_absent(api, container, name),
        kwargs,
    )


def _file_source(source):
    """The bytes of a ``salt://`` (or other fileserver) URL or a local absolute path."""
    if "://" in str(source):
        cached = _cache_file(source)
        if not cached:
            raise ValueError(f"source {source} could not be fetched")
        source = cached
    elif not os.path.isabs(str(source)):
        raise ValueError(f"source must be a salt:// URL or an absolute path, not {source!r}")
    with open(source, "rb") as fh:
        return fh.read()


def _render(content, template, context, defaults):
    """``content`` (bytes) rendered with Salt's ``template`` engine (jinja, mako...)."""
    if template is None:
        return content
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("a template must be UTF-8 text; this one is binary") from None
    for what, value in (("context", context), ("defaults", defaults)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{what} must be a mapping, not {type(value).__name__}")
    engines = salt.utils.templates.TEMPLATE_REGISTRY
    if template not in engines:
        raise ValueError(
            "unknown template engine {!r}; choose one of {}".format(
                template, ", ".join(sorted(engines))
            )
        )
    try:
        return __salt__["file.apply_template_on_contents"](
            content,
            template,
            dict(context or {}),
            dict(defaults or {}),
            globals().get("__env__", "base"),
        )
    except salt.exceptions.SaltException as exc:
        raise ValueError(f"the template could not be rendered: {exc}") from None


def file_managed(
    container,
    path=None,
    source=None,
    contents=None,
    mode=None,
    uid=None,
    gid=None,
    makedirs=False,
    template=None,
    context=None,
    defaults=None,
    show_changes=True,
    **kwargs,
):
    """
    Ensure a file inside an instance has the declared content, mode and owner.

    Reads the file and its mode/uid/gid first and writes (the whole file) only when one
    of them differs. Content changes are reported as sha256 digests and, for text files
    (up to 64 KiB) with ``show_changes``, as a unified ``diff``.

    container
        The instance's name.

    path
        The absolute path inside the instance; defaults to the state's ``name``.

    source
        Where the content comes from: a ``salt://`` URL (fetched with ``cp.cache_file``)
        or an absolute local path. Not together with ``contents``.

    contents
        The content itself (text, written as UTF-8, exactly as given).

    mode
        The mode as octal digits (``'0644'``); None keeps the file's (a new file gets
        0644).

    uid, gid
        Numeric owner and group; None keeps the file's (a new file gets 0).

    makedirs
        Create missing parent folders (default False: a missing parent fails the state).

    template
        Render ``source`` or ``contents`` with this Salt template engine (``jinja``,
        ``mako``...), with ``grains``, ``pillar``, ``salt`` and the context below.

    context, defaults
        Template variables: ``defaults`` first, overridden by ``context``.

    show_changes
        Put a ``diff`` of text content in the changes (default True; False for files
        that hold secrets: only digests are shown then).

    kwargs
        ``project`` and the other connection settings.

    With neither ``source`` nor ``contents`` only mode and owner are managed (a missing
    file is created empty).

    CLI Example:

    .. code-block:: yaml

        /etc/motd:
          lxdapi.file_managed:
            - container: web1
            - source: salt://web/motd.j2
            - template: jinja
            - context:
                role: web
            - mode: '0644'
    """
    name = kwargs.pop("name", None) or path
    path = path or name

    def make_plan(api):
        if source is not None and contents is not None:
            raise ValueError("give source or contents, not both")
        content = _file_source(source) if source is not None else contents
        if content is not None:
            content = _render(content, template, context, defaults)
        elif template is not None:
            raise ValueError("template needs source or contents")
        return lxdapi_files.plan_file_managed(
            api,
            container,
            path,
            content,
            mode,
            uid,
            gid,
            makedirs=makedirs,
            show_diff=lxdapi_values.check_bool(show_changes, "show_changes"),
        )

    return _resource_converge(
        name, f"File {path} in {container!r}", make_plan, kwargs, created_key="file"
    )


def directory_present(
    container, path=None, mode=None, uid=None, gid=None, makedirs=False, **kwargs
):
    """
    Ensure a folder exists inside an instance, with the declared mode and owner.

    LXD sets a folder's mode and owner only when it creates it: an empty folder that
    differs is made again; one with entries fails the state, naming what differs.

    container
        The instance's name.

    path
        The absolute path inside the instance; defaults to the state's ``name``.

    mode
        The mode as octal digits (``'0750'``); None keeps the folder's (a new one gets
        0755).

    uid, gid
        Numeric owner and group; None keeps the folder's (a new one gets 0).

    makedirs
        Create missing parent folders (default False).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        /srv/app/data:
          lxdapi.directory_present:
            - container: web1
            - mode: '0750'
            - uid: 33
            - makedirs: True
    """
    name = kwargs.pop("name", None) or path
    path = path or name
    return _resource_converge(
        name,
        f"Folder {path} in {container!r}",
        lambda api: lxdapi_files.plan_directory_present(
            api, container, path, mode, uid, gid, makedirs=makedirs
        ),
        kwargs,
        created_key="folder",
    )


def file_absent(container, path=None, **kwargs):
    """
    Ensure a file, symlink or empty folder does not exist inside an instance. A folder
    with entries fails the state (nothing in it is deleted).

    container
        The instance's name.

    path
        The absolute path inside the instance; defaults to the state's ``name``.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        /etc/motd:
          lxdapi.file_absent:
            - container: web1
    """
    name = kwargs.pop("name", None) or path
    path = path or name
    return _resource_converge(
        name,
        f"File {path} in {container!r}",
        lambda api: lxdapi_files.plan_file_absent(api, container, path),
        kwargs,
    )


def container_exec(
    name,
    container,
    command=None,
    onlyif_exec=None,
    unless_exec=None,
    creates_path=None,
    env=None,
    cwd=None,
    user=None,
    group=None,
    success_retcodes=None,
    timeout=None,
    **kwargs,
):
    """
    Run a command in a running instance, as Salt's ``cmd.run`` does on a host: every time,
    unless a guard run in the instance (``onlyif_exec``, ``unless_exec``,
    ``creates_path``) says it is not needed. No shell is involved.

    Salt's own ``onlyif``, ``unless`` and ``creates`` still work, as on any state, but
    they run on the minion's host, not in the instance: hence the guards' own names.

    The changes are ``{retcode, stdout, stderr}``; the state fails when the exit code is
    not a success code. With ``test=True`` the guards still run (they only read) and the
    command does not.

    name
        The state's ID; the command when ``command`` is not given.

    container
        The instance's name (it must be running).

    command
        An argv list (``["apk", "add", "nginx"]``) or a string split into words as a
        shell would (quotes group words) but run without a shell. For shell syntax use
        ``["sh", "-c", "..."]``.

    onlyif_exec
        A command (argv list or string) run first in the instance: the command runs only
        if it exits 0.

    unless_exec
        A command run in the instance: the command does not run if it exits 0.

    creates_path
        An absolute path in the instance (or a list): the command does not run if they
        all exist.

    env
        Environment variables, a mapping (for the guards too).

    cwd
        Absolute working directory.

    user, group
        Numeric uid and gid to run as (default 0).

    success_retcodes
        Exit codes that count as success (default ``[0]``).

    timeout
        Seconds the command (and each guard) may run: one that has not exited by then
        fails the state, saying so (LXD cannot cancel it: it may go on running in the
        instance). Default: the connection's ``wait_timeout`` (300 seconds).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        install-nginx:
          lxdapi.container_exec:
            - container: web1
            - command: [apk, add, nginx]
            - creates_path: /usr/sbin/nginx
    """
    testing = __opts__.get("test")

    def make_plan(api):
        plan = lxdapi_instances.plan_instance_exec(
            api,
            container,
            name if command is None else command,
            onlyif=onlyif_exec,
            unless=unless_exec,
            creates=creates_path,
            success_retcodes=success_retcodes,
            environment=env,
            cwd=cwd,
            user=user,
            group=group,
            timeout=timeout,
        )
        if plan.status != "Running" and not testing:
            raise ValueError(
                f"cannot run {plan.argv}: instance {container!r} {_exec_where(plan)}, not Running"
            )
        return plan

    def would(plan):
        if plan.status != "Running":
            return (
                f"Would have run {plan.argv} in {container!r}, which {_exec_where(plan)} now (an "
                "earlier state may create "
                "or start it)."
            )
        return f"Would have run {plan.argv} in {container!r}."

    return _converge(
        name,
        kwargs,
        make_plan,
        lambda plan: "Ran {} in {!r} (exit {}).".format(
            plan.argv, container, plan.changes["retcode"]
        ),
        lambda plan: f"Not run in {container!r}: {plan.skip_reason}",
        would=would,
        failed=lambda plan, exc: exc.error,
    )


def _exec_where(plan):
    return "does not exist" if plan.status is None else f"is {plan.status}"


def sls_applied(
    name,
    container,
    mods=None,
    saltenv=None,
    pillar=None,
    pillar_key=None,
    timeout=None,
    **kwargs,
):
    """
    Apply SLS files from this host's ``salt://`` tree inside a running instance, with no
    minion there: Salt's thin runs ``state.apply`` on the instance's own ``python3``,
    through LXD's file and exec APIs (see the execution module's ``lxdapi.call``).

    The changes are the inner states' changes, by inner state id; a failed inner state
    fails this one, with the inner comments. The plan is the inner states' test run:
    when it predicts no change, nothing is applied (a second run reports no changes).
    With ``test=True`` only that test run happens and its predictions are reported
    (``result: None`` when any state would act). Requisites (``require``, ``watch``,
    ``onchanges``) work on it as on any state.

    name
        The state's ID; the SLS to apply when ``mods`` is not given.

    container
        The instance's name (it must be running and have ``python3``).

    mods
        The SLS to apply: a name, a comma-separated list, or a list.

    saltenv
        The saltenv whose files are used (default: this run's).

    pillar
        Pillar data for the inner states (a mapping), merged over the host's pillar under
        ``pillar_key``.

    pillar_key
        The key of the host's pillar whose value is the instance's pillar (default
        ``lxdapi:pillar:<container>``; False: none). Nothing else of the host's pillar
        goes in.

    timeout
        Seconds each inner run may take before it is killed (default 600).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1-nginx:
          lxdapi.sls_applied:
            - container: web1
            - mods: nginx
            - pillar:
                nginx: {port: 8080}
            - require:
              - lxdapi: web1
    """
    testing = __opts__.get("test")
    connection, _ = _connection_args(kwargs)
    env = saltenv or globals().get("__env__") or "base"
    names = mods if mods is not None else name

    def run(test):
        try:
            return __salt__["lxdapi.sls"](
                container,
                names,
                saltenv=env,
                pillar=pillar,
                pillar_key=pillar_key,
                test=test,
                timeout=timeout,
                **connection,
            )
        except salt.exceptions.SaltInvocationError as exc:
            raise ValueError(str(exc)) from None
        except salt.exceptions.CommandExecutionError as exc:
            raise core.APIException(error=str(exc)) from None

    def make_plan(api):
        lxdapi_inside.sls_names(names)
        plan = lxdapi_inside.plan_sls_applied(api, container, run)
        if plan.status != "Running" and not testing:
            raise core.APIException(
                error=f"cannot apply {names} in {container!r}: it {_exec_where(plan)}, not Running"
            )
        if plan.failed and testing:
            raise core.APIException(error=plan.failure())
        return plan

    def would(plan):
        if plan.status != "Running":
            return (
                f"Would have applied {names} in {container!r}, which {_exec_where(plan)} now (an "
                "earlier state may create "
                "or start it)."
            )
        return "Would have changed {} of {} states in {!r}: {}.".format(
            len(plan.changes), plan.count, container, ", ".join(plan.changes)
        )

    return _converge(
        name,
        kwargs,
        make_plan,
        lambda plan: "Changed {} of {} states in {!r}: {}.".format(
            len(plan.changes), plan.count, container, ", ".join(plan.changes) or "none"
        ),
        lambda plan: f"All {plan.count} states in {container!r} are as declared.",
        would=would,
        failed=lambda plan, exc: exc.error,
    )


# ---- containers and images ----
#
# container_present/absent/running/stopped/frozen, image_present/absent and
# image_alias_present/absent. Each state hands one core plan (plan_instance_present,
# plan_instance_status, plan_image_present, ...) to _converge. Every state takes the connection
# settings (``remote``, ``endpoint``, ``project``, ...) as keyword arguments; any other
# unexpected argument fails the state, naming it.


def container_present(
    name,
    source=None,
    config=None,
    devices=None,
    profiles=None,
    type="container",
    ephemeral=False,
    description=None,
    status=None,
    target=None,
    project=None,
    restart_on_change=False,
    purge_config=False,
    purge_devices=False,
    timeout=30,
    migrate=False,
    wait_for=None,
    **connection,
):
    """
    Ensure a container (or virtual machine) exists as declared, then has ``status``,
    then (``wait_for``) is ready to use.

    Absent: created from ``source``. Present: the declared config keys, devices, the
    exact ordered profile list, the description and ``ephemeral`` are brought to what is
    declared, with one write carrying If-Match (someone else's change meanwhile fails the
    state; it is never overwritten). Keys and devices not declared are left alone unless
    ``purge_config``/``purge_devices``; ``volatile.*`` and ``image.*`` keys are never
    touched; values are compared as LXD stores them (``1`` == ``"1"``, ``true`` ==
    ``"true"``). A different source, type or cluster member than the container's is
    reported in the comment, never acted on. Nothing is written when all is as declared
    (one GET of the container, plus ``GET /1.0`` once per run).

    name
        The container's name (letters, digits and dashes; starts with a letter).

    source
        What to create it from: an image alias or fingerprint on the server, or LXD's
        source mapping (e.g. ``{type: image, mode: pull, server: https://..., protocol:
        lxd, alias: busybox, certificate: ...}``). None creates an empty container.

    config
        Mapping of config keys (``limits.memory``, ``user.*``...); None: not managed.

    devices
        Mapping of device name to device (each with a ``type``); None: not managed.

    profiles
        The ordered list of profiles; None: not managed (LXD's default on creation).

    type
        ``container`` (default) or ``virtual-machine``; used on creation only.

    ephemeral
        Whether the container is deleted when it stops (default False).

    description
        The description; None: not managed.

    status
        ``Running``, ``Stopped`` or ``Frozen``, applied after the config; None: not
        managed (a new container stays Stopped).

    target
        The cluster member to create it on. An existing container on another member is
        reported in the comment (with its location), and moved only with ``migrate``.

    migrate
        Move an existing container that is on another cluster member than ``target``
        (default False). LXD moves stopped containers: a running one must be declared
        ``status: Stopped`` (else the state fails, saying so).

    project
        The LXD project (default: the configured one, else ``default``).

    restart_on_change
        Restart a running container when a changed key only applies at restart
        (``raw.lxc``, ``security.privileged``, ``limits.kernel.*``...). False (default):
        the comment says a restart is pending.

    purge_config
        Remove config keys that are not declared (default False).

    purge_devices
        Remove devices that are not declared (default False).

    timeout
        Seconds a clean stop or restart may take (default 30).

    wait_for
        Wait until the container is ready to use, not just Running (needs ``status:
        Running``); a mapping of conditions, checked in this order under one deadline:
        ``address: {nic: eth0, family: inet|inet6, scope: global}`` (an address LXD
        reports on that NIC; ``scope`` defaults to ``global``, ``family`` to either),
        ``exec: [test, -e, /run/ready]`` (a command that must exit 0 inside; no shell),
        ``agent: True`` (a VM's agent answers), ``timeout`` (seconds for all of them,
        default 60) and ``exec_timeout`` (seconds one run of the command may take,
        default 10). The wait happens on every run, a run with nothing else to do too
        (one ``/state`` read when already ready); it is not a change. The comment says
        what was found ("eth0 has 2001:db8::5 after 3.2 s"); a timeout fails the state,
        naming the condition and the last thing seen, with the console's last lines.
        Test mode says it would wait, and runs nothing.

    connection
        ``remote``, ``endpoint`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_present:
            - source: busybox
            - profiles: [default]
            - config:
                limits.memory: 64MB
                user.role: web
            - devices:
                data:
                  type: disk
                  source: /srv/web1
                  path: /srv
            - status: Running
            - wait_for:
                address: {nic: eth0, family: inet6}
                exec: [test, -e, /run/ready]
                timeout: 120

    .. code-block:: bash

        salt-call state.single lxdapi.container_present web1 source=busybox status=Running
    """
    if project is not None:
        connection["project"] = project
    group = connection.pop(_AGGREGATE, None)  # mod_aggregate made this state the first

    def own_plan(api):
        return lxdapi_readiness.plan_instance_ready(
            api,
            name,
            wait_for=wait_for,
            source=source,
            config=config,
            devices=devices,
            profiles=profiles,
            instance_type=type,
            ephemeral=ephemeral,
            description=description,
            status=status,
            target=target,
            restart_on_change=restart_on_change,
            purge_config=purge_config,
            purge_devices=purge_devices,
            timeout=timeout,
            migrate=migrate,
        )

    def make_plan(api):
        if group or __context__.get(_AGGREGATED):
            aggregated = _aggregated_plan(api, name, group)
            if aggregated is not None:
                return aggregated
        return _using_run_listing(own_plan)(api)

    def done(plan):
        return "Container {} {}.".format(
            name, "created" if _created(plan, "instance") else "updated"
        )

    return _converge(
        name,
        connection,
        make_plan,
        done,
        f"Container {name} is already as declared.",
    )


def containers_present(name, containers, defaults=None, **connection):
    """
    Ensure many containers are present as declared, their LXD operations run side by
    side: every creation (then every start, ...) is sent before any is waited on, so 20
    new containers take about the time of the slowest rather than the sum.

    Each container follows the contract of :func:`container_present`; one instance
    listing serves them all. Bad input for any of them fails the state before anything is
    written; a container whose writes LXD refuses fails the state, naming it, while the
    others are still converged.

    name
        The state's ID (not a container name).

    containers
        A list of container names, or a mapping of names to their
        :func:`container_present` arguments (``source``, ``config``, ``devices``,
        ``profiles``, ``type``, ``ephemeral``, ``description``, ``status``, ``target``,
        ``restart_on_change``, ``purge_config``, ``purge_devices``, ``timeout``,
        ``migrate``, ``wait_for``). The waits of ``wait_for`` run once every
        container's writes went through, each with its own deadline.

    defaults
        Arguments for every container, which a container's own override (``wait_for``
        too).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web-farm:
          lxdapi.containers_present:
            - defaults:
                source: busybox
                profiles: [default]
                status: Running
                wait_for: {exec: [test, -e, /etc/hostname], timeout: 30}
            - containers:
                web1: {}
                web2: {}
                batch1:
                  status: Stopped
                  config: {limits.cpu: "1"}
    """
    return _converge_group(
        name,
        connection,
        lambda api: lxdapi_batch.plan_instances_present(
            api, containers, defaults, run_key=globals().get("__instance_id__")
        ),
        _created_or_updated,
        lambda group: f"All {len(group.named)} containers are already as declared.",
    )


def _created_or_updated(named_plans):
    created = [c for c, plan in named_plans if _created(plan, "instance")]
    updated = [c for c, plan in named_plans if not _created(plan, "instance")]
    return "; ".join(
        part
        for part in (
            "created " + ", ".join(created) if created else "",
            "updated " + ", ".join(updated) if updated else "",
        )
        if part
    )


def _converge_group(name, kwargs, make_group, summary, unchanged):
    """:func:`_converge` of a :class:`lxdapi_batch.PlanGroup` (several containers' plans,
    applied side by side), changes per container. ``summary(named_plans)`` words what
    was (or would be) done. A container whose writes fail fails the state, naming it;
    the others are still converged, and the comment says so."""

    def capital(text):
        return text[:1].upper() + text[1:]

    def failed(group, exc):
        done = summary(group.done)
        return " ".join([exc.error + "."] + ([f"{capital(done)}."] if done else []))

    return _converge(
        name,
        kwargs,
        make_group,
        lambda group: f"{capital(summary(group.todo))}.",
        unchanged,
        would=lambda group: f"Would have: {summary(group.todo)}.",
        failed=failed,
    )


def container_absent(name, force=False, timeout=30, **connection):
    """
    Ensure a container does not exist: a clean stop (if it runs or is frozen), then
    delete it. The changes report its old status.

    name
        The container's name.

    force
        Kill it instead of a clean stop (default False).

    timeout
        Seconds the clean stop may take before the state fails (default 30).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-web:
          lxdapi.container_absent:
            - timeout: 60
    """
    return _converge(
        name,
        connection,
        lambda api: lxdapi_instances.plan_instance_absent(api, name, force, timeout),
        f"Container {name} deleted.",
        f"Container {name} is already absent.",
    )


def _status_state(name, status, connection, restart=False, force=False, timeout=30, wait_for=None):
    def done(plan):
        if "status" not in plan.changes:
            return f"Container {name} restarted."
        return "Container {} is now {}{}.".format(
            name,
            plan.changes["status"]["new"],
            " (restarted)" if "restarted" in plan.changes else "",
        )

    return _converge(
        name,
        connection,
        lambda api: (
            lxdapi_readiness.plan_instance_running(
                api, name, wait_for=wait_for, restart=restart, timeout=timeout
            )
            if wait_for is not None
            else lxdapi_instances.plan_instance_status(api, name, status, restart, force, timeout)
        ),
        done,
        f"Container {name} is already {status}.",
    )


def container_running(name, restart=False, timeout=30, wait_for=None, **connection):
    """
    Ensure an existing container is Running (a Stopped one is started, a Frozen one
    unfrozen), then (``wait_for``) ready to use.

    name
        The container's name.

    restart
        Restart it when it is already running (every run; default False).

    timeout
        Seconds a restart may take (default 30).

    wait_for
        Wait until the container is ready to use, not just Running; a mapping of
        conditions, checked in this order under one deadline:
        ``address: {nic: eth0, family: inet|inet6, scope: global}`` (an address LXD
        reports on that NIC; ``scope`` defaults to ``global``, ``family`` to either),
        ``exec: [test, -e, /run/ready]`` (a command that must exit 0 inside; no shell),
        ``agent: True`` (a VM's agent answers), ``timeout`` (seconds for all of them,
        default 60) and ``exec_timeout`` (seconds one run of the command may take,
        default 10). The wait happens on every run, a run with nothing else to do too
        (one ``/state`` read when already ready); it is not a change. The comment says
        what was found ("eth0 has 2001:db8::5 after 3.2 s"); a timeout fails the state,
        naming the condition and the last thing seen, with the console's last lines.
        Test mode says it would wait, and runs nothing.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_running:
            - wait_for:
                exec: [test, -e, /run/ready]
                timeout: 30
    """
    return _status_state(
        name, "Running", connection, restart=restart, timeout=timeout, wait_for=wait_for
    )


def _restart_many(name, containers, connection):
    """mod_watch of a containers_present: restart its running containers at once."""
    names = list(containers) if isinstance(containers, (list, dict)) else []

    def make_group(api):
        listing = {
            i["name"]: i.get("status") for i in lxdapi_instances.instance_list(api, recursion=1)
        }
        return lxdapi_batch.PlanGroup(
            (n, lxdapi_instances.plan_instance_status(api, n, "Running", restart=True))
            for n in names
            if listing.get(n) == "Running"
        )

    return _converge_group(
        name,
        connection,
        make_group,
        lambda done: "restarted {} (a watched state changed)".format(", ".join(c for c, _ in done)),
        f"None of the containers of {name} runs; nothing to restart.",
    )


def mod_watch(name, sfun=None, **kwargs):
    """
    The ``watch`` requisite of ``container_running`` and ``container_present``: when a
    watched state changed something (a config file in the container, a profile...) and
    the container's own state had nothing to do, restart it, cleanly.

    A ``container_present`` restarts its container only when it is running (or declared
    ``status: Running``); a stopped one is left stopped. A ``containers_present``
    restarts those of its containers that are running, side by side. Any other lxdapi
    state that watches something has nothing more to do (result True, no changes).

    name
        The container's name.

    sfun
        The watching state's function (set by Salt).

    kwargs
        The watching state's arguments (``timeout``, ``status``, the connection
        settings), set by Salt.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_running:
            - watch:
              - lxdapi: /etc/app.conf
    """
    if sfun not in ("container_running", "container_present", "containers_present"):
        # Salt calls this for every lxdapi state that watches something: for the others
        # a watch is a require that also runs on changes, with nothing more to do.
        ret = _ret(name)
        ret["comment"] = f"lxdapi.{sfun} has nothing more to do on watch."
        return ret
    connection, _ = _connection_args(kwargs)  # the rest are the state's own arguments
    if sfun == "containers_present":
        return _restart_many(name, kwargs.get("containers"), connection)
    timeout = kwargs.get("timeout", 30)
    declared = kwargs.get("status")

    def make_plan(api):
        state = lxdapi_instances.instance_state(api, name)
        if not state:
            raise ValueError(f"instance {name!r} does not exist")
        wants_running = sfun == "container_running" or (
            declared is not None and lxdapi_values.normalize_status(declared) == "Running"
        )
        if not wants_running and state.get("status") != "Running":
            return lxdapi_plans.Plan(name)  # nothing runs, nothing to restart
        return lxdapi_instances.plan_instance_status(
            api, name, "Running", restart=True, timeout=timeout
        )

    def done(plan):
        return (
            f"Container {name} restarted (a watched state changed)."
            if "status" not in plan.changes
            else "Container {} is now {}.".format(name, plan.changes["status"]["new"])
        )

    return _converge(
        name,
        connection,
        make_plan,
        done,
        f"Container {name} is not running; nothing to restart.",
    )


def container_stopped(name, force=False, timeout=30, **connection):
    """
    Ensure an existing container is Stopped: a clean shutdown (a Frozen one is unfrozen
    first).

    name
        The container's name.

    force
        Kill it instead of a clean shutdown (default False).

    timeout
        Seconds the clean shutdown may take before the state fails (default 30).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_stopped:
            - timeout: 60
    """
    return _status_state(name, "Stopped", connection, force=force, timeout=timeout)


def container_frozen(name, **connection):
    """
    Ensure an existing container is Frozen (a Stopped one is started, then frozen).

    name
        The container's name.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_frozen
    """
    return _status_state(name, "Frozen", connection)


def image_present(name, source, public=False, aliases=None, auto_update=False, **connection):
    """
    Ensure the image from ``source`` is on the server with alias ``name``.

    For an image file, present means: the server has an image with the file's sha256
    fingerprint and ``name`` points at it. For a remote image server, present means:
    ``name`` points at an image pulled from that server and alias (or fingerprint). For
    an instance or snapshot to publish, present means: ``name`` points at an image
    published from it (from that very snapshot: one taken again under the same name is
    published again).
    The image is uploaded or pulled when missing; an alias pointing at another image is
    moved (that image is kept). ``public`` and ``auto_update`` are kept as declared.

    name
        The image alias.

    source
        A unified image tarball: a local path or a ``salt://`` URL. Or a remote image
        server mapping: ``server`` (``https://host:port``), ``protocol`` (``lxd`` or
        ``simplestreams``), ``alias`` or ``fingerprint``, and ``certificate`` (the
        server's PEM, for a self-signed LXD server). Or an instance or snapshot of this
        server to publish: ``{type: snapshot, name: web1/golden}`` (``type: instance``
        publishes a stopped instance).

    public
        Whether untrusted clients may use the image (default False).

    aliases
        More aliases that must point at the image.

    auto_update
        Whether LXD keeps the image up to date from its source (default False).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        busybox:
          lxdapi.image_present:
            - source: salt://images/busybox.tar.gz
            - aliases: [bb]

        alpine:
          lxdapi.image_present:
            - source:
                server: https://images.example.net:8443
                protocol: lxd
                alias: alpine/3.19
                certificate: |
                  -----BEGIN CERTIFICATE-----
                  ...

        web-golden:
          lxdapi.image_present:
            - source: {type: snapshot, name: web1/golden}
    """

    def make_plan(api):
        return lxdapi_images.plan_image_present(
            api, name, _fileserver_path(source), public, aliases, auto_update
        )

    def done(plan):
        made = (
            "published"
            if isinstance(source, dict) and source.get("type") in lxdapi_images.PUBLISH_TYPES
            else "imported"
        )
        return "Image {} {}.".format(name, made if _created(plan, "image") else "updated")

    return _converge(name, connection, make_plan, done, f"Image {name} is already present.")


def image_absent(name, **connection):
    """
    Ensure an image is not on the server (its aliases go with it).

    name
        The image's alias or fingerprint (or a unique prefix of one).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-busybox:
          lxdapi.image_absent
    """
    return _converge(
        name,
        connection,
        lambda api: lxdapi_images.plan_image_absent(api, name),
        f"Image {name} deleted.",
        f"Image {name} is already absent.",
    )


def image_alias_present(name, target, description=None, **connection):
    """
    Ensure image alias ``name`` points at ``target`` (created, or moved from another
    image).

    name
        The alias.

    target
        The image: a fingerprint, a unique prefix of one, or another alias.

    description
        The alias's description; None: not managed.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        stable:
          lxdapi.image_alias_present:
            - target: 39af9b1c57be
            - description: the image in production
    """

    def done(plan):
        return "Image alias {} {}.".format(
            name, "created" if _created(plan, "alias") else "updated"
        )

    return _converge(
        name,
        connection,
        lambda api: lxdapi_images.plan_image_alias_present(api, name, target, description),
        done,
        f"Image alias {name} is already as declared.",
    )


def image_alias_absent(name, **connection):
    """
    Ensure image alias ``name`` does not exist (the image itself is kept).

    name
        The alias.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-alias:
          lxdapi.image_alias_absent
    """
    return _converge(
        name,
        connection,
        lambda api: lxdapi_images.plan_image_alias_absent(api, name),
        f"Image alias {name} deleted.",
        f"Image alias {name} is already absent.",
    )


# ---- remotes, trust and clusters ----
#
# The server's trust store: certificate_present / certificate_absent. Each hands one
# core plan (plan_certificate_present / plan_certificate_absent) to _converge.


def cluster_member_present(
    name, description=None, failure_domain=None, roles=None, groups=None, config=None, **kwargs
):
    """
    Ensure a member of an LXD cluster has the declared settings (None: not managed): one
    PUT with If-Match, only when something differs.

    name
        The member's server name.

    description
        The member's description.

    failure_domain
        Its failure domain (``default``, ``rack2``...).

    roles
        The roles a user assigns (``event-hub``, ``ovn-chassis``), compared as a set;
        LXD's own database roles are kept.

    groups
        The cluster groups it belongs to, compared as a set (they must exist).

    config
        Member config keys (``scheduler.instance``...); keys not declared are kept.

    kwargs
        The connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        node2:
          lxdapi.cluster_member_present:
            - failure_domain: rack2
            - config:
                scheduler.instance: manual
    """
    return _converge(
        name,
        kwargs,
        lambda api: lxdapi_cluster.plan_cluster_member(
            api, name, description, failure_domain, roles, groups, config
        ),
        f"Cluster member {name} updated.",
        f"Cluster member {name} is already as declared.",
    )


def cluster_group_present(name, members=None, description=None, **kwargs):
    """
    Ensure a cluster group exists with the declared members and description (for
    placement with ``target: "@NAME"``). Members are compared as a set.

    name
        The group's name.

    members
        The server names of its members, the whole list; None: not managed.

    description
        The description; None: not managed.

    kwargs
        The connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        gpu:
          lxdapi.cluster_group_present:
            - members: [node2, node3]
    """
    declared = {"members": members, "description": description}
    return _present("cluster_group", name, declared, kwargs)


def cluster_group_absent(name, **kwargs):
    """
    Ensure a cluster group does not exist. LXD refuses to delete one that still has
    members (result False, with LXD's words).

    name
        The group's name.

    kwargs
        The connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        gpu:
          lxdapi.cluster_group_absent
    """
    return _absent("cluster_group", name, kwargs)


def cluster_member_joined(name, token, server_address, member_config=None, **kwargs):
    """
    Ensure this server (the new member, reached on its own socket) is a member of the
    cluster a join token names, under ``name``: it joins with the token (the cluster's
    certificate read from the token's addresses and checked against its fingerprint, as
    ``lxd init`` does). A server already a member under ``name`` is left alone (a spent
    token does not matter then). The server must be fresh (no pools or networks of its
    own that the cluster has too).

    name
        The member's server name (the one the token was made for).

    token
        The join token (``lxdapi.cluster_token_create`` or ``lxc cluster add`` on an
        existing member), e.g. from pillar.

    server_address
        ``host:port`` the other members reach this one at.

    member_config
        This member's own keys of the cluster's pools and networks, as ``lxd init``
        asks them: a list of ``{entity: storage-pool|network, name, key, value}`` (a
        pool's ``source``, a network's ``parent``...).

    kwargs
        The connection settings of the new member (its local socket by default).

    CLI Example:

    .. code-block:: yaml

        node3:
          lxdapi.cluster_member_joined:
            - token: {{ pillar['lxd_join_tokens']['node3'] }}
            - server_address: 10.0.0.3:8443
            - member_config:
              - {entity: storage-pool, name: default, key: source, value: ""}
    """

    def make_plan(api):
        plan = lxdapi_cluster.plan_cluster_member_joined(api, token, server_address, member_config)
        if plan.name != name:
            raise ValueError(f"the join token is for {plan.name!r}, not {name!r}")
        return plan

    return _converge(
        name,
        kwargs,
        make_plan,
        lambda plan: "Joined the cluster as {} (through {}).".format(
            name, plan.changes["cluster"]["new"]["cluster_address"]
        ),
        f"This server is already the cluster member {name}.",
    )


def cluster_member_absent(name, force=False, **kwargs):
    """
    Ensure a server is not a member of the cluster: it is removed (``DELETE
    /1.0/cluster/members/NAME``) when it is one. Refused while instances are on it
    unless ``force``.

    name
        The member's server name.

    force
        Remove it even though instances are on it (default False; they are lost to the
        cluster).

    kwargs
        The connection settings of a member that stays (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        node3:
          lxdapi.cluster_member_absent
    """
    return _converge(
        name,
        kwargs,
        lambda api: lxdapi_cluster.plan_cluster_member_absent(api, name, force=force),
        f"Cluster member {name} removed.",
        f"{name} is not a member of the cluster.",
    )


def server_config_present(
    name, config, purge_config=False, force_secrets=False, target=None, **kwargs
):
    """
    Ensure the LXD server's own config keys (``core.https_address``, ``images.*``,
    ``core.trust_password``...) are as declared: one PATCH of ``/1.0`` with If-Match,
    only when something differs.

    ``core.trust_password`` cannot be read back (LXD shows only that one is set): it is
    written when none is set, and otherwise left alone unless ``force_secrets``. Its
    value never appears in changes or comments.

    name
        The state's ID (any text).

    config
        A mapping of server config keys; a key declared as ``""`` is unset.

    purge_config
        Unset every key that is not declared (default False; careful: that includes
        ``core.https_address``).

    force_secrets
        Write write-only keys on every run even when one is set (default False).

    target
        On an LXD cluster: the member whose own keys (``core.https_address``...) to
        manage.

    kwargs
        The connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        lxd-server:
          lxdapi.server_config_present:
            - config:
                core.https_address: 127.0.0.1:8443
                images.auto_update_interval: 0
    """
    return _converge(
        name,
        kwargs,
        lambda api: lxdapi_server.plan_server_config(
            api, config, purge_config, target, force_secrets
        ),
        "The server's config was updated.",
        "The server's config is already as declared.",
    )


def warning_acknowledged(name, type=None, severity=None, **connection):
    """
    Ensure warnings of the server are acknowledged: one PUT per warning still ``new``,
    nothing sent for one acknowledged already. Resolved warnings are left as they are.

    Either ``name`` is the UUID of one warning (as ``lxdapi.warning_list`` lists them;
    one the server does not have, or no longer has, leaves nothing to do and the comment
    says so), or ``type`` and/or ``severity`` say which: every new warning of that type
    (of the connection's ``project`` only, when it names one) is acknowledged, those the
    server records later on the next run.

    name
        A warning's UUID; with ``type`` or ``severity``, the state's ID (any text).

    type
        Acknowledge every warning of this type, as the server names it (``AppArmor
        support has been disabled``).

    severity
        Acknowledge every warning of this severity: ``low``, ``moderate`` or ``high``
        (or a list of them); with ``type``, those of both.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        no-apparmor-here:
          lxdapi.warning_acknowledged:
            - type: AppArmor support has been disabled

        0c10b517-b0c9-441f-b531-db8af1d22995:
          lxdapi.warning_acknowledged
    """

    def listed(warnings):
        return ", ".join(lxdapi_warnings.describe(w) for w in warnings)

    def done(plan):
        return f"Acknowledged: {listed(plan.acknowledged)}."

    def would(plan):
        return f"Would acknowledge: {listed(plan.acknowledged)}."

    def unchanged(plan):
        held = [w for w in plan.matched if w.get("status") == "acknowledged"]
        if held:
            return f"Already acknowledged: {listed(held)}."
        return "Nothing to acknowledge."

    return _converge(
        name,
        connection,
        lambda api: lxdapi_warnings.plan_warning_acknowledged(api, name, type, severity),
        done,
        unchanged,
        would=would,
    )


def certificate_present(
    name,
    certificate,
    type="client",
    restricted=False,
    projects=None,
    **kwargs,
):
    """
    Ensure a certificate is in the LXD server's trust store, named ``name``, with the
    declared type, restriction and projects.

    The certificate is identified by its fingerprint. Missing: added. Present: its name,
    type, restriction and projects are brought to what is declared (one PATCH with
    If-Match). Other certificates with the same name are kept and reported.

    name
        The certificate's name in the trust store.

    certificate
        The PEM certificate: its text, a path on the minion or a ``salt://`` URL (e.g.
        the ``certificate`` that ``lxdapi.client_certificate_create`` returned on the
        client minion, passed through the mine or pillar).

    type
        ``client`` (default) or ``metrics``.

    restricted
        Restrict the certificate to ``projects`` (default False).

    projects
        The projects a restricted certificate may reach (default: none).

    kwargs
        Connection settings (``remote``, ``endpoint``, ...).

    CLI Example:

    .. code-block:: yaml

        minion1:
          lxdapi.certificate_present:
            - certificate: salt://lxd/clients/minion1.crt
            - restricted: True
            - projects: [web]
    """
    return _converge(
        name,
        kwargs,
        lambda api: lxdapi_trust.plan_certificate_present(
            api, name, _fileserver_path(certificate, "certificate"), type, restricted, projects
        ),
        lambda plan: "Certificate {} {}.".format(
            name, "added to the trust store" if _created(plan, "certificate") else "updated"
        ),
        f"Certificate {name} is already trusted as declared.",
    )


def certificate_absent(name, **kwargs):
    """
    Ensure no certificate called ``name`` (or with fingerprint ``name``, or one starting
    with it: at least 8 hex digits) is in the LXD server's trust store.

    name
        The certificate's name or fingerprint.

    kwargs
        Connection settings (``remote``, ``endpoint``, ...).

    CLI Example:

    .. code-block:: yaml

        old-minion:
          lxdapi.certificate_absent
    """
    return _converge(
        name,
        kwargs,
        lambda api: lxdapi_trust.plan_certificate_absent(api, name),
        f"Certificate {name} removed from the trust store.",
        f"Certificate {name} is already absent.",
    )


def server_initialized(
    name,
    config=None,
    storage_pools=None,
    networks=None,
    profiles=None,
    projects=None,
    **connection,
):
    """
    Ensure the server is set up as a ``lxd init --preseed`` document says: the same
    shape (``config``, ``storage_pools``, ``networks``, ``profiles``, ``projects``),
    applied in the order ``lxd init`` applies it (the server config, pools, networks,
    projects, profiles). On a fresh daemon it creates what is declared; on an initialized one each
    entry is compared and converged as its own state would (keys and devices not
    declared are kept), so a second run sends nothing. Every entry is checked before
    anything is sent.

    name
        The state's ID.

    config
        Server config keys (``core.https_address``...); others are kept.

    storage_pools
        A list of pools: ``name``, ``driver``, ``config``, ``description``.

    networks
        A list of networks: ``name``, ``type``, ``config``, ``description``.

    profiles
        A list of profiles: ``name``, ``config``, ``devices``, ``description``.

    projects
        A list of projects: ``name``, ``config``, ``description``.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        lxd-host:
          lxdapi.server_initialized:
            - config:
                core.https_address: 127.0.0.1:8443
            - storage_pools:
              - name: default
                driver: dir
            - networks:
              - name: lxdbr0
                type: bridge
                config:
                  ipv4.address: none
                  ipv6.address: none
            - profiles:
              - name: default
                devices:
                  root: {type: disk, path: /, pool: default}
                  eth0: {type: nic, name: eth0, network: lxdbr0}
    """

    def summary(sequence):
        created, updated = [], []
        for path, plan in sequence.todo:
            if path == ("server",):
                updated.append("the server config")
                continue
            section, entry = path
            kind = dict(lxdapi_preseed.SECTIONS)[section]
            label = f"{lxdapi_kinds.resource_kind(kind).label} {entry!r}"
            (created if _created(plan, kind) else updated).append(label)
        parts = (["created " + ", ".join(created)] if created else []) + (
            ["updated " + ", ".join(updated)] if updated else []
        )
        return "; ".join(parts)

    return _converge(
        name,
        connection,
        lambda api: lxdapi_preseed.plan_server_initialized(
            api,
            config=config,
            storage_pools=storage_pools,
            networks=networks,
            profiles=profiles,
            projects=projects,
        ),
        lambda sequence: f"Server initialized: {summary(sequence)}.",
        "The server is already initialized as declared.",
        would=lambda sequence: f"Would initialize the server: {summary(sequence)}.",
    )


def remote_trusted(name, password=None, token=None, **connection):
    """
    Ensure the server trusts this minion's client certificate: the certificate is sent
    with a trust ``token`` (or, on LXD before 6.1, the trust ``password``) when the
    server does not trust it yet; nothing is sent when it does.

    name
        The name the certificate gets in the server's trust store.

    password
        The server's trust password (``core.trust_password``; LXD 5.x only).

    token
        A trust token made on the server (``lxdapi.certificate_token_create``,
        ``lxc config trust add``, ``incus config trust add``): used once.

    connection
        The server's connection settings: an ``https://`` ``endpoint`` with ``cert`` and
        ``key`` (the client certificate), or ``remote``.

    CLI Example:

    .. code-block:: yaml

        minion1:
          lxdapi.remote_trusted:
            - remote: lab
            - token: {{ pillar['lab_trust_token'] }}
    """
    return _converge(
        name,
        connection,
        lambda api: lxdapi_trust.plan_remote_trusted(
            api, password=password, token=token, name=name
        ),
        "This client is now trusted by the server.",
        "This client is already trusted by the server.",
    )


def container_migrated(
    name, to=None, target=None, stop_and_start=False, timeout=30, source_url=None, **connection
):
    """
    Ensure a container is where it is declared: on another server (``to``) or on another
    member of its cluster (``target``). To another server: when the destination does
    not have it, the destination pulls it (with its snapshots) from this server over
    HTTPS, then this server's copy is deleted, once the destination holds it (the
    source server must listen on HTTPS, ``core.https_address``). To a member: LXD moves
    it within the cluster. A container already there is left alone (run after run,
    nothing is sent).

    name
        The container's name.

    to
        The destination server: a remote's name (``lxdapi:remotes:NAME``) or a mapping
        of connection settings (``endpoint``, ``cert``, ``key``, ``server_cert``...).

    target
        The destination cluster member (instead of ``to``).

    stop_and_start
        A running container is stopped cleanly, moved, and started on the destination
        (default False: a running container is refused, as a live move would need CRIU).

    timeout
        Seconds a clean stop or a start may take (default 30).

    source_url
        The URL the destination reaches this server at (default: its first HTTPS
        address).

    connection
        The source server's connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_migrated:
            - to: rack2
            - stop_and_start: True
    """
    return _converge(
        name,
        connection,
        lambda api: lxdapi_backups.plan_instance_migrated(
            api,
            name,
            target_api=None if to is None else _api(core.destination_arguments(to)),
            target=target,
            stop_and_start=stop_and_start,
            timeout=timeout,
            source_url=source_url,
        ),
        lambda plan: "Container {} moved from {old} to {new}.".format(
            name,
            **next(iter(plan.changes.values())),  # server or location: {old, new}
        ),
        "Container {} is already {}.".format(
            name, "on the destination" if to is not None else f"on {target}"
        ),
    )


# ---- one listing per state run ----
#
# One instance listing serves the container states of a run: with two or more
# lxdapi.container_present states in the run, the first reads every instance with one
# GET instances?recursion=1, and each state's plan is built from it (no request of its
# own when nothing is to be done). A plan that writes is built again from a fresh GET of
# its container, so every write carries that container's ETag (core.plan_using_listing).

#: States of one run that share the listing.
LISTING_STATES = ("container_present", "containers_present")


def _run_has_several_container_states():
    """True when the current state run holds two or more lxdapi container states."""
    seen = 0
    for chunk in globals().get("__lowstate__") or ():
        if (
            isinstance(chunk, collections.abc.Mapping)
            and chunk.get("state") == __virtualname__
            and chunk.get("fun") in LISTING_STATES
        ):
            seen += 1
            if seen >= 2:
                return True
    return False


def _using_run_listing(make_plan):
    """``make_plan`` served by the run's instance listing when the run has several
    container states (a lone state GETs its container: cheaper than a listing)."""

    def plan(api):
        if _run_has_several_container_states():
            low = globals().get("__low__") or {}
            lxdapi_batch.prefetch_instances(
                api,
                run_key=globals().get("__instance_id__"),
                asker=(low.get("__id__"), low.get("name")),
            )
        return lxdapi_batch.plan_using_listing(api, make_plan)

    return plan


# ---- aggregation: many container_present states of a run as one
#
# With ``state_aggregate: True`` (or ``[lxdapi]``) in the minion config, or ``aggregate:
# True`` on the states, Salt asks :func:`mod_aggregate` of the first container_present it
# runs which other states may join it. That state then plans them all and sends their
# writes side by side; each of the others, when Salt runs it, reports its own outcome
# (its own changes, comment, result, waits; Salt its requisites and watch).

#: The container_present arguments a state that joins an aggregate may carry.
AGGREGATE_ARGS = (
    "source",
    "config",
    "devices",
    "profiles",
    "type",
    "ephemeral",
    "description",
    "status",
    "target",
    "restart_on_change",
    "purge_config",
    "purge_devices",
    "timeout",
    "migrate",
    "wait_for",
)
#: Requisites a joining state may have, once their targets ran with result True.
AGGREGATE_REQUISITES = ("require", "watch")
#: What keeps a state out: whether it runs at all is decided at its own turn.
NOT_AGGREGATED = (
    "onlyif",
    "unless",
    "creates",
    "check_cmd",
    "prereq",
    "onchanges",
    "onfail",
    "use",
    "listen",
    "require_any",
    "watch_any",
    "onchanges_any",
    "onfail_any",
    "onfail_all",
    "parallel",
    "retry",
)
_AGGREGATE = "__lxdapi_aggregate__"
_AGGREGATED = "lxdapi.aggregated"


def _tag(chunk):
    return "{}_|-{}_|-{}_|-{}".format(
        chunk.get("state"), chunk.get("__id__"), chunk.get("name"), chunk.get("fun")
    )


def _requisites_met(chunk, running):
    """True when every ``require``/``watch`` of ``chunk`` names states that already ran
    with result True (a requisite not run yet, or of another kind, keeps it out)."""
    for key in AGGREGATE_REQUISITES:
        for req in chunk.get(key) or ():
            if isinstance(req, str):
                state, ref = None, req
            elif isinstance(req, dict) and len(req) == 1:
                ((state, ref),) = req.items()
            else:
                return False
            found = [
                ret
                for tag, ret in running.items()
                if (state is None or tag.split("_|-")[0] == state) and ref in tag.split("_|-")[1:3]
            ]
            if not found or not all(ret.get("result") is True for ret in found):
                return False
    return True


def _aggregate_opted(chunk):
    if "aggregate" in chunk:
        return chunk["aggregate"] is True
    option = __opts__.get("state_aggregate")
    return option is True or (isinstance(option, list) and __virtualname__ in option)


def _joins(chunk, low, running):
    """True when ``chunk`` can be converged with ``low``: the same state function and
    connection, aggregation on, nothing that decides at its own turn whether it runs,
    only known arguments, its requisites met."""
    if chunk.get("state") != __virtualname__ or chunk.get("fun") != "container_present":
        return False
    if _tag(chunk) in running or chunk.get("__agg__") or not _aggregate_opted(chunk):
        return False
    if any(key in chunk for key in NOT_AGGREGATED) or chunk.get("test") != low.get("test"):
        return False
    settings = tuple(core.CONNECTION_ARGUMENTS) + ("project",)
    if any(chunk.get(key) != low.get(key) for key in settings):
        return False
    known = set(AGGREGATE_ARGS + AGGREGATE_REQUISITES + settings)
    known.update(("state", "fun", "name", "order", "aggregate", "test"))
    if any(k not in known and not k.startswith("__") and not k.endswith("_in") for k in chunk):
        return False  # its own state refuses the argument; not here for it
    return _requisites_met(chunk, running)


def mod_aggregate(low, chunks, running):
    """
    Salt's aggregation hook: the ``container_present`` states of a run that can be
    converged with this one (``low``) join it, so their LXD operations run side by side
    as :func:`containers_present`'s do. Each keeps its own ret; the states whose
    requisites have not run yet, that have conditions of their own (``onlyif``,
    ``unless``, ``onchanges``, ``parallel``...) or another connection stay out and run
    as usual.

    Turned on by ``state_aggregate: True`` (or ``[lxdapi]``) in the minion config, or
    ``aggregate: True`` on the states; off, nothing changes.

    low
        The state Salt is about to run.

    chunks
        The run's other states that Salt offers to aggregate.

    running
        The states that already ran, by tag.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_present:
            - source: busybox
            - status: Running
            - aggregate: True
    """
    if low.get("state") != __virtualname__ or low.get("fun") != "container_present":
        return low
    if any(key in low for key in NOT_AGGREGATED):
        return low
    members, names, own = [], {low.get("name")}, _tag(low)
    for chunk in chunks:
        if _tag(chunk) == own or chunk.get("name") in names:
            continue
        if _joins(chunk, low, running):
            members.append(chunk)
            names.add(chunk.get("name"))
    if not members:
        return low
    group = []
    for chunk in [low] + members:
        group.append(dict({k: chunk[k] for k in AGGREGATE_ARGS if k in chunk}, name=chunk["name"]))
        if chunk is not low:
            chunk["__agg__"] = True
    low[_AGGREGATE] = group
    return low


def _aggregated_plan(api, name, group):
    """The outcome of ``name`` in its run's aggregate, or None when it has none. The
    first state of an aggregate (``group``: every member's arguments) converges them all
    first; planning that failed for ``name`` is raised here, at its own turn."""
    run = globals().get("__instance_id__")
    store = __context__.setdefault(_AGGREGATED, {})
    if group:
        outcomes = lxdapi_batch.converge_each(
            api,
            {m["name"]: {k: v for k, v in m.items() if k != "name"} for m in group},
            run_key=run,
            apply=not __opts__.get("test"),
        )
        for member, outcome in outcomes.items():
            store[(run, member)] = outcome
    outcome = store.pop((run, name), None)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
