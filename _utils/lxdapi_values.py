"""Values as LXD stores them, and the checks of arguments: every function here is pure
(no request), raises ValueError naming the argument and what it must be."""

import base64
import datetime
import json
import re

IGNORED_CONFIG_PREFIXES = ("volatile.", "image.")
STATUSES = ("Running", "Stopped", "Frozen")

#: LXD's timestamps: RFC 3339, with or without a fraction (nanoseconds), ``Z`` or an
#: offset.
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:?\d\d)?")


def lxd_value(value):
    """A config value as LXD stores it: a string (``True`` -> ``"true"``, 1 -> ``"1"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise TypeError(f"config values must be scalars, not {type(value).__name__}")
    return str(value)


def lxd_config(config, what="config"):
    """Normalise a config mapping: string keys, string values."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(f"{what} must be a mapping, not {type(config).__name__}")
    try:
        return {str(k): lxd_value(v) for k, v in config.items()}
    except TypeError as exc:
        raise ValueError(f"{what}: {exc}") from None


def lxd_devices(devices):
    """Normalise a devices mapping: each device a mapping of strings with a ``type``."""
    if devices is None:
        return {}
    if not isinstance(devices, dict):
        raise ValueError(f"devices must be a mapping, not {type(devices).__name__}")
    out = {}
    for name, dev in devices.items():
        if not isinstance(dev, dict) or not dev.get("type"):
            raise ValueError(f"device {name!r} must be a mapping with a 'type'")
        out[str(name)] = lxd_config(dev, f"device {name!r}")
    return out


def ignored_config_key(key):
    return key.startswith(IGNORED_CONFIG_PREFIXES)


def planning_status(status):
    """An instance's status as plans compare it: ``Ready`` (LXD 5.21 and later, status
    code 113: a running instance whose guest said it is ready) is Running."""
    return "Running" if status == "Ready" else status


def normalize_status(status):
    """``running`` -> ``Running``; raise ValueError listing the choices otherwise."""
    for choice in STATUSES:
        if str(status).lower() == choice.lower():
            return choice
    raise ValueError("unknown status {!r}; choose one of {}".format(status, ", ".join(STATUSES)))


# Plain functions behind the execution module's imperative calls: server information and
# operations, instance lists, actions, config keys, exec, files and snapshots, image and
# alias look-ups. Each takes an API first. Bad input raises ValueError (naming the
# argument); what the server refuses raises the APIException subclass, with a message that
# names the instance, file or image concerned.

INSTANCE_TYPES = ("container", "virtual-machine")
INSTANCE_ACTIONS = ("start", "stop", "restart", "freeze", "unfreeze")


def check_recursion(recursion):
    """``recursion`` as an int 0, 1 or 2; ValueError otherwise."""
    try:
        value = int(recursion or 0)
    except (TypeError, ValueError):
        value = -1
    if isinstance(recursion, bool) or value not in (0, 1, 2):
        raise ValueError(f"recursion must be 0, 1 or 2, not {recursion!r}")
    return value


def check_seconds(value, what="timeout"):
    """A non-negative number of seconds (int); ValueError naming ``what`` otherwise."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = -1
    if isinstance(value, bool) or seconds < 0:
        raise ValueError(f"{what} must be a number of seconds (>= 0), not {value!r}")
    return seconds


def check_duration(value, what="timeout"):
    """A positive number of seconds (a float: ``1.5`` and ``"1.5"`` too); ValueError
    naming ``what`` otherwise."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{what} must be a positive number of seconds, not {value!r}")
    return seconds


def check_id(value, what):
    """A numeric uid/gid (int >= 0); ValueError naming ``what`` otherwise."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        number = -1
    if isinstance(value, bool) or number < 0:
        raise ValueError(f"{what} must be a numeric id (0, 1000, ...), not {value!r}")
    return number


def check_absolute_path(path, what="path"):
    """``path`` as a string; ValueError unless it is absolute."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"{what} must be an absolute path, not {path!r}")
    return path


def check_name(value, what):
    """A non-empty name as a string; ValueError naming ``what`` otherwise."""
    if value is None or isinstance(value, (dict, list, bool)) or not str(value).strip():
        raise ValueError(f"{what} must be a non-empty name, not {value!r}")
    return str(value)


def check_bool(value, what):
    """``value`` if it is True or False; ValueError naming ``what`` otherwise."""
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, not {value!r}")
    return value


def check_optional_str(value, what):
    """``value`` if it is None or a string; ValueError naming ``what`` otherwise."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{what} must be a string, not {value!r}")
    return value


def check_names(values, what):
    """A list of non-empty names (from a list or tuple); ValueError naming ``what``."""
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{what} must be a list of names, not {values!r}")
    return list(values)


def token_text(fields):
    """A join or trust token as LXD's clients print it: the JSON of ``fields``, base64."""
    return base64.b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode()


def token_fields(text, what="token"):
    """The fields of a token :func:`token_text` made (ValueError when it is not one)."""
    try:
        fields = json.loads(base64.b64decode(str(text).strip(), validate=True))
    except (ValueError, TypeError):
        raise ValueError(f"{what} is not a token LXD issued (base64 JSON)") from None
    if not isinstance(fields, dict):
        raise ValueError(f"{what} is not a token LXD issued (base64 JSON)")
    return fields


def lxd_time(stamp):
    """Seconds since the epoch of a timestamp as LXD writes them (RFC 3339, a fraction up
    to nanoseconds, ``Z`` or an offset; none: UTC), or None: not a timestamp, or LXD's
    zero time (``0001-01-01T00:00:00Z``: a time it does not know)."""
    found = _STAMP.fullmatch(stamp.strip()) if isinstance(stamp, str) else None
    if not found:
        return None
    day, clock, fraction, zone = found.groups()
    try:
        when = datetime.datetime.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    if when.year < 1971:
        return None
    offset = 0
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:])) * 60 * (1 if zone[0] == "+" else -1)
    seconds = when.replace(tzinfo=datetime.timezone.utc).timestamp() - offset
    return seconds + (float("0." + fraction) if fraction else 0.0)
