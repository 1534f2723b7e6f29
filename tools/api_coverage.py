#!/usr/bin/env python3
"""How much of LXD 5.0's REST API lxdapi covers, by family of endpoints.

For each operation (method and path) of LXD 5.0.2's API, listed in
``tools/lxd-5.0-operations.txt``, this tells which of lxdapi's execution functions
(``_modules/lxdapi*.py``) and states (``_states/lxdapi*.py``) reach it; an operation no
function or state reaches is *raw only* (``lxdapi.request``, ``get``, ``post``... send it
as given) or *unreachable* (a method ``lxdapi.request`` does not send, or a websocket).
Plain Python: no Salt, no daemon; the Salt modules are parsed with ``ast``, never
imported, so a name counts only when the source at hand defines it::

    python tools/api_coverage.py                  # the working tree
    python tools/api_coverage.py --rev d2f4588    # the sources at a git revision
    python tools/api_coverage.py --format rst     # the table for docs/coverage.rst
    python tools/api_coverage.py --missing        # and what no function or state reaches

The mapping from operations to names is data, below: for the resource kinds it is
derived from the kind registry (``_utils/lxdapi_kinds.py``, at the same revision); for
the rest it is the table :data:`EXPLICIT`, written from what each function and state
sends (``_utils``). A function or state counts for the requests it sends about what it
reads or manages: reads of it, writes to it, the listing it returns (a listing counts
for both forms of its collection, the names and ``?recursion=1``, whichever it sends).
Not counted: the reads every call may make (``GET /1.0`` for the server's extensions,
the ``/wait`` of an async operation, the project check after a 404), the reads of other
resources that check an argument (the profiles a container names), and error paths (the
cancel of a failed transfer's operation).

``--extract SPEC`` makes the operations file from LXD's ``doc/rest-api.yaml`` (``-``:
standard input), with no YAML library::

    git -C /path/to/lxd show lxd-5.0.2:doc/rest-api.yaml \\
        | python tools/api_coverage.py --extract - > tools/lxd-5.0-operations.txt
"""

import argparse
import ast
import collections
import os
import re
import subprocess
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPERATIONS_FILE = os.path.join(ROOT, "tools", "lxd-5.0-operations.txt")
#: The folders whose ``lxdapi*.py`` files (the families of one virtual name) are read.
MODULE_PATH = "_modules"
STATES_PATH = "_states"
KINDS_PATH = "_utils/lxdapi_kinds.py"
SPEC_LABEL = "LXD 5.0.2"

#: The methods ``lxdapi.request`` sends (it refuses others, HEAD among them).
RAW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

#: The raw execution function every other raw call goes through.
RAW_FUNCTION = "request"

#: Operations that are websockets or protocol upgrades: a plain request gets an error.
WEBSOCKETS = {
    ("GET", "/1.0/events"),
    ("GET", "/1.0/instances/{name}/sftp"),
    ("GET", "/1.0/operations/{id}/websocket"),
    ("GET", "/1.0/operations/{id}/websocket?public"),
}

#: The families, in the order the table shows them.
FAMILIES = (
    "instances",
    "images",
    "profiles",
    "networks",
    "storage",
    "projects",
    "certificates",
    "cluster",
    "warnings",
    "server",
    "operations/events",
    "resources/metrics",
)

#: The server's own paths (without their query).
SERVER_PATHS = ("/", "/1.0")

#: ``(family, path prefixes)``, the first match wins (the path without its query,
#: parameters as ``{}``): a storage pool's resources go with the host's.
FAMILY_PREFIXES = (
    ("resources/metrics", ("/1.0/resources", "/1.0/metrics", "/1.0/storage-pools/{}/resources")),
    ("instances", ("/1.0/instances",)),
    ("images", ("/1.0/images",)),
    ("profiles", ("/1.0/profiles",)),
    ("networks", ("/1.0/networks", "/1.0/network-acls", "/1.0/network-zones")),
    ("storage", ("/1.0/storage-pools",)),
    ("projects", ("/1.0/projects",)),
    ("certificates", ("/1.0/certificates",)),
    ("cluster", ("/1.0/cluster",)),
    ("warnings", ("/1.0/warnings",)),
    ("operations/events", ("/1.0/operations", "/1.0/events")),
)

