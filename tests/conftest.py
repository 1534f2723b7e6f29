"""Test harness: a private, real LXD daemon for the whole session, and Salt loaders on it;
the same for Incus (``incus``, ``incus_api``, ``incus_modules``, ``incus_states``).

No LXD is mocked. The daemon runs in a temporary LXD_DIR with a ``dir`` pool named
``default``, the ``default`` profile, and the busybox image built offline (alias
``busybox``); it is shut down and its folder removed at the end of the session. The Incus
daemon, started only by the tests that ask for it, is stocked and removed the same way.
"""

import json
import os
import shutil
import sys
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "_utils"))

import debian_image as debian_image_tool  # noqa: E402

import lxdapi_loader  # noqa: E402
import lxdhost  # noqa: E402

# The core as the Salt modules load it (the same modules: see test_bootstrap.py).
core = lxdapi_loader.load(os.path.join(ROOT, "_utils"))


class Daemon:
    """A running private LXD or Incus: its folder, socket, kind (``server``: ``"lxd"`` or
    ``"incus"``) and the busybox image."""

    def __init__(self, lxd_dir, image_path, fingerprint, server="lxd"):
        self.lxd_dir = lxd_dir
        self.socket = os.path.join(lxd_dir, "unix.socket")
        self.image_path = image_path
        self.fingerprint = fingerprint
        self.server = server

    def lxc(self, *args, check=True, stdin=None):
        """Run the daemon's client (``lxc``, or ``incus`` for Incus) against this daemon;
        return stdout."""
        return lxdhost.lxc(self.lxd_dir, *args, check=check, stdin=stdin)

    def status(self, name, timeout=10, until=None):
        """The status in instance ``name``'s ``/state``, read with the client once the
        server answers for it: just after a failed start, Incus 6.0 fails that read with
        "Invalid PID" for a moment, and may report Running for a moment before Stopped.
        With ``until``, reads again (within ``timeout`` seconds) until the status is that
        one, and returns the last status read either way; otherwise returns the first
        answer. After ``timeout`` seconds of errors the last one is raised."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = json.loads(self.lxc("query", f"/1.0/instances/{name}/state"))["status"]
            except lxdhost.LXDHostError as exc:
                if "Invalid PID" not in str(exc) or time.monotonic() > deadline:
                    raise
            else:
                if until is None or found == until or time.monotonic() > deadline:
                    return found
            time.sleep(0.2)

    def file_text(self, instance, path):
        """The text of a file in ``instance``, read with the daemon's client (``file
        pull`` to stdout); None when it does not exist."""
        proc = lxdhost.run(
            [lxdhost.SERVERS[self.server].client, "file", "pull", instance + path, "-"],
            self.lxd_dir,
            check=False,
        )
        if proc.returncode != 0:
            if any(w in proc.stderr.lower() for w in ("not found", "no such", "does not exist")):
                return None
            raise lxdhost.LXDHostError(f"file pull {instance}{path}: {proc.stderr}")
        return proc.stdout

    def api(self, **kwargs):
        """A fresh :class:`API` on this daemon's socket."""
        return core.API.factory(self.socket, **kwargs)


def _session_daemon(server):
    """Start a private daemon of kind ``server`` stocked with the busybox image; yield its
    :class:`Daemon`; stop it and remove its folder afterwards."""
    try:
        lxdhost.require(server)
    except lxdhost.LXDHostError as exc:
        pytest.fail(str(exc), pytrace=False)
    prefix = "lxdapi-test-" if server == "lxd" else f"lxdapi-test-{server}-"
    base = lxdhost.make_base_dir(prefix)  # 0755: containers must traverse it
    lxd_dir = os.path.join(base, server)
    image_path = os.path.join(base, "busybox.tar.gz")
    try:
        lxdhost.start_daemon(lxd_dir, server=server)
        fingerprint = lxdhost.build_busybox_image(image_path)
        daemon = Daemon(lxd_dir, image_path, fingerprint, server=server)
        daemon.lxc("image", "import", image_path, "--alias", "busybox")
        yield daemon
    finally:
        lxdhost.stop_daemon(lxd_dir)
        lxdhost.stop_daemon(base)


