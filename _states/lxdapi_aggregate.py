"""``lxdapi.mod_aggregate``: many ``container_present`` (or ``sls_applied``) states of a
run as one.

With ``state_aggregate: True`` (or ``[lxdapi]``) in the minion config, or ``aggregate:
True`` on the states, Salt asks :func:`mod_aggregate` of the first container_present it
runs which other states may join it. That state then plans them all and sends their
writes side by side; each of the others, when Salt runs it, reports its own outcome (its
own changes, comment, result, waits; Salt its requisites and watch). Which states may
join is decided by the boundary's aggregation functions (``_utils/lxdapi_salt.py``).

``sls_applied`` states join the same way (and only with each other): the first runs the
members' test runs side by side, then their real runs (see ``_states/lxdapi_inside.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_inside
import lxdapi_spec

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def mod_aggregate(low, chunks, running):
    """
    Salt's aggregation hook: the ``container_present`` states of a run that can be
    converged with this one (``low``) join it, so their LXD operations run side by side
    as :func:`containers_present`'s do; the ``sls_applied`` states likewise join an
    ``sls_applied``, their Salt runs inside the instances side by side (at most the
    first one's ``concurrency`` at once). Each keeps its own ret; the states whose
    requisites have not run yet, that have conditions of their own (``onlyif``,
    ``unless``, ``onchanges``, ``parallel``...) or another connection stay out and run
    as usual.

    Turned on by ``state_aggregate: True`` (or ``[lxdapi]``) in the minion config, or
    ``aggregate: True`` on the states; off, nothing changes.

    low
        The state Salt is about to run.

    chunks
        The run's other states that Salt offers to aggregate.

    running
        The states that already ran, by tag.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_present:
            - source: busybox
            - status: Running
            - aggregate: True
    """
    if low.get("fun") == "sls_applied":
        return _sls_applied_group(low, chunks, running)
    if low.get("fun") != "container_present":
        return low
    group = boundary.aggregate_group(low, chunks, running, lxdapi_spec.ARGUMENTS)
    if len(group) == 1:
        return low
    low[boundary.AGGREGATE_KEY] = [
        dict({k: chunk[k] for k in lxdapi_spec.ARGUMENTS if k in chunk}, name=chunk["name"])
        for chunk in group
    ]
    return low


def _sls_applied_group(low, chunks, running):
    """mod_aggregate for ``sls_applied``: the members' own arguments and saltenv (the
    default of their ``saltenv``), handed to the first. One state per instance: a second
    one on the same instance stays out (two salt-calls in one instance at once would
    find each other running) and runs at its turn."""
    arguments = lxdapi_inside.SLS_APPLIED_ARGUMENTS
    group, seen = [], set()
    for chunk in boundary.aggregate_group(low, chunks, running, arguments):
        if chunk.get("container") in seen:
            chunk.pop("__agg__", None)
            continue
        seen.add(chunk.get("container"))
        group.append(chunk)
    if len(group) == 1:
        return low
    low[boundary.AGGREGATE_KEY] = [
        dict(
            {k: chunk[k] for k in arguments if k in chunk and k != "concurrency"},
            name=chunk["name"],
            __env__=chunk.get("__env__"),
        )
        for chunk in group
    ]
    return low
