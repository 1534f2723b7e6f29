"""Security: TLS verified by default, secrets never shown, keys written 0600, no shell,
and names that cannot reach another resource.

Secrets are checked by grepping everything a run shows: the debug dump (``DEBUG`` on,
captured from the file descriptors), the log records (every level), the state's comment
and changes, and the error messages.
"""

import ast
import base64
import glob
import json
import logging
import os
import re
import shutil
import stat

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdhost
from conftest import ROOT, core

SECRET = "t8-Sup3r-s3cret-pa55"

KEY_HEADER = "-----BEGIN PRIVATE KEY-----"


@pytest.fixture(scope="module")
def https_daemon():
    """A private daemon answering HTTPS on 127.0.0.1 (its own LXD_DIR in a 0755 folder):
    ``(lxd_dir, socket, endpoint, server certificate path)``; stopped at the end."""
    base = lxdhost.make_base_dir("lxdapi-t8-tls-")
    lxd_dir = os.path.join(base, "lxd")
    try:
        address = f"127.0.0.1:{lxdhost.free_port()}"
        sock = lxdhost.start_https_daemon(lxd_dir, address)
        server_cert = os.path.join(base, "server.crt")
        with open(server_cert, "w") as fh:
            fh.write(lxdhost.server_certificate(lxd_dir))
        yield lxd_dir, sock, "https://" + address, server_cert
    finally:
        lxdhost.stop_daemon(lxd_dir)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def shown(capfd, caplog, monkeypatch):
    """Turn the debug dump on and return ``shown()``: all a run has printed and logged
    so far (stdout, stderr and every log record but the test harness's own, which
    echoes the arguments the test passes)."""
    monkeypatch.setenv("DEBUG", "1")
    caplog.set_level(logging.DEBUG)

    def everything():
        out, err = capfd.readouterr()
        everything.text += (
            out
            + err
            + "\n".join(
                f"{r.name} {r.getMessage()}"
                for r in caplog.records
                if not r.name.startswith("saltfactories")
            )
        )
        caplog.clear()
        return everything.text

    everything.text = ""
    return everything


def key_body(pem):
    """The base64 lines of a PEM (what must never be shown, whatever the framing).

    A PEM's short last line (``Xw==``) may turn up by chance in other base64 text, such as
    a certificate in the dump, so only lines long enough to mean a leak are kept.
    """
    return [line for line in pem.splitlines() if len(line) >= 32 and not line.startswith("-----")]


def assert_not_shown(text, *secrets):
    for secret in secrets:
        if isinstance(secret, list):  # lines of a key
            for line in secret:
                assert line not in text
        else:
            assert secret not in text


# -------------------------------------------------------------------------------- TLS


def test_tls_verification_is_on_by_default(https_daemon, modules):
    _, _, endpoint, _ = https_daemon
    api = core.API.factory(endpoint)
    assert api.session.verify is True
    settings = core.resolve_connection({"endpoint": endpoint})
    assert core.cached_api(settings, {}).session.verify is True

    # LXD's self-signed certificate is refused (no silent fallback to unverified).
    with pytest.raises(core.APIConnectionError) as info:
        api.get("")
    assert f"TLS with {endpoint} failed" in str(info.value)
    assert "certificate verify failed" in str(info.value)
    with pytest.raises(CommandExecutionError, match="certificate verify failed"):
        modules.lxdapi.info(endpoint=endpoint)


def test_verify_false_warns(https_daemon, caplog, modules):
    _, _, endpoint, _ = https_daemon
    with caplog.at_level(logging.WARNING):
        api = core.API.factory(endpoint, verify=False)
    assert api.session.verify is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"TLS verification is off for {endpoint}" in r.getMessage() for r in warnings), (
        caplog.text
    )
    assert api.get("").metadata["auth"] == "untrusted"

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert modules.lxdapi.info(endpoint=endpoint, verify=False)
    assert f"TLS verification is off for {endpoint}" in caplog.text


