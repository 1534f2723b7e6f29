"""Every public function of the Salt modules documents its parameters and a CLI Example.

Reads the sources with ``ast`` (nothing is imported): a public function is a top-level
``def`` whose name has no leading underscore (``__virtual__`` excluded).
"""

import ast
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Every file Salt loads: the execution and state modules by family, the old lxd
#: adapters, the beacon, the engine.
MODULE_FILES = sorted(
    os.path.relpath(path, ROOT)
    for folder in ("_modules", "_states", "_beacons", "_engines")
    for path in glob.glob(os.path.join(ROOT, folder, "*.py"))
    if not path.endswith("__init__.py")
)


def public_functions_in(source, filename="<source>"):
    tree = ast.parse(source, filename=filename)
    return [
        node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not node.name.startswith("_")
    ]


def public_functions(relpath):
    with open(os.path.join(ROOT, relpath)) as fh:
        return public_functions_in(fh.read(), relpath)


def without_cli_example(nodes):
    return [n.name for n in nodes if "CLI Example:" not in (ast.get_docstring(n) or "")]


def named_parameters(node):
    """Every parameter, ``*args`` and ``**kwargs`` included."""
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    return names + [a.arg for a in (args.vararg, args.kwarg) if a is not None]


HEADING = re.compile(r"^(\w+)(\s*,\s*\w+)*$")


def parameter_headings(doc):
    """The names given their own heading in a Salt-style docstring: a line at the
    docstring's left margin that holds only the name (or names, comma-separated), its
    description indented below it."""
    lines = doc.splitlines()
    names = set()
    for i, line in enumerate(lines):
        if HEADING.match(line) and i + 1 < len(lines) and lines[i + 1].startswith("    "):
            names.update(n.strip() for n in line.split(","))
    return names


def test_there_are_public_functions_to_check():
    assert len(MODULE_FILES) > 10
    assert sum(len(public_functions(path)) for path in MODULE_FILES) > 250


@pytest.mark.parametrize("relpath", MODULE_FILES)
def test_every_public_function_has_a_cli_example(relpath):
    missing = without_cli_example(public_functions(relpath))
    assert not missing, "public functions without a 'CLI Example:' docstring:\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("relpath", MODULE_FILES)
def test_every_parameter_is_documented(relpath):
    missing = []
    for node in public_functions(relpath):
        headings = parameter_headings(ast.get_docstring(node) or "")
        for param in named_parameters(node):
            if param not in headings:
                missing.append(f"{relpath}:{node.lineno} {node.name}({param})")
    assert not missing, (
        "parameters without a heading of their own in their function's "
        "docstring:\n" + "\n".join(missing)
    )


def test_a_parameter_named_only_in_prose_is_not_documented():
    doc = (
        "Start it; pass timeout to wait longer.\n\nname\n    The instance.\n\n"
        "user, group\n    Numeric ids.\n\nCLI Example:\n\n    salt '*' x\n"
    )
    assert parameter_headings(doc) == {"name", "user", "group"}


def test_the_walker_flags_what_it_should():
    source = (
        'def documented():\n    """x\n\n    CLI Example:\n    """\n\n'
        "def bare():\n    pass\n\n"
        'def no_example():\n    """Does things."""\n\n'
        "def _private():\n    pass\n\n"
        "def __virtual__():\n    return True\n"
    )
    assert without_cli_example(public_functions_in(source)) == ["bare", "no_example"]
