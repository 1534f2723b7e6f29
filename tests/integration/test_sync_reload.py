"""``saltutil.sync_all`` changes the core; the running minion's next job uses the new one.

A real master and minion (pytest-salt-factories) per test. The master's ``file_roots``
hold copies of the repository's ``_modules``, ``_states``, ``_utils``, ``_beacons`` and
``_engines``; the minion has no ``module_dirs``: it gets lxdapi by ``saltutil.sync_all``
into its ``extmods`` folder. Its lxdapi beacon runs every second in the minion's main process, so
the core is loaded there (the beacon's ``_boundary()`` and ``lxdapi.container_list``) and every
job forks from a process that has it.

Only the master's copies are changed, never the repository's files: the copy of
``_modules/lxdapi.py`` gets one more function, ``lxdapi.core_mark``, which reports what the
module's ``core`` is (its ``LXDAPI_TEST_MARK`` and the files it and the loader came from);
later the copy of ``_utils/lxdapi.py`` alone gets ``LXDAPI_TEST_MARK = "v2"``. After the
second sync the next job must see ``"v2"``, from the core in the minion's
``extmods/utils``, with no restart.

The salt.loader entry point. The project is pip-installed (editable) into the virtualenv
the daemons run from and registers ``saltext_lxdapi:get_dirs``, which hands every Salt
process of that virtualenv the checkout's ``_modules``, ``_states``, ``_utils`` and
``_beacons``. Salt 3008 has no option to turn extension entry points off for a daemon:
``salt.loader._module_dirs`` has a ``load_extensions`` argument, but only salt-ssh and
Salt's own utils loader pass it (no config key reaches it). So the entry point stays on,
as on a real minion that has the package installed, and the tests check where each piece
was read from. In ``_module_dirs`` the ``extmods`` folders come before the entry point's,
so once synced the module and the beacon are the synced ones, and each imports the core
from the utils folder beside its own folder (``extmods/modules`` -> ``extmods/utils``),
whatever ``lxdapi_loader`` the main process imported first:

- ``test_sync_all_reloads_the_core_beacon_added_after_sync``: the beacon is added with
  ``beacons.add`` after the first sync, so the main process first imports the core from
  ``extmods/utils``;
- ``test_sync_all_reloads_the_core_beacon_configured_at_start``: the beacon is in the
  minion's config (``beacons: {lxdapi: [{interval: 1}]}``), so it runs from the entry
  point's ``_beacons`` before the first sync and loads the checkout's ``_utils``. Seen on
  2026-12-01, before the modules took the folder beside them: that loader stayed in
  ``sys.modules`` of the main process, ``load()`` defaulted to its own folder, and every
  later job used the checkout's core however often ``sync_all`` changed ``extmods/utils``.

Two things every test here needs, both about Salt rather than lxdapi:

- ``loop_interval: 1``. Salt 3008's minion runs its beacons from a 1 s periodic callback,
  but ``Beacon._process_interval`` counts a beacon's ``interval`` in ``loop_interval``
  units; pytest-salt-factories sets ``loop_interval: 0.05``, which makes ``interval: 1``
  twenty ticks, i.e. 20 s or more between looks;
- ``saltutil.sync_all`` only *signals* the module refresh (a ``module_refresh`` event the
  main process handles later). A job published right after it may fork from the main
  process before that refresh ran and use the old loader, whatever lxdapi does; the tests
  wait for the refresh with ``saltutil.refresh_modules async=False`` (a blocking second
  refresh) before the job that must see the new core.
"""

import contextlib
import os
import shutil
import time
import uuid

import pytest

from conftest import ROOT

pytestmark = pytest.mark.integration

FOLDERS = ("_modules", "_states", "_utils", "_beacons", "_engines")

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
    import os as _os
    import sys as _sys

    return {
        "mark": getattr(core, "LXDAPI_TEST_MARK", None),
        "core": core.__file__,
        "core_in_sys_modules": _sys.modules["lxdapi"].__file__,
        "loader": lxdapi_loader.__file__,
        "module": __file__,
        "pid": _os.getpid(),
    }
