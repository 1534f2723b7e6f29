"""Salt loader entry point for lxdapi: tells Salt where its modules, states, utils and
beacons and engines are.

``pip install .`` registers :func:`get_dirs` under the ``salt.loader`` entry point group,
so a minion finds ``lxdapi.*`` with no file_roots sync. The folders themselves are the
repository's ``_modules``, ``_states``, ``_utils``, ``_beacons`` and ``_engines``
(installed as ``saltext_lxdapi.modules``, ``.states``, ``.utils``, ``.beacons`` and
``.engines``).
"""

import importlib.util
import sys


def get_dirs():
    """Return ``{"modules": [...], "states": [...], "utils": [...], "beacons": [...],
    "engines": [...]}``
    for Salt's loader, and put the utils folder on ``sys.path``.

    The folders are found without importing them: importing ``saltext_lxdapi.utils``
    loads the core, which Salt's modules do themselves, through
    ``lxdapi_loader.salt_boundary``. Salt puts the utils folders of ``module_dirs`` and of
    a synced ``extmods`` on ``sys.path`` while it loads modules, but not an installed
    extension's: this is where it goes there, once, so that the same one-line bootstrap
    (``import lxdapi_loader``) works however lxdapi was found.
    """
    dirs = {}
    for ext_type in ("modules", "states", "utils", "beacons", "engines"):
        spec = importlib.util.find_spec("saltext_lxdapi." + ext_type)
        if spec is None:  # a folder missing from this install: the others still load
            continue
        dirs[ext_type] = list(spec.submodule_search_locations)
    for folder in dirs.get("utils", ()):
        if folder not in sys.path:
            sys.path.append(folder)
    return dirs
