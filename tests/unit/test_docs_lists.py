"""The hand-written texts that name lxdapi's files keep up with the files on disk.

Read with ``ast`` and plain text (nothing is imported, no Sphinx run): the files are found
by glob (``_modules/*.py``, ``_states/*.py``, ``_beacons/*.py``, ``_engines/*.py``,
``_utils/lxdapi*.py``), so a file added, renamed or split is checked without a change here.

- README.rst's "Layout" section names every one of them: by its path
  (``_states/lxdapi_images.py``), or, for a file of ``_utils``, by its module name
  (``lxdapi_plans``). A pattern (``_states/lxd_*.py``) or a short name (``plans``) names
  no file: a pattern would not notice a file added under it.
- A module docstring under ``_modules``, ``_states``, ``_beacons`` or ``_engines`` that
  names a core part (``_utils/lxdapi_xxx.py``, or ``lxdapi_xxx`` as a literal) names one
  that exists (a literal may also name a Salt-facing file, as the execution module's
  families do).
"""

import ast
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SALT_FOLDERS = ("_modules", "_states", "_beacons", "_engines")


def salt_files():
    """``folder/name.py`` of every Salt-facing file, ``__init__.py`` left out."""
    found = []
    for folder in SALT_FOLDERS:
        for path in sorted(glob.glob(os.path.join(ROOT, folder, "*.py"))):
            if os.path.basename(path) != "__init__.py":
                found.append(f"{folder}/{os.path.basename(path)}")
    return found


def core_files():
    """``_utils/lxdapi*.py``, the core and the Salt boundary."""
    return [
        f"_utils/{os.path.basename(p)}"
        for p in sorted(glob.glob(os.path.join(ROOT, "_utils", "lxdapi*.py")))
    ]


def layout_section(text):
    """The text of README.rst's "Layout" section: from its title to the next title."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == "Layout" and set(lines[i + 1].strip()) == {"="}:
            body = []
            for j in range(i + 2, len(lines)):
                below = lines[j + 1] if j + 1 < len(lines) else ""
                if lines[j].strip() and below.strip() and set(below.strip()) <= set("=-~^"):
                    break
                body.append(lines[j])
            return "\n".join(body)
    raise AssertionError("README.rst has no 'Layout' section")


def literals(text):
    """Every ``double-backquoted`` literal of an rST text."""
    return set(re.findall(r"``([^`]+)``", text))


def named_in(section, relpath):
    """Whether the layout section names the file at ``relpath``."""
    named = literals(section)
    if relpath in named or re.search(rf"(?<![\w/*]){re.escape(relpath)}(?![\w*])", section):
        return True
    folder, base = relpath.split("/")
    return folder == "_utils" and base[:-3] in named


def missing_from_readme(readme_text):
    section = layout_section(readme_text)
    return [f for f in salt_files() + core_files() if not named_in(section, f)]


def test_the_layout_section_is_found():
    with open(os.path.join(ROOT, "README.rst"), encoding="utf-8") as fh:
        section = layout_section(fh.read())
    assert "_utils/lxdapi.py" in section


def test_the_check_sees_a_missing_file():
    readme = "Layout\n======\n\n``_utils/lxdapi.py``\n    The core.\n\nNext\n====\n"
    missing = missing_from_readme(readme)
    assert "_utils/lxdapi.py" not in missing
    assert "_utils/lxdapi_loader.py" in missing
    assert "_utils/lxdapi_loader.py" in missing_from_readme(
        readme.replace("The core.", "The core; ``loader`` boots it.")
    )
    readme = readme.replace("The core.", "The core; ``lxdapi_loader`` boots it.")
    assert "_utils/lxdapi_loader.py" not in missing_from_readme(readme)
    # a pattern names no file
    readme = "Layout\n======\n\n``_states/lxd_*.py``\n    Adapters.\n"
    assert "_states/lxd_container.py" in missing_from_readme(readme)


def test_readme_layout_names_every_file():
    with open(os.path.join(ROOT, "README.rst"), encoding="utf-8") as fh:
        missing = missing_from_readme(fh.read())
    assert not missing, (
        "README.rst's Layout section does not name these files (by path; a core file by "
        "its module or short name): " + ", ".join(missing)
    )


CORE_PATH = re.compile(r"_utils/(lxdapi\w*)\.py")
CORE_LITERAL = re.compile(r"``(lxdapi_\w+)(?:``|[.(])")


def parts_named(docstring):
    """``(core parts named by path, lxdapi files named as literals)``."""
    return set(CORE_PATH.findall(docstring)), set(CORE_LITERAL.findall(docstring))


def test_parts_named_are_read_from_paths_and_literals():
    doc = "Core: ``_utils/lxdapi_images.py``; ``lxdapi_loader.load()``, ``lxdapi_plans``."
    assert parts_named(doc) == ({"lxdapi_images"}, {"lxdapi_loader", "lxdapi_plans"})


def test_docstrings_name_parts_that_exist():
    core = {os.path.basename(p)[:-3] for p in core_files()}
    salt = {os.path.basename(p)[:-3] for p in salt_files()}
    wrong = []
    for relpath in salt_files():
        with open(os.path.join(ROOT, relpath), encoding="utf-8") as fh:
            docstring = ast.get_docstring(ast.parse(fh.read(), relpath)) or ""
        by_path, by_literal = parts_named(docstring)
        wrong += [f"{relpath}: _utils/{name}.py" for name in sorted(by_path - core)]
        wrong += [f"{relpath}: ``{name}``" for name in sorted(by_literal - core - salt)]
    assert not wrong, "module docstrings name core parts that do not exist: " + ", ".join(wrong)


@pytest.mark.parametrize("folder", ["_modules", "_states"])
def test_the_main_file_of_a_virtual_name_lists_its_family_files(folder):
    """``lxdapi.py`` of each folder says where the other families are: every
    ``lxdapi_*.py`` file beside it, by name, and no name of a file that is not there."""
    main = os.path.join(ROOT, folder, "lxdapi.py")
    doc = ast.get_docstring(ast.parse(open(main).read()))
    family = {
        os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, folder, "lxdapi_*.py"))
    }
    named = set(re.findall(r"``(lxdapi_\w+)``", doc))
    assert sorted(family - named) == [], "not named in the docstring"
    core = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "_utils", "*.py"))}
    assert sorted(named - family - core) == [], "named but not there"
