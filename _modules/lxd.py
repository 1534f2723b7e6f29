"""Execution module ``lxd``: the functions of Salt 3007's ``lxd`` module (removed in Salt
3008) that make sense over the REST API, with their old signatures, as thin adapters over
lxdapi's execution module: ``salt '*' lxd.container_list`` keeps working.

This file: the server, containers and their snapshots; ``_modules/lxd_profiles_images.py``
holds the profile and image functions (the same virtual name ``lxd``). The old value
forms and result shapes are read and made by ``_utils/compat.py``.

Results have the old shapes: a container, profile, image or snapshot is the dict the old
module made of its pylxd object (the same keys), and a missing one is a
``SaltInvocationError`` saying it was not found. Where the old module's behaviour was a
bug (a stop that was a kill) these do what its documentation promised; the docs'
migration page lists every difference. Loads by default on Salt 3008 and later; on 3006
and 3007 only with ``lxdapi: {replace_builtin_lxd: True}`` in the minion config.
"""

import datetime
import os

import salt.version
from salt.exceptions import SaltInvocationError

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_compat_salt3007 as compat
import lxdapi_files

__virtualname__ = "lxd"


def __virtual__():
    version = salt.version.__saltstack_version__.info
    return compat.virtual(__virtualname__, version, __salt__)


def _instance(name, conn):
    """The instance's document; SaltInvocationError "not found", as the old module said."""
    found = __salt__["lxdapi.container_get"](name, **conn)
    if not found:
        raise SaltInvocationError(f"Container '{name}' not found")
    return found


def _on_instance(name, connection, call=None, *args, after=None, check=None, **kwargs):
    """What the old module's container functions share: connect as the old
    ``connection`` (``(remote_addr, cert, key, verify_cert)``) says, check that container
    ``name`` exists (else SaltInvocationError "Container 'name' not found", as the old
    module said), then call ``lxdapi.<call>(name, *args, **kwargs)``.

    Returns what that call returned; with ``after`` (a container's name), that container
    read afterwards, as the old module's dict (what its actions returned); with no
    ``call``, the container's document. ``check(document)``, when given, runs on the
    container as read, before the call (it raises to refuse it, as the old module did)."""
    conn = compat.adapter_connection(*connection)
    found = _instance(name, conn)
    if check is not None:
        check(found)
    if call is None:
        return found
    result = __salt__["lxdapi." + call](name, *args, **kwargs, **conn)
    if after is None:
        return result
    return compat.old_model(_instance(after, conn), compat.INSTANCE_KEYS)


def _octal(mode):
    """A file mode given as the old module took it (``600`` from the command line means
    ``0600``; ``"0640"``; ``"0o640"``) as an int."""
    text = str(mode).strip().lower()
    text = text[2:] if text.startswith("0o") else text
    if isinstance(mode, bool) or not text or set(text) - set("01234567"):
        raise SaltInvocationError(f"mode must be octal digits such as 0644, not {mode!r}")
    return int(text, 8)


def _local_source(src, saltenv):
    """The old ``src`` of a file to put: ``~`` expanded, a ``salt://`` (or other) URL
    fetched from the fileserver in ``saltenv``, a trailing ``/`` dropped."""
    src = os.path.expanduser(str(src))
    if not os.path.isabs(src) and "://" in src:
        cached = __salt__["cp.cache_file"](src, saltenv=saltenv)
        if not cached:
            raise SaltInvocationError(f"File '{src}' not found")
        src = cached
    src = src.rstrip(os.path.sep) or os.path.sep
    if not os.path.exists(src):
        raise SaltInvocationError(f"No such file or directory '{src}'")
    return src


def _remote_type(name, path, conn):
    """The type (``file``, ``directory``...) of ``path`` in container ``name``, or None:
    from the headers of a streamed read, closed before its body is read."""
    found = lxdapi_files.instance_file_open(boundary.connect(dict(conn)), name, path)
    if found is None:
        return None
    result, info = found
    result.response.close()
    return info["type"]


