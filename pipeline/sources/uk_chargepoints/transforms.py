"""Pure pandas for the UK registry: device records in, frames and CSV text out. No Dagster, no I/O."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
from pydantic import ValidationError

from pipeline.sources.contract import reject_row, rejects_frame
from pipeline.sources.uk_chargepoints.schema import COUNT_KEYS, CSV_HEADER, ChargeDeviceRecord

DEVICE_COLUMNS = [
    "ChargeDeviceId",
    "ChargeDeviceManufacturer",
    "LocationType",
    "ChargeDeviceModel",
    "PostCode",
    "MonthUpdated",
    "DateUpdated",
]
_WHITESPACE = re.compile(r"\s+")


def normalise_postcode(raw: str | None) -> str:
    """`tw62rq`, ` tw6  2rq ` → `TW6 2RQ`: upper case, inner spaces removed, one before the last three."""
    if not raw:
        return ""
    compact = _WHITESPACE.sub("", raw).upper()
    if len(compact) <= 3:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def month_updated(raw: str | None) -> str:
    """The `YYYY-MM` part of `DateUpdated` (its first seven characters); "" when there is none."""
    return raw[:7] if raw else ""


@dataclass
class Devices:
    """The cleaned devices, the records that broke the contract, and how many had no model."""

    table: pd.DataFrame
    rejects: pd.DataFrame
    records: int
    without_model: int
    duplicates: int


def devices_from_records(records: Iterable[object]) -> Devices:
    """Validate, dedupe by `ChargeDeviceId` (last version wins) and drop devices without a model."""
    latest: dict[str, ChargeDeviceRecord] = {}
    rejects: list[tuple[str, str, str]] = []
    seen = 0
    for position, raw in enumerate(records):
        seen += 1
        try:
            record = ChargeDeviceRecord.model_validate(raw)
        except ValidationError as exc:
            rejects.append(reject_row(f"ChargeDevice[{position}]", exc, raw))
            continue
        latest[record.ChargeDeviceId] = record
    with_model = [r for r in latest.values() if r.ChargeDeviceModel and r.ChargeDeviceModel.strip()]
    table = pd.DataFrame(
        [_row(record) for record in with_model], columns=DEVICE_COLUMNS, dtype=str
    ).reset_index(drop=True)
    return Devices(
        table=table.astype(str),
        rejects=rejects_frame(rejects),
        records=seen,
        without_model=len(latest) - len(with_model),
        duplicates=seen - len(rejects) - len(latest),
    )


def _row(record: ChargeDeviceRecord) -> tuple[str, ...]:
    location = record.ChargeDeviceLocation
    address = location.Address if location else None
    return (
        record.ChargeDeviceId,
        record.ChargeDeviceManufacturer or "",
        record.LocationType or "",
        record.ChargeDeviceModel or "",
        normalise_postcode(address.PostCode if address else None),
        month_updated(record.DateUpdated),
        record.DateUpdated or "",
    )


def charger_model_counts(devices: pd.DataFrame) -> pd.DataFrame:
    """Devices per (manufacturer, location type, model, postcode, month updated), sorted by those keys."""
    keys = list(COUNT_KEYS)
    counts = devices.groupby(keys, sort=False, dropna=False).size().reset_index(name="Count")
    counts = counts.sort_values(keys, kind="stable").reset_index(drop=True)
    return counts.astype({key: str for key in keys} | {"Count": "int64"})


def counts_csv(counts: pd.DataFrame) -> bytes:
    """The downstream service's CSV: exact header, RFC 4180 quoting, UTF-8, `\\n` line ends, no index.

    No formula escaping: the consumer is a service that reads values, and a leading `'` would change
    the data it receives. Open it in a spreadsheet with care (see README).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_HEADER)
    writer.writerows(counts[list(CSV_HEADER)].itertuples(index=False, name=None))
    return buffer.getvalue().encode("utf-8")


def csv_count_total(body: bytes) -> int:
    """The sum of the `Count` column of a CSV written by `counts_csv` (read back to verify an upload)."""
    rows = csv.DictReader(io.StringIO(body.decode("utf-8"), newline=""))
    return sum(int(row["Count"]) for row in rows)


def manufacturer_history(counts_by_day: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Devices per manufacturer per day, from each stored day's `uk_charger_model_counts`."""
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
