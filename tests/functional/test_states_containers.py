"""lxdapi.container_present / absent / running / stopped / frozen against the real daemon.

Every test checks what LXD holds afterwards (read with the core's GET or ``lxc``), and
the requests the core sent (``request_log``): a second run writes nothing.
"""

import json
import shutil

import pytest

import lxdapi_instances
import lxdapi_spec
import lxdhost
from conftest import core

DEVICES = {"scratch": {"type": "disk", "source": "/tmp", "path": "/mnt/scratch"}}


def held(api, name):
    """The instance as LXD holds it, or None."""
    result = core.get_or_none(api, "instances/" + name)
    return None if result is None else result.metadata


def init_pid(lxd, name):
    return json.loads(lxd.lxc("query", f"/1.0/instances/{name}/state"))["pid"]


@pytest.fixture
def container(lxd, unique_name):
    """A name for this test's container; the container is deleted at teardown."""
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


@pytest.fixture
def shared_dir():
    """A folder containers may mount (o+x all the way up), removed at teardown."""
    path = lxdhost.make_base_dir("lxdapi-share-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def other_image(lxd, tmp_path_factory):
    """A second busybox image (another fingerprint), alias ``other-<random>``."""
    path = str(tmp_path_factory.mktemp("other") / "other.tar.gz")
    fingerprint = lxdhost.build_busybox_image(path, description="other busybox")
    alias = "other-" + fingerprint[:8]
    lxd.lxc("image", "import", path, "--alias", alias)
    yield alias, fingerprint
    lxd.lxc("image", "delete", fingerprint, check=False)


# ------------------------------------------------------------------ container_present


def test_create_with_config_devices_profiles_and_status(states, api, container, lxd):
    ret = states.lxdapi.container_present(
        name=container,
        source="busybox",
        profiles=["default"],
        config={"limits.processes": 100, "user.role": "web", "boot.autostart": False},
        devices=DEVICES,
        description="a web server",
        status="Running",
    )
    assert ret.result is True, ret.comment
    assert ret.comment.startswith(f"Container {container} created.")
    assert ret.changes["instance"]["old"] is None
    created = ret.changes["instance"]["new"]
    assert created["name"] == container
    assert created["source"] == "busybox"
    assert created["config"] == {
        "limits.processes": "100",
        "user.role": "web",
        "boot.autostart": "false",
    }
    assert ret.changes["status"] == {"old": None, "new": "Running"}

    instance = held(api, container)
    assert instance["status"] == "Running"
    assert instance["config"]["limits.processes"] == "100"
    assert instance["config"]["user.role"] == "web"
    assert instance["config"]["boot.autostart"] == "false"
    assert instance["config"]["volatile.base_image"] == lxd.fingerprint
    assert instance["devices"] == DEVICES
    assert instance["profiles"] == ["default"]
    assert instance["description"] == "a web server"


def test_second_run_writes_nothing_and_reads_the_container_once(
    states, api, container, lxd, request_log
):
    declared = dict(
        name=container,
        source=lxd.fingerprint,
        profiles=["default"],
        config={"limits.processes": 100, "user.on": True},
        devices=DEVICES,
        description="x",
        status="Running",
    )
    assert states.lxdapi.container_present(**declared).result is True

    request_log.clear()
    ret = states.lxdapi.container_present(**declared)
    assert ret.result is True, ret.comment
    assert ret.changes == {}
    assert ret.comment == f"Container {container} is already as declared."
    assert request_log.writes == []
    urls = [url for _, url, _ in request_log]
    # One GET of the container, one GET /1.0 (per run, per API): nothing else.
    assert len(urls) == 2, urls
    assert sum(u.endswith("/1.0/instances/" + container) for u in urls) == 1
    assert sum(u.endswith("/1.0") for u in urls) == 1


def test_alias_source_costs_one_alias_table_read_per_run(
    states, modules, lxd, request_log, unique_name
):
    """Two containers in one run (state.high): the alias table is read once, for both."""
    names = [unique_name + "-a", unique_name + "-b"]
    high = {
        name: {
            "lxdapi": ["container_present", {"source": "busybox"}],
            "__sls__": "t",
            "__env__": "base",
        }
        for name in names
    }
    try:
        first = modules.state.high(high)
        assert [r.result for r in first] == [True, True], first.raw
        request_log.clear()
        second = modules.state.high(high)
        assert [(r.result, r.changes) for r in second] == [(True, {}), (True, {})]
        assert request_log.writes == []
        urls = [url for _, url, _ in request_log]
        # GET /1.0 and the alias table once per run; each container read at most once
        # (its own GET, or the run's one instance listing when several states share it).
        assert sum(u.endswith("/1.0") for u in urls) == 1, urls
        assert sum("/1.0/images/aliases" in u for u in urls) == 1, urls
        assert all(sum(u.endswith("/instances/" + n) for u in urls) <= 1 for n in names)
        assert len(urls) <= 4, urls
    finally:
        for name in names:
            lxd.lxc("delete", "--force", name, check=False)


def test_values_compared_as_lxd_stores_them(states, container, request_log):
    states.lxdapi.container_present(
        name=container, source="busybox", config={"user.n": "1", "security.nesting": "true"}
    )
    request_log.clear()
    ret = states.lxdapi.container_present(
        name=container, source="busybox", config={"user.n": 1, "security.nesting": True}
    )
    assert ret.result is True and ret.changes == {}, ret.comment
    assert request_log.writes == []


def test_update_touches_declared_keys_only(states, api, container, lxd, request_log):
    states.lxdapi.container_present(
        name=container, source="busybox", config={"user.a": 1, "user.b": 2}, devices=DEVICES
    )
    lxd.lxc("config", "set", container, "user.other", "theirs")
    before = held(api, container)["config"]

    request_log.clear()
    ret = states.lxdapi.container_present(
        name=container,
        source="busybox",
        config={"user.a": 10},
        devices={"extra": {"type": "disk", "source": "/tmp", "path": "/mnt/extra"}},
        description="updated",
    )
    assert ret.result is True, ret.comment
    assert ret.comment.startswith(f"Container {container} updated.")
    assert ret.changes == {
        "config": {"old": {"user.a": "1"}, "new": {"user.a": "10"}},
        "devices": {
            "old": {"extra": None},
            "new": {"extra": {"type": "disk", "source": "/tmp", "path": "/mnt/extra"}},
        },
        "description": {"old": "", "new": "updated"},
    }
    writes = request_log.writes
    assert [w[0] for w in writes] == ["PATCH"]
    config = held(api, container)["config"]
    assert config["user.a"] == "10"
    assert config["user.b"] == "2"
    assert config["user.other"] == "theirs"
    for key, value in before.items():  # volatile.* and image.* exactly as they were
        if key.startswith(("volatile.", "image.")):
            assert config[key] == value
    assert set(held(api, container)["devices"]) == {"scratch", "extra"}


def test_purge_config_and_devices_never_touch_volatile_or_image_keys(states, api, container, lxd):
    states.lxdapi.container_present(
        name=container, source="busybox", config={"user.a": 1, "user.b": 2}, devices=DEVICES
    )
    before = held(api, container)["config"]
    ret = states.lxdapi.container_present(
        name=container,
        config={"user.a": 1, "volatile.base_image": "0" * 64},
        devices={},
        purge_config=True,
        purge_devices=True,
    )
    assert ret.result is True, ret.comment
    assert ret.changes["config"] == {"old": {"user.b": "2"}, "new": {"user.b": None}}
    assert ret.changes["devices"] == {
        "old": {"scratch": DEVICES["scratch"]},
        "new": {"scratch": None},
    }
    assert "volatile.base_image left alone" in ret.comment
    instance = held(api, container)
    assert instance["devices"] == {}
    assert instance["config"]["user.a"] == "1"
    assert "user.b" not in instance["config"]
    kept = {k: v for k, v in before.items() if k.startswith(("volatile.", "image."))}
    assert kept and {k: instance["config"].get(k) for k in kept} == kept


def test_profiles_are_an_exact_ordered_list(states, api, container, lxd, unique_name):
    profile = unique_name[:50] + "-p"
    lxd.lxc("profile", "create", profile)
    try:
        ret = states.lxdapi.container_present(
            name=container, source="busybox", profiles=["default", profile]
        )
        assert ret.result is True, ret.comment
        assert held(api, container)["profiles"] == ["default", profile]

        ret = states.lxdapi.container_present(name=container, profiles=[profile, "default"])
        assert ret.result is True, ret.comment
        assert ret.changes == {
            "profiles": {"old": ["default", profile], "new": [profile, "default"]}
        }
        assert held(api, container)["profiles"] == [profile, "default"]

        ret = states.lxdapi.container_present(name=container, profiles=["default"])
        assert ret.changes == {"profiles": {"old": [profile, "default"], "new": ["default"]}}
        assert held(api, container)["profiles"] == ["default"]
    finally:
        lxd.lxc("delete", "--force", container, check=False)
        lxd.lxc("profile", "delete", profile, check=False)


def test_test_mode_predicts_creation_and_writes_nothing(states, api, container, request_log):
    request_log.clear()
    ret = states.lxdapi.container_present(
        name=container, source="busybox", config={"user.a": 1}, status="Running", test=True
    )
    assert ret.result is None
    assert ret.comment.startswith(f"Would have: Container {container} created")
    assert ret.changes["instance"]["old"] is None
    assert ret.changes["status"] == {"old": None, "new": "Running"}
    assert request_log.writes == []
    assert held(api, container) is None

    real = states.lxdapi.container_present(
        name=container, source="busybox", config={"user.a": 1}, status="Running"
    )
    assert real.changes == ret.changes  # the same changes a real run reports


def test_test_mode_predicts_an_update_and_writes_nothing(states, api, container, request_log):
    states.lxdapi.container_present(name=container, source="busybox", config={"user.a": 1})
    request_log.clear()
    ret = states.lxdapi.container_present(
        name=container, config={"user.a": 2}, status="Running", test=True
    )
    assert ret.result is None
    assert ret.changes == {
        "config": {"old": {"user.a": "1"}, "new": {"user.a": "2"}},
        "status": {"old": "Stopped", "new": "Running"},
    }
    assert request_log.writes == []
    instance = held(api, container)
    assert instance["config"]["user.a"] == "1"
    assert instance["status"] == "Stopped"


def test_status_is_applied_after_the_config_and_reported(states, api, container, request_log):
    states.lxdapi.container_present(name=container, source="busybox")
    request_log.clear()
    ret = states.lxdapi.container_present(name=container, config={"user.a": 1}, status="running")
    assert ret.result is True, ret.comment
    assert ret.changes["status"] == {"old": "Stopped", "new": "Running"}
    assert [(m, u.rsplit("/", 1)[-1]) for m, u, _ in request_log.writes][:2] == [
        ("PATCH", container),
        ("PUT", "state"),
    ]

    for status, old in (("Frozen", "Running"), ("Running", "Frozen"), ("Stopped", "Running")):
        ret = states.lxdapi.container_present(name=container, status=status)
        assert ret.result is True, ret.comment
        assert ret.changes == {"status": {"old": old, "new": status}}
        assert held(api, container)["status"] == status
        request_log.clear()
        again = states.lxdapi.container_present(name=container, status=status)
        assert again.changes == {} and request_log.writes == []


def test_a_concurrent_writer_keeps_what_we_do_not_declare(states, api, container, lxd):
    """Another client changes the container between our GET and our PATCH: 412, then
    planned again from a fresh read: the declared key is ours, the other one theirs."""
    states.lxdapi.container_present(name=container, source="busybox", config={"user.a": 1})
    url = "/1.0/instances/" + container
    fired = []

    def second_writer(method, full_url, status):
        if method == "GET" and full_url.endswith(url) and not fired:
            fired.append(True)
            lxd.lxc("config", "set", container, "user.a=theirs", "user.b=theirs")

    core.API.observers.append(second_writer)
    try:
        ret = states.lxdapi.container_present(name=container, config={"user.a": "ours"})
    finally:
        core.API.observers.remove(second_writer)
    assert fired
    assert ret.result is True, ret.comment
    assert "changed by another client" in ret.comment
    assert ret.changes == {"config": {"old": {"user.a": "theirs"}, "new": {"user.a": "ours"}}}
    config = held(api, container)["config"]
    assert config["user.a"] == "ours" and config["user.b"] == "theirs"


def test_core_plan_refuses_a_stale_etag(api, lxd, container):
    """The plan is built, someone else writes with lxc, then the plan is applied."""
    lxd.lxc("init", "busybox", container)
    ours = lxdapi_spec.InstanceSpec(config={"user.a": "ours"})
    plan = lxdapi_instances.plan_instance_present(api, container, ours)
    assert [w.method for w in plan.writes] == ["PATCH"] and plan.writes[0].etag
    lxd.lxc("config", "set", container, "user.b", "theirs")
    refused = lxdapi_instances.plan_instance_present(
        api, container, lxdapi_spec.InstanceSpec(config={"user.c": "x"})
    )
    refused.recover = None  # a plan that may not be made again refuses the stale write
    lxd.lxc("config", "set", container, "user.b", "theirs-again")
    with pytest.raises(core.APIPreconditionFailed) as err:
        refused.apply(api)
    assert "changed by another client" in str(err.value)
    assert refused.applied_changes() == {}
    assert "user.c" not in held(api, container)["config"]
    # The instance's own plan is made again from a fresh read, once, and goes through.
    assert plan.apply(api) is True
    config = held(api, container)["config"]
    assert config["user.a"] == "ours" and config["user.b"] == "theirs-again"
    assert any("changed by another client at that moment" in note for note in plan.notes)


def test_a_different_source_is_reported_never_acted_on(
    states, api, container, lxd, other_image, request_log
):
    alias, fingerprint = other_image
    states.lxdapi.container_present(name=container, source="busybox", config={"user.a": 1})
    uuid_before = held(api, container)["config"]["volatile.uuid"]
    request_log.clear()
    ret = states.lxdapi.container_present(name=container, source=alias, config={"user.a": 1})
    assert ret.result is True, ret.comment
    assert ret.changes == {}
    assert request_log.writes == []
    assert f"was created from image {lxd.fingerprint[:12]}" in ret.comment
    assert "busybox (offline)" in ret.comment
    assert f"not from {alias} ({fingerprint[:12]})" in ret.comment
    assert "nothing is recreated" in ret.comment
    instance = held(api, container)
    assert instance["config"]["volatile.uuid"] == uuid_before
    assert instance["config"]["volatile.base_image"] == lxd.fingerprint

    # By fingerprint too, and in test mode the same note.
    ret = states.lxdapi.container_present(name=container, source=fingerprint, test=True)
    assert ret.result is True and f"not from {fingerprint}" in ret.comment


def test_restart_pending_is_said_and_done_on_request(states, api, container, lxd):
    states.lxdapi.container_present(name=container, source="busybox", status="Running")
    pid = init_pid(lxd, container)

    ret = states.lxdapi.container_present(name=container, config={"limits.kernel.nofile": 2048})
    assert ret.result is True, ret.comment
    assert "A restart is pending: limits.kernel.nofile" in ret.comment
    assert "restarted" not in ret.changes
    assert init_pid(lxd, container) == pid
    assert held(api, container)["config"]["limits.kernel.nofile"] == "2048"

    ret = states.lxdapi.container_present(
        name=container, config={"user.live": 1}, restart_on_change=True
    )
    assert ret.comment == f"Container {container} updated."
    assert "restarted" not in ret.changes
    assert init_pid(lxd, container) == pid  # a live key: no restart

    ret = states.lxdapi.container_present(
        name=container, config={"limits.kernel.nofile": 4096}, restart_on_change=True
    )
    assert ret.result is True, ret.comment
    assert ret.changes["restarted"] == {"old": False, "new": True}
    assert "Restarted to apply limits.kernel.nofile" in ret.comment
    assert held(api, container)["status"] == "Running"
    assert init_pid(lxd, container) != pid


def test_a_stopped_container_needs_no_restart_note(states, lxd, container):
    states.lxdapi.container_present(name=container, source="busybox")
    # a restart-only key, changed while the container is stopped: nothing to restart
    key = {"lxd": "security.devlxd", "incus": "security.guestapi"}[lxd.server]
    ret = states.lxdapi.container_present(
        name=container, config={key: "false"}, restart_on_change=True
    )
    assert ret.result is True
    assert ret.comment == f"Container {container} updated."
    assert "restarted" not in ret.changes


def test_a_failed_start_is_reported_with_what_was_written(states, api, container, lxd, shared_dir):
    states.lxdapi.container_present(
        name=container,
        source="busybox",
        devices={"share": {"type": "disk", "source": shared_dir, "path": "/mnt/share"}},
    )
    shutil.rmtree(shared_dir)  # the device's source is gone: LXD cannot start it

    ret = states.lxdapi.container_present(name=container, status="Running")
    assert ret.result is False
    assert ret.changes == {}
    assert container in ret.comment and "Traceback" not in ret.comment
    assert shared_dir in ret.comment or "share" in ret.comment, ret.comment
    assert held(api, container)["status"] == "Stopped"

    # The PATCH goes through, the start fails: the config change is reported, only it.
    ret = states.lxdapi.container_present(name=container, config={"user.a": 1}, status="Running")
    assert ret.result is False
    assert ret.changes == {"config": {"old": {"user.a": None}, "new": {"user.a": "1"}}}
    assert "made before the failure: config" in ret.comment
    assert held(api, container)["config"]["user.a"] == "1"


@pytest.mark.parametrize(
    "declared, problem",
    [
        ({"status": "Sleeping"}, "unknown status 'Sleeping'"),
        ({"source": "no-such-image"}, "no-such-image"),
        ({"source": {"type": "image", "alias": "no-such-image"}}, "no-such-image"),
        ({"config": {"no.such.key": 1}}, "no.such.key"),
        ({"config": {"limits.memory": "lots"}}, "lots"),
        ({"config": ["user.a"]}, "config must be a mapping"),
        ({"config": {"user.a": {"nested": 1}}}, "config values must be scalars"),
        ({"profiles": "default"}, "profiles must be a list"),
        ({"profiles": ["default", "no-such-profile"]}, "'no-such-profile' do not exist"),
        ({"devices": {"d": {"path": "/x"}}}, "device 'd' must be a mapping with a 'type'"),
        ({"devices": {"d": {"type": "no-such-type"}}}, "no-such-type"),
        ({"ephemeral": "yes"}, "ephemeral must be true or false"),
        ({"type": "jail"}, "unknown instance type 'jail'"),
        ({"source": 42}, "source must be an image alias"),
        ({"statuss": "Running"}, "unexpected argument(s): statuss"),
        ({"target": "node9"}, "Target only allowed when clustered"),
        ({"description": 5}, "description must be a string"),
    ],
)
def test_bad_input_fails_and_creates_nothing(
    states, api, container, request_log, declared, problem
):
    declared = dict({"source": "busybox"}, **declared)
    request_log.clear()
    ret = states.lxdapi.container_present(name=container, **declared)
    assert ret.result is False
    assert problem in ret.comment, ret.comment
    assert ret.changes == {}
    assert held(api, container) is None
    # Refused before any write, or (LXD's own checks) by the one POST, reverted by LXD.
    assert [m for m, _, _ in request_log.writes] in ([], ["POST"])


def test_bad_name_fails_and_sends_nothing(states, request_log):
    request_log.clear()
    ret = states.lxdapi.container_present(name="bad_name", source="busybox")
    assert ret.result is False
    assert "invalid instance name 'bad_name'" in ret.comment
    assert request_log == []


@pytest.mark.parametrize(
    "declared, problem",
    [
        ({"config": {"no.such.key": 1}, "status": "Running"}, "no.such.key"),
        ({"profiles": ["no-such-profile"]}, "'no-such-profile' do not exist"),
        ({"status": "Paused"}, "unknown status 'Paused'"),
    ],
)
def test_bad_input_leaves_an_existing_container_unchanged(
    states, api, container, declared, problem
):
    states.lxdapi.container_present(name=container, source="busybox", config={"user.a": 1})
    before = held(api, container)
    ret = states.lxdapi.container_present(name=container, **declared)
    assert ret.result is False
    assert problem in ret.comment, ret.comment
    assert ret.changes == {}
    after = held(api, container)
    assert after["config"] == before["config"]
    assert after["profiles"] == before["profiles"]
    assert after["status"] == "Stopped"


def test_creation_can_end_frozen_and_ephemeral_is_managed(states, api, container):
    ret = states.lxdapi.container_present(name=container, source="busybox", status="Frozen")
    assert ret.result is True, ret.comment
    assert ret.changes["status"] == {"old": None, "new": "Frozen"}
    assert held(api, container)["status"] == "Frozen"
    ret = states.lxdapi.container_present(name=container, ephemeral=True)
    assert ret.changes == {"ephemeral": {"old": False, "new": True}}
    assert held(api, container)["ephemeral"] is True
    states.lxdapi.container_present(name=container, ephemeral=False, status="Running")


def test_a_container_in_a_project(states, api, lxd, unique_name, request_log):
    project = unique_name[:40] + "-prj"
    lxd.lxc(
        "project", "create", project, "-c", "features.images=false", "-c", "features.profiles=false"
    )
    try:
        ret = states.lxdapi.container_present(
            name=unique_name, source="busybox", project=project, config={"user.a": 1}
        )
        assert ret.result is True, ret.comment
        in_project = core.API.factory(lxd.socket, project=project)
        assert held(in_project, unique_name)["config"]["user.a"] == "1"
        assert held(api, unique_name) is None  # not in the default project
        request_log.clear()
        ret = states.lxdapi.container_present(
            name=unique_name, source="busybox", project=project, config={"user.a": 1}
        )
        assert ret.result is True and ret.changes == {}
        assert request_log.writes == []
        ret = states.lxdapi.container_absent(name=unique_name, project=project)
        assert ret.result is True and "instance" in ret.changes
        assert held(in_project, unique_name) is None
    finally:
        lxd.lxc("delete", "--force", "--project", project, unique_name, check=False)
        lxd.lxc("project", "delete", project, check=False)


# ------------------------------------------------------------------- container_absent


def test_absent_stops_cleanly_deletes_and_reports_the_old_status(
    states, api, container, lxd, request_log
):
    lxd.lxc("launch", "busybox", container)
    request_log.clear()
    ret = states.lxdapi.container_absent(name=container, test=True)
    assert ret.result is None
    assert ret.changes["instance"] == {"old": {"name": container, "status": "Running"}, "new": None}
    assert request_log.writes == [] and held(api, container)["status"] == "Running"

    ret = states.lxdapi.container_absent(name=container)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Container {container} deleted."
    assert ret.changes == {
        "status": {"old": "Running", "new": "Stopped"},
        "instance": {"old": {"name": container, "status": "Running"}, "new": None},
    }
    stop = [w for w in request_log.writes if w[0] == "PUT"]
    assert len(stop) == 1  # a clean stop (force false), then the DELETE
    assert held(api, container) is None

    request_log.clear()
    ret = states.lxdapi.container_absent(name=container)
    assert ret.result is True and ret.changes == {}
    assert ret.comment == f"Container {container} is already absent."
    assert request_log.writes == []


def test_absent_of_a_frozen_container(states, api, container, lxd):
    lxd.lxc("launch", "busybox", container)
    lxd.lxc("pause", container)
    ret = states.lxdapi.container_absent(name=container, force=True)
    assert ret.result is True, ret.comment
    assert ret.changes["instance"]["old"]["status"] == "Frozen"
    assert held(api, container) is None


def test_absent_bad_input(states, request_log):
    request_log.clear()
    ret = states.lxdapi.container_absent(name="x", timeout="soon")
    assert ret.result is False and "timeout must be a number of seconds" in ret.comment
    assert request_log.writes == []


# ------------------------------------------------- container_running / stopped / frozen


def test_running_stopped_frozen(states, api, container, lxd, request_log):
    lxd.lxc("init", "busybox", container)
    steps = [
        ("container_running", "Running", "Stopped"),
        ("container_frozen", "Frozen", "Running"),
        ("container_running", "Running", "Frozen"),
        ("container_stopped", "Stopped", "Running"),
        ("container_frozen", "Frozen", "Stopped"),
        ("container_stopped", "Stopped", "Frozen"),
    ]
    for state, status, old in steps:
        fn = getattr(states.lxdapi, state)
        predicted = fn(name=container, test=True)
        assert predicted.result is None
        assert predicted.changes == {"status": {"old": old, "new": status}}
        assert held(api, container)["status"] == old

        ret = fn(name=container)
        assert ret.result is True, ret.comment
        assert ret.changes == {"status": {"old": old, "new": status}}
        assert ret.comment == f"Container {container} is now {status}."
        assert held(api, container)["status"] == status

        request_log.clear()
        again = fn(name=container)
        assert again.result is True and again.changes == {}
        assert again.comment == f"Container {container} is already {status}."
        assert request_log.writes == []


def test_running_with_restart_restarts(states, api, container, lxd):
    lxd.lxc("launch", "busybox", container)
    pid = init_pid(lxd, container)
    ret = states.lxdapi.container_running(name=container, restart=True)
    assert ret.result is True, ret.comment
    assert ret.changes == {"restarted": {"old": False, "new": True}}
    assert ret.comment == f"Container {container} restarted."
    assert init_pid(lxd, container) != pid


def test_status_states_on_a_missing_container_fail(states, container, request_log):
    request_log.clear()
    for state in ("container_running", "container_stopped", "container_frozen"):
        ret = getattr(states.lxdapi, state)(name=container)
        assert ret.result is False
        assert f"container {container!r} does not exist" in ret.comment
    assert request_log.writes == []


def test_a_failed_stop_is_reported(states, api, container, lxd):
    """A clean stop that LXD gives up on: init ignores the halt signal it is sent."""
    lxd.lxc("launch", "busybox", container)
    lxd.lxc("config", "set", container, "raw.lxc", "lxc.signal.halt=SIGURG")
    lxd.lxc("restart", "--force", container)
    ret = states.lxdapi.container_stopped(name=container, timeout=1)
    assert ret.result is False
    assert container in ret.comment and "Traceback" not in ret.comment
    assert ret.changes == {}
    assert held(api, container)["status"] == "Running"
