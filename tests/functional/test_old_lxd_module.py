"""Salt 3007's ``lxd`` execution functions on lxdapi's core: the old signatures, and what
the old module returned for the same calls. The old module made its dicts from pylxd
objects (``{attribute: value}`` for the attributes the server sent): the same is made
here with pylxd itself, against the same daemon, and compared."""

import http.server
import json
import os
import shutil
import stat
import threading

import pytest
import salt.version
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdhost

if salt.version.__saltstack_version__.info < (3008,):
    pytest.skip(
        "on Salt 3006/3007 the lxd module loads only with lxdapi:replace_builtin_lxd "
        "(the old lines' virtualenvs have no pylxd either)",
        allow_module_level=True,
    )

import pylxd  # noqa: E402 - the old module's library, to compare with (bench extra)

SECRET = "old-lxd-trust-pa55"


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
    # config_set returns the container; a key not set is an error, as the old module said
    assert modules.lxd.container_config_set(container, "user.b", "2")["config"]["user.b"] == "2"
    assert modules.lxd.container_config_get(container, "user.b") == "2"
    assert modules.lxd.container_config_delete(container, "user.b") is True
    with pytest.raises(SaltInvocationError, match="'user.b' doesn't exists"):
        modules.lxd.container_config_get(container, "user.b")
    with pytest.raises(SaltInvocationError, match="'user.b' doesn't exists"):
        modules.lxd.container_config_delete(container, "user.b")
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
        with pytest.raises(SaltInvocationError, match=f"Profile '{unique_name}' not found"):
            modules.lxd.profile_get(unique_name)
    finally:
        lxd.lxc("profile", "delete", unique_name, check=False)


def test_images_and_snapshots(modules, client, lxd, container):
    image = modules.lxd.image_get_by_alias("busybox")
    assert image["fingerprint"] == lxd.fingerprint
    assert image == old_dict(client.images.get(lxd.fingerprint))
    assert modules.lxd.image_get(lxd.fingerprint) == image
    assert "busybox" in modules.lxd.image_list(list_aliases=True)[lxd.fingerprint]
    with pytest.raises(SaltInvocationError, match="not found"):
        modules.lxd.image_get_by_alias("no-such-alias")

    assert modules.lxd.snapshots_create(container, "s1") == {"name": "s1"}
    assert modules.lxd.snapshots_all(container) == {container: [{"name": "s1"}]}
    assert modules.lxd.snapshots_get(container, "s1")["stateful"] is False
    assert modules.lxd.snapshots_delete(container, "s1") is True
    assert modules.lxd.snapshots_delete(container, "s1") is False  # the old answer
    assert modules.lxd.snapshots_all(container) == {container: []}
    named = modules.lxd.snapshots_create(container)["name"]  # the time, as the old name
    assert len(named) == 14 and named.isdigit()
    assert modules.lxd.snapshots_all(container) == {container: [{"name": named}]}


def test_version_and_server_config(modules, lxd, request_log):
    assert modules.lxd.version() == modules.lxdapi.info()["version"]
    done = ('Config value "images.remote_cache_expiry" successfully set.',)
    try:
        assert modules.lxd.config_get("images.remote_cache_expiry") == ""  # unset
        assert modules.lxd.config_set("images.remote_cache_expiry", "12") == done
        assert modules.lxd.config_get("images.remote_cache_expiry") == "12"
        assert (
            no_writes(
                request_log, lambda: modules.lxd.config_set("images.remote_cache_expiry", "12")
            )
            == done
        )
    finally:
        lxd.lxc("config", "unset", "images.remote_cache_expiry", check=False)


def test_old_bad_values_are_refused(modules):
    with pytest.raises(SaltInvocationError, match="needs cert and key"):
        modules.lxd.container_list(remote_addr="https://127.0.0.1:1")
    with pytest.raises(SaltInvocationError, match="key: ..., value: ..."):
        modules.lxd.profile_create("x", config=[{"k": 1}])


# ---------------------------------------------------------------- what the server holds


def held(lxd, url):
    """What the daemon holds at ``url`` (``/1.0/...``), read with its own client."""
    return json.loads(lxd.lxc("query", url))


