"""The resource kinds the generic reconcile serves, each declared once.

Profiles, networks, storage pools and volumes, projects, ACLs, zones... differ only in
their URL, their fields and a few rules of LXD's; a :class:`ResourceKind` states them
explicitly, and :data:`KINDS` holds one per kind. :func:`resource_kind` looks one up.
A combination that cannot work (a list field updated by a PATCH, member keys on a kind
without config...) is refused when this module is imported.
"""

import dataclasses
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

    def __post_init__(self):
        problems = []
        if self.update not in (UPDATE_PATCH, UPDATE_PUT):
            problems.append("update must be {!r} or {!r}".format(UPDATE_PATCH, UPDATE_PUT))
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


def _kinds(*kinds):
    table = {}
    for kind in kinds:
        if kind.name in table:
            raise TypeError("resource kind {!r} is declared twice".format(kind.name))
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
