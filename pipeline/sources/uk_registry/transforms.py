"""Pure transforms for the UK registry: device records in, Arrow tables and frames out. No Dagster, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.resources.json_array import Invalid
from pipeline.sources.contract import invalid_row
from pipeline.sources.uk import month_updated, normalise_postcode
from pipeline.sources.uk_registry.raw import DeviceChunk
from pipeline.sources.uk_registry.schema import COUNT_KEYS, ChargeDeviceRecord

DEVICE_COLUMNS = [
    "ChargeDeviceId",
    "ChargeDeviceManufacturer",
    "LocationType",
    "ChargeDeviceModel",
    "PostCode",
    "MonthUpdated",
    "DateUpdated",
]


DEVICE_SCHEMA = pa.schema(
    [(name, pa.string()) for name in DEVICE_COLUMNS] + [("position", pa.int64()), ("has_model", pa.bool_())]
)
BATCH_ROWS = 50_000


@dataclass
class DeviceBatch:
    """Up to BATCH_ROWS validated devices (with and without a model) and the rejects met on the way."""

    rows: pa.RecordBatch
    rejects: list[tuple[str, str, str]]
    records: int
    hashes: np.ndarray  # hash(ChargeDeviceId) per row, for `latest_mask`


def device_batches(chunks: Iterable[DeviceChunk], *, batch_rows: int = BATCH_ROWS) -> Iterator[DeviceBatch]:
    """Hand decoded records on in Arrow batches of about `batch_rows`, so memory stays flat.

    `position` is the record's index in `ChargeDevice`: the last position of an id is its latest version.
    """
    records: list[ChargeDeviceRecord] = []
    positions: list[int] = []
    rejects: list[tuple[str, str, str]] = []
    seen = position = 0
    for chunk in chunks:
        if not any([type(item) is Invalid for item in chunk]):  # the usual chunk: all valid
            records.extend(chunk)  # type: ignore[arg-type]
            positions.extend(range(position, position + len(chunk)))
            position += len(chunk)
        else:
            for item in chunk:
                if isinstance(item, Invalid):
                    rejects.append(invalid_row(f"ChargeDevice[{position}]", item))
                else:
                    records.append(item)
                    positions.append(position)
                position += 1
        seen += len(chunk)
        if len(records) >= batch_rows:
            yield DeviceBatch(_batch(records, positions), rejects, seen, _hashes(records))
            records, positions, rejects, seen = [], [], [], 0
    if records or rejects or seen:
        yield DeviceBatch(_batch(records, positions), rejects, seen, _hashes(records))


def _hashes(records: list[ChargeDeviceRecord]) -> np.ndarray:
    return np.fromiter((hash(r.ChargeDeviceId) for r in records), dtype=np.int64, count=len(records))


def _batch(records: list[ChargeDeviceRecord], positions: list[int]) -> pa.RecordBatch:
    """Columns by list comprehension (no object per row beyond the records); postcodes per distinct value."""
    models = [r.ChargeDeviceModel or "" for r in records]
    dates = [r.DateUpdated or "" for r in records]
    addresses = [r.ChargeDeviceLocation.Address if r.ChargeDeviceLocation else None for r in records]
    postcodes = pa.array([a.PostCode if a else None for a in addresses], type=pa.string()).dictionary_encode()
    normalised = pa.array([normalise_postcode(p) for p in postcodes.dictionary.to_pylist()], type=pa.string())
    columns = [
        pa.array([r.ChargeDeviceId for r in records], type=pa.string()),
        pa.array([r.ChargeDeviceManufacturer or "" for r in records], type=pa.string()),
        pa.array([r.LocationType or "" for r in records], type=pa.string()),
        pa.array(models, type=pa.string()),
        pc.fill_null(normalised.take(postcodes.indices), ""),
        pa.array([month_updated(d) for d in dates], type=pa.string()),
        pa.array(dates, type=pa.string()),
        pa.array(positions, type=pa.int64()),
        pa.array([bool(m.strip()) for m in models], type=pa.bool_()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=DEVICE_SCHEMA)


IdBatches = Callable[[], Iterable[tuple[pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray]]]
Hashed = Iterable[tuple[np.ndarray, np.ndarray]]


def latest_mask(id_batches: IdBatches, records: int, *, hashed: Hashed | None = None) -> np.ndarray:
    """A boolean per record position: True where that position holds the latest version of its id.

    Grouping a million string ids costs hundreds of MB, so ids are grouped by a 64-bit hash (8 bytes
    each, numpy) instead. Only positions whose hash is shared — real duplicates and, very rarely, hash
    collisions — are then compared by their actual ids, in a second pass over the (few) suspects.
    `id_batches()` yields `(ids, positions)` batches and is called once per pass. `hashed`, when given,
    holds `(hashes, positions)` already computed (while staging), and spares the first pass: reading a
    million ids back costs more memory than anything else here.
    """
    hashes = np.zeros(records, dtype=np.int64)
    present = np.zeros(records, dtype=bool)
    if hashed is None:
        hashed = (
            (np.fromiter((hash(v) for v in ids.to_pylist()), dtype=np.int64, count=len(ids)), at.to_numpy())
            for ids, at in id_batches()
        )
    for values, at in hashed:
        hashes[at] = values
        present[at] = True
    mask = np.zeros(records, dtype=bool)
    # Intermediates are dropped as soon as they are used: at a million records each is 4-8 MB.
    staged = np.flatnonzero(present).astype(np.int32 if records < 2**31 else np.int64)
    del present
    if len(staged) == 0:
        return mask
    by_hash = hashes[staged]
    del hashes
    order = np.argsort(by_hash, kind="stable")  # by hash, then by position (`staged` is ascending)
    by_hash, position = by_hash[order], staged[order]
    del order, staged
    boundary = by_hash[1:] != by_hash[:-1]
    del by_hash
    starts, ends = np.r_[True, boundary], np.r_[boundary, True]
    del boundary
    mask[position[ends]] = True
    suspects = np.sort(position[~(starts & ends)])  # members of hash groups with more than one position
    del position, starts, ends
    if len(suspects):
        mask[suspects] = False
        latest: dict[str, int] = {}
        for ids, positions in id_batches():
            at = positions.to_numpy()
            hit = np.isin(at, suspects)
            for value, pos in zip(np.asarray(ids.to_pylist(), dtype=object)[hit], at[hit], strict=True):
                latest[value] = max(latest.get(value, -1), int(pos))
        mask[list(latest.values())] = True
    return mask


def keep_latest_with_model(batch: pa.RecordBatch | pa.Table, mask: np.ndarray) -> pa.Table:
    """The rows of `batch` that are their id's latest version and have a model, without helper columns."""
    latest = pa.array(mask[batch["position"].to_numpy()])
    kept = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    kept = kept.filter(pc.and_(latest, kept["has_model"]))
    return kept.select(DEVICE_COLUMNS)