@pytest.fixture(scope="session")
def debian_image(lxd):
    """The alias of a Debian 12 image with python3 in the session daemon (``debian``):
    ``tools/debian_image.py`` builds it with debootstrap once per machine and caches it
    (keyed by its package list); here it is only imported."""
    try:
        path = debian_image_tool.ensure()
    except debian_image_tool.ImageBuildError as exc:
        pytest.fail(str(exc), pytrace=False)
    lxd.lxc("image", "import", path, "--alias", "debian")
    return "debian"


#: The servers the suite runs on: every test that uses ``lxd`` (or ``api``, ``modules``,
#: ``states``...) runs once on each. ``LXDAPI_SERVERS=lxd`` (or ``incus``) picks one.
SERVERS = [s for s in os.environ.get("LXDAPI_SERVERS", "lxd,incus").split(",") if s]

#: ``make test`` runs the suite as two halves side by side, each a pytest of its own with
#: its own daemons: ``LXDAPI_HALF=lxd`` runs every test on LXD and those that need no
#: server; ``LXDAPI_HALF=incus`` runs every test on Incus and those that use only the
#: ``incus`` fixtures. Together they are the whole suite, each test once.
HALF = os.environ.get("LXDAPI_HALF", "")
if HALF:
    if HALF not in ("lxd", "incus"):
        raise pytest.UsageError(f"LXDAPI_HALF must be lxd or incus, not {HALF!r}")
    SERVERS = [HALF]


def in_half(fixturenames, half):
    """True when a test whose fixtures (their whole closure) are ``fixturenames`` belongs to
    the half ``half`` of the suite (see :data:`HALF`)."""
    names = set(fixturenames)
    incus_only = "lxd" not in names and "incus" in names
    if half == "incus":
        return "lxd" in names or incus_only
    return not incus_only


