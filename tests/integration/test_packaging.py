"""The two ways a minion finds lxdapi without ``module_dirs``.

1. ``pip install .`` registers the ``salt.loader`` entry point ``lxdapi``: a minion with
   no module_dirs and no sync loads ``lxdapi.*``.
2. ``saltutil.sync_all`` from file_roots (the repository root, which holds ``_modules``,
   ``_states`` and ``_utils``) copies them into the minion's extmods.

To tell the two apart, the runner below can start salt-call with the ``lxdapi`` entry
point hidden from Salt's loader (only Salt's discovery is changed; LXD is real).
"""

import json
import os
import subprocess
import sys

import pytest
import salt.utils.entrypoints as entrypoints

from salt_call_support import ROOT, minion_config_dir

pytestmark = pytest.mark.integration


RUN_SALT_CALL = """
import sys

import salt.utils.entrypoints as entrypoints

if sys.argv[1] == "hide-entry-point":
    original = entrypoints.iter_entry_points

    def iter_entry_points(group, name=None):
        return [ep for ep in original(group, name)
                if not (group == "salt.loader" and ep.name == "lxdapi")]

    entrypoints.iter_entry_points = iter_entry_points

from salt.scripts import salt_call

sys.argv = ["salt-call"] + sys.argv[2:]
salt_call()
"""


def write_config(tmp_path, lxd, **extra):
    assert "module_dirs" not in extra
    return minion_config_dir(
        tmp_path, **dict({"lxdapi": {"endpoint": lxd.socket}}, **extra), module_dirs=None
    )


def salt_call(tmp_path, config_dir, *args, hide_entry_point=False):
    script = tmp_path / "run_salt_call.py"
    script.write_text(RUN_SALT_CALL)
    mode = "hide-entry-point" if hide_entry_point else "as-installed"
    return subprocess.run(
        [sys.executable, str(script), mode, "--local", "-c", config_dir, *args, "--out=json"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=str(tmp_path),
    )


def test_the_entry_point_is_registered():
    # Through Salt's own look-up, as its loader does (on Salt 3006 a backport it installs
    # breaks the standard library's entry_points(group=...) in the same interpreter).
    points = [ep for ep in entrypoints.iter_entry_points("salt.loader") if ep.name == "lxdapi"]
    assert points, "saltext-lxdapi is not installed: run pip install -e . (make setup)"
    dirs = points[0].load()()
    assert set(dirs) == {"modules", "states", "utils", "beacons", "engines"}
    for ext_type, paths in dirs.items():
        assert any(os.path.isfile(os.path.join(p, "lxdapi.py")) for p in paths), ext_type


def test_minion_without_module_dirs_finds_lxdapi_through_the_entry_point(tmp_path, lxd):
    config_dir = write_config(tmp_path, lxd)
    proc = salt_call(tmp_path, config_dir, "lxdapi.info")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = json.loads(proc.stdout)["local"]
    assert info["auth"] == "trusted"
    assert info["version"] == lxd.api().get("").metadata["environment"]["server_version"]
    # The states load too (they need the execution module).
    proc = salt_call(tmp_path, config_dir, "sys.list_state_functions", "lxdapi")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["local"], "no lxdapi states loaded"
    # Control: with the entry point hidden the same minion has no lxdapi.
    proc = salt_call(tmp_path, config_dir, "lxdapi.info", hide_entry_point=True)
    assert proc.returncode != 0
    assert "'lxdapi.info' is not available" in proc.stdout + proc.stderr


def test_saltutil_sync_all_from_file_roots(tmp_path, lxd):
    config_dir = write_config(tmp_path, lxd, file_roots={"base": [ROOT]})
    # Without the entry point and before the sync, the minion has no lxdapi.
    proc = salt_call(tmp_path, config_dir, "lxdapi.info", hide_entry_point=True)
    assert proc.returncode != 0
    assert "'lxdapi.info' is not available" in proc.stdout + proc.stderr

    proc = salt_call(tmp_path, config_dir, "saltutil.sync_all", hide_entry_point=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    synced = json.loads(proc.stdout)["local"]
    assert "modules.lxdapi" in synced["modules"]
    assert "states.lxdapi" in synced["states"]
    assert "utils.lxdapi" in synced["utils"]
    assert "beacons.lxdapi" in synced["beacons"]
    assert "engines.lxdapi" in synced["engines"]
    extmods = tmp_path / "root" / "var" / "cache" / "salt" / "minion" / "extmods"
    for ext_type in ("modules", "states", "utils", "beacons", "engines"):
        assert (extmods / ext_type / "lxdapi.py").is_file()

    proc = salt_call(tmp_path, config_dir, "lxdapi.info", hide_entry_point=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["local"]["auth"] == "trusted"
    proc = salt_call(
        tmp_path, config_dir, "sys.list_state_functions", "lxdapi", hide_entry_point=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["local"], "no lxdapi states loaded from the sync"


def test_the_beacon_loads_through_the_entry_point(minion_opts):
    """Salt's beacon loader finds lxdapi's beacon with no module_dirs: by the entry point."""
    import salt.loader

    opts = dict(minion_opts, module_dirs=[])
    beacons = salt.loader.beacons(opts, salt.loader.minion_mods(opts))
    assert "lxdapi.beacon" in beacons and "lxdapi.validate" in beacons
    assert beacons["lxdapi.validate"]([{"interval": 10}])[0] is True
