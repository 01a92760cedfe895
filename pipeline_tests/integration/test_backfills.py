"""Backfills of past days: re-derived from the stored raw snapshots, never from the upstreams.

The upstream APIs serve only the current state, so a past day can only ever be rebuilt from what was
stored on that day. Seven "original" days are taken first (time travelled to each day, against fake
upstreams whose data differs per day); then the upstreams are stopped and every day is backfilled,
in process and through the real `dagster-daemon`, and must come out as it was. The last tests pin
bugs found while writing these: history that depended on run order, a backfill overwriting the latest
CSV, and reused old snapshots passing the freshness check.

Every test runs twice, with the lake (`PIPELINE_DATA_DIR`) on local disk and on S3 (a fresh prefix in
this module's moto bucket), except the daemon's: see there why one lake suffices.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG as RANGE_END_TAG
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_START_TAG as RANGE_START_TAG
from dagster._core.storage.tags import PARTITION_NAME_TAG

from pipeline.orchestration.partitions import today_key
from pipeline.resources.lake import lake_root, remove_tree
from pipeline.sandbox import EConnectServer, RegistryServer
from pipeline.sandbox.s3 import LocalS3
from pipeline.sandbox.uk_registry import NCR_PATH
from pipeline_tests.integration import backfill_support as support

TODAY = date.fromisoformat(today_key())
DAYS = [(TODAY - timedelta(days=10 - offset)).isoformat() for offset in range(7)]
NEVER_STORED = (TODAY - timedelta(days=20)).isoformat()
RAW = {"econnect_station_pages": "econnect", "uk_registry_snapshot": "uk_registry"}
ORIGINAL, BACKFILL, DAEMON = "original/", "backfill/", "daemon/"


@dataclass
class Originals:
    data_dir: str  # the lake's PIPELINE_DATA_DIR: a local directory or s3://bucket/prefix
    workbooks: dict
    csvs: dict
    upstreams: list


@pytest.fixture(scope="module")
def s3():
    """The module's moto bucket: the CSV uploads (under their prefixes) and, on S3, the lakes."""
    with LocalS3("ev-insight-backfills") as local, support.s3_environment(local):
        yield local


@dataclass(frozen=True)
class Lake:
    """One kind of lake: `new` makes a fresh, empty one. The CSV uploads of the runs on it go under a
    folder of the kind's own in the bucket, so the runs on one kind never read the other's CSVs."""

    kind: str  # "local" or "s3"
    new: Callable[[str], str]
    s3: LocalS3

    def exports(self, prefix: str) -> str:
        """The `PIPELINE_S3_PREFIX` for runs on this kind of lake that upload under `prefix`."""
        return f"{self.kind}/{prefix}"

    def csv(self, prefix: str, day: str | None = None) -> bytes:
        """The CSV uploaded under `exports(prefix)`: the latest one, or the copy kept for `day`."""
        folder = self.exports(prefix) + (f"{day}/" if day else "")
        return support.csv_bytes(self.s3, folder + support.CSV_NAME)


@pytest.fixture(scope="module", params=["local", "s3"])
def lake(request, s3, tmp_path_factory) -> Lake:
    """The lake kind the module runs on: a local directory, or a new prefix in the module's bucket."""
    run_id = uuid.uuid4().hex[:8]

    def new(name: str) -> str:
        if request.param == "local":
            return str(tmp_path_factory.mktemp(name))
        return f"s3://{s3.bucket}/lake-{run_id}-{name}-{uuid.uuid4().hex[:8]}"

    return Lake(request.param, new, s3)


@pytest.fixture(scope="module")
def originals(s3, lake):
    """Each of DAYS materialised on that very day (time travel) from that day's upstream data."""
    data_dir = lake.new("stored-days")
    workbooks, csvs, upstreams = {}, {}, []
    for index, day in enumerate(DAYS):
        with (
            EConnectServer(support.stations_for(index), support.USERNAME, support.PASSWORD) as econnect,
            RegistryServer(support.registry_for(index)) as ncr,
        ):
            env = support.pipeline_env(
                s3,
                econnect_url=econnect.base_url,
                ncr_url=ncr.url,
                data_dir=data_dir,
                prefix=lake.exports(ORIGINAL),
            )
            with time_machine.travel(datetime.fromisoformat(day).replace(hour=6, tzinfo=UTC), tick=True):
                assert today_key() == day
                result = support.materialise(env, day)
        assert result.success, f"original run of {day} failed"
        fetched = support.metadata_by_asset(result)
        assert fetched["econnect_station_pages"]["http_requests"] >= 1  # today's partition: fetched
        assert "reused_stored_snapshot" not in fetched["uk_registry_snapshot"]
        upstreams += [econnect, ncr]
        workbooks[day] = support.workbook_values(data_dir, day)
        csvs[day] = lake.csv(ORIGINAL, day)
    # The days really differ, so "equal to the original" below is checked per day, not by luck.
    assert len({repr(values["values"]) for values in workbooks.values()}) == len(DAYS)
    assert len(set(csvs.values())) == len(DAYS)
    return Originals(data_dir, workbooks, csvs, upstreams)


