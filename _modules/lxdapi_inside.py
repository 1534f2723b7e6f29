"""``lxdapi.*`` execution functions of Salt inside an instance, with no minion in it:
``call`` (one Salt function), ``grains``, ``sls`` (states applied inside) and
``thin_purge``.

The host's minion makes Salt's thin and the saltenv's files, and the core
(``_utils/lxdapi_inside.py``) ships them into the instance once and runs salt-call there
by LXD's exec. Connection settings as in every ``lxdapi`` function (see
``_modules/lxdapi.py``).
"""

import hashlib
import json
import logging
import os
import threading
import time

from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi
import lxdapi_inside
import lxdapi_parallel
import lxdapi_salt
import lxdapi_targets
import lxdapi_values

__virtualname__ = "lxdapi"

log = logging.getLogger(__name__)

#: Salt's rendering and compiling of states on the host (its State classes, renderers,
#: file client) is not known to be thread-safe: one compiles at a time in this process.
_COMPILE_LOCK = threading.RLock()
#: Making the thin (``gen_thin`` writes it in the cachedir) and an API for a job thread.
_SETUP_LOCK = threading.RLock()


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
    with _SETUP_LOCK:
        path = salt.utils.thin.gen_thin(__opts__["cachedir"], extra_mods=extra)
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        cached = boundary.context.get("lxdapi.thin")
        if cached is None or cached[0] != key:
            label = f"salt-{salt.version.__version__}"
            cached = (key, lxdapi_inside.Bundle.from_file(label, path))
            boundary.context["lxdapi.thin"] = cached
    return cached[1]


def _api(connection):
    """The :class:`lxdapi.API` of ``connection`` for the thread that asks: the run's own
    (``boundary.connect``) in the main thread; in any other thread (a target's job, or
    ``lxdapi.sls`` called from threads, as aggregated ``sls_applied`` states do) one of
    that thread's own, kept in ``__context__`` by thread. An API is not shared by threads
    at once: its session's keep-alive pool holds one connection, and its read cache is a
    plain dict that writes clear."""
    if threading.current_thread() is threading.main_thread():
        return boundary.connect(connection)
    conn, rest = boundary.split_connection(connection)
    boundary.no_extra(rest)
    with _SETUP_LOCK:
        cache = boundary.context.setdefault(("lxdapi.thread_apis", threading.get_ident()), {})
        lxdapi_salt.record_writes(__opts__.get("cachedir"))
        return lxdapi.connection_api(
            conn, cache, __salt__["config.get"], __salt__["sdb.get"], __opts__.get("cachedir")
        )


def _saltenv(saltenv):
    if saltenv is None:
        saltenv = __opts__.get("saltenv") or "base"
    if not isinstance(saltenv, str) or not saltenv:
        raise SaltInvocationError(f"saltenv must be a name, not {saltenv!r}")
    return saltenv


#: Seconds an instance's grains, read inside it, are kept in the host's cache to render
#: its states with (``lxdapi:grains_cache_expiration`` overrides it; 0: read every run).
GRAINS_CACHE_EXPIRATION = 300

#: The functions that render an instance's states on the host answer from the instance's
#: grains and pillar there; any other function a template calls runs inside it.
LOCAL_FUNCTIONS = (
    "grains.get",
    "grains.item",
    "grains.items",
    "pillar.get",
    "pillar.item",
    "pillar.items",
    "config.get",
)


def _grains_cache_path(api, name):
    key = json.dumps([api.display_endpoint, api.project, name])
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return os.path.join(__opts__["cachedir"], "lxdapi", "grains", digest + ".json")


