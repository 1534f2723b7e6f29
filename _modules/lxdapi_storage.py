"""``lxdapi.*`` execution functions of storage: pools, volumes and volume snapshots (get,
list, create, update, delete), and volumes leaving their pool or server (copies, moves,
backups).

Core: ``_utils/lxdapi_reconcile.py`` and ``_utils/lxdapi_volumes.py``. Connection
settings as in every ``lxdapi`` function (see ``_modules/lxdapi.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_reconcile
import lxdapi_volumes

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


@boundary.errors
def storage_pool_get(name, target=None, **connection):
    """
    Return a storage pool as LXD holds it (driver, config, used_by), or False when it
    does not exist.

    name
        The pool's name.

    target
        On an LXD cluster: the member whose own config to read (``source``,
        member-specific keys); default: the cluster-wide view.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_get default
        salt '*' lxdapi.storage_pool_get default target=node2
    """
    return boundary.resource_get("storage_pool", name, connection, target=target)


@boundary.errors
def storage_pool_list(recursion=0, **connection):
    """
    List the storage pools: names, or with ``recursion=1`` full objects.

    recursion
        True to return every pool as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_list
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "storage_pool", recursion=recursion
    )


@boundary.errors
def storage_pool_create(
    name, driver, config=None, description=None, member_config=None, **connection
):
    """
    Create a storage pool; return it as LXD then holds it. Fails if it exists.

    name
        The pool's name.

    driver
        The storage driver: ``dir``, ``btrfs``, ``lvm``, ``zfs``, ``ceph``... It cannot
        be changed later.

    config
        A mapping of config keys (``source``, ``size``, ``rsync.bwlimit``...).

    description
        The pool's description.

    member_config
        On an LXD cluster: each member's own keys, ``{member: {key: value}}`` (``source``,
        ``size``, ``zfs.pool_name``, ``lvm.vg_name``...).
        Member-specific keys in ``config`` go to every member; this overrides them per
        member. LXD's creation steps (a pending entry on each member, then the creation
        everywhere) are made for you.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_create data dir config='{"source": "/srv/lxd"}'
        salt '*' lxdapi.storage_pool_create data dir member_config='{"node1": {"source": \
            "/srv/a"}, "node2": {"source": "/srv/b"}}'
    """
    declared = {"driver": driver, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "storage_pool", name, declared, member_config=member_config
    )


@boundary.errors
def storage_pool_update(
    name,
    config=None,
    description=None,
    target=None,
    member_config=None,
    purge_config=False,
    **connection,
):
    """
    Bring an existing storage pool to the given config and description (only the keys
    given are compared: LXD adds its own, such as ``source``); return the changes.
    A different ``source`` is logged, not written: LXD cannot change it.

    name
        The pool's name.

    config
        Config keys to set.

    description
        The new description.

    target
        On an LXD cluster: the member whose own config keys to change.

    member_config
        On an LXD cluster: each member's own keys to set, ``{member: {key: value}}``
        (``source``, ``size``, ``zfs.pool_name``, ``lvm.vg_name``...); read and written
        with ``?target=MEMBER``. Not together with ``target``.

    purge_config
        Remove the config keys that are not given (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_update data config='{"rsync.bwlimit": "10MB"}'
        salt '*' lxdapi.storage_pool_update data config='{"size": "20GB"}' target=node2
    """
    declared = {"config": config, "description": description}
    return boundary.resource_update(
        "storage_pool",
        name,
        declared,
        connection,
        purge_config,
        target=target,
        member_config=member_config,
    )


@boundary.errors
def storage_pool_delete(name, **connection):
    """
    Delete a storage pool. Returns True if deleted, False if it did not exist; fails,
    naming them, when volumes, instances or profiles still use it.

    name
        The pool's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_delete data
    """
    return lxdapi_reconcile.resource_delete(boundary.connect(connection), "storage_pool", name)


@boundary.errors
def storage_volume_get(pool, name, type="custom", **connection):
    """
    Return a storage volume as LXD holds it (config, content_type, used_by), or False
    when it (or its pool) does not exist.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type: ``custom`` (default), ``container``, ``virtual-machine``,
        ``image``.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_get default data1
    """
    return boundary.resource_get("storage_volume", name, connection, pool=pool, type=type)


