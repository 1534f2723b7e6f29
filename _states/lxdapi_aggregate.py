"""``lxdapi.mod_aggregate``: many ``container_present`` states of a run as one.

With ``state_aggregate: True`` (or ``[lxdapi]``) in the minion config, or ``aggregate:
True`` on the states, Salt asks :func:`mod_aggregate` of the first container_present it
runs which other states may join it. That state then plans them all and sends their
writes side by side; each of the others, when Salt runs it, reports its own outcome (its
own changes, comment, result, waits; Salt its requisites and watch). Which states may
join is decided by the boundary's aggregation functions (``_utils/lxdapi_salt.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_spec

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def mod_aggregate(low, chunks, running):
    """
    Salt's aggregation hook: the ``container_present`` states of a run that can be
    converged with this one (``low``) join it, so their LXD operations run side by side
    as :func:`containers_present`'s do. Each keeps its own ret; the states whose
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
