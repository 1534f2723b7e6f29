"""The old lxd modules' argument forms read into lxdapi's (``lxdapi_compat_salt3007``): plain
values, no server. What the adapters in ``_states/lxd*.py`` and ``_modules/lxd.py`` rely on."""

import pytest

import lxdapi_compat_salt3007 as compat
import lxdapi_trust
from conftest import core


@pytest.mark.parametrize(
    "version, replace, loads",
    [
        ((3008, 0), False, True),
        ((3009, 1), False, True),
        ((3007, 8), False, False),
        ((3006, 16), False, False),
        ((3007, 8), True, True),
        ((3006, 16), "yes", False),  # only a real True replaces Salt's own
    ],
)
def test_loads_instead_of_builtin(version, replace, loads):
    ok, why = compat.loads_instead_of_builtin(version, replace, "lxd_container")
    assert ok is loads
    if not loads:
        assert why.startswith("lxd_container: Salt {}.{} has its own".format(*version))
        assert "lxdapi: {replace_builtin_lxd: True}" in why


def test_virtual_says_why_it_does_not_load():
    options = {"lxdapi:replace_builtin_lxd": True}
    functions = {
        "lxdapi.request": object(),
        "config.get": lambda key, default=None: options.get(key, default),
    }
    assert compat.virtual("lxd", (3007, 8), functions) == "lxd"
    assert compat.virtual("lxd", (3008, 0), {"config.get": None}) == (
        False,
        "lxd: the lxdapi execution module did not load",
    )
    options.clear()
    assert compat.virtual("lxd", (3007, 8), functions)[0] is False


def test_connection_settings():
    assert compat.connection_settings() == {}
    assert compat.connection_settings("/run/lxd.socket") == {"endpoint": "/run/lxd.socket"}
    assert compat.connection_settings("https://h:8443", "c.crt", "c.key", False) == {
        "endpoint": "https://h:8443",
        "cert": "c.crt",
        "key": "c.key",
        "verify": False,
    }
    with pytest.raises(ValueError, match="needs cert and key"):
        compat.connection_settings("https://h:8443", cert="c.crt")
    with pytest.raises(ValueError, match="remote_addr must be"):
        compat.connection_settings(8443)
    with pytest.raises(ValueError, match="verify_cert"):
        compat.connection_settings("/s", verify_cert="no")


def test_config_mapping_reads_the_old_forms():
    assert compat.config_mapping(None) == {}
    assert compat.config_mapping({"a": 1}) == {"a": 1}
    assert compat.config_mapping([{"key": "a", "value": 1}, {"key": "b", "value": "x"}]) == {
        "a": 1,
        "b": "x",
    }
    with pytest.raises(ValueError, match=r"devices as a list holds \{key: ..., value: ...\}"):
        compat.config_mapping([{"k": 1}], "devices")
    with pytest.raises(ValueError, match="must be a mapping or a list"):
        compat.config_mapping("a=1")


def test_status_and_sources():
    assert [compat.status_of(v) for v in (None, True, False)] == [None, "Running", "Stopped"]
    with pytest.raises(ValueError):
        compat.status_of("maybe")
    assert compat.old_source("busybox") == "busybox"
    assert compat.old_source({}) is None
    assert compat.old_source({"type": "none"}) is None
    assert compat.old_source({"type": "image", "alias": "b"}) == {"type": "image", "alias": "b"}
    assert compat.image_source({"type": "file", "filename": "/x.tar.gz"}) == "/x.tar.gz"
    assert compat.image_source(
        {"type": "simplestreams", "server": "https://s", "name": "debian/12"}
    ) == {"server": "https://s", "protocol": "simplestreams", "alias": "debian/12"}
    with pytest.raises(ValueError, match="type url .* not supported"):
        compat.image_source({"type": "url", "url": "https://x"})
    with pytest.raises(ValueError, match="unknown source type"):
        compat.image_source({"type": "ftp"})


def test_changes_get_the_old_names_and_a_bad_connection_fails_the_state():
    assert compat.old_changes(
        {"instance": {"old": None, "new": "x"}, "server": {"old": "a", "new": "b"}}
    ) == {"created": {"old": None, "new": "x"}, "migrated": {"old": "a", "new": "b"}}

    def never(**kwargs):
        raise AssertionError("not called for a bad connection")

    ret = compat.adapted(never, "web1", ("https://h:8443", None, None, True))
    assert ret == {
        "name": "web1",
        "result": False,
        "comment": "web1: remote_addr https://h:8443 needs cert and key",
        "changes": {},
    }


def test_destination_arguments():
    assert core.destination_arguments("rack2") == {"remote": "rack2"}
    assert core.destination_arguments({"endpoint": "/s"}) == {"endpoint": "/s"}
    with pytest.raises(ValueError, match="unknown connection setting"):
        core.destination_arguments({"host": "x"})
    with pytest.raises(ValueError, match="a remote's name or a mapping"):
        core.destination_arguments("")


def test_trust_is_refused_before_anything_is_sent():
    api = core.API(None, "http+unix://%2Fnonexistent%2Funix.socket")
    with pytest.raises(ValueError, match="one of them"):
        lxdapi_trust.plan_remote_trusted(api)
    with pytest.raises(ValueError, match="one of them"):
        lxdapi_trust.plan_remote_trusted(api, password="p", token="t")


def test_the_old_init_answers_as_a_preseed_document():
    assert compat.init_document() == {
        "config": {},
        "storage_pools": [{"name": "default", "driver": "dir", "config": {}}],
    }
    assert compat.init_document("btrfs", "pw", "127.0.0.1", None, None, 5, "fast") == {
        "config": {"core.https_address": "127.0.0.1:8443", "core.trust_password": "pw"},
        "storage_pools": [{"name": "fast", "driver": "btrfs", "config": {"size": "5GB"}}],
    }
