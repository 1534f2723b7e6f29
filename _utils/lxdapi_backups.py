"""Instances leaving their server: backups (export to a local tarball, import as a new
instance) and copies, on one server or to another.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

LXD makes a backup on the server (``POST /1.0/instances/NAME/backups``, an operation),
serves it at ``.../backups/BACKUP/export``, and keeps it until deleted or expired. An
export here makes one, streams it to the local file (never whole in memory), then deletes
it from the server, whatever happened. An import sends a tarball as the body of
``POST /1.0/instances`` (``X-LXD-name`` renames it, ``X-LXD-pool`` places it;
``X-Incus-*`` on Incus). The making, streaming and deleting of a backup
(:func:`export_backup`) and the address another server pulls from
(:func:`pull_source_url`) serve custom volumes too (``lxdapi_volumes``).
"""

import hashlib
import logging
import os
import tempfile
import time

from lxdapi import (
    APIConflictException,
    APIException,
    APINotFoundException,
    get_or_none,
    name_from_url,
)
from lxdapi_cluster import cluster_members, plan_instance_move
from lxdapi_instances import (
    check_profiles_exist,
    instance_get,
    plan_instance_status,
    planning_status,
    validate_instance_name,
)
from lxdapi_plans import Plan, Step, Write
from lxdapi_values import check_absolute_path, check_bool, check_name, check_seconds

log = logging.getLogger(__name__)


#: Compression algorithms an export may ask for (LXD's ``compression_algorithm``).
BACKUP_COMPRESSIONS = ("gzip", "bzip2", "xz", "zstd", "lz4", "none")

_CHUNK = 1024 * 1024


def _backup_name():
    return f"lxdapi-{int(time.time())}-{os.getpid()}"


def check_backup_dest(dest):
    """``dest`` as a backup's destination: an absolute path in an existing folder;
    ValueError otherwise."""
    dest = check_absolute_path(dest, "dest")
    folder = os.path.dirname(dest)
    if not os.path.isdir(folder):
        raise ValueError(f"dest {dest}: the folder {folder} does not exist")
    return dest


def backup_request(only_key, only, compression=None, optimized_storage=False):
    """The body of a backup's ``POST .../backups``: a fresh name, ``only_key``
    (``instance_only``, ``volume_only``) set to ``only``, ``optimized_storage`` and
    ``compression_algorithm`` (one of :data:`BACKUP_COMPRESSIONS`); ValueError for a bad
    value."""
    body = {
        "name": _backup_name(),
        only_key: check_bool(only, only_key),
        "optimized_storage": check_bool(optimized_storage, "optimized_storage"),
    }
    if compression is not None:
        if compression not in BACKUP_COMPRESSIONS:
            raise ValueError(
                "unknown compression {!r}; choose one of {}".format(
                    compression, ", ".join(BACKUP_COMPRESSIONS)
                )
            )
        body["compression_algorithm"] = compression
    return body


def export_backup(api, backups_url, body, dest):
    """Make a backup on the server (``POST backups_url`` with ``body``, as
    :func:`backup_request` makes it), stream its export to ``dest`` (checked by
    :func:`check_backup_dest`) and delete it from the server, whatever happened; return
    ``{"dest", "size", "sha256"}``.

    The tarball goes to a temporary file beside ``dest`` (0600), renamed when complete,
    so ``dest`` never holds half a backup.
    """
    folder = os.path.dirname(dest)
    api.post(backups_url, json=body).wait()
    backup_url = backups_url + "/" + api.path(body["name"])
    try:
        response = api.get(backup_url + "/export", stream=True).response
        digest, size = hashlib.sha256(), 0
        handle, partial = tempfile.mkstemp(prefix=".lxdapi-backup-", dir=folder)
        try:
            with os.fdopen(handle, "wb") as fh:
                for chunk in response.iter_content(_CHUNK):
                    fh.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            os.chmod(partial, 0o600)
            os.replace(partial, dest)
        except BaseException:
            os.unlink(partial)
            raise
        finally:
            response.close()
    finally:
        try:
            api.delete(backup_url).wait()
        except APIException as exc:  # the export is done; a leftover expires
            log.warning("lxdapi: could not delete backup %s: %s", backup_url, exc)
    return {"dest": dest, "size": size, "sha256": digest.hexdigest()}


