"""Execution module for LXD through its REST API: ``salt '*' lxdapi.container_get web1``.

This file: the raw calls (``request``, ``get``, ``post``, ``put``, ``patch``,
``delete``) and the server (``info``, its configuration, ``server_init``, operations).
The other families of ``lxdapi.*`` are files of their own beside it, each with the virtual
name ``lxdapi`` (Salt's loader merges them: every function is ``lxdapi.<name>``):
``lxdapi_host`` (the host's resources, metrics, warnings), ``lxdapi_instances``
(instances and their snapshots), ``lxdapi_exec_files`` (commands, files and logs inside
instances), ``lxdapi_inside`` (Salt inside instances), ``lxdapi_images``,
``lxdapi_profiles_projects``, ``lxdapi_networks`` (networks, ACLs, zones, forwards,
peers), ``lxdapi_storage`` (pools, volumes and their snapshots, copies, moves and
backups) and ``lxdapi_trust_cluster`` (certificates, trust, cluster members and groups).

Thin: each function takes the :class:`API` of its connection settings from the Salt
boundary (``_utils/lxdapi_salt.py``), calls the core (``_utils/lxdapi*.py``) and returns
plain data. Core errors become ``CommandExecutionError`` (server refused, operation
failed) or ``SaltInvocationError`` (bad arguments) in one place, the boundary's
``errors``.

Connection settings, every function (precedence, highest first):

- keyword arguments ``endpoint``, ``cert``, ``key``, ``verify``, ``server_cert``,
  ``timeout``, ``wait_timeout``, ``project``, ``max_body`` (bytes a JSON answer may hold,
  default 64 MiB) (``client_key`` and ``request_timeout`` stand for ``key`` and
  ``timeout`` where a function's own parameter has that name, as in
  ``container_config_get`` and ``container_stop``);
- ``remote=NAME``: the settings under ``lxdapi:remotes:NAME``;
- ``lxdapi:endpoint`` etc. in the minion config, grains or pillar (``config.get``);
- the local unix socket (``$LXD_DIR/unix.socket``, the snap's, ``/var/lib/lxd``'s).
"""

from salt.exceptions import SaltInvocationError

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi as core
import lxdapi_operations
import lxdapi_preseed
import lxdapi_server

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


def _result(result, wait=True):
    """The metadata of a result; for an async operation and ``wait``, the finished op's;
    the body as text for an answer that is not JSON (a log, a file)."""
    if wait and result.is_async:
        return result.wait().metadata
    if result.data is None and result.response.content:
        return result.response.content.decode("utf-8", "replace")
    return result.metadata


@boundary.errors
def request(method, path, data=None, wait=True, **connection):
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

    connection
        Connection settings (``remote``, ``endpoint``, ``project``...): ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.request GET instances
        salt '*' lxdapi.request PATCH instances/web1 '{"config": {"user.a": "1"}}'
    """
    conn, rest = boundary.split_connection(connection)
    boundary.no_extra(rest)
    if str(method).upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise SaltInvocationError(
            f"unknown method {method!r}; choose GET, POST, PUT, PATCH or DELETE"
        )
    if data is not None and not isinstance(data, (dict, list)):
        raise SaltInvocationError("data must be a JSON object or list")
    call = {} if data is None else {"json": data}
    return _result(boundary.api(conn).request(str(method).upper(), path, **call), wait)


@boundary.errors
def get(path, **connection):
    """
    GET ``path`` and return the response's metadata.

    path
        Relative to ``/1.0/`` (``instances``) or absolute (``/1.0``).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.get instances
    """
    return request("GET", path, **connection)


@boundary.errors
def post(path, data=None, wait=True, **connection):
    """
    POST ``data`` to ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body.

    wait
        Wait for an async operation (default True).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.post profiles '{"name": "web"}'
    """
    return request("POST", path, data=data, wait=wait, **connection)


@boundary.errors
def put(path, data=None, wait=True, **connection):
    """
    PUT ``data`` at ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body: the whole writable object.

    wait
        Wait for an async operation (default True).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.put instances/web1/state '{"action": "start"}'
    """
    return request("PUT", path, data=data, wait=wait, **connection)


@boundary.errors
def patch(path, data=None, wait=True, **connection):
    """
    PATCH ``path`` with ``data`` (only the fields given change).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body: the fields to change.

    wait
        Wait for an async operation (default True).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.patch profiles/default '{"description": "base"}'
    """
    return request("PATCH", path, data=data, wait=wait, **connection)


@boundary.errors
def delete(path, wait=True, **connection):
    """
    DELETE ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    wait
        Wait for an async operation (default True).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.delete profiles/old
    """
    return request("DELETE", path, wait=wait, **connection)


@boundary.errors
def info(**connection):
    """
    Summary of the server: which one (``server``: ``lxd`` or ``incus``) and its version,
    API version and extensions, auth, environment.

    connection
        Connection settings (``remote``, ``endpoint``, ``project``...): ``_modules/lxdapi.py``.

    Returns ``{server, version, api_version, api_status, api_extensions, auth,
    auth_methods, environment}``; ``environment`` holds server name, kernel, storage driver,
    architectures...

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.info
        salt '*' lxdapi.info remote=cluster1
    """
    return lxdapi_operations.server_info(boundary.connect(connection))


@boundary.errors
def server_config_get(target=None, **connection):
    """
    Return the LXD server's own config keys (a set ``core.trust_password`` shows as
    True: LXD never shows its value).

    target
        On an LXD cluster: the member whose own keys to read.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.server_config_get
    """
    return lxdapi_server.server_config_get(boundary.connect(connection), target=target)


@boundary.errors
def server_config_set(config, purge_config=False, force_secrets=False, target=None, **connection):
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

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.server_config_set '{"images.auto_update_interval": 0}'
    """
    return core.redact(
        lxdapi_server.server_config_set(
            boundary.connect(connection), config, purge_config, target, force_secrets
        )
    )


@boundary.errors
def server_init(
    config=None, storage_pools=None, networks=None, profiles=None, projects=None, **connection
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

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.server_init storage_pools='[{"name": "default", "driver": "dir"}]'
    """
    api = boundary.connect(connection)
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


@boundary.errors
def operation_list(recursion=0, **connection):
    """
    List the server's operations by status.

    recursion
        0 (default): ``{"running": [ids], "success": [...], "failure": [...]}``;
        1: the same with the operations themselves instead of their ids.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.operation_list
        salt '*' lxdapi.operation_list recursion=1
    """
    return lxdapi_operations.operation_list(boundary.connect(connection), recursion)


@boundary.errors
def operation_get(operation, **connection):
    """
    Return an operation's metadata (status, err, resources...), or False if unknown.

    LXD forgets an operation a few seconds after it ends.

    operation
        The operation's id, or its URL ``/1.0/operations/<id>``.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.operation_get 0b3d1c7e-5a0e-4b6e-9f1e-0d1c2b3a4f5e
    """
    return lxdapi_operations.operation_get(boundary.connect(connection), operation)


@boundary.errors
def operation_wait(operation, timeout=None, **connection):
    """
    Wait for an operation to end and return its metadata; False if it is unknown.

    A failed operation raises an error with LXD's message; one still running after
    ``timeout`` raises too (it is left running).

    operation
        The operation's id, or its URL ``/1.0/operations/<id>``.

    timeout
        Seconds to wait (default: the connection's ``wait_timeout``, 300).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.operation_wait 0b3d1c7e-5a0e-4b6e-9f1e-0d1c2b3a4f5e timeout=60
    """
    return lxdapi_operations.operation_wait(boundary.connect(connection), operation, timeout)
