"""``lxdapi.*`` execution functions that reach inside an instance through LXD: a command
(``container_exec``, an argv list, no shell), its files and folders, its logs and console.

Core: ``_utils/lxdapi_instances.py`` (exec), ``_utils/lxdapi_files.py`` and
``_utils/lxdapi_logs.py``. Connection settings as in every ``lxdapi`` function (see
``_modules/lxdapi.py``).
"""

import base64

from salt.exceptions import SaltInvocationError

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_files
import lxdapi_instances
import lxdapi_logs
import lxdapi_values

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


def _text_or_base64(data):
    """``(text, None)`` for UTF-8 data, else ``(base64 text, "base64")``."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


@boundary.errors
def container_exec(
    name,
    command,
    env=None,
    cwd=None,
    user=None,
    group=None,
    timeout=None,
    output_cap=None,
    output_file=None,
    **connection,
):
    """
    Run a command in a running instance and return ``{retcode, stdout, stderr}``.

    Uses LXD's record-output mode (no websockets); no shell is involved. The output is
    read in chunks: of stdout and of stderr, the first and the last ``output_cap`` bytes
    are returned; past that, a line between them says how much was left out
    (``[... N bytes (x MiB) of stdout left out here ...]``) and the return holds
    ``stdout_omitted`` (or ``stderr_omitted``), the number of bytes left out.

    name
        The instance's name.

    command
        The argv list (``["ls", "-l", "/"]``). A string is refused: for shell syntax run
        ``["sh", "-c", "..."]``.

    env
        Environment variables, a dict.

    cwd
        Absolute working directory.

    user
        Numeric uid to run as (default 0).

    group
        Numeric gid to run as (default 0).

    timeout
        Seconds the command may run: one that has not exited by then is an error that
        says so (LXD cannot cancel it: it may go on running in the instance). Default:
        the connection's ``wait_timeout`` (300 seconds).

    output_cap
        Bytes kept from the start of each output, and as many from its end (default
        1048576, 1 MiB).

    output_file
        An absolute path on the minion (in an existing folder) to write the whole
        stdout to, and ``output_file`` + ``.stderr`` the whole stderr, streamed (never
        whole in memory; 0600, complete or not there). The return names them
        (``stdout_file``, ``stderr_file``) and holds the capped output as ever.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_exec web1 '["uname", "-a"]'
        salt '*' lxdapi.container_exec web1 '["sh", "-c", "echo $A"]' env='{"A": 1}'
        salt '*' lxdapi.container_exec web1 '["sleep", "60"]' timeout=5
        salt '*' lxdapi.container_exec web1 '["journalctl"]' output_file=/tmp/web1.log
    """
    if timeout is not None:
        timeout = lxdapi_values.check_duration(timeout, "timeout")
    result = lxdapi_instances.instance_exec(
        boundary.connect(connection),
        name,
        command,
        environment=env,
        cwd=cwd,
        user=user,
        group=group,
        timeout=timeout,
        output_cap=output_cap,
        output_file=output_file,
    )
    result["stdout"] = result["stdout"].decode("utf-8", "replace")
    result["stderr"] = result["stderr"].decode("utf-8", "replace")
    return result


@boundary.errors
def container_log_list(name, **connection):
    """
    The names of the log files the server keeps for an instance (``lxc.log``,
    ``qemu.log``...).

    name
        The instance's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_log_list web1
    """
    return lxdapi_logs.instance_log_list(boundary.connect(connection), name)


@boundary.errors
def container_log_get(name, filename="lxc.log", lines=None, **connection):
    """
    The text of one of an instance's log files, secrets redacted.

    name
        The instance's name.

    filename
        The log's name, as :func:`container_log_list` gives it (default ``lxc.log``).

    lines
        Only the last ``lines`` non-empty lines (default: the whole file).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_log_get web1
        salt '*' lxdapi.container_log_get web1 qemu.log lines=20
    """
    text = lxdapi_logs.instance_log_get(boundary.connect(connection), name, filename)
    return _tail_or_all(text, lines)


@boundary.errors
def container_console_log(name, lines=None, **connection):
    """
    An instance's console buffer as the server keeps it, secrets redacted.

    name
        The instance's name.

    lines
        Only the last ``lines`` non-empty lines (default: all of it).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_console_log web1 lines=20
    """
    return _tail_or_all(lxdapi_logs.instance_console_log(boundary.connect(connection), name), lines)


def _tail_or_all(text, lines):
    if lines is None:
        return lxdapi_logs.redact_text(text)
    if isinstance(lines, bool) or not str(lines).isdigit():
        raise SaltInvocationError(f"lines must be a whole number >= 0, not {lines!r}")
    count = int(lines)
    return "\n".join(lxdapi_logs.tail(text, count)) if count else ""


@boundary.errors
def container_file_get(name, path, dest=None, **connection):
    """
    Read a file (or list a directory) in an instance; False if it does not exist.

    Returns ``{path, type, mode, uid, gid}`` and ``content`` (UTF-8 text; base64 with
    ``encoding: base64`` for binary data), ``entries`` for a directory, or ``dest``,
    ``size`` and ``sha256`` when the content was written to a local file. Content
    returned is read into memory, up to 16 MiB: a larger file is an error that says its
    size; give ``dest`` for it.

    name
        The instance's name.

    path
        Absolute path in the instance.

    dest
        Absolute local path (in an existing folder) to write the content to instead of
        returning it: streamed in chunks, never whole in memory, to a temporary file
        beside it renamed when complete (so ``dest`` is never half written).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_file_get web1 /etc/hostname
        salt '*' lxdapi.container_file_get web1 /var/log/app.log dest=/tmp/app.log
    """
    api = boundary.connect(connection)
    if dest:
        return lxdapi_files.instance_file_download(api, name, path, dest)
    found = lxdapi_files.instance_file_get(api, name, path)
    if not found:
        return False
    info, content = found
    if info["type"] == "directory":
        info["entries"] = content
    else:
        info["content"], encoding = _text_or_base64(content)
        if encoding:
            info["encoding"] = encoding
    return info


@boundary.errors
def container_file_put(
    name,
    path,
    source=None,
    contents=None,
    mode=None,
    uid=None,
    gid=None,
    makedirs=False,
    **connection,
):
    """
    Write a file into an instance; True if written, False if already identical.

    Give exactly one of ``source`` and ``contents``. The parent folder must exist, unless
    ``makedirs``.

    name
        The instance's name.

    path
        Absolute path in the instance.

    source
        A ``salt://`` URL (fetched from the fileserver) or a local file path.

    contents
        The file's text.

    mode
        Octal mode, ``0644`` (default: LXD's, 0644 for a new file).

    uid
        Numeric owner id (default 0).

    gid
        Numeric group id (default 0).

    makedirs
        True to create missing parent folders (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_file_put web1 /etc/motd contents='hello'
        salt '*' lxdapi.container_file_put web1 /srv/app/conf/app.ini contents='[app]' makedirs=True
        salt '*' lxdapi.container_file_put web1 /etc/app.conf source=salt://app/app.conf \
            mode=0640 uid=0 gid=33
    """
    if (source is None) == (contents is None):
        raise SaltInvocationError("give exactly one of source and contents")
    if source is not None:
        with open(boundary.local_source(source), "rb") as fh:
            data = fh.read()
    else:
        data = contents if isinstance(contents, bytes) else str(contents).encode("utf-8")
    return lxdapi_files.instance_file_put(
        boundary.connect(connection),
        name,
        path,
        data,
        mode=mode,
        uid=uid,
        gid=gid,
        makedirs=makedirs,
    )


@boundary.errors
def container_file_delete(name, path, **connection):
    """
    Delete a file, symlink or empty folder in an instance; True if deleted, False if it
    did not exist. A folder with entries is refused (nothing in it is deleted).

    name
        The instance's name.

    path
        Absolute path in the instance.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_file_delete web1 /etc/motd
    """
    return lxdapi_files.instance_file_delete(boundary.connect(connection), name, path)


@boundary.errors
def container_mkdir(name, path, mode=None, uid=None, gid=None, makedirs=False, **connection):
    """
    Create a folder in an instance; True if created or its mode/owner changed, False if
    it was already there as asked.

    name
        The instance's name.

    path
        Absolute path in the instance.

    mode
        Octal mode, ``0755`` (default: LXD's, 0755 for a new folder).

    uid
        Numeric owner id (default 0).

    gid
        Numeric group id (default 0).

    makedirs
        True to create missing parent folders too (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.container_mkdir web1 /srv/app/data mode=0750 uid=33 makedirs=True
    """
    return lxdapi_files.instance_mkdir(
        boundary.connect(connection), name, path, mode=mode, uid=uid, gid=gid, makedirs=makedirs
    )
