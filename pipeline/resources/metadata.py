"""Small, useful asset metadata: row counts, a markdown preview, paths and URIs."""

from __future__ import annotations

import pandas as pd
from dagster import MetadataValue

PREVIEW_ROWS = 10


def table_metadata(frame: pd.DataFrame, *, index: bool = False) -> dict[str, MetadataValue]:
    preview = frame.head(PREVIEW_ROWS)
    return {
        "dagster/row_count": MetadataValue.int(len(frame)),
        "preview": MetadataValue.md(preview.to_markdown(index=index) if len(preview) else "_(empty)_"),
    }
