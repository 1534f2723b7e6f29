"""Bad arguments, by generation: the states' and execution functions' arguments drawn by
hypothesis, against the real daemon.

Each generated value gives either a clear error (a state's ``result: False`` with a
comment; ``SaltInvocationError`` or ``CommandExecutionError`` with words) or a correct
change that the server then holds; never an internal error, never a traceback. What the
server holds outside the target (the other instances, profiles and networks) is the same
after every example as before it.

Each test makes its target once (a container, a profile, a network name) and lets the
examples converge it again and again: small ``max_examples`` keep the file to a few
minutes per server.
"""

import os
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi_values

#: Examples per test (``LXDAPI_GENERATED_EXAMPLES`` for a longer hunt; the few slow
#: tests take half as many).
EXAMPLES = int(os.environ.get("LXDAPI_GENERATED_EXAMPLES", "15"))
#: The same examples on every run (CI judges a change, not a draw), unless
#: ``LXDAPI_GENERATED_RANDOM`` is set for a hunt with new ones.
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    derandomize=not os.environ.get("LXDAPI_GENERATED_RANDOM"),
    print_blob=True,
)
FEW = settings(SETTINGS, max_examples=max(1, EXAMPLES // 2))

#: What never appears in a clear error.
NOT_CLEAR = ("internal error", "Traceback", "An exception occurred")

# ------------------------------------------------------------------ strategies

#: Text as a user may type it: any character but surrogates, short.
text = st.text(max_size=12)
#: A value of any shape YAML or a caller may hand over.
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)
#: Config keys: mostly ``user.*`` (which LXD takes), some it does not know.
config_keys = st.one_of(
    st.from_regex(r"user\.[a-z0-9_-]{1,10}", fullmatch=True),
    st.sampled_from(["limits.cpu", "limits.memory", "security.nesting", "boot.autostart"]),
    text,
)
config_values = st.one_of(
    scalars, st.lists(text, max_size=2), st.dictionaries(text, text, max_size=2)
)
configs = st.one_of(
    st.dictionaries(config_keys, config_values, max_size=4),
    st.dictionaries(config_keys, st.one_of(text, st.integers(), st.booleans()), max_size=4),
    anything,
)
device_values = st.fixed_dictionaries(
    {
        "type": st.one_of(
            st.sampled_from(["none", "disk", "nic", "unix-char", "bogus", ""]), anything
        )
    },
    optional={
        "path": st.one_of(st.sampled_from(["/mnt/gen", "relative", ""]), anything),
        "source": st.one_of(st.sampled_from(["/tmp", "/no/such/dir"]), text),
        "nictype": st.sampled_from(["bridged", "p2p"]),
    },
)
devices = st.one_of(
    st.dictionaries(
        st.one_of(st.from_regex(r"gen[a-z0-9]{0,6}", fullmatch=True), text),
        st.one_of(st.none(), device_values, anything),
        max_size=3,
    ),
    anything,
)
statuses = st.one_of(
    st.sampled_from(["Running", "Stopped", "running", "STOPPED", "Frozen", "Sleeping", ""]),
    anything,
)
wait_fors = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"timeout": st.one_of(st.integers(0, 2), st.sampled_from(["soon", -1, None]))},
        optional={
            "exec": st.one_of(st.sampled_from([["true"], "test -e /", ["false"], []]), anything),
            "address": st.one_of(st.sampled_from(["eth0", {"nic": "eth0"}]), anything),
            "exec_timeout": st.one_of(st.integers(1, 2), text),
            "colour": anything,
        },
    ),
    anything,
)

# ------------------------------------------------------------------ what the server holds


def _held(api, collection, skip):
    """The names and what matters of a collection's members, but ``skip``."""
    members = api.get(f"/1.0/{collection}?recursion=1").metadata or []
    return {
        m["name"]: {
            "config": {
                k: v for k, v in (m.get("config") or {}).items() if not k.startswith("volatile.")
            },
            "devices": m.get("devices"),
            "profiles": m.get("profiles"),
            "description": m.get("description"),
            "status": m.get("status"),
        }
        for m in members
        if m["name"] not in skip
    }


def outside(api, *targets):
    """What the server holds outside ``targets``: instances, profiles and networks."""
    return {c: _held(api, c, set(targets)) for c in ("instances", "profiles", "networks")}


