"""``lxdapi.*`` states of storage: pools, volumes and volume snapshots (present as
declared, absent), a volume moved to another pool or server.

Core: ``_utils/lxdapi_reconcile.py`` and ``_utils/lxdapi_volumes.py``.
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi as core
import lxdapi_kinds
import lxdapi_retention
import lxdapi_volumes

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def storage_pool_present(
    name,
    driver,
    config=None,
    description=None,
    purge_config=False,
    member_config=None,
    **connection,
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

    connection
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
    return boundary.present(
        "storage_pool", name, declared, connection, purge_config, member_config=member_config
    )


def storage_pool_absent(name, **connection):
    """
    Ensure a storage pool does not exist. Refuses (result False, naming them) while
    volumes, instances or profiles use it.

    name
        The pool's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data:
          lxdapi.storage_pool_absent
    """
    return boundary.absent("storage_pool", name, connection)


def storage_volume_present(
    pool,
    name,
    type="custom",
    config=None,
    content_type=None,
    description=None,
    purge_config=False,
    source=None,
    **connection,
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

    connection
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
        return boundary.present(
            "storage_volume", name, declared, connection, purge_config, pool=pool, type=type
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
                else boundary.api(core.destination_arguments(remote, "source remote"))
            ),
            volume_type=type,
        )

    return boundary.resource_converge(
        name,
        "{} {!r}".format(lxdapi_kinds.resource_kind("storage_volume").title, name),
        make_plan,
        connection,
        created_key="storage_volume",
    )


def storage_volume_absent(pool, name, type="custom", **connection):
    """
    Ensure a storage volume does not exist. Refuses (result False, naming them) while
    instances use it.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type (default ``custom``).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data1:
          lxdapi.storage_volume_absent:
            - pool: default
    """
    return boundary.absent("storage_volume", name, connection, pool=pool, type=type)


def storage_volume_snapshot_present(
    pool, volume, name, description=None, keep=None, max_age=None, match=None, **connection
):
    """
    Ensure a snapshot of a custom storage volume exists (taken when missing; an existing
    one is never taken again), with the declared description; with a retention policy
    (``keep``, ``max_age``), ``name`` is a strftime pattern and the snapshots of the
    pattern that fall out of the policy are deleted.

    The policy works as ``snapshot_present``'s: ``name`` expanded in UTC, that snapshot
    taken if missing, then the snapshots whose names match the pattern (or ``match``)
    and fall out of the policy deleted, in one plan; others are never touched. A
    snapshot's time is the date in its name when the pattern has a year, else its
    ``created_at`` (UTC). Without ``keep`` and ``max_age``, ``name`` is taken as it is.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name; with ``keep`` or ``max_age``, a strftime pattern
        (``daily-%Y%m%d``).

    description
        The description; None: not managed.

    keep
        Keep the newest ``keep`` snapshots of the pattern (today's counts), delete older
        ones (a whole number, at least 1); None: no limit by number.

    max_age
        Delete the snapshots of the pattern older than this: ``7d``, ``12h``, ``30m``,
        ``2w``, ``1d12h`` or a number of seconds; None: no limit by age.

    match
        A glob (``daily-*``) naming the snapshots the policy may delete, instead of the
        pattern turned into a matcher; the declared name must match it.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.storage_volume_snapshot_present:
            - pool: default
            - volume: data1

        data1-%Y%m%d:
          lxdapi.storage_volume_snapshot_present:
            - pool: default
            - volume: data1
            - max_age: 14d
    """
    if keep is not None or max_age is not None or match is not None:

        def what(plan):
            return f"Snapshot {plan.name!r} of storage volume {volume!r}"

        return boundary.converge(
            name,
            connection,
            lambda api: lxdapi_retention.plan_volume_snapshot_retained(
                api, pool, volume, name, description, keep, max_age, match
            ),
            lambda plan: lxdapi_retention.retention_comment(plan, what(plan)),
            lambda plan: lxdapi_retention.retention_comment(plan, what(plan)),
            would=lambda plan: lxdapi_retention.retention_comment(plan, what(plan), testing=True),
        )
    return boundary.present(
        "storage_volume_snapshot",
        name,
        {"description": description},
        connection,
        pool=pool,
        volume=volume,
    )


def storage_volume_snapshot_absent(pool, volume, name, **connection):
    """
    Ensure a snapshot of a custom storage volume does not exist.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.storage_volume_snapshot_absent:
            - pool: default
            - volume: data1
    """
    return boundary.absent("storage_volume_snapshot", name, connection, pool=pool, volume=volume)


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
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_volumes.plan_volume_migrated(
            api,
            pool,
            name,
            to_pool=to_pool,
            target_api=None if to is None else boundary.api(core.destination_arguments(to)),
            source_url=source_url,
        ),
        lambda plan: _volume_moved(name, plan),
        f"Storage volume {name!r} is already where declared.",
    )
