"""``lxdapi.instances_pruned`` and the ownership stamp (``owner``), against the real
daemons: the declarations come from a real state run (``state.sls`` of an SLS written
into the minion's file_roots), so "declared in the same run" is Salt's own low data.
What the server holds is read back with its own client."""

import json
import os
import textwrap
import uuid

import pytest

from resources_support import cleanup  # noqa: F401

OWNER_KEY = "user.lxdapi.owner"


def _names(lxd, project="default"):
    """The instance names the server holds in ``project``."""
    urls = json.loads(lxd.lxc("query", f"/1.0/instances?project={project}"))
    return sorted(url.rsplit("/", 1)[1].split("?")[0] for url in urls)


def _held(lxd, name, project="default"):
    found = lxd.lxc("query", f"/1.0/instances/{name}?project={project}", check=False)
    return json.loads(found) if found else None


@pytest.fixture
def other_project(lxd):
    """A project made for the test (sharing the default project's images and profiles),
    removed afterwards with what is in it."""
    name = "tp" + uuid.uuid4().hex[:8]
    lxd.lxc(
        "project", "create", name, "-c", "features.images=false", "-c", "features.profiles=false"
    )
    yield name
    for instance in _names(lxd, name):
        lxd.lxc("delete", "--force", instance, "--project", name, check=False)
    lxd.lxc("project", "delete", name, check=False)


@pytest.fixture
def fleet(lxd, cleanup, unique_name, other_project):
    """Instances with a common prefix: ``declared`` (made stamped, declared by the SLS),
    ``running``, ``frozen`` and ``stopped`` (stamped, undeclared: to go), ``kept``
    (stamped, undeclared, protected by keep), ``outside`` (not stamped: outside the
    selector), and ``elsewhere`` (stamped, undeclared, in another project)."""
    prefix = unique_name[:44]
    names = {
        role: f"{prefix}-{role[:4]}"
        for role in ("declared", "running", "frozen", "stopped", "kept", "outside")
    }
    for role, name in names.items():
        cleanup(["delete", "--force", name])
        stamp = [] if role == "outside" else ["-c", f"{OWNER_KEY}=salt"]
        lxd.lxc("init", "busybox", name, *stamp)
    lxd.lxc("start", names["running"], names["frozen"])
    lxd.lxc("pause", names["frozen"])
    names["elsewhere"] = f"{prefix}-else"
    lxd.lxc(
        "init",
        "busybox",
        names["elsewhere"],
        "-c",
        f"{OWNER_KEY}=salt",
        "--project",
        other_project,
    )
    names["prefix"] = prefix
    names["project"] = other_project
    return names


@pytest.fixture
def write_sls(minion_opts):
    """Write an SLS (dedented, formatted with the keywords) into the minion's file_roots;
    return its name for ``state.sls``. Removed afterwards."""
    made = []

    def write(text, **names):
        name = "prune_" + uuid.uuid4().hex[:8]
        path = os.path.join(minion_opts["file_roots"]["base"][0], name + ".sls")
        with open(path, "w") as fh:
            fh.write(textwrap.dedent(text).format(**names))
        made.append(path)
        return name

    yield write
    for path in made:
        os.remove(path)


FLEET_SLS = """
{declared}:
  lxdapi.container_present:
    - source: busybox
    - owner: salt

prune-{prefix}:
  lxdapi.instances_pruned:
    - selector: {{name: '{prefix}-*'}}
    - owner: salt
    - keep: ['{prefix}-kept']
    - stop_timeout: 20
"""


def _by_id(result):
    return {r.id: r for r in result}


