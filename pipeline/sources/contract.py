"""What both sources do with a record that breaks its contract: keep it, with where and why."""

from __future__ import annotations

import json
import warnings
from functools import cache

import pandas as pd
import pandera.pandas as pa
from dagster import BetaWarning, DagsterType, TableColumn, TableSchema
from dagster_pandera import pandera_schema_to_dagster_type
from pandera.typing import Series
from pydantic import ValidationError

REJECT_COLUMNS = ["location", "reason", "record"]


class Rejects(pa.DataFrameModel):
    """Records that broke the contract: where they were, why, and the record itself as JSON."""

    location: Series[str] = pa.Field(description="Where in the raw snapshot, e.g. 'page 3, item 17'.")
    reason: Series[str] = pa.Field(description="Which fields failed and how.")
    record: Series[str] = pa.Field(description="The raw record as JSON, unchanged.")

    class Config:
        strict = True
        ordered = True


def reject_row(location: str, exc: ValidationError, raw: object) -> tuple[str, str, str]:
    reason = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}" for err in exc.errors()
    )
    return location, reason, json.dumps(raw, ensure_ascii=False, default=str)


def rejects_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=REJECT_COLUMNS, dtype=str)


@cache
def frame_type(model: type[pa.DataFrameModel]) -> DagsterType:
    """The Dagster type for a pandera model: the UI shows its columns and every output is validated.

    Cached: Dagster requires one type object per name, and both sources share `Rejects`.

    dagster-pandera marks this function beta; the warning says nothing a reader of the UI needs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return pandera_schema_to_dagster_type(model)


def column_schema(model: type[pa.DataFrameModel]) -> TableSchema:
    """The UI's column schema for a table written without the IO manager (so without a Dagster type)."""
    columns = model.to_schema().columns
    return TableSchema(
        columns=[
            TableColumn(name=name, type=str(column.dtype), description=column.description)
            for name, column in columns.items()
        ]
    )
