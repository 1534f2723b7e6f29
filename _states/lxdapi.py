"""State module for LXD through its REST API: ``lxdapi.container_present`` in an SLS.

Thin: every state asks the core (``_utils/lxdapi.py``) for a :class:`Plan` (the changes
and the writes that make them), then :func:`_converge` turns it into the one ret shape:

- nothing to do: ``result: True``, no changes, and no write sent;
- ``test=True``: ``result: None``, the changes a real run would make, nothing written;
- otherwise the writes are sent (with If-Match where the plan read an ETag) and the
  changes reported as ``{old, new}`` per key;
- a refused write or failed operation: ``result: False`` and LXD's error in the comment.

Connection settings are the execution module's (``remote``, ``endpoint``, ``project``...).
"""

import logging
import sys

import salt.utils.args

log = logging.getLogger(__name__)

__virtualname__ = "lxdapi"

core = None


def __virtual__():
    # Loading the execution module imports the core once per process (lxdapi_core).
    if "lxdapi.request" not in __salt__:
        return (False, "lxdapi: the lxdapi execution module did not load")
    global core
    core = sys.modules["lxdapi_core"]
    return __virtualname__


# ------------------------------------------------------------------ the one ret shape


def _ret(name):
    return {"name": name, "result": True, "comment": "", "changes": {}}


def _api(kwargs):
    """The cached :class:`API` for a state's connection kwargs (see the module doc)."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    settings = core.resolve_connection(kwargs, __salt__["config.get"])
    return core.cached_api(settings, __context__)


def _fail(ret, message):
    ret["result"] = False
    ret["comment"] = message
    return ret


def _converge(name, make_plan, done, unchanged, connection):
    """Run one state: build the plan, then report, predict or apply it.

    ``make_plan(api)`` returns a :class:`Plan`; ``done`` and ``unchanged`` are the
    comments for a run that changed something and for one with nothing to do.
    Core errors and bad input become ``result: False`` with a comment, never a traceback.
    """
    ret = _ret(name)
    try:
        api = _api(connection)
        plan = make_plan(api)
    except core.APIException as exc:
        return _fail(ret, str(exc))
    except (ValueError, TypeError, OSError) as exc:
        return _fail(ret, "{}: {}".format(name, exc))
    notes = list(plan.notes)
    if not plan.writes:
        ret["comment"] = " ".join([unchanged] + notes)
        return ret
    if __opts__.get("test"):
        ret["result"] = None
        ret["changes"] = plan.changes
        ret["comment"] = " ".join(["Would have: " + done] + notes)
        return ret
    try:
        plan.apply(api)
    except core.APIException as exc:
        ret["changes"] = {}
        return _fail(ret, "{}: {}".format(name, exc))
    ret["changes"] = plan.changes
    ret["comment"] = " ".join([done] + notes)
    return ret


# ---- resources (issue 5) ----
#
# Profiles, networks, storage pools and volumes, projects, snapshots and files. Each
# state is a few lines: the core's plan (plan_resource_present/absent, plan_snapshot_*,
# plan_file_managed) handed to _converge. Every state also takes ``project=`` and the
# other connection settings (``remote``, ``endpoint``, ...).

import os  # noqa: E402  (used by file_managed's source)


def _resource_connection(kwargs):
    """A state's connection kwargs, and the names of any unexpected arguments."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    allowed = set(core.CONNECTION_KEYS) | {"remote"}
    unexpected = sorted(k for k in kwargs if k not in allowed)
    return {k: v for k, v in kwargs.items() if k in allowed}, unexpected


def _resource_converge(name, what, make_plan, kwargs, created_key=None):
    """:func:`_converge` for one resource, with comments that name it.

    ``what`` names the resource (``Profile 'web'``); ``created_key`` is the plan's change
    key that marks a creation (None for an absent state).
    """
    connection, unexpected = _resource_connection(kwargs)
    seen = {}

    def plan_with_checks(api):
        if unexpected:
            raise ValueError("unexpected argument(s): {}".format(", ".join(unexpected)))
        plan = make_plan(api)
        seen["created"] = bool(created_key and created_key in plan.changes
                               and plan.changes[created_key]["old"] is None)
        return plan

    if created_key is None:
        return _converge(name, plan_with_checks, "{} deleted.".format(what),
                         "{} is already absent.".format(what), connection)
    updated = "{} updated.".format(what)
    ret = _converge(name, plan_with_checks, updated,
                    "{} is already as declared.".format(what), connection)
    if seen.get("created"):
        ret["comment"] = ret["comment"].replace(updated, "{} created.".format(what), 1)
    return ret


