"""Instance backups: export an instance (with its snapshots) to a local tarball, and
import such a tarball as a new instance.

Part of the lxdapi core: ``_utils/lxdapi.py`` loads this file, which uses the core's names as
``core.<name>``; the core re-exports the public names defined here.

LXD makes a backup on the server (``POST /1.0/instances/NAME/backups``, an operation),
serves it at ``.../backups/BACKUP/export``, and keeps it until deleted or expired. An
export here makes one, streams it to the local file (never whole in memory), then deletes
it from the server, whatever happened. An import sends a tarball as the body of
``POST /1.0/instances`` (``X-LXD-name`` renames it, ``X-LXD-pool`` places it).
"""

import hashlib
import os
import tempfile
import time

import lxdapi_core as core

#: Compression algorithms an export may ask for (LXD's ``compression_algorithm``).
BACKUP_COMPRESSIONS = ("gzip", "bzip2", "xz", "zstd", "lz4", "none")

_CHUNK = 1024 * 1024


def _backup_name():
    return "lxdapi-{}-{}".format(int(time.time()), os.getpid())


def instance_backup_export(api, name, dest, instance_only=False, compression=None,
                           optimized_storage=False):
    """Export instance ``name`` (with its snapshots unless ``instance_only``) to the
    local file ``dest``; return ``{"dest", "size", "sha256"}``.

    The tarball is written to a temporary file beside ``dest`` and renamed when complete,
    so ``dest`` never holds half a backup. The server's backup is deleted afterwards.
    Raises :class:`APINotFoundException` naming a missing instance, ValueError for bad
    arguments (``dest`` must be an absolute path in an existing folder).
    """
    name = core.check_name(name, "name")
    dest = core.check_absolute_path(dest, "dest")
    folder = os.path.dirname(dest)
    if not os.path.isdir(folder):
        raise ValueError("dest {}: the folder {} does not exist".format(dest, folder))
    body = {"name": _backup_name(),
            "instance_only": core.check_bool(instance_only, "instance_only"),
            "optimized_storage": core.check_bool(optimized_storage, "optimized_storage")}
    if compression is not None:
        if compression not in BACKUP_COMPRESSIONS:
            raise ValueError("unknown compression {!r}; choose one of {}".format(
                compression, ", ".join(BACKUP_COMPRESSIONS)))
        body["compression_algorithm"] = compression
    if core.get_or_none(api, api.instance_path(name)) is None:
        raise core.APINotFoundException(error="instance {!r} does not exist".format(name))
    api.post(api.instance_path(name, "backups"), json=body).wait()
    backup_url = api.instance_path(name, "backups", body["name"])
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
        except core.APIException as exc:  # the export is done; a leftover expires
            core.log.warning("lxdapi: could not delete backup %s: %s", backup_url, exc)
    return {"dest": dest, "size": size, "sha256": digest.hexdigest()}


def instance_backup_import(api, path, name=None, pool=None):
    """Create an instance from a backup tarball at local ``path`` (as
    :func:`instance_backup_export` writes it); return the new instance's name.

    ``name``: another name than the one in the backup; ``pool``: the storage pool for
    it. Raises :class:`APIConflictException` when an instance of that name exists
    (nothing is overwritten), ValueError for a missing file.
    """
    if not isinstance(path, str) or not os.path.isfile(path):
        raise ValueError("backup file {!r} does not exist".format(path))
    headers = {"Content-Type": "application/octet-stream"}
    if name is not None:
        name = core.validate_instance_name(name)
        headers["X-LXD-name"] = name
        if core.get_or_none(api, api.instance_path(name)) is not None:
            raise core.APIConflictException(
                error="instance {!r} already exists; nothing was imported".format(name))
    if pool is not None:
        headers["X-LXD-pool"] = core.check_name(pool, "pool")
    with open(path, "rb") as fh:
        done = api.post(api.instances_collection, data=fh, headers=headers).wait()
    resources = ((done.metadata or {}).get("resources") or {}).get("instances") or \
        ((done.metadata or {}).get("resources") or {}).get("containers") or []
    return name or (core.name_from_url(resources[0]) if resources else None)
