"""``lxdapi.*`` states of instances: present (one, or many side by side), absent,
running, stopped, frozen, migrated; their snapshots; ``mod_watch`` (a restart when a
watched state changed something).

One listing per state run: with two or more ``container_present`` states in a run, the
first reads every instance with one ``GET instances?recursion=1`` and each state's plan is
built from it (no request of its own when nothing is to be done); a plan that writes is
built again from a fresh GET of its container, so every write carries that container's
ETag (``lxdapi_batch``). With aggregation on (see ``_states/lxdapi_aggregate.py``), the
first ``container_present`` of an aggregate converges its group side by side and each
member reports its own outcome at its turn.

Core: ``_utils/lxdapi_instances.py``, ``_utils/lxdapi_readiness.py``,
``_utils/lxdapi_batch.py``.
"""

import collections.abc

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi as core
import lxdapi_backups
import lxdapi_batch
import lxdapi_instances
import lxdapi_plans
import lxdapi_readiness
import lxdapi_reconcile
import lxdapi_retention
import lxdapi_rolling
import lxdapi_spec
import lxdapi_values

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def snapshot_present(
    container, name, stateful=False, keep=None, max_age=None, match=None, **connection
):
    """
    Ensure an instance has a snapshot called ``name`` (taken now if missing); with a
    retention policy (``keep``, ``max_age``), ``name`` is a strftime pattern and the
    snapshots of the pattern that fall out of the policy are deleted.

    An existing snapshot is never retaken; asking ``stateful`` of an existing stateless
    one is reported in the comment. Without ``keep`` and ``max_age``, ``name`` is taken
    as it is and nothing is deleted.

    With a policy, ``name`` is expanded in UTC (``daily-%Y%m%d`` is ``daily-20261206``
    on 6 December 2026; directives ``%Y %y %m %d %H %M %S %j``), that snapshot is taken
    if missing, then the snapshots whose names match the pattern (or ``match``) and fall
    out of the policy are deleted, in one plan (``test=True`` lists both); a snapshot
    that does not match is never touched, nor is the one this run declares. A
    snapshot's time is the date in its name when the pattern has a year (``%Y``,
    ``%y``), else its ``created_at`` (UTC). See ``_utils/lxdapi_retention.py``.

    container
        The instance's name.

    name
        The snapshot's name; with ``keep`` or ``max_age``, a strftime pattern
        (``daily-%Y%m%d``).

    stateful
        Include the running state (needs CRIU and a running instance; default False).

    keep
        Keep the newest ``keep`` snapshots of the pattern (today's counts), delete older
        ones (a whole number, at least 1); None: no limit by number.

    max_age
        Delete the snapshots of the pattern older than this: ``7d``, ``12h``, ``30m``,
        ``2w``, ``1d12h`` or a number of seconds; None: no limit by age.

    match
        A glob (``daily-*``) naming the snapshots the policy may delete, instead of the
        pattern turned into a matcher; the declared name must match it.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.snapshot_present:
            - container: web1

        daily-%Y%m%d:
          lxdapi.snapshot_present:
            - container: web1
            - keep: 7
    """
    if keep is None and max_age is None and match is None:
        return boundary.resource_converge(
            name,
            f"Snapshot {name!r} of {container!r}",
            lambda api: lxdapi_reconcile.plan_snapshot_present(api, container, name, stateful),
            connection,
            created_key="snapshot",
        )

    def what(plan):
        return f"Snapshot {plan.name!r} of {container!r}"

    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_retention.plan_snapshot_retained(
            api, container, name, stateful, keep, max_age, match
        ),
        lambda plan: lxdapi_retention.retention_comment(plan, what(plan)),
        lambda plan: lxdapi_retention.retention_comment(plan, what(plan)),
        would=lambda plan: lxdapi_retention.retention_comment(plan, what(plan), testing=True),
    )


def snapshot_absent(container, name, **connection):
    """
    Ensure an instance has no snapshot called ``name``.

    container
        The instance's name.

    name
        The snapshot's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        before-upgrade:
          lxdapi.snapshot_absent:
            - container: web1
    """
    return boundary.resource_converge(
        name,
        f"Snapshot {name!r} of {container!r}",
        lambda api: lxdapi_reconcile.plan_snapshot_absent(api, container, name),
        connection,
    )


