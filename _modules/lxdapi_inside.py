"""``lxdapi.*`` execution functions of Salt inside an instance, with no minion in it:
``call`` (one Salt function), ``grains``, ``sls`` (states applied inside) and
``thin_purge``.

The host's minion makes Salt's thin and the saltenv's files, and the core
(``_utils/lxdapi_inside.py``) ships them into the instance once and runs salt-call there
by LXD's exec. Connection settings as in every ``lxdapi`` function (see
``_modules/lxdapi.py``).
"""

import json
import os

from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_inside
import lxdapi_values

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


def _thin():
    """The :class:`lxdapi_inside.Bundle` of Salt's thin for this host's Salt: made by
    ``salt.utils.thin.gen_thin`` in the minion's cachedir (as salt-ssh makes it; made
    again when Salt or Python changes), its digest kept in ``boundary.context`` while the file
    is unchanged. ``lxdapi:thin_extra_mods`` (config.get) adds modules to it, as
    salt-ssh's ``thin_extra_mods`` does."""
    import salt.utils.thin
    import salt.version

    extra = __salt__["config.get"]("lxdapi:thin_extra_mods", "") or ""
    path = salt.utils.thin.gen_thin(__opts__["cachedir"], extra_mods=extra)
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    cached = boundary.context.get("lxdapi.thin")
    if cached is None or cached[0] != key:
        label = f"salt-{salt.version.__version__}"
        cached = (key, lxdapi_inside.Bundle.from_file(label, path))
        boundary.context["lxdapi.thin"] = cached
    return cached[1]


def _saltenv(saltenv):
    if saltenv is None:
        saltenv = __opts__.get("saltenv") or "base"
    if not isinstance(saltenv, str) or not saltenv:
        raise SaltInvocationError(f"saltenv must be a name, not {saltenv!r}")
    return saltenv


def _file_tree(saltenv):
    """The bundle of every file of ``saltenv`` (the ``salt://`` tree: the master's, or the
    local file_roots with ``file_client: local``), fetched into the minion's cache with
    ``cp.cache_master`` first."""
    root = os.path.join(__opts__["cachedir"], "files", saltenv)
    files = {}
    for path in __salt__["cp.cache_master"](saltenv) or ():
        if path and os.path.isfile(path):
            rel = os.path.relpath(path, root)
            if not rel.startswith(".."):
                files[rel.replace(os.sep, "/")] = path
    return lxdapi_inside.Bundle.from_tree("files-" + saltenv, files)


def _inner_pillar(name, pillar, pillar_key):
    """The pillar Salt sees inside ``name``: the host's pillar under ``pillar_key``
    (default ``lxdapi:pillar:NAME``; False: none), with ``pillar`` merged over it.
    Nothing else of the host's pillar goes in."""
    import salt.utils.dictupdate

    if pillar is not None and not isinstance(pillar, dict):
        raise SaltInvocationError(f"pillar must be a mapping, not {pillar!r}")
    if pillar_key is None:
        pillar_key = f"lxdapi:pillar:{name}"
    base = {}
    if pillar_key:
        # read as data, not through pillar.get: Salt 3008's masks what that returns
        base = _plain(salt.utils.data.traverse_dict_and_list(__pillar__, pillar_key, {}))
        if not isinstance(base, dict):
            raise SaltInvocationError(
                f"the pillar under {pillar_key} must be a mapping, not {base!r}"
            )
    return salt.utils.dictupdate.merge(dict(base), pillar or {}, merge_lists=False)


def _plain(value):
    """``value`` as plain dicts and lists (Salt 3008 hands pillar out in its own masking
    kinds of them)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _cli_words(args, kwargs):
    """salt-call's command-line words for positional ``args`` and keyword ``kwargs``: a
    text as it is, anything else as JSON (which salt-call reads back as YAML)."""

    def word(value):
        return value if isinstance(value, str) else json.dumps(value)

    words = [word(arg) for arg in args]
    for key in sorted(kwargs):
        words.append(f"{key}={word(kwargs[key])}")
    return words


def _inside(name, argv, kwargs, saltenv=None, files=False, pillar=None, pillar_key=None, **run):
    """salt-call ARGV in instance ``name`` on this host's thin (see :func:`call`)."""
    api = boundary.connect(kwargs)
    saltenv = _saltenv(saltenv)
    return lxdapi_inside.salt_call(
        api,
        name,
        _thin(),
        argv,
        files=_file_tree(saltenv) if files else None,
        pillar=_inner_pillar(name, pillar, pillar_key),
        saltenv=saltenv,
        **run,
    )