def _present(kind, name, declared, kwargs, purge_config=False, purge_devices=False,
             **url_params):
    label = core.RESOURCE_KINDS[kind]["label"]
    return _resource_converge(
        name, "{} {!r}".format(label.capitalize(), name),
        lambda api: core.plan_resource_present(api, kind, name, declared, purge_config,
                                               purge_devices, **url_params),
        kwargs, created_key=label)


def _absent(kind, name, kwargs, **url_params):
    label = core.RESOURCE_KINDS[kind]["label"]
    return _resource_converge(
        name, "{} {!r}".format(label.capitalize(), name),
        lambda api: core.plan_resource_absent(api, kind, name, **url_params), kwargs)


def profile_present(name, config=None, devices=None, description=None, purge_config=False,
                    purge_devices=False, **kwargs):
    """
    Ensure a profile exists with the declared config keys, devices and description.

    Config keys and devices not declared are left alone unless ``purge_config`` /
    ``purge_devices``; values are compared as LXD stores them (strings). Changes are
    written with If-Match.

    name
        The profile's name.

    config
        A mapping of config keys; None: not managed.

    devices
        A mapping of device name to device (each with a ``type``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove config keys that are not declared (default False).

    purge_devices
        Remove devices that are not declared (default False).

    kwargs
        ``project`` and the other connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        web:
          lxdapi.profile_present:
            - config:
                limits.cpu: 2
            - devices:
                data:
                  type: disk
                  pool: default
                  source: data1
                  path: /srv
    """
    declared = {"config": config, "devices": devices, "description": description}
    return _present("profile", name, declared, kwargs, purge_config, purge_devices)


def profile_absent(name, **kwargs):
    """
    Ensure a profile does not exist. Refuses (result False, naming them) while
    instances use it.

    name
        The profile's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-profile:
          lxdapi.profile_absent
    """
    return _absent("profile", name, kwargs)


def network_present(name, type="bridge", config=None, description=None,
                    **kwargs):  # pylint: disable=redefined-builtin
    """
    Ensure a managed network exists with the declared config keys and description.

    Only declared config keys are compared (LXD fills in others). A different ``type``
    than the existing network's is reported in the comment, never acted on.

    name
        The network's name (an interface name: at most 15 characters).

    type
        The network type (default ``bridge``); only used at creation.

    config
        A mapping of config keys (``ipv4.address``, ``ipv6.address``...); None: not
        managed.

    description
        The description; None: not managed.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        br1:
          lxdapi.network_present:
            - config:
                ipv4.address: none
                ipv6.address: none
    """
    declared = {"type": type, "config": config, "description": description}
    return _present("network", name, declared, kwargs)


def network_absent(name, **kwargs):
    """
    Ensure a managed network does not exist. Refuses (result False, naming them) while
    instances or profiles use it.

    name
        The network's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        br1:
          lxdapi.network_absent
    """
    return _absent("network", name, kwargs)


def storage_pool_present(name, driver, config=None, description=None, **kwargs):
    """
    Ensure a storage pool exists with the declared config keys and description.

    Only declared config keys are compared (LXD adds its own, such as ``source``). A
    different ``driver`` or ``source`` than the existing pool's is reported in the
    comment, never acted on (nothing is destroyed).

    name
        The pool's name.

    driver
        The storage driver (``dir``, ``btrfs``, ``lvm``, ``zfs``...); only used at
        creation.

    config
        A mapping of config keys; None: not managed.

    description
        The description; None: not managed.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data:
          lxdapi.storage_pool_present:
            - driver: dir
            - config:
                source: /srv/lxd-data
    """
    declared = {"driver": driver, "config": config, "description": description}
    return _present("storage_pool", name, declared, kwargs)


def storage_pool_absent(name, **kwargs):
    """
    Ensure a storage pool does not exist. Refuses (result False, naming them) while
    volumes, instances or profiles use it.

    name
        The pool's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data:
          lxdapi.storage_pool_absent
    """
    return _absent("storage_pool", name, kwargs)


def storage_volume_present(pool, name, type="custom", config=None, content_type=None,
                           description=None, **kwargs):  # pylint: disable=redefined-builtin
    """
    Ensure a storage volume exists in ``pool`` with the declared config and description.

    A different ``content_type`` than the existing volume's is reported in the comment,
    never acted on.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type (default ``custom``, the only one LXD creates).

    config
        A mapping of config keys (``size``, ``user.*``...); None: not managed.

    content_type
        ``filesystem`` or ``block``; only used at creation (LXD's default: filesystem).

    description
        The description; None: not managed.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data1:
          lxdapi.storage_volume_present:
            - pool: default
            - config:
                user.owner: web
    """
    declared = {"config": config, "content_type": content_type, "description": description}
    return _present("storage_volume", name, declared, kwargs, pool=pool, type=type)


