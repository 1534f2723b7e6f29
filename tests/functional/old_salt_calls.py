"""Run Salt 3007's own ``lxd`` execution module (pylxd) for a batch of calls; print what
each returned, as JSON. Run with the Python of the virtualenv that has that Salt and
pylxd (``.venv-bench-salt3007``, ``make old-salt-venv``), not lxdapi's::

    .venv-bench-salt3007/bin/python tests/functional/old_salt_calls.py < calls.json

stdin: ``{"root_dir": DIR, "calls": [[function, [args...], {kwargs...}], ...]}``. The
module is the one Salt's loader gives (``salt.loader.minion_mods``, with the ``cmd``
module that its ``version`` and ``config_get`` run ``lxd``/``lxc`` with), for a minion
whose config lives in ``root_dir``. Those two CLIs find the daemon through ``LXD_DIR``
in this process's environment.

stdout: one result per call, in order: ``{"ok": true, "type": T, "value": V}`` or
``{"ok": false, "error": EXCEPTION CLASS, "message": str(exception)}``. ``T`` is the
type name of what the function returned; ``V`` is it in JSON:

- a lazy iterable (the old ``*_list`` functions returned ``map`` objects) is the list of
  its items, as a caller iterating over it got them (``salt-call`` printed only
  ``<map object at 0x...>``);
- a pylxd object (``snapshots_get`` returned one) is
  ``{"__pylxd__": CLASS, "attributes": {...}}``, its attributes as the old module's
  ``_pylxd_model_to_dict`` read them;
- pylxd's placeholder for an attribute the server did not send (a bare ``object()``)
  is ``{"__pylxd_placeholder__": true}``;
- a tuple is a list; anything else JSON cannot hold is ``{"__repr__": CLASS}``.

A pseudo-call, to compare signatures: ``["__signatures__", [], {}]`` returns each
function's parameters and their defaults, in order: ``{function: {parameter: default,
or "<required>"}}``.
"""

import collections.abc
import datetime
import inspect
import json
import os
import sys


def encode(value):
    import pylxd.models._model as pylxd_model  # only in the old virtualenv

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if type(value) is object:
        return {"__pylxd_placeholder__": True}
    if isinstance(value, pylxd_model.Model):
        return {
            "__pylxd__": type(value).__name__,
            "attributes": {
                k: encode(getattr(value, k)) for k in value.__attributes__ if hasattr(value, k)
            },
        }
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, collections.abc.Iterator)):
        return [encode(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return {"__repr__": type(value).__name__}


def defaults(function):
    return {
        name: "<required>" if p.default is inspect.Parameter.empty else p.default
        for name, p in inspect.signature(function).parameters.items()
    }


def main():
    request = json.load(sys.stdin)
    root_dir = request["root_dir"]
    os.makedirs(root_dir, exist_ok=True)
    conf = os.path.join(root_dir, "minion")
    with open(conf, "w") as fh:
        json.dump(
            {
                "id": "lxdapi-old-salt-calls",
                "file_client": "local",
                "root_dir": root_dir,
                "log_level": "quiet",
                "log_level_logfile": "warning",
            },
            fh,
        )

    import pylxd  # the old module's library: only in the old virtualenv
    import salt.config  # Salt 3007's: the virtualenv running this
    import salt.loader
    import salt.version

    opts = salt.config.minion_config(conf)
    opts["grains"] = salt.loader.grains(opts)
    funcs = salt.loader.minion_mods(opts, whitelist=["lxd", "cmd"])
    if "lxd.container_list" not in funcs:
        sys.exit(
            "Salt {}'s lxd module did not load: {}".format(
                salt.version.__version__, funcs.missing_fun_string("lxd.container_list")
            )
        )
    # Salt's own module (not lxdapi's adapter, were lxdapi installed in this virtualenv).
    source = inspect.getsourcefile(inspect.unwrap(funcs["lxd.container_list"]))
    if not source.endswith(os.path.join("salt", "modules", "lxd.py")):
        sys.exit(f"lxd.container_list is not Salt's own: {source}")
    results = []
    for function, args, kwargs in request["calls"]:
        try:
            if function == "__signatures__":
                value = {
                    f.split(".", 1)[1]: defaults(funcs[f])
                    for f in sorted(funcs)
                    if f.startswith("lxd.")
                }
            else:
                value = funcs["lxd." + function](*args, **kwargs)
            results.append({"ok": True, "type": type(value).__name__, "value": encode(value)})
        except Exception as exc:  # every error is a result to compare
            results.append({"ok": False, "error": type(exc).__name__, "message": str(exc)})
    json.dump(
        {"salt": salt.version.__version__, "pylxd": pylxd.__version__, "results": results},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
