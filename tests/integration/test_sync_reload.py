"""``saltutil.sync_all`` changes the core; the running minion's next job uses the new one.

A real master and minion (pytest-salt-factories). The master's ``file_roots`` hold copies
of the repository's ``_modules``, ``_states``, ``_utils`` and ``_beacons``; the minion has
no ``module_dirs``: it gets lxdapi by ``saltutil.sync_all`` into its ``extmods`` folder.
Its lxdapi beacon runs every second, in the minion's main process, so the core is loaded
there (the beacon calls ``_core()`` and ``lxdapi.container_list``) before any job forks
from it.

Only the master's copies are changed, never the repository's files: the copy of
``_modules/lxdapi.py`` gets one more function, ``lxdapi.core_mark``, which reports what the
module's ``core`` is (its file and its ``LXDAPI_TEST_MARK``); later the copy of
``_utils/lxdapi.py`` alone gets ``LXDAPI_TEST_MARK = "v2"``. After the second sync the next
job must see ``"v2"``, from the core in the minion's ``extmods/utils``, with no restart.

The salt.loader entry point. The project is pip-installed (editable) into the virtualenv
the daemons run from, and registers ``saltext_lxdapi:get_dirs``, which hands every Salt
process of that virtualenv the checkout's ``_modules``, ``_states``, ``_utils`` and
``_beacons``. Salt 3008 has no option to turn extension entry points off for a daemon
(``salt.loader._module_dirs`` has a ``load_extensions`` argument, used by salt-ssh only;
no config key reaches it), so the test does not try: it leaves them on, as on a real
minion with the package installed, and checks which files are in use. In
``_module_dirs`` the ``extmods`` folder comes before the entry point's, so the synced
module and beacon shadow the checkout's; Salt's utils loader skips entry points
(``load_extensions=False``), but the beacon's ``_core()`` asks ``_module_dirs(opts,
"utils")``, which includes them. The assertions below name the folder every piece came
from, so a core read from the checkout (which never gets the mark) fails them.

Salt's ``saltutil.sync_all`` only *signals* the module refresh (``module_refresh`` event,
handled by the main process). A job published right after it can fork from the main
process before that refresh ran and use the old loader, whatever lxdapi does. The test
therefore waits for the refresh with ``saltutil.refresh_modules async=False`` (a second,
blocking refresh) before the job that must see the new core.
"""

import os
import shutil
import time
import uuid

import pytest

from conftest import ROOT

pytestmark = pytest.mark.integration

FOLDERS = ("_modules", "_states", "_utils", "_beacons")

MARK = 'LXDAPI_TEST_MARK = "v2"\n'

#: Appended to the master's copy of ``_modules/lxdapi.py`` only.
CORE_MARK = '''


def core_mark():
    """
    What this module's core is: its mark, and where it and its loader were read from.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.core_mark
    """
    import sys as _sys

    return {
        "mark": getattr(core, "LXDAPI_TEST_MARK", None),
        "core": core.__file__,
        "core_in_sys_modules": _sys.modules["lxdapi"].__file__,
        "loader": lxdapi_loader.__file__,
        "module": __file__,
        "pid": os.getpid(),
    }
'''

BEACON_INTERVAL = 1


