"""``lxdapi.sls_applied``: Salt states applied inside an instance with no minion in it.

Its plan is a test run of the inner states (``lxdapi.sls`` with ``test=True``: compiled on
the host, only the files they name shipped); when that predicts no change, nothing is
applied. Several of them in one run join through ``mod_aggregate`` (see
``_states/lxdapi_aggregate.py``): the first runs every member's plan, then every member's
changes, side by side. Core: ``_utils/lxdapi_inside.py``.
"""

import salt.exceptions

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi as core
import lxdapi_inside
import lxdapi_parallel

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


#: The key in ``__context__`` of the outcomes of an aggregate of sls_applied states, by
#: (run, state name).
AGGREGATED = "lxdapi.aggregated_sls"


def sls_applied(
    name,
    container,
    mods=None,
    saltenv=None,
    pillar=None,
    pillar_key=None,
    timeout=None,
    extra_filerefs=None,
    concurrency=None,
    **kwargs,
):
    """
    Apply SLS files from this host's ``salt://`` tree inside a running instance, with no
    minion there: Salt's thin runs ``state.apply`` on the instance's own ``python3``,
    through LXD's file and exec APIs (see the execution module's ``lxdapi.call``).

    The changes are the inner states' changes, by inner state id; a failed inner state
    fails this one, with the inner comments. The plan is the inner states' test run:
    when it predicts no change, nothing is applied (a second run reports no changes).
    With ``test=True`` only that test run happens and its predictions are reported
    (``result: None`` when any state would act). Requisites (``require``, ``watch``,
    ``onchanges``) work on it as on any state.

    Many of them run side by side when aggregated (``state_aggregate: True`` or
    ``[lxdapi]`` in the minion config, or ``aggregate: True`` on the states): the first
    one Salt runs makes the test runs of all that can join it (at most ``concurrency``
    at once), then applies those that predicted changes, side by side; each state still
    reports its own instance's changes, comment and result at its own turn, and one
    that fails fails alone. A state whose requisites have not run yet, or that has
    conditions of its own (``onlyif``, ``unless``, ``onchanges``...), or another
    connection, stays out and runs at its turn. They may differ in container, mods,
    pillar and saltenv.

    name
        The state's ID; the SLS to apply when ``mods`` is not given.

    container
        The instance's name (it must be running and have ``python3``).

    mods
        The SLS to apply: a name, a comma-separated list, or a list.

    saltenv
        The saltenv whose files are used (default: this run's).

    pillar
        Pillar data for the inner states (a mapping), merged over the host's pillar under
        ``pillar_key``.

    pillar_key
        The key of the host's pillar whose value is the instance's pillar (default
        ``lxdapi:pillar:<container>``; False: none). Nothing else of the host's pillar
        goes in.

    timeout
        Seconds each inner run may take before it is killed (default 600).

    extra_filerefs
        More ``salt://`` files to ship, which no state names but a template includes (a
        list or a comma-separated text). Only the files the compiled states name go in
        otherwise, never the rest of the tree (see ``lxdapi.sls``).

    concurrency
        When aggregated: how many instances run at once, taken from the first state of
        the aggregate (default: the minion's ``lxdapi:concurrency``, else the host's CPU
        count, at least 2 and at most 16). 1: one after the other.

    kwargs
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1-nginx:
          lxdapi.sls_applied:
            - container: web1
            - mods: nginx
            - pillar:
                nginx: {port: 8080}
            - aggregate: True
            - require:
              - lxdapi: web1
    """
    group = kwargs.pop(boundary.AGGREGATE_KEY, None)  # mod_aggregate made this state the first
    connection, _ = boundary.state_connection(kwargs)
    declared = {
        "container": container,
        "mods": mods,
        "saltenv": saltenv,
        "pillar": pillar,
        "pillar_key": pillar_key,
        "timeout": timeout,
        "extra_filerefs": extra_filerefs,
    }
    names = mods if mods is not None else name

    def make_plan(api):
        lxdapi_parallel.check_concurrency(concurrency)
        if group or boundary.context.get(AGGREGATED):
            outcome = _aggregated_plan(api, name, group, concurrency, connection)
            if outcome is not None:
                return outcome
        return _member_plan(api, name, declared, connection, boundary.dunder("__env__"))

    def would(plan):
        if plan.status != "Running":
            return (
                f"Would have applied {names} in {container!r}, which "
                f"{boundary.exec_where(plan)} now (an earlier state may create or start it)."
            )
        return "Would have changed {} of {} states in {!r}: {}.".format(
            len(plan.changes), plan.count, container, ", ".join(plan.changes)
        )

    return boundary.converge(
        name,
        kwargs,
        make_plan,
        lambda plan: "Changed {} of {} states in {!r}: {}.".format(
            len(plan.changes), plan.count, container, ", ".join(plan.changes) or "none"
        ),
        lambda plan: f"All {plan.count} states in {container!r} are as declared.",
        would=would,
        failed=lambda plan, exc: exc.error if isinstance(exc, core.APIException) else str(exc),
    )


