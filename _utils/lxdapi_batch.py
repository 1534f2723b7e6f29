"""What the states of one run share: one instance listing (kept by the caller for the
run, :func:`run_listing`, and handed to the plans of its ``container_present`` states),
and plans applied side by side so that their LXD operations run concurrently
(``create_instances``).

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import time
import urllib.parse

from lxdapi import APIException, reword
from lxdapi_instances import instance_source
from lxdapi_logs import explain_start_failure
from lxdapi_plans import Plan, Write, refused_as_busy
from lxdapi_readiness import parse_wait_for, plan_instance_declared
from lxdapi_rolling import RollingFailed, RollingGroup
from lxdapi_spec import InstanceSpec, check_arguments
from lxdapi_values import check_name, lxd_config, lxd_devices


class ListedInstance:
    """An instance as one listing (``GET instances?recursion=1``) showed it.

    Looks like the :class:`APIResult` of a GET (``metadata``, ``data``) but has no
    ``etag``: LXD's listing carries none, so nothing is ever written from it.
    """

    etag = None
    is_async = False
    operation = None
    response = None
    listed = True

    def __init__(self, metadata):
        self.data = {"type": "sync", "metadata": metadata}

    @property
    def metadata(self):
        """The instance, as the listing showed it."""
        return self.data["metadata"]

    def __repr__(self):
        return "<ListedInstance {}>".format(self.metadata.get("name"))


class InstanceListing:
    """Every instance of ``api``'s project as one ``GET instances?recursion=1`` showed
    it (:meth:`read`), for the plans it is handed to (``listing=`` of
    :func:`lxdapi_instances.instance_get` and the planners that call it).

    Only reads: a plan made from it that wants to write is made again from fresh GETs
    (:func:`lxdapi_instances.plan_from_listing`), so every write carries the instance's
    own ETag. The writes sent through ``api`` since it was read
    (:meth:`lxdapi.API.writes_since`) are compared at each look-up: a write to one
    instance (or creating, copying, renaming one) forgets that instance, which is then
    read with its own GET; any other write forgets the whole listing (``valid`` False).
    ``run_key`` names the run (a Salt state run) it was read for; ``askers`` the states
    of that run it served (see :func:`run_listing`).
    """

    def __init__(self, api, items, run_key=None):
        self.api = api
        self.collection = api.instances_collection
        self.items = {item.get("name"): item for item in items}
        self.run_key = run_key
        self.read_at = time.monotonic()
        self.askers = set()
        self.forgotten = set()
        self._valid = True
        self._writes_seen = api.writes_sent

    @classmethod
    def read(cls, api, run_key=None):
        """Read every instance of the API's project: one ``GET instances?recursion=1``."""
        items = api.get(api.instances_collection, params={"recursion": 1}).metadata or []
        return cls(api, items, run_key)

    def age(self):
        """Seconds since the listing was read."""
        return time.monotonic() - self.read_at

    @property
    def valid(self):
        """False once a write through its API may have changed what it cannot tell."""
        self._catch_up()
        return self._valid

    def lookup(self, name):
        """A :class:`ListedInstance`; False when the listing does not show it; None: GET
        it (the instance was written to since the listing was read, or the listing is no
        longer valid)."""
        if not self.valid or name in self.forgotten:
            return None
        item = self.items.get(name)
        return False if item is None else ListedInstance(item)

    def _catch_up(self):
        """Forget what the API's writes since the last look may have changed."""
        if not self._valid:
            return
        sent = self.api.writes_since(self._writes_seen)
        self._writes_seen = self.api.writes_sent
        if sent is None:  # more writes than the API keeps: anything may have changed
            self._valid = False
            return
        for write in sent:
            self._forget(write)

    def _forget(self, write):
        parts = urllib.parse.urlsplit(write.url).path.split("/")  # '', '1.0', 'instances', ...
        if len(parts) >= 3 and parts[2] == self.collection:
            names = [urllib.parse.unquote(parts[3])] if len(parts) >= 4 else []
            if write.name is not None:
                names.append(write.name)  # created, copied, or renamed to
            if names:
                self.forgotten.update(names)
                return
        self._valid = False


#: Seconds a run's instance listing is trusted for (a longer run reads it again).
LISTING_MAX_AGE = 60


