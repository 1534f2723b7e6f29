"""The pure parts of Salt inside an instance (``lxdapi_inside``), without a server: the
bundle of a file tree, the inner states' returns read by id, the words of a failure, the
minion config, and salt-call's stderr without Python's warnings."""

import hashlib
import io
import json
import tarfile

import pytest

import lxdapi_inside


def _tree(tmp_path, files):
    paths = {}
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths[rel] = str(path)
    return paths


def test_a_trees_bundle_is_the_same_for_the_same_files(tmp_path):
    files = _tree(tmp_path, {"a.sls": "a", "b/init.sls": "b"})
    one = lxdapi_inside.Bundle.from_tree("files-base", files)
    two = lxdapi_inside.Bundle.from_tree("files-base", dict(reversed(list(files.items()))))
    assert one.digest == two.digest and one.source == two.source
    assert one.path == "/var/cache/lxdapi/files-base-" + one.digest[:16]
    with tarfile.open(fileobj=io.BytesIO(one.source)) as tar:
        assert [(m.name, m.mode, m.mtime, m.uid) for m in tar] == [
            ("a.sls", 0o644, 0, 0),
            ("b/init.sls", 0o644, 0, 0),
        ]
    (tmp_path / "a.sls").write_text("changed")
    assert lxdapi_inside.Bundle.from_tree("files-base", files).digest != one.digest


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../x"])
def test_a_tree_cannot_name_a_path_outside_it(tmp_path, rel):
    (tmp_path / "a").write_text("a")
    with pytest.raises(ValueError, match="not a relative path inside the tree"):
        lxdapi_inside.Bundle.from_tree("files-base", {rel: str(tmp_path / "a")})


def test_a_files_bundle_is_known_by_its_bytes(tmp_path):
    (tmp_path / "thin.tgz").write_bytes(b"thin bytes")
    bundle = lxdapi_inside.Bundle.from_file("salt-3008.4", str(tmp_path / "thin.tgz"))
    assert bundle.digest == hashlib.sha256(b"thin bytes").hexdigest()
    assert bundle.name == "salt-3008.4-" + bundle.digest[:16]
    with bundle.open() as fh:
        assert fh.read() == b"thin bytes"


@pytest.mark.parametrize(
    "mods, expected",
    [("nginx", ["nginx"]), ("nginx, web.tls", ["nginx", "web.tls"]), (["a", "b"], ["a", "b"])],
)
def test_sls_names(mods, expected):
    assert lxdapi_inside.sls_names(mods) == expected


@pytest.mark.parametrize("mods", [None, "", [], ["a b"], [1], {"a": 1}, "a,,b"])
def test_sls_names_refuses_what_is_not_one(mods):
    with pytest.raises(ValueError, match="mods must"):
        lxdapi_inside.sls_names(mods)


def test_inner_states_are_read_by_id_in_run_order():
    ret = {
        "service_|-nginx_|-nginx_|-running": {"__id__": "nginx", "__run_num__": 2},
        "pkg_|-nginx_|-nginx_|-installed": {"__id__": "nginx", "__run_num__": 1},
        "file_|-motd_|-/etc/motd_|-managed": {"__id__": "motd", "__run_num__": 0},
    }
    assert [sid for sid, _ in lxdapi_inside.state_results(ret)] == [
        "motd",
        "nginx (pkg.installed)",
        "nginx (service.running)",
    ]
    with pytest.raises(lxdapi_inside.SaltCallFailed, match="the states did not run: boom"):
        lxdapi_inside.state_results(["boom"])


def test_a_plan_made_from_a_prediction():
    predicted = {
        "file_|-motd_|-/etc/motd_|-managed": {
            "__id__": "motd",
            "__run_num__": 0,
            "result": None,
            "changes": {"newfile": "/etc/motd"},
        },
        "cmd_|-hello_|-echo hi_|-run": {
            "__id__": "hello",
            "__run_num__": 1,
            "result": None,
            "changes": {},
            "comment": 'Command "echo hi" would have been executed',
        },
        "test_|-fine_|-fine_|-nop": {"__id__": "fine", "__run_num__": 2, "result": True},
    }

    class FakeAPI:
        def instance_path(self, name, *parts):
            return "instances/{}/{}".format(name, "/".join(parts))

    plan = lxdapi_inside.SlsPlan(FakeAPI(), "web1", None, predicted)
    assert plan.changes == {
        "motd": {"newfile": "/etc/motd"},
        "hello": {"comment": 'Command "echo hi" would have been executed'},
    }
    assert plan.count == 3 and plan.failed == [] and len(plan.writes) == 1
    quiet = lxdapi_inside.SlsPlan(FakeAPI(), "web1", None, {"x": {"__id__": "x", "result": True}})
    assert quiet.changes == {} and not quiet.writes


def test_words_of_a_failed_return():
    assert lxdapi_inside.words(["a ", "b"]) == "a; b"
    assert lxdapi_inside.words(True) == "True"
    assert lxdapi_inside.words({"b": 1, "a": [2]}) == json.dumps({"a": [2], "b": 1})
    assert lxdapi_inside.words(None) == ""


def test_the_minion_config_is_masterless_and_kept_inside():
    files = lxdapi_inside.Bundle("files-base", "ab" * 32, b"")
    config = lxdapi_inside.minion_config("web1", "base", files, {"log_level": "debug"})
    assert config["id"] == "web1" and config["file_client"] == "local"
    assert config["file_roots"] == {"base": [files.path]}
    assert config["pillar_roots"] == {"base": ["@WORK@/pillar"]}
    assert config["root_dir"] == "/var/cache/lxdapi/root"
    assert config["log_level"] == "debug"


def test_stderr_without_pythons_warnings():
    text = (
        "/var/cache/lxdapi/salt/pyall/salt/utils/pycrypto.py:35: DeprecationWarning: 'crypt'"
        " is deprecated\n"
        "  import crypt  # pylint: disable=deprecated-module\n"
        "'no_such.func' is not available.\n"
    )
    assert lxdapi_inside.stderr_text(text) == "'no_such.func' is not available."
    assert lxdapi_inside.stderr_text("  indented: kept\nplain") == "indented: kept\nplain"