def no_writes(request_log, call):
    """Run ``call()``; fail if the core sent any write meanwhile; return its result."""
    request_log.clear()
    result = call()
    assert request_log.writes == [], request_log.writes
    return result


@pytest.fixture
def images(lxd):
    """Fingerprints and aliases a test made, removed afterwards (never the session's)."""
    made = {"images": [], "aliases": []}
    yield made
    for alias in made["aliases"]:
        lxd.lxc("image", "alias", "delete", alias, check=False)
    for fingerprint in made["images"]:
        assert fingerprint != lxd.fingerprint
        lxd.lxc("image", "delete", fingerprint, check=False)


# -------------------------------------------------------------------- init, authenticate


def test_init_makes_the_pool_and_address_once(modules, lxd, unique_name, request_log):
    pool = unique_name[:40]
    port = lxdhost.free_port()
    trust = {"trust_password": SECRET} if lxd.server == "lxd" else {}
    try:
        said = modules.lxd.init(
            "dir", network_address="127.0.0.1", network_port=port, storage_pool=pool, **trust
        )
        assert said.startswith("LXD initialized: created the storage pool " + pool)
        assert held(lxd, "/1.0/storage-pools/" + pool)["driver"] == "dir"
        config = held(lxd, "/1.0")["config"]
        assert config["core.https_address"] == f"127.0.0.1:{port}"
        if trust:
            assert config["core.trust_password"] is True  # set, never shown
            assert SECRET not in said
        said = no_writes(
            request_log,
            lambda: modules.lxd.init(
                "dir", network_address="127.0.0.1", network_port=port, storage_pool=pool, **trust
            ),
        )
        assert said == "LXD is initialized already: nothing to do"
        with pytest.raises(SaltInvocationError, match="exists with the driver dir, not zfs"):
            modules.lxd.init("zfs", storage_pool=pool)
    finally:
        lxd.lxc("config", "unset", "core.https_address", check=False)
        if trust:
            lxd.lxc("config", "unset", "core.trust_password", check=False)
        lxd.lxc("storage", "delete", pool, check=False)


def test_init_gives_the_default_profile_a_root_disk_when_it_has_none(modules, lxd, unique_name):
    pool = unique_name[:40]
    root = held(lxd, "/1.0/profiles/default")["devices"]["root"]
    lxd.lxc("storage", "create", pool, "dir")
    try:
        lxd.lxc("profile", "device", "remove", "default", "root")
        said = modules.lxd.init(storage_pool=pool)
        assert f"added a root disk on {pool} to the default profile" in said
        assert held(lxd, "/1.0/profiles/default")["devices"]["root"] == {
            "type": "disk",
            "path": "/",
            "pool": pool,
        }
    finally:  # the session's default profile as it was
        if held(lxd, "/1.0/profiles/default")["devices"].get("root") != root:
            lxd.lxc("profile", "device", "remove", "default", "root", check=False)
            lxd.lxc(
                "profile",
                "device",
                "add",
                "default",
                "root",
                "disk",
                *(f"{k}={v}" for k, v in root.items() if k != "type"),
            )
        lxd.lxc("storage", "delete", pool, check=False)


@pytest.fixture(scope="module")
def other(lxd, tmp_path_factory):
    """A second daemon of the same kind answering HTTPS on 127.0.0.1, holding a private
    image (alias ``served``): ``{dir, socket, url, fingerprint}``."""
    base = lxdhost.make_base_dir("lxdapi-oldlxd-")
    lxd_dir = os.path.join(base, lxd.server)
    address = f"127.0.0.1:{lxdhost.free_port()}"
    try:
        sock = lxdhost.start_https_daemon(lxd_dir, address, server=lxd.server)
        path = str(tmp_path_factory.mktemp("served") / "served.tar.gz")
        fingerprint = lxdhost.build_busybox_image(path, description="served to lxd.*")
        lxdhost.lxc(lxd_dir, "image", "import", path, "--alias", "served")
        yield {
            "dir": lxd_dir,
            "socket": sock,
            "url": "https://" + address,
            "fingerprint": fingerprint,
        }
    finally:
        lxdhost.stop_daemon(lxd_dir)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def client_cert(tmp_path):
    cert, key = str(tmp_path / "client.crt"), str(tmp_path / "client.key")
    lxdhost.make_client_certificate(cert, key)
    return cert, key


