"""What the host has and uses: its hardware (``/1.0/resources``), a storage pool's space
(``/1.0/storage-pools/NAME/resources``), a project's usage against its limits
(``/1.0/projects/NAME/state``), and the server's metrics (``/1.0/metrics``).

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

Reads only: nothing here writes. Each is one GET, its answer returned as the server
gives it (the metrics as OpenMetrics text, parsed no further than picking the families
asked for). What needs an API extension the server lacks raises
:class:`lxdapi.APIException` naming the server and the extension, before any request.
"""

from lxdapi import APIException, APINotFoundException, get_or_none
from lxdapi_values import check_name, check_names

#: The suffixes OpenMetrics adds to a family's name in its samples (a counter
#: ``lxd_cpu_seconds`` is sampled as ``lxd_cpu_seconds_total``).
METRIC_SUFFIXES = ("_total", "_created", "_count", "_sum", "_bucket", "_info")


def require_extension(api, extension, what):
    """Raise :class:`APIException` when the server lacks API extension ``extension``,
    naming it and ``what`` it is needed for."""
    if not api.has_extension(extension):
        raise APIException(
            error=(
                f"{api.server_label} at {api.display_endpoint} cannot show {what} (no "
                f"{extension} API extension)"
            )
        )


def _target_params(target):
    return None if target is None else {"target": check_name(target, "target")}


def host_resources(api, target=None):
    """The host's hardware as the server sees it (``GET /1.0/resources``): ``cpu``,
    ``memory``, ``gpu``, ``network``, ``storage``, ``usb``, ``pci``, ``system`` (Incus
    adds ``load``). ``target``: on a cluster, the member to ask about."""
    require_extension(api, "resources", "the host's resources")
    return api.get("resources", params=_target_params(target)).metadata


def storage_pool_resources(api, pool, target=None):
    """A storage pool's space and inodes, used and total (``GET
    /1.0/storage-pools/NAME/resources``): ``{"space": {"used", "total"}, "inodes":
    {...}}``. A missing pool raises :class:`APINotFoundException` naming it. ``target``:
    on a cluster, the member whose share of the pool is meant."""
    pool = check_name(pool, "pool")
    require_extension(api, "resources", "a storage pool's resources")
    params = _target_params(target)
    try:
        return api.get(api.path("storage-pools", pool, "resources"), params=params).metadata
    except APIException:  # LXD 5.0 and Incus 6.0 answer 500 for a missing pool
        if get_or_none(api, api.path("storage-pools", pool)) is None:
            raise APINotFoundException(
                error=f"storage pool {pool!r} does not exist on {api.display_endpoint}"
            ) from None
        raise


def project_state(api, name=None):
    """A project's usage against its limits (``GET /1.0/projects/NAME/state``, the
    ``project_usage`` API extension): ``{"resources": {"cpu": {"Limit", "Usage"},
    "memory": ..., "instances": ...}}`` (``Limit`` -1: none). ``name`` defaults to the
    connection's project, else ``default``. A missing project raises
    :class:`APINotFoundException` naming it."""
    name = check_name(name if name is not None else (api.project or "default"), "name")
    require_extension(api, "project_usage", "a project's usage")
    found = get_or_none(api, api.path("projects", name, "state"))
    if found is None:
        raise APINotFoundException(
            error=f"project {name!r} does not exist on {api.display_endpoint}"
        )
    return found.metadata


def metrics(api, names=None):
    """The server's metrics as OpenMetrics text (``GET /1.0/metrics``, the ``metrics``
    API extension), as the server wrote it.

    ``names``: a list of metric names (``lxd_cpu_seconds_total``, or a family's name:
    ``lxd_cpu_seconds``); only those samples, with their ``# HELP``/``# TYPE`` lines, are
    kept (and the closing ``# EOF``). LXD 5.0 measures instances only (the text of a
    server with none running is ``# EOF``); Incus adds its own (``incus_uptime_seconds``,
    ``incus_warnings_total``...). Over HTTPS the client must be trusted, or hold a
    certificate of type ``metrics``. The connection's project limits the instances
    measured to its own. An answer of a server with the ``internal_metrics`` API
    extension that lacks its own metrics (Incus 6.0 leaves them out of the answer that
    rebuilds its 8 s cache of the instances') is asked for once more.
    """
    wanted = None if names is None else set(check_names(names, "names"))
    require_extension(api, "metrics", "metrics")
    text = _metrics_text(api)
    if api.has_extension("internal_metrics") and _uptime_metric(api) not in text:
        # Incus 6.0 leaves its own metrics out of the answer that rebuilds its cache of
        # the instances' (one every 8 s); the next answer, from that cache, has them.
        text = _metrics_text(api)
    if wanted is None:
        return text
    return "".join(line for line in text.splitlines(True) if _wanted_line(line, wanted))


def _metrics_text(api):
    return api.get("metrics").response.content.decode("utf-8", "replace")


def _uptime_metric(api):
    """The sample a server with the ``internal_metrics`` API extension always writes
    among its own metrics (``incus_uptime_seconds``)."""
    return f"\n{api.server_kind}_uptime_seconds "


def _metric_name(line):
    """The metric a line of OpenMetrics text is about: a sample's name, or the name a
    ``# HELP``/``# TYPE``/``# UNIT`` line describes; None for another comment."""
    if line.startswith("#"):
        words = line.split(None, 3)
        if len(words) >= 3 and words[1] in ("HELP", "TYPE", "UNIT"):
            return words[2]
        return None
    return line.split("{", 1)[0].split(None, 1)[0] if line.strip() else None


def _wanted_line(line, wanted):
    if line.startswith("# EOF"):
        return True
    name = _metric_name(line)
    if name is None:
        return False
    if name in wanted:
        return True
    return any(name == w + suffix for w in wanted for suffix in METRIC_SUFFIXES) or any(
        w == name + suffix for w in wanted for suffix in METRIC_SUFFIXES
    )
