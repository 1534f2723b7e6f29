"""A Debian 12 image with Python for the tests that run Salt inside an instance.

``debootstrap --variant=minbase --include=python3 bookworm`` from Debian's packages,
given a tiny init (Python: it reaps children and exits on LXD's stop signals) and packed
as a unified LXD/Incus image (``metadata.yaml`` + ``rootfs/``). Building takes minutes, so
the tarball is cached on the machine (``LXDAPI_IMAGE_CACHE``, default
``/var/cache/lxdapi-test``) under a name keyed by what it is built from (suite, variant,
packages, architecture, mirror): a run finds it there and builds nothing; a change of the
package list builds a new one. Beside it: ``.packages`` (what dpkg says the rootfs holds)
and ``.seconds`` (how long the build took).

Needs root and ``debootstrap`` (``apt-get install debootstrap``)::

    python3 tools/debian_image.py          # build (or find) the image; print its path
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

SUITE = "bookworm"
VARIANT = "minbase"
PACKAGES = ("python3",)
ARCH = "amd64"
MIRROR = os.environ.get("LXDAPI_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE_DIR = os.environ.get("LXDAPI_IMAGE_CACHE", "/var/cache/lxdapi-test")

# The instance's PID 1: LXD stops an instance by sending SIGPWR to it (Incus: the same),
# then waits; an init that exits on it makes a clean stop take no time at all. First it
# mounts what systemd mounts in any container and LXD does not: a tmpfs at /dev/shm, where
# POSIX semaphores live (Salt 3006.29 and 3007.16 make a multiprocessing.Lock when they
# import salt.utils.gitfs, which salt-call does while it looks for a function it lacks).
INIT = """#!/usr/bin/python3
import os, signal, subprocess, time
os.makedirs("/dev/shm", exist_ok=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", "/dev/shm"])
def stop(signum, frame):
    os._exit(0)
for sig in (signal.SIGPWR, signal.SIGTERM, signal.SIGINT, signal.SIGUSR2):
    signal.signal(sig, stop)
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(3600)
"""


class ImageBuildError(RuntimeError):
    """The image could not be built (no root, no debootstrap, the mirror unreachable)."""


def key():
    """What the image is built from, hashed: the cache entry's name."""
    recipe = json.dumps(
        {"suite": SUITE, "variant": VARIANT, "packages": PACKAGES, "arch": ARCH, "init": INIT},
        sort_keys=True,
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def cached_path(cache_dir=CACHE_DIR):
    """Where the image tarball is (or will be) cached."""
    return os.path.join(cache_dir, f"debian-{SUITE}-{VARIANT}-{key()}.tar.gz")


def _fix(info):
    info.mtime = min(info.mtime, 1700000000)
    return info


def build(dest):
    """Build the image tarball at ``dest``; return the seconds it took."""
    if os.geteuid() != 0:
        raise ImageBuildError("building the Debian image needs root (debootstrap)")
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is missing: apt-get install -y debootstrap")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lxdapi-debian-") as tmp:
        rootfs = os.path.join(tmp, "rootfs")
        proc = subprocess.run(
            [
                "debootstrap",
                "--variant=" + VARIANT,
                "--arch=" + ARCH,
                "--include=" + ",".join(PACKAGES),
                SUITE,
                rootfs,
                MIRROR,
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-10:]
            raise ImageBuildError("debootstrap failed: " + "\n".join(tail))
        init = os.path.join(rootfs, "sbin", "init")
        if os.path.lexists(init):
            os.remove(init)
        with open(init, "w") as fh:
            fh.write(INIT)
        os.chmod(init, 0o755)
        shutil.rmtree(os.path.join(rootfs, "var", "cache", "apt", "archives"), True)
        os.makedirs(os.path.join(rootfs, "var", "cache", "apt", "archives", "partial"))
        packages = subprocess.run(
            ["chroot", rootfs, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        metadata = {
            "architecture": "x86_64",
            "creation_date": 1700000000,
            "properties": {
                "description": "Debian {} {} with {}".format(SUITE, VARIANT, " ".join(PACKAGES)),
                "os": "debian",
                "release": SUITE,
            },
        }
        with open(os.path.join(tmp, "metadata.yaml"), "w") as fh:
            json.dump(metadata, fh)  # JSON is YAML
        part = dest + ".part"
        with (
            open(part, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3) as gz,
            tarfile.open(fileobj=gz, mode="w") as tar,
        ):
            tar.add(os.path.join(tmp, "metadata.yaml"), "metadata.yaml", filter=_fix)
            tar.add(rootfs, "rootfs", filter=_fix)
        with open(dest[: -len(".tar.gz")] + ".packages", "w") as fh:
            fh.write(packages)
        seconds = time.monotonic() - started
        with open(dest[: -len(".tar.gz")] + ".seconds", "w") as fh:
            fh.write(f"{seconds:.1f}\n")
        os.replace(part, dest)
    return seconds


def ensure(cache_dir=CACHE_DIR):
    """The cached image tarball's path, built first when the cache has none for this
    recipe (older recipes' entries are removed then)."""
    dest = cached_path(cache_dir)
    if os.path.exists(dest):
        return dest
    os.makedirs(cache_dir, exist_ok=True)
    for entry in os.listdir(cache_dir):
        if entry.startswith(f"debian-{SUITE}-{VARIANT}-") and key() not in entry:
            os.remove(os.path.join(cache_dir, entry))
    build(dest)
    return dest


def main():
    try:
        path = ensure()
    except ImageBuildError as exc:
        print(f"tools/debian_image.py: {exc}", file=sys.stderr)
        return 1
    seconds = path[: -len(".tar.gz")] + ".seconds"
    with open(seconds) as fh:
        print(f"{path} (built in {fh.read().strip()} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
