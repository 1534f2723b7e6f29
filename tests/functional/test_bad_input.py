"""Bad input, table-driven: every state fails cleanly and every execution function raises
Salt's error, naming the problem, with no traceback; the server is left exactly as it was.

Each row is ``(kind, function, arguments, pattern)``: ``kind`` is ``state`` (run through
``state.single``; expects ``result: False``) or ``module`` (expects
``SaltInvocationError`` / ``CommandExecutionError``); ``pattern`` is a regular expression
(case-insensitive) the comment or message must contain. Arguments may name ``EXISTING``
(a stopped container and a profile of that name exist) and ``MISSING`` (nothing has that
name). Before and after each row, a snapshot of what the daemon holds (instances,
profiles, networks, storage pools and volumes, projects, images and aliases, in every
project) is taken; they must be equal.
"""

import json
import re
import uuid

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

EXISTING = "\0existing\0"
MISSING = "\0missing\0"

ROOT_ON_MISSING_POOL = {"root": {"type": "disk", "path": "/", "pool": "no-such-pool"}}

#: Fields that LXD updates by itself (reads, the clock) and are not what a call changed.
UNSTABLE = ("last_used_at",)

CASES = [
    # -- container_present: wrong types, unknown values, invalid names ------------------------
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "status": "Sleeping"},
        r"unknown status 'Sleeping'",
    ),
    (
        "state",
        "container_present",
        {"name": "bad_name!", "source": "busybox"},
        r"invalid instance name 'bad_name!'",
    ),
    (
        "state",
        "container_present",
        {"name": "-leading-dash", "source": "busybox"},
        r"invalid instance name '-leading-dash'",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "config": "limits.cpu=1"},
        r"config must be a mapping",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "profiles": "default"},
        r"profiles must be a list",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "ephemeral": "yes"},
        r"ephemeral must be true or false",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": 42},
        r"source must be an image alias or fingerprint",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "type": "vm"},
        r"unknown instance type 'vm'",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "timeout": "soon"},
        r"timeout must be a number of seconds",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "confg": {}},
        r"unexpected argument.*confg",
    ),
    # -- container_present: things that do not exist on the server ----------------------------
    ("state", "container_present", {"name": MISSING, "source": "no-such-image"}, r"no-such-image"),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": {"type": "image", "alias": "no-such-image"}},
        r"image 'no-such-image' does not exist",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "profiles": ["default", "no-such-profile"]},
        r"'no-such-profile' do(es)? not exist",
    ),
    (
        "state",
        "container_present",
        {"name": EXISTING, "profiles": ["no-such-profile"]},
        r"'no-such-profile' do(es)? not exist",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "project": "no-such-project"},
        r"project 'no-such-project' does not exist",
    ),
    (
        "state",
        "container_absent",
        {"name": MISSING, "project": "no-such-project"},
        r"project 'no-such-project' does not exist",
    ),
    (
        "state",
        "image_present",
        {"name": MISSING},
        r"missing.*source|source.*missing|source.*required",
    ),
    (
        "state",
        "storage_volume_present",
        {"name": MISSING},
        r"missing.*pool|pool.*missing|pool.*required",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "remote": "no-such-remote"},
        r"unknown remote 'no-such-remote'",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "devices": ROOT_ON_MISSING_POOL},
        r"no-such-pool|pool.*not found",
    ),
    (
        "state",
        "container_present",
        {
            "name": MISSING,
            "source": "busybox",
            "devices": {"eth0": {"type": "nic", "network": "no-such-net"}},
        },
        r"no-such-net|network.*not found",
    ),
    # -- container_present: invalid config keys and values, malformed devices -----------------
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "config": {"no.such.key": "1"}},
        r"no\.such\.key",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "config": {"limits.memory": "lots"}},
        r"invalid value: lots",
    ),
    (
        "state",
        "container_present",
        {"name": EXISTING, "config": {"limits.memory": "lots"}},
        r"invalid value: lots",
    ),
    (
        "state",
        "container_present",
        {"name": EXISTING, "config": {"user.nested": {"a": 1}}},
        r"config.*scalars",
    ),
    (
        "state",
        "container_present",
        {"name": MISSING, "source": "busybox", "devices": {"eth0": "nic"}},
        r"device 'eth0' must be a mapping with a 'type'",
    ),
    (
        "state",
        "container_present",
        {"name": EXISTING, "devices": {"data": {"path": "/srv"}}},
        r"device 'data' must be a mapping with a 'type'",
    ),
    (
        "state",
        "container_present",
        {"name": EXISTING, "devices": {"data": {"type": "disk", "path": "/srv"}}},
        r"data.*source|source.*data|missing source",
    ),
    # -- other container and image states -----------------------------------------------------
    ("state", "container_running", {"name": MISSING}, r"container '.*' does not exist"),
    (
        "state",
        "container_stopped",
        {"name": EXISTING, "timeout": -5},
        r"timeout must be a number of seconds",
    ),
    ("state", "container_absent", {"name": "a/b"}, r"invalid instance name 'a/b'"),
    (
        "state",
        "image_present",
        {"name": MISSING, "source": "/no/such/image.tar.gz"},
        r"/no/such/image\.tar\.gz",
    ),
    (
        "state",
        "image_alias_present",
        {"name": MISSING, "target": "no-such-image"},
        r"no-such-image",
    ),
    # -- resource states ----------------------------------------------------------------------
    ("state", "profile_present", {"name": MISSING, "config": {"bogus.key": "1"}}, r"bogus\.key"),
    (
        "state",
        "profile_present",
        {"name": EXISTING, "devices": ROOT_ON_MISSING_POOL},
        r"no-such-pool|pool.*not found",
    ),
    ("state", "network_present", {"name": "t8bad" + "n0", "type": "nonsense"}, r"nonsense"),
    (
        "state",
        "network_present",
        {
            "name": "t8bad" + "n1",
            "config": {"ipv4.address": "not-an-address", "ipv6.address": "none"},
        },
        r"ipv4\.address",
    ),
    (
        "state",
        "storage_pool_present",
        {"name": MISSING, "driver": "no-such-driver"},
        r"no-such-driver",
    ),
    (
        "state",
        "storage_volume_present",
        {"pool": "no-such-pool", "name": MISSING},
        r"no-such-pool|pool.*not found",
    ),
    (
        "state",
        "project_present",
        {"name": MISSING, "config": {"features.bogus": "true"}},
        r"features\.bogus",
    ),
    (
        "state",
        "snapshot_present",
        {"container": MISSING, "name": "snap0"},
        r"does not exist|not found",
    ),
    (
        "state",
        "file_managed",
        {"container": EXISTING, "name": "relative/path", "contents": "x"},
        r"absolute",
    ),
    (
        "state",
        "certificate_present",
        {"name": MISSING, "certificate": "/no/such/client.crt"},
        r"/no/such/client\.crt",
    ),
    # -- execution functions ------------------------------------------------------------------
    ("module", "container_create", {"name": "bad name", "source": "busybox"}, r"bad name"),
    (
        "module",
        "container_create",
        {"name": MISSING, "source": "no-such-image"},
        r"no image alias or fingerprint 'no-such-image'",
    ),
    (
        "module",
        "container_create",
        {"name": MISSING, "source": "busybox", "config": {"no.such.key": 1}},
        r"no\.such\.key",
    ),
    ("module", "container_create", {"source": "busybox"}, r"missing.*'name'"),
    (
        "module",
        "container_create",
        {"name": MISSING, "source": "busybox", "profiles": ["no-such-profile"]},
        r"no-such-profile",
    ),
    (
        "module",
        "container_exec",
        {"name": EXISTING, "command": "echo hi; touch /tmp/x"},
        r"argv list|list",
    ),
    ("module", "container_config_set", {"name": EXISTING}, r"key|config"),
    (
        "module",
        "container_config_set",
        {"name": EXISTING, "key": "limits.memory", "value": "lots"},
        r"invalid value: lots",
    ),
    (
        "module",
        "container_stop",
        {"name": EXISTING, "timeout": "soon"},
        r"timeout must be a number of seconds",
    ),
    ("module", "container_start", {"name": MISSING}, r"not found|does not exist"),
    ("module", "container_list", {"recursion": 7}, r"recursion must be 0, 1 or 2"),
    (
        "module",
        "container_get",
        {"name": EXISTING, "remote": "no-such-remote"},
        r"unknown remote 'no-such-remote'",
    ),
    (
        "module",
        "container_get",
        {"name": EXISTING, "endpoint": "/no/such/lxd/unix.socket"},
        r"/no/such/lxd/unix\.socket",
    ),
    (
        "module",
        "container_get",
        {
            "name": EXISTING,
            "endpoint": "https://127.0.0.1:1",
            "cert": "/no/such/client.crt",
            "key": "/no/such/client.key",
        },
        r"/no/such/client\.crt",
    ),
    (
        "module",
        "container_get",
        {"name": EXISTING, "endpoint": "https://127.0.0.1:1", "server_cert": "/no/such/server.crt"},
        r"server_cert.*/no/such/server\.crt|/no/such/server\.crt",
    ),
    (
        "module",
        "profile_create",
        {"name": "", "config": {"user.a": 1}},
        r"must be a non-empty name",
    ),
    (
        "module",
        "profile_update",
        {"name": MISSING, "config": {"user.a": 1}},
        r"does not exist|not found",
    ),
    (
        "module",
        "network_create",
        {"name": "t8bad" + "n2", "config": {"ipv4.address": "bogus", "ipv6.address": "none"}},
        r"ipv4\.address",
    ),
    ("module", "storage_pool_create", {"name": MISSING, "driver": "zfs-nope"}, r"zfs-nope"),
    (
        "module",
        "storage_volume_create",
        {"pool": "no-such-pool", "name": MISSING},
        r"no-such-pool|pool.*not found",
    ),
    (
        "module",
        "project_create",
        {"name": MISSING, "config": {"features.images": "maybe"}},
        r"features\.images",
    ),
    ("module", "image_import", {"source": "/no/such/image.tar.gz"}, r"/no/such/image\.tar\.gz"),
    ("module", "image_alias_add", {"alias": MISSING, "image": "no-such-image"}, r"no-such-image"),
    ("module", "certificate_add", {"certificate": "/no/such/client.crt"}, r"/no/such/client\.crt"),
    ("module", "request", {"method": "FETCH", "path": "instances"}, r"unknown method 'FETCH'"),
    # -- many containers, exec, files and folders -------------------------------------------
    (
        "state",
        "containers_present",
        {"name": "farm", "containers": "web1"},
        r"containers must be a non-empty list of names or a mapping",
    ),
    (
        "state",
        "containers_present",
        {
            "name": "farm",
            "containers": {
                "t8-farm-a": {"source": "busybox"},
                "t8-farm-b": {"source": "busybox", "status": "Asleep"},
            },
        },
        r"container t8-farm-b: unknown status 'Asleep'",
    ),
    (
        "state",
        "container_exec",
        {"name": "x", "container": EXISTING, "command": {"a": 1}},
        r"command must be an argv list or a string",
    ),
    (
        "state",
        "container_exec",
        {"name": "touch /root/x", "container": EXISTING},
        r"is Stopped, not Running",
    ),
    (
        "state",
        "file_managed",
        {"name": "/root/x", "container": EXISTING, "contents": "x", "template": "nope"},
        r"unknown template engine 'nope'",
    ),
    (
        "state",
        "directory_present",
        {"name": "relative/dir", "container": EXISTING},
        r"must be an absolute path",
    ),
    (
        "state",
        "file_absent",
        {"name": "/etc", "container": EXISTING},
        r"/etc in .* is a folder with \d+ entries",
    ),
    (
        "module",
        "container_mkdir",
        {"name": EXISTING, "path": "/etc", "mode": "0700"},
        r"sets them only when it creates a folder",
    ),
    # -- images, backups, renames ----------------------------------------------------------
    (
        "state",
        "image_present",
        {"name": MISSING, "source": {"type": "snapshot", "name": "no-such-ctr/snap"}},
        r"snapshot 'snap' of 'no-such-ctr' does not exist",
    ),
    ("module", "image_publish", {"name": MISSING}, r"instance '.*' does not exist"),
    (
        "module",
        "container_backup_export",
        {"name": EXISTING, "dest": "relative.tar.gz"},
        r"dest must be an absolute path",
    ),
    (
        "module",
        "container_backup_import",
        {"source": "/no/such/backup.tar.gz"},
        r"/no/such/backup\.tar\.gz does not exist",
    ),
    (
        "module",
        "container_rename",
        {"name": MISSING, "new_name": "t8-renamed-x"},
        r"does not exist",
    ),
    (
        "module",
        "container_rename",
        {"name": EXISTING, "new_name": "bad_name!"},
        r"invalid instance name 'bad_name!'",
    ),
    # -- ACLs, zones, server config, clusters ------------------------------------------------
    (
        "state",
        "network_acl_present",
        {"name": "t8acl1", "ingress": "allow all"},
        r"ingress must be a list of mappings",
    ),
    (
        "state",
        "network_acl_present",
        {"name": "t8acl2", "ingress": [{"action": "permit", "state": "enabled"}]},
        r"Action must be one of",
    ),
    (
        "state",
        "network_zone_record_present",
        {"name": "www", "zone": "no-such.example.net", "entries": []},
        r"not found",
    ),
    (
        "state",
        "server_config_present",
        {"name": "lxd", "config": {"no.such.key": "1"}},
        r"no\.such\.key",
    ),
    (
        "module",
        "server_config_set",
        {"config": "images.auto_update_interval=0"},
        r"config must be a mapping",
    ),
    (
        "state",
        "network_present",
        {
            "name": "t8net3",
            "config": {"ipv4.address": "none"},
            "member_config": {"node1": {"parent": "eth0"}},
        },
        r"member_config is for LXD clusters",
    ),
    (
        "state",
        "network_present",
        {"name": "t8net4", "member_config": {"node1": {"ipv4.address": "none"}}},
        r"ipv4\.address is not member-specific",
    ),
    ("state", "cluster_member_present", {"name": "node1", "description": "x"}, r"is not clustered"),
    (
        "state",
        "cluster_group_present",
        {"name": "t8grp", "members": "node1"},
        r"members must be a list of names",
    ),
    ("module", "cluster_member_evacuate", {"name": "node1"}, r"is not clustered"),
]


