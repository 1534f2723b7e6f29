"""How fast lxdapi is next to the alternatives: ``make bench`` (or ``python bench/bench.py``).

Starts a private LXD in a temporary folder (or uses ``--endpoint SOCKET``), imports the
offline busybox image, and prints six tables, each value (but table 5's) the median of
``--runs`` runs:

1. per request: GETs of one instance through lxdapi's :class:`API`, through a bare
   ``http.client`` keep-alive connection on the same socket (the floor), through the
   stock requests path the core used before (requests + requests-unixsocket) and
   through pylxd;
2. requests per no-op run: an SLS of ``--containers`` ``lxdapi.container_present``
   states applied twice with ``salt-call --local state.apply``; the second run's
   requests, counted by the core itself (``DEBUG=1``) and by a counting proxy on the
   socket between salt-call and LXD;
3. wall time to converge the containers from nothing and as a no-op: salt-call, an
   ``lxc`` loop doing the same, and the core creating them one by one or all at once
   (:func:`create_instances`);
4. operation wait latency: from an operation's end (its ``updated_at``) to the client
   knowing it, with ``APIResult.wait()`` (LXD's long-poll) and with a 0.1 s poll loop;
5. the predecessors (``bench/predecessors.py``): Salt 3007's ``lxd_container``, Ansible's
   ``community.general.lxd_container`` and lxdapi (one by one, aggregated, the core's
   concurrent creation) at ``--sizes`` containers, from nothing and as a no-op, counted by
   one proxy;
6. Salt inside a container with no minion there (``bench/inside.py``): ``lxdapi.call``,
   ``lxdapi.grains`` and a ``lxdapi.sls_applied`` state through ``salt-call --local`` in a
   Debian 12 container (``tools/debian_image.py``), next to LXD's own exec of python3:
   wall time, requests, writes (``--parts`` picks the tables to run).

Only loopback traffic; everything it creates is deleted, the private daemon stopped.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "_utils"))

from counting_proxy import CountingProxy  # noqa: E402
from inside import Inside  # noqa: E402
from predecessors import Predecessors  # noqa: E402

import lxdapi_loader  # noqa: E402
import lxdhost  # noqa: E402

core = lxdapi_loader.load(os.path.join(ROOT, "_utils"))

import lxdapi_batch  # noqa: E402
import lxdapi_images  # noqa: E402
import lxdapi_instances  # noqa: E402
import lxdapi_spec  # noqa: E402

#: Requests a client sends before the next one takes its turn (table 1).
BLOCK = 10
#: The parts of the bench (``--parts``).
PARTS = ("requests", "latency", "converge", "predecessors", "inside")


def say(*args):
    print(*args, file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values) if values else float("nan")


def rst_table(headers, rows):
    """An RST simple table (what BENCHMARKS.rst holds)."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), rule]
    for row in cells[1:]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    lines.append(rule)
    return "\n".join(lines)


# ------------------------------------------------------------------ the floor client


