"""Execution module for LXD through its REST API: ``salt '*' lxdapi.container_get web1``.

Thin: each function builds (or reuses) an :class:`API` from the connection settings, calls
the core in ``_utils/lxdapi.py`` and returns plain data. Core errors become
``CommandExecutionError`` (server refused, operation failed) or ``SaltInvocationError``
(bad arguments) in one place, :func:`_salt_errors`.

Connection settings, every function (precedence, highest first):

- keyword arguments ``endpoint``, ``cert``, ``key``, ``verify``, ``server_cert``,
  ``timeout``, ``wait_timeout``, ``project``;
- ``remote=NAME``: the settings under ``lxdapi:remotes:NAME``;
- ``lxdapi:endpoint`` etc. in the minion config, grains or pillar (``config.get``);
- the local unix socket (``$LXD_DIR/unix.socket``, the snap's, ``/var/lib/lxd``'s).
"""

import functools
import importlib.util
import logging
import os
import sys

import salt.utils.args
from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "lxdapi"
__func_alias__ = {"list_": "list"}

CONNECTION_ARGS = ("remote",)


def _import_core():
    """Import the core (``_utils/lxdapi.py``, or ``utils/lxdapi.py`` once synced) once."""
    if "lxdapi_core" in sys.modules:
        return sys.modules["lxdapi_core"]
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in ("_utils", "utils"):
        path = os.path.join(here, os.pardir, folder, "lxdapi.py")
        if os.path.isfile(path):
            spec = importlib.util.spec_from_file_location("lxdapi_core", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["lxdapi_core"] = module
            try:
                spec.loader.exec_module(module)
            except ImportError:
                del sys.modules["lxdapi_core"]
                raise
            return module
    return None


try:
    core = _import_core()
    IMPORT_ERROR = None if core else "lxdapi: the core _utils/lxdapi.py was not found"
except ImportError as exc:
    core = None
    IMPORT_ERROR = "lxdapi: {} is not installed".format(exc.name or exc)


def __virtual__():
    if IMPORT_ERROR:
        return (False, IMPORT_ERROR)
    if core.requests_unixsocket is None:
        return (False, "lxdapi: requests-unixsocket is not installed")
    return __virtualname__


# ------------------------------------------------------------------ the Salt boundary


def _salt_errors(func):
    """Turn core errors into Salt's: the one place where that happens."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (SaltInvocationError, CommandExecutionError):
            raise
        except core.APIException as exc:
            raise CommandExecutionError(str(exc)) from None
        except (ValueError, TypeError) as exc:
            raise SaltInvocationError(str(exc)) from None
        except OSError as exc:
            raise CommandExecutionError(str(exc)) from None

    return wrapper


def _api(**kwargs):
    """The :class:`API` for these connection kwargs, cached in ``__context__`` per run."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    settings = core.resolve_connection(kwargs, __salt__["config.get"])
    return core.cached_api(settings, __context__)


def _split_connection(kwargs):
    """Split a function's ``**kwargs`` into (connection settings, the rest)."""
    kwargs = salt.utils.args.clean_kwargs(**kwargs)
    conn_keys = set(core.CONNECTION_KEYS) | set(CONNECTION_ARGS)
    conn = {k: v for k, v in kwargs.items() if k in conn_keys}
    rest = {k: v for k, v in kwargs.items() if k not in conn_keys}
    return conn, rest


def _no_extra(rest):
    if rest:
        raise SaltInvocationError(
            "unexpected argument(s): {}".format(", ".join(sorted(rest)))
        )


def _result(result, wait=True):
    """The metadata of a result; for an async operation and ``wait``, the finished op's."""
    if wait and result.is_async:
        return result.wait().metadata
    return result.metadata


# -------------------------------------------------------------------------- raw calls


@_salt_errors
def request(method, path, data=None, wait=True, **kwargs):
    """
    Send one request to the LXD API and return the response's ``metadata``.

    method
        HTTP method: GET, POST, PUT, PATCH or DELETE.

    path
        Relative to ``/1.0/`` (``instances``) or absolute (``/1.0/instances``).

    data
        The JSON body (a dict or list), for writes.

    wait
        For an async operation, wait for it and return the finished operation's
        metadata (default True); False returns the operation as created.

    kwargs
        Connection settings (``remote``, ``endpoint``, ``project``, ...); see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.request GET instances
        salt '*' lxdapi.request PATCH instances/web1 '{"config": {"user.a": "1"}}'
    """
    conn, rest = _split_connection(kwargs)
    _no_extra(rest)
    if str(method).upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise SaltInvocationError(
            "unknown method {!r}; choose GET, POST, PUT, PATCH or DELETE".format(method)
        )
    if data is not None and not isinstance(data, (dict, list)):
        raise SaltInvocationError("data must be a JSON object or list")
    call = {} if data is None else {"json": data}
    return _result(_api(**conn).request(str(method).upper(), path, **call), wait)


def get(path, **kwargs):
    """
    GET ``path`` and return the response's metadata.

    path
        Relative to ``/1.0/`` (``instances``) or absolute (``/1.0``).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.get instances
    """
    return request("GET", path, **kwargs)


def post(path, data=None, wait=True, **kwargs):
    """
    POST ``data`` to ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body.

    wait
        Wait for an async operation (default True).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.post profiles '{"name": "web"}'
    """
    return request("POST", path, data=data, wait=wait, **kwargs)


def put(path, data=None, wait=True, **kwargs):
    """
    PUT ``data`` at ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body: the whole writable object.

    wait
        Wait for an async operation (default True).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.put instances/web1/state '{"action": "start"}'
    """
    return request("PUT", path, data=data, wait=wait, **kwargs)


def patch(path, data=None, wait=True, **kwargs):
    """
    PATCH ``path`` with ``data`` (only the fields given change).

    path
        Relative to ``/1.0/`` or absolute.

    data
        The JSON body: the fields to change.

    wait
        Wait for an async operation (default True).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.patch profiles/default '{"description": "base"}'
    """
    return request("PATCH", path, data=data, wait=wait, **kwargs)


def delete(path, wait=True, **kwargs):
    """
    DELETE ``path``; return the metadata (of the finished operation if ``wait``).

    path
        Relative to ``/1.0/`` or absolute.

    wait
        Wait for an async operation (default True).

    kwargs
        Connection settings; see the module.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.delete profiles/old
    """
    return request("DELETE", path, wait=wait, **kwargs)
