"""``lxdapi.*`` execution functions of networks and what hangs on them: ACLs, zones and
their records, forwards, peers (get, list, create, update, delete).

Core: the generic reconcile of resource kinds, ``_utils/lxdapi_reconcile.py``.
Connection settings as in every ``lxdapi`` function (see ``_modules/lxdapi.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_reconcile

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


@boundary.errors
def network_get(name, target=None, **connection):
    """
    Return a network as LXD holds it (type, config, managed, used_by), or False when
    it does not exist.

    name
        The network's name.

    target
        On an LXD cluster: the member whose own config to read (``source``,
        member-specific keys); default: the cluster-wide view.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_get lxdbr0
        salt '*' lxdapi.network_get lxdbr0 target=node2
    """
    return boundary.resource_get("network", name, connection, target=target)


@boundary.errors
def network_list(recursion=0, **connection):
    """
    List the networks (managed ones and the host's interfaces): names, or with
    ``recursion=1`` full objects.

    recursion
        True to return every network as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_list
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "network", recursion=recursion
    )


@boundary.errors
def network_create(
    name, type="bridge", config=None, description=None, member_config=None, **connection
):
    """
    Create a managed network; return it as LXD then holds it. Fails if it exists.

    name
        The network's name (an interface name: at most 15 characters).

    type
        The network type: ``bridge`` (default), ``macvlan``, ``sriov``, ``ovn``,
        ``physical``. It cannot be changed later.

    config
        A mapping of config keys (``ipv4.address``, ``ipv6.address``, ``bridge.mtu``...).
        A bridge without ``ipv4.address`` gets an automatic subnet.

    description
        The network's description.

    member_config
        On an LXD cluster: each member's own keys, ``{member: {key: value}}`` (``parent``,
        ``bridge.external_interfaces``, ``bgp.ipv4.nexthop``, ``bgp.ipv6.nexthop``).
        Member-specific keys in ``config`` go to every member; this overrides them per
        member. LXD's creation steps (a pending entry on each member, then the creation
        everywhere) are made for you.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_create br1 config='{"ipv4.address": "none", "ipv6.address": "none"}'
        salt '*' lxdapi.network_create lan type=macvlan member_config='{"node1": {"parent": \
            "eth1"}, "node2": {"parent": "eno2"}}'
    """
    declared = {"type": type, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "network", name, declared, member_config=member_config
    )


@boundary.errors
def network_update(
    name,
    config=None,
    description=None,
    purge_config=False,
    target=None,
    member_config=None,
    **connection,
):
    """
    Bring an existing managed network to the given config and description (a PATCH with
    If-Match, only when something differs); return the changes (empty: nothing to do).

    name
        The network's name.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    target
        On an LXD cluster: the member whose own config keys to change.

    member_config
        On an LXD cluster: each member's own keys to set, ``{member: {key: value}}``
        (``parent``, ``bridge.external_interfaces``, ``bgp.ipv4.nexthop``, ``bgp.ipv6.nexthop``);
        read and written with ``?target=MEMBER``. Not together with ``target``.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_update br1 config='{"bridge.mtu": 1400}'
        salt '*' lxdapi.network_update br1 config='{"bridge.external_interfaces": "eth1"}' \
            target=node2
        salt '*' lxdapi.network_update lan member_config='{"node2": {"parent": "eno3"}}'
    """
    declared = {"config": config, "description": description}
    return boundary.resource_update(
        "network",
        name,
        declared,
        connection,
        purge_config,
        target=target,
        member_config=member_config,
    )


@boundary.errors
def network_delete(name, **connection):
    """
    Delete a managed network. Returns True if deleted, False if it did not exist; fails,
    naming them, when instances or profiles still use it.

    name
        The network's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_delete br1
    """
    return lxdapi_reconcile.resource_delete(boundary.connect(connection), "network", name)


@boundary.errors
def network_acl_get(name, **connection):
    """
    Return a network ACL as LXD holds it (ingress, egress, config, used_by), or False.

    name
        The ACL's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_get web-in
    """
    return boundary.resource_get("network_acl", name, connection)


