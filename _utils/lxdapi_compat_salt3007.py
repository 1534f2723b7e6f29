"""The old Salt lxd modules' argument forms (Salt 3007 and before: ``lxd_container``,
``lxd_profile``...), read into lxdapi's: connection settings, config given as a list of
``{key, value}``, ``running: None|True|False``, old sources. What the adapters in
``_states/lxd_*.py`` use; plain values, no Salt.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

from lxdapi_values import check_bool

#: The first Salt release without its own lxd modules (saltstack/salt#65970).
SALT_WITHOUT_LXD = (3008,)

#: The minion option (under ``lxdapi:``) that lets the adapters load on Salt 3006/3007.
REPLACE_OPTION = "replace_builtin_lxd"


def loads_instead_of_builtin(salt_version, replace_builtin, name):
    """``(True, None)`` when the adapter module ``name`` should load, else ``(False, why)``:
    on Salt 3008 and later (which has no lxd modules of its own), or when the minion sets
    ``lxdapi: {replace_builtin_lxd: True}``."""
    if tuple(salt_version[:1]) >= SALT_WITHOUT_LXD:
        return True, None
    if replace_builtin is True:
        return True, None
    return False, (
        "{0}: Salt {1} has its own {0} module; lxdapi's, on its REST API core, loads "
        "instead when the minion sets lxdapi: {{{2}: True}}".format(
            name, ".".join(str(v) for v in salt_version[:2]), REPLACE_OPTION
        )
    )


def virtual(name, salt_version, salt_functions):
    """What an adapter module's ``__virtual__`` returns: ``name`` when it should load
    (:func:`loads_instead_of_builtin`), else ``(False, why)``. ``salt_functions`` is the
    loader's ``__salt__`` (lxdapi's execution module must have loaded; ``config.get``
    reads the minion's ``lxdapi:replace_builtin_lxd``)."""
    if "lxdapi.request" not in salt_functions:
        return (False, f"{name}: the lxdapi execution module did not load")
    ok, why = loads_instead_of_builtin(
        salt_version, salt_functions["config.get"]("lxdapi:" + REPLACE_OPTION, False), name
    )
    return name if ok else (False, why)


def connection_settings(remote_addr=None, cert=None, key=None, verify_cert=True):
    """lxdapi's connection settings for the old ``remote_addr``, ``cert``, ``key`` and
    ``verify_cert``: an ``https://`` URL or a socket path (None: the local socket)."""
    check_bool(verify_cert, "verify_cert")
    settings = {}
    if remote_addr:
        if not isinstance(remote_addr, str):
            raise ValueError(
                f"remote_addr must be an https:// URL or a socket path, not {remote_addr!r}"
            )
        settings["endpoint"] = remote_addr
        if remote_addr.startswith("https://"):
            if not (cert and key):
                raise ValueError(f"remote_addr {remote_addr} needs cert and key")
            settings.update(cert=cert, key=key, verify=verify_cert)
    return settings


def config_mapping(config, what="config"):
    """A config mapping from the old forms: a dict, a list of ``{key: K, value: V}``, or
    None (the empty mapping: the old modules' "None = unset")."""
    if config is None:
        return {}
    if isinstance(config, dict):
        return dict(config)
    if isinstance(config, (list, tuple)):
        mapping = {}
        for item in config:
            if not isinstance(item, dict) or set(item) != {"key", "value"}:
                raise ValueError(
                    f"{what} as a list holds {{key: ..., value: ...}} items, not {item!r}"
                )
            mapping[str(item["key"])] = item["value"]
        return mapping
    raise ValueError(f"{what} must be a mapping or a list of {{key, value}}, not {config!r}")


def status_of(running):
    """``running`` (None, True, False) as lxdapi's status (None, Running, Stopped)."""
    if running is None:
        return None
    return "Running" if check_bool(running, "running") else "Stopped"


def old_source(source):
    """An old ``source`` as lxdapi's: an alias string as it is; ``{type: image, alias
    ...}``, ``{type: none}``, ``{type: copy, source: NAME}`` as LXD takes them; an empty
    one (the old default) as no rootfs."""
    if source in (None, {}, ""):
        return None
    if isinstance(source, str):
        return source
    if isinstance(source, dict):
        if source.get("type") == "none":
            return None
        return dict(source)
    raise ValueError(f"source must be an image alias or a mapping, not {source!r}")