# ------------------------------------------------------------------ what a clear answer is


def clear_state(ret):
    """A state's ret is a clear error or a success, never a bug or a traceback."""
    assert ret.result in (True, False), ret.full_return
    comment = ret.comment
    assert not any(word in comment for word in NOT_CLEAR), comment
    if ret.result is False:
        assert comment.strip(), ret.full_return
    return ret.result


def clear_call(call):
    """``(True, value)`` when ``call()`` returned, ``(False, message)`` for Salt's errors
    (with words, never a bug); anything else raised fails the test."""
    try:
        return True, call()
    except (SaltInvocationError, CommandExecutionError) as exc:
        message = str(exc)
        assert message.strip() and not any(word in message for word in NOT_CLEAR), message
        return False, message


def expected_config(config):
    """What the server holds for a declared config that was accepted."""
    return {str(k): lxdapi_values.lxd_value(v) for k, v in (config or {}).items()}


def assert_config_held(held, config):
    for key, value in expected_config(config).items():
        if lxdapi_values.ignored_config_key(key):
            continue
        assert held.get(key, "") == value, (key, held.get(key), value)


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def bystanders(lxd):
    """Another instance and another profile, to be left alone."""
    name = "gen-other-" + uuid.uuid4().hex[:6]
    lxd.lxc("init", "busybox", name, "-c", "user.keep=1")
    lxd.lxc("profile", "create", name)
    lxd.lxc("profile", "set", name, "user.keep", "1")
    yield name
    lxd.lxc("delete", "--force", name, check=False)
    lxd.lxc("profile", "delete", name, check=False)


@pytest.fixture
def container(lxd, unique_name, bystanders):
    lxd.lxc("init", "busybox", unique_name)
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


@pytest.fixture
def profile(lxd, unique_name, bystanders):
    lxd.lxc("profile", "create", unique_name)
    yield unique_name
    lxd.lxc("profile", "delete", unique_name, check=False)


# ------------------------------------------------------------------ states


@SETTINGS
@given(config=configs, purge=st.booleans())
def test_container_present_config(states, api, container, config, purge):
    before = outside(api, container)
    ret = states.lxdapi.container_present(name=container, config=config, purge_config=purge)
    if clear_state(ret):
        assert_config_held(api.get(f"/1.0/instances/{container}").metadata["config"], config)
    assert outside(api, container) == before


@SETTINGS
@given(declared=devices)
def test_container_present_devices(states, api, container, declared):
    before = outside(api, container)
    ret = states.lxdapi.container_present(name=container, devices=declared)
    if clear_state(ret):
        held = api.get(f"/1.0/instances/{container}").metadata["devices"]
        for name, device in (declared or {}).items():
            if device is None:
                assert str(name) not in held
            else:
                assert held[str(name)] == expected_config(device)
    assert outside(api, container) == before


@SETTINGS
@given(
    profiles=st.one_of(
        st.lists(st.sampled_from(["default", "no-such-profile", "", "Default"]), max_size=3),
        st.lists(text, max_size=2),
        anything,
    ),
    description=st.one_of(text, anything),
)
def test_container_present_profiles_and_description(states, api, container, profiles, description):
    before = outside(api, container)
    ret = states.lxdapi.container_present(
        name=container, profiles=profiles, description=description
    )
    if clear_state(ret):
        held = api.get(f"/1.0/instances/{container}").metadata
        if profiles is not None:  # None: not managed
            assert held["profiles"] == profiles
        if description is not None:
            assert held["description"] == description
    assert outside(api, container) == before


@FEW
@given(status=statuses, wait_for=wait_fors)
def test_container_present_status_and_wait_for(states, lxd, api, container, status, wait_for):
    before = outside(api, container)
    ret = states.lxdapi.container_present(
        name=container, status=status, wait_for=wait_for, timeout=10
    )
    if clear_state(ret) and status is not None:  # None: not managed
        assert lxd.status(container) == lxdapi_values.normalize_status(status)
    assert outside(api, container) == before


