"""Print every name a user of lxdapi calls, with its signature, as Salt's loader sees it.

The execution functions (``sys.doc lxdapi`` and ``lxd``), the state functions (``lxdapi``,
``lxd``, ``lxd_container``, ``lxd_image``, ``lxd_profile``) and the beacon, loaded from
``module_dirs`` (the repository root) by Salt's own loaders; the output is JSON, sorted,
so that ``tests/integration/public_names.json`` (taken before the Salt side was split by
family) can be compared with it on every Salt line.

Usage: ``python tools/public_names.py [ROOT [LAYOUT]]`` (LAYOUT: ``module_dirs``, the
default, ``extmods`` or ``installed``).
"""

import inspect
import json
import os
import shutil
import sys
import tempfile

MODULES = ("lxdapi", "lxd")
STATES = ("lxdapi", "lxd", "lxd_container", "lxd_image", "lxd_profile")


def _signature(func):
    """The signature as a caller sees it: the name of a ``**`` parameter is no part of
    it (nothing can pass it by name), so it is shown as ``**kwargs`` whatever its name."""
    func = getattr(func, "func", func)  # Salt's LoadedFunc
    func = inspect.unwrap(func)
    signature = inspect.signature(func)
    parameters = [
        p.replace(name="kwargs") if p.kind is inspect.Parameter.VAR_KEYWORD else p
        for p in signature.parameters.values()
    ]
    return str(signature.replace(parameters=parameters))


#: How a minion can find lxdapi: ``module_dirs`` naming the checkout, the folders
#: copied into its ``extmods`` as ``saltutil.sync_all`` does, or the installed package's
#: ``salt.loader`` entry point alone.
LAYOUTS = ("module_dirs", "extmods", "installed")


def names(root, layout="module_dirs"):
    """``{"modules": {name: signature}, "sys.doc": [names], "states": {...}}``, as a
    minion finds lxdapi in ``layout`` (see :data:`LAYOUTS`)."""
    import salt.config
    import salt.loader
    import salt.utils.entrypoints

    folder = tempfile.mkdtemp(prefix="lxdapi-names-")
    extmods = os.path.join(folder, "extmods")
    if layout != "installed":
        # Only ``root``: not what an installed lxdapi's entry point would add.
        salt.utils.entrypoints.iter_entry_points = lambda *args, **kwargs: []
    if layout == "extmods":
        for source, synced in (
            ("_modules", "modules"),
            ("_states", "states"),
            ("_utils", "utils"),
            ("_beacons", "beacons"),
        ):
            shutil.copytree(
                os.path.join(root, source),
                os.path.join(extmods, synced),
                ignore=shutil.ignore_patterns("__pycache__", "__init__.py"),
            )
    opts = salt.config.minion_config(None)
    opts.update(
        {
            "file_client": "local",
            "module_dirs": [root] if layout == "module_dirs" else [],
            "cachedir": os.path.join(folder, "cache"),
            "extension_modules": extmods,
            "pki_dir": os.path.join(folder, "pki"),
            "sock_dir": os.path.join(folder, "sock"),
            "log_file": os.path.join(folder, "log"),
            # Salt 3006 and 3007 have lxd modules of their own: the adapters load instead
            # of them only when asked (on 3008, which has none, always).
            "lxdapi": {"replace_builtin_lxd": True},
        }
    )
    utils = salt.loader.utils(opts)
    mods = salt.loader.minion_mods(opts, utils=utils)
    states = salt.loader.states(opts, mods, utils, salt.loader.serializers(opts))
    found = {"modules": {}, "states": {}}
    for name in sorted(mods.keys()):
        if name.split(".")[0] in MODULES:
            found["modules"][name] = _signature(mods[name])
    for name in sorted(states.keys()):
        if name.split(".")[0] in STATES:
            found["states"][name] = _signature(states[name])
    found["sys.doc"] = {virtual: sorted(mods["sys.doc"](virtual)) for virtual in MODULES}
    return found


def main():
    root = os.path.abspath(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    )
    layout = sys.argv[2] if len(sys.argv) > 2 else "module_dirs"
    if layout not in LAYOUTS:
        raise SystemExit(f"public_names: layout is one of {', '.join(LAYOUTS)}, not {layout!r}")
    json.dump(names(root, layout), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
