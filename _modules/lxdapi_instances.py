"""``lxdapi.*`` execution functions of instances: read, create, copy, move, back up,
delete, start, stop, restart, freeze, their config and devices, and their snapshots.

Core: ``_utils/lxdapi_instances.py`` (with ``lxdapi_readiness``, ``lxdapi_backups`` and
``lxdapi_cluster`` for waits, copies and moves). Connection settings as in every
``lxdapi`` function (see ``_modules/lxdapi.py``).
"""

from salt.exceptions import SaltInvocationError

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_backups
import lxdapi_instances
import lxdapi_readiness
import lxdapi_values

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


@boundary.errors
def container_get(name, **connection):
    """
    Return an instance's metadata (config, devices, profiles, status...), or False.

    Works for containers and virtual machines alike.

    name
        The instance's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_get web1
    """
    result = lxdapi_instances.instance_get(
        boundary.connect(connection), lxdapi_values.check_name(name, "name")
    )
    return result.metadata if result else False


@boundary.errors
def container_list(recursion=0, **connection):
    """
    List the instances: their names, or LXD's objects with ``recursion``.

    recursion
        0 (default): names; 1: each instance's metadata; 2: with its state too.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_list
        salt '*' lxdapi.container_list recursion=1
    """
    return lxdapi_instances.instance_list(boundary.connect(connection), recursion)


@boundary.errors
def container_state(name, **connection):
    """
    Return an instance's state (status, processes, memory, disk, network), or False.

    name
        The instance's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_state web1
    """
    return lxdapi_instances.instance_state(boundary.connect(connection), name)


@boundary.errors
def container_create(
    name,
    source=None,
    config=None,
    devices=None,
    profiles=None,
    type="container",
    ephemeral=False,
    description=None,
    target=None,
    **connection,
):
    """
    Create an instance (stopped) and return its metadata.

    An existing name is an error.

    name
        The instance's name.

    source
        A local image alias or fingerprint (``busybox``), LXD's source dict (a remote
        image: ``{"type": "image", "mode": "pull", "server": ..., "alias": ...}``), or
        nothing for an instance without a root filesystem.

    config
        Config keys (``{"limits.cpu": 2}``); values are stored as strings.

    devices
        Devices by name, each a dict with a ``type``.

    profiles
        Ordered list of profile names (default: LXD's, ``[default]``).

    type
        ``container`` (default) or ``virtual-machine``.

    ephemeral
        True: LXD deletes the instance when it stops.

    description
        Free text.

    target
        Cluster member to create it on.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_create web1 source=busybox config='{"limits.cpu": 1}'
        salt '*' lxdapi.container_create vm1 source=debian type=virtual-machine
    """
    return lxdapi_instances.instance_create(
        boundary.connect(connection),
        name,
        source=source,
        config=config,
        devices=devices,
        profiles=profiles,
        instance_type=type,
        ephemeral=ephemeral,
        description=description,
        target=target,
    )


@boundary.errors
def container_rename(name, new_name, **connection):
    """
    Rename a stopped instance. True if renamed; False when ``name`` no longer exists and
    ``new_name`` does (renamed already). An existing ``new_name`` is never overwritten.

    name
        The instance's name.

    new_name
        Its new name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_rename web1 web1-old
    """
    return lxdapi_instances.instance_rename(boundary.connect(connection), name, new_name)


@boundary.errors
def container_copy(
    name, new_name=None, to=None, instance_only=False, source_url=None, **connection
):
    """
    Copy an instance, with its snapshots, on the same server or to another one; return
    the new instance's name. An existing instance of that name is never overwritten.

    To another server the target pulls the instance from this one over HTTPS (LXD's
    migration, authorised by one-time secrets: the two servers need not trust each
    other), so this server must listen on HTTPS (``core.https_address``). The copy keeps
    the config, devices and profiles (which must exist on the target).

    name
        The instance's name (here: the connection settings name the source server).

    new_name
        The copy's name; required on the same server, default ``name`` on another.

    to
        The destination server: a remote's name (``lxdapi:remotes:NAME``) or a mapping
        of connection settings (``endpoint``, ``cert``, ``key``, ``server_cert``,
        ``project``...). None: the same server.

    instance_only
        True to leave the snapshots out (default False).

    source_url
        The URL the target reaches this server at (default: its first HTTPS address).

    connection
        Connection settings of the source; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_copy web1 web1-clone
        salt '*' lxdapi.container_copy web1 to=rack2
    """
    return lxdapi_backups.instance_copy(
        boundary.connect(connection),
        name,
        new_name=new_name,
        target_api=None if to is None else boundary.target_api(to),
        instance_only=instance_only,
        source_url=source_url,
    )


