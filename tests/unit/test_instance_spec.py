"""An instance as declared, once: ``InstanceSpec`` (its fields, their names in the states,
the checks made when it is made), the one copy of its fields that must exist (the
signature of ``lxdapi.container_present``), and the run's instance listing as an object
handed to the planners (how it is kept for a run, what makes it read again). No server.
"""

import ast
import collections
import dataclasses
import glob
import os

import pytest

import lxdapi_batch
import lxdapi_readiness
import lxdapi_spec
from conftest import core

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
InstanceSpec = lxdapi_spec.InstanceSpec


# ------------------------------------------------------------------ the one copy


def _state_function(name):
    """The top-level ``def name`` of the state files (read with ast, nothing imported)."""
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "_states", "lxdapi*.py"))):
        with open(path) as fh:
            tree = ast.parse(fh.read(), filename=path)
        found += [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    assert len(found) == 1, f"{name} is defined {len(found)} times in _states"
    return found[0]


def test_container_present_takes_exactly_the_specs_arguments_with_its_defaults():
    node = _state_function("container_present")
    args = node.args.args
    defaults = dict(
        zip([a.arg for a in args[len(args) - len(node.args.defaults) :]], node.args.defaults)
    )
    taken = [a.arg for a in args if a.arg not in ("name", "project")]
    assert node.args.kwarg is not None and node.args.kwarg.arg == "connection"
    assert set(taken) == set(lxdapi_spec.ARGUMENTS)
    fields = {f.name: f.default for f in dataclasses.fields(InstanceSpec)}
    for argument in taken:
        field = {v: k for k, v in lxdapi_spec.STATE_NAMES.items()}.get(argument, argument)
        assert ast.literal_eval(defaults[argument]) == fields[field], argument


def test_the_state_names_are_the_fields_but_type():
    names = [f.name for f in dataclasses.fields(InstanceSpec)]
    assert lxdapi_spec.ARGUMENTS == tuple("type" if n == "instance_type" else n for n in names)
    assert lxdapi_spec.ARGUMENTS[:5] == ("source", "config", "devices", "profiles", "type")
    assert lxdapi_spec.ARGUMENTS[-1] == "wait_for"


# ------------------------------------------------------------------ the spec


def test_defaults_are_the_states():
    spec = InstanceSpec()
    assert (spec.source, spec.config, spec.devices, spec.profiles) == (None,) * 4
    assert spec.instance_type == "container" and spec.ephemeral is False
    assert (spec.description, spec.status, spec.target, spec.wait_for) == (None,) * 4
    assert spec.timeout == 30
    assert not (spec.restart_on_change or spec.purge_config or spec.purge_devices)
    assert spec.migrate is False
    assert InstanceSpec.from_arguments({}) == spec


def test_values_are_normalised_once_when_the_spec_is_made():
    spec = InstanceSpec.from_arguments(
        {
            "type": "virtual-machine",
            "status": "running",
            "config": {"limits.cpu": 2, "security.nesting": True, "volatile.x": "y"},
            "devices": {"eth0": {"type": "nic", "mtu": 1500}},
            "profiles": ("default", "web"),
            "timeout": "45",
            "wait_for": {"address": "eth0"},
        }
    )
    assert spec.instance_type == "virtual-machine" and spec.status == "Running"
    assert spec.config == {"limits.cpu": "2", "security.nesting": "true", "volatile.x": "y"}
    assert spec.managed_config == {"limits.cpu": "2", "security.nesting": "true"}
    assert spec.ignored_config_keys == ["volatile.x"]
    assert spec.devices == {"eth0": {"type": "nic", "mtu": "1500"}}
    assert spec.profiles == ["default", "web"]  # a list: LXD's profiles compare as one
    assert spec.timeout == 45
    assert isinstance(spec.wait_for, lxdapi_readiness.WaitFor) and spec.wait_for.nic == "eth0"
    # Made again from its own values, it is the same spec.
    assert dataclasses.replace(spec) == spec
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.status = "Stopped"


def test_unknown_arguments_are_named_with_the_known_ones():
    with pytest.raises(ValueError) as info:
        InstanceSpec.from_arguments({"sauce": "busybox", "instance_type": "container"})
    assert str(info.value) == (
        "unknown argument(s) instance_type, sauce; a container takes source, config, "
        "devices, profiles, type, ephemeral, description, status, target, "
        "restart_on_change, purge_config, purge_devices, timeout, migrate, owner, rolling, wait_for"
    )


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({"type": "vm"}, "unknown instance type 'vm'; choose container or virtual-machine"),
        ({"status": "Asleep"}, "unknown status 'Asleep'"),
        ({"config": ["a"]}, "config must be a mapping"),
        ({"devices": {"eth0": {}}}, "device 'eth0' must be a mapping with a 'type'"),
        ({"profiles": "default"}, "profiles must be a list of names"),
        ({"description": 5}, "description"),
        ({"ephemeral": "yes"}, "ephemeral"),
        ({"purge_config": 1}, "purge_config"),
        ({"source": 5}, "source must be an image alias or fingerprint"),
        ({"timeout": -1}, "timeout must be a number of seconds"),
        ({"wait_for": {"adress": "eth0"}}, "wait_for: unknown condition(s) adress"),
        ({"wait_for": {"address": "eth0"}, "status": "stopped"}, "needs status: Running"),
        ({"wait_for": {"address": "eth0"}}, "not None"),
    ],
)
def test_bad_values_are_refused_naming_them(arguments, expected):
    with pytest.raises(ValueError) as info:
        InstanceSpec.from_arguments(arguments)
    assert expected in str(info.value), str(info.value)