F, S = "functions", "states"

#: ``{(METHOD, PATH): ([functions], [states])}`` for what the kind registry does not
#: derive; paths as LXD's spec spells them. Kinds' own names may appear here for the
#: operations they reach beyond their five functions (a volume's copy, its move).
EXPLICIT = {
    # -- server
    ("GET", "/1.0"): (
        ["info", "server_config_get", "server_config_set", "authenticate"],
        ["server_config_present", "server_initialized", "remote_trusted"],
    ),
    ("PATCH", "/1.0"): (["server_config_set"], ["server_config_present", "server_initialized"]),
    # An untrusted client's view of /1.0: whether the server trusts it yet.
    ("GET", "/1.0?public"): (["authenticate"], ["remote_trusted"]),
    # -- operations
    ("GET", "/1.0/operations"): (["operation_list"], []),
    ("GET", "/1.0/operations?recursion=1"): (["operation_list"], []),
    ("GET", "/1.0/operations/{id}"): (["operation_get"], []),
    ("GET", "/1.0/operations/{id}/wait"): (["operation_wait"], []),
    # -- resources and metrics
    ("GET", "/1.0/resources"): (["resources"], []),
    ("GET", "/1.0/storage-pools/{name}/resources"): (["storage_pool_resources"], []),
    ("GET", "/1.0/metrics"): (["metrics"], []),
    ("GET", "/1.0/projects/{name}/state"): (["project_state"], []),
    # -- warnings
    ("GET", "/1.0/warnings"): (["warning_list"], []),
    ("GET", "/1.0/warnings?recursion=1"): (["warning_list"], ["warning_acknowledged"]),
    ("GET", "/1.0/warnings/{uuid}"): (
        ["warning_get", "warning_acknowledge", "warning_delete"],
        ["warning_acknowledged"],
    ),
    ("PUT", "/1.0/warnings/{uuid}"): (["warning_acknowledge"], ["warning_acknowledged"]),
    ("DELETE", "/1.0/warnings/{uuid}"): (["warning_delete"], []),
    # -- certificates (trust)
    ("GET", "/1.0/certificates"): (["certificate_list"], []),
    ("GET", "/1.0/certificates?recursion=1"): (
        ["certificate_list", "certificate_delete"],
        ["certificate_present", "certificate_absent"],
    ),
    ("POST", "/1.0/certificates"): (
        ["certificate_add", "certificate_token_create"],
        ["certificate_present"],
    ),
    # An untrusted client sending its certificate with a trust password or token.
    ("POST", "/1.0/certificates?public"): (["authenticate"], ["remote_trusted"]),
    ("GET", "/1.0/certificates/{fingerprint}"): (["certificate_get"], ["certificate_present"]),
    ("PATCH", "/1.0/certificates/{fingerprint}"): ([], ["certificate_present"]),
    ("DELETE", "/1.0/certificates/{fingerprint}"): (
        ["certificate_delete"],
        ["certificate_absent"],
    ),
    # -- cluster (groups: the kind registry)
    ("GET", "/1.0/cluster"): ([], ["cluster_member_joined"]),
    ("PUT", "/1.0/cluster"): ([], ["cluster_member_joined"]),
    ("GET", "/1.0/cluster/members"): (["cluster_members"], []),
    ("GET", "/1.0/cluster/members?recursion=1"): (["cluster_members"], []),
    ("POST", "/1.0/cluster/members"): (["cluster_token_create"], []),
    ("GET", "/1.0/cluster/members/{name}"): (
        [
            "cluster_member_get",
            "cluster_member_update",
            "cluster_member_evacuate",
            "cluster_member_restore",
            "cluster_member_remove",
        ],
        ["cluster_member_present", "cluster_member_absent"],
    ),
    ("PUT", "/1.0/cluster/members/{name}"): (
        ["cluster_member_update"],
        ["cluster_member_present"],
    ),
    ("DELETE", "/1.0/cluster/members/{name}"): (
        ["cluster_member_remove"],
        ["cluster_member_absent"],
    ),
    ("POST", "/1.0/cluster/members/{name}/state"): (
        ["cluster_member_evacuate", "cluster_member_restore"],
        [],
    ),
    # -- images and their aliases
    ("GET", "/1.0/images"): (["image_list"], []),
    ("GET", "/1.0/images?recursion=1"): (["image_list", "image_refresh"], []),
    ("POST", "/1.0/images"): (["image_import", "image_publish"], ["image_present"]),
    ("GET", "/1.0/images/{fingerprint}"): (
        ["image_get", "image_delete", "image_import", "image_refresh", "image_export"],
        ["image_present", "image_absent"],
    ),
    ("PATCH", "/1.0/images/{fingerprint}"): (["image_import"], ["image_present"]),
    ("DELETE", "/1.0/images/{fingerprint}"): (["image_delete"], ["image_absent"]),
    ("GET", "/1.0/images/{fingerprint}/export"): (["image_export"], []),
    ("POST", "/1.0/images/{fingerprint}/refresh"): (["image_refresh"], []),
    ("GET", "/1.0/images/aliases"): (["image_alias_list"], []),
    ("GET", "/1.0/images/aliases?recursion=1"): (["image_alias_list"], ["image_present"]),
    ("POST", "/1.0/images/aliases"): (
        ["image_alias_add", "image_import", "image_publish"],
        ["image_present", "image_alias_present"],
    ),
    ("GET", "/1.0/images/aliases/{name}"): (
        ["image_alias_add", "image_import", "image_publish"],
        ["image_present", "image_alias_present", "image_alias_absent"],
    ),
    # A PUT, never a PATCH: LXD 5.0.2 hangs on an alias PATCH (lxdapi_images.alias_write).
    ("PUT", "/1.0/images/aliases/{name}"): (
        ["image_alias_add", "image_import", "image_publish"],
        ["image_present", "image_alias_present"],
    ),
    ("DELETE", "/1.0/images/aliases/{name}"): (["image_alias_delete"], ["image_alias_absent"]),
    # -- instances
    ("GET", "/1.0/instances"): (["container_list"], []),
    ("GET", "/1.0/instances?recursion=1"): (
        ["container_list"],
        ["containers_present", "container_present"],  # one listing for a run's many
    ),
    ("GET", "/1.0/instances?recursion=2"): (["container_list"], []),
    ("POST", "/1.0/instances"): (
        ["container_create", "container_copy", "container_backup_import", "container_migrate"],
        ["container_present", "containers_present", "container_migrated"],
    ),
    ("GET", "/1.0/instances/{name}"): (
        [
            "container_get",
            "container_config_get",
            "container_config_set",
            "container_config_unset",
            "container_create",
            "container_rename",
            "container_copy",
            "container_migrate",
            "container_delete",
            "container_start",
            "container_stop",
            "container_restart",
            "container_freeze",
            "container_unfreeze",
            "container_backup_export",
            "container_backup_import",
        ],
        [
            "container_present",
            "container_absent",
            "container_running",
            "container_stopped",
            "container_frozen",
            "container_migrated",
        ],
    ),
    ("PATCH", "/1.0/instances/{name}"): (
        ["container_config_set", "container_config_unset"],
        ["container_present", "containers_present"],
    ),
    # A PUT of the whole instance when purge_devices removes devices; a snapshot restore.
    ("PUT", "/1.0/instances/{name}"): (
        ["snapshot_restore"],
        ["container_present", "containers_present"],
    ),
    # A rename; a migration's source (a copy or move to another server); a move to
    # another cluster member (?target=).
    ("POST", "/1.0/instances/{name}"): (
        ["container_rename", "container_copy", "container_migrate"],
        ["container_migrated", "container_present"],
    ),
    ("DELETE", "/1.0/instances/{name}"): (
        ["container_delete", "container_migrate"],
        ["container_absent", "container_migrated"],
    ),
    ("GET", "/1.0/instances/{name}/state"): (
        ["container_state", "container_start", "container_restart"],  # wait_for
        ["container_exec", "container_present", "container_running"],
    ),
    ("PUT", "/1.0/instances/{name}/state"): (
        [
            "container_start",
            "container_stop",
            "container_restart",
            "container_freeze",
            "container_unfreeze",
            "container_delete",
            "container_migrate",
        ],
        [
            "container_present",
            "containers_present",
            "container_running",
            "container_stopped",
            "container_frozen",
            "container_absent",
            "container_migrated",
        ],
    ),
    ("POST", "/1.0/instances/{name}/exec"): (["container_exec"], ["container_exec"]),
    # The recorded output of an exec is read, then deleted, from the instance's logs.
    ("GET", "/1.0/instances/{name}/logs"): (["container_log_list"], []),
    ("GET", "/1.0/instances/{name}/logs/{filename}"): (
        ["container_log_get", "container_exec"],
        ["container_exec"],
    ),
    ("DELETE", "/1.0/instances/{name}/logs/{filename}"): (["container_exec"], ["container_exec"]),
    ("GET", "/1.0/instances/{name}/console"): (["container_console_log"], []),
    ("GET", "/1.0/instances/{name}/files"): (
        ["container_file_get", "container_file_put", "container_file_delete", "container_mkdir"],
        ["file_managed", "directory_present", "file_absent"],
    ),
    ("POST", "/1.0/instances/{name}/files"): (
        ["container_file_put", "container_mkdir"],
        ["file_managed", "directory_present"],
    ),
    # A delete; also a file or folder made again with another mode or owner.
    ("DELETE", "/1.0/instances/{name}/files"): (
        ["container_file_delete", "container_file_put", "container_mkdir"],
        ["file_absent", "file_managed", "directory_present"],
    ),
    ("GET", "/1.0/instances/{name}/snapshots"): (["snapshot_list", "snapshot_create"], []),
    ("GET", "/1.0/instances/{name}/snapshots?recursion=1"): (["snapshot_list"], []),
    ("POST", "/1.0/instances/{name}/snapshots"): (["snapshot_create"], ["snapshot_present"]),
    ("GET", "/1.0/instances/{name}/snapshots/{snapshot}"): (
        ["snapshot_restore"],
        ["snapshot_present", "snapshot_absent"],
    ),
    ("DELETE", "/1.0/instances/{name}/snapshots/{snapshot}"): (
        ["snapshot_delete"],
        ["snapshot_absent"],
    ),
    ("POST", "/1.0/instances/{name}/backups"): (["container_backup_export"], []),
    ("GET", "/1.0/instances/{name}/backups/{backup}/export"): (["container_backup_export"], []),
    ("DELETE", "/1.0/instances/{name}/backups/{backup}"): (["container_backup_export"], []),
    # -- storage volumes beyond the kind's five functions
    ("GET", "/1.0/storage-pools/{name}/volumes/{type}/{volume}"): (
        [
            "storage_volume_copy",
            "storage_volume_move",
            "storage_volume_snapshot_restore",
            "storage_volume_backup_export",
        ],
        ["storage_volume_moved"],
    ),
    # A copy on the same server, the target's half of a transfer, a backup import.
    ("POST", "/1.0/storage-pools/{name}/volumes/{type}"): (
        ["storage_volume_copy", "storage_volume_move", "storage_volume_backup_import"],
        ["storage_volume_moved", "storage_volume_present"],
    ),
    # A move to another pool; the source's half of a transfer to another server.
    ("POST", "/1.0/storage-pools/{name}/volumes/{type}/{volume}"): (
        ["storage_volume_copy", "storage_volume_move"],
        ["storage_volume_moved", "storage_volume_present"],
    ),
    ("PUT", "/1.0/storage-pools/{name}/volumes/{type}/{volume}"): (
        ["storage_volume_snapshot_restore"],
        [],
    ),
    ("DELETE", "/1.0/storage-pools/{name}/volumes/{type}/{volume}"): (
        ["storage_volume_move"],
        ["storage_volume_moved"],
    ),
    ("GET", "/1.0/storage-pools/{name}/volumes/{type}/{volume}/snapshots/{snapshot}"): (
        ["storage_volume_snapshot_restore"],
        [],
    ),
    ("POST", "/1.0/storage-pools/{name}/volumes/{type}/{volume}/backups"): (
        ["storage_volume_backup_export"],
        [],
    ),
    ("GET", "/1.0/storage-pools/{name}/volumes/{type}/{volume}/backups/{backup}/export"): (
        ["storage_volume_backup_export"],
        [],
    ),
    ("DELETE", "/1.0/storage-pools/{name}/volumes/{type}/{volume}/backups/{backup}"): (
        ["storage_volume_backup_export"],
        [],
    ),
}