def test_pinned_server_certificate_needs_no_verify_false(https_daemon, caplog):
    _, _, endpoint, server_cert = https_daemon
    with caplog.at_level(logging.WARNING):
        api = core.API.factory(endpoint, server_cert=server_cert)
        assert api.get("").metadata["auth"] == "untrusted"
    assert "verification is off" not in caplog.text


# ----------------------------------------------------------- secrets are never shown


def test_trust_password_and_client_key_are_never_shown(https_daemon, modules, shown, tmp_path):
    lxd_dir, sock, endpoint, server_cert = https_daemon
    # The trust password, set through the raw API with the debug dump on.
    modules.lxdapi.patch("/1.0", {"config": {"core.trust_password": SECRET}}, endpoint=sock)
    text = shown()
    assert "PATCH" in text and "core.trust_password" in text  # the dump ran
    assert core.REDACTED in text
    assert_not_shown(text, SECRET)

    made = modules.lxdapi.client_certificate_create(path_prefix=str(tmp_path / "client"))
    with open(made["key"]) as fh:
        key_pem = fh.read()
    assert KEY_HEADER in key_pem or "PRIVATE KEY" in key_pem
    assert_not_shown(json.dumps(made), KEY_HEADER, key_body(key_pem))

    conn = {
        "endpoint": endpoint,
        "cert": made["cert"],
        "key": made["key"],
        "server_cert": server_cert,
    }
    with pytest.raises(CommandExecutionError) as info:
        modules.lxdapi.authenticate(password=SECRET + "-wrong", **conn)
    assert "refused the trust password" in str(info.value)
    assert_not_shown(str(info.value), SECRET)

    result = modules.lxdapi.authenticate(password=SECRET, **conn)
    assert result["trusted"] is True
    text = shown()
    assert "POST" in text and "/1.0/certificates" in text
    assert_not_shown(text, SECRET, KEY_HEADER, key_body(key_pem))
    lxdhost.lxc(lxd_dir, "config", "unset", "core.trust_password")


def test_trust_token_is_never_shown(https_daemon, modules, shown, tmp_path):
    lxd_dir, sock, endpoint, server_cert = https_daemon
    token = modules.lxdapi.certificate_token_create("t8-token-client", endpoint=sock)
    secret = json.loads(base64.b64decode(token))["secret"]
    text = shown()
    assert "/1.0/certificates" in text and core.REDACTED in text
    assert_not_shown(text, secret)

    made = modules.lxdapi.client_certificate_create(path_prefix=str(tmp_path / "tok"))
    result = modules.lxdapi.authenticate(
        token=token, endpoint=endpoint, cert=made["cert"], key=made["key"], server_cert=server_cert
    )
    assert result["trusted"] is True
    assert_not_shown(shown(), secret, token)
    lxdhost.lxc(lxd_dir, "config", "trust", "remove", result["fingerprint"], check=False)


def test_private_key_in_a_request_body_is_redacted(lxd, shown):
    key_pem = open(_client_key(lxd)).read()
    api = lxd.api(debug=True)
    body = {
        "type": "client",
        "name": "t8-not-a-cert",
        "certificate": "not a certificate",
        "description": key_pem,
        "nested": [{"value": key_pem}],
    }
    with pytest.raises(core.APIException) as info:
        api.post("certificates", json=body)
    text = shown()
    assert "POST" in text and core.REDACTED in text
    assert_not_shown(text + str(info.value), key_body(key_pem))
    assert core.redact(body)["description"] == core.REDACTED
    assert core.redact(body)["nested"][0]["value"] == core.REDACTED


def _client_key(lxd):
    """A throwaway private key (PEM) in the session daemon's folder."""
    path = os.path.join(os.path.dirname(lxd.lxd_dir), "t8-throwaway.key")
    if not os.path.exists(path):
        lxdhost.make_client_certificate(path + ".crt", path)
    return path


