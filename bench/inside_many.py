"""Salt inside many containers at once (issue 25): ``lxdapi.sls_applied`` states and
``lxdapi.sls`` on 1, 10 and 30 Debian 12 containers, one after the other and side by
side, next to the floor.

Starts a private LXD in a temporary folder (``tools/lxdhost.py``), imports the Debian 12
image of ``tools/debian_image.py`` (built once per machine and cached), launches the
containers, and runs ``salt-call --local`` on the host as a user does, its requests
counted by a :class:`CountingProxy` between it and LXD. Everything is removed at the end.

What is timed, for each N (medians of ``--runs``):

- ``sls_applied``: one ``state.apply`` of a host SLS with N ``sls_applied`` states (each
  the same small inner SLS in its own container, with its own pillar): without
  aggregation (one after the other, today's behaviour), then with ``aggregate: True``
  (side by side, at most ``--concurrency`` at once; default: the host's CPU count, see
  ``lxdapi_parallel.default_concurrency``); with changes (a new ``rev`` in the pillar:
  one file changes in each container) and as a no-op (the same again);
- ``lxdapi.sls``: on a target of N (a list) with ``concurrency=1`` and with the default,
  when the execution module takes targets; otherwise N ``salt-call lxdapi.sls`` one after
  the other (and no side-by-side figure);
- the floor: the inner ``salt-call test.ping`` of one container, run by the core's
  ``salt_call`` (LXD's exec of the instance's python3 on the thin, nothing on the host
  but the core), times N divided by the cores used (``min(N, cores)``).

The thin and the files are shipped to every container before anything is timed, and the
grains cache is kept for the whole bench (``lxdapi:grains_cache_expiration``), so that
every figure is of a warm run. Not run by CI or ``make test``: ``make bench-inside``.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "_utils"))

import debian_image  # noqa: E402
from counting_proxy import CountingProxy  # noqa: E402

import lxdapi_loader  # noqa: E402
import lxdhost  # noqa: E402

core = lxdapi_loader.load(os.path.join(ROOT, "_utils"))

import lxdapi_batch  # noqa: E402
import lxdapi_images  # noqa: E402
import lxdapi_inside  # noqa: E402
import lxdapi_parallel  # noqa: E402

#: Longest one salt-call may take before the bench gives up.
TIMEOUT = 1800
PREFIX = "bench-many"
#: Where the inner states write, in each container.
TARGET = "/root/bench-many"

INNER_SLS = f"""\
bench-dir:
  file.directory:
    - name: {TARGET}
    - mode: '0750'

bench-conf:
  file.managed:
    - name: {TARGET}/app.conf
    - contents: |
        # managed by lxdapi
        name = {{{{ grains['id'] }}}}
        rev = {{{{ pillar['rev'] }}}}
    - require:
      - file: bench-dir

bench-motd:
  file.managed:
    - name: {TARGET}/motd
    - contents: Configured by Salt from the host, with no minion here.
    - require:
      - file: bench-dir
