"""Images: the plans behind ``image_present`` and friends, image/alias operations, and
an image's refresh and export to a local file.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import email.message
import hashlib
import os
import re
import tempfile

import requests

from lxdapi import APIConflictException, APIException, APINotFoundException, get_or_none
from lxdapi_operations import list_collection
from lxdapi_plans import Plan, Step, Write
from lxdapi_values import (
    check_absolute_path,
    check_bool,
    check_name,
    check_names,
    check_optional_str,
    lxd_config,
)

# -- image_present and friends: one plan per state

#: The protocols of an image server: another LXD (``lxd``), another Incus (``incus``), a
#: simple streams index.
IMAGE_PROTOCOLS = ("lxd", "incus", "simplestreams")

#: A whole image fingerprint (sha256, hex).
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")


def check_image_source(source, default_protocol="lxd"):
    """A remote image source mapping, checked and completed for ``POST /1.0/images``.

    Keys: ``server`` (``https://...``), ``protocol`` (``lxd``, ``incus`` or
    ``simplestreams``; ``default_protocol`` when not given: the pulling server's own kind,
    an Incus pulling from an Incus), ``alias`` or ``fingerprint`` (which image),
    ``certificate`` (the server's PEM, for a self-signed server). ValueError names what
    is wrong.
    """
    known = {
        "server",
        "protocol",
        "alias",
        "fingerprint",
        "certificate",
        "type",
        "mode",
        "image_type",
        "secret",
    }
    unknown = sorted(set(source) - known)
    if unknown:
        raise ValueError(
            "unknown image source key(s): {}; use server, protocol, alias, "
            "fingerprint, certificate".format(", ".join(unknown))
        )
    server = source.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise ValueError(f"an image source needs a server URL (https://host:port), not {server!r}")
    protocol = source.get("protocol") or default_protocol
    if protocol not in IMAGE_PROTOCOLS:
        raise ValueError(
            "unknown image protocol {!r}; choose {}".format(protocol, " or ".join(IMAGE_PROTOCOLS))
        )
    if not source.get("alias") and not source.get("fingerprint"):
        raise ValueError("an image source needs an alias or a fingerprint")
    for key in ("alias", "fingerprint", "certificate"):
        check_optional_str(source.get(key), "image source " + key)
    out = {"type": "image", "mode": "pull", "server": server.rstrip("/"), "protocol": protocol}
    for key in ("alias", "fingerprint", "certificate", "image_type", "secret"):
        if source.get(key):
            out[key] = source[key]
    return out


def _same_protocol(protocol):
    """The protocols an image's ``update_source`` may record for a pull by ``protocol``
    (Incus records its own pulls from another Incus as ``incus``, an older one ``lxd``)."""
    return ("lxd", "incus") if protocol in ("lxd", "incus") else (protocol,)


def pulled_from(image, source):
    """True when ``image`` (LXD's image object) came from the remote ``source``."""
    if source.get("fingerprint"):
        return image.get("fingerprint", "").startswith(source["fingerprint"].lower())
    origin = image.get("update_source") or {}
    return (
        (origin.get("server") or "").rstrip("/") == source["server"]
        and (origin.get("protocol") or "lxd") in _same_protocol(source["protocol"])
        and origin.get("alias") == source.get("alias")
    )


def plan_image_present(
    api, name, source, public=False, aliases=None, auto_update=False, fingerprint=None
):
    """The :class:`Plan` that makes image alias ``name`` point at the declared image.

    ``source`` is the path of a unified image tarball (present when the server has an
    image with its sha256 fingerprint), a remote image source (see
    :func:`check_image_source`; present when ``name`` points at an image pulled from
    it), or an instance or snapshot of this server to publish (see
    :func:`check_publish_source`; present when ``name`` points at an image published
    from it). The image is uploaded or pulled when missing; ``public`` and ``auto_update``
    are brought to what is declared (one PATCH with If-Match); ``name`` and every name
    in ``aliases`` point at it (created, or moved from another image, which is kept).

    ``name`` None (a file ``source`` only) names no alias: the image is uploaded when
    missing and nothing else. ``public`` or ``auto_update`` None leaves an existing
    image's flag as it is.
    ``fingerprint``: the file's sha256 when the caller knows it (saves reading it).
    """
    if name is None and isinstance(source, str):
        return _plan_image_file(api, None, source, public, auto_update, [], fingerprint)
    name = check_name(name, "name")
    for flag, what in ((public, "public"), (auto_update, "auto_update")):
        if flag is not None:
            check_bool(flag, what)
    extra = [] if aliases is None else check_names(aliases, "aliases")
    names = [name] + [a for a in extra if a != name]
    if isinstance(source, dict) and source.get("type") in PUBLISH_TYPES:
        return _plan_image_publish(api, name, source, public, names)
    if isinstance(source, dict):
        return _plan_image_pull(
            api, name, check_image_source(source, api.server_kind), public, names, auto_update
        )
    if not isinstance(source, str) or not source:
        raise ValueError(
            "source must be an image file (path or salt:// URL), a remote "
            "image source mapping or an instance or snapshot to publish, "
            f"not {source!r}"
        )
    return _plan_image_file(api, name, source, public, auto_update, names, fingerprint)


def _plan_image_file(api, name, source, public, auto_update, names, fingerprint):
    """The image of a unified tarball: uploaded unless the server has its fingerprint."""
    if not isinstance(source, str) or not os.path.isfile(source):
        raise ValueError(f"image file {source!r} does not exist")
    fingerprint = fingerprint or image_get_fingerprint(source)
    plan = Plan(name or fingerprint)
    image = image_get(api, fingerprint)
    if image:
        _plan_image_settings(api, plan, image, public, auto_update)
        have = {a.get("name") for a in image.metadata.get("aliases") or []}
    else:
        plan.add("image", None, fingerprint)
        plan.writes.append(image_upload_write(api, source, bool(public)))
        if auto_update:
            plan.add("auto_update", False, True)
            plan.writes.append(
                Write(
                    "PATCH",
                    api.path("images", fingerprint),
                    {"auto_update": True},
                    keys=("auto_update",),
                )
            )
        have = set()
    _plan_aliases(api, plan, [a for a in names if a not in have], fingerprint)
    return plan


def _plan_image_settings(api, plan, image, public, auto_update):
    meta, patch = image.metadata, {}
    for key, want in (("public", public), ("auto_update", auto_update)):
        if want is not None and bool(meta.get(key)) != want:
            plan.add(key, bool(meta.get(key)), want)
            patch[key] = want
    if patch:
        plan.writes.append(
            Write(
                "PATCH",
                api.path("images", meta["fingerprint"]),
                patch,
                etag=image.etag,
                keys=tuple(patch),
            )
        )


def alias_write(api, name, alias, target, description=None, keys=()):
    """The one write that points image alias ``name`` at ``target``.

    ``alias``: the alias's :class:`lxdapi.APIResult`, or False when it does not exist: a
    POST then creates it; otherwise a PUT of its target and description with If-Match
    (not a PATCH: LXD 5.0.2 hangs 20 s on an alias PATCH, then answers 500).
    ``description`` None keeps the one it has. ``target``: a fingerprint, or
    ``target(previous)`` given the result of the plan's write before it, for an image
    that write makes. ``keys``: the plan's changes it makes.
    """
    if alias:
        kept = alias.metadata.get("description") or ""
        method, url, etag = "PUT", api.path("images", "aliases", name), alias.etag
        body = {"description": kept if description is None else description}
    else:
        method, url, etag, body = "POST", "images/aliases", None, {"name": name}
        if description is not None:
            body["description"] = description
    if callable(target):
        return Write(
            method, url, lambda previous: dict(body, target=target(previous)), etag=etag, keys=keys
        )
    return Write(method, url, dict(body, target=target), etag=etag, keys=keys)


def _plan_aliases(api, plan, names, fingerprint):
    """Point each alias in ``names`` at ``fingerprint`` (a string, or a callable given
    the previous write's result for an image whose fingerprint is known only then)."""
    old, new = {}, {}
    for alias in names:
        current = image_alias_get(api, alias)
        old[alias] = current.metadata.get("target") if current else None
        plan.writes.append(alias_write(api, alias, current, fingerprint, keys=("aliases",)))
        new[alias] = fingerprint if isinstance(fingerprint, str) else "(the pulled image)"
    if new:
        plan.changes["aliases"] = {"old": old, "new": new}


def _plan_image_pull(api, name, source, public, names, auto_update):
    body = {"source": source, "public": public, "auto_update": auto_update}
    return _plan_image_from(
        api,
        name,
        names,
        public,
        auto_update,
        body,
        source_label(source),
        lambda image: pulled_from(image, source),
    )


#: ``type`` of an image source that publishes an instance or snapshot of this server.
PUBLISH_TYPES = ("instance", "container", "virtual-machine", "snapshot")

#: Image properties that record what a published image was made from.
PUBLISHED_FROM = "lxdapi.published_from"
PUBLISHED_CREATED_AT = "lxdapi.published_created_at"


def check_publish_source(api, source):
    """``(what, created_at)`` of the instance or snapshot a publish source names.

    ``source``: ``{"type": "snapshot", "name": "web1/snap0"}`` (or ``type: instance`` and
    the instance's name; LXD publishes a stopped instance only). ``what`` is the name as
    LXD's publish source takes it. ValueError for a malformed source;
    :class:`APINotFoundException` naming an instance or snapshot that does not exist.
    """
    unknown = sorted(set(source) - {"type", "name"})
    if unknown:
        raise ValueError(
            "unknown publish source key(s): {}; use type and name".format(", ".join(unknown))
        )
    name = check_name(source.get("name"), "publish source name")
    if source["type"] == "snapshot":
        instance, _, snapshot = name.partition("/")
        if not snapshot or not instance or "/" in snapshot:
            raise ValueError(f"a snapshot to publish is named INSTANCE/SNAPSHOT, not {name!r}")
        url = api.instance_path(instance, "snapshots", snapshot)
        what = f"snapshot {snapshot!r} of {instance!r}"
    else:
        if "/" in name:
            raise ValueError(
                "an instance to publish has no '/' in its name (for a "
                f"snapshot use type: snapshot), not {name!r}"
            )
        url = api.instance_path(name)
        what = f"instance {name!r}"
    found = get_or_none(api, url)
    if found is None:
        raise APINotFoundException(error=f"{what} does not exist on {api.display_endpoint}")
    return name, (found.metadata or {}).get("created_at") or ""


def _plan_image_publish(api, name, source, public, names):
    """Publish an instance or snapshot as the image ``name`` points at; present when it
    points at an image published from it (a snapshot: from that very snapshot, by its
    creation time, so a snapshot taken again under the same name is published again)."""
    what, created_at = check_publish_source(api, source)
    kind = "snapshot" if source["type"] == "snapshot" else "instance"
    properties = {PUBLISHED_FROM: what, PUBLISHED_CREATED_AT: created_at}
    body = {"source": {"type": kind, "name": what}, "public": public, "properties": properties}

    def matches(image):
        held = image.get("properties") or {}
        return held.get(PUBLISHED_FROM) == what and (
            kind == "instance" or held.get(PUBLISHED_CREATED_AT) == created_at
        )

    return _plan_image_from(
        api, name, names, public, False, body, f"published from {kind} {what}", matches
    )


def _plan_image_from(api, name, names, public, auto_update, body, label, matches):
    """The plan of an image that the server makes itself (a pull or a publish: one
    ``POST /1.0/images`` with ``body``): nothing to make when alias ``name`` points at an
    image that ``matches``; else the POST, then the aliases (moved ones after it, given
    the fingerprint the operation reports)."""
    plan = Plan(name)
    alias = image_alias_get(api, name)
    image = image_get(api, alias.metadata["target"]) if alias else False
    if image and matches(image.metadata):
        _plan_image_settings(api, plan, image, public, auto_update)
        have = {a.get("name") for a in image.metadata.get("aliases") or []}
        _plan_aliases(api, plan, [a for a in names if a not in have], image.metadata["fingerprint"])
        return plan
    table = image_alias_table(api)
    free = [a for a in names if a not in table]
    body = dict(body, aliases=[{"name": a} for a in free])
    plan.add("image", None, label)
    plan.writes.append(Write("POST", "images", body, keys=("image",)))
    if free:
        plan.changes["aliases"] = {"old": {a: None for a in free}, "new": {a: label for a in free}}
    made = {}

    def fingerprint_of(previous):
        # The first alias write follows the POST: its result names the fingerprint.
        if "fingerprint" not in made:
            made["fingerprint"] = ((previous.metadata or {}).get("metadata") or {}).get(
                "fingerprint"
            )
        return made["fingerprint"]

    moved = [a for a in names if a in table]
    if moved:
        created = plan.changes.pop("aliases", {"old": {}, "new": {}})
        _plan_aliases(api, plan, moved, fingerprint_of)  # writes right after the POST
        created["old"].update(plan.changes["aliases"]["old"])
        created["new"].update({a: label for a in moved})
        plan.changes["aliases"] = created
    return plan


def plan_image_pulled(api, source, public=False, auto_update=False, existing=None):
    """The :class:`Plan` that has the server hold the image ``source`` names, with no
    alias of its own: ``source`` is a pull source as ``POST /1.0/images`` takes it (an
    image server's, see :func:`check_image_source`, or ``{type: url, url}``: the server
    downloads it). ``existing``: the fingerprint of that image when the caller knows the
    server may have it (a URL's image hash). Nothing is pulled when the server has it
    (an image pulled from the same server and alias, or ``existing``); then only its
    ``public`` and ``auto_update`` are brought to these (one PATCH with If-Match).
    After :meth:`Plan.apply`, ``plan.fingerprint()`` names the image."""
    check_bool(public, "public")
    check_bool(auto_update, "auto_update")
    if not isinstance(source, dict):
        raise ValueError(f"source must be a mapping, not {source!r}")
    if source.get("type") == "url":
        if not str(source.get("url") or "").startswith(("https://", "http://")):
            raise ValueError(f"a url source needs an http(s) url, not {source!r}")
        source = {"type": "url", "mode": "pull", "url": source["url"]}
        matches = lambda image: image.get("fingerprint") == existing  # noqa: E731
        label = source["url"]
    else:
        source = check_image_source(source, api.server_kind)
        matches = lambda image: pulled_from(image, source)  # noqa: E731
        label = source_label(source)
    found = [image for image in image_list(api, recursion=1) if matches(image)]
    plan = Plan(label)
    made = {}
    if found:
        made["fingerprint"] = found[0]["fingerprint"]
        _plan_image_settings(
            api, plan, image_get(api, found[0]["fingerprint"]), public, auto_update
        )
    else:
        body = {"source": source, "public": public, "auto_update": auto_update}

        def pull():
            done = api.post("images", json=body).wait()
            made["fingerprint"] = ((done.metadata or {}).get("metadata") or {}).get("fingerprint")
            return done

        plan.add("image", None, label)
        plan.writes.append(Step(f"pull {label}", pull, ("image",)))
    plan.fingerprint = lambda: made.get("fingerprint")
    return plan


#: The architectures' numbers, as a URL image source is asked for them.
ARCHITECTURE_NUMBERS = {
    "i686": 1,
    "x86_64": 2,
    "armv7l": 3,
    "aarch64": 4,
    "ppc": 5,
    "ppc64": 6,
    "ppc64le": 7,
    "s390x": 8,
}


def url_image_fingerprint(api, url, timeout=30):
    """The fingerprint of the image a URL source names (its ``LXD-Image-Hash`` or
    ``Incus-Image-Hash`` header, asked for with a HEAD as the server asks: with its
    architectures), or None when the URL does not answer this client (the server is then
    left to try)."""
    arches = ", ".join(
        str(ARCHITECTURE_NUMBERS[a])
        for a in (api.server.get("environment") or {}).get("architectures") or []
        if a in ARCHITECTURE_NUMBERS
    )
    headers = {"LXD-Server-Architectures": arches, "Incus-Server-Architectures": arches}
    try:
        answer = requests.head(url, headers=headers, timeout=timeout, allow_redirects=True)
    except requests.RequestException:
        return None
    return answer.headers.get("LXD-Image-Hash") or answer.headers.get("Incus-Image-Hash")


def image_pull(api, source, public=False, auto_update=False):
    """Have the server hold the image ``source`` names (see :func:`plan_image_pulled`;
    for a URL, its image hash is asked first, so nothing is pulled when the server has
    it); return the image's fingerprint."""
    existing = None
    if isinstance(source, dict) and source.get("type") == "url":
        existing = url_image_fingerprint(api, source.get("url"))
    plan = plan_image_pulled(api, source, public, auto_update, existing=existing)
    plan.apply(api)
    return plan.fingerprint()


def plan_image_absent(api, name):
    """The :class:`Plan` that deletes the image named by alias or fingerprint (prefix)."""
    name = check_name(name, "name")
    alias = image_alias_get(api, name)
    image = image_get(api, alias.metadata["target"] if alias else name)
    plan = Plan(name)
    if not image:
        return plan
    meta = image.metadata
    plan.add(
        "image",
        {
            "fingerprint": meta["fingerprint"],
            "aliases": sorted(a.get("name") for a in meta.get("aliases") or []),
        },
        None,
    )
    plan.writes.append(Write("DELETE", api.path("images", meta["fingerprint"]), keys=("image",)))
    return plan


def plan_image_alias_present(api, name, target, description=None):
    """The :class:`Plan` that points alias ``name`` at ``target`` (a fingerprint, a unique
    prefix of one, or another alias); ValueError when no such image exists.

    An absent alias is created; one pointing elsewhere, or with another ``description``
    (None: not managed), is changed: one :func:`alias_write` either way.
    """
    name = check_name(name, "name")
    target = check_name(target, "target")
    check_optional_str(description, "description")
    image = image_get(api, target) if FINGERPRINT_RE.match(target) else image_resolve(api, target)
    if not image:
        raise ValueError(f"image {target!r} does not exist on {api.display_endpoint}")
    target = image.metadata["fingerprint"]
    plan = Plan(name)
    alias = image_alias_get(api, name)
    if not alias:
        plan.add("alias", None, {"target": target, "description": description or ""})
    else:
        current = alias.metadata
        if current.get("target") != target:
            plan.add("target", current.get("target"), target)
        if description is not None and (current.get("description") or "") != description:
            plan.add("description", current.get("description"), description)
    if plan.changes:
        plan.writes.append(alias_write(api, name, alias, target, description))
    return plan


def plan_image_alias_absent(api, name):
    """The :class:`Plan` that deletes image alias ``name`` (never the image)."""
    name = check_name(name, "name")
    alias = image_alias_get(api, name)
    plan = Plan(name)
    if alias:
        plan.add(
            "alias",
            {
                "target": alias.metadata.get("target"),
                "description": alias.metadata.get("description") or "",
            },
            None,
        )
        plan.writes.append(Write("DELETE", api.path("images", "aliases", name), keys=("alias",)))
    return plan


# -- images and aliases


def image_list(api, recursion=0):
    """Image fingerprints, or (``recursion``) LXD's image objects."""
    return list_collection(api, "images", recursion)


def image_alias_list(api, recursion=0):
    """Image alias names, or (``recursion``) the aliases (name, target, description)."""
    return list_collection(api, "images/aliases", recursion)


def image_import(api, path, alias=None, public=False):
    """Upload the unified image tarball at ``path`` unless the server has it, and point
    ``alias`` at it (moving the alias if it points elsewhere); return the fingerprint."""
    if not isinstance(path, str) or not os.path.isfile(path):
        raise ValueError(f"image file {path!r} does not exist")
    fingerprint = image_get_fingerprint(path)
    name = None if alias is None else check_name(alias, "alias")
    plan_image_present(
        api, name, path, public=bool(public) or None, auto_update=None, fingerprint=fingerprint
    ).apply(api)
    return fingerprint


def image_publish(api, instance, snapshot=None, alias=None, public=False, properties=None):
    """Publish an instance (stopped) or one of its snapshots as a new image; return its
    fingerprint. ``alias`` is pointed at it (moved if it points elsewhere); the image's
    properties record where it came from (:data:`PUBLISHED_FROM`), with ``properties``
    added."""
    check_bool(public, "public")
    name = check_name(instance, "instance")
    source = {"type": "instance", "name": name}
    if snapshot is not None:
        source = {
            "type": "snapshot",
            "name": "{}/{}".format(name, check_name(snapshot, "snapshot")),
        }
    what, created_at = check_publish_source(api, source)
    extra = lxd_config(properties, "properties")
    body = {
        "source": {"type": source["type"], "name": what},
        "public": public,
        "properties": dict(extra, **{PUBLISHED_FROM: what, PUBLISHED_CREATED_AT: created_at}),
    }
    done = api.post("images", json=body).wait()
    fingerprint = ((done.metadata or {}).get("metadata") or {}).get("fingerprint")
    if alias:
        plan_image_alias_present(api, check_name(alias, "alias"), fingerprint).apply(api)
    return fingerprint


def image_delete(api, image):
    """Delete an image named by alias or fingerprint; True, or False when absent."""
    found = image_resolve(api, image)
    if not found:
        return False
    Write("DELETE", api.path("images", found.metadata["fingerprint"])).send(api)
    return True


def image_alias_add(api, alias, image, description=None, move=False):
    """Point ``alias`` at ``image`` (alias or fingerprint); True if it wrote.

    An alias already pointing at another image raises :class:`APIConflictException`
    unless ``move``; a missing image raises :class:`APINotFoundException`.
    """
    alias = check_name(alias, "alias")
    found = image_resolve(api, image)
    if not found:
        raise APINotFoundException(
            error=f"no image alias or fingerprint {image!r} on {api.display_endpoint}"
        )
    fingerprint = found.metadata["fingerprint"]
    current = image_alias_get(api, alias)
    if current and current.metadata.get("target") != fingerprint and not move:
        raise APIConflictException(
            method="POST",
            url=api.absolute_url("images/aliases"),
            error="alias {!r} already points at {}; pass move=True to move it".format(
                alias, current.metadata.get("target")
            ),
        )
    return plan_image_alias_present(api, alias, fingerprint, description).apply(api)


def image_alias_delete(api, alias):
    """Delete an image alias (not the image); True, or False when absent."""
    try:
        api.delete(api.path("images", "aliases", check_name(alias, "alias")))
    except APINotFoundException:
        return False
    return True


def image_get(api, fingerprint):
    """Return the :class:`APIResult` for an image fingerprint (or a unique prefix), or False."""
    return get_or_none(api, api.path("images", fingerprint)) or False


def image_alias_get(api, name):
    """Return the :class:`APIResult` for an image alias, or False."""
    return get_or_none(api, api.path("images", "aliases", name)) or False


def image_get_fingerprint(path):
    """Return the sha256 fingerprint of an image tarball (what LXD names it by)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def image_upload_write(api, path, public=False):
    """The :class:`Write` that uploads the unified image tarball at ``path`` (public:
    the server's ``X-LXD-public``, or ``X-Incus-public``, header)."""
    with open(path, "rb") as fh:
        data = fh.read()
    headers = {"Content-Type": "application/octet-stream"}
    if public:
        headers[api.header("public")] = "1"
    return Write("POST", "images", data=data, headers=headers, keys=("image",))


def image_alias_table(api):
    """``{alias: fingerprint}`` of the server's image aliases.

    Read with one ``GET images/aliases?recursion=1`` and kept in ``api.read_cache`` for
    the rest of the run (a write to ``images`` through the API forgets it), so many
    states naming images by alias cost one request, not one each.
    """
    table = api.read_cache.get(("images", "aliases"))
    if table is None:
        result = api.get("images/aliases", params={"recursion": 1})
        table = {a["name"]: a["target"] for a in result.metadata or []}
        api.read_cache[("images", "aliases")] = table
    return table


def source_label(source):
    """A short text naming a declared source (for comments and changes)."""
    if isinstance(source, dict):
        what = source.get("alias") or source.get("fingerprint") or source.get("type")
        if source.get("server"):
            return "{} from {}".format(what, source["server"])
        return str(what)
    return str(source)


def image_resolve(api, image):
    """The :class:`APIResult` of an image named by alias (tried first) or fingerprint
    (or a unique prefix of one), or False."""
    image = check_name(image, "image")
    alias = image_alias_get(api, image)
    if alias:
        return image_get(api, alias.metadata["target"])
    return image_get(api, image)


# -- refresh and export

#: Bytes read at a time from an image export.
_EXPORT_CHUNK = 1024 * 1024

#: The parts of a split image's export (``multipart/form-data``), by form field name:
#: the metadata tarball, then the root file system (``rootfs.img`` for a VM's).
SPLIT_PARTS = {"metadata": "metadata", "rootfs": "rootfs", "rootfs.img": "rootfs"}


def _image_or_raise(api, image):
    found = image_resolve(api, image)
    if not found:
        raise APINotFoundException(
            error=f"no image alias or fingerprint {image!r} on {api.display_endpoint}"
        )
    return found.metadata


def image_refresh(api, image):
    """Ask the server to look for a newer version of ``image`` (an alias or a
    fingerprint) at the image server it was pulled from, and to replace it with that
    one (its aliases move to the new image; the old one is deleted); return
    ``{"refreshed", "old", "new"}``: whether it was replaced, and the fingerprints
    before and after (the same when it was not).

    An image with no update source (imported from a file, or published from an
    instance) has nothing to be refreshed from: ValueError says so, before anything is
    sent. A missing image raises :class:`APINotFoundException`.
    """
    meta = _image_or_raise(api, image)
    fingerprint = meta["fingerprint"]
    source = meta.get("update_source") or {}
    if not source.get("server"):
        raise ValueError(
            f"image {image} ({fingerprint[:12]}) has no update source: it was not pulled from an "
            "image server "
            "(it was imported from a file or published from an instance), so there is "
            "nothing to refresh it from"
        )
    done = api.post(api.path("images", fingerprint, "refresh")).wait()
    refreshed = bool(((done.metadata or {}).get("metadata") or {}).get("refreshed"))
    new = _refreshed_fingerprint(api, image, fingerprint, source) if refreshed else fingerprint
    return {"refreshed": refreshed, "old": fingerprint, "new": new}


def _refreshed_fingerprint(api, image, old, source):
    """The fingerprint of the image a refresh put in the place of ``old``: the one
    alias ``image`` points at now, else the newest image pulled from the same source."""
    alias = image_alias_get(api, image)
    if alias and alias.metadata.get("target") != old:
        return alias.metadata["target"]
    same = [
        i
        for i in image_list(api, recursion=1)
        if i.get("fingerprint") != old
        and (i.get("update_source") or {}).get("server") == source.get("server")
        and (i.get("update_source") or {}).get("alias") == source.get("alias")
    ]
    same.sort(key=lambda i: i.get("uploaded_at") or "")
    return same[-1]["fingerprint"] if same else None


def _check_export_dest(path, what):
    path = check_absolute_path(path, what)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"{what} {path} is a folder; give the file to write")
    return path


class _Partial:
    """A file being written beside ``dest`` (0600, a hidden temporary name), renamed to
    ``dest`` by :meth:`commit`, removed by :meth:`discard`."""

    def __init__(self, dest):
        self.dest = dest
        handle, self.path = tempfile.mkstemp(prefix=".lxdapi-image-", dir=os.path.dirname(dest))
        os.fchmod(handle, 0o600)
        self.file = os.fdopen(handle, "wb")
        self.size = 0

    def write(self, data):
        self.file.write(data)
        self.size += len(data)

    def commit(self):
        self.file.close()
        os.replace(self.path, self.dest)

    def discard(self):
        self.file.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def image_export(api, image, dest, rootfs_dest=None):
    """Download ``image`` (an alias or a fingerprint) to the local file ``dest``;
    return ``{"fingerprint", "split", "dest", "size", "sha256"}`` (and ``rootfs_dest``,
    ``rootfs_size`` for a split image).

    Streamed (never whole in memory) to a temporary file beside ``dest`` (0600), whose
    sha256 must be the image's fingerprint before it is renamed to ``dest``: ``dest``
    never holds half an image or another one. A split image (a metadata tarball and a
    root file system, which the server sends as two parts of one multipart answer)
    needs ``rootfs_dest``, the file for its root file system (``dest`` gets the
    metadata); the fingerprint is then the sha256 of the two, one after the other.
    ValueError for a bad ``dest`` (an absolute path in an existing folder) and for a
    split image with no ``rootfs_dest`` (nothing written); a missing image raises
    :class:`APINotFoundException`; an answer that does not match the fingerprint,
    :class:`APIException` (nothing written).
    """
    dest = _check_export_dest(dest, "dest")
    if rootfs_dest is not None:
        rootfs_dest = _check_export_dest(rootfs_dest, "rootfs_dest")
        if rootfs_dest == dest:
            raise ValueError(f"rootfs_dest must be another file than dest ({dest})")
    fingerprint = _image_or_raise(api, image)["fingerprint"]
    response = api.get(api.path("images", fingerprint, "export"), stream=True).response
    try:
        content_type = response.headers.get("Content-Type", "")
        split = content_type.startswith("multipart/")
        if split and rootfs_dest is None:
            raise ValueError(
                f"image {image} ({fingerprint[:12]}) is a split image (a metadata tarball and a "
                "root file "
                "system): give rootfs_dest, the file for its root file system (dest gets "
                "the metadata); nothing was written"
            )
        targets = {"metadata": dest, "rootfs": rootfs_dest}
        if split:
            pieces = _multipart_pieces(
                response.iter_content(_EXPORT_CHUNK), _boundary(content_type), api, fingerprint
            )
        else:
            pieces = (("metadata", chunk) for chunk in response.iter_content(_EXPORT_CHUNK))
        files = _write_pieces(pieces, targets, api, fingerprint, split)
    finally:
        response.close()
    out = {
        "fingerprint": fingerprint,
        "split": split,
        "dest": dest,
        "size": files["metadata"].size,
        "sha256": fingerprint,
    }
    if split:
        out.update(rootfs_dest=rootfs_dest, rootfs_size=files["rootfs"].size)
    return out


def _write_pieces(pieces, targets, api, fingerprint, split):
    """Write ``(part, data)`` pieces to temporary files beside their targets; check the
    sha256 of them all, in order, against ``fingerprint``; rename them then (else
    remove them). Return ``{part: _Partial}``."""
    digest, files = hashlib.sha256(), {}
    try:
        for part, data in pieces:
            if part not in files:
                files[part] = _Partial(targets[part])
            files[part].write(data)
            digest.update(data)
        wanted = ("metadata", "rootfs") if split else ("metadata",)
        missing = [p for p in wanted if p not in files]
        if missing:
            raise APIException(
                error="the export of image {} from {} has no {} part; nothing was written".format(
                    fingerprint[:12], api.display_endpoint, " or ".join(missing)
                )
            )
        if digest.hexdigest() != fingerprint:
            raise APIException(
                error=(
                    f"the export of image {fingerprint} from {api.display_endpoint} has sha256 "
                    f"{digest.hexdigest()}, not the image's "
                    "fingerprint; nothing was written"
                )
            )
        for partial in files.values():
            partial.commit()
    except BaseException:
        for partial in files.values():
            partial.discard()
        raise
    return files


def _boundary(content_type):
    message = email.message.Message()
    message["Content-Type"] = content_type
    boundary = message.get_param("boundary")
    if not boundary:
        raise APIException(error="a multipart image export with no boundary: " + content_type)
    return boundary.encode("latin-1")


_PART_NAME = re.compile(rb'(?im)^content-disposition:.*?;\s*name="([^"]*)"')


def _multipart_pieces(chunks, boundary, api, fingerprint):
    """``(part, data)`` pieces of a ``multipart/form-data`` body read from ``chunks``
    (never whole in memory): ``part`` is ``metadata`` or ``rootfs`` (see
    :data:`SPLIT_PARTS`); a part comes in as many pieces as it takes."""
    delimiter = b"\r\n--" + boundary
    keep = len(delimiter) + 1  # a delimiter may straddle two chunks
    buffer, state, part = b"\r\n", "preamble", None  # the first delimiter has no CRLF
    for chunk in chunks:
        buffer += chunk
        while True:
            if state in ("preamble", "body"):
                at = buffer.find(delimiter)
                if at < 0:
                    if len(buffer) > keep:
                        if state == "body":
                            yield part, buffer[:-keep]
                        buffer = buffer[-keep:]
                    break
                if state == "body" and at:
                    yield part, buffer[:at]
                buffer, state = buffer[at + len(delimiter) :], "after"
            if state == "after":
                if len(buffer) < 2:
                    break
                if buffer.startswith(b"--"):
                    return
                state = "headers"
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > 65536:
                    raise APIException(
                        error=(
                            f"the export of image {fingerprint[:12]} from {api.display_endpoint} "
                            "is not a readable multipart "
                            "answer; nothing was written"
                        )
                    )
                break
            found = _PART_NAME.search(buffer[:end])
            name = found.group(1).decode("latin-1") if found else ""
            if name not in SPLIT_PARTS:
                raise APIException(
                    error=(
                        f"the export of image {fingerprint[:12]} from {api.display_endpoint} has "
                        f"an unknown part {name!r}; nothing "
                        "was written"
                    )
                )
            part, buffer, state = SPLIT_PARTS[name], buffer[end + 4 :], "body"
    raise APIException(
        error=(
            f"the export of image {fingerprint[:12]} from {api.display_endpoint} ended before "
            "its last part; nothing was "
            "written"
        )
    )
