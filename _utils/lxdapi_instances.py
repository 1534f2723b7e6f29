"""Instances: the plans behind ``container_present`` and friends (validation, source,
restart, status) and the operations of the execution module (lists, actions, config
keys, exec and its guards, snapshots).

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import logging
import re
import shlex
import time
import urllib.parse

from lxdapi import (
    APIConflictException,
    APIException,
    APINotFoundException,
    APIPreconditionFailed,
    APITimeout,
    get_or_none,
    name_from_url,
    reword,
)
from lxdapi_cluster import plan_instance_move
from lxdapi_files import (
    CHUNK_BYTES,
    PartialFile,
    check_local_dest,
    instance_file_body,
    size_words,
)
from lxdapi_images import (
    FINGERPRINT_RE,
    image_alias_table,
    image_get,
    source_label,
)
from lxdapi_logs import explain_start_failure
from lxdapi_operations import list_collection
from lxdapi_plans import Plan, Write, plan_update
from lxdapi_values import (
    INSTANCE_ACTIONS,
    INSTANCE_TYPES,
    STATUSES,
    check_absolute_path,
    check_bool,
    check_duration,
    check_id,
    check_name,
    check_seconds,
    lxd_config,
    lxd_devices,
    normalize_status,
    planning_status,
)

log = logging.getLogger(__name__)


# -- container_present and friends: validation, source, restart, one plan per state

#: Config keys LXD applies only when the instance (re)starts ("Live update: no" in LXD's
#: instance options), and the exceptions under those prefixes that do apply live.
RESTART_CONFIG_KEYS = (
    "raw.idmap",
    "raw.lxc",
    "raw.qemu",
    "raw.seccomp",
    "security.devlxd",
    "security.devlxd.images",
    "security.guestapi",  # Incus's name for security.devlxd
    "security.guestapi.images",
    "security.privileged",
    "security.secureboot",
    "limits.memory.hugepages",
    "migration.stateful",
    "agent.nic_config",
)
RESTART_CONFIG_PREFIXES = (
    "limits.kernel.",
    "linux.sysctl.",
    "nvidia.",
    "security.idmap.",
    "security.syscalls.",
)
LIVE_CONFIG_KEYS = (
    "security.syscalls.intercept.mount.allowed",
    "security.syscalls.intercept.mount.fuse",
    "security.syscalls.intercept.mount.shift",
)
INSTANCE_NAME_RULE = (
    "1 to 63 letters, digits and dashes, starting with a letter and not ending with a dash"
)


def restart_needed(keys):
    """The config keys among ``keys`` that take effect only when the instance restarts."""
    return sorted(
        key
        for key in keys
        if key not in LIVE_CONFIG_KEYS
        and (key in RESTART_CONFIG_KEYS or key.startswith(RESTART_CONFIG_PREFIXES))
    )


def validate_instance_name(name):
    """``name`` if LXD accepts it as an instance name; ValueError saying the rule otherwise."""
    if (
        not isinstance(name, str)
        or not re.match(r"^[A-Za-z][A-Za-z0-9-]{0,62}$", name)
        or name.endswith("-")
    ):
        raise ValueError(f"invalid instance name {name!r}: use {INSTANCE_NAME_RULE}")
    return name


def profile_names(api):
    """The names of the server's profiles (in the API's project): one GET, kept in
    ``api.read_cache`` until a write to ``profiles`` through the API."""
    names = api.read_cache.get(("profiles", "names"))
    if names is None:
        names = [name_from_url(url) for url in api.get("profiles").metadata or []]
        api.read_cache[("profiles", "names")] = names
    return names


def check_profiles_exist(api, profiles):
    """Raise ValueError naming the ``profiles`` the server does not have."""
    missing = [p for p in profiles if p not in profile_names(api)]
    if missing:
        raise ValueError(
            "profile(s) {} do not exist on {}".format(
                ", ".join(repr(p) for p in missing), api.display_endpoint
            )
        )


def declared_fingerprint(api, source):
    """The image fingerprint (or prefix) a declared ``source`` names on this server.

    None when it cannot be told without asking another server (a remote source without
    ``fingerprint``) or the source is not an image; False when no such alias exists here.
    """
    if isinstance(source, dict):
        if source.get("type", "image") != "image":
            return None
        if source.get("fingerprint"):
            return str(source["fingerprint"]).lower()
        if source.get("server"):
            return None
        ref = source.get("alias")
    else:
        ref = source
    if not ref:
        return None
    ref = str(ref)
    if FINGERPRINT_RE.match(ref):
        return ref
    table = image_alias_table(api)
    if ref in table:
        return table[ref]
    if re.match(r"^[0-9a-f]{6,64}$", ref):
        return ref
    return False


def source_note(api, current, source):
    """A note when an existing instance was not created from the declared ``source``.

    Compares the declared image with ``volatile.base_image`` (and tells the ``image.*``
    description); None when they agree or it cannot be told. Never acted on.
    """
    if source is None or source == "":
        return None
    wanted = declared_fingerprint(api, source)
    if wanted is None:
        return None
    name = current.get("name")
    config = current.get("config") or {}
    base = config.get("volatile.base_image")
    label = source_label(source)
    if not base:
        return (
            f"{name} was not created from an image, not from {label} as declared; it is left as "
            "it is (nothing is recreated)."
        )
    if wanted is False:
        return (
            f"Cannot tell whether {name} was created from {label}: there is no such image alias "
            "now; it is left as it is."
        )
    if not base.startswith(wanted):
        was = base[:12]
        if config.get("image.description"):
            was += " ({})".format(config["image.description"])
        return (
            f"{name} was created from image {was}, not from {label} ({wanted[:12]}) as declared; "
            "it is left as "
            "it is (nothing is recreated)."
        )
    return None


def _restart_write(api, name, timeout):
    return Write(
        "PUT",
        api.instance_path(name, "state"),
        {"action": "restart", "timeout": int(timeout)},
        wait_timeout=int(timeout) + 30,
        keys=("restarted",),
        explain=explain_start_failure(name),
    )


def plan_instance_present(api, name, spec, current=None, listing=None):
    """The :class:`Plan` that creates an instance, or brings an existing one to what is
    declared; then its status.

    ``spec`` is the instance as declared, an :class:`lxdapi_spec.InstanceSpec` (its
    ``wait_for`` is :func:`lxdapi_readiness.plan_instance_declared`'s business). Absent:
    one POST (``source``: an image alias or fingerprint on the server, or LXD's source
    dict; ``target``: a cluster member), then the writes that reach ``status``. Present:
    one PATCH with If-Match for the declared config keys, devices, the exact ordered
    ``profiles``, ``description`` and ``ephemeral`` (a PUT when ``purge_devices``
    removes devices); keys and devices not declared are kept unless ``purge_config`` /
    ``purge_devices``; ``volatile.*`` and ``image.*`` are never touched; then
    ``status``; then a restart when changed keys only apply at restart and
    ``restart_on_change`` (else a note says a restart is pending). A different source,
    type or cluster member than declared is a note, never acted on; except that
    ``migrate`` moves an instance on another cluster member to ``target`` (LXD moves
    stopped instances: one that is running must be declared ``status: Stopped``).

    ``ephemeral`` None leaves an existing instance's flag as it is (a new one is not
    ephemeral). ``current`` is the instance's :class:`lxdapi.APIResult` (or False when
    absent) when the caller has read it; None reads it, through ``listing`` when given
    (an :class:`lxdapi_batch.InstanceListing`: see :func:`plan_from_listing`).

    A bad name, a missing image or profile raise ValueError before any write. Reads: the
    instance (one GET, none when the listing shows it and nothing is to be done), plus
    ``GET /1.0`` once per API; an alias source adds the alias table, once per API.
    """
    name = validate_instance_name(name)
    if current is None:
        return plan_from_listing(
            api, name, listing, lambda current: plan_instance_present(api, name, spec, current)
        )
    if not current:
        plan = _plan_instance_create(api, name, spec)
    else:
        plan = _plan_instance_update(api, current, spec)
    ignored = spec.ignored_config_keys
    if ignored:
        plan.notes.append(
            "{} left alone: volatile.* and image.* keys are LXD's own.".format(", ".join(ignored))
        )
    plan.recover = recover_instance(
        name, lambda api: plan_instance_present(api, name, spec), spec.timeout
    )
    return plan


def plan_from_listing(api, name, listing, make_plan):
    """``make_plan(current)``, ``current`` instance ``name`` as :func:`instance_get`
    reads it: what ``listing`` shows of it (None: no listing), else one GET.

    A plan made from what the listing showed that has writes, or that fails, is made
    again from a fresh GET: what is written is decided on the instance as it is now, with
    its ETag for If-Match. A plan with nothing to do costs no request of its own. An
    instance the listing does not show is planned as absent without a GET: should
    another client have created it since, LXD refuses the creation and the plan's
    ``recover`` converges the instance from a fresh read.
    """
    current = instance_get(api, name, listing)
    if not getattr(current, "listed", False):
        return make_plan(current)
    try:
        plan = make_plan(current)
    except (APIException, ValueError, TypeError):
        plan = None
    if plan is not None and not plan.writes:
        return plan
    return make_plan(instance_get(api, name))


#: Seconds to let an instance's lock go after the operations on it ended.
BUSY_PAUSE = 1.5

#: What LXD and Incus say when another client works on the same instance at that moment.
RACE_WORDS = (
    "already exists",
    "already running",
    "Operation not found",  # ended over 5 s before its wait began: read what it did
    "already stopped",
    "busy running",
    "is being created",
    "UNIQUE constraint failed",  # Incus 6.0: two creations of one name at once
)


def raced(exc):
    """True when ``exc`` says another client was creating or changing the instance at
    that moment: a creation refused as existing, an instance busy with another
    operation, an If-Match that no longer matches (412)."""
    if isinstance(exc, APIPreconditionFailed) or exc.status == 409:
        return True
    return any(words in (exc.error or "") for words in RACE_WORDS)


def wait_instance_operations(api, name, timeout=30):
    """Wait (up to ``timeout`` seconds each) for the operations running on instance
    ``name``: another client's creation or start. What they end with is theirs."""
    # Not ?recursion=1: that listing holds failed operations too, with their error codes.
    running = (api.get("operations").metadata or {}).get("running") or []
    for url in running:
        try:
            op = api.get(url).metadata or {}
        except APIException:  # ended (and gone) since the listing
            continue
        resources = op.get("resources") or {}
        urls = (resources.get("instances") or []) + (resources.get("containers") or [])
        if any(name_from_url(url) == name for url in urls):
            try:
                api.get(
                    "operations/{}/wait".format(op["id"]),
                    params={"timeout": int(timeout)},
                    timeout=timeout + api.timeout,
                )
            except APIException as exc:  # ended badly, or still running: ours re-reads
                log.debug("lxdapi: waiting for operation %s: %s", op.get("id"), exc)