@boundary.errors
def container_migrate(
    name, to=None, target=None, stop_and_start=False, timeout=30, source_url=None, **connection
):
    """
    Move an instance to another server (``to``: the destination pulls it, with its
    snapshots, over HTTPS, then this server's copy is deleted; this server must listen
    on HTTPS, ``core.https_address``) or to another member of its cluster (``target``).
    Returns the changes (``{"server": {...}}`` or ``{"location": {...}}``, each ``{old,
    new}``); empty when it is there already (nothing is sent).

    name
        The instance's name.

    to
        The destination server: a remote's name (``lxdapi:remotes:NAME``) or a mapping
        of connection settings.

    target
        The destination cluster member (instead of ``to``).

    stop_and_start
        Stop a running instance cleanly first and start it on the destination (default
        False: a running instance is refused; a live move would need CRIU).

    timeout
        Seconds a clean stop or a start may take (default 30).

    source_url
        The URL the destination reaches this server at (default: its first HTTPS
        address).

    connection
        Connection settings of the source; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_migrate web1 to=rack2 stop_and_start=True
        salt '*' lxdapi.container_migrate web1 target=node2
    """
    api = boundary.connect(connection)
    plan = lxdapi_backups.plan_instance_migrated(
        api,
        name,
        target_api=None if to is None else boundary.target_api(to),
        target=target,
        stop_and_start=stop_and_start,
        timeout=timeout,
        source_url=source_url,
    )
    plan.apply(api)
    return plan.changes


@boundary.errors
def container_backup_export(name, dest, instance_only=False, compression=None, **connection):
    """
    Export an instance, with its snapshots, to a local backup tarball (written 0600,
    complete or not at all); return ``{dest, size, sha256}``. The backup LXD makes for it
    is deleted from the server afterwards.

    name
        The instance's name.

    dest
        Absolute path of the tarball to write (its folder must exist; an existing file is
        replaced).

    instance_only
        True to leave the snapshots out (default False).

    compression
        ``gzip`` (LXD's default), ``bzip2``, ``xz``, ``zstd``, ``lz4`` or ``none``.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_backup_export web1 /srv/backups/web1.tar.gz
    """
    return lxdapi_backups.instance_backup_export(
        boundary.connect(connection),
        name,
        dest,
        instance_only=instance_only,
        compression=compression,
    )


@boundary.errors
def container_backup_import(source, name=None, pool=None, **connection):
    """
    Create an instance from a backup tarball (as ``container_backup_export`` writes it);
    return its name. An existing instance of that name is never overwritten.

    source
        A local path or a ``salt://`` URL of the tarball.

    name
        A name for the new instance (default: the one in the backup).

    pool
        The storage pool to create it in (default: the one in the backup).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_backup_import /srv/backups/web1.tar.gz name=web1-restored
    """
    return lxdapi_backups.instance_backup_import(
        boundary.connect(connection), boundary.local_source(source), name=name, pool=pool
    )


@boundary.errors
def container_delete(name, force=False, **connection):
    """
    Delete an instance; True, or False when it does not exist.

    A running or frozen instance is refused unless ``force``.

    name
        The instance's name.

    force
        Kill a running or frozen instance first (as ``lxc delete --force``).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_delete web1
        salt '*' lxdapi.container_delete web1 force=True
    """
    return lxdapi_instances.instance_delete(boundary.connect(connection), name, force=force)


def _action(name, action, timeout, force, kwargs):
    return lxdapi_instances.instance_action(
        boundary.connect(kwargs), name, action, timeout=timeout, force=force
    )


@boundary.errors
def container_start(name, wait_for=None, **connection):
    """
    Start an instance (a frozen one is unfreezed); True, or False if already running.

    name
        The instance's name.

    wait_for
        Then wait until it is ready to use, not just Running: a mapping of conditions
        checked in order under one deadline, ``address: {nic: eth0, family: inet6,
        scope: global}``, ``exec: [test, -e, /run/ready]`` (exits 0 inside),
        ``agent: True`` (a VM's agent answers), ``timeout`` (seconds, default 60),
        ``exec_timeout`` (seconds per run of the command, default 10). Checked before
        anything is sent; then the call returns ``{changed, ready}`` (``ready``: what
        was found), and a timeout is an error naming the condition and what was seen.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_start web1
        salt '*' lxdapi.container_start web1 wait_for='{"address": "eth0", "timeout": 30}'
    """
    if wait_for is not None:
        return lxdapi_readiness.instance_action_ready(
            boundary.connect(connection), name, "start", wait_for
        )
    return _action(name, "start", 30, False, connection)


