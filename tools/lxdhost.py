"""Start, stop and stock private LXD and Incus daemons: used by the tests, the demo and
the benchmarks.

Plain Python, no Salt. Each daemon lives in its own folder (``LXD_DIR`` for LXD,
``INCUS_DIR`` for Incus); several run side by side, of either kind. The recipes are the
ones verified on Debian 12 with its ``lxd`` package (LXD 5.0.x) and bookworm-backports'
``incus`` (Incus 6.0.x). Every function taking a daemon's folder works for both kinds:
:func:`start_daemon` writes a small marker (``lxdhost.json``) naming the kind, which
:func:`stop_daemon`, :func:`lxc` and the others read back.

Command line::

    python tools/lxdhost.py start DIR [lxd|incus]  # start (or reuse) a daemon in DIR, preseeded
    python tools/lxdhost.py image FILE             # build the offline busybox image tarball
    python tools/lxdhost.py stop DIR               # shut the daemon in DIR down
"""

import collections
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

INCUS_DAEMON = "/usr/libexec/incus/incusd"

INCUS_INSTALL_HINT = (
    "Incus is not installed. It is in bookworm-backports: add that suite to apt "
    "(/etc/apt/sources.list.d/bookworm-backports.sources), then run "
    "apt-get update && apt-get install -y --no-install-recommends -t bookworm-backports "
    "incus (as root), or run 'make deps', which does both for you."
)

# What differs between the two kinds of daemon; everything else is shared.
Server = collections.namedtuple(
    "Server",
    "name daemon admin client env_var log_file trust_add",
)

SERVERS = {
    "lxd": Server(
        name="lxd",
        daemon="lxd",  # the daemon program
        admin=("lxd",),  # waitready, init --preseed, shutdown
        client="lxc",
        env_var="LXD_DIR",
        log_file="lxd.log",
        trust_add=("config", "trust", "add"),
    ),
    "incus": Server(
        name="incus",
        daemon=INCUS_DAEMON,
        admin=("incus", "admin"),
        client="incus",
        env_var="INCUS_DIR",
        log_file="incusd.log",
        trust_add=("config", "trust", "add-certificate"),
    ),
}

# Written by start_daemon in the daemon's folder: {"server": "lxd"|"incus", "pid": N}.
# (Neither daemon writes a pid file of its own in its folder.)
MARKER = "lxdhost.json"

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
    "ip",
    "timeout",
)


class LXDHostError(RuntimeError):
    """The daemon could not be installed, started or stocked."""


def _server(server):
    try:
        return SERVERS[server]
    except KeyError:
        raise LXDHostError(
            "unknown server kind {!r}: one of {}".format(server, ", ".join(sorted(SERVERS)))
        ) from None


def require_lxd():
    """Raise :class:`LXDHostError` naming the install command when LXD is missing."""
    if not shutil.which("lxd") or not shutil.which("lxc"):
        raise LXDHostError(INSTALL_HINT)


def require_incus():
    """Raise :class:`LXDHostError` naming the install commands when Incus is missing."""
    if not os.access(INCUS_DAEMON, os.X_OK) or not shutil.which("incus"):
        raise LXDHostError(INCUS_INSTALL_HINT)


def require(server="lxd"):
    """:func:`require_lxd` or :func:`require_incus`, by server kind."""
    {"lxd": require_lxd, "incus": require_incus}[_server(server).name]()


def _read_marker(lxd_dir):
    try:
        with open(os.path.join(lxd_dir, MARKER)) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def _write_marker(lxd_dir, **fields):
    path = os.path.join(lxd_dir, MARKER)
    with open(path + ".part", "w") as fh:
        json.dump(fields, fh)
    os.replace(path + ".part", path)


def server_of(lxd_dir):
    """The kind of daemon (``"lxd"`` or ``"incus"``) that runs, or ran, in ``lxd_dir``.

    From the marker :func:`start_daemon` writes; for a folder without one, Incus is
    recognised by its ``guestapi`` folder (LXD's is ``devlxd``); anything else is LXD.
    """
    server = _read_marker(os.path.abspath(lxd_dir)).get("server")
    if server in SERVERS:
        return server
    if os.path.isdir(os.path.join(lxd_dir, "guestapi")):
        return "incus"
    return "lxd"


def _env(lxd_dir, server=None):
    spec = _server(server or server_of(lxd_dir))
    env = dict(os.environ)
    env[spec.env_var] = lxd_dir
    if spec.name == "incus":
        env.pop("INCUS_SOCKET", None)  # it would win over INCUS_DIR
    return env


