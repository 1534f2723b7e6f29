"""The one change model: a :class:`Plan` holds the changes a declared form needs and the
:class:`Write` requests that make them. Test mode reports ``plan.changes`` and sends
nothing; a real run calls :meth:`Plan.apply`. Every state and shortcut is a plan."""

import copy
import time

from lxdapi import APIException, APIPreconditionFailed, reword
from lxdapi_values import ignored_config_key, lxd_config, lxd_devices


class Write:
    """One write a plan will send: method, relative URL, JSON body, If-Match ETag.

    ``keys`` names the plan's changes this write makes (so a plan that fails half-way
    can tell what it did write). ``body`` may be a callable ``body(previous)`` given the
    :class:`APIResult` of the plan's previous write (e.g. a fingerprint known only then).
    ``explain(api, exc)``, when given, returns the exception to raise when the write
    fails, with what the server can tell about why (an instance's log after a failed
    start); :meth:`failed` calls it.
    """

    def __init__(
        self,
        method,
        url,
        body=None,
        etag=None,
        data=None,
        headers=None,
        wait_timeout=None,
        keys=(),
        explain=None,
    ):
        self.method = method
        self.url = url
        self.body = body
        self.etag = etag
        self.data = data
        self.headers = headers
        self.wait_timeout = wait_timeout
        self.keys = tuple(keys)
        self.explain = explain

    def failed(self, api, exc):
        """The exception to raise for ``exc``, a failure of this write: ``exc`` itself,
        or what ``explain`` makes of it (never a new failure of its own)."""
        if self.explain is None:
            return exc
        return self.explain(api, exc)

    def request_kwargs(self, previous=None):
        """The keyword arguments of :meth:`API.request` for this write (``previous``: the
        result of the plan's write before it, for a body computed from it)."""
        kwargs = {"etag": self.etag}
        body = self.body(previous) if callable(self.body) else self.body
        if body is not None:
            kwargs["json"] = body
        if self.data is not None:
            kwargs["data"] = self.data
        if self.headers:
            kwargs["headers"] = dict(self.headers)
        return kwargs

    def send(self, api, previous=None):
        """Send it and wait for its operation; return the final :class:`APIResult`."""
        try:
            return self._send(api, previous)
        except APIException as exc:
            raise self.failed(api, exc) from None

    def _send(self, api, previous):
        kwargs = self.request_kwargs(previous)
        for attempt in range(BUSY_RETRIES + 1):
            try:
                return api.request(self.method, self.url, **kwargs).wait(self.wait_timeout)
            except APIPreconditionFailed as exc:
                raise reword(
                    exc,
                    f"{self.url} was changed by another client since it was read; not overwritten",
                ) from None
            except APIException as exc:
                if not refused_as_busy(exc):
                    raise
                if attempt == BUSY_RETRIES:  # LXD refused it: another update ran
                    raise reword(
                        exc,
                        f"{self.url} was being changed by another client at the same "
                        f"moment; not overwritten ({exc.error})",
                    ) from None
                time.sleep(0.05 * (attempt + 1))  # then again, with the same If-Match

    def __repr__(self):
        return f"<Write {self.method} {self.url}>"


class Step:
    """A step of a plan that is not one request to the plan's server: ``run()`` does it
    (a copy that the destination server pulls, a start on another server) and returns
    what it made. It stands in a plan's ``writes`` beside :class:`Write` (``keys`` and
    ``send`` as there), so test mode reports it and a real run sends it in order."""

    def __init__(self, description, run, keys=()):
        self.description = description
        self.run = run
        self.keys = tuple(keys)

    def failed(self, api, exc):
        """The exception to raise for ``exc`` (``exc`` itself)."""
        return exc

    def send(self, api, previous=None):
        """Run the step (``api`` and ``previous`` are not needed: ``run`` knows its
        servers)."""
        return self.run()

    def __repr__(self):
        return f"<Step {self.description}>"


