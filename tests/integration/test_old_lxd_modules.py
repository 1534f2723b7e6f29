"""Salt 3007's lxd state names on lxdapi's core: SLS files written the way users of the
old ``lxd_container`` and ``lxd_profile`` states wrote them (the examples of their own
documentation), applied with salt-call against the real daemon through a counting proxy.

On Salt 3008 they load by default; on 3006/3007, where Salt has its own modules of those
names, only with ``lxdapi: {replace_builtin_lxd: True}``.
"""

import pytest
import salt.version
from test_aggregate import proxy, salt_call  # noqa: F401 - proxy is a fixture

import lxdhost
from conftest import core

pytestmark = pytest.mark.integration

OLD_LINE = salt.version.__saltstack_version__.info < (3008,)
OPTIONS = {"replace_builtin_lxd": True} if OLD_LINE else {}


def held(api, name, kind="instances"):
    return api.get(f"{kind}/{name}").metadata


def old_sls(prefix):
    return f"""
    {prefix}-autostart:
      lxd_profile.present:
        - description: Autostarts the container
        - config:
            boot.autostart: true
            boot.autostart.delay: 2

    {prefix}-web:
      lxd_container.present:
        - running: True
        - source: busybox
        - profiles:
          - default
          - {prefix}-autostart
        - config:
          - key: user.role
            value: web
          - key: limits.processes
            value: 100
        - require:
          - lxd_profile: {prefix}-autostart

    {prefix}-worker:
      lxd_container.present:
        - running: False
        - source:
            type: image
            alias: busybox
        - config:
            user.role: worker
    """


def test_old_container_and_profile_states_converge_then_nothing_changes(
    tmp_path,
    lxd,
    api,
    proxy,
    unique_name,  # noqa: F811
):
    prefix = unique_name[:40]
    web, worker, profile = prefix + "-web", prefix + "-worker", prefix + "-autostart"
    text = old_sls(prefix)
    lxd.lxc("profile", "create", profile)  # so that test mode can predict the containers
    try:
        ret = salt_call(tmp_path, proxy.path, "old", text, test=True, options=OPTIONS)
        assert proxy.writes() == []
        assert ret[web]["result"] is None, ret[web]
        assert set(ret[web]["changes"]) == {"created", "running"}
        # Changes are {old, new}, not sentences, in test mode too.
        assert ret[web]["changes"]["running"] == {"old": None, "new": "Running"}
        assert ret[profile]["changes"]["config"]["new"] == {
            "boot.autostart": "true",
            "boot.autostart.delay": "2",
        }

        proxy.reset()
        ret = salt_call(tmp_path, proxy.path, "old", text, options=OPTIONS)
        assert all(r["result"] is True for r in ret.values()), ret
        assert ret[web]["changes"]["created"]["old"] is None
        got = held(api, web)
        assert got["status"] == "Running"
        assert got["profiles"] == ["default", profile]  # the declared order
        assert got["config"]["user.role"] == "web" and got["config"]["limits.processes"] == "100"
        assert got["expanded_config"]["boot.autostart"] == "true"
        assert held(api, worker)["status"] == "Stopped"
        assert held(api, profile, "profiles")["description"] == "Autostarts the container"

        proxy.reset()
        ret = salt_call(tmp_path, proxy.path, "old", text, options=OPTIONS)
        assert {k: v["changes"] for k, v in ret.items() if v["changes"]} == {}
        assert all(r["result"] is True for r in ret.values())
        assert proxy.writes() == []  # the old module wrote every container back
    finally:
        for name in (web, worker):
            lxd.lxc("delete", "--force", name, check=False)
        lxd.lxc("profile", "delete", profile, check=False)


def test_old_config_none_means_unset_as_the_old_docs_said(tmp_path, lxd, api, unique_name):
    name = unique_name
    lxd.lxc("init", "busybox", name, "-c", "user.stale=1")
    try:
        text = f"""
        {name}:
          lxd_container.present:
            - source: busybox
            - config:
              - key: user.kept
                value: kept
        """
        ret = salt_call(tmp_path, lxd.socket, "unset", text, options=OPTIONS)
        assert ret[name]["result"] is True, ret[name]
        assert ret[name]["changes"]["config"] == {
            "old": {"user.kept": None, "user.stale": "1"},
            "new": {"user.kept": "kept", "user.stale": None},
        }
        config = held(api, name)["config"]
        assert config.get("user.kept") == "kept" and "user.stale" not in config
        assert config["volatile.base_image"]  # LXD's own keys are never touched
    finally:
        lxd.lxc("delete", "--force", name, check=False)


