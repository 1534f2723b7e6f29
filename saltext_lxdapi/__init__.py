"""Salt loader entry point for lxdapi: tells Salt where its modules, states, utils and
beacons are.

``pip install .`` registers :func:`get_dirs` under the ``salt.loader`` entry point group,
so a minion finds ``lxdapi.*`` with no file_roots sync. The folders themselves are the
repository's ``_modules``, ``_states``, ``_utils`` and ``_beacons`` (installed as
``saltext_lxdapi.modules``, ``.states``, ``.utils`` and ``.beacons``).
"""

import importlib


def get_dirs():
    """Return ``{"modules": [...], "states": [...], "utils": [...], "beacons": [...]}``
    for Salt's loader."""
    dirs = {}
    for ext_type in ("modules", "states", "utils", "beacons"):
        package = importlib.import_module("saltext_lxdapi." + ext_type)
        dirs[ext_type] = list(package.__path__)
    return dirs
