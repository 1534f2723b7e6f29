"""The pure parts of the prune (``lxdapi_prune``) and of the ownership stamp
(``lxdapi_spec.stamped``): the selector with ``owner``, ``keep``, the declarations read
from a run's low chunks. No server."""

import pytest

import lxdapi_prune
import lxdapi_spec
import lxdapi_targets

OWNER_KEY = lxdapi_spec.OWNER_KEY


# ------------------------------------------------------------------ the stamp


def test_the_stamp_is_a_config_key_of_the_spec():
    assert OWNER_KEY == "user.lxdapi.owner"
    spec = lxdapi_spec.InstanceSpec.from_arguments({"owner": "salt"})
    assert spec.owner == "salt" and spec.config == {OWNER_KEY: "salt"}
    spec = lxdapi_spec.InstanceSpec(config={"limits.cpu": 1}, owner="salt")
    assert spec.config == {"limits.cpu": "1", OWNER_KEY: "salt"}
    assert spec.managed_config == spec.config
    assert lxdapi_spec.InstanceSpec(config={"user.x": "y"}).config == {"user.x": "y"}
    assert lxdapi_spec.InstanceSpec().config is None  # no stamp: config not managed


@pytest.mark.parametrize("owner", ["", " salt", 5, ["salt"], True])
def test_a_bad_owner_is_refused(owner):
    with pytest.raises(ValueError, match="owner must be a non-empty text"):
        lxdapi_spec.InstanceSpec(owner=owner)


def test_an_owner_the_config_contradicts_is_refused():
    with pytest.raises(ValueError, match="contradict"):
        lxdapi_spec.InstanceSpec(config={OWNER_KEY: "ops"}, owner="salt")
    same = lxdapi_spec.InstanceSpec(config={OWNER_KEY: "salt"}, owner="salt")
    assert same.config == {OWNER_KEY: "salt"}


# ------------------------------------------------------------------ the selector


def test_no_selector_is_refused():
    for selector in (None, "", [], {}):
        with pytest.raises(ValueError, match="a selector is required"):
            lxdapi_prune.prune_target(selector)


def test_owner_alone_is_the_selector():
    target = lxdapi_prune.prune_target(owner="salt")
    assert target.config == ((OWNER_KEY, "salt"),)
    assert target.matches({"name": "a", "config": {OWNER_KEY: "salt"}})
    assert not target.matches({"name": "a", "config": {OWNER_KEY: "ops"}})
    assert not target.matches({"name": "a", "config": {}})


def test_owner_and_a_selector_both_hold():
    target = lxdapi_prune.prune_target("web-*", owner="salt")
    assert target.single is None
    assert target.matches({"name": "web-1", "config": {OWNER_KEY: "salt"}})
    assert not target.matches({"name": "db-1", "config": {OWNER_KEY: "salt"}})
    assert not target.matches({"name": "web-1", "config": {}})
    one = lxdapi_prune.prune_target("web1", owner="salt")
    assert one.single is None and one.names == ("web1",)
    assert "config:user.lxdapi.owner:salt" in str(one)
    same = lxdapi_prune.prune_target({"config": {OWNER_KEY: "salt"}}, owner="salt")
    assert same.config == ((OWNER_KEY, "salt"),)
    with pytest.raises(ValueError, match="contradict"):
        lxdapi_prune.prune_target({"config": {OWNER_KEY: "ops"}}, owner="salt")
    with pytest.raises(ValueError, match="owner must be a non-empty text"):
        lxdapi_prune.prune_target("web-*", owner=" ")


def test_the_selector_is_the_targets_one_concept():
    target = lxdapi_prune.prune_target("config:user.role:web and status:stopped")
    assert target == lxdapi_targets.parse_target("config:user.role:web and status:stopped")
    with pytest.raises(ValueError, match="unknown selector"):
        lxdapi_prune.prune_target("colour:red")


# ------------------------------------------------------------------ keep


def test_keep_takes_a_list_of_names_and_globs():
    assert lxdapi_prune.keep_patterns(None) == ()
    assert lxdapi_prune.keep_patterns(["db1", "keep-*", "web[12]", 7]) == (
        "db1",
        "keep-*",
        "web[12]",
        "7",
    )
    patterns = ("db1", "keep-*")
    assert lxdapi_prune.kept("db1", patterns) and lxdapi_prune.kept("keep-me", patterns)
    assert not lxdapi_prune.kept("db10", patterns) and not lxdapi_prune.kept("Keep-x", patterns)


