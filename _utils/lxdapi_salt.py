"""The Salt side's one boundary: what every Salt-facing file of lxdapi needs.

Not a part of the core (the core knows nothing of Salt): this is the one file under
``_utils`` that imports Salt. The execution module's and the state module's files by
family, the beacon and the ``lxd*`` adapters each start with the same bootstrap::

    import lxdapi_loader

    boundary = lxdapi_loader.salt_boundary(__file__, globals())

which imports the core beside the file as it is on disk now (after a
``saltutil.sync_all`` too, see :func:`lxdapi_loader.load`), then this module, and returns
a :class:`SaltBoundary` bound to the file's globals: Salt puts its dunders (``__salt__``,
``__opts__``, ``__context__``, and in a state run ``__env__``, ``__low__``...) there
after the import, and the boundary reads them from there when it is called, so that they
are passed in rather than reached for.

What it holds, once for every file:

- the connection settings split from a function's other arguments, and the
  :class:`lxdapi.API` they name, cached per run in ``__context__``;
- the error mapping of execution functions (:meth:`SaltBoundary.errors`): arguments
  that do not fit the function's signature are Salt's "Passed invalid arguments" with
  its usage, what LXD refused is ``CommandExecutionError``, bad input
  ``SaltInvocationError``, anything else a bug, reported as such with its traceback in
  the minion log;
- the one ret shape of states and :meth:`SaltBoundary.converge`, the one path of every
  state (plan, then report, predict or apply);
- what aggregation needs to decide which states of a run join (plain functions of the
  low chunks: :func:`joins`, :func:`requisites_met`, :func:`aggregate_group`).
"""

import contextvars
import functools
import inspect
import logging
import os

import salt.utils.args
from salt.exceptions import CommandExecutionError, SaltInvocationError

import lxdapi as core
import lxdapi_events
import lxdapi_kinds
import lxdapi_reconcile

log = logging.getLogger(__name__)

#: The execution function the caller called, while it runs: the arguments of that one
#: are the caller's; those of the functions it calls in turn are ours.
_CALLED = contextvars.ContextVar("lxdapi_called", default=None)

#: The key under which mod_aggregate hands the first state of an aggregate its group.
AGGREGATE_KEY = "__lxdapi_aggregate__"
#: The key in ``__context__`` of the outcomes of an aggregate, by (run, name).
AGGREGATED = "lxdapi.aggregated"
#: Requisites a joining state may have, once their targets ran with result True.
AGGREGATE_REQUISITES = ("require", "watch")
#: What keeps a state out of an aggregate: whether it runs at all is decided at its own
#: turn.
NOT_AGGREGATED = (
    "onlyif",
    "unless",
    "creates",
    "check_cmd",
    "prereq",
    "onchanges",
    "onfail",
    "use",
    "listen",
    "require_any",
    "watch_any",
    "onchanges_any",
    "onfail_any",
    "onfail_all",
    "parallel",
    "retry",
)


def internal_error(where, exc):
    """Log the traceback of an unexpected exception (a bug in lxdapi) and return the text
    that reports it: the function or state, the exception, and where its traceback is."""
    log.exception("lxdapi: internal error in %s", where)
    return (
        f"lxdapi internal error in {where}: {type(exc).__name__}: {exc} (a bug, not bad "
        "input; its traceback is in the minion log)"
    )


def public_name(func):
    """The name a user calls ``func`` by: ``lxdapi.container_get``, ``lxd.container_get``
    (its file's virtual name, and its ``__func_alias__`` if it has one)."""
    module_globals = getattr(func, "__globals__", {})
    name = (module_globals.get("__func_alias__") or {}).get(func.__name__, func.__name__)
    return "{}.{}".format(module_globals.get("__virtualname__", "lxdapi"), name)


