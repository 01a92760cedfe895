"""The IO manager for cleaned tables, counts and pivots: one Parquet file per asset and partition."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from dagster import ConfigurableIOManagerFactory, InputContext, OutputContext, UPathIOManager
from upath import UPath

from pipeline.resources.lake import put_bytes
from pipeline.resources.storage import TABLES_DIR, DataDir


class _ParquetTables(UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        buffer = io.BytesIO()
        obj.to_parquet(buffer, index=True)
        put_bytes(path, buffer.getvalue())  # whole or not at all: a rename locally, one PUT on S3

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        with path.open("rb") as stream:
            return pd.read_parquet(stream)


class ParquetTables(ConfigurableIOManagerFactory):
    """Stores DataFrames as `{PIPELINE_DATA_DIR}/tables/{asset}/{partition}.parquet` (typed, inspectable)."""

    data_dir: str = "./data"

    def create_io_manager(self, context: Any) -> UPathIOManager:
        # The same directory DataDir.table_path names, so assets that read past days find these files.
        return _ParquetTables(base_path=DataDir(path=self.data_dir).root / TABLES_DIR)
