"""One function per benchmark: set up the sandbox data, run the seed way and the pipeline, return rows.

Within a scenario the seed script and the pipeline meet the same sandbox (same data, same injected
latency, same machine, one after the other), so their numbers compare directly. Each returns plain
dataclasses; ``report`` turns them into tables and checks the targets.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.orchestration.partitions import today_key
from pipeline.sandbox import Sandbox
from pipeline.sandbox.uk_ocpi import FeedSpec, OcpiSandbox
from pipeline_tests.benchmarks import excel
from pipeline_tests.benchmarks.dagster_run import (
    ECONNECT_SELECTION,
    MAX_CONCURRENCY,
    REGISTRY_SELECTION,
    REPO,
    RUN_TIMEOUT_S,
    PipelineRun,
    child_env,
    materialize,
)
from pipeline_tests.benchmarks.measure import Measurement, run_measured
from pipeline_tests.benchmarks.registry_doc import registry_bytes

LATENCY_S = 0.025
PAGE_SIZE = 100
UNUSED_SOURCE_SIZE = 100  # the other upstream of the sandbox: present, small, never called


@dataclass(frozen=True)
class EndToEnd:
    source: str
    size: int
    seed: Measurement
    pipeline: Measurement
    steps: dict[str, float]
    ok: bool


@dataclass(frozen=True)
class Fetch:
    stations: int
    pages: int
    step_s: float | None
    ceiling_s: float | None  # bare GETs at the same concurrency: the fastest this sandbox serves them

    @property
    def ideal_s(self) -> float:
        """Pages × latency ÷ concurrency: the floor a client that keeps 16 requests in flight can reach."""
        return self.pages * LATENCY_S / int(MAX_CONCURRENCY)


@dataclass(frozen=True)
class Workbook:
    stations: int
    pipeline: excel.WriterResult
    pandas: excel.WriterResult


def econnect(stations: int, workdir: Path) -> tuple[EndToEnd, Fetch]:
    """Seed script vs the econnect group's path to the workbook, ``stations`` stations at 25 ms."""
    work = Path(tempfile.mkdtemp(prefix=f"econnect-{stations}.", dir=workdir))
    with Sandbox(stations=stations, devices=UNUSED_SOURCE_SIZE, latency_s=LATENCY_S) as sandbox:
        seed = _seed("econnect", work / "seed.xlsx", sandbox.env(), work)
        run = materialize(ECONNECT_SELECTION, sandbox.env(), work)
        ceiling = _ceiling(sandbox.env(), work)
    ok = _finished(seed, run.measurement, work) and any((run.data_dir or work).rglob("*.xlsx"))
    # Every page of PAGE_SIZE stations, then the empty page that ends the paging.
    pages = math.ceil(stations / PAGE_SIZE) + 1
    fetch = Fetch(stations, pages, run.steps.get("econnect_station_pages"), ceiling)
    return EndToEnd("eConnect", stations, seed, run.measurement, run.steps, ok), fetch


@dataclass(frozen=True)
class Lake:
    stations: int
    local: PipelineRun
    s3: PipelineRun
    ok: bool


def lake(stations: int, workdir: Path) -> Lake:
    """eConnect to the workbook through the CLI with the lake on local disk, then on the sandbox's S3."""
    work = Path(tempfile.mkdtemp(prefix=f"lake-{stations}.", dir=workdir))
    with Sandbox(stations=stations, devices=UNUSED_SOURCE_SIZE, latency_s=LATENCY_S) as sandbox:
        local = materialize(ECONNECT_SELECTION, sandbox.env(), work)
        ok = _finished(None, local.measurement, work)
        on_s3 = f"s3://{sandbox.s3.bucket}/bench-lake-{stations}"
        s3 = materialize(ECONNECT_SELECTION, sandbox.env(), work, lake=on_s3)
        report = f"bench-lake-{stations}/reports/{today_key()}/econnect_stations_{today_key()}.xlsx"
        listed = sandbox.s3.client().list_objects_v2(Bucket=sandbox.s3.bucket, Prefix=report)
        ok = _finished(None, s3.measurement, work) and ok and listed.get("KeyCount") == 1
    return Lake(stations, local, s3, ok)


@dataclass(frozen=True)
class Feeds:
    feeds: int
    pages: int
    all_feeds: PipelineRun
    one_feed: PipelineRun
    ok: bool

    @property
    def fetch_s(self) -> float | None:
        """Reading every feed (the step's own `fetch_seconds`: without its event bookkeeping)."""
        value = self.all_feeds.metadata("uk_ocpi_feeds").get("fetch_seconds")
        return float(value) if isinstance(value, int | float) else None

    @property
    def one_s(self) -> float | None:
        value = self.one_feed.metadata("uk_ocpi_feeds").get("fetch_seconds")
        return float(value) if isinstance(value, int | float) else None

    @property
    def step_s(self) -> float | None:
        return self.all_feeds.steps.get("uk_ocpi_fetch")