@boundary.errors
def storage_volume_list(pool, type="custom", recursion=0, **connection):
    """
    List a pool's volumes of one type: names, or with ``recursion=1`` full objects.

    pool
        The storage pool's name.

    type
        The volume type (default ``custom``).

    recursion
        True to return every volume as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_list default
        salt '*' lxdapi.storage_volume_list default type=container
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "storage_volume", recursion=recursion, pool=pool, type=type
    )


@boundary.errors
def storage_volume_create(
    pool, name, type="custom", config=None, content_type=None, description=None, **connection
):
    """
    Create a custom storage volume; return it as LXD then holds it. Fails if it exists.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type; LXD only creates ``custom`` ones (the default).

    config
        A mapping of config keys (``size``, ``user.*``...).

    content_type
        ``filesystem`` (LXD's default) or ``block``. It cannot be changed later.

    description
        The volume's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_create default data1 config='{"user.owner": "web"}'
    """
    declared = {"config": config, "content_type": content_type, "description": description}
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "storage_volume", name, declared, pool=pool, type=type
    )


@boundary.errors
def storage_volume_update(
    pool, name, type="custom", config=None, description=None, purge_config=False, **connection
):
    """
    Bring an existing storage volume to the given config and description (a PATCH with
    If-Match, only when something differs); return the changes.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type (default ``custom``).

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_update default data1 description="web data"
    """
    declared = {"config": config, "description": description}
    return boundary.resource_update(
        "storage_volume", name, declared, connection, purge_config, pool=pool, type=type
    )


@boundary.errors
def storage_volume_delete(pool, name, type="custom", **connection):
    """
    Delete a storage volume. Returns True if deleted, False if it did not exist; fails,
    naming them, when instances still use it.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type (default ``custom``).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_delete default data1
    """
    return lxdapi_reconcile.resource_delete(
        boundary.connect(connection), "storage_volume", name, pool=pool, type=type
    )


@boundary.errors
def storage_volume_snapshot_get(pool, volume, name, **connection):
    """
    Return a snapshot of a custom storage volume as LXD holds it, or False when it does
    not exist.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_get default data1 before-upgrade
    """
    return boundary.resource_get(
        "storage_volume_snapshot", name, connection, pool=pool, volume=volume
    )


@boundary.errors
def storage_volume_snapshot_update(pool, volume, name, description=None, **connection):
    """
    Bring an existing snapshot of a custom storage volume to the given description (its
    one writable field; a PUT with If-Match, only when it differs); return the changes.
    Fails if the snapshot does not exist.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    description
        The snapshot's description; None: not managed.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_update default data1 before-upgrade \
            description="the last good one"
    """
    return boundary.resource_update(
        "storage_volume_snapshot",
        name,
        {"description": description},
        connection,
        pool=pool,
        volume=volume,
    )


@boundary.errors
def storage_volume_snapshot_list(pool, volume, recursion=0, **connection):
    """
    List the snapshots of a custom storage volume: names, or with ``recursion=1``
    LXD's objects.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    recursion
        True to return every snapshot as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_list default data1
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection),
        "storage_volume_snapshot",
        recursion=recursion,
        pool=pool,
        volume=volume,
    )


@boundary.errors
def storage_volume_snapshot_create(pool, volume, name, description=None, **connection):
    """
    Take a snapshot of a custom storage volume; return it as LXD then holds it. Fails if
    a snapshot of that name exists.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    description
        The snapshot's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_create default data1 before-upgrade
    """
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection),
        "storage_volume_snapshot",
        name,
        {"description": description},
        pool=pool,
        volume=volume,
    )


@boundary.errors
def storage_volume_snapshot_restore(pool, volume, name, **connection):
    """
    Restore a custom storage volume to one of its snapshots (what the volume held since
    is lost). LXD refuses while a running instance uses the volume.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot to restore.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_restore default data1 before-upgrade
    """
    return lxdapi_reconcile.storage_volume_snapshot_restore(
        boundary.connect(connection), pool, volume, name
    )


@boundary.errors
def storage_volume_snapshot_delete(pool, volume, name, **connection):
    """
    Delete a snapshot of a custom storage volume. True if deleted, False if it did not
    exist.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_delete default data1 before-upgrade
    """
    return lxdapi_reconcile.resource_delete(
        boundary.connect(connection), "storage_volume_snapshot", name, pool=pool, volume=volume
    )


