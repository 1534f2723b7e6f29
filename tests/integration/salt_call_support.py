"""What the tests that run ``salt-call`` on this host share: the checkout (the minion's
``module_dirs``), the ``salt-call`` beside this Python, a masterless minion config and the
call itself."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SALT_CALL = os.path.join(os.path.dirname(sys.executable), "salt-call")


def minion_config_dir(tmp_path, **settings):
    """``tmp_path/conf`` with a minion config in it (``minion``, JSON, which is YAML):
    masterless, its own root_dir under ``tmp_path``, the modules from the checkout, then
    ``settings`` (they win; ``module_dirs=None`` leaves the checkout out). Written again
    when called again; returns the folder's path."""
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    config = {"file_client": "local", "root_dir": str(tmp_path / "root"), "module_dirs": [ROOT]}
    config.update(settings)
    (conf / "minion").write_text(json.dumps({k: v for k, v in config.items() if v is not None}))
    return str(conf)


def salt_call(config_dir, *args, timeout=120, env=None):
    """``salt-call --local -c CONFIG_DIR ARGS --out=json``, run from the checkout: the
    completed process (text)."""
    assert os.path.exists(SALT_CALL), "salt-call not found beside " + sys.executable
    return subprocess.run(
        [SALT_CALL, "--local", "-c", config_dir, *args, "--out=json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
