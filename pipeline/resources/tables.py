"""The IO manager for cleaned tables, counts and pivots: one Parquet file per asset and partition.

A downstream asset that needs only some of a table's columns says so with `columns_in(...)`: only those
columns (and the index) are read from the file. Strings are the costly part of loading a table, and a
count or a pivot rarely needs the ids.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from dagster import AssetIn, ConfigurableIOManagerFactory, InputContext, OutputContext, UPathIOManager
from upath import UPath

from pipeline.resources.lake import put_bytes
from pipeline.resources.storage import TABLES_DIR, DataDir

COLUMNS = "columns"  # input metadata: the columns to read; all of them when absent


def columns_in(*columns: str) -> AssetIn:
    """An input that reads only `columns` of the upstream table (its index too)."""
    if not columns:
        raise ValueError("columns_in needs at least one column; use AssetIn() for all of them")
    return AssetIn(metadata={COLUMNS: list(columns)})


class _ParquetTables(UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        buffer = io.BytesIO()
        obj.to_parquet(buffer, index=True)
        put_bytes(path, buffer.getvalue())  # whole or not at all: a rename locally, one PUT on S3

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        columns = (context.definition_metadata or {}).get(COLUMNS)
        with path.open("rb") as stream:
            if columns is not None:  # checked on the footer first: a clear error, not Arrow's field refs
                missing = sorted(set(columns) - set(pq.read_schema(stream).names))
                if missing:
                    raise KeyError(f"{path}: the input asks for columns {missing}; the table lacks them")
                stream.seek(0)
            return pd.read_parquet(stream, columns=columns)


class ParquetTables(ConfigurableIOManagerFactory):
    """Stores DataFrames as `{PIPELINE_DATA_DIR}/tables/{asset}/{partition}.parquet` (typed, inspectable)."""

    data_dir: str = "./data"

    def create_io_manager(self, context: Any) -> UPathIOManager:
        # The same directory DataDir.table_path names, so assets that read past days find these files.
        return _ParquetTables(base_path=DataDir(path=self.data_dir).root / TABLES_DIR)