@pytest.mark.parametrize(
    "state, args, words",
    [
        ("lxd_container.present", "- running: maybe", "running must be true or false"),
        ("lxd_container.present", "- config: [{k: a}]", "{key: ..., value: ...}"),
        ("lxd_container.present", "- remote_addr: https://127.0.0.1:1", "needs cert and key"),
        ("lxd_profile.present", "- config: 5", "must be a mapping or a list"),
        ("lxd_container.running", "", "does not exist"),
    ],
)
def test_old_bad_input_is_refused_naming_it(
    tmp_path,
    lxd,
    api,
    proxy,
    unique_name,
    state,
    args,
    words,  # noqa: F811
):
    text = """
    {name}:
      {state}:
        {args}
    """.format(name=unique_name, state=state, args=args or "- restart: False")
    ret = salt_call(tmp_path, proxy.path, "bad", text, options=OPTIONS)
    assert ret[unique_name]["result"] is False
    assert words in ret[unique_name]["comment"], ret[unique_name]["comment"]
    assert "Traceback" not in ret[unique_name]["comment"]
    assert proxy.writes() == []


@pytest.mark.skipif(not OLD_LINE, reason="Salt 3008 has no lxd modules of its own")
def test_on_salt_3006_and_3007_they_stay_out_unless_asked(tmp_path, lxd, unique_name):
    text = f"""
    {unique_name}:
      lxd_profile.present:
        - description: x
    """
    ret = salt_call(tmp_path, lxd.socket, "out", text)
    (only,) = ret.values()
    assert only["result"] is False
    assert "'lxd_profile.present' was not found" in only["comment"], only["comment"]


def test_old_image_states_from_a_file_then_absent(tmp_path, lxd, api, proxy, unique_name):  # noqa: F811
    alias = unique_name[:50] + "-img"
    (tmp_path / "tree").mkdir()
    fingerprint = lxdhost.build_busybox_image(
        str(tmp_path / "tree" / "bb.tar.gz"), description="old " + unique_name
    )
    text = f"""
    {alias}:
      lxd_image.present:
        - source:
            type: file
            filename: salt://bb.tar.gz
            saltenv: base
        - aliases: [{alias}-2]
    """
    try:
        ret = salt_call(tmp_path, proxy.path, "img", text, test=True, options=OPTIONS)
        assert ret[alias]["result"] is None and proxy.writes() == []
        ret = salt_call(tmp_path, proxy.path, "img", text, options=OPTIONS)
        assert ret[alias]["result"] is True, ret[alias]
        assert ret[alias]["changes"]
        assert api.get("images/aliases/" + alias).metadata["target"] == fingerprint
        assert api.get(f"images/aliases/{alias}-2").metadata["target"] == fingerprint
        proxy.reset()
        ret = salt_call(tmp_path, proxy.path, "img", text, options=OPTIONS)
        assert ret[alias]["result"] is True and ret[alias]["changes"] == {}
        assert proxy.writes() == []

        gone = f"{alias}:\n  lxd_image.absent\n"
        ret = salt_call(tmp_path, proxy.path, "gone", gone, options=OPTIONS)
        assert ret[alias]["result"] is True and ret[alias]["changes"], ret[alias]
        assert core.get_or_none(api, "images/" + fingerprint) is None
    finally:
        lxd.lxc("image", "delete", fingerprint, check=False)


def test_old_lxd_init_and_config_managed(tmp_path, lxd, api, proxy, unique_name):  # noqa: F811
    pool = unique_name[:40] + "-pool"
    text = f"""
    lxd-init:
      lxd.init:
        - storage_backend: dir
        - storage_pool: {pool}
        - done_file: /nonexistent/done

    images.remote_cache_expiry:
      lxd.config_managed:
        - value: 11
    """
    try:
        ret = salt_call(tmp_path, proxy.path, "init", text, options=OPTIONS)
        assert all(r["result"] is True for r in ret.values()), ret
        assert api.get("storage-pools/" + pool).metadata["driver"] == "dir"
        assert api.get("").metadata["config"]["images.remote_cache_expiry"] == "11"
        proxy.reset()
        ret = salt_call(tmp_path, proxy.path, "init", text, options=OPTIONS)
        assert {k: v["changes"] for k, v in ret.items() if v["changes"]} == {}
        assert proxy.writes() == []
    finally:
        lxd.lxc("config", "unset", "images.remote_cache_expiry", check=False)
        lxd.lxc("storage", "delete", pool, check=False)


def test_old_authenticate_of_a_trusted_client_changes_nothing(tmp_path, lxd, proxy, unique_name):  # noqa: F811
    text = f"""
    remote:
      lxd.authenticate:
        - remote_addr: {lxd.socket}
        - password: secret
        - cert: /nonexistent/client.crt
        - key: /nonexistent/client.key
    """
    ret = salt_call(tmp_path, proxy.path, "auth", text, options=OPTIONS)
    assert ret["remote"]["result"] is True  # a socket client is trusted already
    assert "already trusted" in ret["remote"]["comment"]
    assert proxy.writes() == []
