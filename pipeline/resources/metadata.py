"""Small, useful asset metadata: row counts, a markdown preview a person can read, paths and URIs."""

from __future__ import annotations

import re

import pandas as pd
from dagster import MetadataValue

PREVIEW_ROWS = 10
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def markdown_text(value: object) -> str:
    """A value as literal markdown text: one line, every markdown special character escaped.

    So `DE*EBS*E339564` shows as itself, not with `EBS` in italics; a missing value shows empty.
    """
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def markdown_table(frame: pd.DataFrame, *, index: bool = False, empty: str = "_(empty)_") -> str:
    """`frame` as a markdown table of literal text (see `markdown_text`); `empty` when it has no rows."""
    if frame.empty:
        return empty
    shown = frame.reset_index() if index else frame
    text = pd.DataFrame(
        {markdown_text(name): [markdown_text(value) for value in shown[name]] for name in shown.columns}
    )
    return text.to_markdown(index=False, disable_numparse=True)


def table_metadata(frame: pd.DataFrame, *, index: bool = False) -> dict[str, MetadataValue]:
    return {
        "dagster/row_count": MetadataValue.int(len(frame)),
        "preview": MetadataValue.md(markdown_table(frame.head(PREVIEW_ROWS), index=index)),
    }


def history_metadata(
    history: pd.DataFrame, *, days: list[str], weekly: pd.DataFrame, baseline: str, what: str
) -> dict[str, MetadataValue | int]:
    """A history asset's metadata: its rows, the days it spans, and the week-over-week table when the day a
    week before is stored (else a line saying no `what` is stored for it)."""
    shown = markdown_table(weekly) if baseline in days else f"_No {what} stored for {baseline}._"
    return {"dagster/row_count": len(history), "days": len(days), "week_over_week": MetadataValue.md(shown)}