def instance_backup_export(
    api, name, dest, instance_only=False, compression=None, optimized_storage=False
):
    """Export instance ``name`` (with its snapshots unless ``instance_only``) to the
    local file ``dest``; return ``{"dest", "size", "sha256"}``.

    The tarball is written to a temporary file beside ``dest`` and renamed when complete,
    so ``dest`` never holds half a backup. The server's backup is deleted afterwards.
    Raises :class:`APINotFoundException` naming a missing instance, ValueError for bad
    arguments (``dest`` must be an absolute path in an existing folder).
    """
    name = check_name(name, "name")
    dest = check_backup_dest(dest)
    body = backup_request("instance_only", instance_only, compression, optimized_storage)
    if get_or_none(api, api.instance_path(name)) is None:
        raise APINotFoundException(error=f"instance {name!r} does not exist")
    return export_backup(api, api.instance_path(name, "backups"), body, dest)


def instance_backup_import(api, path, name=None, pool=None):
    """Create an instance from a backup tarball at local ``path`` (as
    :func:`instance_backup_export` writes it); return the new instance's name.

    ``name``: another name than the one in the backup; ``pool``: the storage pool for
    it. Raises :class:`APIConflictException` when an instance of that name exists
    (nothing is overwritten), ValueError for a missing file.
    """
    if not isinstance(path, str) or not os.path.isfile(path):
        raise ValueError(f"backup file {path!r} does not exist")
    headers = {"Content-Type": "application/octet-stream"}
    if name is not None:
        name = validate_instance_name(name)
        headers[api.header("name")] = name
        if get_or_none(api, api.instance_path(name)) is not None:
            raise APIConflictException(
                error=f"instance {name!r} already exists; nothing was imported"
            )
    if pool is not None:
        headers[api.header("pool")] = check_name(pool, "pool")
    with open(path, "rb") as fh:
        done = api.post(api.instances_collection, data=fh, headers=headers).wait()
    op = done.metadata or {}
    # LXD 6.7 and later name what an operation made in metadata.entity_url; 6.8 dropped
    # the operation's resources, which older servers (and Incus) list it in.
    entity = (op.get("metadata") or {}).get("entity_url")
    resources = (
        [entity]
        if entity
        else ((op.get("resources") or {}).get("instances"))
        or ((op.get("resources") or {}).get("containers"))
        or []
    )
    return name or (name_from_url(resources[0]) if resources else None)


def _check_copy_target(api, name, where):
    if get_or_none(api, api.instance_path(name)) is not None:
        raise APIConflictException(
            error=(
                f"instance {name!r} already exists on {where.display_endpoint}; nothing was copied"
            )
        )


def pull_source_url(api, target_api, what, source_url=None):
    """The ``https://host:port`` the server of ``target_api`` pulls ``what`` (a name, for
    the message) from the server of ``api`` at: ``source_url`` when given, else the
    server's first HTTPS address. ValueError when it listens on none, or for a
    ``source_url`` that is not ``https://``."""
    if source_url is None:
        addresses = (api.server.get("environment") or {}).get("addresses") or []
        if not addresses:
            raise ValueError(
                f"{api.server_label} at {api.display_endpoint} does not listen on HTTPS "
                "(core.https_address), so "
                f"{target_api.display_endpoint} cannot pull {what!r} from it"
            )
        return "https://" + addresses[0]
    if not str(source_url).startswith("https://"):
        raise ValueError(f"source_url must be https://host:port, not {source_url!r}")
    return str(source_url)


