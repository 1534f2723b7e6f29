"""``lxdapi.*`` states inside an instance, through LXD: a command run
(``container_exec``, with ``creates``/``unless``-style guards), files managed (from text,
a template or ``salt://``), folders present, files absent.

Core: ``_utils/lxdapi_instances.py`` (exec) and ``_utils/lxdapi_files.py``.
"""

import os

import salt.exceptions
import salt.utils.templates

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_files
import lxdapi_instances
import lxdapi_values

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def _file_source(source):
    """The bytes of a ``salt://`` (or other fileserver) URL or a local absolute path."""
    if "://" in str(source):
        cached = boundary.cache_file(source)
        if not cached:
            raise ValueError(f"source {source} could not be fetched")
        source = cached
    elif not os.path.isabs(str(source)):
        raise ValueError(f"source must be a salt:// URL or an absolute path, not {source!r}")
    with open(source, "rb") as fh:
        return fh.read()


def _render(content, template, context, defaults):
    """``content`` (bytes) rendered with Salt's ``template`` engine (jinja, mako...)."""
    if template is None:
        return content
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("a template must be UTF-8 text; this one is binary") from None
    for what, value in (("context", context), ("defaults", defaults)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{what} must be a mapping, not {type(value).__name__}")
    engines = salt.utils.templates.TEMPLATE_REGISTRY
    if template not in engines:
        raise ValueError(
            "unknown template engine {!r}; choose one of {}".format(
                template, ", ".join(sorted(engines))
            )
        )
    try:
        return boundary.salt["file.apply_template_on_contents"](
            content,
            template,
            dict(context or {}),
            dict(defaults or {}),
            boundary.dunder("__env__", "base"),
        )
    except salt.exceptions.SaltException as exc:
        raise ValueError(f"the template could not be rendered: {exc}") from None


def file_managed(
    container,
    path=None,
    source=None,
    contents=None,
    mode=None,
    uid=None,
    gid=None,
    makedirs=False,
    template=None,
    context=None,
    defaults=None,
    show_changes=True,
    **connection,
):
    """
    Ensure a file inside an instance has the declared content, mode and owner.

    Reads the file and its mode/uid/gid first and writes (the whole file) only when one
    of them differs. Content changes are reported as sha256 digests and, for text files
    (up to 64 KiB) with ``show_changes``, as a unified ``diff``.

    container
        The instance's name.

    path
        The absolute path inside the instance; defaults to the state's ``name``.

    source
        Where the content comes from: a ``salt://`` URL (fetched with ``cp.cache_file``)
        or an absolute local path. Not together with ``contents``.

    contents
        The content itself (text, written as UTF-8, exactly as given).

    mode
        The mode as octal digits (``'0644'``); None keeps the file's (a new file gets
        0644).

    uid, gid
        Numeric owner and group; None keeps the file's (a new file gets 0).

    makedirs
        Create missing parent folders (default False: a missing parent fails the state).

    template
        Render ``source`` or ``contents`` with this Salt template engine (``jinja``,
        ``mako``...), with ``grains``, ``pillar``, ``salt`` and the context below.

    context, defaults
        Template variables: ``defaults`` first, overridden by ``context``.

    show_changes
        Put a ``diff`` of text content in the changes (default True; False for files
        that hold secrets: only digests are shown then).

    connection
        ``project`` and the other connection settings.

    With neither ``source`` nor ``contents`` only mode and owner are managed (a missing
    file is created empty).

    CLI Example:

    .. code-block:: yaml

        /etc/motd:
          lxdapi.file_managed:
            - container: web1
            - source: salt://web/motd.j2
            - template: jinja
            - context:
                role: web
            - mode: '0644'
    """
    name = connection.pop("name", None) or path
    path = path or name

    def make_plan(api):
        if source is not None and contents is not None:
            raise ValueError("give source or contents, not both")
        content = _file_source(source) if source is not None else contents
        if content is not None:
            content = _render(content, template, context, defaults)
        elif template is not None:
            raise ValueError("template needs source or contents")
        return lxdapi_files.plan_file_managed(
            api,
            container,
            path,
            content,
            mode,
            uid,
            gid,
            makedirs=makedirs,
            show_diff=lxdapi_values.check_bool(show_changes, "show_changes"),
        )

    return boundary.resource_converge(
        name, f"File {path} in {container!r}", make_plan, connection, created_key="file"
    )


def directory_present(
    container, path=None, mode=None, uid=None, gid=None, makedirs=False, **connection
):
    """
    Ensure a folder exists inside an instance, with the declared mode and owner.

    LXD sets a folder's mode and owner only when it creates it: an empty folder that
    differs is made again; one with entries fails the state, naming what differs.

    container
        The instance's name.

    path
        The absolute path inside the instance; defaults to the state's ``name``.

    mode
        The mode as octal digits (``'0750'``); None keeps the folder's (a new one gets
        0755).

    uid, gid
        Numeric owner and group; None keeps the folder's (a new one gets 0).

    makedirs
        Create missing parent folders (default False).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        /srv/app/data:
          lxdapi.directory_present:
            - container: web1
            - mode: '0750'
            - uid: 33
            - makedirs: True
    """
    name = connection.pop("name", None) or path
    path = path or name
    return boundary.resource_converge(
        name,
        f"Folder {path} in {container!r}",
        lambda api: lxdapi_files.plan_directory_present(
            api, container, path, mode, uid, gid, makedirs=makedirs
        ),
        connection,
        created_key="folder",
    )


def file_absent(container, path=None, **connection):
    """
    Ensure a file, symlink or empty folder does not exist inside an instance. A folder
    with entries fails the state (nothing in it is deleted).

    container
        The instance's name.

    path
        The absolute path inside the instance; defaults to the state's ``name``.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        /etc/motd:
          lxdapi.file_absent:
            - container: web1
    """
    name = connection.pop("name", None) or path
    path = path or name
    return boundary.resource_converge(
        name,
        f"File {path} in {container!r}",
        lambda api: lxdapi_files.plan_file_absent(api, container, path),
        connection,
    )


def container_exec(
    name,
    container,
    command=None,
    onlyif_exec=None,
    unless_exec=None,
    creates_path=None,
    env=None,
    cwd=None,
    user=None,
    group=None,
    success_retcodes=None,
    timeout=None,
    **connection,
):
    """
    Run a command in a running instance, as Salt's ``cmd.run`` does on a host: every time,
    unless a guard run in the instance (``onlyif_exec``, ``unless_exec``,
    ``creates_path``) says it is not needed. No shell is involved.

    Salt's own ``onlyif``, ``unless`` and ``creates`` still work, as on any state, but
    they run on the minion's host, not in the instance: hence the guards' own names.

    The changes are ``{retcode, stdout, stderr}``; the state fails when the exit code is
    not a success code. With ``test=True`` the guards still run (they only read) and the
    command does not.

    name
        The state's ID; the command when ``command`` is not given.

    container
        The instance's name (it must be running).

    command
        An argv list (``["apk", "add", "nginx"]``) or a string split into words as a
        shell would (quotes group words) but run without a shell. For shell syntax use
        ``["sh", "-c", "..."]``.

    onlyif_exec
        A command (argv list or string) run first in the instance: the command runs only
        if it exits 0.

    unless_exec
        A command run in the instance: the command does not run if it exits 0.

    creates_path
        An absolute path in the instance (or a list): the command does not run if they
        all exist.

    env
        Environment variables, a mapping (for the guards too).

    cwd
        Absolute working directory.

    user, group
        Numeric uid and gid to run as (default 0).

    success_retcodes
        Exit codes that count as success (default ``[0]``).

    timeout
        Seconds the command (and each guard) may run: one that has not exited by then
        fails the state, saying so (LXD cannot cancel it: it may go on running in the
        instance). Default: the connection's ``wait_timeout`` (300 seconds).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        install-nginx:
          lxdapi.container_exec:
            - container: web1
            - command: [apk, add, nginx]
            - creates_path: /usr/sbin/nginx
    """
    testing = boundary.testing

    def make_plan(api):
        plan = lxdapi_instances.plan_instance_exec(
            api,
            container,
            name if command is None else command,
            onlyif=onlyif_exec,
            unless=unless_exec,
            creates=creates_path,
            success_retcodes=success_retcodes,
            environment=env,
            cwd=cwd,
            user=user,
            group=group,
            timeout=timeout,
        )
        if plan.status != "Running" and not testing:
            raise ValueError(
                f"cannot run {plan.argv}: instance {container!r} "
                f"{boundary.exec_where(plan)}, not Running"
            )
        return plan

    def would(plan):
        if plan.status != "Running":
            return (
                f"Would have run {plan.argv} in {container!r}, which "
                f"{boundary.exec_where(plan)} now (an earlier state may create or start it)."
            )
        return f"Would have run {plan.argv} in {container!r}."

    return boundary.converge(
        name,
        connection,
        make_plan,
        lambda plan: "Ran {} in {!r} (exit {}).".format(
            plan.argv, container, plan.changes["retcode"]
        ),
        lambda plan: f"Not run in {container!r}: {plan.skip_reason}",
        would=would,
        failed=lambda plan, exc: exc.error,
    )