def recover_instance(name, replan, timeout=30):
    """The ``recover`` of an instance's plan: when its writes were refused because
    another client was creating or changing the instance at that moment, wait for that
    client's operations and plan again from a fresh read (``replan(api)``), once."""

    def recover(api, exc):
        if not raced(exc):
            return None
        wait_instance_operations(api, name, timeout)
        if "busy running" in (exc.error or ""):
            # LXD 5.0 holds an instance's lock a moment past the operation that held it
            # (its own stop after a failed start, or a guest's power-off: about 0.7 s).
            time.sleep(BUSY_PAUSE)
        fresh = replan(api)
        fresh.recover = None
        return fresh

    return recover


def copied_profiles(api, source):
    """The profiles of the instance or snapshot a copy ``source`` names (``source``:
    ``INSTANCE`` or ``INSTANCE/SNAPSHOT``). LXD 5.0 copies config and devices but takes
    the profiles only from the request, so a copy without them has no root disk."""
    what = check_name(source.get("source"), "copy source")
    instance, _, snapshot = what.partition("/")
    url = (
        api.instance_path(instance, "snapshots", snapshot)
        if snapshot
        else api.instance_path(instance)
    )
    found = get_or_none(api, url)
    if found is None:
        raise APINotFoundException(
            error=f"copy source {what!r} does not exist on {api.display_endpoint}"
        )
    return list((found.metadata or {}).get("profiles") or [])


