"""Execution module ``lxd``: the functions of Salt 3007's ``lxd`` module (removed in Salt
3008) that make sense over the REST API, with their old signatures, as thin adapters over
lxdapi's execution module: ``salt '*' lxd.container_list`` keeps working.

Results have the old shapes: a container, profile, image or snapshot is the dict the old
module made of its pylxd object (the same keys), and a missing one is a
``SaltInvocationError`` saying it was not found. Where the old module's behaviour was a
bug (a stop that was a kill) these do what its documentation promised; the docs'
migration page lists every difference. Loads by default on Salt 3008 and later; on 3006
and 3007 only with ``lxdapi: {replace_builtin_lxd: True}`` in the minion config.
"""

import functools
import os
import sys

import salt.version
from salt.exceptions import SaltInvocationError

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
    import lxdapi_compat
except ImportError as exc:  # the core not synced, or a library it needs missing
    lxdapi_compat = None
    IMPORT_ERROR = "lxd: cannot import lxdapi's core: {}".format(exc)
else:
    IMPORT_ERROR = None

__virtualname__ = "lxd"

#: The keys of the old module's dicts (its pylxd objects' attributes).
INSTANCE_KEYS = (
    "architecture",
    "config",
    "created_at",
    "description",
    "devices",
    "ephemeral",
    "expanded_config",
    "expanded_devices",
    "last_used_at",
    "location",
    "name",
    "profiles",
    "project",
    "stateful",
    "status",
    "status_code",
    "type",
)
PROFILE_KEYS = ("config", "description", "devices", "name", "project", "used_by")
IMAGE_KEYS = (
    "aliases",
    "architecture",
    "auto_update",
    "cached",
    "created_at",
    "expires_at",
    "filename",
    "fingerprint",
    "last_used_at",
    "profiles",
    "project",
    "properties",
    "public",
    "size",
    "type",
    "update_source",
    "uploaded_at",
)
SNAPSHOT_KEYS = ("created_at", "name", "stateful")


def __virtual__():
    if IMPORT_ERROR:
        return (False, IMPORT_ERROR)
    if "lxdapi.request" not in __salt__:
        return (False, "lxd: the lxdapi execution module did not load")
    ok, why = lxdapi_compat.loads_instead_of_builtin(
        salt.version.__saltstack_version__.info,
        __salt__["config.get"]("lxdapi:" + lxdapi_compat.REPLACE_OPTION, False),
        __virtualname__,
    )
    return __virtualname__ if ok else (False, why)


def _old_errors(func):
    """Bad old values (a config list without key/value...) as SaltInvocationError."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ValueError as exc:
            raise SaltInvocationError(str(exc)) from None

    return wrapper


def _conn(remote_addr, cert, key, verify_cert):
    return lxdapi_compat.connection_settings(remote_addr, cert, key, verify_cert)


def _model(meta, keys):
    """The dict the old module made of a pylxd object: its attributes the server sent
    (pylxd shows a server that is not clustered as ``location: None``, not ``none``)."""
    model = {key: meta[key] for key in keys if key in (meta or {})}
    if model.get("location") == "none":
        model["location"] = None
    return model


def _instance(name, conn):
    """The instance's document; SaltInvocationError "not found", as the old module said."""
    found = __salt__["lxdapi.container_get"](name, **conn)
    if not found:
        raise SaltInvocationError("Container '{}' not found".format(name))
    return found


@_old_errors
def version():
    """
    The LXD server's version (the old module ran ``lxd --version`` on the minion).


    (No arguments: the minion's configured server.)

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.version
    """
    return __salt__["lxdapi.info"]()["version"]


@_old_errors
def config_get(key):
    """
    The value of one of the LXD server's config keys (None when unset).

    key
        The config key (``core.https_address``...).


    CLI Example:

    .. code-block:: bash

        salt '*' lxd.config_get core.https_address
    """
    return __salt__["lxdapi.server_config_get"]().get(key)


@_old_errors
def config_set(key, value):
    """
    Set one of the LXD server's config keys; returns the changes made (empty: it was so).

    key
        The config key.

    value
        Its value.


    CLI Example:

    .. code-block:: bash

        salt '*' lxd.config_set core.https_address 127.0.0.1:8443
    """
    return __salt__["lxdapi.server_config_set"]({key: value})


