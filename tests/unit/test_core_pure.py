"""The core's pure functions: values as LXD stores them, diffs, redaction, settings."""

import pytest

import lxdapi_plans
import lxdapi_values
from conftest import core


def test_lxd_value_matches_how_lxd_stores_config():
    assert lxdapi_values.lxd_value(True) == "true"
    assert lxdapi_values.lxd_value(False) == "false"
    assert lxdapi_values.lxd_value(1) == "1"
    assert lxdapi_values.lxd_value("1") == "1"
    assert lxdapi_values.lxd_value(None) == ""
    with pytest.raises(TypeError):
        lxdapi_values.lxd_value({"a": 1})


def test_lxd_devices_require_a_type():
    assert lxdapi_values.lxd_devices({"eth0": {"type": "nic", "mtu": 1500}}) == {
        "eth0": {"type": "nic", "mtu": "1500"}
    }
    with pytest.raises(ValueError, match="device 'eth0'"):
        lxdapi_values.lxd_devices({"eth0": {"mtu": 1500}})
    with pytest.raises(ValueError, match="mapping"):
        lxdapi_values.lxd_devices(["eth0"])


CURRENT = {
    "config": {"user.a": "1", "user.b": "2", "volatile.uuid": "x", "image.os": "busybox"},
    "devices": {"d1": {"type": "none"}, "d2": {"type": "none"}},
    "profiles": ["default", "extra"],
    "description": "web",
}


def test_diff_equal_values_compared_as_strings():
    changes, patch, removed = lxdapi_plans.diff_fields(
        CURRENT, {"config": {"user.a": 1}, "profiles": ["default", "extra"], "description": "web"}
    )
    assert (changes, patch, removed) == ({}, {}, [])


def test_diff_profile_order_matters():
    changes, patch, _ = lxdapi_plans.diff_fields(CURRENT, {"profiles": ["extra", "default"]})
    assert changes == {"profiles": {"old": ["default", "extra"], "new": ["extra", "default"]}}
    assert patch == {"profiles": ["extra", "default"]}


def test_diff_ignores_volatile_and_image_keys_even_when_purging():
    changes, patch, _ = lxdapi_plans.diff_fields(
        CURRENT,
        {"config": {"user.a": "1", "volatile.uuid": "y"}},
        purge_config=True,
    )
    assert changes == {"config": {"old": {"user.b": "2"}, "new": {"user.b": None}}}
    assert patch == {"config": {"user.b": ""}}


def test_diff_devices_added_changed_and_purged():
    changes, patch, removed = lxdapi_plans.diff_fields(
        CURRENT,
        {"devices": {"d1": {"type": "none"}, "d3": {"type": "none"}}},
        purge_devices=True,
    )
    assert changes["devices"]["new"] == {"d3": {"type": "none"}, "d2": None}
    assert patch == {"devices": {"d3": {"type": "none"}}}
    assert removed == ["d2"]


def test_plan_update_puts_whole_object_when_devices_go():
    plan = lxdapi_plans.plan_update(
        "instances/x", CURRENT, '"etag"', {"devices": {}}, purge_devices=True
    )
    (write,) = plan.writes
    assert write.method == "PUT" and write.etag == '"etag"'
    assert write.body["devices"] == {}
    # the server's own keys are sent back as read, so LXD keeps them
    assert write.body["config"]["volatile.uuid"] == "x"


def test_plan_update_patches_with_if_match():
    plan = lxdapi_plans.plan_update("instances/x", CURRENT, '"etag"', {"config": {"user.c": 3}})
    (write,) = plan.writes
    # the current description rides along: LXD 5.0 resets it on a PATCH without it
    assert (write.method, write.etag, write.body) == (
        "PATCH",
        '"etag"',
        {"config": {"user.c": "3"}, "description": "web"},
    )
    assert plan.changes == {"config": {"old": {"user.c": None}, "new": {"user.c": "3"}}}


def test_redact_hides_passwords_tokens_and_private_keys():
    data = {
        "config": {"core.trust_password": "hunter2", "user.x": "ok"},
        "password": "p",
        "token": "t",
        "nested": ["-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----"],
        "certificate": "-----BEGIN CERTIFICATE-----",
    }
    out = core.redact(data)
    text = repr(out)
    for secret in ("hunter2", "'p'", "'t'", "abc"):
        assert secret not in text
    assert out["config"]["user.x"] == "ok"
    assert out["certificate"] == "-----BEGIN CERTIFICATE-----"


