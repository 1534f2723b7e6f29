"""``lxdapi.sls_applied``: Salt states applied inside an instance with no minion in it.

Its plan is a test run of the inner states (``lxdapi.sls`` with ``test=True``: compiled on
the host, only the files they name shipped); when that predicts no change, nothing is
applied. Core: ``_utils/lxdapi_inside.py``.
"""

import salt.exceptions

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi as core
import lxdapi_inside

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def sls_applied(
    name,
    container,
    mods=None,
    saltenv=None,
    pillar=None,
    pillar_key=None,
    timeout=None,
    extra_filerefs=None,
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
            - require:
              - lxdapi: web1
    """
    testing = boundary.testing
    connection, _ = boundary.state_connection(kwargs)
    env = saltenv or boundary.dunder("__env__") or "base"
    names = mods if mods is not None else name

    def run(test):
        try:
            return boundary.salt["lxdapi.sls"](
                container,
                names,
                saltenv=env,
                pillar=pillar,
                pillar_key=pillar_key,
                test=test,
                timeout=timeout,
                extra_filerefs=extra_filerefs,
                **connection,
            )
        except salt.exceptions.SaltInvocationError as exc:
            raise ValueError(str(exc)) from None
        except salt.exceptions.CommandExecutionError as exc:
            raise core.APIException(error=str(exc)) from None

    def make_plan(api):
        lxdapi_inside.sls_names(names)
        plan = lxdapi_inside.plan_sls_applied(api, container, run)
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
        failed=lambda plan, exc: exc.error,
    )
