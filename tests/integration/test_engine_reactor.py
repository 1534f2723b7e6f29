"""The events engine in a real minion, and drift healed by the reactor on a real master
(pytest-salt-factories).

The minion loads lxdapi from the checkout (``module_dirs``), its ``lxdapi:endpoint`` is the
session daemon's socket, and it runs the ``lxdapi`` engine as README.rst's recipe
configures it. The master runs the recipe's reactor: its master configuration and its
reactor SLS are read from README.rst's section "Reacting to changes: the events engine"
(only the recipe's ``owners`` line is replaced, by this test's container and SLS), so the
recipe the documentation gives is the one tested.

What the master hears is collected by salt-factories' event listener (every event of the
master's bus is sent to it). The applies are counted from the master's bus too: every
job's return comes back as ``salt/job/<jid>/ret/<minion>`` with its ``fun``; the jobs of
``state.apply`` on the minion after the first apply are the reactor's.
"""

import importlib.util
import os
import re
import shutil
import time
import uuid

import pytest

from conftest import ROOT

pytestmark = pytest.mark.integration

SECTION = "Reacting to changes: the events engine"

#: The managed container: one config key and its status.
SLS = """\
{name}:
  lxdapi.container_present:
    - source: busybox
    - config:
        user.x: salt
    - status: Running
"""

MODS = "lxdapi_heal"


