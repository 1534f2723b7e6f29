"""State module ``lxd``: the names and arguments of Salt 3007's ``lxd`` states (removed
in Salt 3008: ``init``, ``config_managed``, ``authenticate``), as thin adapters over
lxdapi's server config, storage pool and trust functions. Idempotent by what the server
holds: ``init``'s ``done_file`` is accepted and not needed.

The docs' migration page lists every difference. Loads by default on Salt 3008 and
later; on 3006 and 3007 only with ``lxdapi: {replace_builtin_lxd: True}``.
"""

import salt.version

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_compat_salt3007

__virtualname__ = "lxd"


def __virtual__():
    version = salt.version.__saltstack_version__.info
    return lxdapi_compat_salt3007.virtual(__virtualname__, version, __salt__)


def init(
    name,
    storage_backend="dir",
    trust_password=None,
    network_address=None,
    network_port=None,
    storage_create_device=None,
    storage_create_loop=None,
    storage_pool=None,
    done_file=None,
):
    """
    Bring a fresh daemon to what ``lxd init`` would make of these answers (Salt 3007's
    ``lxd.init``): a storage pool, the HTTPS address, the trust password; on
    :func:`lxdapi.server_initialized` (one plan).
    Unlike the old state, it reads the server rather than a done file, so it converges
    on every run and changes nothing once the server is as declared.

    name
        The state's ID.

    storage_backend
        The pool's driver (default ``dir``).

    trust_password
        The trust password (LXD before 6.1; set once, never shown).

    network_address, network_port
        Where LXD listens for HTTPS (``core.https_address``; port default 8443).

    storage_create_device
        A block device for the pool (its ``source``).

    storage_create_loop
        The size in GB of a loop-backed pool.

    storage_pool
        The pool's name (default ``default``).

    done_file
        Accepted for the old signature; not used.

    CLI Example:

    .. code-block:: yaml

        lxd:
          lxd.init:
            - storage_backend: dir
            - network_address: 127.0.0.1
            - network_port: 8443
    """
    document = lxdapi_compat_salt3007.init_document(
        storage_backend,
        trust_password,
        network_address,
        network_port,
        storage_create_device,
        storage_create_loop,
        storage_pool,
    )
    return __states__["lxdapi.server_initialized"](name=name, **document)


def config_managed(name, value, force_password=False):
    """
    Ensure a server config key has ``value`` (Salt 3007's ``lxd.config_managed``, on
    :func:`lxdapi.server_config_present`). A write-only key (``core.trust_password``) is
    set once, and again on every run only with ``force_password``.

    name
        The config key (``core.https_address``...).

    value
        Its value.

    force_password
        Write a write-only key even when one is set (default False).

    CLI Example:

    .. code-block:: yaml

        core.https_address:
          lxd.config_managed:
            - value: 127.0.0.1:8443
    """
    return __states__["lxdapi.server_config_present"](
        name=name, config={name: value}, force_secrets=force_password
    )


def authenticate(name, remote_addr, password, cert, key, verify_cert=True):
    """
    Ensure this minion's client certificate is trusted by the remote LXD at
    ``remote_addr`` (Salt 3007's ``lxd.authenticate``, on
    :func:`lxdapi.remote_trusted`): nothing is sent when it is already trusted.

    name
        The state's ID.

    remote_addr
        The remote's ``https://`` URL.

    password
        Its trust password.

    cert, key
        The client certificate and key (paths).

    verify_cert
        Check the server's certificate (default True).

    CLI Example:

    .. code-block:: yaml

        remote-lxd:
          lxd.authenticate:
            - remote_addr: https://lxd.example.net:8443
            - password: {{ pillar['lxd_password'] }}
            - cert: /etc/salt/lxd/client.crt
            - key: /etc/salt/lxd/client.key
    """
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.remote_trusted"],
        name,
        (remote_addr, cert, key, verify_cert),
        password=password,
    )
