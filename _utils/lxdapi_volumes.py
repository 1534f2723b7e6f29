"""Custom storage volumes leaving their pool or their server: copies (on one server, or
pulled by another over HTTPS), moves to another pool or server, backups (export to a
local tarball, import as a new volume).

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

On one server LXD copies a volume with ``POST /1.0/storage-pools/POOL/volumes/custom``
and ``source: {type: copy, pool, name}``, and moves it to another pool with a ``POST``
of the volume itself (``{name, pool}``): a copy, then the original deleted, in one
operation, refused while a running instance uses the volume. To another server the
target pulls it, as it pulls an instance (:func:`lxdapi_backups.instance_copy`): the
source's ``POST`` of the volume with ``migration: true`` makes an operation whose
one-time secrets the target's ``POST .../volumes/custom`` (``source: {type: migration,
mode: pull}``) connects with, over HTTPS. A backup (the ``custom_volume_backup`` API
extension) is made on the server (``POST .../volumes/custom/NAME/backups``), streamed to
a local file and deleted there; an import sends the tarball as the body of ``POST
.../volumes/custom`` (``X-LXD-name`` names the new volume; ``X-Incus-name`` on Incus).
"""

import os
import re
import tarfile
import urllib.parse

from lxdapi import (
    APIConflictException,
    APIException,
    APINotFoundException,
    get_or_none,
    name_from_url,
)
from lxdapi_backups import (
    backup_request,
    check_backup_dest,
    export_backup,
    pull_migration,
    pull_source_url,
)
from lxdapi_plans import Plan, Step, Write
from lxdapi_reconcile import (
    plan_resource_present,
    resource_collection,
    resource_declared,
    resource_url,
)
from lxdapi_values import check_bool, check_name, ignored_config_key

#: The only type of volume copied, moved or backed up (LXD's own are its instances' and
#: images').
VOLUME_TYPE = "custom"

#: The API extension of volume backups (LXD 4.8 and later, Incus).
BACKUP_EXTENSION = "custom_volume_backup"

#: The keys of a ``source`` mapping (:func:`check_volume_source`).
SOURCE_KEYS = ("pool", "name", "remote", "volume_only", "source_url")


# -- names and reads -------------------------------------------------------------------


def check_volume_name(value, what="name"):
    """A custom volume's name; ValueError naming ``what`` for an empty one or one with a
    ``/`` (LXD's snapshot separator)."""
    value = check_name(value, what)
    if "/" in value:
        raise ValueError(f"{what} must not contain '/': {value!r}")
    return value


def volume_url(api, pool, name):
    """Relative URL of custom volume ``name`` in ``pool``."""
    return resource_url(api, "storage_volume", name, pool=pool, type=VOLUME_TYPE)


def volumes_url(api, pool):
    """Relative URL of the custom volumes of ``pool``."""
    return resource_collection(api, "storage_volume", pool=pool, type=VOLUME_TYPE)


def volume_get(api, pool, name):
    """The metadata of custom volume ``name`` in ``pool``, or None when it (or the pool)
    does not exist."""
    found = get_or_none(api, volume_url(api, pool, name))
    return None if found is None else (found.metadata or {})


def _where(api, pool, name):
    return f"storage volume {name!r} in pool {pool!r} on {api.display_endpoint}"


def require_pool(api, pool, what="pool"):
    """``pool`` when it exists on the server of ``api``; ValueError otherwise."""
    pool = check_name(pool, what)
    if get_or_none(api, api.path("storage-pools", pool)) is None:
        raise ValueError(f"storage pool {pool!r} does not exist on {api.display_endpoint}")
    return pool


def _absent_there(api, pool, name, nothing="nothing was copied"):
    if volume_get(api, pool, name) is not None:
        raise APIConflictException(error=f"{_where(api, pool, name)} already exists; {nothing}")


def copy_fields(source, want=None, purge_config=False):
    """``(config, description)`` of a copy of the volume ``source`` (its metadata): the
    source's, with the declared ones of ``want`` (as :func:`resource_declared` makes
    it) over them; a declared ``""`` removes a key, ``purge_config`` every undeclared
    one but LXD's own ``volatile.*``."""
    want = want or {}
    config = dict(source.get("config") or {})
    if "config" in want:
        if purge_config:
            config = {k: v for k, v in config.items() if ignored_config_key(k)}
        config.update(want["config"])
        config = {k: v for k, v in config.items() if v != ""}
    return config, want.get("description", source.get("description") or "")


