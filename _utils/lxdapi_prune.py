"""Prune: remove the instances a selector matches that no state of the run declares.

The plan behind ``lxdapi.instances_pruned``, Salt's ``file.directory`` with ``clean:
True`` for a project's instances. What it takes, all plain data:

- a selector, the one concept of targets (:func:`lxdapi_targets.parse_target`: a glob,
  ``config:KEY:VALUE``, ``profile:NAME``, ``status:...``, ``name:GLOB``,
  ``project:NAME``, terms joined by ``and``, or the mapping form), and/or an ownership
  stamp (``owner``: the instances whose config key :data:`lxdapi_spec.OWNER_KEY` has
  that value, as ``container_present``'s ``owner`` sets it);
- the names the run declares in the same place (:func:`declarations` reads them from
  the run's low chunks, plain mappings; which place is the same is the caller's to say);
- ``keep``, names or globs that are never removed.

:func:`plan_instances_pruned` lists the project's instances once and returns a
:class:`PrunePlan`: for each instance to go, a clean stop (an unfreeze first for a
frozen one; a kill after a clean stop that failed only with ``force``), then a DELETE,
one :class:`lxdapi_plans.Write` each, the change keyed by the instance's name. Test mode
reports it; a real run applies it; a second run finds nothing to do and sends nothing.

Images the same way (:func:`plan_images_pruned`, behind ``lxdapi.images_pruned``): those
of the project that no alias names and no instance was made from, uploaded more than N
days ago, but a ``keep`` list of fingerprints; one DELETE each.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name. Bad input is a ValueError naming it, raised before
anything is sent."""

import collections.abc
import dataclasses
import datetime
import fnmatch
import time

from lxdapi import APIException, reword
from lxdapi_plans import Plan, Write
from lxdapi_spec import OWNER_KEY
from lxdapi_targets import parse_target, resolve
from lxdapi_values import check_bool, check_seconds, planning_status

#: The state functions (of the virtual name ``lxdapi``) whose low chunks declare
#: instances, and the argument that names them.
DECLARING_STATES = {"container_present": "name", "containers_present": "containers"}

#: The characters of a glob in ``keep``, besides those of a name.
KEEP_GLOB_CHARS = "*?[]!"


def keep_patterns(keep):
    """``keep`` as a tuple of names and globs: None is none; otherwise a list of
    non-empty texts of name characters (letters, digits, ``-``, ``.``, ``_``) and glob
    characters (``*?[]!``). ValueError naming the problem for anything else (a text
    alone is refused: ``keep: [web1]``, not ``keep: web1``)."""
    if keep is None:
        return ()
    if isinstance(keep, (str, bytes)) or not isinstance(keep, (list, tuple)):
        raise ValueError(f"keep must be a list of instance names or globs, not {keep!r}")
    patterns = []
    for item in keep:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)  # a number-like name as YAML reads it
        if (
            not isinstance(item, str)
            or not item
            or not all(c.isalnum() or c in "-._" + KEEP_GLOB_CHARS for c in item)
        ):
            raise ValueError(f"keep: {item!r} is not an instance name or a glob")
        patterns.append(item)
    return tuple(patterns)