def test_authenticate_once_then_nothing_to_send(modules, lxd, other, client_cert, request_log):
    cert, key = client_cert
    if lxd.server == "lxd":  # LXD 5.0: the trust password, as the old module knew it
        lxdhost.lxc(other["dir"], "config", "set", "core.trust_password", SECRET)
        secret = {"password": SECRET}
    else:  # Incus has no trust password: a token
        token = modules.lxdapi.certificate_token_create("old-lxd", endpoint=other["socket"])
        secret = {"password": None, "token": token}
    try:
        assert (
            modules.lxd.authenticate(other["url"], cert=cert, key=key, verify_cert=False, **secret)
            is True
        )
        trusted = json.loads(lxdhost.lxc(other["dir"], "query", "/1.0/certificates?recursion=1"))
        with open(cert) as fh:
            assert fh.read().strip() in [c["certificate"].strip() for c in trusted]
        assert (
            no_writes(
                request_log,
                lambda: modules.lxd.authenticate(
                    other["url"], cert=cert, key=key, verify_cert=False, **secret
                ),
            )
            is True
        )
    finally:
        if lxd.server == "lxd":
            lxdhost.lxc(other["dir"], "config", "unset", "core.trust_password", check=False)
    with pytest.raises(SaltInvocationError, match="needs cert and key"):
        modules.lxd.authenticate(other["url"], SECRET, None, None)


# ------------------------------------------------------------------------- containers


def test_container_create_as_the_old_module(modules, client, lxd, unique_name, request_log):
    try:
        made = modules.lxd.container_create(
            unique_name,
            "busybox",
            config=[{"key": "user.a", "value": 1}],
            devices={"data": {"type": "disk", "path": "/mnt", "source": "/tmp"}},
        )
        assert made == old_dict(client.instances.get(unique_name))
        server = held(lxd, "/1.0/instances/" + unique_name)
        assert server["status"] == "Stopped"
        assert server["config"]["user.a"] == "1"
        assert server["devices"] == {"data": {"type": "disk", "path": "/mnt", "source": "/tmp"}}
        assert server["profiles"] == ["default"]
        # The name is taken: an error, and nothing sent.
        request_log.clear()
        with pytest.raises(CommandExecutionError, match="already exists"):
            modules.lxd.container_create(unique_name, "busybox")
        assert request_log.writes == []
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)
    with pytest.raises(SaltInvocationError, match="Unknown architecture 'sparc'"):
        modules.lxd.container_create(unique_name, "busybox", architecture="sparc")
    with pytest.raises(SaltInvocationError, match="'profiles' must be formatted"):
        modules.lxd.container_create(unique_name, "busybox", profiles="default")
    with pytest.raises(SaltInvocationError, match="source must be given"):
        modules.lxd.container_create(unique_name, "busybox", devices={"d": {"path": "/mnt"}})
    assert unique_name not in modules.lxd.container_list(list_names=True)


def test_container_create_from_the_old_source_dicts(modules, lxd, unique_name):
    copy = unique_name[:50] + "-copy"
    try:
        made = modules.lxd.container_create(
            unique_name, {"type": "image", "fingerprint": lxd.fingerprint}, ephemeral=False
        )
        assert made["config"]["volatile.base_image"] == lxd.fingerprint
        modules.lxd.container_create(copy, {"type": "copy", "source": unique_name})
        assert held(lxd, "/1.0/instances/" + copy)["config"]["volatile.base_image"] == (
            lxd.fingerprint
        )
    finally:
        lxd.lxc("delete", "--force", copy, check=False)
        lxd.lxc("delete", "--force", unique_name, check=False)


