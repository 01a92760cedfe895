"""Declarative automation: raw snapshots are scheduled; everything derived follows on its own."""

from collections.abc import Sequence

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    map_asset_specs,
)

from pipeline.orchestration.settings import OrchestrationSettings

REPORT = AssetKey("econnect_station_report")


def derived_condition(key: AssetKey, settings: OrchestrationSettings) -> AutomationCondition | None:
    """Eager for today's partition of everything derived; the report can wait for Monday instead."""
    if key.path[-1] in ("econnect_station_pages", "uk_registry_snapshot"):
        return None  # raw: the schedule and the change sensors decide when the APIs are called
    if key == REPORT and settings.report_cadence == "weekly":
        return AutomationCondition.on_cron(settings.weekly_report_cron, cron_timezone=settings.timezone)
    return AutomationCondition.eager()


def with_automation(
    assets: Sequence[AssetsDefinition], settings: OrchestrationSettings
) -> list[AssetsDefinition]:
    def attach(spec: AssetSpec) -> AssetSpec:
        return spec.replace_attributes(automation_condition=derived_condition(spec.key, settings))

    return list(map_asset_specs(attach, assets))


# Dagster's implicit automation sensor starts STOPPED; this one runs from the first `dagster dev`.
automation_sensor = AutomationConditionSensorDefinition(
    "derived_assets_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Materialises derived assets once their upstream partition is updated.",
)