def test_secret_config_values_stay_out_of_state_changes(states, api, lxd, unique_name, shown):
    try:
        ret = states.lxdapi.profile_present(
            name=unique_name,
            config={"user.db_password": SECRET, "user.api_token": SECRET, "user.plain": "visible"},
            test=True,
        )
        assert ret.result is None
        assert ret.changes["config"]["new"]["user.db_password"] == core.REDACTED
        ret = states.lxdapi.profile_present(
            name=unique_name,
            config={"user.db_password": SECRET, "user.api_token": SECRET, "user.plain": "visible"},
        )
        assert ret.result is True, ret.comment
        assert ret.changes["config"]["new"] == {
            "user.db_password": core.REDACTED,
            "user.api_token": core.REDACTED,
            "user.plain": "visible",
        }
        assert_not_shown(json.dumps(ret.changes) + ret.comment + shown(), SECRET)
        # LXD holds the real value.
        held = json.loads(lxd.lxc("query", "/1.0/profiles/" + unique_name))["config"]
        assert held["user.db_password"] == SECRET
    finally:
        lxd.lxc("profile", "delete", unique_name, check=False)


def test_file_contents_and_exec_environment_are_never_shown(
    states, modules, lxd, unique_name, shown
):
    key_pem = open(_client_key(lxd)).read()
    lxd.lxc("launch", "busybox", unique_name)
    try:
        ret = states.lxdapi.file_managed(
            container=unique_name, name="/root/id.key", contents=key_pem, mode="0600"
        )
        assert ret.result is True, ret.comment
        assert ret.changes["content"]["new"].startswith("sha256:")
        # A changed key is reported by digest only: no diff, whose context lines would
        # show the key's body without its PEM markers.
        other_pem = key_pem.replace(key_body(key_pem)[1], key_body(key_pem)[1][::-1])
        changed = states.lxdapi.file_managed(
            container=unique_name, name="/root/id.key", contents=other_pem, mode="0600"
        )
        assert changed.result is True, changed.comment
        assert set(changed.changes["content"]) == {"old", "new"}
        out = modules.lxdapi.container_exec(
            unique_name,
            ["sh", "-c", 'test "$DB_PASSWORD" = "$EXPECTED_PASSWORD" && echo same'],
            env={"DB_PASSWORD": SECRET, "EXPECTED_PASSWORD": SECRET},
        )
        assert out["stdout"] == "same\n"
        text = shown()
        assert "/exec" in text and core.REDACTED in text
        assert_not_shown(
            text
            + json.dumps(ret.changes)
            + ret.comment
            + json.dumps(changed.changes)
            + changed.comment,
            SECRET,
            key_body(key_pem),
            key_body(other_pem),
        )
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)


# --------------------------------------------------------------- keys written 0600


def test_generated_keys_are_written_0600(modules, tmp_path):
    old_umask = os.umask(0)  # even with a careless umask
    try:
        made = modules.lxdapi.client_certificate_create(path_prefix=str(tmp_path / "c"))
        assert stat.S_IMODE(os.stat(made["key"]).st_mode) == 0o600
        assert made["created"] is True
        made = modules.lxdapi.client_certificate_create(
            path_prefix=str(tmp_path / "c"), overwrite=True
        )
        assert stat.S_IMODE(os.stat(made["key"]).st_mode) == 0o600
        new_dir = tmp_path / "new" / "folder"
        made = modules.lxdapi.client_certificate_create(path_prefix=str(new_dir / "c"))
        assert stat.S_IMODE(os.stat(made["key"]).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(new_dir).st_mode) == 0o700
    finally:
        os.umask(old_umask)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# ------------------------------------------------------------------- no shell anywhere


@pytest.fixture
def running(lxd, unique_name):
    lxd.lxc("launch", "busybox", unique_name)
    yield unique_name
    lxd.lxc("delete", "--force", unique_name, check=False)


def test_exec_refuses_a_command_string(modules, running):
    with pytest.raises(SaltInvocationError, match="argv list"):
        modules.lxdapi.container_exec(running, "echo hi; touch /tmp/x")
    assert modules.lxdapi.container_exec(running, ["test", "-e", "/tmp/x"])["retcode"] == 1


