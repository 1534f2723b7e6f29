"""Targets: which instances a command reaches, spelled as one name, a list, a glob or a
selector on what the server knows, resolved with one listing.

The forms :func:`parse_target` reads (a text from the command line, or a list or a
mapping from an SLS or Python):

==================================  ====================================================
``web1``                            one plain name: the *single* form (a function called
                                    with it answers exactly as it did before targets)
``[web1, web2]``, ``web1,web2``     a list of names; a name that is not on the server is
                                    reported as missing (:attr:`Resolved.missing`)
``web*``, ``web-?``, ``web[12]``    a glob on the names (:mod:`fnmatch`, case-sensitive)
``name:web*``                       the same glob, as a selector term
``config:user.role:web``            a config key has this value
``config:user.role``                the config key is set (any value)
``profile:web``                     the instance has this profile
``status:running``                  the instance's status (case-insensitive)
``project:prod``                    the instances of project ``prod`` (the listing, and
                                    the calls made on them, go to that project)
``TERM and TERM ...``               every term holds: ``config:user.role:web and
                                    status:running``; a term with no prefix is a name,
                                    a glob or a comma list (``web* and status:running``)
==================================  ====================================================

A selector is spelled ``prefix:value`` with colons, never ``key=value``, because Salt's
command line reads ``salt-call lxdapi.call user.role=web`` as a keyword argument.

The mapping form, for SLS files and Python, takes the same terms as keys (each optional,
all of them hold together)::

    {"config": {"user.role": "web", "user.tier": None},   # None: the key is set
     "profile": "web",            # or a list: every one of them
     "status": "Running",
     "name": "web*",              # a glob or a name, or a list of names and globs
     "project": "prod"}

Config means the instance's **expanded** config (``expanded_config``: its own keys over
those of its profiles), which is what the instance runs with: a ``user.role`` set in a
profile matches every instance that has the profile. Config values compare as LXD stores
them (text: ``true``, ``8080``).

Plain Python: nothing here knows Salt. Bad input is a ValueError naming the problem.
"""

import dataclasses
import fnmatch
import re

from lxdapi_values import lxd_value

#: The selector prefixes of the text form (and the mapping form's keys).
PREFIXES = ("config", "profile", "status", "project", "name")

#: The characters that make a name a glob.
GLOB_CHARS = "*?["

#: What joins the terms of a text target.
AND = " and "


