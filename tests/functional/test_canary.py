"""The canary of the request log: it sees what the Salt-loaded modules send, and it would
fail, were they to use another copy of the core than the one the tests observe."""

import importlib.util
import os
import types

import pytest

from conftest import ROOT, check_same_core, core, loaded_core, observed


def other_copy_of_the_core():
    """``_utils/lxdapi.py`` executed a second time, under another name: what the Salt
    loaders would hold if they reached the core some other way."""
    spec = importlib.util.spec_from_file_location(
        "lxdapi_canary_copy", os.path.join(ROOT, "_utils", "lxdapi.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_loaded_modules_use_the_observed_core(modules, request_log):
    assert loaded_core(modules.lxdapi.request) is core
    modules.lxdapi.get("")
    assert [r[0] for r in request_log] == ["GET"]


def test_the_checks_fail_on_another_core(lxd):
    other = other_copy_of_the_core()
    assert other.APIException is not core.APIException
    stray = types.FunctionType((lambda: None).__code__, {"core": other})
    with pytest.raises(AssertionError, match="another core"):
        check_same_core(stray)
    # Requests through the other copy are invisible to the tests' observers.
    assert observed(lambda: other.API.factory(lxd.socket).get("")) == []
    assert observed(lambda: core.API.factory(lxd.socket).get("")) != []
