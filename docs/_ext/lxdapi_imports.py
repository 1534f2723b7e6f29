"""The Salt side and the core as their source files say they are, read when the site is
built: nothing here is a hand-kept list, so nothing here can fall behind the code.

Every file is found by globbing (``_states/*.py``, ``_modules/*.py``, ``_beacons/*.py``,
``_engines/*.py``, ``_utils/lxdapi*.py``) and read with :mod:`ast` (nothing is imported).
Directives:

``.. lxdapi-import-graph::``
    A graphviz graph (``sphinx.ext.graphviz``, SVG; ``dot`` must be installed) of the
    files and the lines that import one another. The content is the caption. Options:

    ``:view: route`` (default)
        From an SLS to HTTP: the Salt-facing files (states, beacon, engine, execution modules,
        clustered by folder, the files of one virtual name grouped) and the Salt boundary
        in one column, the core in the next with ``lxdapi.py`` (the HTTP choke point) at
        its foot, then LXD. Edges: the Salt side's imports of the core; Salt's own hops,
        which no import line shows: ``__salt__["lxdapi.<name>"]`` (blue dashed, to the
        file that defines ``<name>``; to the whole group for ``"lxdapi." + name``) and
        the boundary reached through ``lxdapi_loader.salt_boundary()`` (orange dotted,
        read from the loader's ``importlib.import_module(CONSTANT)``). An edge that every
        file of a cluster has is drawn once, from the cluster. Not drawn: the core's
        imports among its own files (the other view) and the imports of ``lxdapi.py``.
    ``:view: core``
        The core's files and their imports, top to bottom, less the imports a longer
        chain implies already (computed between the groups of files that import one
        another in a cycle); the imports of ``lxdapi.py`` are one arrow, labelled with
        how many files import it.

    Either way an import made only inside a function (on first use) is grey dashed, each
    node links to its file's autodoc entry and shows the first sentence of its docstring
    as a tooltip. ``:hub:`` (default ``lxdapi``), ``:alt:``, ``:name:``.

``.. lxdapi-function-index:: FOLDER``
    Per file of ``FOLDER`` (``_modules``, ``_states``, ``_beacons`` or ``_engines``), a
    bullet: the file, the first sentence of its docstring, then the public functions it
    defines as Salt names them (``__func_alias__`` applied: ``list_`` is ``list``), each
    linked to its autodoc entry.

``.. lxdapi-autodoc:: FOLDER``
    Per file of ``FOLDER`` (those above, or ``_utils``: then in the order of
    ``lxdapi_loader.MODULES``), a section titled with the file's path and its
    ``automodule`` (``saltext_lxdapi.modules.<file>``..., a core file by its flat name)
    with its members.

Both take ``:virtualname: NAME ...`` (the files whose ``__virtualname__``, else the
file's name, matches one of the shell patterns: ``lxd lxd_*``) and, for ``_utils``,
``:kind: core`` or ``:kind: boundary`` (the files that import Salt, or ``lxdapi_salt*``).

And one check: a file of any of those folders that no page documents is a build warning
(an error under ``-W``). The pages that use these directives are read again on every
build, since a file added or renamed is a change no dependency of theirs shows.
"""

import ast
import fnmatch
import glob
import os
import re

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.ext.graphviz import figure_wrapper, graphviz
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles
from sphinx.util.osutil import relative_uri

log = logging.getLogger(__name__)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))

#: The Salt-facing folders: (folder, package the installed extension imports it as,
#: cluster title).
SALT_FOLDERS = (
    ("_states", "saltext_lxdapi.states", "states  (_states/)"),
    ("_modules", "saltext_lxdapi.modules", "execution modules  (_modules/)"),
    ("_beacons", "saltext_lxdapi.beacons", "beacon  (_beacons/)"),
    ("_engines", "saltext_lxdapi.engines", "engine  (_engines/)"),
)
PACKAGES = {folder: package for folder, package, _ in SALT_FOLDERS}

#: The loader functions that import a part by name, found in ``lxdapi_loader.py``:
#: ``importlib.import_module(NAME)`` where ``NAME`` is a module-level string constant.
LOADER = "lxdapi_loader"

