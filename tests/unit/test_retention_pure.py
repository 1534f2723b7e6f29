"""The pure parts of retention (``lxdapi_retention``): the checks of ``keep`` and
``max_age``, a pattern turned into a matcher and a time, which names fall out of a
policy, the plan's changes after a failure half-way. No server."""

import datetime

import pytest

import lxdapi_retention as retention
from conftest import core  # noqa: F401  (the core, loaded)
from lxdapi_plans import Step

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 6, 12, 30, tzinfo=UTC)


def _ts(*args):
    return datetime.datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("value, seconds", [(3, 3), ("3", 3), (" 12 ", 12), (1, 1)])
def test_keep_accepted(value, seconds):
    assert retention.check_keep(value) == seconds


@pytest.mark.parametrize("value", [0, -1, "0", "x", None, True, 2.5, [3], "2.0"])
def test_keep_refused(value):
    with pytest.raises(ValueError, match="keep must be a whole number of at least 1"):
        retention.check_keep(value)


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("7d", 7 * 86400),
        ("12h", 12 * 3600),
        ("30m", 1800),
        ("45s", 45),
        ("2w", 14 * 86400),
        ("1d12h", 36 * 3600),
        ("1.5h", 5400),
        (" 7D ", 7 * 86400),
        (3600, 3600),
        ("90", 90),
        (0.5, 0.5),
    ],
)
def test_max_age_accepted(value, seconds):
    assert retention.check_max_age(value) == seconds


@pytest.mark.parametrize(
    "value", [0, -5, "0d", "-1d", "7x", "d7", "7 d", "", None, True, "inf", float("nan"), [1]]
)
def test_max_age_refused(value):
    with pytest.raises(ValueError, match="max_age must be a duration"):
        retention.check_max_age(value)


def test_parse_time_reads_lxd_timestamps():
    assert retention.parse_time("2026-12-06T12:30:00Z") == _ts(2026, 12, 6, 12, 30)
    assert retention.parse_time("2026-12-06T12:30:00.5Z") == _ts(2026, 12, 6, 12, 30) + 0.5
    assert retention.parse_time("2026-12-06T13:30:00+01:00") == _ts(2026, 12, 6, 12, 30)
    assert retention.parse_time("0001-01-01T00:00:00Z") is None  # LXD's zero time
    assert retention.parse_time(None) is None and retention.parse_time("yesterday") is None


def test_a_policy_needs_a_limit_and_known_directives():
    with pytest.raises(ValueError, match="needs keep or max_age"):
        retention.Policy("daily-%Y%m%d")
    with pytest.raises(ValueError, match="unsupported strftime directive '%s'"):
        retention.Policy("epoch-%s", keep=1)
    with pytest.raises(ValueError, match="unsupported strftime directive '%'"):
        retention.Policy("trailing-%", keep=1)
    with pytest.raises(ValueError, match="match must be a glob"):
        retention.Policy("daily-%Y", keep=1, match="")
    assert retention.Policy("daily-%Y", limits=False).doomed({"daily-2020": 0}, NOW, "x") == []


def test_the_pattern_expands_in_utc_and_matches_its_own_names():
    policy = retention.Policy("daily-%Y%m%d", keep=1)
    paris = datetime.timezone(datetime.timedelta(hours=1))
    late = datetime.datetime(2026, 12, 7, 0, 30, tzinfo=paris)  # still the 6th in UTC
    assert policy.expand(late) == "daily-20261206"
    assert policy.matches("daily-20261206")
    assert not policy.matches("daily-2026120")
    assert not policy.matches("daily-20261206-x")
    assert not policy.matches("weekly-20261206")
    assert retention.Policy("100%%-%Y", keep=1).matches("100%-2026")
    assert retention.Policy("a.%Y", keep=1).matches("a.2026")
    assert not retention.Policy("a.%Y", keep=1).matches("ab2026")  # '.' is literal


def test_a_name_time_is_read_from_the_name_only_with_a_year():
    dated = retention.Policy("daily-%Y%m%d", keep=1)
    assert dated.name_time("daily-20261129") == _ts(2026, 11, 29)
    assert dated.name_time("daily-20261399") is None  # matches, but no such day
    assert dated.time_of("daily-20261399", 5.0) == 5.0
    assert dated.time_of("manual", 5.0) == 5.0
    undated = retention.Policy("hourly-%H%M", keep=1)
    assert undated.name_time("hourly-1200") is None
    assert undated.time_of("hourly-1200", 7.0) == 7.0


