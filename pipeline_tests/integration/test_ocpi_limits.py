"""Feeds nobody controls, through the whole graph (issue 19): a feed over its day's byte limit, a gzip bomb
and a Link to another origin each fail alone, naming what stopped them, and leave nothing of their day in
the lake; a feed that passed its limit on a later run of the day keeps the complete snapshot it had,
byte for byte, and the others are read as usual."""

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance
from dagster._core.execution.execute_in_process_result import ExecuteInProcessResult

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline.resources.http import HttpSettings
from pipeline.resources.storage import DataDir
from pipeline.sandbox.uk_ocpi import FeedSpec, Hostile, OcpiSandbox

PARTITION = today_key()
FAST = HttpSettings(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02)
SPECS = (
    FeedSpec("small", "Small Ltd", "ocpi_link", 10, page_size=10),
    FeedSpec("large", "Large Ltd", "ocpi_link", 40, page_size=10),
    FeedSpec(
        "bomb", "Bomb Ltd", "ocpi_link", 20, page_size=10, hostile=Hostile("gzip_bomb", bomb_bytes=8 << 20)
    ),
    FeedSpec("elsewhere", "Elsewhere Ltd", "ocpi_link", 20, page_size=10, hostile=Hostile("link_elsewhere")),
)


@dataclass
class Ran:
    result: ExecuteInProcessResult
    status: pd.DataFrame  # the day's uk_ocpi_feeds, by operator

    def row(self, operator: str) -> dict:
        return self.status.loc[operator].to_dict()


@pytest.fixture(scope="module")
def feeds():
    with OcpiSandbox(SPECS, seed=19) as running:
        yield running


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


def run(feeds, data_dir: Path, **limits: str) -> Ran:
    env = {
        **feeds.env(),
        "PIPELINE_DATA_DIR": str(data_dir),
        "UK_OCPI_MAX_PAGE_BYTES": str(1 << 20),
        **limits,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        defs = build_definitions(env, http=FAST)
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(partition_key=PARTITION, instance=DagsterInstance.ephemeral())
    assert result.success
    path = DataDir(path=str(data_dir)).table_path("uk_ocpi_feeds", PARTITION)
    return Ran(result, pd.read_parquet(io.BytesIO(path.read_bytes())).set_index("operator"))


def day_files(data_dir: Path, operator: str) -> dict[str, bytes]:
    """Every file of the feed's raw day, by path below the day's folder."""
    day = data_dir / "raw" / "uk_ocpi" / operator / PARTITION
    return {str(p.relative_to(day)): p.read_bytes() for p in sorted(day.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first(feeds, data_dir) -> Ran:
    return run(feeds, data_dir)


@pytest.fixture(scope="module")
def kept(first, data_dir) -> dict[str, dict[str, bytes]]:
    """The raw days the first run stored, before the second one."""
    return {operator: day_files(data_dir, operator) for operator in ("small", "large", "bomb", "elsewhere")}


@pytest.fixture(scope="module")
def second(feeds, data_dir, first, kept) -> Ran:
    """The same day again, with a day's limit the large feed passes and the small one does not."""
    small = sum(n for name, n in _sizes(kept["small"]).items() if name != "_snapshot.json")
    return run(feeds, data_dir, UK_OCPI_MAX_BYTES=str(small + 100))


def _sizes(files: dict[str, bytes]) -> dict[str, int]:
    return {name.rpartition("/")[2]: len(data) for name, data in files.items()}


def test_the_first_run_reads_the_well_behaved_feeds_and_keeps_nothing_of_the_hostile_ones(first, feeds, kept):
    assert {op: first.row(op)["status"] for op in first.status.index} == {
        "small": "fetched",
        "large": "fetched",
        "bomb": "failed",
        "elsewhere": "failed",
    }
    assert (first.row("small")["records"], first.row("large")["records"]) == (10, 40)
    bomb = feeds.servers["bomb"].url
    assert first.row("bomb")["error"].startswith(
        f"TooLarge: feed bomb, page 1 of {bomb}?offset=10&limit=10 passed its limit of 1048576 bytes (1 MiB, "
        "UK_OCPI_MAX_PAGE_BYTES): stopped after "
    )
    mirror = feeds.mirrors["elsewhere"]
    assert first.row("elsewhere")["error"].startswith(
        f"OriginRefused: Feed elsewhere: the next page after page 0: {mirror.url}?offset=10&limit=10 is on "
        f"{mirror.base_url}, not {feeds.servers['elsewhere'].base_url} (nor a host follow_hosts of feed "
        "elsewhere in the feed list names); not requested."
    )
    assert mirror.requests == []
    assert (kept["bomb"], kept["elsewhere"]) == ({}, {})  # not even the first page of either
    assert not first.row("bomb")["included"] and not first.row("elsewhere")["included"]


def test_a_feed_over_its_days_limit_keeps_the_days_complete_snapshot_as_it_was(second, kept, data_dir, feeds):
    assert second.row("small")["status"] == "fetched" and second.row("large")["status"] == "failed"
    error = second.row("large")["error"]
    assert error.startswith(
        f"TooLarge: feed large, page 1 of {feeds.servers['large'].url}?offset=10&limit=10: the day's "
        "download of feed large passed its limit of "
    )
    assert "UK_OCPI_MAX_BYTES" in error and "kept nothing of it" in error
    assert day_files(data_dir, "large") == kept["large"]  # the earlier snapshot, byte for byte, no leftovers
    assert second.row("large")["included"] and second.row("large")["records"] == 40
    assert day_files(data_dir, "small") != kept["small"]  # replaced by the second run's snapshot
    assert (day_files(data_dir, "bomb"), day_files(data_dir, "elsewhere")) == ({}, {})
