"""Salt inside an instance with no minion there: ``lxdapi.call``, ``lxdapi.grains``,
``lxdapi.sls`` and the ``lxdapi.sls_applied`` state, through Salt's loaders, against a
real Debian 12 container (python3, no Salt installed) on each server.

What the inner states did is read back from the instance through LXD (a file's content,
a folder listing), not taken from the return.
"""

import hashlib
import os
import subprocess
import textwrap
import uuid

import pytest

GUEST_ROOT = "/var/cache/lxdapi"


@pytest.fixture(scope="module")
def guest(lxd, debian_image):
    """A running Debian container (python3, no Salt), shared by this module's tests."""
    name = "t-inside-" + uuid.uuid4().hex[:6]
    lxd.lxc("launch", debian_image, name)
    yield name
    lxd.lxc("delete", "--force", name, check=False)


@pytest.fixture
def sls_dir(minion_opts):
    """A fresh SLS folder in the host's file_roots: ``(sls name, folder path)``."""

    name = "inside_" + uuid.uuid4().hex[:6]
    path = os.path.join(minion_opts["file_roots"]["base"][0], name)
    os.makedirs(path)
    return name, path


def _exists(modules, guest, path):
    """Whether ``path`` exists in the guest (as the server's file API answers)."""
    return modules.lxdapi.container_file_get(guest, path) is not False


def _processes(lxd, guest):
    """The command lines of the processes running in the guest (read from /proc)."""
    script = (
        "import os\n"
        "for p in os.listdir('/proc'):\n"
        "    if p.isdigit():\n"
        "        try:\n"
        "            print(open('/proc/%s/cmdline' % p).read().replace('\\0', ' '))\n"
        "        except OSError:\n"
        "            pass\n"
    )
    return lxd.lxc("exec", guest, "--", "python3", "-c", script).splitlines()


def _file_writes(request_log):
    return [(m, u) for m, u, _ in request_log if m != "GET" and "/files" in u]


# ---------------------------------------------------------------- lxdapi.call


def test_call_ships_the_thin_once_and_runs_the_function_inside(modules, lxd, guest, request_log):
    modules.lxdapi.thin_purge(guest)
    request_log.clear()
    assert modules.lxdapi.call(guest, "test.ping") is True
    shipped = _file_writes(request_log)
    assert any(".upload-" in u for _, u in shipped), shipped  # the thin went in

    held = modules.lxdapi.container_file_get(guest, GUEST_ROOT)
    assert (held["type"], held["mode"], held["uid"]) == ("directory", "0700", 0)  # root only
    assert [e for e in held["entries"] if e.startswith("salt-")], held

    request_log.clear()
    assert modules.lxdapi.call(guest, "test.ping") is True
    assert _file_writes(request_log) == []  # found by its digest: nothing shipped
    assert len(request_log.execs) == 1


def test_call_sees_the_instances_own_grains(modules, guest):
    grains = modules.lxdapi.call(guest, "grains.item", "os", "osrelease", "id")
    assert grains == {"os": "Debian", "osrelease": "12", "id": guest}
    assert modules.lxdapi.grains(guest, "os") == {"os": "Debian"}
    everything = modules.lxdapi.grains(guest)
    assert everything["os_family"] == "Debian" and everything["id"] == guest


def test_call_file_write_changes_the_instance(modules, lxd, guest):
    path = "/root/motd-" + uuid.uuid4().hex[:6]
    assert modules.lxdapi.call(guest, "file.write", path, "managed by salt") == (
        f'Wrote 1 lines to "{path}"'
    )
    assert lxd.file_text(guest, path) == "managed by salt\n"


def test_call_passes_keyword_arguments_and_kwarg(modules, guest):
    out = modules.lxdapi.call(
        guest, "cmd.run", "echo $LXDAPI_T", env={"LXDAPI_T": "seen"}, python_shell=True
    )
    assert out == "seen"
    out = modules.lxdapi.call(
        guest, "cmd.run_all", "sleep 5", kwarg={"timeout": 1}, python_shell=True
    )
    assert out["retcode"] != 0 and "Timed out" in (out.get("stdout", "") + out["stderr"])


