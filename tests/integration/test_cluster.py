"""An LXD cluster of two members on loopback (127.0.0.3 and 127.0.0.4).

The cluster starts once for the module and is stopped at the end. Placement is checked
by the instance's ``location`` as LXD reports it.
"""

import json
import os
import shutil
import subprocess
import uuid

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi_cluster
import lxdapi_reconcile
import lxdapi_values
import lxdhost
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
        members = lxdhost.start_cluster(base, MEMBERS, server=lxd.server)
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


def test_members_over_https_with_the_pinned_cluster_certificate(modules, cluster, tmp_path):
    # Each member answers with the cluster certificate, which names neither 127.0.0.3
    # nor 127.0.0.4: pinning it works, checking host names against it does not.
    cert, key = client_pair(str(tmp_path), "cluster-client")
    cluster.lxc("config", "trust", "add", cert, "--name", "cluster-client")
    fingerprint = core.certificate_fingerprint(cert)
    try:
        for name in ("node3", "node4"):
            url = "https://" + cluster.members[name]["address"]
            members = modules.lxdapi.cluster_members(
                endpoint=url, cert=cert, key=key, server_cert=cluster.cluster_cert
            )
            assert {m["status"] for m in members} == {"Online"}
        with pytest.raises(CommandExecutionError, match="TLS with .* failed"):
            modules.lxdapi.cluster_members(
                endpoint="https://" + cluster.members["node4"]["address"],
                cert=cert,
                key=key,
                verify=cluster.cluster_cert,
            )
    finally:
        cluster.lxc("config", "trust", "remove", fingerprint, check=False)


# ----------------------------------------------------------------- placement


def test_container_present_places_it_on_the_target(states, cluster, conn, container, request_log):
    predicted = states.lxdapi.container_present(
        container, source="busybox", target="node4", test=True, **conn
    )
    assert predicted.result is None
    assert predicted.changes["instance"]["new"]["target"] == "node4"
    assert request_log.writes == []
    assert location(cluster, container) is None

    ret = states.lxdapi.container_present(container, source="busybox", target="node4", **conn)
    assert ret.result is True, ret.comment
    assert location(cluster, container) == "node4"
    assert any("target=node4" in url for method, url, _ in request_log.writes if method == "POST")

    request_log.clear()
    again = states.lxdapi.container_present(container, source="busybox", target="node4", **conn)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []


def test_container_on_another_member_is_reported_not_moved(
    states, cluster, conn, container, request_log
):
    cluster.lxc("init", "busybox", container, "--target", "node4")
    ret = states.lxdapi.container_present(container, source="busybox", target="node3", **conn)
    assert ret.result is True and ret.changes == {}
    assert "on cluster member node4, not node3" in ret.comment
    assert "migrate: True" in ret.comment
    assert request_log.writes == []
    assert location(cluster, container) == "node4"


def test_migrate_moves_a_stopped_container(states, cluster, conn, container, request_log):
    cluster.lxc("init", "busybox", container, "--target", "node4")
    predicted = states.lxdapi.container_present(
        container, target="node3", migrate=True, test=True, **conn
    )
    assert predicted.result is None
    assert predicted.changes == {"location": {"old": "node4", "new": "node3"}}
    assert request_log.writes == []
    assert location(cluster, container) == "node4"

    ret = states.lxdapi.container_present(container, target="node3", migrate=True, **conn)
    assert ret.result is True, ret.comment
    assert ret.changes == {"location": {"old": "node4", "new": "node3"}}
    assert location(cluster, container) == "node3"

    request_log.clear()
    again = states.lxdapi.container_present(container, target="node3", migrate=True, **conn)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []


def test_migrate_refuses_a_running_container_unless_declared_stopped(
    states, cluster, conn, container
):
    cluster.lxc("launch", "busybox", container, "--target", "node4")
    ret = states.lxdapi.container_present(
        container, target="node3", migrate=True, status="Running", **conn
    )
    assert ret.result is False
    assert "must be stopped to move to node3" in ret.comment
    found = held(cluster.api(), "instances/" + container)
    assert (found["location"], found["status"]) == ("node4", "Running")

    ret = states.lxdapi.container_present(
        container, target="node3", migrate=True, status="Stopped", **conn
    )
    assert ret.result is True, ret.comment
    assert ret.changes["location"] == {"old": "node4", "new": "node3"}
    assert ret.changes["status"]["new"] == "Stopped"
    found = held(cluster.api(), "instances/" + container)
    assert (found["location"], found["status"]) == ("node3", "Stopped")


