"""Salt loader entry point for lxdapi: tells Salt where its modules, states and utils are.

``pip install .`` registers :func:`get_dirs` under the ``salt.loader`` entry point group,
so a minion finds ``lxdapi.*`` with no file_roots sync. The folders themselves are the
repository's ``_modules``, ``_states`` and ``_utils`` (installed as
``saltext_lxdapi.modules``, ``.states`` and ``.utils``).
"""

import importlib


def get_dirs():
    """Return ``{"modules": [...], "states": [...], "utils": [...]}`` for Salt's loader."""
    dirs = {}
    for ext_type in ("modules", "states", "utils"):
        package = importlib.import_module("saltext_lxdapi." + ext_type)
        dirs[ext_type] = list(package.__path__)
    return dirs