def test_container_devices(modules, client, lxd, container, request_log):
    made = modules.lxd.container_device_add(container, "data", path="/mnt", source="/tmp")
    assert made == old_dict(client.instances.get(container))
    assert held(lxd, "/1.0/instances/" + container)["devices"]["data"] == {
        "type": "disk",
        "path": "/mnt",
        "source": "/tmp",
    }
    assert modules.lxd.container_device_get(container, "data")["source"] == "/tmp"
    no_writes(
        request_log,
        lambda: modules.lxd.container_device_add(container, "data", path="/mnt", source="/tmp"),
    )
    modules.lxd.container_device_add(container, "other", "none")
    assert set(held(lxd, "/1.0/instances/" + container)["devices"]) == {"data", "other"}

    assert modules.lxd.container_device_delete(container, "data") is True
    assert set(held(lxd, "/1.0/instances/" + container)["devices"]) == {"other"}
    assert held(lxd, "/1.0/instances/" + container)["config"]["user.a"] == "1"  # kept
    request_log.clear()
    with pytest.raises(SaltInvocationError, match="'data' doesn't exists"):
        modules.lxd.container_device_delete(container, "data")
    with pytest.raises(SaltInvocationError, match="'data' doesn't exists"):
        modules.lxd.container_device_get(container, "data")
    with pytest.raises(SaltInvocationError, match="source must be given as parameter"):
        modules.lxd.container_device_add(container, "data", path="/mnt")
    assert request_log.writes == []


def test_container_file_put_and_get(modules, lxd, container, tmp_path, request_log, minion_opts):
    local = tmp_path / "motd"
    local.write_text("hello\n")
    assert modules.lxd.container_file_put(container, str(local), "/tmp/motd", mode=600) is True
    got = modules.lxdapi.container_file_get(container, "/tmp/motd")
    assert (got["content"], got["mode"]) == ("hello\n", "0600")
    assert got["uid"] == os.stat(local).st_uid  # the others are the local file's
    no_writes(
        request_log,
        lambda: modules.lxd.container_file_put(container, str(local), "/tmp/motd", mode=600),
    )
    # Into a folder that has a file of that name: only with overwrite, as before.
    with pytest.raises(SaltInvocationError, match="Destination exists and overwrite is false"):
        modules.lxd.container_file_put(container, str(local), "/tmp")
    local.write_text("changed\n")
    modules.lxd.container_file_put(container, str(local), "/tmp", overwrite=True, mode=600)
    assert modules.lxdapi.container_file_get(container, "/tmp/motd")["content"] == "changed\n"

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a").write_text("a\n")
    (tree / "sub" / "b").write_text("b\n")
    with pytest.raises(SaltInvocationError, match="without recursive flag"):
        modules.lxd.container_file_put(container, str(tree), "/srv")
    modules.lxd.container_file_put(container, str(tree), "/srv/", recursive=True, overwrite=True)
    assert modules.lxdapi.container_file_get(container, "/srv/tree/sub/b")["content"] == "b\n"
    modules.lxd.container_file_put(container, str(tree), "/srv/copy", recursive=True)
    assert modules.lxdapi.container_file_get(container, "/srv/copy/a")["content"] == "a\n"
    no_writes(
        request_log,
        lambda: modules.lxd.container_file_put(
            container, str(tree), "/srv/", recursive=True, overwrite=True
        ),
    )

    # A salt:// source, fetched from the fileserver.
    tree_root = minion_opts["file_roots"]["base"][0]
    served = f"old-lxd-{container}.txt"
    with open(os.path.join(tree_root, served), "w") as fh:
        fh.write("from the fileserver\n")
    try:
        modules.lxd.container_file_put(container, "salt://" + served, "/tmp/served", saltenv="base")
    finally:
        os.remove(os.path.join(tree_root, served))
    served_in = modules.lxdapi.container_file_get(container, "/tmp/served")["content"]
    assert served_in == "from the fileserver\n"
    with pytest.raises(SaltInvocationError, match="File 'salt://no-such.txt' not found"):
        modules.lxd.container_file_put(container, "salt://no-such.txt", "/tmp/x")

    out = tmp_path / "out"
    assert modules.lxd.container_file_get(container, "/tmp/motd", str(out), mode=640) is True
    assert out.read_text() == "changed\n"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    with pytest.raises(SaltInvocationError, match="Destination exists and overwrite is false."):
        modules.lxd.container_file_get(container, "/tmp/motd", str(out))
    assert modules.lxd.container_file_get(container, "/srv/tree/a", str(out), overwrite=True)
    assert out.read_text() == "a\n"
    with pytest.raises(SaltInvocationError, match="File path must be absolute."):
        modules.lxd.container_file_get(container, "/tmp/motd", "relative/out")
    with pytest.raises(SaltInvocationError, match="not found in container"):
        modules.lxd.container_file_get(container, "/no/such", str(tmp_path / "x"))
    with pytest.raises(SaltInvocationError, match="No such file or directory"):
        modules.lxd.container_file_put(container, str(tmp_path / "missing"), "/tmp/x")
    with pytest.raises(SaltInvocationError, match="Container 'no-such' not found"):
        modules.lxd.container_file_put("no-such", str(local), "/tmp/x")