def test_keep_keeps_the_newest_and_the_declared_one():
    policy = retention.Policy("daily-%Y%m%d", keep=3)
    entries = {f"daily-202612{d:02d}": None for d in (1, 2, 3, 5)}
    entries.update({"manual": 0.0, "daily-x": 0.0})
    # today's counts: it and the two newest stay; the rest go, oldest first
    assert policy.doomed(entries, NOW, "daily-20261206") == ["daily-20261201", "daily-20261202"]
    # keep 1: only the declared one
    one = retention.Policy("daily-%Y%m%d", keep=1)
    assert one.doomed(entries, NOW, "daily-20261206") == [
        "daily-20261201",
        "daily-20261202",
        "daily-20261203",
        "daily-20261205",
    ]


def test_max_age_counts_from_the_time_of_the_name():
    policy = retention.Policy("daily-%Y%m%d", max_age="3d")
    entries = {f"daily-202612{d:02d}": None for d in (1, 2, 3, 4, 5)}
    # the limit is 2026-12-03 12:30: the 3rd (00:00) is older
    assert policy.doomed(entries, NOW, "daily-20261206") == [
        "daily-20261201",
        "daily-20261202",
        "daily-20261203",
    ]


def test_both_limits_apply_and_unknown_times_are_never_too_old():
    policy = retention.Policy("s-%H", keep=3, max_age="1h", match="s-*")
    entries = {
        "s-a": NOW.timestamp() - 60,  # young
        "s-b": NOW.timestamp() - 7200,  # too old
        "s-c": None,  # unknown: not too old, but the oldest for keep
        "s-d": NOW.timestamp() - 120,  # young
        "other": 0.0,  # does not match: never
    }
    # newest: declared, s-a, s-d (kept 3), then s-b, s-c beyond keep
    assert policy.doomed(entries, NOW, "s-12") == ["s-c", "s-b"]
    only_age = retention.Policy("s-%H", max_age="1h", match="s-*")
    assert only_age.doomed(entries, NOW, "s-12") == ["s-b"]


def test_the_declared_name_is_never_deleted():
    policy = retention.Policy("daily-%Y%m%d", max_age="1h")  # today's name is 12 h old
    assert policy.doomed({"daily-20261206": None}, NOW, "daily-20261206") == []


@pytest.mark.parametrize("name", ["a/b", "a b", "", ".", ".."])
def test_invalid_snapshot_names(name):
    with pytest.raises(ValueError, match="not a valid snapshot name"):
        retention.check_snapshot_name(name)


def test_a_plan_failing_half_way_reports_the_deletions_done():
    plan = retention.RetentionPlan("daily-20261206")
    plan.add("snapshot", None, "daily-20261206")
    plan.writes.append(Step("make", lambda: None, keys=("snapshot",)))
    done = []

    def fail():
        raise OSError("no such file")

    plan.delete("daily-1", Step("delete 1", lambda: done.append(1)))
    plan.delete("daily-2", Step("delete 2", fail))
    plan.delete("daily-3", Step("delete 3", lambda: done.append(3)))
    assert plan.changes["deleted"] == {"old": ["daily-1", "daily-2", "daily-3"], "new": None}
    with pytest.raises(OSError):
        plan.apply(None)
    assert done == [1]
    assert plan.applied_changes() == {
        "snapshot": {"old": None, "new": "daily-20261206"},
        "deleted": {"old": ["daily-1"], "new": None},
    }


def test_the_comment_says_what_was_made_and_deleted():
    plan = retention.RetentionPlan("x")
    assert "nothing falls out" in retention.retention_comment(plan, "Snapshot 'x'")
    plan.add("snapshot", None, "x")
    plan.delete("old", Step("delete", lambda: None))
    assert retention.retention_comment(plan, "Snapshot 'x'") == (
        "Snapshot 'x' made; deleted by the retention policy: old."
    )
    assert "would be deleted" in retention.retention_comment(plan, "S", testing=True)
    described = retention.RetentionPlan("x")
    described.add("description", "a", "b")  # an existing volume snapshot's description
    assert retention.retention_comment(described, "S") == "S updated."
    assert retention.retention_comment(described, "S", testing=True) == "S would be updated."