def test_placement_bad_input(states, cluster, conn, container, request_log):
    ret = states.lxdapi.container_present(container, source="busybox", target="node9", **conn)
    assert ret.result is False and "node9" in ret.comment
    ret = states.lxdapi.container_present(
        container, source="busybox", target="node3", migrate="yes", **conn
    )
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
    assert (
        modules.lxdapi.storage_pool_update(
            "default", config={"source": node4["config"]["source"]}, target="node4", **conn
        )
        == {}
    )
    assert request_log.writes == []

    # a write carries the target: LXD judges the key as a member-specific one
    with pytest.raises(CommandExecutionError, match="cluster member specific key"):
        modules.lxdapi.storage_pool_update(
            "default", config={"rsync.bwlimit": "5MB"}, target="node4", **conn
        )
    assert [(m, "target=node4" in u) for m, u, _ in request_log.writes] == [("PATCH", True)]
    assert "rsync.bwlimit" not in modules.lxdapi.storage_pool_get("default", **conn)["config"]


def test_target_is_refused_where_lxd_has_no_member_config(modules, cluster, conn):
    with pytest.raises(ValueError, match="a profile takes no target"):
        lxdapi_reconcile.resource_get(cluster.api(), "profile", "default", target="node3")
    with pytest.raises(SaltInvocationError, match="target must be a non-empty name"):
        modules.lxdapi.network_get("x", target="", **conn)


# ------------------------------------------- networks and pools created on every member
#
# On a cluster LXD creates a network or pool in two steps: a pending entry on each member
# (POST ?target=MEMBER, member-specific keys only), then the POST that creates it
# everywhere. Bridges cannot be tested here: both members share one kernel, so the second
# member finds the first one's bridge interface. macvlan networks create no interface,
# only check that their parent exists, which a veth pair gives.


def _short_name(prefix):
    return prefix + uuid.uuid4().hex[:8]


@pytest.fixture
def parents():
    """Two host interfaces (veth pairs, no traffic) to serve as macvlan parents."""
    names = [_short_name("lxv") for _ in range(2)]
    for name in names:
        subprocess.run(
            ["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"], check=True
        )
    yield names
    for name in names:
        subprocess.run(["ip", "link", "del", name], check=False)


@pytest.fixture
def network(cluster):
    name = _short_name("mv")
    yield name
    cluster.lxc("network", "delete", name, check=False)


@pytest.fixture
def pool(cluster):
    name = _short_name("pool")
    sources = {m: os.path.join(cluster.base, f"{name}-{m}") for m in cluster.members}
    for path in sources.values():
        os.makedirs(path)  # a dir pool's source must exist
    yield name, sources
    cluster.lxc("storage", "delete", name, check=False)


def _member_view(cluster, kind, name, member):
    return held(cluster.api(), f"{kind}/{name}", target=member)


