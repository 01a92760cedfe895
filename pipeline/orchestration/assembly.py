"""Orchestration over whatever the configured sources registered, selected by the `layer` tag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    ScheduleDefinition,
    SensorDefinition,
)

from pipeline.orchestration.automation import automation_sensor, with_automation
from pipeline.orchestration.deployment import Deployment
from pipeline.orchestration.schedules import (
    AssetJob,
    build_freshness,
    build_snapshot_schedule,
    raw_snapshots_job,
)
from pipeline.orchestration.settings import OrchestrationSettings
from pipeline.sources.declare import LAYER


@dataclass
class Orchestration:
    assets: list[AssetsDefinition]
    asset_checks: list[AssetChecksDefinition] = field(default_factory=list)
    jobs: list[AssetJob] = field(default_factory=list)
    schedules: list[ScheduleDefinition] = field(default_factory=list)
    sensors: list[SensorDefinition] = field(default_factory=list)


def orchestrate(
    assets: Sequence[object], settings: OrchestrationSettings, deployment: Deployment
) -> Orchestration:
    """Automation on every derived asset; the daily schedule and freshness watch on every raw one;
    the deployment's owner, storage kinds and partitions on all.

    With no source configured there is nothing to schedule, so no job, schedule or sensor exists
    that could tick and fail.
    """
    definitions = [a for a in assets if isinstance(a, AssetsDefinition)]
    raw_keys = sorted(
        (spec.key for a in definitions for spec in a.specs if spec.tags.get(LAYER) == "raw"), key=str
    )
    result = Orchestration(assets=deployment.apply(with_automation(definitions, settings)))
    if not raw_keys:
        return result
    freshness_checks, freshness_job, freshness_schedule = build_freshness(raw_keys)
    result.asset_checks.extend(freshness_checks)
    result.jobs += [raw_snapshots_job, freshness_job]
    result.schedules += [build_snapshot_schedule(settings), freshness_schedule]
    result.sensors.append(automation_sensor)
    return result