def container_present(
    name,
    source=None,
    config=None,
    devices=None,
    profiles=None,
    type="container",
    ephemeral=False,
    description=None,
    status=None,
    target=None,
    project=None,
    restart_on_change=False,
    purge_config=False,
    purge_devices=False,
    timeout=30,
    migrate=False,
    owner=None,
    rolling=None,
    wait_for=None,
    **connection,
):
    """
    Ensure a container (or virtual machine) exists as declared, then has ``status``,
    then (``wait_for``) is ready to use.

    Absent: created from ``source``. Present: the declared config keys, devices, the
    exact ordered profile list, the description and ``ephemeral`` are brought to what is
    declared, with one write carrying If-Match (someone else's change meanwhile fails the
    state; it is never overwritten). Keys and devices not declared are left alone unless
    ``purge_config``/``purge_devices``; ``volatile.*`` and ``image.*`` keys are never
    touched; values are compared as LXD stores them (``1`` == ``"1"``, ``true`` ==
    ``"true"``). A different source, type or cluster member than the container's is
    reported in the comment, never acted on. Nothing is written when all is as declared
    (one GET of the container, plus ``GET /1.0`` once per run).

    name
        The container's name (letters, digits and dashes; starts with a letter).

    source
        What to create it from: an image alias or fingerprint on the server, or LXD's
        source mapping (e.g. ``{type: image, mode: pull, server: https://..., protocol:
        lxd, alias: busybox, certificate: ...}``). None creates an empty container.

    config
        Mapping of config keys (``limits.memory``, ``user.*``...); None: not managed.

    devices
        Mapping of device name to device (each with a ``type``); None: not managed.

    profiles
        The ordered list of profiles; None: not managed (LXD's default on creation).

    type
        ``container`` (default) or ``virtual-machine``; used on creation only.

    ephemeral
        Whether the container is deleted when it stops (default False).

    description
        The description; None: not managed.

    status
        ``Running``, ``Stopped`` or ``Frozen``, applied after the config; None: not
        managed (a new container stays Stopped).

    target
        The cluster member to create it on. An existing container on another member is
        reported in the comment (with its location), and moved only with ``migrate``.

    migrate
        Move an existing container that is on another cluster member than ``target``
        (default False). LXD moves stopped containers: a running one must be declared
        ``status: Stopped`` (else the state fails, saying so).

    project
        The LXD project (default: the configured one, else ``default``).

    restart_on_change
        Restart a running container when a changed key only applies at restart
        (``raw.lxc``, ``security.privileged``, ``limits.kernel.*``...). False (default):
        the comment says a restart is pending.

    purge_config
        Remove config keys that are not declared (default False).

    purge_devices
        Remove devices that are not declared (default False).

    timeout
        Seconds a clean stop or restart may take (default 30).

    owner
        An ownership stamp: a text (``salt``) set as the config key
        ``user.lxdapi.owner`` when the container is created, and kept set (put back
        if removed); None (default): no stamp. ``lxdapi.instances_pruned`` with the same
        ``owner`` then prunes only what such states made.

    rolling
        With aggregation on (see ``lxdapi.mod_aggregate``): restart the instances of the
        aggregate that restart (``restart_on_change``) a batch at a time, not all at
        once. A mapping: ``batch`` (how many at once: a number, or a percentage such as
        ``'25%'``; default 1), ``wait_for`` (what every instance of a batch must pass
        before the next batch starts, as ``wait_for`` below; default: the state's own
        ``wait_for``, else Running), ``stop_on_failure`` (default True: on the first
        failure the later batches are not touched, and their states fail saying they
        were not done). The states of one aggregate that declare it must declare the
        same. Test mode says each restart's batch (a ``batch`` change). A state alone
        restarts its one instance as without it. None (default): all at once.

    wait_for
        Wait until the container is ready to use, not just Running (needs ``status:
        Running``); a mapping of conditions, checked in this order under one deadline:
        ``address: {nic: eth0, family: inet|inet6, scope: global}`` (an address LXD
        reports on that NIC; ``scope`` defaults to ``global``, ``family`` to either),
        ``exec: [test, -e, /run/ready]`` (a command that must exit 0 inside; no shell),
        ``agent: True`` (a VM's agent answers), ``timeout`` (seconds for all of them,
        default 60) and ``exec_timeout`` (seconds one run of the command may take,
        default 10). The wait happens on every run, a run with nothing else to do too
        (one ``/state`` read when already ready); it is not a change. The comment says
        what was found ("eth0 has 2001:db8::5 after 3.2 s"); a timeout fails the state,
        naming the condition and the last thing seen, with the console's last lines.
        Test mode says it would wait, and runs nothing.

    connection
        ``remote``, ``endpoint`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_present:
            - source: busybox
            - profiles: [default]
            - config:
                limits.memory: 64MB
                user.role: web
            - devices:
                data:
                  type: disk
                  source: /srv/web1
                  path: /srv
            - status: Running
            - wait_for:
                address: {nic: eth0, family: inet6}
                exec: [test, -e, /run/ready]
                timeout: 120

    .. code-block:: bash

        salt-call state.single lxdapi.container_present web1 source=busybox status=Running
    """
    # The signature is the one copy of the spec's fields (a unit test compares them).
    declared = {k: v for k, v in locals().items() if k in lxdapi_spec.ARGUMENTS}
    if project is not None:
        connection["project"] = project
    group = connection.pop(boundary.AGGREGATE_KEY, None)  # mod_aggregate made this state the first

    def make_plan(api):
        if group or boundary.context.get(boundary.AGGREGATED):
            aggregated = _aggregated_plan(api, name, group)
            if aggregated is not None:
                return aggregated
        spec = lxdapi_spec.InstanceSpec.from_arguments(declared)
        return lxdapi_readiness.plan_instance_declared(api, name, spec, listing=_run_listing(api))

    def done(plan):
        return "Container {} {}.".format(
            name, "created" if boundary.created(plan, "instance") else "updated"
        )

    return boundary.converge(
        name,
        connection,
        make_plan,
        done,
        f"Container {name} is already as declared.",
    )