def _plan_instance_create(api, name, spec):
    source, profiles, status, target = spec.source, spec.profiles, spec.status, spec.target
    config, devices = spec.managed_config, spec.devices
    plan = Plan(name)
    if (
        isinstance(source, dict)
        and source.get("type", "image") == "image"
        and not source.get("server")
        and declared_fingerprint(api, source) is False
    ):
        raise ValueError(f"image {source_label(source)!r} does not exist on {api.display_endpoint}")
    if profiles is not None:
        check_profiles_exist(api, profiles)
    elif isinstance(source, dict) and source.get("type") == "copy":
        profiles = copied_profiles(api, source)
    body = {
        "name": name,
        "type": spec.instance_type,
        "source": instance_source(api, source),
        "ephemeral": bool(spec.ephemeral),
    }
    if config:
        body["config"] = config
    if devices:
        body["devices"] = devices
    if profiles is not None:
        body["profiles"] = profiles
    if spec.description is not None:
        body["description"] = spec.description
    url = api.instances_collection
    if target:
        url += "?" + urllib.parse.urlencode({"target": target})
    created = {k: v for k, v in body.items() if k not in ("source", "ephemeral")}
    created["source"] = source_label(source) if source else "none"
    if spec.ephemeral:
        created["ephemeral"] = True
    if target:
        created["target"] = target
    plan.add("instance", None, created)
    plan.writes.append(
        Write(
            "POST",
            url,
            body,
            keys=("instance",),
            explain=explain_start_failure(name, spec.instance_type),
        )
    )
    if status and status != "Stopped":
        started = plan_instance_status(api, name, status, timeout=spec.timeout, current="Stopped")
        plan.writes.extend(started.writes)
        plan.add("status", None, status)
    return plan


def _plan_instance_update(api, container, spec):
    config, devices, profiles = spec.managed_config, spec.devices, spec.profiles
    purge_config, purge_devices = spec.purge_config, spec.purge_devices
    status, target, timeout = spec.status, spec.target, spec.timeout
    current = container.metadata
    name = current["name"]
    plan = Plan(name)
    declared = {"ephemeral": spec.ephemeral}
    if config is not None or purge_config:
        declared["config"] = config or {}
    if devices is not None or purge_devices:
        declared["devices"] = devices or {}
    if profiles is not None:
        declared["profiles"] = profiles
    if spec.description is not None:
        declared["description"] = spec.description
    update = plan_update(
        api.instance_path(name), current, container.etag, declared, purge_config, purge_devices
    )
    if "profiles" in update.changes:
        check_profiles_exist(api, profiles)
    plan.extend(update)

    note = source_note(api, current, spec.source)
    if note:
        plan.notes.append(note)
    if current.get("type") and current["type"] != spec.instance_type:
        plan.notes.append(
            "{} is a {}, not a {} as declared; it is left as it is.".format(
                name, current["type"], spec.instance_type
            )
        )
    location = current.get("location")
    moving = bool(target and location not in (None, "", "none") and location != target)
    if moving and not spec.migrate:
        plan.notes.append(
            f"{name} is on cluster member {location}, not {target} as declared; it is not "
            "moved (migrate: True moves it)."
        )

    now = planning_status(current.get("status"))
    final = status or now
    if moving and spec.migrate and now != "Stopped" and final != "Stopped":
        raise ValueError(
            f"{name} is {now} on cluster member {location}; it must be stopped to move to {target} "
            "(declare status: Stopped, or stop it first)"
        )
    if moving and spec.migrate and now == "Stopped":
        plan.extend(plan_instance_move(api, name, location, target))
    if status:
        plan.extend(plan_instance_status(api, name, status, timeout=timeout, current=now))
    if moving and spec.migrate and now != "Stopped":  # stopped just above
        plan.extend(plan_instance_move(api, name, location, target))
    changed = (update.changes.get("config") or {}).get("new") or {}
    pending = restart_needed(changed)
    if pending and now in ("Running", "Frozen") and final != "Stopped":
        if spec.restart_on_change and final == "Running":
            plan.writes.append(_restart_write(api, name, timeout))
            plan.add("restarted", False, True)
            plan.notes.append("Restarted to apply {}.".format(", ".join(pending)))
        else:
            plan.notes.append(
                "A restart is pending: {} only take(s) effect when {} restarts{}.".format(
                    ", ".join(pending),
                    name,
                    "" if final == "Frozen" else " (restart_on_change: True does it)",
                )
            )
    return plan


# -- instances