def test_nothing_is_left_running_or_readable(modules, lxd, guest):
    modules.lxdapi.call(guest, "test.sleep", 1)
    assert not [p for p in _processes(lxd, guest) if "salt-call" in p]
    left = modules.lxdapi.container_file_get(guest, GUEST_ROOT)["entries"]
    assert not [e for e in left if e.startswith((".run-", ".job-", ".upload-", ".unpack-"))]
    held = modules.lxdapi.container_file_get(guest, GUEST_ROOT)
    assert (held["type"], held["mode"], held["uid"]) == ("directory", "0700", 0)


def test_a_function_past_its_timeout_is_killed(modules, lxd, guest):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.call(guest, "test.sleep", 30, timeout=2)
    assert str(info.value) == (f"test.sleep in {guest!r} did not finish within 2 s; it was killed")
    with pytest.raises(CommandExecutionError, match="did not finish within 2 s"):
        modules.lxdapi.call(guest, "cmd.run", "sleep 31", timeout=2)  # a child of salt-call
    left = [p for p in _processes(lxd, guest) if "salt-call" in p or "sleep 31" in p]
    assert left == []


def test_a_non_zero_return_code_is_an_error_that_says_so(modules, guest):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.call(guest, "test.retcode", 3)
    assert str(info.value) == (f"test.retcode in {guest!r} failed with return code 3: True")


def test_a_failing_function_is_an_error_that_says_so(modules, guest):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.call(guest, "no_such_module.func")
    assert str(info.value) == (
        f"no_such_module.func in {guest!r} failed (salt-call exited 255): 'no_such_module.func' "
        "is not available."
    )


def test_an_instance_without_python_fails_clearly(modules, lxd, unique_name):
    from salt.exceptions import CommandExecutionError

    lxd.lxc("launch", "busybox", unique_name)
    try:
        with pytest.raises(CommandExecutionError) as info:
            modules.lxdapi.call(unique_name, "test.ping")
        assert f"instance {unique_name!r} has no python3" in str(info.value)
        assert not _exists(modules, unique_name, GUEST_ROOT)  # nothing was shipped
    finally:
        lxd.lxc("delete", "--force", unique_name)


def test_a_stopped_or_missing_instance_fails_clearly(modules, lxd, debian_image, unique_name):
    from salt.exceptions import CommandExecutionError

    lxd.lxc("init", debian_image, unique_name)
    try:
        with pytest.raises(CommandExecutionError) as info:
            modules.lxdapi.call(unique_name, "test.ping")
        assert str(info.value) == (
            f"instance {unique_name!r} is Stopped: Salt runs inside a running instance only (start "
            "it first)"
        )
    finally:
        lxd.lxc("delete", "--force", unique_name)
    with pytest.raises(CommandExecutionError, match="does not exist"):
        modules.lxdapi.call(unique_name, "test.ping")