def test_prune_removes_exactly_the_undeclared_matches(modules, lxd, fleet, write_sls, request_log):
    sls = write_sls(FLEET_SLS, **fleet)
    gone = sorted(fleet[r] for r in ("running", "frozen", "stopped"))
    before = _names(lxd)
    prune = f"prune-{fleet['prefix']}"

    # Test mode: the instances that would go, listed; nothing written.
    predicted = _by_id(modules.state.sls(sls, test=True))[prune]
    assert predicted.result is None, predicted.comment
    assert sorted(predicted.changes) == gone
    assert predicted.changes[fleet["frozen"]] == {
        "old": {"status": "Frozen", "project": "default"},
        "new": None,
    }
    assert predicted.comment.startswith("Would remove 3 instance(s) the run does not declare")
    assert f"declared in this run: {fleet['declared']}" in predicted.comment
    assert f"kept: {fleet['kept']}" in predicted.comment
    assert request_log.writes == []
    assert _names(lxd) == before

    # The real run: exactly those three go, each stopped cleanly first.
    request_log.clear()
    ret = _by_id(modules.state.sls(sls))
    assert ret[fleet["declared"]].result is True
    assert ret[prune].result is True, ret[prune].comment
    assert sorted(ret[prune].changes) == gone
    assert ret[prune].changes == predicted.changes
    assert ret[prune].comment.startswith("Removed 3 instance(s) the run does not declare: ")
    assert sorted(set(before) - set(_names(lxd))) == gone
    for role in ("declared", "kept", "outside"):
        assert _held(lxd, fleet[role]) is not None, role
    assert _names(lxd, fleet["project"]) == [fleet["elsewhere"]]
    writes = [(m, u.split("/1.0/", 1)[1].split("?")[0]) for m, u, _ in request_log.writes]
    assert sorted(writes) == sorted(
        [("PUT", f"instances/{fleet['running']}/state")]
        + [("PUT", f"instances/{fleet['frozen']}/state")] * 2  # unfreeze, then stop
        + [("DELETE", f"instances/{name}") for name in gone]
    )

    # Twice: nothing to do, nothing written.
    request_log.clear()
    again = _by_id(modules.state.sls(sls))[prune]
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment.startswith("Nothing to prune: selector ")
    assert request_log.writes == []


def test_a_declaration_protects_only_in_its_own_project(modules, lxd, fleet, write_sls):
    """``running`` declared in the other project (where the state creates it) does not
    protect the ``running`` of the default project."""
    sls = write_sls(
        FLEET_SLS
        + """
{running}:
  lxdapi.container_present:
    - source: busybox
    - project: {project}
""",
        **fleet,
    )
    ret = _by_id(modules.state.sls(sls))
    assert ret[fleet["running"]].result is True, ret[fleet["running"]].comment
    prune = ret[f"prune-{fleet['prefix']}"]
    assert prune.result is True, prune.comment
    assert sorted(prune.changes) == sorted(fleet[r] for r in ("running", "frozen", "stopped"))
    assert _held(lxd, fleet["running"]) is None
    assert _held(lxd, fleet["running"], fleet["project"]) is not None


def test_owner_stamp_is_set_on_creation_and_kept(states, lxd, cleanup, unique_name, request_log):
    name = unique_name
    cleanup(["delete", "--force", name])
    ret = states.lxdapi.container_present(name=name, source="busybox", owner="salt")
    assert ret.result is True, ret.comment
    assert ret.changes["instance"]["new"]["config"] == {OWNER_KEY: "salt"}
    assert _held(lxd, name)["config"][OWNER_KEY] == "salt"

    lxd.lxc("config", "unset", name, OWNER_KEY)  # taken off by hand: put back
    ret = states.lxdapi.container_present(name=name, source="busybox", owner="salt")
    assert ret.changes == {"config": {"old": {OWNER_KEY: None}, "new": {OWNER_KEY: "salt"}}}
    assert _held(lxd, name)["config"][OWNER_KEY] == "salt"

    request_log.clear()
    again = states.lxdapi.container_present(name=name, source="busybox", owner="salt")
    assert again.result is True and again.changes == {}
    assert request_log.writes == []

    bad = states.lxdapi.container_present(
        name=name, source="busybox", owner="salt", config={OWNER_KEY: "someone-else"}
    )
    assert bad.result is False and "contradict" in bad.comment
    bad = states.lxdapi.containers_present(
        name="farm", containers={name: {"owner": ""}}, defaults={"source": "busybox"}
    )
    assert bad.result is False and "owner must be a non-empty text" in bad.comment
    assert request_log.writes == []
    assert _held(lxd, name)["config"][OWNER_KEY] == "salt"


def test_containers_present_stamps_each_container(states, lxd, cleanup, unique_name):
    names = [f"{unique_name[:50]}-{i}" for i in range(2)]
    for name in names:
        cleanup(["delete", "--force", name])
    ret = states.lxdapi.containers_present(
        name="farm", containers=names, defaults={"source": "busybox", "owner": "salt"}
    )
    assert ret.result is True, ret.comment
    assert [_held(lxd, n)["config"].get(OWNER_KEY) for n in names] == ["salt", "salt"]