def _put_one(name, src, dst, mode, uid, gid, conn):
    """Put the local file ``src`` at ``dst`` in the container (written only when it
    differs). As in the old module, once any of ``mode``, ``uid`` and ``gid`` is given,
    the others are the local file's."""
    if mode is not None or uid is not None or gid is not None:
        stat = os.stat(src)
        mode = f"{stat.st_mode & 0o777:o}" if mode is None else mode
        uid = stat.st_uid if uid is None else uid
        gid = stat.st_gid if gid is None else gid
    __salt__["lxdapi.container_file_put"](
        name, dst, source=src, mode=mode, uid=uid, gid=gid, **conn
    )


#: The architectures the old ``container_create`` took (it sent LXD their numbers).
OLD_ARCHITECTURES = (
    "unknown",
    "i686",
    "x86_64",
    "armv7l",
    "aarch64",
    "ppc",
    "ppc64",
    "ppc64le",
    "s390x",
)


@boundary.errors
def version():
    """
    The LXD server's version (the old module ran ``lxd --version`` on the minion).


    (No arguments: the minion's configured server.)

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.version
    """
    return __salt__["lxdapi.info"]()["version"]


@boundary.errors
def init(
    storage_backend="dir",
    trust_password=None,
    network_address=None,
    network_port=None,
    storage_create_device=None,
    storage_create_loop=None,
    storage_pool=None,
):
    """
    Bring the minion's server to what ``lxd init --auto`` made of these answers (the old
    module ran that command): the storage pool, a root disk on it in the ``default``
    profile when that has none, the HTTPS address and the trust password. Unlike ``lxd
    init``, it reads the server first and changes only what is not so yet (an existing
    pool is kept as it is; no network bridge is made). Returns a text saying what it did,
    as the old one returned the command's output.

    storage_backend
        The pool's driver (default ``dir``); an existing pool of another driver is an
        error.

    trust_password
        The trust password (LXD before 6.1; set once, never shown: a set one is kept).

    network_address
        The address LXD listens on for HTTPS (``core.https_address``); none: unchanged.

    network_port
        Its port (default 8443).

    storage_create_device
        A block device for a new pool (its ``source``).

    storage_create_loop
        The size in GB of a new loop-backed pool (its ``size``).

    storage_pool
        The pool's name (default ``default``).

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.init dir PaSsW0rD [::]
        salt '*' lxd.init
    """
    document = compat.init_document(
        storage_backend,
        trust_password,
        network_address,
        network_port,
        storage_create_device,
        storage_create_loop,
        storage_pool,
    )
    pool = document["storage_pools"][0]["name"]
    found = __salt__["lxdapi.storage_pool_get"](pool)
    if found and found.get("driver") != storage_backend:
        raise SaltInvocationError(
            "storage pool '{}' exists with the driver {}, not {}".format(
                pool, found.get("driver"), storage_backend
            )
        )
    # As lxd init --auto: a root disk on the pool in the default profile, if it has none.
    devices = (__salt__["lxdapi.profile_get"]("default") or {}).get("devices") or {}
    if not any(d.get("type") == "disk" and d.get("path") == "/" for d in devices.values()):
        root = {"type": "disk", "path": "/", "pool": pool}
        document["profiles"] = [{"name": "default", "devices": {"root": root}}]
    changes = __salt__["lxdapi.server_init"](**document)
    done = []
    if "storage_pools" in changes:
        done.append(f"created the storage pool {pool} ({storage_backend})")
    if "profiles" in changes:
        done.append(f"added a root disk on {pool} to the default profile")
    if "server" in changes:
        done.append("set {}".format(", ".join(sorted(changes["server"]["config"]["new"]))))
    if not changes:
        return "LXD is initialized already: nothing to do"
    return "LXD initialized: {}".format("; ".join(done))


@boundary.errors
def config_set(key, value):
    """
    Set one of the LXD server's config keys (one PATCH with If-Match, only when it
    differs); returns the old module's message, a one-item tuple.

    key
        The config key.

    value
        Its value.


    CLI Example:

    .. code-block:: bash

        salt '*' lxd.config_set core.https_address 127.0.0.1:8443
    """
    __salt__["lxdapi.server_config_set"]({key: value})
    return (f'Config value "{key}" successfully set.',)


