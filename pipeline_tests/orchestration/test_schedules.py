"""The daily snapshot schedule and the freshness watch, through Dagster's own testing APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from dagster import DefaultScheduleStatus, DefaultSensorStatus, build_schedule_context, instance_for_test

from pipeline.definitions import build_definitions
from pipeline_tests.environments import ALL_SOURCES_ON
from pipeline_tests.orchestration.support import env as env  # a fixture, imported for pytest to find
from pipeline_tests.orchestration.support import materialise


def tick(defs, when):
    schedule = defs.resolve_schedule_def("daily_raw_snapshots")
    context = build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())
    return schedule.evaluate_tick(context)


SINCE_2026 = {**ALL_SOURCES_ON, "PIPELINE_FIRST_SNAPSHOT_DAY": "2026-01-01"}  # the ticks below are its days


def test_daily_schedule_requests_todays_utc_partition_and_runs_by_default():
    defs = build_definitions(SINCE_2026)
    schedule = defs.resolve_schedule_def("daily_raw_snapshots")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 5 * * *", "UTC")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    [request] = tick(defs, datetime(2026, 11, 25, 5, 0, tzinfo=UTC)).run_requests
    assert (request.partition_key, request.run_key) == ("2026-11-25", "snapshot-2026-11-25")
    assert request.job_name is None or request.job_name == "raw_snapshots"
    assert schedule.job_name == "raw_snapshots"


def test_schedule_time_and_timezone_are_settings_and_the_partition_stays_the_utc_day():
    env = {
        **SINCE_2026,
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


def raw_keys(defs):
    graph = defs.get_repository_def().asset_graph
    return {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).tags.get("layer") == "raw"
    }


def test_freshness_check_warns_when_the_latest_snapshot_is_older_than_26_hours(env):
    defs = build_definitions(env)
    job = defs.resolve_job_def("snapshot_freshness")
    with instance_for_test() as instance:
        materialise(defs, instance, "econnect_station_pages", "uk_registry_snapshot")
        for hours_later, fresh in ((25, True), (27, False)):
            with time_machine.travel(datetime.now(UTC) + timedelta(hours=hours_later)):
                result = job.execute_in_process(instance=instance)
            evaluations = result.get_asset_check_evaluations()
            never = {key for key in raw_keys(defs) if key.startswith("uk_ocpi")}  # not materialised here
            assert {e.asset_key.to_user_string(): e.passed for e in evaluations} == {
                "econnect_station_pages": fresh,
                "uk_registry_snapshot": fresh,
                **dict.fromkeys(never, False),
            }
            assert len(never) == 11  # ten feeds and their status table
