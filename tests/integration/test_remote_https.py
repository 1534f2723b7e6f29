"""LXD over HTTPS: client certificates, pinning, CA bundles, named remotes, trust.

One extra daemon answers HTTPS on 127.0.0.1 (a free port) for the whole module; it is
stopped at the end. Everything is checked against what that daemon holds afterwards
(read through its unix socket).
"""

import logging
import os
import shutil
import stat

import pytest
import salt.version
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi_trust
from conftest import core
from remote_support import client_pair, held, https_server, minion_loaders

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(lxd):
    """The module's HTTPS daemon, of the session daemon's kind (LXD or Incus)."""
    with https_server(server=lxd.server) as srv:
        yield srv


@pytest.fixture(scope="module")
def certs(server, tmp_path_factory):
    """Client pairs: ``trusted`` (in the server's trust store), ``untrusted``."""
    folder = str(tmp_path_factory.mktemp("certs"))
    trusted = client_pair(folder, "trusted")
    untrusted = client_pair(folder, "untrusted")
    server.lxc("config", "trust", "add", trusted[0], "--name", "trusted-client")
    return {"trusted": trusted, "untrusted": untrusted, "folder": folder}


@pytest.fixture
def https(server, certs):
    """Connection kwargs for the trusted client, pinning the server's certificate."""
    cert, key = certs["trusted"]
    return {"endpoint": server.url, "cert": cert, "key": key, "server_cert": server.server_cert}


@pytest.fixture(scope="module")
def remote_loaders(salt_factories, lxd, server, certs):
    """A minion whose config names the HTTPS daemon as remotes ``lab`` (pinned) and
    ``lab-ca`` (verified with a CA bundle)."""
    cert, key = certs["trusted"]
    config = {
        "endpoint": lxd.socket,
        "remotes": {
            "lab": {
                "endpoint": server.url,
                "cert": cert,
                "key": key,
                "server_cert": server.server_cert,
            },
            "lab-ca": {
                "endpoint": server.url,
                "cert": cert,
                "key": key,
                "verify": server.server_cert,
            },
        },
    }
    loaders = minion_loaders(salt_factories, "lxdapi-remote-https", config)
    yield loaders
    shutil.rmtree(loaders.opts["root_dir"], ignore_errors=True)


@pytest.fixture
def remote_modules(remote_loaders):
    remote_loaders.context.clear()
    return remote_loaders.modules


@pytest.fixture
def remote_states(remote_loaders):
    remote_loaders.context.clear()
    return remote_loaders.states


def trusted_fingerprints(server):
    return {c["fingerprint"]: c for c in lxdapi_trust.certificate_list(server.local_api(), 1)}


def forget(server, fingerprint):
    server.lxc("config", "trust", "remove", fingerprint, check=False)


# --------------------------------------------------------------------- connections


def test_trusted_client_reads_and_writes_over_https(modules, server, https, unique_name):
    info = modules.lxdapi.info(**https)
    assert info["auth"] == "trusted"
    try:
        modules.lxdapi.container_create(unique_name, **https)
        held_there = held(server.local_api(), "instances/" + unique_name)
        assert held_there is not None and held_there["status"] == "Stopped"
        assert modules.lxdapi.container_get(unique_name, **https)["name"] == unique_name
    finally:
        server.lxc("delete", "--force", unique_name, check=False)
    assert held(server.local_api(), "instances/" + unique_name) is None


def test_functions_with_their_own_key_and_timeout_take_client_key(
    modules, server, https, unique_name
):
    """``container_config_set(name, key, value)`` has a ``key`` of its own: the TLS key
    goes as ``client_key`` (and the request timeout as ``request_timeout``)."""
    conn = dict(https, client_key=https.pop("key"), request_timeout=20)
    try:
        modules.lxdapi.container_create(unique_name, **conn)  # no image: an empty one
        assert modules.lxdapi.container_config_set(unique_name, "user.via", "https", **conn) == {
            "user.via": {"old": None, "new": "https"}
        }
        assert held(server.local_api(), "instances/" + unique_name)["config"]["user.via"] == "https"
        assert modules.lxdapi.container_config_get(unique_name, "user.via", **conn) == "https"
        assert modules.lxdapi.container_stop(unique_name, timeout=5, **conn) is False
    finally:
        server.lxc("delete", "--force", unique_name, check=False)