@_old_errors
def container_list(list_names=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The containers: a list of dicts as the old module gave them, or of names.

    list_names
        Only the names (default False).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_list list_names=True
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    listed = __salt__["lxdapi.container_list"](recursion=1, **conn)
    if list_names:
        return [c["name"] for c in listed]
    return [_model(c, INSTANCE_KEYS) for c in listed]


@_old_errors
def container_get(name=None, remote_addr=None, cert=None, key=None, verify_cert=True, _raw=False):
    """
    A container (or all): a list of ``{name: dict}`` as the old module gave it.

    name
        The container's name; None: all of them.

    _raw
        Accepted for the old signature (it returned a pylxd object); ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_get web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    if name is None:
        listed = __salt__["lxdapi.container_list"](recursion=1, **conn)
    else:
        listed = [_instance(name, conn)]
    return [{c["name"]: _model(c, INSTANCE_KEYS)} for c in listed]


@_old_errors
def container_state(name=None, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The state of a container (or all): a list of ``{name: state}`` (status, network, memory...).

    name
        The container's name; None: all of them.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_state web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    names = (
        [c["name"] for c in __salt__["lxdapi.container_list"](recursion=1, **conn)]
        if name is None
        else [_instance(name, conn)["name"]]
    )
    return [{n: __salt__["lxdapi.container_state"](n, **conn)} for n in names]


@_old_errors
def container_start(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Start a container; returns the container, as the old module did.

    name
        The container's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_start web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_start"](name, **conn)
    return _model(_instance(name, conn), INSTANCE_KEYS)


@_old_errors
def container_restart(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Restart a running container (a clean restart); returns the container, as the old module did.

    name
        The container's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_restart web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_restart"](name, **conn)
    return _model(_instance(name, conn), INSTANCE_KEYS)


@_old_errors
def container_freeze(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Freeze a running container; returns the container, as the old module did.

    name
        The container's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_freeze web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_freeze"](name, **conn)
    return _model(_instance(name, conn), INSTANCE_KEYS)


@_old_errors
def container_unfreeze(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Unfreeze a frozen container; returns the container, as the old module did.

    name
        The container's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_unfreeze web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_unfreeze"](name, **conn)
    return _model(_instance(name, conn), INSTANCE_KEYS)


@_old_errors
def container_stop(
    name, timeout=30, force=False, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Stop a container: a clean shutdown, a kill with ``force`` (the old default was a
    kill); returns the container.

    name
        The container's name.

    timeout
        Seconds the clean shutdown may take (default 30).

    force
        Kill it instead (default False).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_stop web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_stop"](name, force=force, timeout=timeout, **conn)
    return _model(_instance(name, conn), INSTANCE_KEYS)


@_old_errors
def container_delete(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete a container (a running one is stopped cleanly first); True.

    name
        The container's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_delete web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_delete"](name, **conn)
    return True


@_old_errors
def container_rename(name, newname, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Rename a stopped container; returns it under its new name.

    name
        The container's name.

    newname
        Its new name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_rename web1 web2
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_rename"](name, newname, **conn)
    return _model(_instance(newname, conn), INSTANCE_KEYS)


@_old_errors
def container_config_get(name, config_key, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    One config key of a container (None when unset).

    name
        The container's name.

    config_key
        The key.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_config_get web1 boot.autostart
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    return __salt__["lxdapi.container_config_get"](name, key=config_key, **conn)


@_old_errors
def container_config_set(
    name, config_key, config_value, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Set one config key of a container (one PATCH with If-Match, only when it differs); True.

    name
        The container's name.

    config_key
        The key.

    config_value
        Its value.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_config_set web1 boot.autostart 1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_config_set"](name, key=config_key, value=config_value, **conn)
    return True


@_old_errors
def container_config_delete(
    name, config_key, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Unset one config key of a container; True.

    name
        The container's name.

    config_key
        The key.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_config_delete web1 boot.autostart
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(name, conn)
    __salt__["lxdapi.container_config_unset"](name, config_key, **conn)
    return True


@_old_errors
def profile_list(list_names=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The profiles: a list of dicts as the old module gave them, or of names.

    list_names
        Only the names (default False).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_list list_names=True
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    listed = __salt__["lxdapi.profile_list"](recursion=True, **conn)
    if list_names:
        return [p["name"] for p in listed]
    return [_model(p, PROFILE_KEYS) for p in listed]


@_old_errors
def profile_get(name, remote_addr=None, cert=None, key=None, verify_cert=True, _raw=False):
    """
    A profile, as a dict (SaltInvocationError when it does not exist, as before).

    name
        The profile's name.

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_get default
    """
    profile = __salt__["lxdapi.profile_get"](name, **_conn(remote_addr, cert, key, verify_cert))
    if not profile:
        raise SaltInvocationError("Profile '{}' not found".format(name))
    return _model(profile, PROFILE_KEYS)


@_old_errors
def profile_create(
    name,
    config=None,
    devices=None,
    description=None,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
):
    """
    Create a profile; returns it.

    name
        The profile's name.

    config
        A dict, or a list of ``{key, value}``.

    devices
        A dict of devices.

    description
        Its description.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_create autostart config="{boot.autostart: 1}"
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    __salt__["lxdapi.profile_create"](
        name,
        config=lxdapi_compat.config_mapping(config),
        devices=devices or {},
        description=description,
        **conn,
    )
    return profile_get(name, remote_addr, cert, key, verify_cert)


@_old_errors
def profile_delete(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete a profile (refused while instances use it); True.

    name
        The profile's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_delete autostart
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    profile_get(name, remote_addr, cert, key, verify_cert)
    __salt__["lxdapi.profile_delete"](name, **conn)
    return True


@_old_errors
def image_list(list_aliases=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The images: a list of dicts as the old module gave them, or of their aliases (the
    first alias of each, else its fingerprint).

    list_aliases
        Only the aliases (default False).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_list list_aliases=True
    """
    listed = __salt__["lxdapi.image_list"](
        recursion=1, **_conn(remote_addr, cert, key, verify_cert)
    )
    if list_aliases:
        return [
            (image.get("aliases") or [{}])[0].get("name") or image["fingerprint"]
            for image in listed
        ]
    return [_model(image, IMAGE_KEYS) for image in listed]


@_old_errors
def image_get(fingerprint, remote_addr=None, cert=None, key=None, verify_cert=True, _raw=False):
    """
    An image by fingerprint, as a dict (SaltInvocationError when there is none, as before).

    fingerprint
        The image's fingerprint (or a unique prefix).

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_get 8a9b...
    """
    image = __salt__["lxdapi.image_get"](fingerprint, **_conn(remote_addr, cert, key, verify_cert))
    if not image:
        raise SaltInvocationError("Image with fingerprint '{}' not found".format(fingerprint))
    return _model(image, IMAGE_KEYS)


@_old_errors
def image_get_by_alias(alias, remote_addr=None, cert=None, key=None, verify_cert=True, _raw=False):
    """
    An image by alias, as a dict (SaltInvocationError when there is none, as before).

    alias
        The image's alias.

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_get_by_alias busybox
    """
    image = __salt__["lxdapi.image_get"](alias, **_conn(remote_addr, cert, key, verify_cert))
    if not image:
        raise SaltInvocationError("Image with alias '{}' not found".format(alias))
    return _model(image, IMAGE_KEYS)


@_old_errors
def image_delete(image, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete an image by alias or fingerprint; True.

    image
        The image's alias or fingerprint.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_delete busybox
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    if not __salt__["lxdapi.image_get"](image, **conn):
        raise SaltInvocationError("Image '{}' not found".format(image))
    __salt__["lxdapi.image_delete"](image, **conn)
    return True


@_old_errors
def snapshots_all(container, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The container's snapshots: ``{container: [dicts]}`` as the old module gave them.

    container
        The container's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.snapshots_all web1
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(container, conn)
    listed = __salt__["lxdapi.snapshot_list"](container, recursion=1, **conn)
    return {container: [_model(s, SNAPSHOT_KEYS) for s in listed]}


@_old_errors
def snapshots_create(container, name=None, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Take a snapshot (named ``name``, or the server's next ``snapN``); returns the
    container's snapshots.

    container
        The container's name.

    name
        The snapshot's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.snapshots_create web1 before-upgrade
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _instance(container, conn)
    __salt__["lxdapi.snapshot_create"](container, snapshot=name, **conn)
    return snapshots_all(container, remote_addr, cert, key, verify_cert)


@_old_errors
def snapshots_delete(container, name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete a snapshot; True.

    container
        The container's name.

    name
        The snapshot's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.snapshots_delete web1 before-upgrade
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    snapshots_get(container, name, remote_addr, cert, key, verify_cert)
    __salt__["lxdapi.snapshot_delete"](container, name, **conn)
    return True


@_old_errors
def snapshots_get(container, name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    One snapshot, as a dict (SaltInvocationError when there is none).

    container
        The container's name.

    name
        The snapshot's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.snapshots_get web1 before-upgrade
    """
    for snap in snapshots_all(container, remote_addr, cert, key, verify_cert)[container]:
        if snap["name"].split("/")[-1] == name:
            return snap
    raise SaltInvocationError("Snapshot '{}' of container '{}' not found".format(name, container))
