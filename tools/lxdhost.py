"""Start, stop and stock private LXD daemons: used by the tests, the demo and the benchmarks.

Plain Python, no Salt. Each daemon lives in its own ``LXD_DIR``; several run side by side.
The recipe is the one verified on Debian 12 with its ``lxd`` package (LXD 5.0.x).

Command line::

    python tools/lxdhost.py start DIR      # start (or reuse) a daemon in DIR, preseeded
    python tools/lxdhost.py image FILE     # build the offline busybox image tarball
    python tools/lxdhost.py stop DIR       # shut the daemon in DIR down
"""

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

INSTALL_HINT = (
    "LXD is not installed. Install it with: "
    "apt-get install -y lxd lxd-client busybox-static (as root), or run 'make test', "
    "which does it for you."
)

DEFAULT_PRESEED = {
    "storage_pools": [{"name": "default", "driver": "dir"}],
    "profiles": [
        {
            "name": "default",
            "devices": {"root": {"type": "disk", "path": "/", "pool": "default"}},
        }
    ],
}

BUSYBOX_APPLETS = (
    "sh",
    "ash",
    "ls",
    "cat",
    "echo",
    "ps",
    "sleep",
    "id",
    "pwd",
    "env",
    "true",
    "false",
    "mkdir",
    "rm",
    "touch",
    "printf",
    "test",
    "uname",
    "hostname",
    "mount",
    "halt",
    "poweroff",
    "reboot",
    "kill",
    "grep",
    "head",
    "wc",
    "stat",
)


class LXDHostError(RuntimeError):
    """The daemon could not be installed, started or stocked."""


def require_lxd():
    """Raise :class:`LXDHostError` naming the install command when LXD is missing."""
    if not shutil.which("lxd") or not shutil.which("lxc"):
        raise LXDHostError(INSTALL_HINT)


def _env(lxd_dir):
    env = dict(os.environ)
    env["LXD_DIR"] = lxd_dir
    return env