def test_untrusted_client_gets_a_clear_error(modules, server, certs, unique_name):
    cert, key = certs["untrusted"]
    with pytest.raises(CommandExecutionError) as err:
        modules.lxdapi.container_create(
            unique_name, endpoint=server.url, cert=cert, key=key, server_cert=server.server_cert
        )
    text = str(err.value)
    assert "not trusted" in text and "forbidden" in text
    assert core.certificate_fingerprint(cert) in text
    assert "lxdapi.authenticate" in text
    assert held(server.local_api(), "instances/" + unique_name) is None


def test_client_without_certificate_is_told_to_give_one(modules, server):
    with pytest.raises(CommandExecutionError, match="not trusted.*no client certificate"):
        modules.lxdapi.container_list(endpoint=server.url, server_cert=server.server_cert)


def test_wrong_pinned_certificate_fails_clearly(modules, server, certs):
    cert, key = certs["trusted"]
    wrong_pin = certs["untrusted"][0]  # any other certificate
    with pytest.raises(CommandExecutionError) as err:
        modules.lxdapi.info(endpoint=server.url, cert=cert, key=key, server_cert=wrong_pin)
    text = str(err.value)
    assert "does not match the pinned server_cert" in text
    assert core.certificate_fingerprint(server.server_cert) in text  # what it presents
    assert core.certificate_fingerprint(wrong_pin) in text  # what was pinned


def test_wrong_pin_is_an_api_certificate_mismatch_in_the_core(server, certs):
    cert, key = certs["trusted"]
    api = core.API.factory(server.url, cert=cert, key=key, server_cert=certs["untrusted"][0])
    with pytest.raises(core.APICertificateMismatch):
        api.get("")


def test_ca_bundle_verifies_the_server(modules, server, certs, monkeypatch):
    # requests lets REQUESTS_CA_BUNDLE override a session's CA bundle; the core must not.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    cert, key = certs["trusted"]
    info = modules.lxdapi.info(endpoint=server.url, cert=cert, key=key, verify=server.server_cert)
    assert info["auth"] == "trusted"


def test_system_cas_refuse_a_self_signed_server(modules, server, certs):
    cert, key = certs["trusted"]
    with pytest.raises(CommandExecutionError, match="CERTIFICATE_VERIFY_FAILED.*server_cert"):
        modules.lxdapi.info(endpoint=server.url, cert=cert, key=key)


