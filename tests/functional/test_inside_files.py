"""What goes into an instance when Salt runs there (``lxdapi.sls``, ``sls_applied``,
``call``, ``grains``): the states are rendered and compiled on the host with the
instance's grains and pillar, and only the ``salt://`` files they name are shipped; a
secret elsewhere in the host's tree never reaches the instance, nor the server's records.

Everything is read back from the instance through LXD (a file's content, a ``find`` of
lxdapi's folder, a ``grep`` of the places a file could land), on a real Debian container.
"""

import os
import subprocess
import textwrap
import uuid

import pytest

GUEST_ROOT = "/var/cache/lxdapi"


@pytest.fixture(scope="module")
def guest(lxd, debian_image):
    """A running Debian container (python3, no Salt), shared by this module's tests."""
    name = "t-ifiles-" + uuid.uuid4().hex[:6]
    lxd.lxc("launch", debian_image, name)
    yield name
    lxd.lxc("delete", "--force", name, check=False)


@pytest.fixture
def tree(minion_opts):
    """A fresh folder of the host's ``salt://`` tree with a secret beside it:
    ``(sls folder name, its path, the secret's text)``. The secret is at
    ``salt://<name>-secret/prod.key``, which no state names."""
    name = "ifiles_" + uuid.uuid4().hex[:6]
    root = minion_opts["file_roots"]["base"][0]
    path = os.path.join(root, name)
    os.makedirs(path)
    secret = "t-tree-secret-" + uuid.uuid4().hex
    os.makedirs(os.path.join(root, name + "-secret"))
    with open(os.path.join(root, name + "-secret", "prod.key"), "w") as fh:
        fh.write(secret + "\n")
    return name, path, secret


