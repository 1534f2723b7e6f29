"""Execution module for LXD through its REST API: ``salt '*' lxdapi.container_get web1``.

Thin: each function builds (or reuses) an :class:`API` from the connection settings, calls
the core in ``_utils/lxdapi.py`` and returns plain data. Core errors become
``CommandExecutionError`` (server refused, operation failed) or ``SaltInvocationError``
(bad arguments) in one place, :func:`_salt_errors`.

Connection settings, every function (precedence, highest first):

- keyword arguments ``endpoint``, ``cert``, ``key``, ``verify``, ``server_cert``,
  ``timeout``, ``wait_timeout``, ``project`` (``client_key`` and ``request_timeout`` stand
  for ``key`` and ``timeout`` where a function's own parameter has that name, as in
  ``container_config_get`` and ``container_stop``);
- ``remote=NAME``: the settings under ``lxdapi:remotes:NAME``;
- ``lxdapi:endpoint`` etc. in the minion config, grains or pillar (``config.get``);
- the local unix socket (``$LXD_DIR/unix.socket``, the snap's, ``/var/lib/lxd``'s).
"""

import base64
import functools
import logging
import os
import sys

import salt.utils.args
import salt.utils.data
from salt.exceptions import CommandExecutionError, SaltInvocationError

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
    import lxdapi_cluster
    import lxdapi_files
    import lxdapi_host
    import lxdapi_images
    import lxdapi_inside
    import lxdapi_instances
    import lxdapi_logs
    import lxdapi_operations
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
__func_alias__ = {"list_": "list"}


def __virtual__():
    if IMPORT_ERROR:
        return (False, IMPORT_ERROR)
    if core.requests_unixsocket is None:
        return (False, "lxdapi: requests-unixsocket is not installed")
    return __virtualname__


# ------------------------------------------------------------------ the Salt boundary


def _salt_errors(func):
    """Turn core errors into Salt's: the one place where that happens.

    What the server refused and what the host could not do (a file to read or write) are
    ``CommandExecutionError``; bad input, which the core reports as ValueError naming the
    argument, is ``SaltInvocationError``. Anything else is a bug: its traceback goes to the
    minion log and the caller gets a ``CommandExecutionError`` that says so.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (SaltInvocationError, CommandExecutionError):
            raise
        except core.APIException as exc:
            raise CommandExecutionError(str(exc)) from None
        except ValueError as exc:
            raise SaltInvocationError(str(exc)) from None
        except OSError as exc:
            raise CommandExecutionError(str(exc)) from None
        except Exception as exc:  # a bug, not bad input: keep its traceback
            raise CommandExecutionError(_internal_error(func.__name__, exc)) from None

    return wrapper


def _internal_error(where, exc):
    """Log the traceback of an unexpected exception (a bug in lxdapi) and return the text
    that reports it: the function, the exception, and where its traceback is."""
    log.exception("lxdapi: internal error in %s", where)
    return (
        f"lxdapi internal error in {where}: {type(exc).__name__}: {exc} (a bug, not bad input; its "
        "traceback is in "
        "the minion log)"
    )


def _api(**kwargs):
    """The :class:`API` for these connection kwargs, cached in ``__context__`` per run."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    return core.connection_api(
        kwargs,
        __context__,
        __salt__["config.get"],
        __salt__["sdb.get"],
        __opts__.get("cachedir"),
    )


def _connect(kwargs):
    """The cached :class:`API` for a function's ``**kwargs``; other kwargs are refused."""
    conn, rest = _split_connection(kwargs)
    _no_extra(rest)
    return _api(**conn)


def _split_connection(kwargs):
    """Split a function's ``**kwargs`` into (connection settings, the rest)."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    conn_keys = set(core.CONNECTION_ARGUMENTS)
    conn = {k: v for k, v in kwargs.items() if k in conn_keys}
    rest = {k: v for k, v in kwargs.items() if k not in conn_keys}
    return conn, rest


def _no_extra(rest):
    if rest:
        raise SaltInvocationError("unexpected argument(s): {}".format(", ".join(sorted(rest))))


def _result(result, wait=True):
    """The metadata of a result; for an async operation and ``wait``, the finished op's;
    the body as text for an answer that is not JSON (a log, a file)."""
    if wait and result.is_async:
        return result.wait().metadata
    if result.data is None and result.response.content:
        return result.response.content.decode("utf-8", "replace")
    return result.metadata


# -------------------------------------------------------------------------- raw calls


@_salt_errors
def request(method, path, data=None, wait=True, **kwargs):
    """
    Send one request to the LXD API and return the response's ``metadata`` (the body as
    text when the answer is not JSON: a log file, a file's content).

    method
        HTTP method: GET, POST, PUT, PATCH or DELETE.

    path
        Relative to ``/1.0/`` (``instances``) or absolute (``/1.0/instances``).

    data
        The JSON body (a dict or list), for writes.

    wait
        For an async operation, wait for it and return the finished operation's
        metadata (default True); False returns the operation as created.

    kwargs
        Connection settings (``remote``, ``endpoint``, ``project``, ...); see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.request GET instances
        salt '*' lxdapi.request PATCH instances/web1 '{"config": {"user.a": "1"}}'
    """
    conn, rest = _split_connection(kwargs)
    _no_extra(rest)
    if str(method).upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise SaltInvocationError(
            f"unknown method {method!r}; choose GET, POST, PUT, PATCH or DELETE"
        )
    if data is not None and not isinstance(data, (dict, list)):
        raise SaltInvocationError("data must be a JSON object or list")
    call = {} if data is None else {"json": data}
    return _result(_api(**conn).request(str(method).upper(), path, **call), wait)


def get(path, **kwargs):
    """
    GET ``path`` and return the response's metadata.

    path
        Relative to ``/1.0/`` (``instances``) or absolute (``/1.0``).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.get instances
    """
    return request("GET", path, **kwargs)


def post(path, data=None, wait=True, **kwargs):
    """
    POST ``data`` to ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body.

    wait
        Wait for an async operation (default True).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.post profiles '{"name": "web"}'
    """
    return request("POST", path, data=data, wait=wait, **kwargs)


def put(path, data=None, wait=True, **kwargs):
    """
    PUT ``data`` at ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body: the whole writable object.

    wait
        Wait for an async operation (default True).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.put instances/web1/state '{"action": "start"}'
    """
    return request("PUT", path, data=data, wait=wait, **kwargs)


def patch(path, data=None, wait=True, **kwargs):
    """
    PATCH ``path`` with ``data`` (only the fields given change).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body: the fields to change.

    wait
        Wait for an async operation (default True).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.patch profiles/default '{"description": "base"}'
    """
    return request("PATCH", path, data=data, wait=wait, **kwargs)


def delete(path, wait=True, **kwargs):
    """
    DELETE ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    wait
        Wait for an async operation (default True).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.delete profiles/old
    """
    return request("DELETE", path, wait=wait, **kwargs)


# ---- execution functions ----
# Server, instances, exec, files, snapshots, images. Thin: the work is in the core's
# "execution helpers" section; these check Salt-side input, resolve salt://
# sources and shape the return value.


def _local_source(source):
    """A local path for ``source``: a ``salt://`` URL is fetched with ``cp.cache_file``."""
    source = str(source)
    if source.startswith("salt://"):
        cached = __salt__["cp.cache_file"](source)
        if not cached:
            raise SaltInvocationError(f"{source} was not found on the fileserver")
        return cached
    if not os.path.isfile(source):
        raise SaltInvocationError(f"source file {source} does not exist")
    return source


