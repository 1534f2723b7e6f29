"""The resource kinds the generic reconcile serves, each declared once.

Profiles, networks, storage pools and volumes, projects, ACLs, zones... differ only in
their URL, their fields and a few rules of LXD's; a :class:`ResourceKind` states them
explicitly, and :data:`KINDS` holds one per kind. :func:`resource_kind` looks one up.
A combination that cannot work (a list field updated by a PATCH, member keys on a kind
without config...) is refused when this module is imported.
"""

import dataclasses
import ipaddress
import re
import types

#: How an existing resource's drifted fields are written.
UPDATE_PATCH = "patch"  # a PATCH with only what changed, with If-Match
UPDATE_PUT = "put"  # a PUT of the whole writable object, with If-Match

#: Network types LXD 5.0 creates (``POST /1.0/networks`` ``type``).
NETWORK_TYPES = ("bridge", "macvlan", "sriov", "ovn", "physical")


def _check_network_type(api, want):
    if want.get("type") and want["type"] not in NETWORK_TYPES:
        raise ValueError(
            "unknown network type {!r}; choose one of {}".format(
                want["type"], ", ".join(NETWORK_TYPES)
            )
        )


def _check_storage_driver(api, want):
    if not want.get("driver"):
        return
    environment = api.server.get("environment") or {}
    drivers = [
        d.get("Name")
        for d in environment.get("storage_supported_drivers") or ()
        if isinstance(d, dict)
    ]
    if drivers and want["driver"] not in drivers:
        raise ValueError(
            "unknown storage driver {!r}; this server supports {}".format(
                want["driver"], ", ".join(drivers)
            )
        )


# -- network forwards: LXD normalises what it stores (lxd/network_forwards.go, the
# Normalise methods of shared/api/network_forward.go): addresses in their canonical form
# (it looks a forward up by that exact text: ``2001:DB8::10`` is not found), text
# trimmed, port lists without spaces. Port specs with unknown keys are silently dropped
# by its JSON decoder, so they are refused here.

#: The keys of a network forward's port spec (``snat``: Incus's network_forward_snat).
FORWARD_PORT_KEYS = (
    "description",
    "protocol",
    "listen_port",
    "target_port",
    "target_address",
    "snat",
)
FORWARD_PROTOCOLS = ("tcp", "udp")
_PORT_RANGE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def ip_address(value, what):
    """``value`` as an IP address in the canonical form LXD stores (``2001:DB8::A`` ->
    ``2001:db8::a``); ValueError naming ``what`` when it is not one."""
    text = value.strip() if isinstance(value, str) else None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(
            f"{what} must be an IP address (192.0.2.10, 2001:db8::10), not {value!r}"
        ) from None


def _listen_address(value):
    return ip_address(value, "listen_address")


def _port_list(text):
    return ",".join(part.strip() for part in text.split(","))


def forward_port(item, what):
    """One port spec of a network forward as LXD stores it (trimmed, port lists without
    spaces, a canonical target address), the keys it leaves empty left out (``snat``
    false too): how both the declared specs and the held ones are compared."""
    if not isinstance(item, dict):
        raise ValueError(f"each item of {what} must be a mapping, not {item!r}")
    port = {}
    for key, value in item.items():
        if value is None or value is False:
            continue
        if isinstance(value, (dict, list)):
            raise ValueError(f"{what}: {key} must be a string or a number, not {value!r}")
        text = "true" if value is True else str(value).strip()
        if key in ("listen_port", "target_port"):
            text = _port_list(text)
        elif key == "target_address":
            try:
                text = str(ipaddress.ip_address(text))
            except ValueError:
                pass  # refused by _check_forward, for a declared spec
        elif key == "snat" and text.lower() == "false":
            continue
        if text:
            port[str(key)] = text
    return port


def _check_ports(text, what):
    for part in text.split(","):
        match = _PORT_RANGE.match(part)
        if not match or any(int(p) > 65535 for p in match.groups() if p):
            raise ValueError(
                f"{what} must be ports or ranges of ports, comma separated (80,443,8000-8010), "
                f"not {text!r}"
            )


