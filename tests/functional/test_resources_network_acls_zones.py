"""Network ACLs, DNS zones and zone records: the states and execution functions against
the real daemon (create, update, no-op with no write, test mode, in-use refusal, absent
twice). LXD 5.0.2's PATCH of these loses fields or drops the connection, so every update
is a PUT of the whole object with If-Match."""

import pytest
from salt.exceptions import SaltInvocationError

from resources_support import cleanup, held, short_name  # noqa: F401


@pytest.fixture
def acl(lxd, cleanup):
    name = short_name("acl")
    cleanup(["network", "acl", "delete", name])
    return name


@pytest.fixture
def zone(lxd, cleanup):
    name = "{}.example.net".format(short_name("z"))
    cleanup(["network", "zone", "delete", name])
    return name


WEB_IN = [{"action": "allow", "protocol": "tcp", "destination_port": 80, "state": "enabled"}]


def test_acl_present_create_update_noop(states, api, acl, request_log):
    declared = dict(ingress=WEB_IN, config={"user.owner": "web"}, description="web in")
    predicted = states.lxdapi.network_acl_present(acl, test=True, **declared)
    assert predicted.result is None
    assert predicted.changes["ingress"] == {
        "old": None,
        "new": [
            {"action": "allow", "protocol": "tcp", "destination_port": "80", "state": "enabled"}
        ],
    }
    assert request_log.writes == [] and held(api, "network-acls/" + acl) is None

    ret = states.lxdapi.network_acl_present(acl, **declared)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Network ACL {acl!r} created."
    got = held(api, "network-acls/" + acl)
    assert got["ingress"][0]["destination_port"] == "80" and got["egress"] == []
    assert (got["description"], got["config"]) == ("web in", {"user.owner": "web"})

    request_log.clear()
    again = states.lxdapi.network_acl_present(acl, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []

    # egress added: one PUT that keeps the ingress rules, config and description
    egress = [{"action": "reject", "destination": "192.0.2.0/24", "state": "enabled"}]
    ret = states.lxdapi.network_acl_present(acl, egress=egress)
    assert ret.result is True and ret.changes == {"egress": {"old": [], "new": egress}}
    assert [m for m, _, _ in request_log.writes] == ["PUT"]
    got = held(api, "network-acls/" + acl)
    assert got["egress"] == egress and got["ingress"][0]["destination_port"] == "80"
    assert (got["description"], got["config"]) == ("web in", {"user.owner": "web"})

    # rule order matters: reordered rules are a change
    two = WEB_IN + [{"action": "drop", "protocol": "udp", "state": "enabled"}]
    states.lxdapi.network_acl_present(acl, ingress=two)
    ret = states.lxdapi.network_acl_present(acl, ingress=list(reversed(two)))
    assert ret.result is True and "ingress" in ret.changes
    assert held(api, "network-acls/" + acl)["ingress"][0]["action"] == "drop"


def test_acl_in_use_is_not_deleted(states, modules, api, lxd, cleanup, acl):
    states.lxdapi.network_acl_present(acl, ingress=WEB_IN)
    network = short_name("br")
    cleanup(["network", "delete", network])
    lxd.lxc(
        "network",
        "create",
        network,
        "ipv4.address=none",
        "ipv6.address=none",
        "security.acls=" + acl,
    )
    ret = states.lxdapi.network_acl_absent(acl)
    assert ret.result is False and "is in use by /1.0/networks/" + network in ret.comment
    assert held(api, "network-acls/" + acl) is not None

    lxd.lxc("network", "delete", network)
    ret = states.lxdapi.network_acl_absent(acl)
    assert ret.result is True and ret.changes
    assert held(api, "network-acls/" + acl) is None
    again = states.lxdapi.network_acl_absent(acl)
    assert again.result is True and again.changes == {}
    assert modules.lxdapi.network_acl_delete(acl) is False


def test_acl_execution_functions(modules, acl):
    made = modules.lxdapi.network_acl_create(acl, egress=[{"action": "allow", "state": "logged"}])
    assert made["egress"] == [{"action": "allow", "state": "logged"}]
    assert acl in modules.lxdapi.network_acl_list()
    changes = modules.lxdapi.network_acl_update(acl, egress=[], description="none out")
    assert changes == {
        "egress": {"old": [{"action": "allow", "state": "logged"}], "new": []},
        "description": {"old": "", "new": "none out"},
    }
    assert modules.lxdapi.network_acl_get(acl)["egress"] == []
    assert modules.lxdapi.network_acl_update(acl, egress=[]) == {}


def test_zone_and_records(states, modules, api, zone, request_log):
    ret = states.lxdapi.network_zone_present(
        zone, config={"dns.nameservers": "ns1.example.net"}, description="lab"
    )
    assert ret.result is True, ret.comment
    assert held(api, "network-zones/" + zone)["config"] == {"dns.nameservers": "ns1.example.net"}

    entries = [{"type": "A", "value": "192.0.2.10", "ttl": "300"}]
    predicted = states.lxdapi.network_zone_record_present(
        name="www", zone=zone, entries=entries, test=True
    )
    assert predicted.result is None
    assert predicted.changes["entries"]["new"] == [{"type": "A", "value": "192.0.2.10", "ttl": 300}]
    ret = states.lxdapi.network_zone_record_present(
        name="www", zone=zone, entries=entries, description="web"
    )
    assert ret.result is True, ret.comment
    record = held(api, f"network-zones/{zone}/records/www")
    assert record["entries"] == [{"type": "A", "value": "192.0.2.10", "ttl": 300}]

    request_log.clear()
    again = states.lxdapi.network_zone_record_present(
        name="www", zone=zone, entries=entries, description="web"
    )
    assert again.result is True and again.changes == {}
    assert request_log.writes == []

    entries.append({"type": "AAAA", "value": "2001:db8::10"})
    ret = states.lxdapi.network_zone_record_present(name="www", zone=zone, entries=entries)
    assert ret.result is True and list(ret.changes) == ["entries"]
    record = held(api, f"network-zones/{zone}/records/www")
    assert [e["type"] for e in record["entries"]] == ["A", "AAAA"]
    assert record["description"] == "web"  # kept by the PUT

    ret = states.lxdapi.network_zone_present(zone, description="lab zone")
    assert ret.changes == {"description": {"old": "lab", "new": "lab zone"}}
    assert held(api, "network-zones/" + zone)["config"] == {"dns.nameservers": "ns1.example.net"}

    assert modules.lxdapi.network_zone_record_list(zone) == ["www"]
    assert states.lxdapi.network_zone_record_absent(name="www", zone=zone).changes
    assert held(api, f"network-zones/{zone}/records/www") is None
    assert states.lxdapi.network_zone_record_absent(name="www", zone=zone).changes == {}
    assert states.lxdapi.network_zone_absent(zone).changes
    assert held(api, "network-zones/" + zone) is None


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(ingress="allow all"), "ingress must be a list of mappings"),
        (dict(ingress=["allow"]), "each item of ingress must be a mapping"),
        (
            dict(egress=[{"action": "allow", "state": "enabled", "port": [80]}]),
            "egress: port must be a string or a number",
        ),
        (
            dict(ingress=[{"action": "permit", "state": "enabled"}]),
            "Action must be one of: allow,",
        ),  # the server's own words (Incus adds allow-stateless)
    ],
)
def test_acl_bad_input(states, modules, api, acl, request_log, kwargs, expected):
    ret = states.lxdapi.network_acl_present(acl, **kwargs)
    assert ret.result is False and expected in ret.comment, ret.comment
    assert held(api, "network-acls/" + acl) is None
    assert [w for w in request_log.writes if w[0] != "POST"] == []


def test_record_bad_input(modules, zone):
    modules.lxdapi.network_zone_create(zone)
    with pytest.raises(SaltInvocationError, match="ttl must be a number of seconds"):
        modules.lxdapi.network_zone_record_create(
            zone, "www", entries=[{"type": "A", "value": "192.0.2.1", "ttl": "soon"}]
        )
    with pytest.raises(SaltInvocationError, match="a network zone record needs zone="):
        modules.lxdapi.network_zone_record_create("", "www", entries=[])
