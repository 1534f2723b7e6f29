"""Rolling restarts next to all at once: ``make bench-rolling`` (or ``python
bench/rolling.py``).

Starts a private LXD in a temporary folder (or uses ``--endpoint SOCKET``), imports the
offline busybox image, creates ``--containers`` running busybox containers (30), then
restarts them all by changing a key that applies only at a restart
(``limits.kernel.nofile``, with ``restart_on_change``), through the same plans as
``lxdapi.containers_present``: all at once (:class:`lxdapi_batch.PlanGroup`), then a
batch at a time (:class:`lxdapi_rolling.RollingGroup`, ``--batch`` at once, 5), gated on
Running, and gated on a readiness probe (``wait_for: {exec: [cat, /etc/passwd]}``).

For each way: the wall time, the peak number of the containers not Running at once (a
thread polls ``GET /1.0/instances?recursion=1`` every 20 ms from its own connection; its
requests are not counted) and the requests sent by the run (all, and writes). Each way
runs ``--runs`` times (3); the table shows the medians, the peak the largest seen.

Only loopback traffic; everything it creates is deleted, the private daemon stopped. Not
run by CI.
"""

import argparse
import os
import shutil
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "_utils"))

import lxdapi_loader  # noqa: E402
import lxdhost  # noqa: E402

core = lxdapi_loader.load(os.path.join(ROOT, "_utils"))

import lxdapi_batch  # noqa: E402
import lxdapi_images  # noqa: E402
import lxdapi_instances  # noqa: E402
import lxdapi_rolling  # noqa: E402

#: The key whose change needs a restart.
KEY = "limits.kernel.nofile"


def say(*args):
    print(*args, file=sys.stderr, flush=True)


def rst_table(headers, rows):
    """An RST simple table (what BENCHMARKS.rst holds)."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(c.ljust(w) for c, w in zip(headers, widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells[1:]]
    return "\n".join(lines + [rule])


class Sampler:
    """Polls the containers' status from its own thread and API: ``peak`` is the most of
    ``names`` seen not Running at once."""

    def __init__(self, socket, names, interval=0.02):
        self.api = core.API.factory(socket)
        self.names, self.interval = set(names), interval
        self.peak, self.samples = 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            items = self.api.get("instances", params={"recursion": 1}).metadata or []
            down = sum(1 for i in items if i["name"] in self.names and i["status"] != "Running")
            self.peak = max(self.peak, down)
            self.samples += 1
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


class Counter:
    """Counts the requests the bench's own thread sends (the sampler's are not)."""

    def __init__(self):
        self.thread = threading.current_thread()
        self.requests = self.writes = 0

    def __call__(self, method, url, status):
        if threading.current_thread() is self.thread:
            self.requests += 1
            self.writes += method != "GET"

    def __enter__(self):
        core.API.observers.append(self)
        return self

    def __exit__(self, *exc):
        core.API.observers.remove(self)


class RollingBench:
    def __init__(self, args):
        self.args = args
        self.tmp = lxdhost.make_base_dir("lxdapi-bench-rolling-")
        self.lxd_dir = None
        self.names = [f"{args.prefix}-{i:02d}" for i in range(args.containers)]
        self.alias = args.prefix + "-busybox"
        self.value = 1024

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
            lxdapi_images.image_alias_add(self.api, self.alias, fingerprint)
        existing = [n for n in self.names if core.container_get(self.api, n)]
        if existing:
            raise SystemExit(f"instances {', '.join(existing)} exist already; pass --prefix")
        say(f"creating {len(self.names)} running containers")
        lxdapi_batch.create_instances(
            self.api,
            [
                {"name": n, "source": self.alias, "config": {KEY: str(self.value)}}
                for n in self.names
            ],
            start=True,
        )

    def teardown(self):
        try:
            plans = [
                lxdapi_instances.plan_instance_absent(self.api, n, force=True)
                for n in self.names
                if core.container_get(self.api, n)
            ]
            lxdapi_batch.apply_plans_concurrently(self.api, plans)
            if self.args.endpoint:
                lxdapi_images.image_alias_delete(self.api, self.alias)
        finally:
            if self.lxd_dir:
                say("stopping the private LXD")
                lxdhost.stop_daemon(self.lxd_dir)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def group(self, rolling):
        """The plans of the next change (a new value of ``KEY``, restart_on_change)."""
        self.value += 1
        group = lxdapi_batch.plan_instances_present(
            self.api,
            self.names,
            {
                "status": "Running",
                "restart_on_change": True,
                "config": {KEY: str(self.value)},
                "timeout": self.args.timeout,
            },
        )
        if rolling is None:
            return group
        return lxdapi_rolling.RollingGroup(
            group.named, rolling, lxdapi_batch.apply_plans_concurrently
        )

    def once(self, rolling):
        with Counter() as counter:
            started = time.monotonic()
            with Sampler(self.socket, self.names) as sampler:
                group = self.group(rolling)
                assert len(group.todo) == len(self.names), "every container restarts"
                group.apply(self.api)
            elapsed = time.monotonic() - started
        held = self.api.get("instances", params={"recursion": 1}).metadata or []
        assert all(
            i["status"] == "Running" and i["config"][KEY] == str(self.value)
            for i in held
            if i["name"] in self.names
        )
        return elapsed, sampler.peak, sampler.samples, counter.requests, counter.writes

    def run(self):
        batch = self.args.batch
        ways = [
            ("all at once", None),
            (f"batches of {batch}, each Running", {"batch": batch}),
            (
                f"batches of {batch}, each ready (exec probe)",
                {"batch": batch, "wait_for": {"exec": ["cat", "/etc/passwd"], "timeout": 60}},
            ),
        ]
        rows = []
        for label, rolling in ways:
            results = []
            for i in range(self.args.runs):
                say(f"{label}: run {i + 1} of {self.args.runs}")
                results.append(self.once(rolling))
            times = [r[0] for r in results]
            rows.append(
                [
                    label,
                    f"{statistics.median(times):.1f}",
                    f"{min(times):.1f}-{max(times):.1f}",
                    max(r[1] for r in results),
                    int(statistics.median(r[2] for r in results)),
                    int(statistics.median(r[3] for r in results)),
                    int(statistics.median(r[4] for r in results)),
                ]
            )
        headers = [
            f"{len(self.names)} restarts",
            "wall s (median)",
            "range",
            "peak down",
            "samples",
            "requests",
            "writes",
        ]
        print(rst_table(headers, rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--timeout", type=int, default=90, help="seconds a clean stop may take (a loaded host)"
    )
    parser.add_argument("--endpoint", help="an LXD socket to use instead of a private LXD")
    parser.add_argument("--prefix", default="bench-roll")
    args = parser.parse_args(argv)
    try:
        lxdhost.require_lxd()
    except lxdhost.LXDHostError as exc:
        raise SystemExit(str(exc)) from None
    bench = RollingBench(args)
    try:
        bench.setup()
        bench.run()
    finally:
        bench.teardown()


if __name__ == "__main__":
    main()
