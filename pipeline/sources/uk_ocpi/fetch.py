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

import time
from collections.abc import Iterator

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

from pipeline.orchestration.alerts import AlertWebhook
from pipeline.orchestration.partitions import REUSED, SnapshotUnavailable, must_fetch
from pipeline.resources.http import ByteBudget, Spacing
from pipeline.resources.lake import location
from pipeline.resources.storage import DataDir
from pipeline.sources import catalog
from pipeline.sources.declare import snapshot_multi_asset, tags
from pipeline.sources.uk_ocpi import NAME
from pipeline.sources.uk_ocpi.client import OcpiFeeds
from pipeline.sources.uk_ocpi.feed_alerts import alert_once
from pipeline.sources.uk_ocpi.feeds import SETTING, Feed, feeds_file, load_hosts
from pipeline.sources.uk_ocpi.hosts import HostSchedule
from pipeline.sources.uk_ocpi.schema import ConnectorRecord, EvseRecord, LocationRecord
from pipeline.sources.uk_ocpi.status import (
    ALL_INCLUDED,
    FEEDS,
    FeedStatus,
    Outcome,
    feed_key,
    feed_zone,
    snapshot_shortfall,
    status_results,
)
from pipeline.sources.uk_ocpi.tariff_fetch import fetch_tariffs, tariff_endpoint
from pipeline.sources.uk_ocpi.tariff_raw import tariff_zone
from pipeline.sources.uk_ocpi.tariffs import PriceComponentRecord, TariffElementRecord, TariffRecord

FETCHED = "fetched"
# The fields read from each feed's locations (OCPI 2.2.1 Location, its EVSEs and their connectors).
FEED_FIELDS = catalog.combined(
    catalog.record_schema(LocationRecord, record="location"),
    catalog.record_schema(EvseRecord, prefix="evses[].", record="EVSE of a location"),
    catalog.record_schema(ConnectorRecord, prefix="evses[].connectors[].", record="connector of an EVSE"),
)
# The fields read from each feed's tariffs, wherever they are published (issue 17: see tariff_raw.py).
FEED_TARIFF_FIELDS = catalog.combined(
    catalog.record_schema(TariffRecord, prefix="tariffs[].", record="tariff of the feed"),
    catalog.record_schema(TariffElementRecord, prefix="tariffs[].elements[].", record="tariff element"),
    catalog.record_schema(
        PriceComponentRecord, prefix="tariffs[].elements[].price_components[].", record="price component"
    ),
)


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
                **catalog.table(catalog.combined(FEED_FIELDS, FEED_TARIFF_FIELDS)),
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
        # A tariffs URL on another host is read on that host's clock.
        endpoints = [*feeds, *(tariff_endpoint(feed) for feed in feeds if feed.tariffs_url)]
        hosts = HostSchedule(endpoints, hosts=load_hosts(feeds_file({SETTING: uk_ocpi.feeds_file})))
        started = time.perf_counter()
        outcomes = hosts.run(
            selected,
            lambda feed, clock: _read(feed, day, uk_ocpi, data_dir, clock=clock, hosts=hosts),
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
            yield from status_results(
                context, feeds, outcome_of, data_dir, day, fetch_s, max_drop=uk_ocpi.max_drop
            )

    return uk_ocpi_fetch


def _read(
    feed: Feed, day: str, uk_ocpi: OcpiFeeds, data_dir: DataDir, *, clock: Spacing, hosts: HostSchedule
) -> Outcome:
    """Fetch one feed into its raw zone, on its host's `clock`, then its tariffs; never raises, so one
    feed down never stops the others, nor the next feed of its host."""
    zone = feed_zone(data_dir, feed)
    budget = uk_ocpi.day_budget(feed)  # the locations and the tariffs of the day together
    try:
        if not must_fetch(day, stored=zone.snapshot(day).complete, source=f"OCPI feed {feed.operator}"):
            outcome = Outcome(feed, reused=True)
        else:
            with zone.writing(day) as writer:
                fetch = uk_ocpi.fetch(feed, writer, clock=clock, budget=budget)
                writer.notes.update(fetch.notes())
            outcome = Outcome(feed, fetch=fetch)
    except SnapshotUnavailable as exc:
        return Outcome(feed, error=str(exc))
    except Exception as exc:  # one feed's failure, whatever it is, is that feed's alone
        return Outcome(feed, error=f"{type(exc).__name__}: {exc}")
    if feed.tariffs_url and not outcome.reused:  # a past day keeps the tariffs it stored, or none
        outcome.tariffs_error = _read_tariffs(feed, day, uk_ocpi, data_dir, hosts=hosts, budget=budget)
    return outcome


def _read_tariffs(
    feed: Feed, day: str, uk_ocpi: OcpiFeeds, data_dir: DataDir, *, hosts: HostSchedule, budget: ByteBudget
) -> str:
    """Fetch the feed's tariffs into their own raw zone, complete or absent; why they failed, or ''.

    Read again whenever the locations are, so the two are of the same moment.
    """
    zone = tariff_zone(data_dir, feed)
    try:
        clock = hosts.clock(tariff_endpoint(feed))
        locations = feed_zone(data_dir, feed).snapshot(day)
        with zone.writing(day) as writer:
            fetch = fetch_tariffs(uk_ocpi, feed, writer, locations=locations, clock=clock, budget=budget)
            writer.notes.update(fetch.notes())
        return ""
    except Exception as exc:  # the tariffs' failure leaves the feed's locations in
        return f"{type(exc).__name__}: {exc}"


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
    if feed.tariffs_url:
        metadata["tariffs_error"] = outcome.tariffs_error[:2000]
    if outcome.reused:
        metadata[REUSED] = True
    else:
        metadata.update(
            http_requests=int(notes.get("http_requests", 0)), http_retries=int(notes.get("http_retries", 0))
        )
        context.log.info(f"Feed {feed.operator}: {metadata['pages']} pages, {metadata['records']} locations")
    if outcome.tariffs_error:
        context.log.warning(
            f"Feed {feed.operator} ({feed.name}): its tariffs failed, its prices are unknown on {day}: "
            f"{outcome.tariffs_error}"
        )
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
