"""The core's generic reconcile (plan_resource_present/absent) used as a library."""

import pytest

import lxdapi_files
import lxdapi_reconcile
from conftest import core
from resources_support import cleanup, held, make_container, short_name  # noqa: F401


def test_plan_then_concurrent_change_is_not_overwritten(api, lxd, unique_name, cleanup):
    """Writes carry If-Match: a change made between read and write makes the write fail;
    the plan's ``recover`` then plans again from a fresh read, once."""
    cleanup(["profile", "delete", unique_name])
    lxd.lxc("profile", "create", unique_name)
    plan = lxdapi_reconcile.plan_resource_present(
        api, "profile", unique_name, {"config": {"user.a": 1}}
    )
    assert plan.writes[0].method == "PATCH" and plan.writes[0].etag
    assert plan.recover is not None
    plan.recover = None  # the write itself, not planned again
    lxd.lxc("profile", "set", unique_name, "user.other", "theirs")
    with pytest.raises(core.APIPreconditionFailed, match="changed by another client"):
        plan.apply(api)
    assert held(api, "profiles/" + unique_name)["config"] == {"user.other": "theirs"}

    plan = lxdapi_reconcile.plan_resource_present(
        api, "profile", unique_name, {"config": {"user.a": 1}}
    )
    lxd.lxc("profile", "set", unique_name, "user.more", "theirs too")
    assert plan.apply(api) is True  # refused, planned again from a fresh read, written
    assert held(api, "profiles/" + unique_name)["config"] == {
        "user.a": "1",
        "user.other": "theirs",
        "user.more": "theirs too",
    }
    assert "changed by another client" in " ".join(plan.notes)
    assert not lxdapi_reconcile.plan_resource_present(
        api, "profile", unique_name, {"config": {"user.a": "1"}}
    )


def test_in_use_is_an_exception_listing_users(api, lxd, unique_name, cleanup):
    cleanup(["profile", "delete", unique_name])
    lxd.lxc("profile", "create", unique_name)
    container = make_container(lxd, cleanup, unique_name + "-c", "-p", "default", "-p", unique_name)
    with pytest.raises(lxdapi_reconcile.ResourceInUse) as info:
        lxdapi_reconcile.plan_resource_absent(api, "profile", unique_name)
    assert info.value.used_by == ["/1.0/instances/" + container]
    assert info.value.kind == "profile" and info.value.name == unique_name
    assert held(api, "profiles/" + unique_name) is not None


def test_names_are_quoted_and_inputs_checked(api):
    url = lxdapi_reconcile.resource_url(api, "storage_volume", "a b/c", pool="p?x")
    assert url == "storage-pools/p%3Fx/volumes/custom/a%20b%2Fc"
    with pytest.raises(ValueError, match="unknown resource kind"):
        lxdapi_reconcile.plan_resource_present(api, "widget", "x", {})
    with pytest.raises(ValueError, match="needs pool="):
        lxdapi_reconcile.resource_url(api, "storage_volume", "v")
    with pytest.raises(ValueError, match="takes no pool"):
        lxdapi_reconcile.resource_url(api, "profile", "p", pool="x")
    with pytest.raises(ValueError, match="has no field driver"):
        lxdapi_reconcile.plan_resource_present(api, "profile", "p", {"driver": "dir"})
    with pytest.raises(ValueError, match="non-empty name"):
        lxdapi_reconcile.plan_resource_present(api, "profile", "", {})
    assert (
        lxdapi_files.file_mode(644)
        == lxdapi_files.file_mode("0o644")
        == lxdapi_files.file_mode("0644")
        == "0644"
    )
    with pytest.raises(ValueError):
        lxdapi_files.file_mode("888")


def test_pool_source_is_never_purged_or_changed(api, lxd, cleanup):
    pool = short_name("t5s")
    cleanup(["storage", "delete", pool])
    lxd.lxc("storage", "create", pool, "dir", "rsync.bwlimit=1MB")
    plan = lxdapi_reconcile.plan_resource_present(
        api, "storage_pool", pool, {"config": {"source": "/elsewhere"}}, purge_config=True
    )
    assert plan.changes == {
        "config": {"old": {"rsync.bwlimit": "1MB"}, "new": {"rsync.bwlimit": None}}
    }
    assert any("source" in note for note in plan.notes)
    plan.apply(api)
    config = held(api, "storage-pools/" + pool)["config"]
    assert "rsync.bwlimit" not in config and config["source"] != "/elsewhere"
