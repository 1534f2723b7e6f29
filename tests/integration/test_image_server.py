"""A second daemon as an image server: images and containers pulled from it over HTTPS.

The image server answers on 127.0.0.1 (a free port) with a public busybox image of its
own (another fingerprint than the session daemon's); it is stopped at the end. The
session daemon pulls from it, pinning nothing but the server's certificate.
"""

import pytest
import salt.version
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdhost
from remote_support import held, https_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def image_server(tmp_path_factory, lxd):
    """``(server, fingerprint, pem)``: a daemon of the session daemon's kind (Incus pulls
    only from Incus: it has no ``lxd`` protocol), its public image (alias ``busybox``)
    and its certificate's PEM."""
    path = str(tmp_path_factory.mktemp("served") / "served.tar.gz")
    fingerprint = lxdhost.build_busybox_image(path, description="served busybox")
    with https_server("lxdapi-imgsrv-", server=lxd.server) as server:
        server.protocol = lxd.server
        server.lxc("image", "import", path, "--alias", "busybox", "--public")
        with open(server.server_cert) as fh:
            pem = fh.read()
        yield server, fingerprint, pem


@pytest.fixture
def source(image_server):
    server, _, pem = image_server
    return {
        "server": server.url,
        "protocol": server.protocol,
        "alias": "busybox",
        "certificate": pem,
    }


@pytest.fixture
def pulled(lxd, image_server):
    """Deletes the image pulled from the server from the session daemon at teardown."""
    yield image_server[1]
    lxd.lxc("image", "delete", image_server[1], check=False)


@pytest.fixture
def container(lxd, unique_name, pulled):
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


def test_image_present_pulls_from_the_image_server(
    states, api, lxd, source, pulled, unique_name, request_log
):
    fingerprint = pulled
    assert held(api, "images/" + fingerprint) is None

    predicted = states.lxdapi.image_present(unique_name, source=source, test=True)
    assert predicted.result is None and predicted.changes["image"]["old"] is None
    assert request_log.writes == []
    assert held(api, "images/" + fingerprint) is None

    ret = states.lxdapi.image_present(unique_name, source=source)
    assert ret.result is True, ret.comment
    image = held(api, "images/" + fingerprint)
    assert image is not None
    assert image["update_source"]["server"] == source["server"]
    assert held(api, "images/aliases/" + unique_name)["target"] == fingerprint

    request_log.clear()
    again = states.lxdapi.image_present(unique_name, source=source)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []


def test_image_present_without_the_server_certificate_fails(
    states, api, source, pulled, unique_name
):
    source = dict(source)
    del source["certificate"]
    ret = states.lxdapi.image_present(unique_name, source=source)
    assert ret.result is False
    assert "certificate" in ret.comment.lower() or "x509" in ret.comment.lower()
    assert held(api, "images/" + pulled) is None
    assert held(api, "images/aliases/" + unique_name) is None


def test_container_present_pulls_its_image(states, api, lxd, image_server, container, request_log):
    server, fingerprint, pem = image_server
    pull = {
        "type": "image",
        "mode": "pull",
        "server": server.url,
        "protocol": server.protocol,
        "alias": "busybox",
        "certificate": pem,
    }
    ret = states.lxdapi.container_present(container, source=pull, status="Running")
    assert ret.result is True, ret.comment
    found = held(api, "instances/" + container)
    assert found["status"] == "Running"
    assert found["config"]["volatile.base_image"] == fingerprint

    request_log.clear()
    again = states.lxdapi.container_present(container, source=pull, status="Running")
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []


def test_exec_image_list_on_the_server_over_https(modules, image_server):
    # The image server as a remote: its public image is readable untrusted, pinned.
    server, fingerprint, _ = image_server
    images = modules.lxdapi.image_list(endpoint=server.url, server_cert=server.server_cert)
    assert fingerprint in images
    assert (
        modules.lxdapi.info(endpoint=server.url, server_cert=server.server_cert)["auth"]
        == "untrusted"
    )


# ------------------------------------------------ copies from one server to another


def test_container_copy_between_servers_and_on_one(modules, lxd, api, image_server, unique_name):
    """The HTTPS daemon is the source; the session daemon pulls from it (LXD's migration
    in pull mode, with one-time secrets: neither trusts the other)."""
    server = image_server[0]
    name = unique_name[:50]
    here = {"endpoint": server.socket}
    server.lxc("init", "busybox", name)
    server.lxc("config", "set", name, "user.origin", "image-server")
    server.lxc("snapshot", name, "s0")
    try:
        assert modules.lxdapi.container_copy(name, to={"endpoint": lxd.socket}, **here) == name
        copied = held(api, "instances/" + name)
        assert copied["config"]["user.origin"] == "image-server"
        assert copied["profiles"] == ["default"]
        assert modules.lxdapi.snapshot_list(name) == ["s0"]
        assert held(server.local_api(), "instances/" + name)["status"] == "Stopped"

        with pytest.raises(CommandExecutionError, match="already exists on .*nothing was copied"):
            modules.lxdapi.container_copy(name, to={"endpoint": lxd.socket}, **here)

        # on the same server, without the snapshots
        clone = name[:40] + "-clone"
        assert modules.lxdapi.container_copy(name, clone, instance_only=True, **here) == clone
        assert held(server.local_api(), f"instances/{clone}/snapshots") == []

        # the session daemon listens on no HTTPS address: nothing can pull from it
        with pytest.raises(SaltInvocationError, match="does not listen on HTTPS"):
            modules.lxdapi.container_copy(name, name[:40] + "-back", to={"endpoint": server.socket})
        with pytest.raises(SaltInvocationError, match="to: unknown connection setting"):
            modules.lxdapi.container_copy(name, to={"host": "x"}, **here)
        with pytest.raises(SaltInvocationError, match="needs new_name"):
            modules.lxdapi.container_copy(name, **here)
    finally:
        lxd.lxc("delete", "--force", name, check=False)
        for leftover in (name, name[:40] + "-clone", name[:40] + "-back"):
            server.lxc("delete", "--force", leftover, check=False)


