"""Reads that are not of one resource: collections, the server document, operations."""

from lxdapi import (
    OPERATION_RUNNING_CODES,
    APIException,
    APINotFoundException,
    APITimeout,
    name_from_url,
    operation_running,
)
from lxdapi_values import check_name, check_recursion, check_seconds

SERVER_SUMMARY_KEYS = (
    "server_name",
    "server_version",
    "server_clustered",
    "server_pid",
    "project",
    "kernel",
    "kernel_version",
    "kernel_architecture",
    "architectures",
    "os_name",
    "os_version",
    "driver",
    "driver_version",
    "storage",
    "storage_version",
    "firewall",
)


def get_unvalidated(api, url, **kwargs):
    """GET ``url``; the :class:`APIResult` even when its metadata holds failed operations.

    :meth:`APIResult.validate` raises for any nested ``status_code`` >= 400: right for
    the result of a write, wrong for reading a finished operation or a list of them.
    HTTP errors (404 ...) still raise.
    """
    try:
        return api.get(url, **kwargs)
    except APIException as exc:
        result = exc.result
        if (
            result is None
            or result.response.status_code >= 400
            or (isinstance(result.data, dict) and result.data.get("type") == "error")
        ):
            raise
        return result


def list_collection(api, url, recursion=0):
    """GET a collection: the names (``recursion=0``) or LXD's objects (1 or 2)."""
    recursion = check_recursion(recursion)
    params = {"recursion": recursion} if recursion else None
    items = api.get(url, params=params).metadata or []
    return items if recursion else [name_from_url(item) for item in items]


def server_info(api):
    """A summary of ``GET /1.0``: which server (``lxd`` or ``incus``) and its version, API
    version and extensions, auth, environment."""
    meta = api.get("").metadata or {}
    env = meta.get("environment") or {}
    return {
        "server": api.server_kind,
        "version": env.get("server_version"),
        "api_version": meta.get("api_version"),
        "api_status": meta.get("api_status"),
        "api_extensions": meta.get("api_extensions") or [],
        "auth": meta.get("auth"),
        "auth_methods": meta.get("auth_methods") or [],
        "environment": {k: env[k] for k in SERVER_SUMMARY_KEYS if k in env},
    }


def operation_path(api, operation):
    """Relative URL of an operation given its id or its URL (``/1.0/operations/<id>``)."""
    op_id = name_from_url(check_name(operation, "operation"))
    if not op_id:
        raise ValueError(f"operation must be an id or /1.0/operations/<id>, not {operation!r}")
    return api.path("operations", op_id)


def operation_list(api, recursion=0):
    """Operations by status: ``{"running": [ids], "success": [...], "failure": [...]}``.

    With ``recursion=1`` the lists hold the operations themselves (a failed one too).
    """
    recursion = check_recursion(recursion)
    params = {"recursion": 1} if recursion else None
    meta = get_unvalidated(api, "operations", params=params).metadata or {}
    if recursion:
        return meta
    return {status: [name_from_url(url) for url in urls] for status, urls in meta.items()}


def operation_get(api, operation):
    """An operation's metadata (a failed one too: ``status`` Failure, ``err``), or False."""
    try:
        return get_unvalidated(api, operation_path(api, operation)).metadata
    except APINotFoundException:
        return False


def operation_wait(api, operation, timeout=None):
    """Wait for an operation to end (LXD's long-poll); its metadata, or False if unknown.

    Raises :class:`APIException` with LXD's ``err`` when it failed, and
    :class:`APITimeout` when it still runs after ``timeout`` seconds (it is left running).
    """
    url = operation_path(api, operation)
    timeout = api.wait_timeout if timeout is None else check_seconds(timeout)
    try:
        result = api.get(
            url + "/wait", params={"timeout": int(timeout)}, timeout=timeout + api.timeout
        )
    except APINotFoundException:
        return False
    except APIException as exc:
        if not operation_running(api, url):  # Incus: a timeout is an error
            raise
        result = exc.result
    meta = result.metadata or {}
    if meta.get("status_code") in OPERATION_RUNNING_CODES or result.data.get("type") == "error":
        raise APITimeout(
            result,
            error=(
                f"operation {name_from_url(url)} still running after {timeout}s; it was left "
                "running"
            ),
        )
    return meta