@dataclasses.dataclass(frozen=True)
class Target:
    """Which instances a command reaches (made by :func:`parse_target`).

    ``names``: plain names asked for (one of them must match, when any is given together
    with ``globs``: a name matches when it is in ``names`` or matches one of ``globs``);
    ``globs``: name patterns; ``config``: ``((key, value or None), ...)``, every one
    holding on the expanded config (None: the key is set); ``profiles``: every one of them
    among the instance's; ``status``: lower case, or None; ``project``: the project whose
    instances are listed, or None (the connection's); ``single``: the name, when the
    target is one plain name (the single form), else None; ``spelled``: the target as
    given, for messages.
    """

    names: tuple = ()
    globs: tuple = ()
    config: tuple = ()
    profiles: tuple = ()
    status: str = None
    project: str = None
    single: str = None
    spelled: str = dataclasses.field(default="", compare=False)

    def matches(self, instance):
        """True when ``instance`` (one object of ``GET /1.0/instances?recursion=1``: a
        mapping with ``name``, ``status``, ``profiles``, ``expanded_config``/``config``)
        is one this target names. The project is not checked here: it chooses where
        :func:`resolve` lists."""
        name = instance.get("name")
        if (self.names or self.globs) and not (
            name in self.names or any(fnmatch.fnmatchcase(name, g) for g in self.globs)
        ):
            return False
        if self.status and str(instance.get("status") or "").lower() != self.status:
            return False
        profiles = instance.get("profiles") or ()
        if any(profile not in profiles for profile in self.profiles):
            return False
        config = instance.get("expanded_config")
        if config is None:
            config = instance.get("config") or {}
        for key, value in self.config:
            if key not in config or (value is not None and config[key] != value):
                return False
        return True

    def __str__(self):
        return self.spelled or describe_target(self)


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What :func:`resolve` found: ``names``, the matching instances' names (in the
    order of a list target, else the server's); ``instances``, ``{name: instance
    object}`` of those; ``missing``, the plain names asked for that the server does not
    have (reported, never dropped); ``listed``, every instance name the server listed
    (to say what it has when nothing matched)."""

    names: tuple
    instances: dict
    missing: tuple
    listed: tuple


def describe_target(target):
    """``target`` spelled in the text form (for messages)."""
    terms = []
    if target.names or target.globs:
        terms.append(",".join(target.names + target.globs))
    terms += [f"config:{k}" if v is None else f"config:{k}:{v}" for k, v in target.config]
    terms += [f"profile:{p}" for p in target.profiles]
    if target.status:
        terms.append(f"status:{target.status}")
    if target.project:
        terms.append(f"project:{target.project}")
    return AND.join(terms)


def parse_target(value):
    """``value`` as a :class:`Target`: one plain name (the single form), a list of names
    (a list, or a text ``web1,web2``), a glob, a selector text (``config:KEY:VALUE``,
    ``config:KEY``, ``profile:P``, ``status:S``, ``project:P``, ``name:GLOB``, terms
    joined by `` and ``) or a mapping (keys ``config``, ``profile``, ``status``, ``name``,
    ``project``). See the module's docstring. ValueError naming the problem otherwise."""
    if isinstance(value, Target):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a number-like name as YAML reads it from the command line
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, (list, tuple)):
        return _build(value, _names_and_globs(value, "a target's list"))
    if isinstance(value, dict):
        return _parse_mapping(value)
    raise ValueError(
        f"a target must be a name, a list of names, a glob, a selector such as "
        f"'config:user.role:web' or a mapping, not {value!r}"
    )


def _build(spelled, fields):
    return Target(spelled=spelled if isinstance(spelled, str) else repr(spelled), **fields)


def _parse_text(text):
    stripped = text.strip()
    if not stripped:
        raise ValueError("a target must not be empty")
    if _plain_name(stripped):
        return Target(names=(stripped,), single=stripped, spelled=stripped)
    fields = {}
    for term in _split_and(stripped):
        prefix, colon, rest = term.partition(":")
        if not colon:
            _merge(fields, _names_and_globs(term.split(","), f"the target term {term!r}"), term)
            continue
        prefix = prefix.strip().lower()
        if prefix not in PREFIXES:
            raise ValueError(
                f"unknown selector {prefix!r} in the target {text!r}: a selector is one of "
                + ", ".join(f"{p}:..." for p in PREFIXES)
            )
        if prefix == "config":
            key, has_value, wanted = rest.partition(":")
            _merge(fields, {"config": (_config_term(key, wanted if has_value else None),)}, term)
        elif prefix == "name":
            _merge(fields, _names_and_globs([rest], f"the target term {term!r}"), term)
        elif prefix == "profile":
            _merge(fields, {"profiles": (_word(rest, term),)}, term)
        else:  # status, project
            _merge(fields, {prefix: _word(rest, term)}, term)
    return _build(text, _finish(fields))


def _split_and(text):
    terms = [term.strip() for term in re.split(r"(?:^|\s+)and(?:\s+|$)", text)]
    if any(not term for term in terms):
        raise ValueError(f"the target {text!r} has an empty term around 'and'")
    return terms


def _plain_name(text):
    return not any(c in text for c in GLOB_CHARS + ",: ") and "\n" not in text


def _word(value, term):
    value = value.strip()
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"the target term {term!r} needs one word after its colon")
    return value


def _config_term(key, wanted):
    key = key.strip()
    if not key or any(c.isspace() for c in key):
        raise ValueError(
            f"a config selector needs a key (config:KEY or config:KEY:VALUE), not {key!r}"
        )
    if wanted is not None:
        try:
            wanted = lxd_value(wanted)
        except TypeError:
            raise ValueError(
                f"the value of config key {key!r} in a target must be a scalar, not {wanted!r}"
            ) from None
    return (key, wanted)