@boundary.errors
def container_stop(name, force=False, timeout=30, **connection):
    """
    Stop an instance with a clean shutdown; True, or False if already stopped.

    A frozen instance is unfreezed, then stopped.

    name
        The instance's name.

    force
        Kill it instead of asking it to shut down (default False).

    timeout
        Seconds the clean shutdown may take before it fails (default 30).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_stop web1
        salt '*' lxdapi.container_stop web1 timeout=120
        salt '*' lxdapi.container_stop web1 force=True
    """
    return _action(name, "stop", timeout, force, connection)


@boundary.errors
def container_restart(name, force=False, timeout=30, wait_for=None, **connection):
    """
    Restart a running instance (clean by default); True. A stopped one is an error.

    name
        The instance's name.

    force
        Kill it instead of a clean shutdown (default False).

    timeout
        Seconds the clean shutdown may take (default 30).

    wait_for
        Then wait until it is ready to use, not just Running: a mapping of conditions
        checked in order under one deadline, ``address: {nic: eth0, family: inet6,
        scope: global}``, ``exec: [test, -e, /run/ready]`` (exits 0 inside),
        ``agent: True`` (a VM's agent answers), ``timeout`` (seconds, default 60),
        ``exec_timeout`` (seconds per run of the command, default 10). Checked before
        anything is sent; then the call returns ``{changed, ready}`` (``ready``: what
        was found), and a timeout is an error naming the condition and what was seen.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_restart web1
        salt '*' lxdapi.container_restart web1 wait_for='{"exec": "test -e /run/ready"}'
    """
    if wait_for is not None:
        return lxdapi_readiness.instance_action_ready(
            boundary.connect(connection), name, "restart", wait_for, timeout=timeout, force=force
        )
    return _action(name, "restart", timeout, force, connection)


@boundary.errors
def container_freeze(name, **connection):
    """
    Freeze (pause) a running instance; True, or False if already frozen.

    A stopped instance is an error.

    name
        The instance's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_freeze web1
    """
    return _action(name, "freeze", 30, False, connection)


@boundary.errors
def container_unfreeze(name, **connection):
    """
    Unfreeze (resume) a frozen instance; True, or False if it is running.

    A stopped instance is an error.

    name
        The instance's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_unfreeze web1
    """
    return _action(name, "unfreeze", 30, False, connection)


@boundary.errors
def container_config_get(name, key=None, expanded=False, **connection):
    """
    Return an instance's config dict, or one key's value (None when unset).

    False when the instance does not exist.

    name
        The instance's name.

    key
        One config key (``limits.cpu``); none: the whole config. (On this function
        ``key`` is the config key: set a TLS client key through ``remote`` or config.)

    expanded
        True: the config with the profiles' keys applied (``expanded_config``).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_config_get web1
        salt '*' lxdapi.container_config_get web1 limits.cpu
    """
    return lxdapi_instances.instance_config_get(
        boundary.connect(connection), name, key, expanded=expanded
    )


@boundary.errors
def container_config_set(name, key=None, value=None, config=None, **connection):
    """
    Set config keys on an instance (one PATCH with If-Match).

    Returns the changes, ``{key: {"old": ..., "new": ...}}``: empty (and nothing written)
    when every key already has its value.

    name
        The instance's name.

    key
        One config key; give ``value`` with it. (On this function ``key`` is the config
        key: set a TLS client key through ``remote`` or config.)

    value
        Its value (stored as a string: True -> "true"). On the command line Salt reads
        values as YAML: ``yes``/``no``/``on``/``off`` become true/false; quote them
        (``'"yes"'``) to store the word.

    config
        Several keys at once, as a dict (instead of, or besides, ``key``).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_config_set web1 limits.cpu 2
        salt '*' lxdapi.container_config_set web1 config='{"user.a": 1, "user.b": 2}'
    """
    if config is not None and not isinstance(config, dict):
        raise SaltInvocationError("config must be a mapping of keys to values")
    wanted = dict(config or {})
    if key is not None:
        if value is None:
            raise SaltInvocationError(f"key {key} needs a value")
        wanted[str(key)] = value
    if not wanted:
        raise SaltInvocationError("give key and value, or config")
    api = boundary.connect(connection)
    plan = lxdapi_instances.plan_instance_config(api, name, config=wanted)
    plan.apply(api)
    return plan.changes


