"""The eConnect contract: what a station record must look like, and what the cleaned table holds.

`StationRecord` is the raw record contract (pydantic): a record that breaks it goes to the rejects table
with the reason, it never fails the run. `Stations` is the cleaned table (pandera): it is the asset's
Dagster type, so the UI shows these columns and every materialisation is checked against them.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

# The fields the report is about, in sheet order.
REPORT_FIELDS = ("modelInfo", "installDate", "type", "state")


class StationRecord(BaseModel):
    """One element of a page's `content`. Unknown fields are allowed and ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: StrictStr | StrictInt
    modelInfo: StrictStr | None = None
    installDate: StrictStr | None = None
    type: StrictStr | None = None
    state: StrictStr | None = None


class Stations(pa.DataFrameModel):
    """One row per station id (the last version seen while paging)."""

    id: Series[str] = pa.Field(unique=True, description="Station id as the API sends it.")
    modelInfo: Series[str] = pa.Field(description="Charger model; '' when the API sent none.")
    installDate: Series[Annotated[pd.DatetimeTZDtype, "ns", "UTC"]] = pa.Field(
        nullable=True, description="Install instant in UTC; empty when missing or unparseable."
    )
    installDate_raw: Series[str] = pa.Field(description="installDate exactly as sent ('' when none).")
    type: Series[str] = pa.Field(description="Station type (AC/DC); '' when none.")
    state: Series[str] = pa.Field(description="Lifecycle state; '' when none.")
    page: Series[int] = pa.Field(ge=0, description="The page the kept version of the station came from.")

    class Config:
        strict = True
        ordered = True


class StationCounts(pa.DataFrameModel):
    """Stations per value of each report field; each field's counts sum to the number of stations."""

    field: Series[str] = pa.Field(
        isin=list(REPORT_FIELDS), description="Which field: modelInfo, installDate, type or state."
    )
    value: Series[str] = pa.Field(description="The value ('' for none); installDate as ISO 8601 UTC.")
    count: Series[int] = pa.Field(gt=0, description="Stations with that value.")

    class Config:
        strict = True
        ordered = True


class StateHistory(pa.DataFrameModel):
    """Stations per lifecycle state on every stored day (long form)."""

    day: Series[str] = pa.Field(description="The snapshot day, YYYY-MM-DD.")
    state: Series[str] = pa.Field(description="Lifecycle state; '' when none.")
    stations: Series[int] = pa.Field(gt=0, description="Stations in that state that day.")

    class Config:
        strict = True
        ordered = True


class ModelStateChanges(pa.DataFrameModel):
    """Per model, stations that moved from one state to another since the snapshot 7 days before."""

    modelInfo: Series[str] = pa.Field(description="Charger model (the later snapshot's, else the earlier).")
    from_state: Series[str] = pa.Field(description="State a week before; '(new)' for a new station.")
    to_state: Series[str] = pa.Field(description="State on the day; '(gone)' for a station that went.")
    stations: Series[int] = pa.Field(gt=0, description="Stations that made that move.")

    class Config:
        strict = True
        ordered = True


class StateByModel(pa.DataFrameModel):
    """Stations per charger model (rows) and lifecycle state (one column per state, named after it)."""

    modelInfo: Series[str] = pa.Field(description="Charger model; '' when none. The table's index.")