def test_verify_false_works_and_warns(modules, server, certs, caplog, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    cert, key = certs["trusted"]
    with caplog.at_level(logging.WARNING):
        info = modules.lxdapi.info(endpoint=server.url, cert=cert, key=key, verify=False)
    assert info["auth"] == "trusted"
    assert any("TLS verification is off" in r.getMessage() for r in caplog.records)


def test_missing_ca_bundle_is_named(modules, server, certs):
    cert, key = certs["trusted"]
    with pytest.raises(CommandExecutionError, match="CA bundle '/nonexistent.pem'"):
        modules.lxdapi.info(endpoint=server.url, cert=cert, key=key, verify="/nonexistent.pem")


# ------------------------------------------------------------------- named remotes


def test_named_remote_from_minion_config(remote_modules, server, lxd):
    assert remote_modules.lxdapi.info(remote="lab")["auth"] == "trusted"
    assert remote_modules.lxdapi.info(remote="lab-ca")["auth"] == "trusted"
    names = remote_modules.lxdapi.certificate_list(remote="lab", recursion=1)
    assert "trusted-client" in [c["name"] for c in names]
    # Without remote=, the minion's own lxdapi:endpoint (the session daemon) is used.
    local = remote_modules.lxdapi.info()
    assert local["auth"] == "trusted"
    assert "trusted-client" not in [
        c["name"] for c in remote_modules.lxdapi.certificate_list(recursion=1)
    ]


def test_unknown_remote_names_the_configured_ones(remote_modules):
    with pytest.raises(SaltInvocationError, match="unknown remote 'nope'.*lab, lab-ca"):
        remote_modules.lxdapi.info(remote="nope")


def test_state_through_a_named_remote(remote_states, server, certs, request_log):
    pem_path = client_pair(certs["folder"], "via-remote")[0]
    fingerprint = core.certificate_fingerprint(pem_path)
    try:
        ret = remote_states.lxdapi.certificate_present(
            "via-remote", certificate=pem_path, remote="lab"
        )
        assert ret.result is True and ret.changes["certificate"]["old"] is None
        assert request_log and all(url.startswith(server.url) for _, url, _ in request_log)
        assert trusted_fingerprints(server)[fingerprint]["name"] == "via-remote"
    finally:
        forget(server, fingerprint)


# ------------------------------------------------- TLS material as text, from sdb


#: On Salt 3006 and 3007 a minion with an sdb profile, loaded in this process beside the
#: session's loaders, leaves those without their shared loaded modules (KeyError
#: 'salt.loaded.int.module.saltutil' in every later state test): a harness limit, not
#: lxdapi's (it calls sdb.get the same on every line). These run on Salt 3008.
SDB_IN_PROCESS = salt.version.__saltstack_version__.info >= (3008,)


@pytest.fixture(scope="module")
def sdb_loaders(salt_factories, lxd, server, certs):
    """A minion with an sdb profile ``lxdenv`` (Salt's ``env`` driver: the values are the
    process's environment variables, here the trusted pair's PEM text) and a remote whose
    cert and key are sdb URIs (Salt resolves those in its config when it loads it)."""
    cert, key = certs["trusted"]
    saved = {name: os.environ.get(name) for name in ("LXDAPI_TEST_CERT", "LXDAPI_TEST_KEY")}
    for name, path in (("LXDAPI_TEST_CERT", cert), ("LXDAPI_TEST_KEY", key)):
        with open(path) as fh:
            os.environ[name] = fh.read()
    config = {
        "endpoint": lxd.socket,
        "remotes": {
            "lab-sdb": {
                "endpoint": server.url,
                "cert": "sdb://lxdenv/LXDAPI_TEST_CERT",
                "key": "sdb://lxdenv/LXDAPI_TEST_KEY",
                "server_cert": server.server_cert,
            }
        },
    }
    try:
        loaders = minion_loaders(
            salt_factories, "lxdapi-remote-sdb", config, lxdenv={"driver": "env"}
        )
        yield loaders
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    shutil.rmtree(loaders.opts["root_dir"], ignore_errors=True)


def private_files(loaders):
    folder = os.path.join(loaders.opts["cachedir"], "lxdapi")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.mark.skipif(
    not SDB_IN_PROCESS,
    reason="Salt 3006/3007: an in-process sdb minion breaks the session's loaders",
)
def test_cert_and_key_as_pem_text_from_sdb(sdb_loaders, server, monkeypatch, caplog):
    key_pem = os.environ["LXDAPI_TEST_KEY"]
    monkeypatch.setenv("DEBUG", "1")  # the debug dump on: still no secret in the log
    sdb_loaders.context.clear()
    before = private_files(sdb_loaders)
    with caplog.at_level(logging.DEBUG):
        # The remote's sdb URIs (resolved by Salt in its config), then sdb URIs given
        # as arguments (resolved by lxdapi): PEM text either way.
        assert sdb_loaders.modules.lxdapi.info(remote="lab-sdb")["auth"] == "trusted"
        uris = dict(
            cert="sdb://lxdenv/LXDAPI_TEST_CERT",
            key="sdb://lxdenv/LXDAPI_TEST_KEY",
            server_cert=server.server_cert,
        )
        assert sdb_loaders.modules.lxdapi.info(endpoint=server.url, **uris)["auth"] == ("trusted")
    made = [f for f in private_files(sdb_loaders) if f not in before]
    assert len(made) == 2  # cert and key: both calls resolve to the same settings, one API
    folder = os.path.join(sdb_loaders.opts["cachedir"], "lxdapi")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for name in made:
        assert stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode) == 0o600
    body = key_pem.strip().splitlines()[1]
    assert all(body not in r.getMessage() for r in caplog.records)
    assert any("GET" in r.getMessage() for r in caplog.records)  # the dump did run
    # The run's APIs closed, the files go with them (and when one is garbage-collected,
    # or at exit: a weakref finalizer; gc.collect() is not called here, as on Salt 3006
    # it also runs Salt's own stale loaders' cleanup, which drops the shared modules).
    apis = [v for k, v in sdb_loaders.context.items() if k.startswith("lxdapi.api.")]
    assert apis
    for api in apis:
        api.close()
    sdb_loaders.context.clear()
    assert [f for f in private_files(sdb_loaders) if f in made] == []


