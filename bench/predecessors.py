"""Table 5 of the bench: lxdapi next to its predecessors, same daemon, same run, counted by
the same proxy.

For each size (``--sizes``, 20 and 100 containers) and each tool, the containers (image
source, one config key, running) are converged from nothing, then once more as a no-op,
through one :class:`CountingProxy` socket in front of LXD's: wall time, requests, writes
(everything but GET). The tools:

- Salt 3007's ``lxd_container.present`` (pylxd), one state per container, ``salt-call
  --local`` from its own virtualenv (``.venv-bench-salt3007``, ``make bench-venvs``);
- Ansible's ``community.general.lxd_container``, one task looping over the containers,
  ``ansible-playbook -c local`` from its own virtualenv (``.venv-bench-ansible``);
- lxdapi: one ``lxdapi.container_present`` state per container, one by one; the same SLS
  with ``aggregate: True`` on every state (``mod_aggregate``); and, for reference, the
  core's concurrent creation (``create_instances(start=True)``).

Every container is deleted between tools (outside the proxy: not counted).
"""

import json
import os
import re
import subprocess
import sys
import time

from counting_proxy import CountingProxy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SALT3007_VENV = os.path.join(ROOT, ".venv-bench-salt3007")
ANSIBLE_VENV = os.path.join(ROOT, ".venv-bench-ansible")
CONFIG = {"user.bench": "1"}
#: Longest a tool may take for one convergence before it is counted as failed.
TIMEOUT = 1800

TOOLS = (
    ("salt3007", "Salt 3007.8 lxd_container.present (pylxd)"),
    ("ansible", "Ansible community.general.lxd_container"),
    ("lxdapi", "lxdapi container_present, one by one"),
    ("lxdapi_agg", "lxdapi container_present, aggregate: True"),
    ("core_conc", "lxdapi core create_instances (concurrent)"),
)


def say(*args):
    print(*args, file=sys.stderr, flush=True)


class ToolFailed(RuntimeError):
    pass