def instance_copy(api, name, new_name=None, target_api=None, instance_only=False, source_url=None):
    """Copy instance ``name`` (stopped or not; with its snapshots unless
    ``instance_only``) to ``new_name``; return the new name.

    On the same server (``target_api`` None): ``new_name`` is required. To another
    server (``target_api``: an :class:`API` on it): the target pulls the instance from
    this server over HTTPS (LXD's migration, pull mode, authorised by the operation's
    secrets), so this server must listen on HTTPS; its first address is used unless
    ``source_url`` (``https://host:port``) says another. ``new_name`` defaults to
    ``name``. The copy gets the instance's config, devices and profiles (which must
    exist there). Nothing is overwritten: an existing ``new_name`` raises
    :class:`APIConflictException` before anything is sent.
    """
    name = validate_instance_name(name)
    check_bool(instance_only, "instance_only")
    source = get_or_none(api, api.instance_path(name))
    if source is None:
        raise APINotFoundException(error=f"instance {name!r} does not exist")
    meta = source.metadata or {}
    if target_api is None:
        if new_name is None:
            raise ValueError("a copy on the same server needs new_name")
        new_name = validate_instance_name(new_name)
        _check_copy_target(api, new_name, api)
        body = {
            "name": new_name,
            "profiles": list(meta.get("profiles") or []),
            "source": {"type": "copy", "source": name, "instance_only": instance_only},
        }
        api.post(api.instances_collection, json=body).wait()
        return new_name
    new_name = validate_instance_name(new_name or name)
    _check_copy_target(target_api, new_name, target_api)
    profiles = list(meta.get("profiles") or [])
    check_profiles_exist(target_api, profiles)
    source_url = pull_source_url(api, target_api, name, source_url)
    body = {
        "name": new_name,
        "architecture": meta.get("architecture"),
        "type": meta.get("type") or "container",
        "profiles": profiles,
        "config": {
            k: v for k, v in (meta.get("config") or {}).items() if not k.startswith("volatile.")
        },
        "devices": meta.get("devices") or {},
        "ephemeral": bool(meta.get("ephemeral")),
        "description": meta.get("description") or "",
    }
    pull_migration(
        api,
        api.instance_path(name),
        {"migration": True, "live": False, "instance_only": instance_only},
        target_api,
        target_api.instances_collection,
        body,
        source_url,
        instance_only=instance_only,
    )
    return new_name


def pull_migration(api, url, start, target_api, collection, body, source_url, **only):
    """A transfer in LXD's pull mode: the source server (``api``) opens a migration of
    ``url`` (``POST`` of ``start``); the target (``target_api``) creates ``body`` in
    ``collection`` with a ``migration`` source naming that operation at ``source_url``
    (authorised by its one-time secrets: the servers need not trust each other);
    ``only``: ``instance_only`` or ``volume_only``. When the target refuses, the
    source's half is cancelled (it would wait for a peer that never comes)."""
    environment = api.server.get("environment") or {}
    migration = api.post(url, json=start)
    operation = (migration.data or {}).get("metadata") or {}
    body = dict(
        body,
        source=dict(
            {
                "type": "migration",
                "mode": "pull",
                "operation": "{}/1.0/operations/{}".format(
                    source_url.rstrip("/"), operation.get("id")
                ),
                "certificate": environment.get("certificate") or "",
                "secrets": operation.get("metadata") or {},
            },
            **only,
        ),
    )
    try:
        target_api.post(collection, json=body).wait()
    except APIException:
        try:
            api.delete(migration.operation)
        except APIException:
            pass
        raise
    migration.wait()


def plan_instance_migrated(
    api, name, target_api=None, target=None, stop_and_start=False, timeout=30, source_url=None
):
    """The :class:`Plan` that brings instance ``name`` where it is declared: to another
    server (``target_api``, an :class:`API` on it; see :func:`_plan_server_migrated`) or
    to another member of its cluster (``target``, a member's name; see
    :func:`_plan_member_migrated`), one of the two. A running or frozen instance moves
    only with ``stop_and_start`` (stopped cleanly, moved, started again there)."""
    check_bool(stop_and_start, "stop_and_start")
    timeout = check_seconds(timeout)
    if (target_api is None) == (target is None):
        raise ValueError("give to (another server) or target (a cluster member), one of them")
    if target is not None:
        return _plan_member_migrated(api, name, target, stop_and_start, timeout)
    return _plan_server_migrated(api, name, target_api, stop_and_start, timeout, source_url)


