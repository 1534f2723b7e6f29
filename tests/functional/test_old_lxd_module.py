"""Salt 3007's ``lxd`` execution functions on lxdapi's core: the old signatures, and what
the old module returned for the same calls. The old module made its dicts from pylxd
objects (``{attribute: value}`` for the attributes the server sent): the same is made
here with pylxd itself, against the same daemon, and compared."""

import pytest
import salt.version
from salt.exceptions import SaltInvocationError

if salt.version.__saltstack_version__.info < (3008,):
    pytest.skip(
        "on Salt 3006/3007 the lxd module loads only with lxdapi:replace_builtin_lxd "
        "(the old lines' virtualenvs have no pylxd either)",
        allow_module_level=True,
    )

import pylxd  # noqa: E402 - the old module's library, to compare with (bench extra)


def old_dict(obj):
    """What Salt 3007's lxd module returned for a pylxd object (its _pylxd_model_to_dict),
    less pylxd's placeholders for the attributes the server did not send (bare
    ``object()`` instances, which no output can show): those are left out here."""
    return {
        k: getattr(obj, k)
        for k in obj.__attributes__
        if hasattr(obj, k) and type(getattr(obj, k)) is not object
    }


@pytest.fixture
def client(lxd):
    return pylxd.Client(endpoint=lxd.socket)


@pytest.fixture
def container(lxd, unique_name):
    lxd.lxc("init", "busybox", unique_name, "-c", "user.a=1")
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


def test_container_reads_return_what_the_old_module_did(modules, client, container):
    old = old_dict(client.instances.get(container))
    assert modules.lxd.container_get(container) == [{container: old}]
    assert old in modules.lxd.container_list()
    assert container in modules.lxd.container_list(list_names=True)
    (state,) = modules.lxd.container_state(container)
    assert state[container]["status"] == "Stopped"
    assert modules.lxd.container_config_get(container, "user.a") == "1"
    with pytest.raises(SaltInvocationError, match="Container 'no-such' not found"):
        modules.lxd.container_get("no-such")


def test_container_actions_return_the_container(modules, lxd, container):
    assert modules.lxd.container_start(container)["status"] == "Running"
    assert modules.lxd.container_freeze(container)["status"] == "Frozen"
    assert modules.lxd.container_unfreeze(container)["status"] == "Running"
    assert modules.lxd.container_restart(container)["status"] == "Running"
    # A stop is a clean shutdown unless force (the old default was a kill).
    assert modules.lxd.container_stop(container, timeout=20)["status"] == "Stopped"
    assert modules.lxd.container_config_set(container, "user.b", "2") is True
    assert modules.lxd.container_config_get(container, "user.b") == "2"
    assert modules.lxd.container_config_delete(container, "user.b") is True
    assert modules.lxd.container_config_get(container, "user.b") is None
    renamed = container[:50] + "-new"
    try:
        assert modules.lxd.container_rename(container, renamed)["name"] == renamed
        assert modules.lxd.container_delete(renamed) is True
        assert renamed not in modules.lxd.container_list(list_names=True)
    finally:
        lxd.lxc("delete", "--force", renamed, check=False)


def test_profiles_as_the_old_module_made_them(modules, client, lxd, unique_name):
    try:
        made = modules.lxd.profile_create(
            unique_name,
            config=[{"key": "boot.autostart", "value": 1}],
            description="old style",
        )
        assert made == old_dict(client.profiles.get(unique_name))
        assert made["config"] == {"boot.autostart": "1"}
        assert unique_name in modules.lxd.profile_list(list_names=True)
        assert modules.lxd.profile_delete(unique_name) is True
        with pytest.raises(SaltInvocationError, match="Profile '{}' not found".format(unique_name)):
            modules.lxd.profile_get(unique_name)
    finally:
        lxd.lxc("profile", "delete", unique_name, check=False)


def test_images_and_snapshots(modules, client, lxd, container):
    image = modules.lxd.image_get_by_alias("busybox")
    assert image["fingerprint"] == lxd.fingerprint
    assert image == old_dict(client.images.get(lxd.fingerprint))
    assert modules.lxd.image_get(lxd.fingerprint) == image
    assert "busybox" in modules.lxd.image_list(list_aliases=True)
    with pytest.raises(SaltInvocationError, match="not found"):
        modules.lxd.image_get_by_alias("no-such-alias")

    snaps = modules.lxd.snapshots_create(container, "s1")
    assert [s["name"].split("/")[-1] for s in snaps[container]] == ["s1"]
    assert modules.lxd.snapshots_get(container, "s1")["stateful"] is False
    assert modules.lxd.snapshots_delete(container, "s1") is True
    assert modules.lxd.snapshots_all(container) == {container: []}


def test_version_and_server_config(modules, lxd):
    assert modules.lxd.version() == modules.lxdapi.info()["version"]
    try:
        modules.lxd.config_set("images.remote_cache_expiry", "12")
        assert modules.lxd.config_get("images.remote_cache_expiry") == "12"
        assert modules.lxd.config_set("images.remote_cache_expiry", "12") == {}  # no write
    finally:
        lxd.lxc("config", "unset", "images.remote_cache_expiry", check=False)


def test_old_bad_values_are_refused(modules):
    with pytest.raises(SaltInvocationError, match="needs cert and key"):
        modules.lxd.container_list(remote_addr="https://127.0.0.1:1")
    with pytest.raises(SaltInvocationError, match="key: ..., value: ..."):
        modules.lxd.profile_create("x", config=[{"k": 1}])