def ocpi(feeds: int, pages: int, workdir: Path) -> Feeds:
    """The OCPI fetch step for ``feeds`` operators of ``pages`` pages each at 25 ms, then for one alone."""
    work = Path(tempfile.mkdtemp(prefix=f"ocpi-{feeds}.", dir=workdir))

    def specs(count: int) -> list[FeedSpec]:
        return [
            FeedSpec(
                f"bench_{n:03d}",
                f"Bench Operator {n}",
                "ocpi_link",
                pages * 10,
                page_size=10,
                latency_s=LATENCY_S,
            )
            for n in range(count)
        ]

    runs = []
    for count in (feeds, 1):
        with OcpiSandbox(specs(count), latency_s=LATENCY_S) as sandbox:
            env = {**sandbox.env(), "UK_OCPI_MAX_CONCURRENCY": str(feeds)}
            selection = ",".join(
                [*(f"uk_ocpi_{spec.operator}_locations" for spec in sandbox.specs), "uk_ocpi_feeds"]
            )
            runs.append(materialize(selection, env, work))
            requests = sum(len(server.requests) for server in sandbox.servers.values())
        ok = _finished(None, runs[-1].measurement, work) and requests == count * pages
    return Feeds(feeds, pages, runs[0], runs[1], ok)


def registry(devices: int, workdir: Path) -> EndToEnd:
    """Seed script vs the uk_registry group up to the CSV, on a registry of ``devices`` devices."""
    work = Path(tempfile.mkdtemp(prefix=f"registry-{devices}.", dir=workdir))
    with Sandbox(stations=UNUSED_SOURCE_SIZE, devices=UNUSED_SOURCE_SIZE, latency_s=LATENCY_S) as sandbox:
        sandbox.ncr.publish(registry_bytes(devices))
        seed = _seed("registry", work / "seed.csv", sandbox.env(), work)
        run = materialize(REGISTRY_SELECTION, sandbox.env(), work)
    ok = _finished(seed, run.measurement, work)
    return EndToEnd("UK registry", devices, seed, run.measurement, run.steps, ok)


def workbook(stations: int, workdir: Path) -> Workbook:
    """The workbook writers alone on the same frames."""
    frames = excel.station_frames(stations)
    return Workbook(
        stations,
        pipeline=excel.pipeline_writer(frames, workdir / "pipeline.xlsx"),
        pandas=excel.pandas_openpyxl_writer(frames, workdir / "pandas.xlsx"),
    )


def demo(workdir: Path) -> Measurement:
    """The whole graph (``--select '*'``) on the default demo data, no injected latency."""
    work = Path(tempfile.mkdtemp(prefix="demo.", dir=workdir))
    with Sandbox() as sandbox:
        run = materialize("*", sandbox.env(), work).measurement
    _finished(None, run, work)
    return run


def _seed(source: str, out: Path, sandbox_env: dict[str, str], work: Path) -> Measurement:
    argv = [sys.executable, "-m", "pipeline_tests.benchmarks.seed_way", source, str(out)]
    return run_measured(
        argv, env=child_env(sandbox_env), cwd=REPO, log=work / "seed.log", timeout_s=RUN_TIMEOUT_S
    )


def _ceiling(sandbox_env: dict[str, str], work: Path) -> float | None:
    """Seconds ``ceiling`` needs for every page; None if it failed (its output is then in ceiling.log)."""
    result = work / "ceiling.txt"
    env = {**child_env(sandbox_env), "ECONNECT_MAX_CONCURRENCY": MAX_CONCURRENCY}
    argv = [sys.executable, "-m", "pipeline_tests.benchmarks.ceiling", str(result)]
    with (work / "ceiling.log").open("wb") as log:
        try:
            done = subprocess.run(argv, cwd=REPO, env=env, stdout=log, stderr=log, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None
    return float(result.read_text()) if done.returncode == 0 else None


def _finished(seed: Measurement | None, pipeline: Measurement, work: Path) -> bool:
    """Whether both runs exited 0; if not, the end of the failed one's log goes to stderr.

    The logs live in a temporary directory that is gone when the benchmark ends, and a failed run's
    numbers mean nothing without its reason.
    """
    failed = [(name, m) for name, m in (("seed", seed), ("dagster", pipeline)) if m and m.returncode]
    for name, measurement in failed:
        tail = (work / f"{name}.log").read_text(errors="replace").splitlines()[-25:]
        print(f"{name} run in {work} exited {measurement.returncode}:", *tail, sep="\n", file=sys.stderr)
    return not failed
