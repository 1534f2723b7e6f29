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

import datetime
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
    import lxdapi_compat_salt3007
except ImportError as exc:  # the core not synced, or a library it needs missing
    lxdapi_compat_salt3007 = None
    IMPORT_ERROR = f"lxd: cannot import lxdapi's core: {exc}"
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
    return lxdapi_compat_salt3007.virtual(
        __virtualname__, salt.version.__saltstack_version__.info, __salt__
    )


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
    """lxdapi's connection arguments for the old ``remote_addr``, ``cert``, ``key`` and
    ``verify_cert``. The client key goes as ``client_key``: some lxdapi functions have a
    ``key`` parameter of their own (a config key)."""
    settings = lxdapi_compat_salt3007.connection_settings(remote_addr, cert, key, verify_cert)
    if "key" in settings:
        settings["client_key"] = settings.pop("key")
    return settings


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
    conn = _conn(*connection)
    found = _instance(name, conn)
    if check is not None:
        check(found)
    if call is None:
        return found
    result = __salt__["lxdapi." + call](name, *args, **kwargs, **conn)
    if after is None:
        return result
    return _model(_instance(after, conn), INSTANCE_KEYS)


def _item(mapping, key):
    """``mapping[key]``; SaltInvocationError in the old module's words when it is not there."""
    if key not in (mapping or {}):
        raise SaltInvocationError(f"'{key}' doesn't exists")
    return mapping[key]


def _value(value, what):
    """A device or config value as LXD stores it (a string; ``True`` -> ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)) or value is None:
        raise SaltInvocationError(f"{what} must be a plain value, not {value!r}")
    return str(value)


def _device(device_type, values):
    """A device as the old module built it: ``values`` (Salt's own ``__pub_*`` keyword
    arguments left out) with ``type``; a ``disk`` needs ``path`` and, unless it is the
    root disk, ``source`` (the old checks and words)."""
    device = {str(k): v for k, v in (values or {}).items() if not str(k).startswith("__")}
    device["type"] = device_type
    if device_type == "disk":
        if "path" not in device:
            raise SaltInvocationError("path must be given as parameter")
        if device["path"] != "/" and "source" not in device:
            raise SaltInvocationError("source must be given as parameter")
    return {k: _value(v, f"device value {k}") for k, v in device.items()}


def _on_profile(name, connection, update=None, must_have=None):
    """What the old module's profile item functions share: connect, read profile ``name``
    (SaltInvocationError "Profile 'name' not found", as the old module said), check that
    ``must_have`` (``(field, item)``) is there, then ``lxdapi.profile_update(name,
    **update(profile))`` (one write with If-Match, and none when it is so already).

    Returns the profile's document, read again after a write."""
    conn = _conn(*connection)
    found = __salt__["lxdapi.profile_get"](name, **conn)
    if not found:
        raise SaltInvocationError(f"Profile '{name}' not found")
    if must_have:
        _item(found.get(must_have[0]), must_have[1])
    if update is not None and __salt__["lxdapi.profile_update"](name, **update(found), **conn):
        found = __salt__["lxdapi.profile_get"](name, **conn)
    return found


def _flag(value, what):
    if not isinstance(value, bool):
        raise SaltInvocationError(f"{what} must be true or false, not {value!r}")
    return value


def _alias_list(aliases):
    if aliases is None:
        return []
    if not isinstance(aliases, (list, tuple)) or not all(isinstance(a, str) for a in aliases):
        raise SaltInvocationError(f"aliases must be a list of names, not {aliases!r}")
    return list(aliases)


def _image(image, conn):
    """An image's document by alias or fingerprint (the old ``_verify_image``);
    SaltInvocationError in the old module's words when there is none."""
    found = __salt__["lxdapi.image_get"](image, **conn)
    if not found:
        raise SaltInvocationError(f"Image with fingerprint '{image}' not found")
    return found


def _add_alias(found, alias, description, conn):
    """Point ``alias`` at the image ``found`` (its document) as the old module did:
    nothing to do when the image has it; an alias that names another image is refused."""
    if alias in [a.get("name") for a in found.get("aliases") or []]:
        return
    targets = {a["name"]: a["target"] for a in __salt__["lxdapi.image_alias_list"](1, **conn)}
    if alias in targets:
        raise SaltInvocationError(
            f"Alias '{alias}' already points at image {targets[alias]}; delete it first "
            "(lxd.image_alias_delete)"
        )
    __salt__["lxdapi.image_alias_add"](alias, found["fingerprint"], description=description, **conn)


