"""lxdapi.server_config_present and the server_config_* functions: the daemon's own
config keys, against the real (session) daemon; every key set here is unset after."""

import json

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from conftest import core

SECRET = "t-server-Sup3r-s3cret-pa55"
KEYS = ("images.auto_update_interval", "images.remote_cache_expiry", "core.trust_password")


@pytest.fixture
def restored(lxd):
    yield
    for key in KEYS:
        lxd.lxc("config", "unset", key, check=False)


def _held(lxd):
    return json.loads(lxd.lxc("query", "/1.0"))["config"]


def test_server_config_present(states, lxd, restored, request_log):
    declared = {"images.auto_update_interval": 0, "images.remote_cache_expiry": "5"}
    predicted = states.lxdapi.server_config_present("lxd", config=declared, test=True)
    assert predicted.result is None
    assert predicted.changes == {
        "config": {
            "old": {"images.auto_update_interval": None, "images.remote_cache_expiry": None},
            "new": {"images.auto_update_interval": "0", "images.remote_cache_expiry": "5"},
        }
    }
    assert request_log.writes == []

    ret = states.lxdapi.server_config_present("lxd", config=declared)
    assert ret.result is True and ret.changes == predicted.changes, ret.comment
    held = _held(lxd)
    assert (held["images.auto_update_interval"], held["images.remote_cache_expiry"]) == ("0", "5")
    assert [m for m, _, _ in request_log.writes] == ["PATCH"]

    request_log.clear()
    again = states.lxdapi.server_config_present("lxd", config=declared)
    assert again.result is True and again.changes == {}
    assert again.comment == "The server's config is already as declared."
    assert request_log.writes == []

    # "" unsets a key; the others are kept
    ret = states.lxdapi.server_config_present("lxd", config={"images.remote_cache_expiry": ""})
    assert ret.changes == {
        "config": {
            "old": {"images.remote_cache_expiry": "5"},
            "new": {"images.remote_cache_expiry": ""},
        }
    }
    held = _held(lxd)
    assert "images.remote_cache_expiry" not in held
    assert held["images.auto_update_interval"] == "0"


def test_trust_password_is_refused_where_there_is_no_password_trust(
    states, modules, lxd, restored, request_log
):
    if lxd.server != "incus":
        pytest.skip("LXD 5.0 has password trust (core.trust_password): see the next test")
    before = _held(lxd)
    ret = states.lxdapi.server_config_present("lxd", config={"core.trust_password": SECRET})
    assert ret.result is False
    assert "Incus at" in ret.comment and "has no core.trust_password" in ret.comment
    assert "certificate_token_create" in ret.comment
    with pytest.raises(SaltInvocationError, match="has no core.trust_password"):
        modules.lxdapi.server_config_set({"core.trust_password": SECRET})
    assert request_log.writes == []
    assert _held(lxd) == before
    assert SECRET not in ret.comment


def test_trust_password_is_set_once_and_never_shown(states, modules, lxd, restored, request_log):
    if lxd.server == "incus":
        pytest.skip("Incus has no core.trust_password: it trusts clients by token only")
    ret = states.lxdapi.server_config_present("lxd", config={"core.trust_password": SECRET})
    assert ret.result is True, ret.comment
    assert ret.changes["config"]["new"] == {"core.trust_password": core.REDACTED}
    assert _held(lxd)["core.trust_password"] is True
    assert modules.lxdapi.server_config_get()["core.trust_password"] is True

    request_log.clear()
    again = states.lxdapi.server_config_present("lxd", config={"core.trust_password": SECRET})
    assert again.result is True and again.changes == {}
    assert "core.trust_password is set; its value cannot be read back" in again.comment
    assert request_log.writes == []

    forced = states.lxdapi.server_config_present(
        "lxd", config={"core.trust_password": SECRET}, force_secrets=True
    )
    assert forced.result is True and forced.changes
    assert [m for m, _, _ in request_log.writes] == ["PATCH"]
    for ret_ in (ret, again, forced):
        assert SECRET not in json.dumps(ret_.changes) + ret_.comment


def test_server_config_bad_input(states, modules, lxd, restored, request_log):
    before = _held(lxd)
    ret = states.lxdapi.server_config_present("lxd", config={"no.such.key": "1"})
    assert ret.result is False and "no.such.key" in ret.comment, ret.comment
    ret = states.lxdapi.server_config_present("lxd", config=["images.auto_update_interval"])
    assert ret.result is False and "config must be a mapping" in ret.comment
    ret = states.lxdapi.server_config_present("lxd", config={}, purge_config="yes")
    assert ret.result is False and "purge_config must be true or false" in ret.comment
    with pytest.raises(SaltInvocationError, match="force_secrets must be true or false"):
        modules.lxdapi.server_config_set({}, force_secrets="no")
    with pytest.raises(CommandExecutionError):
        modules.lxdapi.server_config_set({"images.auto_update_interval": "often"})
    assert _held(lxd) == before
