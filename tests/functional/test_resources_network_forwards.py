"""Network forwards (and peers): the states and execution functions against the real
daemons (create, no-op with no write, test mode, an update of the ports, absent twice,
bad input refused before any write).

The test bridge. LXD 5.0.2 and Incus 6.0 check a forward's targets against the
network's own subnet for the listen address's family, and refuse any forward on a
bridge whose ``ipv4.address`` (or ``ipv6.address``) is ``none`` with a bare "invalid
CIDR address: none" (``forwardValidate`` in lxd/network/driver_common.go parses it). So
the bridge gets a small subnet of the documentation ranges, picked at random per test
(several daemons share the host's kernel), with no NAT and no DHCP. The listen
addresses need not be on any interface of the host: LXD only refuses one that overlaps
another network of its own (``ForwardCreate`` in driver_bridge.go), and only writes
firewall rules for it. Nothing is ever sent to these addresses.

Network peers are OVN only (``Peering`` is set by no other driver): on a bridge they are
refused, naming that; the positive path needs ovn-northd, which this host lacks.
"""

import ipaddress
import json
import random
import uuid

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from resources_support import cleanup  # noqa: F401

LISTEN = "192.0.2.10"  # in 192.0.2.0/28, never a test bridge's subnet
LISTEN6 = "2001:db8::10"  # in 2001:db8::/64, never a test bridge's either


class Bridge:
    """A test bridge: its name, and addresses inside its subnets (``target(n)``)."""

    #: The /28 subnets of 192.0.2.0/24 each server's bridges pick from: none shared, since
    #: make test runs the LXD and Incus halves at once on one kernel (a subnet both took
    #: failed with dnsmasq's "Address already in use").
    SUBNETS = {"lxd": range(2, 9), "incus": range(9, 16)}

    def __init__(self, server):
        self.name = "lf" + uuid.uuid4().hex[:6]
        self.subnet4 = ipaddress.ip_network(
            f"192.0.2.{16 * random.choice(self.SUBNETS[server])}/28"
        )
        self.subnet6 = ipaddress.ip_network(f"2001:db8:{random.randint(1, 0xFFFF):x}::/64")

    def target(self, n):
        return str(self.subnet4.network_address + n)

    def target6(self, n):
        return str(self.subnet6.network_address + n)

    def config(self):
        return [
            f"ipv4.address={self.target(1)}/28",
            "ipv4.nat=false",
            "ipv4.dhcp=false",
            f"ipv6.address={self.target6(1)}/64",
            "ipv6.nat=false",
            "ipv6.dhcp=false",
        ]


@pytest.fixture
def bridge(lxd, api, cleanup):
    for extension in ("network_forward", "network_peer"):
        if not api.has_extension(extension):
            pytest.skip(f"{lxd.server} lacks the {extension} API extension")
    net = Bridge(lxd.server)
    cleanup(["network", "delete", net.name])
    lxd.lxc("network", "create", net.name, *net.config())
    for address in (LISTEN, LISTEN6):  # before the network (cleanups run in reverse)
        cleanup(["network", "forward", "delete", net.name, address])
    return net


def held(lxd, network, address):
    """The forward the daemon holds for ``address`` (read with its own client), or None."""
    forwards = json.loads(lxd.lxc("query", f"/1.0/networks/{network}/forwards?recursion=1"))
    found = [f for f in forwards if f["listen_address"] == address]
    return found[0] if found else None


def ports(*specs):
    """Port specs as LXD returns them (every key, empty ones as "")."""
    keys = ("description", "protocol", "listen_port", "target_port", "target_address")
    return [dict(dict.fromkeys(keys, ""), **spec) for spec in specs]


