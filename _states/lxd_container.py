"""State module ``lxd_container``: the names and arguments of Salt 3007's
``lxd_container`` states (removed in Salt 3008), as thin adapters over lxdapi's
``container_*`` states: the same plans, If-Match writes and one-listing no-op runs.

Old value forms are read as the old documentation describes them (``config`` as a dict or
a ``[{key, value}]`` list, ``None`` = unset; ``running: None|True|False``; ``source`` as an
alias or the old dicts; ``remote_addr``/``cert``/``key``/``verify_cert``). Where the old
module had a bug (a write on every run, profiles reordered, changes in test mode given as
strings), these do what its documentation promised: the docs' migration page lists every
difference. Loads by default on Salt 3008 and later; on 3006 and 3007 only with
``lxdapi: {replace_builtin_lxd: True}`` in the minion config.
"""

import salt.version
from salt.exceptions import SaltException

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_compat_salt3007

__virtualname__ = "lxd_container"


def __virtual__():
    version = salt.version.__saltstack_version__.info
    return lxdapi_compat_salt3007.virtual(__virtualname__, version, __salt__)


def present(
    name,
    running=None,
    source=None,
    profiles=None,
    config=None,
    devices=None,
    architecture="x86_64",
    ephemeral=False,
    restart_on_change=False,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
):
    """
    Create the named container if it does not exist, and bring it to what is declared
    (Salt 3007's ``lxd_container.present``, on :func:`lxdapi.container_present`).

    name
        The container's name.

    running
        True: running; False: stopped; None (default): left as it is.

    source
        An image alias (``"busybox"``), or the old dicts: ``{type: image, alias: ...}``,
        ``{type: image, fingerprint: ...}``, ``{type: image, properties: {...}}``,
        ``{type: none}``, ``{type: copy, source: NAME}``.

    profiles
        The profiles, in order (default ``[default]``).

    config
        A dict, or a list of ``{key: ..., value: ...}``; exactly these keys (keys not
        declared are removed; ``volatile.*`` and ``image.*`` are LXD's own). None: none.

    devices
        A dict of devices; exactly these (others are removed). None: none.

    architecture
        Accepted for the old signature; LXD gives a new container its host's.

    ephemeral
        Destroy the container when it stops (default False).

    restart_on_change
        Restart a running container when a changed key applies only at restart.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: yaml

        web01:
          lxd_container.present:
            - running: True
            - source: busybox
            - profiles: [default]
            - config:
              - key: boot.autostart
                value: 1
    """
    try:
        status = lxdapi_compat_salt3007.status_of(running)
        source = lxdapi_compat_salt3007.old_source(source)
        config = lxdapi_compat_salt3007.config_mapping(config)
        devices = lxdapi_compat_salt3007.config_mapping(devices, "devices")
    except ValueError as exc:
        return lxdapi_compat_salt3007.failed(name, exc)
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.container_present"],
        name,
        (remote_addr, cert, key, verify_cert),
        source=source,
        profiles=["default"] if profiles is None else profiles,
        config=config,
        devices=devices,
        purge_config=True,
        purge_devices=True,
        ephemeral=ephemeral,
        restart_on_change=restart_on_change,
        status=status,
    )


def absent(name, stop=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Ensure a container does not exist (Salt 3007's ``lxd_container.absent``, on
    :func:`lxdapi.container_absent`). A running container is stopped cleanly first.

    name
        The container's name.

    stop
        Accepted for the old signature: a running container is always stopped first
        (the old state failed on one without ``stop: True``).

    remote_addr, cert, key, verify_cert
        The old connection settings (see :func:`present`).

    CLI Example:

    .. code-block:: yaml

        web01:
          lxd_container.absent:
            - stop: True
    """
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.container_absent"],
        name,
        (remote_addr, cert, key, verify_cert),
    )


def running(name, restart=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Ensure a container is running; restart it every run with ``restart`` (Salt 3007's
    ``lxd_container.running``, on :func:`lxdapi.container_running`).

    name
        The container's name.

    restart
        Restart it when it already runs (default False).

    remote_addr, cert, key, verify_cert
        The old connection settings (see :func:`present`).

    CLI Example:

    .. code-block:: yaml

        web01:
          lxd_container.running:
            - restart: True
    """
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.container_running"],
        name,
        (remote_addr, cert, key, verify_cert),
        restart=restart,
    )


