"""What both sources do with a record that breaks its contract: keep it, with where and why."""

from __future__ import annotations

import json
import warnings
from functools import cache

import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
import pyarrow.types as pa_types
from dagster import BetaWarning, DagsterType, TableColumn, TableSchema, TypeCheck, TypeCheckContext
from dagster_pandera import pandera_schema_to_dagster_type
from pandera.errors import SchemaError, SchemaErrors
from pandera.typing import Series
from pydantic import ValidationError

from pipeline.resources.json_array import Invalid

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


def invalid_row(location: str, invalid: Invalid) -> tuple[str, str, str]:
    """The reject row of an element msgspec refused: `Field.path: why`, and the element's text as sent."""
    message, _, path = invalid.reason.partition(" - at `$")
    field = path.rstrip("`").lstrip(".")
    return location, f"{field or 'record'}: {message}", invalid.raw.decode("utf-8", errors="replace")


def rejects_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=REJECT_COLUMNS, dtype=str)


_ARROW_TYPES = {"str": (pa_types.is_string, pa_types.is_large_string), "int64": (pa_types.is_int64,)}


def validate_arrow(table: pyarrow.Table, model: type[pa.DataFrameModel], *, where: str) -> None:
    """The pandera `model`'s contract checked on an Arrow table, without a pandas copy of it.

    For tables of millions of rows written batch by batch: the column names and order, each column's
    type, nulls, and the string-length checks, in Arrow's compute kernels. `unique` needs the whole
    table, so it is left to the asset's own check (`ids_unique`). Any other kind of check is run by
    pandera itself, on the batch.
    """
    schema = model.to_schema()
    if table.column_names != list(schema.columns):
        raise ValueError(f"{where}: columns {table.column_names}, the contract wants {list(schema.columns)}")
    for name, column in schema.columns.items():
        values = table[name]
        kinds = _ARROW_TYPES.get(str(column.dtype))
        if kinds is None or any(check.name != "str_length" for check in column.checks):
            schema.validate(table.to_pandas())
            return
        if not any(kind(values.type) for kind in kinds):
            raise ValueError(f"{where}: column {name} is {values.type}, the contract wants {column.dtype}")
        if not column.nullable and values.null_count:
            raise ValueError(f"{where}: column {name} has {values.null_count} missing values")
        for check in column.checks:
            low, high = check.statistics.get("min_value"), check.statistics.get("max_value")
            lengths = pc.utf8_length(values)
            if (low is not None and pc.any(pc.less(lengths, low)).as_py()) or (
                high is not None and pc.any(pc.greater(lengths, high)).as_py()
            ):
                raise ValueError(f"{where}: column {name} has values outside lengths {low}..{high}")


@cache
def frame_type(model: type[pa.DataFrameModel]) -> DagsterType:
    """The Dagster type for a pandera model: the UI shows its columns and every output is validated.

    Cached: Dagster requires one type object per name, and both sources share `Rejects`.

    pandera checks a text column value by value in Python (a quarter of a second for the 200,000
    stations); `pandas.api.types.infer_dtype` tells the same in C. So text columns are checked that
    way and pandera checks everything else; anything that fails goes through pandera's full check,
    so a failure reads exactly as pandera reports it.

    dagster-pandera marks this function beta; the warning says nothing a reader of the UI needs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        full = pandera_schema_to_dagster_type(model)
    schema = model.to_schema()
    texts = [name for name, column in schema.columns.items() if str(column.dtype) == "str"]
    rest = schema.update_columns({name: {"dtype": None} for name in texts})

    def type_check(context: TypeCheckContext, value: object) -> TypeCheck:
        if isinstance(value, pd.DataFrame) and all(
            name in value and pd.api.types.infer_dtype(value[name], skipna=False) in ("string", "empty")
            for name in texts
        ):
            try:
                rest.validate(value, lazy=True)
                return TypeCheck(success=True)
            except (SchemaError, SchemaErrors):
                pass
        return full.type_check(context, value)

    return DagsterType(
        type_check_fn=type_check,
        name=full.unique_name,
        description=full.description,
        metadata=full.metadata,
        typing_type=pd.DataFrame,
    )


def column_schema(model: type[pa.DataFrameModel]) -> TableSchema:
    """The UI's column schema for a table written without the IO manager (so without a Dagster type)."""
    columns = model.to_schema().columns
    return TableSchema(
        columns=[
            TableColumn(name=name, type=str(column.dtype), description=column.description)
            for name, column in columns.items()
        ]
    )
