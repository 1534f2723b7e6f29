"""Networks and storage pools on an LXD cluster: the config keys each member holds on its
own, and the creation LXD asks for there (one pending POST per member, then the POST that
creates it everywhere).

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

What LXD 5.0 does on a cluster, and what this part does about it:

- ``POST /1.0/networks`` (or ``storage-pools``) without ``target`` fails with "not pending
  on any node" until every member has a pending entry, made by ``POST ...?target=MEMBER``
  carrying only the member-specific keys (any other key is refused there).
- The final POST creates it on every member, with the global config; it drops the
  ``description``, so a PATCH sets it afterwards.
- A GET without ``target`` shows only the global config; the member-specific keys are read
  and changed with ``?target=MEMBER``.
- A final POST that fails leaves the resource ``Errored`` (or ``Pending`` when members are
  missing). LXD lets the final POST run again, but only without global config
  ("already partially created"): the member keys are fixed with targeted PATCHes, the
  final POST is sent bare, and the global config and description follow in a PATCH.
"""

import urllib.parse

from lxdapi import name_from_url
from lxdapi_kinds import resource_kind
from lxdapi_plans import Plan, Write
from lxdapi_values import check_name, lxd_config


def server_clustered(api):
    """True when the server is a member of an LXD cluster (from ``GET /1.0``, read once)."""
    return bool((api.server.get("environment") or {}).get("server_clustered"))


def cluster_member_names(api):
    """The names of the cluster's members, as LXD lists them."""
    return [name_from_url(u) for u in api.get("cluster/members").metadata or []]


def check_member_config(kind, member_config):
    """``member_config`` ({member: {key: value}}) checked and as LXD stores it; {} for None.

    ValueError for a kind with no member-specific config, a value that is not a mapping,
    or a key that is not member-specific (LXD refuses those in a member's config).
    """
    if member_config is None:
        return {}
    spec = resource_kind(kind)
    keys = spec.member_config_keys
    if not keys:
        raise ValueError(f"a {spec.label} takes no member_config argument")
    if not isinstance(member_config, dict):
        raise ValueError(
            "member_config must be a mapping of cluster member name to config keys, not "
            f"{type(member_config).__name__}"
        )
    checked = {}
    for member, config in member_config.items():
        member = check_name(member, "member_config member")
        config = lxd_config(config, f"member_config of {member}")
        shared = sorted(k for k in config if k not in keys)
        if shared:
            raise ValueError(
                "member_config of {}: {} {} not member-specific; a {}'s member-specific "
                "keys are {}".format(
                    member,
                    ", ".join(shared),
                    "is" if len(shared) == 1 else "are",
                    spec.label,
                    ", ".join(keys),
                )
            )
        checked[member] = config
    return checked


def split_member_config(kind, config):
    """``(member_keys, global_keys)`` of a config mapping (the first goes to every member)."""
    keys = resource_kind(kind).member_config_keys
    member = {k: v for k, v in config.items() if k in keys}
    return member, {k: v for k, v in config.items() if k not in keys}


def _members_wanted(api, kind, name, shared, member_config):
    """Each member's declared member-specific keys: ``shared`` overlaid with its own."""
    members = cluster_member_names(api)
    unknown = sorted(set(member_config) - set(members))
    if unknown:
        raise ValueError(
            "member_config of {} {!r} names {}, not a member of the cluster "
            "(its members: {})".format(
                resource_kind(kind).label, name, ", ".join(unknown), ", ".join(members)
            )
        )
    return {m: dict(shared, **member_config.get(m, {})) for m in members}


def _targeted(url, member):
    return url + "?" + urllib.parse.urlencode({"target": member})


def _create_only_fields(kind, want):
    return {k: want[k] for k in resource_kind(kind).create_only if k in want}


def _global_update(url, want, global_config, current):
    """The PATCH that brings the global config and description to what is declared once
    LXD has created the resource (its final POST may not carry them on a resume), or None.

    ``current``: the resource as the untargeted GET showed it.
    """
    have = current.get("config") or {}
    body = {}
    config = {k: v for k, v in global_config.items() if have.get(k, "") != v}
    if config:
        body["config"] = config
    if want.get("description") and want["description"] != current.get("description"):
        body["description"] = want["description"]
    return Write("PATCH", url, body) if body else None


