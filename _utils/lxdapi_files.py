"""Files and folders inside instances: read, write only what differs, create folders,
delete. The execution module's ``container_file_*`` and the ``file_managed``,
``directory_present`` and ``file_absent`` states all stand on these plans.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

What LXD 5.0's file API (``/1.0/instances/NAME/files?path=``) does, and what follows:

- a GET answers the content (or a folder's entries) with ``X-LXD-type``, ``-mode``,
  ``-uid`` and ``-gid`` headers; so a plan reads first and writes only what differs;
- a POST sets mode and owner only when it creates the file or folder: a file whose mode
  or owner must change is deleted and written again, an empty folder too; a folder with
  entries cannot change them through this API (the plan says so and writes nothing);
- a POST does not create missing parent folders: ``makedirs`` adds one POST per folder;
- a DELETE removes a file, a symlink or an empty folder.

Reads are streamed (``stream=True``, :data:`CHUNK_BYTES` at a time): a pull to a local
file (:func:`instance_file_download`) never holds the file in memory, a plan keeps only
what it compares, and content returned in memory is refused past
:data:`CONTENT_MAX_BYTES` with an error naming the size.
"""

import contextlib
import difflib
import hashlib
import os
import posixpath
import tempfile
import urllib.parse

from lxdapi import APIException, APINotFoundException, get_or_none, response_header
from lxdapi_plans import Plan, Write
from lxdapi_values import check_absolute_path, check_bool, check_id, check_name

#: Content diffs are shown for text files up to this size (bytes); larger or binary
#: content is reported by its sha256 digest only.
DIFF_MAX_BYTES = 64 * 1024

#: Bytes read from the server at a time when a body is streamed (files, exec output).
CHUNK_BYTES = 1024 * 1024

#: The most content of one file read into memory (``container_file_get`` without
#: ``dest``; the content a ``file_managed`` writes back when only the mode or owner
#: change): a larger file is refused with :class:`FileTooLarge`, naming its size.
CONTENT_MAX_BYTES = 16 * 1024 * 1024


class FileTooLarge(APIException):
    """A file in an instance is larger than what is read into memory."""


def size_words(size):
    """A byte count as a person reads it: ``209715200 bytes (200.0 MiB)``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size} bytes ({size / scale:.1f} {unit})"
    return f"{size} bytes"


def check_local_dest(dest, what="dest"):
    """``dest`` as a local file to write: an absolute path in an existing folder, not a
    folder itself; ValueError otherwise."""
    dest = check_absolute_path(dest, what)
    folder = os.path.dirname(dest)
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {dest}: the folder {folder} does not exist")
    if os.path.isdir(dest):
        raise ValueError(f"{what} {dest} is a folder; give the file to write")
    return dest


def umask():
    """This process's umask (read from ``/proc/self/status``; 0o022 where it cannot be)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


class PartialFile:
    """A local file written beside ``dest`` under a hidden temporary name (0600), renamed
    to ``dest`` by :meth:`commit` (``mode`` set first, when given) and removed by
    :meth:`discard`: ``dest`` never holds half of it. ``size`` and ``digest`` (sha256)
    grow with each :meth:`write`."""

    def __init__(self, dest, prefix=".lxdapi-", mode=None):
        self.dest, self.mode = dest, mode
        handle, self.path = tempfile.mkstemp(prefix=prefix, dir=os.path.dirname(dest))
        os.fchmod(handle, 0o600)
        self.file = os.fdopen(handle, "wb")
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data):
        self.file.write(data)
        self.size += len(data)
        self.digest.update(data)

    def commit(self):
        self.file.close()
        if self.mode is not None:
            os.chmod(self.path, self.mode)
        os.replace(self.path, self.dest)

    def discard(self):
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class FileBody:
    """What a streamed read of a file found: its ``size``, its ``sha256``
    (``"sha256:<hex>"``) and ``data``, its bytes, or None when it had more than the
    bytes the reader kept."""

    def __init__(self, size, sha256, data):
        self.size, self.sha256, self.data = size, sha256, data


def read_body(response, keep):
    """Read a streamed ``response`` to its end, in chunks, and close it: a
    :class:`FileBody` whose ``data`` is the content when it is at most ``keep`` bytes."""
    digest, size, kept = hashlib.sha256(), 0, bytearray()
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            if kept is not None:
                if size <= keep:
                    kept += chunk
                else:
                    kept = None
    finally:
        response.close()
    return FileBody(size, "sha256:" + digest.hexdigest(), None if kept is None else bytes(kept))