@pytest.mark.parametrize(
    "argument",
    [
        "a; touch /tmp/x",
        "$(touch /tmp/x)",
        "`touch /tmp/x`",
        "a && touch /tmp/x",
        "a | touch /tmp/x",
        "a > /tmp/x",
        "'a'\"b\"\\c *",
    ],
)
def test_shell_metacharacters_are_passed_literally(modules, running, argument):
    out = modules.lxdapi.container_exec(running, ["echo", argument])
    assert out == {"retcode": 0, "stdout": argument + "\n", "stderr": ""}
    assert modules.lxdapi.container_exec(running, ["test", "-e", "/tmp/x"])["retcode"] == 1


def product_files():
    """Every Python file the product is made of: the core's parts, the Salt modules, the
    beacon, the package's entry point."""
    found = []
    for folder in ("_utils", "_modules", "_states", "_beacons", "saltext_lxdapi"):
        found += sorted(glob.glob(os.path.join(ROOT, folder, "*.py")))
    return found


def test_the_shell_scan_covers_every_part_of_the_core():
    scanned = {os.path.relpath(p, ROOT) for p in product_files()}
    assert "_utils/lxdapi_trust.py" in scanned  # where the one subprocess call lives
    import lxdapi_loader

    assert {f"_utils/{m}.py" for m in lxdapi_loader.MODULES} <= scanned