def _names_and_globs(items, what):
    names, globs = [], []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{what} must hold names or globs, not {item!r}")
        item = item.strip()
        if ":" in item or any(c.isspace() for c in item):
            raise ValueError(f"{what}: {item!r} is not a name or a glob")
        (globs if any(c in item for c in GLOB_CHARS) else names).append(item)
    if not names and not globs:
        raise ValueError(f"{what} names no instance")
    return {"names": tuple(dict.fromkeys(names)), "globs": tuple(dict.fromkeys(globs))}


def _merge(fields, more, term):
    if ("names" in more or "globs" in more) and ("names" in fields or "globs" in fields):
        raise ValueError(f"the target names instances twice (at {term!r}): give one list or glob")
    for key, value in more.items():
        if key in ("names", "globs"):
            fields[key] = value
        elif key in ("config", "profiles"):
            fields[key] = fields.get(key, ()) + value
        elif key in fields and fields[key] != value:
            raise ValueError(f"the target gives {key} twice ({fields[key]!r} and {value!r})")
        else:
            fields[key] = value


def _finish(fields):
    if "status" in fields:
        fields["status"] = fields["status"].lower()
    return fields


def _parse_mapping(mapping):
    unknown = sorted(str(key) for key in mapping if key not in PREFIXES)
    if unknown:
        raise ValueError(
            f"a target mapping takes the keys {', '.join(PREFIXES)}; not {', '.join(unknown)}"
        )
    if not mapping:
        raise ValueError("a target mapping must not be empty")
    fields = {}
    if "name" in mapping:
        name = mapping["name"]
        items = name if isinstance(name, (list, tuple)) else [name]
        fields.update(_names_and_globs(items, "the target's name"))
    if "config" in mapping:
        config = mapping["config"]
        if isinstance(config, str):
            config = [config]
        if isinstance(config, (list, tuple)):  # keys that are set
            config = dict.fromkeys(config)
        if not isinstance(config, dict) or not config:
            raise ValueError(
                f"the target's config must be a mapping of keys to values (None: the key is "
                f"set) or a list of keys, not {mapping['config']!r}"
            )
        fields["config"] = tuple(
            _config_term(str(k), v) for k, v in sorted(config.items(), key=lambda kv: str(kv[0]))
        )
    if "profile" in mapping:
        profiles = mapping["profile"]
        profiles = profiles if isinstance(profiles, (list, tuple)) else [profiles]
        if not profiles or not all(isinstance(p, str) and p.strip() for p in profiles):
            raise ValueError(
                "the target's profile must be a name or a list of names, not "
                f"{mapping['profile']!r}"
            )
        fields["profiles"] = tuple(p.strip() for p in profiles)
    for key in ("status", "project"):
        if key in mapping:
            value = mapping[key]
            if not isinstance(value, str) or not value.strip() or " " in value.strip():
                raise ValueError(f"the target's {key} must be one word, not {value!r}")
            fields[key] = value.strip()
    return _build(mapping, _finish(fields))


def resolve(api, target):
    """The instances ``target`` names on ``api``'s server, from one listing
    (``GET /1.0/instances?recursion=1``, in ``target.project`` when it names one): a
    :class:`Resolved`. Plain names asked for that the server does not have are in its
    ``missing``; nothing raises for them (the caller reports them)."""
    target = parse_target(target)
    params = {"recursion": 1}
    if target.project:
        params["project"] = target.project
    listed = api.get(api.instances_collection, params=params).metadata or []
    by_name = {item.get("name"): item for item in listed if isinstance(item, dict)}
    found = {name: item for name, item in by_name.items() if target.matches(item)}
    if target.names and not target.globs:
        order = [name for name in target.names if name in found]
    else:
        order = list(found)
    return Resolved(
        names=tuple(order),
        instances={name: found[name] for name in order},
        missing=tuple(name for name in target.names if name not in by_name),
        listed=tuple(by_name),
    )