def _pulled(body, aliases, conn):
    """The image the server pulls for ``body`` (``source``, ``public``, ``auto_update``,
    as ``POST /1.0/images`` takes them; :func:`lxdapi.image_pull`: nothing is pulled
    when it has it), with ``aliases`` pointed at it, as the old module's dict."""
    fingerprint = __salt__["lxdapi.image_pull"](
        body["source"], public=body["public"], auto_update=body["auto_update"], **conn
    )
    if not fingerprint:
        raise SaltInvocationError("the server reported no image for {}".format(body["source"]))
    return _with_aliases(fingerprint, aliases, conn)


def _with_aliases(fingerprint, aliases, conn):
    """Point ``aliases`` at image ``fingerprint``; return it, read then, as the old dict."""
    found = _image(fingerprint, conn)
    if aliases:
        for alias in aliases:
            _add_alias(found, alias, "", conn)
        found = _image(fingerprint, conn)
    return _model(found, IMAGE_KEYS)


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
    """The type (``file``, ``directory``...) of ``path`` in container ``name``, or None."""
    found = __salt__["lxdapi.container_file_get"](name, path, **conn)
    return found["type"] if found else None


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


# ------------------------------------------------------------------------- the server


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
    document = lxdapi_compat_salt3007.init_document(
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


@_old_errors
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


@_old_errors
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


@_old_errors
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
    conn = _conn(remote_addr, cert, key, verify_cert)
    done = __salt__["lxdapi.authenticate"](password=password or None, token=token, **conn)
    return done["trusted"]


# ------------------------------------------------------------------------- containers


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
    conn = _conn(remote_addr, cert, key, verify_cert)
    made = __salt__["lxdapi.container_create"](
        name,
        source=lxdapi_compat_salt3007.old_source(source),
        config=lxdapi_compat_salt3007.config_mapping(config),
        devices={
            dev: _device((values or {}).get("type", "disk"), values)
            for dev, values in (devices or {}).items()
        },
        profiles=list(profiles),
        ephemeral=_flag(ephemeral, "ephemeral"),
        **conn,
    )
    return _model(made, INSTANCE_KEYS)


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
    connection = (remote_addr, cert, key, verify_cert)
    if name is None:
        listed = __salt__["lxdapi.container_list"](recursion=1, **_conn(*connection))
    else:
        listed = [_on_instance(name, connection)]
    return [{c["name"]: _model(c, INSTANCE_KEYS)} for c in listed]


@_old_errors
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
    destination = _conn(remote_addr, cert, key, verify_cert)
    held = __salt__["lxdapi.container_get"](name, **destination)
    if not held:
        _on_instance(
            name, source, "container_migrate", to=destination, stop_and_start=stop_and_start
        )
        held = _instance(name, destination)
    return _model(held, INSTANCE_KEYS)


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
    _on_instance(name, (remote_addr, cert, key, verify_cert), "container_delete")
    return True


@_old_errors
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
    connection = (remote_addr, cert, key, verify_cert)
    if name is not None:
        return [{name: _on_instance(name, connection, "container_state")}]
    conn = _conn(*connection)
    names = [c["name"] for c in __salt__["lxdapi.container_list"](recursion=1, **conn)]
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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_start", after=name)


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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(
        name, connection, "container_stop", force=force, timeout=timeout, after=name
    )


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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_restart", after=name)


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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_freeze", after=name)


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
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_unfreeze", after=name)


@_old_errors
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
    return _item(found.get("config"), config_key)


@_old_errors
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


@_old_errors
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
        check=lambda found: _item(found.get("config"), config_key),
    )
    return True


@_old_errors
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
    return _item(found.get("devices"), device_name)


@_old_errors
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
    device = _device(device_type, kwargs)
    connection = (remote_addr, cert, key, verify_cert)
    return _on_instance(name, connection, "container_device_set", device_name, device, after=name)


@_old_errors
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
        check=lambda found: _item(found.get("devices"), device_name),
    )
    return True


@_old_errors
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
    conn = _conn(*connection)
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


@_old_errors
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
    found = __salt__["lxdapi.container_file_get"](name, src, dest=dst, **_conn(*connection))
    if not found:
        raise SaltInvocationError(f"File '{src}' not found in container '{name}'")
    if found["type"] == "directory":
        raise SaltInvocationError(f"'{src}' in container '{name}' is a directory")
    if mode is not None:
        os.chmod(dst, mode)
    if uid is not None or gid is not None:
        os.chown(dst, -1 if uid is None else int(uid), -1 if gid is None else int(gid))
    return True