@pytest.mark.skipif(
    not SDB_IN_PROCESS,
    reason="Salt 3006/3007: an in-process sdb minion breaks the session's loaders",
)
def test_an_sdb_secret_without_a_value_is_named(sdb_loaders, server):
    sdb_loaders.context.clear()
    with pytest.raises(SaltInvocationError, match="cert sdb://lxdenv/LXDAPI_NO_SUCH has no"):
        sdb_loaders.modules.lxdapi.info(
            endpoint=server.url, cert="sdb://lxdenv/LXDAPI_NO_SUCH", key="/nonexistent"
        )


def test_a_key_that_is_neither_a_path_nor_pem_is_not_shown(modules, server, certs):
    cert, _ = certs["trusted"]
    secretish = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nnot-a-pem"
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.info(endpoint=server.url, cert=cert, key=secretish)
    assert "client key file (not a path, nor PEM text) does not exist" in str(info.value)
    assert "MIIEvQ" not in str(info.value)


# ------------------------------------------------------------ client certificates


def test_client_certificate_create_writes_a_private_key(modules, certs, unique_name, caplog):
    prefix = os.path.join(certs["folder"], unique_name)
    with caplog.at_level(logging.DEBUG):
        made = modules.lxdapi.client_certificate_create(path_prefix=prefix, common_name="minion-x")
    assert made["created"] is True
    assert made["cert"] == prefix + ".crt" and made["key"] == prefix + ".key"
    assert stat.S_IMODE(os.stat(made["key"]).st_mode) == 0o600
    with open(made["key"]) as fh:
        key_text = fh.read()
    assert "PRIVATE KEY" in key_text
    assert key_text not in repr(made) and "PRIVATE KEY" not in repr(made)
    assert not any("PRIVATE KEY" in r.getMessage() for r in caplog.records)
    assert made["fingerprint"] == core.certificate_fingerprint(made["cert"])
    assert made["certificate"].startswith("-----BEGIN CERTIFICATE-----")

    again = modules.lxdapi.client_certificate_create(path_prefix=prefix)
    assert again["created"] is False and again["fingerprint"] == made["fingerprint"]
    renewed = modules.lxdapi.client_certificate_create(path_prefix=prefix, overwrite=True)
    assert renewed["created"] is True and renewed["fingerprint"] != made["fingerprint"]
    assert stat.S_IMODE(os.stat(prefix + ".key").st_mode) == 0o600


def test_client_certificate_create_with_openssl(certs, unique_name, monkeypatch):
    # Without the cryptography package the openssl command makes the pair.
    def no_cryptography(*args):
        raise ImportError("cryptography")

    monkeypatch.setattr(lxdapi_trust, "_client_certificate_cryptography", no_cryptography)
    prefix = os.path.join(certs["folder"], unique_name)
    made = lxdapi_trust.create_client_certificate(prefix + ".crt", prefix + ".key", "minion-y")
    assert made["created"] is True
    assert stat.S_IMODE(os.stat(prefix + ".key").st_mode) == 0o600
    assert made["fingerprint"] == core.certificate_fingerprint(prefix + ".crt")


def test_client_certificate_create_refuses_half_a_pair(modules, certs, unique_name):
    prefix = os.path.join(certs["folder"], unique_name)
    open(prefix + ".crt", "w").close()
    with pytest.raises(SaltInvocationError, match="does not; pass overwrite=True"):
        modules.lxdapi.client_certificate_create(path_prefix=prefix)
    with pytest.raises(SaltInvocationError, match="both cert and key"):
        modules.lxdapi.client_certificate_create(cert=prefix + ".crt")


# --------------------------------------------------------------------- authenticate


def test_a_trust_password_is_refused_where_there_is_no_password_trust(
    modules, lxd, server, certs, unique_name
):
    if lxd.server != "incus":
        pytest.skip("LXD 5.0 has password trust: see the next test")
    made = modules.lxdapi.client_certificate_create(
        path_prefix=os.path.join(certs["folder"], unique_name)
    )
    conn = {"endpoint": server.url, "cert": made["cert"], "key": made["key"]}
    with pytest.raises(SaltInvocationError, match="Incus at .* has no trust password"):
        modules.lxdapi.authenticate(password="s3cret-pw", server_cert=server.server_cert, **conn)
    assert made["fingerprint"] not in trusted_fingerprints(server)
    # the token way works there, and trusts the client
    token = modules.lxdapi.certificate_token_create(unique_name, endpoint=server.socket)
    try:
        done = modules.lxdapi.authenticate(token=token, server_cert=server.server_cert, **conn)
        assert done["trusted"] is True and done["changed"] is True
        assert modules.lxdapi.info(server_cert=server.server_cert, **conn)["auth"] == "trusted"
    finally:
        forget(server, made["fingerprint"])


