"""The feeds' raw layer: one asset per feed, generated from the feed list, plus the day's feed status.

Why one asset per feed, all produced by one multi-asset step: the UI shows each feed on its own page
(its last successful fetch is its latest materialisation: pages, records, requests, retries; its
`fetched` check carries the error of a failed fetch), re-fetching one feed is materialising one
asset (the step fetches only the selected feeds, so a feed allowing 30 requests an hour is not asked
again because another one failed), and one step lets the hosts be read concurrently, each host's feeds
one after the other on its one clock (`hosts.py`). A feed that fails is not materialised, is named in the
run's log, fails its non-blocking check, is listed as missing by `uk_ocpi_feeds`, the status table every
derived asset depends on, and is alerted once per day, so the run still writes today's outputs from every
other feed. A feed stored but short (below its declared total, or dropped against its last snapshot) is
materialised, and fails its check and is alerted the same way. (A static operator partition dimension
would not fit the one daily partitioning every source shares, and `--partition DAY` could no longer
select a day.)
"""

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import pandera.pandas as pa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
)
from pandera.typing import Series

from pipeline.orchestration.alerts import AlertWebhook
from pipeline.orchestration.partitions import REUSED, SnapshotUnavailable, must_fetch
from pipeline.resources.http import Spacing
from pipeline.resources.lake import location, put_bytes
from pipeline.resources.metadata import markdown_table
from pipeline.resources.raw_zone import RawZone
from pipeline.resources.storage import DataDir
from pipeline.sources import catalog
from pipeline.sources.declare import snapshot_multi_asset, tags
from pipeline.sources.uk_ocpi import NAME
from pipeline.sources.uk_ocpi.client import FeedFetch, OcpiFeeds
from pipeline.sources.uk_ocpi.completeness import Shortfall, shortfall
from pipeline.sources.uk_ocpi.feed_alerts import alert_once
from pipeline.sources.uk_ocpi.feeds import SETTING, Feed, feeds_file, load_hosts
from pipeline.sources.uk_ocpi.hosts import HostSchedule
from pipeline.sources.uk_ocpi.schema import ConnectorRecord, EvseRecord, LocationRecord

# The fields read from each feed's locations (OCPI 2.2.1 Location, its EVSEs and their connectors).
FEED_FIELDS = catalog.combined(
    catalog.record_schema(LocationRecord, record="location"),
    catalog.record_schema(EvseRecord, prefix="evses[].", record="EVSE of a location"),
    catalog.record_schema(ConnectorRecord, prefix="evses[].connectors[].", record="connector of an EVSE"),
)


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

    class Config:
        strict = True
        ordered = True


FEEDS = "uk_ocpi_feeds"
FETCHED = "fetched"
ALL_INCLUDED = "every_feed_included"


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
    short: Shortfall = field(default_factory=Shortfall)