def _instance_grains(api, name):
    """The grains of ``name`` as Salt computes them inside it (``grains.items`` there),
    kept in ``__context__`` for the run and for :data:`GRAINS_CACHE_EXPIRATION` seconds
    in a private file of the minion's cache, so that a run that changes nothing does not
    start a salt-call inside only to read them."""
    import salt.utils.files

    key = ("lxdapi.grains", api.display_endpoint, api.project, name)
    if key in boundary.context:
        return boundary.context[key]
    expiration = __salt__["config.get"]("lxdapi:grains_cache_expiration", GRAINS_CACHE_EXPIRATION)
    path = _grains_cache_path(api, name)
    try:
        if time.time() - os.path.getmtime(path) < float(expiration):
            with salt.utils.files.fopen(path) as fh:
                boundary.context[key] = json.load(fh)
                return boundary.context[key]
    except (OSError, ValueError):
        pass
    grains = _inside(api, name, ["grains.items"], pillar_key=False, running=True)
    if not isinstance(grains, dict):
        raise CommandExecutionError(f"the grains of {name!r} are not a mapping: {grains!r}")
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with salt.utils.files.fpopen(path, "w", mode=0o600) as fh:
        json.dump(grains, fh)
    boundary.context[key] = grains
    return grains


class _InstanceFunctions:
    """``__salt__`` of an instance's states as they render on the host: the functions of
    :data:`LOCAL_FUNCTIONS` answer from the instance's grains and pillar, any other runs
    inside the instance (``run(fun, args, kwargs)``), as salt-ssh's wrapper does."""

    def __init__(self, grains, pillar, run):
        self._grains, self._pillar, self._run = grains, pillar, run

    def _lookup(self, data):
        import salt.utils.data

        def get(key, default="", *args, delimiter=":", **kwargs):
            return salt.utils.data.traverse_dict_and_list(data, key, default, delimiter)

        return get

    def _item(self, data):
        def item(*keys, **kwargs):
            return {key: self._lookup(data)(key) for key in keys}

        return item

    def _config_get(self, key, default="", *args, delimiter=":", **kwargs):
        missing = object()
        for data in (self._grains, self._pillar):
            found = self._lookup(data)(key, missing, delimiter=delimiter)
            if found is not missing:
                return found
        return default

    def __getitem__(self, fun):
        local = {
            "grains.get": self._lookup(self._grains),
            "grains.item": self._item(self._grains),
            "grains.items": lambda *a, **k: self._grains,
            "pillar.get": self._lookup(self._pillar),
            "pillar.item": self._item(self._pillar),
            "pillar.items": lambda *a, **k: self._pillar,
            "config.get": self._config_get,
        }
        if fun in local:
            return local[fun]
        if not isinstance(fun, str) or "." not in fun:
            raise KeyError(fun)
        return lambda *args, **kwargs: self._run(fun, args, kwargs)

    def __contains__(self, fun):
        return isinstance(fun, str) and "." in fun

    def get(self, fun, default=None):
        try:
            return self[fun]
        except KeyError:
            return default

    def __getattr__(self, module):  # salt.cmd.run(...) in a template
        if module.startswith("_"):
            raise AttributeError(module)
        functions = self

        class Namespace:
            def __getattr__(self, fun):
                return functions[f"{module}.{fun}"]

        return Namespace()


def _compiler_classes():
    """The state compiler of an instance's states, as classes made on first use (Salt's
    state machinery is imported only when states are applied inside)."""
    import salt.loader
    import salt.state

    class InstanceState(salt.state.State):
        """Salt's State, with the instance's pillar as it is (never gathered for the
        instance's id) and ``__salt__`` the :class:`_InstanceFunctions`."""

        def __init__(self, opts, pillar, functions, file_client):
            self._lxdapi_pillar, self._lxdapi_functions = pillar, functions
            super().__init__(opts, file_client=file_client)

        def _gather_pillar(self):
            return self._lxdapi_pillar

        def load_modules(self, data=None, proxy=None):
            self.functions = self._lxdapi_functions
            # Salt 3008's own machinery (config.option('state_aggregate') while compiling)
            # asks the host that compiles, not the instance.
            self._trusted_functions = __salt__
            self.utils = salt.loader.utils(self.opts)
            self.serializers = salt.loader.serializers(self.opts)
            self.states = salt.loader.states(
                self.opts, self.functions, self.utils, self.serializers
            )
            self.rend = salt.loader.render(self.opts, self.functions)

        def check_refresh(self, data, ret):
            return

        def module_refresh(self):
            return

    class InstanceHighState(salt.state.BaseHighState):
        """Salt's highstate compiler on the host's file client, for an instance."""

        def __init__(self, opts, pillar, functions, file_client):
            self.client = file_client
            super().__init__(opts)
            self.state = InstanceState(self.opts, pillar, functions, file_client)
            self.matchers = salt.loader.matchers(self.opts)

        def load_dynamic(self, matches):
            return

    return InstanceHighState


