"""The one writer of the CSVs downstream services read: counts from Arrow batches, uploaded and verified.

A CSV is written from Parquet batches (its size never sits in memory), kept in the lake as
`reports/DAY/<name>_DAY.csv`, and uploaded to the bucket at `{prefix}{day}/<file>` and, for today's
partition only, at `{prefix}<file>` (a backfilled past day never replaces what the service reads as
current). Each upload is one checksummed PUT; the asset's check reads both objects back.

No formula escaping: the consumers are services that read values, and a leading `'` would change the
data they receive (see README).
"""

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import pyarrow as pa
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
)
from upath import UPath

from pipeline.orchestration.partitions import today_key
from pipeline.resources.lake import location, writing
from pipeline.resources.storage import DataDir, S3Bucket
from pipeline.sources.declare import snapshot_asset
from pipeline.sources.quality import totals_check

BATCH_ROWS = 65_536


def write_counts_csv(batches: Iterable[pa.RecordBatch], out: TextIO, header: Sequence[str]) -> int:
    """Exact header, RFC 4180 quoting, `\\n` line ends, no index; returns the data rows written."""
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    rows = 0
    for batch in batches:
        columns = [batch.column(name).to_pylist() for name in header]
        writer.writerows(zip(*columns, strict=True))
        rows += batch.num_rows
    return rows


def csv_count_total(lines: Iterable[str], column: str = "Count") -> int:
    """The sum of `column` of CSV text written by `write_counts_csv` (to verify an upload)."""
    return sum(int(row[column]) for row in csv.DictReader(lines))


@dataclass(frozen=True)
class CountsCsv:
    """One counts CSV: its file name in the bucket, its header, the asset that uploads it, and the name
    of that asset's check that both uploaded objects' `total_column` sums to what was counted."""

    file: str  # e.g. "charger_models_UK.csv"
    header: Sequence[str]
    asset: str
    check: str
    total_column: str = "Count"

    @property
    def stem(self) -> str:
        return self.file.removesuffix(".csv")


@dataclass(frozen=True)
class Counts:
    """What a counts CSV asset uploads for a day: the rows, what they must sum to, extra metadata."""

    batches: Iterator[pa.RecordBatch]
    expected_total: int
    metadata: Mapping[str, MetadataValue] | None = None


def counts_csv_asset(
    spec: CountsCsv,
    *,
    source: str,
    dep: str,
    description: str,
    counts: Callable[[DataDir, str], Counts],
    metadata: Mapping[str, Any],
) -> AssetsDefinition:
    """The asset that uploads `spec` for a day from what `counts(data_dir, day)` gives.

    `metadata` is its catalog entry (`catalog.table`: the CSV's columns and their lineage).
    """

    @snapshot_asset(
        source=source,
        layer="report",
        name=spec.asset,
        deps=[dep],
        kinds={"s3", "csv"},
        description=description,
        metadata=metadata,
        check_specs=[
            AssetCheckSpec(
                spec.check,
                asset=spec.asset,
                description=f"Reads both uploaded objects back; each {spec.total_column} column sums to what "
                "was counted.",
            )
        ],
    )
    def upload(
        context: AssetExecutionContext, data_dir: DataDir, s3_bucket: S3Bucket
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        day = context.partition_key
        day_counts = counts(data_dir, day)
        for item in upload_counts_csv(
            spec,
            day_counts.batches,
            day=day,
            copy=data_dir.report_path(spec.stem, day, ".csv"),
            s3_bucket=s3_bucket,
            expected_total=day_counts.expected_total,
        ):
            if isinstance(item, MaterializeResult) and day_counts.metadata:
                item = MaterializeResult(metadata={**(item.metadata or {}), **day_counts.metadata})
            yield item

    return upload


def upload_counts_csv(
    spec: CountsCsv,
    batches: Iterator[pa.RecordBatch],
    *,
    day: str,
    copy: UPath,
    s3_bucket: S3Bucket,
    expected_total: int,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Write the CSV to `copy` in the lake, upload it, and check both uploaded objects' totals."""
    keys = {"dated": f"{day}/{spec.file}"}
    if day == today_key():  # a backfilled past day must not replace what the service reads as current
        keys["latest"] = spec.file
    with writing(copy) as csv_path:
        with csv_path.open("w", encoding="utf-8", newline="") as out:
            rows = write_counts_csv(batches, out, spec.header)
        uris = {
            name: s3_bucket.put_file(key, csv_path, content_type="text/csv") for name, key in keys.items()
        }
        size = csv_path.stat().st_size
    yield MaterializeResult(
        metadata={
            "uri": MetadataValue.url(uris["latest"])
            if "latest" in uris
            else MetadataValue.text("not replaced: a past day never overwrites the latest copy"),
            "dated_uri": MetadataValue.url(uris["dated"]),
            "copy": location(copy),
            "bytes": size,
            "dagster/row_count": rows,
        }
    )
    totals = {
        uris[name]: csv_count_total(s3_bucket.text_lines(key), spec.total_column)
        for name, key in keys.items()
    }
    yield totals_check(spec.asset, spec.check, totals, expected_total)
