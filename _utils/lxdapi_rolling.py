"""Rolling restarts: when a run would restart many instances, restart them a batch at a
time, each batch ready before the next starts, and stop at the first failure.

``rolling`` is a mapping: ``batch`` (how many at once: a number, or a percentage such
as ``'25%'``; default 1), ``wait_for`` (the readiness of :mod:`lxdapi_readiness` every
instance of a batch must pass before the next batch starts; default: the instance's own
``wait_for`` when its state declares one, else Running) and ``stop_on_failure`` (default
True: on the first failure, a start that fails or a wait that times out, the batches
not reached are not touched and are reported as not done). :func:`parse_rolling` checks
it (ValueError before anything is read or written).

A :class:`RollingGroup` is a plan of several instances (as
:class:`lxdapi_batch.PlanGroup`): test mode reports its batches (each restarted
instance's ``batch`` change, the group's note) and sends nothing; a real run applies the
plans that do not restart side by side first, then the batches one after another, the
members of a batch side by side.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import dataclasses
import math
import time

from lxdapi import APIException
from lxdapi_readiness import NotReady, ReadinessWait, parse_wait_for
from lxdapi_values import check_bool

#: What ``rolling`` may hold.
ROLLING_KEYS = ("batch", "wait_for", "stop_on_failure")

#: The change a plan must make to be rolled: it restarts its instance.
RESTART_CHANGE = "restarted"

#: The change key that tells a rolled instance's batch (``2 of 3``).
BATCH_CHANGE = "batch"


@dataclasses.dataclass(frozen=True)
class Rolling:
    """A parsed ``rolling`` (see :func:`parse_rolling`): ``count`` instances at once, or
    ``percent`` of them (at least one); the readiness ``wait_for`` (a
    :class:`lxdapi_readiness.WaitFor`, None: the instance's own, else Running);
    ``stop_on_failure``."""

    count: int = 1
    percent: float = None
    wait_for: object = None
    stop_on_failure: bool = True

    def size(self, total):
        """How many of ``total`` instances one batch holds (at least one; a percentage
        is rounded down, so that never more than it are down at once)."""
        if self.percent is None:
            return max(1, self.count)
        return max(1, math.floor(total * self.percent / 100 + 1e-9))

    def batches(self, names):
        """``names`` cut into batches, in order."""
        names = list(names)
        size = self.size(len(names))
        return [names[i : i + size] for i in range(0, len(names), size)]

    def describe(self):
        """``batches of 2`` or ``batches of 25%``."""
        if self.percent is None:
            return f"batches of {self.count}"
        return f"batches of {self.percent:g}%"


def _batch_value(value):
    """``(count, percent)`` of ``batch``; ValueError naming what is wrong."""
    problem = (
        f"rolling: batch must be a whole number of 1 or more, or a percentage above 0% and "
        f"up to 100% (such as '25%'), not {value!r}"
    )
    if isinstance(value, bool):
        raise ValueError(problem)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                percent = float(text[:-1])
            except ValueError:
                raise ValueError(problem) from None
            if not 0 < percent <= 100:
                raise ValueError(problem)
            return None, percent
        if not text.isdigit():
            raise ValueError(problem)
        value = int(text)
    if not isinstance(value, int) or value < 1:
        raise ValueError(problem)
    return value, None


def parse_rolling(value):
    """A :class:`Rolling` from a state's ``rolling`` mapping (None for None; a
    :class:`Rolling` as it is).

    ``batch``: a whole number of 1 or more, or a percentage above 0% and up to 100%
    (``'25%'``; default 1); ``wait_for``: a readiness mapping (see
    :func:`lxdapi_readiness.parse_wait_for`); ``stop_on_failure``: True (default) or
    False. ValueError naming what is wrong: an unknown key, batch 0, a batch over 100%...
    """
    if value is None or isinstance(value, Rolling):
        return value
    if not isinstance(value, dict):
        raise ValueError(
            "rolling must be a mapping of {}, such as {{batch: 2}}, not {!r}".format(
                ", ".join(ROLLING_KEYS), value
            )
        )
    unknown = sorted(str(k) for k in value if k not in ROLLING_KEYS)
    if unknown:
        raise ValueError(
            "rolling: unknown key(s) {}; it takes {}".format(
                ", ".join(unknown), ", ".join(ROLLING_KEYS)
            )
        )
    count, percent = _batch_value(value.get("batch", 1))
    try:
        wait = parse_wait_for(value.get("wait_for"))
    except ValueError as exc:
        raise ValueError(f"rolling: {exc}") from None
    stop = check_bool(value.get("stop_on_failure", True), "rolling: stop_on_failure")
    return Rolling(count=count or 1, percent=percent, wait_for=wait, stop_on_failure=stop)


def group_rolling(values):
    """The one :class:`Rolling` of a group of states (an aggregate) from each state's
    ``rolling`` (None where a state declares none): None when none declares it;
    ValueError when one is bad or two differ (the group cannot be cut two ways)."""
    declared = [value for value in values if value is not None]
    if not declared:
        return None
    parsed = [parse_rolling(value) for value in declared]
    if any(other != parsed[0] for other in parsed[1:]):
        raise ValueError(
            "rolling: the states converged together declare different rolling settings; "
            "give them all the same"
        )
    return parsed[0]


def refuse_member_rolling(containers, defaults=None):
    """ValueError when ``defaults`` or an entry of ``containers`` (the arguments of a
    ``containers_present``) declares ``rolling``: it is the state's own argument, for all
    of its containers at once, and would be ignored there."""
    entries = [("defaults", defaults)]
    if isinstance(containers, dict):
        entries += [(f"container {name}", entry) for name, entry in containers.items()]
    for where, entry in entries:
        if isinstance(entry, dict) and "rolling" in entry:
            raise ValueError(
                f"{where}: rolling is an argument of the state (for all its containers), "
                "not of one container"
            )


class RollingFailed(APIException):
    """A rolling restart failed: ``failed`` the ``(instance, exception)`` that did, and
    ``not_done`` the instances of the batches it did not reach."""


class NotDone(APIException):
    """An instance a rolling restart did not reach: a batch before its own failed."""


class RunningCheck:
    """The gate of a batch when neither ``rolling`` nor the instance's state declares a
    ``wait_for``: the instance is Running (polled up to ``timeout`` seconds)."""

    def __init__(self, name, timeout=30, clock=time.monotonic, sleep=time.sleep):
        self.name = name
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep

    def describe(self):
        """``wait for web1: Running``."""
        return f"wait for {self.name}: Running"

    def run(self, api):
        """``web1: Running``; :class:`lxdapi_readiness.NotReady` when it is not in time."""
        deadline = self.clock() + self.timeout
        interval = 0.1
        while True:
            status = (api.get(api.instance_path(self.name)).metadata or {}).get("status")
            if status == "Running":
                return f"{self.name}: Running"
            if self.clock() >= deadline:
                raise NotReady(error=f"{self.name} is {status}, not Running, after the restart")
            self.sleep(interval)
            interval = min(interval * 1.5, 2.0)


class RollingGroup:
    """The plans of several instances (``named``: ``[(instance, plan)]``), those that
    restart their instance rolled a batch at a time by ``rolling`` (a :class:`Rolling`,
    or its mapping). It behaves as :class:`lxdapi_batch.PlanGroup`: ``named``, ``todo``,
    ``writes``, ``changes`` (per instance), ``notes``, ``waits``, :meth:`apply`, then
    ``done`` and ``failed``; and ``not_done``, the instances a failure left untouched.

    ``side_by_side(api, plans)`` applies plans side by side and returns one entry per
    plan, None or the exception that stopped it
    (:func:`lxdapi_batch.apply_plans_concurrently`).

    Each restarted instance's changes gain ``batch`` (``2 of 3``) and the group a note
    listing the batches, so test mode says them. The waits of the rolled instances are
    the gates of their batches, run by :meth:`apply`; ``waits`` holds the others'.
    """

    def __init__(self, named, rolling, side_by_side):
        self.rolling = parse_rolling(rolling)
        self.side_by_side = side_by_side
        self.named = list(named)
        self.todo = [(name, plan) for name, plan in self.named if plan.writes]
        rolled = [(name, plan) for name, plan in self.todo if RESTART_CHANGE in plan.changes]
        self.others = [(name, plan) for name, plan in self.todo if name not in dict(rolled)]
        self.batches = []
        plans = dict(rolled)
        for names in self.rolling.batches(name for name, _ in rolled):
            self.batches.append([(name, plans[name]) for name in names])
        self.batch_of = {}
        for k, batch in enumerate(self.batches, 1):
            for name, plan in batch:
                self.batch_of[name] = k
                plan.changes[BATCH_CHANGE] = {"old": None, "new": f"{k} of {len(self.batches)}"}
        self.notes = [note for _, plan in self.named for note in plan.notes]
        if self.batches:
            self.notes.append(self.describe() + ".")
        self.writes = [write for _, plan in self.todo for write in plan.writes]
        self.changes = {name: plan.changes for name, plan in self.todo}
        gated = set(self.batch_of) if self.rolling.wait_for is None else set()
        self.waits = [
            wait
            for name, plan in self.named
            if name not in gated
            for wait in getattr(plan, "waits", ())
        ]
        self.done, self.failed, self.not_done = [], [], []

    def __bool__(self):
        return bool(self.writes)

    def gate(self, api, name, plan):
        """What instance ``name`` must pass before the next batch: ``rolling``'s
        ``wait_for``, else its own plan's waits, else Running. A ``wait_for`` with
        ``agent`` learns the instance's type from its own wait, else from one GET."""
        own = list(getattr(plan, "waits", ()))
        wait = self.rolling.wait_for
        if wait is not None:
            kind = next((w.instance_type for w in own if hasattr(w, "instance_type")), None)
            if kind is None and wait.agent:
                kind = (api.get(api.instance_path(name)).metadata or {}).get("type")
            return [ReadinessWait(name, wait, kind or "container")]
        return own or [RunningCheck(name)]

    def describe(self):
        """The batches in words: ``Rolling restart of 5 in batches of 2, each ready
        (Running) before the next: 1: a, b; 2: c, d; 3: e``."""
        if self.rolling.wait_for is not None:
            ready = self.rolling.wait_for.describe()
        else:
            ready = "its wait_for, else Running"
        text = "Rolling restart of {} in {} ({} batch(es)), each ready ({}) before the next{}: {}"
        return text.format(
            len(self.batch_of),
            self.rolling.describe(),
            len(self.batches),
            ready,
            "" if self.rolling.stop_on_failure else ", going on after a failure",
            "; ".join(
                "{}: {}".format(k, ", ".join(name for name, _ in batch))
                for k, batch in enumerate(self.batches, 1)
            ),
        )

    def member_note(self, name):
        """What a rolled instance's own state says of its batch (None for the others)."""
        k = self.batch_of.get(name)
        if k is None:
            return None
        batch = [member for member, _ in self.batches[k - 1]]
        return "Restarted in batch {} of {} ({}) of a rolling restart in {}.".format(
            k, len(self.batches), ", ".join(batch), self.rolling.describe()
        )

    def _settle(self, api, entries):
        """Apply ``entries`` side by side, then gate each that went through; the
        failures of this round."""
        errors = self.side_by_side(api, [plan for _, plan in entries]) if entries else []
        failures = []
        for (name, plan), exc in zip(entries, errors):
            if exc is None and name in self.batch_of:
                try:
                    found = [wait.run(api) for wait in self.gate(api, name, plan)]
                    plan.notes.append("Ready: {}.".format("; ".join(found)))
                except APIException as not_ready:
                    exc = not_ready
            if exc is None:
                self.done.append((name, plan))
            else:
                self.failed.append((name, plan, exc))
                failures.append(name)
        return failures

    def apply(self, api):
        """Apply the plans that do not restart side by side, then each batch in turn,
        its members side by side and each then gated (see :meth:`gate`); True. On a
        failure with ``stop_on_failure`` the later batches are not touched. Raises
        :class:`RollingFailed` naming each failure and what was not done."""
        self.done, self.failed, self.not_done = [], [], []
        self._settle(api, self.others)
        stopped = None
        for k, batch in enumerate(self.batches, 1):
            if stopped is not None:
                self.not_done.extend(name for name, _ in batch)
                continue
            failures = self._settle(api, batch)
            self.notes.append(
                "Batch {} ({}) {}.".format(
                    k,
                    ", ".join(name for name, _ in batch),
                    "failed: " + ", ".join(failures) if failures else "ready",
                )
            )
            if failures and self.rolling.stop_on_failure:
                stopped = failures[0]
        if self.failed:
            text = "; ".join(f"{name}: {exc.error or exc}" for name, _, exc in self.failed)
            if self.not_done:
                text += "; not done (the rolling restart stopped at {}'s failure): {}".format(
                    stopped, ", ".join(self.not_done)
                )
            exc = RollingFailed(
                error=f"{len(self.failed)} of {len(self.todo)} container(s) failed: {text}"
            )
            exc.failed = [(name, error) for name, _, error in self.failed]
            exc.not_done = list(self.not_done)
            raise exc
        return True

    def outcome_errors(self):
        """After :meth:`apply`: ``{instance: exception}`` of those that failed and those
        not done (a :class:`NotDone` naming the failure that stopped the restart)."""
        errors = {name: exc for name, _, exc in self.failed}
        if self.not_done:
            first = self.failed[0][0] if self.failed else "?"
            for name in self.not_done:
                errors[name] = NotDone(
                    error=f"not done: the rolling restart stopped at the failure of {first} "
                    "in an earlier batch; nothing was written"
                )
        return errors

    def applied_changes(self):
        """The changes made: each applied plan's, and what a failed one wrote first."""
        made = {name: plan.changes for name, plan in self.done}
        for name, plan, _ in self.failed:
            partial = plan.applied_changes()
            if partial:
                made[name] = partial
        return made