def _compile(name, mods, saltenv, pillar, grains, functions, test, extra_filerefs):
    """Render and compile ``mods`` for instance ``name`` on this host (its grains and
    pillar, this host's ``salt://`` tree), as salt-ssh compiles on its master: a
    :class:`lxdapi_inside.CompiledStates`, or Salt's list of errors."""
    import salt.state
    import salt.utils.state

    opts = salt.utils.state.get_sls_opts(__opts__, saltenv=saltenv)
    opts["id"], opts["grains"], opts["pillar"], opts["test"] = name, grains, pillar, test
    client = _file_client(saltenv)
    compiler = _compiler_classes()(opts, pillar, functions, client)
    # the active highstate, for the renderers that look for it (pydsl, stateconf): Salt
    # 3006.29 and 3007.16 keep it per context on BaseHighState, 3008 on HighState.stack
    if hasattr(compiler, "push_active"):
        compiler.push_active()
        inactive = type(compiler).pop_active
    else:
        salt.state.HighState.stack.append(compiler)

        def inactive():
            salt.state.HighState.stack.remove(compiler)

    try:
        high, errors = compiler.render_highstate({saltenv: mods})
        high, extend_errors = compiler.state.reconcile_extend(high)
        errors += extend_errors + compiler.state.verify_high(high)
        if not errors:
            high, requisite_errors = compiler.state.requisite_in(high)
            errors += requisite_errors
        if errors:
            return errors
        high = compiler.state.apply_exclude(high)
        chunks = compiler.state.compile_high_data(high)
        if isinstance(chunks, tuple):  # Salt 3008: (chunks, errors)
            chunks, errors = chunks
            if errors:
                return errors
        lowstate = json.loads(json.dumps(_plain_chunks(chunks), default=str))
        files = _referenced_files(client, opts, lowstate, extra_filerefs)
    finally:
        inactive()
    envs = {chunk.get("__env__", saltenv) for chunk in lowstate if isinstance(chunk, dict)}
    return lxdapi_inside.CompiledStates(lowstate, files, envs | {saltenv})


def _file_client(saltenv):
    """Salt's file client of ``saltenv`` for compiling on the host, made once per run and
    kept in ``__context__`` (as Salt's ``cp`` functions keep theirs): its making loads
    the fileserver's modules, the most of a no-op run's time on the host. Used under
    :data:`_COMPILE_LOCK` only. Every ``cache_file`` still compares the file with the
    fileserver's, so a changed file is fetched."""
    import salt.fileclient
    import salt.utils.state

    key = ("lxdapi.fileclient", saltenv)
    if key not in boundary.context:
        opts = salt.utils.state.get_sls_opts(__opts__, saltenv=saltenv)
        boundary.context[key] = salt.fileclient.get_file_client(opts)
    return boundary.context[key]


def _plain_chunks(chunks):
    """The low chunks without what only the host's renderers hold (``__slsmod__``)."""
    return [
        {k: v for k, v in chunk.items() if k != "__slsmod__"} if isinstance(chunk, dict) else chunk
        for chunk in chunks
    ]


def _referenced_files(client, opts, lowstate, extra_filerefs):
    """The ``salt://`` files the compiled states name (a ``source``, a template, a
    ``file.recurse`` folder...), and ``extra_filerefs``, fetched into the host's cache:
    ``{"<saltenv>/<path>": local path}``. Nothing else of the tree."""
    import salt.client.ssh.state
    import salt.utils.url

    refs = salt.client.ssh.state.lowstate_file_refs(lowstate, ",".join(extra_filerefs))
    files = {}
    for env, groups in refs.items():
        for ref in (ref for group in groups for ref in group):
            path, ref_env = salt.utils.url.parse(ref)
            env = ref_env or env
            path = path.lstrip("/")
            cached = client.cache_file(ref, env)
            if cached:
                files[f"{env}/{path}"] = cached
                continue
            root = os.path.join(opts["cachedir"], "files", env)
            for local in client.cache_dir(ref, env) or ():
                rel = os.path.relpath(local, root)
                if not rel.startswith("..") and os.path.isfile(local):
                    files[f"{env}/{rel.replace(os.sep, '/')}"] = local
    return files


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


