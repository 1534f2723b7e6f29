"""A host from nothing: one document in the shape of ``lxd init --preseed`` (server config,
storage pools, networks, projects, profiles) as one plan, applied in the order ``lxd init``
applies it.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

On a fresh daemon the plan creates what the document declares; on an initialized one
each entry is compared and converged as its own state would (the same planners:
:func:`lxdapi_reconcile.plan_resource_present`, :func:`lxdapi_server.plan_server_config`),
so a second run sends nothing.
"""

from lxdapi_plans import PlanSequence
from lxdapi_reconcile import plan_resource_present
from lxdapi_server import plan_server_config
from lxdapi_values import check_name

#: The document's lists, in the order ``lxd init`` applies them after the server config
#: (what a later one refers to exists by then: a project's ``restricted.networks.access``
#: a network, a profile's root disk a pool and its NIC a network), and the kind of each
#: entry.
SECTIONS = (
    ("storage_pools", "storage_pool"),
    ("networks", "network"),
    ("projects", "project"),
    ("profiles", "profile"),
)


def _entries(section, entries):
    """``[(name, declared fields)]`` of one list of the document (ValueError when it is
    not a list of mappings with a name each, or names one twice)."""
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        raise ValueError(f"{section} must be a list of mappings, not {entries!r}")
    found, names = [], set()
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry:
            raise ValueError(f"each of {section} needs a mapping with a name, not {entry!r}")
        name = check_name(entry["name"], section + " name")
        if name in names:
            raise ValueError(f"{section} names {name!r} twice")
        names.add(name)
        found.append((name, {k: v for k, v in entry.items() if k != "name"}))
    return found


def plan_server_initialized(api, config=None, **sections):
    """The :class:`PlanSequence` that brings the server to a preseed document:
    ``config`` (server keys; others are kept) and the lists of :data:`SECTIONS`
    (``projects``, ``storage_pools``, ``networks``, ``profiles``), each entry a mapping
    with its ``name`` and the fields its own state takes (``driver`` of a pool, ``type``
    of a network, ``config``, ``devices`` of a profile, ``description``). Keys and
    devices not declared are kept, as ``lxd init`` keeps them.

    Every entry is checked and planned before anything is sent: a bad one refuses the
    whole document (ValueError naming it). Changes are reported per list and name, the
    server's own under ``server``: ``{"storage_pools": {"default": {...}}, "server":
    {"config": {...}}}``.
    """
    unknown = sorted(set(sections) - {section for section, _ in SECTIONS})
    if unknown:
        raise ValueError(
            "unknown preseed section(s) {}; use config, {}".format(
                ", ".join(unknown), ", ".join(section for section, _ in SECTIONS)
            )
        )
    named = [(("server",), plan_server_config(api, config))] if config else []
    pools = [name for name, _ in _entries("storage_pools", sections.get("storage_pools"))]
    for section, kind in SECTIONS:
        for name, declared in _entries(section, sections.get(section)):
            try:
                plan = plan_resource_present(api, kind, name, declared, planned_pools=pools)
            except ValueError as exc:
                raise ValueError(f"{section} {name!r}: {exc}") from None
            named.append(((section, name), plan))
    return PlanSequence("server", named)
