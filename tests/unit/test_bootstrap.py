"""The core is a folder of real modules, reached one way (``lxdapi_loader.load``).

Each check runs in a fresh interpreter (a subprocess), so that nothing this test process
has imported already can make it pass.
"""

import ast
import glob
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTILS = os.path.join(ROOT, "_utils")
PARTS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(UTILS, "lxdapi*.py")))


def run(code, cwd=None, path=(UTILS,)):
    """Run ``code`` in a fresh interpreter with ``path`` on sys.path; its stdout."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_loader_lists_every_file_of_the_core():
    import lxdapi_loader

    assert sorted(lxdapi_loader.MODULES + ("lxdapi_loader", lxdapi_loader.SALT_BOUNDARY)) == PARTS


@pytest.mark.parametrize("part", PARTS)
def test_every_part_imports_on_its_own(part, tmp_path):
    out = run(f"import {part}; print({part}.__file__)", cwd=str(tmp_path))
    assert out.strip() == os.path.join(UTILS, part + ".py")


def test_one_core_whichever_name_reached_it(tmp_path):
    # The installed package's names and the flat names are the same modules.
    out = run(
        """
        import lxdapi_loader
        core = lxdapi_loader.load()
        import saltext_lxdapi.utils.lxdapi as packaged
        import saltext_lxdapi.utils.lxdapi_plans as plans
        import lxdapi, lxdapi_plans
        assert packaged is core is lxdapi
        assert plans is lxdapi_plans
        assert lxdapi_plans.APIException is core.APIException
        assert lxdapi_loader.load() is core
        print("one")
    """,
        cwd=str(tmp_path),
        path=(UTILS, ROOT),
    )
    assert out.strip() == "one"


def test_the_seed_api_is_there_and_defined_once():
    import lxdapi

    for name in ("API", "APIResult", "APIException", "APINotFoundException") + lxdapi.SEED_API:
        assert callable(getattr(lxdapi, name)), name
    # A public name defined in two parts would win by import order: none is.
    owners = {}
    for part in PARTS:
        tree = ast.parse(open(os.path.join(UTILS, part + ".py")).read())
        for node in tree.body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for name in names:
                if not name.startswith("_") and name not in ("log", "HERE"):
                    owners.setdefault(name, []).append(part)
    twice = {name: parts for name, parts in owners.items() if len(parts) > 1}
    assert not twice


def test_a_changed_core_is_loaded_anew_and_an_unchanged_one_is_not(tmp_path):
    copy = str(tmp_path / "utils")
    shutil.copytree(UTILS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    out = run(
        f"""
        import sys
        import lxdapi_loader
        first = lxdapi_loader.load({copy!r})
        assert lxdapi_loader.load({copy!r}) is first
        with open({copy!r} + "/lxdapi.py", "a") as fh:
            fh.write("\\nLXDAPI_TEST_MARK = 'v2'\\n")
        second = lxdapi_loader.load({copy!r})
        assert second is not first and second.LXDAPI_TEST_MARK == "v2"
        assert second.APIException is not first.APIException
        plans = sys.modules["lxdapi_plans"]
        assert plans.APIException is second.APIException  # every part anew
        assert lxdapi_loader.load({copy!r}) is second
        print("reloaded")
    """,
        cwd=str(tmp_path),
        path=(copy,),
    )
    assert out.strip() == "reloaded"


def test_a_broken_core_leaves_nothing_half_loaded(tmp_path):
    copy = str(tmp_path / "utils")
    shutil.copytree(UTILS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(os.path.join(copy, "lxdapi_trust.py"), "a") as fh:
        fh.write("\nimport no_such_module_here\n")
    out = run(
        f"""
        import sys
        import lxdapi_loader
        try:
            lxdapi_loader.load({copy!r})
        except ImportError as exc:
            print("refused:", exc.name)
        assert not [m for m in lxdapi_loader.MODULES if m in sys.modules]
    """,
        cwd=str(tmp_path),
        path=(copy,),
    )
    assert out.strip() == "refused: no_such_module_here"


SALT_UTILS_LOADER = """
    import json
    import salt.config, salt.loader, salt.utils.entrypoints
    # Only the folder under test: not the installed package's (its entry point).
    salt.utils.entrypoints.iter_entry_points = lambda *args, **kwargs: []
    opts = salt.config.minion_config(None)
    opts.update({opts!r})
    utils = salt.loader.utils(opts)
    utils._load_all()
    ours = sorted(n for n in utils.missing_modules if n.startswith("lxdapi"))
    print(json.dumps({{"missing": ours, "loaded": sorted(
        {{k.split(".")[0] for k in utils if k.split(".")[0].startswith("lxdapi")}})}}))