def _plan_server_migrated(api, name, target_api, stop_and_start, timeout, source_url):
    """The :class:`Plan` that moves instance ``name`` from the server of ``api`` to that
    of ``target_api`` (an :class:`API` on another server): the target pulls it over
    HTTPS, as :func:`instance_copy` does, with its snapshots; then the source's copy is
    deleted.

    An instance already on the target is left alone (nothing to do, wherever else it
    may be: the note says when the source still has one too). A running or frozen
    instance is stopped cleanly first and started again on the target only with
    ``stop_and_start`` (a live move would need CRIU on both servers): without it,
    ValueError says so, before anything is sent, as it does when neither server has the
    instance. The change is ``server: {old: source, new: target}``.
    """
    name = validate_instance_name(name)
    plan = Plan(name)
    source = instance_get(api, name)
    if instance_get(target_api, name):
        if source:
            plan.notes.append(
                f"{api.server_label} at {api.display_endpoint} has an instance {name!r} too; it is "
                "left alone."
            )
        return plan
    if not source:
        raise ValueError(
            f"container {name!r} exists neither on {api.display_endpoint} nor on "
            f"{target_api.display_endpoint}"
        )
    status = _movable_status(api, name, source, stop_and_start)
    keys = ("server",)
    moves = [
        Step(
            f"copy {name} to {target_api.display_endpoint}",
            lambda: instance_copy(api, name, target_api=target_api, source_url=source_url),
            keys,
        ),
        Write("DELETE", api.instance_path(name), keys=keys),  # once the target holds it
    ]
    plan.writes.extend(_stopped_for(api, name, status, timeout, moves, target_api, keys))
    plan.add("server", api.display_endpoint, target_api.display_endpoint)
    return plan


def _movable_status(api, name, instance, stop_and_start):
    """The instance's status, when it may move: Stopped, or any with ``stop_and_start``
    (ValueError otherwise, before anything is sent)."""
    status = planning_status(instance.metadata.get("status"))
    if status != "Stopped" and not stop_and_start:
        raise ValueError(
            f"container {name!r} is {status} on {api.display_endpoint}: moving it needs "
            "stop_and_start: True (it is "
            "stopped cleanly and started again on the target; a live move would need "
            "CRIU on both servers)"
        )
    return status


def _stopped_for(api, name, status, timeout, moves, start_api, keys):
    """The writes of a move: a clean stop of an instance that is not Stopped, the
    ``moves``, then a start where it went (``start_api``)."""
    if status == "Stopped":
        return list(moves)
    stop = Step(
        f"stop {name} on {api.display_endpoint}",
        lambda: plan_instance_status(api, name, "Stopped", timeout=timeout, current=status).apply(
            api
        ),
        keys,
    )
    start = Step(
        f"start {name} on {start_api.display_endpoint}",
        lambda: plan_instance_status(
            start_api, name, "Running", timeout=timeout, current="Stopped"
        ).apply(start_api),
        keys,
    )
    return [stop] + list(moves) + [start]


def _plan_member_migrated(api, name, target, stop_and_start, timeout):
    """The :class:`Plan` that moves instance ``name`` to cluster member ``target`` of
    the same cluster (``POST /1.0/instances/NAME?target=MEMBER``: LXD moves it and drops
    it from its old member only once moved). Nothing to do when it is there already. A
    running or frozen instance is stopped cleanly and started again there only with
    ``stop_and_start`` (ValueError otherwise). The change is ``location: {old, new}``.
    """
    name = validate_instance_name(name)
    target = check_name(target, "target")
    instance = instance_get(api, name)
    if not instance:
        raise ValueError(f"container {name!r} does not exist on {api.display_endpoint}")
    plan = Plan(name)
    location = instance.metadata.get("location")
    if location == target:
        return plan
    if not any(m.get("server_name") == target for m in cluster_members(api)):
        raise ValueError(
            f"{api.server_label} at {api.display_endpoint} has no cluster member {target!r}"
        )
    status = _movable_status(api, name, instance, stop_and_start)
    moves = plan_instance_move(api, name, location, target).writes
    plan.writes.extend(_stopped_for(api, name, status, timeout, moves, api, ("location",)))
    plan.add("location", location, target)
    return plan