def test_ephemeral_none_leaves_the_flag_alone():
    assert InstanceSpec(ephemeral=None).ephemeral is None


# ------------------------------------------------------------------ the run's listing


class FakeAPI:
    """What a listing uses of an API: its instances' collection, one listing GET, and
    the record of its writes (the real :meth:`lxdapi.API.writes_since`)."""

    instances_collection = "instances"
    writes_since = core.API.writes_since
    _note_write = core.API._note_write
    write_hooks = ()

    def __init__(self, names):
        self.names = list(names)
        self.listings = 0
        self.writes_sent = 0
        self.recent_writes = collections.deque(maxlen=core.WRITES_KEPT)

    def get(self, url, params=None):
        assert (url, params) == ("instances", {"recursion": 1})
        self.listings += 1
        return type("Result", (), {"metadata": [{"name": n} for n in self.names]})()

    def write(self, method, path, body=None):
        self._note_write(method, "http+unix://x/1.0/" + path, body)


def test_a_run_shares_one_listing_until_a_rule_says_read_again():
    api, store = FakeAPI(["web1", "web2"]), {}
    listing = lxdapi_batch.run_listing(store, api, run_key="run1", asker="a")
    assert store == {api: listing} and api.listings == 1
    assert lxdapi_batch.run_listing(store, api, run_key="run1", asker="b") is listing
    assert lxdapi_batch.run_listing(store, api, run_key="run1") is listing
    assert api.listings == 1 and listing.askers == {"a", "b"}
    # The same asker again: another run (or a retry).
    assert lxdapi_batch.run_listing(store, api, run_key="run1", asker="a") is not listing
    # Another run key; an old listing.
    listing = store[api]
    assert lxdapi_batch.run_listing(store, api, run_key="run2") is not listing
    listing = store[api]
    assert lxdapi_batch.run_listing(store, api, run_key="run2", max_age=0) is not listing
    # Another API has its own.
    other = FakeAPI([])
    assert lxdapi_batch.run_listing(store, other, run_key="run2").api is other
    assert api.listings == 4 and other.listings == 1


def test_writes_through_the_api_forget_what_they_touch():
    api, store = FakeAPI(["web1", "web2"]), {}
    listing = lxdapi_batch.run_listing(store, api, run_key="run1")
    assert listing.lookup("web1").metadata == {"name": "web1"}
    assert listing.lookup("web1").etag is None
    assert listing.lookup("db1") is False
    api.write("PATCH", "instances/web1", {"config": {}})
    api.write("POST", "instances", {"name": "db1", "source": {"type": "none"}})
    assert listing.lookup("web1") is None and listing.lookup("db1") is None
    assert listing.lookup("web2") and listing.valid
    assert lxdapi_batch.run_listing(store, api, run_key="run1") is listing
    api.write("PUT", "profiles/default", {})
    assert not listing.valid and listing.lookup("web2") is None
    assert lxdapi_batch.run_listing(store, api, run_key="run1") is not listing
    # A listing further behind than the API remembers trusts nothing.
    listing = store[api]
    for _ in range(core.WRITES_KEPT + 1):
        api.write("PATCH", "instances/web1", {})
    assert not listing.valid
