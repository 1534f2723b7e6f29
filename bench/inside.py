"""Table 6 of the bench: Salt inside a container with no minion there (``lxdapi.call``,
``lxdapi.grains``, the ``lxdapi.sls_applied`` state), as a user runs it: ``salt-call
--local`` on the host, its requests counted by a :class:`CountingProxy` between it and
LXD (writes: everything but GET).

One Debian 12 container (python3, no Salt; the image of ``tools/debian_image.py``, cached
on the machine) is launched from the bench's daemon and deleted at the end. What is timed
(medians of ``--runs``):

- the floor: ``lxc exec C -- python3 -c pass`` and the core's ``instance_exec`` of the
  same (LXD's own cost of starting the instance's python3);
- ``salt-call --local test.ping`` on the host (salt-call's own start-up);
- ``lxdapi.call C test.ping``: the very first (the host makes the thin, then ships it),
  after ``thin_purge`` (the thin shipped), and cached; the core's ``salt_call`` of the
  same with no host salt-call around it, and its shipping of the thin alone
  (``bundle_present``: upload and unpack) next to the upload alone; ``lxdapi.grains C
  os``;
- ``state.apply`` of a host SLS holding one ``lxdapi.sls_applied`` of a small inner SLS
  (5 states: a folder, three ``file.managed``, a ``cmd.run`` with ``creates``): in a
  fresh container (thin and files shipped), with changes (cached), as a no-op, and the
  same with ``test=True``.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time

import debian_image
from counting_proxy import CountingProxy

#: Longest one salt-call may take before the bench gives up.
TIMEOUT = 600
#: Where the inner states write, in the container.
TARGET = "/root/bench-inside"
#: Where the thin's tarball is uploaded to time an upload alone.
UPLOAD = "/root/bench-thin.tgz"
#: An operation's id in a request's path (shown as ID in the note).
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

INNER_SLS = """\
bench-dir:
  file.directory:
    - name: {target}
    - mode: '0750'

bench-config:
  file.managed:
    - name: {target}/app.conf
    - contents: |
        # managed by lxdapi.sls_applied
        workers = 4
        listen = 127.0.0.1:8080
    - require:
      - file: bench-dir

bench-motd:
  file.managed:
    - name: {target}/motd
    - source: salt://bench_inside_motd.txt
    - mode: '0644'
    - require:
      - file: bench-dir

bench-env:
  file.managed:
    - name: {target}/env
    - contents: "GRAIN_OS={{{{ grains['os'] }}}}"
    - require:
      - file: bench-dir

bench-once:
  cmd.run:
    - name: echo set up >> {target}/once
    - creates: {target}/once
    - require:
      - file: bench-dir
"""

HOST_SLS = """\
bench-inside:
  lxdapi.sls_applied:
    - container: {container}
    - mods: bench_inside