class Plan:
    """What it takes to bring one resource to its declared form.

    ``changes`` maps each changed field to ``{"old": ..., "new": ...}``; ``writes`` are the
    requests that make them; ``notes`` are things worth telling that are not acted on
    (a different source, a pending restart). An empty plan means: nothing to do.

    ``waits`` are checks a real run makes after the writes, and on a run with none too
    (an instance declared Running must be usable: :mod:`lxdapi_readiness`); they are not
    changes. Each has ``describe()`` (what test mode says it would wait for) and
    ``run(api)`` (what was found, in words; an :class:`APIException` when it is not).
    """

    def __init__(self, name=None):
        self.name = name
        self.changes = {}
        self.writes = []
        self.notes = []
        self.waits = []
        #: ``recover(api, exc)``: after ``exc`` stopped the writes, a fresh plan when
        #: another client was working on the same resource at that moment, else None.
        self.recover = None

    def __bool__(self):
        return bool(self.writes)

    def add(self, key, old, new):
        """Record a change of ``key`` from ``old`` to ``new``."""
        self.changes[key] = {"old": old, "new": new}

    def extend(self, other):
        """Append another plan's changes, writes and notes."""
        self.changes.update(other.changes)
        self.writes.extend(other.writes)
        self.notes.extend(other.notes)
        self.waits.extend(getattr(other, "waits", ()))
        return self

    def apply(self, api):
        """Send the writes in order; return True if anything was written.

        ``sent`` lists the writes that succeeded, so after a failure
        :meth:`applied_changes` tells what was written before it.
        """
        self.sent = []
        previous = None
        try:
            for write in self.writes:
                previous = write.send(api, previous)
                self.sent.append(write)
        except APIException as exc:
            if not self.recovered(api, exc):
                raise
        return bool(self.writes)

    def recovered(self, api, exc):
        """After ``exc`` stopped the writes: when :attr:`recover` makes a fresh plan
        (another client was creating or changing the same resource at that moment),
        apply it, once, and take its changes beside what went through before; True.
        False when there is nothing to recover. A second refusal raises, saying so."""
        fresh = None if self.recover is None else self.recover(api, exc)
        if fresh is None:
            return False
        made = self.applied_changes()
        sent = list(getattr(self, "sent", []))
        if OPERATION_GONE in (exc.error or "") and len(sent) < len(self.writes):
            # The server ran the write; its operation ended before the wait began.
            for key in self.writes[len(sent)].keys:
                if key in self.changes:
                    made[key] = self.changes[key]
        for attempt in range(BUSY_ATTEMPTS + 1):
            try:
                fresh.apply(api)
                break
            except APIException as again:
                # An instance still locked by an operation of the server's own (its stop
                # after a failed start) is waited for a few times more; nothing else is.
                busy = "busy running" in (again.error or "")
                retry = self.recover(api, again) if busy and attempt < BUSY_ATTEMPTS else None
                if retry is None:
                    raise reword(
                        again,
                        f"{again.error} (tried again from a fresh read, after: {exc.error})",
                    ) from None
                fresh = retry
        self.changes = dict(made, **fresh.changes)
        self.writes = sent + list(fresh.writes)
        self.sent = sent + list(fresh.sent)
        self.notes.extend(fresh.notes)
        self.notes.append(
            f"{self.name} was busy or changed by another client at that moment ({exc.error}); "
            "converged "
            "from a fresh read."
        )
        return True

    def applied_changes(self):
        """The changes whose writes all went through (all of them once :meth:`apply` ended).

        A change that no write names in ``keys`` counts as made only when every write was.
        """
        sent = getattr(self, "sent", [])
        if len(sent) == len(self.writes):
            return dict(self.changes)
        pending = set()
        for write in self.writes[len(sent) :]:
            pending.update(write.keys)
        tagged = {key for write in self.writes for key in write.keys}
        return {
            key: change
            for key, change in self.changes.items()
            if key in tagged and key not in pending
        }


class PlanSequence:
    """Several plans brought about one after another, in order, reported as one: what a
    state that declares several resources at once (a preseed document) hands to the
    converge as it would one :class:`Plan`.

    ``named``: ``[(path, plan)]`` where ``path`` is where the plan's changes go in
    ``changes``: ``("server",)`` or ``("profiles", "default")``. :meth:`apply` applies
    each plan with writes in order and stops at the first that fails;
    :meth:`applied_changes` then tells what went through (the failed plan's own partial
    changes included).
    """

    def __init__(self, name, named):
        self.name = name
        self.named = list(named)
        self.todo = [(path, plan) for path, plan in self.named if plan.writes]
        self.writes = [write for _, plan in self.todo for write in plan.writes]
        self.notes = [note for _, plan in self.named for note in plan.notes]
        self.waits = [wait for _, plan in self.named for wait in plan.waits]
        self.changes = self._nested((path, plan.changes) for path, plan in self.todo)
        self.done = []

    def __bool__(self):
        return bool(self.writes)

    @staticmethod
    def _nested(pairs):
        nested = {}
        for path, changes in pairs:
            if not changes:
                continue
            node = nested
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = changes
        return nested

    def apply(self, api):
        """Apply the plans in order; True. The first failure is raised as it is."""
        self.done = []
        self.failed = None
        for path, plan in self.todo:
            try:
                plan.apply(api)
            except APIException:
                self.failed = (path, plan)
                raise
            self.done.append((path, plan))
        return True

    def applied_changes(self):
        """The changes made: each applied plan's, and what a failed one wrote first."""
        pairs = [(path, plan.changes) for path, plan in self.done]
        if getattr(self, "failed", None) is not None:
            path, plan = self.failed
            pairs.append((path, plan.applied_changes()))
        return self._nested(pairs)


