"""Declarative automation: raw snapshots are scheduled; everything derived follows on its own."""

from collections.abc import Sequence

from dagster import (
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    map_asset_specs,
)

from pipeline.orchestration.settings import OrchestrationSettings
from pipeline.sources.declare import LAYER


def derived_condition(spec: AssetSpec, settings: OrchestrationSettings) -> AutomationCondition | None:
    """Eager for today's partition of everything derived; an Excel report can wait for Monday instead."""
    if spec.tags.get(LAYER) == "raw":
        return None  # the schedule and the change sensors decide when the upstreams are called
    if "excel" in spec.kinds and settings.report_cadence == "weekly":
        return AutomationCondition.on_cron(settings.weekly_report_cron, cron_timezone=settings.timezone)
    return AutomationCondition.eager()


def with_automation(
    assets: Sequence[AssetsDefinition], settings: OrchestrationSettings
) -> list[AssetsDefinition]:
    def attach(spec: AssetSpec) -> AssetSpec:
        return spec.replace_attributes(automation_condition=derived_condition(spec, settings))

    return list(map_asset_specs(attach, assets))


# Dagster's implicit automation sensor starts STOPPED; this one runs from the first `dagster dev`.
automation_sensor = AutomationConditionSensorDefinition(
    "derived_assets_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Materialises derived assets once their upstream partition is updated.",
)