def run_listing(store, api, run_key=None, asker=None, max_age=LISTING_MAX_AGE):
    """The :class:`InstanceListing` of ``api``'s instances that the container states of
    one run (``run_key``) share: the one kept in ``store`` (a dict the caller owns and
    keeps for the run, Salt's ``__context__`` for one; keyed by the API) when it can
    still serve, else one read now (one ``GET instances?recursion=1``) and kept there.

    Read again when the run key differs, when it is older than ``max_age`` seconds, when
    a write made it invalid, or when ``asker`` (a state of the run, e.g. its ID and name)
    asks again: a state runs once per run, so that is another run (or a retry), which
    gets fresh data.
    """
    listing = store.get(api)
    if (
        listing is not None
        and listing.valid
        and listing.run_key == run_key
        and listing.age() < max_age
        and (asker is None or asker not in listing.askers)
    ):
        if asker is not None:
            listing.askers.add(asker)
        return listing
    listing = InstanceListing.read(api, run_key)
    if asker is not None:
        listing.askers.add(asker)
    store[api] = listing
    return listing


def submit_write(api, write, previous=None):
    """Send one :class:`Write` without waiting for its operation; return its
    :class:`APIResult` (call ``.wait()`` on it). Same request as :meth:`Write.send`."""
    return api.request(write.method, write.url, **write.request_kwargs(previous))


#: Operations a side by side round keeps going at once: LXD forgets an operation 5 s
#: after it ends, so one must not wait behind the sending of a hundred others.
WINDOW = 16


def apply_plans_concurrently(api, plans, window=WINDOW):
    """Apply several plans side by side, their LXD operations running at the same time.

    Round ``k`` sends the ``k``-th write of every plan still going (LXD answers each at
    once with a background operation) and waits for those operations, at most
    ``window`` of them going at once (the oldest is waited for before another is sent);
    so 20 creations cost about the time of the slowest, not the sum. Writes of one plan
    stay in order. A plan whose write fails takes no further part; the others carry on.
    Returns one entry per plan: None (applied) or the :class:`APIException` that stopped
    it; each plan's ``sent`` lists the writes that went through (see
    :meth:`Plan.applied_changes`).

    The same busy policy as plans applied one by one: a write LXD refused only because
    another update of it was running is sent again as :meth:`Write.send` does (same
    If-Match, a few times); a plan stopped by another client's work on its instance is
    recovered by :meth:`Plan.recovered`.
    """
    errors = [None] * len(plans)
    previous = [None] * len(plans)
    for plan in plans:
        plan.sent = []
    rounds = max([len(plan.writes) for plan in plans] or [0])

    def failed(i, write, exc):
        if not refused_as_busy(exc):
            errors[i] = write.failed(api, exc)
            return
        try:
            previous[i] = write.send(api, previous[i])
            plans[i].sent.append(write)
        except APIException as again:  # send() has worded it
            errors[i] = again

    def finish(i, write, result):
        try:
            previous[i] = result.wait(write.wait_timeout)
            plans[i].sent.append(write)
        except APIException as exc:
            failed(i, write, exc)

    for k in range(rounds):
        going = []
        for i, plan in enumerate(plans):
            if errors[i] is None and k < len(plan.writes):
                if len(going) >= max(1, window):
                    finish(*going.pop(0))
                try:
                    going.append(
                        (i, plan.writes[k], submit_write(api, plan.writes[k], previous[i]))
                    )
                except APIException as exc:
                    failed(i, plan.writes[k], exc)
        for entry in going:
            finish(*entry)
    for i, plan in enumerate(plans):  # another client's work on the same instance
        if errors[i] is not None and getattr(plan, "recover", None) is not None:
            try:
                if plan.recovered(api, errors[i]):
                    errors[i] = None
            except APIException as exc:
                errors[i] = exc
    return errors


class PlansFailed(APIException):
    """Some plans of a :class:`PlanGroup` failed; the others went through."""


