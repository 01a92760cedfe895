"""Helpers for the backfill tests: per-day upstream data, a port that refuses, output readers, the daemon.

Kept apart from `test_backfills.py` so the tests read as what they prove, not how they set it up. A lake
is passed around as its `PIPELINE_DATA_DIR` setting (a local directory or `s3://bucket/prefix`) and read
through `pipeline.resources.lake`, so every helper works the same on both.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import s3fs
from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._time import datetime_from_timestamp, get_current_timestamp
from dagster._utils.caching_instance_queryer import CachingInstanceQueryer
from upath import UPath

from pipeline.definitions import build_definitions
from pipeline.resources.http import HttpSettings
from pipeline.resources.lake import lake_root, put_bytes
from pipeline.resources.storage import DataDir
from pipeline.sandbox import BUSINESS_PARTNER, PASSWORD, USERNAME, make_registry, make_stations
from pipeline.sandbox.s3 import LocalS3
from pipeline.sandbox.uk_registry import NCR_PATH
from pipeline_tests.environments import NO_FEEDS, environment

REPO_ROOT = Path(__file__).resolve().parents[2]
CSV_NAME = "charger_models_UK.csv"
# A fetch that should not happen must fail in well under a second, not after minutes of backoff.
FAST = HttpSettings(connect_timeout_s=1, read_timeout_s=5, max_attempts=2, backoff_initial_s=0.01)

# Small enough for ~1 s per in-process run, large enough for every kind of dirty value to occur.
_BASE_STATIONS = make_stations(240)
_BASE_REGISTRY = make_registry(400)
# The repo's own local instance config (`make home` installs it): SQLite in DAGSTER_HOME, every pool
# (the two API pools) limited to one slot, no telemetry.
LOCAL_INSTANCE_CONFIG = REPO_ROOT / "deploy" / "dagster.local.yaml"
_TERMINAL = {
    BulkActionStatus.COMPLETED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
    BulkActionStatus.FAILED,
    BulkActionStatus.CANCELED,
}


def stations_for(index: int) -> list[dict]:
    """Day `index`'s fleet: `index + 1` stations gone and a few more decommissioned than the day before."""
    stations = copy.deepcopy(_BASE_STATIONS)
    del stations[index * 7 : index * 7 + index + 1]
    for station in stations[100 : 100 + 3 * index]:
        station["state"] = "DECOMMISSIONED"
    return stations


def registry_for(index: int) -> dict:
    """Day `index`'s registry: the last `index` devices gone, every 40th device re-labelled for the day."""
    registry = copy.deepcopy(_BASE_REGISTRY)
    devices = registry["ChargeDevice"]
    del devices[len(devices) - index :]
    for device in devices[index::40]:
        device["ChargeDeviceModel"] = f"Retrofit {index}"
    return registry


@contextmanager
def s3_environment(s3: LocalS3) -> Iterator[None]:
    """`s3`'s endpoint and credentials in this process's environment, for the helpers that read a lake.

    s3fs keeps one filesystem per set of arguments, with its client (endpoint included) made on first
    use; one made by an earlier module would still point at that module's stopped server. So the cache
    is cleared on the way in, and on the way out for the modules after this one.
    """
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        with environment(s3.env()):
            yield
    finally:
        s3fs.S3FileSystem.clear_instance_cache()


def pipeline_env(
    s3: LocalS3, *, econnect_url: str, ncr_url: str, data_dir: str | Path, prefix: str
) -> dict[str, str]:
    """Everything a run reads from the environment (secrets through EnvVar, S3 through boto3)."""
    return {
        **s3.env(),
        "ECONNECT_API_URL": econnect_url,
        "ECONNECT_USERNAME": USERNAME,
        "ECONNECT_PASSWORD": PASSWORD,
        "ECONNECT_BUSINESS_PARTNER": BUSINESS_PARTNER,
        "NCR_API_URL": ncr_url,
        "PIPELINE_DATA_DIR": str(data_dir),
        "PIPELINE_S3_PREFIX": prefix,
        "UK_OCPI_FEEDS": str(NO_FEEDS),  # these tests are about eConnect and the registry
    }