def file_mode(mode):
    """A file mode as LXD reports it: four octal digits (``"0644"``).

    ``mode`` is a string of octal digits (``"644"``, ``"0644"``, ``"0o644"``) or an int
    written with them (``644``: what Salt's YAML makes of an unquoted ``0644``). None
    stays None; anything else is a ValueError, and so is a mode with the setuid, setgid
    or sticky bit (``"1777"``): LXD's file API keeps only the permission bits (``& 0777``,
    and reads ``1777`` as a decimal number), so such a mode could never be set.
    """
    if mode is None:
        return None
    text = str(mode).strip().lower()
    if text.startswith("0o"):
        text = text[2:]
    text = text.lstrip("0") or "0"
    if (
        isinstance(mode, bool)
        or not isinstance(mode, (int, str))
        or len(text) > 4
        or set(text) - set("01234567")
    ):
        raise ValueError(f"mode must be octal digits such as '0644', not {mode!r}")
    if len(text) == 4:
        raise ValueError(
            f"mode {mode!r} has a setuid, setgid or sticky bit, which LXD's file API cannot "
            "set; give the permission bits only (such as '0755')"
        )
    return text.zfill(4)


def _owner_id(value, what):
    return None if value is None else check_id(value, what)


def instance_file_url(api, instance, path):
    """Relative URL of a file inside an instance (``instances/NAME/files?path=...``)."""
    return (
        api.instance_path(instance, "files")
        + "?"
        + urllib.parse.urlencode({"path": check_absolute_path(path)})
    )


def instance_file_open(api, instance, path):
    """Start reading a file or folder inside an instance: ``(result, info)``, or None
    when absent.

    ``result`` is the :class:`APIResult` of a streamed GET (``stream=True``): for a file,
    the caller reads ``result.response`` (``iter_content``) and closes it; for a folder,
    ``result.metadata`` lists its entries. ``info`` holds ``path``, ``type`` (file,
    directory, symlink), ``mode`` (``"0644"``), ``uid`` and ``gid`` (ints), from the
    server's ``X-LXD-*`` (Incus: ``X-Incus-*``) headers. Raises
    :class:`APINotFoundException` when the instance does not exist.
    """
    check_name(instance, "instance")
    url = instance_file_url(api, instance, path)
    try:
        result = api.get(url, stream=True)
    except APINotFoundException:
        require_instance(api, instance)
        return None
    except APIException as exc:
        # A file whose content looks like an LXD error document (JSON with an error
        # code) trips APIResult.validate(); the transfer itself succeeded.
        response = getattr(exc.result, "response", None)
        if response is None or response.status_code >= 400:
            raise
        result = exc.result
    response = result.response
    info = {
        "path": path,
        "type": response_header(response, "Type") or "file",
        "mode": file_mode(response_header(response, "Mode") or "0"),
        "uid": int(response_header(response, "Uid") or 0),
        "gid": int(response_header(response, "Gid") or 0),
    }
    return result, info


def instance_file_body(api, instance, path, keep=0):
    """A file or folder inside an instance, read streamed: ``(body, info)``, or None when
    absent. ``body`` is a :class:`FileBody` (its ``data`` kept when at most ``keep``
    bytes) or, for a folder, the list of its entries; ``info`` as
    :func:`instance_file_open` gives it."""
    found = instance_file_open(api, instance, path)
    if found is None:
        return None
    result, info = found
    if info["type"] == "directory":
        result.response.close()
        return list(result.metadata or []), info
    return read_body(result.response, keep), info


def too_large(path, instance, size, limit, what=None):
    """The :class:`FileTooLarge` of a file of ``size`` bytes, over ``limit`` bytes:
    ``what`` says what the limit is for (default: reading it into memory, and the
    advice to give ``dest``)."""
    what = what or "read into memory; give dest (a local file) to stream it to disk instead"
    size, limit = size_words(size), size_words(limit)
    return FileTooLarge(error=f"{path} in {instance!r} is {size}, more than the {limit} {what}")