def engine_module():
    """The engine's file as a plain module (it imports nothing of Salt at its top)."""
    spec = importlib.util.spec_from_file_location(
        "lxdapi_engine_under_test", os.path.join(ROOT, "_engines", "lxdapi.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Seconds after a write of the minion during which an instance's events are its own.
OWN_WINDOW = engine_module().OWN_WINDOW


def readme_blocks():
    """The code blocks of README.rst's engine section, each as its text (dedented)."""
    with open(os.path.join(ROOT, "README.rst"), encoding="utf-8") as fh:
        text = fh.read()
    start = text.index(SECTION + "\n")
    rest = text[start + len(SECTION) + 1 :]
    end = re.search(r"\n[^\n]+\n-{3,}\n", rest[len(SECTION) + 1 :])
    section = rest[: end.start() + len(SECTION) + 1] if end else rest
    blocks = []
    for match in re.finditer(r"\.\. code-block:: \w+\n\n((?:(?:    [^\n]*)?\n)+)", section):
        lines = match.group(1).rstrip("\n").split("\n")
        blocks.append("\n".join(line[4:] for line in lines) + "\n")
    return blocks


def recipe(first_line):
    """The README block of the recipe that starts with ``first_line``."""
    found = [b for b in readme_blocks() if b.startswith(first_line)]
    assert len(found) == 1, f"README.rst's engine section has {len(found)} block(s) {first_line!r}"
    return found[0]


@pytest.fixture(scope="module")
def name():
    return "t-heal-" + uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def master(salt_factories, tmp_path_factory, name):
    import yaml

    files = tmp_path_factory.mktemp("file_roots")
    (files / f"{MODS}.sls").write_text(SLS.format(name=name))
    reactors = tmp_path_factory.mktemp("reactor")
    heal = recipe("{# /srv/reactor/lxdapi-heal.sls")
    owners = re.findall(r"^\{% set owners = .* %\}$", heal, flags=re.M)
    assert len(owners) == 1, heal
    heal = heal.replace(owners[0], "{% set owners = {'" + name + "': '" + MODS + "'} %}")
    (reactors / "lxdapi-heal.sls").write_text(heal)
    config = yaml.safe_load(recipe("# master config").replace("/srv/reactor", str(reactors)))
    factory = salt_factories.salt_master_daemon(
        "lxdapi-reactor-master-" + uuid.uuid4().hex[:4],
        overrides={"file_roots": {"base": [str(files)]}, "reactor": config["reactor"]},
    )
    with factory.started():
        yield factory
    shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture(scope="module")
def minion(master, lxd, name):
    """The minion with the recipe's engine. The test's container is deleted once the
    minion has stopped: deleted before, it would be an instance stopped by hand, which
    the reactor heals."""
    import yaml

    engine = yaml.safe_load(recipe("# minion config"))
    factory = master.salt_minion_daemon(
        "lxdapi-engine-minion-" + uuid.uuid4().hex[:4],
        overrides={
            "module_dirs": [ROOT],
            "lxdapi": {"endpoint": lxd.socket},
            "engines": engine["engines"],
        },
    )
    try:
        with factory.started():
            yield factory
    finally:
        lxd.lxc("delete", "--force", name, check=False)
        shutil.rmtree(factory.config["root_dir"], ignore_errors=True)


@pytest.fixture(scope="module")
def salt_cli(master, minion):
    return master.salt_cli(timeout=180)


def lxdapi_events(event_listener, master, pattern, since):
    """The lxdapi events the master heard since ``since`` whose tag matches ``pattern``,
    oldest first."""
    found = event_listener.get_events([(master.id, pattern)], after_time=since)
    return sorted(found, key=lambda e: e.stamp)


def wait_for(check, timeout, what):
    """Call ``check()`` until it returns something true (returned), or fail after
    ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.3)


def test_events_reach_the_master(event_listener, salt_cli, master, minion, lxd, unique_name):
    """A change made by hand is on the master's bus with the engine's tag and data; the
    same change made by the minion's lxdapi is marked ``own``."""
    lxd.lxc("init", "busybox", unique_name)
    try:
        since = time.time()
        # the engine listens once it has started: retry the change until it is heard
        heard = None
        deadline = time.monotonic() + 60
        attempt = 0
        while heard is None and time.monotonic() < deadline:
            attempt += 1
            lxd.lxc("config", "set", unique_name, f"user.probe={attempt}")
            end = time.monotonic() + 3
            while heard is None and time.monotonic() < end:
                for event in lxdapi_events(
                    event_listener, master, "lxdapi/local/lifecycle/instance-updated", since
                ):
                    if event.data["data"]["metadata"]["source"].endswith("/" + unique_name):
                        heard = event
                time.sleep(0.2)
        assert heard is not None, "no lxdapi event reached the master within 60 s"
        data = heard.data
        assert data["id"] == minion.id
        payload = data["data"]
        assert payload["server"] == "local"
        assert payload["type"] == "lifecycle"
        assert payload["action"] == "instance-updated"
        assert payload["id"] == minion.id
        assert payload["own"] is False and payload["resync"] is False
        assert payload["project"] == "default"

        since = time.time()
        ret = salt_cli.run(
            "lxdapi.container_config_set",
            unique_name,
            "user.probe",
            "from-salt",
            minion_tgt=minion.id,
        )
        assert ret.returncode == 0, ret

        def own_update():
            return [
                e
                for e in lxdapi_events(
                    event_listener, master, "lxdapi/local/lifecycle/instance-updated", since
                )
                if e.data["data"]["metadata"]["source"].endswith("/" + unique_name)
            ]

        found = wait_for(own_update, 20, "the event of the minion's own write")
        assert [e.data["data"]["own"] for e in found] == [True]
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)


class Applies:
    """The ``state.apply`` jobs the minion returned to the master since ``since``, by jid
    (kept here: the event listener forgets events after two minutes)."""

    def __init__(self, event_listener, master, minion, since):
        self.listener, self.master, self.minion, self.since = event_listener, master, minion, since
        self.jobs = {}

    def count(self):
        for event in self.listener.get_events(
            [(self.master.id, f"salt/job/*/ret/{self.minion.id}")], after_time=self.since
        ):
            if event.data.get("fun") == "state.apply":
                self.jobs[event.data["jid"]] = event.data
        return len(self.jobs)


def test_drift_is_healed_by_the_reactor(event_listener, salt_cli, master, minion, lxd, name):
    ret = salt_cli.run("state.apply", MODS, minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    assert lxd.status(name) == "Running"
    assert lxd.lxc("config", "get", name, "user.x").strip() == "salt"
    applies = Applies(event_listener, master, minion, time.time())
    # a change within OWN_WINDOW seconds of the minion's own write to the instance is
    # taken for the minion's (see the engine's own_window): by hand means after it
    time.sleep(OWN_WINDOW + 1)

    # by hand: a managed key changed
    lxd.lxc("config", "set", name, "user.x=hand")
    changed = time.monotonic()
    wait_for(
        lambda: lxd.lxc("config", "get", name, "user.x").strip() == "salt",
        30,
        "user.x set back to salt by the reactor",
    )
    healed_after = time.monotonic() - changed
    wait_for(applies.count, 30, "the healing apply's return")
    time.sleep(OWN_WINDOW + 1)

    # by hand: stopped
    lxd.lxc("stop", name, "--force")
    stopped = time.monotonic()
    wait_for(lambda: lxd.status(name) == "Running", 30, "the container started again")
    restarted_after = time.monotonic() - stopped

    # no loop: the healing applies' own writes are events the reactor skips, and an
    # apply that changes nothing writes nothing
    time.sleep(10)
    final = applies.count()
    assert final == 2, applies.jobs
    time.sleep(5)
    assert applies.count() == final, applies.jobs
    assert lxd.lxc("config", "get", name, "user.x").strip() == "salt"
    assert lxd.status(name) == "Running"
    assert healed_after < 15 and restarted_after < 15, (healed_after, restarted_after)


def test_the_engine_runs_through_the_entry_point(event_listener, master, lxd, unique_name):
    """A minion with no ``module_dirs`` and nothing synced runs the engine all the same:
    Salt's engine loader finds it through the installed package's entry point
    (``saltext_lxdapi.get_dirs``' ``engines``)."""
    factory = master.salt_minion_daemon(
        "lxdapi-engine-ep-minion-" + uuid.uuid4().hex[:4],
        overrides={"lxdapi": {"endpoint": lxd.socket}, "engines": [{"lxdapi": {}}]},
    )
    lxd.lxc("init", "busybox", unique_name)
    try:
        with factory.started():
            since = time.time()
            attempt = 0

            def heard():
                nonlocal attempt
                attempt += 1
                lxd.lxc("config", "set", unique_name, f"user.probe={attempt}")
                time.sleep(1)
                return [
                    e
                    for e in lxdapi_events(
                        event_listener, master, "lxdapi/local/lifecycle/instance-updated", since
                    )
                    if e.data["id"] == factory.id
                    and e.data["data"]["metadata"]["source"].endswith("/" + unique_name)
                ]

            found = wait_for(heard, 60, "an event of the entry point's engine on the master")
            assert found[0].data["data"]["own"] is False
    finally:
        lxd.lxc("delete", "--force", unique_name, check=False)
        shutil.rmtree(factory.config["root_dir"], ignore_errors=True)