# ------------------------------------------------------------ moves between servers


@pytest.fixture
def moving(lxd, image_server, unique_name):
    """A container on the HTTPS daemon (config, one snapshot), to be moved to the
    session daemon; deleted from both at teardown."""
    server = image_server[0]
    name = unique_name[:50]
    server.lxc("init", "busybox", name)
    server.lxc("config", "set", name, "user.origin", "image-server")
    server.lxc("snapshot", name, "s0")
    yield server, name
    lxd.lxc("delete", "--force", name, check=False)
    server.lxc("delete", "--force", name, check=False)


def test_container_migrated_state_moves_once_then_leaves_it(states, api, lxd, moving, request_log):
    server, name = moving
    here, there = {"endpoint": server.socket}, {"endpoint": lxd.socket}
    move = {"server": {"old": server.socket, "new": lxd.socket}}

    predicted = states.lxdapi.container_migrated(name, to=there, test=True, **here)
    assert predicted.result is None, predicted.comment
    assert predicted.changes == move
    assert request_log.writes == []
    assert held(server.local_api(), "instances/" + name) is not None
    assert held(api, "instances/" + name) is None

    ret = states.lxdapi.container_migrated(name, to=there, **here)
    assert ret.result is True, ret.comment
    assert ret.changes == move
    assert ret.comment == f"Container {name} moved from {server.socket} to {lxd.socket}."
    moved = held(api, "instances/" + name)
    assert moved["config"]["user.origin"] == "image-server"
    assert moved["status"] == "Stopped"
    assert [s.split("/")[-1] for s in held(api, f"instances/{name}/snapshots")] == ["s0"]
    assert held(server.local_api(), "instances/" + name) is None

    request_log.clear()
    again = states.lxdapi.container_migrated(name, to=there, **here)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment == f"Container {name} is already on the destination."
    assert request_log.writes == []


def test_a_running_container_moves_only_with_stop_and_start(
    states, modules, api, moving, lxd, request_log
):
    server, name = moving
    here, there = {"endpoint": server.socket}, {"endpoint": lxd.socket}
    server.lxc("start", name)
    request_log.clear()
    refused = states.lxdapi.container_migrated(name, to=there, **here)
    assert refused.result is False
    assert f"is Running on {server.socket}: moving it needs stop_and_start: True" in (
        refused.comment
    )
    assert refused.changes == {} and request_log.writes == []
    assert held(server.local_api(), "instances/" + name)["status"] == "Running"

    # The execution function: stopped cleanly there, started here.
    changes = modules.lxdapi.container_migrate(name, to=there, stop_and_start=True, **here)
    assert changes == {"server": {"old": server.socket, "new": lxd.socket}}
    assert held(api, "instances/" + name)["status"] == "Running"
    assert held(server.local_api(), "instances/" + name) is None
    assert modules.lxdapi.container_migrate(name, to=there, stop_and_start=True, **here) == {}


def test_container_migrated_bad_input(states, lxd, image_server, unique_name, request_log):
    server = image_server[0]
    here, there = {"endpoint": server.socket}, {"endpoint": lxd.socket}
    ret = states.lxdapi.container_migrated(unique_name, to=there, **here)
    assert ret.result is False
    assert f"exists neither on {server.socket} nor on {lxd.socket}" in ret.comment
    ret = states.lxdapi.container_migrated(unique_name, to={"host": "x"}, **here)
    assert ret.result is False and "to: unknown connection setting(s) host" in ret.comment
    ret = states.lxdapi.container_migrated(unique_name, to=there, stop_and_start="yes", **here)
    assert ret.result is False and "stop_and_start" in ret.comment
    assert request_log.writes == []


@pytest.mark.skipif(
    salt.version.__saltstack_version__.info < (3008,),
    reason="on Salt 3006/3007 the old lxd_container states are Salt's own (pylxd)",
)
def test_old_lxd_container_migrated_on_the_move(states, api, lxd, moving, request_log):
    server, name = moving
    old = dict(
        remote_addr=lxd.socket,
        cert=None,
        key=None,
        verify_cert=False,
        src_remote_addr=server.socket,
    )
    ret = states.lxd_container.migrated(name, **old)
    assert ret.result is True, ret.comment
    assert ret.changes == {"migrated": {"old": server.socket, "new": lxd.socket}}
    assert held(api, "instances/" + name)["config"]["user.origin"] == "image-server"
    assert held(server.local_api(), "instances/" + name) is None
    request_log.clear()
    again = states.lxd_container.migrated(name, **old)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []


@pytest.mark.skipif(
    salt.version.__saltstack_version__.info < (3008,),
    reason="on Salt 3006/3007 the old lxd module is Salt's own (pylxd)",
)
def test_old_lxd_container_migrate_function(modules, api, lxd, moving, request_log):
    server, name = moving
    server.lxc("start", name)
    old = dict(remote_addr=lxd.socket, src_remote_addr=server.socket)
    with pytest.raises(SaltInvocationError, match="needs stop_and_start: True"):
        modules.lxd.container_migrate(name, **old)
    moved = modules.lxd.container_migrate(name, stop_and_start=True, **old)
    assert (moved["name"], moved["status"]) == (name, "Running")
    assert moved["config"]["user.origin"] == "image-server"
    assert held(server.local_api(), "instances/" + name) is None
    request_log.clear()
    assert modules.lxd.container_migrate(name, stop_and_start=True, **old)["name"] == name
    assert request_log.writes == []
