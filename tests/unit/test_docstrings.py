"""Every public function of the Salt modules documents its parameters and a CLI Example.

Reads the sources with ``ast`` (nothing is imported): a public function is a top-level
``def`` whose name has no leading underscore (``__virtual__`` excluded).
"""

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_FILES = ("_modules/lxdapi.py", "_states/lxdapi.py")


def public_functions_in(source, filename="<source>"):
    tree = ast.parse(source, filename=filename)
    return [
        node for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not node.name.startswith("_")
    ]


def public_functions(relpath):
    with open(os.path.join(ROOT, relpath)) as fh:
        return public_functions_in(fh.read(), relpath)


def without_cli_example(nodes):
    return [n.name for n in nodes if "CLI Example:" not in (ast.get_docstring(n) or "")]


def named_parameters(node):
    args = node.args
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]


def test_there_are_public_functions_to_check():
    assert len(public_functions("_modules/lxdapi.py")) > 20


@pytest.mark.parametrize("relpath", MODULE_FILES)
def test_every_public_function_has_a_cli_example(relpath):
    missing = without_cli_example(public_functions(relpath))
    assert not missing, "public functions without a 'CLI Example:' docstring:\n" + "\n".join(
        missing)


@pytest.mark.parametrize("relpath", MODULE_FILES)
def test_every_parameter_is_documented(relpath):
    missing = []
    for node in public_functions(relpath):
        doc = ast.get_docstring(node) or ""
        for param in named_parameters(node):
            if not re.search(r"(?<![\w.]){}(?!\w)".format(re.escape(param)), doc):
                missing.append("{}:{} {}({})".format(relpath, node.lineno, node.name, param))
    assert not missing, "parameters not named in their function's docstring:\n" + "\n".join(
        missing)


def test_the_walker_flags_what_it_should():
    source = (
        'def documented():\n    """x\n\n    CLI Example:\n    """\n\n'
        'def bare():\n    pass\n\n'
        'def no_example():\n    """Does things."""\n\n'
        'def _private():\n    pass\n\n'
        'def __virtual__():\n    return True\n'
    )
    assert without_cli_example(public_functions_in(source)) == ["bare", "no_example"]