def _inside(api, name, argv, saltenv=None, pillar=None, pillar_key=None, **run):
    """salt-call ARGV in instance ``name`` on this host's thin, with no ``salt://`` files
    (see :func:`call`); ``run``: more of :func:`lxdapi_inside.salt_call`'s arguments."""
    saltenv = _saltenv(saltenv)
    return lxdapi_inside.salt_call(
        api,
        name,
        _thin(),
        argv,
        pillar=_inner_pillar(name, pillar, pillar_key),
        saltenv=saltenv,
        **run,
    )


#: What the doc of every function says of its ``name`` as a target.
TARGETS_DOC = "see :func:`call`"


def _on_target(target, connection, concurrency, job, what):
    """``job(api, instance)`` on every instance of ``target`` (not a single name), at most
    ``concurrency`` at once (:func:`lxdapi_parallel.run_each`), each in a thread with an
    API of its own: ``{instance: result}``. ``job`` returns ``(result, ok)``.

    The instances come from one listing (:func:`lxdapi_targets.resolve`). One that is not
    running, a name of the list that the server does not have, and a job that raised
    have ``{"error": "<why>"}`` as their result; the others go on. When any failed, the
    function's retcode is 1 and a warning names them. Nothing matched: a
    ``CommandExecutionError`` naming the instances the server has."""
    connection = dict(connection)
    if target.project:
        given = connection.get("project")
        if given and given != target.project:
            raise SaltInvocationError(
                f"the target names project {target.project!r} and project={given!r} another: "
                "give one"
            )
        connection["project"] = target.project
    api = _api(connection)
    found = lxdapi_targets.resolve(api, target)
    where = api.display_endpoint + (f" (project {api.project})" if api.project else "")
    if not found.names and not found.missing:
        has = ", ".join(found.listed[:30]) + (", ..." if len(found.listed) > 30 else "")
        raise CommandExecutionError(
            f"the target {target} matches no instance on {where}: "
            + (f"it has {has}" if found.listed else "it has no instances")
        )
    errors, runnable = {}, []
    for instance in found.names:
        status = found.instances[instance].get("status")
        if lxdapi_values.planning_status(status) == "Running":
            runnable.append(instance)
        else:
            errors[instance] = (
                f"instance {instance!r} is {status}: Salt runs inside a running instance "
                "only (start it first)"
            )
    for instance in found.missing:
        errors[instance] = f"instance {instance!r} does not exist on {where}"
    outcomes = lxdapi_parallel.run_each(
        runnable, lambda instance: job(_api(connection), instance), concurrency
    )
    results, failed = {}, {}
    for instance in found.names + found.missing:
        outcome = outcomes.get(instance)
        if instance in errors:
            failed[instance] = errors[instance]
            results[instance] = {"error": errors[instance]}
        elif isinstance(outcome, Exception):
            failed[instance] = _error_text(what, instance, outcome)
            results[instance] = {"error": failed[instance]}
        else:
            results[instance], ok = outcome
            if not ok:
                failed[instance] = "its inner states failed (result: False in its return)"
    if failed:
        boundary.context["retcode"] = 1
        log.warning(
            "lxdapi.%s on %s: %d of %d instances failed: %s",
            what,
            target,
            len(failed),
            len(results),
            "; ".join(f"{instance}: {why}" for instance, why in failed.items()),
        )
    return results


def _error_text(what, instance, exc):
    """An instance's failure in words; an exception that is no expected failure (a bug)
    has its traceback logged."""
    if isinstance(
        exc, (lxdapi.APIException, CommandExecutionError, SaltInvocationError, ValueError, OSError)
    ):
        return str(exc)
    log.error("lxdapi: internal error in lxdapi.%s on %s", what, instance, exc_info=exc)
    return (
        f"lxdapi internal error in lxdapi.{what}: {type(exc).__name__}: {exc} (a bug, not "
        "bad input; its traceback is in the minion log)"
    )


