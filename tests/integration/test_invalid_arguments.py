"""Arguments that do not fit a function are bad input, worded as Salt words them for its
own functions: "Passed invalid arguments to lxdapi.container_get: missing a required
argument: 'name'." then "Usage:" and the function's docstring; never "internal error".

Every execution function of the ``lxdapi`` and ``lxd`` virtual names is walked through
Salt's loader (called with nothing, with one positional argument too many, with a keyword
it does not take); every state is given a keyword it does not take; ``salt-call`` shows
the message on the command line and fails.
"""

import inspect

import pytest
import salt.loader
from salt.exceptions import CommandExecutionError, SaltInvocationError

from salt_call_support import minion_config_dir, salt_call

VIRTUAL_NAMES = ("lxdapi", "lxd")
#: The state modules of lxdapi: its own and the adapters of Salt 3007's names.
STATE_MODULES = ("lxdapi", "lxd", "lxd_container", "lxd_image", "lxd_profile")
PLACEHOLDER = "x"


def _function(loaded):
    """The function a loader entry calls (Salt wraps each in a LoadedFunc)."""
    return getattr(loaded, "func", loaded)


def _parameters(function):
    return list(inspect.signature(function).parameters.values())


def _required(function):
    return [
        p.name
        for p in _parameters(function)
        if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD
    ]


def _positional(function):
    return [p.name for p in _parameters(function) if p.kind == p.POSITIONAL_OR_KEYWORD]


def _takes(function, kind):
    return any(p.kind == kind for p in _parameters(function))


def _execution_functions(modules):
    names = sorted(name for name in modules if name.split(".")[0] in VIRTUAL_NAMES)
    assert any(n.startswith("lxdapi.") for n in names), "the lxdapi module did not load"
    return names


def _check_invalid(name, function, call, problem):
    """``call()`` raises Salt's "Passed invalid arguments" for ``name``, naming
    ``problem``, with the usage; never an internal error."""
    with pytest.raises(SaltInvocationError) as raised:
        call()
    message = str(raised.value)
    assert message.startswith(f"Passed invalid arguments to {name}: "), message
    assert problem in message, message
    assert "\n\nUsage:\n" in message, message
    usage = inspect.getdoc(function)
    assert usage and message.endswith(usage), message
    assert "internal error" not in message


def test_every_execution_function_refuses_arguments_that_do_not_fit(modules, request_log):
    names = _execution_functions(modules)
    checked = {"missing": 0, "too many": 0, "unknown keyword": 0}
    for name in names:
        loaded = modules[name]
        function = _function(loaded)
        required = _required(function)
        if required:
            _check_invalid(name, function, loaded, f"missing a required argument: {required[0]!r}")
            checked["missing"] += 1
        if not _takes(function, inspect.Parameter.VAR_POSITIONAL):
            extra = [PLACEHOLDER] * (len(_positional(function)) + 1)
            _check_invalid(
                name,
                function,
                lambda loaded=loaded, extra=extra: loaded(*extra),
                "too many positional arguments",
            )
            checked["too many"] += 1
        if not _takes(function, inspect.Parameter.VAR_KEYWORD):
            args = [PLACEHOLDER] * len(required)
            _check_invalid(
                name,
                function,
                lambda loaded=loaded, args=args: loaded(*args, colour="blue"),
                "got an unexpected keyword argument 'colour'",
            )
            checked["unknown keyword"] += 1
    assert all(checked.values()), checked
    assert request_log == [], "arguments are checked before anything is sent"


def test_the_arguments_an_execution_function_catches_are_refused_with_its_usage(modules):
    function = _function(modules["lxdapi.container_get"])
    with pytest.raises(SaltInvocationError) as raised:
        modules.lxdapi.container_get("web1", colour="blue")
    message = str(raised.value)
    assert message.startswith(
        "Passed invalid arguments to lxdapi.container_get: unexpected argument(s): colour."
    )
    assert message.endswith(inspect.getdoc(function))
    # called through another function of ours (get calls request): still the called one
    with pytest.raises(SaltInvocationError, match=r"^Passed invalid arguments to lxdapi\.get: "):
        modules.lxdapi.get("instances", colour="blue")


def test_a_bad_call_between_our_own_functions_is_a_bug(modules, monkeypatch):
    """Arguments that do not fit a function another of ours calls are our mistake, not the
    caller's: an internal error, reported by the function the caller called."""
    globals_ = inspect.unwrap(_function(modules["lxdapi.get"])).__globals__
    wrapped_request = globals_["request"]
    monkeypatch.setitem(globals_, "request", lambda *a, **k: wrapped_request())
    with pytest.raises(CommandExecutionError, match="internal error in get: TypeError"):
        modules.lxdapi.get("instances")


def test_every_state_refuses_an_argument_it_does_not_take(
    loaders, states, unique_name, request_log
):
    raw = salt.loader.states(
        loaders.opts,
        functions=loaders.modules,
        utils=loaders.utils,
        serializers=loaders.serializers,
        context=loaders.context,
    )
    names = sorted(
        name
        for name in raw
        if name.split(".")[0] in STATE_MODULES and not name.split(".")[1].startswith("mod_")
    )
    assert "lxdapi.container_present" in names
    for name in names:
        function = _function(raw[name])
        arguments = dict.fromkeys(_required(function), PLACEHOLDER)
        arguments["name"] = unique_name
        if _takes(function, inspect.Parameter.VAR_KEYWORD):
            ret = loaders.modules.state.single(name, colour="blue", test=True, **arguments)
            assert ret.result is False, (name, ret.comment)
            assert "unexpected argument(s): colour" in ret.comment, (name, ret.comment)
            assert "internal error" not in ret.comment
        else:  # Salt's own check of the states that take no **kwargs
            with pytest.raises(SaltInvocationError, match="'colour' is an invalid keyword"):
                loaders.modules.state.single(name, colour="blue", test=True, **arguments)
    assert request_log.writes == []


@pytest.mark.parametrize(
    "args, problem",
    [
        ((), "missing a required argument: 'name'"),
        (
            ("web1", "web2"),
            "too many positional arguments: it takes at most 1 (name), 2 were given",
        ),
    ],
    ids=["name-missing", "one-too-many"],
)
def test_salt_call_shows_the_usage_and_fails(tmp_path, args, problem):
    proc = salt_call(minion_config_dir(tmp_path), "lxdapi.container_get", *args)
    assert proc.returncode != 0
    # salt-call words it: "Passed invalid arguments: <the error>.", "Usage:", the docstring
    assert f"Passed invalid arguments: lxdapi.container_get: {problem}." in proc.stderr
    assert "\nUsage:\n" in proc.stderr
    assert "Return an instance's metadata" in proc.stdout
    assert "salt '*' lxdapi.container_get" in proc.stdout
    assert "internal error" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