def _copy_tree(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


@pytest.fixture(scope="module")
def file_roots(tmp_path_factory):
    """The master's ``file_roots``: copies of the four folders, plus ``core_mark``."""
    root = tmp_path_factory.mktemp("sync_reload_roots")
    for folder in FOLDERS:
        _copy_tree(os.path.join(ROOT, folder), str(root / folder))
    with open(str(root / "_modules" / "lxdapi.py"), "a") as fh:
        fh.write(CORE_MARK)
    yield root
    shutil.rmtree(str(root), ignore_errors=True)


@pytest.fixture(scope="module")
def master(salt_factories, file_roots):
    factory = salt_factories.salt_master_daemon(
        "lxdapi-sync-master-" + uuid.uuid4().hex[:4],
        overrides={"file_roots": {"base": [str(file_roots)]}},
    )
    with factory.started():
        yield factory
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture(scope="module")
def minion(master, lxd):
    factory = master.salt_minion_daemon(
        "lxdapi-sync-minion-" + uuid.uuid4().hex[:4],
        overrides={
            "lxdapi": {"endpoint": lxd.socket},
            "beacons": {"lxdapi": [{"interval": BEACON_INTERVAL}]},
        },
    )
    assert not factory.config.get("module_dirs"), factory.config.get("module_dirs")
    with factory.started():
        yield factory
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture(scope="module")
def salt_cli(master, minion):
    return master.salt_cli(timeout=120)


def _run(salt_cli, minion, *args):
    ret = salt_cli.run(*args, minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    return ret.data


def _sync(salt_cli, minion):
    """``saltutil.sync_all``, then wait until the module refresh it asked for is done."""
    synced = _run(salt_cli, minion, "saltutil.sync_all")
    assert _run(salt_cli, minion, "saltutil.refresh_modules", "async=False") is not False
    return synced


def test_sync_all_reloads_the_core_in_a_running_minion(
        salt_cli, master, minion, lxd, event_listener, file_roots, unique_name):
    extmods = os.path.realpath(minion.config["extension_modules"])
    pid_before = minion.pid

    # 1. First sync: the module, the states, the beacon and the whole core.
    synced = _sync(salt_cli, minion)
    assert "modules.lxdapi" in synced["modules"], synced
    assert "states.lxdapi" in synced["states"], synced
    assert "beacons.lxdapi" in synced["beacons"], synced
    assert {"utils.lxdapi", "utils.lxdapi_loader", "utils.lxdapi_plans"} <= set(
        synced["utils"]), synced

    # 2. The beacon runs in the main process and uses the core there: it lists the
    # instances each second, so a new one comes back as its event on the master's bus.
    assert "lxdapi" in _run(salt_cli, minion, "beacons.list", "return_yaml=False")
    time.sleep(3 * BEACON_INTERVAL)  # its first look (after the refresh) is taken
    started = time.time()
    lxd.lxc("init", "busybox", unique_name)
    try:
        tag = "salt/beacon/{}/lxdapi/{}".format(minion.id, unique_name)
        events = event_listener.wait_for_events([(master.id, tag)], timeout=60,
                                                after_time=started)
        assert events.found_all_events, "no beacon event {} on the master".format(tag)
        event = next(iter(events))
        assert event.data["instance"] == unique_name
        assert (event.data["old"], event.data["new"]) == (None, "Stopped"), event.data

        # 3. The core in use now: the synced one, unmarked.
        first = _run(salt_cli, minion, "lxdapi.core_mark")
        print("before the second sync:", first)
        for key in ("module", "core", "core_in_sys_modules", "loader"):
            assert os.path.realpath(first[key]).startswith(extmods + os.sep), (key, first)
        assert first["mark"] is None, first

        # 4. Change the core only (the module file stays as it is), sync again.
        with open(str(file_roots / "_utils" / "lxdapi.py"), "a") as fh:
            fh.write("\n" + MARK)
        synced = _sync(salt_cli, minion)
        assert synced["utils"] == ["utils.lxdapi"], synced
        assert synced["modules"] == [] and synced["beacons"] == [], synced

        # 5. The next job uses the new core, in the same (never restarted) minion.
        second = _run(salt_cli, minion, "lxdapi.core_mark")
        print("after the second sync:", second)
        assert second["mark"] == "v2", second
        assert second["core"] == first["core"], second
        assert minion.pid == pid_before and minion.is_running()

        # ... and the module still works against the daemon.
        listed = _run(salt_cli, minion, "lxdapi.container_list")
        assert unique_name in [i if isinstance(i, str) else i["name"] for i in listed], listed

        # The beacon, in the main process, goes on working with the new core.
        restarted = time.time()
        lxd.lxc("start", unique_name)
        events = event_listener.wait_for_events([(master.id, tag)], timeout=60,
                                                after_time=restarted)
        assert events.found_all_events, "no beacon event after the reload"
        assert next(iter(events)).data["new"] == "Running"
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)
