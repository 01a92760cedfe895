"""The committed production instance config, deploy/dagster.yaml, against a real PostgreSQL.

`make test` starts a throwaway server (scripts/test-postgres.sh) and passes its URL in
PIPELINE_TEST_POSTGRES_URL. The file is loaded unchanged, with the DAGSTER_PG_* variables it reads
pointing at that server, and the instance does what a deployment's does: records a full
materialisation, evaluates the snapshot schedule and the eConnect change sensor, queues a run and
holds the API pools to one slot.
"""

import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    QueuedRunCoordinator,
    RunsFilter,
    build_schedule_context,
    build_sensor_context,
)
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline.sources.econnect.assets import UPSTREAM_FINGERPRINT
from pipeline_tests.environments import environment
from pipeline_tests.postgres import connect, pg_variables, postgres_url, recreate_database

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_CONFIG = ROOT / "deploy" / "dagster.yaml"
PARTITION = today_key()
RAW = AssetKey("econnect_station_pages")
REPORT = AssetKey("econnect_station_report")

# Dagster's own snapshot of a code location still reads a deprecated schedule property; nothing of ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Property `ScheduleDefinition.environment_vars` is deprecated:DeprecationWarning"
)


@pytest.fixture(scope="module")
def pg_env():
    variables = pg_variables(postgres_url())
    recreate_database(variables)
    with environment(variables):
        yield variables


@pytest.fixture(scope="module")
def dagster_home(pg_env, tmp_path_factory) -> Path:
    """A DAGSTER_HOME holding deploy/dagster.yaml byte for byte."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copyfile(DEPLOY_CONFIG, home / "dagster.yaml")
    return home


@pytest.fixture(scope="module")
def instance(dagster_home):
    with DagsterInstance.from_config(str(dagster_home)) as opened:
        yield opened


@pytest.fixture(scope="module")
def sandbox_defs(sandbox_env):
    # A deployment taking snapshots since 2025, so the schedule's 2025 tick names one of its days.
    return build_definitions({**sandbox_env, "PIPELINE_FIRST_SNAPSHOT_DAY": "2025-01-01"})


def econnect_tick(instance, sandbox_defs):
    """One evaluation of the eConnect change sensor, as the daemon's would run it against this instance."""
    context = build_sensor_context(
        instance=instance,
        cursor=None,
        definitions=sandbox_defs,  # the run requests are resolved against the asset graph, as the daemon does
        resources={"econnect": sandbox_defs.resources["econnect"]},
    )
    return sandbox_defs.resolve_sensor_def("econnect_change_sensor").evaluate_tick(context)


@pytest.fixture(scope="module")
def tick_before_any_snapshot(instance, sandbox_defs):
    return econnect_tick(instance, sandbox_defs)


@pytest.fixture(scope="module")
def run(instance, sandbox_defs, tick_before_any_snapshot):
    """Today's partition of the whole graph, recorded in PostgreSQL (after the first sensor tick)."""
    job = sandbox_defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(partition_key=PARTITION, instance=instance)
    assert result.success
    return result


def test_the_instance_is_built_from_the_committed_config(instance):
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_max_resume_run_attempts == 0


def test_materialisation_is_recorded_in_postgres(run, dagster_home, pg_env):
    with DagsterInstance.from_config(str(dagster_home)) as second:
        recorded = second.get_run_by_id(run.run_id)
        event = second.get_latest_materialization_event(REPORT)
    assert recorded is not None and recorded.status == DagsterRunStatus.SUCCESS
    assert event is not None
    assert event.run_id == run.run_id
    assert event.asset_materialization is not None
    assert event.asset_materialization.partition == PARTITION
    conn = connect(pg_env)  # the table itself, not through Dagster: the events are really in PostgreSQL
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
                (run.run_id, "ASSET_MATERIALIZATION"),
            )
            [(materialisations,)] = cursor.fetchall()
    finally:
        conn.close()
    assert materialisations == len(run.get_asset_materialization_events()) > 0


def test_schedule_requests_the_days_snapshot(instance, sandbox_defs):
    schedule = sandbox_defs.resolve_schedule_def("daily_raw_snapshots")
    context = build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2025, 6, 2, 5, 0, tzinfo=UTC),
        repository_def=sandbox_defs.get_repository_def(),
    )
    data = schedule.evaluate_tick(context)
    assert data.skip_message is None
    [request] = data.run_requests or []
    assert request.partition_key == "2025-06-02"
    assert request.run_key == "snapshot-2025-06-02"


def test_sensor_requests_a_snapshot_before_there_is_one(tick_before_any_snapshot):
    [request] = tick_before_any_snapshot.run_requests or []
    fingerprint = tick_before_any_snapshot.cursor
    assert fingerprint
    assert request.partition_key == PARTITION
    assert request.run_key == f"econnect_station_pages-{PARTITION}-{fingerprint}"
    assert request.asset_selection == [RAW]


def test_sensor_skips_when_the_snapshot_is_current(run, instance, sandbox_defs, tick_before_any_snapshot):
    [raw] = [e for e in run.get_asset_materialization_events() if e.asset_key == RAW]
    recorded = raw.step_materialization_data.materialization.metadata[UPSTREAM_FINGERPRINT].value
    assert recorded == tick_before_any_snapshot.cursor

    tick = econnect_tick(instance, sandbox_defs)

    assert not tick.run_requests
    assert tick.skip_message == f"eConnect unchanged since the last snapshot ({recorded})."


def test_submitted_runs_wait_in_the_queue_for_the_daemon(instance, sandbox_defs, dagster_home):
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    queue = instance.get_concurrency_config().run_queue_config
    assert queue is not None and queue.max_concurrent_runs == 4
    origin = LoadableTargetOrigin(
        executable_path=sys.executable, module_name="pipeline.definitions", working_directory=str(ROOT)
    )
    # The path the UI and the daemon take: a run of the code location's job, submitted to the instance.
    with in_process_test_workspace(instance, origin) as workspace:
        [location_name] = workspace.get_code_location_entries()
        [repository] = workspace.get_code_location(location_name).get_repositories().values()
        remote_job = repository.get_full_job("raw_snapshots")
        created = instance.create_run_for_job(
            job_def=sandbox_defs.resolve_job_def("raw_snapshots"),
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            tags={"dagster/partition": PARTITION},
        )
        submitted = instance.submit_run(created.run_id, workspace)

    assert submitted.status == DagsterRunStatus.QUEUED  # nothing runs until `dagster-daemon` dequeues it
    assert submitted.run_op_concurrency is not None
    assert dict(submitted.run_op_concurrency.root_key_counts) == {
        "econnect": 1,
        "uk_registry": 1,
        "uk_ocpi": 1,
    }
    with DagsterInstance.from_config(str(dagster_home)) as second:
        queued = second.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.QUEUED]))
    assert [r.run_id for r in queued] == [created.run_id]


def test_each_api_pool_has_one_slot(run, instance):
    pools = instance.get_concurrency_config().pool_config
    assert pools.default_pool_limit == 1
    for pool in ("econnect", "uk_registry"):  # (the run here takes no OCPI snapshot)
        info = instance.event_log_storage.get_concurrency_info(pool)
        # The run's raw step claimed this pool's one slot in PostgreSQL and gave it back when done.
        assert (info.limit, info.using_default_limit, info.slot_count) == (1, True, 1), pool
        assert info.claimed_slots == [] and info.pending_steps == [], pool
