"""The day's feed status (`uk_ocpi_feeds`): which feeds the day's snapshot holds, whether each is whole,
and what its fetch said. Every derived uk_ocpi asset reads the feeds it lists; `every_feed_included` fails
while one is missing or short.
"""

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import pandera.pandas as pa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
)
from pandera.typing import Series

from pipeline.resources.lake import put_bytes
from pipeline.resources.metadata import markdown_table
from pipeline.resources.raw_zone import RawZone
from pipeline.resources.storage import DataDir
from pipeline.sources.uk_ocpi import NAME
from pipeline.sources.uk_ocpi.client import FeedFetch
from pipeline.sources.uk_ocpi.completeness import Shortfall, shortfall
from pipeline.sources.uk_ocpi.feeds import Feed

FEEDS = "uk_ocpi_feeds"
ALL_INCLUDED = "every_feed_included"


class FeedStatus(pa.DataFrameModel):
    """One row per feed of the list: whether the day's snapshot holds it, and how its fetch went."""

    operator: Series[str] = pa.Field(description="The feed's slug.")
    name: Series[str] = pa.Field(description="The operator's name in outputs.")
    url: Series[str] = pa.Field(description="The feed's Locations endpoint.")
    included: Series[bool] = pa.Field(description="The day's snapshot of this feed is complete and used.")
    status: Series[str] = pa.Field(
        isin=["fetched", "reused", "failed", "stored earlier", "not fetched"],
        description="fetched now; reused (a past day's stored snapshot); failed; stored earlier (by an "
        "earlier run of the day); not fetched.",
    )
    last_success: Series[str] = pa.Field(
        description="The latest day, up to this one, with a complete snapshot."
    )
    wire_style: Series[str] = pa.Field(description="How the feed wraps its locations (see raw.py).")
    pages: Series[int] = pa.Field(ge=0, description="Pages stored, the empty one that ends paging included.")
    records: Series[int] = pa.Field(ge=0, description="Locations in the stored pages.")
    http_requests: Series[int] = pa.Field(ge=0, description="Requests the fetch made, retries included.")
    http_retries: Series[int] = pa.Field(ge=0, description="Requests that were retried.")
    declared_total: Series[pd.Int64Dtype] = pa.Field(
        nullable=True,
        description="The largest X-Total-Count the feed declared while read; null when it declared none.",
    )
    boms: Series[int] = pa.Field(ge=0, description="Pages that began with a UTF-8 byte order mark (skipped).")
    ended: Series[str] = pa.Field(description="How the paging ended, e.g. 'empty page', 'total reached'.")
    short: Series[str] = pa.Field(
        description="Why the stored snapshot looks short (below the declared total, or dropped by more than "
        "UK_OCPI_MAX_DROP against the previous complete one); '' when it does not."
    )
    error: Series[str] = pa.Field(description="Why the fetch failed; '' when it did not.")
    tariffs_error: Series[str] = pa.Field(
        description="Why this run's fetch of the feed's tariffs (`tariffs_url`) failed, its locations "
        "kept and its prices unknown; '' when it did not, or was not made."
    )

    class Config:
        strict = True
        ordered = True


def feed_key(feed: Feed) -> AssetKey:
    return AssetKey(f"{NAME}_{feed.operator}_locations")


def feed_zone(data_dir: DataDir, feed: Feed) -> RawZone:
    return data_dir.raw(f"{NAME}/{feed.operator}")


@dataclass
class Outcome:
    """One feed on one day: fetched now, reused (a past day), or failed with an error."""

    feed: Feed
    fetch: FeedFetch | None = None
    reused: bool = False
    error: str = ""
    tariffs_error: str = ""  # the tariffs failed; the locations stand
    short: Shortfall = field(default_factory=Shortfall)


def snapshot_shortfall(zone: RawZone, day: str, notes: dict, *, max_drop: float) -> Shortfall:
    """Whether the day's stored snapshot of a feed looks short: below its declared total, or dropped by
    more than `max_drop` against the feed's previous complete snapshot."""
    before = zone.latest_before(day)
    previous = int(zone.snapshot(before).notes.get("records", 0)) if before else None
    return shortfall(notes, previous=previous, previous_day=before or "", max_drop=max_drop)


