"""Asset checks both sources share: contract rejects within bounds, unique ids, totals that add up.

Each function turns numbers the asset already has in hand into an `AssetCheckResult`, so a check
never reloads data and always judges exactly what was just written.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, ConfigurableResource, MetadataValue
from pydantic import Field


class QualitySettings(ConfigurableResource):
    """Thresholds for the data-quality checks (`PIPELINE_MAX_REJECT_SHARE`, default 1%)."""

    max_reject_share: float = Field(default=0.01, ge=0.0, le=1.0)


def cleaning_check_specs(table: str, rejects: str) -> list[AssetCheckSpec]:
    """The checks every source's cleaning step declares: unique ids (blocking) and the reject share."""
    return [
        AssetCheckSpec(
            "ids_unique",
            asset=table,
            blocking=True,
            description="Each id appears once in the table; blocks what is derived from it if not.",
        ),
        AssetCheckSpec(
            "reject_share",
            asset=rejects,
            description="At most PIPELINE_MAX_REJECT_SHARE of the records may break the contract.",
        ),
    ]


def reject_share_check(asset: str, *, rejected: int, received: int, limit: float) -> AssetCheckResult:
    """Fails when more than `limit` of the records received broke the contract."""
    share = rejected / received if received else 0.0
    return AssetCheckResult(
        asset_key=asset,
        check_name="reject_share",
        passed=share <= limit,
        severity=AssetCheckSeverity.ERROR,
        description=f"{rejected} of {received} records broke the contract ({share:.2%}; limit {limit:.2%}).",
        metadata={"rejected": rejected, "received": received, "share": MetadataValue.float(share)},
    )


def unique_ids_check(asset: str, ids: pd.Series) -> AssetCheckResult:
    duplicated = ids[ids.duplicated(keep=False)].unique()
    return distinct_ids_check(asset, rows=len(ids), distinct=ids.nunique(), examples=list(duplicated[:5]))


def distinct_ids_check(asset: str, *, rows: int, distinct: int, examples: list[str]) -> AssetCheckResult:
    """Every row's id is distinct (for tables too large to hold their ids as Python objects)."""
    return AssetCheckResult(
        asset_key=asset,
        check_name="ids_unique",
        passed=rows == distinct,
        metadata={"duplicated_ids": rows - distinct, "examples": MetadataValue.json(examples)},
    )


def totals_check(asset: str, name: str, totals: Mapping[str, int], expected: int) -> AssetCheckResult:
    """Every total in `totals` must equal `expected` (e.g. each count sheet sums to the station count)."""
    wrong = {key: total for key, total in totals.items() if total != expected}
    return AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=not wrong,
        description=f"Every total must equal {expected}." + (f" These do not: {wrong}" if wrong else ""),
        metadata={"expected": expected, "totals": MetadataValue.json(dict(totals))},
    )
