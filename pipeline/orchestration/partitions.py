"""The one partitioning every data asset shares: the UTC day a snapshot was taken."""

from dagster import DailyPartitionsDefinition

# end_offset=1 makes today's partition exist, so today's snapshot can be taken today (by default a
# daily partition only exists once its day is over).
daily_snapshots = DailyPartitionsDefinition(start_date="2025-01-01", end_offset=1, timezone="UTC")
