"""Sphinx configuration for the lxdapi documentation (``make docs``)."""

import importlib.metadata
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))

# The core's files are plain modules imported by flat names (``import lxdapi``), as Salt
# imports them from its utils folder; the Salt modules are documented through the
# installed package (``pip install -e .``): saltext_lxdapi.modules.lxdapi and friends.
sys.path.insert(0, os.path.join(ROOT, "_utils"))
# This site's own directives (docs/_ext): the architecture page's table of the core's files
# (lxdapi_parts); the import graph, the lists of Salt functions and their autodoc sections,
# all read from the sources at build time (lxdapi_imports).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "lxdapi"
author = "the lxdapi authors"
copyright = "lxdapi authors"
# The version from git tags (setuptools_scm), as pip installed it (make setup).
version = release = importlib.metadata.version("saltext-lxdapi")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx.ext.graphviz",
    "lxdapi_parts",
    "lxdapi_imports",
]

exclude_patterns = ["_build", "_ext"]
templates_path = []
html_static_path = ["_static"]
html_css_files = ["lxdapi.css"]

# The theme of the Salt extensions' documentation.
html_theme = "furo"
html_title = "lxdapi"

# Graphs (the import graph of the architecture page) as SVG: `dot` (Debian's graphviz,
# installed by make deps) must be on PATH, or the build fails under -W.
graphviz_output_format = "svg"

# Signatures as in the source (the Salt functions take **kwargs connection settings).
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}
# Pages name their module in the title; each entry shows the function's own name.
add_module_names = False
# A method that has no docstring of its own is left out rather than shown with the one of
# the class it overrides (e.g. requests.Session.request, whose text refers to requests'
# own documentation).
autodoc_inherit_docstrings = False
