"""LXD clusters: their members (list, read, declared settings, evacuate and restore,
join tokens, a new member joining, a member removed) and moving an instance between
members. (Networks and pools on a cluster:
``lxdapi_member_config``.)

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import ssl
import urllib.parse

from lxdapi import APIException, APINotFoundException, certificate_fingerprint, get_or_none
from lxdapi_plans import Plan, Write
from lxdapi_values import (
    check_bool,
    check_name,
    check_names,
    check_optional_str,
    lxd_config,
    token_fields,
    token_text,
)


def _require_cluster(api):
    if not (api.get("cluster").metadata or {}).get("enabled"):
        raise APIException(
            method="GET",
            url=api.absolute_url("cluster"),
            error=f"LXD at {api.display_endpoint} is not clustered",
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
        raise APINotFoundException(error=f"cluster member {name!r} does not exist")
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
        raise ValueError(f"action must be evacuate or restore, not {action!r}")
    member = cluster_member_get(api, name)
    if member is None:
        raise APINotFoundException(error=f"cluster member {name!r} does not exist")
    done = "Evacuated" if action == "evacuate" else "Online"
    if member.get("status") == done:
        return False
    api.post(api.path("cluster", "members", name, "state"), json={"action": action}).wait()
    return True


# ------------------------------------------------------------------ membership


def cluster_token_create(api, name):
    """Ask a cluster member for a join token for a new member called ``name``; return
    the token text (base64, as ``lxc cluster add`` prints it). The token names the
    cluster's addresses and its certificate's fingerprint, and is good for one join."""
    name = check_name(name, "name")
    _require_cluster(api)
    result = api.post("cluster/members", json={"server_name": name})
    meta = (result.metadata or {}).get("metadata") or {}  # the token operation's
    return token_text(
        {
            "server_name": meta.get("serverName") or name,
            "fingerprint": meta.get("fingerprint"),
            "addresses": meta.get("addresses") or [],
            "secret": meta.get("secret"),
            "expires_at": meta.get("expiresAt") or "0001-01-01T00:00:00Z",
        }
    )


def _cluster_certificate(fields):
    """``(address, PEM)`` of the first cluster address in a join token whose TLS
    certificate has the token's fingerprint (as ``lxd init`` checks it)."""
    seen = []
    for address in fields.get("addresses") or []:
        host, _, port = str(address).rpartition(":")
        try:
            pem = ssl.get_server_certificate((host.strip("[]"), int(port)), timeout=10)
        except (OSError, ValueError) as exc:
            seen.append(f"{address}: {exc}")
            continue
        if certificate_fingerprint(pem) != fields.get("fingerprint"):
            raise ValueError(
                f"the certificate of cluster member {address} does not have the join token's "
                "fingerprint: not joining"
            )
        return address, pem
    raise ValueError(
        "no cluster member named in the join token answers ({})".format(
            "; ".join(seen) or "it names no address"
        )
    )


def check_member_join_config(member_config):
    """The ``member_config`` of a join as LXD takes it: a list of ``{entity, name, key,
    value}`` (a pool's ``source`` on this member...)."""
    if member_config is None:
        return []
    if not isinstance(member_config, (list, tuple)):
        raise ValueError(
            f"member_config must be a list of {{entity, name, key, value}}, not {member_config!r}"
        )
    entries = []
    for entry in member_config:
        if not isinstance(entry, dict) or set(entry) - {"entity", "name", "key", "value"}:
            raise ValueError(
                f"member_config entries are {{entity, name, key, value}}, not {entry!r}"
            )
        if entry.get("entity") not in ("storage-pool", "network"):
            raise ValueError(
                "member_config entity must be storage-pool or network, not {!r}".format(
                    entry.get("entity")
                )
            )
        entries.append(
            {
                "entity": entry["entity"],
                "name": check_name(entry.get("name"), "member_config name"),
                "key": check_name(entry.get("key"), "member_config key"),
                "value": "" if entry.get("value") is None else str(entry["value"]),
            }
        )
    return entries


def plan_cluster_member_joined(api, token, server_address, member_config=None):
    """The :class:`Plan` that makes the server of ``api`` (a new member, not clustered,
    reached on its own socket) join the cluster a join ``token`` names: ``PUT
    /1.0/cluster`` with the cluster's certificate (read from the token's addresses and
    checked against its fingerprint, as ``lxd init`` does), the token, this member's
    ``server_address`` (``host:port`` the others reach it at) and ``member_config``
    (its own keys of the cluster's pools and networks: see
    :func:`check_member_join_config`).

    A server already a member under the token's name: nothing to do (a second run sends
    nothing, whatever the token). Already in a cluster under another name: ValueError.
    """
    fields = token_fields(token, "the join token")
    member = check_name(fields.get("server_name"), "the join token's server_name")
    host, _, port = str(server_address or "").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(
            "server_address must be host:port (where the other members reach this one), "
            f"not {server_address!r}"
        )
    entries = check_member_join_config(member_config)
    plan = Plan(member)
    current = api.request("GET", "cluster")
    meta = current.metadata or {}
    if meta.get("enabled"):
        if meta.get("server_name") == member:
            return plan
        raise ValueError(
            "{} at {} is already a cluster member, as {!r} (the token is for {!r})".format(
                api.server_label, api.display_endpoint, meta.get("server_name"), member
            )
        )
    address, pem = _cluster_certificate(fields)
    body = {
        "server_name": member,
        "enabled": True,
        "cluster_address": address,
        "cluster_certificate": pem,
        "server_address": server_address,
        "member_config": entries,
        "cluster_token": str(token).strip(),  # Incus, LXD 5.21 and later
    }
    if api.server_kind == "lxd":
        body["cluster_password"] = str(token).strip()  # LXD 5.0 reads the token here
    plan.add("cluster", None, {"server_name": member, "cluster_address": address})
    plan.writes.append(Write("PUT", "cluster", body, keys=("cluster",)))
    return plan


def plan_cluster_member_absent(api, name, force=False):
    """The :class:`Plan` that removes member ``name`` from the cluster (``DELETE
    /1.0/cluster/members/NAME``), if it is a member. Refused (ValueError, nothing sent)
    while instances are on it, unless ``force`` (LXD then removes the member's record
    with ``?force=1``; its instances are lost to the cluster)."""
    name = check_name(name, "name")
    check_bool(force, "force")
    member = cluster_member_get(api, name)
    plan = Plan(name)
    if member is None:
        return plan
    held = [
        i["name"]
        for i in api.get("instances", params={"recursion": 1, "all-projects": "true"}).metadata
        or []
        if i.get("location") == name
    ]
    if held and not force:
        raise ValueError(
            "cluster member {!r} holds instances ({}): move them away first (or evacuate "
            "it), or set force: True".format(name, ", ".join(sorted(held)))
        )
    url = api.path("cluster", "members", name)
    if force:
        url += "?force=1"
    plan.add("member", {"name": name, "status": member.get("status")}, None)
    plan.writes.append(Write("DELETE", url, keys=("member",)))
    return plan