def storage_volume_absent(pool, name, type="custom", **kwargs):  # pylint: disable=redefined-builtin
    """
    Ensure a storage volume does not exist. Refuses (result False, naming them) while
    instances use it.

    pool
        The storage pool's name.

    name
        The volume's name.

    type
        The volume type (default ``custom``).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        data1:
          lxdapi.storage_volume_absent:
            - pool: default
    """
    return _absent("storage_volume", name, kwargs, pool=pool, type=type)


def project_present(name, config=None, description=None, **kwargs):
    """
    Ensure a project exists with the declared config keys and description.

    Keys not declared (LXD's ``features.*`` among them) are kept: the whole config is
    written back with If-Match, since LXD 5.0 replaces a project's config on PATCH.

    name
        The project's name.

    config
        A mapping of config keys (``features.images``, ``limits.instances``...); None:
        not managed.

    description
        The description; None: not managed.

    kwargs
        Connection settings.

    CLI Example:

    .. code-block:: yaml

        staging:
          lxdapi.project_present:
            - config:
                limits.instances: 10
    """
    declared = {"config": config, "description": description}
    return _present("project", name, declared, kwargs)


def project_absent(name, **kwargs):
    """
    Ensure a project does not exist. Refuses (result False, naming them) while it
    holds anything besides its own default profile.

    name
        The project's name.

    kwargs
        Connection settings.

    CLI Example:

    .. code-block:: yaml

        staging:
          lxdapi.project_absent
    """
    return _absent("project", name, kwargs)


def snapshot_present(container, name, stateful=False, **kwargs):
    """
    Ensure an instance has a snapshot called ``name`` (taken now if missing).

    An existing snapshot is never retaken; asking ``stateful`` of an existing stateless
    one is reported in the comment.

    container
        The instance's name.

    name
        The snapshot's name.

    stateful
        Include the running state (needs CRIU and a running instance; default False).

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.snapshot_present:
            - container: web1
    """
    return _resource_converge(
        name, "Snapshot {!r} of {!r}".format(name, container),
        lambda api: core.plan_snapshot_present(api, container, name, stateful),
        kwargs, created_key="snapshot")


def snapshot_absent(container, name, **kwargs):
    """
    Ensure an instance has no snapshot called ``name``.

    container
        The instance's name.

    name
        The snapshot's name.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.snapshot_absent:
            - container: web1
    """
    return _resource_converge(
        name, "Snapshot {!r} of {!r}".format(name, container),
        lambda api: core.plan_snapshot_absent(api, container, name), kwargs)


def _file_source(source):
    """The bytes of a ``salt://`` (or other fileserver) URL or a local absolute path."""
    if "://" in str(source):
        try:
            saltenv = __env__  # set by the state system for each state
        except NameError:
            saltenv = "base"
        cached = __salt__["cp.cache_file"](source, saltenv)
        if not cached:
            raise ValueError("source {} could not be fetched".format(source))
        source = cached
    elif not os.path.isabs(str(source)):
        raise ValueError(
            "source must be a salt:// URL or an absolute path, not {!r}".format(source))
    with open(source, "rb") as fh:
        return fh.read()


def file_managed(container, path=None, source=None, contents=None, mode=None, uid=None,
                 gid=None, **kwargs):
    """
    Ensure a file inside an instance has the declared content, mode and owner.

    Reads the file and its mode/uid/gid first and writes (the whole file) only when one
    of them differs. Content changes are reported as sha256 digests.

    container
        The instance's name.

    path
        The absolute path inside the instance; defaults to the state's ``name``.

    source
        Where the content comes from: a ``salt://`` URL (fetched with ``cp.cache_file``)
        or an absolute local path. Not together with ``contents``.

    contents
        The content itself (text, written as UTF-8, exactly as given).

    mode
        The mode as octal digits (``'0644'``); None keeps the file's (a new file gets
        0644).

    uid, gid
        Numeric owner and group; None keeps the file's (a new file gets 0).

    kwargs
        ``project`` and the other connection settings.

    With neither ``source`` nor ``contents`` only mode and owner are managed (a missing
    file is created empty).

    CLI Example:

    .. code-block:: yaml

        /etc/motd:
          lxdapi.file_managed:
            - container: web1
            - source: salt://web/motd
            - mode: '0644'
    """
    name = kwargs.pop("name", None) or path
    path = path or name

    def make_plan(api):
        if source is not None and contents is not None:
            raise ValueError("give source or contents, not both")
        content = _file_source(source) if source is not None else contents
        return core.plan_file_managed(api, container, path, content, mode, uid, gid)

    return _resource_converge(name, "File {} in {!r}".format(path, container), make_plan,
                              kwargs, created_key="file")
