"""Pure pandas for eConnect: pages of records in, frames out. No Dagster, no network, no files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from pipeline.sources.contract import reject_row, rejects_frame
from pipeline.sources.econnect.schema import REPORT_FIELDS, StationRecord

STATION_COLUMNS = ["id", "modelInfo", "installDate", "installDate_raw", "type", "state", "page"]


_EARLIEST = pd.Timestamp.min.ceil("us").tz_localize(UTC).to_pydatetime()
_LATEST = pd.Timestamp.max.floor("us").tz_localize(UTC).to_pydatetime()


@lru_cache(maxsize=65_536)
def parse_install_date(raw: str | None) -> datetime | None:
    """ISO 8601 (date only, `Z`, `+02:00`, fractional seconds, no offset) to an aware UTC datetime.

    A value without an offset is taken as UTC. Anything unparseable, or outside what a timestamp holds
    (about 1677 to 2262), gives None: the station keeps its place in every count, only its date is
    empty, and its raw text stays in `installDate_raw`.
    """
    if not raw or not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
        instant = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if not _EARLIEST <= instant <= _LATEST:
        return None
    return instant


@dataclass
class CleanStations:
    """The cleaned stations, the records that broke the contract, and how many records there were."""

    table: pd.DataFrame
    rejects: pd.DataFrame
    records: int

    @property
    def duplicates(self) -> int:
        return self.records - len(self.rejects) - len(self.table)


def stations_from_pages(pages: Iterable[tuple[int, Sequence[object] | bytes]]) -> CleanStations:
    """Validate and dedupe records from `(page number, content)` pairs; content is the page's records,
    or the page body exactly as the API sent it (parsed and validated in one step, which never builds
    Python objects for the fields the report does not use).

    A station id seen on two pages (data changed while paging) is kept once, with the values from the
    later page. Missing or null text fields become "".
    """
    columns: dict[str, list[object]] = {name: [] for name in (*_TEXT_FIELDS, "page")}
    rejects: list[tuple[str, str, str]] = []
    records = 0
    for page_number, content in pages:
        valid, received = _valid_records(page_number, content, rejects)
        records += received
        columns["id"] += [str(record.id) for record in valid]
        columns["modelInfo"] += [record.modelInfo or "" for record in valid]
        columns["installDate"] += [record.installDate or "" for record in valid]
        columns["type"] += [record.type or "" for record in valid]
        columns["state"] += [record.state or "" for record in valid]
        columns["page"] += [page_number] * len(valid)
    return CleanStations(table=_stations_frame(columns), rejects=rejects_frame(rejects), records=records)


_TEXT_FIELDS = ("id", "modelInfo", "installDate", "type", "state")


class _Station(msgspec.Struct, gc=False):
    """`StationRecord` as msgspec decodes it straight from a page's bytes: the same fields and rules
    (strict: a number is not a text, a bool not a number; unknown fields ignored), without a Python
    object for the fields the report does not use, and without the garbage collector tracking 200,000
    of them. A test holds the two to the same fields; a page this rejects is checked again, record by
    record, with `StationRecord`, which says which record broke the contract and why."""

    id: str | int
    modelInfo: str | None = None
    installDate: str | None = None
    type: str | None = None
    state: str | None = None


class _PageBody(msgspec.Struct, gc=False):
    content: list[_Station]


_BODY = msgspec.json.Decoder(_PageBody)


def _valid_records(
    page_number: int, content: Sequence[object] | bytes, rejects: list[tuple[str, str, str]]
) -> tuple[list[_Station], int]:
    """(valid records, records received). A whole page is decoded and checked in one call (msgspec);
    only a page with a bad record is gone through record by record, to keep the good ones and say
    which one was bad and why."""
    try:
        if isinstance(content, bytes):
            valid = _BODY.decode(content).content
        else:
            valid = msgspec.convert(content, list[_Station], strict=True)
        return valid, len(valid)
    except msgspec.ValidationError:
        pass
    items = json.loads(content)["content"] if isinstance(content, bytes) else content
    valid = []
    for position, raw in enumerate(items):
        try:
            valid.append(_Station(**StationRecord.model_validate(raw).model_dump()))
        except ValidationError as exc:
            rejects.append(reject_row(f"page {page_number}, item {position}", exc, raw))
    return valid, len(items)


def _stations_frame(columns: dict[str, list[object]]) -> pd.DataFrame:
    """The table, each id once (its latest sighting, in the order of the latest sightings)."""
    arrays = {name: np.asarray(values, dtype=object) for name, values in columns.items()}
    latest = ~pd.Series(arrays["id"], copy=False).duplicated(keep="last").to_numpy()
    if not latest.all():
        arrays = {name: values[latest] for name, values in arrays.items()}
    # Every text value is a str already ("" for none): object columns need no conversion.
    text = {name: pd.Series(arrays[name], dtype=object, copy=False) for name in _TEXT_FIELDS}
    frame = pd.DataFrame(
        {
            **text,
            "installDate": install_instants(arrays["installDate"]),
            "installDate_raw": text["installDate"],
            "page": pd.Series(arrays["page"], dtype="int64"),
        },
        columns=STATION_COLUMNS,
    )
    return frame


# The forms the API sends, which Arrow (and pandas, its fallback) parse exactly as `parse_install_date`
# does (a test checks that on every form): naive (date only, or date and time without offset) and aware
# (`Z` or ±hh:mm). Years are kept to 1900-2099, inside the nanosecond range. Anything else goes the slow way.
_DAY = r"(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
_NAIVE = f"^{_DAY}({_TIME})?$"
_AWARE = rf"^{_DAY}{_TIME}(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"


def install_instants(raw: Sequence[str] | np.ndarray) -> pd.Series:
    """`parse_install_date` over a column ("" for none), as `datetime64[ns, UTC]` with NaT for none.

    Vectorised: the common forms are parsed by Arrow, naive and aware ones apart (pandas, the fallback
    for a day the calendar lacks, would read a naive value among aware ones in its neighbour's offset
    instead of UTC). The rest (bad values, unusual forms) go through `parse_install_date` one by one."""
    text = pa.array(raw, type=pa.string())
    naive = pc.match_substring_regex(text, _NAIVE).to_numpy(zero_copy_only=False)
    aware = pc.match_substring_regex(text, _AWARE).to_numpy(zero_copy_only=False)
    rest = ~(naive | aware) & pc.not_equal(text, "").to_numpy(zero_copy_only=False)
    values = np.asarray(raw, dtype=object)
    instants = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    try:  # Arrow's ISO 8601 parser: five times pandas' speed, the same instants (a test holds them)
        naive_ts = pc.filter(text, naive).cast(pa.timestamp("ns"))
        aware_ts = pc.filter(text, aware).cast(pa.timestamp("ns", tz="UTC")).cast(pa.timestamp("ns"))
        instants[naive] = naive_ts.to_numpy(zero_copy_only=False)
        instants[aware] = aware_ts.to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # a day the calendar lacks (2021-02-30): pandas makes just that one NaT
        instants[naive] = pd.to_datetime(values[naive], format="ISO8601", errors="coerce").to_numpy()
        aware_utc = pd.to_datetime(values[aware], format="ISO8601", utc=True, errors="coerce")
        instants[aware] = aware_utc.tz_localize(None).to_numpy()
    slow = pd.Series([parse_install_date(value) for value in values[rest]], dtype="datetime64[ns, UTC]")
    instants[rest] = slow.dt.tz_localize(None).to_numpy()
    return pd.Series(instants, dtype="datetime64[ns]").dt.tz_localize("UTC")


def iso_instants(instants: pd.Series) -> pd.Series:
    """ISO 8601 in UTC with a `Z`, microseconds only when present; "" for a missing date. Vectorised
    (numpy's datetime formatting): a Python call per station costs seconds at 200,000 stations."""
    micro = instants.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    micro = micro.astype("datetime64[us]")  # floors, as the calendar fields do before 1970
    seconds = micro.astype("datetime64[s]")
    whole = micro == seconds  # False for NaT
    fraction = ~whole & ~np.isnat(micro)
    text = np.full(len(micro), "", dtype=object)
    text[whole] = np.datetime_as_string(seconds[whole], timezone="UTC")
    text[fraction] = np.datetime_as_string(micro[fraction], timezone="UTC")
    return pd.Series(text, index=instants.index, name=instants.name, dtype=object)


def station_counts(stations: pd.DataFrame) -> pd.DataFrame:
    """Stations per value of each report field, most common first, ties by value.

    Long format (`field`, `value`, `count`) so one table holds all four; every field's counts sum to
    the number of stations because a missing value is counted as "".
    """
    parts = []
    for field in REPORT_FIELDS:
        values = stations[field]
        if field == "installDate":
            # Nearly every instant is distinct: counted and sorted by Arrow, twice as fast as objects.
            values = iso_instants(values).astype("string[pyarrow]")
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


CHANGE_COLUMNS = ("id", "modelInfo", "state")  # what `model_state_changes` reads of each snapshot


def model_state_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per model, how many stations moved from one state to another between two snapshots.

    Stations only in `after` come `(new)`; stations only in `before` are `(gone)`. The model is the
    one in `after` (or `before` for gone stations). Unchanged stations are not listed.
    """
    joined = before[list(CHANGE_COLUMNS)].merge(
        after[list(CHANGE_COLUMNS)], on="id", how="outer", suffixes=("_before", "_after")
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