def diff_fields(current, declared, purge_config=False, purge_devices=False):
    """Compare the declared fields of a resource with what the server holds.

    ``current`` is the resource as GET returns it; ``declared`` may hold ``config``,
    ``devices``, ``profiles`` (ordered) and ``description`` (absent keys are not
    managed). ``volatile.*`` and ``image.*`` config keys are never compared or purged.
    Returns ``(changes, patch, removed_devices)``: ``patch`` is the PATCH body that makes
    the changes (a purged config key is sent as ``""``, which LXD removes); devices to
    remove cannot be PATCHed and are returned apart.
    """
    changes, patch, removed_devices = {}, {}, []
    if "config" in declared:
        have = current.get("config") or {}
        want = {
            k: v for k, v in lxd_config(declared["config"]).items() if not ignored_config_key(k)
        }
        old, new = {}, {}
        for key, value in want.items():
            if have.get(key, "") != value:  # "" (or None) declared: the key is absent
                old[key], new[key] = have.get(key), value
        if purge_config:
            for key in have:
                if key not in want and not ignored_config_key(key):
                    old[key], new[key] = have[key], None
        if new:
            changes["config"] = {"old": old, "new": new}
            patch["config"] = {k: ("" if v is None else v) for k, v in new.items()}
    if "devices" in declared:
        have = current.get("devices") or {}
        want = lxd_devices(declared["devices"])
        old, new = {}, {}
        for name, dev in want.items():
            if have.get(name) != dev:
                old[name], new[name] = have.get(name), dev
        if purge_devices:
            for name in have:
                if name not in want:
                    old[name], new[name] = have[name], None
                    removed_devices.append(name)
        if new:
            changes["devices"] = {"old": old, "new": new}
            patch["devices"] = {k: v for k, v in new.items() if v is not None}
    if "profiles" in declared and declared["profiles"] is not None:
        want = [str(p) for p in declared["profiles"]]
        if list(current.get("profiles") or []) != want:
            changes["profiles"] = {"old": current.get("profiles"), "new": want}
            patch["profiles"] = want
    if "description" in declared and declared["description"] is not None:
        if (current.get("description") or "") != str(declared["description"]):
            changes["description"] = {
                "old": current.get("description"),
                "new": str(declared["description"]),
            }
            patch["description"] = str(declared["description"])
    if declared.get("ephemeral") is not None:
        if bool(current.get("ephemeral")) != bool(declared["ephemeral"]):
            changes["ephemeral"] = {
                "old": bool(current.get("ephemeral")),
                "new": bool(declared["ephemeral"]),
            }
            patch["ephemeral"] = bool(declared["ephemeral"])
    return changes, patch, removed_devices


WRITABLE_FIELDS = (
    "config",
    "devices",
    "profiles",
    "description",
    "ephemeral",
    "architecture",
    "stateful",
)


def plan_update(
    url, current, etag, declared, purge_config=False, purge_devices=False, writable=WRITABLE_FIELDS
):
    """The :class:`Plan` that brings an existing resource to ``declared``.

    A PATCH with If-Match when it can; a PUT of the whole writable object (with
    If-Match, the server's own ``volatile.*`` keys kept as read) when devices must go.
    """
    plan = Plan()
    changes, patch, removed = diff_fields(current, declared, purge_config, purge_devices)
    plan.changes.update(changes)
    if not changes:
        return plan
    if removed:
        body = {k: copy.deepcopy(current[k]) for k in writable if k in current}
        for key, value in patch.items():
            if key in ("config", "devices"):
                body.setdefault(key, {}).update(value)
            else:
                body[key] = value
        body["config"] = {k: v for k, v in body.get("config", {}).items() if v != ""}
        for name in removed:
            body.get("devices", {}).pop(name, None)
        plan.writes.append(Write("PUT", url, body, etag=etag, keys=changes))
    else:
        # LXD 5.0 resets an instance's description on a PATCH that leaves it out.
        if "description" not in patch and current.get("description"):
            patch["description"] = current["description"]
        plan.writes.append(Write("PATCH", url, patch, etag=etag, keys=changes))
    return plan


BUSY_UPDATE_TEXT = "A matching non-reusable operation has now succeeded"

#: Further attempts at a plan made again while its instance stays busy.
BUSY_ATTEMPTS = 4

#: What a wait gets for an operation that ended over 5 s before it (LXD forgets it).
OPERATION_GONE = "Operation not found"
BUSY_RETRIES = 3


def refused_as_busy(exc):
    """True when LXD refused a write only because another update of it was running."""
    return (
        exc.status == 500
        and exc.result is not None
        and exc.result.response.status_code == 500
        and BUSY_UPDATE_TEXT in (exc.error or "")
    )
