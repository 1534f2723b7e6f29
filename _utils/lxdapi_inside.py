"""Salt inside an instance, with no minion there: ``salt-call --local`` run through LXD's
own file and exec APIs (no SSH, no network in the instance).

What is shipped is a :class:`Bundle`: a gzipped tarball with a digest (Salt's thin, or
the files of a saltenv), unpacked once under :data:`GUEST_ROOT` in a folder named by the
digest and kept there: a later run finds the folder's digest marker (one GET) and ships
nothing. Each run hands one job document (the minion config, the pillar) to the runner, a
short Python program given to the instance's ``python3``, in its environment (which only
root there can read; a document too big for that goes in a 0600 file the runner deletes
at once); the runner writes what salt-call needs in a fresh private folder (0700), runs
salt-call (killed after the timeout), prints its JSON return and removes the folder:
nothing is left running, and no pillar is left behind.

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name, and nothing of Salt: the caller (the execution module)
makes the thin with Salt and hands it over as a bundle.
"""

import hashlib
import io
import json
import logging
import posixpath
import re
import tarfile
import threading
import uuid

from lxdapi import APIException, APITimeout
from lxdapi_files import instance_file_read, instance_file_write, plan_directory_present
from lxdapi_instances import instance_exec, instance_state
from lxdapi_parallel import run_each
from lxdapi_plans import Plan, Write
from lxdapi_values import check_duration, check_name, planning_status

log = logging.getLogger(__name__)

#: Where bundles, salt-call's root_dir and the runs' private folders live in an instance;
#: mode 0700, owned by root.
GUEST_ROOT = "/var/cache/lxdapi"
#: The file in an unpacked bundle's folder that holds its digest (written last).
MARKER = ".lxdapi-digest"
#: Seconds a salt-call inside may run before it is killed (``timeout`` overrides it).
SALT_CALL_TIMEOUT = 600
#: The biggest job document passed in the runner's environment (Linux takes up to 128 KiB
#: in one variable); a bigger one (a large pillar) goes in a private file.
JOB_ENV_LIMIT = 96 * 1024
#: How much of the runner's output is kept whole (its report, the last line, holds
#: salt-call's return): more than the exec default, for a state run's long return.
REPORT_MAX = 64 * 1024 * 1024
#: How much of salt-call's stderr a failure quotes (its end).
STDERR_TAIL = 2000

# Unpacks an uploaded tarball into GUEST_ROOT/NAME: into a private temporary folder first,
# the digest marker written last, then renamed into place; the upload is deleted.
INSTALL = r"""
import os, re, shutil, sys, tarfile, tempfile
root, name, digest, upload = sys.argv[1:5]
dest = os.path.join(root, name)
tmp = tempfile.mkdtemp(dir=root, prefix=".unpack-")
try:
    with tarfile.open(upload) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp, filter="data")
        else:
            tar.extractall(tmp)
    with open(os.path.join(tmp, ".lxdapi-digest"), "w") as fh:
        fh.write(digest)
    os.chmod(tmp, 0o700)
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    os.rename(tmp, dest)
    if name.startswith("sls-"):  # what lxdapi 0.1 shipped: the whole salt:// tree
        for entry in os.listdir(root):
            if re.match(r"files-.+-[0-9a-f]{16}$", entry):
                shutil.rmtree(os.path.join(root, entry), ignore_errors=True)
finally:
    os.remove(upload)
    shutil.rmtree(tmp, ignore_errors=True)
"""

