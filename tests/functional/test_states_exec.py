"""lxdapi.container_exec (the state): a command run in a real container, with guards run
in the container (onlyif_exec, unless_exec, creates_path), test mode, exit codes and bad
input. (Salt's own onlyif/unless/creates run on the minion's host, as for any state.)"""

import pytest

from resources_support import cleanup  # noqa: F401


@pytest.fixture
def running(lxd, cleanup, unique_name):
    """A running busybox container, deleted at teardown."""
    cleanup(["delete", "--force", unique_name])
    lxd.lxc("launch", "busybox", unique_name)
    return unique_name


def _exists(modules, container, path):
    return modules.lxdapi.container_file_get(container, path) is not False


def test_creates_runs_once_then_never_again(states, modules, running, request_log):
    declared = dict(
        container=running,
        command=["sh", "-c", "echo made > /root/done; echo ok"],
        creates_path="/root/done",
    )
    ret = states.lxdapi.container_exec("make-done", **declared)
    assert ret.result is True, ret.comment
    assert ret.changes == {"retcode": 0, "stdout": "ok\n", "stderr": ""}
    assert "Ran ['sh', '-c'" in ret.comment and "(exit 0)" in ret.comment
    assert modules.lxdapi.container_file_get(running, "/root/done")["content"] == "made\n"

    request_log.clear()
    again = states.lxdapi.container_exec("make-done", **declared)
    assert again.result is True and again.changes == {}
    assert again.comment == f"Not run in {running!r}: /root/done already exists."
    assert request_log.execs == [] and request_log.writes == []


def test_unless_and_onlyif_are_run_in_the_container(states, modules, running, request_log):
    ret = states.lxdapi.container_exec(
        "touch /root/flag", container=running, unless_exec=["test", "-f", "/root/flag"]
    )
    assert ret.result is True and ret.changes["retcode"] == 0, ret.comment
    assert _exists(modules, running, "/root/flag")

    request_log.clear()
    again = states.lxdapi.container_exec(
        "touch /root/flag", container=running, unless_exec="test -f /root/flag"
    )
    assert again.result is True and again.changes == {}
    assert "unless_exec ['test', '-f', '/root/flag'] exited 0" in again.comment
    assert len(request_log.execs) == 1  # the guard only

    skipped = states.lxdapi.container_exec(
        "touch /root/never", container=running, onlyif_exec=["test", "-f", "/root/no-such"]
    )
    assert skipped.result is True and skipped.changes == {}
    assert "onlyif_exec ['test', '-f', '/root/no-such'] exited 1" in skipped.comment
    assert not _exists(modules, running, "/root/never")

    ran = states.lxdapi.container_exec(
        "touch /root/now", container=running, onlyif_exec=["test", "-f", "/root/flag"]
    )
    assert ran.result is True and ran.changes["retcode"] == 0
    assert _exists(modules, running, "/root/now")


def test_test_mode_checks_the_guards_and_runs_nothing(states, modules, running, request_log):
    ret = states.lxdapi.container_exec(
        "touch /root/t", container=running, creates_path="/root/t", test=True
    )
    assert ret.result is None and ret.changes == {}
    assert ret.comment == f"Would have run ['touch', '/root/t'] in {running!r}."
    assert not _exists(modules, running, "/root/t")
    assert request_log.execs == []

    modules.lxdapi.container_file_put(running, "/root/t", contents="")
    ret = states.lxdapi.container_exec(
        "touch /root/t", container=running, creates_path="/root/t", test=True
    )
    assert ret.result is True and ret.changes == {}
    assert "already exists" in ret.comment

    ret = states.lxdapi.container_exec("true", container=running + "-later", test=True)
    assert ret.result is None
    assert "which does not exist now (an earlier state may create or start it)" in ret.comment


def test_exit_codes_env_cwd_and_user(states, running):
    failed = states.lxdapi.container_exec(
        "fails", container=running, command=["sh", "-c", "echo broken >&2; exit 3"]
    )
    assert failed.result is False
    assert failed.changes == {"retcode": 3, "stdout": "", "stderr": "broken\n"}
    assert "exited 3: broken" in failed.comment

    accepted = states.lxdapi.container_exec(
        "fails-fine", container=running, command=["sh", "-c", "exit 3"], success_retcodes=[0, 3]
    )
    assert accepted.result is True and accepted.changes["retcode"] == 3

    env = states.lxdapi.container_exec(
        "env",
        container=running,
        command=["sh", "-c", 'echo "$GREETING $(pwd) $(id -u)"'],
        env={"GREETING": "hi"},
        cwd="/tmp",
        user=1000,
        group=1000,
    )
    assert env.result is True, env.comment
    assert env.changes["stdout"] == "hi /tmp 1000\n"

    quoted = states.lxdapi.container_exec('echo "two words" $HOME', container=running)
    assert quoted.changes["stdout"] == "two words $HOME\n"  # no shell: no expansion


def test_a_stopped_or_missing_container_fails_clearly(states, lxd, running, unique_name):
    lxd.lxc("stop", "--force", running)
    ret = states.lxdapi.container_exec("true", container=running)
    assert ret.result is False
    assert f"instance {running!r} is Stopped, not Running" in ret.comment
    ret = states.lxdapi.container_exec("true", container=unique_name + "-nope")
    assert ret.result is False and "does not exist, not Running" in ret.comment


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(command={"a": 1}), "command must be an argv list or a string"),
        (dict(command=[]), "command must be a non-empty list of words"),
        (dict(command='echo "unclosed'), "cannot be split into words"),
        (dict(unless_exec=5), "unless_exec must be an argv list or a string"),
        (dict(onlyif_exec=[None]), "onlyif_exec must be a non-empty list of words"),
        (dict(creates_path="relative/path"), "creates_path must be an absolute path"),
        (dict(creates_path=[]), "creates_path must be an absolute path or a list of them"),
        (dict(success_retcodes="zero"), "success_retcodes must be a list of exit codes"),
        (dict(cwd="tmp"), "cwd must be an absolute path"),
        (dict(user="root"), "user must be a numeric id"),
        (dict(env=["A=1"]), "env must be a mapping"),
        (dict(shell="/bin/sh"), "unexpected argument(s): shell"),
    ],
)
def test_bad_input_fails_before_anything_runs(states, running, request_log, kwargs, expected):
    ret = states.lxdapi.container_exec("touch /root/bad", container=running, **kwargs)
    assert ret.result is False and expected in ret.comment, ret.comment
    assert ret.changes == {}
    assert request_log.execs == []


def test_salts_own_unless_runs_on_the_host_not_in_the_container(states, modules, running, tmp_path):
    """Why the guards have their own names: Salt's ``unless`` is a requisite of every
    state, checked on the minion's host."""
    on_host = tmp_path / "only-on-the-host"
    on_host.write_text("")
    ret = states.lxdapi.container_exec(
        "touch /root/host-guard", container=running, unless=f"test -f {on_host}"
    )
    assert ret.result is True and ret.changes == {}  # the host has it: skipped
    assert not _exists(modules, running, "/root/host-guard")