def test_state_single_has_no_declarations(states, lxd, fleet, request_log):
    """In state.single there is no SLS: every match but keep goes, and the comment says
    why; a selector matching the whole project is still refused."""
    prefix = fleet["prefix"]
    predicted = states.lxdapi.instances_pruned(
        name="p", selector=f"name:{prefix}-* and status:stopped", owner="salt", test=True
    )
    assert predicted.result is None
    # Stopped, stamped, in the prefix: the declared, stopped and kept ones; none is
    # declared in a lone state run.
    assert sorted(predicted.changes) == sorted(fleet[r] for r in ("declared", "stopped", "kept"))
    assert "No SLS in this run" in predicted.comment
    assert request_log.writes == []

    ret = states.lxdapi.instances_pruned(
        name="p",
        selector=f"name:{prefix}-* and status:stopped",
        owner="salt",
        keep=[f"{prefix}-kept", f"{prefix}-decl*"],
    )
    assert ret.result is True, ret.comment
    assert list(ret.changes) == [fleet["stopped"]]
    assert _held(lxd, fleet["stopped"]) is None
    assert all(_held(lxd, fleet[r]) for r in ("declared", "kept", "running", "outside"))


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, "a selector is required"),
        ({"selector": ""}, "a selector is required"),
        ({"selector": {"colour": "red"}}, "a target mapping takes the keys"),
        ({"selector": "name:t-*", "keep": "web1"}, "keep must be a list"),
        ({"selector": "name:t-*", "keep": [{"a": 1}]}, "is not an instance name or a glob"),
        ({"selector": "name:t-*", "keep": ["bad/name"]}, "is not an instance name or a glob"),
        ({"selector": "name:t-*", "stop_timeout": -1}, "stop_timeout must be"),
        ({"selector": "name:t-*", "force": "yes"}, "force"),
        ({"owner": 5}, "owner must be a non-empty text"),
        ({"selector": "name:t-*", "colour": "red"}, "unexpected argument(s): colour"),
        ({"colour": "red"}, "unexpected argument(s): colour"),  # said before the selector
    ],
)
def test_bad_input_is_refused_before_anything_is_touched(
    states, lxd, cleanup, unique_name, request_log, kwargs, expected
):
    # A stamped bystander that the selectors below (name:t-*) match, were they obeyed.
    cleanup(["delete", "--force", unique_name])
    lxd.lxc("init", "busybox", unique_name, "-c", f"{OWNER_KEY}=salt")
    before = _names(lxd)
    assert unique_name in before
    ret = states.lxdapi.instances_pruned(name="p", **kwargs)
    assert ret.result is False and expected in ret.comment, ret.comment
    assert ret.changes == {} and request_log.writes == []
    assert _names(lxd) == before


def test_a_selector_matching_the_whole_project_is_refused(
    modules, states, lxd, fleet, write_sls, request_log
):
    project = fleet["project"]
    lxd.lxc("init", "busybox", "second", "--project", project)
    # state.single: no declarations at all.
    ret = states.lxdapi.instances_pruned(name="p", selector="name:*", project=project)
    assert ret.result is False
    assert "matches every instance of project" in ret.comment
    assert "refused, nothing removed" in ret.comment
    # A real run whose declarations are all in another project.
    sls = write_sls(
        """
        {declared}:
          lxdapi.container_present:
            - source: busybox
        prune:
          lxdapi.instances_pruned:
            - selector: 'project:{project} and name:*'
        """,
        declared=fleet["declared"],
        project=project,
    )
    ret = _by_id(modules.state.sls(sls))["prune"]
    assert ret.result is False and "the run declares none there" in ret.comment, ret.comment
    assert request_log.writes == []
    assert _names(lxd, project) == sorted([fleet["elsewhere"], "second"])


def test_force_kills_only_after_a_clean_stop_failed(states, lxd, cleanup, unique_name):
    name, bystander = unique_name, unique_name[:55] + "-by"
    cleanup(["delete", "--force", name])
    cleanup(["delete", "--force", bystander])
    lxd.lxc("init", "busybox", bystander)  # so that the match is not the whole project
    lxd.lxc("launch", "busybox", name, "-c", f"{OWNER_KEY}=salt-stuck")
    lxd.lxc("config", "set", name, "raw.lxc", "lxc.signal.halt=SIGURG")  # ignores a halt
    lxd.lxc("restart", "--force", name)
    args = dict(name="p", selector=f"name:{name}", owner="salt-stuck", stop_timeout=1)
    ret = states.lxdapi.instances_pruned(**args)
    assert ret.result is False
    assert f"{name} did not stop cleanly within 1 s" in ret.comment, ret.comment
    assert ret.changes == {}
    assert lxd.status(name) == "Running"

    ret = states.lxdapi.instances_pruned(force=True, **args)
    assert ret.result is True, ret.comment
    assert ret.changes == {name: {"old": {"status": "Running", "project": "default"}, "new": None}}
    assert _held(lxd, name) is None and _held(lxd, bystander) is not None