@boundary.errors
def container_config_unset(name, key, **connection):
    """
    Remove config keys from an instance (one PATCH with If-Match).

    Returns the changes, ``{key: {"old": ..., "new": None}}``: empty (and nothing
    written) when no key was set.

    name
        The instance's name.

    key
        A config key, or a list of them.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_config_unset web1 limits.cpu
        salt '*' lxdapi.container_config_unset web1 '[user.a, user.b]'
    """
    keys = key if isinstance(key, (list, tuple)) else [key]
    if not keys or any(k is None or k == "" for k in keys):
        raise SaltInvocationError("key must be a config key or a list of them")
    api = boundary.connect(connection)
    plan = lxdapi_instances.plan_instance_config(api, name, unset=keys)
    plan.apply(api)
    return plan.changes


@boundary.errors
def container_device_set(name, device=None, spec=None, devices=None, **connection):
    """
    Add or replace an instance's own devices (one write with If-Match, only when they
    differ); its other devices are kept. Returns the changes, ``{"devices": {old,
    new}}``: empty (nothing written) when they were so already.

    name
        The instance's name.

    device
        One device's name (with ``spec``).

    spec
        That device, as LXD takes it (``{type: disk, path: /srv, source: /srv/web}``).

    devices
        Several at once: ``{name: spec}``.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_device_set web1 data \
            spec='{"type": "disk", "path": "/srv", "source": "/srv/web"}'
    """
    if devices is not None and not isinstance(devices, dict):
        raise SaltInvocationError("devices must be a mapping of names to devices")
    wanted = dict(devices or {})
    if device is not None:
        if not isinstance(spec, dict):
            raise SaltInvocationError(f"device {device} needs a spec (a mapping)")
        wanted[str(device)] = spec
    if not wanted:
        raise SaltInvocationError("give device and spec, or devices")
    api = boundary.connect(connection)
    plan = lxdapi_instances.plan_instance_devices(api, name, devices=wanted)
    plan.apply(api)
    return plan.changes


@boundary.errors
def container_device_unset(name, device, **connection):
    """
    Remove an instance's own devices (one write with If-Match); its other devices are
    kept. Returns the changes: empty (nothing written) when it had none of them.

    name
        The instance's name.

    device
        A device's name, or a list of names.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_device_unset web1 data
    """
    names = [device] if isinstance(device, str) else device
    if not isinstance(names, (list, tuple)) or not names:
        raise SaltInvocationError("device must be a name or a list of names")
    api = boundary.connect(connection)
    plan = lxdapi_instances.plan_instance_devices(api, name, remove=names)
    plan.apply(api)
    return plan.changes


@boundary.errors
def snapshot_list(name, recursion=0, **connection):
    """
    List an instance's snapshots: names, or LXD's objects with ``recursion``.

    False when the instance does not exist.

    name
        The instance's name.

    recursion
        0 (default): names; 1: each snapshot's metadata.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.snapshot_list web1
    """
    return lxdapi_instances.snapshot_list(boundary.connect(connection), name, recursion)


@boundary.errors
def snapshot_create(name, snapshot=None, stateful=False, **connection):
    """
    Snapshot an instance; return the snapshot's name. An existing name is an error.

    name
        The instance's name.

    snapshot
        The snapshot's name (default: LXD picks ``snap0``, ``snap1``...).

    stateful
        Also save the running state (needs CRIU; default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.snapshot_create web1 before-upgrade
    """
    return lxdapi_instances.snapshot_create(
        boundary.connect(connection), name, snapshot, stateful=stateful
    )


@boundary.errors
def snapshot_restore(name, snapshot, stateful=False, **connection):
    """
    Restore an instance to a snapshot (its config and filesystem); True.

    name
        The instance's name.

    snapshot
        The snapshot's name.

    stateful
        Also restore the running state of a stateful snapshot (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.snapshot_restore web1 before-upgrade
    """
    return lxdapi_instances.snapshot_restore(
        boundary.connect(connection), name, snapshot, stateful=stateful
    )


@boundary.errors
def snapshot_delete(name, snapshot, **connection):
    """
    Delete a snapshot; True, or False when it does not exist.

    name
        The instance's name.

    snapshot
        The snapshot's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.snapshot_delete web1 before-upgrade
    """
    return lxdapi_instances.snapshot_delete(boundary.connect(connection), name, snapshot)