def write(path, rel, text):
    full = os.path.join(path, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as fh:
        fh.write(textwrap.dedent(text))


def shipped(lxd, guest):
    """The files under lxdapi's folders of shipped ``salt://`` files in the guest."""
    out = lxd.lxc(
        "exec",
        guest,
        "--",
        "sh",
        "-c",
        f"cd {GUEST_ROOT} && find sls-* -type f 2>/dev/null || true",
    )
    return sorted(line for line in out.splitlines() if not line.endswith(".lxdapi-digest"))


def secret_inside(lxd, guest, secret):
    """Where the secret's text is in the guest (searched in two halves, so that the
    search's own command line does not hold it)."""
    half = len(secret) // 2
    return lxd.lxc(
        "exec",
        guest,
        "--",
        "sh",
        "-c",
        'grep -rl "$0$1" /var/cache/lxdapi /tmp /var/tmp /root /run /etc 2>/dev/null || true',
        secret[:half],
        secret[half:],
    ).strip()


def secret_in_server_records(lxd, secret):
    if secret in lxd.lxc("query", "/1.0/operations?recursion=1"):
        return True
    records = [os.path.join(lxd.lxd_dir, p) for p in ("database", "logs")]
    found = subprocess.run(["grep", "-rl", secret, *records], capture_output=True, text=True)
    return bool(found.stdout.strip())


def _file_writes(request_log):
    return [(m, u) for m, u, _ in request_log if m != "GET" and "/files" in u]


def test_only_the_files_the_states_name_go_in_and_no_secret(
    states, modules, lxd, guest, tree, request_log
):
    name, path, secret = tree
    target = "/root/conf-" + uuid.uuid4().hex[:6]
    motd = "/root/motd-" + uuid.uuid4().hex[:6]
    write(path, "conf/a.conf", "a\n")
    write(path, "conf/sub/b.conf", "b\n")
    write(path, "other/c.conf", "c\n")  # in the tree, named by no state
    write(path, "motd.j2", "id={{ grains['id'] }} os={{ grains['os'] }}\n")
    write(
        path,
        "init.sls",
        f"""\
        conf:
          file.recurse:
            - name: {target}
            - source: salt://{name}/conf
        motd:
          file.managed:
            - name: {motd}
            - source: salt://{name}/motd.j2
            - template: jinja
        """,
    )
    ret = states.lxdapi.sls_applied("files", container=guest, mods=name)
    assert ret.result is True, ret.comment
    assert sorted(ret.changes) == ["conf", "motd"]
    assert lxd.file_text(guest, target + "/a.conf") == "a\n"
    assert lxd.file_text(guest, target + "/sub/b.conf") == "b\n"
    assert lxd.file_text(guest, motd) == f"id={guest} os=Debian\n"  # rendered inside

    files = shipped(lxd, guest)
    assert [f.split("/", 1)[1] for f in files] == sorted(
        [f"base/{name}/conf/a.conf", f"base/{name}/conf/sub/b.conf", f"base/{name}/motd.j2"]
    ), files
    assert secret_inside(lxd, guest, secret) == ""
    assert not secret_in_server_records(lxd, secret)

    request_log.clear()
    again = states.lxdapi.sls_applied("files", container=guest, mods=name)
    assert again.result is True and again.changes == {}, again.comment
    assert _file_writes(request_log) == []  # nothing shipped the second time
    assert len(request_log.execs) == 1  # the test run: grains come from the host's cache


def test_sls_call_and_grains_ship_no_secret(modules, lxd, guest, tree):
    name, path, secret = tree
    write(path, "init.sls", "noop:\n  test.succeed_without_changes: []\n")
    ret = modules.lxdapi.sls(guest, name)
    assert [entry["result"] for entry in ret.values()] == [True]
    assert modules.lxdapi.call(guest, "test.ping") is True
    assert modules.lxdapi.grains(guest, "os") == {"os": "Debian"}
    assert secret_inside(lxd, guest, secret) == ""
    assert not secret_in_server_records(lxd, secret)


def test_jinja_of_the_sls_sees_the_instances_grains_pillar_and_functions(modules, lxd, guest, tree):
    name, path, _ = tree
    out = "/root/seen-" + uuid.uuid4().hex[:6]
    write(
        path,
        "init.sls",
        f"""\
        seen:
          file.managed:
            - name: {out}
            - contents: |
                id={{{{ grains['id'] }}}} os={{{{ salt['grains.get']('os') }}}}
                colour={{{{ pillar['colour'] }}}} same={{{{ salt['pillar.get']('colour') }}}}
                host={{{{ salt['cmd.run']('cat /proc/sys/kernel/hostname') }}}}
        """,
    )
    ret = modules.lxdapi.sls(guest, name, pillar={"colour": "teal"})
    assert [entry["result"] for entry in ret.values()] == [True], ret
    assert lxd.file_text(guest, out) == (
        f"id={guest} os=Debian\ncolour=teal same=teal\nhost={guest}\n"
    )


def test_a_template_include_goes_in_with_extra_filerefs_only(modules, lxd, guest, tree):
    name, path, _ = tree
    out = "/root/inc-" + uuid.uuid4().hex[:6]
    write(path, "part.txt", "included part\n")
    write(path, "main.j2", "{% include '" + name + "/part.txt' %}")
    write(
        path,
        "init.sls",
        f"""\
        inc:
          file.managed:
            - name: {out}
            - source: salt://{name}/main.j2
            - template: jinja
        """,
    )
    failed = modules.lxdapi.sls(guest, name)
    (entry,) = failed.values()
    assert entry["result"] is False  # part.txt is named by no state: not shipped
    assert "part.txt" in entry["comment"]
    done = modules.lxdapi.sls(guest, name, extra_filerefs=f"salt://{name}/part.txt")
    (entry,) = done.values()
    assert entry["result"] is True, entry["comment"]
    assert lxd.file_text(guest, out).strip() == "included part"


def test_the_whole_tree_an_older_lxdapi_shipped_is_removed(modules, lxd, guest, tree):
    name, path, _ = tree
    legacy = f"{GUEST_ROOT}/files-base-0123456789abcdef"
    lxd.lxc("exec", guest, "--", "sh", "-c", f"mkdir -p {legacy} && echo old > {legacy}/x")
    write(path, "f.txt", "f\n")
    out = "/root/f-" + uuid.uuid4().hex[:6]
    write(
        path,
        "init.sls",
        f"f:\n  file.managed:\n    - name: {out}\n    - source: salt://{name}/f.txt\n",
    )
    modules.lxdapi.sls(guest, name)
    assert lxd.file_text(guest, out) == "f\n"
    left = lxd.lxc("exec", guest, "--", "ls", GUEST_ROOT).split()
    assert "files-base-0123456789abcdef" not in left


def test_bad_extra_filerefs_is_refused_before_anything_runs(modules, guest, request_log):
    from salt.exceptions import SaltInvocationError

    with pytest.raises(SaltInvocationError, match="extra_filerefs must be salt:// URLs"):
        modules.lxdapi.sls(guest, "x", extra_filerefs=["/etc/passwd"])
    assert request_log.execs == [] and request_log.writes == []