def test_container_execute_returns_what_the_old_module_did(modules, container):
    modules.lxd.container_start(container)
    assert modules.lxd.container_execute(container, ["sh", "-c", "echo hi; echo no >&2"]) == {
        "exit_code": 0,
        "stdout": "hi\n",
        "stderr": "no\n",
        "result": True,
    }
    ran = modules.lxd.container_execute(container, ["sh", "-c", "exit 3"])
    assert (ran["exit_code"], ran["result"]) == (3, False)
    with pytest.raises(SaltInvocationError, match="argv list"):
        modules.lxd.container_execute(container, "echo hi")


# --------------------------------------------------------------------------- profiles


def test_profile_config_and_devices(modules, client, lxd, unique_name, request_log):
    lxd.lxc("profile", "create", unique_name)
    try:
        made = modules.lxd.profile_config_set(unique_name, "user.a", 1)
        assert made == old_dict(client.profiles.get(unique_name))
        assert held(lxd, "/1.0/profiles/" + unique_name)["config"] == {"user.a": "1"}
        assert modules.lxd.profile_config_get(unique_name, "user.a") == "1"
        no_writes(request_log, lambda: modules.lxd.profile_config_set(unique_name, "user.a", 1))
        assert modules.lxd.profile_config_delete(unique_name, "user.a") is True
        assert held(lxd, "/1.0/profiles/" + unique_name)["config"] == {}
        request_log.clear()
        with pytest.raises(SaltInvocationError, match="'user.a' doesn't exists"):
            modules.lxd.profile_config_delete(unique_name, "user.a")
        with pytest.raises(SaltInvocationError, match="'user.a' doesn't exists"):
            modules.lxd.profile_config_get(unique_name, "user.a")
        assert request_log.writes == []

        made = modules.lxd.profile_device_set(unique_name, "data", path="/mnt", source="/tmp")
        assert made == old_dict(client.profiles.get(unique_name))
        assert modules.lxd.profile_device_set(unique_name, "other", "none")["devices"] == {
            "data": {"type": "disk", "path": "/mnt", "source": "/tmp"},
            "other": {"type": "none"},
        }
        assert held(lxd, "/1.0/profiles/" + unique_name)["devices"]["data"]["source"] == "/tmp"
        assert modules.lxd.profile_device_get(unique_name, "other") == {"type": "none"}
        no_writes(
            request_log,
            lambda: modules.lxd.profile_device_set(unique_name, "other", "none"),
        )
        assert modules.lxd.profile_device_delete(unique_name, "data") is True
        assert held(lxd, "/1.0/profiles/" + unique_name)["devices"] == {"other": {"type": "none"}}
        request_log.clear()
        with pytest.raises(SaltInvocationError, match="'data' doesn't exists"):
            modules.lxd.profile_device_delete(unique_name, "data")
        with pytest.raises(SaltInvocationError, match="path must be given as parameter"):
            modules.lxd.profile_device_set(unique_name, "data")
        with pytest.raises(SaltInvocationError, match="Profile 'no-such' not found"):
            modules.lxd.profile_config_set("no-such", "user.a", 1)
        assert request_log.writes == []
    finally:
        lxd.lxc("profile", "delete", unique_name, check=False)


# ----------------------------------------------------------------------------- images