@dataclass
class Backfill:
    results: dict
    requests_before: list
    requests_after: list
    raw_before: dict
    raw_after: dict
    refused: bool


@pytest.fixture(scope="module")
def backfill(originals, s3, lake):
    """Upstreams stopped, derived outputs deleted, then every day backfilled in process (selection `*`)."""
    for upstream in originals.upstreams:
        with pytest.raises(RuntimeError, match="not running"):
            _ = upstream.base_url
    requests_before = [len(upstream.requests) for upstream in originals.upstreams]
    data_dir, root = originals.data_dir, lake_root(originals.data_dir)
    derived = sorted((path for path in root.iterdir() if path.name != "raw"), key=lambda path: path.name)
    assert {path.name for path in derived} >= {"reports", "tables"}
    for path in derived:  # only the raw snapshots survive
        remove_tree(path)
    assert [path.name for path in root.iterdir()] == ["raw"]
    raw_before = support.tree_digest(root / "raw")
    results = {}
    with support.refusing_endpoint() as dead:
        env = support.pipeline_env(
            s3, econnect_url=dead, ncr_url=dead + NCR_PATH, data_dir=data_dir, prefix=lake.exports(BACKFILL)
        )
        instance = DagsterInstance.ephemeral()
        # Oldest first, as the originals were taken: the history sheets read earlier days' tables
        # (see test_backfill_order_does_not_change_a_days_history).
        for day in DAYS:
            results[day] = support.materialise(env, day, instance=instance)
        refused = support.connection_refused(dead)
    return Backfill(
        results=results,
        requests_before=requests_before,
        requests_after=[len(upstream.requests) for upstream in originals.upstreams],
        raw_before=raw_before,
        raw_after=support.tree_digest(root / "raw"),
        refused=refused,
    )


def test_every_backfilled_day_succeeds_from_its_stored_snapshot(backfill):
    assert [day for day, result in backfill.results.items() if not result.success] == []
    for index, (day, result) in enumerate(backfill.results.items()):
        metadata = support.metadata_by_asset(result)
        for raw in RAW:
            assert metadata[raw]["reused_stored_snapshot"] is True, (day, raw)
            assert "http_requests" not in metadata[raw], (day, raw)
        assert metadata["econnect_station_pages"]["records"] == len(support.stations_for(index))
        assert str(metadata["econnect_station_report"]["path"]).endswith(f"econnect_stations_{day}.xlsx")


def test_no_request_reached_an_upstream_and_the_raw_zone_is_untouched(backfill):
    assert backfill.refused  # the URLs the runs were given refuse every connection
    assert backfill.requests_after == backfill.requests_before
    assert all(count > 0 for count in backfill.requests_before)  # each day's upstream was really used
    assert backfill.raw_after == backfill.raw_before
    assert len([path for path in backfill.raw_before if path.startswith("econnect/")]) > len(DAYS)


def test_backfilled_outputs_equal_the_originals_exactly(backfill, originals, lake):
    for day in DAYS:
        assert support.workbook_values(originals.data_dir, day) == originals.workbooks[day], day
        assert lake.csv(BACKFILL, day) == originals.csvs[day], day
    # The `State History` sheet of the last day covers all seven stored days.
    history = originals.workbooks[DAYS[-1]]["State History"]
    assert [row[0] for row in history[1:]] == [datetime.fromisoformat(day) for day in DAYS]  # date cells


def test_a_backfill_does_not_make_old_snapshots_look_fresh(backfill):
    # The backfill's instance saw only the seven past days; the newest stored snapshot is 4 days old.
    evaluations = backfill.results[DAYS[-1]].get_asset_check_evaluations()
    fresh = {e.asset_key.to_user_string(): e.passed for e in evaluations if e.check_name == "snapshot_fresh"}
    assert set(fresh) == set(RAW)
    assert not any(fresh.values()), f"snapshot_fresh passed {fresh}; the newest snapshot is from {DAYS[-1]}"


def test_a_past_day_never_stored_fails_at_once_without_a_request(s3, lake):
    data_dir = lake.new("never-stored")
    with (
        EConnectServer(support.stations_for(0), support.USERNAME, support.PASSWORD) as econnect,
        RegistryServer(support.registry_for(0)) as ncr,
    ):
        env = support.pipeline_env(
            s3,
            econnect_url=econnect.base_url,
            ncr_url=ncr.url,
            data_dir=data_dir,
            prefix=lake.exports("never/"),
        )
        # A deployment whose first snapshot was a month ago: NEVER_STORED is one of its days (a gap).
        env["PIPELINE_FIRST_SNAPSHOT_DAY"] = (TODAY - timedelta(days=30)).isoformat()
        result = support.materialise(env, NEVER_STORED, selection=[AssetKey(raw) for raw in RAW])
        requests = econnect.requests + ncr.requests
    assert not result.success
    failures = {
        event.step_key: event.step_failure_data.error
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    }
    assert set(failures) == set(RAW)
    econnect_error = failures["econnect_station_pages"].to_string()
    assert f"No eConnect snapshot was stored for {NEVER_STORED}" in econnect_error
    assert "SnapshotUnavailable" in econnect_error
    assert (
        f"No UK registry snapshot was stored for {NEVER_STORED}"
        in failures["uk_registry_snapshot"].to_string()
    )
    assert requests == []
    assert not (lake_root(data_dir) / "raw").exists()  # nothing half-written for the day