def plan_cluster_create(api, kind, name, want, member_config, collection, url):
    """The :class:`Plan` that creates a network or storage pool on every cluster member.

    ``want``: the declared fields as LXD stores them; ``member_config``: checked by
    :func:`check_member_config`. One ``POST collection?target=MEMBER`` per member with its
    member-specific keys, the final POST with the global config, then a PATCH for the
    description (which LXD's final POST drops).
    """
    shared, global_config = split_member_config(kind, want.get("config") or {})
    per_member = _members_wanted(api, kind, name, shared, member_config)
    fixed = _create_only_fields(kind, want)
    plan = Plan(name)
    plan.add(kind, None, name)
    for key, value in want.items():
        plan.add(key, None, global_config if key == "config" else value)
    if any(per_member.values()):
        plan.add("member_config", None, {m: c for m, c in per_member.items() if c})
    for member, config in per_member.items():
        plan.writes.append(
            Write("POST", _targeted(collection, member), dict(fixed, name=name, config=config))
        )
    plan.writes.append(Write("POST", collection, dict(fixed, name=name, config=global_config)))
    if want.get("description"):
        plan.writes.append(Write("PATCH", url, {"description": want["description"]}))
    return plan


def plan_member_config(api, kind, name, want_config, member_config, url, current):
    """The :class:`Plan` that brings each member's own keys of an existing network or
    pool to what is declared: a targeted GET per member, a targeted PATCH with If-Match
    where they differ. Keys LXD only takes at creation (a pool's ``source``) are reported
    in the notes, never written. On a resume (``current`` not ``Created``), members that
    have no entry yet get a pending POST instead.

    Returns ``(plan, members)``: ``members`` maps each member to its declared keys.
    """
    spec = resource_kind(kind)
    shared, _ = split_member_config(kind, want_config)
    per_member = _members_wanted(api, kind, name, shared, member_config)
    located = set((current or {}).get("locations") or per_member)
    plan = Plan(name)
    old_all, new_all = {}, {}
    for member, wanted in per_member.items():
        if member not in located:
            continue
        if not wanted:
            continue
        held = api.get(_targeted(url, member))
        have = (held.metadata or {}).get("config") or {}
        old, new = {}, {}
        for key, value in wanted.items():
            if have.get(key, "") == value:
                continue
            if key in spec.create_only_config:
                plan.notes.append(
                    f"The {spec.label} {name!r} has {key} {have.get(key)!r} on {member}, not the "
                    f"declared {value!r}: it can only be "
                    "set at creation, so it was left as it is."
                )
                continue
            old[key], new[key] = have.get(key), value
        if new:
            old_all[member], new_all[member] = old, new
            body = {"config": new}
            # LXD 5.0 resets the description on a PATCH that leaves it out.
            if (held.metadata or {}).get("description"):
                body["description"] = held.metadata["description"]
            plan.writes.append(
                Write(
                    "PATCH", _targeted(url, member), body, etag=held.etag, keys=("member_config",)
                )
            )
    if new_all:
        plan.add("member_config", old_all, new_all)
    return plan, per_member


def plan_cluster_resume(api, kind, name, want, member_config, collection, url, current):
    """The :class:`Plan` that finishes a network or pool whose creation on the cluster
    stopped half-way (status ``Pending`` or ``Errored``): member keys fixed with targeted
    PATCHes, pending POSTs for the members that have no entry, the final POST without
    global config (LXD refuses it there), then a PATCH with the declared global config and
    description.
    """
    shared_plan, per_member = plan_member_config(
        api, kind, name, want.get("config") or {}, member_config, url, current
    )
    _, global_config = split_member_config(kind, want.get("config") or {})
    fixed = _create_only_fields(kind, want)
    status = current.get("status")
    plan = Plan(name)
    plan.add("status", status, "Created")
    plan.extend(shared_plan)
    located = set(current.get("locations") or ())
    for member, config in per_member.items():
        if member not in located:
            plan.writes.append(
                Write("POST", _targeted(collection, member), dict(fixed, name=name, config=config))
            )
    plan.writes.append(Write("POST", collection, dict(fixed, name=name)))
    update = _global_update(url, want, global_config, current)
    if update is not None:
        plan.writes.append(update)
        have = current.get("config") or {}
        if "config" in update.body:
            plan.add(
                "config", {k: have.get(k) for k in update.body["config"]}, update.body["config"]
            )
        if "description" in update.body:
            plan.add("description", current.get("description"), want["description"])
    plan.notes.append(
        f"The {resource_kind(kind).label} {name!r} was {status} on the cluster (a creation that "
        "stopped "
        "half-way); its creation was finished."
    )
    return plan