@boundary.errors
def call(name, fun, *args, clean=False, timeout=None, kwarg=None, **kwargs):
    """
    Run one Salt function inside a running instance, with no minion there, and return
    what it returned: ``salt-call --local`` on Salt's thin (this host's Salt, as salt-ssh
    ships it), run by the instance's own ``python3`` through LXD's exec API.

    The thin goes into the instance once per Salt version (under
    ``/var/cache/lxdapi``, mode 0700, checked by digest on each call); each call then
    sends one private job file (config and pillar), which is deleted as soon as it is
    read. Nothing is left running. The inner minion has the instance's name as its id
    and computes its own grains.

    name
        The instance's name (it must be running and have ``python3``).

    fun
        The Salt function to run there (``pkg.version``, ``grains.item``...).

    args
        Its positional arguments.

    clean
        True: remove what lxdapi keeps in the instance after the call (the thin and
        salt-call's cache: see :func:`thin_purge`).

    timeout
        Seconds the function may run before it is killed (default 600).

    kwarg
        Keyword arguments for the function whose names lxdapi takes for itself (a
        connection setting such as ``timeout`` or ``project``): ``kwarg='{timeout: 5}'``.

    kwargs
        Connection settings (see ``_modules/lxdapi.py``); any other keyword argument goes to the
        function. Its pillar: the host's pillar under ``lxdapi:pillar:<name>``.

    A non-zero return code, a salt-call that crashed, an instance that is not running or
    has no ``python3``: a ``CommandExecutionError`` saying which.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.call web1 test.ping
        salt host lxdapi.call web1 pkg.version nginx
        salt host lxdapi.call web1 file.write /etc/motd 'managed by salt'
        salt host lxdapi.call web1 cmd.run 'sleep 2' kwarg='{timeout: 5}'
    """
    if not isinstance(fun, str) or "." not in fun:
        raise SaltInvocationError(f"fun must name a Salt function (module.function), not {fun!r}")
    conn, rest = boundary.split_connection(kwargs)
    if kwarg is not None and not isinstance(kwarg, dict):
        raise SaltInvocationError(f"kwarg must be a mapping, not {kwarg!r}")
    rest.update(kwarg or {})
    try:
        return _inside(name, [fun] + _cli_words(args, rest), conn, timeout=timeout)
    finally:
        if clean:
            lxdapi_inside.thin_purge(boundary.connect(conn), name)


@boundary.errors
def grains(name, *keys, **kwargs):
    """
    The grains of a running instance as Salt computes them inside it (see :func:`call`):
    for targeting and templating on the host.

    name
        The instance's name (it must be running and have ``python3``).

    keys
        Only these grains (default: all of them).

    kwargs
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.grains web1
        salt host lxdapi.grains web1 os osrelease
    """
    conn, rest = boundary.split_connection(kwargs)
    boundary.no_extra(rest)
    argv = ["grains.item", *map(str, keys)] if keys else ["grains.items"]
    return _inside(name, argv, conn, pillar_key=False)


@boundary.errors
def sls(name, mods, saltenv=None, pillar=None, pillar_key=None, test=False, timeout=None, **kwargs):
    """
    Apply SLS files from this host's ``salt://`` tree inside a running instance, with no
    minion there (``state.apply`` on Salt's thin, see :func:`call`), and return the inner
    states' returns as ``state.apply`` gives them (keyed ``module_|-id_|-name_|-function``).
    A failed inner state is in the return (``result: False``); an SLS that does not
    render, or an instance that cannot run Salt, is a ``CommandExecutionError``.

    The files of the saltenv go in as one bundle, again only when one of them changed.

    name
        The instance's name (it must be running and have ``python3``).

    mods
        The SLS to apply: a name, a comma-separated list, or a list.

    saltenv
        The saltenv whose files are used (default: the minion's, ``base``).

    pillar
        Pillar data for the states (a mapping), merged over the host's pillar under
        ``pillar_key``.

    pillar_key
        The key of the host's pillar whose value is the instance's pillar (default
        ``lxdapi:pillar:<name>``; False: none). Nothing else of the host's pillar goes in.

    test
        True: the inner states run in test mode and report what they would change.

    timeout
        Seconds the states may take before they are killed (default 600).

    kwargs
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.sls web1 nginx
        salt host lxdapi.sls web1 nginx,motd test=True
        salt host lxdapi.sls web1 nginx pillar='{nginx: {port: 8080}}'
    """
    mods = lxdapi_inside.sls_names(mods)
    argv = ["state.apply", ",".join(mods)]
    if lxdapi_values.check_bool(test, "test"):
        argv.append("test=True")
    saltenv = _saltenv(saltenv)
    argv.append("saltenv=" + saltenv)
    conn, rest = boundary.split_connection(kwargs)
    boundary.no_extra(rest)
    retcode, ret = _inside(
        name, argv, conn, saltenv, True, pillar, pillar_key, timeout=timeout, check=False
    )
    if not isinstance(ret, dict):  # a render error, a missing SLS: Salt's words
        raise CommandExecutionError(
            "{} did not apply in {!r}: {}".format(",".join(mods), name, lxdapi_inside.words(ret))
        )
    if retcode:
        boundary.context["retcode"] = retcode
    return ret


@boundary.errors
def thin_purge(name, **connection):
    """
    Remove everything lxdapi keeps in a running instance to run Salt there
    (``/var/cache/lxdapi``: the thin, the saltenv files, salt-call's caches). Returns
    True if there was something to remove. The next :func:`call` ships the thin again.

    name
        The instance's name (it must be running; ``python3`` is not needed).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.thin_purge web1
    """
    return lxdapi_inside.thin_purge(boundary.connect(connection), name)