def instance_file_read(api, instance, path, max_bytes=CONTENT_MAX_BYTES):
    """A file or folder inside an instance: ``(content, info)``, or None when absent.

    ``content`` is bytes (a folder: the list of its entries); ``info`` as
    :func:`instance_file_open` gives it. A file of more than ``max_bytes`` raises
    :class:`FileTooLarge` naming its size (:func:`instance_file_download` streams it to
    a local file); :class:`APINotFoundException` when the instance does not exist.
    """
    found = instance_file_body(api, instance, path, keep=max_bytes)
    if found is None:
        return None
    body, info = found
    if info["type"] == "directory":
        return body, info
    if body.data is None:
        raise too_large(path, instance, body.size, max_bytes)
    return body.data, info


def instance_file_download(api, name, path, dest):
    """Pull a file from an instance to the local file ``dest``, streamed in chunks
    (never whole in memory) to a temporary file beside ``dest`` (0600 while written),
    renamed when complete with the mode a new file gets here (0666 less the umask, as
    ``open()`` makes it); return ``info`` (see :func:`instance_file_open`) with ``dest``, ``size``
    and ``sha256``. A folder writes nothing: its ``info`` with ``entries``. False when
    the file or the instance does not exist. ValueError for a bad ``dest`` (an absolute
    path in an existing folder).
    """
    name = check_name(name, "name")
    dest = check_local_dest(dest)
    try:
        found = instance_file_open(api, name, path)
    except APINotFoundException:
        return False
    if found is None:
        return False
    result, info = found
    response = result.response
    if info["type"] == "directory":
        response.close()
        info["entries"] = list(result.metadata or [])
        return info
    partial = PartialFile(dest, ".lxdapi-pull-", mode=0o666 & ~umask())
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            partial.write(chunk)
        partial.commit()
    except BaseException:
        partial.discard()
        raise
    finally:
        response.close()
    info.update(dest=dest, size=partial.size, sha256=partial.digest.hexdigest())
    return info


def require_instance(api, instance):
    """APINotFoundException naming ``instance`` unless it exists."""
    check_name(instance, "instance")
    if get_or_none(api, api.instance_path(instance)) is None:
        raise APINotFoundException(error=f"instance {instance!r} does not exist")


def instance_file_get(api, name, path, max_bytes=CONTENT_MAX_BYTES):
    """``(info, content)`` of a file or folder in an instance, or False when it (or the
    instance) does not exist. ``content`` is bytes; for a folder, the list of entries. A
    file of more than ``max_bytes`` raises :class:`FileTooLarge` naming its size
    (:func:`instance_file_download` streams it to a local file)."""
    try:
        found = instance_file_read(api, check_name(name, "name"), path, max_bytes)
    except APINotFoundException:
        return False
    if found is None:
        return False
    content, info = found
    return info, content


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def text_diff(old, new, path):
    """A unified diff of two contents (bytes), or None when either is binary, large, or
    holds a private key (a diff's context lines need not include the PEM markers that
    :func:`redact` looks for)."""
    if max(len(old), len(new)) > DIFF_MAX_BYTES or b"\0" in old or b"\0" in new:
        return None
    if b"PRIVATE KEY-----" in old or b"PRIVATE KEY-----" in new:
        return None
    try:
        old_text, new_text = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = []
    for line in difflib.unified_diff(
        old_text.splitlines(True), new_text.splitlines(True), fromfile=path + " (was)", tofile=path
    ):
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def _write(api, url, data, file_type, attributes):
    headers = {api.header("type"): file_type, api.header("write"): "overwrite"}
    if file_type == "file":
        headers["Content-Type"] = "application/octet-stream"
    for key, value in attributes:
        if value is not None:
            headers[api.header(key)] = str(value)
    return Write("POST", url, data=data, headers=headers)


def _plan_parents(api, instance, path, makedirs, plan):
    """Add the folder writes a new ``path`` needs (its missing parents, with
    ``makedirs``); ValueError when a parent is missing without it, or is not a folder."""
    missing = []
    folder = posixpath.dirname(path.rstrip("/")) or "/"
    while True:
        found = instance_file_body(api, instance, folder)
        if found is not None:
            if found[1]["type"] not in ("directory", "symlink"):  # LXD follows a link
                raise ValueError(
                    "{} in {!r} cannot be written: {} is a {}, not a folder".format(
                        path, instance, folder, found[1]["type"]
                    )
                )
            break
        if not makedirs:
            raise APINotFoundException(
                error=(
                    f"cannot write {path} in {instance!r}: its parent folder {folder} does not "
                    "exist (makedirs: "
                    "True creates it)"
                )
            )
        missing.insert(0, folder)
        folder = posixpath.dirname(folder) or "/"
    if missing:
        plan.add("folders", None, missing)
        for folder in missing:
            plan.writes.append(
                _write(api, instance_file_url(api, instance, folder), b"", "directory", ())
            )
    return plan