class PlanGroup:
    """The plans of several instances, converged as one: what ``containers_present`` (and
    the restart of its watch) hands to a state's converge as it would one :class:`Plan`.

    ``named``: ``[(instance, plan)]``. ``todo`` are those with writes; ``writes``,
    ``changes`` (per instance) and ``notes`` are theirs together. :meth:`apply` sends them
    side by side (:func:`apply_plans_concurrently`); then ``done`` lists the
    ``(instance, plan)`` that went through and ``failed`` the ``(instance, plan,
    exception)`` that did not, and :class:`PlansFailed` is raised if any failed.
    """

    def __init__(self, named):
        self.named = list(named)
        self.todo = [(name, plan) for name, plan in self.named if plan.writes]
        self.notes = [note for _, plan in self.named for note in plan.notes]
        self.writes = [write for _, plan in self.todo for write in plan.writes]
        self.changes = {name: plan.changes for name, plan in self.todo}
        self.waits = [wait for _, plan in self.named for wait in getattr(plan, "waits", ())]
        self.done, self.failed = [], []

    def __bool__(self):
        return bool(self.writes)

    def apply(self, api):
        """Apply every plan side by side; True. Raises :class:`PlansFailed` naming each
        instance whose writes failed (the others are converged all the same)."""
        errors = apply_plans_concurrently(api, [plan for _, plan in self.todo])
        for (name, plan), exc in zip(self.todo, errors):
            if exc is None:
                self.done.append((name, plan))
            else:
                self.failed.append((name, plan, exc))
        if self.failed:
            raise PlansFailed(
                error="{} of {} container(s) failed: {}".format(
                    len(self.failed),
                    len(self.todo),
                    "; ".join(f"{name}: {exc}" for name, _, exc in self.failed),
                )
            )
        return True

    def applied_changes(self):
        """The changes made: each applied plan's, and what a failed one wrote first."""
        made = {name: plan.changes for name, plan in self.done}
        for name, plan, _ in self.failed:
            partial = plan.applied_changes()
            if partial:
                made[name] = partial
        return made


def create_instances(api, bodies, start=False, timeout=30):
    """Create many instances at once: every POST first, then wait on all the operations.

    ``bodies``: one mapping per instance as LXD's ``POST /1.0/instances`` takes it
    (``name`` required; ``source`` may also be an image alias or fingerprint, or None for
    an empty instance). ``start``: then start them all the same way (``timeout``:
    seconds each start may take). Returns the names created. When some fail, the others
    are still created (and started); an :class:`APIException` then names every failure.

    Example::

        create_instances(api, [{"name": "web%d" % i, "source": "busybox"}
                               for i in range(20)], start=True)
    """
    plans, sources = [], {}
    for body in bodies:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise ValueError(f"each instance needs a mapping with a 'name', not {body!r}")
        body = dict(body)
        check_name(body["name"], "name")
        if not isinstance(body.get("source"), dict):
            source = body.get("source")
            if not isinstance(source, (str, type(None))):
                instance_source(api, source)  # raises ValueError naming it
            if source not in sources:  # an alias is looked up once for all
                sources[source] = instance_source(api, source)
            body["source"] = dict(sources[source])
        for key, normalise in (("config", lxd_config), ("devices", lxd_devices)):
            if key in body:
                body[key] = normalise(body[key])
        plan = Plan(body["name"])
        plan.add("instance", None, body["name"])
        explain = explain_start_failure(body["name"], body.get("type"))
        plan.writes.append(
            Write("POST", api.instances_collection, body, keys=("instance",), explain=explain)
        )
        if start:
            plan.add("status", "Stopped", "Running")
            plan.writes.append(
                Write(
                    "PUT",
                    api.instance_path(body["name"], "state"),
                    {"action": "start", "timeout": int(timeout)},
                    wait_timeout=int(timeout) + 30,
                    keys=("status",),
                    explain=explain,
                )
            )
        plans.append(plan)
    errors = apply_plans_concurrently(api, plans)
    failed = [(plan.name, exc) for plan, exc in zip(plans, errors) if exc is not None]
    if failed:
        raise APIException(
            error="{} of {} instance(s) failed: {}".format(
                len(failed),
                len(plans),
                "; ".join(f"{name}: {exc.error or exc}" for name, exc in failed),
            ),
            status=failed[0][1].status,
        )
    return [plan.name for plan in plans]


def _instance_arguments(containers, defaults):
    """``containers`` (a list of names, or names mapped to their arguments) merged over
    ``defaults``, as ``{name: arguments}``; ValueError naming a bad entry or an unknown
    argument (the values are the spec's to check: :class:`lxdapi_spec.InstanceSpec`)."""
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict):
        raise ValueError(
            f"defaults must be a mapping of container arguments, not {type(defaults).__name__}"
        )
    if defaults.get("wait_for") is not None:
        try:
            parse_wait_for(defaults["wait_for"])  # checked even where it does not apply
        except ValueError as exc:
            raise ValueError(f"defaults: {exc}") from None
    if isinstance(containers, (list, tuple)):
        containers = {name: None for name in containers}
    if not isinstance(containers, dict) or not containers:
        raise ValueError(
            "containers must be a non-empty list of names or a mapping of "
            f"names to their arguments, not {containers!r}"
        )
    merged = {}
    for name, entry in containers.items():
        name = check_name(name, "container name")
        if entry is not None and not isinstance(entry, dict):
            raise ValueError(
                f"container {name}: its arguments must be a mapping, not {type(entry).__name__}"
            )
        args = dict(defaults, **(entry or {}))
        try:
            check_arguments(args)
        except ValueError as exc:
            raise ValueError(f"container {name}: {exc}") from None
        if "wait_for" not in (entry or {}) and str(args.get("status")).lower() != "running":
            args.pop("wait_for", None)  # a default wait is for the containers that run
        merged[name] = args
    return merged


