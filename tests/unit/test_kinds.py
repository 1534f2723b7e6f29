"""The resource kind registry: one declaration per kind, invalid ones refused, and every
kind served by the same set of execution functions and states, with matching arguments.

Reads the Salt modules with ``ast`` (nothing is loaded), so it checks the source itself.
"""

import ast
import glob
import os

import pytest

import lxdapi_kinds

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: What every kind has at the Salt surface.
MODULE_SUFFIXES = ("get", "list", "create", "update", "delete")
STATE_SUFFIXES = ("present", "absent")


def functions(folder):
    """The top-level functions of every ``lxdapi*.py`` file of ``folder`` (the files of
    one virtual name, by family), by name."""
    found = {}
    for path in sorted(glob.glob(os.path.join(ROOT, folder, "lxdapi*.py"))):
        tree = ast.parse(open(path).read())
        found.update((n.name, n) for n in tree.body if isinstance(n, ast.FunctionDef))
    return found


MODULE = functions("_modules")
STATES = functions("_states")


def parameters(node):
    args = node.args
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]


def surface(kind):
    """``{function name: its ast node}`` of every Salt function of ``kind``."""
    names = {f"{kind.name}_{s}": MODULE for s in MODULE_SUFFIXES}
    names.update({f"{kind.name}_{s}": STATES for s in STATE_SUFFIXES})
    return {name: where.get(name) for name, where in names.items()}


@pytest.mark.parametrize("kind", list(lxdapi_kinds.KINDS.values()), ids=lambda k: k.name)
def test_every_kind_has_its_functions_and_states(kind):
    missing = sorted(name for name, node in surface(kind).items() if node is None)
    assert not missing, "{} has no {}".format(kind.name, ", ".join(missing))


@pytest.mark.parametrize("kind", list(lxdapi_kinds.KINDS.values()), ids=lambda k: k.name)
def test_their_arguments_match_the_kind(kind):
    found = {name: parameters(node) for name, node in surface(kind).items() if node}
    for name, params in found.items():
        for param in kind.url_params:
            if param in kind.defaults:
                continue
            assert param in params, f"{name} lacks {param}= (a part of the kind's URL)"
        # A URL part with a default is taken by all of a kind's functions or by none.
        for param in kind.defaults:
            takes = {n for n, p in found.items() if param in p}
            assert takes in (set(), set(found)), "{}= is taken by {} only".format(
                param, ", ".join(sorted(takes))
            )
        # States take Salt's name= (a forward's listen address); functions the kind's key.
        key = "name" if name.endswith(STATE_SUFFIXES) else kind.key
        assert name.endswith("_list") or key in params, f"{name} lacks {key}="
    declared = set(kind.fields) | set(kind.create_only)
    for name in (f"{kind.name}_present", f"{kind.name}_create"):
        params = set(found[name])
        assert declared <= params, "{} lacks {}".format(name, ", ".join(sorted(declared - params)))
        assert ("member_config" in params) == kind.member_specific, name
    update = set(found[f"{kind.name}_update"])
    assert set(kind.fields) <= update, "{}_update lacks {}".format(
        kind.name, ", ".join(sorted(set(kind.fields) - update))
    )
    for name in (f"{kind.name}_present", f"{kind.name}_update"):
        params = set(found[name])
        assert ("purge_config" in params) == ("config" in kind.fields), name
        assert ("purge_devices" in params) == ("devices" in kind.fields), name


def test_kinds_are_declared_once_with_their_rules():
    assert set(lxdapi_kinds.KINDS) == {k.name for k in lxdapi_kinds.KINDS.values()}
    acl = lxdapi_kinds.resource_kind("network_acl")
    assert acl.update == lxdapi_kinds.UPDATE_PUT and acl.lists == ("ingress", "egress")
    assert lxdapi_kinds.resource_kind("network").member_specific
    with pytest.raises(ValueError, match="unknown resource kind 'nope'; choose one of"):
        lxdapi_kinds.resource_kind("nope")


@pytest.mark.parametrize(
    "bad, problem",
    [
        ({"lists": ("rules",), "fields": ("rules",)}, "update must be 'put'"),
        ({"lists": ("rules",)}, "lists rules not in fields"),
        ({"update": "merge"}, "update must be"),
        ({"create_only": ("config",)}, "both create_only and updated"),
        ({"member_config_keys": ("parent",), "fields": ("description",)}, "need a config field"),
        ({"defaults": {"pool": "x"}}, "defaults name no {param}"),
        ({"typed_listing": True}, "typed_listing needs a {type}"),
        ({"parent": "networks/{network}"}, "parent must name {params} of the collection"),
        ({"parent_types": ("ovn",)}, "parent_types needs a parent"),
        ({"list_item": dict}, "list_item needs lists"),
        ({"check_key": "ip"}, "check_key must be callable"),
    ],
)
def test_an_invalid_kind_is_refused(bad, problem):
    args = dict(name="thing", label="thing", collection="things", fields=("config", "description"))
    args.update(bad)
    with pytest.raises(TypeError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        lxdapi_kinds.ResourceKind(**args)


def test_a_network_forward_is_compared_as_lxd_stores_it():
    forward = lxdapi_kinds.resource_kind("network_forward")
    assert (forward.key, forward.url_params, forward.parent_label) == (
        "listen_address",
        ("network",),
        "network",
    )
    assert forward.check_key(" 2001:DB8::A ") == "2001:db8::a"
    with pytest.raises(ValueError, match="listen_address must be an IP address"):
        forward.check_key("192.0.2.0/24")
    # held (Incus 6.0.5+ returns snat: false) and declared specs meet in one form
    held = {"description": "", "protocol": "tcp", "listen_port": "80,443", "target_port": ""}
    held.update(target_address="2001:db8::5", snat=False)
    declared = {"protocol": " tcp", "listen_port": "80, 443", "target_address": "2001:DB8::5"}
    assert forward.list_item(held, "ports") == forward.list_item(declared, "ports")
    want = forward.check_declared(
        {"ports": [forward.list_item(declared, "ports")], "description": " web ", "config": {}}
    )
    assert want["description"] == "web"
    for bad, problem in [
        ({"x": "1"}, r"ports\[0\]: a port spec has no key 'x'"),
        ({"protocol": "sctp"}, "protocol must be tcp or udp"),
        ({"listen_port": "80-"}, "listen_port must be ports or ranges"),
        ({"target_address": "db"}, "target_address must be an IP address"),
        ({"snat": "maybe"}, "snat must be true or false"),
    ]:
        spec = dict(declared, **bad)
        with pytest.raises(ValueError, match=problem):
            forward.check_declared({"ports": [forward.list_item(spec, "ports")]})
    with pytest.raises(ValueError, match="config takes target_address and user"):
        forward.check_declared({"config": {"bridge.mtu": "1500"}})