def _check_content(content):
    if isinstance(content, str):
        content = content.encode("utf-8")
    if content is not None and not isinstance(content, bytes):
        raise ValueError(f"contents must be text or bytes, not {type(content).__name__}")
    return content


def plan_file_managed(
    api,
    instance,
    path,
    content=None,
    mode=None,
    uid=None,
    gid=None,
    makedirs=False,
    show_diff=False,
):
    """The :class:`Plan` that makes a file in ``instance`` hold ``content`` with this owner.

    ``content``: bytes or text (UTF-8); None manages only mode and owner (an absent file
    is created empty). ``mode`` (see :func:`file_mode`), ``uid`` and ``gid``: None leaves
    them as they are (a new file gets LXD's 0644, root). ``makedirs``: create missing
    parent folders. Reads the file and its headers first and writes only when something
    differs: one POST of the whole file when only the content differs (LXD keeps mode and
    owner); a DELETE then a POST when the mode or owner differ (LXD 5.0 sets them only on
    a file it creates). Content changes are reported as sha256 digests, and with
    ``show_diff`` the ``content`` change carries a unified ``diff`` too (text files up to
    :data:`DIFF_MAX_BYTES`).
    """
    check_name(instance, "instance")
    url = instance_file_url(api, instance, path)
    wanted = (
        ("mode", file_mode(mode)),
        ("uid", _owner_id(uid, "uid")),
        ("gid", _owner_id(gid, "gid")),
    )
    content = _check_content(content)
    makedirs = check_bool(makedirs, "makedirs")
    plan = Plan(path)
    # Keep only what is compared: as many bytes as the new content (a longer file
    # differs anyway), or, with no content given, what a rewrite would send back.
    keep = CONTENT_MAX_BYTES if content is None else len(content)
    current = instance_file_body(api, instance, path, keep=keep)
    if current is None:
        _plan_parents(api, instance, path, makedirs, plan)
        data = content if content is not None else b""
        plan.add("file", None, path)
        plan.add("content", None, _digest(data))
        for key, value in wanted:
            if value is not None:
                plan.add(key, None, value)
        plan.writes.append(_write(api, url, data, "file", wanted))
        return plan
    body, info = current
    if info["type"] != "file":
        raise ValueError(
            "{} in {!r} is a {}, not a file; it was left as it is".format(
                path, instance, info["type"]
            )
        )
    data = body.data
    if content is not None and content != data:
        plan.add("content", body.sha256, _digest(content))
        diff = text_diff(data, content, path) if show_diff and data is not None else None
        if diff:
            plan.changes["content"]["diff"] = diff
        data = content
    for key, value in wanted:
        if value is not None and value != info[key]:
            plan.add(key, info[key], value)
    if not plan.changes:
        return plan
    if set(plan.changes) - {"content"}:
        if data is None:
            raise too_large(
                path,
                instance,
                body.size,
                CONTENT_MAX_BYTES,
                "that a change of mode or owner may rewrite (LXD sets them only on a file "
                "it creates); it was left as it is (change them inside the instance: "
                "lxdapi.container_exec with chmod/chown)",
            )
        # LXD 5.0 applies X-LXD-mode/uid/gid only when it creates the file (and has no
        # X-LXD-modify-perm): recreate it, with every attribute given.
        plan.writes.append(Write("DELETE", url))
        wanted = tuple((key, info[key] if value is None else value) for key, value in wanted)
    plan.writes.append(_write(api, url, data, "file", wanted))
    return plan


