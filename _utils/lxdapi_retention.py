"""Retention by policy: snapshots (of instances, of custom volumes) and backup files in
a local folder, named by a strftime pattern, taken when missing and pruned to a policy.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

A :class:`Policy` is a name pattern and its limits:

- ``pattern``: the name of what one run makes, a ``strftime`` pattern expanded in UTC
  (``daily-%Y%m%d`` is ``daily-20261206`` on 6 December 2026, whatever the host's time
  zone); the directives are ``%Y %y %m %d %H %M %S %j`` and ``%%``, any other is
  refused. A run each day so makes one a day, and a run on a day that has one makes
  nothing.
- ``keep``: the newest ``keep`` names of the pattern stay, older ones go;
- ``max_age``: names of the pattern older than this go (``7d``, ``12h``, ``30m``,
  ``2w``, ``1d12h``, or a number of seconds);
- ``match``: a glob (``daily-*``) that says which names the policy may delete, instead
  of the pattern turned into a matcher (``daily-%Y%m%d`` matches ``daily-`` and eight
  digits).

Only names that match are ever deleted; anything else is never touched. Both limits
apply when both are given: what is not among the newest ``keep``, or is older than
``max_age``, goes. The name this run declares (today's) is never deleted by the policy.

The time of a name, which orders them for ``keep`` and ages them for ``max_age``: when the
pattern carries a year (``%Y`` or ``%y``) and the name is of the pattern, the time its
name says, in UTC (``daily-20261129`` is 2026-11-29 00:00 UTC, so ``max_age: 7d`` keeps
seven daily names, today's included); otherwise the time the server reports
(``created_at``, in UTC) or, for a file, its modification time. A name whose time is not
known is never deleted for its age, and is the oldest for ``keep`` (among such names, the
greater name is the newer). LXD 5.0 reports no ``created_at`` for a custom volume's
snapshots (its zero time, ``0001-01-01``), Incus does.

The plans (:func:`plan_snapshot_retained`, :func:`plan_volume_snapshot_retained`,
:func:`plan_backup_exported`) make what is missing first, then delete what falls out of
the policy, as one :class:`RetentionPlan`: test mode lists both, a real run does both.
Bad input (``keep`` below 1, a bad ``max_age``, a pattern that expands to a name the
server would refuse, a folder that is not absolute) raises ValueError before anything is
read or written.
"""

import datetime
import fnmatch
import functools
import os
import re

from lxdapi import APINotFoundException, get_or_none
from lxdapi_backups import backup_request, export_backup
from lxdapi_instances import snapshot_list
from lxdapi_operations import list_collection
from lxdapi_plans import Plan, Step, Write
from lxdapi_reconcile import (
    plan_resource_present,
    plan_snapshot_present,
    recover_resource,
    resource_collection,
    resource_url,
)
from lxdapi_values import check_absolute_path, check_name, lxd_time

#: The strftime directives a pattern may hold, and what each matches.
DIRECTIVES = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "j": r"\d{3}",
}

#: The units of a ``max_age`` such as ``7d`` or ``1d12h``, in seconds.
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_AGE = re.compile(r"(?:(\d+(?:\.\d+)?)([smhdw]))+")
_AGE_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")

#: The changes key of what the policy deletes: ``{"old": [names], "new": None}``.
DELETED = "deleted"

#: The changes keys that say a plan makes its snapshot or file (else it updates it).
CREATED = ("snapshot", "storage_volume_snapshot", "backup")


