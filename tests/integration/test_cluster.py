"""An LXD cluster of two members on loopback (127.0.0.3 and 127.0.0.4).

The cluster starts once for the module and is stopped at the end. Placement is checked
by the instance's ``location`` as LXD reports it.
"""

import os
import shutil

import lxdhost
import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from conftest import core
from remote_support import client_pair, held

pytestmark = pytest.mark.integration

MEMBERS = (("node3", "127.0.0.3"), ("node4", "127.0.0.4"))


class Cluster:
    def __init__(self, base, members):
        self.base = base
        self.members = {m["name"]: m for m in members}
        self.first = members[0]
        self.socket = self.first["socket"]
        self.cluster_cert = os.path.join(base, "cluster.crt")

    def lxc(self, *args, check=True):
        return lxdhost.lxc(self.first["lxd_dir"], *args, check=check)

    def api(self):
        return core.API.factory(self.socket)


@pytest.fixture(scope="module")
def cluster(lxd):
    base = lxdhost.make_base_dir("lxdapi-cluster-")
    members = []
    try:
        members = lxdhost.start_cluster(base, MEMBERS)
        cluster = Cluster(base, members)
        with open(cluster.cluster_cert, "w") as fh:
            fh.write(lxdhost.server_certificate(cluster.first["lxd_dir"]))
        cluster.lxc("image", "import", lxd.image_path, "--alias", "busybox")
        yield cluster
    finally:
        lxdhost.stop_cluster(members)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def conn(cluster):
    return {"endpoint": cluster.socket}


@pytest.fixture
def container(cluster, unique_name):
    """A name for this test's container; deleted at teardown."""
    yield unique_name
    cluster.lxc("delete", "--force", unique_name, check=False)


def location(cluster, name):
    found = held(cluster.api(), "instances/" + name)
    return found and found.get("location")


# ------------------------------------------------------------------- members


def test_cluster_members_lists_both_online(modules, cluster, conn):
    members = {m["server_name"]: m for m in modules.lxdapi.cluster_members(**conn)}
    assert sorted(members) == ["node3", "node4"]
    assert all(m["status"] == "Online" for m in members.values())
    assert "database-leader" in members["node3"]["roles"]
    assert members["node4"]["url"] == "https://" + cluster.members["node4"]["address"]


def test_cluster_member_get(modules, cluster, conn):
    node4 = modules.lxdapi.cluster_member_get("node4", **conn)
    assert node4["server_name"] == "node4" and node4["status"] == "Online"
    assert modules.lxdapi.cluster_member_get("node9", **conn) is False


def test_a_server_that_is_not_clustered_says_so(modules, lxd):
    with pytest.raises(CommandExecutionError, match="is not clustered"):
        modules.lxdapi.cluster_members(endpoint=lxd.socket)


def test_members_over_https_with_the_pinned_cluster_certificate(modules, cluster,
                                                                tmp_path):
    # Each member answers with the cluster certificate, which names neither 127.0.0.3
    # nor 127.0.0.4: pinning it works, checking host names against it does not.
    cert, key = client_pair(str(tmp_path), "cluster-client")
    cluster.lxc("config", "trust", "add", cert, "--name", "cluster-client")
    fingerprint = core.certificate_fingerprint(cert)
    try:
        for name in ("node3", "node4"):
            url = "https://" + cluster.members[name]["address"]
            members = modules.lxdapi.cluster_members(endpoint=url, cert=cert, key=key,
                                                     server_cert=cluster.cluster_cert)
            assert {m["status"] for m in members} == {"Online"}
        with pytest.raises(CommandExecutionError, match="TLS with .* failed"):
            modules.lxdapi.cluster_members(
                endpoint="https://" + cluster.members["node4"]["address"], cert=cert,
                key=key, verify=cluster.cluster_cert)
    finally:
        cluster.lxc("config", "trust", "remove", fingerprint, check=False)


# ----------------------------------------------------------------- placement


def test_container_present_places_it_on_the_target(states, cluster, conn, container,
                                                   request_log):
    predicted = states.lxdapi.container_present(container, source="busybox",
                                                target="node4", test=True, **conn)
    assert predicted.result is None
    assert predicted.changes["instance"]["new"]["target"] == "node4"
    assert request_log.writes == []
    assert location(cluster, container) is None

    ret = states.lxdapi.container_present(container, source="busybox", target="node4",
                                          **conn)
    assert ret.result is True, ret.comment
    assert location(cluster, container) == "node4"
    assert any("target=node4" in url for method, url, _ in request_log.writes
               if method == "POST")

    request_log.clear()
    again = states.lxdapi.container_present(container, source="busybox", target="node4",
                                            **conn)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []


