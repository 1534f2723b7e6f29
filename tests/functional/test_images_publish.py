"""Images published from an instance or a snapshot (lxdapi.image_present with a publish
source, lxdapi.image_publish), against the real daemon."""

import json

import pytest

from resources_support import cleanup, make_container  # noqa: F401


@pytest.fixture
def golden(lxd, cleanup, unique_name):
    """A stopped container with a snapshot ``golden``; the images it gets published as
    (and their aliases) are deleted at teardown."""
    name = make_container(lxd, cleanup, unique_name)
    lxd.lxc("snapshot", name, "golden")
    alias = unique_name[:40] + "-img"
    yield name, alias
    for image in json.loads(lxd.lxc("query", "/1.0/images?recursion=1")):
        if (image.get("properties") or {}).get("lxdapi.published_from", "").startswith(name):
            lxd.lxc("image", "delete", image["fingerprint"], check=False)


def _alias_target(lxd, alias):
    found = lxd.lxc("query", "/1.0/images/aliases/" + alias, check=False)
    return json.loads(found)["target"] if found else None


def _image(lxd, fingerprint):
    return json.loads(lxd.lxc("query", "/1.0/images/" + fingerprint))


def test_a_snapshot_published_once_then_again_when_taken_anew(states, lxd, golden, request_log):
    name, alias = golden
    source = {"type": "snapshot", "name": name + "/golden"}
    predicted = states.lxdapi.image_present(alias, source=source, test=True)
    assert predicted.result is None, predicted.comment
    label = f"published from snapshot {name}/golden"
    assert predicted.changes == {
        "image": {"old": None, "new": label},
        "aliases": {"old": {alias: None}, "new": {alias: label}},
    }
    assert request_log.writes == [] and _alias_target(lxd, alias) is None

    ret = states.lxdapi.image_present(alias, source=source)
    assert ret.result is True, ret.comment
    assert ret.comment == f"Image {alias} published."
    first = _alias_target(lxd, alias)
    assert _image(lxd, first)["properties"]["lxdapi.published_from"] == name + "/golden"

    request_log.clear()
    again = states.lxdapi.image_present(alias, source=source)
    assert again.result is True and again.changes == {}
    assert request_log.writes == []

    # the same snapshot name taken again: a new image, the alias moved, the old one kept
    lxd.lxc("delete", name + "/golden")
    lxd.lxc("snapshot", name, "golden")
    ret = states.lxdapi.image_present(alias, source=source)
    assert ret.result is True, ret.comment
    second = _alias_target(lxd, alias)
    assert second and second != first
    assert ret.changes["aliases"] == {"old": {alias: first}, "new": {alias: label}}
    assert _image(lxd, first)["fingerprint"] == first

    # an instance made from the published image
    lxd.lxc("init", alias, name + "-child")
    try:
        child = json.loads(lxd.lxc("query", f"/1.0/instances/{name}-child"))
        assert child["config"]["volatile.base_image"] == second
    finally:
        lxd.lxc("delete", "--force", name + "-child", check=False)


def test_an_instance_is_published_only_when_stopped(states, lxd, golden):
    name, alias = golden
    source = {"type": "instance", "name": name}
    lxd.lxc("start", name)
    ret = states.lxdapi.image_present(alias, source=source)
    assert ret.result is False
    assert "running" in ret.comment.lower(), ret.comment
    assert _alias_target(lxd, alias) is None

    lxd.lxc("stop", "--force", name)
    ret = states.lxdapi.image_present(alias, source=source)
    assert ret.result is True, ret.comment
    assert _image(lxd, _alias_target(lxd, alias))["properties"]["lxdapi.published_from"] == name
    assert states.lxdapi.image_present(alias, source=source).changes == {}


def test_image_publish_from_the_execution_module(modules, lxd, golden):
    name, alias = golden
    fingerprint = modules.lxdapi.image_publish(
        name, snapshot="golden", alias=alias, properties={"os": "busybox"}
    )
    assert _alias_target(lxd, alias) == fingerprint
    assert _image(lxd, fingerprint)["properties"]["os"] == "busybox"
    assert modules.lxdapi.image_get(alias)["fingerprint"] == fingerprint


@pytest.mark.parametrize(
    "source, expected",
    [
        ({"type": "snapshot", "name": "{name}/nope"}, "snapshot 'nope' of '{name}' does not exist"),
        (
            {"type": "snapshot", "name": "{name}"},
            "a snapshot to publish is named INSTANCE/SNAPSHOT",
        ),
        ({"type": "instance", "name": "{name}-nope"}, "instance '{name}-nope' does not exist"),
        ({"type": "instance", "name": "{name}/golden"}, "for a snapshot use type: snapshot"),
        (
            {"type": "snapshot", "name": "{name}/golden", "compression": "xz"},
            "unknown publish source key(s): compression",
        ),
    ],
)
def test_bad_publish_sources_fail_and_publish_nothing(
    states, lxd, golden, request_log, source, expected
):
    name, alias = golden
    source = {k: v.format(name=name) for k, v in source.items()}
    ret = states.lxdapi.image_present(alias, source=source)
    assert ret.result is False and expected.format(name=name) in ret.comment, ret.comment
    assert request_log.writes == [] and _alias_target(lxd, alias) is None