def plan_instances_present(api, containers, defaults=None, listing=None):
    """The plans of many ``container_present`` at once: a :class:`PlanGroup`.

    ``containers``: a list of names, or a mapping of names to the arguments of an
    :class:`lxdapi_spec.InstanceSpec` (by their names in the states: ``type`` for the
    instance type), each over ``defaults``. ``listing``: the run's
    :class:`InstanceListing` (see :func:`run_listing`); None reads one for them. One
    listing serves them all; bad input for any of them raises ValueError naming it,
    before anything is written. :meth:`PlanGroup.apply` sends their writes side by side.
    """
    arguments = _instance_arguments(containers, defaults)
    if listing is None:
        listing = InstanceListing.read(api)
    plans = []
    for name, args in arguments.items():
        try:
            spec = InstanceSpec.from_arguments(args)
            plan = plan_instance_declared(api, name, spec, listing=listing)
        except ValueError as exc:
            raise ValueError(f"container {name}: {exc}") from None
        except APIException as exc:
            raise reword(exc, f"container {name}: {exc.error or exc}") from None
        plans.append((name, plan))
    return PlanGroup(plans)


class AppliedPlan:
    """A plan that was applied (or, in test mode, predicted) side by side with others
    before its own state ran (``mod_aggregate``): it behaves as the :class:`Plan` it
    stands for, except that :meth:`apply` sends nothing and only reports how its writes
    went (``error``: the :class:`APIException` that stopped them, or None)."""

    def __init__(self, plan, error=None):
        self.plan = plan
        self.error = error
        self.name = plan.name
        self.changes = plan.changes
        self.writes = plan.writes
        self.notes = plan.notes
        self.waits = getattr(plan, "waits", [])

    def __bool__(self):
        return bool(self.writes)

    @property
    def sent(self):
        """The writes that went through."""
        return getattr(self.plan, "sent", [])

    def apply(self, api):
        """Nothing to send: raise what stopped the writes, or return True."""
        if self.error is not None:
            raise self.error
        return bool(self.writes)

    def applied_changes(self):
        """The changes the writes made."""
        return self.plan.applied_changes()

    def __repr__(self):
        return "<AppliedPlan {} {}>".format(self.name, "failed" if self.error else "ok")


def converge_each(api, containers, listing=None, apply=True, rolling=None):
    """Plan many instances each on its own, then apply the plans side by side
    (``apply``; test mode does not): what ``mod_aggregate`` does for the
    ``container_present`` states of a run.

    ``rolling`` (a :class:`lxdapi_rolling.Rolling` or its mapping): the plans that
    restart their instance are applied a batch at a time instead, each batch ready
    before the next (:class:`lxdapi_rolling.RollingGroup`); each such plan's changes
    tell its batch, in test mode too, and an instance a failure left untouched has a
    :class:`lxdapi_rolling.NotDone` as its error.

    ``containers``: names mapped to the arguments of a ``containers_present`` entry.
    ``listing``: the run's :class:`InstanceListing` (see :func:`run_listing`); None reads
    one for them. Returns ``{name: outcome}``: an :class:`AppliedPlan`, or the exception
    (ValueError, :class:`APIException`) that its planning raised, so that a bad entry
    fails its own state only and the others go on.
    """
    if listing is None:
        listing = InstanceListing.read(api)
    named, outcomes = [], {}
    for name, args in containers.items():
        try:
            spec = InstanceSpec.from_arguments(_instance_arguments({name: args}, None)[name])
            plan = plan_instance_declared(api, name, spec, listing=listing)
        except (ValueError, APIException) as exc:
            outcomes[name] = exc
            continue
        named.append((name, plan))
    errors = {}
    if rolling is not None:
        group = RollingGroup(named, rolling, apply_plans_concurrently)
        for name, plan in named:
            note = group.member_note(name)
            if note:
                plan.notes.append(note)
        if apply:
            try:
                group.apply(api)
            except RollingFailed:
                errors = group.outcome_errors()
    elif apply:
        group = PlanGroup(named)
        try:
            group.apply(api)
        except PlansFailed:
            errors = {name: exc for name, _, exc in group.failed}
    for name, plan in named:
        outcomes[name] = AppliedPlan(plan, errors.get(name))
    return outcomes