#: Public functions of the execution module that send no request of their own, or only
#: raw ones (not reported as unmapped by ``--missing``).
NO_OPERATION = ("request", "get", "post", "put", "patch", "delete", "client_certificate_create")

#: Salt's hooks in the state module (not states a SLS names).
STATE_HOOKS = ("mod_watch", "mod_aggregate")


# -- the operations --------------------------------------------------------------------


def normalise(path):
    """``path`` with every ``{param}`` as ``{}`` (the spec and the registry name them
    differently: ``{name}``, ``{pool}``, ``{networkName}``)."""
    return re.sub(r"{[^}]*}", "{}", path)


def load_operations(path=OPERATIONS_FILE):
    """The ``(METHOD, PATH)`` pairs of the operations file, in its order."""
    operations = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            method, _, spec_path = line.partition(" ")
            operations.append((method.upper(), spec_path.strip()))
    return operations


def extract_operations(text):
    """The ``(METHOD, PATH)`` pairs of a swagger 2.0 document as LXD's
    ``doc/rest-api.yaml`` lays it out (its ``paths:`` section: a path at 4 spaces, a
    method at 8), sorted by path then method. No YAML library needed."""
    methods = {"get", "put", "post", "patch", "delete", "head", "options"}
    found, in_paths, current = set(), False, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            in_paths = line.rstrip() == "paths:"
            current = None
            continue
        if not in_paths:
            continue
        key = line.strip()
        if indent == 4 and key.endswith(":"):
            current = key[:-1].strip().strip("'\"")
        elif indent == 8 and key.endswith(":") and key[:-1] in methods and current:
            found.add((key[:-1].upper(), current))
    return sorted(found, key=lambda op: (op[1], op[0]))