def _bind_problem(signature, exc, args):
    """What :meth:`inspect.Signature.bind` found wrong, in its words; "too many
    positional arguments" also says how many the function takes and how many came."""
    problem = str(exc)
    if problem == "too many positional arguments":
        positional = [
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        problem += ": it takes at most {} ({}), {} were given".format(
            len(positional), ", ".join(positional) or "none", len(args)
        )
    return problem


def _keyword_hint(signature, kwargs):
    """When arguments did not fit and one of the keywords has a dot in its name (Salt's
    command line reads ``user.role=web`` as the keyword ``user.role``), the words that say
    so and how a target by a config key is written; else nothing."""
    if "name" not in signature.parameters:
        return ""
    dotted = sorted(key for key in kwargs if "." in key and not key.startswith("__"))
    if not dotted:
        return ""
    key = dotted[0]
    return (
        f" (Salt read {key}={kwargs[key]} as a keyword argument, not as the name: a target"
        f" by a config key is written config:{key}:{kwargs[key]})"
    )


def _under_salt_call(func):
    """True when ``func`` runs in ``salt-call``, which words a SaltInvocationError itself
    (it is a TypeError to Salt): "Passed invalid arguments: <it>." then the usage."""
    opts = getattr(func, "__globals__", {}).get("__opts__")
    try:
        return opts.get("__cli") == "salt-call"
    except (AttributeError, LookupError, TypeError):  # not loaded by Salt, or no opts yet
        return False


def invalid_arguments(func, problem):
    """The text of a ``SaltInvocationError`` for arguments that do not fit ``func``
    (``problem``: what is wrong with them), as Salt words it for its own functions:
    "Passed invalid arguments to lxdapi.container_get: missing a required argument:
    'name'." then "Usage:" and the function's docstring.

    ``salt-call`` writes "Passed invalid arguments: " before the text of such an error
    and the usage after it: there the text is only the function and the problem, so that
    nothing is said twice.
    """
    where = public_name(func)
    if _under_salt_call(func):
        return f"{where}: {problem}"
    usage = inspect.getdoc(func) or ""
    return f"Passed invalid arguments to {where}: {problem}.\n\nUsage:\n{usage}"


class UnexpectedArguments(SaltInvocationError):
    """Keyword arguments that are neither a function's own nor connection settings (what
    its ``**connection`` caught): :func:`errors` words them as the other arguments that do
    not fit, with the function's usage."""


def errors(func):
    """Turn core errors into Salt's, around an execution function: the one place where
    that happens.

    Arguments that do not fit the function's signature (one missing, one too many, a
    keyword it does not take) are bad input, found before the function runs:
    ``SaltInvocationError`` with Salt's "Passed invalid arguments" and the function's
    usage (:func:`invalid_arguments`); so are keywords its ``**connection`` caught that
    are no connection setting (:func:`no_extra`). What the server refused and what the
    host could not do (a file to read or write) are ``CommandExecutionError``; bad input
    the core finds, which it reports as ValueError naming the argument, is
    ``SaltInvocationError``. Anything else raised once the arguments were bound is a bug
    (arguments that do not fit a function another of ours calls too): its traceback goes
    to the minion log and the caller gets a ``CommandExecutionError`` that says so.
    """
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        called = _CALLED.get() is None  # called by the caller, not by another of ours
        token = _CALLED.set(func) if called else None
        try:
            return _call(func, signature, called, args, kwargs)
        finally:
            if token is not None:
                _CALLED.reset(token)

    return wrapper


def _call(func, signature, called, args, kwargs):
    """:func:`errors`' work: bind, call, map what it raised. ``called``: ``func`` is the
    function the caller called (else one of ours called it: arguments that do not fit
    are then our bug, reported by the function the caller called)."""
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        if not called:
            raise
        problem = _bind_problem(signature, exc, args) + _keyword_hint(signature, kwargs)
        raise SaltInvocationError(invalid_arguments(func, problem)) from None
    try:
        return func(*args, **kwargs)
    except UnexpectedArguments as exc:
        if not called:
            raise  # the function the caller called words it, with its own usage
        raise SaltInvocationError(invalid_arguments(func, str(exc))) from None
    except (SaltInvocationError, CommandExecutionError):
        raise
    except core.APIException as exc:
        raise CommandExecutionError(str(exc)) from None
    except ValueError as exc:
        raise SaltInvocationError(str(exc)) from None
    except OSError as exc:
        raise CommandExecutionError(str(exc)) from None
    except Exception as exc:  # a bug, not bad input: keep its traceback
        raise CommandExecutionError(internal_error(func.__name__, exc)) from None


def write_journal_path(cachedir):
    """The write journal of a Salt node: ``<cachedir>/lxdapi/writes.jsonl``."""
    return os.path.join(cachedir, "lxdapi", "writes.jsonl")


def record_writes(cachedir):
    """Record every write of this process's APIs in the journal under ``cachedir``
    (once per process and core), for the events engine to tell this node's own writes
    from others' (:class:`lxdapi_events.OwnWrites`)."""
    if not cachedir:
        return
    path = write_journal_path(cachedir)
    for hook in core.API.write_hooks:
        if getattr(getattr(hook, "__self__", None), "path", None) == path:
            return
    core.API.write_hooks.append(lxdapi_events.WriteJournal(path).record)


def split_connection(kwargs):
    """A function's ``**kwargs`` as (connection settings, the rest); Salt's own
    ``__pub_*`` keys are dropped."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    known = set(core.CONNECTION_ARGUMENTS)
    connection = {k: v for k, v in kwargs.items() if k in known}
    return connection, {k: v for k, v in kwargs.items() if k not in known}


def state_connection(kwargs):
    """A state's ``**connection`` as (connection settings, the sorted names of any other,
    unexpected, arguments); Salt's own ``aggregate`` keyword is no argument of ours."""
    kwargs = dict(kwargs)
    kwargs.pop("aggregate", None)  # Salt's own keyword (see mod_aggregate), passed on to us
    connection, rest = split_connection(kwargs)
    return connection, sorted(rest)