@pytest.mark.parametrize(
    "args, kwargs, expected",
    [
        (("ping",), {}, "fun must name a Salt function"),
        (("test.ping",), {"kwarg": "x"}, "kwarg must be a mapping"),
        (("test.ping",), {"timeout": "soon"}, "timeout"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    modules, guest, request_log, args, kwargs, expected
):
    from salt.exceptions import SaltInvocationError

    with pytest.raises(SaltInvocationError, match=expected):
        modules.lxdapi.call(guest, *args, **kwargs)
    assert request_log.writes == []


def test_clean_and_thin_purge_remove_everything(modules, lxd, guest):
    assert modules.lxdapi.call(guest, "test.ping", clean=True) is True
    assert not _exists(modules, guest, GUEST_ROOT)
    assert modules.lxdapi.thin_purge(guest) is False
    modules.lxdapi.call(guest, "test.ping")
    assert _exists(modules, guest, GUEST_ROOT)
    assert modules.lxdapi.thin_purge(guest) is True
    assert not _exists(modules, guest, GUEST_ROOT)


# ---------------------------------------------------------------- sls_applied

SLS = """\
motd:
  file.managed:
    - name: {motd}
    - contents: {{{{ pillar['greeting'] }}}}
    - mode: "0640"

made-once:
  cmd.run:
    - name: echo made > {flag}
    - creates: {flag}
"""


def _write_sls(sls_dir, text, **names):
    name, path = sls_dir
    with open(path + "/init.sls", "w") as fh:
        fh.write(textwrap.dedent(text).format(**names))
    return name


def test_sls_applied_changes_by_inner_id_then_nothing(
    states, modules, lxd, guest, sls_dir, request_log
):
    motd = "/root/motd-" + uuid.uuid4().hex[:6]
    flag = "/root/flag-" + uuid.uuid4().hex[:6]
    mods = _write_sls(sls_dir, SLS, motd=motd, flag=flag)
    declared = dict(container=guest, mods=mods, pillar={"greeting": "hello from salt"})

    ret = states.lxdapi.sls_applied("inside", **declared)
    assert ret.result is True, ret.comment
    assert sorted(ret.changes) == ["made-once", "motd"]
    assert ret.changes["motd"]["diff"] == "New file"
    assert ret.changes["made-once"]["retcode"] == 0
    assert ret.comment == f"Changed 2 of 2 states in {guest!r}: motd, made-once."
    assert lxd.file_text(guest, motd) == "hello from salt\n"
    assert modules.lxdapi.container_file_get(guest, motd)["mode"] == "0640"
    assert lxd.file_text(guest, flag) == "made\n"

    request_log.clear()
    again = states.lxdapi.sls_applied("inside", **declared)
    assert again.result is True, again.comment
    assert again.changes == {}
    assert again.comment == f"All 2 states in {guest!r} are as declared."
    assert _file_writes(request_log) == []  # nothing shipped, no config written
    assert len(request_log.execs) == 1  # the test run that found nothing to do
    assert not [r for r in request_log if r[0] in ("PUT", "PATCH")]


def test_sls_applied_test_mode_predicts_and_changes_nothing(states, modules, guest, sls_dir):
    motd = "/root/motd-" + uuid.uuid4().hex[:6]
    flag = "/root/flag-" + uuid.uuid4().hex[:6]
    mods = _write_sls(sls_dir, SLS, motd=motd, flag=flag)
    ret = states.lxdapi.sls_applied(
        "inside", container=guest, mods=mods, pillar={"greeting": "hi"}, test=True
    )
    assert ret.result is None, ret.comment
    assert sorted(ret.changes) == ["made-once", "motd"]
    assert ret.changes["motd"]["newfile"] == motd
    assert ret.changes["made-once"] == {"cmd": f"echo made > {flag}"}
    assert ret.comment.startswith(f"Would have changed 2 of 2 states in {guest!r}")
    assert not _exists(modules, guest, motd) and not _exists(modules, guest, flag)


def test_a_failing_inner_state_fails_with_its_comment(states, lxd, guest, sls_dir):
    made = "/root/made-" + uuid.uuid4().hex[:6]
    mods = _write_sls(
        sls_dir,
        """\
        made:
          file.managed:
            - name: {made}
            - contents: ok

        broken:
          cmd.run:
            - name: "echo no such luck >&2; exit 4"
        """,
        made=made,
    )
    ret = states.lxdapi.sls_applied(mods, container=guest)
    assert ret.result is False
    assert ret.comment.startswith(f"1 of 2 states failed in {guest!r}: broken: ")
    assert "retcode" in ret.comment or "4" in ret.comment
    assert ret.changes["made"]["diff"] == "New file"  # the other state went through
    assert ret.changes["broken"]["retcode"] == 4
    assert lxd.file_text(guest, made) == "ok\n"


def test_an_sls_that_does_not_render_fails_with_salts_words(states, guest, sls_dir):
    mods = _write_sls(sls_dir, "oops: {{{{ undefined_thing() }}}}\n")
    ret = states.lxdapi.sls_applied(mods, container=guest)
    assert ret.result is False and ret.changes == {}
    assert f"did not apply in {guest!r}" in ret.comment
    assert "undefined" in ret.comment.lower()
    missing = states.lxdapi.sls_applied("no_such_sls_here", container=guest)
    assert missing.result is False
    assert "No matching sls found for 'no_such_sls_here'" in missing.comment


def test_sls_applied_on_a_stopped_or_missing_instance(
    states, lxd, debian_image, unique_name, request_log
):
    lxd.lxc("init", debian_image, unique_name)
    try:
        ret = states.lxdapi.sls_applied("x", container=unique_name)
        assert ret.result is False
        assert ret.comment == f"cannot apply x in {unique_name!r}: it is Stopped, not Running"
        predicted = states.lxdapi.sls_applied("x", container=unique_name, test=True)
        assert predicted.result is None
        assert "which is Stopped now (an earlier state may create or start it)" in (
            predicted.comment
        )
        assert request_log.execs == []
    finally:
        lxd.lxc("delete", "--force", unique_name)


def test_module_sls_returns_the_inner_states(modules, lxd, guest, sls_dir):
    path = "/root/sls-" + uuid.uuid4().hex[:6]
    mods = _write_sls(
        sls_dir, "w:\n  file.managed:\n    - name: {path}\n    - contents: x\n", path=path
    )
    predicted = modules.lxdapi.sls(guest, mods, test=True)
    (key,) = predicted
    assert key == f"file_|-w_|-{path}_|-managed"
    assert predicted[key]["result"] is None
    assert not _exists(modules, guest, path)
    done = modules.lxdapi.sls(guest, [mods])
    assert done[key]["result"] is True and done[key]["changes"]
    assert lxd.file_text(guest, path) == "x\n"


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"mods": [1]}, "mods must be SLS names (such as nginx or web.tls), not 1"),
        ({"mods": "a b"}, "mods must be SLS names"),
        ({"saltenv": 5}, "saltenv must be a name, not 5"),
        ({"timeout": "soon"}, "timeout"),
        ({"colour": "blue"}, "unexpected argument(s): colour"),
    ],
)
def test_sls_applied_bad_input_fails_before_anything_runs(
    states, guest, request_log, kwargs, expected
):
    ret = states.lxdapi.sls_applied("x", container=guest, **kwargs)
    assert ret.result is False and ret.changes == {}
    assert expected in ret.comment, ret.comment
    assert "Traceback" not in ret.comment and "internal error" not in ret.comment
    assert request_log.execs == [] and request_log.writes == []