def instance_list(api, recursion=0):
    """Instance names, or (``recursion`` 1 or 2) LXD's instance objects."""
    return list_collection(api, api.instances_collection, recursion)


def instance_state(api, name):
    """``GET .../state``'s metadata (status, processes, memory, network...), or False."""
    result = get_or_none(api, api.instance_path(check_name(name, "name"), "state"))
    return result.metadata if result else False


def instance_source(api, source):
    """The ``source`` of a new instance.

    None: no rootfs (``{"type": "none"}``); a dict: LXD's source as it is (a remote
    image, a copy...); a string: a local image alias, else a fingerprint, checked on the
    server (:class:`APINotFoundException` naming it when neither exists).
    """
    if source is None or source == "":
        return {"type": "none"}
    if isinstance(source, dict):
        if not source.get("type"):
            raise ValueError("source must have a 'type' (image, none, copy, migration)")
        return dict(source)
    source = check_name(source, "source")
    if source in image_alias_table(api):  # the run's table: no request of its own
        return {"type": "image", "alias": source}
    image = image_get(api, source)
    if image:
        return {"type": "image", "fingerprint": image.metadata["fingerprint"]}
    raise APINotFoundException(
        error=f"no image alias or fingerprint {source!r} on {api.display_endpoint}"
    )


def instance_create(
    api,
    name,
    source=None,
    config=None,
    devices=None,
    profiles=None,
    instance_type="container",
    ephemeral=False,
    description=None,
    target=None,
):
    """Create an instance (waiting for it) and return its metadata.

    ``source`` is an image alias or fingerprint, LXD's source dict, or None (empty);
    ``instance_type`` is ``container`` or ``virtual-machine``; ``target`` a cluster
    member. Raises :class:`APIConflictException` when the name is taken.
    """
    name = validate_instance_name(check_name(name, "name"))
    if instance_type not in INSTANCE_TYPES:
        raise ValueError(
            "unknown instance type {!r}; choose {}".format(
                instance_type, " or ".join(INSTANCE_TYPES)
            )
        )
    if profiles is not None and not isinstance(profiles, (list, tuple)):
        raise ValueError(f"profiles must be a list of profile names, not {profiles!r}")
    body = {
        "name": name,
        "type": instance_type,
        "source": instance_source(api, source),
        "config": lxd_config(config),
        "devices": lxd_devices(devices),
        "ephemeral": bool(ephemeral),
    }
    if profiles is not None:
        body["profiles"] = [str(p) for p in profiles]
    if description is not None:
        body["description"] = str(description)
    params = {"target": str(target)} if target else None
    taken = f"instance {name!r} already exists"
    # Incus reports a taken name as a failed operation, not a conflict: ask first.
    if get_or_none(api, api.instance_path(name)) is not None:
        raise APIConflictException(
            method="POST", url=api.absolute_url(api.instances_collection), error=taken
        )
    try:
        api.post(api.instances_collection, json=body, params=params).wait()
    except APIConflictException as exc:
        raise reword(exc, taken) from None
    return api.get(api.instance_path(name)).metadata


def instance_delete(api, name, force=False):
    """Delete an instance; True, or False when it does not exist.

    A running (or frozen) instance is refused with :class:`APIConflictException` unless
    ``force``, which kills it first (as ``lxc delete --force``).
    """
    container = instance_get(api, check_name(name, "name"))
    if not container:
        return False
    status = container.metadata.get("status")
    if status != "Stopped":
        if not force:
            raise APIConflictException(
                method="DELETE",
                url=api.absolute_url(api.instance_path(name)),
                error=(
                    f"instance {name!r} is {status}; stop it first, or pass force=True to kill it"
                ),
            )
        Write(
            "PUT",
            api.instance_path(name, "state"),
            {"action": "stop", "force": True, "timeout": -1},
        ).send(api)
    Write("DELETE", api.instance_path(name)).send(api)
    return True


def instance_action(api, name, action, timeout=30, force=False, instance=None):
    """Start, stop, restart, freeze or unfreeze an instance.

    Returns True when the status changed, False when it already was what ``action``
    leads to (start of a Running one...). ``stop`` is a clean shutdown that fails after
    ``timeout`` seconds unless ``force`` (a kill). ``start`` of a Frozen instance
    unfreezes it; ``stop`` of a Frozen one unfreezes then stops it. Freezing or
    unfreezing a Stopped instance, or restarting one, raises
    :class:`APIConflictException` naming its status. ``instance``: its
    :class:`lxdapi.APIResult` when the caller has just read it (None: read here).
    """
    name = check_name(name, "name")
    if action not in INSTANCE_ACTIONS:
        raise ValueError(
            "unknown action {!r}; choose one of {}".format(action, ", ".join(INSTANCE_ACTIONS))
        )
    timeout = check_seconds(timeout)
    if instance is None:
        instance = api.get(api.instance_path(name))
    current = planning_status(instance.metadata.get("status"))
    url = api.absolute_url(api.instance_path(name, "state"))
    refused = {
        ("restart", "Stopped"): "it is Stopped; start it instead",
        ("freeze", "Stopped"): "it is Stopped; start it first",
        ("unfreeze", "Stopped"): "it is Stopped, not Frozen",
    }.get((action, current))
    if refused or current not in STATUSES:
        raise APIConflictException(
            method="PUT",
            url=url,
            error="cannot {} instance {!r}: {}".format(
                action, name, refused or "it is " + str(current)
            ),
        )
    if action == "restart":
        body = {"action": "restart", "timeout": timeout, "force": bool(force)}
        Write(
            "PUT",
            api.instance_path(name, "state"),
            body,
            wait_timeout=timeout + 30,
            explain=explain_start_failure(name),
        ).send(api)
        return True
    status = {"start": "Running", "unfreeze": "Running", "stop": "Stopped", "freeze": "Frozen"}[
        action
    ]
    return plan_instance_status(
        api, name, status, force=force, timeout=timeout, current=current
    ).apply(api)