def build_fetch_asset(feeds: list[Feed]) -> AssetsDefinition:
    """The multi-asset that reads the selected feeds host by host and records the day's feed status."""
    specs = [
        AssetSpec(
            feed_key(feed),
            tags=tags(NAME, "raw"),
            kinds={"api", "json"},
            skippable=True,
            description=f"{feed.name}'s OCPI Locations feed ({feed.url}): every page exactly as returned.",
            metadata={
                "operator": feed.operator,
                "url": MetadataValue.url(feed.url),
                **catalog.table(FEED_FIELDS),
            },
        )
        for feed in feeds
    ]
    specs.append(
        AssetSpec(
            FEEDS,
            tags=tags(NAME, "raw"),
            kinds={"parquet"},
            description="Which feeds today's snapshot holds: per feed its status, last success, pages, "
            "records, requests, retries and error. Every derived uk_ocpi asset reads the feeds it lists.",
            metadata=catalog.table(FeedStatus),
        )
    )
    checks = [
        AssetCheckSpec(FETCHED, asset=feed_key(feed), description="Today's fetch of this feed succeeded.")
        for feed in feeds
    ]
    checks.append(
        AssetCheckSpec(
            ALL_INCLUDED,
            asset=FEEDS,
            description="Every feed of the list is in the day's snapshot, and none of them looks short.",
        )
    )

    @snapshot_multi_asset(
        source=NAME, name=f"{NAME}_fetch", specs=specs, check_specs=checks, can_subset=True, pool=NAME
    )
    def uk_ocpi_fetch(
        context: AssetExecutionContext, uk_ocpi: OcpiFeeds, data_dir: DataDir, alert_webhook: AlertWebhook
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        day = context.partition_key
        selected = [feed for feed in feeds if feed_key(feed) in context.selected_asset_keys]
        # One clock per host, from the whole list: a feed not read today still makes its host stricter.
        hosts = HostSchedule(feeds, hosts=load_hosts(feeds_file({SETTING: uk_ocpi.feeds_file})))
        started = time.perf_counter()
        outcomes = hosts.run(
            selected,
            lambda feed, clock: _read(feed, day, uk_ocpi, data_dir, clock=clock),
            max_concurrency=uk_ocpi.max_concurrency,
            log=context.log.info,
        )
        fetch_s = time.perf_counter() - started
        context.log.info(
            f"Read {len(selected)} feeds on {len(hosts.groups(selected))} hosts in {fetch_s:.2f} s "
            f"({uk_ocpi.max_concurrency} hosts at a time, each host's feeds one after the other)"
        )
        for outcome in outcomes:
            yield from _report(context, outcome, data_dir, day, max_drop=uk_ocpi.max_drop)
            _alert(context, outcome, data_dir, day, alert_webhook)
        if AssetKey(FEEDS) in context.selected_asset_keys:
            outcome_of = {o.feed.operator: o for o in outcomes}
            yield from _status(context, feeds, outcome_of, data_dir, day, fetch_s, max_drop=uk_ocpi.max_drop)

    return uk_ocpi_fetch


def _read(feed: Feed, day: str, uk_ocpi: OcpiFeeds, data_dir: DataDir, *, clock: Spacing) -> Outcome:
    """Fetch one feed into its raw zone, on its host's `clock`; never raises, so one feed down never
    stops the others, nor the next feed of its host."""
    zone = feed_zone(data_dir, feed)
    try:
        if not must_fetch(day, stored=zone.snapshot(day).complete, source=f"OCPI feed {feed.operator}"):
            return Outcome(feed, reused=True)
        with zone.writing(day) as writer:
            fetch = uk_ocpi.fetch(feed, writer, clock=clock)
            writer.notes.update(fetch.notes())
        return Outcome(feed, fetch=fetch)
    except SnapshotUnavailable as exc:
        return Outcome(feed, error=str(exc))
    except Exception as exc:  # one feed's failure, whatever it is, is that feed's alone
        return Outcome(feed, error=f"{type(exc).__name__}: {exc}")


def _report(
    context: AssetExecutionContext, outcome: Outcome, data_dir: DataDir, day: str, *, max_drop: float
) -> Iterator[MaterializeResult | AssetCheckResult]:
    feed, key = outcome.feed, feed_key(outcome.feed)
    if outcome.error:
        context.log.error(
            f"Feed {feed.operator} ({feed.name}) failed and is left out of {day}: {outcome.error}"
        )
        yield AssetCheckResult(
            asset_key=key, check_name=FETCHED, passed=False, severity=AssetCheckSeverity.WARN,
            description=outcome.error[:2000],
        )  # fmt: skip
        return
    zone = feed_zone(data_dir, feed)
    snapshot = zone.snapshot(day)
    notes = snapshot.notes
    outcome.short = snapshot_shortfall(zone, day, notes, max_drop=max_drop)
    metadata: dict[str, MetadataValue | int | str | bool] = {
        "pages": int(notes.get("pages", len(snapshot.names))),
        "records": int(notes.get("records", 0)),
        "wire_style": str(notes.get("wire_style", "")),
        "bytes": snapshot.size,
        "path": location(snapshot.folder),
    }
    if isinstance(notes.get("declared_total"), int):
        metadata["declared_total"] = int(notes["declared_total"])
    if outcome.reused:
        metadata[REUSED] = True
    else:
        metadata.update(
            http_requests=int(notes.get("http_requests", 0)), http_retries=int(notes.get("http_retries", 0))
        )
        context.log.info(f"Feed {feed.operator}: {metadata['pages']} pages, {metadata['records']} locations")
    yield MaterializeResult(asset_key=key, metadata=metadata)
    if outcome.short:
        context.log.warning(
            f"Feed {feed.operator} ({feed.name}) looks short on {day}: {outcome.short.reason}"
        )
    yield AssetCheckResult(
        asset_key=key,
        check_name=FETCHED,
        passed=not outcome.short,
        severity=AssetCheckSeverity.WARN,
        description=f"Stored, but short: {outcome.short.reason}." if outcome.short else None,
        metadata={
            "records": outcome.short.received,
            **({"expected": outcome.short.expected} if outcome.short.expected is not None else {}),
        },
    )


def snapshot_shortfall(zone: RawZone, day: str, notes: dict, *, max_drop: float) -> Shortfall:
    """Whether the day's stored snapshot of a feed looks short: below its declared total, or dropped by
    more than `max_drop` against the feed's previous complete snapshot."""
    earlier = [d for d in zone.days(up_to=day) if d < day]
    previous = int(zone.snapshot(earlier[-1]).notes.get("records", 0)) if earlier else None
    return shortfall(notes, previous=previous, previous_day=earlier[-1] if earlier else "", max_drop=max_drop)


def _alert(
    context: AssetExecutionContext, outcome: Outcome, data_dir: DataDir, day: str, webhook: AlertWebhook
) -> None:
    """Tell a person, once per feed and day, that a feed failed or came back short."""
    problem = outcome.error or (f"stored, but short: {outcome.short.reason}" if outcome.short else "")
    if not problem or outcome.reused:
        return
    alert_once(
        webhook,
        data_dir,
        operator=outcome.feed.operator,
        asset_key=feed_key(outcome.feed).to_user_string(),
        day=day,
        problem=problem,
        job_name=context.run.job_name,
        run_id=context.run.run_id,
        log=context.log,
    )


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
            }
        )
    frame = pd.DataFrame(rows, columns=list(FeedStatus.to_schema().columns))
    frame["declared_total"] = frame["declared_total"].astype("Int64")
    return FeedStatus.validate(frame)


def _last_success(zone: RawZone, day: str) -> str:
    """The latest earlier day with a complete snapshot: listed only for a feed missing today (on S3
    every listed day costs a request, and a feed in today's snapshot has its answer already)."""
    days = zone.days(up_to=day)
    return days[-1] if days else ""


def _status(
    context: AssetExecutionContext,
    feeds: list[Feed],
    outcomes: dict[str, Outcome],
    data_dir: DataDir,
    day: str,
    fetch_s: float,
    *,
    max_drop: float,
) -> Iterator[MaterializeResult | AssetCheckResult]:
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