def test_image_aliases(modules, lxd, unique_name, request_log, images):
    images["aliases"].append(unique_name)
    assert modules.lxd.image_alias_add("busybox", unique_name, "an old alias") is True
    alias = held(lxd, "/1.0/images/aliases/" + unique_name)
    assert (alias["target"], alias["description"]) == (lxd.fingerprint, "an old alias")
    assert no_writes(request_log, lambda: modules.lxd.image_alias_add("busybox", unique_name))
    assert modules.lxd.image_alias_delete(lxd.fingerprint, unique_name) is True
    assert unique_name not in json.dumps(held(lxd, "/1.0/images/aliases"))
    assert (
        no_writes(request_log, lambda: modules.lxd.image_alias_delete("busybox", unique_name))
        is False
    )
    with pytest.raises(SaltInvocationError, match="Image with fingerprint 'no-such' not found"):
        modules.lxd.image_alias_add("no-such", unique_name)


def test_image_from_file(modules, client, lxd, tmp_path, unique_name, request_log, images):
    path = str(tmp_path / "image.tar.gz")
    fingerprint = lxdhost.build_busybox_image(path, description=unique_name)
    images["images"].append(fingerprint)
    made = modules.lxd.image_from_file(path, aliases=[unique_name])
    assert made["fingerprint"] == fingerprint
    assert made == old_dict(client.images.get(fingerprint))
    assert [a["name"] for a in made["aliases"]] == [unique_name]
    assert held(lxd, "/1.0/images/aliases/" + unique_name)["target"] == fingerprint
    again = no_writes(request_log, lambda: modules.lxd.image_from_file(path, aliases=[unique_name]))
    assert again == made
    with pytest.raises(SaltInvocationError, match="not found"):
        modules.lxd.image_from_file(str(tmp_path / "missing.tar.gz"))
    with pytest.raises(SaltInvocationError, match="aliases must be a list"):
        modules.lxd.image_from_file(path, aliases=unique_name)


@pytest.fixture(scope="module")
def web(tmp_path_factory, lxd):
    """A plain HTTP server on 127.0.0.1 for the daemon to pull images from: an image
    behind LXD's (Incus's) direct URL protocol at ``/direct``, and a simple streams
    server at ``/streams`` (alias ``oldlxd/test``)."""
    folder = tmp_path_factory.mktemp("web")
    direct = str(folder / "direct.tar.gz")
    streamed = str(folder / "streamed.tar.gz")
    port = lxdhost.free_port()
    base = f"http://127.0.0.1:{port}"
    site = {
        "direct": lxdhost.build_busybox_image(direct, description="direct url"),
        "streamed": lxdhost.build_busybox_image(streamed, description="simple streams"),
        "base": base,
    }
    combined = f"{lxd.server}_combined.tar.gz"
    products = {
        "format": "products:1.0",
        "datatype": "image-downloads",
        "content_id": "images",
        "products": {
            "busybox:oldlxd:amd64:default": {
                "aliases": "oldlxd/test",
                "arch": "amd64",
                "os": "busybox",
                "release": "oldlxd",
                "release_title": "oldlxd",
                "versions": {
                    "20240101_0000": {
                        "items": {
                            combined: {
                                "ftype": combined,
                                "path": "images/streamed.tar.gz",
                                "sha256": site["streamed"],
                                "size": os.path.getsize(streamed),
                            }
                        }
                    }
                },
            }
        },
    }
    index = {
        "format": "index:1.0",
        "index": {
            "images": {
                "datatype": "image-downloads",
                "path": "streams/v1/images.json",
                "format": "products:1.0",
                "products": list(products["products"]),
            }
        },
    }
    files = {
        "/direct.tar.gz": open(direct, "rb").read(),
        "/streams/images/streamed.tar.gz": open(streamed, "rb").read(),
        "/streams/streams/v1/index.json": json.dumps(index).encode(),
        "/streams/streams/v1/images.json": json.dumps(products).encode(),
    }
    headers = {}
    for kind in ("LXD", "Incus"):
        headers[f"{kind}-Image-Hash"] = site["direct"]
        headers[f"{kind}-Image-URL"] = base + "/direct.tar.gz"

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, body):
            path = self.path.split("?")[0]
            if path == "/direct":
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path not in files:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(files[path])))
            self.end_headers()
            if body:
                self.wfile.write(files[path])

        def do_HEAD(self):  # noqa: N802 - http.server's names
            self._answer(False)

        def do_GET(self):  # noqa: N802
            self._answer(True)

        def log_message(self, *args):
            site.setdefault("log", []).append(args)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def test_image_from_url(modules, client, lxd, web, unique_name, request_log, images):
    images["images"].append(web["direct"])
    made = modules.lxd.image_from_url(web["base"] + "/direct", aliases=[unique_name], public=True)
    assert made["fingerprint"] == web["direct"]
    assert made == old_dict(client.images.get(web["direct"]))
    server = held(lxd, "/1.0/images/" + web["direct"])
    assert server["public"] is True
    assert [a["name"] for a in server["aliases"]] == [unique_name]
    # The URL names an image the server has: nothing is pulled, nothing written.
    again = no_writes(
        request_log,
        lambda: modules.lxd.image_from_url(
            web["base"] + "/direct", aliases=[unique_name], public=True
        ),
    )
    assert again == made
    assert modules.lxd.image_from_url(web["base"] + "/direct")["public"] is False
    assert held(lxd, "/1.0/images/" + web["direct"])["public"] is False
    with pytest.raises(SaltInvocationError, match="url must be an http"):
        modules.lxd.image_from_url("ftp://127.0.0.1/image")


