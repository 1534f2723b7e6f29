"""Bounded reads (issue 23): a command's output, and a file pulled from an instance, are
read in chunks. The return keeps the head and the tail of a 200 MB output and says how
much it left out; ``output_file`` and ``dest`` get all of it on disk; and the peak
memory of the process that did it stays near the cap, whatever the size.

Each big read runs in a child process, so that its peak resident memory
(``VmHWM``) is its own, measured against what the same process held before it.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: The output of the big commands: this line (41 bytes) over and over, cut at SIZE.
LINE = b"0123456789012345678901234567890123456789\n"
SIZE = 200_000_000
BIG = f"yes {LINE.decode().strip()} | head -c {SIZE}"

#: How much more than its baseline a process may hold at its peak (bytes). The kept
#: output is 2 x 1 MiB per stream; the rest is chunks and the interpreter's slack.
PEAK_ALLOWANCE = 150 * 1024 * 1024

#: What the child runs: the core alone (no Salt), on the daemon's socket. It measures
#: its resident memory after a small exec (the baseline), then makes the big read, and
#: prints one JSON line with its peak since it started (``VmHWM``).
CHILD = r"""
import base64, json, sys
utils, socket, job = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, utils)
import lxdapi_loader
core = lxdapi_loader.load(utils)
import lxdapi_files, lxdapi_instances

def peak():
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's at the fork
    # (the test runner's, hundreds of MiB), VmHWM from its own pages
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmHWM:"))

def resident():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmRSS:"))

api = core.API.factory(socket)
lxdapi_instances.instance_exec(api, job["instance"], ["echo", "warm"])
baseline, before = resident(), peak()
report = {"peak_before": before}
if job["kind"] == "exec":
    extra = {"output_file": job["output_file"]} if "output_file" in job else {}
    out = lxdapi_instances.instance_exec(api, job["instance"], job["command"], **extra)
    for key in ("stdout", "stderr"):
        out[key] = base64.b64encode(out[key]).decode()
    report["result"] = out
else:
    report["result"] = lxdapi_files.instance_file_download(
        api, job["instance"], job["path"], job["dest"]
    )
report.update(baseline=baseline, peak=peak())
print(json.dumps(report))
"""


def run_child(lxd, **job):
    """Run :data:`CHILD` for ``job``; its report, with ``result`` as the core returned
    it (stdout and stderr as bytes)."""
    utils = os.path.join(ROOT, "_utils")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, utils, lxd.socket, json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    result = report["result"]
    for key in ("stdout", "stderr"):
        if key in result:
            result[key] = base64.b64decode(result[key])
    grew = report["peak"] - report["baseline"]
    print(
        "{}: peak RSS {:.1f} MiB (before the read {:.1f} MiB), resident before it {:.1f} "
        "MiB".format(
            job["kind"],
            report["peak"] / 2**20,
            report["peak_before"] / 2**20,
            report["baseline"] / 2**20,
        )
    )
    assert grew < PEAK_ALLOWANCE, f"the read took {grew / 2**20:.1f} MiB more at its peak"
    return result


def stream_bytes(start, count):
    """``count`` bytes of the big output from offset ``start``."""
    offset = start % len(LINE)
    return (LINE * (count // len(LINE) + 2))[offset : offset + count]


def md5_inside(modules, instance, shell):
    """The md5 (hex) of what ``shell`` prints, computed in ``instance`` by md5sum."""
    out = modules.lxdapi.container_exec(instance, ["sh", "-c", shell + " | md5sum"])
    assert out["retcode"] == 0, out
    return out["stdout"].split()[0]


def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def md5_of(path):
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def running(lxd):
    """One running busybox container for this module's tests."""
    name = f"t-bounded-{lxd.server}-{os.getpid()}"
    lxd.lxc("launch", "busybox", name)
    yield name
    lxd.lxc("delete", "--force", name, check=False)