# Colours of the clusters (fill of the nodes, background of the cluster).
STYLE = {
    "states": ("#dbeafe", "#f3f8ff"),
    "modules": ("#dcfce7", "#f4fdf7"),
    "beacons": ("#fef3c7", "#fffbeb"),
    "engines": ("#ede9fe", "#f7f5ff"),
    "boundary": ("#fde2cf", "#fff6ef"),
    "core": ("#e5e7eb", "#f8f9fa"),
    "hub": ("#fecaca", "#fff1f1"),
}
FONT = "Helvetica,Arial,sans-serif"
PAGE_WIDTH = "7.6,100"  # inches: dot shrinks a larger drawing to fit


def _is_lxdapi(name):
    return name == "lxdapi" or name.startswith("lxdapi_")


def _summary(doc):
    """The first sentence of a docstring's first paragraph, on one line."""
    para = " ".join((doc or "").strip().split("\n\n")[0].split())
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z`(])", para)
    return para[: match.start()] if match else para


class SourceFile:
    """What one file says of itself: docstring, virtual name, public functions, the lxdapi
    files it imports, the Salt functions it calls through ``__salt__``."""

    def __init__(self, relpath):
        self.relpath = relpath
        self.path = os.path.join(ROOT, relpath)
        self.folder, base = relpath.split("/")
        self.name = base[:-3]
        with open(self.path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), self.path)
        self.docstring = ast.get_docstring(tree) or ""
        self.summary = _summary(self.docstring)
        self.virtualname = self.name
        aliases = {}
        self.constants = {}
        self.functions = []  # (python name, Salt name)
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if not isinstance(target, ast.Name):
                    continue
                if target.id == "__virtualname__" and isinstance(node.value, ast.Constant):
                    self.virtualname = node.value.value
                elif target.id == "__func_alias__" and isinstance(node.value, ast.Dict):
                    aliases = ast.literal_eval(node.value)
                elif isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    self.constants[target.id] = node.value.value
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not node.name.startswith("_"):
                    self.functions.append(node.name)
        self.functions = [(name, aliases.get(name, name)) for name in self.functions]
        self.imports = set()  # lxdapi files named by import lines, at any level
        self.imports_salt = False
        self.salt_calls = set()  # (virtual name, function) through __salt__["v.f"]
        self.salt_dynamic = set()  # virtual names of __salt__["v." + ...]
        self.loader_calls = set()  # lxdapi_loader.<function>(...)
        self.loader_imports = {}  # (this is the loader) function -> part it imports by name
        self.lazy = set()  # of those, the ones imported only inside a function
        self._visit_imports(tree, False)
        self.lazy -= self._eager
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == "__salt__"
            ):
                self._salt_hop(node.slice)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == LOADER
            ):
                self.loader_calls.add(node.attr)
        if self.name == LOADER:
            for func in tree.body:
                if not isinstance(func, ast.FunctionDef):
                    continue
                for call in ast.walk(func):
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "import_module"
                        and call.args
                        and isinstance(call.args[0], ast.Name)
                        and call.args[0].id in self.constants
                    ):
                        self.loader_imports[func.name] = self.constants[call.args[0].id]

    def _visit_imports(self, node, in_function):
        if not hasattr(self, "_eager"):
            self._eager = set()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    self._imported(alias.name, in_function)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                self._imported(child.module, in_function)
            self._visit_imports(
                child,
                in_function
                or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)),
            )

    def _imported(self, dotted, in_function):
        top = dotted.split(".")[0]
        if top == "salt":
            self.imports_salt = True
        elif _is_lxdapi(top) and not (self.folder == "_utils" and top == self.name):
            # a Salt-facing file's flat import names a file of _utils, even its namesake
            self.imports.add(top)
            (self.lazy if in_function else self._eager).add(top)

    def _salt_hop(self, key):
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and "." in key.value:
            virtual, _, function = key.value.partition(".")
            self.salt_calls.add((virtual, function))
            return
        first = None
        if isinstance(key, ast.BinOp) and isinstance(key.left, ast.Constant):
            first = key.left.value
        elif isinstance(key, ast.JoinedStr) and key.values:
            if isinstance(key.values[0], ast.Constant):
                first = key.values[0].value
        if isinstance(first, str) and "." in first:
            self.salt_dynamic.add(first.split(".")[0])

    @property
    def node_id(self):
        return self.relpath

    @property
    def module(self):
        """The name autodoc imports it by."""
        if self.folder in PACKAGES:
            return f"{PACKAGES[self.folder]}.{self.name}"
        return self.name


def salt_files(folder):
    """The Salt-facing files of ``folder`` (``_modules``...), sorted, as SourceFile."""
    paths = sorted(glob.glob(os.path.join(ROOT, folder, "*.py")))
    return [
        SourceFile(f"{folder}/{os.path.basename(p)}")
        for p in paths
        if os.path.basename(p) != "__init__.py"
    ]


def loader_order():
    """The core's modules in the order ``lxdapi_loader.MODULES`` imports them (each one's
    imports before it), read from the loader's source; empty without one."""
    path = os.path.join(ROOT, "_utils", LOADER + ".py")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "MODULES" for t in node.targets)
            and isinstance(node.value, (ast.Tuple, ast.List))
        ):
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
    return []


def utils_files():
    """``_utils/lxdapi*.py`` as SourceFile: in the loader's order, then the loader, then
    any other by name."""
    paths = sorted(glob.glob(os.path.join(ROOT, "_utils", "lxdapi*.py")))
    order = loader_order() + [LOADER]
    files = [SourceFile(f"_utils/{os.path.basename(p)}") for p in paths]
    return sorted(
        files, key=lambda f: (order.index(f.name) if f.name in order else len(order), f.name)
    )


def is_boundary(source):
    """A file of ``_utils`` that is not a part of the core: the Salt boundary
    (``lxdapi_salt``, or any other that imports Salt)."""
    return source.name.startswith("lxdapi_salt") or source.imports_salt


def _cycles(follows):
    """Each node of the graph ``follows`` (node -> set of nodes) mapped to the id of its
    strongly connected component (Tarjan's algorithm, iterative)."""
    nodes_ = set(follows) | {t for ts in follows.values() for t in ts}
    index, low, on_stack, stack, group = {}, {}, set(), [], {}
    counter = 0
    for root in sorted(nodes_, key=lambda n: n.relpath):
        if root in index:
            continue
        work = [(root, iter(sorted(follows.get(root, ()), key=lambda n: n.relpath)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(follows.get(child, ()), key=lambda n: n.relpath)))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group[member] = index[node]
                    if member is node:
                        break
    return group


def _q(text):
    """A dot string; a backslash is kept (``\\n`` is a line break in a label)."""
    return '"' + str(text).replace('"', '\\"') + '"'


def _attrs(**attrs):
    items = [f"{key}={_q(value)}" for key, value in attrs.items() if value is not None]
    return " [" + ", ".join(items) + "]" if items else ""


class Graph:
    """The import graph of every file, as dot source; ``urls`` maps a file's module name
    to the page (relative to the page that shows the graph) where it is documented."""

    def __init__(self, hub="lxdapi", view="route"):
        self.hub = hub
        self.view = view
        self.salt = {folder: salt_files(folder) for folder, _, _ in SALT_FOLDERS}
        utils = utils_files()
        self.boundary = [f for f in utils if is_boundary(f)]
        self.core = [f for f in utils if not is_boundary(f) and f.name != hub]
        self.hub_file = next((f for f in utils if f.name == hub), None)
        self.by_name = {f.name: f for f in utils}
        self.files = [f for files in self.salt.values() for f in files] + utils

    def paths(self):
        return [f.path for f in self.files]

    def _provider(self, virtual, function):
        """The execution-module files behind ``__salt__["virtual.function"]``."""
        files = [f for f in self.salt["_modules"] if f.virtualname == virtual]
        named = [f for f in files if any(salt == function for _, salt in f.functions)]
        return named or files

    def edges(self):
        """``(tail, head, kind)`` between files: kind is ``import``, ``lazy`` (an import
        only inside functions, on first use), ``salt`` (a ``__salt__`` hop) or ``loader``
        (a part imported by name by the loader)."""
        found = set()
        for source in self.files:
            for name in source.imports:
                if name in self.by_name:
                    kind = "lazy" if name in source.lazy else "import"
                    found.add((source, self.by_name[name], kind))
            for virtual, function in source.salt_calls:
                for target in self._provider(virtual, function):
                    if target is not source:
                        found.add((source, target, "salt"))
            for virtual in source.salt_dynamic:
                for target in self._provider(virtual, None):
                    if target is not source:
                        found.add((source, target, "salt"))
            loader = self.by_name.get(LOADER)
            if loader is not None:
                for function in source.loader_calls:
                    part = loader.loader_imports.get(function)
                    if part in self.by_name and part != source.name:
                        found.add((source, self.by_name[part], "loader"))
        return found

    def reduced(self, edges):
        """``edges`` less the imports that a longer chain of imports implies already
        (``a -> b -> c`` makes ``a -> c`` redundant), computed between the groups of files
        that import each other in a cycle (each such group kept whole); the choke point's
        own imports (its re-exports) are no link of a chain."""
        follows = {}
        for source, target, kind in edges:
            if kind == "import" and source is not self.hub_file:
                follows.setdefault(source, set()).add(target)
        group = _cycles(follows)
        after = {}  # group -> groups it imports directly
        for source, targets in follows.items():
            for target in targets:
                if group[source] != group[target]:
                    after.setdefault(group[source], set()).add(group[target])

        def reachable(start):
            seen, todo = set(), [start]
            while todo:
                for nxt in after.get(todo.pop(), ()):
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            return seen

        dropped = set()
        for source, target, kind in edges:
            if kind != "import" or source is self.hub_file or target.folder != "_utils":
                continue
            a, c = group[source], group[target]
            if a == c:
                continue
            if any(b != c and c in reachable(b) for b in after.get(a, ())):
                dropped.add((source, target, kind))
        return edges - dropped

    def clusters(self):
        """``(key, title, files)`` of the view, in the graph's order."""
        titles = {folder: title for folder, _, title in SALT_FOLDERS}
        result = []
        if self.view == "route":
            result += [
                ("states", titles["_states"], self.salt["_states"]),
                ("beacons", titles["_beacons"], self.salt["_beacons"]),
                ("engines", titles["_engines"], self.salt["_engines"]),
                ("modules", titles["_modules"], self.salt["_modules"]),
                ("boundary", "Salt boundary  (_utils/, imports Salt)", self.boundary),
            ]
        if self.view == "route":
            # one column: the core, the HTTP choke point at its foot
            hub = [self.hub_file] if self.hub_file is not None else []
            result.append(("core", "core  (_utils/, plain Python, no Salt)", self.core + hub))
        else:
            result.append(("core", "core  (_utils/, plain Python, no Salt)", self.core))
            if self.hub_file is not None:
                result.append(("hub", "the HTTP choke point", [self.hub_file]))
        return [c for c in result if c[2]]

    def dot(self, urls=None):
        urls = urls or {}
        clusters = self.clusters()
        cluster_of = {f: key for key, _, files in clusters for f in files}
        out = [
            "digraph lxdapi_imports {",
            "  graph"
            + _attrs(
                rankdir="LR" if self.view == "route" else "TB",
                compound="true",
                newrank="true",
                nodesep="0.08" if self.view == "route" else "0.15",
                ranksep="0.9" if self.view == "route" else "0.35",
                fontname=FONT,
                fontsize="11",
                labeljust="l",
                bgcolor="white",
                # no wider than furo's text column (about 740 px): shrunk if it is
                size=PAGE_WIDTH,
            )
            + ";",
            "  node"
            + _attrs(
                shape="box",
                style="rounded,filled",
                fontname=FONT,
                fontsize="10",
                height="0.24",
                margin="0.08,0.02",
                penwidth="0.8",
                target="_top",
            )
            + ";",
            "  edge" + _attrs(arrowsize="0.5", penwidth="0.7", color="#6b7280") + ";",
        ]
        for key, title, files in clusters:
            fill, back = STYLE[key]
            out.append(f"  subgraph cluster_{key} {{")
            out.append(
                "    graph"
                + _attrs(label=title, style="rounded,filled", fillcolor=back, color="#9ca3af")
                + ";"
            )
            groups = {}
            for f in files:
                groups.setdefault(f.virtualname if key != "core" else None, []).append(f)
            for group, members in groups.items():
                inner = key in ("states", "modules") and len(members) > 1
                if inner:
                    safe = re.sub(r"\W", "_", group)
                    out.append(f"    subgraph cluster_{key}_{safe} {{")
                    out.append(
                        "      graph"
                        + _attrs(
                            label=f"{group}.*  (one virtual name)",
                            style="rounded,dashed",
                            color="#9ca3af",
                            fillcolor=back,
                        )
                        + ";"
                    )
                for f in members:
                    hub = f is self.hub_file
                    out.append(
                        "      "
                        + _q(f.node_id)
                        + _attrs(
                            label=f.name + ".py" + ("\\nthe HTTP choke point" if hub else ""),
                            fillcolor=STYLE["hub"][0] if hub else fill,
                            penwidth="1.6" if hub else None,
                            color="#b91c1c" if hub else None,
                            tooltip=f"{f.relpath}: {f.summary}" if f.summary else f.relpath,
                            URL=urls.get(f.module),
                        )
                        + ";"
                    )
                if inner:
                    out.append("    }")
            out.append("  }")
        if self.hub_file is not None:
            out.append(
                '  "LXD"'
                + _attrs(
                    label="LXD / Incus\\n/1.0",
                    shape="cylinder",
                    style="filled",
                    fillcolor="#fee2e2",
                )
                + ";"
            )
            out.append(
                f'  {_q(self.hub_file.node_id)} -> "LXD"'
                + _attrs(label=" HTTP ", penwidth="1.6", color="#b91c1c", fontname=FONT)
                + ";"
            )
        out += self._layers(clusters)
        out += self._edge_lines(clusters, cluster_of)
        out.append("}")
        return "\n".join(out) + "\n"

    def _layers(self, clusters):
        """Invisible nodes and edges that make two columns, left to right: the Salt side
        (states, beacon, engine, execution modules, the boundary), then the core (its own imports
        are the other view's) with the choke point at its foot; LXD after it."""
        if self.view != "route":
            return []
        keys = ("states", "beacons", "engines", "modules", "boundary")
        salt = [f for key in keys for f in self._cluster(clusters, key)]
        core = self._cluster(clusters, "core")
        out = []
        for column in (salt, core):
            if column:
                out.append("  { rank=same; " + " ".join(_q(f.node_id) for f in column) + " }")
        if self.hub_file is not None:
            # the choke point under the rest of the core: the route goes down the column
            # to HTTP, and the graph stays about as narrow as the page (an edge between
            # two nodes of one column puts its tail under its head)
            hub = _q(self.hub_file.node_id)
            out += [
                f"  {hub} -> {_q(f.node_id)}{_attrs(style='invis')};"
                for f in core
                if f is not self.hub_file
            ]
        layers = [salt, core]
        layers = [layer for layer in layers if layer]
        invisible = _attrs(style="invis", weight="0")
        for i, (before, after) in enumerate(zip(layers, layers[1:])):
            anchor = _q(f"layer {i + 1}")
            out.append(f"  {anchor}" + _attrs(shape="point", width="0", style="invis") + ";")
            out += [f"  {_q(f.node_id)} -> {anchor}{invisible};" for f in before]
            out += [
                f"  {anchor} -> {_q(f.node_id)}"
                + _attrs(style="invis", weight="0", minlen="0")
                + ";"
                for f in after
            ]
        return out

    def _edge_lines(self, clusters, cluster_of):
        styles = {
            "import": {},
            "salt": {"style": "dashed", "color": "#2563eb", "penwidth": "1.0"},
            "loader": {"style": "dotted", "color": "#c2410c", "penwidth": "1.1"},
            "lazy": {"style": "dashed", "color": "#9ca3af", "constraint": "false"},
        }
        all_edges = {(s, t, k) for s, t, k in self.edges() if s in cluster_of and t in cluster_of}
        if self.view == "route":
            # the core's imports among its own files are the other view
            edges = {
                (s, t, k)
                for s, t, k in all_edges
                if not (cluster_of[s] == "core" and cluster_of[t] == "core")
            }
        else:
            edges = self.reduced(all_edges)
        out = []
        # The hops of one file into every file of one virtual name (``__salt__["lxd." +
        # name]``): one edge, to the group.
        groups = {}
        for f in self._cluster(clusters, "modules"):
            groups.setdefault(f.virtualname, []).append(f)
        for group, files in sorted(groups.items()):
            if len(files) < 2:
                continue
            sources = {s for s, t, kind in edges if kind == "salt" and t in files}
            for source in sorted(sources, key=lambda f: f.relpath):
                if source in files or not all((source, f, "salt") in edges for f in files):
                    continue
                edges = edges - {(source, f, "salt") for f in files}
                head = files[len(files) // 2]
                safe = re.sub(r"\W", "_", group)
                style = dict(styles["salt"], lhead=f"cluster_modules_{safe}")
                out.append(f"  {_q(source.node_id)} -> {_q(head.node_id)}{_attrs(**style)};")
        # An edge that every file of a Salt cluster has (the bootstrap: lxdapi_loader,
        # then the boundary) is drawn once, from the cluster.
        merged = set()
        for key in ("states", "modules", "beacons", "engines"):
            files = self._cluster(clusters, key)
            if len(files) < 2:
                continue
            targets = {(t, kind) for s, t, kind in edges if s in files}
            for target, kind in sorted(targets, key=lambda e: (e[0].relpath, e[1])):
                if target in files or not all((f, target, kind) in edges for f in files):
                    continue
                merged |= {(f, target, kind) for f in files}
                tail = files[len(files) // 2]
                style = dict(styles[kind], ltail=f"cluster_{key}", penwidth="1.4")
                out.append(f"  {_q(tail.node_id)} -> {_q(target.node_id)}{_attrs(**style)};")
        for source, target, kind in sorted(
            edges - merged, key=lambda e: (e[0].relpath, e[1].relpath, e[2])
        ):
            if target is self.hub_file and (
                cluster_of.get(source) == "core" or self.view == "route"
            ):
                continue  # drawn once below, from the whole core
            style = styles[kind]
            if source is self.hub_file:
                # the choke point's own imports (re-exports) do not move it
                style = dict(style, constraint="false", color="#b91c1c", style="dashed")
            out.append(f"  {_q(source.node_id)} -> {_q(target.node_id)}{_attrs(**style)};")
        importers = [
            s
            for s, t, kind in all_edges
            if t is self.hub_file and kind in ("import", "lazy") and cluster_of.get(s) == "core"
        ]
        if importers and self.core and self.view != "route":
            tail = self.core[len(self.core) // 2]
            down = self.view == "route"
            out.append(
                (
                    f"  {_q(self.hub_file.node_id)} -> {_q(tail.node_id)}"
                    if down
                    else f"  {_q(tail.node_id)} -> {_q(self.hub_file.node_id)}"
                )
                + _attrs(
                    ltail=None if down else "cluster_core",
                    lhead="cluster_core" if down else None,
                    dir="back" if down else None,
                    label=f" {len(importers)} of the {len(self.core)} core files ",
                    penwidth="1.6",
                    color="#b91c1c",
                    fontname=FONT,
                    fontsize="10",
                )
                + ";"
            )
        return out

    @staticmethod
    def _cluster(clusters, key):
        return next((files for k, _, files in clusters if k == key), [])


# --- keeping track of the pages that use the directives -------------------------------


def _used_by(env):
    if not hasattr(env, "lxdapi_imports_docs"):
        env.lxdapi_imports_docs = set()
    return env.lxdapi_imports_docs


class _Directive(SphinxDirective):
    def note(self, files):
        _used_by(self.env).add(self.env.docname)
        for source in files:
            self.env.note_dependency(source.path)


class ImportGraph(_Directive):
    has_content = True
    option_spec = {
        "view": lambda arg: directives.choice(arg, ("route", "core")),
        "hub": directives.unchanged,
        "alt": directives.unchanged,
        "name": directives.unchanged,
    }

    def run(self):
        view = self.options.get("view", "route")
        graph = Graph(hub=self.options.get("hub", "lxdapi"), view=view)
        self.note(graph.files)
        node = graphviz()
        node["code"] = graph.dot()
        node["options"] = {"docname": self.env.docname}
        node["alt"] = self.options.get(
            "alt",
            "lxdapi's files and their imports, "
            + ("from the states to HTTP" if view == "route" else "in the core"),
        )
        node["classes"] = ["lxdapi-import-graph"]
        node["lxdapi_graph"] = {"hub": graph.hub, "view": view}
        caption = " ".join(line.strip() for line in self.content) or (
            "Drawn from the import lines at build time."
        )
        figure = figure_wrapper(self, node, caption)
        self.add_name(figure)
        return [figure]


def _selected(directive):
    folder = directive.arguments[0].strip().strip("/")
    if folder == "_utils":
        files = utils_files()
        kind = directive.options.get("kind")
        if kind:
            files = [f for f in files if ("boundary" if is_boundary(f) else "core") == kind]
    elif folder in PACKAGES:
        files = salt_files(folder)
    else:
        raise directive.error(
            f"{directive.name}: {folder!r} is none of {sorted(PACKAGES) + ['_utils']}"
        )
    patterns = (directive.options.get("virtualname") or "").split()
    if patterns:
        files = [f for f in files if any(fnmatch.fnmatchcase(f.virtualname, p) for p in patterns)]
    if not files:
        log.warning(
            "%s: no file of %s matches %s",
            directive.name,
            folder,
            directive.options,
            location=directive.get_location(),
        )
    return folder, files


OPTIONS = {
    "virtualname": directives.unchanged,
    "kind": lambda arg: directives.choice(arg, ("core", "boundary")),
}


class FunctionIndex(_Directive):
    required_arguments = 1
    option_spec = OPTIONS

    def run(self):
        folder, files = _selected(self)
        self.note(files)
        lines = []
        for source in files:
            lines.append(f"- ``{source.relpath}``: {source.summary or '(no docstring)'}")
            links = [
                f":py:func:`{salt} <{source.module}.{python}>`"
                for python, salt in sorted(source.functions, key=lambda f: f[1])
            ]
            lines.append("")
            lines.append("  " + (", ".join(links) if links else "(no public function)"))
            lines.append("")
        holder = nodes.container()
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]), 0, holder)
        return holder.children


class Autodoc(_Directive):
    required_arguments = 1
    option_spec = OPTIONS

    def run(self):
        folder, files = _selected(self)
        self.note(files)
        lines = []
        for source in files:
            title = f"``{source.relpath}``"
            lines += [title, "~" * len(title), ""]
            lines += [f".. automodule:: {source.module}", "   :members:", ""]
        holder = nodes.section()
        holder.document = self.state.document
        nested_parse_with_titles(
            self.state, StringList(lines, source=self.get_source_info()[0]), holder
        )
        return holder.children


# --- events ------------------------------------------------------------------------


def _purge(app, env, docname):
    _used_by(env).discard(docname)


def _merge(app, env, docnames, other):
    _used_by(env).update(_used_by(other) & set(docnames))


def _outdated(app, env, added, changed, removed):
    """The pages of these directives are read again on every build: a file added or
    renamed in the code is a change no dependency of theirs shows."""
    return sorted(_used_by(env) - set(removed))


def _page_urls(app, env, docname):
    """``{module: url of its autodoc entry, relative to docname}``."""
    modules = env.get_domain("py").modules
    here = app.builder.get_target_uri(docname)
    urls = {}
    for module, entry in modules.items():
        target = app.builder.get_target_uri(entry.docname)
        urls[module] = relative_uri(here, target) + "#" + entry.node_id
    return urls


def _resolved(app, doctree, docname):
    """The graph's nodes link to where their file is documented, known once every page
    has been read."""
    urls = None
    for node in doctree.findall(graphviz):
        if "lxdapi_graph" not in node:
            continue
        if urls is None:
            urls = _page_urls(app, app.env, docname) if app.builder.format == "html" else {}
        node["code"] = Graph(**node["lxdapi_graph"]).dot(urls)


def _check_documented(app, env):
    """Every Salt-facing file and every core file has an autodoc entry somewhere."""
    modules = env.get_domain("py").modules
    missing = []
    for folder, _, _ in SALT_FOLDERS:
        missing += [f for f in salt_files(folder) if f.module not in modules]
    missing += [f for f in utils_files() if f.module not in modules]
    for source in missing:
        log.warning(
            "lxdapi-imports: %s (%s) is documented on no page", source.relpath, source.module
        )


def setup(app):
    app.setup_extension("sphinx.ext.graphviz")
    app.add_directive("lxdapi-import-graph", ImportGraph)
    app.add_directive("lxdapi-function-index", FunctionIndex)
    app.add_directive("lxdapi-autodoc", Autodoc)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-check-consistency", _check_documented)
    app.connect("doctree-resolved", _resolved)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
