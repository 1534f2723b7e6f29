"""LXD clusters: their members (list, read, declared settings, evacuate and restore)
and moving an instance between members. (Networks and pools on a cluster:
``lxdapi_members``.)

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import urllib.parse

from lxdapi import APIException, APINotFoundException, get_or_none
from lxdapi_plans import Plan, Write
from lxdapi_values import check_name, check_names, check_optional_str, lxd_config


def _require_cluster(api):
    if not (api.get("cluster").metadata or {}).get("enabled"):
        raise APIException(
            method="GET",
            url=api.absolute_url("cluster"),
            error="LXD at {} is not clustered".format(api.display_endpoint),
        )


def cluster_members(api):
    """The cluster's members (LXD's objects: ``server_name``, ``url``, ``roles``,
    ``status``, ``message``, ...); :class:`APIException` when the server is not
    clustered."""
    _require_cluster(api)
    return api.get("cluster/members", params={"recursion": 1}).metadata or []


def cluster_member_get(api, name):
    """One cluster member (LXD's object), or None when there is no such member."""
    name = check_name(name, "name")
    _require_cluster(api)
    result = get_or_none(api, api.path("cluster", "members", name))
    return result.metadata if result else None


def plan_instance_move(api, name, location, target):
    """The :class:`Plan` that moves instance ``name`` from cluster member ``location`` to
    ``target``: ``POST /1.0/instances/NAME?target=MEMBER`` with ``{"migration": true}``.
    LXD moves stopped instances between members: the instance must be stopped when the
    write is sent."""
    plan = Plan(name)
    url = api.instance_path(name) + "?" + urllib.parse.urlencode({"target": target})
    plan.add("location", location, target)
    plan.writes.append(Write("POST", url, {"migration": True}, keys=("location",)))
    return plan


#: Member fields :func:`plan_cluster_member` manages (``config``: keys such as
#: ``scheduler.instance``).
MEMBER_FIELDS = ("description", "failure_domain", "roles", "groups", "config")


def plan_cluster_member(
    api, name, description=None, failure_domain=None, roles=None, groups=None, config=None
):
    """The :class:`Plan` that brings a cluster member's declared settings to what is
    given (None: not managed): one PUT of the member's writable fields with If-Match,
    keeping what is not declared.

    ``roles`` and ``groups`` are compared as sets (LXD keeps its own order); LXD's
    automatic roles (``database``...) are kept whatever is declared: only the roles a
    user assigns (``event-hub``, ``ovn-chassis``) are managed. ``config`` keys not
    declared are kept.
    """
    name = check_name(name, "name")
    _require_cluster(api)
    url = api.path("cluster", "members", name)
    current = get_or_none(api, url)
    if current is None:
        raise APINotFoundException(error="cluster member {!r} does not exist".format(name))
    meta = current.metadata or {}
    plan = Plan(name)
    body = {
        "description": meta.get("description") or "",
        "failure_domain": meta.get("failure_domain") or "default",
        "roles": [r for r in meta.get("roles") or [] if r in ASSIGNABLE_ROLES],
        "groups": list(meta.get("groups") or []),
        "config": dict(meta.get("config") or {}),
    }
    for key, value in (("description", description), ("failure_domain", failure_domain)):
        if value is not None:
            value = check_optional_str(value, key)
            if value != body[key]:
                plan.add(key, body[key], value)
                body[key] = value
    for key, value in (("roles", roles), ("groups", groups)):
        if value is not None:
            value = check_names(value, key) if value else []
            if key == "roles":
                unknown = sorted(set(value) - set(ASSIGNABLE_ROLES))
                if unknown:
                    raise ValueError(
                        "role(s) {} cannot be assigned; a member may be given {}".format(
                            ", ".join(unknown), ", ".join(ASSIGNABLE_ROLES)
                        )
                    )
            if set(value) != set(body[key]):
                plan.add(key, sorted(body[key]), sorted(value))
                body[key] = sorted(set(value))
    if config is not None:
        want = lxd_config(config, "config")
        old = {k: body["config"].get(k) for k, v in want.items() if body["config"].get(k, "") != v}
        if old:
            plan.add("config", old, {k: want[k] for k in old})
            for key in old:
                if want[key] == "":
                    body["config"].pop(key, None)
                else:
                    body["config"][key] = want[key]
    if plan.changes:
        plan.writes.append(Write("PUT", url, body, etag=current.etag))
    return plan


#: Roles a user may give a member; LXD assigns ``database``, ``database-leader`` and
#: ``database-standby`` itself.
ASSIGNABLE_ROLES = ("event-hub", "ovn-chassis")


def cluster_member_state(api, name, action):
    """Evacuate a cluster member (its instances stopped or moved away, as their
    ``cluster.evacuate`` setting says) or restore it; True if it did, False when the
    member was already so (``Evacuated`` / ``Online``)."""
    if action not in ("evacuate", "restore"):
        raise ValueError("action must be evacuate or restore, not {!r}".format(action))
    member = cluster_member_get(api, name)
    if member is None:
        raise APINotFoundException(error="cluster member {!r} does not exist".format(name))
    done = "Evacuated" if action == "evacuate" else "Online"
    if member.get("status") == done:
        return False
    api.post(api.path("cluster", "members", name, "state"), json={"action": action}).wait()
    return True