OPERATIONS_HEADER = """\
# The operations of LXD 5.0's REST API: one "METHOD PATH" a line, sorted by path then
# method (recursion and public variants are operations of their own, as LXD lists them).
# From doc/rest-api.yaml of LXD (https://github.com/canonical/lxd) at its tag lxd-5.0.2,
# commit d3bdc6b0f0a0b9746719e8444bb14a9c9d7ddb45; licensed under the Apache License 2.0.
# Only the methods and paths are kept. Made with:
#   git -C LXD_CHECKOUT show lxd-5.0.2:doc/rest-api.yaml \\
#       | python tools/api_coverage.py --extract - > tools/lxd-5.0-operations.txt
# Read by tools/api_coverage.py.
"""


def family_of(path):
    """The family of an operation's ``path`` (see :data:`FAMILY_PREFIXES`), or None."""
    bare = normalise(path.partition("?")[0])
    if bare in SERVER_PATHS:
        return "server"
    for family, prefixes in FAMILY_PREFIXES:
        for prefix in prefixes:
            if bare == prefix or bare.startswith(prefix + "/"):
                return family
    return None


def raw_reachable(operation):
    """True when ``lxdapi.request`` can send ``operation`` (method, and not a
    websocket); the reason it cannot otherwise, as a string."""
    method, path = operation
    if method not in RAW_METHODS:
        return f"lxdapi.request does not send {method}"
    if (method, path) in WEBSOCKETS:
        return "a websocket (or protocol upgrade)"
    return True