# ---------------------------------------------------------------------- images_pruned


def _images(lxd, project):
    """``{fingerprint: aliases}`` of the images the server holds in ``project``."""
    held = json.loads(lxd.lxc("query", f"/1.0/images?recursion=1&project={project}"))
    return {i["fingerprint"]: sorted(a["name"] for a in i.get("aliases") or []) for i in held}


@pytest.fixture
def image_project(lxd):
    """A project with images of its own: the busybox image (alias ``bb``), and three
    images published from a container there (``unused``, ``used``: an instance was made
    from it, ``kept``), none aliased. Removed afterwards."""
    project = "ti" + uuid.uuid4().hex[:8]
    lxd.lxc("project", "create", project, "-c", "features.images=true", "-c",
            "features.profiles=false")  # fmt: skip
    where = ["--project", project]
    try:
        lxd.lxc("image", "import", lxd.image_path, "--alias", "bb", *where)
        lxd.lxc("init", "bb", "src", *where)
        made = {}
        for role in ("unused", "used", "kept"):
            lxd.lxc("publish", "src", *where, f"description=prune-{role}")
            found = set(_images(lxd, project)) - set(made.values())
            made[role] = next(f for f in found if not _images(lxd, project)[f])
        lxd.lxc("init", made["used"], "user", *where)
        made["bb"] = next(f for f, a in _images(lxd, project).items() if a == ["bb"])
        made["project"] = project
        yield made
    finally:
        for instance in _names(lxd, project):
            lxd.lxc("delete", "--force", instance, *where, check=False)
        for fingerprint in _images(lxd, project):
            lxd.lxc("image", "delete", fingerprint, *where, check=False)
        lxd.lxc("project", "delete", project, check=False)


def test_images_pruned_deletes_only_unaliased_unused_old_images(
    states, lxd, image_project, request_log
):
    images = image_project
    project = images["project"]
    before = _images(lxd, project)
    assert len(before) == 4

    young = states.lxdapi.images_pruned(name="imgs", older_than=1, project=project)
    assert young.result is True and young.changes == {}, young.comment
    assert "2 too young" in young.comment and "1 aliased" in young.comment
    assert "1 in use" in young.comment

    args = dict(name="imgs", older_than=0, keep=[images["kept"][:12]], project=project)
    predicted = states.lxdapi.images_pruned(test=True, **args)
    assert predicted.result is None, predicted.comment
    assert list(predicted.changes) == [images["unused"]]
    assert predicted.changes[images["unused"]]["old"]["description"] == "prune-unused"
    assert predicted.changes[images["unused"]]["new"] is None
    assert predicted.comment.startswith("Would delete 1 image(s)")
    assert request_log.writes == [] and _images(lxd, project) == before

    ret = states.lxdapi.images_pruned(**args)
    assert ret.result is True, ret.comment
    assert ret.changes == predicted.changes
    assert sorted(_images(lxd, project)) == sorted(images[r] for r in ("bb", "used", "kept"))
    assert [m for m, _, _ in request_log.writes] == ["DELETE"]

    request_log.clear()
    again = states.lxdapi.images_pruned(**args)
    assert again.result is True and again.changes == {}, again.comment
    assert again.comment.startswith("No image to delete: ")
    assert request_log.writes == []


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, "older_than must be a number of days"),
        ({"older_than": -1}, "older_than must be a number of days"),
        ({"older_than": "soon"}, "older_than must be a number of days"),
        ({"older_than": True}, "older_than must be a number of days"),
        ({"older_than": 0, "keep": "abcd1234"}, "keep must be a list of image fingerprints"),
        ({"older_than": 0, "keep": ["xyz!"]}, "is not an image fingerprint"),
        ({"older_than": 0, "keep": ["ab"]}, "is not an image fingerprint"),
    ],
)
def test_images_pruned_bad_input_is_refused_before_anything_is_touched(
    states, lxd, request_log, kwargs, expected
):
    before = _images(lxd, "default")
    ret = states.lxdapi.images_pruned(name="imgs", **kwargs)
    assert ret.result is False and expected in ret.comment, ret.comment
    assert ret.changes == {} and request_log.writes == []
    assert _images(lxd, "default") == before
