"""Salt loader entry point for lxdapi: tells Salt where its modules, states, utils and
beacons are.

``pip install .`` registers :func:`get_dirs` under the ``salt.loader`` entry point group,
so a minion finds ``lxdapi.*`` with no file_roots sync. The folders themselves are the
repository's ``_modules``, ``_states``, ``_utils`` and ``_beacons`` (installed as
``saltext_lxdapi.modules``, ``.states``, ``.utils`` and ``.beacons``).
"""

import importlib.util


def get_dirs():
    """Return ``{"modules": [...], "states": [...], "utils": [...], "beacons": [...]}``
    for Salt's loader.

    The folders are found without importing them: importing ``saltext_lxdapi.utils``
    loads the core, which Salt's modules do themselves from the utils folder Salt puts
    first on their sys.path.
    """
    dirs = {}
    for ext_type in ("modules", "states", "utils", "beacons"):
        spec = importlib.util.find_spec("saltext_lxdapi." + ext_type)
        dirs[ext_type] = list(spec.submodule_search_locations)
    return dirs
