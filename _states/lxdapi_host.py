"""``lxdapi.*`` states of the host: the server's warnings acknowledged.

Core: ``_utils/lxdapi_warnings.py``; the one path of a state is the boundary's
``converge`` (see ``_states/lxdapi.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_warnings

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def warning_acknowledged(name, type=None, severity=None, **connection):
    """
    Ensure warnings of the server are acknowledged: one PUT per warning still ``new``,
    nothing sent for one acknowledged already. Resolved warnings are left as they are.

    Either ``name`` is the UUID of one warning (as ``lxdapi.warning_list`` lists them;
    one the server does not have, or no longer has, leaves nothing to do and the comment
    says so), or ``type`` and/or ``severity`` say which: every new warning of that type
    (of the connection's ``project`` only, when it names one) is acknowledged, those the
    server records later on the next run.

    name
        A warning's UUID; with ``type`` or ``severity``, the state's ID (any text).

    type
        Acknowledge every warning of this type, as the server names it (``AppArmor
        support has been disabled``).

    severity
        Acknowledge every warning of this severity: ``low``, ``moderate`` or ``high``
        (or a list of them); with ``type``, those of both.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        no-apparmor-here:
          lxdapi.warning_acknowledged:
            - type: AppArmor support has been disabled

        0c10b517-b0c9-441f-b531-db8af1d22995:
          lxdapi.warning_acknowledged
    """

    def listed(warnings):
        return ", ".join(lxdapi_warnings.describe(w) for w in warnings)

    def done(plan):
        return f"Acknowledged: {listed(plan.acknowledged)}."

    def would(plan):
        return f"Would acknowledge: {listed(plan.acknowledged)}."

    def unchanged(plan):
        held = [w for w in plan.matched if w.get("status") == "acknowledged"]
        if held:
            return f"Already acknowledged: {listed(held)}."
        return "Nothing to acknowledge."

    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_warnings.plan_warning_acknowledged(api, name, type, severity),
        done,
        unchanged,
        would=would,
    )