@boundary.errors
def network_acl_list(recursion=0, **connection):
    """
    List the network ACLs: names, or with ``recursion=1`` full objects.

    recursion
        True to return every ACL as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_list
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "network_acl", recursion=recursion
    )


@boundary.errors
def network_acl_create(
    name, ingress=None, egress=None, config=None, description=None, **connection
):
    """
    Create a network ACL; return it as LXD then holds it. Fails if it exists.

    name
        The ACL's name.

    ingress
        Ingress rules, a list of mappings (``action``, ``state``, ``source``,
        ``destination``, ``protocol``, ``source_port``, ``destination_port``...).

    egress
        Egress rules, the same way.

    config
        A mapping of config keys (``user.*``).

    description
        The ACL's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_create web-in ingress='[{"action": "allow", "protocol": \
            "tcp", "destination_port": "80", "state": "enabled"}]'
    """
    declared = {"ingress": ingress, "egress": egress, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "network_acl", name, declared
    )


@boundary.errors
def network_acl_update(
    name, ingress=None, egress=None, config=None, description=None, purge_config=False, **connection
):
    """
    Bring an existing network ACL to the given rules, config and description (a PUT of
    the whole ACL with If-Match, only when something differs); return the changes.

    name
        The ACL's name.

    ingress
        The new ingress rules (the whole list); None keeps them.

    egress
        The new egress rules (the whole list); None keeps them.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_update web-in egress='[]'
    """
    declared = {"ingress": ingress, "egress": egress, "config": config, "description": description}
    return boundary.resource_update("network_acl", name, declared, connection, purge_config)


@boundary.errors
def network_acl_delete(name, **connection):
    """
    Delete a network ACL. Returns True if deleted, False if it did not exist; fails,
    naming them, when networks or instances still use it.

    name
        The ACL's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_acl_delete web-in
    """
    return lxdapi_reconcile.resource_delete(boundary.connect(connection), "network_acl", name)


@boundary.errors
def network_zone_get(name, **connection):
    """
    Return a network DNS zone as LXD holds it (config, used_by), or False.

    name
        The zone's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_get lxd.example.net
    """
    return boundary.resource_get("network_zone", name, connection)


@boundary.errors
def network_zone_list(recursion=0, **connection):
    """
    List the network DNS zones: names, or with ``recursion=1`` full objects.

    recursion
        True to return every zone as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_list
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "network_zone", recursion=recursion
    )


@boundary.errors
def network_zone_create(name, config=None, description=None, **connection):
    """
    Create a network DNS zone; return it as LXD then holds it. Fails if it exists.

    name
        The zone's name (a DNS name).

    config
        A mapping of config keys (``dns.nameservers``, ``peers.NAME.address``...).

    description
        The zone's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_create lxd.example.net config='{"dns.nameservers": \
            "ns1.example.net"}'
    """
    declared = {"config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "network_zone", name, declared
    )


@boundary.errors
def network_zone_update(name, config=None, description=None, purge_config=False, **connection):
    """
    Bring an existing network DNS zone to the given config and description (a PUT with
    If-Match, only when something differs); return the changes.

    name
        The zone's name.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_update lxd.example.net description="lab zone"
    """
    declared = {"config": config, "description": description}
    return boundary.resource_update("network_zone", name, declared, connection, purge_config)


@boundary.errors
def network_zone_delete(name, **connection):
    """
    Delete a network DNS zone and its records. Returns True if deleted, False if it did
    not exist; fails, naming them, when networks still use it.

    name
        The zone's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_delete lxd.example.net
    """
    return lxdapi_reconcile.resource_delete(boundary.connect(connection), "network_zone", name)


@boundary.errors
def network_zone_record_get(zone, name, **connection):
    """
    Return a record of a network DNS zone (entries, config), or False.

    zone
        The zone's name.

    name
        The record's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_get lxd.example.net www
    """
    return boundary.resource_get("network_zone_record", name, connection, zone=zone)


@boundary.errors
def network_zone_record_list(zone, recursion=0, **connection):
    """
    List the records of a network DNS zone: names, or with ``recursion=1`` full
    objects.

    zone
        The zone's name.

    recursion
        True to return every record as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_list lxd.example.net
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "network_zone_record", recursion=recursion, zone=zone
    )


@boundary.errors
def network_zone_record_create(
    zone, name, entries=None, config=None, description=None, **connection
):
    """
    Create a record in a network DNS zone; return it as LXD then holds it. Fails if it
    exists.

    zone
        The zone's name.

    name
        The record's name.

    entries
        The entries, a list of mappings with ``type``, ``value`` and optionally ``ttl``.

    config
        A mapping of config keys (``user.*``).

    description
        The record's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_create lxd.example.net www entries='[{"type": "A", \
            "value": "192.0.2.10"}]'
    """
    declared = {"entries": entries, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "network_zone_record", name, declared, zone=zone
    )


@boundary.errors
def network_zone_record_update(
    zone, name, entries=None, config=None, description=None, purge_config=False, **connection
):
    """
    Bring an existing record to the given entries, config and description (a PUT of the
    whole record with If-Match, only when something differs); return the changes.

    zone
        The zone's name.

    name
        The record's name.

    entries
        The new entries (the whole list); None keeps them.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_update lxd.example.net www entries='[{"type": "A", \
            "value": "192.0.2.11"}]'
    """
    declared = {"entries": entries, "config": config, "description": description}
    return boundary.resource_update(
        "network_zone_record", name, declared, connection, purge_config, zone=zone
    )


@boundary.errors
def network_zone_record_delete(zone, name, **connection):
    """
    Delete a record of a network DNS zone. Returns True if deleted, False if it did not
    exist.

    zone
        The zone's name.

    name
        The record's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_zone_record_delete lxd.example.net www
    """
    return lxdapi_reconcile.resource_delete(
        boundary.connect(connection), "network_zone_record", name, zone=zone
    )


@boundary.errors
def network_forward_get(network, listen_address, **connection):
    """
    Return a network forward as LXD holds it (listen_address, config, ports), or False.

    network
        The network's name (a bridge or OVN network).

    listen_address
        The forward's listen address (an IP address; LXD looks it up in its canonical
        form, which is used whatever form is given).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_get lxdbr0 192.0.2.10
    """
    return boundary.resource_get("network_forward", listen_address, connection, network=network)


@boundary.errors
def network_forward_list(network, recursion=0, **connection):
    """
    List the forwards of a network: listen addresses, or with ``recursion=1`` full
    objects.

    network
        The network's name.

    recursion
        True to return every forward as LXD holds it (default False: listen addresses
        only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_list lxdbr0
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "network_forward", recursion=recursion, network=network
    )


