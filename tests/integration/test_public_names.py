"""Every name a user calls stays as it is: execution functions (``sys.doc lxdapi`` and
``lxd``), state functions and their signatures, as Salt's loader sees them on this Salt
line, compared with ``public_names.json``, taken (by ``tools/public_names.py``) before the
Salt side was split into files by family; a name or an argument added since is added
there with the change that adds it (none is ever removed or renamed)."""

import json
import os
import subprocess
import sys

import pytest

from salt_call_support import ROOT

EXPECTED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "public_names.json")

#: What the split decided to spell one way, applied to the list taken before it: the
#: default of ``recursion`` was ``False`` in some functions and ``0`` in others (LXD
#: takes 0, 1 or 2); it is ``0`` everywhere.
RESPELLED = (("recursion=False", "recursion=0"),)


def respelled(signature):
    for before, after in RESPELLED:
        signature = signature.replace(before, after)
    return signature


def loaded_names(layout="module_dirs"):
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "public_names.py"), ROOT, layout],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("layout", ["module_dirs", "extmods", "installed"])
def test_names_and_signatures_are_the_committed_ones(layout):
    """The files of one virtual name are merged by Salt's loader however a minion finds
    them: ``module_dirs``, a synced ``extmods``, the installed package's entry point."""
    with open(EXPECTED) as handle:
        expected = json.load(handle)
    found = loaded_names(layout)
    for part in ("modules", "states"):
        missing = sorted(set(expected[part]) - set(found[part]))
        extra = sorted(set(found[part]) - set(expected[part]))
        assert (missing, extra) == ([], []), part
        changed = {
            name: (expected[part][name], found[part][name])
            for name in expected[part]
            if respelled(expected[part][name]) != found[part][name]
        }
        assert changed == {}, part


def test_sys_doc_lists_every_execution_function():
    found = loaded_names()
    for virtual, documented in found["sys.doc"].items():
        loaded = sorted(n for n in found["modules"] if n.split(".")[0] == virtual)
        assert documented == loaded, virtual
