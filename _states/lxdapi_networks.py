"""``lxdapi.*`` states of networks and what hangs on them: ACLs, zones and their
records, forwards, peers (present as declared, absent).

Core: the generic reconcile of resource kinds, ``_utils/lxdapi_reconcile.py`` (per-member
config of a cluster: ``_utils/lxdapi_member_config.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())


__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def network_present(
    name,
    type="bridge",
    config=None,
    description=None,
    purge_config=False,
    member_config=None,
    **connection,
):
    """
    Ensure a managed network exists with the declared config keys and description.

    Only declared config keys are compared (LXD fills in others). A different ``type``
    than the existing network's is reported in the comment, never acted on.

    name
        The network's name (an interface name: at most 15 characters).

    type
        The network type (default ``bridge``); only used at creation.

    config
        A mapping of config keys (``ipv4.address``, ``ipv6.address``...); None: not
        managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    member_config
        On an LXD cluster: each member's own keys, ``{member: {key: value}}`` (``parent``,
        ``bridge.external_interfaces``, ``bgp.ipv4.nexthop``, ``bgp.ipv6.nexthop``);
        member-specific keys in ``config`` go to every member, this overrides them per
        member. On a cluster the creation is LXD's two steps (a pending entry on each
        member, then the creation everywhere), and a creation that stopped half-way
        (``Pending`` or ``Errored``) is finished.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        br1:
          lxdapi.network_present:
            - config:
                ipv4.address: none
                ipv6.address: none

        lan:
          lxdapi.network_present:
            - type: macvlan
            - member_config:
                node1: {parent: eth1}
                node2: {parent: eno2}
    """
    declared = {"type": type, "config": config, "description": description}
    return boundary.present(
        "network", name, declared, connection, purge_config, member_config=member_config
    )


def network_absent(name, **connection):
    """
    Ensure a managed network does not exist. Refuses (result False, naming them) while
    instances or profiles use it.

    name
        The network's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        br1:
          lxdapi.network_absent
    """
    return boundary.absent("network", name, connection)


def network_acl_present(
    name, ingress=None, egress=None, config=None, description=None, purge_config=False, **connection
):
    """
    Ensure a network ACL exists with the declared rules, config keys and description.

    Rule lists are compared whole and in order (a rule is compared by the fields it
    sets); a list that is None is not managed. Updates are a PUT of the whole ACL with
    If-Match (LXD 5.0.2's PATCH of an ACL loses what it leaves out).

    name
        The ACL's name.

    ingress
        The ingress rules, a list of mappings: ``action`` (allow, reject, drop),
        ``state`` (enabled, disabled, logged), and ``source``, ``destination``,
        ``protocol``, ``source_port``, ``destination_port``, ``icmp_type``,
        ``icmp_code``, ``description`` as needed.

    egress
        The egress rules, the same way.

    config
        A mapping of config keys (``user.*``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web-in:
          lxdapi.network_acl_present:
            - ingress:
              - {action: allow, protocol: tcp, destination_port: "80,443", state: enabled}
            - egress:
              - {action: reject, destination: 192.0.2.0/24, state: enabled}
    """
    declared = {"ingress": ingress, "egress": egress, "config": config, "description": description}
    return boundary.present("network_acl", name, declared, connection, purge_config)


def network_acl_absent(name, **connection):
    """
    Ensure a network ACL does not exist. Refuses (result False, naming them) while
    networks or instances use it.

    name
        The ACL's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web-in:
          lxdapi.network_acl_absent
    """
    return boundary.absent("network_acl", name, connection)


def network_zone_present(name, config=None, description=None, purge_config=False, **connection):
    """
    Ensure a network DNS zone exists with the declared config keys and description.

    name
        The zone's name (a DNS name, ``lxd.example.net``).

    config
        A mapping of config keys (``dns.nameservers``, ``peers.NAME.address``...); None:
        not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        lxd.example.net:
          lxdapi.network_zone_present:
            - config:
                dns.nameservers: ns1.example.net
    """
    declared = {"config": config, "description": description}
    return boundary.present("network_zone", name, declared, connection, purge_config)


def network_zone_absent(name, **connection):
    """
    Ensure a network DNS zone does not exist (its records go with it). Refuses while
    networks use it.

    name
        The zone's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        lxd.example.net:
          lxdapi.network_zone_absent
    """
    return boundary.absent("network_zone", name, connection)


def network_zone_record_present(
    zone, name, entries=None, config=None, description=None, purge_config=False, **connection
):
    """
    Ensure a record of a network DNS zone exists with the declared entries.

    zone
        The zone's name.

    name
        The record's name (``www``, or ``@`` for the zone itself).

    entries
        The record's entries, a list of mappings with ``type`` (A, AAAA, CNAME, TXT...),
        ``value`` and optionally ``ttl``; compared whole and in order. None: not managed.

    config
        A mapping of config keys (``user.*``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        www:
          lxdapi.network_zone_record_present:
            - zone: lxd.example.net
            - entries:
              - {type: A, value: 192.0.2.10, ttl: 300}
    """
    declared = {"entries": entries, "config": config, "description": description}
    return boundary.present(
        "network_zone_record", name, declared, connection, purge_config, zone=zone
    )


def network_zone_record_absent(zone, name, **connection):
    """
    Ensure a record of a network DNS zone does not exist.

    zone
        The zone's name.

    name
        The record's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        www:
          lxdapi.network_zone_record_absent:
            - zone: lxd.example.net
    """
    return boundary.absent("network_zone_record", name, connection, zone=zone)


def network_forward_present(
    name, network, ports=None, config=None, description=None, purge_config=False, **connection
):
    """
    Ensure a network forward (an address of the host side forwarded into the network)
    exists with the declared port specs, config keys and description.

    Port specs are compared whole and in order, each as LXD stores it (trimmed, port
    lists without spaces, addresses in their canonical form); a list that is None is not
    managed. Updates are a PUT of the whole forward with If-Match. Port specs with a key
    LXD does not know (it would drop it without a word), a protocol other than tcp or
    udp, or a target that is not an IP address are refused before anything is written.

    name
        The listen address (an IP address, ``192.0.2.10``).

    network
        The network's name (a bridge or OVN network). LXD checks the targets against
        the network's own subnet for the listen address's family (``ipv4.address`` or
        ``ipv6.address``, which must then not be ``none``).

    ports
        The port specs, a list of mappings: ``protocol`` (tcp or udp), ``listen_port``
        (``80``, ``80,443``, ``8000-8010``), ``target_address``, and optionally
        ``target_port`` and ``description``; None: not managed.

    config
        A mapping of config keys: ``target_address`` (where what no port spec covers
        goes) and ``user.*``; None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        192.0.2.10:
          lxdapi.network_forward_present:
            - network: lxdbr0
            - ports:
              - {protocol: tcp, listen_port: "80,443", target_address: 10.0.3.20}
              - {protocol: udp, listen_port: 53, target_address: 10.0.3.21}
    """
    declared = {"ports": ports, "config": config, "description": description}
    return boundary.present(
        "network_forward", name, declared, connection, purge_config, network=network
    )


def network_forward_absent(name, network, **connection):
    """
    Ensure a network forward does not exist.

    name
        The listen address.

    network
        The network's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        192.0.2.10:
          lxdapi.network_forward_absent:
            - network: lxdbr0
    """
    return boundary.absent("network_forward", name, connection, network=network)


def network_peer_present(
    name,
    network,
    target_network=None,
    target_project=None,
    config=None,
    description=None,
    purge_config=False,
    **connection,
):
    """
    Ensure a peering from an OVN network to another exists (LXD reports it ``Pending``
    until the other side peers back). Fails, saying so, on a network that is not OVN.

    name
        The peering's name.

    network
        The OVN network's name.

    target_network
        The OVN network to peer with (set at creation only: a different one later is
        reported, not acted on).

    target_project
        The project of ``target_network`` (set at creation only).

    config
        A mapping of config keys (``user.*``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        to-ovn2:
          lxdapi.network_peer_present:
            - network: ovn1
            - target_network: ovn2
    """
    declared = {
        "target_network": target_network,
        "target_project": target_project,
        "config": config,
        "description": description,
    }
    return boundary.present(
        "network_peer", name, declared, connection, purge_config, network=network
    )


def network_peer_absent(name, network, **connection):
    """
    Ensure a peering of an OVN network does not exist.

    name
        The peering's name.

    network
        The OVN network's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        to-ovn2:
          lxdapi.network_peer_absent:
            - network: ovn1
    """
    return boundary.absent("network_peer", name, connection, network=network)
