"""The pure parts of readiness and diagnostics: ``wait_for`` parsing, NIC names, log
redaction and tails, and how an error reads (the server's reason first)."""

import pytest

import lxdapi_logs
import lxdapi_readiness
from conftest import core


def test_wait_for_parses_every_condition_with_defaults():
    wait = lxdapi_readiness.parse_wait_for(
        {"address": {"nic": "eth0", "family": "inet6"}, "exec": "test -e /run/ready"}
    )
    assert (wait.nic, wait.family, wait.scope) == ("eth0", "inet6", "global")
    assert wait.command == ("test", "-e", "/run/ready")
    assert (wait.agent, wait.timeout, wait.exec_timeout) == (False, 60.0, 10.0)
    assert wait.describe() == (
        "an inet6 global address on eth0, then ['test', '-e', '/run/ready'] to exit 0 (up to 60 s)"
    )
    short = lxdapi_readiness.parse_wait_for({"address": "eth1", "agent": True, "timeout": "5"})
    assert (short.nic, short.family, short.scope, short.agent, short.timeout) == (
        "eth1",
        None,
        "global",
        True,
        5.0,
    )
    assert short.describe() == "a global address on eth1, then the VM agent (up to 5 s)"
    assert lxdapi_readiness.parse_wait_for(None) is None


@pytest.mark.parametrize(
    "bad, words",
    [
        ("eth0", "must be a mapping of conditions"),
        ({}, "names no condition"),
        ({"agent": False}, "names no condition"),
        ({"adress": "eth0"}, "unknown condition(s) adress"),
        ({"address": "eth0", "timeout": -1}, "positive number of seconds"),
        ({"address": "eth0", "timeout": 0}, "positive number of seconds"),
        ({"address": "eth0", "timeout": "soon"}, "number of seconds"),
        ({"address": "eth0", "timeout": True}, "number of seconds"),
        ({"exec": "true", "exec_timeout": -3}, "exec_timeout must be a positive"),
        ({"address": {"nic": "eth0", "family": "ipv6"}}, "family must be inet or inet6"),
        ({"address": {"nic": "eth0", "scope": "site"}}, "scope must be one of"),
        ({"address": {"family": "inet"}}, "needs the nic's name"),
        ({"address": {"nic": "eth0", "mask": 64}}, "unknown key(s) mask"),
        ({"address": ["eth0"]}, "NIC name or a mapping"),
        ({"exec": []}, "exec"),
        ({"agent": "yes"}, "agent must be true or false"),
    ],
)
def test_bad_wait_for_is_refused_naming_the_problem(bad, words):
    with pytest.raises(ValueError) as info:
        lxdapi_readiness.parse_wait_for(bad)
    assert words in str(info.value)


def test_nic_names_are_what_the_guest_sees():
    devices = {
        "eth0": {"type": "nic", "network": "br0"},
        "net1": {"type": "nic", "network": "br1", "name": "eth1"},
        "root": {"type": "disk", "path": "/", "pool": "default"},
    }
    assert lxdapi_readiness.nic_names(devices) == ["eth0", "eth1"]
    wait = lxdapi_readiness.parse_wait_for({"address": "eth1"})
    lxdapi_readiness.check_nic(wait, "web1", devices)  # there
    lxdapi_readiness.check_nic(lxdapi_readiness.parse_wait_for({"address": "lo"}), "web1", {})
    with pytest.raises(ValueError, match=r"web1 has no NIC net1 \(its NICs: eth0, eth1\)"):
        lxdapi_readiness.check_nic(
            lxdapi_readiness.parse_wait_for({"address": "net1"}), "web1", devices
        )


def test_log_text_is_redacted_and_tailed():
    text = "\n".join(
        [
            "line 1",
            "core.trust_password=hunter2 and token: abc123",
            "-----BEGIN PRIVATE KEY-----",
            "MIIEv...",
            "-----END PRIVATE KEY-----",
            "",
            "last",
        ]
    )
    redacted = lxdapi_logs.redact_text(text)
    assert "hunter2" not in redacted and "abc123" not in redacted and "MIIEv" not in redacted
    assert "core.trust_password=**redacted**" in redacted
    assert "token: **redacted**" in redacted
    assert lxdapi_logs.tail(text, 2) == ["**redacted**", "last"]
    assert lxdapi_logs.tail(text, 0) == []


def test_an_error_reads_reason_first_then_the_request():
    exc = core.APINotFoundException(
        error="Instance not found",
        method="GET",
        url="http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket/1.0/instances/web1?project=p1",
    )
    assert str(exc) == "Instance not found (GET /1.0/instances/web1?project=p1)"
    exc.operation = "/1.0/operations/1234-abcd"
    assert str(exc) == (
        "Instance not found (GET /1.0/instances/web1?project=p1, "
        "operation /1.0/operations/1234-abcd)"
    )
    lxdapi_logs.with_lines(exc, "last 2 lines of web1's lxc.log", ["a", "b"])
    assert str(exc).splitlines()[1:] == ["last 2 lines of web1's lxc.log:", "  a", "  b"]
    core.reword(exc, "clearer")
    assert str(exc).startswith("clearer (GET /1.0/instances/web1")
    assert str(core.APIException(error="no request at all")) == "no request at all"
