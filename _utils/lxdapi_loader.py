"""The one way in: import lxdapi's core as it is on disk now.

The core is a folder of plain modules (``lxdapi.py``, ``lxdapi_plans.py``, ...) that
import each other by their flat names. Who uses it:

- Salt's execution and state modules: Salt puts the utils folders of ``module_dirs``
  (``_utils``) and of a synced ``extmods`` on ``sys.path`` while it loads them, and the
  installed package's ``get_dirs`` puts its own there (Salt does not for an entry
  point's), so they ``import lxdapi_loader`` and call
  :func:`salt_boundary`, which loads the core and the Salt boundary
  (``lxdapi_salt``, not a part of the core: the one file here that imports Salt); the
  beacon, whose loader does not do that, puts its utils folder on ``sys.path`` itself
  for that one import;
- the tests, the benchmarks and the demo: ``_utils`` on ``sys.path``, then :func:`load`.

:func:`load` returns the ``lxdapi`` module after checking that the files it was read from
are still the ones on disk. After ``saltutil.sync_all`` changed them, the next call drops
every ``lxdapi*`` module of the old core from ``sys.modules`` and imports them all anew, so
a minion that has been running (its beacon loaded the core in the main process, and jobs
fork from it) uses the new core on its next job. Between such changes every caller gets
the same module objects: one :class:`lxdapi.APIException` class per loaded core.
"""

import importlib
import os
import sys
import threading

#: The modules of the core, in an order where each one's imports come before it.
MODULES = (
    "lxdapi",
    "lxdapi_values",
    "lxdapi_parallel",
    "lxdapi_targets",
    "lxdapi_compat_salt3007",
    "lxdapi_plans",
    "lxdapi_operations",
    "lxdapi_kinds",
    "lxdapi_cluster",
    "lxdapi_files",
    "lxdapi_images",
    "lxdapi_logs",
    "lxdapi_instances",
    "lxdapi_inside",
    "lxdapi_readiness",
    "lxdapi_rolling",
    "lxdapi_spec",
    "lxdapi_prune",
    "lxdapi_member_config",
    "lxdapi_reconcile",
    "lxdapi_backups",
    "lxdapi_volumes",
    "lxdapi_retention",
    "lxdapi_server",
    "lxdapi_warnings",
    "lxdapi_host",
    "lxdapi_trust",
    "lxdapi_preseed",
    "lxdapi_batch",
    "lxdapi_events",
    "lxdapi_shortcuts_2016",
)

#: The Salt side's boundary: loaded with the core for Salt's files, never for the core
#: used as a library (it imports Salt).
SALT_BOUNDARY = "lxdapi_salt"

#: Every file this loader keeps in step with the disk: the core, itself, the boundary.
FILES = MODULES + ("lxdapi_loader", SALT_BOUNDARY)

HERE = os.path.dirname(os.path.abspath(__file__))

_lock = threading.Lock()


def stamp(folder):
    """What the core's files in ``folder`` are now: ``((name, mtime_ns, size), ...)``."""
    found = []
    for name in FILES:
        try:
            info = os.stat(os.path.join(folder, name + ".py"))
        except OSError:
            found.append((name, None, None))
        else:
            found.append((name, info.st_mtime_ns, info.st_size))
    return tuple(found)


def _loaded_from(module):
    return os.path.dirname(os.path.abspath(module.__file__))


def _forget_all():
    for name in FILES:
        sys.modules.pop(name, None)


def load(folder=None):
    """The core's ``lxdapi`` module, every part of it imported from ``folder``.

    ``folder`` defaults to this file's own folder. Imports nothing when the core is
    loaded already from that folder and its files have not changed since; otherwise
    (first call, files changed, another folder) forgets the core's modules and imports
    them all from ``folder``, which goes first on ``sys.path``; this loader too, so that
    the next ``import lxdapi_loader`` gets the one of ``folder`` as it is now. Raises
    ImportError when a module or a library it needs (requests...) is missing.
    """
    folder = os.path.abspath(folder or HERE)
    now = stamp(folder)
    with _lock:
        core = sys.modules.get("lxdapi")
        if (
            core is not None
            and getattr(core, "LOADED_STAMP", None) == now
            and _loaded_from(core) == folder
        ):
            return core
        _forget_all()
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
        importlib.invalidate_caches()
        try:
            for name in MODULES + ("lxdapi_loader",):
                importlib.import_module(name)
        except BaseException:
            _forget_all()  # never leave half a core behind
            raise
        core = sys.modules["lxdapi"]
        core.LOADED_STAMP = now
        return core


def salt_boundary(salt_file, module_globals):
    """The bootstrap of every Salt-facing file: ``boundary = salt_boundary(__file__,
    globals())``.

    Loads the core from the utils folder beside ``salt_file``'s folder (``_modules`` ->
    ``_utils``, a synced ``extmods/modules`` -> ``extmods/utils``, an installed
    ``saltext_lxdapi/modules`` -> ``saltext_lxdapi/utils``) as :func:`load` does, then
    the Salt boundary of that folder, and returns its
    :class:`lxdapi_salt.SaltBoundary` bound to ``module_globals`` (where Salt puts the
    file's dunders). The core's parts the file uses are imported after this call, so that
    they are the ones just loaded.
    """
    here = os.path.dirname(os.path.abspath(salt_file))
    utils = "_utils" if os.path.basename(here).startswith("_") else "utils"
    folder = os.path.join(os.path.dirname(here), utils)
    load(folder)
    with _lock:
        boundary = sys.modules.get(SALT_BOUNDARY)
        if boundary is None or _loaded_from(boundary) != os.path.abspath(folder):
            boundary = importlib.import_module(SALT_BOUNDARY)
    return boundary.SaltBoundary(module_globals)