def daemon_env(s3: LocalS3, *, dead: str, data_dir: Path, home: Path, prefix: str) -> dict[str, str]:
    """The daemon's environment: this process's minus any pipeline settings, plus the test's."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "ECONNECT_", "NCR_"))}
    pipeline = pipeline_env(s3, econnect_url=dead, ncr_url=dead + NCR_PATH, data_dir=data_dir, prefix=prefix)
    return {**inherited, **pipeline, "DAGSTER_HOME": str(home)}


def materialise(
    env: Mapping[str, str],
    day: str,
    *,
    instance: DagsterInstance | None = None,
    selection: list[AssetKey] | None = None,
    raise_on_error: bool = False,
    http: HttpSettings = FAST,
) -> ExecuteInProcessResult:
    """The whole graph (or `selection`) for one partition, in process, with `env` applied; a failed step
    fails the result, or raises its error with `raise_on_error`. `http`: the clients' timeouts and
    retries (short ones by default, so a refused upstream fails fast)."""
    job = build_definitions(env, http=http).resolve_implicit_global_asset_job_def()
    with environment(env):
        return job.execute_in_process(
            partition_key=day,
            instance=instance or DagsterInstance.ephemeral(),
            asset_selection=selection,
            raise_on_error=raise_on_error,
        )


def metadata_by_asset(result: ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    return {
        event.asset_key.to_user_string(): {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }


@contextmanager
def refusing_endpoint() -> Iterator[str]:
    """`http://127.0.0.1:PORT` where every connection is refused at once.

    The port is bound but never listened on, so the kernel answers each SYN with a reset, and nobody
    else can take the port while the test runs (a merely closed port could be reused by another test).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def connection_refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def workbook_values(data_dir: str | Path, day: str) -> dict[str, list[list[object]]]:
    """Every cell value of every sheet of the day's eConnect workbook, by sheet name in workbook order."""
    report = DataDir(path=str(data_dir)).report_path("econnect_stations", day, ".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(report.read_bytes()), read_only=True)
    try:
        return {
            name: [list(row) for row in workbook[name].iter_rows(values_only=True)]
            for name in workbook.sheetnames
        }
    finally:
        workbook.close()


def csv_bytes(s3: LocalS3, key: str) -> bytes:
    return s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()


def files_under(root: UPath) -> dict[str, UPath]:
    """Every file (object) under `root`, local or on S3, by its path relative to `root`, in name order."""
    base = root.path.rstrip("/") + "/"
    names = sorted(key.removeprefix(base) for key in root.fs.find(root.path))
    return {name: root / name for name in names}


def tree_digest(root: UPath) -> dict[str, str]:
    """SHA-256 of every file under `root`, by relative path: proves a tree was not touched."""
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files_under(root).items()}


def write_dagster_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LOCAL_INSTANCE_CONFIG, home / "dagster.yaml")
    return home


@contextmanager
def running_daemon(env: Mapping[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """`dagster-daemon run` from the repo root (so it loads `workspace.yaml`), in its own process group.

    On exit the whole group (daemon, its code server, any run workers) gets SIGTERM, then SIGKILL.
    """
    daemon_cli = Path(sys.executable).with_name("dagster-daemon")
    with log_path.open("wb") as log:
        daemon = subprocess.Popen(
            [str(daemon_cli), "run"],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield daemon
        finally:
            _stop_group(daemon)


def _stop_group(process: subprocess.Popen) -> None:
    for sig, grace_s in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)  # the group we created: pgid == the daemon's pid
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            continue
        if not _group_alive(process.pid):
            break


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_backfill(
    instance: DagsterInstance, backfill_id: str, daemon: subprocess.Popen, *, timeout_s: float, log: Path
) -> BulkActionStatus:
    """Poll until the backfill reaches a terminal status; fail with the daemon's log if it dies or stalls."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        backfill = instance.get_backfill(backfill_id)
        if backfill is not None and backfill.status in _TERMINAL:
            return backfill.status
        if daemon.poll() is not None:
            raise AssertionError(f"dagster-daemon exited with {daemon.returncode}:\n{tail(log)}")
        time.sleep(1.0)
    status = getattr(instance.get_backfill(backfill_id), "status", None)
    raise AssertionError(f"backfill still {status} after {timeout_s:.0f}s; daemon log:\n{tail(log)}")


def tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:]


def copy_raw_days(source: str | Path, target: str | Path, days: list[str]) -> None:
    """Copy the stored raw snapshots of `days` (every source) from one lake into another, byte for byte.

    Each `raw/<source>/<day>/` is copied whole (manifest and attempt folder) into a lake that has none.
    """
    source_raw, target_raw = lake_root(str(source)) / "raw", lake_root(str(target)) / "raw"
    for day in days:
        copied = 0
        for raw_source in sorted(path.name for path in source_raw.iterdir()):
            files, copy_to = files_under(source_raw / raw_source / day), target_raw / raw_source / day
            assert not (files and copy_to.exists()), f"{copy_to} is already there"
            for name, path in files.items():
                put_bytes(copy_to / name, path.read_bytes())
            copied += len(files)
        assert copied, f"no raw snapshot of {day} is stored in {source}"


def launch_like_the_ui(instance: DagsterInstance, partition_names: list[str]) -> tuple[str, set[AssetKey]]:
    """What `launchPartitionBackfill` does for *Materialize all* over a partition range in the UI.

    dagster_graphql/implementation/execution/backfill.py: a pure asset backfill is built with
    `PartitionBackfill.from_asset_partitions` over the workspace's asset graph (loaded from
    `workspace.yaml`, as the webserver does) and stored with `instance.add_backfill`; the backfill
    daemon does everything else. Returns the backfill id and the asset keys it targets.
    """
    target = WorkspaceFileTarget(paths=[str(REPO_ROOT / "workspace.yaml")])
    with WorkspaceProcessContext(instance, target) as workspace:
        context = workspace.create_request_context()
        errors = list(context.code_location_errors())
        assert errors == [], errors
        asset_graph = context.asset_graph
        keys = set(asset_graph.materializable_asset_keys)
        timestamp = get_current_timestamp()
        backfill = PartitionBackfill.from_asset_partitions(
            backfill_id=make_new_backfill_id(),
            asset_graph=asset_graph,
            partition_names=partition_names,
            asset_selection=sorted(keys),
            backfill_timestamp=timestamp,
            tags={},
            dynamic_partitions_store=CachingInstanceQueryer(
                instance, asset_graph, context, evaluation_time=datetime_from_timestamp(timestamp)
            ),
            all_partitions=False,
            title="backfill test",
            description=None,
            run_config=None,
        )
    instance.add_backfill(backfill)
    return backfill.backfill_id, keys