def _member_plan(api, name, declared, connection, env):
    """The plan of one sls_applied state (``declared``: its own arguments; ``env``: its
    run's saltenv, the default of ``saltenv``): the inner states' test run through
    ``lxdapi.sls``. Not running is refused here, but in test mode (then predicted)."""
    container = declared["container"]
    names = declared["mods"] if declared.get("mods") is not None else name
    lxdapi_inside.sls_names(names)

    def run(test):
        try:
            return boundary.salt["lxdapi.sls"](
                container,
                names,
                saltenv=declared.get("saltenv") or env or "base",
                pillar=declared.get("pillar"),
                pillar_key=declared.get("pillar_key"),
                test=test,
                timeout=declared.get("timeout"),
                extra_filerefs=declared.get("extra_filerefs"),
                **connection,
            )
        except salt.exceptions.SaltInvocationError as exc:
            raise ValueError(str(exc)) from None
        except salt.exceptions.CommandExecutionError as exc:
            raise core.APIException(error=str(exc)) from None

    plan = lxdapi_inside.plan_sls_applied(api, container, run)
    testing = boundary.testing
    if plan.status != "Running" and not testing:
        raise core.APIException(
            error=(
                f"cannot apply {names} in {container!r}: it "
                f"{boundary.exec_where(plan)}, not Running"
            )
        )
    if plan.failed and testing:
        raise core.APIException(error=plan.failure())
    return plan


def _concurrency(concurrency):
    """The aggregate's bound: the argument, else the minion's ``lxdapi:concurrency``, else
    :func:`lxdapi_parallel.default_concurrency`."""
    if concurrency is None:
        concurrency = boundary.salt["config.get"]("lxdapi:concurrency", None)
    return lxdapi_parallel.check_concurrency(concurrency)


def _aggregated_plan(api, name, group, concurrency, connection):
    """The outcome of ``name`` in its run's aggregate, or None when it has none. The
    first state of an aggregate (``group``: every member's arguments and saltenv) plans
    them all side by side and applies their changes side by side first; what failed for
    ``name`` is raised here, at its own turn."""
    run = boundary.dunder("__instance_id__")
    store = boundary.context.setdefault(AGGREGATED, {})
    if group:
        bound = _concurrency(concurrency)

        def member(entry):
            declared = {k: v for k, v in entry.items() if k not in ("name", "__env__")}
            return lambda: _member_plan(
                api, entry["name"], declared, connection, entry.get("__env__")
            )

        outcomes = lxdapi_inside.converge_sls_each(
            api,
            {entry["name"]: member(entry) for entry in group},
            concurrency=bound,
            apply=not boundary.testing,
        )
        for member_name, outcome in outcomes.items():
            store[(run, member_name)] = outcome
    outcome = store.pop((run, name), None)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