def _check_forward(want):
    """A network forward's declared fields checked (what LXD 5.0.2 and Incus 6.0 refuse,
    or drop without a word), as the server will store them."""
    want = dict(want)
    if "description" in want:
        want["description"] = want["description"].strip()
    if "config" in want:
        config = dict(want["config"])
        for key in config:
            if key != "target_address" and not key.startswith("user."):
                raise ValueError(
                    f"a network forward's config takes target_address and user.* keys, not {key!r}"
                )
        if config.get("target_address"):
            config["target_address"] = ip_address(
                config["target_address"], "config: target_address"
            )
        want["config"] = config
    for index, port in enumerate(want.get("ports") or ()):
        what = f"ports[{index}]"
        unknown = sorted(set(port) - set(FORWARD_PORT_KEYS))
        if unknown:
            raise ValueError(
                "{}: a port spec has no key {}; it takes {}".format(
                    what, ", ".join(map(repr, unknown)), ", ".join(FORWARD_PORT_KEYS)
                )
            )
        if port.get("protocol") not in FORWARD_PROTOCOLS:
            raise ValueError(
                "{}: protocol must be tcp or udp, not {!r}".format(what, port.get("protocol"))
            )
        if not port.get("listen_port"):
            raise ValueError(f"{what}: listen_port is required (80, or 8000-8010)")
        _check_ports(port["listen_port"], what + ": listen_port")
        if port.get("target_port"):
            _check_ports(port["target_port"], what + ": target_port")
        ip_address(port.get("target_address"), what + ": target_address")
        if port.get("snat", "true") != "true":
            raise ValueError("{}: snat must be true or false, not {!r}".format(what, port["snat"]))
    return want


def _check_forward_server(api, want):
    if any(p.get("snat") for p in want.get("ports") or ()) and not api.has_extension(
        "network_forward_snat"
    ):
        raise ValueError(
            "snat in a port spec needs the network_forward_snat API extension, which the "
            f"server at {api.display_endpoint} lacks"
        )