def test_image_from_simplestreams(modules, client, lxd, web, unique_name, request_log, images):
    images["images"].append(web["streamed"])
    made = modules.lxd.image_from_simplestreams(
        web["base"] + "/streams", "oldlxd/test", aliases=[unique_name]
    )
    assert made["fingerprint"] == web["streamed"]
    assert made == old_dict(client.images.get(web["streamed"]))
    server = held(lxd, "/1.0/images/" + web["streamed"])
    assert server["update_source"]["alias"] == "oldlxd/test"
    assert server["update_source"]["protocol"] == "simplestreams"
    assert [a["name"] for a in server["aliases"]] == [unique_name]
    again = no_writes(
        request_log,
        lambda: modules.lxd.image_from_simplestreams(
            web["base"] + "/streams", "oldlxd/test", aliases=[unique_name]
        ),
    )
    assert again == made
    modules.lxd.image_from_simplestreams(web["base"] + "/streams", "oldlxd/test", public=True)
    assert held(lxd, "/1.0/images/" + web["streamed"])["public"] is True
    with pytest.raises(SaltInvocationError, match="server must be a simple streams URL"):
        modules.lxd.image_from_simplestreams("images", "oldlxd/test")


def test_image_copy_lxd(modules, client, lxd, other, client_cert, unique_name, request_log, images):
    cert, key = client_cert
    lxdhost.trust_certificate(other["dir"], cert, name="old-lxd-copy")
    images["images"].append(other["fingerprint"])
    src = ("served", other["url"], cert, key, False)
    made = modules.lxd.image_copy_lxd(*src, lxd.socket, None, None, aliases=[unique_name])
    assert made["fingerprint"] == other["fingerprint"]
    assert made == old_dict(client.images.get(other["fingerprint"]))
    server = held(lxd, "/1.0/images/" + other["fingerprint"])
    assert server["public"] is False  # as on the source
    assert [a["name"] for a in server["aliases"]] == [unique_name]
    again = no_writes(
        request_log,
        lambda: modules.lxd.image_copy_lxd(*src, lxd.socket, None, None, aliases=[unique_name]),
    )
    assert again == made
    # public: True asks for what the source's image is not: set, not pulled again.
    modules.lxd.image_copy_lxd(*src, lxd.socket, None, None, public=True)
    assert held(lxd, "/1.0/images/" + other["fingerprint"])["public"] is True
    with pytest.raises(SaltInvocationError, match="src_remote_addr must be the source's https"):
        modules.lxd.image_copy_lxd(
            "served", other["socket"], None, None, True, lxd.socket, None, None
        )