def containers_present(name, containers, defaults=None, rolling=None, **connection):
    """
    Ensure many containers are present as declared, their LXD operations run side by
    side: every creation (then every start, ...) is sent before any is waited on, so 20
    new containers take about the time of the slowest rather than the sum.

    Each container follows the contract of :func:`container_present`; one instance
    listing serves them all. Bad input for any of them fails the state before anything is
    written; a container whose writes LXD refuses fails the state, naming it, while the
    others are still converged.

    name
        The state's ID (not a container name).

    containers
        A list of container names, or a mapping of names to their
        :func:`container_present` arguments (``source``, ``config``, ``devices``,
        ``profiles``, ``type``, ``ephemeral``, ``description``, ``status``, ``target``,
        ``restart_on_change``, ``purge_config``, ``purge_devices``, ``timeout``,
        ``migrate``, ``owner``, ``wait_for``). The waits of ``wait_for`` run once every
        container's writes went through, each with its own deadline.

    defaults
        Arguments for every container, which a container's own override (``wait_for``
        too).

    rolling
        Restart the containers that restart (``restart_on_change``, and the restart of
        a ``watch``) a batch at a time, not all at once: ``batch`` (how many at once: a
        number, or a percentage such as ``'25%'``; default 1), ``wait_for`` (what every
        container of a batch must pass before the next batch starts, as
        :func:`container_present`'s ``wait_for``; default: the container's own
        ``wait_for``, else Running), ``stop_on_failure`` (default True: on the first
        failure the later batches are not touched and are reported as not done). The
        other writes (creations...) go first, side by side. Test mode says the batches
        (the comment, and each restart's ``batch`` change). Bad input (and ``rolling`` in
        ``defaults`` or an entry) is refused before anything is read. None (default):
        all at once.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web-farm:
          lxdapi.containers_present:
            - defaults:
                source: busybox
                profiles: [default]
                status: Running
                wait_for: {exec: [test, -e, /etc/hostname], timeout: 30}
            - containers:
                web1: {}
                web2: {}
                batch1:
                  status: Stopped
                  config: {limits.cpu: "1"}
    """

    def make_group(api):
        lxdapi_rolling.refuse_member_rolling(containers, defaults)
        roll = lxdapi_rolling.parse_rolling(rolling)  # refused before anything is read
        group = lxdapi_batch.plan_instances_present(
            api, containers, defaults, listing=_shared_listing(api)
        )
        if roll is None:
            return group
        return lxdapi_rolling.RollingGroup(group.named, roll, lxdapi_batch.apply_plans_concurrently)

    return _converge_group(
        name,
        connection,
        make_group,
        _created_or_updated,
        lambda group: f"All {len(group.named)} containers are already as declared.",
    )