@pytest.mark.parametrize(
    "keep, words",
    [
        ("web1", "keep must be a list"),
        ({"web1": True}, "keep must be a list"),
        (5, "keep must be a list"),
        ([""], "is not an instance name or a glob"),
        (["a/b"], "is not an instance name or a glob"),
        (["web 1"], "is not an instance name or a glob"),
        ([None], "is not an instance name or a glob"),
        ([["web1"]], "is not an instance name or a glob"),
    ],
)
def test_a_bad_keep_is_refused(keep, words):
    with pytest.raises(ValueError, match=words):
        lxdapi_prune.keep_patterns(keep)


# ------------------------------------------------------------------ declarations


def test_declarations_are_read_from_the_low_chunks():
    chunks = [
        {"state": "lxdapi", "fun": "container_present", "name": "web1", "__id__": "web1"},
        {
            "state": "lxdapi",
            "fun": "container_present",
            "name": "web2",
            "project": "prod",
            "remote": "rack2",
            "timeout": 60,  # the state's own, not a connection setting here
        },
        {
            "state": "lxdapi",
            "fun": "containers_present",
            "name": "farm",
            "containers": {"web3": {}, "web4": {"status": "Running"}},
        },
        {"state": "lxdapi", "fun": "containers_present", "name": "f2", "containers": ["a", 7]},
        {"state": "lxdapi", "fun": "containers_present", "name": "f3", "containers": "oops"},
        {"state": "lxdapi", "fun": "container_absent", "name": "old"},
        {"state": "lxdapi", "fun": "instances_pruned", "name": "prune"},
        {"state": "file", "fun": "managed", "name": "/etc/x"},
        "not a chunk",
    ]
    found = lxdapi_prune.declarations(chunks, settings_keys=("remote", "endpoint"))
    assert [(d.state, d.names, d.settings) for d in found] == [
        ("lxdapi.container_present", ("web1",), {}),
        ("lxdapi.container_present", ("web2",), {"remote": "rack2", "project": "prod"}),
        ("lxdapi.containers_present", ("web3", "web4"), {}),
        ("lxdapi.containers_present", ("a", "7"), {}),
        ("lxdapi.containers_present", (), {}),
    ]
    assert lxdapi_prune.declarations(None) == [] and lxdapi_prune.declarations({}) == []
    other = [{"state": "lxd", "fun": "container_present", "name": "web1"}]
    assert lxdapi_prune.declarations(other) == []


# ------------------------------------------------------------------ images


def test_image_keep_takes_fingerprints_and_prefixes():
    assert lxdapi_prune.image_keep_list(None) == ()
    full = "a" * 64
    assert lxdapi_prune.image_keep_list(["ABCD12", full]) == ("abcd12", full)
    for bad in ("abcd", {"abcd": 1}, 5):
        with pytest.raises(ValueError, match="keep must be a list of image fingerprints"):
            lxdapi_prune.image_keep_list(bad)
    for bad in (["abc"], ["a" * 65], ["abcz"], [None], [1234]):
        with pytest.raises(ValueError, match="is not an image fingerprint"):
            lxdapi_prune.image_keep_list(bad)


def test_the_age_is_days_and_never_implied():
    assert lxdapi_prune.check_days(0) == 0
    assert lxdapi_prune.check_days("1.5") == 1.5 * 86400
    for bad in (None, -1, "soon", True, float("nan"), float("inf"), [1]):
        with pytest.raises(ValueError, match="older_than must be a number of days"):
            lxdapi_prune.check_days(bad)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("2026-12-06T12:00:00Z", 1796558400.0),
        ("2026-12-06T12:00:00.123456789Z", 1796558400.123456),
        ("2026-12-06T14:00:00+02:00", 1796558400.0),
        ("2026-12-06T11:00:00.5-01:00", 1796558400.5),
        ("0001-01-01T00:00:00Z", None),  # LXD's zero time: none
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_server_times_are_read_in_every_form_the_servers_write(text, seconds):
    assert lxdapi_prune.server_time(text) == seconds
