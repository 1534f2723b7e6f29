"""Profiles, networks, storage pools and volumes, projects: one table of kinds and one
reconcile for all; snapshots of instances.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import urllib.parse

from lxdapi import (
    APIConflictException,
    APIException,
    APINotFoundException,
    APIPreconditionFailed,
    get_or_none,
    name_from_url,
)
from lxdapi_files import require_instance
from lxdapi_kinds import UPDATE_PUT, resource_kind
from lxdapi_member_config import (
    check_member_config,
    plan_cluster_create,
    plan_cluster_resume,
    plan_member_config,
    server_clustered,
    split_member_config,
)
from lxdapi_plans import Plan, Write, plan_update
from lxdapi_values import check_name, check_names, lxd_config, lxd_devices

# ---- resources ----
#
# Profiles, networks, storage pools, storage volumes and projects differ only in their URL
# and their fields, so one registry (lxdapi_kinds.KINDS) and one reconcile serve them all:
# GET -> POST when absent, PATCH with If-Match when the declared fields drifted (through
# plan_update), nothing when equal. Fields that LXD only takes at creation (a pool's
# driver, a network's type, a volume's content type) are reported in ``plan.notes`` when
# they differ, never acted on. Snapshots and files inside instances follow.


class ResourceInUse(APIException):
    """A profile, network, pool, volume or project still in use was not deleted.

    ``kind``, ``name`` and ``used_by`` (the URLs of what uses it, as LXD lists them).
    """

    def __init__(self, kind, name, used_by):
        self.kind = kind
        self.name = name
        self.used_by = list(used_by)
        super().__init__(
            error="{} {!r} is in use by {}; it was not deleted".format(
                resource_kind(kind).label, name, ", ".join(self.used_by)
            )
        )


def member_query(spec, target):
    """``?target=MEMBER`` for a kind whose config is per cluster member (networks, storage
    pools), or ""; ValueError for a kind that has none."""
    if target is None:
        return ""
    if not spec.member_specific:
        raise ValueError(f"a {spec.label} takes no target argument")
    return "?" + urllib.parse.urlencode({"target": check_name(target, "target")})


def resource_collection(api, kind, **url_params):
    """Relative URL of a kind's collection (``storage-pools/POOL/volumes/custom``).

    ``target`` (networks, storage pools): the cluster member whose own config is meant.
    """
    spec = resource_kind(kind)
    query = member_query(spec, url_params.pop("target", None))
    params = dict(spec.defaults)
    params.update({k: v for k, v in url_params.items() if v is not None})
    wanted = [s[1:-1] for s in spec.collection.split("/") if s.startswith("{")]
    unexpected = set(url_params) - set(wanted)
    if unexpected:
        raise ValueError(
            "a {} takes no {} argument".format(spec.label, ", ".join(sorted(unexpected)))
        )
    parts = []
    for segment in spec.collection.split("/"):
        if segment.startswith("{"):
            key = segment[1:-1]
            value = params.get(key)
            if not isinstance(value, str) or not value:
                raise ValueError(f"a {spec.label} needs {key}= (a non-empty string)")
            parts.append(value)
        else:
            parts.append(segment)
    check_parent(api, spec, params)
    return api.path(*parts) + query


def _type_words(types):
    """``("ovn",)`` -> ``an OVN``; ``("bridge", "ovn")`` -> ``a bridge or OVN``."""
    words = " or ".join("OVN" if t == "ovn" else t for t in types)
    return ("an " if words[:1] in "AEIOUaeiou" else "a ") + words


def check_parent(api, spec, params):
    """Refuse what the server cannot serve before anything is written: a kind whose API
    extension it lacks (:class:`APIException`), a kind under a parent of another
    ``type`` (ValueError: network peers need an OVN network). The parent's type is read
    once per API (``api.read_cache``, which a write under the parent's collection
    forgets); a parent that does not exist passes: LXD's own 404 says so, and nothing is
    under it."""
    if spec.extension and not api.has_extension(spec.extension):
        raise APIException(
            error=(
                f"{spec.label}s need the {spec.extension} API extension, which "
                f"{api.server_label} at {api.display_endpoint} lacks"
            )
        )
    if not spec.parent_types:
        return
    segments = spec.parent.split("/")
    url = api.path(*(params[s[1:-1]] if s.startswith("{") else s for s in segments))
    cache_key = (segments[0], "type", url)
    held_type = api.read_cache.get(cache_key)
    if held_type is None:
        current = get_or_none(api, url)
        if current is None:
            return
        held_type = (current.metadata or {}).get("type") or ""
        api.read_cache[cache_key] = held_type
    if held_type not in spec.parent_types:
        raise ValueError(
            "{}s need {} {}; {!r} is {} {}".format(
                spec.label,
                _type_words(spec.parent_types),
                spec.parent_label,
                params[spec.parent_label],
                _type_words((held_type or "unknown",)),
                spec.parent_label,
            )
        )


def resource_key(spec, name):
    """The key of one resource as LXD looks it up: its name, or what the kind's
    ``check_key`` makes of it (a forward's listen address, canonical); ValueError."""
    if spec.check_key is not None:
        return spec.check_key(name)
    return check_name(name, spec.label)


def resource_url(api, kind, name, **url_params):
    """Relative URL of one resource of ``kind`` (its name quoted; ``target`` as above)."""
    spec = resource_kind(kind)
    name = resource_key(spec, name)
    query = member_query(spec, url_params.pop("target", None))
    return resource_collection(api, kind, **url_params) + "/" + api.path(name) + query


def _resource_declared(spec, declared):
    """The declared fields, validated and as LXD stores them (None means: not managed)."""
    declared = {k: v for k, v in (declared or {}).items() if v is not None}
    allowed = set(spec.fields) | set(spec.create_only)
    unknown = set(declared) - allowed
    if unknown:
        raise ValueError(
            "a {} has no field {}; it takes {}".format(
                spec.label, ", ".join(sorted(unknown)), ", ".join(sorted(allowed))
            )
        )
    want = {}
    for key, value in declared.items():
        if key == "config":
            want[key] = lxd_config(value)
        elif key == "devices":
            want[key] = lxd_devices(value)
        elif key in spec.lists:
            want[key] = rule_list(value, key, spec.list_item)
        elif key in spec.name_sets:
            want[key] = sorted(set(check_names(value, key))) if value else []
        elif isinstance(value, (dict, list, bool)):
            raise ValueError(f"{key} must be a string, not {type(value).__name__}")
        else:
            want[key] = str(value)
    return spec.check_declared(want) if spec.check_declared is not None else want


def resource_declared(kind, declared):
    """The declared fields of a resource of ``kind``, checked and as LXD stores them
    (what :func:`plan_resource_present` compares; None means: not managed); ValueError
    for an unknown field or a bad value."""
    return _resource_declared(resource_kind(kind), declared)


def _rule(item, what):
    """One ACL rule or DNS record entry as LXD 5.0 returns it: its set fields as strings
    (a record's ``ttl`` as a number), empty ones left out."""
    if not isinstance(item, dict):
        raise ValueError(f"each item of {what} must be a mapping, not {item!r}")
    rule = {}
    for key, value in item.items():
        if value is None or value == "":
            continue
        if isinstance(value, (dict, list, bool)):
            raise ValueError(f"{what}: {key} must be a string or a number, not {value!r}")
        if key == "ttl":
            try:
                rule[key] = int(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{what}: ttl must be a number of seconds, not {value!r}"
                ) from None
        else:
            rule[str(key)] = str(value)
    return rule


def rule_list(value, what, item=None):
    """A list of ACL rules (``ingress``, ``egress``) or record ``entries``, as LXD stores
    them, compared and written whole, in order; ValueError naming ``what``. ``item``: a
    kind's own ``list_item`` (a forward's port specs), instead of the rule comparison."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{what} must be a list of mappings, not {value!r}")
    return [(item or _rule)(entry, what) for entry in value]


def _plan_create_unchecked(api, kind, name, want, url_params):
    """The writes that create a resource on one server, as declared (``want``), nothing
    checked: one POST, then a PUT of the fields LXD's POST ignores for the kind. See
    :func:`_plan_create_checked`, which checks first and calls this off a cluster."""
    plan = Plan(name)
    body = dict(want)
    body[resource_kind(kind).key] = resource_key(resource_kind(kind), name)
    plan.add(kind, None, name)
    for key, value in want.items():
        plan.add(key, None, value)
    plan.writes.append(Write("POST", resource_collection(api, kind, **url_params), body))
    later = {k: want[k] for k in resource_kind(kind).set_after_create if want.get(k)}
    if later:  # fields LXD's POST ignores for this kind
        plan.writes.append(Write("PUT", resource_url(api, kind, name, **url_params), later))
    return plan


def _full_config_body(current, patch, fields=("config", "description")):
    """A PUT body that keeps every config key and field LXD holds, with the patch's
    changes (``fields``: the kind's writable fields)."""
    config = dict(current.get("config") or {})
    for key, value in (patch.get("config") or {}).items():
        if value == "":
            config.pop(key, None)
        else:
            config[key] = value
    body = {"description": patch.get("description", current.get("description") or "")}
    if "config" in fields:
        body["config"] = config
    for field in fields:
        if field not in body:
            body[field] = patch[field] if field in patch else (current.get(field) or [])
    return body


def _plan_converge(api, kind, name, want, current, url, purge_config, purge_devices):
    """The plan that brings an existing resource (``current``: its APIResult) to ``want``."""
    spec = resource_kind(kind)
    meta = current.metadata or {}
    plan = Plan(name)
    if spec.unmanaged_refused and meta.get("managed") is False:
        raise ValueError(
            "network {!r} is not managed by LXD (a {} interface of the host); "
            "it cannot be configured".format(name, meta.get("type"))
        )
    for key in spec.create_only:
        if key in want and str(meta.get(key) or "") != want[key]:
            plan.notes.append(
                f"The {spec.label} {name!r} has {key} {meta.get(key)!r}, not the declared "
                f"{want[key]!r}: it can only be set at "
                "creation, so it was left as it is."
            )
    have_config = meta.get("config") or {}
    if "config" in want:
        config = dict(want["config"])
        for key in spec.create_only_config:
            if key in config and config[key] != have_config.get(key):
                plan.notes.append(
                    f"The {spec.label} {name!r} has {key} {have_config.get(key)!r}, not the "
                    f"declared {config[key]!r}: it can only be set "
                    "at creation, so it was left as it is."
                )
            if key in have_config:
                config[key] = have_config[key]  # never changed, never purged
            else:
                config.pop(key, None)
        want = dict(want, config=config)
    lists = spec.lists
    managed = {
        k: v for k, v in want.items() if k in spec.fields and k not in lists + spec.name_sets
    }
    update = plan_update(
        url, meta, current.etag, managed, purge_config, purge_devices, writable=spec.fields
    )
    patch = update.writes[0].body if update.writes else {}
    for field in lists:
        have = [(spec.list_item or _rule)(item, field) for item in meta.get(field) or []]
        if field in want and want[field] != have:
            update.add(field, have, want[field])
            patch[field] = want[field]
    for field in spec.name_sets:
        have = sorted(meta.get(field) or [])
        if field in want and want[field] != have:
            update.add(field, have, want[field])
            patch[field] = want[field]
    if patch and spec.update == UPDATE_PUT:
        update.writes = [
            Write("PUT", url, _full_config_body(meta, patch, spec.fields), etag=current.etag)
        ]
    return plan.extend(update)


def plan_resource_present(
    api,
    kind,
    name,
    declared,
    purge_config=False,
    purge_devices=False,
    member_config=None,
    planned_pools=(),
    **url_params,
):
    """The :class:`Plan` that creates or converges one profile, network, pool, volume...

    ``kind`` is a key of :data:`lxdapi_kinds.KINDS`; ``declared`` holds the managed fields
    (``config``, ``devices`` for profiles, ``description``) and the create-only ones
    (``type`` of a network, ``driver`` of a pool, ``content_type`` of a volume); a field
    that is None or missing is not managed. Declared config keys are compared as LXD
    stores them (strings); keys not declared are left alone unless ``purge_config``
    (devices: ``purge_devices``). ``url_params``: ``pool=`` and ``type=`` (default
    ``custom``) for storage volumes; ``target=`` (networks, pools) for one cluster
    member's own config of an existing one.

    Networks and pools on an LXD cluster: member-specific keys in ``config`` go to every
    member, ``member_config`` ({member: {key: value}}) sets a member's own; creation is a
    pending POST per member then the final POST, and a creation that stopped half-way is
    finished (see ``lxdapi_member_config``).

    Absent: one POST. Drifted: one PATCH with If-Match (a PUT of the whole config for a
    project). Create-only fields that differ: a note, no write. A profile's disk device
    must name a pool that exists, or one of ``planned_pools`` (created before this plan
    is applied: a preseed document's).
    Raises ValueError for bad input.
    """
    _, want, checked_member_config, url, current = _read_declared(
        api, kind, name, declared, member_config, url_params
    )
    if current is None:
        plan = _plan_create_checked(api, kind, name, want, checked_member_config, url, url_params)
    else:
        plan = _plan_existing(
            api,
            kind,
            name,
            want,
            current,
            url,
            purge_config,
            purge_devices,
            checked_member_config,
            url_params,
        )
    plan = check_device_pools(api, kind, plan, planned_pools)
    plan.recover = recover_resource(
        lambda fresh_api: plan_resource_present(
            fresh_api,
            kind,
            name,
            declared,
            purge_config=purge_config,
            purge_devices=purge_devices,
            member_config=member_config,
            planned_pools=planned_pools,
            **url_params,
        )
    )
    return plan


def recover_resource(replan):
    """The ``recover`` of a resource's plan: when its write was refused because another
    client changed the resource since it was read (an If-Match that no longer matches) or
    created it at that moment, plan again from a fresh read (``replan(api)``), once; the
    fresh plan is empty when the other client already made what is declared."""

    def recover(api, exc):
        if not isinstance(exc, (APIPreconditionFailed, APIConflictException)):
            return None
        fresh = replan(api)
        fresh.recover = None
        return fresh

    return recover


def _read_declared(api, kind, name, declared, member_config, url_params):
    """What a present or update starts from: ``(spec, want, member_config, url,
    current)``, the declared fields and member config checked, then the resource read
    (``current``: its APIResult, or None when it does not exist)."""
    spec = resource_kind(kind)
    want = _resource_declared(spec, declared)
    member_config = check_member_config(kind, member_config)
    _check_target_use(member_config, url_params)
    url = resource_url(api, kind, name, **url_params)
    return spec, want, member_config, url, get_or_none(api, url)


def _check_target_use(member_config, url_params):
    if url_params.get("target") is not None and member_config:
        raise ValueError(
            "give target (one member's own config) or member_config (each member's), not both"
        )


def _plan_create_checked(api, kind, name, want, member_config, url, url_params):
    """The plan that creates a resource that does not exist, the declaration checked
    first (no ``target``, create-only values, ``member_config`` only on a cluster): on
    every member of a cluster for networks and pools, else
    :func:`_plan_create_unchecked`."""
    spec = resource_kind(kind)
    if url_params.get("target") is not None:
        raise ValueError(
            f"the {spec.label} {name!r} does not exist; create it without target "
            "(member_config sets each cluster member's own keys)"
        )
    check_create_only_values(api, kind, want)
    if resource_kind(kind).member_specific and server_clustered(api):
        return plan_cluster_create(
            api, kind, name, want, member_config, resource_collection(api, kind, **url_params), url
        )
    _refuse_member_config(api, member_config)
    return _plan_create_unchecked(api, kind, name, want, url_params)


def _refuse_member_config(api, member_config):
    if member_config:
        raise ValueError(
            f"member_config is for LXD clusters; LXD at {api.display_endpoint} is not clustered"
        )


def _plan_existing(
    api, kind, name, want, current, url, purge_config, purge_devices, member_config, url_params
):
    """The plan that converges an existing resource; on a cluster, each member's own keys
    are compared with ``?target=`` (the untargeted GET does not show them)."""
    meta = current.metadata or {}
    config = want.get("config") or {}
    member_keys, global_config = split_member_config(kind, config)
    on_members = (
        url_params.get("target") is None
        and resource_kind(kind).member_specific
        and (member_config or member_keys or meta.get("status", "Created") != "Created")
    )
    if not (on_members and server_clustered(api)):
        _refuse_member_config(api, member_config)
        return _plan_converge(api, kind, name, want, current, url, purge_config, purge_devices)
    if meta.get("status") in ("Pending", "Errored"):
        return plan_cluster_resume(
            api,
            kind,
            name,
            want,
            member_config,
            resource_collection(api, kind, **url_params),
            url,
            meta,
        )
    if "config" in want:
        want = dict(want, config=global_config)
    plan = _plan_converge(api, kind, name, want, current, url, purge_config, purge_devices)
    members, _ = plan_member_config(api, kind, name, config, member_config, url, meta)
    # Members first: their PATCHes carry the description as it is (LXD 5.0 resets one a
    # PATCH leaves out) and do not change what the untargeted ETag covers, so the global
    # PATCH after them, which may change the description, still matches its If-Match.
    return members.extend(plan)


def resource_in_use(kind, name, current):
    """What uses a resource (``current``: its GET metadata): its ``used_by`` URLs.

    A project's own ``default`` profile does not count.
    """
    spec = resource_kind(kind)
    own = {t.format(name=name) for t in spec.own_used_by}
    return [u for u in (current.get("used_by") or []) if u not in own]


def plan_resource_absent(api, kind, name, **url_params):
    """The :class:`Plan` that deletes one resource of ``kind`` if it exists.

    Raises :class:`ResourceInUse` (listing its ``used_by``) rather than deleting a
    resource that instances, profiles or volumes still use.
    """
    url = resource_url(api, kind, name, **url_params)
    plan = Plan(name)
    current = get_or_none(api, url)
    if current is None:
        return plan
    used_by = resource_in_use(kind, name, current.metadata or {})
    if used_by:
        raise ResourceInUse(kind, name, used_by)
    plan.add(kind, name, None)
    plan.writes.append(Write("DELETE", url))
    return plan


def resource_get(api, kind, name, **url_params):
    """The :class:`APIResult` of one resource of ``kind``, or False when it is absent."""
    return get_or_none(api, resource_url(api, kind, name, **url_params)) or False


def resource_list(api, kind, recursion=False, **url_params):
    """The names of every resource of ``kind`` (with ``recursion``: their full objects)."""
    url = resource_collection(api, kind, **url_params)
    volume_type = None
    if resource_kind(kind).typed_listing:
        volume_type = url_params.get("type") or resource_kind(kind).defaults.get("type")
    if recursion:
        items = api.get(url, params={"recursion": 1}).metadata or []
        return [i for i in items if volume_type is None or i.get("type") == volume_type]
    urls = api.get(url).metadata or []
    if volume_type is not None:
        urls = [
            u
            for u in urls
            if urllib.parse.urlsplit(u).path.rstrip("/").split("/")[-2] == volume_type
        ]
    return [name_from_url(u) for u in urls]


def resource_create(api, kind, name, declared, member_config=None, **url_params):
    """Create one resource of ``kind``; return its metadata as LXD then holds it.

    ``member_config``: networks and pools on a cluster, as for
    :func:`plan_resource_present`. Raises :class:`APIConflictException` when it exists
    already (LXD 5.0 itself answers a duplicate with 400, 409 or 500 depending on the
    kind).
    """
    spec = resource_kind(kind)
    want = _resource_declared(spec, declared)
    member_config = check_member_config(kind, member_config)
    url = resource_url(api, kind, name, **url_params)
    if get_or_none(api, url) is not None:
        raise APIConflictException(error=f"{spec.label} {name!r} already exists")
    plan = _plan_create_checked(api, kind, name, want, member_config, url, url_params)
    check_device_pools(api, kind, plan).apply(api)
    return api.get(url).metadata


def resource_update(
    api,
    kind,
    name,
    declared,
    purge_config=False,
    purge_devices=False,
    member_config=None,
    **url_params,
):
    """Bring an existing resource to ``declared``; return the applied :class:`Plan`.

    ``member_config`` and ``target``: networks and pools on a cluster, as for
    :func:`plan_resource_present`. Raises :class:`APINotFoundException` when it does not
    exist.
    """
    spec, want, member_config, url, current = _read_declared(
        api, kind, name, declared, member_config, url_params
    )
    if current is None:
        raise APINotFoundException(error=f"{spec.label} {name!r} does not exist")
    plan = _plan_existing(
        api, kind, name, want, current, url, purge_config, purge_devices, member_config, url_params
    )
    check_device_pools(api, kind, plan).apply(api)
    return plan


def resource_delete(api, kind, name, **url_params):
    """Delete one resource of ``kind``; True if deleted, False if it was absent.

    Raises :class:`ResourceInUse` when something still uses it.
    """
    return plan_resource_absent(api, kind, name, **url_params).apply(api)


# -- snapshots ------------------------------------------------------------------------


def _as_bool(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{what} must be true or false, not {value!r}")


def plan_snapshot_present(api, instance, name, stateful=False):
    """The :class:`Plan` that takes snapshot ``name`` of ``instance`` unless it exists.

    A snapshot cannot change: an existing one that is not stateful while ``stateful`` is
    asked is reported in the notes. Raises :class:`APINotFoundException` when the
    instance does not exist.
    """
    check_name(instance, "instance")
    check_name(name, "snapshot")
    if "/" in name:
        raise ValueError(f"a snapshot name cannot contain '/': {name!r}")
    stateful = _as_bool(stateful, "stateful")
    plan = Plan(name)
    current = get_or_none(api, api.instance_path(instance, "snapshots", name))
    if current is None:
        require_instance(api, instance)
        plan.add("snapshot", None, name)
        plan.writes.append(
            Write(
                "POST",
                api.instance_path(instance, "snapshots"),
                {"name": name, "stateful": stateful},
            )
        )
        return plan
    if stateful and not (current.metadata or {}).get("stateful"):
        plan.notes.append(
            f"Snapshot {name!r} of {instance!r} exists and is not stateful; a snapshot cannot be "
            "changed, so it was left as it is."
        )
    return plan


def plan_snapshot_absent(api, instance, name):
    """The :class:`Plan` that deletes snapshot ``name`` of ``instance`` if it exists."""
    check_name(instance, "instance")
    check_name(name, "snapshot")
    plan = Plan(name)
    url = api.instance_path(instance, "snapshots", name)
    if get_or_none(api, url) is None:
        return plan
    plan.add("snapshot", name, None)
    plan.writes.append(Write("DELETE", url))
    return plan


def check_create_only_values(api, kind, want):
    """ValueError naming a value LXD would refuse at creation with a bare error (a
    network ``type`` or a pool ``driver`` it does not know): the kind's ``check_create``."""
    spec = resource_kind(kind)
    if spec.check_create is not None:
        spec.check_create(api, want)


def check_device_pools(api, kind, plan, planned_pools=()):
    """ValueError when a profile's new disk device names a storage pool that does not
    exist, and is not one of ``planned_pools`` (LXD 5.0 accepts such a profile, and
    every instance using it then fails)."""
    if "devices" not in resource_kind(kind).fields or "devices" not in plan.changes:
        return plan
    for device, spec in (plan.changes["devices"]["new"] or {}).items():
        pool = (spec or {}).get("pool")
        if (
            pool
            and pool not in planned_pools
            and get_or_none(api, api.path("storage-pools", pool)) is None
        ):
            raise ValueError(
                f"device {device!r}: storage pool {pool!r} does not exist on {api.display_endpoint}"
            )
    return plan


def storage_volume_snapshot_restore(api, pool, volume, snapshot, volume_type="custom"):
    """Restore a storage volume to one of its snapshots (``PUT`` of the volume with
    ``restore``). LXD refuses while a running instance uses the volume."""
    url = resource_url(api, "storage_volume", volume, pool=pool, type=volume_type)
    if (
        get_or_none(
            api,
            resource_url(
                api, "storage_volume_snapshot", snapshot, pool=pool, type=volume_type, volume=volume
            ),
        )
        is None
    ):
        raise APINotFoundException(
            error=f"storage volume {volume!r} in pool {pool!r} has no snapshot {snapshot!r}"
        )
    api.put(url, json={"restore": snapshot}).wait()
    return True