class MissingArgument:
    """What Salt's state compiler answers for a state called without a required argument."""

    def __init__(self, message):
        assert "Missing parameter" in message, message
        self.result, self.comment, self.changes = False, message, {}


def _case_id(case):
    kind, function, kwargs, _ = case
    words = ",".join(
        "{}={}".format(k, "EXISTING" if v == EXISTING else "MISSING" if v == MISSING else v)
        for k, v in kwargs.items()
    )
    return f"{kind}:{function}({words})"[:90]


def _strip(item):
    if isinstance(item, dict):
        return {k: _strip(v) for k, v in item.items() if k not in UNSTABLE}
    if isinstance(item, list):
        return [_strip(v) for v in item]
    return item


def server_snapshot(lxd):
    """Everything the daemon holds that a call could create, change or delete."""

    def query(path):
        return json.loads(lxd.lxc("query", path))

    snap = {
        "instances": query("/1.0/instances?recursion=1&all-projects=true"),
        "profiles": query("/1.0/profiles?recursion=1"),
        # Unmanaged networks are the host's interfaces (other containers' veths come
        # and go); managed ones are LXD's.
        "networks": [n for n in query("/1.0/networks?recursion=1") if n["managed"]],
        "pools": query("/1.0/storage-pools?recursion=1"),
        "projects": query("/1.0/projects?recursion=1"),
        "images": sorted(  # in no fixed order on Incus
            query("/1.0/images?recursion=1&all-projects=true"), key=lambda i: i["fingerprint"]
        ),
        "aliases": query("/1.0/images/aliases?recursion=1"),
        "certificates": query("/1.0/certificates?recursion=1"),
        "acls": query("/1.0/network-acls?recursion=1"),
        "zones": query("/1.0/network-zones?recursion=1"),
        "server": query("/1.0")["config"],
        "volumes": {
            pool["name"]: query("/1.0/storage-pools/{}/volumes?recursion=1".format(pool["name"]))
            for pool in query("/1.0/storage-pools?recursion=1")
        },
    }
    for project in snap["projects"]:
        if project["name"] != "default":
            snap["profiles-" + project["name"]] = query(
                "/1.0/profiles?recursion=1&project=" + project["name"]
            )
    return _strip(snap)


