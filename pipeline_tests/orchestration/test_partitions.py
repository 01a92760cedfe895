from datetime import UTC, datetime

from pipeline.orchestration.partitions import daily_snapshots


def test_todays_partition_exists_so_todays_snapshot_can_be_taken():
    now = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    assert daily_snapshots.get_partition_keys(current_time=now)[-1] == "2026-11-25"
    assert daily_snapshots.get_first_partition_key() == "2025-01-01"