def no_extra(rest):
    """Refuse arguments that are neither the function's own nor connection settings."""
    if rest:
        raise UnexpectedArguments("unexpected argument(s): {}".format(", ".join(sorted(rest))))


def ret(name):
    """The one ret shape of states, before anything is known."""
    return {"name": name, "result": True, "comment": "", "changes": {}}


def fail(result, message):
    """``result`` (a ret) failed, with ``message`` as its comment."""
    result["result"] = False
    result["comment"] = message
    return result


def created(plan, key):
    """True when ``plan`` creates what its change ``key`` names."""
    return key in plan.changes and plan.changes[key]["old"] is None


def exec_where(plan):
    """Where an exec or Salt-inside plan found its instance: ``does not exist``,
    ``is Stopped``..."""
    return "does not exist" if plan.status is None else f"is {plan.status}"


def _words(words, plan):
    """A comment given as text, or as ``words(plan)``."""
    return words(plan) if callable(words) else words


def failure_comment(name, plan, exc):
    """The comment of a plan whose writes failed: what LXD said, and what went through."""
    message = f"{name}: {exc}"
    sent = getattr(plan, "sent", None) or []
    if len(sent) < len(plan.writes):
        made = plan.applied_changes()
        if made:
            message += " (made before the failure: {})".format(", ".join(made))
        elif sent:
            message += " (some writes went through before the failure)"
    return message


# ------------------------------------------------------------------ aggregation


def state_tag(chunk):
    """Salt's tag of a low chunk: ``state_|-id_|-name_|-fun``."""
    return "{}_|-{}_|-{}_|-{}".format(
        chunk.get("state"), chunk.get("__id__"), chunk.get("name"), chunk.get("fun")
    )


def requisites_met(chunk, running):
    """True when every ``require``/``watch`` of ``chunk`` names states that already ran
    (``running``: their rets by tag) with result True; a requisite not run yet, or of
    another form, keeps it out."""
    for key in AGGREGATE_REQUISITES:
        for req in chunk.get(key) or ():
            if isinstance(req, str):
                state, ref = None, req
            elif isinstance(req, dict) and len(req) == 1:
                ((state, ref),) = req.items()
            else:
                return False
            found = [
                result
                for tag, result in running.items()
                if (state is None or tag.split("_|-")[0] == state) and ref in tag.split("_|-")[1:3]
            ]
            if not found or not all(result.get("result") is True for result in found):
                return False
    return True