# On the local lake only: the daemon only launches the same runs (one per day) in other processes, and
# the storage code they run is the one the in-process backfill tests above already run on both lakes.
@pytest.mark.parametrize("lake", ["local"], indirect=True)
# Dagster's own `AssetBackfillData.from_asset_partitions` still calls the deprecated `.sources()`.
@pytest.mark.filterwarnings("ignore:Function `AssetSelection.sources` is deprecated:DeprecationWarning")
def test_a_daemon_backfill_launched_like_the_ui_runs_one_run_per_day(originals, s3, lake, tmp_path):
    days, data_dir, log = DAYS[:2], tmp_path / "data", tmp_path / "daemon.log"
    support.copy_raw_days(originals.data_dir, data_dir, days)
    home = support.write_dagster_home(tmp_path / "home")
    # The daemon also runs the project's schedules and sensors. The change sensors poll a port that
    # refuses (two short attempts, then a skip); the schedules only tick at their cron times.
    with (
        support.refusing_endpoint() as dead,
        pytest.MonkeyPatch.context() as patch,
        DagsterInstance.from_config(str(home)) as instance,
    ):
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert not instance.telemetry_enabled
        env = support.daemon_env(s3, dead=dead, data_dir=data_dir, home=home, prefix=lake.exports(DAEMON))
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(support.REPO_ROOT)
        backfill_id, asset_keys = support.launch_like_the_ui(instance, days)
        with support.running_daemon(env, log) as daemon:
            status = support.wait_for_backfill(instance, backfill_id, daemon, timeout_s=240, log=log)
        assert status == BulkActionStatus.COMPLETED_SUCCESS, support.tail(log)
        runs = instance.get_runs(filters=RunsFilter(tags=DagsterRun.tags_for_backfill_id(backfill_id)))
        reused = {
            (raw, day): instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey(raw), asset_partitions=[day]), limit=1
            )
            .records[0]
            .asset_materialization.metadata["reused_stored_snapshot"]
            .value
            for raw in RAW
            for day in days
        }
    # BackfillPolicy.multi_run(max_partitions_per_run=1): one run per day, each with every asset. Such a
    # run is tagged with a one-day partition *range*, not with `dagster/partition`.
    ranges = sorted((run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) for run in runs)
    assert ranges == [(day, day) for day in days]
    assert all(PARTITION_NAME_TAG not in run.tags for run in runs)
    assert [run.status for run in runs] == [DagsterRunStatus.SUCCESS] * len(days)
    assert all(set(run.asset_selection or ()) == asset_keys for run in runs)
    assert set(reused.values()) == {True}
    for day in days:  # the first stored days, so even State History must match the originals
        assert support.workbook_values(data_dir, day) == originals.workbooks[day], day
        assert lake.csv(DAEMON, day) == originals.csvs[day]


def test_backfill_order_does_not_change_a_days_history(originals, s3, lake):
    days, data_dir = DAYS[:2], lake.new("order")
    support.copy_raw_days(originals.data_dir, data_dir, days)
    with support.refusing_endpoint() as dead:
        env = support.pipeline_env(
            s3, econnect_url=dead, ncr_url=dead, data_dir=data_dir, prefix=lake.exports("order/")
        )
        for day in reversed(days):  # the daemon launches all days at once; any may finish first
            assert support.materialise(env, day).success, day
    later = support.workbook_values(data_dir, days[1])
    for sheet in set(later) - {"State History"}:
        assert later[sheet] == originals.workbooks[days[1]][sheet], sheet
    assert later["State History"] == originals.workbooks[days[1]]["State History"]


def test_backfilling_a_past_day_keeps_todays_latest_csv(originals, s3, lake):
    today, data_dir = today_key(), lake.new("latest")
    with (
        EConnectServer(support.stations_for(6), support.USERNAME, support.PASSWORD) as econnect,
        RegistryServer(support.registry_for(3)) as ncr,
    ):
        env = support.pipeline_env(
            s3,
            econnect_url=econnect.base_url,
            ncr_url=ncr.url,
            data_dir=data_dir,
            prefix=lake.exports("latest/"),
        )
        assert support.materialise(env, today).success
    todays = lake.csv("latest/")
    assert todays == lake.csv("latest/", today)
    support.copy_raw_days(originals.data_dir, data_dir, DAYS[:1])
    with support.refusing_endpoint() as dead:
        env = {**env, "ECONNECT_API_URL": dead, "NCR_API_URL": dead}
        assert support.materialise(env, DAYS[0]).success
    assert lake.csv("latest/", DAYS[0]) == originals.csvs[DAYS[0]]
    latest = lake.csv("latest/")
    assert latest == todays, f"backfilling {DAYS[0]} replaced the latest CSV"
