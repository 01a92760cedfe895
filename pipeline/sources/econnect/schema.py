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

    field: Series[str] = pa.Field(isin=list(REPORT_FIELDS))
    value: Series[str] = pa.Field(description="The value ('' for none); installDate as ISO 8601 UTC.")
    count: Series[int] = pa.Field(gt=0)

    class Config:
        strict = True
        ordered = True