"""


@pytest.mark.parametrize("layout", ["module_dirs", "synced extmods"])
def test_salt_utils_loader_loads_every_file(layout, tmp_path):
    """Salt's utils loader loads every file of the core with no import failure, from a
    ``module_dirs`` entry and from a synced ``extmods/utils``."""
    import json

    opts = {"cachedir": str(tmp_path / "cache"), "pki_dir": str(tmp_path / "pki")}
    if layout == "module_dirs":
        opts["module_dirs"] = [ROOT]
        opts["extension_modules"] = str(tmp_path / "extmods")
    else:
        extmods = tmp_path / "extmods"
        shutil.copytree(UTILS, str(extmods / "utils"), ignore=shutil.ignore_patterns("__pycache__"))
        opts["extension_modules"] = str(extmods)
    out = run(SALT_UTILS_LOADER.format(opts=opts), cwd=str(tmp_path), path=())
    found = json.loads(out.strip().splitlines()[-1])
    assert found["missing"] == []
    assert found["loaded"] == PARTS


def test_the_cores_docstring_maps_every_part():
    import re

    import lxdapi

    mapped = re.findall(r"^``(lxdapi_\w+)``\s+\S", lxdapi.__doc__, flags=re.M)
    assert sorted(mapped) == sorted(p for p in PARTS if p != "lxdapi")


def test_the_seed_api_is_what_the_shortcuts_export():
    import lxdapi
    import lxdapi_shortcuts_2016

    assert sorted(lxdapi.SEED_API) == sorted(lxdapi_shortcuts_2016.__all__)


#: The files Salt loads as execution and state modules: each boots the core one way.
SALT_FILES = sorted(
    os.path.relpath(p, ROOT)
    for folder in ("_modules", "_states")
    for p in glob.glob(os.path.join(ROOT, folder, "*.py"))
    if not p.endswith("__init__.py")
)
BOOTSTRAP = "boundary = lxdapi_loader.salt_boundary(__file__, globals())"


@pytest.mark.parametrize("path", SALT_FILES)
def test_every_salt_facing_file_boots_the_one_way(path):
    text = open(os.path.join(ROOT, path)).read()
    assert text.count(BOOTSTRAP) == 1, path
    assert "import lxdapi_loader\n" in text
    for old in ("_CORE_FOLDER", "lxdapi_loader.load(", "sys.path", "IMPORT_ERROR"):
        assert old not in text, (path, old)
    # The core's parts are imported after the bootstrap, so that they are the ones it loaded.
    tree = ast.parse(text)
    boot = next(
        node.lineno
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node).startswith("boundary = ")
    )
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if any(n.startswith("lxdapi") and n != "lxdapi_loader" for n in names):
                assert node.lineno > boot, (path, names)


@pytest.mark.parametrize(
    "salt_folder, utils_folder",
    [
        ("checkout/_modules", "checkout/_utils"),
        ("extmods/states", "extmods/utils"),
        ("site-packages/saltext_lxdapi/modules", "site-packages/saltext_lxdapi/utils"),
    ],
)
def test_the_boundary_is_loaded_from_the_utils_folder_beside_the_file(
    salt_folder, utils_folder, tmp_path
):
    utils = str(tmp_path / utils_folder)
    shutil.copytree(UTILS, utils, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    salt_file = str(tmp_path / salt_folder / "lxdapi_images.py")
    out = run(
        f"""
        import sys
        import lxdapi_loader
        scope = {{"__opts__": {{"test": True}}}}
        boundary = lxdapi_loader.salt_boundary({salt_file!r}, scope)
        for name in ("lxdapi", "lxdapi_images", "lxdapi_salt", "lxdapi_loader"):
            assert sys.modules[name].__file__.startswith({utils!r}), name
        assert boundary.testing is True  # it reads the file's dunders
        scope["__opts__"] = {{}}
        assert boundary.testing is False  # when it is called
        print("beside")
        """,
        cwd=str(tmp_path),
        path=(UTILS,),
    )
    assert out.strip() == "beside"


def test_a_core_in_another_folder_replaces_the_loaded_one_and_its_loader(tmp_path):
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    for copy in (first, second):
        shutil.copytree(UTILS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    out = run(
        f"""
        import sys
        import lxdapi_loader
        a = lxdapi_loader.load({first!r})
        assert sys.modules["lxdapi_loader"].__file__.startswith({first!r})
        b = sys.modules["lxdapi_loader"].load({second!r})
        assert b is not a and b.__file__.startswith({second!r})
        import lxdapi_loader as now
        assert now.__file__.startswith({second!r})  # the next import gets b's loader
        assert now.load({second!r}) is b
        print("switched")
    """,
        cwd=str(tmp_path),
        path=(first,),
    )
    assert out.strip() == "switched"


def test_the_loader_imports_each_part_after_what_it_imports():
    import lxdapi_loader

    order = {name: i for i, name in enumerate(lxdapi_loader.MODULES)}
    for part in lxdapi_loader.MODULES:
        tree = ast.parse(open(os.path.join(UTILS, part + ".py")).read())
        for node in tree.body:  # top-level imports only: those run at import time
            if isinstance(node, ast.ImportFrom) and node.module in order:
                assert order[node.module] < order[part], (part, node.module)
