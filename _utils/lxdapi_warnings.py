"""The server's warnings (``/1.0/warnings``): list, read, acknowledge, delete; the plan
behind ``warning_acknowledged``.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

LXD (since the ``warnings`` API extension, in 5.0) and Incus record a warning for what
they found wrong and carried on with: a kernel feature or CGroup controller missing at
startup, an instance that failed to autostart, a network or pool that could not start.
Each has a UUID, a ``type`` (a fixed text: ``AppArmor support has been disabled``), a
``severity`` (``low``, ``moderate``, ``high``), a ``status`` (``new``, ``acknowledged``;
``resolved`` when the server found the problem gone), the ``project`` it belongs to
(``""``: the server's own) and the member it was seen on (``location``). The same
problem seen again updates its warning (``count``, ``last_seen_at``); a resolved one that
comes back is ``new`` again, an acknowledged one stays acknowledged.

A warning has no ETag: acknowledging is one ``PUT`` of ``{"status": "acknowledged"}``,
sent only for a warning read as ``new`` (LXD 5.0 answers a PUT of a UUID it does not
know with success, so nothing is sent before the warning was read). The connection's
``project`` limits a listing to that project's warnings (the server's own ones, of no
project, are then left out); without one every warning is listed.
"""

import re

from lxdapi import APIException, APINotFoundException, check_project_exists, get_or_none
from lxdapi_plans import Plan, Write
from lxdapi_values import check_name, check_recursion

#: The statuses of a warning; a client may set the first two only.
WARNING_STATUSES = ("new", "acknowledged", "resolved")

#: The severities of a warning, least first.
WARNING_SEVERITIES = ("low", "moderate", "high")

#: A warning's UUID (lower case, as the server writes it).
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_uuid(value, what="uuid"):
    """A warning's UUID (any case, answered in lower case); ValueError naming ``what``."""
    text = value.strip().lower() if isinstance(value, str) else None
    if not text or not UUID_RE.match(text):
        raise ValueError(
            f"{what} must be a warning's UUID (as lxdapi.warning_list lists them, "
            f"0c10b517-b0c9-441f-b531-db8af1d22995), not {value!r}"
        )
    return text


