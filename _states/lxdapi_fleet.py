"""``lxdapi.*`` states of a fleet of instances as a whole: ``instances_pruned`` (remove
what the run does not declare), ``images_pruned`` (remove the images nobody needs).

Core: ``_utils/lxdapi_prune.py`` (the prune's plan), ``_utils/lxdapi_targets.py`` (the
selector).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi as core
import lxdapi_prune

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


# ------------------------------------------------------------------ instances_pruned


def _place(settings):
    """Where connection ``settings`` lead: (endpoint, project), as resolved for a call."""
    resolved = core.resolve_connection(
        settings, boundary.salt["config.get"], boundary.salt["sdb.get"]
    )
    return resolved.get("endpoint"), resolved.get("project") or "default"


def _declared_here(chunks, connection):
    """The instance names the run's ``container_present``/``containers_present`` states
    (``chunks``: its low data) declare on the server and in the project of
    ``connection``. A declaration whose place cannot be resolved (an unknown remote: its
    own state fails) counts as here: it protects rather than removes."""
    here = _place(connection)
    names = set()
    for declaration in lxdapi_prune.declarations(
        chunks, __virtualname__, settings_keys=("remote", "endpoint")
    ):
        try:
            same = _place(declaration.settings) == here
        except ValueError:
            same = True
        if same:
            names.update(declaration.names)
    return names


def _pruned_words(plan, verb):
    parts = [
        "{} {} instance(s) the run does not declare: {}".format(
            verb, len(plan.removed), ", ".join(plan.removed)
        )
    ]
    return "; ".join(parts + _found_words(plan)) + "."


def _found_words(plan):
    words = [f"selector {str(plan.target)!r} matches {len(plan.matched)}"]
    if plan.declared:
        words.append("declared in this run: " + ", ".join(plan.declared))
    if plan.kept:
        words.append("kept: " + ", ".join(plan.kept))
    return words


def instances_pruned(
    name,
    selector=None,
    owner=None,
    keep=None,
    stop_timeout=30,
    force=False,
    project=None,
    **connection,
):
    """
    Ensure that, of the instances ``selector`` matches in the project, only those some
    ``lxdapi.container_present`` or ``lxdapi.containers_present`` of the same state run
    declares are left: the others are stopped cleanly, then deleted (Salt's
    ``file.directory`` with ``clean: True``, for instances).

    The run's declarations are read from its own low data (Salt's ``__lowstate__``, the
    same on 3006, 3007 and 3008): every ``container_present`` and every
    ``containers_present`` container of the run counts, wherever it stands in the SLS,
    whether it ran or not, when it names the same server (``remote``/``endpoint``) and
    project as this state. In ``salt-call state.single`` (and a state called outside a
    state run) there is no SLS: nothing counts as declared, so every match but ``keep``
    goes (the comment says so), and the guard below applies.

    It refuses, with ``result: False`` and nothing touched: no ``selector`` (nor
    ``owner``); a selector that matches every instance of the project while the run
    declares none there (it would empty the project: narrow the selector, or use
    ``container_absent``); a bad ``keep``. ``test=True`` lists what would go. The
    changes name every instance removed (``{old: {status, project}, new: None}``); a
    second run finds nothing to remove and sends nothing. One listing of the project's
    instances, then per instance removed: a clean stop (an unfreeze first when it is
    frozen) unless it is Stopped, then a DELETE.

    name
        The state's ID (any text).

    selector
        Which instances are candidates: a target as ``lxdapi.call`` takes it
        (``lxdapi_targets``): a glob (``web-*``), ``config:KEY:VALUE``,
        ``profile:NAME``, ``status:stopped``, ``name:GLOB``, terms joined by ``and``,
        or the mapping form ``{config: {user.lxdapi.owner: salt}, profile: web, name:
        'web-*'}``. Config is the instance's expanded config (its profiles' keys too).
        A ``project:NAME`` term (or ``project`` key) picks the project, as ``project``
        does.

    owner
        The ownership stamp of ``container_present``'s ``owner``: only the instances
        whose ``user.lxdapi.owner`` is this text (``salt``) are candidates; with a
        selector, both must hold; alone, it is the selector.

    keep
        A list of instance names or globs never removed (``[db1, 'keep-*']``).

    stop_timeout
        Seconds a clean stop of each instance may take (default 30).

    force
        When a clean stop fails (it timed out), kill the instance and remove it anyway
        (default False: the state fails, naming it, and it is left as it was; the ones
        removed before it are reported).

    project
        The LXD project (default: the configured one, else ``default``).

    connection
        ``remote``, ``endpoint`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web-farm:
          lxdapi.containers_present:
            - defaults: {source: busybox, status: Running, owner: salt}
            - containers: [web1, web2]

        prune-the-rest:
          lxdapi.instances_pruned:
            - owner: salt
            - keep: [web-canary]
            - stop_timeout: 60

    .. code-block:: bash

        salt-call state.apply fleet test=True
    """
    try:
        target, problem = lxdapi_prune.prune_target(selector, owner), None
    except ValueError as exc:  # raised by make_plan: after the converge's own checks
        target, problem = None, exc
    if project is not None:
        connection["project"] = project
    elif target is not None and target.project:
        connection["project"] = target.project  # the selector's project: listed and written
    chunks = boundary.dunder("__lowstate__")

    def make_plan(api):
        if problem is not None:
            raise problem
        settings, _ = boundary.state_connection(connection)
        plan = lxdapi_prune.plan_instances_pruned(
            api,
            target,
            declared=_declared_here(chunks, settings),
            keep=keep,
            stop_timeout=stop_timeout,
            force=force,
            declarations_seen=bool(chunks),
        )
        if not chunks:
            plan.notes.append(
                "No SLS in this run (state.single, or a lone call): no instance counts as declared."
            )
        return plan

    return boundary.converge(
        name,
        connection,
        make_plan,
        lambda plan: _pruned_words(plan, "Removed"),
        lambda plan: "Nothing to prune: {}.".format("; ".join(_found_words(plan))),
        would=lambda plan: _pruned_words(plan, "Would remove"),
    )


# ------------------------------------------------------------------ images_pruned


def _images_words(plan, verb):
    found = [
        f"{verb} {len(plan.removed)} image(s) no alias names and no instance was made "
        f"from: {', '.join(f[:12] for f in plan.removed)}"
    ]
    return "; ".join(found + _images_found(plan)) + "."


def _images_found(plan):
    words = []
    for label, group in (
        ("aliased", plan.aliased),
        ("in use", plan.used),
        ("kept", plan.kept),
        ("too young", plan.young),
    ):
        if group:
            words.append("{} {}: {}".format(len(group), label, ", ".join(f[:12] for f in group)))
    return words


def images_pruned(name, older_than=None, keep=None, project=None, **connection):
    """
    Ensure the project holds no image that nobody needs: the images that no alias names,
    that no instance (of any project) was made from (its ``volatile.base_image``), and
    that were uploaded to the server more than ``older_than`` days ago are deleted, but
    those ``keep`` names. Nothing else is ever touched: an aliased image stays, however
    old.

    Two listings (the project's images, every project's instances), then one DELETE
    per image to go. ``test=True`` lists them (``result: None``, nothing deleted); the
    changes are keyed by fingerprint (``{old: {uploaded_at, size, description}, new:
    None}``); a second run finds nothing to delete and sends nothing. A bad
    ``older_than`` or ``keep`` fails the state before anything is sent.

    name
        The state's ID (any text).

    older_than
        How many days ago an image must have been uploaded (``uploaded_at``) to go: a
        number (``30``, ``0.5``); ``0`` for any age. Required: the age is never implied.
        An image whose upload time the server does not give is not old.

    keep
        A list of fingerprints (or prefixes of at least 4 hex digits, as ``lxc image
        list`` shows them) never deleted.

    project
        The LXD project (default: the configured one, else ``default``).

    connection
        ``remote``, ``endpoint`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-images:
          lxdapi.images_pruned:
            - older_than: 30
            - keep: [a1b2c3d4e5f6]

    .. code-block:: bash

        salt-call state.single lxdapi.images_pruned old-images older_than=30 test=True
    """
    if project is not None:
        connection["project"] = project
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_prune.plan_images_pruned(api, older_than, keep),
        lambda plan: _images_words(plan, "Deleted"),
        lambda plan: "No image to delete{}.".format(
            ": " + "; ".join(_images_found(plan)) if _images_found(plan) else ""
        ),
        would=lambda plan: _images_words(plan, "Would delete"),
    )