class UnixHTTPConnection(http.client.HTTPConnection):
    """A bare http.client connection on a unix socket: the floor."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


# --------------------------------------------------------------- the counting proxy


# ------------------------------------------------------------------------ the bench


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = lxdhost.make_base_dir("lxdapi-bench-")  # containers must traverse it
        self.lxd_dir = None
        self.socket = None
        self.alias_imported = None
        self.prefix = args.prefix
        self.names = [f"{self.prefix}-{i:02d}" for i in range(args.containers)]
        self.get_name = self.prefix + "-get"
        self.alias = self.prefix + "-busybox"
        self.tables = []

    # -- set-up and tear-down ----------------------------------------------------------

    def lxc(self, *args, check=True):
        env = dict(os.environ)
        if self.lxd_dir:
            env["LXD_DIR"] = self.lxd_dir
        else:
            env["LXD_DIR"] = os.path.dirname(self.socket)
        proc = subprocess.run(["lxc", *args], env=env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise RuntimeError("lxc {} failed: {}".format(" ".join(args), proc.stderr))
        return proc.stdout

    def setup(self):
        if self.args.endpoint:
            self.socket = os.path.abspath(self.args.endpoint)
        else:
            say("starting a private LXD in", self.tmp)
            self.lxd_dir = os.path.join(self.tmp, "lxd")
            self.socket = lxdhost.start_daemon(self.lxd_dir)
        self.api = core.API.factory(self.socket)
        if not lxdapi_images.image_alias_get(self.api, self.alias):
            image = os.path.join(self.tmp, "busybox.tar.gz")
            fingerprint = lxdhost.build_busybox_image(image)
            if not core.image_get(self.api, fingerprint):
                lxdapi_images.image_import(self.api, image)
                self.alias_imported = fingerprint
            lxdapi_images.image_alias_add(self.api, self.alias, fingerprint)
        existing = [n for n in self.names + [self.get_name] if core.container_get(self.api, n)]
        if existing and self.args.endpoint:
            raise SystemExit(
                "instances {} exist already on {}; remove them or pass --prefix".format(
                    ", ".join(existing), self.socket
                )
            )
        self.delete(existing)
        self.salt_dir = os.path.join(self.tmp, "salt")
        os.makedirs(os.path.join(self.salt_dir, "srv"))
        with open(os.path.join(self.salt_dir, "srv", "bench.sls"), "w") as fh:
            for name in self.names:
                fh.write(
                    f"{name}:\n  lxdapi.container_present:\n    - source: {self.alias}\n"
                    "    - config:\n        user.bench: '1'\n"
                    "    - status: Running\n"
                )
        with open(os.path.join(self.salt_dir, "srv", "bench_many.sls"), "w") as fh:
            json.dump(
                {
                    "bench-containers": {
                        "lxdapi.containers_present": [
                            {
                                "defaults": {
                                    "source": self.alias,
                                    "config": {"user.bench": "1"},
                                    "status": "Running",
                                }
                            },
                            {"containers": self.names},
                        ]
                    }
                },
                fh,
            )  # JSON is YAML

    def teardown(self):
        try:
            if self.socket and os.path.exists(self.socket):
                self.delete(self.names + [self.get_name])
                if self.args.endpoint:
                    lxdapi_images.image_alias_delete(self.api, self.alias)
                    if self.alias_imported:
                        lxdapi_images.image_delete(self.api, self.alias_imported)
        finally:
            if self.lxd_dir:
                say("stopping the private LXD")
                lxdhost.stop_daemon(self.lxd_dir)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def delete(self, names):
        """Delete instances (killing them), all at once."""
        plans = []
        for name in names:
            container = core.container_get(self.api, name)
            if container:
                plans.append(
                    lxdapi_instances.plan_instance_absent(
                        self.api, name, force=True, current=container
                    )
                )
        errors = lxdapi_batch.apply_plans_concurrently(self.api, plans)
        failed = [str(e) for e in errors if e is not None]
        if failed:
            raise RuntimeError("cleanup failed: " + "; ".join(failed))

    def machine(self):
        model = "unknown CPU"
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        server = self.api.server.get("environment", {})
        try:
            import pylxd

            pylxd_version = pylxd.__version__
        except ImportError:
            pylxd_version = "not installed"
        import requests

        return [
            ("CPU", f"{model} ({os.cpu_count()} CPUs, nproc)"),
            ("Kernel", platform.release()),
            (
                "LXD",
                "{} (storage {}, {})".format(
                    server.get("server_version"),
                    server.get("storage"),
                    "private daemon" if self.lxd_dir else self.socket,
                ),
            ),
            ("Python", platform.python_version()),
            ("requests / pylxd", f"{requests.__version__} / {pylxd_version}"),
            (
                "Runs per value",
                f"{self.args.runs} ({self.args.create_runs} for creations from nothing)",
            ),
            ("Date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")),
        ]

    # -- 1. per request ----------------------------------------------------------------

    def per_request(self):
        n = self.args.requests
        n = max(BLOCK, n - n % BLOCK)
        say(f"1. per request: {n} GETs x {self.args.runs} runs per client")
        running = lxdapi_spec.InstanceSpec(source=self.alias, status="Running")
        lxdapi_instances.plan_instance_present(self.api, self.get_name, running).apply(self.api)
        path = "/1.0/instances/" + self.get_name

        floor = UnixHTTPConnection(self.socket)

        def floor_get():
            floor.request("GET", path)
            json.loads(floor.getresponse().read())

        ours = core.API.factory(self.socket)

        def ours_get():
            return ours.get(path).metadata

        import requests

        stock_session = requests.Session()  # what the core did before issue 7
        stock_session.mount("http+unix://", core.UnixSocketAdapter())
        stock = core.API(stock_session, ours.endpoint)

        def stock_get():
            return stock.get(path).metadata

        clients = [
            ("http.client keep-alive + json.loads (floor)", floor_get),
            ("lxdapi API.get", ours_get),
            ("lxdapi API.get, stock requests path", stock_get),
        ]
        try:
            import pylxd

            pylxd_client = pylxd.Client(endpoint=self.socket)

            def pylxd_get():
                return pylxd_client.instances.get(self.get_name)

            clients.append((f"pylxd {pylxd.__version__} instances.get", pylxd_get))
        except ImportError:
            say("   pylxd is not installed: pip install pylxd (the 'bench' extra)")
        wall = {label: [] for label, _ in clients}
        cpu = {label: [] for label, _ in clients}
        ratio = {label: [] for label, _ in clients}
        for _label, get in clients:  # warm up: connect, read /1.0
            for _ in range(BLOCK):
                get()
        blocks = max(1, n // BLOCK)
        for _ in range(self.args.runs):
            # Clients take turns every BLOCK requests, so that each sees the same load.
            spent = {label: [0.0, 0.0] for label, _ in clients}
            for _ in range(blocks):
                for label, get in clients:
                    t0, c0 = time.perf_counter(), time.process_time()
                    for _ in range(BLOCK):
                        get()
                    spent[label][0] += time.perf_counter() - t0
                    spent[label][1] += time.process_time() - c0
            base = spent[clients[0][0]][0]
            for label, (seconds, cpu_seconds) in spent.items():
                wall[label].append(seconds / (blocks * BLOCK) * 1000)
                cpu[label].append(cpu_seconds / (blocks * BLOCK) * 1000)
                ratio[label].append(seconds / base)
        rows = [
            (
                label,
                f"{median(wall[label]):.3f}",
                f"{median(ratio[label]):.2f}x",
                f"{median(cpu[label]):.3f}",
            )
            for label, _ in clients
        ]
        self.tables.append(
            (
                f"1. Per request: GET /1.0/instances/NAME, {n} per run",
                rst_table(["client", "ms/request", "x floor", "client CPU ms/request"], rows),
                f"Target: lxdapi <= 1.15x the floor. The clients take turns every {BLOCK} requests "
                "(so that all see the same load on the machine); the ratio is the median of "
                "each run's ratio. The stock requests path is what the core did before its "
                "unix-socket fast path (UnixSession).",
            )
        )

    # -- salt-call -----------------------------------------------------------------------

    def salt_config(self, endpoint):
        conf = os.path.join(self.salt_dir, "conf")
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(conf, "minion"), "w") as fh:
            json.dump(
                {
                    "id": "lxdapi-bench",
                    "file_client": "local",
                    "root_dir": os.path.join(self.salt_dir, "root"),
                    "file_roots": {"base": [os.path.join(self.salt_dir, "srv")]},
                    "module_dirs": [ROOT],
                    "lxdapi": {"endpoint": endpoint},
                    "log_level_logfile": "warning",
                },
                fh,
            )  # JSON is YAML
        return conf

    def salt_apply(self, endpoint, debug=False, sls="bench"):
        """Run ``salt-call --local state.apply SLS``; return (seconds, stderr, seconds
        spent in the states themselves: the sum of their ``duration``)."""
        salt_call = os.path.join(os.path.dirname(sys.executable), "salt-call")
        env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
        if debug:
            env["DEBUG"] = "1"
        conf = self.salt_config(endpoint)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [salt_call, "--local", "-c", conf, "state.apply", sls, "--out=json"],
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - t0
        try:
            ret = json.loads(proc.stdout)["local"]
            bad = [r.get("comment") for r in ret.values() if r.get("result") is not True]
            in_states = sum(float(r.get("duration") or 0) for r in ret.values()) / 1000
        except (ValueError, KeyError, AttributeError):
            bad = [proc.stdout[-2000:] + proc.stderr[-2000:]]
        if proc.returncode != 0 or bad:
            raise RuntimeError(f"salt-call state.apply failed: {bad[:3]}")
        return seconds, proc.stderr, in_states

    # -- 2. and 3. -----------------------------------------------------------------------

    def converge(self):
        runs = self.args.runs
        count = len(self.names)
        times = {}

        def timed(label, func):
            t0 = time.perf_counter()
            out = func()
            times.setdefault(label, []).append(time.perf_counter() - t0)
            if isinstance(out, tuple):  # salt-call: the time spent in the states
                times.setdefault(label + "_states", []).append(out[2])

        def lxc_create():
            for name in self.names:
                self.lxc("init", self.alias, name, "-c", "user.bench=1")
                self.lxc("start", name)

        def lxc_noop():
            self.lxc("list", "--format", "csv", "-c", "ns")
            for name in self.names:
                self.lxc("config", "show", name)

        bodies = [
            {
                "name": n,
                "source": {"type": "image", "alias": self.alias},
                "config": {"user.bench": "1"},
            }
            for n in self.names
        ]

        def core_one_by_one():
            for body in bodies:
                self.api.post("instances", json=body).wait()
                self.api.put(
                    "instances/{}/state".format(body["name"]),
                    json={"action": "start", "timeout": 30},
                ).wait()

        def core_concurrent():
            lxdapi_batch.create_instances(self.api, bodies, start=True)

        labels = {
            "salt_new": "salt-call state.apply, from nothing",
            "salt_noop": "salt-call state.apply, no-op",
            "many_new": "salt-call, one containers_present, from nothing",
            "many_noop": "salt-call, one containers_present, no-op",
            "lxc_new": "lxc loop (init -c, start), from nothing",
            "lxc_noop": "lxc loop (list, config show each), no-op",
            "core_seq": "core: POST + start, one by one",
            "core_conc": "core: create_instances(start=True), concurrent",
        }
        create_runs = self.args.create_runs
        for r in range(create_runs):
            say(f"2./3. converging {count} containers, run {r + 1} of {create_runs}")
            self.delete(self.names)
            timed("salt_new", lambda: self.salt_apply(self.socket))
            # The no-op runs (cheap) are repeated until there are --runs of them.
            repeat = 1 if r < create_runs - 1 else max(1, runs - r)
            for _ in range(repeat):
                timed("salt_noop", lambda: self.salt_apply(self.socket))
                timed("lxc_noop", lxc_noop)
            if r == 0:
                self.count_noop_requests()
            self.delete(self.names)
            timed("many_new", lambda: self.salt_apply(self.socket, sls="bench_many"))
            timed("many_noop", lambda: self.salt_apply(self.socket, sls="bench_many"))
            self.delete(self.names)
            timed("lxc_new", lxc_create)
            self.delete(self.names)
            timed("core_seq", core_one_by_one)
            self.delete(self.names)
            timed("core_conc", core_concurrent)
            running = [
                c["name"]
                for c in lxdapi_instances.instance_list(self.api, recursion=1)
                if c["name"] in self.names and c["status"] == "Running"
            ]
            if len(running) != count:
                raise RuntimeError(f"create_instances left {len(running)} of {count} running")
        self.delete(self.names)
        rows = []
        for key in (
            "salt_new",
            "salt_noop",
            "many_new",
            "many_noop",
            "lxc_new",
            "lxc_noop",
            "core_seq",
            "core_conc",
        ):
            states = times.get(key + "_states")
            rows.append(
                (
                    labels[key],
                    f"{median(times[key]):.2f}",
                    f"{median(times[key]) / count * 1000:.0f}",
                    f"{median(states):.3f}" if states else "-",
                    len(times[key]),
                )
            )
        self.tables.append(
            (
                f"3. Wall time, {count} containers (source image, one config key, Running)",
                rst_table(["work", "seconds", "ms/container", "in the states (s)", "runs"], rows),
                "salt-call's time includes its own start-up and state compilation; \"in the "
                "states\" is the sum of the states' own durations. containers_present "
                "declares the same containers in one state, which sends every creation, then "
                "every start, before waiting on any. The lxc loop runs two lxc "
                "processes per container from nothing (init with -c, start), and one list "
                "plus one config show per container as a no-op. The core rows send the same "
                "writes as the states (POST, then a start), one container after the other or "
                "all at once.",
            )
        )

    def count_noop_requests(self):
        """The no-op run's requests: the core's own DEBUG dump and the proxy's count."""
        proxy = CountingProxy(os.path.join(self.tmp, "proxy.socket"), self.socket)
        try:
            _, stderr, _ = self.salt_apply(proxy.path, debug=True)
            time.sleep(0.2)  # let the proxy threads see the last bytes
            seen = list(proxy.requests)
        finally:
            proxy.close()
        dumped = []
        for line in stderr.splitlines():
            parts = line.split(" ")
            if (
                len(parts) == 2
                and parts[0] in ("GET", "POST", "PUT", "PATCH", "DELETE")
                and parts[1].startswith(("http+unix://", "https://"))
            ):
                path = "/" + parts[1].split("://", 1)[1].split("/", 1)[1]
                dumped.append((parts[0], path))
        answers = len([line for line in stderr.splitlines() if line.startswith("HTTP/")])
        count = len(self.names)
        rows = []
        for label, reqs in (("the core (DEBUG=1 dump)", dumped), ("proxy on the socket", seen)):
            writes = [r for r in reqs if r[0] != "GET"]
            rows.append((label, len(reqs), len(writes), f"{len(reqs) / count:.2f}"))
        if answers != len(dumped):
            say(f"   warning: {len(dumped)} requests dumped but {answers} answers")
        listing = ", ".join(f"{m} {p}" for m, p in seen)
        self.tables.append(
            (
                f"2. Requests in a no-op run of {count} container_present states",
                rst_table(["counted by", "requests", "writes", "per container"], rows),
                f"Target: no writes and <= {count + 1} requests ({1} per container + 1). The "
                "requests: "
                f"{listing}.",
            )
        )

    # -- 4. operation wait latency -------------------------------------------------------

    def op_latency(self):
        samples = max(5, self.args.runs)
        say(f"4. operation wait latency, {samples} runs")
        body = {
            "command": ["sleep", "0.5"],
            "record-output": False,
            "wait-for-websocket": False,
            "interactive": False,
        }
        url = f"instances/{self.get_name}/exec"

        def ended_at(op):
            text = op["updated_at"]
            date, _, frac = text.partition(".")
            digits = "".join(ch for ch in frac if ch.isdigit())
            zone = frac[len(digits) :] or "+00:00"
            zone = "+00:00" if zone == "Z" else zone
            stamp = datetime.datetime.fromisoformat(
                "{}.{}{}".format(date, digits[:6].ljust(6, "0"), zone)
            )
            return stamp.timestamp()

        def long_poll():
            op = self.api.post(url, json=body).wait()
            return time.time() - ended_at(op.metadata)

        def poll_loop():
            op_url = self.api.post(url, json=body).operation
            time.sleep(random.uniform(0, 0.1))  # no lucky phase between polls and the end
            while True:
                op = self.api.get(op_url).metadata
                if op["status_code"] not in (103, 105, 106):
                    return time.time() - ended_at(op)
                time.sleep(0.1)

        rows = []
        for label, func in (
            ("APIResult.wait() (GET .../wait long-poll)", long_poll),
            ("GET operation every 0.1 s", poll_loop),
        ):
            lat = [func() * 1000 for _ in range(samples)]
            rows.append((label, f"{median(lat):.1f}", f"{max(lat):.1f}"))
        self.tables.append(
            (
                f"4. Operation wait latency (exec of sleep 0.5, {samples} runs)",
                rst_table(["waiting with", "ms after the end (median)", "worst"], rows),
                "From the operation's updated_at (its end, LXD's clock) to the client "
                "holding the result (same machine, same clock).",
            )
        )

    # -- report --------------------------------------------------------------------------

    def report(self):
        out = ["Machine", "", rst_table(["what", "value"], self.machine()), ""]
        order = sorted(self.tables, key=lambda t: t[0])
        for title, table, note in order:
            out += [title, "", table, "", note, ""]
        print("\n".join(out).rstrip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint",
        help="an LXD unix socket to use instead of a "
        "private daemon (the bench creates and deletes its own instances)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per value (median)")
    parser.add_argument(
        "--create-runs",
        type=int,
        default=2,
        help="runs of each creation from nothing in table 3 (median)",
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="GETs per client and run in table 1"
    )
    parser.add_argument(
        "--containers", type=int, default=20, help="containers in the SLS and the loops"
    )
    parser.add_argument(
        "--prefix", default="lxdapi-bench", help="name prefix of the instances it creates"
    )
    parser.add_argument(
        "--sizes",
        default="20,100",
        help="container counts of table 5 (the predecessors), separated by commas",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="tables to run, separated by commas: requests (1), converge (2, 3), "
        "latency (4), predecessors (5), inside (6)",
    )
    args = parser.parse_args(argv)
    try:
        lxdhost.require_lxd()
    except lxdhost.LXDHostError as exc:
        raise SystemExit(str(exc)) from None
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error("unknown --parts: {}".format(", ".join(sorted(unknown))))
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: numbers separated by commas")
    bench = Bench(args)
    started = time.perf_counter()
    try:
        bench.setup()
        if "requests" in parts:
            bench.per_request()
        if "latency" in parts:
            bench.op_latency()
        if "converge" in parts:
            bench.converge()
        if "predecessors" in parts and sizes:
            Predecessors(bench, sizes, core, rst_table).run()
        if "inside" in parts:
            Inside(bench, core, rst_table).run()
    finally:
        bench.teardown()
    bench.report()
    say(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