@boundary.errors
def config_get(key):
    """
    The value of one of the LXD server's config keys (``""`` when unset, as ``lxc config
    get`` printed it for the old module).

    key
        The config key (``core.https_address``...).


    CLI Example:

    .. code-block:: bash

        salt '*' lxd.config_get core.https_address
    """
    value = __salt__["lxdapi.server_config_get"]().get(key)
    return "" if value is None else value


@boundary.errors
def authenticate(remote_addr, password, cert, key, verify_cert=True, token=None):
    """
    Get the client certificate ``cert`` trusted by the LXD at ``remote_addr`` with its
    trust password (or a trust token); True. Nothing is sent when it is trusted already.

    remote_addr
        The server's ``https://`` URL.

    password
        Its trust password (LXD before 6.1); a refused one is an error.

    cert
        The client certificate (a PEM file's path).

    key
        Its private key (a PEM file's path).

    verify_cert
        Check the server's certificate (default True; LXD's own is self-signed).

    token
        A trust token instead of the password (``lxc config trust add``, ``incus config
        trust add``): what Incus and LXD 6.1+ take. Not in the old signature.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.authenticate https://srv01:8443 <yourpass> \
            ~/.config/lxc/client.crt ~/.config/lxc/client.key false
    """
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    done = __salt__["lxdapi.authenticate"](password=password or None, token=token, **conn)
    return done["trusted"]


@boundary.errors
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
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    listed = __salt__["lxdapi.container_list"](recursion=1, **conn)
    if list_names:
        return [c["name"] for c in listed]
    return [compat.old_model(c, compat.INSTANCE_KEYS) for c in listed]


@boundary.errors
def container_create(
    name,
    source,
    profiles=None,
    config=None,
    devices=None,
    architecture="x86_64",
    ephemeral=False,
    wait=True,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    _raw=False,
):
    """
    Create a container (stopped), its devices with it (one request); returns it as the
    old module's dict. An existing name is an error.

    name
        The container's name.

    source
        An image alias (``busybox``), or the old dicts: ``{type: image, alias: ...}``
        (or ``fingerprint``, or ``properties``), ``{type: none}``, ``{type: copy,
        source: NAME}``.

    profiles
        The profiles, in order (default ``[default]``).

    config
        A dict, or a list of ``{key, value}``; None: none.

    devices
        A dict of devices (a device without ``type`` is a ``disk``, as before); None: none.

    architecture
        One of the old names (``x86_64``, ``aarch64``...), checked and not sent: LXD
        gives a new container its host's architecture.

    ephemeral
        Delete the container when it stops (default False).

    wait
        Accepted for the old signature; the call always waits for the container.

    _raw
        Accepted for the old signature (it returned a pylxd object); ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_create web1 busybox config="{boot.autostart: 1}"
    """
    if profiles is None:
        profiles = ["default"]
    if not isinstance(profiles, (list, tuple, set)):
        raise SaltInvocationError("'profiles' must be formatted as list/tuple/set.")
    if architecture not in OLD_ARCHITECTURES:
        raise SaltInvocationError(
            f"Unknown architecture '{architecture}' given for the container '{name}'"
        )
    if devices is not None and not isinstance(devices, dict):
        raise SaltInvocationError("devices must be a mapping of names to devices")
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    made = __salt__["lxdapi.container_create"](
        name,
        source=compat.old_source(source),
        config=compat.config_mapping(config),
        devices={
            dev: compat.old_device((values or {}).get("type", "disk"), values)
            for dev, values in (devices or {}).items()
        },
        profiles=list(profiles),
        ephemeral=compat.old_flag(ephemeral, "ephemeral"),
        **conn,
    )
    return compat.old_model(made, compat.INSTANCE_KEYS)


@boundary.errors
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
    connection = (remote_addr, cert, key, verify_cert)
    if name is None:
        listed = __salt__["lxdapi.container_list"](
            recursion=1, **compat.adapter_connection(*connection)
        )
    else:
        listed = [_on_instance(name, connection)]
    return [{c["name"]: compat.old_model(c, compat.INSTANCE_KEYS)} for c in listed]