# -- copies ----------------------------------------------------------------------------


def check_pull(api, target_api, what):
    """ValueError when the server of ``target_api`` cannot pull the volume ``what`` from
    the server of ``api``: Incus from LXD (LXD 5.0's transfer header has no volume
    size, and Incus 6.0's receiving end crashes on it)."""
    if target_api.server_kind == "incus" and api.server_kind != "incus":
        raise ValueError(
            f"Incus at {target_api.display_endpoint} cannot pull storage volume {what!r} from LXD "
            f"at {api.display_endpoint}: Incus 6.0 "
            "crashes on LXD 5.0's volume transfer; copy between two Incus servers (or "
            "from Incus to LXD)"
        )


def pull_volume(
    api,
    pool,
    name,
    source,
    target_api,
    target_pool,
    new_name,
    source_url,
    volume_only=False,
    config=None,
    description=None,
):
    """Have the server of ``target_api`` pull volume ``name`` of ``pool`` (``source``:
    its metadata) from the server of ``api`` at ``source_url`` (``https://host:port``),
    as ``new_name`` in ``target_pool``; return ``new_name``.

    The copy has ``config`` and ``description`` (default: the source's), the source's
    content type, and its snapshots unless ``volume_only``. When the target refuses,
    the source's half of the transfer is cancelled; the copy is read back before this
    returns, so a caller that deletes the source next deletes it only once the target
    holds the volume.
    """
    if config is None or description is None:
        own_config, own_description = copy_fields(source)
        config = own_config if config is None else config
        description = own_description if description is None else description
    body = {
        "name": new_name,
        "type": VOLUME_TYPE,
        "content_type": source.get("content_type") or "filesystem",
        "config": config,
        "description": description,
    }
    pull_migration(
        api,
        volume_url(api, pool, name),
        {"name": name, "migration": True, "volume_only": volume_only},
        target_api,
        volumes_url(target_api, target_pool),
        body,
        source_url,
        volume_only=volume_only,
    )
    if volume_get(target_api, target_pool, new_name) is None:
        raise APIException(
            error=(
                f"{_where(target_api, target_pool, new_name)} is missing after the transfer "
                "reported success"
            )
        )
    return new_name


def storage_volume_copy(
    api,
    pool,
    name,
    new_name=None,
    target_pool=None,
    target_api=None,
    volume_only=False,
    source_url=None,
):
    """Copy custom volume ``name`` of ``pool`` (with its snapshots unless
    ``volume_only``); return ``{"pool", "name"}`` of the copy.

    ``new_name`` defaults to ``name``, ``target_pool`` to ``pool``. On the same server
    (``target_api`` None) one of them must differ. To another server (``target_api``: an
    :class:`API` on it) the target pulls the volume over HTTPS (see
    :func:`pull_volume`), so this server must listen on HTTPS; its first address is
    used unless ``source_url`` says another. Nothing is overwritten: an existing copy
    raises :class:`APIConflictException` before anything is sent; a missing source
    :class:`APINotFoundException`; bad arguments ValueError.
    """
    pool = check_name(pool, "pool")
    name = check_volume_name(name)
    new_name = name if new_name is None else check_volume_name(new_name, "new_name")
    target_pool = pool if target_pool is None else check_name(target_pool, "target_pool")
    check_bool(volume_only, "volume_only")
    if target_api is None and (target_pool, new_name) == (pool, name):
        raise ValueError("a copy on the same server needs new_name or another target_pool")
    source = volume_get(api, pool, name)
    if source is None:
        raise APINotFoundException(error=f"{_where(api, pool, name)} does not exist")
    there = target_api or api
    require_pool(there, target_pool, "target_pool")
    _absent_there(there, target_pool, new_name)
    if target_api is None:
        body = {
            "name": new_name,
            "type": VOLUME_TYPE,
            "source": {"type": "copy", "pool": pool, "name": name, "volume_only": volume_only},
        }
        api.post(volumes_url(api, target_pool), json=body).wait()
    else:
        check_pull(api, target_api, name)
        url = pull_source_url(api, target_api, name, source_url)
        pull_volume(api, pool, name, source, target_api, target_pool, new_name, url, volume_only)
    return {"pool": target_pool, "name": new_name}


