"""Targets of Salt inside instances (``lxdapi_targets``) without a server: every form
:func:`parse_target` reads, the problems it names, and :meth:`Target.matches` on
instance objects shaped as ``GET /1.0/instances?recursion=1`` lists them."""

import dataclasses

import pytest

import lxdapi_targets
from lxdapi_targets import Target, parse_target


def _instance(name, status="Running", profiles=("default",), config=None, expanded=None):
    item = {"name": name, "status": status, "profiles": list(profiles), "config": config or {}}
    if expanded is not None:
        item["expanded_config"] = expanded
    return item


FLEET = [
    _instance("web1", expanded={"user.role": "web"}),
    _instance("web2", status="Stopped", expanded={"user.role": "web"}),
    _instance("web-a", profiles=("default", "web"), expanded={"user.role": "db"}),
    _instance("db1", profiles=("default", "db"), expanded={"user.role": "db", "x": "1"}),
    _instance("cache", config={"user.role": "web"}),  # no expanded_config: its own
]


def _names(target):
    target = parse_target(target)
    return [item["name"] for item in FLEET if target.matches(item)]


def test_one_plain_name_is_the_single_form():
    target = parse_target("web1")
    assert target.single == "web1" and target.names == ("web1",)
    assert target.project is None and str(target) == "web1"
    assert parse_target(" web1 ").single == "web1"
    assert parse_target(12).single == "12"  # YAML reads a number-like name as a number
    assert _names("web1") == ["web1"]


@pytest.mark.parametrize(
    "value, expected",
    [
        (["web1", "db1"], ["web1", "db1"]),
        (("web1",), ["web1"]),
        ("web1,db1", ["web1", "db1"]),
        ("web*", ["web1", "web2", "web-a"]),
        ("web?", ["web1", "web2"]),
        ("web[12]", ["web1", "web2"]),
        ("name:web-*", ["web-a"]),
        ("config:user.role:web", ["web1", "web2", "cache"]),
        ("config:user.role", ["web1", "web2", "web-a", "db1", "cache"]),
        ("config:x", ["db1"]),
        ("profile:web", ["web-a"]),
        ("status:running", ["web1", "web-a", "db1", "cache"]),
        ("STATUS:STOPPED", ["web2"]),
        ("config:user.role:web and status:running", ["web1", "cache"]),
        ("web* and status:running", ["web1", "web-a"]),
        ("profile:default and profile:db", ["db1"]),
        ({"config": {"user.role": "web"}, "status": "Running", "name": "web*"}, ["web1"]),
        ({"config": ["x"]}, ["db1"]),
        ({"config": {"user.role": None}, "profile": ["web"]}, ["web-a"]),
        ({"name": ["db1", "web?"]}, ["web1", "web2", "db1"]),
    ],
)
def test_each_form_matches_exactly_the_instances_it_names(value, expected):
    target = parse_target(value)
    assert target.single is None
    assert _names(target) == expected


def test_config_is_the_expanded_config_and_values_compare_as_lxd_stores_them():
    # a profile's key counts; the instance's own config is read only without expanded_config
    item = _instance("x", config={}, expanded={"limits.cpu": "2", "boot.autostart": "true"})
    assert parse_target("config:limits.cpu:2").matches(item)
    assert parse_target({"config": {"limits.cpu": 2, "boot.autostart": True}}).matches(item)
    assert not parse_target({"config": {"boot.autostart": False}}).matches(item)
    assert parse_target("config:user.url:http://x:8080").config == (("user.url", "http://x:8080"),)


def test_the_project_is_a_field_not_a_filter():
    target = parse_target("project:prod and web*")
    assert target.project == "prod" and target.globs == ("web*",)
    assert parse_target({"project": "prod"}).project == "prod"
    assert _names("project:prod") == [item["name"] for item in FLEET]


def test_targets_are_frozen_and_compare_by_meaning():
    target = parse_target("web1,web2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.names = ()
    assert target == parse_target(["web1", "web2"]) == Target(names=("web1", "web2"))
    assert parse_target(target) is target
    assert lxdapi_targets.describe_target(parse_target({"status": "Running", "name": "w*"})) == (
        "w* and status:running"
    )


@pytest.mark.parametrize(
    "value, words",
    [
        ("", "empty"),
        ("   ", "empty"),
        ([], "names no instance"),
        ({}, "must not be empty"),
        (None, "a target must be"),
        (True, "a target must be"),
        ("role:web", "unknown selector 'role'"),
        ("config:", "needs a key"),
        ("status:", "one word"),
        ("web* and ", "empty term"),
        ("web1 and db*", "names instances twice"),
        ("status:running and status:stopped", "status twice"),
        ({"role": "web"}, "not role"),
        ({"config": 5}, "config must be a mapping"),
        ({"config": {"a": [1]}}, "must be a scalar"),
        ({"profile": ""}, "profile must be a name"),
        ({"status": "run ning"}, "status must be one word"),
        (["web1", "status:running"], "is not a name or a glob"),
        (["web1", None], "must hold names or globs"),
    ],
)
def test_bad_targets_are_a_value_error_naming_the_problem(value, words):
    with pytest.raises(ValueError, match=words):
        parse_target(value)
