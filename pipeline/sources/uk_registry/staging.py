"""Arrow plumbing for a registry of any size: stage, dedupe and write without a DataFrame of it all.

Memory is bounded by one batch of devices plus one id column (Arrow, not Python objects), so a registry
ten times larger costs little more than the ids it adds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from pipeline.resources.files import atomic_path
from pipeline.resources.lake import writing
from pipeline.resources.metadata import PREVIEW_ROWS, markdown_table
from pipeline.sources.contract import validate_arrow
from pipeline.sources.uk_registry import transforms
from pipeline.sources.uk_registry.raw import DeviceChunk
from pipeline.sources.uk_registry.schema import ChargeDevices


@dataclass
class CleanedDevices:
    """What cleaning one registry snapshot found."""

    records: int = 0  # elements of ChargeDevice
    staged: int = 0  # records that met the contract
    latest: int = 0  # distinct device ids among them
    rows: int = 0  # latest versions with a model: the table
    rejects: list[tuple[str, str, str]] = field(default_factory=list)
    preview: str = "_(empty)_"

    @property
    def without_model(self) -> int:
        return self.latest - self.rows

    @property
    def duplicates(self) -> int:
        return self.staged - self.latest


def clean_devices_to(target: Path, chunks: Iterable[DeviceChunk]) -> CleanedDevices:
    """Keep each id's last version if it has a model, from decoded `chunks` (`raw.device_chunks`).

    The table is written to `target`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    result = CleanedDevices()
    with tempfile.TemporaryDirectory(prefix=f".{target.stem}.", dir=target.parent) as scratch:
        # Arrow's IPC format, uncompressed: read back a batch at a time at disk speed. (Reading the id
        # column of a Parquet file back cost 60-90 MB more memory at a million devices.)
        staging = Path(scratch) / "staged.arrow"
        with pa.OSFile(str(staging), "wb") as sink, pa.ipc.new_file(sink, transforms.DEVICE_SCHEMA) as writer:
            hashed = []
            for batch in transforms.device_batches(chunks):
                writer.write_batch(batch.rows)
                hashed.append((batch.hashes, batch.rows["position"].to_numpy()))
                result.records += batch.records
                result.staged += batch.rows.num_rows
                result.rejects.extend(batch.rejects)
        mask = transforms.latest_mask(lambda: _id_batches(staging), result.records, hashed=hashed)
        del hashed
        pa.default_memory_pool().release_unused()  # hand the staging pass's buffers back to the OS
        result.latest = int(mask.sum())
        with atomic_path(target) as tmp, pq.ParquetWriter(tmp, _table_schema()) as writer:
            for batch in _staged(staging):
                kept = transforms.keep_latest_with_model(batch, mask)
                validate_arrow(kept, ChargeDevices, where=f"{target.name}, rows from {result.rows}")
                writer.write_table(kept)
                if result.rows == 0 and kept.num_rows:
                    result.preview = markdown_table(kept.slice(0, PREVIEW_ROWS).to_pandas())
                result.rows += kept.num_rows
    return result


def _staged(staging: Path) -> Iterator[pa.RecordBatch]:
    with pa.OSFile(str(staging)) as source:
        reader = pa.ipc.open_file(source)
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index)


def _id_batches(staging: Path) -> Iterator[tuple[pa.Array, pa.Array]]:
    for batch in _staged(staging):
        yield batch["ChargeDeviceId"], batch["position"]


def distinct_ids(table_path: Path) -> tuple[int, int]:
    """(rows, distinct ChargeDeviceIds) of a written devices table, without a Python object per id."""
    rows = pq.ParquetFile(table_path).metadata.num_rows

    def batches() -> Iterator[tuple[pa.Array, pa.Array]]:
        start = 0
        for batch in pq.ParquetFile(table_path).iter_batches(
            batch_size=transforms.BATCH_ROWS, columns=["ChargeDeviceId"]
        ):
            yield batch["ChargeDeviceId"], pa.array(range(start, start + batch.num_rows))
            start += batch.num_rows

    return rows, int(transforms.latest_mask(batches, rows).sum())


def _table_schema() -> pa.Schema:
    return pa.schema([transforms.DEVICE_SCHEMA.field(name) for name in transforms.DEVICE_COLUMNS])


def write_table(path: UPath, table: pa.Table) -> None:
    """One Parquet file in the lake, replaced whole."""
    with writing(path) as tmp:
        pq.write_table(table, tmp)