@dataclasses.dataclass(frozen=True)
class ResourceKind:
    """How one kind of resource is read, compared and written.

    ``name``: the kind's key (``storage_volume``); ``label``: how comments name it
    (``storage volume``); ``collection``: the URL template of its collection, whose
    ``{param}`` parts come from the call's url parameters (each quoted), ``defaults``
    filling those not given; ``fields``: what is compared and written; ``create_only``:
    top-level fields LXD takes only at creation (a difference later is a note);
    ``create_only_config``: config keys LXD refuses to change later; ``update``:
    :data:`UPDATE_PATCH` or :data:`UPDATE_PUT` (the whole object: LXD 5.0 replaces a
    project's config with what a PATCH holds, and its PATCH of an ACL or zone record drops
    the connection or wipes fields it leaves out); ``lists``: fields that are ordered
    lists of rules or entries, compared and written whole; ``name_sets``: fields that are
    lists of names, compared as sets; ``set_after_create``: fields LXD's POST ignores, set
    with a PUT right after it; ``own_used_by``: ``used_by`` entries (``{name}`` filled)
    that do not count as "in use"; ``member_config_keys``: the config keys each cluster
    member holds on its own (networks, pools; they also take ``target=``);
    ``unmanaged_refused``: a resource LXD reports ``managed: false`` (a host's own
    interface) cannot be configured; ``typed_listing``: the collection lists entries of
    every ``type`` and a listing keeps those of the ``type`` asked for;
    ``check_create``: ``check_create(api, want)`` raises ValueError for values LXD would
    refuse at creation with a bare error.

    Kinds under another resource, or not keyed by a name (network forwards, peers):
    ``key``: the field that names one in its POST body and the functions' argument for
    it (a forward's ``listen_address``); ``check_key``: ``check_key(value)`` returns the
    key as LXD looks it up (a canonical address), ValueError otherwise; ``list_item``:
    ``list_item(item, what)`` replaces the rule comparison of ``lists`` items (on both
    sides: declared and held); ``check_declared``: ``check_declared(want)`` returns the
    declared fields as LXD will store them, ValueError for what it refuses or drops;
    ``extension``: the API extension the kind needs; ``parent``: the URL template of the
    resource its collection sits under (``networks/{network}``), and ``parent_types``
    the ``type`` that parent must have (peers need an OVN network): checked before any
    write, with a clear refusal.
    """

    name: str
    label: str
    collection: str
    fields: tuple
    create_only: tuple = ()
    create_only_config: tuple = ()
    defaults: types.MappingProxyType = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({})
    )
    update: str = UPDATE_PATCH
    lists: tuple = ()
    name_sets: tuple = ()
    set_after_create: tuple = ()
    own_used_by: tuple = ()
    member_config_keys: tuple = ()
    unmanaged_refused: bool = False
    typed_listing: bool = False
    check_create: object = None
    key: str = "name"
    check_key: object = None
    list_item: object = None
    check_declared: object = None
    extension: str = ""
    parent: str = ""
    parent_types: tuple = ()

    def __post_init__(self):
        problems = []
        if self.update not in (UPDATE_PATCH, UPDATE_PUT):
            problems.append(f"update must be {UPDATE_PATCH!r} or {UPDATE_PUT!r}")
        for what in ("lists", "name_sets", "set_after_create"):
            stray = set(getattr(self, what)) - set(self.fields)
            if stray:
                problems.append("{} {} not in fields".format(what, ", ".join(sorted(stray))))
        if (self.lists or self.name_sets) and self.update != UPDATE_PUT:
            problems.append("lists and name_sets are written whole: update must be 'put'")
        if set(self.create_only) & set(self.fields):
            problems.append("a field cannot be both create_only and updated")
        if (self.member_config_keys or self.create_only_config) and "config" not in self.fields:
            problems.append("member_config_keys and create_only_config need a config field")
        params = set(re.findall(r"{(\w+)}", self.collection))
        if set(self.defaults) - params:
            problems.append("defaults name no {param} of the collection")
        if self.typed_listing and "type" not in params:
            problems.append("typed_listing needs a {type} in the collection")
        if self.check_create is not None and not callable(self.check_create):
            problems.append("check_create must be callable")
        for what in ("check_key", "list_item", "check_declared"):
            if getattr(self, what) is not None and not callable(getattr(self, what)):
                problems.append(f"{what} must be callable")
        if self.list_item is not None and not self.lists:
            problems.append("list_item needs lists")
        parent_params = set(re.findall(r"{(\w+)}", self.parent))
        if parent_params - params or (self.parent and not parent_params):
            problems.append("parent must name {params} of the collection")
        if self.parent_types and not self.parent:
            problems.append("parent_types needs a parent")
        if problems:
            raise TypeError("resource kind {!r}: {}".format(self.name, "; ".join(problems)))
        object.__setattr__(self, "defaults", types.MappingProxyType(dict(self.defaults)))

    @property
    def member_specific(self):
        """True when cluster members hold config keys of their own (``target=``)."""
        return bool(self.member_config_keys)

    @property
    def url_params(self):
        """The ``{param}`` names of the collection URL, in order."""
        return tuple(re.findall(r"{(\w+)}", self.collection))

    @property
    def title(self):
        """The label with a capital, for the start of a comment (``Network ACL``)."""
        return self.label[:1].upper() + self.label[1:]

    @property
    def parent_label(self):
        """How messages name the parent (the last ``{param}`` of ``parent``: ``network``)."""
        found = re.findall(r"{(\w+)}", self.parent)
        return found[-1] if found else ""


def _kinds(*kinds):
    table = {}
    for kind in kinds:
        if kind.name in table:
            raise TypeError(f"resource kind {kind.name!r} is declared twice")
        table[kind.name] = kind
    return types.MappingProxyType(table)