def check_volume_source(source):
    """A ``source`` of :func:`plan_volume_present` as a mapping: ``pool`` and ``name``
    of the volume copied, ``remote`` (None: the same server), ``volume_only`` (default
    False) and ``source_url``; ValueError for anything else."""
    if not isinstance(source, dict):
        raise ValueError(
            f"source must be a mapping of pool, name and optionally remote, not {source!r}"
        )
    unknown = sorted(set(source) - set(SOURCE_KEYS))
    if unknown:
        raise ValueError(
            "source has no key {}; it takes {}".format(", ".join(unknown), ", ".join(SOURCE_KEYS))
        )
    checked = {
        "pool": check_name(source.get("pool"), "source pool"),
        "name": check_volume_name(source.get("name"), "source name"),
        "remote": source.get("remote"),
        "volume_only": check_bool(source.get("volume_only", False), "source volume_only"),
        "source_url": source.get("source_url"),
    }
    if checked["source_url"] is not None and checked["remote"] is None:
        raise ValueError("source_url is for a copy from another server (source remote)")
    return checked


def plan_volume_present(
    api,
    pool,
    name,
    declared,
    purge_config=False,
    source=None,
    source_api=None,
    volume_type=VOLUME_TYPE,
):
    """The :class:`Plan` that creates or converges a storage volume, as
    :func:`lxdapi_reconcile.plan_resource_present` does, a missing one made as a copy of
    ``source`` when given (see :func:`check_volume_source`).

    ``source_api``: an :class:`API` on the server of ``source["remote"]`` (None: the
    same server as ``api``). A volume that exists is converged as declared, and
    ``source`` (used only at creation) is a note: nothing is copied again. A copy gets
    its source's config with the declared keys over them (``purge_config``: only those,
    and LXD's ``volatile.*``), the declared description (else its source's) and its
    source's content type (a ``content_type`` declared otherwise is a ValueError); on
    the same server one ``POST`` with ``source: {type: copy}``, from another a
    :class:`Step` whose target pulls it (:func:`pull_volume`). Raises ValueError, before
    anything is sent, for a missing source or target pool, or a source server that
    cannot be pulled from.
    """
    if source is None:
        return plan_resource_present(
            api, "storage_volume", name, declared, purge_config, pool=pool, type=volume_type
        )
    source = check_volume_source(source)
    if volume_type != VOLUME_TYPE:
        raise ValueError(f"only custom volumes are copied from a source, not {volume_type!r}")
    pool = check_name(pool, "pool")
    name = check_volume_name(name)
    want = resource_declared("storage_volume", declared)
    if (source_api is not None) != (source["remote"] is not None):
        raise ValueError("source remote and the API of the source server go together")
    if volume_get(api, pool, name) is not None:
        plan = plan_resource_present(
            api, "storage_volume", name, declared, purge_config, pool=pool, type=volume_type
        )
        plan.notes.append(
            f"The storage volume {name!r} exists: source is used only at creation, so nothing "
            "was copied."
        )
        return plan
    return _plan_copy(api, pool, name, want, purge_config, source, source_api)


def _plan_copy(api, pool, name, want, purge_config, source, source_api):
    here = source_api or api
    src_pool, src_name = source["pool"], source["name"]
    found = volume_get(here, src_pool, src_name)
    if found is None:
        raise ValueError(f"copy source {_where(here, src_pool, src_name)} does not exist")
    require_pool(api, pool)
    content_type = found.get("content_type") or "filesystem"
    if want.get("content_type", content_type) != content_type:
        raise ValueError(
            "content_type {!r} is declared, but a copy has its source's ({!r})".format(
                want["content_type"], content_type
            )
        )
    label = {"pool": src_pool, "name": src_name}
    if source_api is not None:
        label["server"] = source_api.display_endpoint
    plan = Plan(name)
    plan.add("storage_volume", None, name)
    plan.add("source", None, label)
    for key, value in want.items():
        plan.add(key, None, value)
    keys = tuple(plan.changes)
    if source_api is None:
        body = {
            "name": name,
            "type": VOLUME_TYPE,
            "source": {
                "type": "copy",
                "pool": src_pool,
                "name": src_name,
                "volume_only": source["volume_only"],
            },
        }
        config, description = copy_fields(found, want, purge_config)
        if "config" in want:
            body["config"] = config
        if "description" in want:
            body["description"] = description
        plan.writes.append(Write("POST", volumes_url(api, pool), body, keys=keys))
        return plan
    check_pull(source_api, api, src_name)
    url = pull_source_url(source_api, api, src_name, source["source_url"])
    config, description = copy_fields(found, want, purge_config)
    plan.writes.append(
        Step(
            f"copy {src_pool}/{src_name} from {source_api.display_endpoint} to pool {pool} on "
            f"{api.display_endpoint}",
            lambda: pull_volume(
                source_api,
                src_pool,
                src_name,
                found,
                api,
                pool,
                name,
                url,
                source["volume_only"],
                config,
                description,
            ),
            keys,
        )
    )
    return plan