@_old_errors
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


# --------------------------------------------------------------------------- profiles


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
        config=lxdapi_compat_salt3007.config_mapping(config),
        devices=devices or {},
        description=description,
        **conn,
    )
    return profile_get(name, remote_addr, cert, key, verify_cert)


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
    return _model(_on_profile(name, (remote_addr, cert, key, verify_cert)), PROFILE_KEYS)


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
    connection = (remote_addr, cert, key, verify_cert)
    _on_profile(name, connection)
    __salt__["lxdapi.profile_delete"](name, **_conn(*connection))
    return True


@_old_errors
def profile_config_get(name, config_key, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    One config key of a profile (SaltInvocationError "'KEY' doesn't exists", the old
    words, when it is not set).

    name
        The profile's name.

    config_key
        The key.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_config_get autostart boot.autostart
    """
    found = _on_profile(name, (remote_addr, cert, key, verify_cert))
    return _item(found.get("config"), config_key)


@_old_errors
def profile_config_set(
    name, config_key, config_value, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Set one config key of a profile (one PATCH with If-Match, none when it has that
    value); returns the profile, as the old module did.

    name
        The profile's name.

    config_key
        The key.

    config_value
        Its value (stored as a string: ``True`` is ``"true"``).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_config_set autostart boot.autostart 0
    """
    found = _on_profile(
        name,
        (remote_addr, cert, key, verify_cert),
        update=lambda profile: {"config": {config_key: config_value}},
    )
    return _model(found, PROFILE_KEYS)


@_old_errors
def profile_config_delete(
    name, config_key, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Unset one config key of a profile (one PATCH with If-Match); True
    (SaltInvocationError "'KEY' doesn't exists", the old words, when it is not set).

    name
        The profile's name.

    config_key
        The key.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_config_delete autostart boot.autostart.delay
    """
    _on_profile(
        name,
        (remote_addr, cert, key, verify_cert),
        update=lambda profile: {"config": {config_key: ""}},  # LXD removes a key set to ""
        must_have=("config", config_key),
    )
    return True


@_old_errors
def profile_device_get(name, device_name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    One device of a profile, as a dict (SaltInvocationError "'NAME' doesn't exists", the
    old words, when it has none of that name).

    name
        The profile's name.

    device_name
        The device's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_device_get default eth0
    """
    found = _on_profile(name, (remote_addr, cert, key, verify_cert))
    return _item(found.get("devices"), device_name)


@_old_errors
def profile_device_set(
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
    Add (or replace) one device of a profile (one PATCH with If-Match, none when it is so
    already); returns the profile, as the old module did.

    name
        The profile's name.

    device_name
        The device's name.

    device_type
        Its type (default ``disk``: which needs ``path``, and ``source`` unless the path
        is ``/``).

    kwargs
        The device's other keys (``nictype=bridged parent=lxdbr0``...).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_device_set autostart eth1 nic nictype=bridged parent=lxdbr0
    """
    device = _device(device_type, kwargs)
    found = _on_profile(
        name,
        (remote_addr, cert, key, verify_cert),
        update=lambda profile: {"devices": {device_name: device}},
    )
    return _model(found, PROFILE_KEYS)


@_old_errors
def profile_device_delete(
    name, device_name, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Remove one device of a profile (a PUT with If-Match); True (SaltInvocationError
    "'NAME' doesn't exists", the old words, when it has none of that name).

    name
        The profile's name.

    device_name
        The device's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_device_delete autostart eth1
    """
    _on_profile(
        name,
        (remote_addr, cert, key, verify_cert),
        update=lambda profile: {
            "devices": {k: v for k, v in profile["devices"].items() if k != device_name},
            "purge_devices": True,
        },
        must_have=("devices", device_name),
    )
    return True


# ----------------------------------------------------------------------------- images


@_old_errors
def image_list(list_aliases=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The images: a list of dicts as the old module gave them, or (``list_aliases``)
    ``{fingerprint: [alias names]}``.

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
        return {
            image["fingerprint"]: [a["name"] for a in image.get("aliases") or []]
            for image in listed
        }
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
    conn = _conn(remote_addr, cert, key, verify_cert)
    return _model(_image(fingerprint, conn), IMAGE_KEYS)


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
        raise SaltInvocationError(f"Image with alias '{alias}' not found")
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
        raise SaltInvocationError(f"Image '{image}' not found")
    __salt__["lxdapi.image_delete"](image, **conn)
    return True


@_old_errors
def image_from_simplestreams(
    server,
    alias,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    aliases=None,
    public=False,
    auto_update=False,
    _raw=False,
):
    """
    Have the server pull an image from a simple streams server; returns the image, as
    the old module did. Nothing is pulled when the server has an image it pulled from
    there for that alias already (``auto_update`` keeps one up to date): then only its
    ``public`` and ``auto_update`` are set where they differ.

    server
        The simple streams server's URL (``https://images.linuxcontainers.org``).

    alias
        The image's alias there (``debian/12``).

    aliases
        Aliases to point at the image here (a list; one that points at another image is
        an error).

    public
        Let untrusted clients use the image (default False).

    auto_update
        Let the server keep the image up to date from there (default False).

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_from_simplestreams https://cloud-images.ubuntu.com/releases \
            trusty/amd64 aliases='["t", "trusty/amd64"]' auto_update=True
    """
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise SaltInvocationError(f"server must be a simple streams URL, not {server!r}")
    if not isinstance(alias, str) or not alias:
        raise SaltInvocationError(f"alias must be the image's alias there, not {alias!r}")
    source = {
        "type": "image",
        "mode": "pull",
        "server": server,
        "protocol": "simplestreams",
        "alias": alias,
    }
    body = {
        "public": _flag(public, "public"),
        "auto_update": _flag(auto_update, "auto_update"),
        "source": source,
    }
    aliases = _alias_list(aliases)
    conn = _conn(remote_addr, cert, key, verify_cert)
    return _pulled(body, aliases, conn)


@_old_errors
def image_from_url(
    url,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    aliases=None,
    public=False,
    auto_update=False,
    _raw=False,
):
    """
    Have the server download an image from a URL itself (LXD's ``url`` source: the URL
    answers with the image's ``LXD-Image-URL`` and ``LXD-Image-Hash`` headers, Incus's
    with ``Incus-Image-*``); returns the image, as the old module did. The minion asks
    the URL for the hash first (a HEAD): nothing is pulled when the server has that
    image already; then only its ``public`` and ``auto_update`` are set where they
    differ.

    url
        The URL.

    aliases
        Aliases to point at the image (a list; one that points at another image is an
        error).

    public
        Let untrusted clients use the image (default False).

    auto_update
        Let the server keep the image up to date from there (default False).

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_from_url https://dl.stgraber.org/lxd aliases='["busybox-amd64"]'
    """
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise SaltInvocationError(f"url must be an http(s):// URL, not {url!r}")
    body = {
        "public": _flag(public, "public"),
        "auto_update": _flag(auto_update, "auto_update"),
        "source": {"type": "url", "mode": "pull", "url": url},
    }
    aliases = _alias_list(aliases)
    conn = _conn(remote_addr, cert, key, verify_cert)
    return _pulled(body, aliases, conn)


@_old_errors
def image_from_file(
    filename,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    aliases=None,
    public=False,
    saltenv="base",
    _raw=False,
):
    """
    Upload a unified image tarball unless the server has it (by its fingerprint); returns
    the image, as the old module did.

    filename
        A ``salt://`` URL or a local path.

    aliases
        Aliases to point at the image (a list; one that points at another image is an
        error).

    public
        Let untrusted clients use the image (default False; True makes an existing
        image public too).

    saltenv
        The fileserver environment of a ``salt://`` ``filename`` (default ``base``).

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_from_file salt://lxd/files/busybox.tar.xz aliases=["busybox-amd64"]
    """
    aliases = _alias_list(aliases)
    conn = _conn(remote_addr, cert, key, verify_cert)
    path = os.path.expanduser(str(filename))
    if not os.path.isabs(path):  # a salt:// (or other) URL
        path = __salt__["cp.cache_file"](path, saltenv=saltenv)
    if not path or not os.path.isfile(path):
        raise SaltInvocationError(f"File '{filename}' not found")
    fingerprint = __salt__["lxdapi.image_import"](path, public=_flag(public, "public"), **conn)
    return _with_aliases(fingerprint, aliases, conn)


@_old_errors
def image_copy_lxd(
    source,
    src_remote_addr,
    src_cert,
    src_key,
    src_verify_cert,
    remote_addr,
    cert,
    key,
    verify_cert=True,
    aliases=None,
    public=None,
    auto_update=None,
    _raw=False,
):
    """
    Copy an image from another LXD: the destination pulls it from ``src_remote_addr``
    (with a one-time secret the source makes for a private image, as pylxd did, and the
    source's certificate); returns the destination's image, as the old module did.
    Nothing is pulled when the destination has the image already: then only its
    ``public`` and ``auto_update`` are set where they differ (nothing is sent when they
    do not).

    source
        The image's alias or fingerprint on the source.

    src_remote_addr
        The source's ``https://`` URL (the destination connects to it).

    src_cert
        The client certificate for the source (a path).

    src_key
        Its key (a path).

    src_verify_cert
        Check the source's certificate.

    remote_addr
        The destination: an ``https://`` URL or a socket path.

    cert
        The client certificate for the destination (a path; none for a socket).

    key
        Its key (a path).

    verify_cert
        Check the destination's certificate (default True).

    aliases
        Aliases to point at the image on the destination (a list).

    public
        Let untrusted clients use it there (None: as on the source).

    auto_update
        Keep it up to date from the source (None: as on the source).

    _raw
        Accepted for the old signature; ignored.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_copy_lxd xenial/amd64 \
            https://srv01:8443 ~/.config/lxc/client.crt ~/.config/lxc/client.key false \
            https://srv02:8443 ~/.config/lxc/client.crt ~/.config/lxc/client.key false \
            aliases="['xenial/amd64']"
    """
    aliases = _alias_list(aliases)
    if not str(src_remote_addr).startswith("https://"):
        raise SaltInvocationError(
            "src_remote_addr must be the source's https:// URL (the destination pulls "
            f"the image from there), not {src_remote_addr!r}"
        )
    src_conn = _conn(src_remote_addr, src_cert, src_key, src_verify_cert)
    conn = _conn(remote_addr, cert, key, verify_cert)
    found = _image(source, src_conn)
    fingerprint = found["fingerprint"]
    public = bool(found.get("public")) if public is None else _flag(public, "public")
    auto_update = (
        bool(found.get("auto_update")) if auto_update is None else _flag(auto_update, "auto_update")
    )
    body = {"public": public, "auto_update": auto_update}  # properties come with the image
    pull = {
        "server": src_remote_addr.rstrip("/"),
        "protocol": "incus" if __salt__["lxdapi.info"](**conn)["server"] == "incus" else "lxd",
        "fingerprint": fingerprint,
    }
    if not __salt__["lxdapi.image_get"](fingerprint, **conn):  # to be pulled: its access
        certificate = (__salt__["lxdapi.get"]("", **src_conn).get("environment") or {}).get(
            "certificate"
        )
        if certificate:
            pull["certificate"] = certificate
        if not found.get("public"):
            token = __salt__["lxdapi.post"](
                f"images/{fingerprint}/secret", {}, wait=False, **src_conn
            )
            pull["secret"] = (token.get("metadata") or {}).get("secret")
    body["source"] = pull
    return _pulled(body, aliases, conn)


@_old_errors
def image_alias_add(
    image, alias, description="", remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Point a new alias at an image; True. Nothing is written when the image has that
    alias already; an alias that points at another image is an error.

    image
        The image's alias or fingerprint.

    alias
        The new alias.

    description
        The alias's description.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_alias_add xenial/amd64 x "Short version of xenial/amd64"
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _add_alias(_image(image, conn), alias, description, conn)
    return True


@_old_errors
def image_alias_delete(image, alias, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete an alias (whichever image it points at, as before); True, or False when there
    is no such alias (nothing is sent then).

    image
        An alias or fingerprint of an image that must exist (the old check).

    alias
        The alias to delete.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_alias_delete xenial/amd64 x
    """
    conn = _conn(remote_addr, cert, key, verify_cert)
    _image(image, conn)
    if alias not in __salt__["lxdapi.image_alias_list"](**conn):
        return False
    return __salt__["lxdapi.image_alias_delete"](alias, **conn)


# -------------------------------------------------------------------------- snapshots


@_old_errors
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


@_old_errors
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


@_old_errors
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
    __salt__["lxdapi.snapshot_delete"](container, name, **_conn(*connection))
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
    connection = (remote_addr, cert, key, verify_cert)
    for snap in _on_instance(container, connection, "snapshot_list", recursion=1):
        if snap["name"].split("/")[-1] == name:
            return _model(snap, SNAPSHOT_KEYS)
    raise SaltInvocationError(f"Snapshot '{name}' of container '{container}' not found")