def plan_directory_present(api, instance, path, mode=None, uid=None, gid=None, makedirs=False):
    """The :class:`Plan` that makes ``path`` in ``instance`` a folder with this mode and
    owner (None: as it is; a new folder gets LXD's 0750, root).

    A missing folder: one POST (and one per missing parent with ``makedirs``). An empty
    folder whose mode or owner differ is deleted and created again (LXD sets them only
    on creation); a folder with entries cannot be changed that way: ValueError.
    """
    check_name(instance, "instance")
    url = instance_file_url(api, instance, path)
    wanted = (
        ("mode", file_mode(mode)),
        ("uid", _owner_id(uid, "uid")),
        ("gid", _owner_id(gid, "gid")),
    )
    makedirs = check_bool(makedirs, "makedirs")
    plan = Plan(path)
    current = instance_file_body(api, instance, path)
    if current is None:
        _plan_parents(api, instance, path, makedirs, plan)
        plan.add("folder", None, path)
        for key, value in wanted:
            if value is not None:
                plan.add(key, None, value)
        plan.writes.append(_write(api, url, b"", "directory", wanted))
        return plan
    entries, info = current
    if info["type"] != "directory":
        raise ValueError(
            "{} in {!r} is a {}, not a folder; it was left as it is".format(
                path, instance, info["type"]
            )
        )
    for key, value in wanted:
        if value is not None and value != info[key]:
            plan.add(key, info[key], value)
    if not plan.changes:
        return plan
    if entries:
        raise ValueError(
            "the folder {} in {!r} has {} {}, not the declared {}: LXD's file API sets "
            "them only when it creates a folder, and this one is not empty; change them "
            "inside the instance (lxdapi.container_exec with chmod/chown)".format(
                path,
                instance,
                " and ".join(sorted(plan.changes)),
                ", ".join(str(plan.changes[k]["old"]) for k in sorted(plan.changes)),
                ", ".join(str(plan.changes[k]["new"]) for k in sorted(plan.changes)),
            )
        )
    wanted = tuple((key, info[key] if value is None else value) for key, value in wanted)
    plan.writes.append(Write("DELETE", url))
    plan.writes.append(_write(api, url, b"", "directory", wanted))
    return plan


def plan_file_absent(api, instance, path):
    """The :class:`Plan` that removes a file, symlink or empty folder from ``instance``.

    Nothing to do when it is absent; ValueError for a folder that has entries (nothing
    inside it is deleted).
    """
    check_name(instance, "instance")
    url = instance_file_url(api, instance, path)
    plan = Plan(path)
    current = instance_file_body(api, instance, path)
    if current is None:
        return plan
    content, info = current
    if info["type"] == "directory" and content:
        raise ValueError(
            f"{path} in {instance!r} is a folder with {len(content)} entries; only an empty folder "
            "is "
            "removed, so it was left as it is"
        )
    plan.add(info["type"] if info["type"] in ("file", "symlink") else "folder", path, None)
    if info["type"] == "file":
        plan.add("content", content.sha256, None)
    plan.writes.append(Write("DELETE", url))
    return plan


def instance_file_put(api, name, path, data, mode=None, uid=None, gid=None, makedirs=False):
    """Write ``data`` (bytes or text) to ``path`` in an instance, with ``mode``/``uid``/
    ``gid``; True if written, False when it already had this content and attributes.

    See :func:`plan_file_managed`. Raises :class:`APINotFoundException` naming a missing
    instance, ValueError for a missing parent folder (without ``makedirs``) or a path that
    is a folder.
    """
    return plan_file_managed(
        api, check_name(name, "name"), path, data, mode, uid, gid, makedirs
    ).apply(api)


def instance_file_write(api, name, path, data, mode=None, uid=None, gid=None):
    """Write ``data`` (bytes, or a file open for reading, sent as it is read) to ``path``
    in an instance, with ``mode``/``uid``/``gid``, without reading it first: one POST
    (for an upload whose content is new anyway). The parent folder must exist."""
    url = instance_file_url(api, check_name(name, "name"), path)
    attributes = (
        ("mode", file_mode(mode)),
        ("uid", _owner_id(uid, "uid")),
        ("gid", _owner_id(gid, "gid")),
    )
    _write(api, url, data, "file", attributes).send(api)


def instance_mkdir(api, name, path, mode=None, uid=None, gid=None, makedirs=False):
    """Make ``path`` in an instance a folder with this mode and owner; True if it wrote,
    False when it was already so. See :func:`plan_directory_present`."""
    return plan_directory_present(
        api, check_name(name, "name"), path, mode, uid, gid, makedirs
    ).apply(api)


def instance_file_delete(api, name, path):
    """Delete a file, symlink or empty folder in an instance; True if deleted, False if
    it was absent. See :func:`plan_file_absent`."""
    return plan_file_absent(api, check_name(name, "name"), path).apply(api)