def aggregate_opted(chunk, opts, virtualname="lxdapi"):
    """True when ``chunk`` aggregates: its own ``aggregate`` argument, else the minion's
    ``state_aggregate`` (True, or a list naming ``virtualname``)."""
    if "aggregate" in chunk:
        return chunk["aggregate"] is True
    option = opts.get("state_aggregate")
    return option is True or (isinstance(option, list) and virtualname in option)


def joins(chunk, low, running, opts, arguments, virtualname="lxdapi"):
    """True when ``chunk`` can be converged with ``low``: the same state function and
    connection, aggregation on, nothing that decides at its own turn whether it runs,
    only known arguments (``arguments``: the state's own), its requisites met."""
    if chunk.get("state") != virtualname or chunk.get("fun") != low.get("fun"):
        return False
    if state_tag(chunk) in running or chunk.get("__agg__"):
        return False
    if not aggregate_opted(chunk, opts, virtualname):
        return False
    if any(key in chunk for key in NOT_AGGREGATED) or chunk.get("test") != low.get("test"):
        return False
    settings = tuple(core.CONNECTION_ARGUMENTS) + ("project",)
    if any(chunk.get(key) != low.get(key) for key in settings):
        return False
    known = set(tuple(arguments) + AGGREGATE_REQUISITES + settings)
    known.update(("state", "fun", "name", "order", "aggregate", "test"))
    if any(k not in known and not k.startswith("__") and not k.endswith("_in") for k in chunk):
        return False  # its own state refuses the argument; not here for it
    return requisites_met(chunk, running)


def aggregate_group(low, chunks, running, opts, arguments, virtualname="lxdapi"):
    """The low chunks that join ``low`` (``low`` first), each marked ``__agg__`` but
    ``low``; ``[low]`` alone when none can. ``low`` itself must be of ``virtualname``
    and free of what keeps a state out (see :data:`NOT_AGGREGATED`)."""
    if low.get("state") != virtualname or any(key in low for key in NOT_AGGREGATED):
        return [low]
    members, names, own = [], {low.get("name")}, state_tag(low)
    for chunk in chunks:
        if state_tag(chunk) == own or chunk.get("name") in names:
            continue
        if joins(chunk, low, running, opts, arguments, virtualname):
            members.append(chunk)
            names.add(chunk.get("name"))
    for chunk in members:
        chunk["__agg__"] = True
    return [low] + members


# ------------------------------------------------------------------ the bound boundary