def salt_call(salt_call_exe, conf, sls):
    """``salt-call --local state.apply SLS``: (seconds, seconds in the states, states
    that report changes)."""
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [salt_call_exe, "--local", "-c", conf, "state.apply", sls, "--out=json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"salt-call took more than {TIMEOUT} s") from None
    seconds = time.perf_counter() - t0
    try:
        ret = json.loads(proc.stdout)["local"]
        bad = [r.get("comment") for r in ret.values() if r.get("result") is not True]
        in_states = sum(float(r.get("duration") or 0) for r in ret.values()) / 1000
        changed = len([r for r in ret.values() if r.get("changes")])
    except (ValueError, KeyError, AttributeError, TypeError):
        bad = [proc.stdout[-1500:] + proc.stderr[-1500:]]
    if proc.returncode != 0 or bad:
        raise ToolFailed(f"salt-call state.apply {sls} failed: {bad[:2]}")
    return seconds, in_states, changed


class Predecessors:
    """Table 5; ``bench`` is the running :class:`bench.Bench` (its daemon, API, image
    alias, salt folder and helpers)."""

    def __init__(self, bench, sizes, core, rst_table):
        self.bench = bench
        self.core = core
        self.rst_table = rst_table
        self.sizes = sizes
        self.tmp = os.path.join(bench.tmp, "predecessors")
        os.makedirs(self.tmp, exist_ok=True)
        self.srv = os.path.join(bench.salt_dir, "srv")
        self.proxy = None
        self.partial = None
        self.results = {}  # (size, tool) -> dict

    # -- the tools -----------------------------------------------------------------------

    def names(self, size):
        return [f"{self.bench.prefix}-p{i:03d}" for i in range(size)]

    def write_sls(self, size):
        names = self.names(size)
        source = {"type": "image", "alias": self.bench.alias}
        lxdapi, aggregated, salt3007 = {}, {}, {}
        for name in names:
            args = [{"source": self.bench.alias}, {"config": CONFIG}, {"status": "Running"}]
            lxdapi[name] = {"lxdapi.container_present": args}
            aggregated[name] = {"lxdapi.container_present": args + [{"aggregate": True}]}
            salt3007[name] = {
                "lxd_container.present": [
                    {"running": True},
                    {"source": source},
                    {"config": CONFIG},
                    {"remote_addr": self.proxy.path},
                ]
            }
        for sls, data in (
            (f"pred_lxdapi_{size}", lxdapi),
            (f"pred_lxdapi_agg_{size}", aggregated),
            (f"pred_salt3007_{size}", salt3007),
        ):
            with open(os.path.join(self.srv, sls + ".sls"), "w") as fh:
                json.dump(data, fh, indent=1)  # JSON is YAML
        playbook = [
            {
                "hosts": "localhost",
                "gather_facts": False,
                "tasks": [
                    {
                        "name": "containers",
                        "community.general.lxd_container": {
                            "name": "{{ item }}",
                            "url": "unix:" + self.proxy.path,
                            "state": "started",
                            "source": source,
                            "config": CONFIG,
                        },
                        "loop": names,
                    }
                ],
            }
        ]
        with open(os.path.join(self.tmp, f"playbook_{size}.yml"), "w") as fh:
            json.dump(playbook, fh, indent=1)

    def salt3007_conf(self):
        conf = os.path.join(self.tmp, "salt3007", "conf")
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(conf, "minion"), "w") as fh:
            json.dump(
                {
                    "id": "lxdapi-bench-salt3007",
                    "file_client": "local",
                    "root_dir": os.path.join(self.tmp, "salt3007", "root"),
                    "file_roots": {"base": [self.srv]},
                    "log_level_logfile": "warning",
                },
                fh,
            )
        return conf

    def run_salt3007(self, size):
        exe = os.path.join(SALT3007_VENV, "bin", "salt-call")
        if not os.path.exists(exe):
            raise ToolFailed(f"{exe} missing: make bench-venvs")
        return salt_call(exe, self.salt3007_conf(), f"pred_salt3007_{size}")

    def run_lxdapi(self, size, aggregate=False):
        salt_call_exe = os.path.join(os.path.dirname(sys.executable), "salt-call")
        conf = self.bench.salt_config(self.proxy.path)
        sls = "pred_lxdapi_{}{}".format("agg_" if aggregate else "", size)
        return salt_call(salt_call_exe, conf, sls)

    def run_ansible(self, size):
        exe = os.path.join(ANSIBLE_VENV, "bin", "ansible-playbook")
        if not os.path.exists(exe):
            raise ToolFailed(f"{exe} missing: make bench-venvs")
        home = os.path.join(self.tmp, "ansible")
        os.makedirs(home, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(
            ANSIBLE_HOME=home,
            ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
            ANSIBLE_REMOTE_TEMP=os.path.join(home, "remote"),
            ANSIBLE_CONFIG=os.path.join(home, "none.cfg"),  # no ansible.cfg of the cwd
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_HOST_KEY_CHECKING="0",
            ANSIBLE_PYTHON_INTERPRETER=os.path.join(ANSIBLE_VENV, "bin", "python"),
            PATH=os.path.join(ANSIBLE_VENV, "bin") + os.pathsep + env.get("PATH", ""),
        )
        cmd = [
            exe,
            "-i",
            "localhost,",
            "-c",
            "local",
            os.path.join(self.tmp, f"playbook_{size}.yml"),
        ]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT, cwd=home
            )
        except subprocess.TimeoutExpired:
            raise ToolFailed(f"ansible-playbook took more than {TIMEOUT} s") from None
        seconds = time.perf_counter() - t0
        recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+).*failed=(\d+)", proc.stdout)
        if proc.returncode != 0 or not recap or recap.group(3) != "0":
            raise ToolFailed(
                f"ansible-playbook failed (rc {proc.returncode}): "
                f"{(proc.stdout[-1500:] + proc.stderr[-1500:]).strip()}"
            )
        # The loop is one task: the recap counts it once, changed or not; the items tell.
        changed = len(re.findall(r"^changed: \[localhost\]", proc.stdout, re.M))
        return seconds, None, changed

    def run_core(self, size):
        import lxdapi_batch

        api = self.core.API.factory(self.proxy.path)
        bodies = [
            {
                "name": n,
                "source": {"type": "image", "alias": self.bench.alias},
                "config": dict(CONFIG),
            }
            for n in self.names(size)
        ]
        t0 = time.perf_counter()
        lxdapi_batch.create_instances(api, bodies, start=True)
        return time.perf_counter() - t0, None, None

    # -- measuring -----------------------------------------------------------------------

    def check_converged(self, size):
        import lxdapi_instances

        names = set(self.names(size))
        good = [
            c["name"]
            for c in lxdapi_instances.instance_list(self.bench.api, recursion=1)
            if c["name"] in names
            and c["status"] == "Running"
            and c.get("config", {}).get("user.bench") == "1"
        ]
        if len(good) != size:
            raise ToolFailed(f"{len(good)} of {size} containers running as declared")

    def measure(self, func):
        """Run ``func`` through the proxy: its figures. When it fails, the figures up to
        the failure are kept (``self.partial``) and the exception raised."""
        self.proxy.reset()
        self.partial = None
        t0 = time.perf_counter()
        try:
            seconds, in_states, changed = func()
        except Exception:
            time.sleep(0.2)
            requests = list(self.proxy.requests)
            self.partial = {
                "seconds": time.perf_counter() - t0,
                "requests": len(requests),
                "writes": len([r for r in requests if r[0] != "GET"]),
                "in_states": None,
                "changed": None,
            }
            raise
        time.sleep(0.2)  # let the proxy threads see the last bytes
        requests = list(self.proxy.requests)
        writes = [r for r in requests if r[0] != "GET"]
        say(
            f"   {seconds:.2f} s, {len(requests)} requests, {len(writes)} writes, in the states "
            f"{in_states}, changed {changed}"
        )
        return {
            "seconds": seconds,
            "requests": len(requests),
            "writes": len(writes),
            "in_states": in_states,
            "changed": changed,
        }

    def run_tool(self, size, tool):
        runners = {
            "salt3007": lambda: self.run_salt3007(size),
            "ansible": lambda: self.run_ansible(size),
            "lxdapi": lambda: self.run_lxdapi(size),
            "lxdapi_agg": lambda: self.run_lxdapi(size, aggregate=True),
            "core_conc": lambda: self.run_core(size),
        }
        result = {}
        names = self.names(size)
        self.bench.delete(names)
        say(f"5. {size} containers: {tool}, from nothing")
        try:
            result["new"] = self.measure(runners[tool])
            self.check_converged(size)
            if tool != "core_conc":
                say(f"5. {size} containers: {tool}, no-op")
                result["noop"] = self.measure(runners[tool])
                self.check_converged(size)
        except Exception as exc:  # a tool that fails is reported, the others still run
            say("   failed:", exc)
            if self.partial is not None:  # what it did up to the failure
                result.setdefault("new" if "new" not in result else "noop", self.partial)
            result["error"] = "{}{}".format(
                "" if isinstance(exc, ToolFailed) else type(exc).__name__ + ": ", exc
            )
        finally:
            self.bench.delete(names)
        self.results[(size, tool)] = result

    def run(self):
        self.proxy = CountingProxy(os.path.join(self.tmp, "count.socket"), self.bench.socket)
        try:
            for size in self.sizes:
                self.write_sls(size)
                for tool, _label in TOOLS:
                    self.run_tool(size, tool)
        finally:
            self.proxy.close()
        for number, size in enumerate(self.sizes, 1):
            self.bench.tables.append(self.table(size, number))

    # -- the report ----------------------------------------------------------------------

    def table(self, size, number=1):
        rows, errors = [], []
        for tool, label in TOOLS:
            res = self.results.get((size, tool), {})
            new, noop = res.get("new"), res.get("noop")
            if "error" in res:
                error = " ".join(res["error"].split())  # one line, the start of it
                errors.append("{}: {}".format(label, error[:300] + (error[300:] and "...")))
                label += " (failed)"

            def cell(part, key, fmt="{}"):
                if not part or part.get(key) is None:
                    return "-"
                return fmt.format(part[key])

            rows.append(
                (
                    label,
                    cell(new, "seconds", "{:.2f}"),
                    cell(new, "requests"),
                    cell(new, "writes"),
                    "{:.2f}".format(new["requests"] / size) if new else "-",
                    cell(noop, "seconds", "{:.2f}"),
                    cell(noop, "requests"),
                    cell(noop, "writes"),
                    cell(noop, "in_states", "{:.3f}"),
                    cell(noop, "changed"),
                )
            )
        headers = [
            "tool",
            "new s",
            "requests",
            "writes",
            "req/container",
            "no-op s",
            "requests",
            "writes",
            "in states s",
            "changed",
        ]
        notes = [
            f'One run of each. "new": from nothing (no container) to {size} running with one '
            'config key; "no-op": the same again. Requests and writes (non-GET) counted by '
            f'one proxy on the socket; req/container = from-nothing requests / {size}. "in '
            'states": the sum of the Salt states\' own durations; "changed": states (or '
            "Ansible loop items) reporting a change in the no-op run. A tool that failed "
            "shows its figures up to the failure."
        ]
        salt = self.results.get((size, "salt3007"), {})
        salt_new = None if "error" in salt else salt.get("new")
        for tool, what in (
            ("lxdapi_agg", "lxdapi aggregated"),
            ("lxdapi", "lxdapi one by one"),
            ("core_conc", "the core's concurrent creation"),
        ):
            res = self.results.get((size, tool), {})
            ours = None if "error" in res else res.get("new")
            if salt_new and ours:
                notes.append(
                    "Salt 3007 from nothing / {}: {:.2f}x.".format(
                        what, salt_new["seconds"] / ours["seconds"]
                    )
                )
        notes += ["Failed: " + e for e in errors]
        return (
            f"5.{number} Predecessors, {size} containers: Salt 3007, Ansible, lxdapi",
            self.rst_table(headers, rows),
            " ".join(notes),
        )