@SETTINGS
@given(
    name=st.one_of(text, anything),
    arguments=st.dictionaries(
        st.sampled_from(["source", "type", "ephemeral", "timeout", "restart_on_change", "target"]),
        anything,
        max_size=2,
    ),
)
def test_container_present_names_and_other_arguments(states, api, bystanders, name, arguments):
    """Generated names and argument values: in test mode, so that nothing is created
    whatever is accepted; a clear answer either way."""
    before = outside(api)
    try:
        ret = states.lxdapi.container_present(name=name, test=True, **arguments)
    except TypeError as exc:  # Salt's state system refused the ID itself, in its words
        assert "The state result errored" in str(exc) and "ID" in str(exc), exc
    else:
        assert ret.result in (True, False, None)
        assert not any(word in ret.comment for word in NOT_CLEAR), ret.comment
    assert outside(api) == before


@SETTINGS
@given(config=configs, declared=devices, description=st.one_of(text, anything))
def test_profile_present(states, api, profile, config, declared, description):
    before = outside(api, profile)
    ret = states.lxdapi.profile_present(
        name=profile, config=config, devices=declared, description=description
    )
    if clear_state(ret):
        held = api.get(f"/1.0/profiles/{profile}").metadata
        assert_config_held(held["config"], config)
        for name, device in (declared or {}).items():
            if device is not None:
                assert held["devices"][str(name)] == expected_config(device)
        if description is not None:
            # a resource's description is stored as text: a number as LXD would print it
            assert held["description"] == (
                description if isinstance(description, str) else str(description)
            )
    assert outside(api, profile) == before


@FEW
@given(
    config=st.one_of(
        st.dictionaries(
            st.sampled_from(["ipv4.address", "ipv6.address", "bridge.mtu", "ipv4.nat", "user.a"]),
            st.one_of(st.sampled_from(["none", "auto", "1400", "10.99.0.1/24", "bogus"]), scalars),
            max_size=3,
        ),
        anything,
    ),
    network_type=st.one_of(st.sampled_from(["bridge", "macvlan", "bogus"]), anything),
    description=st.one_of(text, anything),
)
def test_network_present(states, api, lxd, bystanders, config, network_type, description):
    name = "gen" + uuid.uuid4().hex[:8]  # a bridge's name is 15 characters at most
    before = outside(api, name)
    try:
        ret = states.lxdapi.network_present(
            name=name, type=network_type, config=config, description=description
        )
        if clear_state(ret):
            held = api.get(f"/1.0/networks/{name}").metadata
            assert held["type"] == network_type
            assert_config_held(held["config"], config)
        assert outside(api, name) == before
    finally:
        lxd.lxc("network", "delete", name, check=False)


# ------------------------------------------------------------------ execution functions


@SETTINGS
@given(name=st.one_of(text, anything))
def test_container_get(modules, api, container, name):
    before = outside(api)
    ok, found = clear_call(lambda: modules.lxdapi.container_get(name))
    if ok and found:
        assert found["name"] == name
    assert outside(api) == before


@SETTINGS
@given(
    key=st.one_of(config_keys, anything),
    value=config_values,
    config=st.one_of(st.none(), configs),
)
def test_container_config_set(modules, api, container, key, value, config):
    before = outside(api, container)
    ok, _ = clear_call(
        lambda: modules.lxdapi.container_config_set(container, key=key, value=value, config=config)
    )
    if ok:
        declared = dict(config or {})
        if key is not None:
            declared[key] = value
        assert_config_held(api.get(f"/1.0/instances/{container}").metadata["config"], declared)
    assert outside(api, container) == before


@SETTINGS
@given(
    path=st.one_of(
        st.builds(lambda p: "/tmp/" + p, text),
        st.sampled_from(["/", "/tmp", "relative/file", "", "/tmp/../etc/gen", "/no/such/dir/f"]),
        anything,
    ),
    contents=st.one_of(text, st.binary(max_size=20), anything),
    mode=st.one_of(st.none(), st.sampled_from(["0644", "644", "0o600", "rwx", 420, -1]), anything),
)
def test_container_file_put(modules, api, lxd, container, path, contents, mode):
    before = outside(api, container)
    ok, _ = clear_call(
        lambda: modules.lxdapi.container_file_put(container, path, contents=contents, mode=mode)
    )
    if ok and isinstance(contents, str):
        assert lxd.file_text(container, path) == contents
    assert outside(api, container) == before
