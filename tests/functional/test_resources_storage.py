"""lxdapi.storage_pool_* and storage_volume_* states against the real daemon (dir pools)."""

import os

import pytest

from resources_support import cleanup, held, make_container, short_name  # noqa: F401


@pytest.fixture
def pool(lxd, cleanup):
    """A fresh pool name, deleted at teardown."""
    name = short_name("t5s")
    cleanup(["storage", "delete", name])
    return name


@pytest.fixture
def made_pool(states, pool):
    """A dir pool made by the state (with LXD's own source folder)."""
    ret = states.lxdapi.storage_pool_present(name=pool, driver="dir")
    assert ret.result is True, ret.comment
    return pool


# ------------------------------------------------------------------------------ pools


def test_pool_create_then_noop_without_a_write(states, api, pool, tmp_path, request_log):
    source = str(tmp_path / "pool")
    os.mkdir(source)
    ret = states.lxdapi.storage_pool_present(
        name=pool, driver="dir", config={"source": source}, description="d"
    )
    assert ret.result is True, ret.comment
    assert ret.changes["storage_pool"] == {"old": None, "new": pool}
    assert ret.changes["driver"] == {"old": None, "new": "dir"}
    held_pool = held(api, "storage-pools/" + pool)
    assert held_pool["driver"] == "dir"
    assert held_pool["config"]["source"] == source
    assert held_pool["description"] == "d"

    request_log.clear()
    ret = states.lxdapi.storage_pool_present(
        name=pool, driver="dir", config={"source": source}, description="d"
    )
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []
    # undeclared keys LXD added (source) are not compared
    ret = states.lxdapi.storage_pool_present(name=pool, driver="dir")
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


def test_pool_update_and_test_mode(states, api, made_pool, request_log):
    request_log.clear()
    ret = states.lxdapi.storage_pool_present(
        name=made_pool, driver="dir", config={"rsync.bwlimit": "10MB"}, test=True
    )
    assert ret.result is None
    assert ret.changes == {
        "config": {"old": {"rsync.bwlimit": None}, "new": {"rsync.bwlimit": "10MB"}}
    }
    assert request_log.writes == []
    assert "rsync.bwlimit" not in held(api, "storage-pools/" + made_pool)["config"]

    ret = states.lxdapi.storage_pool_present(
        name=made_pool, driver="dir", config={"rsync.bwlimit": "10MB"}, description="bulk"
    )
    assert ret.result is True, ret.comment
    assert ret.changes["config"]["new"] == {"rsync.bwlimit": "10MB"}
    assert ret.changes["description"] == {"old": "", "new": "bulk"}
    held_pool = held(api, "storage-pools/" + made_pool)
    assert held_pool["config"]["rsync.bwlimit"] == "10MB"
    assert held_pool["config"]["source"]  # kept
    assert held_pool["description"] == "bulk"


def test_pool_create_only_fields_are_reported_not_acted_on(states, api, made_pool, request_log):
    before = held(api, "storage-pools/" + made_pool)
    request_log.clear()
    ret = states.lxdapi.storage_pool_present(
        name=made_pool, driver="btrfs", config={"source": "/elsewhere"}
    )
    assert ret.result is True
    assert ret.changes == {}
    assert "driver 'dir'" in ret.comment and "btrfs" in ret.comment
    assert "source" in ret.comment and "/elsewhere" in ret.comment
    assert request_log.writes == []
    assert held(api, "storage-pools/" + made_pool) == before


def test_pool_bad_input_fails_and_changes_nothing(states, api, pool):
    ret = states.lxdapi.storage_pool_present(name=pool, driver="nosuchdriver")
    assert ret.result is False
    assert "driver" in ret.comment.lower()
    assert held(api, "storage-pools/" + pool) is None

    ret = states.lxdapi.storage_pool_present(name=pool, driver="dir", config={"bogus": 1})
    assert ret.result is False
    assert "bogus" in ret.comment
    assert held(api, "storage-pools/" + pool) is None

    ret = states.lxdapi.storage_pool_present(name=pool, driver={"x": 1})
    assert ret.result is False
    assert "driver must be a string" in ret.comment


def test_pool_absent_refuses_while_used_then_deletes_once(states, api, lxd, made_pool, request_log):
    lxd.lxc("storage", "volume", "create", made_pool, "vol1")
    ret = states.lxdapi.storage_pool_absent(name=made_pool)
    assert ret.result is False
    assert "in use" in ret.comment and "vol1" in ret.comment
    assert held(api, "storage-pools/" + made_pool) is not None

    lxd.lxc("storage", "volume", "delete", made_pool, "vol1")
    request_log.clear()
    ret = states.lxdapi.storage_pool_absent(name=made_pool, test=True)
    assert ret.result is None
    assert ret.changes == {"storage_pool": {"old": made_pool, "new": None}}
    assert request_log.writes == []
    ret = states.lxdapi.storage_pool_absent(name=made_pool)
    assert ret.result is True, ret.comment
    assert held(api, "storage-pools/" + made_pool) is None

    request_log.clear()
    ret = states.lxdapi.storage_pool_absent(name=made_pool)
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


# ---------------------------------------------------------------------------- volumes