def feed_status(
    feeds: list[Feed], outcomes: dict[str, Outcome], data_dir: DataDir, day: str, *, max_drop: float
) -> pd.DataFrame:
    """One row per feed of the list: is it in the day's snapshot, is it whole, what did its fetch say."""
    rows = []
    for feed in feeds:
        zone = feed_zone(data_dir, feed)
        snapshot = zone.snapshot(day)
        outcome = outcomes.get(feed.operator)
        included = snapshot.complete
        notes = snapshot.notes if included else {}
        if outcome is not None and outcome.error:
            status = "failed"
        elif outcome is not None:
            status = "reused" if outcome.reused else "fetched"
        else:
            status = "stored earlier" if included else "not fetched"
        rows.append(
            {
                "operator": feed.operator,
                "name": feed.name,
                "url": feed.url,
                "included": included,
                "status": status,
                "last_success": day if included else _last_success(zone, day),
                "wire_style": str(notes.get("wire_style", "")),
                "pages": int(notes.get("pages", 0)),
                "records": int(notes.get("records", 0)),
                "http_requests": int(notes.get("http_requests", 0)),
                "http_retries": int(notes.get("http_retries", 0)),
                "boms": int(notes.get("boms", 0)),
                "ended": str(notes.get("ended", "")),
                "declared_total": declared
                if isinstance(declared := notes.get("declared_total"), int)
                else None,
                "short": outcome.short.reason
                if outcome is not None
                else snapshot_shortfall(zone, day, notes, max_drop=max_drop).reason
                if included
                else "",
                "error": outcome.error if outcome is not None else "",
                "tariffs_error": outcome.tariffs_error if outcome is not None else "",
            }
        )
    frame = pd.DataFrame(rows, columns=list(FeedStatus.to_schema().columns))
    frame["declared_total"] = frame["declared_total"].astype("Int64")
    return FeedStatus.validate(frame)


def _last_success(zone: RawZone, day: str) -> str:
    """The latest earlier day with a complete snapshot: asked only for a feed missing today (a feed in
    today's snapshot has its answer already)."""
    return zone.latest_before(day) or ""


def status_results(
    context: AssetExecutionContext,
    feeds: list[Feed],
    outcomes: dict[str, Outcome],
    data_dir: DataDir,
    day: str,
    fetch_s: float,
    *,
    max_drop: float,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """The day's feed status, stored, materialised and checked (`every_feed_included`)."""
    status = feed_status(feeds, outcomes, data_dir, day, max_drop=max_drop)
    buffer = io.BytesIO()
    status.to_parquet(buffer, index=False)
    put_bytes(data_dir.table_path(FEEDS, day), buffer.getvalue())
    included = status.loc[status["included"], "operator"].tolist()
    missing = status.loc[~status["included"], "operator"].tolist()
    shown = markdown_table(status.drop(columns=["url"]))
    yield MaterializeResult(
        asset_key=FEEDS,
        metadata={
            "dagster/row_count": len(status),
            "feeds_included": MetadataValue.json(included),
            "feeds_missing": MetadataValue.json(missing),
            "feeds": MetadataValue.md(shown),
            "fetch_seconds": MetadataValue.float(round(fetch_s, 3)),
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    missing_rows = status.loc[~status["included"]]
    errors = {
        str(op): str(error or state)
        for op, error, state in missing_rows[["operator", "error", "status"]].itertuples(index=False)
    }
    short_rows = status.loc[status["included"] & (status["short"] != "")]
    short = dict(zip(short_rows["operator"].astype(str), short_rows["short"].astype(str), strict=True))
    yield AssetCheckResult(
        asset_key=FEEDS,
        check_name=ALL_INCLUDED,
        passed=not missing and not short,
        severity=AssetCheckSeverity.WARN,
        description=f"{len(included)} of {len(status)} feeds are in the snapshot of {day}."
        + (f" Missing: {', '.join(missing)}." if missing else "")
        + (f" Short: {', '.join(short)}." if short else ""),
        metadata={"missing": MetadataValue.json(errors), "short": MetadataValue.json(short)},
    )
