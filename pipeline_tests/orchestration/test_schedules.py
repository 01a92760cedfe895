"""Schedules, change sensors, automation and freshness, through Dagster's own testing APIs."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from dagster import (
    AssetKey,
    AssetMaterialization,
    AutomationCondition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_schedule_context,
    build_sensor_context,
    evaluate_automation_conditions,
    instance_for_test,
)

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import REUSED, today_key
from pipeline.resources.http import HttpSettings
from pipeline.sandbox import EConnectServer, RegistryServer, make_registry, make_stations
from pipeline.sources.econnect.client import EConnectApi
from pipeline.sources.uk_registry.client import RegistryApi
from pipeline_tests.environments import ALL_SOURCES_ON

FAST = HttpSettings(max_attempts=1)


def tick(defs, when):
    schedule = defs.resolve_schedule_def("daily_raw_snapshots")
    context = build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())
    return schedule.evaluate_tick(context)


def test_daily_schedule_requests_todays_utc_partition_and_runs_by_default():
    defs = build_definitions(ALL_SOURCES_ON)
    schedule = defs.resolve_schedule_def("daily_raw_snapshots")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 5 * * *", "UTC")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    [request] = tick(defs, datetime(2026, 11, 25, 5, 0, tzinfo=UTC)).run_requests
    assert (request.partition_key, request.run_key) == ("2026-11-25", "snapshot-2026-11-25")
    assert request.job_name is None or request.job_name == "raw_snapshots"
    assert schedule.job_name == "raw_snapshots"


def test_schedule_time_and_timezone_are_settings_and_the_partition_stays_the_utc_day():
    env = {
        **ALL_SOURCES_ON,
        "PIPELINE_SNAPSHOT_CRON": "30 0 * * *",
        "PIPELINE_SCHEDULE_TIMEZONE": "Europe/London",
    }
    defs = build_definitions(env)
    schedule = defs.resolve_schedule_def("daily_raw_snapshots")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 0 * * *", "Europe/London")
    london_half_past_midnight_in_summer = datetime(2026, 6, 1, 0, 30, tzinfo=UTC) - timedelta(hours=1)
    [request] = tick(defs, london_half_past_midnight_in_summer).run_requests
    assert request.partition_key == "2026-05-31"


def test_every_schedule_and_sensor_starts_running():
    defs = build_definitions(ALL_SOURCES_ON)
    assert {s.name: s.default_status for s in defs.schedules} == {
        "daily_raw_snapshots": DefaultScheduleStatus.RUNNING,
        "hourly_freshness_check": DefaultScheduleStatus.RUNNING,
    }
    assert {s.name: s.default_status for s in defs.sensors} == {
        "derived_assets_automation": DefaultSensorStatus.RUNNING,
        "econnect_change_sensor": DefaultSensorStatus.RUNNING,
        "uk_registry_change_sensor": DefaultSensorStatus.RUNNING,
        "run_failure_alert": DefaultSensorStatus.RUNNING,
    }


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


def materialise(defs, instance, *keys):
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={AssetKey(k) for k in keys})
    result = job.execute_in_process(partition_key=today_key(), instance=instance)
    assert result.success


@pytest.fixture
def env(sandbox_env):
    return sandbox_env


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


def sensor_tick(defs, name, instance, cursor, **resources):
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
    return defs.resolve_sensor_def(name).evaluate_tick(context)


def test_econnect_change_sensor_requests_a_snapshot_only_when_the_fleet_changed(env, tmp_path):
    defs = build_definitions(env)
    stations = make_stations(300)
    with instance_for_test() as instance, EConnectServer(stations, "u", "p", "BP") as server:
        api = EConnectApi(
            base_url=server.base_url, username="u", password="p", business_partner="BP", http=FAST
        )
        first = sensor_tick(defs, "econnect_change_sensor", instance, None, econnect=api)
        [request] = first.run_requests
        assert request.partition_key == today_key()
        assert request.asset_selection == [AssetKey("econnect_station_pages")]
        assert first.cursor == api.fingerprint() and first.cursor.startswith("300:")

        local = build_definitions(
            {**env, "ECONNECT_API_URL": server.base_url, "PIPELINE_DATA_DIR": str(tmp_path)}
        )
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {
                "ECONNECT_USERNAME": "u",
                "ECONNECT_PASSWORD": "p",
                "ECONNECT_BUSINESS_PARTNER": "BP",
            }.items():
                patch.setenv(name, value)
            materialise(local, instance, "econnect_station_pages")
        unchanged = sensor_tick(defs, "econnect_change_sensor", instance, first.cursor, econnect=api)
        assert unchanged.run_requests == [] and "unchanged since the last snapshot" in unchanged.skip_message
        # A backfill re-materialising a past day from its stored snapshot says nothing about the upstream.
        instance.report_runless_asset_event(
            AssetMaterialization("econnect_station_pages", partition="2025-06-01", metadata={REUSED: True})
        )
        after_backfill = sensor_tick(defs, "econnect_change_sensor", instance, first.cursor, econnect=api)
        assert after_backfill.run_requests == []

    with instance_for_test() as other, EConnectServer(stations[:-1], "u", "p", "BP") as changed_server:
        api = EConnectApi(
            base_url=changed_server.base_url, username="u", password="p", business_partner="BP", http=FAST
        )
        changed = sensor_tick(defs, "econnect_change_sensor", other, first.cursor, econnect=api)
        assert changed.cursor.startswith("299:") and len(changed.run_requests) == 1


def test_uk_registry_change_sensor_uses_conditional_get(env, tmp_path):
    defs = build_definitions(env)
    with instance_for_test() as instance, RegistryServer(make_registry(50)) as server:
        api = RegistryApi(url=server.url, http=FAST)
        first = sensor_tick(defs, "uk_registry_change_sensor", instance, None, uk_registry=api)
        assert len(first.run_requests) == 1
        assert json.loads(first.cursor) == {"ETag": server.etag, "Last-Modified": server.last_modified}

        local = build_definitions({**env, "NCR_API_URL": server.url, "PIPELINE_DATA_DIR": str(tmp_path)})
        materialise(local, instance, "uk_registry_snapshot")
        unchanged = sensor_tick(defs, "uk_registry_change_sensor", instance, first.cursor, uk_registry=api)
        assert unchanged.run_requests == [] and "304 Not Modified" in unchanged.skip_message
        assert server.requests[-1][1] == 304

        server.publish(make_registry(51))
        changed = sensor_tick(defs, "uk_registry_change_sensor", instance, unchanged.cursor, uk_registry=api)
        assert len(changed.run_requests) == 1 and json.loads(changed.cursor)["ETag"] == server.etag


def test_freshness_check_warns_when_the_latest_snapshot_is_older_than_26_hours(env):
    defs = build_definitions(env)
    job = defs.resolve_job_def("snapshot_freshness")
    with instance_for_test() as instance:
        materialise(defs, instance, "econnect_station_pages", "uk_registry_snapshot")
        for hours_later, fresh in ((25, True), (27, False)):
            with time_machine.travel(datetime.now(UTC) + timedelta(hours=hours_later)):
                result = job.execute_in_process(instance=instance)
            evaluations = result.get_asset_check_evaluations()
            assert {e.asset_key.to_user_string(): e.passed for e in evaluations} == {
                "econnect_station_pages": fresh,
                "uk_registry_snapshot": fresh,
            }
