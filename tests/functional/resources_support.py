"""Shared bits of the tests of profiles, networks, storage, projects, snapshots and files.

Imported by ``test_resources_*.py`` (pytest puts this folder on ``sys.path``).
"""

import shutil
import time
import uuid

import pytest

import lxdhost
from conftest import core


def short_name(prefix="t5"):
    """A unique name short enough for a network interface (at most 15 characters)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def held(api, url, **params):
    """What LXD holds at ``url`` (its metadata), or None when it does not exist."""
    result = core.get_or_none(api, url, params=params or None)
    return None if result is None else result.metadata


@pytest.fixture
def cleanup(lxd):
    """Register ``lxc`` commands (argument lists) that undo what a test made.

    They run in reverse order at teardown, failures ignored: register a container after
    the profile, network or volume it uses, so it goes first.
    """
    commands = []
    yield commands.append
    for args in reversed(commands):
        undo(lxd, args)


def undo(lxd, args, attempts=20):
    """Run ``lxc ARGS`` at a teardown; failures ignored, but one refused only because the
    instance is busy (a stop of the server's own after a failed start) is tried again
    for a few seconds, so that no container outlives its test."""
    for attempt in range(attempts):
        try:
            lxd.lxc(*args)
            return
        except lxdhost.LXDHostError as exc:
            if "busy" not in str(exc) or attempt == attempts - 1:
                return
        time.sleep(0.5)


def make_container(lxd, cleanup, name, *args, project=None):
    """``lxc init busybox NAME ARGS...`` (a stopped container), deleted at teardown."""
    where = ["--project", project] if project else []
    cleanup(["delete", "--force", name] + where)
    lxd.lxc("init", "busybox", name, *args, *where)
    return name


def require_firewall_tool():
    """LXD starts a bridge only with nftables or iptables on the host: say so plainly."""
    if not (shutil.which("nft") or shutil.which("iptables")):
        pytest.fail(
            "LXD needs nftables (or iptables) on the host to create a bridge: "
            "apt-get install -y nftables",
            pytrace=False,
        )