@pytest.fixture(scope="module")
def existing(lxd):
    """A stopped busybox container and a profile, both named the same; removed after."""
    name = "t8-bad-input-" + uuid.uuid4().hex[:6]
    lxd.lxc("init", "busybox", name)
    lxd.lxc("profile", "create", name)
    yield name
    lxd.lxc("delete", "--force", name, check=False)
    lxd.lxc("profile", "delete", name, check=False)


def _fill(kwargs, existing, missing):
    return {
        k: existing if v == EXISTING else missing if v == MISSING else v for k, v in kwargs.items()
    }


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_is_refused_cleanly_and_changes_nothing(
    case, lxd, states, modules, existing, unique_name
):
    kind, function, kwargs, pattern = case
    kwargs = _fill(kwargs, existing, unique_name[:50])
    before = server_snapshot(lxd)
    ret = error = None
    if kind == "state":
        try:
            ret = getattr(states.lxdapi, function)(**kwargs)
        except TypeError as exc:
            # A missing required argument: Salt refuses the state before it runs
            # ("Missing parameter source for state ..."), a failure in a state run too.
            ret = MissingArgument(str(exc))
    else:
        try:
            getattr(modules.lxdapi, function)(**kwargs)
        except (SaltInvocationError, CommandExecutionError) as exc:
            error = exc
    after = server_snapshot(lxd)
    if after != before:
        remove_leftovers(lxd, before, after)
    if kind == "state":
        assert ret.result is False, (ret.comment, ret.changes)
        assert ret.changes == {}
        message = ret.comment
    else:
        assert error is not None, "no error raised"
        message = str(error)
    assert after == before
    assert re.search(pattern, message, re.IGNORECASE), message
    assert "Traceback" not in message


def remove_leftovers(lxd, before, after):
    """Delete what a row made although it should not have (so one failure does not
    spread to the next rows)."""
    commands = {
        "instances": ["delete", "--force"],
        "profiles": ["profile", "delete"],
        "networks": ["network", "delete"],
        "pools": ["storage", "delete"],
        "projects": ["project", "delete"],
        "aliases": ["image", "alias", "delete"],
    }
    for what, command in commands.items():
        old = {item["name"] for item in before[what]}
        for item in after[what]:
            if item["name"] not in old:
                lxd.lxc(*command, item["name"], check=False)