@boundary.errors
def container_migrate(
    name,
    stop_and_start=False,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    src_remote_addr=None,
    src_cert=None,
    src_key=None,
    src_verify_cert=None,
):
    """
    Move a container from the server at ``src_remote_addr`` to the one at
    ``remote_addr`` (on :func:`lxdapi.container_migrate`): the destination pulls it over
    HTTPS, with its snapshots, and the source's copy is deleted once the destination
    holds it. Returns the container on the destination, as the old module did. Nothing
    is sent when the destination has it already.

    name
        The container's name.

    stop_and_start
        Stop a running container cleanly first and start it on the destination (default
        False: a running container is refused, as a live move needs CRIU).

    remote_addr, cert, key, verify_cert
        The destination: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks its certificate.

    src_remote_addr
        The source (it must listen on HTTPS for the destination to pull from it).

    src_cert, src_key, src_verify_cert
        The source's client certificate, key and verification (default: ``cert``,
        ``key``, ``verify_cert``).

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_migrate web1 stop_and_start=True \
            remote_addr=https://srv02:8443 cert=/etc/salt/lxd.crt key=/etc/salt/lxd.key \
            verify_cert=False src_remote_addr=https://srv01:8443
    """
    source = (
        src_remote_addr,
        cert if src_cert is None else src_cert,
        key if src_key is None else src_key,
        verify_cert if src_verify_cert is None else src_verify_cert,
    )
    destination = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    held = __salt__["lxdapi.container_get"](name, **destination)
    if not held:
        _on_instance(
            name, source, "container_migrate", to=destination, stop_and_start=stop_and_start
        )
        held = _instance(name, destination)
    return compat.old_model(held, compat.INSTANCE_KEYS)


@boundary.errors
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
    _on_instance(name, (remote_addr, cert, key, verify_cert), "container_delete")
    return True


