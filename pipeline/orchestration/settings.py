"""When things run: read once from the environment, with defaults that suit a daily snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class OrchestrationSettings:
    """`PIPELINE_SNAPSHOT_CRON` (default 05:00 daily), `PIPELINE_SCHEDULE_TIMEZONE` (default UTC) and
    `PIPELINE_REPORT_CADENCE` (`daily`, or `weekly`: the Excel report only after Monday's snapshot)."""

    snapshot_cron: str = "0 5 * * *"
    timezone: str = "UTC"
    report_cadence: Literal["daily", "weekly"] = "daily"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OrchestrationSettings:
        cadence = environ.get("PIPELINE_REPORT_CADENCE", "daily").strip().lower()
        if cadence not in ("daily", "weekly"):
            raise ValueError(f"PIPELINE_REPORT_CADENCE must be 'daily' or 'weekly', not {cadence!r}")
        cron = environ.get("PIPELINE_SNAPSHOT_CRON", cls.snapshot_cron).strip()  # the schedule validates it
        timezone = environ.get("PIPELINE_SCHEDULE_TIMEZONE", cls.timezone).strip()
        return cls(
            snapshot_cron=cron, timezone=timezone, report_cadence="weekly" if cadence == "weekly" else "daily"
        )

    @property
    def weekly_report_cron(self) -> str:
        """The snapshot's time of day, on Mondays only."""
        minute, hour, *_ = self.snapshot_cron.split()
        return f"{minute} {hour} * * 1"
