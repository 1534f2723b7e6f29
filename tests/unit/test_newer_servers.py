"""What LXD 5.21 and 6.x change for a client, from their published REST API
specification (these servers install only as snaps, which these machines cannot run): each
difference is a capability the core reads from the server's own ``GET /1.0`` document, or
a check made before anything is sent. The document is the one such a server shows (the
fields that matter); no request is made: each check here fails before any would be."""

import pytest

import lxdapi_files
import lxdapi_server
import lxdapi_trust
import lxdapi_values
from conftest import core


def api_showing(**server):
    """An API whose ``GET /1.0`` document is ``server`` (read once per API, as always)."""
    api = core.API(None, "http+unix://%2Fnonexistent%2Funix.socket")
    api._server = dict({"api_extensions": [], "auth": "trusted"}, **server)
    return api


LXD_50 = {"environment": {"server": "lxd", "server_version": "5.0.2"}}
LXD_521 = {"environment": {"server": "lxd", "server_version": "5.21.3", "server_lts": True}}
LXD_61 = {"environment": {"server": "lxd", "server_version": "6.1"}}
LXD_69 = {"environment": {"server": "lxd", "server_version": "6.9"}}
INCUS = {"environment": {"server": "incus", "server_version": "6.0.4"}}


@pytest.mark.parametrize(
    "document, takes",
    [(LXD_50, True), (LXD_521, True), (LXD_61, False), (LXD_69, False), (INCUS, False)],
)
def test_password_trust_ends_with_lxd_61(document, takes):
    assert api_showing(**document).takes_trust_password is takes


def test_an_untrusted_client_of_an_lxd_is_let_try_its_password():
    # An untrusted client is shown no version: the server's answer tells (see below).
    assert api_showing(auth="untrusted").takes_trust_password is True


def test_versions_compare_as_numbers():
    assert core.version_at_least("6.10", (6, 1))
    assert core.version_at_least("5.21.3", (5, 21))
    assert not core.version_at_least("5.9", (5, 21))
    assert not core.version_at_least(None, (6, 1))
    assert not core.version_at_least("git-abc", (6, 1))


@pytest.mark.parametrize("document", [LXD_61, LXD_69, INCUS])
def test_a_trust_password_in_server_config_is_refused_before_any_request(document):
    api = api_showing(**document)
    with pytest.raises(ValueError) as info:
        lxdapi_server.plan_server_config(api, {"core.trust_password": "s3cret"})
    message = str(info.value)
    assert "has no core.trust_password" in message and "certificate_token_create" in message
    assert "s3cret" not in message
    if document is not INCUS:
        assert "LXD 6.1 dropped it" in message


def test_a_secret_the_server_echoes_in_its_error_is_hidden():
    explain = lxdapi_server._hide_secrets(["s3cret"])
    exc = core.APIException(
        error='Cannot set "loki.auth.password" to "s3cret": Unknown key',
        method="PATCH",
        url="http+unix://x/1.0",
        status=400,
    )
    text = str(explain(None, exc))
    assert "s3cret" not in text
    assert '"loki.auth.password" to "**redacted**"' in text


def test_lxd_521s_hidden_loki_password_is_compared_as_set():
    assert "loki.auth.password" in lxdapi_server.WRITE_ONLY_KEYS


def test_ready_is_running_to_the_plans():
    # LXD 5.21+: a running instance whose guest said it is ready shows status Ready (113).
    assert lxdapi_values.planning_status("Ready") == "Running"
    assert lxdapi_values.planning_status("Stopped") == "Stopped"


def test_projects_need_a_restricted_certificate():
    # LXD 6.7 refuses projects on an unrestricted certificate; older ones ignore them.
    with pytest.raises(ValueError, match="apply only to a restricted certificate"):
        lxdapi_trust._check_certificate_args("client", False, ["p1"])
    assert lxdapi_trust._check_certificate_args("client", True, ["p1"]) == ["p1"]
    assert lxdapi_trust._check_certificate_args("client", False, None) == []


@pytest.mark.parametrize("mode", ["1777", "4755", "02755", 2755])
def test_special_mode_bits_are_refused(mode):
    # The file API keeps mode & 0777, and parses "1777" as a decimal number.
    with pytest.raises(ValueError, match="setuid, setgid or sticky bit"):
        lxdapi_files.file_mode(mode)


def test_permission_modes_are_sent_as_octal():
    assert lxdapi_files.file_mode("755") == "0755"
    assert lxdapi_files.file_mode(644) == "0644"
    assert lxdapi_files.file_mode("0o600") == "0600"