def instance_config_get(api, name, key=None, expanded=False):
    """An instance's ``config`` (``expanded_config`` with ``expanded``), or one key's
    value (None when unset); False when the instance does not exist."""
    container = instance_get(api, check_name(name, "name"))
    if not container:
        return False
    config = container.metadata.get("expanded_config" if expanded else "config") or {}
    return dict(config) if key is None else config.get(str(key))


def plan_instance_config(api, name, config=None, unset=()):
    """The :class:`Plan` of one PATCH (with If-Match) that sets ``config`` keys and
    removes the ``unset`` ones; changes are ``{key: {old, new}}``, new None when removed.

    LXD 5.0 removes a key PATCHed to ``""``. Keys already as wanted are not written.
    """
    name = check_name(name, "name")
    want = lxd_config(config)
    unset = [str(k) for k in unset]
    both = set(want) & set(unset)
    if both:
        raise ValueError("keys both set and unset: {}".format(", ".join(sorted(both))))
    container = api.get(api.instance_path(name))
    want.update({key: "" for key in unset})
    # plan_update: the one PATCH path (If-Match, and the description LXD 5.0 would drop)
    plan = plan_update(
        api.instance_path(name), container.metadata, container.etag, {"config": want}
    )
    plan.name = name
    config = plan.changes.pop("config", {"old": {}, "new": {}})
    for key, new in config["new"].items():
        plan.add(key, config["old"][key], new or None)
    return plan


def plan_instance_devices(api, name, devices=None, remove=()):
    """The :class:`Plan` of one write (with If-Match) that sets instance ``name``'s own
    ``devices`` (each given device replaced whole) and removes those named in ``remove``
    (its other devices kept): a PATCH, or a PUT of the writable fields when one goes.
    Changes are ``{"devices": {old, new}}``; none (nothing written) when they are so."""
    name = check_name(name, "name")
    want = lxd_devices(devices or {})
    remove = [str(d) for d in remove]
    both = set(want) & set(remove)
    if both:
        raise ValueError("devices both set and removed: {}".format(", ".join(sorted(both))))
    container = api.get(api.instance_path(name))
    have = dict(container.metadata.get("devices") or {})
    declared = {k: v for k, v in have.items() if k not in remove}
    declared.update(want)
    plan = plan_update(
        api.instance_path(name),
        container.metadata,
        container.etag,
        {"devices": declared},
        purge_devices=True,
    )
    plan.name = name
    return plan


def instance_rename(api, name, new_name):
    """Rename instance ``name`` to ``new_name`` (LXD renames a stopped instance only);
    True if renamed, False when ``name`` is gone and ``new_name`` exists (done already).

    Raises :class:`APINotFoundException` when neither exists and
    :class:`APIConflictException` when both do (nothing is overwritten).
    """
    name, new_name = validate_instance_name(name), validate_instance_name(new_name)
    current = get_or_none(api, api.instance_path(name))
    target = get_or_none(api, api.instance_path(new_name))
    if current is None:
        if target is not None:
            return False
        raise APINotFoundException(error=f"instance {name!r} does not exist")
    if target is not None:
        raise APIConflictException(
            error=f"instance {new_name!r} already exists; {name!r} was not renamed"
        )
    api.post(api.instance_path(name), json={"name": new_name}).wait()
    return True


# -- exec


def exec_body(command, environment=None, cwd=None, user=None, group=None):
    """The body of ``POST .../exec`` in record-output mode (no websockets, no shell).

    ``command`` must be an argv list: a string is refused, since nothing runs through a
    shell (use ``["sh", "-c", "..."]`` for one).
    """
    if isinstance(command, (str, bytes)):
        raise ValueError(
            f"command must be an argv list such as ['ls', '-l'], not the string {command!r}: "
            "nothing runs through a shell (use ['sh', '-c', '...'] for one)"
        )
    if not isinstance(command, (list, tuple)) or not command:
        raise ValueError(f"command must be a non-empty argv list, not {command!r}")
    for arg in command:
        if isinstance(arg, (dict, list, tuple)) or arg is None:
            raise ValueError(f"each argument of command must be a string, not {arg!r}")
    body = {
        "command": [str(arg) for arg in command],
        "record-output": True,
        "wait-for-websocket": False,
        "interactive": False,
    }
    if environment is not None:
        body["environment"] = lxd_config(environment, "env")
    if cwd is not None:
        body["cwd"] = check_absolute_path(cwd, "cwd")
    if user is not None:
        body["user"] = check_id(user, "user")
    if group is not None:
        body["group"] = check_id(group, "group")
    return body


#: Bytes of a command's stdout, and of its stderr, that :func:`instance_exec` keeps in
#: memory from their start, and as many from their end (``output_cap``): what lies
#: between is left out, a line in its place says how much, and ``stdout_omitted`` /
#: ``stderr_omitted`` count it. ``output_file`` keeps the whole of it, on disk.
EXEC_OUTPUT_CAP = 1024 * 1024