def _check_choices(value, choices, what):
    """None, or the values of ``value`` (one of ``choices``, or a list of them) as a
    tuple; ValueError naming ``what`` otherwise."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if (
        not isinstance(values, (list, tuple))
        or not values
        or not all(isinstance(v, str) and v in choices for v in values)
    ):
        raise ValueError(
            "{} must be one of {} (or a list of them), not {!r}".format(
                what, ", ".join(choices), value
            )
        )
    return tuple(values)


def _check_type(value):
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            "type must be a warning type as the server names it ('AppArmor support has "
            f"been disabled'), not {value!r}"
        )
    return value.strip()


def require_warnings(api):
    """Raise :class:`APIException` when the server keeps no warnings (no ``warnings``
    API extension: LXD before 5.0)."""
    if not api.has_extension("warnings"):
        raise APIException(
            error=(
                f"{api.server_label} at {api.display_endpoint} keeps no warnings (no warnings "
                "API extension)"
            )
        )


def _matches(warning, statuses, type_, severities):
    return (
        (statuses is None or warning.get("status") in statuses)
        and (type_ is None or warning.get("type") == type_)
        and (severities is None or warning.get("severity") in severities)
    )


def read_warnings(api):
    """Every warning the connection sees (its project's, or all): LXD's objects, oldest
    first, read with one ``GET warnings?recursion=1``. A connection project that does not exist
    raises :class:`lxdapi.APIProjectNotFound` (the server would list nothing)."""
    require_warnings(api)
    found = api.get("warnings", params={"recursion": 1}).metadata or []
    if not found and api.project:
        # LXD lists no warning for a project it does not have: say that instead.
        check_project_exists(api, api.absolute_url("warnings"))
    return sorted(found, key=lambda w: (w.get("first_seen_at") or "", w.get("uuid") or ""))


def warning_list(api, status=None, type=None, severity=None, recursion=0):
    """The warnings: their UUIDs, or (``recursion``) LXD's objects, oldest first.

    ``status`` (one of :data:`WARNING_STATUSES` or a list of them), ``type`` (the exact
    type text) and ``severity`` (one of :data:`WARNING_SEVERITIES` or a list) keep only
    the warnings that match. ValueError for a bad filter.
    """
    recursion = check_recursion(recursion)
    statuses = _check_choices(status, WARNING_STATUSES, "status")
    severities = _check_choices(severity, WARNING_SEVERITIES, "severity")
    type_ = _check_type(type)
    found = [w for w in read_warnings(api) if _matches(w, statuses, type_, severities)]
    return found if recursion else [w.get("uuid") for w in found]


def warning_get(api, uuid):
    """LXD's object of warning ``uuid``, or False when the server has none."""
    uuid = check_uuid(uuid)
    require_warnings(api)
    found = get_or_none(api, api.path("warnings", uuid))
    return found.metadata if found is not None else False


def _acknowledge_write(api, uuid):
    return Write("PUT", api.path("warnings", uuid), {"status": "acknowledged"}, keys=(uuid,))


def warning_acknowledge(api, uuid):
    """Acknowledge warning ``uuid``; True when it was ``new`` (one PUT), False when it
    was acknowledged already or resolved (nothing sent). A missing warning raises
    :class:`APINotFoundException`."""
    uuid = check_uuid(uuid)
    found = warning_get(api, uuid)
    if found is False:
        raise APINotFoundException(error=f"no warning {uuid} on {api.display_endpoint}")
    if found.get("status") != "new":
        return False
    _acknowledge_write(api, uuid).send(api)
    return True


def warning_delete(api, uuid):
    """Delete warning ``uuid``; True, or False when the server has none. (The server
    records it again, under another UUID, if it sees the problem again.)"""
    uuid = check_uuid(uuid)
    if warning_get(api, uuid) is False:
        return False
    try:
        Write("DELETE", api.path("warnings", uuid)).send(api)
    except APINotFoundException:  # deleted meanwhile
        return False
    return True


def describe(warning):
    """A warning in a few words: ``AppArmor support has been disabled (0c10b517...)``."""
    return "{} ({})".format(warning.get("type") or "warning", warning.get("uuid"))


def plan_warning_acknowledged(api, name, type=None, severity=None):
    """The :class:`Plan` that acknowledges warnings: one PUT per warning still ``new``.

    With neither ``type`` nor ``severity``, ``name`` is the UUID of the one warning
    meant (ValueError when it is not a UUID); a warning the server does not have (any
    more: resolved warnings are pruned after a day) leaves nothing to do, and a note
    says so. With ``type`` (the exact type text) and/or ``severity`` (one of
    :data:`WARNING_SEVERITIES`, or a list), ``name`` is only the state's ID: every
    ``new`` warning that matches is acknowledged (of the connection's project only,
    when it names one). Resolved and acknowledged warnings are left as they are. The
    changes are ``{uuid: {"old": "new", "new": "acknowledged"}}``.
    """
    type_ = _check_type(type)
    severities = _check_choices(severity, WARNING_SEVERITIES, "severity")
    plan = Plan(name)
    plan.matched, plan.acknowledged = [], []
    if type_ is None and severities is None:
        uuid = check_uuid(name, "name (with no type or severity to match)")
        found = warning_get(api, uuid)
        if found is False:
            plan.notes.append(f"{api.display_endpoint} has no warning {uuid}.")
            return plan
        candidates = [found]
    else:
        check_name(name, "name")
        everything = read_warnings(api)
        candidates = [w for w in everything if _matches(w, None, type_, severities)]
        if not candidates and type_ is not None:
            known = sorted({w.get("type") for w in everything if w.get("type")})
            plan.notes.append(
                "{} has no warning of type {!r} (the types it has: {}).".format(
                    api.display_endpoint, type_, "; ".join(known) if known else "none"
                )
            )
    for warning in candidates:
        if warning.get("status") == "resolved" and type_ is None and severities is None:
            plan.notes.append(f"{describe(warning)} is resolved: left as it is.")
        if warning.get("status") != "new":
            continue
        plan.add(warning["uuid"], "new", "acknowledged")
        plan.writes.append(_acknowledge_write(api, warning["uuid"]))
    plan.matched = candidates  # what the state says of a plan with nothing to do
    plan.acknowledged = [w for w in candidates if w.get("status") == "new"]
    return plan