def charger_model_counts(devices: pa.Table) -> pa.Table:
    """Devices per (manufacturer, location type, model, postcode, month updated), sorted by those keys.

    Arrow all the way: a million devices are counted without a Python object per device.
    """
    keys = list(COUNT_KEYS)
    # Row groups written batch by batch carry their own dictionaries; grouping needs one per column.
    table = devices.select(keys).unify_dictionaries()
    grouped = table.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    counts = grouped.select([*keys, "count_all"]).rename_columns([*keys, "Count"])
    # Keys may arrive dictionary-encoded (cheap to group); plain strings are needed to sort.
    counts = counts.cast(pa.schema([*((key, pa.string()) for key in keys), ("Count", pa.int64())]))
    return counts.take(pc.sort_indices(counts, sort_keys=[(key, "ascending") for key in keys]))


def manufacturer_history(counts_by_day: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Devices per manufacturer per day, from each stored day's `uk_registry_model_counts`."""
    parts = [
        counts.groupby("ChargeDeviceManufacturer", sort=False)["Count"]
        .sum()
        .rename("devices")
        .reset_index()
        .assign(day=day)
        for day, counts in sorted(counts_by_day.items())
    ]
    columns: dict[str, str] = {"day": "str", "ChargeDeviceManufacturer": "str", "devices": "int64"}
    if not parts:
        return pd.DataFrame({name: [] for name in columns}).astype(columns)
    history = pd.concat(parts, ignore_index=True)[list(columns)]
    return (
        history.sort_values(["day", "ChargeDeviceManufacturer"], kind="stable")
        .reset_index(drop=True)
        .astype(columns)
    )


def week_over_week(
    history: pd.DataFrame, *, key: str, value: str, day: str, week_before: str
) -> pd.DataFrame:
    """`value` per `key` on `week_before` and `day`, and the change; a key missing on a day counts 0."""
    wide = history[history["day"].isin([week_before, day])].pivot_table(
        index=key, columns="day", values=value, aggfunc="sum", fill_value=0
    )
    result = pd.DataFrame(
        {
            key: wide.index.astype(str),
            "week_before": wide[week_before].to_numpy() if week_before in wide else 0,
            "today": wide[day].to_numpy() if day in wide else 0,
        }
    )
    result["change"] = result["today"] - result["week_before"]
    return (
        result.sort_values([key], kind="stable")
        .reset_index(drop=True)
        .astype({key: str, "week_before": "int64", "today": "int64", "change": "int64"})
    )
