"""``.. lxdapi-parts::``: the table of the core's files, with what each one imports.

The directive's content is one line per module, ``name: what it holds``. The third
column is read from the file's own import lines (``import x`` / ``from x import y`` at any
level), so it cannot fall behind the code. A listed module whose file is missing, and a
file in ``_utils/`` that the table leaves out, are build warnings (errors under ``-W``).
"""

import ast
import os
import sys

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

log = logging.getLogger(__name__)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
UTILS = os.path.join(ROOT, "_utils")


def imports_of(path):
    """``(core modules, other libraries)`` that the file at ``path`` imports, each a sorted
    list of ``(name, lazy)``; ``lazy`` is True for a name imported only inside a function
    (on first use)."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    found = {}

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            names = []
            if isinstance(child, ast.Import):
                names = [alias.name.split(".")[0] for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module.split(".")[0]]
            for name in names:
                found[name] = found.get(name, True) and in_function
            visit(
                child,
                in_function
                or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)),
            )

    visit(tree, False)
    stdlib = getattr(sys, "stdlib_module_names", ())
    core = sorted(
        (n, lazy) for n, lazy in found.items() if n == "lxdapi" or n.startswith("lxdapi_")
    )
    other = sorted(
        (n, lazy)
        for n, lazy in found.items()
        if not (n == "lxdapi" or n.startswith("lxdapi_")) and n not in stdlib and n != "__future__"
    )
    return core, other


def _literal_list(names):
    """A paragraph of ``name`` literals; ``names`` holds names or ``(name, lazy)``."""
    para = nodes.paragraph()
    for i, item in enumerate(names):
        name, lazy = item if isinstance(item, tuple) else (item, False)
        if i:
            para += nodes.Text(", ")
        para += nodes.literal(name, name)
        if lazy:
            para += nodes.Text(" (on first use)")
    return para


class LxdapiParts(Directive):
    has_content = True

    def run(self):
        env = self.state.document.settings.env
        table = nodes.table()
        group = nodes.tgroup(cols=3)
        table += group
        for width in (22, 48, 30):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        body = nodes.tbody()
        group += body
        row = nodes.row()
        for title in ("file", "what it holds", "what it imports"):
            row += nodes.entry("", nodes.paragraph(text=title))
        head += row
        listed = []
        for line in self.content:
            if not line.strip():
                continue
            name, _, text = line.partition(":")
            name = name.strip()
            listed.append(name)
            path = os.path.join(UTILS, name + ".py")
            row = nodes.row()
            row += nodes.entry("", _literal_list([f"_utils/{name}.py"]))
            para = nodes.paragraph()
            inline, messages = self.state.inline_text(text.strip(), self.lineno)
            para += inline
            row += nodes.entry("", para, *messages)
            if os.path.isfile(path):
                env.note_dependency(path)
                core, other = imports_of(path)
                cell = nodes.entry()
                if core:
                    cell += _literal_list(core)
                if other:
                    cell += _literal_list(other)
                if not core and not other:
                    cell += nodes.paragraph(text="the standard library only")
                row += cell
            else:
                log.warning(
                    "lxdapi-parts: %s is listed but %s does not exist",
                    name,
                    path,
                    location=(env.docname, self.lineno),
                )
                row += nodes.entry("", nodes.paragraph(text="(missing)"))
            body += row
        on_disk = sorted(
            f[:-3] for f in os.listdir(UTILS) if f.startswith("lxdapi") and f.endswith(".py")
        )
        for name in on_disk:
            if name not in listed:
                log.warning(
                    "lxdapi-parts: _utils/%s.py is not in the table",
                    name,
                    location=(env.docname, self.lineno),
                )
        return [table]


def setup(app):
    app.add_directive("lxdapi-parts", LxdapiParts)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