def test_authenticate_with_the_trust_password(modules, lxd, server, certs, unique_name):
    if lxd.server == "incus":
        pytest.skip("Incus has no trust password (core.trust_password): tokens only")
    server.lxc("config", "set", "core.trust_password", "s3cret-pw")
    made = modules.lxdapi.client_certificate_create(
        path_prefix=os.path.join(certs["folder"], unique_name)
    )
    conn = {
        "endpoint": server.url,
        "cert": made["cert"],
        "key": made["key"],
        "server_cert": server.server_cert,
    }
    try:
        with pytest.raises(CommandExecutionError, match="refused the trust password"):
            modules.lxdapi.authenticate(password="wrong", **conn)
        assert made["fingerprint"] not in trusted_fingerprints(server)

        done = modules.lxdapi.authenticate(password="s3cret-pw", name=unique_name, **conn)
        assert done == {"trusted": True, "changed": True, "fingerprint": made["fingerprint"]}
        assert trusted_fingerprints(server)[made["fingerprint"]]["name"] == unique_name
        assert modules.lxdapi.info(**conn)["auth"] == "trusted"

        again = modules.lxdapi.authenticate(password="s3cret-pw", **conn)
        assert again["changed"] is False
    finally:
        forget(server, made["fingerprint"])
        server.lxc("config", "unset", "core.trust_password")


def test_authenticate_with_a_trust_token(modules, server, certs, unique_name):
    api = server.local_api()
    assert api.has_extension("certificate_token")
    token = modules.lxdapi.certificate_token_create(unique_name, endpoint=server.socket)
    made = modules.lxdapi.client_certificate_create(
        path_prefix=os.path.join(certs["folder"], unique_name)
    )
    try:
        done = modules.lxdapi.authenticate(
            token=token,
            endpoint=server.url,
            cert=made["cert"],
            key=made["key"],
            server_cert=server.server_cert,
        )
        assert done["trusted"] is True and done["changed"] is True
        assert trusted_fingerprints(server)[made["fingerprint"]]["name"] == unique_name
    finally:
        forget(server, made["fingerprint"])


def test_authenticate_through_a_named_remote(remote_modules):
    # The remote's certificate is trusted already: nothing to do, nothing sent.
    done = remote_modules.lxdapi.authenticate("lab", token="unused")
    assert done["trusted"] is True and done["changed"] is False


def test_authenticate_bad_input(modules, server, certs):
    cert, key = certs["untrusted"]
    conn = {"endpoint": server.url, "cert": cert, "key": key, "server_cert": server.server_cert}
    with pytest.raises(SaltInvocationError, match="password or a trust token"):
        modules.lxdapi.authenticate(**conn)
    with pytest.raises(SaltInvocationError, match="password or a trust token"):
        modules.lxdapi.authenticate(password="a", token="b", **conn)
    # A socket client is trusted already: nothing to do, and no certificate to name.
    assert modules.lxdapi.authenticate(password="a", endpoint=server.socket) == {
        "trusted": True,
        "changed": False,
        "fingerprint": None,
    }
    with pytest.raises(SaltInvocationError, match="needs a client certificate"):
        modules.lxdapi.authenticate(
            password="a", endpoint=server.url, server_cert=server.server_cert
        )


def test_remote_trusted_state_with_a_token(states, server, certs, unique_name, request_log):
    made = client_pair(certs["folder"], unique_name)
    fingerprint = core.certificate_fingerprint(made[0])
    conn = {
        "endpoint": server.url,
        "cert": made[0],
        "key": made[1],
        "server_cert": server.server_cert,
    }
    token = lxdapi_trust.certificate_token_create(server.local_api(), unique_name)
    request_log.clear()
    try:
        # test mode: the change predicted, the token not spent
        ret = states.lxdapi.remote_trusted(unique_name, token=token, test=True, **conn)
        assert ret.result is None, ret.comment
        assert ret.changes == {"trusted": {"old": False, "new": True}}
        assert request_log.writes == []
        assert fingerprint not in trusted_fingerprints(server)

        ret = states.lxdapi.remote_trusted(unique_name, token=token, **conn)
        assert ret.result is True, ret.comment
        assert ret.changes == {"trusted": {"old": False, "new": True}}
        assert trusted_fingerprints(server)[fingerprint]["name"] == unique_name

        request_log.clear()
        again = states.lxdapi.remote_trusted(unique_name, token=token, **conn)
        assert again.result is True and again.changes == {}, again.comment
        assert "already trusted" in again.comment
        assert request_log.writes == []
    finally:
        forget(server, fingerprint)