"""


def say(*args):
    print(*args, file=sys.stderr, flush=True)


class ManyBench:
    def __init__(self, args):
        self.args = args
        self.tmp = lxdhost.make_base_dir("lxdapi-bench-many-")
        self.lxd_dir = os.path.join(self.tmp, "lxd")
        self.socket = None
        self.api = None
        self.proxy = None
        self.names = [f"{PREFIX}-{i:02d}" for i in range(max(args.sizes))]
        self.cores = os.cpu_count() or 1
        self.concurrency = lxdapi_parallel.check_concurrency(args.concurrency)
        self.rev = 0
        self.targets = None  # whether lxdapi.sls takes a target of many
        self.results = {}  # (n, work, mode) -> [figures]

    # -- set-up and tear-down ------------------------------------------------------------

    def setup(self):
        say("starting a private LXD in", self.tmp)
        self.socket = lxdhost.start_daemon(self.lxd_dir)
        self.api = core.API.factory(self.socket)
        path = debian_image.ensure()
        say("importing the Debian 12 image", path)
        fingerprint = lxdapi_images.image_get_fingerprint(path)
        lxdapi_images.image_import(self.api, path)
        lxdapi_images.image_alias_add(self.api, "debian", fingerprint)
        say(f"launching {len(self.names)} containers")
        bodies = [{"name": n, "source": {"type": "image", "alias": "debian"}} for n in self.names]
        for i in range(0, len(bodies), 5):  # LXD forgets an operation 5 s after it ends
            lxdapi_batch.create_instances(self.api, bodies[i : i + 5], start=True, timeout=120)
        files = os.path.join(self.tmp, "files")
        os.makedirs(files)
        self.files = files
        with open(os.path.join(files, "bench_many.sls"), "w") as fh:
            fh.write(INNER_SLS)
        self.proxy = CountingProxy(os.path.join(self.tmp, "count.socket"), self.socket)
        self.conf = os.path.join(self.tmp, "conf")
        os.makedirs(self.conf)
        with open(os.path.join(self.conf, "minion"), "w") as fh:
            json.dump(
                {
                    "id": "lxdapi-bench-many",
                    "file_client": "local",
                    "root_dir": os.path.join(self.tmp, "root"),
                    "file_roots": {"base": [files]},
                    "pillar_roots": {"base": [os.path.join(self.tmp, "pillar")]},
                    "fileserver_list_cache_time": 0,
                    "module_dirs": [ROOT],
                    "lxdapi": {
                        "endpoint": self.proxy.path,
                        "grains_cache_expiration": 86400,
                    },
                    "log_level_logfile": "warning",
                },
                fh,
            )  # JSON is YAML

    def teardown(self):
        try:
            if self.proxy:
                self.proxy.close()
        finally:
            say("stopping the private LXD")
            lxdhost.stop_daemon(self.lxd_dir)
            shutil.rmtree(self.tmp, ignore_errors=True)

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
        if ret is None:
            raise RuntimeError(
                "salt-call {} failed (exit {}): {}".format(
                    " ".join(args)[:200],
                    proc.returncode,
                    proc.stdout[-1500:] + proc.stderr[-1500:],
                )
            )
        return seconds, ret

    def host_sls(self, names, aggregate):
        """The host SLS: one sls_applied per container, the current ``rev``."""
        text = ""
        for name in names:
            text += (
                f"apply-{name}:\n"
                "  lxdapi.sls_applied:\n"
                f"    - container: {name}\n"
                "    - mods: bench_many\n"
                f"    - pillar: {{rev: {self.rev}}}\n"
            )
            if aggregate:
                text += f"    - aggregate: True\n    - concurrency: {self.concurrency}\n"
        with open(os.path.join(self.files, "bench_many_host.sls"), "w") as fh:
            fh.write(text)

    def sls_applied(self, names, aggregate, changed):
        self.host_sls(names, aggregate)
        seconds, ret = self.salt_call("state.apply", "bench_many_host")
        if not isinstance(ret, dict) or len(ret) != len(names):
            raise RuntimeError(f"state.apply returned {ret!r}"[:2000])
        for state in ret.values():
            count = len(state.get("changes") or {})
            if state.get("result") is not True or count != changed:
                raise RuntimeError(f"expected {changed} changes: {state}")
        return seconds

    def module_sls(self, names, concurrency, changed):
        pillar = f"pillar={{rev: {self.rev}}}"
        if self.targets:
            seconds, ret = self.salt_call(
                "lxdapi.sls", json.dumps(names), "bench_many", pillar, f"concurrency={concurrency}"
            )
            # a mapping by instance; a state's key (module_|-id_|-name_|-fun) is no name
            results = ret if set(names) <= set(ret) else {names[0]: ret}
        else:
            seconds, results = 0.0, {}
            for name in names:
                took, results[name] = self.salt_call("lxdapi.sls", name, "bench_many", pillar)
                seconds += took
        for name in names:
            states = results.get(name)
            if not isinstance(states, dict):
                raise RuntimeError(f"lxdapi.sls in {name}: {states!r}"[:2000])
            count = sum(1 for s in states.values() if isinstance(s, dict) and s.get("changes"))
            if any(not isinstance(s, dict) or s.get("result") is not True for s in states.values()):
                raise RuntimeError(f"lxdapi.sls in {name} failed: {states}"[:2000])
            if count != changed:
                raise RuntimeError(f"lxdapi.sls in {name}: {count} changes, not {changed}")
        return seconds

    def detect_targets(self):
        """Whether ``lxdapi.sls`` takes a list of instances (issue 25's targets)."""
        try:
            _, ret = self.salt_call(
                "lxdapi.sls",
                json.dumps(self.names[:2]),
                "bench_many",
                "test=True",
                "pillar={rev: 0}",
            )
        except RuntimeError:
            return False
        return isinstance(ret, dict) and set(self.names[:2]) <= set(ret)

    def warm_up(self):
        """Ship the thin and the files to every container, and cache their grains."""
        say(f"warming up: the thin, the files and the grains of {len(self.names)} containers")
        self.rev += 1
        self.sls_applied(self.names, aggregate=True, changed=3)
        self.targets = self.detect_targets()
        say("lxdapi.sls takes targets" if self.targets else "lxdapi.sls: one name per call")
        thin = self.thin_bundle()
        # the core's salt_call through the proxy (the floor)
        self.floor_api = core.API.factory(self.proxy.path)
        self.thin = thin

    def thin_bundle(self):
        import salt.version

        path = os.path.join(self.tmp, "root", "var", "cache", "salt", "minion", "thin", "thin.tgz")
        return lxdapi_inside.Bundle.from_file("salt-" + salt.version.__version__, path)

    def floor_ping(self, name):
        t0 = time.perf_counter()
        ret = lxdapi_inside.salt_call(self.floor_api, name, self.thin, ["test.ping"])
        if ret is not True:
            raise RuntimeError(f"test.ping in {name} returned {ret!r}")
        return time.perf_counter() - t0

    def measure(self, key, func, *args, **kwargs):
        """``func(*args, **kwargs)``, which returns its seconds; its requests counted."""
        self.proxy.reset()
        seconds = func(*args, **kwargs)
        time.sleep(0.2)  # let the proxy threads see the last bytes
        n = key[0]
        figures = {"seconds": seconds, "requests": len(self.proxy.requests) / n}
        self.results.setdefault(key, []).append(figures)
        say(f"  {key}: {seconds:.2f} s, {figures['requests']:.1f} requests per container")

    def run(self):
        self.warm_up()
        for r in range(self.args.runs):
            for n in self.args.sizes:
                names = self.names[:n]
                say(f"N={n}, run {r + 1} of {self.args.runs}")
                pings = [self.floor_ping(name) for name in names[:5]]
                self.results.setdefault((n, "floor", "ping"), []).append(
                    {"seconds": statistics.median(pings)}
                )
                for aggregate, mode in ((False, "serial"), (True, "parallel")):
                    self.rev += 1
                    key = (n, "sls_applied changes", mode)
                    self.measure(key, self.sls_applied, names, aggregate, changed=1)
                    key = (n, "sls_applied no-op", mode)
                    self.measure(key, self.sls_applied, names, aggregate, changed=0)
                modes = (("serial", 1), ("parallel", self.concurrency))
                for mode, concurrency in modes if self.targets else modes[:1]:
                    self.rev += 1
                    key = (n, "lxdapi.sls changes", mode)
                    self.measure(key, self.module_sls, names, concurrency, changed=1)
                    key = (n, "lxdapi.sls no-op", mode)
                    self.measure(key, self.module_sls, names, concurrency, changed=0)

    # -- the report ----------------------------------------------------------------------

    def figure(self, key, field="seconds"):
        values = [f[field] for f in self.results.get(key, []) if f.get(field) is not None]
        return statistics.median(values) if values else None

    def report(self):
        used = {n: min(n, self.cores, self.concurrency) for n in self.args.sizes}
        headers = [
            "N",
            "work",
            "one after the other s",
            "side by side s",
            "floor s",
            "side by side / floor",
            "requests per container",
        ]
        rows = []
        for n in self.args.sizes:
            ping = self.figure((n, "floor", "ping"))
            floor = ping * n / used[n]
            for work in (
                "sls_applied no-op",
                "sls_applied changes",
                "lxdapi.sls no-op",
                "lxdapi.sls changes",
            ):
                serial = self.figure((n, work, "serial"))
                parallel = self.figure((n, work, "parallel"))
                requests = self.figure((n, work, "parallel"), "requests") or self.figure(
                    (n, work, "serial"), "requests"
                )
                rows.append(
                    [
                        str(n),
                        work,
                        f"{serial:.1f}" if serial is not None else "-",
                        f"{parallel:.1f}" if parallel is not None else "-",
                        f"{floor:.1f}",
                        f"{parallel / floor:.1f}x" if parallel is not None else "-",
                        f"{requests:.1f}" if requests is not None else "-",
                    ]
                )
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        rule = "  ".join("=" * w for w in widths)
        lines = [rule, "  ".join(h.ljust(w) for h, w in zip(headers, widths)), rule]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        lines.append(rule)
        print("\n".join(lines))
        print()
        print(
            "Cores: {}; side by side at most {} at once; floor: the inner salt-call "
            "test.ping of one container by the core's salt_call (median {}), times N "
            "divided by min(N, cores, concurrency); lxdapi.sls {}; {} run(s).".format(
                self.cores,
                self.concurrency,
                ", ".join(
                    "N={}: {:.2f} s".format(n, self.figure((n, "floor", "ping")))
                    for n in self.args.sizes
                ),
                "on a target of N" if self.targets else "called once per container",
                self.args.runs,
            )
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=lambda t: [int(x) for x in t.split(",")], default=[1, 10, 30]
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        lxdhost.require_lxd()
    except lxdhost.LXDHostError as exc:
        raise SystemExit(str(exc)) from None
    bench = ManyBench(args)
    started = time.perf_counter()
    try:
        bench.setup()
        bench.run()
        bench.report()
    finally:
        bench.teardown()
    say(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