def frozen(name, start=True, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Ensure a container is frozen; a stopped one is started first when ``start`` (Salt
    3007's ``lxd_container.frozen``, on :func:`lxdapi.container_frozen`).

    name
        The container's name.

    start
        Start a stopped container to freeze it (default True); False: a stopped one is an
        error, as it was.

    remote_addr, cert, key, verify_cert
        The old connection settings (see :func:`present`).

    CLI Example:

    .. code-block:: yaml

        web01:
          lxd_container.frozen
    """
    conn = (remote_addr, cert, key, verify_cert)
    if not start:
        try:
            held = __salt__["lxdapi.container_get"](
                name, **lxdapi_compat_salt3007.connection_settings(*conn)
            )
        except (ValueError, SaltException) as exc:  # bad settings, or what LXD refused
            return lxdapi_compat_salt3007.failed(name, exc)
        if held and held.get("status") == "Stopped":
            return lxdapi_compat_salt3007.failed(
                name, "the container is not running and start is False, cannot freeze it"
            )
    return lxdapi_compat_salt3007.adapted(__states__["lxdapi.container_frozen"], name, conn)


def stopped(name, kill=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Ensure a container is stopped: a clean shutdown, a kill with ``kill`` (Salt 3007's
    ``lxd_container.stopped``, on :func:`lxdapi.container_stopped`).

    name
        The container's name.

    kill
        Kill it instead of a clean shutdown (default False).

    remote_addr, cert, key, verify_cert
        The old connection settings (see :func:`present`).

    CLI Example:

    .. code-block:: yaml

        web01:
          lxd_container.stopped
    """
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.container_stopped"],
        name,
        (remote_addr, cert, key, verify_cert),
        force=kill,
    )


def migrated(
    name,
    remote_addr,
    cert,
    key,
    verify_cert,
    src_remote_addr,
    stop_and_start=False,
    src_cert=None,
    src_key=None,
    src_verify_cert=None,
):
    """
    Ensure a container is on the server at ``remote_addr``, moved there from the one at
    ``src_remote_addr`` (Salt 3007's ``lxd_container.migrated``, on
    :func:`lxdapi.container_migrated`): the destination pulls it over HTTPS, with its
    snapshots, and the source's copy is deleted. A container already on the destination
    is left alone. Both servers must trust this minion's certificate
    (``lxd.authenticate``).

    name
        The container's name.

    remote_addr, cert, key, verify_cert
        The destination: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` checks its certificate.

    src_remote_addr
        The source server: an ``https://`` URL or a socket path (the source must listen
        on HTTPS for the destination to pull from it).

    stop_and_start
        Stop a running container cleanly, move it, start it on the destination (default
        False: a running container is refused, as a live move needs CRIU).

    src_cert, src_key, src_verify_cert
        The source's client certificate, key and verification (default: ``cert``,
        ``key``, ``verify_cert``).

    CLI Example:

    .. code-block:: yaml

        web01:
          lxd_container.migrated:
            - remote_addr: https://srv02:8443
            - cert: /etc/salt/lxd/client.crt
            - key: /etc/salt/lxd/client.key
            - verify_cert: False
            - src_remote_addr: https://srv01:8443
            - stop_and_start: True
    """
    try:
        to = lxdapi_compat_salt3007.connection_settings(remote_addr, cert, key, verify_cert)
    except ValueError as exc:
        return lxdapi_compat_salt3007.failed(name, exc)
    source = (
        src_remote_addr,
        cert if src_cert is None else src_cert,
        key if src_key is None else src_key,
        verify_cert if src_verify_cert is None else src_verify_cert,
    )
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.container_migrated"],
        name,
        source,
        to=to,
        stop_and_start=stop_and_start,
    )
