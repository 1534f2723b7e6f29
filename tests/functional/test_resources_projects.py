"""lxdapi.project_present / project_absent against the real daemon."""

import pytest

from resources_support import cleanup, held, make_container, short_name  # noqa: F401


@pytest.fixture
def project(lxd, cleanup):
    """A fresh project name, deleted at teardown."""
    name = short_name("t5p")
    cleanup(["project", "delete", name])
    return name


def test_create_then_noop_without_a_write(states, api, project, request_log):
    ret = states.lxdapi.project_present(
        name=project,
        config={"features.images": False, "limits.instances": 5},
        description="staging",
    )
    assert ret.result is True, ret.comment
    assert ret.changes["project"] == {"old": None, "new": project}
    held_project = held(api, "projects/" + project)
    assert held_project["config"]["features.images"] == "false"
    assert held_project["config"]["limits.instances"] == "5"
    assert held_project["config"]["features.profiles"] == "true"  # LXD's default, kept
    assert held_project["description"] == "staging"

    request_log.clear()
    ret = states.lxdapi.project_present(
        name=project,
        config={"features.images": "false", "limits.instances": "5"},
        description="staging",
    )
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


def test_update_keeps_undeclared_keys(states, api, project, request_log):
    """LXD 5.0 replaces a project's whole config on PATCH: the update must not."""
    states.lxdapi.project_present(name=project, config={"limits.instances": 5})
    before = held(api, "projects/" + project)
    assert before["used_by"]  # its own default profile

    request_log.clear()
    ret = states.lxdapi.project_present(
        name=project, config={"limits.instances": 7}, description="more", test=True
    )
    assert ret.result is None
    assert ret.changes == {
        "config": {"old": {"limits.instances": "5"}, "new": {"limits.instances": "7"}},
        "description": {"old": "", "new": "more"},
    }
    assert request_log.writes == []
    assert held(api, "projects/" + project) == before

    ret = states.lxdapi.project_present(
        name=project, config={"limits.instances": 7}, description="more"
    )
    assert ret.result is True, ret.comment
    after = held(api, "projects/" + project)
    assert after["config"] == dict(before["config"], **{"limits.instances": "7"})
    assert after["description"] == "more"
    assert after["used_by"] == before["used_by"]  # the default profile is still there


def test_bad_input_fails_and_changes_nothing(states, api, project, lxd, cleanup):
    ret = states.lxdapi.project_present(name=project, config={"bogus.key": 1})
    assert ret.result is False
    assert "bogus.key" in ret.comment
    assert held(api, "projects/" + project) is None

    states.lxdapi.project_present(name=project)
    cleanup(["profile", "delete", "extra", "--project", project])
    lxd.lxc("profile", "create", "extra", "--project", project)
    before = held(api, "projects/" + project)
    # LXD refuses to turn a feature off in a project that holds something
    ret = states.lxdapi.project_present(name=project, config={"features.profiles": False})
    assert ret.result is False
    assert "features.profiles" in ret.comment
    assert held(api, "projects/" + project) == before


def test_absent_refuses_while_not_empty_then_deletes_once(
    states, api, lxd, project, cleanup, request_log
):
    # sharing the default project's images and profiles (root disk) lets busybox start
    states.lxdapi.project_present(
        name=project, config={"features.images": False, "features.profiles": False}
    )
    container = make_container(lxd, cleanup, "t5-c-" + project, project=project)

    ret = states.lxdapi.project_absent(name=project)
    assert ret.result is False
    assert "in use" in ret.comment and container in ret.comment
    assert held(api, "projects/" + project) is not None

    lxd.lxc("delete", "--force", container, "--project", project)
    request_log.clear()
    ret = states.lxdapi.project_absent(name=project, test=True)
    assert ret.result is None
    assert ret.changes == {"project": {"old": project, "new": None}}
    assert request_log.writes == []

    ret = states.lxdapi.project_absent(name=project)
    assert ret.result is True, ret.comment
    assert held(api, "projects/" + project) is None

    request_log.clear()
    ret = states.lxdapi.project_absent(name=project)
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []
