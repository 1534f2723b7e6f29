"""tools/api_coverage.py: it runs, its figures add up, every name it counts is defined in
the source it read, and every operation of LXD 5.0's API has a family.

No daemon and no Salt: the script parses the Salt modules with ``ast``; this test checks
the names it counts against the source text on its own (a ``def NAME(`` line).
"""

import os
import re
import subprocess
import sys

import api_coverage
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "tools", "api_coverage.py")
BEFORE = "d2f4588"  # a revision before the forwards, peers, warnings... were added


@pytest.fixture(scope="module")
def operations():
    return api_coverage.load_operations()


@pytest.fixture(scope="module")
def coverage(operations):
    return api_coverage.Coverage(operations)


def _has_revision(rev):
    return (
        subprocess.run(
            ["git", "-C", ROOT, "cat-file", "-e", rev + "^{commit}"], capture_output=True
        ).returncode
        == 0
    )


def _defines(text, name):
    return re.search(rf"^def {re.escape(name)}\(", text, re.MULTILINE) is not None


def test_the_operations_file_is_lxd_5_0_2s(operations):
    assert len(operations) == len(set(operations)) == 220
    assert operations == sorted(operations, key=lambda op: (op[1], op[0]))
    assert ("GET", "/1.0/instances?recursion=1") in operations
    assert {m for m, _ in operations} == {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}


def test_every_operation_has_a_family(operations):
    unmapped = [op for op in operations if api_coverage.family_of(op[1]) is None]
    assert unmapped == []
    assert {api_coverage.family_of(p) for _, p in operations} == set(api_coverage.FAMILIES)


def test_every_explicit_operation_is_in_the_api(operations):
    assert sorted(set(api_coverage.EXPLICIT) - set(operations)) == []


def test_the_figures_add_up(coverage):
    for row in coverage.rows + [coverage.total]:
        assert row.named + row.raw_only + row.unreachable == row.operations, row
        assert max(row.functions, row.states) <= row.named <= row.functions + row.states, row
    for field in api_coverage.Row._fields[1:]:
        assert getattr(coverage.total, field) == sum(getattr(r, field) for r in coverage.rows)
    assert coverage.total.operations == len(coverage.operations)


def test_only_what_a_raw_call_cannot_send_is_unreachable(coverage):
    unreachable = {op for op in coverage.operations if coverage.status(op) == "unreachable"}
    assert unreachable == {
        op for op in coverage.operations if api_coverage.raw_reachable(op) is not True
    }
    assert ("HEAD", "/1.0/instances/{name}/files") in unreachable
    assert ("GET", "/1.0/events") in unreachable


def test_every_counted_name_is_defined_in_the_source(coverage):
    functions, states = coverage.counted_names()
    assert functions and states
    module = "\n".join(
        open(os.path.join(ROOT, path), encoding="utf-8").read()
        for path in api_coverage.family_files(api_coverage.MODULE_PATH)
    )
    state_module = "\n".join(
        open(os.path.join(ROOT, path), encoding="utf-8").read()
        for path in api_coverage.family_files(api_coverage.STATES_PATH)
    )
    assert sorted(n for n in functions if not _defines(module, n)) == []
    assert sorted(n for n in states if not _defines(state_module, n)) == []


def test_each_kind_is_mapped_from_the_registry(coverage):
    """Every kind's get and list reach its item and collection, its present and absent
    states the item: what the registry says, at whatever revision."""
    for kind in coverage.kinds.values():
        item = api_coverage.normalise(f"/1.0/{kind.collection}/{{}}")
        collection = api_coverage.normalise("/1.0/" + kind.collection)
        assert kind.name + "_get" in coverage.mapping[("GET", item)][0]
        assert kind.name + "_list" in coverage.mapping[("GET", collection)][0]
        assert kind.name + "_create" in coverage.mapping[("POST", collection)][0]
        assert kind.name + "_delete" in coverage.mapping[("DELETE", item)][0]
        assert kind.name + "_absent" in coverage.mapping[("DELETE", item)][1]
        update = "PUT" if kind.update == "put" else "PATCH"
        assert kind.name + "_present" in coverage.mapping[(update, item)][1]


def test_a_name_the_source_lacks_is_not_counted(operations, monkeypatch):
    monkeypatch.setitem(
        api_coverage.EXPLICIT, ("PUT", "/1.0"), (["server_config_replace_nowhere"], [])
    )
    coverage = api_coverage.Coverage(operations)
    assert coverage.reach[("PUT", "/1.0")] == ([], [])
    assert "server_config_replace_nowhere" in coverage.absent_names()[0]


def test_extract_reads_the_paths_of_a_swagger_document():
    text = "\n".join(
        [
            "definitions:",
            "    Thing:",
            "        get:",
            "            description: not a path",
            "paths:",
            "    /1.0:",
            "        get:",
            "            operationId: server_get",
            "        patch:",
            "            parameters:",
            "                - in: body",
            "    /1.0/instances?recursion=1:",
            "        get:",
            "            summary: x",
            "swagger: '2.0'",
        ]
    )
    assert api_coverage.extract_operations(text) == [
        ("GET", "/1.0"),
        ("PATCH", "/1.0"),
        ("GET", "/1.0/instances?recursion=1"),
    ]


@pytest.mark.parametrize("args", [[], ["--format", "rst"], ["--missing"]])
def test_the_script_runs(args):
    done = subprocess.run(
        [sys.executable, SCRIPT] + args, capture_output=True, text=True, cwd="/", timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "total" in done.stdout
    if args == ["--format", "rst"]:
        assert done.stdout.startswith(".. table::")


@pytest.mark.skipif(not _has_revision(BEFORE), reason="the checkout lacks " + BEFORE)
def test_an_earlier_revision_is_read_from_git(operations):
    before = api_coverage.Coverage(operations, rev=BEFORE)
    for row in before.rows + [before.total]:
        assert row.named + row.raw_only + row.unreachable == row.operations
    assert "network_forward" not in before.kinds  # the registry as it was then
    assert before.reach[("GET", "/1.0/warnings")] == ([], [])
    assert before.label() == "revision " + BEFORE
