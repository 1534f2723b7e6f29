"""The lxdapi demo (``make demo``): examples/demo.sls applied twice with salt-call.

1. LXD must be installed (``make demo`` installs it as root; otherwise this says how).
2. It uses an LXD that answers: ``$LXD_DIR/unix.socket`` when LXD_DIR is set, else the
   usual local sockets; when none answers it starts a private daemon in ``<repo>/.lxd``
   (left running at the end: stop it with ``python tools/lxdhost.py stop .lxd``).
3. It builds the busybox image offline into ``examples/build/busybox.tar.gz`` (once).
4. It writes a salt-call configuration in ``examples/build/salt`` (local file client,
   file_roots = examples/ and the build folder, module_dirs = the repository,
   ``lxdapi:endpoint`` = the daemon's socket).
5. It runs ``salt-call --local state.apply demo`` twice and prints both outputs: the
   first shows the changes, the second none.

Environment: ``LXD_DIR`` (use that daemon), ``DEMO_BUILD_DIR`` (instead of
examples/build). Exit status 0 when both runs succeed and the second changes nothing.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "_utils"))

import lxdapi_loader  # noqa: E402
import lxdhost  # noqa: E402

PRIVATE_DIR = os.path.join(ROOT, ".lxd")


def _core():
    return lxdapi_loader.load(os.path.join(ROOT, "_utils"))


def answers(socket_path):
    """True when an LXD answers ``GET /1.0`` on ``socket_path``."""
    if not os.path.exists(socket_path):
        return False
    core = _core()
    try:
        core.API.factory(socket_path, timeout=5).get("")
    except core.APIException:
        return False
    return True


def find_or_start_lxd():
    """``(socket path, private)``: an LXD that answers, else a private one started in
    .lxd (private is True when the demo's own daemon in .lxd is used)."""
    if os.environ.get("LXD_DIR"):
        candidates = [os.path.join(os.environ["LXD_DIR"], "unix.socket")]
    else:
        candidates = [os.path.join(PRIVATE_DIR, "unix.socket")]
        candidates += list(_core().SOCKET_CANDIDATES)
    for path in candidates:
        if answers(path):
            return path, path.startswith(PRIVATE_DIR + os.sep)
    if os.environ.get("LXD_DIR"):
        raise lxdhost.LXDHostError(f"no LXD answers on {candidates[0]} (LXD_DIR is set)")
    print(f"No LXD answers; starting a private daemon in {PRIVATE_DIR}")
    return lxdhost.start_daemon(PRIVATE_DIR), True


def build_image(build_dir):
    path = os.path.join(build_dir, "busybox.tar.gz")
    if not os.path.exists(path):
        print(f"Building the busybox image offline: {path}")
        lxdhost.build_busybox_image(path, description="busybox (lxdapi demo)")
    return path


def write_salt_config(build_dir, socket_path):
    """A salt-call config folder for the demo; returns its path."""
    conf_dir = os.path.join(build_dir, "salt")
    root_dir = os.path.join(conf_dir, "root")
    os.makedirs(root_dir, exist_ok=True)
    minion = {
        "id": "lxdapi-demo",
        "file_client": "local",
        "root_dir": root_dir,
        "pki_dir": os.path.join(root_dir, "pki"),
        "cachedir": os.path.join(root_dir, "cache"),
        "sock_dir": os.path.join(root_dir, "sock"),
        "log_file": os.path.join(root_dir, "minion.log"),
        "file_roots": {"base": [HERE, build_dir]},
        "module_dirs": [ROOT],
        "state_output": "changes",
        "lxdapi": {"endpoint": socket_path},
    }
    with open(os.path.join(conf_dir, "minion"), "w") as fh:
        json.dump(minion, fh, indent=2)  # JSON is YAML
    return conf_dir


def salt_call_path():
    """salt-call from the same installation as this Python."""
    path = os.path.join(os.path.dirname(sys.executable), "salt-call")
    if not os.path.exists(path):
        raise lxdhost.LXDHostError(
            f"{path} is missing: install salt in this Python's environment (make setup)"
        )
    return path


def apply_demo(conf_dir):
    """Run ``state.apply demo``; return (exit code, its output)."""
    cmd = [
        salt_call_path(),
        "--local",
        "-c",
        conf_dir,
        "--retcode-passthrough",
        "--force-color" if sys.stdout.isatty() else "--no-color",
        "state.apply",
        "demo",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def summary(output):
    """``(succeeded, failed, changed)`` from the highstate outputter's summary."""
    succeeded = failed = changed = None
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("Succeeded:"):
            succeeded = int(line.split()[1])
            changed = 0
            if "changed=" in line:
                changed = int(line.split("changed=")[1].rstrip(")"))
        elif line.startswith("Failed:"):
            failed = int(line.split()[1])
    return succeeded, failed, changed


def main():
    try:
        lxdhost.require_lxd()
        socket_path, private = find_or_start_lxd()
        build_dir = os.path.abspath(os.environ.get("DEMO_BUILD_DIR") or os.path.join(HERE, "build"))
        os.makedirs(build_dir, exist_ok=True)
        build_image(build_dir)
        conf_dir = write_salt_config(build_dir, socket_path)
        salt_call_path()
    except lxdhost.LXDHostError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    print(f"LXD: {socket_path}")
    status = 0
    for run in ("first", "second"):
        shown = os.path.relpath(conf_dir, ROOT) if conf_dir.startswith(ROOT + os.sep) else conf_dir
        print(f"\n===== salt-call --local -c {shown} state.apply demo ({run} run) =====\n")
        code, output = apply_demo(conf_dir)
        print(output)
        succeeded, failed, changed = summary(output)
        if code != 0 or failed:
            print(f"demo: the {run} run failed (exit {code})", file=sys.stderr)
            status = 1
            break
        if run == "second" and changed:
            print(
                f"demo: the second run changed {changed} state(s); expected none",
                file=sys.stderr,
            )
            status = 1
        if run == "second" and not changed:
            print(f"Second run: {succeeded} states, no changes.")
    if private:
        print(
            "\nThe demo daemon in .lxd is still running. Stop it with:\n"
            "    python tools/lxdhost.py stop .lxd"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