def test_remote_trusted_state_bad_input_and_a_spent_token(
    states, server, certs, unique_name, request_log
):
    cert, key = certs["untrusted"]
    conn = {"endpoint": server.url, "cert": cert, "key": key, "server_cert": server.server_cert}
    ret = states.lxdapi.remote_trusted(unique_name, **conn)
    assert ret.result is False and "password or a trust token" in ret.comment
    ret = states.lxdapi.remote_trusted(
        unique_name, token="x", endpoint=server.url, server_cert=server.server_cert
    )
    assert ret.result is False and "needs a client certificate" in ret.comment
    assert request_log.writes == []
    ret = states.lxdapi.remote_trusted(unique_name, token="bm90LWEtdG9rZW4=", **conn)
    assert ret.result is False, ret.comment
    assert "refused the trust token: the client stays untrusted" in ret.comment
    assert ret.changes == {}
    assert "Traceback" not in ret.comment


@pytest.mark.skipif(
    salt.version.__saltstack_version__.info < (3008,),
    reason="on Salt 3006/3007 the old lxd states are Salt's own (pylxd)",
)
def test_old_lxd_authenticate_state_with_the_trust_password(
    states, lxd, server, certs, unique_name, request_log
):
    if lxd.server == "incus":
        pytest.skip("Incus has no trust password (core.trust_password): tokens only")
    server.lxc("config", "set", "core.trust_password", "s3cret-pw")
    cert, key = client_pair(certs["folder"], unique_name)
    fingerprint = core.certificate_fingerprint(cert)
    old = dict(remote_addr=server.url, cert=cert, key=key, verify_cert=False)
    try:
        wrong = states.lxd.authenticate(unique_name, password="wrong", **old)
        assert wrong.result is False and "refused the trust password" in wrong.comment
        ret = states.lxd.authenticate(unique_name, password="s3cret-pw", **old)
        assert ret.result is True, ret.comment
        assert ret.changes == {"trusted": {"old": False, "new": True}}
        assert fingerprint in trusted_fingerprints(server)
        request_log.clear()
        again = states.lxd.authenticate(unique_name, password="s3cret-pw", **old)
        assert again.result is True and again.changes == {}, again.comment
        assert request_log.writes == []
    finally:
        forget(server, fingerprint)
        server.lxc("config", "unset", "core.trust_password")


# -------------------------------------------------------- the trust store (exec)


def test_certificate_add_list_get_delete(modules, server, certs, unique_name):
    pem_path = client_pair(certs["folder"], unique_name)[0]
    fingerprint = core.certificate_fingerprint(pem_path)
    conn = {"endpoint": server.socket}
    try:
        with open(pem_path) as fh:
            pem = fh.read()
        assert modules.lxdapi.certificate_add(pem, name=unique_name, **conn) == fingerprint
        assert fingerprint in modules.lxdapi.certificate_list(**conn)
        got = modules.lxdapi.certificate_get(fingerprint[:12], **conn)
        assert got["name"] == unique_name and got["type"] == "client"
        assert modules.lxdapi.certificate_delete(unique_name, **conn) == [fingerprint]
        assert fingerprint not in trusted_fingerprints(server)
        assert modules.lxdapi.certificate_delete(unique_name, **conn) == []
        assert modules.lxdapi.certificate_get(fingerprint, **conn) is False
    finally:
        forget(server, fingerprint)


def test_certificate_add_refuses_what_is_not_a_certificate(modules, server):
    with pytest.raises(SaltInvocationError, match="neither a PEM certificate nor"):
        modules.lxdapi.certificate_add("not a certificate", endpoint=server.socket)
    with pytest.raises(SaltInvocationError, match="unknown certificate type 'admin'"):
        modules.lxdapi.certificate_add(server.server_cert, type="admin", endpoint=server.socket)


# ------------------------------------------------------- the trust store (states)


@pytest.fixture
def pem(certs, server, unique_name):
    """A client certificate (path, PEM text, fingerprint) not yet trusted; removed from
    the trust store at teardown."""
    path = client_pair(certs["folder"], unique_name)[0]
    with open(path) as fh:
        text = fh.read()
    fingerprint = core.certificate_fingerprint(path)
    yield path, text, fingerprint
    forget(server, fingerprint)