def check_keep(value):
    """``keep`` as an int of at least 1 (``3`` and ``"3"``); ValueError otherwise."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, (bool, float)) or number < 1:
        raise ValueError(f"keep must be a whole number of at least 1, not {value!r}")
    return number


def check_max_age(value):
    """``max_age`` in seconds: a positive number, or a duration such as ``7d``, ``12h``,
    ``30m``, ``45s``, ``2w``, ``1d12h``; ValueError otherwise."""
    seconds = 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            if _AGE.fullmatch(text):
                seconds = sum(
                    float(number) * UNITS[unit] for number, unit in _AGE_PART.findall(text)
                )
    if not 0 < seconds < float("inf"):
        raise ValueError(
            "max_age must be a duration such as 7d, 12h, 30m, 2w, 1d12h or a positive "
            f"number of seconds, not {value!r}"
        )
    return seconds


def parse_time(stamp):
    """Seconds since the epoch of an RFC 3339 timestamp as LXD writes them
    (``created_at``), or None (none, or LXD's zero time ``0001-01-01T00:00:00Z``)."""
    return lxd_time(stamp)


def utc_now():
    """Now, in UTC (an aware datetime)."""
    return datetime.datetime.now(datetime.timezone.utc)


class Policy:
    """A name pattern and its retention limits (see the module's docstring).

    ``what`` names the pattern's argument in error messages (``name``, ``pattern``);
    ``limits``: whether ``keep`` or ``max_age`` must be given (a policy without either
    deletes nothing). ValueError for bad input: ``keep`` below 1, a bad ``max_age``,
    neither of them (with ``limits``), an unknown directive, a ``match`` that is not a
    non-empty text.
    """

    def __init__(self, pattern, keep=None, max_age=None, match=None, what="name", limits=True):
        self.what = what
        self.pattern = check_name(pattern, what)
        if limits and keep is None and max_age is None:
            raise ValueError("a retention policy needs keep or max_age (or both)")
        self.keep = None if keep is None else check_keep(keep)
        self.max_age = None if max_age is None else check_max_age(max_age)
        if match is not None and (not isinstance(match, str) or not match.strip()):
            raise ValueError(f"match must be a glob such as 'daily-*', not {match!r}")
        self.match = match
        self.regex, self.directives = self._compile(self.pattern)
        self.dated = bool({"Y", "y"} & self.directives)

    def _compile(self, pattern):
        parts, used, i = [], set(), 0
        while i < len(pattern):
            char = pattern[i]
            if char != "%":
                parts.append(re.escape(char))
                i += 1
                continue
            directive = pattern[i + 1 : i + 2]
            if directive == "%":
                parts.append("%")
            elif directive in DIRECTIVES:
                parts.append(DIRECTIVES[directive])
                used.add(directive)
            else:
                raise ValueError(
                    "{} {!r}: unsupported strftime directive {!r}; use {} or %%".format(
                        self.what,
                        pattern,
                        "%" + directive,
                        " ".join("%" + d for d in DIRECTIVES),
                    )
                )
            i += 2
        return re.compile("".join(parts)), used

    def expand(self, now):
        """The name the pattern gives at ``now`` (an aware datetime, taken in UTC)."""
        return now.astimezone(datetime.timezone.utc).strftime(self.pattern)

    def matches(self, name):
        """Whether the policy may delete ``name``: it matches ``match``, or the pattern."""
        if self.match is not None:
            return fnmatch.fnmatchcase(name, self.match)
        return self.regex.fullmatch(name) is not None

    def name_time(self, name):
        """The time ``name`` says (seconds since the epoch, UTC), when the pattern carries
        a year and the name is of the pattern; else None."""
        if not self.dated or self.regex.fullmatch(name) is None:
            return None
        try:
            when = datetime.datetime.strptime(name, self.pattern)
        except ValueError:
            return None
        return when.replace(tzinfo=datetime.timezone.utc).timestamp()

    def time_of(self, name, fallback):
        """The time that orders and ages ``name``: :meth:`name_time`, else ``fallback``
        (``created_at`` in seconds, a file's modification time; None: not known)."""
        found = self.name_time(name)
        return fallback if found is None else found

    def doomed(self, entries, now, declared):
        """The names that fall out of the policy, oldest first.

        ``entries``: ``{name: time}`` (seconds since the epoch, or None) of every name
        there (matching or not); ``declared``: the name this run declares, never deleted
        and the newest for ``keep``."""
        if self.keep is None and self.max_age is None:
            return []
        limit = now.timestamp() - self.max_age if self.max_age is not None else None
        candidates = [
            (self.time_of(name, when), name)
            for name, when in entries.items()
            if name != declared and self.matches(name)
        ]
        # Newest first; a time not known counts as the oldest.
        candidates.sort(key=lambda item: (item[0] is not None, item[0] or 0, item[1]), reverse=True)
        gone = []
        for rank, (when, name) in enumerate(candidates, start=2):  # the declared one is 1st
            if self.keep is not None and rank > self.keep:
                gone.append((when, name))
            elif limit is not None and when is not None and when < limit:
                gone.append((when, name))
        return [name for _, name in reversed(gone)]


def check_snapshot_name(name, what="name"):
    """``name`` as a snapshot's name: ValueError for one LXD would refuse (empty, with a
    ``/``, with white space, ``.`` or ``..``)."""
    if not name or "/" in name or any(c.isspace() for c in name) or name in (".", ".."):
        raise ValueError(
            f"{what} expands to {name!r}, which is not a valid snapshot name "
            "(no '/', no white space, not empty)"
        )
    return name


def check_file_name(name, what="pattern"):
    """``name`` as the name of a file in a folder; ValueError otherwise."""
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ValueError(f"{what} expands to {name!r}, which is not a file name (no '/')")
    return name


class RetentionPlan(Plan):
    """A :class:`Plan` whose changes hold, beside what it makes, the names its policy
    deletes (``changes["deleted"] = {"old": [names], "new": None}``): after a failure
    half-way, :meth:`applied_changes` lists those deleted until then."""

    def __init__(self, name=None):
        super().__init__(name)
        self.deletes = {}  # id(write) -> the name it deletes

    @classmethod
    def from_plan(cls, plan):
        """A RetentionPlan holding ``plan``'s changes, writes, notes and recover."""
        new = cls(plan.name)
        new.extend(plan)
        new.recover = plan.recover
        return new

    def delete(self, name, write):
        """Add ``write`` (a :class:`Write` or :class:`Step`) that deletes ``name``."""
        self.writes.append(write)
        self.deletes[id(write)] = name
        deleted = self.changes.setdefault(DELETED, {"old": [], "new": None})
        deleted["old"].append(name)

    def applied_changes(self):
        sent = getattr(self, "sent", [])
        made = super().applied_changes()
        if DELETED in self.changes:
            gone = [self.deletes[id(w)] for w in sent if id(w) in self.deletes]
            made.pop(DELETED, None)
            if gone:
                made[DELETED] = {"old": gone, "new": None}
        return made


def retention_comment(plan, what, testing=False):
    """The comment of a retention state's plan: what it makes (``what``: ``Snapshot
    'daily-20261206' of 'web1'``) and what it deletes."""
    changed = [key for key in plan.changes if key != DELETED]
    deleted = (plan.changes.get(DELETED) or {}).get("old") or []
    words = []
    if changed:
        made = any(key in CREATED and plan.changes[key]["old"] is None for key in changed)
        verb = "made" if made else "updated"
        words.append("{} {}".format(what, "would be " + verb if testing else verb))
    if deleted:
        words.append(
            "{} by the retention policy: {}".format(
                "would be deleted" if testing else "deleted", ", ".join(deleted)
            )
        )
    if not words:
        return f"{what} is there and nothing falls out of the retention policy."
    return "; ".join(words) + "."


# -------------------------------------------------------------- instance snapshots


def plan_snapshot_retained(
    api, instance, name, stateful=False, keep=None, max_age=None, match=None, now=None
):
    """The :class:`RetentionPlan` that takes the snapshot the pattern ``name`` gives now
    (UTC) of ``instance`` unless it exists, then deletes the snapshots of the pattern (or
    of ``match``) that fall out of ``keep``/``max_age``. Times: the date in the name when
    the pattern carries a year, else ``created_at``. ValueError for bad input (before
    any request); :class:`APINotFoundException` when the instance does not exist."""
    check_name(instance, "container")
    policy = Policy(name, keep, max_age, match)
    now = now or utc_now()
    declared = check_snapshot_name(policy.expand(now))
    if match is not None and not policy.matches(declared):
        raise ValueError(f"the snapshot's name {declared!r} does not match {match!r}")
    found = snapshot_list(api, instance, recursion=1)
    if found is False:
        raise APINotFoundException(error=f"instance {instance!r} does not exist")
    entries = {
        str(item.get("name", "")).rsplit("/", 1)[-1]: parse_time(item.get("created_at"))
        for item in found
    }
    if declared in entries and stateful is False:
        plan = RetentionPlan(declared)  # there: nothing to take, nothing to say
    else:
        plan = RetentionPlan.from_plan(plan_snapshot_present(api, instance, declared, stateful))
        plan.name = declared
    entries.setdefault(declared, now.timestamp())
    for old in policy.doomed(entries, now, declared):
        plan.delete(old, Write("DELETE", api.instance_path(instance, "snapshots", old)))
    return plan


# -------------------------------------------------------------- volume snapshots


def plan_volume_snapshot_retained(
    api,
    pool,
    volume,
    name,
    description=None,
    keep=None,
    max_age=None,
    match=None,
    volume_type="custom",
    now=None,
):
    """The :class:`RetentionPlan` of a custom volume's snapshots: the one the pattern
    ``name`` gives now (UTC) taken unless it exists (with ``description``, as
    ``storage_volume_snapshot_present``), then those of the pattern (or of ``match``)
    that fall out of ``keep``/``max_age`` deleted. Times as
    :func:`plan_snapshot_retained`. ValueError for bad input (before any request);
    :class:`APINotFoundException` when the volume does not exist."""
    check_name(pool, "pool")
    check_name(volume, "volume")
    policy = Policy(name, keep, max_age, match)
    now = now or utc_now()
    declared = check_snapshot_name(policy.expand(now))
    if match is not None and not policy.matches(declared):
        raise ValueError(f"the snapshot's name {declared!r} does not match {match!r}")
    where = {"pool": pool, "type": volume_type, "volume": volume}
    try:
        found = list_collection(
            api, resource_collection(api, "storage_volume_snapshot", **where), recursion=1
        )
    except APINotFoundException:
        found = []
    # LXD 5.0 lists no snapshots, rather than none found, for a volume that is absent.
    volume_url = resource_url(api, "storage_volume", volume, pool=pool, type=volume_type)
    if not found and get_or_none(api, volume_url) is None:
        raise APINotFoundException(
            error=f"storage volume {volume!r} does not exist in pool {pool!r}"
        )
    plan = RetentionPlan.from_plan(
        plan_resource_present(
            api, "storage_volume_snapshot", declared, {"description": description}, **where
        )
    )
    plan.name = declared
    entries = {
        str(item.get("name", "")).rsplit("/", 1)[-1]: parse_time(item.get("created_at"))
        for item in found
    }
    entries.setdefault(declared, now.timestamp())
    for old in policy.doomed(entries, now, declared):
        plan.delete(
            old, Write("DELETE", resource_url(api, "storage_volume_snapshot", old, **where))
        )
    plan.recover = recover_resource(
        lambda fresh_api: plan_volume_snapshot_retained(
            fresh_api, pool, volume, name, description, keep, max_age, match, volume_type, now
        )
    )
    return plan


# -------------------------------------------------------------- backup files


#: The default file name pattern of :func:`plan_backup_exported`.
BACKUP_PATTERN = "{container}-%Y%m%d.tar.gz"


def backup_files(folder):
    """``{name: modification time}`` of the regular files in ``folder`` (symbolic links
    and folders left out)."""
    found = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                found[entry.name] = entry.stat(follow_symlinks=False).st_mtime
    return found


def plan_backup_exported(
    api,
    instance,
    folder,
    pattern=BACKUP_PATTERN,
    keep=None,
    max_age=None,
    match=None,
    compression=None,
    instance_only=False,
    optimized_storage=False,
    now=None,
):
    """The :class:`RetentionPlan` of an instance's backups in the local ``folder``: the
    file the pattern gives now (``{container}`` replaced by the instance's name, then
    strftime in UTC) exported unless it exists (as ``container_backup_export`` writes
    it: to a temporary name in the folder, renamed when complete, 0600), then the files
    of the pattern (or of ``match``) that fall out of ``keep``/``max_age`` deleted. Other
    files are never touched. Times: the date in the name when the pattern carries a year,
    else the file's modification time.

    With neither ``keep`` nor ``max_age`` nothing is deleted. ValueError for bad input
    (before any request): a folder that is not absolute or does not exist, a pattern
    that gives a path, a bad ``compression``; :class:`APINotFoundException` when the
    instance does not exist.
    """
    check_name(instance, "container")
    folder = check_absolute_path(folder, "folder")
    pattern = check_name(pattern, "pattern").replace("{container}", str(instance))
    policy = Policy(pattern, keep, max_age, match, what="pattern", limits=False)
    now = now or utc_now()
    declared = check_file_name(policy.expand(now))
    if match is not None and not policy.matches(declared):
        raise ValueError(f"the file name {declared!r} does not match {match!r}")
    backup_request("instance_only", instance_only, compression, optimized_storage)  # checked
    if not os.path.isdir(folder):
        raise ValueError(f"folder {folder} does not exist")
    if get_or_none(api, api.instance_path(instance)) is None:
        raise APINotFoundException(error=f"instance {instance!r} does not exist")
    dest = os.path.join(folder, declared)
    plan = RetentionPlan(dest)
    if not os.path.lexists(dest):
        plan.add("backup", None, dest)
        plan.writes.append(
            Step(
                f"export {instance} to {dest}",
                lambda: export_backup(
                    api,
                    api.instance_path(instance, "backups"),
                    backup_request("instance_only", instance_only, compression, optimized_storage),
                    dest,
                ),
                keys=("backup",),
            )
        )
    entries = backup_files(folder)
    entries.setdefault(declared, now.timestamp())
    for old in policy.doomed(entries, now, declared):
        path = os.path.join(folder, old)
        plan.delete(old, Step(f"delete {path}", functools.partial(os.unlink, path)))
    return plan
