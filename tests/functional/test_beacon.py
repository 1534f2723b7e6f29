"""The lxdapi beacon through Salt's own beacon machinery (salt.beacons.Beacon), against
the real daemon: an event per status change, with the tag Salt builds from it."""

import pytest

from resources_support import cleanup  # noqa: F401


@pytest.fixture
def beacons(minion_opts):
    import salt.beacons
    import salt.loader

    opts = dict(minion_opts)
    functions = salt.loader.minion_mods(opts)
    return salt.beacons.Beacon(opts, functions)


def _events(beacons, name, **options):
    config = {"lxdapi": [{"instances": [name]}] + [{k: v} for k, v in options.items()]}
    return beacons.process(config, {}) or []


def test_status_changes_become_events(beacons, lxd, cleanup, unique_name):
    name = unique_name
    cleanup(["delete", "--force", name])
    assert _events(beacons, name) == []  # the first look only records
    lxd.lxc("init", "busybox", name)
    created = _events(beacons, name)
    assert [(e["tag"], e["data"]["old"], e["data"]["new"]) for e in created] == [
        ("salt/beacon/{}/lxdapi/{}".format(beacons.opts["id"], name), None, "Stopped")
    ]
    assert _events(beacons, name) == []  # nothing changed
    lxd.lxc("start", name)
    lxd.lxc("pause", name)
    assert [(e["data"]["old"], e["data"]["new"]) for e in _events(beacons, name)] == [
        ("Stopped", "Frozen")
    ]
    lxd.lxc("delete", "--force", name)
    assert [
        (e["data"]["instance"], e["data"]["old"], e["data"]["new"]) for e in _events(beacons, name)
    ] == [(name, "Frozen", None)]


def test_emit_at_start_and_a_bad_configuration(beacons, lxd, cleanup, unique_name, caplog):
    name = unique_name
    cleanup(["delete", "--force", name])
    lxd.lxc("init", "busybox", name)
    events = _events(beacons, name, emit_at_start=True)
    assert [(e["data"]["old"], e["data"]["new"]) for e in events] == [(None, "Stopped")]

    validate = beacons.beacons["lxdapi.validate"]
    assert validate([{"instances": "web1"}]) == (
        False,
        "lxdapi beacon: instances must be a list of names",
    )
    assert validate([{"intervall": 10}])[0] is False
    assert "unknown option(s) intervall" in validate([{"intervall": 10}])[1]
    assert validate([{"interval": 10}, {"remote": "rack2"}])[0] is True
    # an invalid configuration is logged by Salt and the beacon does not run
    assert beacons.process({"lxdapi": [{"instances": "web1"}]}, {}) == []
    assert "instances must be a list of names" in caplog.text


def test_an_unreachable_lxd_is_logged_not_raised(beacons, caplog, tmp_path):
    events = beacons.process({"lxdapi": [{"endpoint": str(tmp_path / "no.socket")}]}, {})
    assert events == []
    assert "lxdapi beacon: cannot list the instances" in caplog.text