def _text_or_base64(data):
    """``(text, None)`` for UTF-8 data, else ``(base64 text, "base64")``."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


# ------------------------------------------------------------------------- server


@_salt_errors
def info(**kwargs):
    """
    Summary of the server: which one (``server``: ``lxd`` or ``incus``) and its version,
    API version and extensions, auth, environment.

    kwargs
        Connection settings (``remote``, ``endpoint``, ``project``, ...); see the module.

    Returns ``{server, version, api_version, api_status, api_extensions, auth,
    auth_methods, environment}``; ``environment`` holds server name, kernel, storage driver,
    architectures...

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.info
        salt '*' lxdapi.info remote=cluster1
    """
    return lxdapi_operations.server_info(_connect(kwargs))


@_salt_errors
def server_config_get(target=None, **kwargs):
    """
    Return the LXD server's own config keys (a set ``core.trust_password`` shows as
    True: LXD never shows its value).

    target
        On an LXD cluster: the member whose own keys to read.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.server_config_get
    """
    return lxdapi_server.server_config_get(_connect(kwargs), target=target)


@_salt_errors
def server_config_set(config, purge_config=False, force_secrets=False, target=None, **kwargs):
    """
    Bring the LXD server's config keys to ``config`` (one PATCH of ``/1.0`` with
    If-Match, only when something differs); return the changes (empty: nothing to do).

    config
        A mapping of server config keys; ``""`` unsets a key.

    purge_config
        Unset every key not in ``config`` (default False).

    force_secrets
        Write ``core.trust_password`` even when one is set (default False: a set one is
        left alone, its value cannot be read back).

    target
        On an LXD cluster: the member whose own keys to change.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.server_config_set '{"images.auto_update_interval": 0}'
    """
    return core.redact(
        lxdapi_server.server_config_set(
            _connect(kwargs), config, purge_config, target, force_secrets
        )
    )


@_salt_errors
def server_init(
    config=None, storage_pools=None, networks=None, profiles=None, projects=None, **kwargs
):
    """
    Bring the server to a ``lxd init --preseed`` document (the same plan as the
    ``server_initialized`` state: the server config, then pools, networks, projects and
    profiles, each compared and converged, keys and devices not declared kept); return
    the changes, per list and name (empty: nothing was written).

    config
        Server config keys.

    storage_pools
        A list of pools: ``name``, ``driver``, ``config``, ``description``.

    networks
        A list of networks: ``name``, ``type``, ``config``, ``description``.

    profiles
        A list of profiles: ``name``, ``config``, ``devices``, ``description``.

    projects
        A list of projects: ``name``, ``config``, ``description``.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.server_init storage_pools='[{"name": "default", "driver": "dir"}]'
    """
    api = _connect(kwargs)
    plan = lxdapi_preseed.plan_server_initialized(
        api,
        config=config,
        storage_pools=storage_pools,
        networks=networks,
        profiles=profiles,
        projects=projects,
    )
    plan.apply(api)
    return core.redact(plan.changes)


@_salt_errors
def operation_list(recursion=0, **kwargs):
    """
    List the server's operations by status.

    recursion
        0 (default): ``{"running": [ids], "success": [...], "failure": [...]}``;
        1: the same with the operations themselves instead of their ids.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.operation_list
        salt '*' lxdapi.operation_list recursion=1
    """
    return lxdapi_operations.operation_list(_connect(kwargs), recursion)


@_salt_errors
def operation_get(operation, **kwargs):
    """
    Return an operation's metadata (status, err, resources...), or False if unknown.

    LXD forgets an operation a few seconds after it ends.

    operation
        The operation's id, or its URL ``/1.0/operations/<id>``.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.operation_get 0b3d1c7e-5a0e-4b6e-9f1e-0d1c2b3a4f5e
    """
    return lxdapi_operations.operation_get(_connect(kwargs), operation)


@_salt_errors
def operation_wait(operation, timeout=None, **kwargs):
    """
    Wait for an operation to end and return its metadata; False if it is unknown.

    A failed operation raises an error with LXD's message; one still running after
    ``timeout`` raises too (it is left running).

    operation
        The operation's id, or its URL ``/1.0/operations/<id>``.

    timeout
        Seconds to wait (default: the connection's ``wait_timeout``, 300).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.operation_wait 0b3d1c7e-5a0e-4b6e-9f1e-0d1c2b3a4f5e timeout=60
    """
    return lxdapi_operations.operation_wait(_connect(kwargs), operation, timeout)


# --------------------------------------------------------------------------- host
#
# What the host has and uses (resources, a pool's space, a project's usage, metrics) and
# the server's warnings. Reads, but for acknowledging and deleting a warning.


@_salt_errors
def resources(target=None, **kwargs):
    """
    Return the host's hardware as the server sees it (``GET /1.0/resources``):
    ``cpu``, ``memory``, ``gpu``, ``network``, ``storage``, ``usb``, ``pci``, ``system``
    (Incus adds ``load``).

    target
        On a cluster: the member to ask about.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.resources
    """
    return lxdapi_host.host_resources(_connect(kwargs), target=target)


@_salt_errors
def storage_pool_resources(pool, target=None, **kwargs):
    """
    Return a storage pool's space and inodes, used and total: ``{"space": {"used",
    "total"}, "inodes": {"used", "total"}}`` (bytes).

    pool
        The storage pool's name.

    target
        On a cluster: the member whose share of the pool is meant.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_resources default
    """
    return lxdapi_host.storage_pool_resources(_connect(kwargs), pool, target=target)


@_salt_errors
def project_state(name=None, **kwargs):
    """
    Return a project's usage against its limits (the ``project_usage`` API extension):
    ``{"resources": {"cpu": {"Limit", "Usage"}, "memory": ..., "instances": ...}}``; a
    ``Limit`` of -1 is no limit.

    name
        The project (default: the connection's ``project``, else ``default``).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_state tenant1
    """
    return lxdapi_host.project_state(_connect(kwargs), name)


@_salt_errors
def metrics(names=None, **kwargs):
    """
    Return the server's metrics as OpenMetrics text (``GET /1.0/metrics``, the
    ``metrics`` API extension), as the server writes it.

    LXD 5.0 measures running instances only (its text is ``# EOF`` when none runs);
    Incus adds its own (``incus_uptime_seconds``, ``incus_warnings_total``...). Over
    HTTPS the client must be trusted, or hold a certificate of type ``metrics``; the
    connection's ``project`` limits the instances measured to its own.

    names
        Keep only these metrics: a list of names (``lxd_memory_RSS_bytes``, or a
        family's name: ``lxd_cpu_seconds``), or one name, or names separated by commas;
        their ``# HELP`` and ``# TYPE`` lines are kept too (default: everything).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.metrics
        salt '*' lxdapi.metrics names=lxd_cpu_seconds_total,lxd_memory_RSS_bytes
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()] or names
    return lxdapi_host.metrics(_connect(kwargs), names=names)


@_salt_errors
def warning_list(status=None, type=None, severity=None, recursion=0, **kwargs):
    """
    List the server's warnings: their UUIDs, or LXD's objects with ``recursion``
    (``uuid``, ``type``, ``severity``, ``status``, ``project``, ``last_message``,
    ``count``, ``first_seen_at``, ``last_seen_at``, ``location``, ``entity_url``), oldest
    first.

    With a connection ``project``, only that project's warnings are listed (not the
    server's own, which belong to no project).

    status
        Only warnings of this status: ``new``, ``acknowledged`` or ``resolved`` (or a
        list of them).

    type
        Only warnings of this type, as the server names it (``AppArmor support has
        been disabled``).

    severity
        Only warnings of this severity: ``low``, ``moderate`` or ``high`` (or a list).

    recursion
        0 (default): UUIDs; 1: each warning's object.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.warning_list status=new recursion=1
    """
    return lxdapi_warnings.warning_list(
        _connect(kwargs), status=status, type=type, severity=severity, recursion=recursion
    )


@_salt_errors
def warning_get(uuid, **kwargs):
    """
    Return a warning (LXD's object), or False when the server has none of that UUID.

    uuid
        The warning's UUID.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.warning_get 0c10b517-b0c9-441f-b531-db8af1d22995
    """
    return lxdapi_warnings.warning_get(_connect(kwargs), uuid)


@_salt_errors
def warning_acknowledge(uuid, **kwargs):
    """
    Acknowledge a warning; True when it was new, False when it was acknowledged already
    or is resolved (nothing sent). A missing warning is an error.

    uuid
        The warning's UUID.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.warning_acknowledge 0c10b517-b0c9-441f-b531-db8af1d22995
    """
    return lxdapi_warnings.warning_acknowledge(_connect(kwargs), uuid)


@_salt_errors
def warning_delete(uuid, **kwargs):
    """
    Delete a warning; True, or False when the server has none of that UUID. The server
    records it again, under another UUID, when it sees the problem again.

    uuid
        The warning's UUID.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.warning_delete 0c10b517-b0c9-441f-b531-db8af1d22995
    """
    return lxdapi_warnings.warning_delete(_connect(kwargs), uuid)


# ---------------------------------------------------------------------- instances


@_salt_errors
def container_get(name, **kwargs):
    """
    Return an instance's metadata (config, devices, profiles, status...), or False.

    Works for containers and virtual machines alike.

    name
        The instance's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_get web1
    """
    result = lxdapi_instances.instance_get(_connect(kwargs), lxdapi_values.check_name(name, "name"))
    return result.metadata if result else False


@_salt_errors
def container_list(recursion=0, **kwargs):
    """
    List the instances: their names, or LXD's objects with ``recursion``.

    recursion
        0 (default): names; 1: each instance's metadata; 2: with its state too.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_list
        salt '*' lxdapi.container_list recursion=1
    """
    return lxdapi_instances.instance_list(_connect(kwargs), recursion)


@_salt_errors
def container_state(name, **kwargs):
    """
    Return an instance's state (status, processes, memory, disk, network), or False.

    name
        The instance's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_state web1
    """
    return lxdapi_instances.instance_state(_connect(kwargs), name)


@_salt_errors
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
    **kwargs,
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_create web1 source=busybox config='{"limits.cpu": 1}'
        salt '*' lxdapi.container_create vm1 source=debian type=virtual-machine
    """
    return lxdapi_instances.instance_create(
        _connect(kwargs),
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


@_salt_errors
def container_rename(name, new_name, **kwargs):
    """
    Rename a stopped instance. True if renamed; False when ``name`` no longer exists and
    ``new_name`` does (renamed already). An existing ``new_name`` is never overwritten.

    name
        The instance's name.

    new_name
        Its new name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_rename web1 web1-old
    """
    return lxdapi_instances.instance_rename(_connect(kwargs), name, new_name)


def _target_api(to):
    """The :class:`API` of a copy's or a move's destination (see
    :func:`lxdapi.destination_arguments`)."""
    return _api(**core.destination_arguments(to))


@_salt_errors
def container_copy(name, new_name=None, to=None, instance_only=False, source_url=None, **kwargs):
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

    kwargs
        Connection settings of the source; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_copy web1 web1-clone
        salt '*' lxdapi.container_copy web1 to=rack2
    """
    return lxdapi_backups.instance_copy(
        _connect(kwargs),
        name,
        new_name=new_name,
        target_api=None if to is None else _target_api(to),
        instance_only=instance_only,
        source_url=source_url,
    )


@_salt_errors
def container_migrate(
    name, to=None, target=None, stop_and_start=False, timeout=30, source_url=None, **kwargs
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

    kwargs
        Connection settings of the source; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_migrate web1 to=rack2 stop_and_start=True
        salt '*' lxdapi.container_migrate web1 target=node2
    """
    api = _connect(kwargs)
    plan = lxdapi_backups.plan_instance_migrated(
        api,
        name,
        target_api=None if to is None else _target_api(to),
        target=target,
        stop_and_start=stop_and_start,
        timeout=timeout,
        source_url=source_url,
    )
    plan.apply(api)
    return plan.changes


@_salt_errors
def container_backup_export(name, dest, instance_only=False, compression=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_backup_export web1 /srv/backups/web1.tar.gz
    """
    return lxdapi_backups.instance_backup_export(
        _connect(kwargs), name, dest, instance_only=instance_only, compression=compression
    )


@_salt_errors
def container_backup_import(source, name=None, pool=None, **kwargs):
    """
    Create an instance from a backup tarball (as ``container_backup_export`` writes it);
    return its name. An existing instance of that name is never overwritten.

    source
        A local path or a ``salt://`` URL of the tarball.

    name
        A name for the new instance (default: the one in the backup).

    pool
        The storage pool to create it in (default: the one in the backup).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_backup_import /srv/backups/web1.tar.gz name=web1-restored
    """
    return lxdapi_backups.instance_backup_import(
        _connect(kwargs), _local_source(source), name=name, pool=pool
    )


@_salt_errors
def container_delete(name, force=False, **kwargs):
    """
    Delete an instance; True, or False when it does not exist.

    A running or frozen instance is refused unless ``force``.

    name
        The instance's name.

    force
        Kill a running or frozen instance first (as ``lxc delete --force``).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_delete web1
        salt '*' lxdapi.container_delete web1 force=True
    """
    return lxdapi_instances.instance_delete(_connect(kwargs), name, force=force)


def _action(name, action, timeout, force, kwargs):
    return lxdapi_instances.instance_action(
        _connect(kwargs), name, action, timeout=timeout, force=force
    )


@_salt_errors
def container_start(name, wait_for=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_start web1
        salt '*' lxdapi.container_start web1 wait_for='{"address": "eth0", "timeout": 30}'
    """
    if wait_for is not None:
        return lxdapi_readiness.instance_action_ready(_connect(kwargs), name, "start", wait_for)
    return _action(name, "start", 30, False, kwargs)


@_salt_errors
def container_stop(name, force=False, timeout=30, **kwargs):
    """
    Stop an instance with a clean shutdown; True, or False if already stopped.

    A frozen instance is unfreezed, then stopped.

    name
        The instance's name.

    force
        Kill it instead of asking it to shut down (default False).

    timeout
        Seconds the clean shutdown may take before it fails (default 30).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_stop web1
        salt '*' lxdapi.container_stop web1 timeout=120
        salt '*' lxdapi.container_stop web1 force=True
    """
    return _action(name, "stop", timeout, force, kwargs)


@_salt_errors
def container_restart(name, force=False, timeout=30, wait_for=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_restart web1
        salt '*' lxdapi.container_restart web1 wait_for='{"exec": "test -e /run/ready"}'
    """
    if wait_for is not None:
        return lxdapi_readiness.instance_action_ready(
            _connect(kwargs), name, "restart", wait_for, timeout=timeout, force=force
        )
    return _action(name, "restart", timeout, force, kwargs)


@_salt_errors
def container_freeze(name, **kwargs):
    """
    Freeze (pause) a running instance; True, or False if already frozen.

    A stopped instance is an error.

    name
        The instance's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_freeze web1
    """
    return _action(name, "freeze", 30, False, kwargs)


@_salt_errors
def container_unfreeze(name, **kwargs):
    """
    Unfreeze (resume) a frozen instance; True, or False if it is running.

    A stopped instance is an error.

    name
        The instance's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_unfreeze web1
    """
    return _action(name, "unfreeze", 30, False, kwargs)


@_salt_errors
def container_config_get(name, key=None, expanded=False, **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_config_get web1
        salt '*' lxdapi.container_config_get web1 limits.cpu
    """
    return lxdapi_instances.instance_config_get(_connect(kwargs), name, key, expanded=expanded)


@_salt_errors
def container_config_set(name, key=None, value=None, config=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

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
    api = _connect(kwargs)
    plan = lxdapi_instances.plan_instance_config(api, name, config=wanted)
    plan.apply(api)
    return plan.changes


@_salt_errors
def container_config_unset(name, key, **kwargs):
    """
    Remove config keys from an instance (one PATCH with If-Match).

    Returns the changes, ``{key: {"old": ..., "new": None}}``: empty (and nothing
    written) when no key was set.

    name
        The instance's name.

    key
        A config key, or a list of them.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_config_unset web1 limits.cpu
        salt '*' lxdapi.container_config_unset web1 '[user.a, user.b]'
    """
    keys = key if isinstance(key, (list, tuple)) else [key]
    if not keys or any(k is None or k == "" for k in keys):
        raise SaltInvocationError("key must be a config key or a list of them")
    api = _connect(kwargs)
    plan = lxdapi_instances.plan_instance_config(api, name, unset=keys)
    plan.apply(api)
    return plan.changes


@_salt_errors
def container_device_set(name, device=None, spec=None, devices=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

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
    api = _connect(kwargs)
    plan = lxdapi_instances.plan_instance_devices(api, name, devices=wanted)
    plan.apply(api)
    return plan.changes


@_salt_errors
def container_device_unset(name, device, **kwargs):
    """
    Remove an instance's own devices (one write with If-Match); its other devices are
    kept. Returns the changes: empty (nothing written) when it had none of them.

    name
        The instance's name.

    device
        A device's name, or a list of names.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_device_unset web1 data
    """
    names = [device] if isinstance(device, str) else device
    if not isinstance(names, (list, tuple)) or not names:
        raise SaltInvocationError("device must be a name or a list of names")
    api = _connect(kwargs)
    plan = lxdapi_instances.plan_instance_devices(api, name, remove=names)
    plan.apply(api)
    return plan.changes


@_salt_errors
def container_exec(
    name, command, env=None, cwd=None, user=None, group=None, timeout=None, **kwargs
):
    """
    Run a command in a running instance and return ``{retcode, stdout, stderr}``.

    Uses LXD's record-output mode (no websockets); no shell is involved.

    name
        The instance's name.

    command
        The argv list (``["ls", "-l", "/"]``). A string is refused: for shell syntax run
        ``["sh", "-c", "..."]``.

    env
        Environment variables, a dict.

    cwd
        Absolute working directory.

    user
        Numeric uid to run as (default 0).

    group
        Numeric gid to run as (default 0).

    timeout
        Seconds the command may run: one that has not exited by then is an error that
        says so (LXD cannot cancel it: it may go on running in the instance). Default:
        the connection's ``wait_timeout`` (300 seconds).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_exec web1 '["uname", "-a"]'
        salt '*' lxdapi.container_exec web1 '["sh", "-c", "echo $A"]' env='{"A": 1}'
        salt '*' lxdapi.container_exec web1 '["sleep", "60"]' timeout=5
    """
    if timeout is not None:
        timeout = lxdapi_values.check_duration(timeout, "timeout")
    result = lxdapi_instances.instance_exec(
        _connect(kwargs),
        name,
        command,
        environment=env,
        cwd=cwd,
        user=user,
        group=group,
        timeout=timeout,
    )
    return {
        "retcode": result["retcode"],
        "stdout": result["stdout"].decode("utf-8", "replace"),
        "stderr": result["stderr"].decode("utf-8", "replace"),
    }


@_salt_errors
def container_log_list(name, **kwargs):
    """
    The names of the log files the server keeps for an instance (``lxc.log``,
    ``qemu.log``...).

    name
        The instance's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_log_list web1
    """
    return lxdapi_logs.instance_log_list(_connect(kwargs), name)


@_salt_errors
def container_log_get(name, filename="lxc.log", lines=None, **kwargs):
    """
    The text of one of an instance's log files, secrets redacted.

    name
        The instance's name.

    filename
        The log's name, as :func:`container_log_list` gives it (default ``lxc.log``).

    lines
        Only the last ``lines`` non-empty lines (default: the whole file).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_log_get web1
        salt '*' lxdapi.container_log_get web1 qemu.log lines=20
    """
    text = lxdapi_logs.instance_log_get(_connect(kwargs), name, filename)
    return _tail_or_all(text, lines)


@_salt_errors
def container_console_log(name, lines=None, **kwargs):
    """
    An instance's console buffer as the server keeps it, secrets redacted.

    name
        The instance's name.

    lines
        Only the last ``lines`` non-empty lines (default: all of it).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_console_log web1 lines=20
    """
    return _tail_or_all(lxdapi_logs.instance_console_log(_connect(kwargs), name), lines)


def _tail_or_all(text, lines):
    if lines is None:
        return lxdapi_logs.redact_text(text)
    if isinstance(lines, bool) or not str(lines).isdigit():
        raise SaltInvocationError(f"lines must be a whole number >= 0, not {lines!r}")
    count = int(lines)
    return "\n".join(lxdapi_logs.tail(text, count)) if count else ""


@_salt_errors
def container_file_get(name, path, dest=None, **kwargs):
    """
    Read a file (or list a directory) in an instance; False if it does not exist.

    Returns ``{path, type, mode, uid, gid}`` and ``content`` (UTF-8 text; base64 with
    ``encoding: base64`` for binary data), ``entries`` for a directory, or ``dest`` when
    the content was written to a local file.

    name
        The instance's name.

    path
        Absolute path in the instance.

    dest
        Local path to write the content to instead of returning it.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_file_get web1 /etc/hostname
        salt '*' lxdapi.container_file_get web1 /var/log/app.log dest=/tmp/app.log
    """
    found = lxdapi_files.instance_file_get(_connect(kwargs), name, path)
    if not found:
        return False
    info, content = found
    if info["type"] == "directory":
        info["entries"] = content
    elif dest:
        with open(dest, "wb") as fh:
            fh.write(content)
        info["dest"] = dest
    else:
        info["content"], encoding = _text_or_base64(content)
        if encoding:
            info["encoding"] = encoding
    return info


@_salt_errors
def container_file_put(
    name, path, source=None, contents=None, mode=None, uid=None, gid=None, makedirs=False, **kwargs
):
    """
    Write a file into an instance; True if written, False if already identical.

    Give exactly one of ``source`` and ``contents``. The parent folder must exist, unless
    ``makedirs``.

    name
        The instance's name.

    path
        Absolute path in the instance.

    source
        A ``salt://`` URL (fetched from the fileserver) or a local file path.

    contents
        The file's text.

    mode
        Octal mode, ``0644`` (default: LXD's, 0644 for a new file).

    uid
        Numeric owner id (default 0).

    gid
        Numeric group id (default 0).

    makedirs
        True to create missing parent folders (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_file_put web1 /etc/motd contents='hello'
        salt '*' lxdapi.container_file_put web1 /srv/app/conf/app.ini contents='[app]' makedirs=True
        salt '*' lxdapi.container_file_put web1 /etc/app.conf source=salt://app/app.conf \
            mode=0640 uid=0 gid=33
    """
    if (source is None) == (contents is None):
        raise SaltInvocationError("give exactly one of source and contents")
    if source is not None:
        with open(_local_source(source), "rb") as fh:
            data = fh.read()
    else:
        data = contents if isinstance(contents, bytes) else str(contents).encode("utf-8")
    return lxdapi_files.instance_file_put(
        _connect(kwargs), name, path, data, mode=mode, uid=uid, gid=gid, makedirs=makedirs
    )


@_salt_errors
def container_file_delete(name, path, **kwargs):
    """
    Delete a file, symlink or empty folder in an instance; True if deleted, False if it
    did not exist. A folder with entries is refused (nothing in it is deleted).

    name
        The instance's name.

    path
        Absolute path in the instance.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_file_delete web1 /etc/motd
    """
    return lxdapi_files.instance_file_delete(_connect(kwargs), name, path)


@_salt_errors
def container_mkdir(name, path, mode=None, uid=None, gid=None, makedirs=False, **kwargs):
    """
    Create a folder in an instance; True if created or its mode/owner changed, False if
    it was already there as asked.

    name
        The instance's name.

    path
        Absolute path in the instance.

    mode
        Octal mode, ``0755`` (default: LXD's, 0755 for a new folder).

    uid
        Numeric owner id (default 0).

    gid
        Numeric group id (default 0).

    makedirs
        True to create missing parent folders too (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_mkdir web1 /srv/app/data mode=0750 uid=33 makedirs=True
    """
    return lxdapi_files.instance_mkdir(
        _connect(kwargs), name, path, mode=mode, uid=uid, gid=gid, makedirs=makedirs
    )


@_salt_errors
def snapshot_list(name, recursion=0, **kwargs):
    """
    List an instance's snapshots: names, or LXD's objects with ``recursion``.

    False when the instance does not exist.

    name
        The instance's name.

    recursion
        0 (default): names; 1: each snapshot's metadata.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.snapshot_list web1
    """
    return lxdapi_instances.snapshot_list(_connect(kwargs), name, recursion)


@_salt_errors
def snapshot_create(name, snapshot=None, stateful=False, **kwargs):
    """
    Snapshot an instance; return the snapshot's name. An existing name is an error.

    name
        The instance's name.

    snapshot
        The snapshot's name (default: LXD picks ``snap0``, ``snap1``...).

    stateful
        Also save the running state (needs CRIU; default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.snapshot_create web1 before-upgrade
    """
    return lxdapi_instances.snapshot_create(_connect(kwargs), name, snapshot, stateful=stateful)


@_salt_errors
def snapshot_restore(name, snapshot, stateful=False, **kwargs):
    """
    Restore an instance to a snapshot (its config and filesystem); True.

    name
        The instance's name.

    snapshot
        The snapshot's name.

    stateful
        Also restore the running state of a stateful snapshot (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.snapshot_restore web1 before-upgrade
    """
    return lxdapi_instances.snapshot_restore(_connect(kwargs), name, snapshot, stateful=stateful)


@_salt_errors
def snapshot_delete(name, snapshot, **kwargs):
    """
    Delete a snapshot; True, or False when it does not exist.

    name
        The instance's name.

    snapshot
        The snapshot's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.snapshot_delete web1 before-upgrade
    """
    return lxdapi_instances.snapshot_delete(_connect(kwargs), name, snapshot)


# ------------------------------------------------------------- Salt inside instances


def _thin():
    """The :class:`lxdapi_inside.Bundle` of Salt's thin for this host's Salt: made by
    ``salt.utils.thin.gen_thin`` in the minion's cachedir (as salt-ssh makes it; made
    again when Salt or Python changes), its digest kept in ``__context__`` while the file
    is unchanged. ``lxdapi:thin_extra_mods`` (config.get) adds modules to it, as
    salt-ssh's ``thin_extra_mods`` does."""
    import salt.utils.thin
    import salt.version

    extra = __salt__["config.get"]("lxdapi:thin_extra_mods", "") or ""
    path = salt.utils.thin.gen_thin(__opts__["cachedir"], extra_mods=extra)
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    cached = __context__.get("lxdapi.thin")
    if cached is None or cached[0] != key:
        label = f"salt-{salt.version.__version__}"
        cached = (key, lxdapi_inside.Bundle.from_file(label, path))
        __context__["lxdapi.thin"] = cached
    return cached[1]


def _saltenv(saltenv):
    if saltenv is None:
        saltenv = __opts__.get("saltenv") or "base"
    if not isinstance(saltenv, str) or not saltenv:
        raise SaltInvocationError(f"saltenv must be a name, not {saltenv!r}")
    return saltenv


def _file_tree(saltenv):
    """The bundle of every file of ``saltenv`` (the ``salt://`` tree: the master's, or the
    local file_roots with ``file_client: local``), fetched into the minion's cache with
    ``cp.cache_master`` first."""
    root = os.path.join(__opts__["cachedir"], "files", saltenv)
    files = {}
    for path in __salt__["cp.cache_master"](saltenv) or ():
        if path and os.path.isfile(path):
            rel = os.path.relpath(path, root)
            if not rel.startswith(".."):
                files[rel.replace(os.sep, "/")] = path
    return lxdapi_inside.Bundle.from_tree("files-" + saltenv, files)


def _inner_pillar(name, pillar, pillar_key):
    """The pillar Salt sees inside ``name``: the host's pillar under ``pillar_key``
    (default ``lxdapi:pillar:NAME``; False: none), with ``pillar`` merged over it.
    Nothing else of the host's pillar goes in."""
    import salt.utils.dictupdate

    if pillar is not None and not isinstance(pillar, dict):
        raise SaltInvocationError(f"pillar must be a mapping, not {pillar!r}")
    if pillar_key is None:
        pillar_key = f"lxdapi:pillar:{name}"
    base = {}
    if pillar_key:
        # read as data, not through pillar.get: Salt 3008's masks what that returns
        base = _plain(salt.utils.data.traverse_dict_and_list(__pillar__, pillar_key, {}))
        if not isinstance(base, dict):
            raise SaltInvocationError(
                f"the pillar under {pillar_key} must be a mapping, not {base!r}"
            )
    return salt.utils.dictupdate.merge(dict(base), pillar or {}, merge_lists=False)


def _plain(value):
    """``value`` as plain dicts and lists (Salt 3008 hands pillar out in its own masking
    kinds of them)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _cli_words(args, kwargs):
    """salt-call's command-line words for positional ``args`` and keyword ``kwargs``: a
    text as it is, anything else as JSON (which salt-call reads back as YAML)."""
    import json

    def word(value):
        return value if isinstance(value, str) else json.dumps(value)

    words = [word(arg) for arg in args]
    for key in sorted(kwargs):
        words.append(f"{key}={word(kwargs[key])}")
    return words


def _inside(name, argv, kwargs, saltenv=None, files=False, pillar=None, pillar_key=None, **run):
    """salt-call ARGV in instance ``name`` on this host's thin (see :func:`call`)."""
    api = _connect(kwargs)
    saltenv = _saltenv(saltenv)
    return lxdapi_inside.salt_call(
        api,
        name,
        _thin(),
        argv,
        files=_file_tree(saltenv) if files else None,
        pillar=_inner_pillar(name, pillar, pillar_key),
        saltenv=saltenv,
        **run,
    )


@_salt_errors
def call(name, fun, *args, clean=False, timeout=None, kwarg=None, **kwargs):
    """
    Run one Salt function inside a running instance, with no minion there, and return
    what it returned: ``salt-call --local`` on Salt's thin (this host's Salt, as salt-ssh
    ships it), run by the instance's own ``python3`` through LXD's exec API.

    The thin goes into the instance once per Salt version (under
    ``/var/cache/lxdapi``, mode 0700, checked by digest on each call); each call then
    sends one private job file (config and pillar), which is deleted as soon as it is
    read. Nothing is left running. The inner minion has the instance's name as its id
    and computes its own grains.

    name
        The instance's name (it must be running and have ``python3``).

    fun
        The Salt function to run there (``pkg.version``, ``grains.item``...).

    args
        Its positional arguments.

    clean
        True: remove what lxdapi keeps in the instance after the call (the thin and
        salt-call's cache: see :func:`thin_purge`).

    timeout
        Seconds the function may run before it is killed (default 600).

    kwarg
        Keyword arguments for the function whose names lxdapi takes for itself (a
        connection setting such as ``timeout`` or ``project``): ``kwarg='{timeout: 5}'``.

    kwargs
        Connection settings (see the module); any other keyword argument goes to the
        function. Its pillar: the host's pillar under ``lxdapi:pillar:<name>``.

    A non-zero return code, a salt-call that crashed, an instance that is not running or
    has no ``python3``: a ``CommandExecutionError`` saying which.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.call web1 test.ping
        salt host lxdapi.call web1 pkg.version nginx
        salt host lxdapi.call web1 file.write /etc/motd 'managed by salt'
        salt host lxdapi.call web1 cmd.run 'sleep 2' kwarg='{timeout: 5}'
    """
    if not isinstance(fun, str) or "." not in fun:
        raise SaltInvocationError(f"fun must name a Salt function (module.function), not {fun!r}")
    conn, rest = _split_connection(kwargs)
    if kwarg is not None and not isinstance(kwarg, dict):
        raise SaltInvocationError(f"kwarg must be a mapping, not {kwarg!r}")
    rest.update(kwarg or {})
    try:
        return _inside(name, [fun] + _cli_words(args, rest), conn, timeout=timeout)
    finally:
        if clean:
            lxdapi_inside.thin_purge(_connect(conn), name)


@_salt_errors
def grains(name, *keys, **kwargs):
    """
    The grains of a running instance as Salt computes them inside it (see :func:`call`):
    for targeting and templating on the host.

    name
        The instance's name (it must be running and have ``python3``).

    keys
        Only these grains (default: all of them).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.grains web1
        salt host lxdapi.grains web1 os osrelease
    """
    conn, rest = _split_connection(kwargs)
    _no_extra(rest)
    argv = ["grains.item", *map(str, keys)] if keys else ["grains.items"]
    return _inside(name, argv, conn, pillar_key=False)


@_salt_errors
def sls(name, mods, saltenv=None, pillar=None, pillar_key=None, test=False, timeout=None, **kwargs):
    """
    Apply SLS files from this host's ``salt://`` tree inside a running instance, with no
    minion there (``state.apply`` on Salt's thin, see :func:`call`), and return the inner
    states' returns as ``state.apply`` gives them (keyed ``module_|-id_|-name_|-function``).
    A failed inner state is in the return (``result: False``); an SLS that does not
    render, or an instance that cannot run Salt, is a ``CommandExecutionError``.

    The files of the saltenv go in as one bundle, again only when one of them changed.

    name
        The instance's name (it must be running and have ``python3``).

    mods
        The SLS to apply: a name, a comma-separated list, or a list.

    saltenv
        The saltenv whose files are used (default: the minion's, ``base``).

    pillar
        Pillar data for the states (a mapping), merged over the host's pillar under
        ``pillar_key``.

    pillar_key
        The key of the host's pillar whose value is the instance's pillar (default
        ``lxdapi:pillar:<name>``; False: none). Nothing else of the host's pillar goes in.

    test
        True: the inner states run in test mode and report what they would change.

    timeout
        Seconds the states may take before they are killed (default 600).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.sls web1 nginx
        salt host lxdapi.sls web1 nginx,motd test=True
        salt host lxdapi.sls web1 nginx pillar='{nginx: {port: 8080}}'
    """
    mods = lxdapi_inside.sls_names(mods)
    argv = ["state.apply", ",".join(mods)]
    if lxdapi_values.check_bool(test, "test"):
        argv.append("test=True")
    saltenv = _saltenv(saltenv)
    argv.append("saltenv=" + saltenv)
    conn, rest = _split_connection(kwargs)
    _no_extra(rest)
    retcode, ret = _inside(
        name, argv, conn, saltenv, True, pillar, pillar_key, timeout=timeout, check=False
    )
    if not isinstance(ret, dict):  # a render error, a missing SLS: Salt's words
        raise CommandExecutionError(
            "{} did not apply in {!r}: {}".format(",".join(mods), name, lxdapi_inside.words(ret))
        )
    if retcode:
        __context__["retcode"] = retcode
    return ret


@_salt_errors
def thin_purge(name, **kwargs):
    """
    Remove everything lxdapi keeps in a running instance to run Salt there
    (``/var/cache/lxdapi``: the thin, the saltenv files, salt-call's caches). Returns
    True if there was something to remove. The next :func:`call` ships the thin again.

    name
        The instance's name (it must be running; ``python3`` is not needed).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.thin_purge web1
    """
    return lxdapi_inside.thin_purge(_connect(kwargs), name)


# ------------------------------------------------------------------------- images


@_salt_errors
def image_get(image, **kwargs):
    """
    Return an image's metadata, by alias or fingerprint (or a unique prefix); False.

    image
        An alias (tried first) or a fingerprint.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_get busybox
        salt '*' lxdapi.image_get 9262df4baa2c
    """
    result = lxdapi_images.image_resolve(_connect(kwargs), image)
    return result.metadata if result else False


@_salt_errors
def image_list(recursion=0, **kwargs):
    """
    List the images: their fingerprints, or LXD's objects with ``recursion``.

    recursion
        0 (default): fingerprints; 1: each image's metadata.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_list
    """
    return lxdapi_images.image_list(_connect(kwargs), recursion)


@_salt_errors
def image_import(source, alias=None, public=False, **kwargs):
    """
    Upload a unified image tarball unless the server has it; return its fingerprint.

    Running it again uploads nothing.

    source
        A ``salt://`` URL (fetched from the fileserver) or a local path.

    alias
        An alias to point at the image (moved if it points at another one).

    public
        Let untrusted clients pull the image (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_import salt://images/busybox.tar.gz alias=busybox
        salt '*' lxdapi.image_import /srv/images/debian.tar.gz
    """
    return lxdapi_images.image_import(
        _connect(kwargs), _local_source(source), alias=alias, public=public
    )


@_salt_errors
def image_pull(source, public=False, auto_update=False, **kwargs):
    """
    Have the server pull an image unless it has it; return its fingerprint. Running it
    again pulls nothing (only ``public`` and ``auto_update`` are brought to these, with
    one PATCH with If-Match, where they differ). For an alias pointing at it, use the
    ``image_present`` state, or ``image_alias_add``.

    source
        Where from: an image server (``server``: ``https://host:port``, ``protocol``:
        ``lxd``, ``incus`` or ``simplestreams``, ``alias`` or ``fingerprint``,
        ``certificate`` for a self-signed server, ``secret`` for a private image), or
        ``{type: url, url: ...}``: a URL that answers with the image's
        ``LXD-Image-URL``/``LXD-Image-Hash`` headers (the server downloads it).

    public
        Let untrusted clients use the image (default False).

    auto_update
        Let the server refresh it from its source (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_pull '{"server": "https://images.example.net", \
            "protocol": "simplestreams", "alias": "debian/12"}'
    """
    return lxdapi_images.image_pull(_connect(kwargs), source, public, auto_update)


@_salt_errors
def image_publish(name, snapshot=None, alias=None, public=False, properties=None, **kwargs):
    """
    Publish an instance or one of its snapshots as a new image; return its fingerprint.

    LXD publishes a stopped instance only; a snapshot can be published at any time. The
    image's properties record what it was made from (``lxdapi.published_from``), which
    ``image_present`` with a publish source compares.

    name
        The instance's name.

    snapshot
        The snapshot to publish instead of the instance itself.

    alias
        An alias to point at the new image (moved if it points at another one).

    public
        Let untrusted clients pull the image (default False).

    properties
        More image properties, a mapping (``{"os": "busybox"}``).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_publish web1 snapshot=golden alias=web-golden
    """
    return lxdapi_images.image_publish(
        _connect(kwargs), name, snapshot=snapshot, alias=alias, public=public, properties=properties
    )


@_salt_errors
def image_delete(image, **kwargs):
    """
    Delete an image, by alias or fingerprint; True, or False when absent.

    Deleting by alias deletes the image the alias points at (and its aliases).

    image
        An alias or a fingerprint.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_delete 9262df4baa2c
    """
    return lxdapi_images.image_delete(_connect(kwargs), image)


@_salt_errors
def image_alias_list(recursion=0, **kwargs):
    """
    List the image aliases: names, or ``{name, target, description, type}`` with
    ``recursion``.

    recursion
        0 (default): names; 1: each alias's metadata.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_alias_list recursion=1
    """
    return lxdapi_images.image_alias_list(_connect(kwargs), recursion)


@_salt_errors
def image_alias_add(alias, image, description=None, move=False, **kwargs):
    """
    Point an alias at an image; True if it wrote, False if it already pointed there.

    An alias that points at another image is an error unless ``move``.

    alias
        The alias name.

    image
        The image: a fingerprint (or a unique prefix) or another alias.

    description
        The alias's description.

    move
        Move an alias that points at another image (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_alias_add stable 9262df4baa2c
        salt '*' lxdapi.image_alias_add stable busybox move=True
    """
    return lxdapi_images.image_alias_add(
        _connect(kwargs), alias, image, description=description, move=move
    )


@_salt_errors
def image_alias_delete(alias, **kwargs):
    """
    Delete an image alias (the image stays); True, or False when absent.

    alias
        The alias name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_alias_delete stable
    """
    return lxdapi_images.image_alias_delete(_connect(kwargs), alias)


@_salt_errors
def image_refresh(image, **kwargs):
    """
    Look for a newer version of an image at the image server it was pulled from, and
    replace it with that one (its aliases move to the new image); return
    ``{"refreshed", "old", "new"}``: whether it was replaced, and the fingerprints
    before and after (the same when it was not).

    An image with no update source (imported from a file, published from an instance)
    is an error: there is nothing to refresh it from.

    image
        An alias (tried first) or a fingerprint (or a unique prefix).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_refresh debian-12
    """
    return lxdapi_images.image_refresh(_connect(kwargs), image)


@_salt_errors
def image_export(image, dest, rootfs_dest=None, **kwargs):
    """
    Download an image to a local file of the minion; return ``{fingerprint, split,
    dest, size, sha256}`` (and ``rootfs_dest``, ``rootfs_size`` for a split image).

    Streamed to a temporary file beside ``dest`` (mode 0600), renamed to ``dest`` once
    complete and its sha256 checked against the image's fingerprint: ``dest`` never
    holds half an image.

    image
        An alias (tried first) or a fingerprint (or a unique prefix).

    dest
        The file to write, an absolute path in an existing folder (replaced if it
        exists). For a split image: its metadata tarball.

    rootfs_dest
        For a split image (a metadata tarball and a root file system, as images of
        image servers often are): the file for its root file system. A split image
        without it is an error, and nothing is written.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_export busybox /srv/images/busybox.tar.gz
        salt '*' lxdapi.image_export debian /srv/debian.tar.xz rootfs_dest=/srv/debian.squashfs
    """
    return lxdapi_images.image_export(_connect(kwargs), image, dest, rootfs_dest=rootfs_dest)


# ---- resources ----
#
# Profiles, networks, storage pools, storage volumes and projects: get, list, create,
# update, delete for each, thin over the core's generic reconcile (resource_* there).
# Every function also takes the connection settings (``remote``, ``endpoint``,
# ``project``, ...); see the module.


def _resource_get(kind, name, kwargs, **url_params):
    result = lxdapi_reconcile.resource_get(_connect(kwargs), kind, name, **url_params)
    return result.metadata if result else False


def _resource_update(
    kind, name, declared, kwargs, purge_config=False, purge_devices=False, **url_params
):
    plan = lxdapi_reconcile.resource_update(
        _connect(kwargs),
        kind,
        name,
        declared,
        purge_config=purge_config,
        purge_devices=purge_devices,
        **url_params,
    )
    for note in plan.notes:
        log.warning("lxdapi: %s", note)
    return plan.changes


# -- profiles


@_salt_errors
def profile_get(name, **kwargs):
    """
    Return a profile as LXD holds it (config, devices, description, used_by), or False
    when it does not exist.

    name
        The profile's name.

    kwargs
        Connection settings (``remote``, ``endpoint``, ``project``, ...); see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_get default
        salt '*' lxdapi.profile_get web project=staging
    """
    return _resource_get("profile", name, kwargs)


@_salt_errors
def profile_list(recursion=False, **kwargs):
    """
    List the profiles: their names, or with ``recursion=True`` their full objects.

    recursion
        True to return every profile as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_list
        salt '*' lxdapi.profile_list recursion=True
    """
    return lxdapi_reconcile.resource_list(_connect(kwargs), "profile", recursion=recursion)


@_salt_errors
def profile_create(name, config=None, devices=None, description=None, **kwargs):
    """
    Create a profile; return it as LXD then holds it. Fails if it exists already.

    name
        The profile's name.

    config
        A mapping of config keys (``limits.cpu``, ``user.*``, ...); values are stored
        as strings.

    devices
        A mapping of device name to device (each a mapping with a ``type``).

    description
        The profile's description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_create web config='{"limits.cpu": 2}' description="web servers"
    """
    declared = {"config": config, "devices": devices, "description": description}
    return lxdapi_reconcile.resource_create(_connect(kwargs), "profile", name, declared)


@_salt_errors
def profile_update(
    name,
    config=None,
    devices=None,
    description=None,
    purge_config=False,
    purge_devices=False,
    **kwargs,
):
    """
    Bring an existing profile to the given fields (a PATCH with If-Match, only when
    something differs); return the changes as ``{field: {old, new}}`` (empty: nothing
    to do). Fields left None are not touched.

    name
        The profile's name.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    devices
        Devices to set; devices not given are kept unless ``purge_devices``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    purge_devices
        Remove devices that are not in ``devices`` (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_update web config='{"limits.cpu": 4}'
        salt '*' lxdapi.profile_update web devices='{}' purge_devices=True
    """
    declared = {"config": config, "devices": devices, "description": description}
    return _resource_update("profile", name, declared, kwargs, purge_config, purge_devices)


@_salt_errors
def profile_delete(name, **kwargs):
    """
    Delete a profile. Returns True if it was deleted, False if it did not exist; fails,
    naming them, when instances still use it.

    name
        The profile's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_delete web
    """
    return lxdapi_reconcile.resource_delete(_connect(kwargs), "profile", name)


# -- networks


@_salt_errors
def network_get(name, target=None, **kwargs):
    """
    Return a network as LXD holds it (type, config, managed, used_by), or False when
    it does not exist.

    name
        The network's name.

    target
        On an LXD cluster: the member whose own config to read (``source``,
        member-specific keys); default: the cluster-wide view.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_get lxdbr0
        salt '*' lxdapi.network_get lxdbr0 target=node2
    """
    return _resource_get("network", name, kwargs, target=target)


@_salt_errors
def network_list(recursion=False, **kwargs):
    """
    List the networks (managed ones and the host's interfaces): names, or with
    ``recursion=True`` full objects.

    recursion
        True to return every network as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_list
    """
    return lxdapi_reconcile.resource_list(_connect(kwargs), "network", recursion=recursion)


@_salt_errors
def network_create(
    name, type="bridge", config=None, description=None, member_config=None, **kwargs
):
    """
    Create a managed network; return it as LXD then holds it. Fails if it exists.

    name
        The network's name (an interface name: at most 15 characters).

    type
        The network type: ``bridge`` (default), ``macvlan``, ``sriov``, ``ovn``,
        ``physical``. It cannot be changed later.

    config
        A mapping of config keys (``ipv4.address``, ``ipv6.address``, ``bridge.mtu``...).
        A bridge without ``ipv4.address`` gets an automatic subnet.

    description
        The network's description.

    member_config
        On an LXD cluster: each member's own keys, ``{member: {key: value}}`` (``parent``,
        ``bridge.external_interfaces``, ``bgp.ipv4.nexthop``, ``bgp.ipv6.nexthop``).
        Member-specific keys in ``config`` go to every member; this overrides them per
        member. LXD's creation steps (a pending entry on each member, then the creation
        everywhere) are made for you.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_create br1 config='{"ipv4.address": "none", "ipv6.address": "none"}'
        salt '*' lxdapi.network_create lan type=macvlan member_config='{"node1": {"parent": \
            "eth1"}, "node2": {"parent": "eno2"}}'
    """
    declared = {"type": type, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        _connect(kwargs), "network", name, declared, member_config=member_config
    )


@_salt_errors
def network_update(
    name,
    config=None,
    description=None,
    purge_config=False,
    target=None,
    member_config=None,
    **kwargs,
):
    """
    Bring an existing managed network to the given config and description (a PATCH with
    If-Match, only when something differs); return the changes (empty: nothing to do).

    name
        The network's name.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    target
        On an LXD cluster: the member whose own config keys to change.

    member_config
        On an LXD cluster: each member's own keys to set, ``{member: {key: value}}``
        (``parent``, ``bridge.external_interfaces``, ``bgp.ipv4.nexthop``, ``bgp.ipv6.nexthop``);
        read and written with ``?target=MEMBER``. Not together with ``target``.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_update br1 config='{"bridge.mtu": 1400}'
        salt '*' lxdapi.network_update br1 config='{"bridge.external_interfaces": "eth1"}' \
            target=node2
        salt '*' lxdapi.network_update lan member_config='{"node2": {"parent": "eno3"}}'
    """
    declared = {"config": config, "description": description}
    return _resource_update(
        "network", name, declared, kwargs, purge_config, target=target, member_config=member_config
    )


@_salt_errors
def network_delete(name, **kwargs):
    """
    Delete a managed network. Returns True if deleted, False if it did not exist; fails,
    naming them, when instances or profiles still use it.

    name
        The network's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_delete br1
    """
    return lxdapi_reconcile.resource_delete(_connect(kwargs), "network", name)


# -- storage pools


@_salt_errors
def storage_pool_get(name, target=None, **kwargs):
    """
    Return a storage pool as LXD holds it (driver, config, used_by), or False when it
    does not exist.

    name
        The pool's name.

    target
        On an LXD cluster: the member whose own config to read (``source``,
        member-specific keys); default: the cluster-wide view.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_get default
        salt '*' lxdapi.storage_pool_get default target=node2
    """
    return _resource_get("storage_pool", name, kwargs, target=target)


@_salt_errors
def storage_pool_list(recursion=False, **kwargs):
    """
    List the storage pools: names, or with ``recursion=True`` full objects.

    recursion
        True to return every pool as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_list
    """
    return lxdapi_reconcile.resource_list(_connect(kwargs), "storage_pool", recursion=recursion)


@_salt_errors
def storage_pool_create(name, driver, config=None, description=None, member_config=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_create data dir config='{"source": "/srv/lxd"}'
        salt '*' lxdapi.storage_pool_create data dir member_config='{"node1": {"source": \
            "/srv/a"}, "node2": {"source": "/srv/b"}}'
    """
    declared = {"driver": driver, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        _connect(kwargs), "storage_pool", name, declared, member_config=member_config
    )


@_salt_errors
def storage_pool_update(
    name,
    config=None,
    description=None,
    target=None,
    member_config=None,
    purge_config=False,
    **kwargs,
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_update data config='{"rsync.bwlimit": "10MB"}'
        salt '*' lxdapi.storage_pool_update data config='{"size": "20GB"}' target=node2
    """
    declared = {"config": config, "description": description}
    return _resource_update(
        "storage_pool",
        name,
        declared,
        kwargs,
        purge_config,
        target=target,
        member_config=member_config,
    )


@_salt_errors
def storage_pool_delete(name, **kwargs):
    """
    Delete a storage pool. Returns True if deleted, False if it did not exist; fails,
    naming them, when volumes, instances or profiles still use it.

    name
        The pool's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_delete data
    """
    return lxdapi_reconcile.resource_delete(_connect(kwargs), "storage_pool", name)


# -- storage volumes


@_salt_errors
def storage_volume_get(pool, name, type="custom", **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_get default data1
    """
    return _resource_get("storage_volume", name, kwargs, pool=pool, type=type)


@_salt_errors
def storage_volume_list(pool, type="custom", recursion=False, **kwargs):
    """
    List a pool's volumes of one type: names, or with ``recursion=True`` full objects.

    pool
        The storage pool's name.

    type
        The volume type (default ``custom``).

    recursion
        True to return every volume as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_list default
        salt '*' lxdapi.storage_volume_list default type=container
    """
    return lxdapi_reconcile.resource_list(
        _connect(kwargs), "storage_volume", recursion=recursion, pool=pool, type=type
    )


@_salt_errors
def storage_volume_create(
    pool, name, type="custom", config=None, content_type=None, description=None, **kwargs
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_create default data1 config='{"user.owner": "web"}'
    """
    declared = {"config": config, "content_type": content_type, "description": description}
    return lxdapi_reconcile.resource_create(
        _connect(kwargs), "storage_volume", name, declared, pool=pool, type=type
    )


@_salt_errors
def storage_volume_update(
    pool, name, type="custom", config=None, description=None, purge_config=False, **kwargs
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_update default data1 description="web data"
    """
    declared = {"config": config, "description": description}
    return _resource_update(
        "storage_volume", name, declared, kwargs, purge_config, pool=pool, type=type
    )


@_salt_errors
def storage_volume_delete(pool, name, type="custom", **kwargs):
    """
    Delete a storage volume. Returns True if deleted, False if it did not exist; fails,
    naming them, when instances still use it.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type (default ``custom``).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_delete default data1
    """
    return lxdapi_reconcile.resource_delete(
        _connect(kwargs), "storage_volume", name, pool=pool, type=type
    )


@_salt_errors
def storage_volume_snapshot_get(pool, volume, name, **kwargs):
    """
    Return a snapshot of a custom storage volume as LXD holds it, or False when it does
    not exist.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_get default data1 before-upgrade
    """
    return _resource_get("storage_volume_snapshot", name, kwargs, pool=pool, volume=volume)


@_salt_errors
def storage_volume_snapshot_update(pool, volume, name, description=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_update default data1 before-upgrade \
            description="the last good one"
    """
    return _resource_update(
        "storage_volume_snapshot",
        name,
        {"description": description},
        kwargs,
        pool=pool,
        volume=volume,
    )


@_salt_errors
def storage_volume_snapshot_list(pool, volume, recursion=False, **kwargs):
    """
    List the snapshots of a custom storage volume: names, or with ``recursion=True``
    LXD's objects.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    recursion
        True to return every snapshot as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_list default data1
    """
    return lxdapi_reconcile.resource_list(
        _connect(kwargs), "storage_volume_snapshot", recursion=recursion, pool=pool, volume=volume
    )


@_salt_errors
def storage_volume_snapshot_create(pool, volume, name, description=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_create default data1 before-upgrade
    """
    return lxdapi_reconcile.resource_create(
        _connect(kwargs),
        "storage_volume_snapshot",
        name,
        {"description": description},
        pool=pool,
        volume=volume,
    )


@_salt_errors
def storage_volume_snapshot_restore(pool, volume, name, **kwargs):
    """
    Restore a custom storage volume to one of its snapshots (what the volume held since
    is lost). LXD refuses while a running instance uses the volume.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot to restore.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_restore default data1 before-upgrade
    """
    return lxdapi_reconcile.storage_volume_snapshot_restore(_connect(kwargs), pool, volume, name)


@_salt_errors
def storage_volume_snapshot_delete(pool, volume, name, **kwargs):
    """
    Delete a snapshot of a custom storage volume. True if deleted, False if it did not
    exist.

    pool
        The storage pool's name.

    volume
        The custom volume's name.

    name
        The snapshot's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_snapshot_delete default data1 before-upgrade
    """
    return lxdapi_reconcile.resource_delete(
        _connect(kwargs), "storage_volume_snapshot", name, pool=pool, volume=volume
    )


# -- storage volumes copied, moved, backed up


@_salt_errors
def storage_volume_copy(
    pool,
    name,
    new_name=None,
    target_pool=None,
    to=None,
    volume_only=False,
    source_url=None,
    **kwargs,
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

    kwargs
        Connection settings of the source; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_copy default data1 data1-clone
        salt '*' lxdapi.storage_volume_copy default data1 target_pool=fast
        salt '*' lxdapi.storage_volume_copy default data1 to=rack2
    """
    return lxdapi_volumes.storage_volume_copy(
        _connect(kwargs),
        pool,
        name,
        new_name=new_name,
        target_pool=target_pool,
        target_api=None if to is None else _target_api(to),
        volume_only=volume_only,
        source_url=source_url,
    )


@_salt_errors
def storage_volume_move(pool, name, to_pool=None, to=None, source_url=None, **kwargs):
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

    kwargs
        Connection settings of the source; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_move default data1 to_pool=fast
        salt '*' lxdapi.storage_volume_move default data1 to=rack2
    """
    api = _connect(kwargs)
    plan = lxdapi_volumes.plan_volume_migrated(
        api,
        pool,
        name,
        to_pool=to_pool,
        target_api=None if to is None else _target_api(to),
        source_url=source_url,
    )
    plan.apply(api)
    return plan.changes


@_salt_errors
def storage_volume_backup_export(
    pool, name, dest, volume_only=False, compression=None, optimized_storage=False, **kwargs
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_backup_export default data1 /srv/backups/data1.tar.gz
    """
    return lxdapi_volumes.storage_volume_backup_export(
        _connect(kwargs),
        pool,
        name,
        dest,
        volume_only=volume_only,
        compression=compression,
        optimized_storage=optimized_storage,
    )


@_salt_errors
def storage_volume_backup_import(pool, path, name=None, **kwargs):
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

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_volume_backup_import default /srv/backups/data1.tar.gz \
            name=data1-restored
    """
    return lxdapi_volumes.storage_volume_backup_import(
        _connect(kwargs), pool, _local_source(path), name=name
    )


# -- network ACLs, DNS zones and their records


@_salt_errors
def network_acl_get(name, **kwargs):
    """
    Return a network ACL as LXD holds it (ingress, egress, config, used_by), or False.

    name
        The ACL's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_get web-in
    """
    return _resource_get("network_acl", name, kwargs)


@_salt_errors
def network_acl_list(recursion=False, **kwargs):
    """
    List the network ACLs: names, or with ``recursion=True`` full objects.

    recursion
        True to return every ACL as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_list
    """
    return lxdapi_reconcile.resource_list(_connect(kwargs), "network_acl", recursion=recursion)


@_salt_errors
def network_acl_create(name, ingress=None, egress=None, config=None, description=None, **kwargs):
    """
    Create a network ACL; return it as LXD then holds it. Fails if it exists.

    name
        The ACL's name.

    ingress
        Ingress rules, a list of mappings (``action``, ``state``, ``source``,
        ``destination``, ``protocol``, ``source_port``, ``destination_port``...).

    egress
        Egress rules, the same way.

    config
        A mapping of config keys (``user.*``).

    description
        The ACL's description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_create web-in ingress='[{"action": "allow", "protocol": \
            "tcp", "destination_port": "80", "state": "enabled"}]'
    """
    declared = {"ingress": ingress, "egress": egress, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(_connect(kwargs), "network_acl", name, declared)


@_salt_errors
def network_acl_update(
    name, ingress=None, egress=None, config=None, description=None, purge_config=False, **kwargs
):
    """
    Bring an existing network ACL to the given rules, config and description (a PUT of
    the whole ACL with If-Match, only when something differs); return the changes.

    name
        The ACL's name.

    ingress
        The new ingress rules (the whole list); None keeps them.

    egress
        The new egress rules (the whole list); None keeps them.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_update web-in egress='[]'
    """
    declared = {"ingress": ingress, "egress": egress, "config": config, "description": description}
    return _resource_update("network_acl", name, declared, kwargs, purge_config)


@_salt_errors
def network_acl_delete(name, **kwargs):
    """
    Delete a network ACL. Returns True if deleted, False if it did not exist; fails,
    naming them, when networks or instances still use it.

    name
        The ACL's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_delete web-in
    """
    return lxdapi_reconcile.resource_delete(_connect(kwargs), "network_acl", name)


@_salt_errors
def network_zone_get(name, **kwargs):
    """
    Return a network DNS zone as LXD holds it (config, used_by), or False.

    name
        The zone's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_get lxd.example.net
    """
    return _resource_get("network_zone", name, kwargs)


@_salt_errors
def network_zone_list(recursion=False, **kwargs):
    """
    List the network DNS zones: names, or with ``recursion=True`` full objects.

    recursion
        True to return every zone as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_list
    """
    return lxdapi_reconcile.resource_list(_connect(kwargs), "network_zone", recursion=recursion)


@_salt_errors
def network_zone_create(name, config=None, description=None, **kwargs):
    """
    Create a network DNS zone; return it as LXD then holds it. Fails if it exists.

    name
        The zone's name (a DNS name).

    config
        A mapping of config keys (``dns.nameservers``, ``peers.NAME.address``...).

    description
        The zone's description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_create lxd.example.net config='{"dns.nameservers": \
            "ns1.example.net"}'
    """
    declared = {"config": config, "description": description}
    return lxdapi_reconcile.resource_create(_connect(kwargs), "network_zone", name, declared)


@_salt_errors
def network_zone_update(name, config=None, description=None, purge_config=False, **kwargs):
    """
    Bring an existing network DNS zone to the given config and description (a PUT with
    If-Match, only when something differs); return the changes.

    name
        The zone's name.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_update lxd.example.net description="lab zone"
    """
    declared = {"config": config, "description": description}
    return _resource_update("network_zone", name, declared, kwargs, purge_config)


@_salt_errors
def network_zone_delete(name, **kwargs):
    """
    Delete a network DNS zone and its records. Returns True if deleted, False if it did
    not exist; fails, naming them, when networks still use it.

    name
        The zone's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_delete lxd.example.net
    """
    return lxdapi_reconcile.resource_delete(_connect(kwargs), "network_zone", name)


@_salt_errors
def network_zone_record_get(zone, name, **kwargs):
    """
    Return a record of a network DNS zone (entries, config), or False.

    zone
        The zone's name.

    name
        The record's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_get lxd.example.net www
    """
    return _resource_get("network_zone_record", name, kwargs, zone=zone)


@_salt_errors
def network_zone_record_list(zone, recursion=False, **kwargs):
    """
    List the records of a network DNS zone: names, or with ``recursion=True`` full
    objects.

    zone
        The zone's name.

    recursion
        True to return every record as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_list lxd.example.net
    """
    return lxdapi_reconcile.resource_list(
        _connect(kwargs), "network_zone_record", recursion=recursion, zone=zone
    )


@_salt_errors
def network_zone_record_create(zone, name, entries=None, config=None, description=None, **kwargs):
    """
    Create a record in a network DNS zone; return it as LXD then holds it. Fails if it
    exists.

    zone
        The zone's name.

    name
        The record's name.

    entries
        The entries, a list of mappings with ``type``, ``value`` and optionally ``ttl``.

    config
        A mapping of config keys (``user.*``).

    description
        The record's description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_create lxd.example.net www entries='[{"type": "A", \
            "value": "192.0.2.10"}]'
    """
    declared = {"entries": entries, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        _connect(kwargs), "network_zone_record", name, declared, zone=zone
    )


@_salt_errors
def network_zone_record_update(
    zone, name, entries=None, config=None, description=None, purge_config=False, **kwargs
):
    """
    Bring an existing record to the given entries, config and description (a PUT of the
    whole record with If-Match, only when something differs); return the changes.

    zone
        The zone's name.

    name
        The record's name.

    entries
        The new entries (the whole list); None keeps them.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_update lxd.example.net www entries='[{"type": "A", \
            "value": "192.0.2.11"}]'
    """
    declared = {"entries": entries, "config": config, "description": description}
    return _resource_update("network_zone_record", name, declared, kwargs, purge_config, zone=zone)


@_salt_errors
def network_zone_record_delete(zone, name, **kwargs):
    """
    Delete a record of a network DNS zone. Returns True if deleted, False if it did not
    exist.

    zone
        The zone's name.

    name
        The record's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_delete lxd.example.net www
    """
    return lxdapi_reconcile.resource_delete(
        _connect(kwargs), "network_zone_record", name, zone=zone
    )


# -- network forwards and peers


@_salt_errors
def network_forward_get(network, listen_address, **kwargs):
    """
    Return a network forward as LXD holds it (listen_address, config, ports), or False.

    network
        The network's name (a bridge or OVN network).

    listen_address
        The forward's listen address (an IP address; LXD looks it up in its canonical
        form, which is used whatever form is given).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_get lxdbr0 192.0.2.10
    """
    return _resource_get("network_forward", listen_address, kwargs, network=network)


@_salt_errors
def network_forward_list(network, recursion=False, **kwargs):
    """
    List the forwards of a network: listen addresses, or with ``recursion=True`` full
    objects.

    network
        The network's name.

    recursion
        True to return every forward as LXD holds it (default False: listen addresses
        only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_list lxdbr0
    """
    return lxdapi_reconcile.resource_list(
        _connect(kwargs), "network_forward", recursion=recursion, network=network
    )


@_salt_errors
def network_forward_create(
    network, listen_address, ports=None, config=None, description=None, **kwargs
):
    """
    Create a network forward; return it as LXD then holds it. Fails if it exists.

    Port specs with a key LXD does not know, a protocol other than tcp or udp, or a
    target that is not an IP address are refused before anything is written.

    network
        The network's name (a bridge or OVN network; LXD wants the network's own subnet
        for the forward's address family, and the targets inside it).

    listen_address
        The address to listen on (an IP address).

    ports
        The port specs, a list of mappings: ``protocol`` (tcp or udp), ``listen_port``
        (``80``, ``80,443``, ``8000-8010``), ``target_address``, and optionally
        ``target_port`` and ``description``.

    config
        A mapping of config keys: ``target_address`` (where what no port spec covers
        goes) and ``user.*``.

    description
        The forward's description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_create lxdbr0 192.0.2.10 ports='[{"protocol": \
            "tcp", "listen_port": "80", "target_address": "10.0.3.20"}]'
    """
    declared = {"ports": ports, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        _connect(kwargs), "network_forward", listen_address, declared, network=network
    )


@_salt_errors
def network_forward_update(
    network,
    listen_address,
    ports=None,
    config=None,
    description=None,
    purge_config=False,
    **kwargs,
):
    """
    Bring an existing network forward to the given ports, config and description (a
    PUT of the whole forward with If-Match, only when something differs); return the
    changes.

    network
        The network's name.

    listen_address
        The forward's listen address.

    ports
        The new port specs (the whole list, compared in order); None keeps them.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_update lxdbr0 192.0.2.10 ports='[]'
    """
    declared = {"ports": ports, "config": config, "description": description}
    return _resource_update(
        "network_forward", listen_address, declared, kwargs, purge_config, network=network
    )


@_salt_errors
def network_forward_delete(network, listen_address, **kwargs):
    """
    Delete a network forward. Returns True if deleted, False if it did not exist.

    network
        The network's name.

    listen_address
        The forward's listen address.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_delete lxdbr0 192.0.2.10
    """
    return lxdapi_reconcile.resource_delete(
        _connect(kwargs), "network_forward", listen_address, network=network
    )


@_salt_errors
def network_peer_get(network, name, **kwargs):
    """
    Return a peering of an OVN network as LXD holds it (target, status, config), or
    False. Fails, saying so, on a network that is not OVN.

    network
        The OVN network's name.

    name
        The peering's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_get ovn1 to-ovn2
    """
    return _resource_get("network_peer", name, kwargs, network=network)


@_salt_errors
def network_peer_list(network, recursion=False, **kwargs):
    """
    List the peerings of an OVN network: names, or with ``recursion=True`` full
    objects.

    network
        The OVN network's name.

    recursion
        True to return every peering as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_list ovn1
    """
    return lxdapi_reconcile.resource_list(
        _connect(kwargs), "network_peer", recursion=recursion, network=network
    )


@_salt_errors
def network_peer_create(
    network,
    name,
    target_network=None,
    target_project=None,
    config=None,
    description=None,
    **kwargs,
):
    """
    Create a peering from an OVN network to another; return it as LXD then holds it
    (``status`` Pending until the other side peers back). Fails if it exists.

    network
        The OVN network's name.

    name
        The peering's name.

    target_network
        The OVN network to peer with (set at creation only).

    target_project
        The project of ``target_network`` (set at creation only; default: the same).

    config
        A mapping of config keys (``user.*``).

    description
        The peering's description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_create ovn1 to-ovn2 target_network=ovn2
    """
    declared = {
        "target_network": target_network,
        "target_project": target_project,
        "config": config,
        "description": description,
    }
    return lxdapi_reconcile.resource_create(
        _connect(kwargs), "network_peer", name, declared, network=network
    )


@_salt_errors
def network_peer_update(network, name, config=None, description=None, purge_config=False, **kwargs):
    """
    Bring an existing peering to the given config and description (a PUT with
    If-Match, only when something differs); return the changes.

    network
        The OVN network's name.

    name
        The peering's name.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_update ovn1 to-ovn2 description="to the lab"
    """
    declared = {"config": config, "description": description}
    return _resource_update("network_peer", name, declared, kwargs, purge_config, network=network)


@_salt_errors
def network_peer_delete(network, name, **kwargs):
    """
    Delete a peering of an OVN network. Returns True if deleted, False if it did not
    exist.

    network
        The OVN network's name.

    name
        The peering's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_delete ovn1 to-ovn2
    """
    return lxdapi_reconcile.resource_delete(_connect(kwargs), "network_peer", name, network=network)


# -- projects


@_salt_errors
def project_get(name, **kwargs):
    """
    Return a project as LXD holds it (config with its ``features.*``, used_by), or
    False when it does not exist.

    name
        The project's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_get staging
    """
    return _resource_get("project", name, kwargs)


@_salt_errors
def project_list(recursion=False, **kwargs):
    """
    List the projects: names, or with ``recursion=True`` full objects.

    recursion
        True to return every project as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_list
    """
    return lxdapi_reconcile.resource_list(_connect(kwargs), "project", recursion=recursion)


@_salt_errors
def project_create(name, config=None, description=None, **kwargs):
    """
    Create a project; return it as LXD then holds it. Fails if it exists.

    name
        The project's name.

    config
        A mapping of config keys (``features.images``, ``limits.instances``...); LXD
        fills in the ``features.*`` not given.

    description
        The project's description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_create staging config='{"limits.instances": 10}'
    """
    declared = {"config": config, "description": description}
    return lxdapi_reconcile.resource_create(_connect(kwargs), "project", name, declared)


@_salt_errors
def project_update(name, config=None, description=None, purge_config=False, **kwargs):
    """
    Bring an existing project to the given config keys and description; return the
    changes. Keys not given are kept (the whole config is written back with If-Match:
    LXD 5.0 would otherwise drop them).

    name
        The project's name.

    config
        Config keys to set.

    description
        The new description.

    purge_config
        Remove the config keys that are not given (default False).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_update staging config='{"limits.instances": 20}'
    """
    declared = {"config": config, "description": description}
    return _resource_update("project", name, declared, kwargs, purge_config)


@_salt_errors
def project_delete(name, **kwargs):
    """
    Delete a project. Returns True if deleted, False if it did not exist; fails, naming
    them, while it holds anything besides its own default profile.

    name
        The project's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_delete staging
    """
    return lxdapi_reconcile.resource_delete(_connect(kwargs), "project", name)


# ---- remotes, trust and clusters ----
#
# The server's trust store (certificate_*), a minion's own client certificate
# (client_certificate_create) and getting it trusted by a remote (authenticate), and the
# members of a cluster. Remotes are named in the minion config or pillar:
#
#     lxdapi:
#       remotes:
#         lab:
#           endpoint: https://10.0.0.5:8443
#           cert: /etc/salt/pki/minion/lxdapi.crt
#           key: /etc/salt/pki/minion/lxdapi.key
#           server_cert: /etc/salt/pki/minion/lab-server.crt   # pin (no host-name check)
#           # verify: /path/to/ca.pem   (or False, with a warning; default: system CAs)
#           project: default
#
# and every function takes ``remote=lab``.


def _certificate_text(certificate):
    """PEM text, a local path, or a ``salt://`` URL (fetched) of a certificate."""
    if isinstance(certificate, str) and certificate.startswith("salt://"):
        return _local_source(certificate)
    return certificate


@_salt_errors
def certificate_list(recursion=0, **kwargs):
    """
    List the server's trust store.

    recursion
        0 (default): the certificates' fingerprints; 1: LXD's certificate objects
        (``name``, ``fingerprint``, ``type``, ``restricted``, ``projects``,
        ``certificate``).

    kwargs
        Connection settings (``remote``, ``endpoint``, ...); see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.certificate_list recursion=1
    """
    return lxdapi_trust.certificate_list(_connect(kwargs), recursion)


@_salt_errors
def certificate_get(fingerprint, **kwargs):
    """
    Return a trusted certificate (LXD's object) by fingerprint or unique prefix, or
    False.

    fingerprint
        The certificate's SHA-256 fingerprint, or a unique prefix of it.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.certificate_get 48b28ddc5658
    """
    result = lxdapi_trust.certificate_get(_connect(kwargs), fingerprint)
    return result.metadata if result else False


@_salt_errors
def certificate_add(
    certificate,
    name=None,
    type="client",
    restricted=False,
    projects=None,
    **kwargs,
):
    """
    Add a certificate to the server's trust store; return its fingerprint.

    certificate
        The PEM certificate: its text, a path on the minion, or a ``salt://`` URL.

    name
        The name to give it (LXD's default: none).

    type
        ``client`` (default) or ``metrics``.

    restricted
        Restrict it to ``projects`` (default False).

    projects
        The projects a restricted certificate may reach.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt lxdhost lxdapi.certificate_add /srv/minion1.crt name=minion1
    """
    return lxdapi_trust.certificate_add(
        _connect(kwargs), _certificate_text(certificate), name, type, restricted, projects
    )


@_salt_errors
def certificate_delete(name, **kwargs):
    """
    Remove certificates from the trust store: every one called ``name``, else the one
    whose fingerprint is (or starts with, at least 8 digits) ``name``. Returns the
    fingerprints removed (an empty list when there was none).

    name
        The certificate's name or fingerprint.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt lxdhost lxdapi.certificate_delete minion1
    """
    return lxdapi_trust.certificate_delete(_connect(kwargs), name)


@_salt_errors
def certificate_token_create(name, restricted=False, projects=None, **kwargs):
    """
    Issue a trust token (as ``lxc config trust add --name NAME`` does): a client that
    presents it once, with :func:`authenticate`, gets its certificate trusted as ``name``.
    Needs the ``certificate_token`` API extension (LXD 5.0 and later).

    name
        The name the client's certificate will get.

    restricted
        Restrict the certificate to ``projects`` (default False).

    projects
        The projects a restricted certificate may reach.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt lxdhost lxdapi.certificate_token_create minion1
    """
    return lxdapi_trust.certificate_token_create(_connect(kwargs), name, restricted, projects)


@_salt_errors
def client_certificate_create(
    path_prefix=None, cert=None, key=None, common_name=None, days=3650, overwrite=False
):
    """
    Make this minion a client key and a self-signed certificate for LXD's HTTPS API.

    The key (EC P-384) is written with mode 0600 and never returned or logged; the
    ``cryptography`` package makes it when it is importable, else ``openssl``. An
    existing pair is kept (``created: False``) unless ``overwrite``.

    path_prefix
        Write ``<path_prefix>.crt`` and ``<path_prefix>.key``. Default:
        ``<pki_dir>/lxdapi`` (e.g. ``/etc/salt/pki/minion/lxdapi.crt``).

    cert, key
        The exact paths instead (both, or neither).

    common_name
        The certificate's CN (default: the minion id).

    days
        Validity in days (default 3650).

    overwrite
        Make a new pair even when the files exist (default False).

    Returns ``{cert, key, fingerprint, certificate (the PEM), created}``: use ``cert``
    and ``key`` in ``lxdapi:remotes:NAME``, and ``certificate`` with
    ``lxdapi.certificate_present`` on the server's side.

    CLI Example:

    .. code-block:: bash

        salt minion1 lxdapi.client_certificate_create
        salt minion1 lxdapi.client_certificate_create path_prefix=/etc/lxdapi/client
    """
    if path_prefix and (cert or key):
        raise SaltInvocationError("give path_prefix, or cert and key, not both")
    if bool(cert) != bool(key):
        raise SaltInvocationError("give both cert and key paths")
    if not cert:
        prefix = path_prefix or os.path.join(
            __opts__.get("pki_dir") or __opts__.get("cachedir"), "lxdapi"
        )
        cert, key = str(prefix) + ".crt", str(prefix) + ".key"
    return lxdapi_trust.create_client_certificate(
        cert, key, common_name or __opts__.get("id") or "lxdapi", days, overwrite
    )


@_salt_errors
def authenticate(remote=None, password=None, token=None, name=None, **kwargs):
    """
    Get this minion's client certificate trusted by a remote LXD (``POST
    /1.0/certificates`` over HTTPS with the certificate, as ``lxc remote add`` does).

    remote
        The remote's name in ``lxdapi:remotes`` (or give ``endpoint``, ``cert``,
        ``key`` and ``server_cert``/``verify`` directly).

    password
        The server's trust password (``core.trust_password``).

    token
        A trust token (``lxc config trust add --name NAME`` or
        :func:`certificate_token_create` on the server); used where the server supports
        tokens (``explicit_trust_token`` or ``certificate_token`` API extension).

    name
        The name to give the certificate (password only; a token carries its own).

    kwargs
        Other connection settings; see the module.

    Returns ``{trusted: True, changed, fingerprint}``; a refused secret fails, saying
    so. Pass the secret from pillar rather than on the command line.

    CLI Example:

    .. code-block:: bash

        salt minion1 lxdapi.authenticate lab token=eyJjbGllbnRfbmFtZSI6...
    """
    conn, rest = _split_connection(kwargs)
    _no_extra(rest)
    if remote:
        conn["remote"] = remote
    return lxdapi_trust.authenticate(
        _api(**conn), password=password, token=token, name=name or None
    )


@_salt_errors
def cluster_members(**kwargs):
    """
    List the members of the LXD cluster: ``server_name``, ``url``, ``roles``,
    ``status`` (``Online``...), ``message``, ``architecture``, ``failure_domain``,
    ``groups``. Fails when the server is not clustered.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_members remote=cluster1
    """
    return lxdapi_cluster.cluster_members(_connect(kwargs))


@_salt_errors
def cluster_member_get(name, **kwargs):
    """
    Return one cluster member (as in :func:`cluster_members`), or False if there is no
    such member. Fails when the server is not clustered.

    name
        The member's server name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_member_get node2 remote=cluster1
    """
    return lxdapi_cluster.cluster_member_get(_connect(kwargs), name) or False


@_salt_errors
def cluster_member_update(
    name, description=None, failure_domain=None, roles=None, groups=None, config=None, **kwargs
):
    """
    Bring a cluster member's settings to what is given (a PUT with If-Match, only when
    something differs; what is not given is kept); return the changes.

    name
        The member's server name.

    description
        The member's description.

    failure_domain
        Its failure domain (``default``, ``rack2``...), for database placement.

    roles
        The roles a user assigns (``event-hub``, ``ovn-chassis``), the whole list; LXD's
        own database roles are kept.

    groups
        The cluster groups it belongs to, the whole list (they must exist).

    config
        Member config keys (``scheduler.instance``: ``all``, ``manual``, ``group``);
        ``""`` unsets one.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_member_update node2 failure_domain=rack2 \
            config='{"scheduler.instance": "manual"}'
    """
    plan = lxdapi_cluster.plan_cluster_member(
        _connect(kwargs), name, description, failure_domain, roles, groups, config
    )
    plan.apply(_connect(kwargs))
    return plan.changes


@_salt_errors
def cluster_group_get(name, **kwargs):
    """
    Return a cluster group (description, members), or False.

    name
        The group's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_get gpu
    """
    return _resource_get("cluster_group", name, kwargs)


@_salt_errors
def cluster_group_list(recursion=False, **kwargs):
    """
    List the cluster groups: names, or with ``recursion=True`` full objects.

    recursion
        True to return every group as LXD holds it (default False: names only).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_list
    """
    return lxdapi_reconcile.resource_list(_connect(kwargs), "cluster_group", recursion=recursion)


@_salt_errors
def cluster_group_create(name, members=None, description=None, **kwargs):
    """
    Create a cluster group; return it as LXD then holds it. Fails if it exists.

    name
        The group's name.

    members
        The server names of its members.

    description
        The group's description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_create gpu members='["node2"]'
    """
    declared = {"members": members, "description": description}
    return lxdapi_reconcile.resource_create(_connect(kwargs), "cluster_group", name, declared)


@_salt_errors
def cluster_group_update(name, members=None, description=None, **kwargs):
    """
    Bring a cluster group to the given members and description (a PUT with If-Match,
    only when something differs); return the changes.

    name
        The group's name.

    members
        The whole list of its members; None keeps them.

    description
        The new description.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_update gpu members='["node2", "node3"]'
    """
    declared = {"members": members, "description": description}
    return _resource_update("cluster_group", name, declared, kwargs)


@_salt_errors
def cluster_group_delete(name, **kwargs):
    """
    Delete a cluster group (LXD refuses while it has members). True if deleted, False if
    it did not exist.

    name
        The group's name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_delete gpu
    """
    return lxdapi_reconcile.resource_delete(_connect(kwargs), "cluster_group", name)


@_salt_errors
def cluster_member_evacuate(name, **kwargs):
    """
    Evacuate a cluster member: its instances are moved to other members or stopped, as
    their ``cluster.evacuate`` setting says. True if it did, False when the member was
    evacuated already.

    name
        The member's server name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_member_evacuate node2
    """
    return lxdapi_cluster.cluster_member_state(_connect(kwargs), name, "evacuate")


@_salt_errors
def cluster_member_restore(name, **kwargs):
    """
    Restore an evacuated cluster member: its instances come back and start again. True
    if it did, False when the member was online already.

    name
        The member's server name.

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_member_restore node2
    """
    return lxdapi_cluster.cluster_member_state(_connect(kwargs), name, "restore")


@_salt_errors
def cluster_token_create(name, **kwargs):
    """
    Make a join token for a new cluster member (on an existing member); return the
    token text, as ``lxc cluster add NAME`` prints it. Good for one join; pass it to
    ``lxdapi.cluster_member_joined`` on the new member's minion (through pillar, or the
    mine).

    name
        The new member's server name.

    kwargs
        Connection settings of an existing member; see the module.

    CLI Example:

    .. code-block:: bash

        salt node1 lxdapi.cluster_token_create node3
    """
    return lxdapi_cluster.cluster_token_create(_connect(kwargs), name)


@_salt_errors
def cluster_member_remove(name, force=False, **kwargs):
    """
    Remove a member from the cluster; return the changes (empty when it is no member).
    Refused while instances are on it, unless ``force``.

    name
        The member's server name.

    force
        Remove it even though instances are on it (default False; they are lost to the
        cluster).

    kwargs
        Connection settings of a member; see the module.

    CLI Example:

    .. code-block:: bash

        salt node1 lxdapi.cluster_member_remove node3
    """
    api = _connect(kwargs)
    plan = lxdapi_cluster.plan_cluster_member_absent(api, name, force=force)
    plan.apply(api)
    return plan.changes