def test_storage_pool_present_creates_on_every_member_with_its_own_source(
    states, cluster, conn, pool, request_log
):
    name, sources = pool
    member_config = {m: {"source": path} for m, path in sources.items()}
    declared = dict(
        driver="dir",
        description="two sources",
        config={"rsync.bwlimit": "5MB"},
        member_config=member_config,
        **conn,
    )

    predicted = states.lxdapi.storage_pool_present(name, test=True, **declared)
    assert predicted.result is None, predicted.comment
    assert predicted.changes["member_config"]["new"] == member_config
    assert request_log.writes == []
    assert held(cluster.api(), "storage-pools/" + name) is None

    ret = states.lxdapi.storage_pool_present(name, **declared)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Storage pool {name!r} created."
    # a pending POST per member, the final POST, then the description LXD's final POST drops
    assert [(m, u.split("?")[-1] if "?" in u else "") for m, u, _ in request_log.writes] == [
        ("POST", "target=node3"),
        ("POST", "target=node4"),
        ("POST", ""),
        ("PATCH", ""),
    ]
    whole = held(cluster.api(), "storage-pools/" + name)
    assert (whole["status"], whole["description"]) == ("Created", "two sources")
    assert whole["config"] == {"rsync.bwlimit": "5MB"}
    for member, path in sources.items():
        assert _member_view(cluster, "storage-pools", name, member)["config"]["source"] == path

    request_log.clear()
    again = states.lxdapi.storage_pool_present(name, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []

    # a member's source can only be set at creation: reported, never written
    moved = dict(member_config, node4={"source": sources["node4"] + "-elsewhere"})
    ret = states.lxdapi.storage_pool_present(name, **dict(declared, member_config=moved))
    assert ret.result is True and ret.changes == {}
    assert "on node4" in ret.comment and "can only be set at creation" in ret.comment
    assert request_log.writes == []
    assert (
        _member_view(cluster, "storage-pools", name, "node4")["config"]["source"]
        == sources["node4"]
    )

    gone = states.lxdapi.storage_pool_absent(name, **conn)
    assert gone.result is True and gone.changes
    assert held(cluster.api(), "storage-pools/" + name) is None


def test_network_present_sets_each_members_parent(
    states, cluster, conn, network, parents, request_log
):
    first, second = parents
    declared = dict(
        type="macvlan", config={"parent": first, "mtu": "1400"}, description="lan", **conn
    )
    ret = states.lxdapi.network_present(network, **declared)
    assert ret.result is True, ret.comment
    assert ret.changes["config"]["new"] == {"mtu": "1400"}  # the global keys
    assert ret.changes["member_config"]["new"] == {
        "node3": {"parent": first},
        "node4": {"parent": first},
    }
    whole = held(cluster.api(), "networks/" + network)
    assert (whole["status"], whole["description"], whole["config"]) == (
        "Created",
        "lan",
        {"mtu": "1400"},
    )
    for member in cluster.members:
        assert _member_view(cluster, "networks", network, member)["config"]["parent"] == first

    request_log.clear()
    again = states.lxdapi.network_present(network, **declared)
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []

    # node4 gets its own parent: one targeted PATCH (with If-Match), node3 untouched
    on_node4 = dict(declared, member_config={"node4": {"parent": second}})
    predicted = states.lxdapi.network_present(network, test=True, **on_node4)
    assert predicted.result is None
    assert predicted.changes == {
        "member_config": {"old": {"node4": {"parent": first}}, "new": {"node4": {"parent": second}}}
    }
    assert request_log.writes == []
    plan = lxdapi_reconcile.plan_resource_present(
        cluster.api(),
        "network",
        network,
        {"config": {"parent": first}},
        member_config={"node4": {"parent": second}},
    )
    assert [(w.method, w.url.endswith("?target=node4"), bool(w.etag)) for w in plan.writes] == [
        ("PATCH", True, True)
    ]

    ret = states.lxdapi.network_present(network, **on_node4)
    assert ret.result is True and ret.changes == predicted.changes, ret.comment
    assert [(m, u.endswith("target=node4")) for m, u, _ in request_log.writes] == [("PATCH", True)]
    assert _member_view(cluster, "networks", network, "node4")["config"]["parent"] == second
    assert _member_view(cluster, "networks", network, "node3")["config"]["parent"] == first
    whole = held(cluster.api(), "networks/" + network)  # the rest kept
    assert (whole["description"], whole["config"]) == ("lan", {"mtu": "1400"})

    request_log.clear()
    assert states.lxdapi.network_present(network, **on_node4).changes == {}
    assert request_log.writes == []


def test_a_creation_that_failed_half_way_is_finished_on_the_next_run(
    states, cluster, conn, network, parents
):
    declared = dict(type="macvlan", config={"mtu": "1400"}, description="lan", **conn)
    failed = states.lxdapi.network_present(
        network,
        member_config={"node3": {"parent": "lxnosuch0"}, "node4": {"parent": parents[0]}},
        **declared,
    )
    assert failed.result is False
    assert 'Parent interface "lxnosuch0" not found' in failed.comment
    assert held(cluster.api(), "networks/" + network)["status"] == "Errored"

    fixed = dict(
        declared, member_config={"node3": {"parent": parents[0]}, "node4": {"parent": parents[0]}}
    )
    ret = states.lxdapi.network_present(network, **fixed)
    assert ret.result is True, ret.comment
    assert ret.changes["status"] == {"old": "Errored", "new": "Created"}
    assert ret.changes["member_config"]["new"] == {"node3": {"parent": parents[0]}}
    assert "was Errored on the cluster" in ret.comment
    whole = held(cluster.api(), "networks/" + network)
    assert (whole["status"], whole["description"], whole["config"]) == (
        "Created",
        "lan",
        {"mtu": "1400"},
    )
    assert _member_view(cluster, "networks", network, "node3")["config"]["parent"] == parents[0]

    assert states.lxdapi.network_present(network, **fixed).changes == {}


def test_a_pool_pending_on_some_members_is_finished(states, cluster, conn, pool):
    name, sources = pool
    cluster.lxc("storage", "create", name, "dir", "source=" + sources["node3"], "--target", "node3")
    assert held(cluster.api(), "storage-pools/" + name)["status"] == "Pending"
    ret = states.lxdapi.storage_pool_present(
        name, driver="dir", member_config={m: {"source": p} for m, p in sources.items()}, **conn
    )
    assert ret.result is True, ret.comment
    assert ret.changes["status"] == {"old": "Pending", "new": "Created"}
    assert held(cluster.api(), "storage-pools/" + name)["status"] == "Created"
    assert (
        _member_view(cluster, "storage-pools", name, "node4")["config"]["source"]
        == sources["node4"]
    )


def test_member_config_from_the_execution_module(modules, cluster, conn, network, parents):
    first, second = parents
    made = modules.lxdapi.network_create(
        network,
        type="macvlan",
        member_config={"node3": {"parent": first}, "node4": {"parent": second}},
        **conn,
    )
    assert made["status"] == "Created"
    assert modules.lxdapi.network_get(network, target="node4", **conn)["config"]["parent"] == second
    changes = modules.lxdapi.network_update(
        network, member_config={"node4": {"parent": first}}, **conn
    )
    assert changes == {
        "member_config": {"old": {"node4": {"parent": second}}, "new": {"node4": {"parent": first}}}
    }
    assert modules.lxdapi.network_get(network, target="node4", **conn)["config"]["parent"] == first
    assert (
        modules.lxdapi.network_update(network, member_config={"node4": {"parent": first}}, **conn)
        == {}
    )


@pytest.mark.parametrize(
    "member_config, expected",
    [
        ({"node3": {"mtu": "1400"}}, "member_config of node3: mtu is not member-specific"),
        ({"node9": {"parent": "eth0"}}, "names node9, not a member of the cluster"),
        (["node3"], "member_config must be a mapping"),
        ({"node3": "eth0"}, "member_config of node3 must be a mapping"),
    ],
)
def test_member_config_bad_input(
    states, modules, cluster, conn, network, member_config, expected, request_log
):
    ret = states.lxdapi.network_present(
        network, type="macvlan", member_config=member_config, **conn
    )
    assert ret.result is False and expected in ret.comment, ret.comment
    with pytest.raises(SaltInvocationError, match=expected):
        modules.lxdapi.network_create(network, type="macvlan", member_config=member_config, **conn)
    assert request_log.writes == []
    assert held(cluster.api(), "networks/" + network) is None


def test_member_config_needs_a_cluster_and_no_target(states, modules, lxd, cluster, conn):
    ret = states.lxdapi.storage_pool_present(
        "pool-single",
        driver="dir",
        member_config={"node3": {"source": "/srv/x"}},
        endpoint=lxd.socket,
    )
    assert ret.result is False and "is not clustered" in ret.comment
    assert held(lxd.api(), "storage-pools/pool-single") is None
    with pytest.raises(SaltInvocationError, match="not both"):
        modules.lxdapi.storage_pool_update(
            "default", target="node3", member_config={"node3": {"source": "/x"}}, **conn
        )
    with pytest.raises(ValueError, match="create it without target"):
        lxdapi_reconcile.plan_resource_present(
            cluster.api(), "network", "nosuch0", {"type": "macvlan"}, target="node3"
        )


# ------------------------------------------------------ members: settings, evacuation


@pytest.fixture
def node4_restored(cluster):
    """node4 as it was: description, failure domain, roles and config put back."""
    before = held(cluster.api(), "cluster/members/node4")
    yield
    api = cluster.api()
    if held(api, "cluster/members/node4")["status"] == "Evacuated":
        lxdapi_cluster.cluster_member_state(api, "node4", "restore")
    lxdapi_cluster.plan_cluster_member(
        api,
        "node4",
        description=before["description"],
        failure_domain=before["failure_domain"],
        roles=[r for r in before["roles"] if r in lxdapi_cluster.ASSIGNABLE_ROLES],
        config={k: before["config"].get(k, "") for k in ("scheduler.instance",)},
    ).apply(api)


def test_cluster_member_present(states, cluster, conn, node4_restored, request_log):
    declared = dict(
        description="second member",
        failure_domain="rack2",
        roles=["event-hub"],
        config={"scheduler.instance": "manual"},
        **conn,
    )
    predicted = states.lxdapi.cluster_member_present("node4", test=True, **declared)
    assert predicted.result is None
    assert predicted.changes == {
        "description": {"old": "", "new": "second member"},
        "failure_domain": {"old": "default", "new": "rack2"},
        "roles": {"old": [], "new": ["event-hub"]},
        "config": {"old": {"scheduler.instance": None}, "new": {"scheduler.instance": "manual"}},
    }
    assert request_log.writes == []

    ret = states.lxdapi.cluster_member_present("node4", **declared)
    assert ret.result is True and ret.changes == predicted.changes, ret.comment
    member = held(cluster.api(), "cluster/members/node4")
    assert (member["description"], member["failure_domain"]) == ("second member", "rack2")
    assert "event-hub" in member["roles"]
    assert any(r.startswith("database") for r in member["roles"])  # LXD's own, kept
    assert member["config"] == {"scheduler.instance": "manual"}

    request_log.clear()
    again = states.lxdapi.cluster_member_present("node4", **declared)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []

    ret = states.lxdapi.cluster_member_present("node4", roles=["database"], **conn)
    assert ret.result is False and "role(s) database cannot be assigned" in ret.comment
    ret = states.lxdapi.cluster_member_present("node9", description="x", **conn)
    assert ret.result is False and "cluster member 'node9' does not exist" in ret.comment


def test_evacuate_and_restore_a_member(modules, cluster, conn, container, node4_restored):
    cluster.lxc("launch", "busybox", container, "--target", "node4")
    assert modules.lxdapi.cluster_member_evacuate("node4", **conn) is True
    assert held(cluster.api(), "cluster/members/node4")["status"] == "Evacuated"
    moved = held(cluster.api(), "instances/" + container)
    assert (moved["location"], moved["status"]) == ("node3", "Running")
    assert modules.lxdapi.cluster_member_evacuate("node4", **conn) is False

    assert modules.lxdapi.cluster_member_restore("node4", **conn) is True
    assert held(cluster.api(), "cluster/members/node4")["status"] == "Online"
    back = held(cluster.api(), "instances/" + container)
    assert (back["location"], back["status"]) == ("node4", "Running")
    assert modules.lxdapi.cluster_member_restore("node4", **conn) is False

    changes = modules.lxdapi.cluster_member_update("node4", description="back", **conn)
    assert changes == {"description": {"old": "", "new": "back"}}
    assert held(cluster.api(), "cluster/members/node4")["description"] == "back"
    assert modules.lxdapi.cluster_member_update("node4", description="back", **conn) == {}


# ------------------------------------------------------------------- cluster groups


@pytest.fixture
def group(cluster):
    name = _short_name("grp")
    yield name
    api = cluster.api()
    if held(api, "cluster/groups/" + name):
        lxdapi_reconcile.resource_update(api, "cluster_group", name, {"members": []})
        lxdapi_reconcile.resource_delete(api, "cluster_group", name)


def test_cluster_group_present_and_placement(
    states, modules, cluster, conn, group, container, request_log
):
    predicted = states.lxdapi.cluster_group_present(
        group, members=["node4"], description="the fourth", test=True, **conn
    )
    assert predicted.result is None
    assert predicted.changes["members"] == {"old": None, "new": ["node4"]}
    assert request_log.writes == [] and held(cluster.api(), "cluster/groups/" + group) is None

    ret = states.lxdapi.cluster_group_present(
        group, members=["node4"], description="the fourth", **conn
    )
    assert ret.result is True, ret.comment
    assert ret.comment == f"Cluster group {group!r} created."
    found = held(cluster.api(), "cluster/groups/" + group)
    assert (found["members"], found["description"]) == (["node4"], "the fourth")
    assert group in held(cluster.api(), "cluster/members/node4")["groups"]

    request_log.clear()
    again = states.lxdapi.cluster_group_present(group, members=["node4"], **conn)
    assert again.result is True and again.changes == {} and request_log.writes == []

    # placement on the group
    modules.lxdapi.container_create(container, source="busybox", target="@" + group, **conn)
    assert location(cluster, container) == "node4"

    ret = states.lxdapi.cluster_group_present(group, members=["node3", "node4"], **conn)
    assert ret.changes == {"members": {"old": ["node4"], "new": ["node3", "node4"]}}
    assert sorted(held(cluster.api(), "cluster/groups/" + group)["members"]) == ["node3", "node4"]
    assert held(cluster.api(), "cluster/groups/" + group)["description"] == "the fourth"

    refused = states.lxdapi.cluster_group_absent(group, **conn)
    assert refused.result is False  # LXD keeps a group that has members
    assert held(cluster.api(), "cluster/groups/" + group) is not None
    assert modules.lxdapi.cluster_group_update(group, members=[], **conn)["members"]["new"] == []
    gone = states.lxdapi.cluster_group_absent(group, **conn)
    assert gone.result is True and gone.changes, gone.comment
    assert states.lxdapi.cluster_group_absent(group, **conn).changes == {}


def test_description_and_a_members_key_change_in_one_run(
    states, cluster, conn, network, parents, request_log
):
    first, second = parents
    states.lxdapi.network_present(
        network, type="macvlan", config={"parent": first}, description="old", **conn
    )
    ret = states.lxdapi.network_present(
        network,
        type="macvlan",
        config={"parent": first},
        member_config={"node4": {"parent": second}},
        description="new",
        **conn,
    )
    assert ret.result is True, ret.comment
    assert set(ret.changes) == {"description", "member_config"}
    assert held(cluster.api(), "networks/" + network)["description"] == "new"
    assert _member_view(cluster, "networks", network, "node4")["config"]["parent"] == second
    request_log.clear()
    again = states.lxdapi.network_present(
        network,
        type="macvlan",
        config={"parent": first},
        member_config={"node4": {"parent": second}},
        description="new",
        **conn,
    )
    assert again.changes == {} and request_log.writes == []


# --------------------------------------------------------------- membership


@pytest.fixture
def newcomer(lxd, cluster):
    """``(name, socket, address)`` of a fresh daemon on 127.0.0.5 (never initialized),
    to join the cluster; stopped (and removed from the cluster) at teardown."""
    port = cluster.first["address"].rpartition(":")[2]
    base = lxdhost.make_base_dir("lxdapi-join-")
    lxd_dir = os.path.join(base, "node5")
    try:
        socket = lxdhost.start_daemon(lxd_dir, preseed=False, server=lxd.server)
        yield "node5", socket, "127.0.0.5:" + port
    finally:
        for member in json.loads(cluster.lxc("query", "/1.0/instances?recursion=1")):
            if member.get("location") == "node5":
                cluster.lxc("delete", "--force", member["name"], check=False)
        cluster.lxc("cluster", "remove", "--force", "--yes", "node5", check=False)
        lxdhost.stop_daemon(lxd_dir)
        shutil.rmtree(base, ignore_errors=True)


def members(cluster):
    return sorted(m["server_name"] for m in held(cluster.api(), "cluster/members?recursion=1"))


def test_a_new_member_joins_with_a_token_and_leaves(
    states, modules, cluster, conn, newcomer, unique_name, request_log
):
    name, socket, address = newcomer
    token = modules.lxdapi.cluster_token_create(name, **conn)
    assert lxdapi_values.token_fields(token)["server_name"] == name
    join = dict(
        token=token,
        server_address=address,
        member_config=[{"entity": "storage-pool", "name": "default", "key": "source", "value": ""}],
        endpoint=socket,
    )
    request_log.clear()
    wrong = states.lxdapi.cluster_member_joined("node6", **join)
    assert wrong.result is False and "the join token is for 'node5', not 'node6'" in wrong.comment
    predicted = states.lxdapi.cluster_member_joined(name, test=True, **join)
    assert predicted.result is None, predicted.comment
    assert predicted.changes["cluster"]["old"] is None
    assert predicted.changes["cluster"]["new"]["server_name"] == name
    assert request_log.writes == []
    assert name not in members(cluster)

    ret = states.lxdapi.cluster_member_joined(name, **join)
    assert ret.result is True, ret.comment
    assert ret.comment.startswith("Joined the cluster as node5 (through 127.0.0.")
    assert name in members(cluster)
    assert held(cluster.api(), "cluster/members/" + name)["status"] == "Online"

    request_log.clear()
    again = states.lxdapi.cluster_member_joined(name, **join)  # the token is spent now
    assert again.result is True and again.changes == {}, again.comment
    assert request_log.writes == []

    # Leaving: refused while an instance is on it, then done, then nothing to do.
    cluster.lxc("init", "busybox", unique_name, "--target", name)
    refused = states.lxdapi.cluster_member_absent(name, **conn)
    assert refused.result is False
    assert f"holds instances ({unique_name})" in refused.comment
    assert name in members(cluster)
    cluster.lxc("delete", unique_name)
    predicted = states.lxdapi.cluster_member_absent(name, test=True, **conn)
    assert predicted.result is None and predicted.changes["member"]["new"] is None
    assert name in members(cluster)
    gone = states.lxdapi.cluster_member_absent(name, **conn)
    assert gone.result is True, gone.comment
    assert name not in members(cluster)
    request_log.clear()
    again = states.lxdapi.cluster_member_absent(name, **conn)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []


def test_membership_bad_input(states, cluster, conn, newcomer, request_log):
    name, socket, address = newcomer
    cases = [
        (dict(token="not-a-token", server_address=address), "is not a token LXD issued"),
        (
            dict(token=lxdapi_values.token_text({"server_name": name}), server_address="x"),
            "server_address must be host:port",
        ),
        (
            dict(
                token=lxdapi_values.token_text({"server_name": name}),
                server_address=address,
                member_config=[{"entity": "disk", "name": "x", "key": "k", "value": ""}],
            ),
            "entity must be storage-pool or network",
        ),
        (
            dict(
                token=lxdapi_values.token_text({"server_name": name, "addresses": []}),
                server_address=address,
            ),
            "no cluster member named in the join token answers",
        ),
    ]
    for args, words in cases:
        ret = states.lxdapi.cluster_member_joined(name, endpoint=socket, **args)
        assert ret.result is False and words in ret.comment, (args, ret.comment)
        assert "Traceback" not in ret.comment
    # A member of the cluster is not joined again under another name.
    ret = states.lxdapi.cluster_member_joined(
        "node9",
        token=lxdapi_values.token_text({"server_name": "node9"}),
        server_address=address,
        **conn,
    )
    assert ret.result is False and "already a cluster member, as 'node3'" in ret.comment
    assert request_log.writes == []


def test_container_migrated_to_a_member(states, modules, cluster, conn, container, request_log):
    cluster.lxc("launch", "busybox", container, "--target", "node4")
    refused = states.lxdapi.container_migrated(container, target="node3", **conn)
    assert refused.result is False
    assert "is Running on" in refused.comment and "stop_and_start: True" in refused.comment
    assert location(cluster, container) == "node4"

    predicted = states.lxdapi.container_migrated(
        container, target="node3", stop_and_start=True, test=True, **conn
    )
    assert predicted.result is None
    assert predicted.changes == {"location": {"old": "node4", "new": "node3"}}
    assert request_log.writes == []

    ret = states.lxdapi.container_migrated(container, target="node3", stop_and_start=True, **conn)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Container {container} moved from node4 to node3."
    found = held(cluster.api(), "instances/" + container)
    assert (found["location"], found["status"]) == ("node3", "Running")

    request_log.clear()
    again = states.lxdapi.container_migrated(container, target="node3", stop_and_start=True, **conn)
    assert again.result is True and again.changes == {}
    assert again.comment == f"Container {container} is already on node3."
    assert request_log.writes == []

    # The execution function, stopped: moved back without a stop or a start.
    cluster.lxc("stop", container)
    assert modules.lxdapi.container_migrate(container, target="node4", **conn) == {
        "location": {"old": "node3", "new": "node4"}
    }
    assert location(cluster, container) == "node4"
    bad = states.lxdapi.container_migrated(container, target="node9", **conn)
    assert bad.result is False and "no cluster member 'node9'" in bad.comment
    both = states.lxdapi.container_migrated(container, target="node3", to=conn, **conn)
    assert both.result is False and "one of them" in both.comment