def run(args, lxd_dir, stdin=None, check=True, timeout=120, server=None):
    """Run ``args`` with the daemon folder's variable (LXD_DIR or INCUS_DIR) set."""
    proc = subprocess.run(
        args,
        input=stdin,
        env=_env(lxd_dir, server),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise LXDHostError(
            "{} failed ({}): {}".format(" ".join(args), proc.returncode, proc.stderr.strip())
        )
    return proc


def _admin(lxd_dir, *args, server=None, **kwargs):
    """``lxd ARGS`` or ``incus admin ARGS`` against the daemon in ``lxd_dir``."""
    spec = _server(server or server_of(lxd_dir))
    return run([*spec.admin, *args], lxd_dir, server=spec.name, **kwargs)


def is_running(lxd_dir, server=None):
    """True when a daemon answers on ``DIR/unix.socket``."""
    sock = os.path.join(lxd_dir, "unix.socket")
    if not os.path.exists(sock):
        return False
    return (
        _admin(lxd_dir, "waitready", "--timeout", "2", server=server, check=False).returncode == 0
    )


def _check_traversable(path):
    """Containers run as uid 100000+: every folder above LXD_DIR must be o+x."""
    parent = os.path.dirname(path)
    while parent and parent != "/":
        if not os.stat(parent).st_mode & 0o001:
            raise LXDHostError(
                f"{parent} is not traversable by others (mode "
                f"{os.stat(parent).st_mode & 0o777:o}); containers under {path} would "
                "fail to start: chmod o+x it or use another folder"
            )
        parent = os.path.dirname(parent)


def start_daemon(lxd_dir, preseed=None, timeout=60, server="lxd"):
    """Start a private daemon in ``lxd_dir`` and preseed it.

    ``server`` is ``"lxd"`` (``lxd``, ``LXD_DIR``) or ``"incus"`` (``incusd``,
    ``INCUS_DIR``). ``preseed`` is a dict in ``init --preseed`` form, the same for both
    (default: a ``dir`` pool named ``default`` and the ``default`` profile with a root
    disk); False leaves the daemon as it starts, never initialized. Returns the socket
    path. A daemon of that kind already answering in
    ``lxd_dir`` is reused as it is; one of the other kind is an error.
    """
    spec = _server(server)
    require(spec.name)
    lxd_dir = os.path.abspath(lxd_dir)
    sock = os.path.join(lxd_dir, "unix.socket")
    if os.path.exists(sock):
        running = server_of(lxd_dir)
        if is_running(lxd_dir, running):
            if running != spec.name:
                raise LXDHostError(f"the daemon running in {lxd_dir} is {running}, not {spec.name}")
            return sock
    os.makedirs(lxd_dir, exist_ok=True)
    os.chmod(lxd_dir, 0o755)
    _check_traversable(lxd_dir)
    _write_marker(lxd_dir, server=spec.name)  # before the daemon: stop_daemon knows its kind
    log = open(os.path.join(lxd_dir, spec.log_file + ".stdout"), "ab")
    daemon = subprocess.Popen(
        [spec.daemon, "--group", "root", "--logfile", os.path.join(lxd_dir, spec.log_file)],
        env=_env(lxd_dir, spec.name),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    _write_marker(lxd_dir, server=spec.name, pid=daemon.pid)
    _admin(lxd_dir, "waitready", "--timeout", str(timeout), server=spec.name, timeout=timeout + 10)
    if preseed is not False:
        _admin(
            lxd_dir,
            "init",
            "--preseed",
            server=spec.name,
            stdin=json.dumps(preseed if preseed is not None else DEFAULT_PRESEED),
        )
    return sock


def _daemon_pid(lxd_dir):
    """The pid of the daemon started in ``lxd_dir`` if it still runs there, else None."""
    pid = _read_marker(lxd_dir).get("pid")
    if not pid:
        pid_file = os.path.join(lxd_dir, "lxd.pid")  # none seen written, kept as a fallback
        if not os.path.exists(pid_file):
            return None
        with open(pid_file) as fh:
            pid = fh.read().strip()
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as fh:
            cmdline = fh.read().split(b"\0")
    except (OSError, ValueError):
        return None
    # Only the daemon whose log file is in this folder (the pid may have been reused).
    return int(pid) if any(arg.startswith(lxd_dir.encode() + b"/") for arg in cmdline) else None


def stop_daemon(lxd_dir, remove=True):
    """Shut the daemon in ``lxd_dir`` down (its instances too) and remove the folder.

    The kind of daemon (LXD or Incus) is the one :func:`start_daemon` started there.
    """
    lxd_dir = os.path.abspath(lxd_dir)
    server = server_of(lxd_dir)
    if is_running(lxd_dir, server):
        proc = _admin(
            lxd_dir, "shutdown", "--timeout", "60", server=server, check=False, timeout=90
        )
        if proc.returncode != 0:
            pid = _daemon_pid(lxd_dir)
            if pid:
                subprocess.run(["kill", "-9", str(pid)], check=False)
    if remove:
        # The daemon may leave mounts (shmounts, devlxd, guestapi, storage) behind.
        subprocess.run(
            f"grep ' {lxd_dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l",
            shell=True,
            check=False,
        )
        shutil.rmtree(lxd_dir, ignore_errors=True)


def client(lxd_dir):
    """The command-line client of the daemon in ``lxd_dir``: ``lxc`` or ``incus``."""
    return SERVERS[server_of(lxd_dir)].client


#: ``lxc`` commands whose words ``incus`` changed: ``lxc snapshot NAME SNAP`` is
#: ``incus snapshot create NAME SNAP``, ``lxc restore NAME SNAP`` is ``incus snapshot
#: restore NAME SNAP``, ``lxc delete NAME/SNAP`` is ``incus snapshot delete NAME SNAP``,
#: ``lxc config trust add CERT-FILE`` is ``incus config trust add-certificate CERT-FILE``.
INCUS_SNAPSHOT_WORDS = ("create", "restore", "delete", "list", "show", "rename", "export")


def _in_incus_words(args):
    if args and args[0] == "snapshot" and (len(args) < 2 or args[1] not in INCUS_SNAPSHOT_WORDS):
        return ["snapshot", "create", *args[1:]]
    if args and args[0] == "restore":
        return ["snapshot", "restore", *args[1:]]
    if list(args[:3]) == ["config", "trust", "add"] and len(args) > 3 and os.path.isfile(args[3]):
        return ["config", "trust", "add-certificate", *args[3:]]
    if len(args) >= 2 and args[0] == "delete" and "/" in args[1]:
        instance, _, snapshot = args[1].partition("/")
        return ["snapshot", "delete", instance, snapshot, *args[2:]]
    return list(args)


def lxc(lxd_dir, *args, stdin=None, check=True):
    """Run the daemon's client (``lxc`` for LXD, ``incus`` for Incus) against the daemon
    in ``lxd_dir``; return its stdout. ``args`` are ``lxc``'s words: the few that
    ``incus`` says otherwise are translated for it (:data:`INCUS_SNAPSHOT_WORDS`)."""
    server = server_of(lxd_dir)
    if server == "incus":
        args = _in_incus_words(args)
    return run(
        [SERVERS[server].client, *args], lxd_dir, stdin=stdin, check=check, server=server
    ).stdout


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


def make_base_dir(prefix="lxdapi-", dir=None):
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
        raise LXDHostError(f"nothing listens on {address} after {timeout}s")


def start_https_daemon(lxd_dir, address, preseed=None, timeout=60, server="lxd"):
    """:func:`start_daemon` with ``core.https_address`` set to ``address``
    (``127.0.0.x:PORT``); returns the socket path once the address answers."""
    preseed = json.loads(json.dumps(preseed if preseed is not None else DEFAULT_PRESEED))
    preseed.setdefault("config", {})["core.https_address"] = address
    sock = start_daemon(lxd_dir, preseed, timeout, server=server)
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
    raise LXDHostError(f"no server certificate in {lxd_dir}")


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
        raise LXDHostError(f"openssl failed: {proc.stderr.strip()}")
    os.chmod(key_path, 0o600)
    os.chmod(cert_path, 0o644)
    with open(cert_path) as fh:
        return fh.read()


def trust_certificate(lxd_dir, cert_path, name="lxdapi-test"):
    """Add the client certificate at ``cert_path`` to the daemon's trust store (as
    ``lxc config trust add`` or ``incus config trust add-certificate`` does); return its
    SHA-256 fingerprint."""
    lxc(lxd_dir, *SERVERS[server_of(lxd_dir)].trust_add, cert_path, "--name", name)
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
    base,
    members=(("node3", "127.0.0.3"), ("node4", "127.0.0.4")),
    port=None,
    timeout=90,
    server="lxd",
):
    """Start a cluster of daemons on loopback, one LXD_DIR per member under ``base``
    (``server``: ``"lxd"`` or ``"incus"``, the kind of every member).

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
            "address": f"{first_host}:{port}",
        }
        first["socket"] = start_daemon(
            first["lxd_dir"], _cluster_preseed(first["address"], first_name), timeout, server
        )
        started.append(first)
        wait_listening(first["address"], timeout)
        for name, host in members[1:]:
            out = lxc(first["lxd_dir"], "cluster", "add", name)
            token = [line for line in out.splitlines() if line.strip()][-1].strip()
            member = {
                "name": name,
                "lxd_dir": os.path.join(base, name),
                "address": f"{host}:{port}",
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
            member["socket"] = start_daemon(member["lxd_dir"], preseed, timeout, server)
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
    usage = "usage: lxdhost.py start DIR [lxd|incus] | stop DIR | image FILE"
    if len(argv) != 3 and not (len(argv) == 4 and argv[1] == "start"):
        print(usage, file=sys.stderr)
        return 2
    cmd, arg = argv[1], argv[2]
    try:
        if cmd == "start":
            print(start_daemon(arg, server=argv[3] if len(argv) == 4 else "lxd"))
        elif cmd == "stop":
            stop_daemon(arg)
        elif cmd == "image":
            print(build_busybox_image(arg))
        else:
            print(usage, file=sys.stderr)
            return 2
    except LXDHostError as exc:
        print(f"lxdhost: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