def _created_or_updated(named_plans):
    created = [c for c, plan in named_plans if boundary.created(plan, "instance")]
    updated = [c for c, plan in named_plans if not boundary.created(plan, "instance")]
    return "; ".join(
        part
        for part in (
            "created " + ", ".join(created) if created else "",
            "updated " + ", ".join(updated) if updated else "",
        )
        if part
    )


def _converge_group(name, kwargs, make_group, summary, unchanged):
    """:func:`_converge` of a :class:`lxdapi_batch.PlanGroup` (several containers' plans,
    applied side by side), changes per container. ``summary(named_plans)`` words what
    was (or would be) done. A container whose writes fail fails the state, naming it;
    the others are still converged, and the comment says so."""

    def capital(text):
        return text[:1].upper() + text[1:]

    def failed(group, exc):
        done = summary(group.done)
        return " ".join([exc.error + "."] + ([f"{capital(done)}."] if done else []))

    return boundary.converge(
        name,
        kwargs,
        make_group,
        lambda group: f"{capital(summary(group.todo))}.",
        unchanged,
        would=lambda group: f"Would have: {summary(group.todo)}.",
        failed=failed,
    )


def container_absent(name, force=False, timeout=30, **connection):
    """
    Ensure a container does not exist: a clean stop (if it runs or is frozen), then
    delete it. The changes report its old status.

    name
        The container's name.

    force
        Kill it instead of a clean stop (default False).

    timeout
        Seconds the clean stop may take before the state fails (default 30).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-web:
          lxdapi.container_absent:
            - timeout: 60
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_instances.plan_instance_absent(api, name, force, timeout),
        f"Container {name} deleted.",
        f"Container {name} is already absent.",
    )


def _status_state(name, status, connection, restart=False, force=False, timeout=30, wait_for=None):
    def done(plan):
        if "status" not in plan.changes:
            return f"Container {name} restarted."
        return "Container {} is now {}{}.".format(
            name,
            plan.changes["status"]["new"],
            " (restarted)" if "restarted" in plan.changes else "",
        )

    return boundary.converge(
        name,
        connection,
        lambda api: (
            lxdapi_readiness.plan_instance_running(
                api, name, wait_for=wait_for, restart=restart, timeout=timeout
            )
            if wait_for is not None
            else lxdapi_instances.plan_instance_status(api, name, status, restart, force, timeout)
        ),
        done,
        f"Container {name} is already {status}.",
    )


def container_running(name, restart=False, timeout=30, wait_for=None, **connection):
    """
    Ensure an existing container is Running (a Stopped one is started, a Frozen one
    unfrozen), then (``wait_for``) ready to use.

    name
        The container's name.

    restart
        Restart it when it is already running (every run; default False).

    timeout
        Seconds a restart may take (default 30).

    wait_for
        Wait until the container is ready to use, not just Running; a mapping of
        conditions, checked in this order under one deadline:
        ``address: {nic: eth0, family: inet|inet6, scope: global}`` (an address LXD
        reports on that NIC; ``scope`` defaults to ``global``, ``family`` to either),
        ``exec: [test, -e, /run/ready]`` (a command that must exit 0 inside; no shell),
        ``agent: True`` (a VM's agent answers), ``timeout`` (seconds for all of them,
        default 60) and ``exec_timeout`` (seconds one run of the command may take,
        default 10). The wait happens on every run, a run with nothing else to do too
        (one ``/state`` read when already ready); it is not a change. The comment says
        what was found ("eth0 has 2001:db8::5 after 3.2 s"); a timeout fails the state,
        naming the condition and the last thing seen, with the console's last lines.
        Test mode says it would wait, and runs nothing.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_running:
            - wait_for:
                exec: [test, -e, /run/ready]
                timeout: 30
    """
    return _status_state(
        name, "Running", connection, restart=restart, timeout=timeout, wait_for=wait_for
    )


def _restart_many(name, containers, connection, rolling=None, defaults=None):
    """mod_watch of a containers_present: restart its running containers at once, or a
    batch at a time (``rolling``; gated on each container's own ``wait_for``)."""
    names = list(containers) if isinstance(containers, (list, dict)) else []

    def own(n):  # the container's own arguments: its wait_for and timeout
        entry = containers.get(n) if isinstance(containers, dict) else None
        merged = dict(defaults if isinstance(defaults, dict) else {})
        merged.update(entry if isinstance(entry, dict) else {})
        return merged

    def make_group(api):
        roll = lxdapi_rolling.parse_rolling(rolling)  # refused before anything is read
        listing = {
            i["name"]: i.get("status") for i in lxdapi_instances.instance_list(api, recursion=1)
        }
        if roll is None:
            return lxdapi_batch.PlanGroup(
                (n, lxdapi_instances.plan_instance_status(api, n, "Running", restart=True))
                for n in names
                if listing.get(n) == "Running"
            )
        return lxdapi_rolling.RollingGroup(
            (
                (
                    n,
                    lxdapi_readiness.plan_instance_running(
                        api,
                        n,
                        own(n).get("wait_for"),
                        restart=True,
                        timeout=own(n).get("timeout", 30),
                    ),
                )
                for n in names
                if listing.get(n) == "Running"
            ),
            roll,
            lxdapi_batch.apply_plans_concurrently,
        )

    return _converge_group(
        name,
        connection,
        make_group,
        lambda done: "restarted {} (a watched state changed)".format(", ".join(c for c, _ in done)),
        f"None of the containers of {name} runs; nothing to restart.",
    )


def mod_watch(name, sfun=None, **kwargs):
    """
    The ``watch`` requisite of ``container_running`` and ``container_present``: when a
    watched state changed something (a config file in the container, a profile...) and
    the container's own state had nothing to do, restart it, cleanly.

    A ``container_present`` restarts its container only when it is running (or declared
    ``status: Running``); a stopped one is left stopped. A ``containers_present``
    restarts those of its containers that are running, side by side. Any other lxdapi
    state that watches something has nothing more to do (result True, no changes).
    A ``containers_present`` with ``rolling`` restarts them a batch at a time, each
    batch ready (the rolling ``wait_for``, else each container's own, else Running)
    before the next.

    name
        The container's name.

    sfun
        The watching state's function (set by Salt).

    kwargs
        The watching state's arguments (``timeout``, ``status``, the connection
        settings), set by Salt.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_running:
            - watch:
              - lxdapi: /etc/app.conf
    """
    if sfun not in ("container_running", "container_present", "containers_present"):
        # Salt calls this for every lxdapi state that watches something: for the others
        # a watch is a require that also runs on changes, with nothing more to do.
        ret = boundary.ret(name)
        ret["comment"] = f"lxdapi.{sfun} has nothing more to do on watch."
        return ret
    connection, _ = boundary.state_connection(kwargs)  # the rest are the state's own arguments
    if sfun == "containers_present":
        return _restart_many(
            name,
            kwargs.get("containers"),
            connection,
            rolling=kwargs.get("rolling"),
            defaults=kwargs.get("defaults"),
        )
    timeout = kwargs.get("timeout", 30)
    declared = kwargs.get("status")

    def make_plan(api):
        state = lxdapi_instances.instance_state(api, name)
        if not state:
            raise ValueError(f"instance {name!r} does not exist")
        wants_running = sfun == "container_running" or (
            declared is not None and lxdapi_values.normalize_status(declared) == "Running"
        )
        if not wants_running and state.get("status") != "Running":
            return lxdapi_plans.Plan(name)  # nothing runs, nothing to restart
        return lxdapi_instances.plan_instance_status(
            api, name, "Running", restart=True, timeout=timeout
        )

    def done(plan):
        return (
            f"Container {name} restarted (a watched state changed)."
            if "status" not in plan.changes
            else "Container {} is now {}.".format(name, plan.changes["status"]["new"])
        )

    return boundary.converge(
        name,
        connection,
        make_plan,
        done,
        f"Container {name} is not running; nothing to restart.",
    )


def container_stopped(name, force=False, timeout=30, **connection):
    """
    Ensure an existing container is Stopped: a clean shutdown (a Frozen one is unfrozen
    first).

    name
        The container's name.

    force
        Kill it instead of a clean shutdown (default False).

    timeout
        Seconds the clean shutdown may take before the state fails (default 30).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_stopped:
            - timeout: 60
    """
    return _status_state(name, "Stopped", connection, force=force, timeout=timeout)


def container_frozen(name, **connection):
    """
    Ensure an existing container is Frozen (a Stopped one is started, then frozen).

    name
        The container's name.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_frozen
    """
    return _status_state(name, "Frozen", connection)


def container_migrated(
    name, to=None, target=None, stop_and_start=False, timeout=30, source_url=None, **connection
):
    """
    Ensure a container is where it is declared: on another server (``to``) or on another
    member of its cluster (``target``). To another server: when the destination does
    not have it, the destination pulls it (with its snapshots) from this server over
    HTTPS, then this server's copy is deleted, once the destination holds it (the
    source server must listen on HTTPS, ``core.https_address``). To a member: LXD moves
    it within the cluster. A container already there is left alone (run after run,
    nothing is sent).

    name
        The container's name.

    to
        The destination server: a remote's name (``lxdapi:remotes:NAME``) or a mapping
        of connection settings (``endpoint``, ``cert``, ``key``, ``server_cert``...).

    target
        The destination cluster member (instead of ``to``).

    stop_and_start
        A running container is stopped cleanly, moved, and started on the destination
        (default False: a running container is refused, as a live move would need CRIU).

    timeout
        Seconds a clean stop or a start may take (default 30).

    source_url
        The URL the destination reaches this server at (default: its first HTTPS
        address).

    connection
        The source server's connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        web1:
          lxdapi.container_migrated:
            - to: rack2
            - stop_and_start: True
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_backups.plan_instance_migrated(
            api,
            name,
            target_api=None if to is None else boundary.api(core.destination_arguments(to)),
            target=target,
            stop_and_start=stop_and_start,
            timeout=timeout,
            source_url=source_url,
        ),
        lambda plan: "Container {} moved from {old} to {new}.".format(
            name,
            **next(iter(plan.changes.values())),  # server or location: {old, new}
        ),
        "Container {} is already {}.".format(
            name, "on the destination" if to is not None else f"on {target}"
        ),
    )


#: States of one run that share the listing.
LISTING_STATES = ("container_present", "containers_present")
#: The key in ``__context__`` of the runs' instance listings (by API: see
#: :func:`lxdapi_batch.run_listing`).
LISTINGS = "lxdapi.instance_listings"


def _run_has_several_container_states():
    """True when the current state run holds two or more lxdapi container states."""
    seen = 0
    for chunk in boundary.dunder("__lowstate__") or ():
        if (
            isinstance(chunk, collections.abc.Mapping)
            and chunk.get("state") == __virtualname__
            and chunk.get("fun") in LISTING_STATES
        ):
            seen += 1
            if seen >= 2:
                return True
    return False


def _shared_listing(api, asker=None):
    """The instance listing the container states of this run share (one per API, kept
    in ``__context__``), read now when it cannot serve (see
    :func:`lxdapi_batch.run_listing`)."""
    return lxdapi_batch.run_listing(
        boundary.context.setdefault(LISTINGS, {}),
        api,
        run_key=boundary.dunder("__instance_id__"),
        asker=asker,
    )


def _run_listing(api):
    """The run's listing for one ``container_present`` when the run has several container
    states; None for a lone state (it GETs its container: cheaper than a listing)."""
    if not _run_has_several_container_states():
        return None
    low = boundary.dunder("__low__") or {}
    return _shared_listing(api, asker=(low.get("__id__"), low.get("name")))


def _aggregated_plan(api, name, group):
    """The outcome of ``name`` in its run's aggregate, or None when it has none. The
    first state of an aggregate (``group``: every member's arguments) converges them all
    first; planning that failed for ``name`` is raised here, at its own turn."""
    run = boundary.dunder("__instance_id__")
    store = boundary.context.setdefault(boundary.AGGREGATED, {})
    if group:
        try:  # a bad rolling fails every state of the group, before anything is read
            rolling = lxdapi_rolling.group_rolling([m.get("rolling") for m in group])
        except ValueError as exc:
            outcomes = {m["name"]: ValueError(str(exc)) for m in group}
        else:
            outcomes = lxdapi_batch.converge_each(
                api,
                {m["name"]: {k: v for k, v in m.items() if k != "name"} for m in group},
                listing=_shared_listing(api),
                apply=not boundary.testing,
                rolling=rolling,
            )
        for member, outcome in outcomes.items():
            store[(run, member)] = outcome
    outcome = store.pop((run, name), None)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
