from datetime import UTC, datetime

import pytest

from pipeline.orchestration.partitions import SnapshotUnavailable, must_fetch, snapshot_partitions


def test_the_days_run_from_the_first_snapshot_to_today_so_todays_snapshot_can_be_taken():
    now = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    days = snapshot_partitions("2026-11-20").get_partition_keys(current_time=now)
    assert days == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25"]


NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def test_today_is_fetched_even_when_a_snapshot_is_stored():
    assert must_fetch("2026-11-25", stored=True, source="eConnect", now=NOW) is True
    assert must_fetch("2026-11-25", stored=False, source="eConnect", now=NOW) is True


def test_a_stored_past_day_is_reused_without_fetching():
    assert must_fetch("2026-11-18", stored=True, source="eConnect", now=NOW) is False


def test_a_past_day_never_fetched_fails_at_once_instead_of_labelling_todays_data():
    with pytest.raises(
        SnapshotUnavailable, match=r"No eConnect snapshot was stored for 2026-11-18.*only the current"
    ):
        must_fetch("2026-11-18", stored=False, source="eConnect", now=NOW)


def test_a_future_day_fails():
    with pytest.raises(SnapshotUnavailable, match="2026-11-26 is in the future"):
        must_fetch("2026-11-26", stored=False, source="eConnect", now=NOW)
