"""Declarative automation: one raw snapshot sets off today's whole derived graph; the report's cadence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from dagster import AssetKey, AutomationCondition, evaluate_automation_conditions, instance_for_test

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline_tests.environments import ALL_SOURCES_ON
from pipeline_tests.orchestration.support import env as env  # a fixture, imported for pytest to find
from pipeline_tests.orchestration.support import materialise


def test_weekly_report_cadence_waits_for_monday():
    weekly = build_definitions({**ALL_SOURCES_ON, "PIPELINE_REPORT_CADENCE": "weekly"})
    report = weekly.resolve_assets_def("econnect_station_report")
    condition = report.specs_by_key[AssetKey("econnect_station_report")].automation_condition
    assert condition == AutomationCondition.on_cron("0 5 * * 1", cron_timezone="UTC")
    daily = build_definitions(ALL_SOURCES_ON).resolve_assets_def("econnect_station_report")
    assert (
        daily.specs_by_key[AssetKey("econnect_station_report")].automation_condition
        == AutomationCondition.eager()
    )
    with pytest.raises(ValueError, match="PIPELINE_REPORT_CADENCE must be 'daily' or 'weekly'"):
        build_definitions({**ALL_SOURCES_ON, "PIPELINE_REPORT_CADENCE": "monthly"})


DERIVED = [
    "econnect_stations",
    "econnect_station_rejects",
    "econnect_station_counts",
    "econnect_state_by_model",
    "econnect_state_history",
    "econnect_model_state_changes",
    "econnect_station_report",
    "uk_registry_devices",
    "uk_registry_device_rejects",
    "uk_registry_model_counts",
    "uk_registry_manufacturer_history",
    "uk_registry_models_csv",
]


def automation_after_snapshot(defs):
    with instance_for_test() as instance:
        before = evaluate_automation_conditions(defs=defs, instance=instance)
        assert before.total_requested == 0  # nothing derived can run before a snapshot exists
        materialise(defs, instance, "econnect_station_pages", "uk_registry_snapshot")
        return evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)


def test_one_snapshot_makes_automation_request_todays_whole_derived_graph(env):
    result = automation_after_snapshot(build_definitions(env))
    requested = {key: result.get_requested_partitions(AssetKey(key)) for key in DERIVED}
    assert requested == {key: {today_key()} for key in DERIVED}
    assert result.total_requested == len(DERIVED)  # raw assets are only ever scheduled or sensed
    assert result.get_requested_partitions(AssetKey("econnect_station_pages")) == set()


def test_with_a_weekly_report_automation_leaves_the_workbook_for_monday(env):
    with time_machine.travel(datetime(2026, 11, 25, 6, 0, tzinfo=UTC)):  # a Wednesday
        result = automation_after_snapshot(build_definitions({**env, "PIPELINE_REPORT_CADENCE": "weekly"}))
    assert result.get_requested_partitions(AssetKey("econnect_station_report")) == set()
    assert result.get_requested_partitions(AssetKey("econnect_station_counts")) == {"2026-11-25"}