class HeadTail:
    """The start and the end of a stream (``cap`` bytes each), and its ``size``: fed
    chunk by chunk (:meth:`add`), it never holds more than three times ``cap``."""

    def __init__(self, cap):
        self.cap, self.size = cap, 0
        self.head, self.tail = bytearray(), bytearray()

    def add(self, chunk):
        self.size += len(chunk)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk and self.cap:
            self.tail += chunk
            if len(self.tail) > 2 * self.cap:
                del self.tail[: -self.cap]

    def kept(self, what):
        """``(bytes, omitted)``: the whole stream when it fit, else its head, a line
        saying how many bytes of ``what`` were left out, and its tail."""
        tail = bytes(self.tail[-self.cap :]) if self.cap else b""
        omitted = self.size - len(self.head) - len(tail)
        if not omitted:
            return bytes(self.head) + tail, 0
        words = f"{size_words(omitted)} of {what} left out here: output_file keeps all of it"
        line = f"\n[... {words} ...]\n"
        return bytes(self.head) + line.encode() + tail, omitted


def check_output_cap(cap):
    """``cap`` (bytes, a whole number >= 0; None: :data:`EXEC_OUTPUT_CAP`) as an int;
    ValueError otherwise."""
    if cap is None:
        return EXEC_OUTPUT_CAP
    if isinstance(cap, str) and cap.strip().isdigit():
        cap = int(cap)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
        raise ValueError(f"output_cap must be a number of bytes (a whole number >= 0), not {cap!r}")
    return cap


def read_exec_log(api, url, cap=EXEC_OUTPUT_CAP, what="stdout", partial=None):
    """Read one recorded exec output, streamed in chunks, and delete it from the server;
    return ``(bytes, omitted)``: its first and last ``cap`` bytes with a line between
    them saying how many bytes were left out (``omitted``; 0 and the whole output when
    it fit). ``partial``, a :class:`lxdapi_files.PartialFile`, gets the whole of it."""
    kept = HeadTail(cap)
    if not url:
        return kept.kept(what)
    response = api.get(url, stream=True).response
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            kept.add(chunk)
            if partial is not None:
                partial.write(chunk)
    finally:
        response.close()
    try:
        api.delete(url)
    except APIException as exc:  # the output was read; a leftover log is harmless
        log.debug("lxdapi: could not delete exec log %s: %s", url, exc)
    return kept.kept(what)


def instance_exec(
    api,
    name,
    command,
    environment=None,
    cwd=None,
    user=None,
    group=None,
    timeout=None,
    output_cap=None,
    output_file=None,
):
    """Run ``command`` (an argv list) in a running instance and wait for it.

    Returns ``{"retcode": int, "stdout": bytes, "stderr": bytes}``; the recorded output
    logs are read streamed and deleted from the server once read. Of each output, the
    first and the last ``output_cap`` bytes are kept (default :data:`EXEC_OUTPUT_CAP`);
    past that, a line between them says how much was left out, and the return holds
    ``stdout_omitted`` (or ``stderr_omitted``): the bytes left out. ``output_file``, an
    absolute path in an existing local folder, gets the whole stdout and
    ``output_file + ".stderr"`` the whole stderr (each written beside under a temporary
    name, 0600, renamed when complete), and the return their paths, ``stdout_file`` and
    ``stderr_file``. A command that cannot start (not found) raises
    :class:`APIException` naming it; one that has not exited after ``timeout`` seconds
    (default: the API's ``wait_timeout``) :class:`APITimeout`.
    """
    name = check_name(name, "name")
    body = exec_body(command, environment, cwd, user, group)
    cap = check_output_cap(output_cap)
    if output_file is not None:
        output_file = check_local_dest(output_file, "output_file")
        check_local_dest(output_file + ".stderr", "output_file")
    try:
        op = api.post(api.instance_path(name, "exec"), json=body).wait(timeout)
    except APITimeout as exc:
        raise reword(
            exc,
            "{} did not exit within {:g} s in {} (it may still be running there: a "
            "recorded exec cannot be cancelled)".format(
                body["command"], api.wait_timeout if timeout is None else timeout, name
            ),
        ) from None
    except APIException as exc:
        raise reword(exc, "exec {} in {}: {}".format(body["command"], name, exc.error)) from None
    meta = (op.metadata or {}).get("metadata") or {}
    output = meta.get("output") or {}
    out = {"retcode": meta.get("return")}
    files = {}
    try:
        for key, fd, suffix in (("stdout", "1", ""), ("stderr", "2", ".stderr")):
            if output_file is not None:
                files[key] = PartialFile(output_file + suffix, ".lxdapi-exec-")
            out[key], omitted = read_exec_log(api, output.get(fd), cap, key, files.get(key))
            if omitted:
                out[key + "_omitted"] = omitted
        for key, partial in files.items():
            partial.commit()
            out[key + "_file"] = partial.dest
    except BaseException:
        for partial in files.values():
            partial.discard()
        raise
    return out


def command_argv(command, what="command"):
    """An argv list from a list, or from a string split as a POSIX shell would split its
    words (``shlex.split``: quotes group words; nothing else of a shell applies, since
    no shell runs). ValueError for anything else."""
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"{what} {command!r} cannot be split into words: {exc}") from None
    elif isinstance(command, (list, tuple)):
        argv = list(command)
    else:
        raise ValueError(f"{what} must be an argv list or a string, not {type(command).__name__}")
    if not argv or not all(
        isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in argv
    ):
        raise ValueError(f"{what} must be a non-empty list of words, not {command!r}")
    return [str(a) for a in argv]


def check_paths(paths, what):
    """One absolute path or a list of them, as a list; ValueError otherwise."""
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, (list, tuple)) or not paths:
        raise ValueError(f"{what} must be an absolute path or a list of them, not {paths!r}")
    return [check_absolute_path(p, what) for p in paths]