def test_container_on_another_member_is_reported_not_moved(states, cluster, conn,
                                                           container, request_log):
    cluster.lxc("init", "busybox", container, "--target", "node4")
    ret = states.lxdapi.container_present(container, source="busybox", target="node3",
                                          **conn)
    assert ret.result is True and ret.changes == {}
    assert "on cluster member node4, not node3" in ret.comment
    assert "migrate: True" in ret.comment
    assert request_log.writes == []
    assert location(cluster, container) == "node4"


def test_migrate_moves_a_stopped_container(states, cluster, conn, container, request_log):
    cluster.lxc("init", "busybox", container, "--target", "node4")
    predicted = states.lxdapi.container_present(container, target="node3", migrate=True,
                                                test=True, **conn)
    assert predicted.result is None
    assert predicted.changes == {"location": {"old": "node4", "new": "node3"}}
    assert request_log.writes == []
    assert location(cluster, container) == "node4"

    ret = states.lxdapi.container_present(container, target="node3", migrate=True, **conn)
    assert ret.result is True, ret.comment
    assert ret.changes == {"location": {"old": "node4", "new": "node3"}}
    assert location(cluster, container) == "node3"

    request_log.clear()
    again = states.lxdapi.container_present(container, target="node3", migrate=True,
                                            **conn)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []


def test_migrate_refuses_a_running_container_unless_declared_stopped(
        states, cluster, conn, container):
    cluster.lxc("launch", "busybox", container, "--target", "node4")
    ret = states.lxdapi.container_present(container, target="node3", migrate=True,
                                          status="Running", **conn)
    assert ret.result is False
    assert "must be stopped to move to node3" in ret.comment
    found = held(cluster.api(), "instances/" + container)
    assert (found["location"], found["status"]) == ("node4", "Running")

    ret = states.lxdapi.container_present(container, target="node3", migrate=True,
                                          status="Stopped", **conn)
    assert ret.result is True, ret.comment
    assert ret.changes["location"] == {"old": "node4", "new": "node3"}
    assert ret.changes["status"]["new"] == "Stopped"
    found = held(cluster.api(), "instances/" + container)
    assert (found["location"], found["status"]) == ("node3", "Stopped")


def test_placement_bad_input(states, cluster, conn, container, request_log):
    ret = states.lxdapi.container_present(container, source="busybox", target="node9",
                                          **conn)
    assert ret.result is False and "node9" in ret.comment
    ret = states.lxdapi.container_present(container, source="busybox", target="node3",
                                          migrate="yes", **conn)
    assert ret.result is False and "migrate" in ret.comment
    assert location(cluster, container) is None
    assert [w for w in request_log.writes if "node9" not in w[1]] == []


def test_exec_create_with_target_and_instance_location(modules, cluster, conn, container):
    modules.lxdapi.container_create(container, source="busybox", target="node4", **conn)
    assert location(cluster, container) == "node4"
    assert modules.lxdapi.container_get(container, **conn)["location"] == "node4"


# ------------------------------------------------------- member-specific config


def test_storage_pool_per_member_config_with_target(modules, cluster, conn, request_log):
    """Each member's pool has its own ``source``; ``target`` reads and writes a member's."""
    node3 = modules.lxdapi.storage_pool_get("default", target="node3", **conn)
    node4 = modules.lxdapi.storage_pool_get("default", target="node4", **conn)
    assert cluster.members["node3"]["lxd_dir"] in node3["config"]["source"]
    assert cluster.members["node4"]["lxd_dir"] in node4["config"]["source"]
    assert "source" not in modules.lxdapi.storage_pool_get("default", **conn)["config"]

    # a targeted update compares with that member's own config: equal, so no write
    del request_log[:]
    assert modules.lxdapi.storage_pool_update(
        "default", config={"source": node4["config"]["source"]}, target="node4", **conn) == {}
    assert request_log.writes == []

    # a write carries the target: LXD judges the key as a member-specific one
    with pytest.raises(CommandExecutionError, match="cluster member specific key"):
        modules.lxdapi.storage_pool_update(
            "default", config={"rsync.bwlimit": "5MB"}, target="node4", **conn)
    assert [(m, "target=node4" in u) for m, u, _ in request_log.writes] == [("PATCH", True)]
    assert "rsync.bwlimit" not in modules.lxdapi.storage_pool_get("default", **conn)["config"]


def test_target_is_refused_where_lxd_has_no_member_config(modules, cluster, conn):
    with pytest.raises(ValueError, match="a profile takes no target"):
        core.resource_get(cluster.api(), "profile", "default", target="node3")
    with pytest.raises(SaltInvocationError, match="target must be a non-empty name"):
        modules.lxdapi.network_get("x", target="", **conn)