"""


def say(*args):
    print(*args, file=sys.stderr, flush=True)


class Inside:
    """Table 6; ``bench`` is the running :class:`bench.Bench` (its daemon, API, helpers)."""

    def __init__(self, bench, core, rst_table):
        self.bench = bench
        self.core = core
        self.rst_table = rst_table
        self.runs = max(1, bench.args.runs)
        self.tmp = os.path.join(bench.tmp, "inside")
        os.makedirs(self.tmp, exist_ok=True)
        self.name = bench.prefix + "-inside"
        self.alias = bench.prefix + "-debian"
        self.imported = None  # the fingerprint of the image this part imported
        self.alias_added = False
        self.proxy = None
        self.api = None  # the core's API through the proxy
        self.conf = None
        self.results = {}  # key -> [figures of each run]
        self.listings = {}  # key -> the requests of its last run
        self.thin_mb = None
        self.thin_unpacked_mb = None
        self.salt_version = None

    # -- set-up and tear-down ------------------------------------------------------------

    def setup(self):
        import lxdapi_images
        import lxdapi_instances
        import lxdapi_spec

        api = self.bench.api
        if self.core.container_get(api, self.name):
            if self.bench.args.endpoint:
                raise SystemExit(
                    f"instance {self.name} exists already on {self.bench.socket}; remove it or "
                    "pass --prefix"
                )
            self.bench.delete([self.name])
        if not lxdapi_images.image_alias_get(api, self.alias):
            path = debian_image.ensure()
            say("6. importing the Debian 12 image", path)
            fingerprint = lxdapi_images.image_get_fingerprint(path)
            if not self.core.image_get(api, fingerprint):
                lxdapi_images.image_import(api, path)
                self.imported = fingerprint
            lxdapi_images.image_alias_add(api, self.alias, fingerprint)
            self.alias_added = True
        say("6. launching", self.name)
        running = lxdapi_spec.InstanceSpec(source=self.alias, status="Running")
        lxdapi_instances.plan_instance_present(api, self.name, running).apply(api)
        files = os.path.join(self.tmp, "files")
        pillar = os.path.join(self.tmp, "pillar")
        os.makedirs(files)
        os.makedirs(pillar)
        with open(os.path.join(files, "bench_inside.sls"), "w") as fh:
            fh.write(INNER_SLS.format(target=TARGET))
        with open(os.path.join(files, "bench_inside_motd.txt"), "w") as fh:
            fh.write("Configured by Salt from the host, with no minion here.\n")
        with open(os.path.join(files, "bench_inside_host.sls"), "w") as fh:
            fh.write(HOST_SLS.format(container=self.name))
        self.proxy = CountingProxy(os.path.join(self.tmp, "count.socket"), self.bench.socket)
        self.api = self.core.API.factory(self.proxy.path)
        self.conf = os.path.join(self.tmp, "conf")
        os.makedirs(self.conf)
        with open(os.path.join(self.conf, "minion"), "w") as fh:
            json.dump(
                {
                    "id": "lxdapi-bench",
                    "file_client": "local",
                    "root_dir": os.path.join(self.tmp, "root"),
                    "file_roots": {"base": [files]},
                    "pillar_roots": {"base": [pillar]},
                    "fileserver_list_cache_time": 0,
                    "module_dirs": [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))],
                    "lxdapi": {"endpoint": self.proxy.path},
                    "log_level_logfile": "warning",
                },
                fh,
            )  # JSON is YAML

    def teardown(self):
        import lxdapi_images

        try:
            if self.bench.socket and os.path.exists(self.bench.socket):
                self.bench.delete([self.name])
                if self.alias_added:
                    lxdapi_images.image_alias_delete(self.bench.api, self.alias)
                if self.imported:
                    lxdapi_images.image_delete(self.bench.api, self.imported)
        finally:
            if self.proxy:
                self.proxy.close()

    # -- what is run ---------------------------------------------------------------------

    def salt_call(self, *args):
        """``salt-call --local ARGS`` on the host: (seconds, its return)."""
        exe = os.path.join(os.path.dirname(sys.executable), "salt-call")
        env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
        t0 = time.perf_counter()
        proc = subprocess.run(
            [exe, "--local", "-c", self.conf, *args, "--out=json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        seconds = time.perf_counter() - t0
        try:
            ret = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError, TypeError):
            ret = None
        if proc.returncode != 0 or ret is None:
            raise RuntimeError(
                "salt-call {} failed (exit {}): {}".format(
                    " ".join(args), proc.returncode, (proc.stdout[-1500:] + proc.stderr[-1500:])
                )
            )
        return seconds, ret

    def call(self, *args, expect):
        seconds, ret = self.salt_call(*args)
        if ret != expect:
            raise RuntimeError("salt-call {} returned {!r}".format(" ".join(args), ret))
        return {"seconds": seconds}

    def apply(self, test=False, changed=None, result=True):
        """The host SLS applied: its seconds, the state's own duration and the inner
        states it reports as changed (or would change), checked."""
        args = ["state.apply", "bench_inside_host"] + (["test=True"] if test else [])
        seconds, ret = self.salt_call(*args)
        (state,) = ret.values()
        count = len(state.get("changes") or {})
        if state.get("result") is not result or (changed is not None and count != changed):
            raise RuntimeError(
                "{}: result {}, {} changes, expected {} and {}: {}".format(
                    " ".join(args), state.get("result"), count, result, changed, state
                )
            )
        return {
            "seconds": seconds,
            "in_state": float(state.get("duration") or 0) / 1000,
            "changed": count,
        }

    def lxc_exec(self):
        t0 = time.perf_counter()
        self.bench.lxc("exec", self.name, "--", "python3", "-c", "pass")
        return {"seconds": time.perf_counter() - t0}

    def core_exec(self):
        import lxdapi_instances

        t0 = time.perf_counter()
        out = lxdapi_instances.instance_exec(self.api, self.name, ["python3", "-c", "pass"])
        seconds = time.perf_counter() - t0
        if out["retcode"] != 0:
            raise RuntimeError(f"python3 -c pass failed: {out}")
        return {"seconds": seconds}

    def core_salt_call(self, thin):
        import lxdapi_inside

        t0 = time.perf_counter()
        ret = lxdapi_inside.salt_call(self.api, self.name, thin, ["test.ping"])
        seconds = time.perf_counter() - t0
        if ret is not True:
            raise RuntimeError(f"the core's salt_call test.ping returned {ret!r}")
        return {"seconds": seconds}

    def core_ship(self, thin):
        import lxdapi_inside

        t0 = time.perf_counter()
        shipped = lxdapi_inside.bundle_present(self.api, self.name, thin)
        seconds = time.perf_counter() - t0
        if not shipped:
            raise RuntimeError(f"the thin was in {self.name} already")
        return {"seconds": seconds}

    def core_upload(self, thin):
        """The thin's tarball written to a file in the instance: one POST, no unpacking."""
        import lxdapi_files

        with open(thin.source, "rb") as fh:
            t0 = time.perf_counter()
            lxdapi_files.instance_file_write(self.api, self.name, UPLOAD, fh, mode="0600")
            return {"seconds": time.perf_counter() - t0}

    def reset(self, purge=False):
        """Undo what the inner states did (and, with ``purge``, remove the thin and the
        files): outside the count."""
        import lxdapi_inside
        import lxdapi_instances

        command = ["rm", "-rf", TARGET, UPLOAD]
        out = lxdapi_instances.instance_exec(self.bench.api, self.name, command)
        if out["retcode"] != 0:
            raise RuntimeError("{} failed: {}".format(" ".join(command), out))
        if purge:
            lxdapi_inside.thin_purge(self.bench.api, self.name)

    def measure(self, key, func, counted=True):
        """Run ``func`` (through the proxy when ``counted``); keep its figures."""
        self.proxy.reset()
        figures = func()
        if counted:
            time.sleep(0.2)  # let the proxy threads see the last bytes
            seen = list(self.proxy.requests)
            figures["requests"] = len(seen)
            figures["writes"] = len([r for r in seen if r[0] != "GET"])
            self.listings[key] = seen
        self.results.setdefault(key, []).append(figures)
        say("   {}: {}".format(key, ", ".join(f"{k} {round(v, 3)}" for k, v in figures.items())))
        return figures

    def thin_bundle(self):
        """The thin the host's salt-call made, as the core's bundle (the same label as
        the execution module gives it, so that the instance's copy is found)."""
        import salt.version

        import lxdapi_inside

        self.salt_version = salt.version.__version__
        path = os.path.join(self.tmp, "root", "var", "cache", "salt", "minion", "thin", "thin.tgz")
        if not os.path.exists(path):
            raise RuntimeError(f"no thin at {path}")
        self.thin_mb = os.path.getsize(path) / 1e6
        return lxdapi_inside.Bundle.from_file("salt-" + self.salt_version, path)

    def unpacked_mb(self, thin):
        import lxdapi_instances

        out = lxdapi_instances.instance_exec(self.bench.api, self.name, ["du", "-sk", thin.path])
        try:
            return int(out["stdout"].split()[0]) / 1000
        except (ValueError, IndexError):
            return None

    def run(self):
        try:
            self.setup()
            self.measure_all()
        finally:
            self.teardown()
        self.bench.tables.append(self.table())

    def measure_all(self):
        name, runs = self.name, self.runs
        say(f"6. Salt inside {name}: the very first call (the host makes the thin)")
        self.measure("first_ever", lambda: self.call("lxdapi.call", name, "test.ping", expect=True))
        thin = self.thin_bundle()
        self.thin_unpacked_mb = self.unpacked_mb(thin)
        for r in range(runs):
            say(f"6. Salt inside {name}: calls, run {r + 1} of {runs}")
            self.measure("lxc_exec", self.lxc_exec, counted=False)
            self.measure("core_exec", self.core_exec)
            self.measure("host_ping", lambda: self.call("test.ping", expect=True))
            self.reset(purge=True)
            self.measure(
                "ping_ship", lambda: self.call("lxdapi.call", name, "test.ping", expect=True)
            )
            self.measure("ping", lambda: self.call("lxdapi.call", name, "test.ping", expect=True))
            self.measure("core_ping", lambda: self.core_salt_call(thin))
            self.measure(
                "grains",
                lambda: self.call("lxdapi.grains", name, "os", expect={"os": "Debian"}),
            )
            self.reset(purge=True)
            self.measure("core_ship", lambda: self.core_ship(thin))
            self.measure("core_upload", lambda: self.core_upload(thin))
            self.reset()
        for r in range(runs):
            say(f"6. Salt inside {name}: sls_applied, run {r + 1} of {runs}")
            self.reset(purge=True)
            self.measure("sls_fresh", lambda: self.apply(changed=5))
            self.measure("sls_noop", lambda: self.apply(changed=0))
            self.reset()
            self.measure("test_would", lambda: self.apply(test=True, changed=5, result=None))
            self.measure("sls_changes", lambda: self.apply(changed=5))
            self.measure("test_noop", lambda: self.apply(test=True, changed=0))
            self.measure("sls_noop", lambda: self.apply(changed=0))

    # -- the report ----------------------------------------------------------------------

    ROWS = (
        ("lxc_exec", "lxc exec C -- python3 -c pass (floor)"),
        ("core_exec", "core instance_exec(C, python3 -c pass) (floor)"),
        ("host_ping", "salt-call test.ping on the host (its start-up)"),
        ("first_ever", "lxdapi.call C test.ping, first (thin made)"),
        ("ping_ship", "lxdapi.call C test.ping, thin shipped"),
        ("ping", "lxdapi.call C test.ping, cached"),
        ("core_ship", "core bundle_present(C, thin): upload, unpack"),
        ("core_upload", "core instance_file_write(C, thin tarball)"),
        ("core_ping", "core salt_call(C, test.ping), cached"),
        ("grains", "lxdapi.grains C os, cached"),
        ("sls_fresh", "state.apply sls_applied, changes, fresh"),
        ("sls_changes", "state.apply sls_applied, changes"),
        ("sls_noop", "state.apply sls_applied, no-op"),
        ("test_would", "state.apply test=True, would change"),
        ("test_noop", "state.apply test=True, no-op"),
    )

    def figure(self, key, field, fmt):
        values = [f[field] for f in self.results.get(key, []) if f.get(field) is not None]
        return fmt.format(statistics.median(values)) if values else "-"

    def table(self):
        rows = []
        for key, label in self.ROWS:
            rows.append(
                (
                    label,
                    self.figure(key, "seconds", "{:.2f}"),
                    self.figure(key, "requests", "{:.0f}"),
                    self.figure(key, "writes", "{:.0f}"),
                    self.figure(key, "in_state", "{:.2f}"),
                    self.figure(key, "changed", "{:.0f}"),
                    len(self.results.get(key, [])),
                )
            )
        headers = ["work", "seconds", "requests", "writes", "in the state s", "changed", "runs"]

        def listing(key):
            return ", ".join(
                "{} {}".format(m, UUID.sub("ID", t.split("?")[0].replace(self.name, "C")))
                for m, t in self.listings.get(key, [])
            )

        unpacked = (
            f", {self.thin_unpacked_mb:.0f} MB in the instance after a call (with the bytecode its "
            "first run "
            "wrote: the thin holds no .pyc)"
            if self.thin_unpacked_mb
            else ""
        )
        note = (
            "C: one Debian 12 container (python3 3.11, no Salt). The lxdapi.* and "
            "state.apply rows run salt-call --local on the host as a user runs it: its "
            "start-up (third row) and its loading of modules are included. The core rows "
            "are one call of the core on a warm connection, no Salt on the host side; the "
            "floors are LXD's own exec of the instance's python3. Requests counted by a "
            "proxy on the socket (lxc exec does not go through it); writes are non-GET: "
            "each exec is a POST, then its wait, its recorded stdout and stderr read and "
            "DELETEd (6 requests, 3 writes). The thin: Salt {} of the host's virtualenv, "
            "{:.1f} MB gzipped{}; made once on the host (the very first call, one run) and "
            "shipped once per instance (after thin_purge). The inner SLS: 5 states (a "
            "folder, three file.managed, one from salt://, a cmd.run with creates). "
            '"fresh": after thin_purge (the thin and the files shipped first). '
            'sls_applied\'s "changes" is two inner salt-calls (the test run that is its '
            "plan, then the real run); its no-op is one inner test run and nothing else, "
            'as is test=True. "in the state": the sls_applied state\'s own duration; '
            '"changed": the inner states it reports changed (or would change). The '
            "requests of a cached call: {}; of the sls_applied no-op: {}.".format(
                self.salt_version,
                self.thin_mb or 0,
                unpacked,
                listing("ping"),
                listing("sls_noop"),
            )
        )
        return (
            f"6. Salt inside a container, no minion there ({self.runs} runs)",
            self.rst_table(headers, rows),
            note,
        )