def test_sls_bad_pillar_is_refused_before_anything_runs(modules, guest, request_log):
    from salt.exceptions import SaltInvocationError

    with pytest.raises(SaltInvocationError, match="pillar must be a mapping, not 'port: 80'"):
        modules.lxdapi.sls(guest, "x", pillar="port: 80")
    assert request_log.execs == [] and request_log.writes == []


def test_the_pillar_leaves_no_trace_inside_or_in_the_servers_records(modules, lxd, guest, sls_dir):
    secret = "t-pillar-secret-" + uuid.uuid4().hex
    mods = _write_sls(
        sls_dir,
        "seen:\n  test.succeed_without_changes:\n"
        "    - name: {{{{ pillar.get('pw', '') | sha256 }}}}\n",
    )
    ret = modules.lxdapi.sls(guest, mods, pillar={"pw": secret})
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert [e["name"] for e in ret.values()] == [digest]  # it reached the states
    # the server's records first (the search below is an exec of its own)
    assert secret not in lxd.lxc("query", "/1.0/operations?recursion=1")
    records = [os.path.join(lxd.lxd_dir, p) for p in ("database", "logs")]
    found = subprocess.run(["grep", "-rl", secret, *records], capture_output=True, text=True)
    assert found.stdout == ""
    half = len(secret) // 2  # not the whole secret on a command line of this test's
    inside = lxd.lxc(
        "exec",
        guest,
        "--",
        "sh",
        "-c",
        'grep -rl "$0$1" /var/cache/lxdapi /tmp /var/tmp /root /run || true',
        secret[:half],
        secret[half:],
    )
    assert inside == ""