# Runs salt-call for one job: reads the job document (from its environment, or from the
# file it names, which it deletes), writes the config
# and pillar files in a fresh 0700 folder, runs salt-call with a timeout, prints one JSON
# line ({retcode, out, stderr} or {timeout}) and removes the folder.
RUNNER = r"""
import json, os, shutil, signal, subprocess, sys, tempfile
root = sys.argv[1]
if "LXDAPI_JOB" in os.environ:
    job = json.loads(os.environ.pop("LXDAPI_JOB"))
else:
    with open(os.environ["LXDAPI_JOB_FILE"]) as fh:
        job = json.load(fh)
    os.remove(os.environ.pop("LXDAPI_JOB_FILE"))
work = tempfile.mkdtemp(dir=root, prefix=".run-")
try:
    for rel, text in job["files"].items():
        path = os.path.join(work, rel)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text.replace("@WORK@", work))
    out = os.path.join(work, "out.json")
    head = []
    pkg = job.get("pkg")
    if pkg:  # states compiled on the host: Salt's packaged state run (state.pkg)
        import hashlib, io, tarfile
        tgz = os.path.join(work, "state.tgz")
        with tarfile.open(tgz, "w:gz") as tar:
            for member, doc in (("lowstate.json", pkg["lowstate"]),
                                ("pillar.json", pkg["pillar"])):
                data = json.dumps(doc).encode("utf-8")
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            for env in pkg["envs"]:
                folder = os.path.join(pkg["files"], env) if pkg["files"] else ""
                if folder and os.path.isdir(folder):
                    tar.add(folder, arcname=env)
                else:
                    info = tarfile.TarInfo(env)
                    info.type, info.mode = tarfile.DIRTYPE, 0o700
                    tar.addfile(info)
        with open(tgz, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        head = ["state.pkg", tgz, digest, "sha256"]
    argv = [sys.executable, os.path.join(job["thin"], "salt-call"), "--config-dir", work,
            "--local", "--out", "json", "--out-indent", "-1", "--out-file", out,
            "--retcode-passthrough", "--log-level", "quiet"] + head + job["argv"]
    # salt-call leads a process group of its own: on a timeout the whole group is killed;
    # its temporary files (state.pkg unpacks there) go in the private folder
    env = dict(os.environ, TMPDIR=work)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=work, start_new_session=True,
                            env=env)
    try:
        _, err = proc.communicate(timeout=job["timeout"])
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        print(json.dumps({"timeout": job["timeout"]}))
        sys.exit(0)
    text = None
    if os.path.exists(out):
        with open(out) as fh:
            text = fh.read()
    stderr = err.decode("utf-8", "replace")[-@STDERR_TAIL@:]
    print(json.dumps({"retcode": proc.returncode, "out": text, "stderr": stderr}))
finally:
    shutil.rmtree(work, ignore_errors=True)
""".replace("@STDERR_TAIL@", str(STDERR_TAIL))


class NotRunnable(APIException):
    """Salt cannot run in this instance: it is not running, or it has no ``python3``."""