@boundary.errors
def network_forward_create(
    network, listen_address, ports=None, config=None, description=None, **connection
):
    """
    Create a network forward; return it as LXD then holds it. Fails if it exists.

    Port specs with a key LXD does not know, a protocol other than tcp or udp, or a
    target that is not an IP address are refused before anything is written.

    network
        The network's name (a bridge or OVN network; LXD wants the network's own subnet
        for the forward's address family, and the targets inside it).

    listen_address
        The address to listen on (an IP address).

    ports
        The port specs, a list of mappings: ``protocol`` (tcp or udp), ``listen_port``
        (``80``, ``80,443``, ``8000-8010``), ``target_address``, and optionally
        ``target_port`` and ``description``.

    config
        A mapping of config keys: ``target_address`` (where what no port spec covers
        goes) and ``user.*``.

    description
        The forward's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_create lxdbr0 192.0.2.10 ports='[{"protocol": \
            "tcp", "listen_port": "80", "target_address": "10.0.3.20"}]'
    """
    declared = {"ports": ports, "config": config, "description": description}
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "network_forward", listen_address, declared, network=network
    )


@boundary.errors
def network_forward_update(
    network,
    listen_address,
    ports=None,
    config=None,
    description=None,
    purge_config=False,
    **connection,
):
    """
    Bring an existing network forward to the given ports, config and description (a
    PUT of the whole forward with If-Match, only when something differs); return the
    changes.

    network
        The network's name.

    listen_address
        The forward's listen address.

    ports
        The new port specs (the whole list, compared in order); None keeps them.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_update lxdbr0 192.0.2.10 ports='[]'
    """
    declared = {"ports": ports, "config": config, "description": description}
    return boundary.resource_update(
        "network_forward", listen_address, declared, connection, purge_config, network=network
    )


@boundary.errors
def network_forward_delete(network, listen_address, **connection):
    """
    Delete a network forward. Returns True if deleted, False if it did not exist.

    network
        The network's name.

    listen_address
        The forward's listen address.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_forward_delete lxdbr0 192.0.2.10
    """
    return lxdapi_reconcile.resource_delete(
        boundary.connect(connection), "network_forward", listen_address, network=network
    )


@boundary.errors
def network_peer_get(network, name, **connection):
    """
    Return a peering of an OVN network as LXD holds it (target, status, config), or
    False. Fails, saying so, on a network that is not OVN.

    network
        The OVN network's name.

    name
        The peering's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_get ovn1 to-ovn2
    """
    return boundary.resource_get("network_peer", name, connection, network=network)


@boundary.errors
def network_peer_list(network, recursion=0, **connection):
    """
    List the peerings of an OVN network: names, or with ``recursion=1`` full
    objects.

    network
        The OVN network's name.

    recursion
        True to return every peering as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_list ovn1
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "network_peer", recursion=recursion, network=network
    )


@boundary.errors
def network_peer_create(
    network,
    name,
    target_network=None,
    target_project=None,
    config=None,
    description=None,
    **connection,
):
    """
    Create a peering from an OVN network to another; return it as LXD then holds it
    (``status`` Pending until the other side peers back). Fails if it exists.

    network
        The OVN network's name.

    name
        The peering's name.

    target_network
        The OVN network to peer with (set at creation only).

    target_project
        The project of ``target_network`` (set at creation only; default: the same).

    config
        A mapping of config keys (``user.*``).

    description
        The peering's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_create ovn1 to-ovn2 target_network=ovn2
    """
    declared = {
        "target_network": target_network,
        "target_project": target_project,
        "config": config,
        "description": description,
    }
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "network_peer", name, declared, network=network
    )


@boundary.errors
def network_peer_update(
    network, name, config=None, description=None, purge_config=False, **connection
):
    """
    Bring an existing peering to the given config and description (a PUT with
    If-Match, only when something differs); return the changes.

    network
        The OVN network's name.

    name
        The peering's name.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_update ovn1 to-ovn2 description="to the lab"
    """
    declared = {"config": config, "description": description}
    return boundary.resource_update(
        "network_peer", name, declared, connection, purge_config, network=network
    )


@boundary.errors
def network_peer_delete(network, name, **connection):
    """
    Delete a peering of an OVN network. Returns True if deleted, False if it did not
    exist.

    network
        The OVN network's name.

    name
        The peering's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.network_peer_delete ovn1 to-ovn2
    """
    return lxdapi_reconcile.resource_delete(
        boundary.connect(connection), "network_peer", name, network=network
    )