@boundary.errors
def storage_volume_copy(
    pool,
    name,
    new_name=None,
    target_pool=None,
    to=None,
    volume_only=False,
    source_url=None,
    **connection,
):
    """
    Copy a custom storage volume, with its snapshots, on the same server or to another
    one; return ``{"pool": ..., "name": ...}`` of the copy. An existing volume of that
    name is never overwritten.

    To another server the target pulls the volume from this one over HTTPS (LXD's
    migration, authorised by one-time secrets: the two servers need not trust each
    other), so this server must listen on HTTPS (``core.https_address``). The copy
    keeps the config, description and content type.

    pool
        The storage pool of the volume (here: the connection settings name the source
        server).

    name
        The volume's name.

    new_name
        The copy's name (default ``name``; on the same server it or ``target_pool``
        must differ).

    target_pool
        The pool the copy goes to (default ``pool``).

    to
        The destination server: a remote's name (``lxdapi:remotes:NAME``) or a mapping
        of connection settings (``endpoint``, ``cert``, ``key``, ``server_cert``,
        ``project``...). None: the same server.

    volume_only
        True to leave the snapshots out (default False).

    source_url
        The URL the target reaches this server at (default: its first HTTPS address).

    connection
        Connection settings of the source; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_copy default data1 data1-clone
        salt '*' lxdapi.storage_volume_copy default data1 target_pool=fast
        salt '*' lxdapi.storage_volume_copy default data1 to=rack2
    """
    return lxdapi_volumes.storage_volume_copy(
        boundary.connect(connection),
        pool,
        name,
        new_name=new_name,
        target_pool=target_pool,
        target_api=None if to is None else boundary.target_api(to),
        volume_only=volume_only,
        source_url=source_url,
    )


@boundary.errors
def storage_volume_move(pool, name, to_pool=None, to=None, source_url=None, **connection):
    """
    Move a custom storage volume to another pool (LXD's move: the instances and profiles
    using it follow it) or to another server (the destination pulls it, with its
    snapshots, over HTTPS; then this server's is deleted). Returns the changes
    (``{"pool": {"old": ..., "new": ...}}``, ``server`` too for another server); empty
    when the destination has it already (nothing is sent).

    A volume used by a running instance does not move to another pool (LXD refuses it);
    one that anything uses here does not move to another server.

    pool
        The pool the volume is in.

    name
        The volume's name.

    to_pool
        The pool it goes to (default ``pool``, on another server).

    to
        The destination server: a remote's name (``lxdapi:remotes:NAME``) or a mapping
        of connection settings. None: the same server (then ``to_pool`` is required).

    source_url
        The URL the destination reaches this server at (default: its first HTTPS
        address).

    connection
        Connection settings of the source; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_move default data1 to_pool=fast
        salt '*' lxdapi.storage_volume_move default data1 to=rack2
    """
    api = boundary.connect(connection)
    plan = lxdapi_volumes.plan_volume_migrated(
        api,
        pool,
        name,
        to_pool=to_pool,
        target_api=None if to is None else boundary.target_api(to),
        source_url=source_url,
    )
    plan.apply(api)
    return plan.changes


@boundary.errors
def storage_volume_backup_export(
    pool, name, dest, volume_only=False, compression=None, optimized_storage=False, **connection
):
    """
    Export a custom storage volume, with its snapshots, to a local backup tarball
    (written 0600, complete or not at all); return ``{dest, size, sha256}``. The backup
    the server makes for it is deleted from the server afterwards. Needs the
    ``custom_volume_backup`` API extension (LXD 4.8 and later, Incus).

    pool
        The storage pool of the volume.

    name
        The volume's name.

    dest
        Absolute path of the tarball to write (its folder must exist; an existing file is
        replaced).

    volume_only
        True to leave the snapshots out (default False).

    compression
        ``gzip`` (the server's default), ``bzip2``, ``xz``, ``zstd``, ``lz4`` or
        ``none``.

    optimized_storage
        True for the storage driver's own format (btrfs, zfs: faster, but only
        importable into a pool of the same driver); default False.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_backup_export default data1 /srv/backups/data1.tar.gz
    """
    return lxdapi_volumes.storage_volume_backup_export(
        boundary.connect(connection),
        pool,
        name,
        dest,
        volume_only=volume_only,
        compression=compression,
        optimized_storage=optimized_storage,
    )


@boundary.errors
def storage_volume_backup_import(pool, path, name=None, **connection):
    """
    Create a custom storage volume from a backup tarball (as
    ``storage_volume_backup_export`` writes it); return ``{"pool": ..., "name": ...}``.
    An existing volume of that name is never overwritten.

    pool
        The storage pool to create it in.

    path
        A local path or a ``salt://`` URL of the tarball.

    name
        A name for the new volume (default: the one in the backup).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_backup_import default /srv/backups/data1.tar.gz \
            name=data1-restored
    """
    return lxdapi_volumes.storage_volume_backup_import(
        boundary.connect(connection), pool, boundary.local_source(path), name=name
    )