def image_source(source):
    """An old ``lxd_image`` source dict as :func:`lxdapi.image_present` takes it."""
    if not isinstance(source, dict) or "type" not in source:
        raise ValueError(
            f"source must be a mapping with a type (file, simplestreams, lxd), not {source!r}"
        )
    kind = source["type"]
    if kind == "file":
        if not source.get("filename"):
            raise ValueError("a source of type file needs its filename")
        return source["filename"]
    if kind == "simplestreams":
        if not (source.get("server") and source.get("name")):
            raise ValueError("a source of type simplestreams needs server and name")
        return {"server": source["server"], "protocol": "simplestreams", "alias": source["name"]}
    if kind == "lxd":
        if not (source.get("remote_addr") and source.get("name")):
            raise ValueError("a source of type lxd needs remote_addr and name")
        return {"server": source["remote_addr"], "protocol": "lxd", "alias": source["name"]}
    if kind == "url":
        raise ValueError(
            "a source of type url (a download made by the minion) is not supported: fetch "
            "the file with file.managed and use type: file"
        )
    raise ValueError(f"unknown source type {kind!r}; choose file, simplestreams or lxd")


def init_document(
    storage_backend="dir",
    trust_password=None,
    network_address=None,
    network_port=None,
    storage_create_device=None,
    storage_create_loop=None,
    storage_pool=None,
):
    """The old ``lxd init`` answers (the state's and the function's) as a preseed
    document for :func:`lxdapi_preseed.plan_server_initialized`: the storage pool
    (``storage_create_device`` its ``source``, ``storage_create_loop`` its ``size`` in
    GB) and the server config (``core.https_address`` from ``network_address`` and
    ``network_port``, default 8443; ``core.trust_password``)."""
    pool_config = {}
    if storage_create_device:
        pool_config["source"] = storage_create_device
    if storage_create_loop:
        pool_config["size"] = f"{storage_create_loop}GB"
    config = {}
    if network_address:
        config["core.https_address"] = f"{network_address}:{network_port or 8443}"
    if trust_password:
        config["core.trust_password"] = trust_password
    pool = {"name": storage_pool or "default", "driver": storage_backend, "config": pool_config}
    return {"config": config, "storage_pools": [pool]}


#: lxdapi's change keys, as the old modules named them.
CHANGE_NAMES = {
    "instance": "created",
    "status": "running",
    "profile": "created",
    "image": "created",
    "server": "migrated",
}


def old_changes(changes):
    """lxdapi's ``{key: {old, new}}`` changes with the old modules' key names."""
    return {CHANGE_NAMES.get(key, key): change for key, change in (changes or {}).items()}


def failed(name, problem):
    """A state's result for an old value that cannot be read: ``result`` False, the
    problem named, nothing changed."""
    return {"name": name, "result": False, "comment": f"{name}: {problem}", "changes": {}}


def adapted(state, name, connection, **args):
    """Run ``state`` (lxdapi's state function) for ``name`` on ``args`` and the old
    ``connection`` arguments (``(remote_addr, cert, key, verify_cert)``); its result, with
    the old modules' change names."""
    try:
        settings = connection_settings(*connection)
    except ValueError as exc:
        return failed(name, exc)
    ret = dict(state(name=name, **args, **settings))
    ret["changes"] = old_changes(ret.get("changes"))
    return ret


# ------------------------------------------------- the adapters' shared pieces


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


def adapter_connection(remote_addr, cert, key, verify_cert):
    """lxdapi's connection arguments for the old ``remote_addr``, ``cert``, ``key`` and
    ``verify_cert``. The client key goes as ``client_key``: some lxdapi functions have a
    ``key`` parameter of their own (a config key)."""
    settings = connection_settings(remote_addr, cert, key, verify_cert)
    if "key" in settings:
        settings["client_key"] = settings.pop("key")
    return settings


def old_model(meta, keys):
    """The dict the old module made of a pylxd object: its attributes the server sent
    (pylxd shows a server that is not clustered as ``location: None``, not ``none``)."""
    model = {key: meta[key] for key in keys if key in (meta or {})}
    if model.get("location") == "none":
        model["location"] = None
    return model


def old_item(mapping, key):
    """``mapping[key]``; SaltInvocationError in the old module's words when it is not there."""
    if key not in (mapping or {}):
        raise ValueError(f"'{key}' doesn't exists")
    return mapping[key]


def plain_value(value, what):
    """A device or config value as LXD stores it (a string; ``True`` -> ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)) or value is None:
        raise ValueError(f"{what} must be a plain value, not {value!r}")
    return str(value)


def old_device(device_type, values):
    """A device as the old module built it: ``values`` (Salt's own ``__pub_*`` keyword
    arguments left out) with ``type``; a ``disk`` needs ``path`` and, unless it is the
    root disk, ``source`` (the old checks and words)."""
    device = {str(k): v for k, v in (values or {}).items() if not str(k).startswith("__")}
    device["type"] = device_type
    if device_type == "disk":
        if "path" not in device:
            raise ValueError("path must be given as parameter")
        if device["path"] != "/" and "source" not in device:
            raise ValueError("source must be given as parameter")
    return {k: plain_value(v, f"device value {k}") for k, v in device.items()}


def old_flag(value, what):
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, not {value!r}")
    return value