def shell_uses(tree):
    """Where ``tree`` runs a shell: ``shell=True``, ``os.system``, ``os.popen``, a command
    given as one string; ``[(line, what), ...]``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = ast.unparse(node.func)
        if func in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"):
            found.append((node.lineno, func))
        for keyword in node.keywords:
            if keyword.arg == "shell" and ast.unparse(keyword.value) != "False":
                found.append((node.lineno, "shell=" + ast.unparse(keyword.value)))
        if func.startswith("subprocess.") and node.args:
            if isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                found.append((node.lineno, "a command as one string"))
    return found


def shipped_code(tree):
    """The Python programs a file holds as string constants (what the product sends into
    instances to run there, such as the runner of Salt inside): every string constant
    that parses as Python with an import in it, its ``@NAME@`` placeholders (filled in
    before it is sent) read as ``0``."""
    programs = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "import " in node.value
        ):
            text = re.sub(r"@[A-Z_]+@", "0", node.value)
            try:
                program = ast.parse(text)
            except SyntaxError:
                continue  # prose that mentions an import
            if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(program)):
                programs.append((node.lineno, program))
    return programs


def test_the_shell_scan_reads_the_code_shipped_as_strings():
    tree = ast.parse(open(os.path.join(ROOT, "_utils", "lxdapi_inside.py")).read())
    shipped = shipped_code(tree)
    assert shipped, "the runner sent into instances is not found"
    assert any(
        isinstance(n, ast.Call) and ast.unparse(n.func) == "subprocess.Popen"
        for _, program in shipped
        for n in ast.walk(program)
    )
    # and what it reads there, it checks: a shell in a shipped program is found
    planted = ast.parse(repr("import os\nos.system('id')\n"))
    assert [what for _, p in shipped_code(planted) for _, what in shell_uses(p)] == ["os.system"]


def test_no_shell_in_the_code():
    """No ``shell=True``, ``os.system`` or ``os.popen``, and no command given as one
    string, anywhere in the product: its files, and the programs they ship as strings into
    instances."""
    for path in product_files():
        tree = ast.parse(open(path).read())
        assert shell_uses(tree) == [], path
        for line, program in shipped_code(tree):
            assert shell_uses(program) == [], (path, "the program at line", line)


# ----------------------------------------------------- names cannot reach another one


def tricky_names(victim):
    return [
        victim + "/../" + victim,
        "x/../../profiles/" + victim,
        victim + "?recursion=1",
        victim + "#x",
        "..%2F" + victim,
        "%2e%2e/" + victim,
        victim + "/",
        "./" + victim,
        "..",
        ".",
        victim + "%00",
    ]


@pytest.fixture
def victim(lxd, unique_name):
    """A profile and a stopped container named ``victim-...`` (the container has a
    snapshot ``snap0`` and uses the profile); both removed at teardown."""
    name = "victim-" + unique_name[-6:]
    lxd.lxc("profile", "create", name)
    lxd.lxc("profile", "set", name, "user.mark", "1")
    lxd.lxc("init", "busybox", name, "-p", "default", "-p", name)
    lxd.lxc("snapshot", name, "snap0")
    yield name
    lxd.lxc("delete", "--force", name, check=False)
    lxd.lxc("profile", "delete", name, check=False)


def _outcome(call):
    """What a call gave: its value, or the Salt error (never another exception)."""
    try:
        return call()
    except (SaltInvocationError, CommandExecutionError) as exc:
        assert "Traceback" not in str(exc)
        return exc


def test_names_cannot_reach_another_resource(modules, states, lxd, api, victim, request_log):
    profile_before = json.loads(lxd.lxc("query", "/1.0/profiles/" + victim))
    instance_before = json.loads(lxd.lxc("query", "/1.0/instances/" + victim))
    for name in tricky_names(victim):
        got = _outcome(lambda name=name: modules.lxdapi.profile_get(name))
        assert got is False or isinstance(got, Exception), (name, got)
        got = _outcome(lambda name=name: modules.lxdapi.container_get(name))
        assert got is False or isinstance(got, Exception), (name, got)
        got = _outcome(lambda name=name: modules.lxdapi.profile_delete(name))
        assert got is False or isinstance(got, Exception), (name, got)
        got = _outcome(
            lambda name=name: modules.lxdapi.profile_update(name, config={"user.mark": 2})
        )
        assert isinstance(got, Exception), (name, got)
        got = _outcome(lambda name=name: modules.lxdapi.container_delete(name, force=True))
        assert got is False or isinstance(got, Exception), (name, got)
        got = _outcome(lambda name=name: modules.lxdapi.snapshot_delete(victim, name))
        assert got is False or isinstance(got, Exception), (name, got)

        ret = states.lxdapi.profile_absent(name=name)
        assert ret.changes == {}, name
        assert ret.result is False or "already absent" in ret.comment, (name, ret.comment)
        ret = states.lxdapi.container_absent(name=name)
        assert ret.result is False and ret.changes == {}, (name, ret.comment)
        assert "invalid instance name" in ret.comment or "cannot be a name" in ret.comment
        ret = states.lxdapi.snapshot_absent(container=victim, name=name)
        assert ret.changes == {}, (name, ret.comment)
        assert ret.result is False or "already absent" in ret.comment, (name, ret.comment)

    # Every write went to a URL of its own (and was refused); none reached the victims.
    victims = {
        api.absolute_url(u)
        for u in (
            "profiles/" + victim,
            "instances/" + victim,
            f"instances/{victim}/snapshots/snap0",
        )
    }
    assert not [w for w in request_log.writes if w[1] in victims or w[2] < 400]
    assert json.loads(lxd.lxc("query", "/1.0/profiles/" + victim)) == profile_before
    after = json.loads(lxd.lxc("query", "/1.0/instances/" + victim))
    assert after == instance_before
    assert json.loads(lxd.lxc("query", f"/1.0/instances/{victim}/snapshots")) == [
        f"/1.0/instances/{victim}/snapshots/snap0"
    ]


def test_dot_names_are_refused_before_any_request(api):
    for name in (".", ".."):
        with pytest.raises(ValueError, match="cannot be a name"):
            api.path("instances", "web1", "snapshots", name)
    https = core.API.factory("https://127.0.0.1:1")
    assert https.path("profiles", "a/../b?c#d") == "profiles/a%2F..%2Fb%3Fc%23d"
    assert https.path("profiles", "%2e%2e/x") == "profiles/%252e%252e%2Fx"