# -- moves -----------------------------------------------------------------------------


def _instance_users(api, volume):
    """``[(name, status)]`` of the instances in ``volume``'s ``used_by`` (snapshots and
    profiles left out), each read in its own project."""
    found = []
    for url in volume.get("used_by") or ():
        parts = urllib.parse.urlsplit(url)
        segments = parts.path.strip("/").split("/")  # 1.0, instances, NAME[, ...]
        if len(segments) != 3 or segments[1] not in ("instances", "containers"):
            continue
        params = {}
        project = urllib.parse.parse_qs(parts.query).get("project")
        if project:
            params["project"] = project[0]
        held = get_or_none(api, api.path(segments[1], name_from_url(url)), params=params or None)
        if held is not None:
            found.append((name_from_url(url), (held.metadata or {}).get("status")))
    return found


def plan_volume_migrated(api, pool, name, to_pool=None, target_api=None, source_url=None):
    """The :class:`Plan` that moves custom volume ``name`` of ``pool`` to ``to_pool``
    (default: ``pool``) on the server of ``target_api`` (default: the same server).

    A volume already there is left alone (nothing to do; the note says when the source
    still has one too). To another pool of the same server: LXD's move, one ``POST`` of
    the volume (``{name, pool}``) that copies it, points the instances and profiles
    using it at the new pool, then deletes the original; refused (ValueError, before
    anything is sent) while a running instance uses it, as LXD refuses it. To another
    server: the target pulls it with its snapshots (a :class:`Step`, see
    :func:`pull_volume`), then the source's is deleted, only once the target holds it;
    refused while anything uses it here (an instance would lose its disk, and LXD would
    not delete it). The changes are ``pool`` and (another server) ``server``, each
    ``{old, new}``. ValueError too when neither place has the volume, for a missing
    target pool, or a move to nowhere (no ``to_pool`` and no ``target_api``).
    """
    pool = check_name(pool, "pool")
    name = check_volume_name(name)
    to_pool = pool if to_pool is None else check_name(to_pool, "to_pool")
    if target_api is None and to_pool == pool:
        raise ValueError("a move needs to_pool (another pool) or to (another server)")
    there = target_api or api
    plan = Plan(name)
    source = volume_get(api, pool, name)
    if volume_get(there, to_pool, name) is not None:
        if source is not None:
            plan.notes.append(
                f"{api.display_endpoint} has a storage volume {name!r} in pool {pool!r} too; it is "
                "left alone."
            )
        return plan
    if source is None:
        raise ValueError(
            f"storage volume {name!r} exists neither in pool {pool!r} on {api.display_endpoint} "
            f"nor in pool {to_pool!r} on {there.display_endpoint}"
        )
    require_pool(there, to_pool, "to_pool")
    if target_api is None:
        running = sorted(n for n, status in _instance_users(api, source) if status != "Stopped")
        if running:
            raise ValueError(
                "{} is used by running instance(s) {}: {} moves a volume to another pool "
                "only while the instances using it are stopped".format(
                    _where(api, pool, name), ", ".join(running), api.server_label
                )
            )
        plan.writes.append(
            Write(
                "POST", volume_url(api, pool, name), {"name": name, "pool": to_pool}, keys=("pool",)
            )
        )
        plan.add("pool", pool, to_pool)
        return plan
    users = list(source.get("used_by") or ())
    if users:
        raise ValueError(
            "{} is used by {}: it moves to another server only when nothing uses it here "
            "(detach it first)".format(_where(api, pool, name), ", ".join(users))
        )
    check_pull(api, target_api, name)
    url = pull_source_url(api, target_api, name, source_url)
    keys = ("server", "pool") if to_pool != pool else ("server",)
    plan.writes.append(
        Step(
            f"copy {pool}/{name} to pool {to_pool} on {target_api.display_endpoint}",
            lambda: pull_volume(api, pool, name, source, target_api, to_pool, name, url),
            keys,
        )
    )
    plan.writes.append(Write("DELETE", volume_url(api, pool, name), keys=keys))
    plan.add("server", api.display_endpoint, target_api.display_endpoint)
    if to_pool != pool:
        plan.add("pool", pool, to_pool)
    return plan