def pytest_collection_modifyitems(config, items):
    if not HALF:
        return
    kept = [item for item in items if in_half(getattr(item, "fixturenames", ()), HALF)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture(scope="session", params=SERVERS)
def lxd(request):
    """The session's private daemon: LXD, then Incus (``.server`` says which; fails,
    saying how to install it, if missing). Every test using it runs on both."""
    yield from _session_daemon(request.param)


@pytest.fixture(scope="session")
def incus():
    """The session's private Incus daemon (fails, saying how to install Incus, if
    missing): ``.lxc()`` runs ``incus``, ``.server == "incus"``."""
    yield from _session_daemon("incus")


@pytest.fixture
def api(lxd):
    """A fresh :class:`API` on the session daemon."""
    return lxd.api()


@pytest.fixture
def incus_api(incus):
    """A fresh :class:`API` on the session's Incus daemon."""
    return incus.api()


@pytest.fixture
def unique_name(request):
    """A valid LXD name unique to this test (``t-<test>-<random>``, at most 63 chars)."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())
    return "t-{}-{}".format(base[:40].strip("-"), uuid.uuid4().hex[:6])


def file_header(response, name):
    """A file API header as the server sent it: ``X-LXD-<name>`` on LXD, ``X-Incus-<name>``
    on Incus (read straight from the response, not through the core)."""
    return response.headers.get("X-LXD-" + name, response.headers.get("X-Incus-" + name))


class RequestLog(list):
    """Every (method, url, status) the core sent while the fixture was active."""

    @property
    def writes(self):
        return [r for r in self if r[0] != "GET"]

    def count(self, method=None):
        return len([r for r in self if method is None or r[0] == method])

    @property
    def execs(self):
        """The URLs of the commands run in instances (``POST .../exec``)."""
        return [u for m, u, _ in self if m == "POST" and u.split("?")[0].endswith("/exec")]


@pytest.fixture
def request_log():
    """Record each HTTP transaction made by the core (in this process)."""
    log = RequestLog()

    def observer(method, url, status):
        log.append((method, url, status))

    core.API.observers.append(observer)
    try:
        yield log
    finally:
        core.API.observers.remove(observer)


# ------------------------------------------------------------------------------ Salt


@pytest.fixture(scope="session")
def salt_factories_config():
    return {"code_dir": ROOT, "inject_sitecustomize": False, "start_timeout": 120}


def _minion_opts(salt_factories, minion_id, daemon):
    """Yield minion options (its own root_dir) with lxdapi:endpoint = ``daemon``'s socket."""
    factory = salt_factories.salt_minion_daemon(
        minion_id,
        overrides={
            "file_client": "local",
            "module_dirs": [ROOT],
            "lxdapi": {"endpoint": daemon.socket},
            # the salt:// listing is read anew each time (Salt keeps it 20 s): an SLS a
            # test has just written is shipped into the instance (lxdapi.sls)
            "fileserver_list_cache_time": 0,
        },
    )
    yield factory.config.copy()
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


def _loaders(opts):
    from saltfactories.utils.functional import Loaders

    loaders = Loaders(opts)
    check_requests_are_observed(loaders)
    return loaders


@pytest.fixture(scope="session")
def minion_opts(salt_factories, lxd):
    """Minion options: modules from the checkout, lxdapi:endpoint = the test daemon."""
    yield from _minion_opts(salt_factories, "lxdapi-functional", lxd)


@pytest.fixture(scope="session")
def loaders(minion_opts):
    """Salt's functional loaders: ``loaders.modules.lxdapi``, ``loaders.states.lxdapi``."""
    return _loaders(minion_opts)


@pytest.fixture(scope="session")
def incus_minion_opts(salt_factories, incus):
    """:func:`minion_opts` for the Incus daemon (another minion id and root_dir)."""
    yield from _minion_opts(salt_factories, "lxdapi-functional-incus", incus)


@pytest.fixture(scope="session")
def incus_loaders(incus_minion_opts):
    """:func:`loaders` bound to the Incus daemon."""
    return _loaders(incus_minion_opts)


def observed(call):
    """Call ``call()``; the requests this process's core saw meanwhile."""
    seen = []

    def observer(method, url, status):
        seen.append((method, url, status))

    core.API.observers.append(observer)
    try:
        call()
    finally:
        core.API.observers.remove(observer)
    return seen


def check_requests_are_observed(loaders):
    """The canary: a request sent by the Salt-loaded execution module and one sent by a
    state (run through ``state.single``, which loads the state module anew) are both seen
    by the core the tests watch. Were Salt's loaders to use another copy of the core,
    ``request_log`` would see nothing and every "no write" assertion would pass while
    observing nothing: this fails the session first."""
    via_module = observed(lambda: loaders.modules.lxdapi.get(""))
    via_state = observed(lambda: loaders.states.lxdapi.profile_absent(name="lxdapi-canary"))
    assert via_module and via_state, (
        f"the Salt loaders' core is not the one the tests observe: module saw {via_module}, state "
        f"saw {via_state}"
    )


def loaded_core(function):
    """The core that a function of a module Salt loaded uses (its ``core`` global)."""
    return getattr(function, "func", function).__globals__["core"]


def check_same_core(function):
    """Fail unless the Salt-loaded ``function`` uses the very core this process watches:
    otherwise ``request_log`` (an observer on ``core.API``) would see none of its requests
    and every "no write" assertion would pass while observing nothing."""
    used = loaded_core(function)
    assert used is core, f"the Salt loaders use another core ({used!r}) than the tests ({core!r})"
    assert used.API is core.API


@pytest.fixture
def modules(loaders):
    """``modules.lxdapi.<function>`` calls the real execution module."""
    loaders.context.clear()
    check_same_core(loaders.modules.lxdapi.request)
    return loaders.modules


@pytest.fixture
def states(loaders):
    """``states.lxdapi.<state>`` calls the real state module."""
    loaders.context.clear()
    return loaders.states


@pytest.fixture
def incus_modules(incus_loaders):
    """:func:`modules` on the Incus daemon."""
    incus_loaders.context.clear()
    check_same_core(incus_loaders.modules.lxdapi.request)
    return incus_loaders.modules


@pytest.fixture
def incus_states(incus_loaders):
    """:func:`states` on the Incus daemon."""
    incus_loaders.context.clear()
    return incus_loaders.states


def pytest_unconfigure(config):
    """Hand Salt's deferred log records over before pytest closes its streams.

    Salt's loaders queue log records in a deferred stderr handler and flush it at exit,
    when pytest has already closed the stream it holds; every queued record (the logged
    errors of the bad-input tests) then printed a "--- Logging error ---" traceback at the
    end of the run. Shutting the handler down here empties the queue while it still can.
    """
    try:
        from salt._logging import impl as salt_logging
    except ImportError:
        return
    salt_logging.shutdown_temp_handler()