class SaltCallFailed(APIException):
    """salt-call inside the instance failed: it crashed, timed out, or its function
    returned a non-zero code. ``ret`` holds what it returned (None if nothing)."""

    def __init__(self, *args, ret=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ret = ret


class Bundle:
    """A gzipped tarball to unpack in instances, known by ``digest`` (hex sha256) and
    unpacked as ``GUEST_ROOT/<label>-<digest[:16]>``. ``source``: a path on this host or
    the bytes themselves."""

    def __init__(self, label, digest, source, name=None):
        self.label, self.digest, self.source = label, digest, source
        self.name = name or f"{label}-{digest[:16]}"
        self.path = posixpath.join(GUEST_ROOT, self.name)

    @classmethod
    def from_file(cls, label, path):
        """The bundle of the tarball at ``path`` (its digest read from its bytes)."""
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return cls(label, digest.hexdigest(), path)

    @classmethod
    def from_tree(cls, label, files, name=None):
        """The bundle of a file tree: ``files`` maps each relative path to a local file.
        The tarball is the same for the same names and contents (sorted, mtime 0, root,
        0644), so its digest names the tree. ``name``: the folder it is unpacked in, the
        same for every digest (a new tree replaces the one there), rather than one folder
        per digest."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
            for rel in sorted(files):
                if rel.startswith("/") or ".." in rel.split("/"):
                    raise ValueError(f"{rel!r} is not a relative path inside the tree")
                with open(files[rel], "rb") as fh:
                    data = fh.read()
                info = tarfile.TarInfo(rel)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        data = _stable_gzip(buffer.getvalue())
        return cls(label, hashlib.sha256(data).hexdigest(), data, name)

    def open(self):
        """The tarball's bytes, or an open file of them."""
        return self.source if isinstance(self.source, bytes) else open(self.source, "rb")


def _stable_gzip(data):
    """``data`` with the gzip header's mtime zeroed (bytes 4-8): the same tree, the same
    bytes, whenever it is packed."""
    return data[:4] + b"\0\0\0\0" + data[8:]


def require_runnable(api, instance):
    """NotRunnable unless ``instance`` is running; its status otherwise."""
    check_name(instance, "instance")
    state = instance_state(api, instance)
    if not state:
        raise NotRunnable(error=f"instance {instance!r} does not exist")
    status = planning_status(state.get("status"))
    if status != "Running":
        raise NotRunnable(
            error="instance {!r} is {}: Salt runs inside a running instance only (start "
            "it first)".format(instance, state.get("status"))
        )
    return status


def _python(api, instance, args, timeout, environment=None):
    """``python3 ARGS`` in ``instance``: its exec result. No python3 there: NotRunnable."""
    try:
        out = instance_exec(
            api,
            instance,
            ["python3", *args],
            environment=environment,
            timeout=timeout,
            output_cap=REPORT_MAX,
        )
    except APITimeout:
        raise
    except APIException as exc:
        if "not found" in str(exc).lower() or "no such file" in str(exc).lower():
            raise _no_python(instance) from None
        raise
    if out["retcode"] in (126, 127):  # the shell's "cannot run" and "not found"
        raise _no_python(instance)
    return out


def _no_python(instance):
    return NotRunnable(
        error=f"instance {instance!r} has no python3: Salt runs there on the instance's own "
        "python3 (install it in the image, e.g. apt-get install python3)"
    )


def _make_guest_root(api, instance):
    """:data:`GUEST_ROOT` in ``instance``: a folder of root's, 0700 (made if missing)."""
    plan_directory_present(
        api, instance, GUEST_ROOT, mode="0700", uid=0, gid=0, makedirs=True
    ).apply(api)


def bundle_present(api, instance, bundle, timeout=None):
    """Make sure ``bundle`` is unpacked in ``instance``; True if it was shipped now.

    Reads the marker of its folder first (one GET); ships and unpacks it only when the
    marker is missing or names another digest.
    """
    found = instance_file_read(api, instance, posixpath.join(bundle.path, MARKER))
    if found is not None and found[0].decode("utf-8", "replace").strip() == bundle.digest:
        return False
    _python(api, instance, ["-c", "pass"], timeout)  # no python3: say so, ship nothing
    _make_guest_root(api, instance)
    upload = posixpath.join(GUEST_ROOT, f".upload-{uuid.uuid4().hex}.tgz")
    source = bundle.open()
    try:
        instance_file_write(api, instance, upload, source, mode="0600", uid=0, gid=0)
    finally:
        if not isinstance(source, bytes):
            source.close()
    out = _python(
        api, instance, ["-c", INSTALL, GUEST_ROOT, bundle.name, bundle.digest, upload], timeout
    )
    if out["retcode"] != 0:
        raise APIException(
            error="could not unpack {} in {!r} (exit {}): {}".format(
                bundle.label,
                instance,
                out["retcode"],
                out["stderr"].decode("utf-8", "replace").strip()[-STDERR_TAIL:],
            )
        )
    log.debug("lxdapi: shipped %s to %s", bundle.name, instance)
    return True


def minion_config(instance, saltenv="base", files=None, options=None):
    """The minion config salt-call runs with inside (JSON, which is YAML): masterless
    (``file_client: local``), the instance's name as its id, its root_dir under
    :data:`GUEST_ROOT` (so grains and caches stay there between runs), the ``files``
    bundle as the saltenv's file_roots and the run's private folder as pillar_roots.
    ``options``: more minion settings (they win)."""
    config = {
        "id": instance,
        "file_client": "local",
        "saltenv": saltenv,
        "pillarenv": saltenv,
        "root_dir": posixpath.join(GUEST_ROOT, "root"),
        "file_roots": {saltenv: [files.path] if files else []},
        "pillar_roots": {saltenv: ["@WORK@/pillar"]},
        "state_events": False,
    }
    config.update(options or {})
    return config


def salt_call(
    api,
    instance,
    thin,
    argv,
    files=None,
    pillar=None,
    saltenv="base",
    options=None,
    timeout=None,
    check=True,
    compiled=None,
    running=False,
):
    """Run ``salt-call --local ARGV`` in ``instance`` on the ``thin`` bundle; return its
    JSON return (what ``local`` held), or ``(retcode, return)`` with ``check=False``.

    ``argv``: the function and its arguments as salt-call's command line takes them
    (``["pkg.version", "nginx"]``, ``key=value`` words); ``files``: a bundle of
    ``salt://`` files (None: none); ``pillar``: the inner pillar (a dict, written in the
    run's private folder, removed after it); ``timeout``: seconds salt-call may run
    (default :data:`SALT_CALL_TIMEOUT`), then it is killed.

    ``compiled``: states compiled on the host (:class:`CompiledStates`): they run as
    Salt's packaged state run (``state.pkg``, as salt-ssh runs them), their low data and
    pillar in the job document, their files from ``files`` (one folder per saltenv);
    ``argv`` then holds only ``state.pkg``'s keyword words (``test=True``).

    ``running``: True when the caller has just seen the instance running (a listing, its
    own :func:`require_runnable`): its state is not read again.

    Raises :class:`NotRunnable` (not running, no python3) and, with ``check``,
    :class:`SaltCallFailed` for a non-zero return code; a salt-call that crashed or timed
    out always raises it.
    """
    check_name(instance, "instance")
    timeout = SALT_CALL_TIMEOUT if timeout is None else check_duration(timeout, "timeout")
    if not running:
        require_runnable(api, instance)
    bundle_present(api, instance, thin, timeout)
    if files is not None:
        bundle_present(api, instance, files, timeout)
    job_files = {
        "minion": json.dumps(
            minion_config(instance, saltenv, None if compiled else files, options)
        ),
        "pillar/top.sls": json.dumps({saltenv: {"*": ["lxdapi"]}}),
        "pillar/lxdapi.sls": "#!json\n" + json.dumps(pillar or {}),
    }
    job = {
        "thin": thin.path,
        "argv": [str(arg) for arg in argv],
        "files": job_files,
        "timeout": timeout,
    }
    what = " ".join(job["argv"][:1])
    if compiled is not None:
        job["pkg"] = {
            "lowstate": compiled.lowstate,
            "pillar": pillar or {},
            "envs": sorted(compiled.envs),
            "files": files.path if files is not None else None,
        }
        what = "state.pkg"
    env = _job_env(api, instance, job)
    out = _python(api, instance, ["-c", RUNNER, GUEST_ROOT], timeout + 30, env)
    report = _runner_report(instance, what, out)
    retcode, ret = report["retcode"], report["return"]
    if check and retcode != 0:
        raise SaltCallFailed(
            error="{} in {!r} failed with return code {}: {}".format(
                what, instance, retcode, words(ret) or report["stderr"] or "(no output)"
            ),
            ret=ret,
        )
    return ret if check else (retcode, ret)


class CompiledStates:
    """States rendered and compiled on the host for one instance: ``lowstate`` (the low
    chunks, JSON-ready), ``envs`` (the saltenvs they use) and ``files`` (the ``salt://``
    files they reference: ``{"<saltenv>/<path>": local path}``, the tree of the files
    bundle). Only these go into the instance; nothing else of the ``salt://`` tree."""

    def __init__(self, lowstate, files, envs=()):
        self.lowstate = lowstate
        self.files = dict(files)
        self.envs = set(envs) | {rel.split("/", 1)[0] for rel in self.files}


def _job_env(api, instance, job):
    """The runner's environment: the job document itself (an exec's environment is seen
    by root only, and goes nowhere else), or, when it is too big for one variable, the
    path of a private file (0600, root) it is uploaded to, which the runner deletes."""
    text = json.dumps(job)
    if len(text.encode()) <= JOB_ENV_LIMIT:
        return {"LXDAPI_JOB": text}
    _make_guest_root(api, instance)
    path = posixpath.join(GUEST_ROOT, f".job-{uuid.uuid4().hex}.json")
    instance_file_write(api, instance, path, text.encode(), mode="0600", uid=0, gid=0)
    return {"LXDAPI_JOB_FILE": path}


def _runner_report(instance, what, out):
    """The runner's report, checked: ``{retcode, return, stderr}``."""
    text = out["stdout"].decode("utf-8", "replace").strip()
    stderr = out["stderr"].decode("utf-8", "replace").strip()
    try:
        report = json.loads(text.splitlines()[-1]) if text else None
    except ValueError:
        report = None
    if out["retcode"] != 0 or not isinstance(report, dict):
        raise SaltCallFailed(
            error="salt-call for {} could not run in {!r} (exit {}): {}".format(
                what, instance, out["retcode"], (stderr or text)[-STDERR_TAIL:] or "(no output)"
            )
        )
    if "timeout" in report:
        raise SaltCallFailed(
            error="{} in {!r} did not finish within {:g} s; it was killed".format(
                what, instance, report["timeout"]
            )
        )
    stderr = stderr_text(report.get("stderr") or "")
    parsed = None
    if report.get("out"):
        try:
            parsed = json.loads(report["out"])
        except ValueError:
            parsed = None
    if not isinstance(parsed, dict) or "local" not in parsed:
        raise SaltCallFailed(
            error="{} in {!r} failed (salt-call exited {}): {}".format(
                what, instance, report["retcode"], stderr or "(no output)"
            )
        )
    return {"retcode": report["retcode"], "return": parsed["local"], "stderr": stderr}


#: A line of a Python warning (``file.py:35: DeprecationWarning: ...``); the source line
#: quoted under it is indented.
WARNING_LINE = re.compile(r"^\S+\.py:\d+: \w*Warning: ")


def stderr_text(text):
    """salt-call's stderr without Python's warnings (each a :data:`WARNING_LINE` and the
    indented source line under it), which say nothing about what failed."""
    lines, after_warning = [], False
    for line in text.strip().splitlines():
        if after_warning and line.startswith(" "):
            continue
        after_warning = bool(WARNING_LINE.match(line))
        if not after_warning:
            lines.append(line)
    return "\n".join(lines).strip()


def words(ret):
    """A failed return in words: its text, or its JSON."""
    if ret is None:
        return ""
    if isinstance(ret, str):
        return ret.strip()
    if isinstance(ret, (bool, int, float)):
        return str(ret)
    if isinstance(ret, list) and all(isinstance(item, str) for item in ret):
        return "; ".join(item.strip() for item in ret)
    return json.dumps(ret, sort_keys=True, default=str)


def thin_purge(api, instance):
    """Remove everything lxdapi keeps in ``instance`` (:data:`GUEST_ROOT`: the thin, the
    files, salt-call's caches); True if there was something. Needs no python3."""
    check_name(instance, "instance")
    require_runnable(api, instance)
    if instance_file_read(api, instance, GUEST_ROOT) is None:
        return False
    out = instance_exec(api, instance, ["rm", "-rf", GUEST_ROOT])
    if out["retcode"] != 0:
        raise APIException(
            error="could not remove {} in {!r}: {}".format(
                GUEST_ROOT, instance, out["stderr"].decode("utf-8", "replace").strip()
            )
        )
    return True


# -- states inside: the plan behind sls_applied


def state_id(key, entry):
    """The inner state's id (``__id__``), from its entry or its return key."""
    if isinstance(entry, dict) and entry.get("__id__"):
        return str(entry["__id__"])
    parts = key.split("_|-")
    return parts[1] if len(parts) > 1 else key


def state_results(ret):
    """An inner highstate return as ``[(id, entry)]`` in the order the states ran; ids
    that several states share get `` (module.function)`` after them."""
    if not isinstance(ret, dict):
        raise SaltCallFailed(error=f"the states did not run: {words(ret)}", ret=ret)
    ordered = sorted(ret.items(), key=lambda item: (item[1] or {}).get("__run_num__", 0))
    ids = [state_id(key, entry) for key, entry in ordered]
    named = []
    for (key, entry), sid in zip(ordered, ids):
        if ids.count(sid) > 1:
            parts = key.split("_|-")
            sid = f"{sid} ({parts[0]}.{parts[-1]})" if len(parts) == 4 else key
        named.append((sid, entry if isinstance(entry, dict) else {"comment": str(entry)}))
    return named


class SlsPlan(Plan):
    """The plan of SLS files applied inside an instance (``sls_applied``).

    Made by applying them there in test mode: ``changes`` are the inner states'
    predictions by state id (a state that would act without saying what:
    ``{"comment": ...}``), ``failed`` the ids of those that fail even so. Its one write is
    the real run, which :meth:`apply` makes: ``changes`` are then what the inner states
    changed, and a failed inner state raises :class:`SaltCallFailed` with their comments
    (the changes of the others stay reported).
    """

    def __init__(self, api, instance, run, predicted, status="Running"):
        super().__init__(instance)
        self.instance, self.run, self.status = instance, run, status
        self.ahead, self.error = False, None
        self.results = [] if predicted is None else state_results(predicted)
        for sid, entry in self.results:
            if entry.get("changes"):
                self.changes[sid] = entry["changes"]
            elif entry.get("result") is None:
                self.changes[sid] = {"comment": entry.get("comment", "")}
        if self.changes or self.failed or predicted is None:
            self.writes.append(
                Write("POST", api.instance_path(instance, "exec"), None, keys=("states",))
            )

    def apply(self, api):
        if self.ahead:  # applied already (an aggregate): report how it went
            if self.error is not None:
                raise self.error
            return True
        self.sent = []
        self.changes = {}
        ret = self.run(test=False)
        self.sent = list(self.writes)
        self.results = state_results(ret)
        self.changes = {sid: e["changes"] for sid, e in self.results if e.get("changes")}
        if self.failed:
            raise SaltCallFailed(error=self.failure(), ret=ret)
        return True

    def apply_ahead(self, api):
        """Apply now, before the state's own turn (an aggregate of ``sls_applied``
        states): what happened is kept, and :meth:`apply` then only reports it (raises
        the error that stopped it, if any)."""
        try:
            self.apply(api)
        except Exception as exc:  # kept for the state's own turn, which reports it
            self.error = exc
        self.ahead = True

    @property
    def count(self):
        """How many inner states the last run (the test run, then the real one) had."""
        return len(self.results)

    @property
    def failed(self):
        """The ids of the inner states that failed in the last run."""
        return [sid for sid, entry in self.results if entry.get("result") is False]

    def applied_changes(self):
        return dict(self.changes)

    def failure(self):
        """The failed inner states in words: each id and its comment."""
        entries = dict(self.results)
        return "{} of {} states failed in {!r}: {}".format(
            len(self.failed),
            len(self.results),
            self.instance,
            "; ".join(
                "{}: {}".format(sid, words(entries[sid].get("comment"))) for sid in self.failed
            ),
        )


#: The arguments of the ``sls_applied`` state (its signature's, but ``name`` and the
#: connection settings): those that an aggregate of them passes on to each member.
SLS_APPLIED_ARGUMENTS = (
    "container",
    "mods",
    "saltenv",
    "pillar",
    "pillar_key",
    "timeout",
    "extra_filerefs",
    "concurrency",
)


def sls_names(mods):
    """The SLS names of ``mods`` (a name, a comma-separated list, or a list); ValueError
    when there is none or one is not a name."""
    if isinstance(mods, str):
        mods = [m.strip() for m in mods.split(",")]
    if not isinstance(mods, (list, tuple)) or not mods:
        raise ValueError(f"mods must name one SLS or more, not {mods!r}")
    for mod in mods:
        if not isinstance(mod, str) or not mod or any(c.isspace() or c == "," for c in mod):
            raise ValueError(f"mods must be SLS names (such as nginx or web.tls), not {mod!r}")
    return list(mods)


#: The one read of :func:`plan_sls_applied` (after a failed run) goes through the caller's
#: API, which the members of an aggregate share from their threads: one at a time.
_PLAN_READ_LOCK = threading.Lock()


def plan_sls_applied(api, instance, run):
    """The :class:`SlsPlan` of SLS files applied in ``instance``. ``run(test)`` applies
    them there (test mode or not) and returns the inner states' returns, raising
    :class:`APIException` when they cannot run; it is called with ``test=True`` to make
    the plan (which ships the thin and the files when the instance lacks them, a cache:
    nothing the states manage is touched).

    The run itself finds the instance running (``lxdapi.sls`` checks it): the instance's
    state is read here only when that run failed, to tell why. An instance that is not
    running gives a plan with its one write, no prediction and its ``status`` (None: it
    does not exist), for the caller to refuse or, in test mode, to predict (an earlier
    state may create or start it); any other failure is raised.
    """
    check_name(instance, "instance")
    try:
        predicted = run(test=True)
    except APIException:
        with _PLAN_READ_LOCK:  # an aggregate's members share the caller's API
            state = instance_state(api, instance)
        status = planning_status(state.get("status")) if state else None
        if status == "Running":
            raise
        return SlsPlan(api, instance, run, None, status)
    return SlsPlan(api, instance, run, predicted)


def converge_sls_each(api, members, concurrency=None, apply=True):
    """Many :class:`SlsPlan` made side by side, then those that predict changes applied
    side by side (``apply``; test mode does not), at most ``concurrency`` at once (see
    :func:`lxdapi_parallel.run_each`): what ``mod_aggregate`` does for the
    ``sls_applied`` states of a run.

    ``members``: ``{key: make}``, where ``make()`` returns the member's plan (e.g. a
    :func:`plan_sls_applied`). Returns ``{key: outcome}`` in the same order: the plan
    (applied ahead: its :meth:`SlsPlan.apply` reports how that went), or the exception
    its planning raised, so that a member that fails fails alone. A plan of an instance
    that is not running is not applied (its state refuses it at its turn).
    """
    outcomes = run_each(list(members), lambda key: members[key](), concurrency)
    if apply:
        due = [
            key
            for key, plan in outcomes.items()
            if isinstance(plan, SlsPlan) and plan.writes and plan.status == "Running"
        ]
        run_each(due, lambda key: outcomes[key].apply_ahead(api), concurrency)
    return outcomes
