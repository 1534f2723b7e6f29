"""lxdapi.network_present / network_absent against the real daemon.

Test networks carry no addresses (``ipv4.address: none``, ``ipv6.address: none``).
LXD needs a firewall tool (nftables or iptables) on the host to start a bridge.
"""

import pytest

from resources_support import cleanup, held, make_container, require_firewall_tool, short_name  # noqa: F401

NO_ADDRESSES = {"ipv4.address": "none", "ipv6.address": "none"}


@pytest.fixture
def network(lxd, cleanup):
    """A fresh network name, deleted at teardown."""
    require_firewall_tool()
    name = short_name("t5n")
    cleanup(["network", "delete", name])
    return name


def test_create_then_noop_without_a_write(states, api, network, request_log):
    ret = states.lxdapi.network_present(
        name=network, config=NO_ADDRESSES, description="test bridge"
    )
    assert ret.result is True, ret.comment
    assert "created" in ret.comment
    assert ret.changes["network"] == {"old": None, "new": network}
    assert ret.changes["type"] == {"old": None, "new": "bridge"}
    held_net = held(api, "networks/" + network)
    assert held_net["type"] == "bridge" and held_net["managed"] is True
    assert held_net["config"]["ipv4.address"] == "none"
    assert held_net["description"] == "test bridge"

    request_log.clear()
    ret = states.lxdapi.network_present(
        name=network, config=NO_ADDRESSES, description="test bridge"
    )
    assert ret.result is True
    assert ret.changes == {}
    assert request_log.writes == []


def test_update_and_test_mode(states, api, network, request_log):
    states.lxdapi.network_present(name=network, config=NO_ADDRESSES)

    request_log.clear()
    config = dict(NO_ADDRESSES, **{"bridge.mtu": 1400})
    ret = states.lxdapi.network_present(name=network, config=config, test=True)
    assert ret.result is None
    assert ret.changes == {"config": {"old": {"bridge.mtu": None}, "new": {"bridge.mtu": "1400"}}}
    assert request_log.writes == []
    assert "bridge.mtu" not in held(api, "networks/" + network)["config"]

    ret = states.lxdapi.network_present(name=network, config=config, description="d")
    assert ret.result is True, ret.comment
    assert ret.changes["config"]["new"] == {"bridge.mtu": "1400"}
    assert ret.changes["description"] == {"old": "", "new": "d"}
    assert [w[0] for w in request_log.writes] == ["PATCH"]
    held_net = held(api, "networks/" + network)
    assert held_net["config"]["bridge.mtu"] == "1400"
    assert held_net["config"]["ipv4.address"] == "none"

    # test mode on an absent network: predicted, nothing created
    other = short_name("t5n")
    request_log.clear()
    ret = states.lxdapi.network_present(name=other, config=NO_ADDRESSES, test=True)
    assert ret.result is None
    assert ret.changes["network"] == {"old": None, "new": other}
    assert request_log.writes == []
    assert held(api, "networks/" + other) is None


def test_different_type_is_reported_not_acted_on(states, api, network, request_log):
    states.lxdapi.network_present(name=network, config=NO_ADDRESSES)
    request_log.clear()
    ret = states.lxdapi.network_present(name=network, type="macvlan", config=NO_ADDRESSES)
    assert ret.result is True
    assert ret.changes == {}
    assert "type 'bridge'" in ret.comment and "macvlan" in ret.comment
    assert request_log.writes == []
    assert held(api, "networks/" + network)["type"] == "bridge"


def test_bad_input_fails_and_changes_nothing(states, api, network):
    ret = states.lxdapi.network_present(name=network, config=dict(NO_ADDRESSES, bogus=1))
    assert ret.result is False
    assert "bogus" in ret.comment
    assert held(api, "networks/" + network) is None

    ret = states.lxdapi.network_present(name=network, type="nosuchtype")
    assert ret.result is False
    assert "driver" in ret.comment.lower() or "type" in ret.comment.lower()
    assert held(api, "networks/" + network) is None

    ret = states.lxdapi.network_present(name=network, config={"ipv4.address": ["x"]})
    assert ret.result is False
    assert "scalars" in ret.comment

    ret = states.lxdapi.network_present(name="lo", config={"user.a": 1})
    assert ret.result is False
    assert "not managed" in ret.comment


def test_absent_refuses_while_used_then_deletes_once(
    states, api, lxd, network, cleanup, request_log, unique_name
):
    states.lxdapi.network_present(name=network, config=NO_ADDRESSES)
    container = make_container(lxd, cleanup, unique_name, "--network", network)

    ret = states.lxdapi.network_absent(name=network)
    assert ret.result is False
    assert "in use" in ret.comment and container in ret.comment
    assert held(api, "networks/" + network) is not None

    lxd.lxc("delete", "--force", container)
    request_log.clear()
    ret = states.lxdapi.network_absent(name=network, test=True)
    assert ret.result is None and ret.changes == {"network": {"old": network, "new": None}}
    assert request_log.writes == []
    ret = states.lxdapi.network_absent(name=network)
    assert ret.result is True, ret.comment
    assert ret.changes == {"network": {"old": network, "new": None}}
    assert held(api, "networks/" + network) is None

    request_log.clear()
    ret = states.lxdapi.network_absent(name=network)
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


def test_purge_config_removes_undeclared_keys_once(states, api, network, lxd, request_log):
    states.lxdapi.network_present(name=network, config=NO_ADDRESSES)
    lxd.lxc("network", "set", network, "user.stray", "by-hand")

    request_log.clear()
    ret = states.lxdapi.network_present(
        name=network, config=NO_ADDRESSES, purge_config=True, test=True
    )
    assert ret.result is None
    assert ret.changes == {
        "config": {"old": {"user.stray": "by-hand"}, "new": {"user.stray": None}}
    }
    assert request_log.writes == []
    assert held(api, "networks/" + network)["config"]["user.stray"] == "by-hand"

    ret = states.lxdapi.network_present(name=network, config=NO_ADDRESSES, purge_config=True)
    assert ret.result is True, ret.comment
    assert "user.stray" not in held(api, "networks/" + network)["config"]
    assert held(api, "networks/" + network)["config"]["ipv4.address"] == "none"

    request_log.clear()
    again = states.lxdapi.network_present(name=network, config=NO_ADDRESSES, purge_config=True)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []
