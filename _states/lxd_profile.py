"""State module ``lxd_profile``: the names and arguments of Salt 3007's ``lxd_profile``
states (removed in Salt 3008), as thin adapters over lxdapi's ``profile_*`` states: the
same plans and If-Match writes.

Old value forms are read as the old documentation describes them (``config`` as a dict or
a ``[{key, value}]`` list, ``None`` = unset; ``remote_addr``/``cert``/``key``/
``verify_cert``). Where the old module had a bug (a write on every run, changes in test
mode given as strings), these do what its documentation promised: the docs' migration
page lists every difference. Loads by default on Salt 3008 and later; on 3006 and 3007
only with ``lxdapi: {replace_builtin_lxd: True}`` in the minion config.
"""

import salt.version

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_compat_salt3007

__virtualname__ = "lxd_profile"


def __virtual__():
    version = salt.version.__saltstack_version__.info
    return lxdapi_compat_salt3007.virtual(__virtualname__, version, __salt__)


def present(
    name,
    description=None,
    config=None,
    devices=None,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
):
    """
    Create or update a profile (Salt 3007's ``lxd_profile.present``, on
    :func:`lxdapi.profile_present`).

    name
        The profile's name.

    description
        Its description; None: left as it is.

    config
        A dict, or a list of ``{key: ..., value: ...}``; exactly these keys (others are
        removed). None: none.

    devices
        A dict of devices; exactly these (others are removed). None: none.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: yaml

        autostart:
          lxd_profile.present:
            - description: autostarts containers
            - config:
              - key: boot.autostart
                value: 1
    """
    try:
        config = lxdapi_compat_salt3007.config_mapping(config)
        devices = lxdapi_compat_salt3007.config_mapping(devices, "devices")
    except ValueError as exc:
        return lxdapi_compat_salt3007.failed(name, exc)
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.profile_present"],
        name,
        (remote_addr, cert, key, verify_cert),
        description=description,
        config=config,
        devices=devices,
        purge_config=True,
        purge_devices=True,
    )


def absent(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Ensure a profile does not exist (Salt 3007's ``lxd_profile.absent``, on
    :func:`lxdapi.profile_absent`; refused while instances use it).

    name
        The profile's name.

    remote_addr, cert, key, verify_cert
        The old connection settings (see :func:`present`).

    CLI Example:

    .. code-block:: yaml

        autostart:
          lxd_profile.absent
    """
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.profile_absent"],
        name,
        (remote_addr, cert, key, verify_cert),
    )