# -- the sources ------------------------------------------------------------------------


def git_show(rev, path):
    """The text of ``path`` at git revision ``rev`` of this checkout."""
    try:
        return subprocess.run(
            ["git", "-C", ROOT, "show", f"{rev}:{path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except subprocess.CalledProcessError as exc:
        raise SystemExit(
            f"api_coverage: cannot read {path} at {rev}: {exc.stderr.strip()}"
        ) from None


def read_source(path, rev=None):
    if rev is not None:
        return git_show(rev, path)
    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
        return fh.read()


def family_files(folder, rev=None):
    """The ``lxdapi*.py`` files of ``folder`` (relative paths), at ``rev`` or on disk."""
    if rev is not None:
        listed = (_git("ls-tree", "--name-only", f"{rev}:{folder}") or "").split()
    else:
        listed = os.listdir(os.path.join(ROOT, folder))
    return sorted(
        f"{folder}/{name}" for name in listed if name.startswith("lxdapi") and name.endswith(".py")
    )


def family_functions(folder, rev=None):
    """The public top-level function names of every family file of ``folder``."""
    names = set()
    for path in family_files(folder, rev):
        names |= defined_functions(read_source(path, rev), path)
    return names


def defined_functions(text, label):
    """The public top-level function names a Python source defines (parsed with
    ``ast``, never imported)."""
    try:
        tree = ast.parse(text, filename=label)
    except SyntaxError as exc:
        raise SystemExit(f"api_coverage: cannot parse {label}: {exc}") from None
    return {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not node.name.startswith("_")
    }


def load_kinds(rev=None):
    """The kind registry (``KINDS``) as ``_utils/lxdapi_kinds.py`` has it: imported from
    the working tree, or (``rev``) that revision's text run in a fresh module namespace,
    with ``_utils`` on ``sys.path`` for what it imports."""
    utils = os.path.join(ROOT, "_utils")
    if utils not in sys.path:
        sys.path.insert(0, utils)
    if rev is None:
        import lxdapi_kinds

        return lxdapi_kinds.KINDS, lxdapi_kinds
    text = git_show(rev, KINDS_PATH)
    name = "_lxdapi_kinds_at_{}".format(re.sub(r"\W", "_", rev))
    module = types.ModuleType(name)
    module.__file__ = f"{rev}:{KINDS_PATH}"
    sys.modules[name] = module  # dataclasses look their module up
    try:
        exec(compile(text, module.__file__, "exec"), module.__dict__)
    finally:
        sys.modules.pop(name, None)
    return module.KINDS, module


def kind_operations(kind, module):
    """``{suffix: [(METHOD, path)]}``: what each of a kind's functions and states sends,
    from its registry entry (paths under ``/1.0``, ``{param}`` as in the registry)."""
    collection = "/1.0/" + kind.collection
    item = "{}/{{{}}}".format(collection, getattr(kind, "key", "name") or "name")
    put = getattr(module, "UPDATE_PUT", "put")
    if kind.update == put:
        update = [("PUT", item)]
    else:  # a PATCH; a PUT of the whole object when devices must go (plan_update)
        update = [("PATCH", item)] + ([("PUT", item)] if "devices" in kind.fields else [])
    create = [("GET", item), ("POST", collection)]
    if getattr(kind, "set_after_create", ()):  # fields LXD's POST ignores: a PUT after it
        create.append(("PUT", item))
    if getattr(kind, "member_config_keys", ()):  # on a cluster: the description after it
        create.append(("PATCH", item))
    ops = {
        "get": [("GET", item)],
        "list": [("GET", collection), ("GET", collection + "?recursion=1")],
        "create": create,
        "update": [("GET", item)] + update,
        "delete": [("GET", item), ("DELETE", item)],
        "absent": [("GET", item), ("DELETE", item)],
    }
    ops["present"] = sorted(set(create + ops["update"]))
    return ops


#: The suffixes of a kind's states (the others, get list create update delete, are
#: execution functions).
KIND_STATES = ("present", "absent")


def build_mapping(kinds, module):
    """``{(METHOD, normalised path): (set of functions, set of states)}``: the kinds'
    (derived from the registry) and :data:`EXPLICIT`, merged."""
    mapping = collections.defaultdict(lambda: (set(), set()))
    for kind in kinds.values():
        for suffix, ops in kind_operations(kind, module).items():
            name = f"{kind.name}_{suffix}"
            for method, path in ops:
                functions, states = mapping[(method, normalise(path))]
                (states if suffix in KIND_STATES else functions).add(name)
    for (method, path), (functions, states) in EXPLICIT.items():
        held = mapping[(method, normalise(path))]
        held[0].update(functions)
        held[1].update(states)
    return dict(mapping)


# -- the coverage -----------------------------------------------------------------------

Row = collections.namedtuple("Row", "family operations functions states named raw_only unreachable")


class Coverage:
    """What the sources (at ``rev``, None: the working tree) reach of ``operations``.

    ``reach``: ``{operation: (functions, states)}`` counting only the names the sources
    define; ``rows``: one :class:`Row` per family, ``total`` the sum.
    """

    def __init__(self, operations, rev=None):
        self.rev = rev
        self.operations = list(operations)
        self.module_names = family_functions(MODULE_PATH, rev)
        self.state_names = family_functions(STATES_PATH, rev)
        self.kinds, kinds_module = load_kinds(rev)
        self.mapping = build_mapping(self.kinds, kinds_module)
        self.has_raw = RAW_FUNCTION in self.module_names
        self.reach = {}
        for op in self.operations:
            functions, states = self.mapping.get((op[0], normalise(op[1])), (set(), set()))
            self.reach[op] = (
                sorted(functions & self.module_names),
                sorted(states & self.state_names),
            )
        self.rows = [self._row(family) for family in FAMILIES]
        self.total = Row("total", *(sum(getattr(r, f) for r in self.rows) for f in Row._fields[1:]))

    def status(self, op):
        """``named``, ``raw only`` or ``unreachable``."""
        functions, states = self.reach[op]
        if functions or states:
            return "named"
        if self.has_raw and raw_reachable(op) is True:
            return "raw only"
        return "unreachable"

    def _row(self, family):
        ops = [op for op in self.operations if family_of(op[1]) == family]
        statuses = collections.Counter(self.status(op) for op in ops)
        return Row(
            family,
            len(ops),
            sum(1 for op in ops if self.reach[op][0]),
            sum(1 for op in ops if self.reach[op][1]),
            statuses["named"],
            statuses["raw only"],
            statuses["unreachable"],
        )

    def counted_names(self):
        """``(functions, states)``: every name some operation counts."""
        functions = {n for f, _ in self.reach.values() for n in f}
        states = {n for _, s in self.reach.values() for n in s}
        return functions, states

    def absent_names(self):
        """``(functions, states)`` the mapping names but the sources do not define."""
        functions = {n for f, _ in self.mapping.values() for n in f} - self.module_names
        states = {n for _, s in self.mapping.values() for n in s} - self.state_names
        return sorted(functions), sorted(states)

    def unmapped_names(self):
        """``(functions, states)`` the sources define but the mapping does not name."""
        functions = {n for f, _ in self.mapping.values() for n in f}
        states = {n for _, s in self.mapping.values() for n in s}
        return (
            sorted(self.module_names - functions - set(NO_OPERATION)),
            sorted(self.state_names - states - set(STATE_HOOKS)),
        )

    def outside_spec(self):
        """Operations the mapping names that LXD 5.0's API does not have (an Incus or
        later LXD endpoint), normalised."""
        spec = {(m, normalise(p)) for m, p in self.operations}
        return sorted(op for op in self.mapping if op not in spec)

    def label(self):
        """Which sources were read: ``d2f4588`` or the working tree (HEAD, and whether
        the three files differ from it)."""
        if self.rev is not None:
            return f"revision {_short(self.rev)}"
        head = _short("HEAD")
        changed = _git("status", "--porcelain", "--", MODULE_PATH, STATES_PATH, KINDS_PATH)
        if changed is None:
            return "the working tree"
        return "the working tree (HEAD {}{})".format(
            head, ", with uncommitted changes" if changed.strip() else ""
        )


def _git(*args):
    try:
        return subprocess.run(
            ["git", "-C", ROOT] + list(args), check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def _short(rev):
    found = _git("rev-parse", "--short", rev)
    return found.strip() if found else rev


# -- output -----------------------------------------------------------------------------

HEADINGS = ("family", "operations", "functions", "states", "named", "raw only", "unreachable")


def _cells(row):
    cells = [str(v) for v in row]
    cells.append(f"{100.0 * row.named / row.operations:.0f} %" if row.operations else "")
    return cells


def _aligned(rows):
    """The cells of ``rows`` padded to their column's width (the family left-aligned,
    the figures right-aligned), and the widths."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    padded = [
        [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        for row in rows
    ]
    return padded, widths


def render_text(coverage):
    rows, widths = _aligned(
        [list(HEADINGS) + ["named %"]] + [_cells(r) for r in coverage.rows + [coverage.total]]
    )
    lines = [
        f"lxdapi's coverage of {SPEC_LABEL}'s REST API ({coverage.total.operations} operations), "
        f"{coverage.label()}"
    ]
    for index, row in enumerate(rows):
        if index == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(row).rstrip())
    return "\n".join(lines)


def render_rst(coverage):
    """The table as reStructuredText: a simple table in a ``table`` directive whose
    caption says which sources were read."""
    rows, widths = _aligned(
        [list(HEADINGS) + ["named %"]] + [_cells(r) for r in coverage.rows + [coverage.total]]
    )
    rule = "   " + "  ".join("=" * w for w in widths)
    lines = [
        f".. table:: lxdapi's coverage of {SPEC_LABEL}'s REST API, {coverage.label()}",
        "",
        rule,
        "   " + "  ".join(rows[0]).rstrip(),
        rule,
    ]
    lines.extend("   " + "  ".join(row).rstrip() for row in rows[1:])  # the total last
    lines.append(rule)
    return "\n".join(lines)


def render_missing(coverage):
    """The operations no function or state reaches, by family, and the names the mapping
    and the sources disagree on."""
    lines = []
    for family in FAMILIES:
        ops = [
            op
            for op in coverage.operations
            if family_of(op[1]) == family and coverage.status(op) != "named"
        ]
        if not ops:
            continue
        lines.append("")
        lines.append(f"{family} ({len(ops)} not named):")
        for op in ops:
            why = raw_reachable(op) if coverage.has_raw else "no lxdapi.request"
            status = coverage.status(op)
            lines.append(
                "  {:<7} {}{}".format(
                    op[0], op[1], "" if status == "raw only" else f"   [unreachable: {why}]"
                )
            )
    absent_f, absent_s = coverage.absent_names()
    unmapped_f, unmapped_s = coverage.unmapped_names()
    for what, names in (
        ("Functions the mapping names that the execution module lacks", absent_f),
        ("States the mapping names that the state module lacks", absent_s),
        ("Functions of the execution module the mapping does not name", unmapped_f),
        ("States of the state module the mapping does not name", unmapped_s),
    ):
        if names:
            lines.append("")
            lines.append("{} ({}): {}".format(what, len(names), ", ".join(names)))
    outside = coverage.outside_spec()
    if outside:
        lines.append("")
        lines.append(
            "Mapped, not in {}'s API: {}".format(
                SPEC_LABEL, ", ".join(f"{m} {p}" for m, p in outside)
            )
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="How much of LXD 5.0's REST API lxdapi's functions and states reach."
    )
    parser.add_argument(
        "--rev", help="read the Salt modules and the kind registry at this git revision"
    )
    parser.add_argument("--format", choices=("text", "rst"), default="text")
    parser.add_argument(
        "--missing",
        action="store_true",
        help="also list the operations no function or state reaches",
    )
    parser.add_argument(
        "--operations", default=OPERATIONS_FILE, help="the operations file (METHOD PATH lines)"
    )
    parser.add_argument(
        "--extract",
        metavar="SPEC",
        help="print the operations file made from LXD's rest-api.yaml (- for stdin), and exit",
    )
    args = parser.parse_args(argv)
    if args.extract:
        if args.extract == "-":
            text = sys.stdin.read()
        else:
            with open(args.extract, encoding="utf-8") as fh:
                text = fh.read()
        sys.stdout.write(OPERATIONS_HEADER)
        for method, path in extract_operations(text):
            print(method, path)
        return 0
    coverage = Coverage(load_operations(args.operations), rev=args.rev)
    print(render_rst(coverage) if args.format == "rst" else render_text(coverage))
    if args.missing:
        print(render_missing(coverage))
    return 0


if __name__ == "__main__":
    sys.exit(main())