def exec_skip_reason(api, name, onlyif=None, unless=None, creates=None, **exec_args):
    """Why a guarded command need not run in instance ``name`` (a sentence), or None when
    it must run. Salt's ``cmd.run`` guards, evaluated in the instance, in Salt's order:
    ``onlyif`` (an argv: run only if it exits 0), ``unless`` (skip if it exits 0),
    ``creates`` (paths: skip if they all exist). ``exec_args``: ``environment``, ``cwd``,
    ``user``, ``group`` for the guard commands.
    """
    if onlyif is not None:
        argv = command_argv(onlyif, "onlyif_exec")
        code = instance_exec(api, name, argv, **exec_args)["retcode"]
        if code != 0:
            return f"onlyif_exec {argv} exited {code}."
    if unless is not None:
        argv = command_argv(unless, "unless_exec")
        if instance_exec(api, name, argv, **exec_args)["retcode"] == 0:
            return f"unless_exec {argv} exited 0."
    if creates is not None:
        paths = check_paths(creates, "creates_path")
        if all(instance_file_body(api, name, p) is not None for p in paths):
            return "{} already exist{}.".format(", ".join(paths), "s" if len(paths) == 1 else "")
    return None


def check_retcodes(codes):
    """The exit codes that count as success (``[0]`` for None); ValueError otherwise."""
    if codes is None:
        return [0]
    if isinstance(codes, int) and not isinstance(codes, bool):
        codes = [codes]
    if (
        not isinstance(codes, (list, tuple))
        or not codes
        or not all(isinstance(c, int) and not isinstance(c, bool) for c in codes)
    ):
        raise ValueError(f"success_retcodes must be a list of exit codes, not {codes!r}")
    return list(codes)


class CommandFailed(APIException):
    """A command run in an instance exited with a code that is not a success code."""


class ExecPlan(Plan):
    """The plan of a command to run in an instance (``container_exec``).

    ``argv``, ``instance`` and ``status`` (the instance's, when the plan was made) say what
    and where; ``skip_reason`` why it need not run (then it has no write). Its changes,
    ``{retcode, stdout, stderr}``, are known only once it ran: :meth:`apply` runs it and
    raises :class:`CommandFailed` when the exit code is not one of ``success_codes``.
    """

    def __init__(self, api, instance, argv, exec_args, success_codes, status, skip_reason=None):
        super().__init__(instance)
        self.instance, self.argv, self.status = instance, argv, status
        self.exec_args, self.success_codes = exec_args, success_codes
        self.skip_reason = skip_reason
        if skip_reason is None:
            body_args = {k: v for k, v in exec_args.items() if k != "timeout"}
            self.writes.append(
                Write(
                    "POST",
                    api.instance_path(instance, "exec"),
                    exec_body(argv, **body_args),
                    keys=("retcode",),
                )
            )

    def apply(self, api):
        self.sent = []
        out = instance_exec(api, self.instance, self.argv, **self.exec_args)
        self.sent = list(self.writes)
        self.changes = {
            "retcode": out["retcode"],
            "stdout": out["stdout"].decode("utf-8", "replace"),
            "stderr": out["stderr"].decode("utf-8", "replace"),
        }
        for key in ("stdout_omitted", "stderr_omitted"):
            if key in out:
                self.changes[key] = out[key]
        if out["retcode"] not in self.success_codes:
            raise CommandFailed(
                error="{} in {!r} exited {}: {}".format(
                    self.argv,
                    self.instance,
                    out["retcode"],
                    self.changes["stderr"].strip() or "(no output on stderr)",
                )
            )
        return True

    def applied_changes(self):
        return dict(self.changes)


def plan_instance_exec(
    api,
    instance,
    command,
    onlyif=None,
    unless=None,
    creates=None,
    success_retcodes=None,
    **exec_args,
):
    """The :class:`ExecPlan` of ``command`` in ``instance``, its guards evaluated there.

    ``command``, ``onlyif`` and ``unless``: argv lists or strings (see
    :func:`command_argv`); ``creates``: absolute paths; ``exec_args``: ``environment``,
    ``cwd``, ``user``, ``group``, and ``timeout`` (seconds each command may run before it
    fails; None: the API's ``wait_timeout``). Everything is checked (ValueError) before
    anything runs;
    the guards run (they only read) only when the instance is Running: one that is not
    gives a plan with a write whose ``status`` says so, for the caller to refuse or, in
    test mode, to predict.
    """
    argv = command_argv(command)
    timeout = exec_args.pop("timeout", None)
    exec_body(argv, **exec_args)  # checks env, cwd, user and group up front
    if timeout is not None:
        exec_args["timeout"] = check_duration(timeout, "timeout")
    for what, guard in (("onlyif_exec", onlyif), ("unless_exec", unless)):
        if guard is not None:
            command_argv(guard, what)
    if creates is not None:
        check_paths(creates, "creates_path")
    codes = check_retcodes(success_retcodes)
    state = instance_state(api, instance)
    status = planning_status(state.get("status")) if state else None
    reason = None
    if status == "Running":
        reason = exec_skip_reason(api, instance, onlyif, unless, creates, **exec_args)
    return ExecPlan(api, instance, argv, exec_args, codes, status, reason)


# -- snapshots


def snapshot_path(api, name, snapshot=None):
    """Relative URL of an instance's snapshots, or of one snapshot."""
    parts = ["snapshots"] if snapshot is None else ["snapshots", snapshot]
    return api.instance_path(name, *parts)


def snapshot_list(api, name, recursion=0):
    """An instance's snapshot names (or objects with ``recursion``), or False if it is
    absent."""
    name = check_name(name, "name")
    try:
        found = list_collection(api, snapshot_path(api, name), recursion)
    except APINotFoundException:
        return False
    # Incus lists no snapshots, rather than none found, for an instance that is absent.
    if not found and get_or_none(api, api.instance_path(name)) is None:
        return False
    return found


