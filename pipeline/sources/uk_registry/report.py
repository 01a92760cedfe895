"""The CSV the downstream service reads: written from Arrow batches, so its size never sits in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

import pyarrow as pa

from pipeline.sources.uk_registry.schema import CSV_HEADER


def write_counts_csv(batches: Iterable[pa.RecordBatch], out: TextIO) -> int:
    """Exact header, RFC 4180 quoting, `\\n` line ends, no index; returns the data rows written.

    No formula escaping: the consumer is a service that reads values, and a leading `'` would change
    the data it receives (see README).
    """
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_HEADER)
    rows = 0
    for batch in batches:
        columns = [batch.column(name).to_pylist() for name in CSV_HEADER]
        writer.writerows(zip(*columns, strict=True))
        rows += batch.num_rows
    return rows


def csv_count_total(lines: Iterable[str]) -> int:
    """The sum of the `Count` column of CSV text written by `write_counts_csv` (to verify an upload)."""
    return sum(int(row["Count"]) for row in csv.DictReader(lines))
