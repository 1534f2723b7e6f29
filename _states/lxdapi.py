"""State module for LXD through its REST API: ``lxdapi.container_present`` in an SLS.

Thin: every state asks the core (``_utils/lxdapi.py``) for a :class:`Plan` (the changes
and the writes that make them), then :func:`_converge` turns it into the one ret shape:

- nothing to do: ``result: True``, no changes, and no write sent;
- ``test=True``: ``result: None``, the changes a real run would make, nothing written;
- otherwise the writes are sent (with If-Match where the plan read an ETag) and the
  changes reported as ``{old, new}`` per key;
- a refused write or failed operation: ``result: False`` and LXD's error in the comment.

Connection settings are the execution module's (``remote``, ``endpoint``, ``project``...).
"""

import logging
import sys

import salt.utils.args

log = logging.getLogger(__name__)

__virtualname__ = "lxdapi"

core = None


def __virtual__():
    # Loading the execution module imports the core once per process (lxdapi_core).
    if "lxdapi.request" not in __salt__:
        return (False, "lxdapi: the lxdapi execution module did not load")
    global core
    core = sys.modules["lxdapi_core"]
    return __virtualname__


# ------------------------------------------------------------------ the one ret shape


def _ret(name):
    return {"name": name, "result": True, "comment": "", "changes": {}}


def _api(kwargs):
    """The cached :class:`API` for a state's connection kwargs (see the module doc)."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    settings = core.resolve_connection(kwargs, __salt__["config.get"])
    return core.cached_api(settings, __context__)


def _fail(ret, message):
    ret["result"] = False
    ret["comment"] = message
    return ret


def _converge(name, make_plan, done, unchanged, connection):
    """Run one state: build the plan, then report, predict or apply it.

    ``make_plan(api)`` returns a :class:`Plan`; ``done`` and ``unchanged`` are the
    comments for a run that changed something and for one with nothing to do.
    Core errors and bad input become ``result: False`` with a comment, never a traceback.
    """
    ret = _ret(name)
    try:
        api = _api(connection)
        plan = make_plan(api)
    except core.APIException as exc:
        return _fail(ret, str(exc))
    except (ValueError, TypeError, OSError) as exc:
        return _fail(ret, "{}: {}".format(name, exc))
    notes = list(plan.notes)
    if not plan.writes:
        ret["comment"] = " ".join([unchanged] + notes)
        return ret
    if __opts__.get("test"):
        ret["result"] = None
        ret["changes"] = plan.changes
        ret["comment"] = " ".join(["Would have: " + done] + notes)
        return ret
    try:
        plan.apply(api)
    except core.APIException as exc:
        ret["changes"] = {}
        return _fail(ret, "{}: {}".format(name, exc))
    ret["changes"] = plan.changes
    ret["comment"] = " ".join([done] + notes)
    return ret
