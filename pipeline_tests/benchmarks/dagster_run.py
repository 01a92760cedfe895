"""The pipeline's way: the production CLI command, run as a subprocess against the sandbox.

Exactly what an operator runs (``dagster asset materialize -m pipeline.definitions ...``), so start-up,
definition loading, the step subprocesses and the IO manager are all inside the measured wall time and
memory, as they are in production. Each run gets its own data directory and Dagster instance, so no run
reuses another's snapshot or history.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.orchestration.partitions import today_key
from pipeline_tests.benchmarks.measure import Measurement, run_measured

REPO = Path(__file__).resolve().parents[2]
ECONNECT_SELECTION = ",".join(
    [
        "econnect_station_pages",
        "econnect_stations",
        "econnect_station_rejects",
        "econnect_station_counts",
        "econnect_state_by_model",
        "econnect_state_history",
        "econnect_model_state_changes",
        "econnect_station_report",
    ]
)
REGISTRY_SELECTION = ",".join(
    [
        "uk_registry_snapshot",
        "uk_registry_devices",
        "uk_registry_device_rejects",
        "uk_registry_model_counts",
        "uk_registry_models_csv",
    ]
)
MAX_CONCURRENCY = "16"
RUN_TIMEOUT_S = 900


@dataclass(frozen=True)
class PipelineRun:
    """One measured CLI run, where it left its outputs, and Dagster's own timing of its steps."""

    measurement: Measurement
    data_dir: Path | None  # None when the lake was on S3
    steps: dict[str, float]
    home: Path  # the run's Dagster instance, to read what the run recorded

    def metadata(self, asset: str) -> dict[str, object]:
        """The latest materialisation metadata of `asset` in this run's instance, as plain values."""
        from dagster import AssetKey, DagsterInstance

        instance = DagsterInstance.from_config(str(self.home))
        try:
            records = instance.fetch_materializations(AssetKey(asset), limit=1).records
            event = records[0].asset_materialization if records else None
            return {k: v.value for k, v in event.metadata.items()} if event else {}
        finally:
            instance.dispose()


def materialize(
    selection: str, sandbox_env: dict[str, str], workdir: Path, *, lake: str | None = None
) -> PipelineRun:
    """``dagster asset materialize`` of ``selection`` for today's partition, on a fresh instance.

    The lake is a fresh local directory, or ``lake`` (an ``s3://`` URL) when given.
    """
    home = Path(tempfile.mkdtemp(prefix="dagster_home.", dir=workdir))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    data_dir = None if lake else Path(tempfile.mkdtemp(prefix="data.", dir=workdir))
    env = {
        **child_env(sandbox_env),
        "PIPELINE_DATA_DIR": lake or str(data_dir),
        "PIPELINE_S3_PREFIX": "bench/",
        "DAGSTER_HOME": str(home),
        # Pages in flight for the eConnect client (its default is 4); the fetch target assumes 16.
        "ECONNECT_MAX_CONCURRENCY": MAX_CONCURRENCY,
    }
    partition = today_key()
    argv = [
        str(Path(sys.executable).with_name("dagster")),
        *("asset", "materialize", "-m", "pipeline.definitions"),
        *("--select", selection, "--partition", partition),
    ]
    measurement = run_measured(argv, env=env, cwd=REPO, log=workdir / "dagster.log", timeout_s=RUN_TIMEOUT_S)
    return PipelineRun(measurement, data_dir, step_durations(home), home)


def child_env(sandbox_env: dict[str, str]) -> dict[str, str]:
    """This environment plus the sandbox's, importing ``pipeline`` from the tree this file is in.

    PYTHONPATH wins over the virtualenv's editable install, so a benchmark copied into an exported
    commit (see docs/performance.md) measures that commit's pipeline, not the working tree's.
    """
    return {**os.environ, **sandbox_env, "PYTHONPATH": str(REPO)}


def step_durations(dagster_home: Path) -> dict[str, float]:
    """Seconds per step of the instance's latest run, as Dagster itself timed them (steps that ran)."""
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        records = instance.get_run_records(limit=1)
        if not records:
            return {}
        stats = instance.get_run_step_stats(records[0].dagster_run.run_id)
        return {
            stat.step_key: stat.end_time - stat.start_time
            for stat in stats
            if stat.start_time is not None and stat.end_time is not None
        }
    finally:
        instance.dispose()