@boundary.errors
def call(name, fun, *args, clean=False, timeout=None, kwarg=None, concurrency=None, **kwargs):
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
        The instance's name (it must be running and have ``python3``), or a target of
        several instances (see :mod:`lxdapi_targets`): a list of names (``[web1, web2]``
        or ``web1,web2``), a glob (``web*``, ``web[12]``), or a selector with a prefix and
        a colon, never ``key=value``: ``config:user.role:web`` (a config key's value in
        the expanded config), ``config:user.role`` (the key is set), ``profile:web``,
        ``status:running``, ``project:prod`` (that project's instances), ``name:web*``,
        several joined by `` and `` (``'config:user.role:web and status:running'``); from
        an SLS or Python also a mapping ``{config: {user.role: web}, profile: web, status:
        Running, name: 'web*', project: prod}``. A target is resolved with one listing;
        the return is then ``{instance: its result}`` (each what a single name returns),
        where an instance that failed (not running, not on the server, no ``python3``,
        salt-call failed) has ``{"error": "<why>"}`` and the others go on; the function's
        retcode is then 1 and a warning in the log names the failed ones. A target that
        matches nothing is a ``CommandExecutionError`` naming what the server has.

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
        connection setting such as ``timeout`` or ``project``, or ``concurrency``):
        ``kwarg='{timeout: 5}'``.

    concurrency
        With a target: how many instances run at once (default: the host's CPU count,
        at least 2, at most 16).

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
        salt host lxdapi.call 'web*' test.ping
        salt host lxdapi.call web1,web2 pkg.version nginx concurrency=4
        salt host lxdapi.call 'config:user.role:web and status:running' service.status nginx
    """
    if not isinstance(fun, str) or "." not in fun:
        raise SaltInvocationError(f"fun must name a Salt function (module.function), not {fun!r}")
    target = lxdapi_targets.parse_target(name)
    concurrency = lxdapi_parallel.check_concurrency(concurrency)
    conn, rest = boundary.split_connection(kwargs)
    if kwarg is not None and not isinstance(kwarg, dict):
        raise SaltInvocationError(f"kwarg must be a mapping, not {kwarg!r}")
    rest.update(kwarg or {})
    argv = [fun] + _cli_words(args, rest)

    def one(api, instance, running=False):
        try:
            return _inside(api, instance, argv, timeout=timeout, running=running)
        finally:
            if clean:
                lxdapi_inside.thin_purge(api, instance)

    if target.single:
        return one(_api(conn), target.single)
    _thin()  # made in this thread, once

    def each(api, instance):  # the listing saw it running
        return one(api, instance, running=True), True

    return _on_target(target, conn, concurrency, each, f"call {fun}")


@boundary.errors
def grains(name, *keys, concurrency=None, **kwargs):
    """
    The grains of a running instance as Salt computes them inside it (see :func:`call`):
    for targeting and templating on the host.

    name
        The instance's name (it must be running and have ``python3``), or a target of
        several (a list, a glob, a selector: see :func:`call`); the return is then
        ``{instance: its grains or {"error": ...}}``.

    keys
        Only these grains (default: all of them).

    concurrency
        With a target: how many instances run at once (default: the host's CPU count).

    kwargs
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.grains web1
        salt host lxdapi.grains web1 os osrelease
        salt host lxdapi.grains 'profile:web' osrelease
    """
    target = lxdapi_targets.parse_target(name)
    concurrency = lxdapi_parallel.check_concurrency(concurrency)
    conn, rest = boundary.split_connection(kwargs)
    boundary.no_extra(rest)
    argv = ["grains.item", *map(str, keys)] if keys else ["grains.items"]

    if target.single:
        return _inside(_api(conn), target.single, argv, pillar_key=False)
    _thin()

    def each(api, instance):  # the listing saw it running
        return _inside(api, instance, argv, pillar_key=False, running=True), True

    return _on_target(target, conn, concurrency, each, "grains")


@boundary.errors
def sls(
    name,
    mods,
    saltenv=None,
    pillar=None,
    pillar_key=None,
    test=False,
    timeout=None,
    extra_filerefs=None,
    concurrency=None,
    **kwargs,
):
    """
    Apply SLS files from this host's ``salt://`` tree inside a running instance, with no
    minion there (``state.apply`` on Salt's thin, see :func:`call`), and return the inner
    states' returns as ``state.apply`` gives them (keyed ``module_|-id_|-name_|-function``).
    A failed inner state is in the return (``result: False``); an SLS that does not
    render, or an instance that cannot run Salt, is a ``CommandExecutionError``.

    The states are rendered and compiled on this host, as salt-ssh does on its master:
    with the instance's own grains (read inside it, kept in the minion's cache for
    ``lxdapi:grains_cache_expiration`` seconds, default 300) and its pillar; a function a
    template calls runs inside the instance (``grains.*``, ``pillar.*`` and ``config.get``
    answer from its grains and pillar). Then only the compiled states and the
    ``salt://`` files they name (``file.managed`` sources and templates, ``file.recurse``
    folders, ``extra_filerefs``) go into the instance, where Salt's packaged state run
    (``state.pkg``) applies them: nothing else of the ``salt://`` tree. Those files stay
    there, in a folder of root's, and are shipped again only when one of them changed;
    the low data and the pillar never stay.

    name
        The instance's name (it must be running and have ``python3``), or a target of
        several (a list, a glob, a selector: see :func:`call`). The return is then
        ``{instance: its states' returns}``, side by side at most ``concurrency`` at once
        (rendering and compiling on the host one at a time, the work inside in parallel);
        an instance whose states did not run has ``{"error": "<why>"}``. One whose inner
        states failed keeps its returns (the failed ones ``result: False``) and counts as
        failed: the retcode is then non-zero and a warning names it.

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

    extra_filerefs
        More ``salt://`` files (or folders) to ship, which no state names but one uses (a
        template's ``{% include %}``): a list or a comma-separated text.

    concurrency
        With a target: how many instances run at once (default: the host's CPU count).

    kwargs
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.sls web1 nginx
        salt host lxdapi.sls web1 nginx,motd test=True
        salt host lxdapi.sls web1 nginx pillar='{nginx: {port: 8080}}'
        salt host lxdapi.sls 'web*' nginx test=True
        salt host lxdapi.sls 'config:user.role:web' nginx concurrency=8
    """
    target = lxdapi_targets.parse_target(name)
    concurrency = lxdapi_parallel.check_concurrency(concurrency)
    mods = lxdapi_inside.sls_names(mods)
    test = lxdapi_values.check_bool(test, "test")
    if timeout is not None:
        timeout = lxdapi_values.check_duration(timeout, "timeout")
    saltenv = _saltenv(saltenv)
    extra_filerefs = _filerefs(extra_filerefs)
    conn, rest = boundary.split_connection(kwargs)
    boundary.no_extra(rest)
    args = (mods, saltenv, pillar, pillar_key, test, timeout, extra_filerefs)
    if target.single:
        retcode, ret = _sls_one(_api(conn), target.single, *args)
        if retcode:
            boundary.context["retcode"] = retcode
        return ret
    _inner_pillar("", pillar, False if pillar_key is None else pillar_key)  # bad: refused now
    _thin()

    def one(api, instance):  # the listing saw it running
        retcode, ret = _sls_one(api, instance, *args, running=True)
        return ret, not retcode

    return _on_target(target, conn, concurrency, one, "sls")


def _sls_one(
    api, name, mods, saltenv, pillar, pillar_key, test, timeout, extra_filerefs, running=False
):
    """:func:`sls` in one instance: ``(retcode, the inner states' returns)``. Safe to call
    from several threads at once: the compiling on the host takes one at a time.
    ``running``: the caller saw the instance running (a target's listing): its state is
    not read; otherwise it is read once."""
    inner_pillar = _inner_pillar(name, pillar, pillar_key)
    if not running:
        lxdapi_inside.require_runnable(api, name)
    grains = _instance_grains(api, name)

    thin = _thin()

    def run_inside(fun, args, kwargs):
        # a function a template calls: run inside, with what was read before rendering
        # (while Salt renders, this module's __salt__ is the renderers' own)
        argv = [fun] + _cli_words(args, kwargs)
        return lxdapi_inside.salt_call(
            api, name, thin, argv, pillar=inner_pillar, saltenv=saltenv, running=True
        )

    functions = _InstanceFunctions(grains, inner_pillar, run_inside)
    with _COMPILE_LOCK:
        compiled = _compile(
            name, mods, saltenv, inner_pillar, grains, functions, test, extra_filerefs
        )
    if not isinstance(compiled, lxdapi_inside.CompiledStates):  # Salt's render errors
        raise CommandExecutionError(
            "{} did not apply in {!r}: {}".format(
                ",".join(mods), name, lxdapi_inside.words(compiled)
            )
        )
    files = None
    if compiled.files:
        label = hashlib.sha256(json.dumps([saltenv, mods]).encode()).hexdigest()[:12]
        files = _files_bundle(compiled.files, f"sls-{saltenv}-{label}")
    retcode, ret = lxdapi_inside.salt_call(
        api,
        name,
        thin,
        ["test=True"] if test else [],
        files=files,
        pillar=inner_pillar,
        saltenv=saltenv,
        timeout=timeout,
        check=False,
        compiled=compiled,
        running=True,
    )
    if not isinstance(ret, dict):  # Salt's words for what did not run
        raise CommandExecutionError(
            "{} did not apply in {!r}: {}".format(",".join(mods), name, lxdapi_inside.words(ret))
        )
    return retcode, ret


def _files_bundle(files, name):
    """The :class:`lxdapi_inside.Bundle` of ``files`` (``{rel: local path}``), packed once
    per run while the files are unchanged (a target's instances mostly ship the same)."""
    key = [name]
    for rel in sorted(files):
        stat = os.stat(files[rel])
        key.append((rel, files[rel], stat.st_mtime_ns, stat.st_size))
    key = ("lxdapi.files_bundle", json.dumps(key))
    with _SETUP_LOCK:
        if key not in boundary.context:
            boundary.context[key] = lxdapi_inside.Bundle.from_tree("sls", files, name=name)
        return boundary.context[key]


def _filerefs(extra_filerefs):
    """``extra_filerefs`` as a list of ``salt://`` URLs (a list, or a comma-separated
    text)."""
    if extra_filerefs is None:
        return []
    if isinstance(extra_filerefs, str):
        extra_filerefs = [ref.strip() for ref in extra_filerefs.split(",") if ref.strip()]
    if not isinstance(extra_filerefs, (list, tuple)) or not all(
        isinstance(ref, str) and ref.startswith("salt://") for ref in extra_filerefs
    ):
        raise SaltInvocationError(
            f"extra_filerefs must be salt:// URLs (a list or comma-separated), not "
            f"{extra_filerefs!r}"
        )
    return list(extra_filerefs)


@boundary.errors
def thin_purge(name, concurrency=None, **connection):
    """
    Remove everything lxdapi keeps in a running instance to run Salt there
    (``/var/cache/lxdapi``: the thin, the saltenv files, salt-call's caches). Returns
    True if there was something to remove. The next :func:`call` ships the thin again.

    name
        The instance's name (it must be running; ``python3`` is not needed), or a
        target of several (a list, a glob, a selector: see :func:`call`): the return is
        then ``{instance: True, False or {"error": ...}}``.

    concurrency
        With a target: how many instances run at once (default: the host's CPU count).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt host lxdapi.thin_purge web1
        salt host lxdapi.thin_purge 'web*'
    """
    target = lxdapi_targets.parse_target(name)
    concurrency = lxdapi_parallel.check_concurrency(concurrency)
    if target.single:
        return lxdapi_inside.thin_purge(_api(connection), target.single)
    boundary.connect(connection)  # connection settings only: anything else refused now

    def one(api, instance):
        return lxdapi_inside.thin_purge(api, instance), True

    return _on_target(target, connection, concurrency, one, "thin_purge")
