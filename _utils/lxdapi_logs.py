"""What an instance's logs say: the log files LXD keeps for it (``lxc.log``, ``qemu.log``),
its console buffer, and the diagnostics a failed start, restart or creation carries (the
server's error, then the last lines of the instance's log, secrets redacted).

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import logging
import re

from lxdapi import REDACTED, APIException, APINotFoundException, name_from_url
from lxdapi_files import CHUNK_BYTES, size_words
from lxdapi_values import check_name

log = logging.getLogger(__name__)

#: Lines of an instance's log a failure message carries.
TAIL_LINES = 20

#: The most of a log (or a console buffer) read into memory: its end. A longer log is
#: read in chunks, streamed, and loses its start: a first line says how much.
LOG_MAX_BYTES = 4 * 1024 * 1024

#: The log LXD writes while it starts an instance, by instance type.
START_LOGS = {"container": "lxc.log", "virtual-machine": "qemu.log"}

_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b([\w.-]*(?:password|passwd|token|secret|private[_.-]?key)[\w.-]*)(\s*[=:]\s*)"
    r"(\"[^\"]*\"|'[^']*'|\S+)"
)
_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
)


def redact_text(text):
    """``text`` with private key blocks and the values of ``password=``, ``token:``...
    assignments replaced by ``**redacted**``."""
    text = _PRIVATE_KEY_BLOCK.sub(REDACTED, text)
    return _SECRET_ASSIGNMENT.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def _text(api, url):
    """The text of the log at ``url``, read streamed: its last :data:`LOG_MAX_BYTES`
    (from a line's start), after a line saying how much was left out before them."""
    response = api.get(url, stream=True).response
    kept, size = bytearray(), 0
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            size += len(chunk)
            kept += chunk
            if len(kept) > 2 * LOG_MAX_BYTES:
                del kept[:-LOG_MAX_BYTES]
    finally:
        response.close()
    if size <= LOG_MAX_BYTES:
        return bytes(kept).decode("utf-8", "replace")
    kept = bytes(kept[-LOG_MAX_BYTES:])
    kept = kept[kept.find(b"\n") + 1 :]
    return f"[... the first {size_words(size - len(kept))} of this log left out ...]\n" + (
        kept.decode("utf-8", "replace")
    )


def instance_log_list(api, name):
    """The names of the log files the server keeps for instance ``name`` (``lxc.log``...);
    :class:`lxdapi.APINotFoundException` when the instance does not exist."""
    name = check_name(name, "name")
    urls = api.get(api.instance_path(name, "logs")).metadata or []
    return sorted(name_from_url(url) for url in urls)


def instance_log_get(api, name, filename):
    """The text of one of the instance's log files (``lxc.log``, ``qemu.log``...): its
    last :data:`LOG_MAX_BYTES` at most, after a line saying how much was left out."""
    name = check_name(name, "name")
    filename = check_name(filename, "log file name")
    if "/" in filename or filename in (".", ".."):
        raise ValueError(f"a log file name is a name such as lxc.log, not {filename!r}")
    return _text(api, api.instance_path(name, "logs", filename))


def instance_console_log(api, name):
    """The instance's console buffer as the server keeps it (a container's console log):
    its last :data:`LOG_MAX_BYTES` at most, after a line saying how much was left out.

    Reading it empties it on both servers: Incus then gives ``""``; LXD 5.0.2 answers
    "open : no such file or directory", which is read as the empty buffer it is."""
    name = check_name(name, "name")
    try:
        return _text(api, api.instance_path(name, "console"))
    except APIException as exc:
        if "no such file or directory" in (exc.error or "") and "open" in (exc.error or ""):
            return ""
        raise


def tail(text, lines=TAIL_LINES):
    """The last ``lines`` non-empty lines of ``text``, redacted, as a list."""
    kept = [line.rstrip() for line in redact_text(text).splitlines() if line.strip()]
    return kept[-lines:] if lines > 0 else []


def log_tail(api, name, instance_type=None, lines=TAIL_LINES):
    """``(filename, [lines])``: the last lines of the log the server wrote while starting
    instance ``name`` (``lxc.log`` for a container, ``qemu.log`` for a VM; either, in
    that order, when ``instance_type`` is None); ``(filename, None)`` when it has none.
    Never raises for the server's sake: a diagnostic must not hide the failure it
    explains."""
    names = (
        [START_LOGS[instance_type]] if instance_type in START_LOGS else list(START_LOGS.values())
    )
    for filename in names:
        try:
            return filename, tail(instance_log_get(api, name, filename), lines)
        except APINotFoundException:
            continue
        except APIException as exc:
            log.debug("lxdapi: could not read %s of %s: %s", filename, name, exc)
            break
    return names[0], None


def console_tail(api, name, lines=TAIL_LINES):
    """The last lines of the instance's console buffer, or None where the server keeps
    none (or cannot give it)."""
    try:
        return tail(instance_console_log(api, name), lines) or None
    except APIException as exc:
        log.debug("lxdapi: could not read the console of %s: %s", name, exc)
        return None


def with_lines(exc, title, lines):
    """Add ``lines`` under ``title`` to the details of ``exc`` (shown after its
    message); return ``exc``."""
    block = "{}:\n{}".format(title, "\n".join("  " + line for line in lines))
    exc.details = block if not exc.details else exc.details + "\n" + block
    exc.args = (str(exc),)
    return exc


def explain_start_failure(name, instance_type=None):
    """The ``explain`` of a :class:`lxdapi_plans.Write` that creates, starts or restarts
    instance ``name``: the failure as the server gave it, then the last lines of the
    instance's log (or a word saying there is none)."""

    def explain(api, exc):
        if getattr(exc, "log_read", False) or "busy running" in (exc.error or ""):
            return exc  # read already; or refused before it began: the log is older
        exc.log_read = True
        try:
            instance_log_list(api, name)
        except APIException:  # no such instance (a creation refused): no log to show
            return exc
        filename, lines = log_tail(api, name, instance_type)
        if lines:
            return with_lines(exc, f"last {len(lines)} lines of {name}'s {filename}", lines)
        exc.details = (
            exc.details + "\n" if exc.details else ""
        ) + f"({name} has no {filename} on {api.display_endpoint})"
        exc.args = (str(exc),)
        return exc

    return explain