#: Every kind the generic reconcile serves, by name.
KINDS = _kinds(
    ResourceKind(
        name="profile",
        label="profile",
        collection="profiles",
        fields=("config", "devices", "description"),
    ),
    ResourceKind(
        name="network",
        label="network",
        collection="networks",
        fields=("config", "description"),
        create_only=("type",),
        member_config_keys=(
            "bgp.ipv4.nexthop",
            "bgp.ipv6.nexthop",
            "bridge.external_interfaces",
            "parent",
        ),
        unmanaged_refused=True,
        check_create=_check_network_type,
    ),
    ResourceKind(
        name="storage_pool",
        label="storage pool",
        collection="storage-pools",
        fields=("config", "description"),
        create_only=("driver",),
        create_only_config=("source",),
        member_config_keys=(
            "size",
            "source",
            "source.wipe",
            "zfs.pool_name",
            "lvm.thinpool_name",
            "lvm.vg_name",
            "lvm.vg.force_reuse",
        ),
        check_create=_check_storage_driver,
    ),
    ResourceKind(
        name="storage_volume",
        label="storage volume",
        collection="storage-pools/{pool}/volumes/{type}",
        fields=("config", "description"),
        create_only=("content_type",),
        defaults={"type": "custom"},
        typed_listing=True,
    ),
    ResourceKind(
        name="storage_volume_snapshot",
        label="storage volume snapshot",
        collection="storage-pools/{pool}/volumes/{type}/{volume}/snapshots",
        fields=("description",),
        defaults={"type": "custom"},
        update=UPDATE_PUT,
        set_after_create=("description",),
    ),
    ResourceKind(
        name="network_acl",
        label="network ACL",
        collection="network-acls",
        fields=("config", "description", "ingress", "egress"),
        update=UPDATE_PUT,
        lists=("ingress", "egress"),
    ),
    ResourceKind(
        name="network_zone",
        label="network zone",
        collection="network-zones",
        fields=("config", "description"),
        update=UPDATE_PUT,
    ),
    ResourceKind(
        name="network_zone_record",
        label="network zone record",
        collection="network-zones/{zone}/records",
        fields=("config", "description", "entries"),
        update=UPDATE_PUT,
        lists=("entries",),
    ),
    ResourceKind(
        # Keyed by its listen address; LXD 5.0.2 ignores If-Match on its PUT, and its
        # PATCH merges config: a PUT of the whole forward, like an ACL's.
        name="network_forward",
        label="network forward",
        collection="networks/{network}/forwards",
        fields=("config", "description", "ports"),
        update=UPDATE_PUT,
        lists=("ports",),
        key="listen_address",
        check_key=_listen_address,
        list_item=forward_port,
        check_declared=_check_forward,
        check_create=_check_forward_server,
        extension="network_forward",
        parent="networks/{network}",
        parent_types=("bridge", "ovn"),
    ),
    ResourceKind(
        name="network_peer",
        label="network peer",
        collection="networks/{network}/peers",
        fields=("config", "description"),
        create_only=("target_project", "target_network"),
        update=UPDATE_PUT,
        extension="network_peer",
        parent="networks/{network}",
        parent_types=("ovn",),
    ),
    ResourceKind(
        name="cluster_group",
        label="cluster group",
        collection="cluster/groups",
        fields=("description", "members"),
        update=UPDATE_PUT,
        name_sets=("members",),
    ),
    ResourceKind(
        name="project",
        label="project",
        collection="projects",
        fields=("config", "description"),
        update=UPDATE_PUT,
        own_used_by=("/1.0/profiles/default?project={name}",),
    ),
)


def resource_kind(kind):
    """The :class:`ResourceKind` named ``kind``; ValueError naming the kinds otherwise."""
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        raise ValueError(
            "unknown resource kind {!r}; choose one of {}".format(kind, ", ".join(sorted(KINDS)))
        ) from None