@boundary.errors
def container_rename(name, newname, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Rename a stopped container; returns it under its new name. A running one is refused
    before anything is sent, as the old module did.

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

    def stopped(found):
        if found.get("status") == "Running":
            raise SaltInvocationError(f"Can't rename the running container '{name}'.")

    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_rename", newname, after=newname, check=stopped)


@boundary.errors
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
    connection = (remote_addr, cert, key, verify_cert)
    if name is not None:
        return [{name: _on_instance(name, connection, "container_state")}]
    conn = compat.adapter_connection(*connection)
    names = [c["name"] for c in __salt__["lxdapi.container_list"](recursion=1, **conn)]
    return [{n: __salt__["lxdapi.container_state"](n, **conn)} for n in names]


@boundary.errors
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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_start", after=name)


@boundary.errors
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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(
        name, connection, "container_stop", force=force, timeout=timeout, after=name
    )


@boundary.errors
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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_restart", after=name)


@boundary.errors
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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_freeze", after=name)


@boundary.errors
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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_unfreeze", after=name)


@boundary.errors
def container_config_get(name, config_key, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    One config key of a container (SaltInvocationError "'KEY' doesn't exists" when it is
    unset, as the old module said).

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
    found = _on_instance(name, (remote_addr, cert, key, verify_cert))
    return compat.old_item(found.get("config"), config_key)


@boundary.errors
def container_config_set(
    name, config_key, config_value, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Set one config key of a container (one PATCH with If-Match, only when it differs);
    returns the container, as the old module did.

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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(
        name, connection, "container_config_set", key=config_key, value=config_value, after=name
    )


@boundary.errors
def container_config_delete(
    name, config_key, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Unset one config key of a container; True. SaltInvocationError "'KEY' doesn't exists"
    when it is not set, as the old module said.

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
    connection = (remote_addr, cert, key, verify_cert)
    _on_instance(
        name,
        connection,
        "container_config_unset",
        config_key,
        check=lambda found: compat.old_item(found.get("config"), config_key),
    )
    return True


@boundary.errors
def container_device_get(
    name, device_name, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    One of a container's own devices, as a dict (SaltInvocationError "'NAME' doesn't
    exists", the old words, when it has none of that name).

    name
        The container's name.

    device_name
        The device's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_device_get web1 eth1
    """
    found = _on_instance(name, (remote_addr, cert, key, verify_cert))
    return compat.old_item(found.get("devices"), device_name)


@boundary.errors
def container_device_add(
    name,
    device_name,
    device_type="disk",
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    **kwargs,
):
    """
    Add (or replace) one of a container's devices; returns the container, as the old
    module did. Nothing is written when the device is so already.

    name
        The container's name.

    device_name
        The device's name.

    device_type
        Its type (default ``disk``: which needs ``path``, and ``source`` unless the path
        is ``/``).

    kwargs
        The device's other keys (``path=/srv source=/srv/web``, ``nictype=bridged``...).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_device_add web1 data disk path=/srv source=/srv/web
    """
    device = compat.old_device(device_type, kwargs)
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_device_set", device_name, device, after=name)


@boundary.errors
def container_device_delete(
    name, device_name, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Remove one of a container's own devices; True (SaltInvocationError "'NAME' doesn't
    exists", the old words, when it has none of that name).

    name
        The container's name.

    device_name
        The device's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_device_delete web1 data
    """
    connection = (remote_addr, cert, key, verify_cert)
    _on_instance(
        name,
        connection,
        "container_device_unset",
        device_name,
        check=lambda found: compat.old_item(found.get("devices"), device_name),
    )
    return True


@boundary.errors
def container_file_put(
    name,
    src,
    dst,
    recursive=False,
    overwrite=False,
    mode=None,
    uid=None,
    gid=None,
    saltenv="base",
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
):
    """
    Put a local file (or, with ``recursive``, a folder) into a container, as ``cp`` would;
    True. A file is written only when its content, mode or owner differ.

    name
        The container's name.

    src
        The local file or folder (``~`` is expanded), or a ``salt://`` URL of a file.

    dst
        Where in the container: a path, or an existing folder to put ``src`` into. A
        folder ``src`` goes into ``dst`` when that ends with ``/``, else its content goes
        to ``dst`` (made when it does not exist).

    recursive
        Copy a folder (default False: a folder ``src`` is refused).

    overwrite
        As in the old module: needed to put a file into an existing folder that has one
        of that name, and to copy a folder into an existing one (default False).

    mode
        The files' mode (``0644``; ``644`` from the command line means the same).

    uid
        The files' owner (a number).

    gid
        Their group (a number). Once one of ``mode``, ``uid``, ``gid`` is given, the
        others are the local file's; none given: LXD's (0644, root) for a new file.

    saltenv
        The fileserver environment of a ``salt://`` ``src`` (default ``base``).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_file_put web1 /var/tmp/foo /var/tmp/
    """
    connection = (remote_addr, cert, key, verify_cert)
    _on_instance(name, connection)
    conn = compat.adapter_connection(*connection)
    src = _local_source(src, saltenv)
    if os.path.isdir(src) and not recursive:
        raise SaltInvocationError(
            "Cannot copy overwriting a directory without recursive flag set to true!"
        )
    dst_is_directory = _remote_type(name, dst, conn) == "directory"
    if os.path.isfile(src):
        if dst_is_directory:
            dst = os.path.join(dst, os.path.basename(src))
            if not overwrite and _remote_type(name, dst, conn):
                raise SaltInvocationError("Destination exists and overwrite is false")
        _put_one(name, src, dst, mode, uid, gid, conn)
        return True
    if not os.path.isdir(src):
        raise SaltInvocationError("Source is neither file nor directory")
    if dst.endswith("/"):
        start = len(os.path.dirname(src))  # the folder itself goes into dst
    elif dst_is_directory:
        start = len(src)  # its content goes into dst
    else:
        if _remote_type(name, os.path.dirname(dst) or "/", conn) != "directory":
            raise SaltInvocationError("Parent directory for destination doesn't exist.")
        start, overwrite = len(src), True  # dst is made as a copy of src
    if not overwrite:
        raise SaltInvocationError("Destination exists and overwrite is false")
    for path, _, files in os.walk(src):
        folder = os.path.normpath(os.path.join(dst, path[start:].lstrip(os.path.sep)))
        __salt__["lxdapi.container_mkdir"](name, folder, makedirs=True, **conn)
        for filename in files:
            _put_one(
                name,
                os.path.join(path, filename),
                os.path.join(folder, filename),
                mode,
                uid,
                gid,
                conn,
            )
    return True


@boundary.errors
def container_file_get(
    name,
    src,
    dst,
    overwrite=False,
    mode=None,
    uid=None,
    gid=None,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
):
    """
    Copy a file out of a container to a local path; True.

    name
        The container's name.

    src
        The file in the container.

    dst
        The local path (absolute; ``~`` is expanded), or an existing local folder to
        put the file into.

    overwrite
        Replace an existing local file (default False: an error, as before).

    mode
        The local file's mode (``0644``; ``644`` from the command line means the same).

    uid
        The local file's owner (a number).

    gid
        Its group (a number).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_file_get web1 /etc/hostname /tmp/web1-hostname
    """
    connection = (remote_addr, cert, key, verify_cert)
    _on_instance(name, connection)
    dst = os.path.expanduser(str(dst))
    if not os.path.isabs(dst):
        raise SaltInvocationError("File path must be absolute.")
    if os.path.isdir(dst):
        dst = os.path.join(dst, os.path.basename(src))
    elif not os.path.isdir(os.path.dirname(dst)):
        raise SaltInvocationError("Parent directory for destination doesn't exist.")
    if os.path.exists(dst):
        if not overwrite:
            raise SaltInvocationError("Destination exists and overwrite is false.")
        if not os.path.isfile(dst):
            raise SaltInvocationError("Destination exists but is not a file.")
    mode = None if mode is None else _octal(mode)
    found = __salt__["lxdapi.container_file_get"](
        name, src, dest=dst, **compat.adapter_connection(*connection)
    )
    if not found:
        raise SaltInvocationError(f"File '{src}' not found in container '{name}'")
    if found["type"] == "directory":
        raise SaltInvocationError(f"'{src}' in container '{name}' is a directory")
    if mode is not None:
        os.chmod(dst, mode)
    if uid is not None or gid is not None:
        os.chown(dst, -1 if uid is None else int(uid), -1 if gid is None else int(gid))
    return True


@boundary.errors
def container_execute(name, cmd, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Run a command in a running container (no shell); returns ``{exit_code, stdout,
    stderr, result}`` as the old module did (``result``: the exit code was not above 0).

    name
        The container's name.

    cmd
        The command as a list (``'["ls", "-l"]'``); for shell syntax ``'["sh", "-c",
        "..."]'``.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.container_execute web1 '["ls", "-l"]'
    """
    ran = _on_instance(name, (remote_addr, cert, key, verify_cert), "container_exec", cmd)
    return {
        "exit_code": ran["retcode"],
        "stdout": ran["stdout"],
        "stderr": ran["stderr"],
        "result": not int(ran["retcode"]) > 0,
    }


@boundary.errors
def snapshots_all(container, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The container's snapshots: ``{container: [{"name": ...}]}`` as the old module gave
    them.

    container
        The container's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.snapshots_all web1
    """
    connection = (remote_addr, cert, key, verify_cert)
    return {container: [{"name": n} for n in _on_instance(container, connection, "snapshot_list")]}


@boundary.errors
def snapshots_create(container, name=None, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Take a snapshot, named ``name`` (default: the time, ``%Y%m%d%H%M%S``, as the old
    module named it); returns ``{"name": name}``, as the old module did.

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
    name = name or datetime.datetime.now().strftime("%Y%m%d%H%M%S")
    _on_instance(container, (remote_addr, cert, key, verify_cert), "snapshot_create", snapshot=name)
    return {"name": name}


@boundary.errors
def snapshots_delete(container, name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete a snapshot; True, or False when the container has no such snapshot (as the
    old module answered).

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
    connection = (remote_addr, cert, key, verify_cert)
    if name not in _on_instance(container, connection, "snapshot_list"):
        return False
    __salt__["lxdapi.snapshot_delete"](container, name, **compat.adapter_connection(*connection))
    return True


@boundary.errors
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
    connection = (remote_addr, cert, key, verify_cert)
    for snap in _on_instance(container, connection, "snapshot_list", recursion=1):
        if snap["name"].split("/")[-1] == name:
            return compat.old_model(snap, compat.SNAPSHOT_KEYS)
    raise SaltInvocationError(f"Snapshot '{name}' of container '{container}' not found")
