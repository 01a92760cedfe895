"""Pure pandas for eConnect: pages of records in, frames out. No Dagster, no network, no files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import pandas as pd
from pydantic import ValidationError

from pipeline.sources.contract import reject_row, rejects_frame
from pipeline.sources.econnect.schema import REPORT_FIELDS, StationRecord

STATION_COLUMNS = ["id", "modelInfo", "installDate", "installDate_raw", "type", "state", "page"]


@lru_cache(maxsize=65_536)
def parse_install_date(raw: str | None) -> datetime | None:
    """ISO 8601 (date only, `Z`, `+02:00`, fractional seconds, no offset) to an aware UTC datetime.

    A value without an offset is taken as UTC. Anything unparseable gives None: the station keeps its
    place in every count, only its date is empty.
    """
    if not raw or not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass
class CleanStations:
    """The cleaned stations, the records that broke the contract, and how many records there were."""

    table: pd.DataFrame
    rejects: pd.DataFrame
    records: int

    @property
    def duplicates(self) -> int:
        return self.records - len(self.rejects) - len(self.table)


def stations_from_pages(pages: Iterable[tuple[int, Sequence[object]]]) -> CleanStations:
    """Validate and dedupe records from `(page number, content)` pairs.

    A station id seen on two pages (data changed while paging) is kept once, with the values from the
    later page. Missing or null text fields become "".
    """
    kept: dict[str, tuple[int, StationRecord]] = {}
    rejects: list[tuple[str, str, str]] = []
    records = 0
    for page_number, content in pages:
        records += len(content)
        for position, raw in enumerate(content):
            try:
                record = StationRecord.model_validate(raw)
            except ValidationError as exc:
                rejects.append(reject_row(f"page {page_number}, item {position}", exc, raw))
                continue
            station_id = str(record.id)
            kept.pop(station_id, None)  # re-insert so the table follows the order of the latest sighting
            kept[station_id] = (page_number, record)
    return CleanStations(table=_stations_frame(kept), rejects=rejects_frame(rejects), records=records)


def _stations_frame(kept: dict[str, tuple[int, StationRecord]]) -> pd.DataFrame:
    records = [record for _, record in kept.values()]
    frame = pd.DataFrame(
        {
            "id": pd.Series(list(kept), dtype=str),
            "modelInfo": pd.Series([r.modelInfo or "" for r in records], dtype=str),
            "installDate": pd.Series(
                [parse_install_date(r.installDate) for r in records], dtype="datetime64[ns, UTC]"
            ),
            "installDate_raw": pd.Series([r.installDate or "" for r in records], dtype=str),
            "type": pd.Series([r.type or "" for r in records], dtype=str),
            "state": pd.Series([r.state or "" for r in records], dtype=str),
            "page": pd.Series([page for page, _ in kept.values()], dtype="int64"),
        },
        columns=STATION_COLUMNS,
    )
    return frame


def format_instant(value: pd.Timestamp | None) -> str:
    """ISO 8601 in UTC with a `Z`, microseconds only when present; "" for a missing date."""
    if value is None or pd.isna(value):
        return ""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def station_counts(stations: pd.DataFrame) -> pd.DataFrame:
    """Stations per value of each report field, most common first, ties by value.

    Long format (`field`, `value`, `count`) so one table holds all four; every field's counts sum to
    the number of stations because a missing value is counted as "".
    """
    parts = []
    for field in REPORT_FIELDS:
        values = stations[field]
        if field == "installDate":
            values = values.map(format_instant)
        counts = values.value_counts(sort=False).rename_axis("value").reset_index(name="count")
        counts = counts.sort_values(["count", "value"], ascending=[False, True], kind="stable")
        counts.insert(0, "field", field)
        parts.append(counts)
    result = pd.concat(parts, ignore_index=True)
    return result.astype({"field": str, "value": str, "count": "int64"})


def state_by_model(stations: pd.DataFrame) -> pd.DataFrame:
    """Model × state → number of stations (every station counts, whatever its install date)."""
    pivot = pd.crosstab(stations["modelInfo"], stations["state"]).astype("int64")
    pivot = pivot.sort_index(axis=0).sort_index(axis=1)
    pivot.index.name = "modelInfo"
    pivot.columns.name = None
    return pivot


def state_history(state_counts_by_day: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stations per state per day, from each stored day's `econnect_station_counts` (state rows)."""
    parts = [
        counts.loc[counts["field"] == "state", ["value", "count"]].assign(day=day)
        for day, counts in sorted(state_counts_by_day.items())
    ]
    if not parts:
        return pd.DataFrame({"day": [], "state": [], "stations": []}).astype(
            {"day": str, "state": str, "stations": "int64"}
        )
    history = pd.concat(parts, ignore_index=True).rename(columns={"value": "state", "count": "stations"})
    history = history[["day", "state", "stations"]].sort_values(["day", "state"], kind="stable")
    return history.reset_index(drop=True).astype({"day": str, "state": str, "stations": "int64"})


NEW, GONE = "(new)", "(gone)"


def model_state_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per model, how many stations moved from one state to another between two snapshots.

    Stations only in `after` come `(new)`; stations only in `before` are `(gone)`. The model is the
    one in `after` (or `before` for gone stations). Unchanged stations are not listed.
    """
    joined = before[["id", "modelInfo", "state"]].merge(
        after[["id", "modelInfo", "state"]], on="id", how="outer", suffixes=("_before", "_after")
    )
    changes = pd.DataFrame(
        {
            "modelInfo": joined["modelInfo_after"].fillna(joined["modelInfo_before"]).astype(str),
            "from_state": joined["state_before"].fillna(NEW).astype(str),
            "to_state": joined["state_after"].fillna(GONE).astype(str),
        }
    )
    changes = changes[changes["from_state"] != changes["to_state"]]
    counted = changes.value_counts().rename("stations").reset_index()
    counted = counted.sort_values(["modelInfo", "from_state", "to_state"], kind="stable").reset_index(
        drop=True
    )
    return counted.astype({"modelInfo": str, "from_state": str, "to_state": str, "stations": "int64"})


def state_history_wide(history: pd.DataFrame) -> pd.DataFrame:
    """`state_history` as one row per day and one column per state (0 where a state had none)."""
    wide = history.pivot_table(index="day", columns="state", values="stations", aggfunc="sum", fill_value=0)
    wide.columns.name = None
    return wide.astype("int64")