def test_certificate_present_adds_updates_and_is_idempotent(states, server, pem, request_log):
    path, text, fingerprint = pem
    conn = {"endpoint": server.socket}
    ret = states.lxdapi.certificate_present("web-client", certificate=text, **conn)
    assert ret.result is True, ret.comment
    assert ret.changes["certificate"]["old"] is None
    assert "added to the trust store" in ret.comment
    held_cert = trusted_fingerprints(server)[fingerprint]
    assert (held_cert["name"], held_cert["type"], held_cert["restricted"]) == (
        "web-client",
        "client",
        False,
    )

    request_log.clear()
    again = states.lxdapi.certificate_present("web-client", certificate=path, **conn)
    assert again.result is True and again.changes == {}
    assert "already trusted" in again.comment
    assert request_log.writes == []

    updated = states.lxdapi.certificate_present(
        "web-client2", certificate=path, restricted=True, projects=["default"], **conn
    )
    assert updated.result is True, updated.comment
    assert updated.changes == {
        "name": {"old": "web-client", "new": "web-client2"},
        "restricted": {"old": False, "new": True},
        "projects": {"old": [], "new": ["default"]},
    }
    held_cert = trusted_fingerprints(server)[fingerprint]
    assert (held_cert["name"], held_cert["restricted"], held_cert["projects"]) == (
        "web-client2",
        True,
        ["default"],
    )
    assert [w[0] for w in request_log.writes] == ["PATCH"]


def test_certificate_present_test_mode_writes_nothing(states, server, pem, request_log):
    path, _, fingerprint = pem
    ret = states.lxdapi.certificate_present(
        "would-be", certificate=path, endpoint=server.socket, test=True
    )
    assert ret.result is None
    assert ret.changes["certificate"]["new"]["fingerprint"] == fingerprint
    assert "Would have" in ret.comment
    assert request_log.writes == []
    assert fingerprint not in trusted_fingerprints(server)


def test_certificate_present_bad_input(states, server, pem, request_log):
    _, _, fingerprint = pem
    before = trusted_fingerprints(server)
    ret = states.lxdapi.certificate_present(
        "bad", certificate="not a certificate", endpoint=server.socket
    )
    assert ret.result is False and "neither a PEM certificate nor" in ret.comment
    ret = states.lxdapi.certificate_present(
        "bad", certificate=pem[0], type="admin", endpoint=server.socket
    )
    assert ret.result is False and "unknown certificate type 'admin'" in ret.comment
    ret = states.lxdapi.certificate_present(
        "bad",
        certificate=pem[0],
        restricted=True,
        projects=["no-such-project"],
        endpoint=server.socket,
    )
    assert ret.result is False and "no-such-project" in ret.comment, ret.comment
    assert trusted_fingerprints(server) == before
    assert fingerprint not in before


def test_certificate_absent_by_name_and_fingerprint(states, server, pem, request_log):
    path, _, fingerprint = pem
    conn = {"endpoint": server.socket}
    server.lxc("config", "trust", "add", path, "--name", "to-remove")

    predicted = states.lxdapi.certificate_absent("to-remove", test=True, **conn)
    assert predicted.result is None
    assert predicted.changes["certificate"]["old"]["fingerprint"] == fingerprint
    assert fingerprint in trusted_fingerprints(server)

    ret = states.lxdapi.certificate_absent("to-remove", **conn)
    assert ret.result is True and ret.changes["certificate"]["new"] is None
    assert fingerprint not in trusted_fingerprints(server)

    request_log.clear()
    again = states.lxdapi.certificate_absent("to-remove", **conn)
    assert again.result is True and again.changes == {} and "already absent" in again.comment
    assert request_log.writes == []

    server.lxc("config", "trust", "add", path, "--name", "by-fingerprint")
    ret = states.lxdapi.certificate_absent(fingerprint[:16], **conn)
    assert ret.result is True and ret.changes["certificate"]["old"]["name"] == "by-fingerprint"
    assert fingerprint not in trusted_fingerprints(server)


def test_certificate_absent_bad_input(states, server):
    ret = states.lxdapi.certificate_absent("x", endpoint=server.socket, colour="red")
    assert ret.result is False and "unexpected argument(s): colour" in ret.comment