def test_a_big_output_keeps_its_head_and_tail_and_says_what_was_left_out(lxd, running):
    cap = 1024 * 1024
    out = run_child(lxd, kind="exec", instance=running, command=["sh", "-c", BIG])
    assert out["retcode"] == 0 and out["stderr"] == b""
    assert out["stdout_omitted"] == SIZE - 2 * cap
    assert "stderr_omitted" not in out and "stdout_file" not in out
    marker = (
        b"\n[... 197902848 bytes (188.7 MiB) of stdout left out here: output_file keeps "
        b"all of it ...]\n"
    )
    assert out["stdout"] == stream_bytes(0, cap) + marker + stream_bytes(SIZE - cap, cap)


def test_output_file_gets_the_whole_output(lxd, modules, running, tmp_path):
    dest = str(tmp_path / "out.txt")
    out = run_child(
        lxd,
        kind="exec",
        instance=running,
        command=["sh", "-c", BIG + "; echo done >&2"],
        output_file=dest,
    )
    assert out["retcode"] == 0
    assert out["stdout_file"] == dest and out["stderr_file"] == dest + ".stderr"
    assert out["stdout_omitted"] == SIZE - 2 * 1024 * 1024
    assert os.path.getsize(dest) == SIZE
    assert md5_of(dest) == md5_inside(modules, running, BIG)
    with open(dest + ".stderr", "rb") as fh:
        assert fh.read() == b"done\n"
    assert os.stat(dest).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["out.txt", "out.txt.stderr"]  # no leftovers


def test_a_file_pulled_to_a_local_file_is_streamed(lxd, modules, running, tmp_path):
    made = modules.lxdapi.container_exec(running, ["sh", "-c", BIG + " > /root/big"])
    assert made["retcode"] == 0, made
    dest = str(tmp_path / "big")
    info = run_child(lxd, kind="pull", instance=running, path="/root/big", dest=dest)
    assert info["dest"] == dest and info["size"] == SIZE and info["type"] == "file"
    assert os.path.getsize(dest) == SIZE
    assert md5_of(dest) == md5_inside(modules, running, "cat /root/big")
    with open(dest, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == info["sha256"]

    # Read into memory, it is refused, naming its size and the way to get it.
    with pytest.raises(CommandExecutionError, match=r"200000000 bytes \(190.7 MiB\).*give dest"):
        modules.lxdapi.container_file_get(running, "/root/big")
    modules.lxdapi.container_file_delete(running, "/root/big")


def test_the_module_caps_output_and_says_so(modules, running, tmp_path):
    out = modules.lxdapi.container_exec(
        running, ["sh", "-c", "printf 0123456789abcdefghij; printf E >&2"], output_cap=4
    )
    assert out == {
        "retcode": 0,
        "stdout": "0123\n[... 12 bytes of stdout left out here: output_file keeps all of it "
        "...]\nghij",
        "stdout_omitted": 12,
        "stderr": "E",
    }
    dest = str(tmp_path / "small")
    out = modules.lxdapi.container_exec(running, ["echo", "hi"], output_file=dest)
    assert out == {
        "retcode": 0,
        "stdout": "hi\n",
        "stderr": "",
        "stdout_file": dest,
        "stderr_file": dest + ".stderr",
    }
    with open(dest) as fh:
        assert fh.read() == "hi\n"
    with pytest.raises(SaltInvocationError, match="output_cap must be a number of bytes"):
        modules.lxdapi.container_exec(running, ["true"], output_cap=-1)
    with pytest.raises(SaltInvocationError, match="output_file must be an absolute path"):
        modules.lxdapi.container_exec(running, ["true"], output_file="out.txt")
    with pytest.raises(SaltInvocationError, match="the folder /nonexistent does not exist"):
        modules.lxdapi.container_exec(running, ["true"], output_file="/nonexistent/out")


def test_a_small_file_pulled_with_dest(modules, running, tmp_path):
    modules.lxdapi.container_file_put(running, "/root/small", contents="small\n")
    dest = str(tmp_path / "small")
    info = modules.lxdapi.container_file_get(running, "/root/small", dest=dest)
    with open(dest, "rb") as fh:
        data = fh.read()
    assert data == b"small\n" and info["dest"] == dest and info["size"] == len(data)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert os.stat(dest).st_mode & 0o777 == 0o666 & ~umask()  # as open() makes a file
    assert modules.lxdapi.container_file_get(running, "/nope", dest=dest) is False
    assert "entries" in modules.lxdapi.container_file_get(running, "/etc", dest=dest)
