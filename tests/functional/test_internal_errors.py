"""A bug is reported as a bug: an unexpected exception in the core becomes an internal
error (its traceback in the minion log), never "bad input"; bad input stays bad input.

The bug is made by replacing one core function with one that raises TypeError, as a
mistake in the core would; the daemon is the real one.
"""

import logging

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi_instances
import lxdapi_readiness


def _broken(*args, **kwargs):
    raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")


def test_a_bug_in_a_state_is_an_internal_error_with_its_traceback_logged(
    states, monkeypatch, caplog, request_log
):
    monkeypatch.setattr(lxdapi_readiness, "plan_instance_declared", _broken)
    with caplog.at_level(logging.ERROR):
        ret = states.lxdapi.container_present(name="web-bug", source="busybox")
    assert ret.result is False
    assert ret.comment.startswith("lxdapi internal error in web-bug: TypeError: unsupported")
    assert "a bug, not bad input" in ret.comment
    logged = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert logged and logged[0].exc_info and logged[0].exc_info[0] is TypeError
    assert request_log.writes == []


def test_a_bug_in_an_execution_function_is_an_internal_error(modules, monkeypatch, caplog):
    monkeypatch.setattr(lxdapi_instances, "instance_get", _broken)
    with caplog.at_level(logging.ERROR):
        with pytest.raises(
            CommandExecutionError, match="internal error in container_get: TypeError"
        ):
            modules.lxdapi.container_get("web1")
    assert any(r.exc_info and r.exc_info[0] is TypeError for r in caplog.records)


def test_bad_input_is_still_bad_input(modules, states):
    with pytest.raises(SaltInvocationError, match="timeout must be a number of seconds"):
        modules.lxdapi.container_start("web1", timeout="soon")
    ret = states.lxdapi.container_present(name="web1", status="paused")
    assert ret.result is False and "unknown status 'paused'" in ret.comment
    assert "internal error" not in ret.comment