class SaltBoundary:
    """The boundary as one Salt-facing file sees it: reads that file's Salt dunders (its
    module globals, where Salt puts them) at the moment of the call."""

    # What needs no dunder, reachable through the bound boundary as well.
    errors = staticmethod(errors)
    internal_error = staticmethod(internal_error)
    invalid_arguments = staticmethod(invalid_arguments)
    split_connection = staticmethod(split_connection)
    state_connection = staticmethod(state_connection)
    no_extra = staticmethod(no_extra)
    ret = staticmethod(ret)
    fail = staticmethod(fail)
    created = staticmethod(created)
    exec_where = staticmethod(exec_where)
    AGGREGATE_KEY = AGGREGATE_KEY
    AGGREGATED = AGGREGATED

    def __init__(self, module_globals):
        self._globals = module_globals

    def dunder(self, name, default=None):
        """Salt's ``name`` (``__salt__``, ``__env__``...) as the file has it now."""
        return self._globals.get(name, default)

    @property
    def salt(self):
        """``__salt__``: the execution functions."""
        return self._globals["__salt__"]

    @property
    def opts(self):
        """``__opts__``: the minion's options."""
        return self._globals["__opts__"]

    @property
    def context(self):
        """``__context__``: what one run (a job, a state run) shares."""
        return self._globals["__context__"]

    @property
    def connection_arguments(self):
        """The names of the connection settings every lxdapi function takes."""
        return tuple(core.CONNECTION_ARGUMENTS)

    @property
    def testing(self):
        """True in test mode (``test=True``)."""
        return bool(self.opts.get("test"))

    def aggregate_group(self, low, chunks, running, arguments):
        """:func:`aggregate_group` with this file's options and virtual name."""
        return aggregate_group(
            low, chunks, running, self.opts, arguments, self.dunder("__virtualname__")
        )

    def virtual(self, virtualname, needs=None):
        """What the file's ``__virtual__`` answers: its virtual name, or (False, why).
        ``needs``: an execution function that must be loaded (the states need the
        execution module's ``lxdapi.request``)."""
        if core.requests_unixsocket is None:
            return (False, "lxdapi: requests-unixsocket is not installed")
        if needs and needs not in self.salt:
            return (False, f"lxdapi: the execution function {needs} did not load")
        return virtualname

    # -------------------------------------------------------------- connections

    def api(self, connection):
        """The :class:`lxdapi.API` of these connection settings, cached per run. Its writes
        are recorded in the minion's write journal (:func:`record_writes`)."""
        connection = salt.utils.args.clean_kwargs(**connection)
        record_writes(self.opts.get("cachedir"))
        return core.connection_api(
            connection,
            self.context,
            self.salt["config.get"],
            self.salt["sdb.get"],
            self.opts.get("cachedir"),
        )

    def connect(self, kwargs):
        """The API for an execution function's ``**kwargs``: connection settings only,
        anything else is refused."""
        connection, rest = split_connection(kwargs)
        no_extra(rest)
        return self.api(connection)

    def target_api(self, to):
        """The :class:`API` of a copy's or a move's destination (see
        :func:`lxdapi.destination_arguments`)."""
        return self.api(core.destination_arguments(to))

    # -------------------------------------------------------------- files

    def cache_file(self, url):
        """A local copy of a fileserver URL (``cp.cache_file`` in the state's saltenv),
        or a false value when it cannot be fetched."""
        return self.salt["cp.cache_file"](url, saltenv=self.dunder("__env__", "base"))

    def local_source(self, source):
        """A local path for an execution function's ``source``: a ``salt://`` URL is
        fetched with ``cp.cache_file``; a local file must exist."""
        source = str(source)
        if source.startswith("salt://"):
            cached = self.salt["cp.cache_file"](source)
            if not cached:
                raise SaltInvocationError(f"{source} was not found on the fileserver")
            return cached
        if not os.path.isfile(source):
            raise SaltInvocationError(f"source file {source} does not exist")
        return source

    def fileserver_path(self, source, what="source"):
        """A local path for a state's ``source``: a ``salt://`` URL is fetched with
        ``cp.cache_file``; anything else is returned as it is."""
        if isinstance(source, str) and source.startswith("salt://"):
            cached = self.cache_file(source)
            if not cached:
                raise ValueError(f"{what} {source} was not found on the fileserver")
            return cached
        return source

    # -------------------------------------------------------------- resource kinds

    def resource_get(self, kind, name, kwargs, **url_params):
        """An execution function's read of one resource of ``kind``: its metadata, or
        False when it does not exist."""
        result = lxdapi_reconcile.resource_get(self.connect(kwargs), kind, name, **url_params)
        return result.metadata if result else False

    def resource_update(
        self, kind, name, declared, kwargs, purge_config=False, purge_devices=False, **url
    ):
        """An execution function's update of one resource of ``kind``: the changes made
        (the plan's notes go to the log)."""
        plan = lxdapi_reconcile.resource_update(
            self.connect(kwargs),
            kind,
            name,
            declared,
            purge_config=purge_config,
            purge_devices=purge_devices,
            **url,
        )
        for note in plan.notes:
            log.warning("lxdapi: %s", note)
        return plan.changes

    def resource_converge(self, name, what, make_plan, connection, created_key=None):
        """:meth:`converge` for one resource, with comments that name it.

        ``what`` names the resource (``Profile 'web'``); ``created_key`` is the plan's
        change key that marks a creation (None for an absent state).
        """
        if created_key is None:
            return self.converge(
                name, connection, make_plan, f"{what} deleted.", f"{what} is already absent."
            )
        return self.converge(
            name,
            connection,
            make_plan,
            lambda plan: "{} {}.".format(
                what, "created" if created(plan, created_key) else "updated"
            ),
            f"{what} is already as declared.",
        )

    def present(
        self,
        kind,
        name,
        declared,
        connection,
        purge_config=False,
        purge_devices=False,
        member_config=None,
        **url_params,
    ):
        """The state of a resource of ``kind`` present as ``declared``."""
        return self.resource_converge(
            name,
            f"{lxdapi_kinds.resource_kind(kind).title} {name!r}",
            lambda api: lxdapi_reconcile.plan_resource_present(
                api,
                kind,
                name,
                declared,
                purge_config,
                purge_devices,
                member_config=member_config,
                **url_params,
            ),
            connection,
            created_key=kind,
        )

    def absent(self, kind, name, connection, **url_params):
        """The state of a resource of ``kind`` absent."""
        return self.resource_converge(
            name,
            f"{lxdapi_kinds.resource_kind(kind).title} {name!r}",
            lambda api: lxdapi_reconcile.plan_resource_absent(api, kind, name, **url_params),
            connection,
        )

    # -------------------------------------------------------------- the one path

    def converge(self, name, kwargs, make_plan, done, unchanged, would=None, failed=None):
        """The one path of every state: build the plan, then report, predict or apply it.

        ``kwargs``: the state's connection settings (any other argument is refused);
        ``make_plan(api)`` returns a :class:`lxdapi_plans.Plan` (or an object that
        behaves as one: ``writes``, ``changes``, ``notes``, ``apply``,
        ``applied_changes``, optionally ``waits``). The comments, each a text or a
        callable given the plan: ``done`` after a run that changed something,
        ``unchanged`` when there was nothing to do, ``would`` in test mode (default
        "Would have: " and ``done``); ``failed(plan, exc)`` words a failure of its writes.

        Bad input (ValueError) and what LXD refuses become ``result: False`` with a
        comment naming the problem; anything else is a bug, reported as such with its
        traceback in the minion log. Never a traceback in the ret.
        """
        result = ret(name)
        connection, unexpected = state_connection(kwargs)
        try:
            if unexpected:
                raise ValueError("unexpected argument(s): {}".format(", ".join(unexpected)))
            api = self.api(connection)
            plan = make_plan(api)
        except core.APIException as exc:
            return fail(result, str(exc))
        except (ValueError, OSError) as exc:
            return fail(result, f"{name}: {exc}")
        except Exception as exc:  # a bug, not bad input
            return fail(result, internal_error(name, exc))
        notes = list(plan.notes)
        waits = list(getattr(plan, "waits", None) or ())
        testing = self.testing
        if testing and waits:
            notes.append("Would {}.".format("; ".join(w.describe() for w in waits)))
        if not plan.writes:
            result["comment"] = " ".join([_words(unchanged, plan)] + notes)
            return self.await_waits(result, api, waits) if waits and not testing else result
        if testing:
            result["result"] = None
            result["changes"] = core.redact(plan.changes)  # no password or key in a report
            text = _words(would, plan) if would else "Would have: " + _words(done, plan)
            result["comment"] = " ".join([text] + notes)
            return result
        try:
            plan.apply(api)
        except (core.APIException, OSError) as exc:
            # What went through before the failure is reported, and only that.
            result["changes"] = core.redact(plan.applied_changes())
            return fail(result, failed(plan, exc) if failed else failure_comment(name, plan, exc))
        except Exception as exc:  # a bug, not bad input
            result["changes"] = core.redact(plan.applied_changes())
            return fail(result, internal_error(name, exc))
        result["changes"] = core.redact(plan.changes)
        result["comment"] = " ".join([_words(done, plan)] + list(plan.notes))  # applying may add
        return self.await_waits(result, api, waits) if waits else result

    def await_waits(self, result, api, waits):
        """Run a plan's waits (after its writes, or on a run with none): what was found
        goes in the comment; a wait that fails makes the state fail, naming what it waited
        for and what it saw (the changes made stay reported). Not a change either way."""
        found = []
        try:
            for wait in waits:
                found.append(wait.run(api))
        except (core.APIException, OSError) as exc:
            result["result"] = False
            result["comment"] = " ".join(
                part for part in (result["comment"], f"Not ready: {exc}") if part
            )
            return result
        except Exception as exc:  # a bug, not bad input
            result["result"] = False
            result["comment"] = internal_error(result["name"], exc)
            return result
        result["comment"] = " ".join(
            part for part in (result["comment"], "Ready: {}.".format("; ".join(found))) if part
        )
        return result
