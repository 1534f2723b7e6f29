"""What a declared instance is: :class:`InstanceSpec`, the arguments of
``lxdapi.container_present`` (of a ``containers_present`` entry, of a state that joins
an aggregate) declared once, each checked and normalised once, when the spec is made.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import dataclasses

from lxdapi_readiness import WaitFor, parse_wait_for
from lxdapi_rolling import parse_rolling
from lxdapi_values import (
    INSTANCE_TYPES,
    check_bool,
    check_names,
    check_optional_str,
    check_seconds,
    ignored_config_key,
    lxd_config,
    lxd_devices,
    normalize_status,
)


@dataclasses.dataclass(frozen=True)
class InstanceSpec:
    """An instance as declared: what ``lxdapi.container_present`` takes but its name and
    connection, with the defaults of the state.

    Made from a state's arguments by :meth:`from_arguments` (which knows their names in
    Salt, :data:`STATE_NAMES`), or directly. Either way each field is checked and
    normalised as the spec is made (ValueError naming what is wrong; nothing is read from
    a server), so the planners (:func:`lxdapi_instances.plan_instance_present`,
    :func:`lxdapi_readiness.plan_instance_declared`) take its values as they are. Its
    mappings are its own copies: read them, do not change them.
    """

    #: What to create the instance from: an image alias or fingerprint on the server,
    #: or LXD's source mapping (a remote image, a copy...); None: an empty instance.
    #: Used on creation only: an existing instance made from another is a note.
    source: object = None
    #: Config keys, values as LXD stores them (``1`` is ``"1"``); None: not managed.
    #: ``volatile.*`` and ``image.*`` keys are LXD's own: left alone, with a note.
    config: dict = None
    #: Devices by name, each with a ``type`` (None removes one); None: not managed.
    devices: dict = None
    #: The ordered list of profiles; None: not managed (LXD's default on creation).
    profiles: list = None
    #: ``container`` or ``virtual-machine`` (the state argument ``type``); used on
    #: creation only: an existing instance of the other type is a note.
    instance_type: str = "container"
    #: Deleted when it stops; None leaves an existing instance's flag as it is (a new
    #: one is not ephemeral).
    ephemeral: bool = False
    #: The description; None: not managed.
    description: str = None
    #: ``Running``, ``Stopped`` or ``Frozen`` (given in any case), reached after the
    #: config; None: not managed (a new instance stays Stopped).
    status: str = None
    #: The cluster member to create it on; one on another member is a note, or moved
    #: (``migrate``).
    target: str = None
    #: Restart a running instance when a changed config key only applies at restart
    #: (else a note says a restart is pending).
    restart_on_change: bool = False
    #: Remove the config keys that are not declared.
    purge_config: bool = False
    #: Remove the devices that are not declared.
    purge_devices: bool = False
    #: Seconds a clean stop, start or restart may take.
    timeout: int = 30
    #: Move an instance that is on another cluster member than ``target`` (LXD moves
    #: stopped instances: a running one must be declared Stopped).
    migrate: bool = False
    #: Who made it: set as the config key :data:`OWNER_KEY` (``user.lxdapi.owner``) on
    #: creation and kept set, so that a prune's selector can be exactly "what Salt made"
    #: (``lxdapi.instances_pruned``'s ``owner``). None: not stamped.
    owner: str = None
    #: How an aggregate of states restarts its instances when many restart: a
    #: :class:`lxdapi_rolling.Rolling`, given as ``rolling``'s mapping (``batch``,
    #: ``wait_for``, ``stop_on_failure``: see :func:`lxdapi_rolling.parse_rolling`).
    #: None: all at once. One instance alone has nothing to roll.
    rolling: object = None
    #: When it is ready to use, waited for after the writes: a
    #: :class:`lxdapi_readiness.WaitFor`, given as ``wait_for``'s mapping (see
    #: :func:`lxdapi_readiness.parse_wait_for`); needs ``status`` Running. None: no wait.
    wait_for: WaitFor = None

    def __post_init__(self):
        # In the order the states checked them: which error a bad spec reports first.
        wait = parse_wait_for(self.wait_for)
        rolling = parse_rolling(self.rolling)
        if self.instance_type not in INSTANCE_TYPES:
            raise ValueError(
                "unknown instance type {!r}; choose {}".format(
                    self.instance_type, " or ".join(INSTANCE_TYPES)
                )
            )
        status = None if self.status is None else normalize_status(self.status)
        config = None if self.config is None else lxd_config(self.config)
        devices = None if self.devices is None else lxd_devices(self.devices)
        profiles = None if self.profiles is None else check_names(self.profiles, "profiles")
        check_optional_str(self.description, "description")
        check_optional_str(self.target, "target")
        config = stamped(config, self.owner)
        if self.ephemeral is not None:
            check_bool(self.ephemeral, "ephemeral")
        for flag in ("restart_on_change", "purge_config", "purge_devices", "migrate"):
            check_bool(getattr(self, flag), flag)
        if self.source is not None and not isinstance(self.source, (str, dict)):
            raise ValueError(
                "source must be an image alias or fingerprint, or LXD's source mapping, "
                f"not {self.source!r}"
            )
        timeout = check_seconds(self.timeout)
        if wait is not None and status != "Running":
            raise ValueError(
                "wait_for needs status: Running (an instance is ready only once it runs), "
                f"not {self.status}"
            )
        normalised = {
            "wait_for": wait,
            "rolling": rolling,
            "status": status,
            "config": config,
            "devices": devices,
            "profiles": profiles,
            "timeout": timeout,
        }
        for field, value in normalised.items():
            object.__setattr__(self, field, value)  # a frozen dataclass sets its own once

    @classmethod
    def from_arguments(cls, arguments):
        """The spec of a state's arguments: a mapping of (some of) :data:`ARGUMENTS`, by
        their names in Salt (``type``, not ``instance_type``). ValueError naming the
        arguments it does not know, and the ones it does; or what is wrong in a value."""
        check_arguments(arguments)
        return cls(**{_FIELDS[key]: value for key, value in arguments.items()})

    @property
    def ignored_config_keys(self):
        """The declared config keys that are LXD's own (``volatile.*``, ``image.*``),
        sorted: left alone, with a note."""
        return sorted(key for key in self.config or {} if ignored_config_key(key))

    @property
    def managed_config(self):
        """``config`` without LXD's own keys: what is compared and written (None when
        config is not managed)."""
        if self.config is None:
            return None
        return {k: v for k, v in self.config.items() if not ignored_config_key(k)}


#: The config key of the ownership stamp (``owner``): a ``user.*`` key, which LXD keeps
#: and never reads.
OWNER_KEY = "user.lxdapi.owner"


def stamped(config, owner):
    """``config`` (as LXD stores it, or None) with the ownership stamp ``owner`` (None:
    none); ValueError for an owner that is not a non-empty text or that the config's own
    :data:`OWNER_KEY` contradicts."""
    if owner is None:
        return config
    if not isinstance(owner, str) or not owner.strip() or owner != owner.strip():
        raise ValueError(f"owner must be a non-empty text (no surrounding spaces), not {owner!r}")
    if (config or {}).get(OWNER_KEY, owner) != owner:
        raise ValueError(
            f"owner {owner!r} and config {OWNER_KEY}: {config[OWNER_KEY]!r} contradict each other"
        )
    return dict(config or {}, **{OWNER_KEY: owner})


#: The state arguments named otherwise than the field they fill: the states (and LXD)
#: say ``type``, a builtin's name in Python.
STATE_NAMES = {"instance_type": "type"}

#: The arguments of an instance, by their names in the states, in the fields' order:
#: ``container_present`` takes these (and ``name`` and the connection settings).
ARGUMENTS = tuple(STATE_NAMES.get(f.name, f.name) for f in dataclasses.fields(InstanceSpec))

_FIELDS = {STATE_NAMES.get(f.name, f.name): f.name for f in dataclasses.fields(InstanceSpec)}


def check_arguments(arguments):
    """``arguments`` (a mapping of a state's arguments) when it holds only
    :data:`ARGUMENTS`; ValueError naming the others, and the ones a container takes."""
    unknown = sorted(str(key) for key in arguments if key not in _FIELDS)
    if unknown:
        raise ValueError(
            "unknown argument(s) {}; a container takes {}".format(
                ", ".join(unknown), ", ".join(ARGUMENTS)
            )
        )
    return arguments
