"""``lxdapi.*`` execution functions of the host: its hardware and a pool's
(``resources``, ``storage_pool_resources``), a project's usage against its limits,
``metrics`` (OpenMetrics text) and the server's warnings.

Core: ``_utils/lxdapi_host.py`` and ``_utils/lxdapi_warnings.py``. Connection settings
as in every ``lxdapi`` function (see ``_modules/lxdapi.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_host
import lxdapi_warnings

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


@boundary.errors
def resources(target=None, **connection):
    """
    Return the host's hardware as the server sees it (``GET /1.0/resources``):
    ``cpu``, ``memory``, ``gpu``, ``network``, ``storage``, ``usb``, ``pci``, ``system``
    (Incus adds ``load``).

    target
        On a cluster: the member to ask about.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.resources
    """
    return lxdapi_host.host_resources(boundary.connect(connection), target=target)


@boundary.errors
def storage_pool_resources(pool, target=None, **connection):
    """
    Return a storage pool's space and inodes, used and total: ``{"space": {"used",
    "total"}, "inodes": {"used", "total"}}`` (bytes).

    pool
        The storage pool's name.

    target
        On a cluster: the member whose share of the pool is meant.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.storage_pool_resources default
    """
    return lxdapi_host.storage_pool_resources(boundary.connect(connection), pool, target=target)


@boundary.errors
def project_state(name=None, **connection):
    """
    Return a project's usage against its limits (the ``project_usage`` API extension):
    ``{"resources": {"cpu": {"Limit", "Usage"}, "memory": ..., "instances": ...}}``; a
    ``Limit`` of -1 is no limit.

    name
        The project (default: the connection's ``project``, else ``default``).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_state tenant1
    """
    return lxdapi_host.project_state(boundary.connect(connection), name)


@boundary.errors
def metrics(names=None, **connection):
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

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.metrics
        salt '*' lxdapi.metrics names=lxd_cpu_seconds_total,lxd_memory_RSS_bytes
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()] or names
    return lxdapi_host.metrics(boundary.connect(connection), names=names)


@boundary.errors
def warning_list(status=None, type=None, severity=None, recursion=0, **connection):
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

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.warning_list status=new recursion=1
    """
    return lxdapi_warnings.warning_list(
        boundary.connect(connection),
        status=status,
        type=type,
        severity=severity,
        recursion=recursion,
    )


@boundary.errors
def warning_get(uuid, **connection):
    """
    Return a warning (LXD's object), or False when the server has none of that UUID.

    uuid
        The warning's UUID.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.warning_get 0c10b517-b0c9-441f-b531-db8af1d22995
    """
    return lxdapi_warnings.warning_get(boundary.connect(connection), uuid)


@boundary.errors
def warning_acknowledge(uuid, **connection):
    """
    Acknowledge a warning; True when it was new, False when it was acknowledged already
    or is resolved (nothing sent). A missing warning is an error.

    uuid
        The warning's UUID.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.warning_acknowledge 0c10b517-b0c9-441f-b531-db8af1d22995
    """
    return lxdapi_warnings.warning_acknowledge(boundary.connect(connection), uuid)


@boundary.errors
def warning_delete(uuid, **connection):
    """
    Delete a warning; True, or False when the server has none of that UUID. The server
    records it again, under another UUID, when it sees the problem again.

    uuid
        The warning's UUID.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.warning_delete 0c10b517-b0c9-441f-b531-db8af1d22995
    """
    return lxdapi_warnings.warning_delete(boundary.connect(connection), uuid)