'''

BEACON_INTERVAL = 1
BEACON = [{"interval": BEACON_INTERVAL}]


@pytest.fixture
def file_roots(tmp_path):
    """The master's ``file_roots``: copies of the folders, plus ``core_mark``."""
    root = tmp_path / "file_roots"
    for folder in FOLDERS:
        shutil.copytree(
            os.path.join(ROOT, folder),
            str(root / folder),
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    with open(str(root / "_modules" / "lxdapi.py"), "a") as fh:
        fh.write(CORE_MARK)
    yield root
    shutil.rmtree(str(root), ignore_errors=True)


@pytest.fixture
def master(salt_factories, file_roots):
    factory = salt_factories.salt_master_daemon(
        "lxdapi-sync-master-" + uuid.uuid4().hex[:4],
        overrides={"file_roots": {"base": [str(file_roots)]}},
    )
    with factory.started():
        yield factory
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture
def start_minion(master, lxd):
    """``start_minion(beacons)``: a started minion of ``master``, no ``module_dirs``;
    stopped, and its folder removed, at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(beacons):
            overrides = {"lxdapi": {"endpoint": lxd.socket}, "loop_interval": 1}
            if beacons:
                overrides["beacons"] = beacons
            factory = master.salt_minion_daemon(
                "lxdapi-sync-minion-" + uuid.uuid4().hex[:4], overrides=overrides
            )
            assert not factory.config.get("module_dirs"), factory.config["module_dirs"]
            stack.callback(shutil.rmtree, factory.config["root_dir"], ignore_errors=True)
            stack.enter_context(factory.started())
            return factory

        yield start


def _run(salt_cli, minion, *args):
    ret = salt_cli.run(*args, minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    return ret.data


def _sync(salt_cli, minion):
    """``saltutil.sync_all``, then wait until the module refresh it asked for is done."""
    synced = _run(salt_cli, minion, "saltutil.sync_all")
    assert _run(salt_cli, minion, "saltutil.refresh_modules", "async=False") is not False
    return synced


def _beacon_event(event_listener, master, minion, name, after):
    """The lxdapi beacon's event for instance ``name``, fired after ``after``."""
    tag = f"salt/beacon/{minion.id}/lxdapi/{name}"
    events = event_listener.wait_for_events([(master.id, tag)], timeout=60, after_time=after)
    assert events.found_all_events, f"no beacon event {tag} on the master"
    return next(iter(events)).data


def _check_reload(salt_cli, master, minion, lxd, event_listener, file_roots, name, add_beacon):
    extmods = os.path.realpath(minion.config["extension_modules"])
    pid_before = minion.pid

    # 1. First sync: the module, the states, the beacon, the engine and the whole core.
    synced = _sync(salt_cli, minion)
    assert "modules.lxdapi" in synced["modules"], synced
    assert "states.lxdapi" in synced["states"], synced
    assert "beacons.lxdapi" in synced["beacons"], synced
    assert "engines.lxdapi" in synced["engines"], synced
    assert {"utils.lxdapi", "utils.lxdapi_loader", "utils.lxdapi_plans"} <= set(synced["utils"]), (
        synced
    )
    if add_beacon:
        _run(salt_cli, minion, "beacons.add", "lxdapi", repr(BEACON))

    # 2. The beacon runs in the main process and uses the core there: it lists the
    # instances each second, so a new one comes back as its event on the master's bus.
    assert "lxdapi" in _run(salt_cli, minion, "beacons.list", "return_yaml=False")
    time.sleep(3 * BEACON_INTERVAL)  # its first look (after the refresh) is taken
    created = time.time()
    lxd.lxc("init", "busybox", name)
    event = _beacon_event(event_listener, master, minion, name, created)
    assert (event["instance"], event["old"], event["new"]) == (name, None, "Stopped")

    # 3. The core in use now, unmarked.
    first = _run(salt_cli, minion, "lxdapi.core_mark")
    assert first["mark"] is None, first

    # 4. Change the core only (the module file stays as it is), sync again.
    with open(str(file_roots / "_utils" / "lxdapi.py"), "a") as fh:
        fh.write("\n" + MARK)
    synced = _sync(salt_cli, minion)
    assert synced["utils"] == ["utils.lxdapi"], synced
    assert synced["modules"] == [] and synced["beacons"] == [] and synced["engines"] == [], synced

    # 5. The next job uses the new core, in the same (never restarted) minion.
    second = _run(salt_cli, minion, "lxdapi.core_mark")
    assert minion.pid == pid_before and minion.is_running()
    assert second["mark"] == "v2", (
        f"the job after the second sync used an old core:\n before: {first}\n after:  {second}"
    )
    for key in ("module", "core", "core_in_sys_modules", "loader"):
        assert os.path.realpath(second[key]).startswith(extmods + os.sep), (key, second)
    assert second["core"] == first["core"], (first, second)

    # ... the module still works against the daemon ...
    listed = _run(salt_cli, minion, "lxdapi.container_list")
    assert name in [i if isinstance(i, str) else i["name"] for i in listed], listed

    # ... and so does the beacon, in the main process, with the new core. The refresh
    # built a new Beacon: its first look only records (a new __context__), and before
    # Salt 3006.20/3007.12 it also restarts the interval count: wait for it, as above.
    time.sleep(3 * BEACON_INTERVAL)
    restarted = time.time()
    lxd.lxc("start", name)
    event = _beacon_event(event_listener, master, minion, name, restarted)
    assert (event["old"], event["new"]) == ("Stopped", "Running"), event


def test_sync_all_reloads_the_core_beacon_added_after_sync(
    master, start_minion, lxd, event_listener, file_roots, unique_name
):
    minion = start_minion(beacons=None)
    salt_cli = master.salt_cli(timeout=120)
    try:
        _check_reload(
            salt_cli, master, minion, lxd, event_listener, file_roots, unique_name, add_beacon=True
        )
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)


def test_sync_all_reloads_the_core_beacon_configured_at_start(
    master, start_minion, lxd, event_listener, file_roots, unique_name
):
    minion = start_minion(beacons={"lxdapi": BEACON})
    salt_cli = master.salt_cli(timeout=120)
    try:
        _check_reload(
            salt_cli, master, minion, lxd, event_listener, file_roots, unique_name, add_beacon=False
        )
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)