def test_status_names_are_checked_and_listed():
    assert lxdapi_values.normalize_status("running") == "Running"
    with pytest.raises(ValueError, match="Running, Stopped, Frozen"):
        lxdapi_values.normalize_status("Paused")


def test_connection_precedence_kwarg_remote_config_default():
    config = {
        "lxdapi:endpoint": "/config.socket",
        "lxdapi:project": "cfgproj",
        "lxdapi:remotes": {"far": {"endpoint": "https://127.0.0.1:8443", "verify": False}},
    }

    def config_get(key, default=None):
        return config.get(key, default)

    assert core.resolve_connection({}, None) == {}
    assert core.resolve_connection({}, config_get) == {
        "endpoint": "/config.socket",
        "project": "cfgproj",
    }
    assert core.resolve_connection({"remote": "far"}, config_get) == {
        "endpoint": "https://127.0.0.1:8443",
        "verify": False,
        "project": "cfgproj",
    }
    assert (
        core.resolve_connection({"remote": "far", "endpoint": "/kw.socket"}, config_get)["endpoint"]
        == "/kw.socket"
    )
    with pytest.raises(ValueError, match="unknown remote 'near'"):
        core.resolve_connection({"remote": "near"}, config_get)


def test_path_quotes_every_part():
    api = core.API(None, "http+unix://x")
    assert api.path("instances", "a/../b?c#d") == "instances/a%2F..%2Fb%3Fc%23d"


def test_missing_socket_names_every_path_tried(monkeypatch, tmp_path):
    monkeypatch.setenv("LXD_DIR", str(tmp_path))
    with pytest.raises(core.APIConnectionError) as info:
        core.API.factory()
    message = str(info.value)
    assert str(tmp_path / "unix.socket") in message
    assert "Start LXD with" in message
    monkeypatch.delenv("LXD_DIR")
    monkeypatch.setattr(
        core, "SOCKET_CANDIDATES", ("/nonexistent/a.socket", "/nonexistent/b.socket")
    )
    with pytest.raises(
        core.APIConnectionError, match="/nonexistent/a.socket, /nonexistent/b.socket"
    ):
        core.API.factory()


def test_sockets_are_tried_lxd_then_incus_those_of_the_environment_first():
    environ = {"LXD_DIR": "/l", "INCUS_SOCKET": "/i/s.sock", "INCUS_DIR": "/i"}
    assert core.socket_candidates(environ) == [
        "/l/unix.socket",
        "/i/s.sock",
        "/i/unix.socket",
        "/var/snap/lxd/common/lxd/unix.socket",
        "/var/lib/lxd/unix.socket",
        "/var/lib/incus/unix.socket",
        "/run/incus/unix.socket",
    ]
    assert core.socket_candidates({}) == list(core.SOCKET_CANDIDATES)


def test_a_missing_socket_names_both_servers_and_every_path(monkeypatch, tmp_path):
    monkeypatch.delenv("LXD_DIR", raising=False)
    monkeypatch.delenv("INCUS_SOCKET", raising=False)
    monkeypatch.setenv("INCUS_DIR", str(tmp_path))
    with pytest.raises(core.APIConnectionError) as info:
        core.API.factory()
    message = str(info.value)
    assert "no LXD or Incus socket found" in message
    for path in [str(tmp_path / "unix.socket")] + list(core.SOCKET_CANDIDATES):
        assert path in message
    assert "incus admin init" in message and "lxd init" in message


class _Served(core.API):
    """An API whose ``GET /1.0`` document is given (no request): for the server facts."""

    def __init__(self, document):
        super().__init__(None, "https://127.0.0.1:1")
        self._server = document


@pytest.mark.parametrize(
    "document, kind",
    [
        ({"environment": {"server": "incus"}}, "incus"),
        ({"environment": {"server": "lxd"}}, "lxd"),
        ({"api_extensions": ["instances", "dev_incus_events"]}, "incus"),  # untrusted
        ({"api_extensions": ["instances", "devlxd_events"]}, "lxd"),
        ({}, "lxd"),
    ],
)
def test_the_server_kind_and_what_follows_from_it(document, kind):
    api = _Served(document)
    assert api.server_kind == kind
    assert api.header("mode") == ("X-Incus-mode" if kind == "incus" else "X-LXD-mode")
    assert api.takes_trust_password is (kind == "lxd")
    assert api.server_label == ("Incus" if kind == "incus" else "LXD")