def _run(args, lxd_dir, stdin=None, check=True, timeout=120):
    proc = subprocess.run(
        args,
        input=stdin,
        env=_env(lxd_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise LXDHostError(
            "{} failed ({}): {}".format(" ".join(args), proc.returncode, proc.stderr.strip())
        )
    return proc


def is_running(lxd_dir):
    """True when a daemon answers on ``LXD_DIR/unix.socket``."""
    sock = os.path.join(lxd_dir, "unix.socket")
    if not os.path.exists(sock):
        return False
    return _run(["lxd", "waitready", "--timeout", "2"], lxd_dir, check=False).returncode == 0


def _check_traversable(path):
    """Containers run as uid 100000+: every folder above LXD_DIR must be o+x."""
    parent = os.path.dirname(path)
    while parent and parent != "/":
        if not os.stat(parent).st_mode & 0o001:
            raise LXDHostError(
                "{} is not traversable by others (mode {:o}); containers under {} would "
                "fail to start: chmod o+x it or use another folder".format(
                    parent, os.stat(parent).st_mode & 0o777, path
                )
            )
        parent = os.path.dirname(parent)


def start_daemon(lxd_dir, preseed=None, timeout=60):
    """Start a private LXD daemon in ``lxd_dir`` and preseed it.

    ``preseed`` is a dict in ``lxd init --preseed`` form (default: a ``dir`` pool named
    ``default`` and the ``default`` profile with a root disk). Returns the socket path.
    A daemon already answering in ``lxd_dir`` is reused as it is.
    """
    require_lxd()
    lxd_dir = os.path.abspath(lxd_dir)
    sock = os.path.join(lxd_dir, "unix.socket")
    if is_running(lxd_dir):
        return sock
    os.makedirs(lxd_dir, exist_ok=True)
    os.chmod(lxd_dir, 0o755)
    _check_traversable(lxd_dir)
    log = open(os.path.join(lxd_dir, "lxd.log.stdout"), "ab")
    subprocess.Popen(
        ["lxd", "--group", "root", "--logfile", os.path.join(lxd_dir, "lxd.log")],
        env=_env(lxd_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    _run(["lxd", "waitready", "--timeout", str(timeout)], lxd_dir, timeout=timeout + 10)
    _run(
        ["lxd", "init", "--preseed"],
        lxd_dir,
        stdin=json.dumps(preseed if preseed is not None else DEFAULT_PRESEED),
    )
    return sock


def stop_daemon(lxd_dir, remove=True):
    """Shut the daemon in ``lxd_dir`` down (its instances too) and remove the folder."""
    lxd_dir = os.path.abspath(lxd_dir)
    if is_running(lxd_dir):
        proc = _run(["lxd", "shutdown", "--timeout", "60"], lxd_dir, check=False, timeout=90)
        if proc.returncode != 0:
            pid_file = os.path.join(lxd_dir, "lxd.pid")
            if os.path.exists(pid_file):
                subprocess.run(["kill", "-9", open(pid_file).read().strip()], check=False)
    if remove:
        # The daemon may leave mounts (shmounts, devlxd, storage) behind.
        subprocess.run(
            "grep ' {0}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l".format(
                lxd_dir
            ),
            shell=True,
            check=False,
        )
        shutil.rmtree(lxd_dir, ignore_errors=True)


def lxc(lxd_dir, *args, stdin=None, check=True):
    """Run ``lxc`` against the daemon in ``lxd_dir``; return its stdout."""
    return _run(["lxc", *args], lxd_dir, stdin=stdin, check=check).stdout


def build_busybox_image(dest, description="busybox (offline)"):
    """Write a unified LXD image tarball of busybox-static to ``dest``; return its sha256.

    Built entirely offline from ``/bin/busybox`` (Debian's busybox-static).
    """
    busybox = "/bin/busybox"
    if not os.path.exists(busybox):
        raise LXDHostError("busybox is missing: apt-get install -y busybox-static")
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = os.path.join(tmp, "rootfs")
        for sub in ("bin", "dev", "etc", "proc", "root", "sys", "tmp", "sbin", "run", "var"):
            os.makedirs(os.path.join(rootfs, sub))
        shutil.copy(busybox, os.path.join(rootfs, "bin", "busybox"))
        os.chmod(os.path.join(rootfs, "bin", "busybox"), 0o755)
        for applet in BUSYBOX_APPLETS:
            os.symlink("busybox", os.path.join(rootfs, "bin", applet))
        os.symlink("../bin/busybox", os.path.join(rootfs, "sbin", "init"))
        # busybox init: SIGPWR is not handled, SIGUSR2 powers off; the image's inittab is empty.
        open(os.path.join(rootfs, "etc", "inittab"), "w").close()
        with open(os.path.join(rootfs, "etc", "passwd"), "w") as fh:
            fh.write("root:x:0:0:root:/root:/bin/sh\n")
        with open(os.path.join(rootfs, "etc", "group"), "w") as fh:
            fh.write("root:x:0:\n")
        metadata = {
            "architecture": "x86_64",
            "creation_date": 1700000000,
            "properties": {"description": description, "os": "busybox", "release": "1"},
        }
        with open(os.path.join(tmp, "metadata.yaml"), "w") as fh:
            json.dump(metadata, fh)  # JSON is YAML
        tmp_dest = dest + ".part"

        # Fixed mtimes (in the tar and the gzip header) and owners: the same busybox and
        # description always give the same fingerprint.
        def _fix(info):
            info.mtime = 1700000000
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info

        with (
            open(tmp_dest, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w") as tar,
        ):
            tar.add(os.path.join(tmp, "metadata.yaml"), "metadata.yaml", filter=_fix)
            tar.add(rootfs, "rootfs", filter=_fix)
        os.replace(tmp_dest, dest)
    with open(dest, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def wait_for(predicate, timeout=30, interval=0.1):
    """Poll ``predicate`` until it is true (for test set-up only); return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# ---- remotes, trust and clusters (issue 6) ----
# Daemons answering HTTPS on loopback, client certificates, and a cluster of two members
# (the recipes of shared/LXD-HOST.md). Loopback addresses only.


def make_base_dir(prefix="lxdapi-", dir=None):  # pylint: disable=redefined-builtin
    """A new temporary folder (under ``dir``) to hold LXD_DIRs or what containers mount,
    mode 0755.

    ``tempfile.mkdtemp`` makes 0700 folders, which container processes (uid 100000+)
    cannot traverse: a daemon under one cannot start containers.
    """
    base = tempfile.mkdtemp(prefix=prefix, dir=dir)
    os.chmod(base, 0o755)
    return base


def free_port(*hosts):
    """A TCP port that is free on every address in ``hosts`` (default 127.0.0.1)."""
    import socket

    hosts = hosts or ("127.0.0.1",)
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
        try:
            for host in hosts:
                with socket.socket() as probe:
                    probe.bind((host, port))
        except OSError:
            continue
        return port
    raise LXDHostError("no free port found on {}".format(", ".join(hosts)))


def wait_listening(address, timeout=30):
    """Wait until ``host:port`` accepts TCP connections; raise LXDHostError if not."""
    import socket

    host, port = address.rsplit(":", 1)

    def listening():
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return True
        except OSError:
            return False

    if not wait_for(listening, timeout=timeout, interval=0.2):
        raise LXDHostError("nothing listens on {} after {}s".format(address, timeout))


def start_https_daemon(lxd_dir, address, preseed=None, timeout=60):
    """:func:`start_daemon` with ``core.https_address`` set to ``address``
    (``127.0.0.x:PORT``); returns the socket path once the address answers."""
    preseed = json.loads(json.dumps(preseed if preseed is not None else DEFAULT_PRESEED))
    preseed.setdefault("config", {})["core.https_address"] = address
    sock = start_daemon(lxd_dir, preseed, timeout)
    wait_listening(address, timeout)
    return sock


def server_certificate(lxd_dir):
    """The PEM certificate the daemon in ``lxd_dir`` answers HTTPS with (a cluster
    member answers with the cluster's)."""
    for name in ("cluster.crt", "server.crt"):
        path = os.path.join(lxd_dir, name)
        if os.path.exists(path):
            with open(path) as fh:
                return fh.read()
    raise LXDHostError("no server certificate in {}".format(lxd_dir))


def make_client_certificate(cert_path, key_path, common_name="lxdapi-test", days=30):
    """Write a self-signed EC client certificate and its key (mode 0600); return the
    certificate's PEM."""
    old_umask = os.umask(0o077)
    try:
        proc = subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:secp384r1",
                "-nodes",
                "-days",
                str(days),
                "-subj",
                "/CN=" + common_name,
                "-keyout",
                key_path,
                "-out",
                cert_path,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.umask(old_umask)
    if proc.returncode != 0:
        raise LXDHostError("openssl failed: {}".format(proc.stderr.strip()))
    os.chmod(key_path, 0o600)
    os.chmod(cert_path, 0o644)
    with open(cert_path) as fh:
        return fh.read()


def trust_certificate(lxd_dir, cert_path, name="lxdapi-test"):
    """Add the client certificate at ``cert_path`` to the daemon's trust store (as
    ``lxc config trust add`` does); return its SHA-256 fingerprint."""
    lxc(lxd_dir, "config", "trust", "add", cert_path, "--name", name)
    proc = subprocess.run(
        ["openssl", "x509", "-in", cert_path, "-outform", "DER"], capture_output=True, check=True
    )
    return hashlib.sha256(proc.stdout).hexdigest()


def _cluster_preseed(address, name):
    preseed = json.loads(json.dumps(DEFAULT_PRESEED))
    preseed["config"] = {"core.https_address": address}
    preseed["cluster"] = {"server_name": name, "enabled": True}
    return preseed


def start_cluster(
    base, members=(("node3", "127.0.0.3"), ("node4", "127.0.0.4")), port=None, timeout=90
):
    """Start a cluster of daemons on loopback, one LXD_DIR per member under ``base``.

    ``members`` are ``(server name, address)`` pairs; the first bootstraps the cluster
    (a ``dir`` pool named ``default`` and the default profile), the others join it with
    a join token. ``port`` defaults to one that is free on every address. Returns the
    list of ``{"name", "lxd_dir", "address", "socket"}`` (``address`` is
    ``host:port``); every member is ONLINE when it returns. On failure the members
    started so far are stopped.
    """
    _check_traversable(os.path.join(base, "x"))
    port = port or free_port(*[host for _, host in members])
    started = []
    try:
        first_name, first_host = members[0]
        first = {
            "name": first_name,
            "lxd_dir": os.path.join(base, first_name),
            "address": "{}:{}".format(first_host, port),
        }
        first["socket"] = start_daemon(
            first["lxd_dir"], _cluster_preseed(first["address"], first_name), timeout
        )
        started.append(first)
        wait_listening(first["address"], timeout)
        for name, host in members[1:]:
            out = lxc(first["lxd_dir"], "cluster", "add", name)
            token = [line for line in out.splitlines() if line.strip()][-1].strip()
            member = {
                "name": name,
                "lxd_dir": os.path.join(base, name),
                "address": "{}:{}".format(host, port),
            }
            preseed = {
                "cluster": {
                    "enabled": True,
                    "server_name": name,
                    "server_address": member["address"],
                    "cluster_address": first["address"],
                    "cluster_token": token,
                    "member_config": [
                        {"entity": "storage-pool", "name": "default", "key": "source", "value": ""}
                    ],
                }
            }
            started.append(member)
            member["socket"] = start_daemon(member["lxd_dir"], preseed, timeout)
        names = [m["name"] for m in started]

        def all_online():
            out = lxc(first["lxd_dir"], "query", "/1.0/cluster/members?recursion=1")
            status = {m["server_name"]: m["status"] for m in json.loads(out)}
            return all(status.get(n) == "Online" for n in names)

        if not wait_for(all_online, timeout=timeout, interval=0.5):
            raise LXDHostError(
                "cluster members {} are not all online after {}s".format(", ".join(names), timeout)
            )
        return started
    except BaseException:
        stop_cluster(started)
        raise


def stop_cluster(members, remove=True):
    """Stop the members :func:`start_cluster` started (joined ones first)."""
    for member in reversed(list(members)):
        stop_daemon(member["lxd_dir"], remove=remove)


def main(argv):
    usage = "usage: lxdhost.py start DIR | stop DIR | image FILE"
    if len(argv) != 3:
        print(usage, file=sys.stderr)
        return 2
    cmd, arg = argv[1], argv[2]
    try:
        if cmd == "start":
            print(start_daemon(arg))
        elif cmd == "stop":
            stop_daemon(arg)
        elif cmd == "image":
            print(build_busybox_image(arg))
        else:
            print(usage, file=sys.stderr)
            return 2
    except LXDHostError as exc:
        print("lxdhost: {}".format(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