# -- backups ---------------------------------------------------------------------------


def require_volume_backups(api):
    """Raise :class:`APIException` when the server cannot back up custom volumes (no
    ``custom_volume_backup`` API extension)."""
    if not api.has_extension(BACKUP_EXTENSION):
        raise APIException(
            error=(
                f"{api.server_label} at {api.display_endpoint} cannot back up storage volumes "
                f"(no {BACKUP_EXTENSION} API extension)"
            )
        )


def storage_volume_backup_export(
    api, pool, name, dest, volume_only=False, compression=None, optimized_storage=False
):
    """Export custom volume ``name`` of ``pool`` (with its snapshots unless
    ``volume_only``) to the local file ``dest``; return ``{"dest", "size", "sha256"}``.

    As :func:`lxdapi_backups.instance_backup_export`: streamed to a temporary file beside
    ``dest`` (0600) renamed when complete, the server's backup deleted afterwards.
    Raises :class:`APINotFoundException` for a missing volume, :class:`APIException`
    for a server without volume backups, ValueError for bad arguments.
    """
    pool = check_name(pool, "pool")
    name = check_volume_name(name)
    dest = check_backup_dest(dest)
    body = backup_request("volume_only", volume_only, compression, optimized_storage)
    require_volume_backups(api)
    if volume_get(api, pool, name) is None:
        raise APINotFoundException(error=f"{_where(api, pool, name)} does not exist")
    return export_backup(api, volume_url(api, pool, name) + "/backups", body, dest)


_INDEX_NAME = re.compile(r"^name:\s*(.+?)\s*$", re.MULTILINE)


def backup_volume_name(path):
    """The volume's name in the backup tarball at ``path`` (its ``backup/index.yaml``),
    or None when it cannot be read here (a zstd or lz4 tarball, not a tarball)."""
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                if member.name.lstrip("./") == "backup/index.yaml":
                    text = archive.extractfile(member).read(65536).decode("utf-8", "replace")
                    found = _INDEX_NAME.search(text)
                    return found.group(1).strip("'\"") if found else None
    except (tarfile.TarError, OSError, EOFError):
        return None
    return None


def storage_volume_backup_import(api, pool, path, name=None):
    """Create a custom volume in ``pool`` from the backup tarball at local ``path`` (as
    :func:`storage_volume_backup_export` writes it), named ``name`` (default: the name in
    the backup); return ``{"pool", "name"}``.

    Never overwrites: a volume of that name in ``pool`` raises
    :class:`APIConflictException` before anything is sent (the name in the backup is
    read from its index; a tarball this host cannot read, zstd or lz4, is left to the
    server, which refuses an existing name too). ValueError for a missing file or pool.
    """
    if not isinstance(path, str) or not path or not os.path.isfile(path):
        raise ValueError(f"backup file {path!r} does not exist")
    pool = check_name(pool, "pool")
    if name is not None:
        name = check_volume_name(name)
    require_volume_backups(api)
    require_pool(api, pool)
    target = name or backup_volume_name(path)
    if target is not None:
        _absent_there(api, pool, target, "nothing was imported")
    headers = {"Content-Type": "application/octet-stream"}
    if name is not None:
        headers[api.header("name")] = name
    with open(path, "rb") as fh:
        done = api.post(volumes_url(api, pool), data=fh, headers=headers).wait()
    if target is None:
        op = done.metadata or {}
        made = (op.get("resources") or {}).get("storage_volumes") or []
        target = name_from_url(made[0]) if made else None
    return {"pool": pool, "name": target}
