"""lxdapi.profile_present / profile_absent against the real daemon."""

from resources_support import cleanup, held, make_container, short_name  # noqa: F401

DEVICES = {"scratch": {"type": "disk", "source": "/tmp", "path": "/mnt/scratch"}}


def test_create_then_noop_without_a_write(states, api, unique_name, cleanup, request_log):
    cleanup(["profile", "delete", unique_name])
    ret = states.lxdapi.profile_present(
        name=unique_name,
        config={"limits.processes": 100, "user.flag": True},
        devices=DEVICES,
        description="web servers",
    )
    assert ret.result is True, ret.comment
    assert "created" in ret.comment
    assert ret.changes["profile"] == {"old": None, "new": unique_name}
    assert ret.changes["config"]["new"] == {"limits.processes": "100", "user.flag": "true"}
    profile = held(api, "profiles/" + unique_name)
    assert profile["config"] == {"limits.processes": "100", "user.flag": "true"}
    assert profile["devices"] == DEVICES
    assert profile["description"] == "web servers"

    request_log.clear()
    ret = states.lxdapi.profile_present(
        name=unique_name,
        config={"limits.processes": "100", "user.flag": "true"},
        devices=DEVICES,
        description="web servers",
    )
    assert ret.result is True
    assert ret.changes == {}
    assert "already as declared" in ret.comment
    assert request_log.writes == []
    assert request_log.count("GET") <= 2  # the profile (and at most GET /1.0)


def test_update_changes_only_what_is_declared(states, api, unique_name, cleanup, request_log, lxd):
    cleanup(["profile", "delete", unique_name])
    lxd.lxc("profile", "create", unique_name)
    lxd.lxc("profile", "set", unique_name, "user.keep", "me")
    lxd.lxc("profile", "set", unique_name, "user.a", "1")

    request_log.clear()
    ret = states.lxdapi.profile_present(name=unique_name, config={"user.a": 2}, description="new")
    assert ret.result is True, ret.comment
    assert "updated" in ret.comment
    assert ret.changes == {
        "config": {"old": {"user.a": "1"}, "new": {"user.a": "2"}},
        "description": {"old": "", "new": "new"},
    }
    assert [w[0] for w in request_log.writes] == ["PATCH"]
    profile = held(api, "profiles/" + unique_name)
    assert profile["config"] == {"user.a": "2", "user.keep": "me"}
    assert profile["description"] == "new"


def test_purge_config_and_devices(states, api, unique_name, cleanup, lxd):
    cleanup(["profile", "delete", unique_name])
    states.lxdapi.profile_present(
        name=unique_name, config={"user.a": 1, "user.b": 2}, devices=DEVICES
    )
    ret = states.lxdapi.profile_present(
        name=unique_name, config={"user.a": 1}, devices={}, purge_config=True, purge_devices=True
    )
    assert ret.result is True, ret.comment
    assert ret.changes["config"] == {"old": {"user.b": "2"}, "new": {"user.b": None}}
    assert ret.changes["devices"]["new"] == {"scratch": None}
    profile = held(api, "profiles/" + unique_name)
    assert profile["config"] == {"user.a": "1"}
    assert profile["devices"] == {}


def test_test_mode_predicts_and_writes_nothing(states, api, unique_name, cleanup, request_log):
    cleanup(["profile", "delete", unique_name])
    request_log.clear()
    ret = states.lxdapi.profile_present(name=unique_name, config={"user.a": 1}, test=True)
    assert ret.result is None
    assert ret.changes["profile"] == {"old": None, "new": unique_name}
    assert "Would have" in ret.comment
    assert held(api, "profiles/" + unique_name) is None

    states.lxdapi.profile_present(name=unique_name, config={"user.a": 1})
    request_log.clear()
    ret = states.lxdapi.profile_present(name=unique_name, config={"user.a": 3}, test=True)
    assert ret.result is None
    assert ret.changes == {"config": {"old": {"user.a": "1"}, "new": {"user.a": "3"}}}
    assert request_log.writes == []
    assert held(api, "profiles/" + unique_name)["config"] == {"user.a": "1"}

    ret = states.lxdapi.profile_absent(name=unique_name, test=True)
    assert ret.result is None
    assert ret.changes == {"profile": {"old": unique_name, "new": None}}
    assert held(api, "profiles/" + unique_name) is not None
    assert request_log.writes == []


def test_bad_input_fails_and_changes_nothing(states, api, unique_name, cleanup):
    cleanup(["profile", "delete", unique_name])
    ret = states.lxdapi.profile_present(name=unique_name, config={"no.such.key": 1})
    assert ret.result is False
    assert "no.such.key" in ret.comment
    assert held(api, "profiles/" + unique_name) is None

    ret = states.lxdapi.profile_present(name=unique_name, config="limits.cpu=2")
    assert ret.result is False
    assert "config must be a mapping" in ret.comment

    ret = states.lxdapi.profile_present(name=unique_name, devices={"x": {"path": "/x"}})
    assert ret.result is False
    assert "'type'" in ret.comment

    ret = states.lxdapi.profile_present(name=unique_name, confg={"user.a": 1})
    assert ret.result is False
    assert "confg" in ret.comment

    ret = states.lxdapi.profile_present(name="bad/name")
    assert ret.result is False
    assert "slash" in ret.comment
    assert held(api, "profiles/" + unique_name) is None

    states.lxdapi.profile_present(name=unique_name, config={"user.a": 1})
    ret = states.lxdapi.profile_present(name=unique_name, config={"user.a": 2, "no.such.key": 1})
    assert ret.result is False
    assert "no.such.key" in ret.comment
    assert held(api, "profiles/" + unique_name)["config"] == {"user.a": "1"}


def test_absent_refuses_while_used_then_deletes_once(
    states, api, lxd, unique_name, cleanup, request_log
):
    cleanup(["profile", "delete", unique_name])
    states.lxdapi.profile_present(name=unique_name, config={"user.a": 1})
    container = make_container(lxd, cleanup, unique_name + "-c", "-p", "default", "-p", unique_name)

    ret = states.lxdapi.profile_absent(name=unique_name)
    assert ret.result is False
    assert "in use" in ret.comment and container in ret.comment
    assert held(api, "profiles/" + unique_name) is not None

    lxd.lxc("delete", "--force", container)
    ret = states.lxdapi.profile_absent(name=unique_name)
    assert ret.result is True, ret.comment
    assert ret.changes == {"profile": {"old": unique_name, "new": None}}
    assert held(api, "profiles/" + unique_name) is None

    request_log.clear()
    ret = states.lxdapi.profile_absent(name=unique_name)
    assert ret.result is True
    assert ret.changes == {}
    assert "already absent" in ret.comment
    assert request_log.writes == []


def test_profile_in_a_project(states, api, lxd, unique_name, cleanup):
    project = short_name("t5p")
    cleanup(["project", "delete", project])
    lxd.lxc("project", "create", project)
    cleanup(["profile", "delete", unique_name, "--project", project])
    ret = states.lxdapi.profile_present(name=unique_name, config={"user.a": 1}, project=project)
    assert ret.result is True, ret.comment
    assert held(api, "profiles/" + unique_name, project=project)["config"] == {"user.a": "1"}
    assert held(api, "profiles/" + unique_name) is None  # not in the default project
    ret = states.lxdapi.profile_absent(name=unique_name, project=project)
    assert ret.result is True and ret.changes
    assert held(api, "profiles/" + unique_name, project=project) is None