@pytest.fixture
def volume(made_pool, unique_name, cleanup):
    """A fresh volume name in ``made_pool``, deleted at teardown (before the pool)."""
    cleanup(["storage", "volume", "delete", made_pool, unique_name])
    return unique_name


def _volume(api, pool, name, **params):
    return held(api, f"storage-pools/{pool}/volumes/custom/{name}", **params)


def test_volume_create_then_noop_without_a_write(states, api, made_pool, volume, request_log):
    ret = states.lxdapi.storage_volume_present(
        pool=made_pool, name=volume, config={"user.owner": "web"}, description="data"
    )
    assert ret.result is True, ret.comment
    assert ret.changes["storage_volume"] == {"old": None, "new": volume}
    held_volume = _volume(api, made_pool, volume)
    assert held_volume["config"] == {"user.owner": "web"}
    assert held_volume["content_type"] == "filesystem"
    assert held_volume["description"] == "data"

    request_log.clear()
    ret = states.lxdapi.storage_volume_present(
        pool=made_pool, name=volume, config={"user.owner": "web"}, description="data"
    )
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


def test_volume_update_test_mode_and_content_type(states, api, made_pool, volume, request_log):
    states.lxdapi.storage_volume_present(pool=made_pool, name=volume, config={"user.owner": "web"})
    request_log.clear()
    ret = states.lxdapi.storage_volume_present(
        pool=made_pool, name=volume, config={"user.owner": "db"}, test=True
    )
    assert ret.result is None
    assert ret.changes == {"config": {"old": {"user.owner": "web"}, "new": {"user.owner": "db"}}}
    assert request_log.writes == []
    assert _volume(api, made_pool, volume)["config"] == {"user.owner": "web"}

    ret = states.lxdapi.storage_volume_present(
        pool=made_pool, name=volume, config={"user.owner": "db"}
    )
    assert ret.result is True, ret.comment
    assert [w[0] for w in request_log.writes] == ["PATCH"]
    assert _volume(api, made_pool, volume)["config"] == {"user.owner": "db"}

    request_log.clear()
    ret = states.lxdapi.storage_volume_present(pool=made_pool, name=volume, content_type="block")
    assert ret.result is True and ret.changes == {}
    assert "content_type 'filesystem'" in ret.comment and "block" in ret.comment
    assert request_log.writes == []


def test_volume_block_content_type_at_creation(states, api, made_pool, volume):
    ret = states.lxdapi.storage_volume_present(
        pool=made_pool, name=volume, content_type="block", config={"size": "10MiB"}
    )
    assert ret.result is True, ret.comment
    assert _volume(api, made_pool, volume)["content_type"] == "block"


def test_volume_bad_input_fails_and_changes_nothing(states, api, made_pool, volume):
    ret = states.lxdapi.storage_volume_present(pool=made_pool, name=volume, content_type="weird")
    assert ret.result is False
    assert "content type" in ret.comment.lower()
    assert _volume(api, made_pool, volume) is None

    ret = states.lxdapi.storage_volume_present(pool="t5-no-such-pool", name=volume)
    assert ret.result is False
    assert "pool not found" in ret.comment.lower()

    ret = states.lxdapi.storage_volume_present(pool=made_pool, name=volume, type="container")
    assert ret.result is False
    assert "container" in ret.comment
    assert _volume(api, made_pool, volume) is None

    ret = states.lxdapi.storage_volume_present(pool="", name=volume)
    assert ret.result is False
    assert "pool=" in ret.comment


def test_volume_absent_refuses_while_attached_then_deletes_once(
    states, api, lxd, made_pool, volume, cleanup, request_log
):
    states.lxdapi.storage_volume_present(pool=made_pool, name=volume)
    container = make_container(lxd, cleanup, volume + "-c")
    lxd.lxc("storage", "volume", "attach", made_pool, volume, container, "/data")

    ret = states.lxdapi.storage_volume_absent(pool=made_pool, name=volume)
    assert ret.result is False
    assert "in use" in ret.comment and container in ret.comment
    assert _volume(api, made_pool, volume) is not None

    lxd.lxc("delete", "--force", container)
    ret = states.lxdapi.storage_volume_absent(pool=made_pool, name=volume)
    assert ret.result is True, ret.comment
    assert ret.changes == {"storage_volume": {"old": volume, "new": None}}
    assert _volume(api, made_pool, volume) is None

    request_log.clear()
    ret = states.lxdapi.storage_volume_absent(pool=made_pool, name=volume)
    assert ret.result is True and ret.changes == {}
    assert request_log.writes == []


def test_volume_in_a_project(states, api, lxd, made_pool, volume, cleanup):
    project = short_name("t5p")
    cleanup(["project", "delete", project])
    lxd.lxc("project", "create", project)
    cleanup(["storage", "volume", "delete", made_pool, volume, "--project", project])
    ret = states.lxdapi.storage_volume_present(pool=made_pool, name=volume, project=project)
    assert ret.result is True, ret.comment
    assert _volume(api, made_pool, volume, project=project) is not None
    assert _volume(api, made_pool, volume) is None
    ret = states.lxdapi.storage_volume_absent(pool=made_pool, name=volume, project=project)
    assert ret.result is True and ret.changes
    assert _volume(api, made_pool, volume, project=project) is None
