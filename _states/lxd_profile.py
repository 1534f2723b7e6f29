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

import os
import sys

import salt.version

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
    import lxdapi_compat_salt3007
except ImportError as exc:  # the core not synced, or a library it needs missing
    lxdapi_compat_salt3007 = None
    IMPORT_ERROR = f"lxd_profile: cannot import lxdapi's core: {exc}"
else:
    IMPORT_ERROR = None

__virtualname__ = "lxd_profile"


def __virtual__():
    if IMPORT_ERROR:
        return (False, IMPORT_ERROR)
    return lxdapi_compat_salt3007.virtual(
        __virtualname__, salt.version.__saltstack_version__.info, __salt__
    )


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