def snapshot_create(api, name, snapshot=None, stateful=False):
    """Snapshot an instance; return the snapshot's name (LXD picks ``snapN`` when None).

    Raises :class:`APIConflictException` when the snapshot exists.
    """
    name = check_name(name, "name")
    before = set(list_collection(api, snapshot_path(api, name)))
    body = {"stateful": bool(stateful)}
    if snapshot is not None:
        snapshot = check_name(snapshot, "snapshot")
        if "/" in snapshot:
            raise ValueError(f"snapshot names cannot contain '/': {snapshot!r}")
        if snapshot in before:
            raise APIConflictException(
                method="POST",
                url=api.absolute_url(snapshot_path(api, name)),
                error=f"snapshot {snapshot!r} of {name!r} already exists",
            )
        body["name"] = snapshot
    Write("POST", snapshot_path(api, name), body).send(api)
    if snapshot is None:
        created = set(list_collection(api, snapshot_path(api, name))) - before
        snapshot = sorted(created)[0] if created else None
    return snapshot


def snapshot_restore(api, name, snapshot, stateful=False):
    """Restore an instance to one of its snapshots (the instance's config and rootfs)."""
    name = check_name(name, "name")
    snapshot = check_name(snapshot, "snapshot")
    if not get_or_none(api, snapshot_path(api, name, snapshot)):
        raise APINotFoundException(
            method="PUT",
            url=api.absolute_url(api.instance_path(name)),
            error=f"instance {name!r} has no snapshot {snapshot!r}",
        )
    Write("PUT", api.instance_path(name), {"restore": snapshot, "stateful": bool(stateful)}).send(
        api
    )
    return True


def snapshot_delete(api, name, snapshot):
    """Delete a snapshot; True, or False when it (or the instance) does not exist."""
    name = check_name(name, "name")
    snapshot = check_name(snapshot, "snapshot")
    try:
        Write("DELETE", snapshot_path(api, name, snapshot)).send(api)
    except APINotFoundException:
        return False
    return True


def instance_get(api, name, listing=None):
    """The :class:`lxdapi.APIResult` of instance ``name``, or False when it does not exist.

    ``listing``: an :class:`lxdapi_batch.InstanceListing` read through ``api`` (one
    listing of the run's instances): what it shows of the instance (a
    :class:`lxdapi_batch.ListedInstance`, which has no ETag; False when it does not show
    it) serves instead of a GET, unless the instance was written to since it was read.
    """
    listed = None if listing is None else listing.lookup(name)
    if listed is not None:
        return listed  # what the listing shows, False for absent
    return get_or_none(api, api.instance_path(name)) or False


#: The state actions that take an instance from one status to another.
STATUS_STEPS = {
    ("Stopped", "Running"): ("start",),
    ("Frozen", "Running"): ("unfreeze",),
    ("Running", "Stopped"): ("stop",),
    ("Frozen", "Stopped"): ("unfreeze", "stop"),
    ("Stopped", "Frozen"): ("start", "freeze"),
    ("Running", "Frozen"): ("freeze",),
}


def plan_instance_status(api, name, status, restart=False, force=False, timeout=30, current=None):
    """The :class:`Plan` that brings instance ``name`` to ``status``.

    ``status`` is Running, Stopped or Frozen (any case). Running unfreezes a Frozen
    instance; Stopped is a clean shutdown within ``timeout`` seconds (a kill only with
    ``force``); Frozen starts a stopped instance and freezes it. ``restart`` restarts one
    that is already Running (or Frozen) when the status is Running. ``current`` is the
    instance's status when the caller knows it (``Stopped`` for an instance the same plan
    creates); None reads the instance, and ValueError says when it does not exist.
    """
    name = validate_instance_name(name)
    status = normalize_status(status)
    check_bool(restart, "restart")
    check_bool(force, "force")
    timeout = check_seconds(timeout)
    if current is None:
        container = instance_get(api, name)
        if not container:
            raise ValueError(f"container {name!r} does not exist on {api.display_endpoint}")
        current = planning_status(container.metadata.get("status"))
    plan = Plan(name)
    if current != status:
        url = api.instance_path(name, "state")
        for action in STATUS_STEPS.get((current, status), ()):
            body = {"action": action, "timeout": timeout}
            if action == "stop":
                body["force"] = force
            explain = explain_start_failure(name) if action == "start" else None
            plan.writes.append(
                Write(
                    "PUT", url, body, wait_timeout=timeout + 30, keys=("status",), explain=explain
                )
            )
        plan.add("status", current, status)
    if restart and status == "Running" and current in ("Running", "Frozen"):
        plan.writes.append(_restart_write(api, name, timeout))
        plan.add("restarted", False, True)
    plan.recover = recover_instance(
        name,
        lambda api: plan_instance_status(api, name, status, restart, force, timeout),
        timeout,
    )
    return plan


def plan_instance_absent(api, name, force=False, timeout=30, current=None):
    """The :class:`Plan` that stops instance ``name`` (cleanly, unless ``force``) and
    deletes it, if it exists. ``current``: its :class:`lxdapi.APIResult` (or False) when
    the caller has read it; None reads it."""
    name = validate_instance_name(name)
    check_bool(force, "force")
    timeout = check_seconds(timeout)
    container = instance_get(api, name) if current is None else current
    if not container:
        return Plan(name)
    status = planning_status(container.metadata.get("status"))
    plan = plan_instance_status(api, name, "Stopped", force=force, timeout=timeout, current=status)
    plan.add("instance", {"name": name, "status": status}, None)
    plan.writes.append(Write("DELETE", api.instance_path(name), keys=("instance",)))
    return plan