def test_present_test_mode_create_noop_update_absent(states, lxd, bridge, request_log):
    web = {"protocol": "tcp", "listen_port": "80, 443", "target_address": bridge.target(4)}
    declared = dict(
        network=bridge.name,
        ports=[web],
        config={"target_address": bridge.target(3), "user.owner": "web"},
        description="web in",
    )
    predicted = states.lxdapi.network_forward_present(LISTEN, test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes["network_forward"] == {"old": None, "new": LISTEN}
    assert predicted.changes["ports"] == {
        "old": None,
        "new": [{"protocol": "tcp", "listen_port": "80,443", "target_address": bridge.target(4)}],
    }
    assert request_log.writes == [] and held(lxd, bridge.name, LISTEN) is None

    ret = states.lxdapi.network_forward_present(LISTEN, **declared)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Network forward {LISTEN!r} created."
    got = held(lxd, bridge.name, LISTEN)
    assert got["ports"] == ports(
        {"protocol": "tcp", "listen_port": "80,443", "target_address": bridge.target(4)}
    )
    assert got["config"] == {"target_address": bridge.target(3), "user.owner": "web"}
    assert got["description"] == "web in"

    request_log.clear()
    again = states.lxdapi.network_forward_present(LISTEN, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment == f"Network forward {LISTEN!r} is already as declared."
    assert request_log.writes == []

    # a second port spec, in test mode first: predicted, nothing written
    dns = {"protocol": "udp", "listen_port": 53, "target_address": bridge.target(5)}
    new = [
        {"protocol": "tcp", "listen_port": "80,443", "target_address": bridge.target(4)},
        {"protocol": "udp", "listen_port": "53", "target_address": bridge.target(5)},
    ]
    old = [new[0]]
    predicted = states.lxdapi.network_forward_present(
        LISTEN, network=bridge.name, ports=[web, dns], test=True
    )
    assert predicted.result is None and predicted.changes == {"ports": {"old": old, "new": new}}
    assert request_log.writes == [] and held(lxd, bridge.name, LISTEN)["ports"] == ports(old[0])

    ret = states.lxdapi.network_forward_present(LISTEN, network=bridge.name, ports=[web, dns])
    assert ret.result is True, ret.comment
    assert ret.comment == f"Network forward {LISTEN!r} updated."
    assert ret.changes == {"ports": {"old": old, "new": new}}
    assert [m for m, _, _ in request_log.writes] == ["PUT"]
    got = held(lxd, bridge.name, LISTEN)
    assert got["ports"] == ports(*new)
    # the PUT of the whole forward kept what was not declared this time
    assert got["config"] == {"target_address": bridge.target(3), "user.owner": "web"}
    assert got["description"] == "web in"

    # order matters: the same specs reversed are a change
    ret = states.lxdapi.network_forward_present(LISTEN, network=bridge.name, ports=[dns, web])
    assert ret.result is True and list(ret.changes) == ["ports"]
    assert held(lxd, bridge.name, LISTEN)["ports"][0]["protocol"] == "udp"

    request_log.clear()
    gone = states.lxdapi.network_forward_absent(LISTEN, network=bridge.name)
    assert gone.result is True and gone.changes, gone.comment
    assert gone.comment == f"Network forward {LISTEN!r} deleted."
    assert [m for m, _, _ in request_log.writes] == ["DELETE"]
    assert held(lxd, bridge.name, LISTEN) is None
    request_log.clear()
    again = states.lxdapi.network_forward_absent(LISTEN, network=bridge.name)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment == f"Network forward {LISTEN!r} is already absent."
    assert request_log.writes == []


def test_ipv6_and_forms_lxd_normalises(states, lxd, bridge, request_log):
    """LXD stores addresses in their canonical form and looks a forward up by that exact
    text (``GET .../forwards/2001:DB8::10`` is a 404): any form given is the same
    forward, and a second run writes nothing."""
    target = bridge.target6(0x20).upper()
    declared = dict(
        network=bridge.name,
        ports=[
            {
                "protocol": " tcp",
                "listen_port": "8000-8001 ",
                "target_address": target,
                "target_port": "80, 81",
            }
        ],
        config={"target_address": bridge.target6(0x21).upper()},
        description=" v6 ",
    )
    ret = states.lxdapi.network_forward_present(LISTEN6.upper(), **declared)
    assert ret.result is True, ret.comment
    got = held(lxd, bridge.name, LISTEN6)
    assert got["ports"] == ports(
        {
            "protocol": "tcp",
            "listen_port": "8000-8001",
            "target_port": "80,81",
            "target_address": bridge.target6(0x20),
        }
    )
    assert got["config"] == {"target_address": bridge.target6(0x21)}
    assert got["description"] == "v6"

    request_log.clear()
    again = states.lxdapi.network_forward_present(LISTEN6.upper(), **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []
    assert states.lxdapi.network_forward_absent(LISTEN6.upper(), network=bridge.name).changes
    assert held(lxd, bridge.name, LISTEN6) is None


def test_execution_functions(modules, lxd, bridge, request_log):
    spec = {"protocol": "tcp", "listen_port": "22", "target_address": bridge.target(6)}
    made = modules.lxdapi.network_forward_create(
        bridge.name, LISTEN, ports=[spec], description="ssh"
    )
    assert made["listen_address"] == LISTEN and made["ports"] == ports(spec)
    assert held(lxd, bridge.name, LISTEN)["description"] == "ssh"
    assert modules.lxdapi.network_forward_list(bridge.name) == [LISTEN]
    listed = modules.lxdapi.network_forward_list(bridge.name, recursion=True)
    assert [f["listen_address"] for f in listed] == [LISTEN]
    assert modules.lxdapi.network_forward_get(bridge.name, LISTEN)["ports"] == ports(spec)
    assert modules.lxdapi.network_forward_get(bridge.name, "192.0.2.11") is False
    with pytest.raises(CommandExecutionError, match="already exists"):
        modules.lxdapi.network_forward_create(bridge.name, LISTEN)

    changes = modules.lxdapi.network_forward_update(
        bridge.name, LISTEN, ports=[], config={"user.note": "closed"}
    )
    assert changes == {
        "config": {"old": {"user.note": None}, "new": {"user.note": "closed"}},
        "ports": {"old": [spec], "new": []},
    }
    got = held(lxd, bridge.name, LISTEN)
    assert (got["ports"], got["config"], got["description"]) == (
        [],
        {"user.note": "closed"},
        "ssh",
    )
    request_log.clear()
    assert modules.lxdapi.network_forward_update(bridge.name, LISTEN, ports=[]) == {}
    assert request_log.writes == []
    with pytest.raises(CommandExecutionError, match="does not exist"):
        modules.lxdapi.network_forward_update(bridge.name, "192.0.2.11", ports=[])

    assert modules.lxdapi.network_forward_delete(bridge.name, LISTEN) is True
    assert held(lxd, bridge.name, LISTEN) is None
    assert modules.lxdapi.network_forward_delete(bridge.name, LISTEN) is False
    assert modules.lxdapi.network_forward_list(bridge.name) == []


def _port(**kwargs):
    spec = {"protocol": "tcp", "listen_port": "80", "target_address": "192.0.2.20"}
    spec.update(kwargs)
    return [{k: v for k, v in spec.items() if v is not None}]


@pytest.mark.parametrize(
    "name, kwargs, expected",
    [
        (LISTEN, dict(ports="80:8080"), "ports must be a list of mappings"),
        (LISTEN, dict(ports=["80"]), "each item of ports must be a mapping"),
        (LISTEN, dict(ports=_port(proto="tcp")), "ports[0]: a port spec has no key 'proto'"),
        (LISTEN, dict(ports=_port(protocol="icmp")), "ports[0]: protocol must be tcp or udp"),
        (LISTEN, dict(ports=_port(listen_port=None)), "ports[0]: listen_port is required"),
        (LISTEN, dict(ports=_port(listen_port="http")), "ports[0]: listen_port must be ports"),
        (LISTEN, dict(ports=_port(target_port="70000")), "ports[0]: target_port must be"),
        (LISTEN, dict(ports=_port(target_address="web")), "target_address must be an IP"),
        (LISTEN, dict(ports=_port(listen_port=[80])), "listen_port must be a string"),
        (LISTEN, dict(config={"ipv4.address": "x"}), "config takes target_address and user.*"),
        (LISTEN, dict(config={"target_address": "db"}), "target_address must be an IP"),
        (LISTEN, dict(description=["x"]), "description must be a string"),
        ("web", dict(), "listen_address must be an IP address"),
        ("192.0.2.0/24", dict(), "listen_address must be an IP address"),
    ],
)
def test_bad_input_is_refused_before_any_write(
    states, modules, lxd, bridge, request_log, name, kwargs, expected
):
    ret = states.lxdapi.network_forward_present(name, network=bridge.name, **kwargs)
    assert ret.result is False and expected in ret.comment, ret.comment
    assert "Traceback" not in ret.comment and "internal error" not in ret.comment
    with pytest.raises(SaltInvocationError) as info:
        modules.lxdapi.network_forward_create(bridge.name, name, **kwargs)
    assert expected in str(info.value)
    assert request_log.writes == []
    assert json.loads(lxd.lxc("query", f"/1.0/networks/{bridge.name}/forwards")) == []


def test_what_only_the_server_refuses_fails_cleanly(states, lxd, bridge):
    """A target outside the bridge's subnet, a listen address of one family with targets
    of the other: LXD's checks need the network, so its own words are reported (result
    False, no traceback) and nothing is made."""
    outside = {"protocol": "tcp", "listen_port": "80", "target_address": "198.51.100.7"}
    ret = states.lxdapi.network_forward_present(LISTEN, network=bridge.name, ports=[outside])
    assert ret.result is False and "not within the network subnet" in ret.comment, ret.comment
    mixed = {"protocol": "tcp", "listen_port": "80", "target_address": bridge.target6(5)}
    ret = states.lxdapi.network_forward_present(LISTEN, network=bridge.name, ports=[mixed])
    assert ret.result is False and "Cannot mix IP versions" in ret.comment, ret.comment
    assert held(lxd, bridge.name, LISTEN) is None

    missing = "lf" + uuid.uuid4().hex[:6]
    ret = states.lxdapi.network_forward_present(LISTEN, network=missing, ports=[])
    assert ret.result is False and "Network not found" in ret.comment, ret.comment
    gone = states.lxdapi.network_forward_absent(LISTEN, network=missing)
    assert gone.result is True and gone.changes == {}, gone.comment


def test_forwards_on_a_network_that_has_none_are_refused(
    states, modules, lxd, cleanup, request_log
):
    """Only bridge and OVN networks have forwards: on a macvlan network (which makes no
    interface until an instance uses it) the refusal names that, before any write."""
    name = "lf" + uuid.uuid4().hex[:6]
    cleanup(["network", "delete", name])
    lxd.lxc("network", "create", name, "--type=macvlan", "parent=lo")
    expected = "network forwards need a bridge or OVN network; {!r} is a macvlan network"
    ret = states.lxdapi.network_forward_present(LISTEN, network=name, ports=[])
    assert ret.result is False and expected.format(name) in ret.comment, ret.comment
    with pytest.raises(SaltInvocationError, match="need a bridge or OVN network"):
        modules.lxdapi.network_forward_list(name)
    assert request_log.writes == []


PEERS_NEED_OVN = "network peers need an OVN network; {!r} is a bridge network"


def test_peers_on_a_bridge_are_refused_naming_ovn(states, modules, bridge, request_log):
    expected = PEERS_NEED_OVN.format(bridge.name)
    for ret in (
        states.lxdapi.network_peer_present("to-b", network=bridge.name, target_network="b"),
        states.lxdapi.network_peer_present("to-b", network=bridge.name, test=True),
        states.lxdapi.network_peer_absent("to-b", network=bridge.name),
    ):
        assert ret.result is False and expected in ret.comment, ret.comment
        assert "internal error" not in ret.comment
    for call, args in (
        (modules.lxdapi.network_peer_get, ()),
        (modules.lxdapi.network_peer_create, ("b",)),
        (modules.lxdapi.network_peer_update, ()),
        (modules.lxdapi.network_peer_delete, ()),
    ):
        with pytest.raises(SaltInvocationError, match="network peers need an OVN network"):
            call(bridge.name, "to-b", *args)
    with pytest.raises(SaltInvocationError, match="network peers need an OVN network"):
        modules.lxdapi.network_peer_list(bridge.name)
    assert request_log.writes == []