def kept(name, patterns):
    """True when ``name`` is one of ``patterns`` (names or globs, case-sensitive)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def prune_target(selector=None, owner=None):
    """The :class:`lxdapi_targets.Target` of a prune: ``selector`` (any form
    :func:`lxdapi_targets.parse_target` reads), and, with ``owner``, the stamp
    ``user.lxdapi.owner: OWNER`` too (alone, when there is no selector). ValueError
    when neither is given: a prune never runs without a selector."""
    if owner is not None and (not isinstance(owner, str) or not owner.strip()):
        raise ValueError(f"owner must be a non-empty text, not {owner!r}")
    if selector is None or selector == "" or selector == [] or selector == {}:
        if owner is None:
            raise ValueError(
                "a selector is required (a glob, config:KEY:VALUE, profile:NAME, a mapping "
                "such as {config: {user.lxdapi.owner: salt}}), or owner: a prune never "
                "removes instances without one"
            )
        return parse_target({"config": {OWNER_KEY: owner}})
    target = parse_target(selector)
    if owner is not None:
        config = tuple(kv for kv in target.config if kv[0] != OWNER_KEY)
        if len(config) != len(target.config) and (OWNER_KEY, owner) not in target.config:
            raise ValueError(f"owner {owner!r} and the selector's {OWNER_KEY} contradict")
        target = dataclasses.replace(
            target,
            config=config + ((OWNER_KEY, owner),),
            single=None,
            spelled=f"{target} and config:{OWNER_KEY}:{owner}",
        )
    return target


@dataclasses.dataclass(frozen=True)
class Declaration:
    """Instances a state of the run declares: ``names``, and ``settings``, the
    connection settings and ``project`` its low chunk gives (``{}``: the defaults), which
    say on which server and in which project."""

    state: str
    names: tuple
    settings: dict


def declarations(chunks, virtualname="lxdapi", settings_keys=()):
    """The :class:`Declaration` of each ``container_present`` and ``containers_present``
    among ``chunks`` (a Salt run's low chunks: mappings with ``state``, ``fun``,
    ``name``, their arguments). ``settings_keys``: the argument names that are
    connection settings (``project`` is one anyway). A ``containers_present`` declares
    the names of its ``containers`` (a list, or the keys of a mapping); an entry that is
    no name is left out (its own state refuses it)."""
    found = []
    for chunk in chunks or ():
        if not isinstance(chunk, collections.abc.Mapping):
            continue
        argument = DECLARING_STATES.get(chunk.get("fun"))
        if chunk.get("state") != virtualname or argument is None:
            continue
        value = chunk.get(argument)
        if argument == "name":
            value = [value]
        elif isinstance(value, collections.abc.Mapping):
            value = list(value)
        elif not isinstance(value, (list, tuple)):
            value = []
        names = tuple(str(n) for n in value if isinstance(n, (str, int)) and str(n))
        keys = tuple(settings_keys) + ("project",)
        settings = {k: chunk[k] for k in keys if chunk.get(k) is not None}
        found.append(Declaration(f"{chunk.get('state')}.{chunk.get('fun')}", names, settings))
    return found


class CleanStop(Write):
    """A clean stop of instance ``name`` within ``timeout`` seconds; when it fails and
    ``force`` is set, a kill (a stop with ``force: true``), else the failure, saying so."""

    def __init__(self, api, name, timeout, force):
        super().__init__(
            "PUT",
            api.instance_path(name, "state"),
            {"action": "stop", "timeout": timeout, "force": False},
            wait_timeout=timeout + 30,
            keys=(name,),
        )
        self.name = name
        self.force = force

    def send(self, api, previous=None):
        try:
            return super().send(api, previous)
        except APIException as exc:
            if not self.force:
                raise reword(
                    exc,
                    f"{self.name} did not stop cleanly within {self.body['timeout']} s "
                    f"({exc.error or exc}); not removed (force: True kills it then)",
                ) from None
        kill = Write("PUT", self.url, dict(self.body, force=True), wait_timeout=60, keys=self.keys)
        return kill.send(api, previous)

    def __repr__(self):
        return f"<CleanStop {self.name}{' then kill' if self.force else ''}>"


class PrunePlan(Plan):
    """The :class:`Plan` of a prune, with what it found, for the comments: ``target``;
    ``matched``, the names the selector matches; ``declared`` and ``kept``, those of them
    the run declares or ``keep`` protects; ``removed``, the others (the ones to go, in the
    server's order)."""

    def __init__(self, name, target):
        super().__init__(name)
        self.target = target
        self.matched = ()
        self.declared = ()
        self.kept = ()
        self.removed = ()


def plan_instances_pruned(
    api, target, declared=(), keep=(), stop_timeout=30, force=False, declarations_seen=True
):
    """The :class:`PrunePlan` that removes, from ``api``'s project, the instances
    ``target`` (a :class:`lxdapi_targets.Target`, or anything
    :func:`lxdapi_targets.parse_target` reads) matches but for those in ``declared`` (the
    names the run declares in this project) and those ``keep`` (names or globs)
    protects. Each goes with a clean stop within ``stop_timeout`` seconds when it is not
    Stopped (an unfreeze first when Frozen; a kill after a failed clean stop only with
    ``force``), then a DELETE.

    Refused with a ValueError before anything is sent: a target that matches every
    instance of the project (one or more) while ``declared`` is empty (the run declares
    nothing there: it would empty the project), bad ``keep``, ``stop_timeout`` or
    ``force``. ``declarations_seen``: False when the run's declarations could not be
    read (a lone state, no SLS), for the refusal's words. One listing; no other request.
    """
    target = parse_target(target)
    patterns = keep_patterns(keep)
    stop_timeout = check_seconds(stop_timeout, "stop_timeout")
    check_bool(force, "force")
    declared = set(declared)
    project = api.project or "default"
    if target.project and target.project != project:
        raise ValueError(
            f"the selector's project {target.project!r} is not the state's project "
            f"{project!r}: give one"
        )
    found = resolve(api, target)
    plan = PrunePlan(str(target), target)
    plan.matched = found.names
    if found.names and set(found.names) >= set(found.listed) and not declared:
        where = (
            "the run declares none there"
            if declarations_seen
            else ("this run has no SLS to declare any (state.single)")
        )
        count = len(found.names)
        raise ValueError(
            f"the selector {str(target)!r} matches every instance of project {project!r} "
            f"({count}) and {where}: refused, nothing removed (narrow the selector, e.g. "
            "owner: salt, or use lxdapi.container_absent)"
        )
    plan.declared = tuple(n for n in found.names if n in declared)
    plan.kept = tuple(n for n in found.names if n not in declared and kept(n, patterns))
    plan.removed = tuple(n for n in found.names if n not in declared and not kept(n, patterns))
    for name in plan.removed:
        instance = found.instances[name]
        status = planning_status(instance.get("status"))
        if status == "Frozen":
            plan.writes.append(
                Write(
                    "PUT",
                    api.instance_path(name, "state"),
                    {"action": "unfreeze", "timeout": stop_timeout},
                    wait_timeout=stop_timeout + 30,
                    keys=(name,),
                )
            )
        if status != "Stopped":
            plan.writes.append(CleanStop(api, name, stop_timeout, force))
        plan.writes.append(Write("DELETE", api.instance_path(name), keys=(name,)))
        plan.add(name, {"status": status, "project": project}, None)
    return plan


# ------------------------------------------------------------------ images


def image_keep_list(keep):
    """``keep`` of :func:`plan_images_pruned` as a tuple of fingerprints (lower case;
    a prefix of at least 4 hex digits stands for the images it begins): None is none.
    ValueError naming the problem for anything else."""
    if keep is None:
        return ()
    if isinstance(keep, (str, bytes)) or not isinstance(keep, (list, tuple)):
        raise ValueError(f"keep must be a list of image fingerprints, not {keep!r}")
    found = []
    for item in keep:
        text = item.lower() if isinstance(item, str) else None
        if text is None or len(text) < 4 or len(text) > 64:
            raise ValueError(f"keep: {item!r} is not an image fingerprint (4 to 64 hex digits)")
        if any(c not in "0123456789abcdef" for c in text):
            raise ValueError(f"keep: {item!r} is not an image fingerprint (4 to 64 hex digits)")
        found.append(text)
    return tuple(found)


def check_days(value, what="older_than"):
    """A number of days (>= 0; a fraction is fine), as seconds. ValueError naming
    ``what`` otherwise (None too: the age is never implied)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        days = -1
    else:
        try:
            days = float(value)
        except ValueError:
            days = -1
    if not days >= 0 or days == float("inf"):
        raise ValueError(
            f"{what} must be a number of days (>= 0; 0: any age), not {value!r}: "
            "an image prune never implies an age"
        )
    return days * 86400


def server_time(text):
    """A server timestamp (``2026-12-06T12:00:00.123456789Z``, or with an offset) as
    seconds since the epoch; None when there is none (LXD's zero time is none too)."""
    if not isinstance(text, str) or not text or text.startswith("0001-"):
        return None
    head, _, rest = text.partition(".")
    zone = ""
    for sign in ("Z", "+", "-"):
        at = rest.find(sign) if rest else head.find(sign, 19)
        if at >= 0:
            zone = (rest or head)[at:]
            if rest:
                rest = rest[:at]
            else:
                head = head[:at]
            break
    fraction = (rest + "000000")[:6] if rest else "000000"
    zone = "+00:00" if zone in ("", "Z") else zone
    try:
        moment = datetime.datetime.fromisoformat(f"{head}.{fraction}{zone}")
    except ValueError:
        return None
    return moment.timestamp()


def images_in_use(api):
    """The fingerprints instances were made from, in every project (their
    ``volatile.base_image``): one listing (with no ``project``, which the server refuses
    beside ``all-projects``; requests leaves out a parameter that is None)."""
    listed = api.get(
        api.instances_collection, params={"recursion": 1, "all-projects": "true", "project": None}
    ).metadata
    return {
        (i.get("config") or {}).get("volatile.base_image")
        for i in listed or ()
        if isinstance(i, dict)
    } - {None, ""}


class ImagePrunePlan(Plan):
    """The :class:`Plan` of an image prune, with what it found, for the comments:
    ``removed`` (fingerprints, the ones to go), ``aliased``, ``used``, ``kept`` and
    ``young`` (the unaliased, unused images kept by ``keep`` or their age)."""

    def __init__(self, name):
        super().__init__(name)
        self.removed = ()
        self.aliased = ()
        self.used = ()
        self.kept = ()
        self.young = ()


def plan_images_pruned(api, older_than, keep=(), now=None):
    """The :class:`ImagePrunePlan` that deletes the images of ``api``'s project that no
    alias names, that no instance of any project was made from (``volatile.base_image``)
    and that were uploaded to the server (``uploaded_at``) more than ``older_than`` days
    ago (0: any age), but for those ``keep`` (fingerprints or prefixes) protects. One
    DELETE each; the change is keyed by the fingerprint. ``now``: the time to judge ages
    by (seconds since the epoch; default the clock's). ValueError before anything is
    sent for a bad ``older_than`` or ``keep``. Two listings, no other request."""
    seconds = check_days(older_than)
    kept_prefixes = image_keep_list(keep)
    now = time.time() if now is None else now
    images = api.get("images", params={"recursion": 1}).metadata or []
    used = images_in_use(api)
    plan = ImagePrunePlan(api.project or "default")
    removed, aliased, in_use, kept_, young = [], [], [], [], []
    for image in images:
        fingerprint = image.get("fingerprint") or ""
        if image.get("aliases"):
            aliased.append(fingerprint)
        elif fingerprint in used:
            in_use.append(fingerprint)
        elif any(fingerprint.startswith(prefix) for prefix in kept_prefixes):
            kept_.append(fingerprint)
        else:
            uploaded = server_time(image.get("uploaded_at"))
            if seconds and (uploaded is None or now - uploaded < seconds):  # unknown: not old
                young.append(fingerprint)
                continue
            removed.append(fingerprint)
            plan.add(
                fingerprint,
                {
                    "uploaded_at": image.get("uploaded_at"),
                    "size": image.get("size"),
                    "description": (image.get("properties") or {}).get("description"),
                },
                None,
            )
            plan.writes.append(
                Write("DELETE", api.path("images", fingerprint), keys=(fingerprint,))
            )
    plan.removed, plan.aliased, plan.used = tuple(removed), tuple(aliased), tuple(in_use)
    plan.kept, plan.young = tuple(kept_), tuple(young)
    return plan
