"""The feeds' derived assets: the day's feeds cleaned into locations, EVSEs and connectors, the
conformance report, EVSE status per operator and its history, and charge_points_UK.csv."""

from collections.abc import Iterator

import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetOut,
    AssetsDefinition,
    MetadataValue,
    Output,
)

from pipeline.orchestration.partitions import week_before
from pipeline.resources.lake import read_parquet
from pipeline.resources.metadata import history_metadata, table_metadata
from pipeline.resources.storage import DataDir
from pipeline.sources import catalog
from pipeline.sources.contract import Rejects, frame_type
from pipeline.sources.csv_output import BATCH_ROWS, Counts, CountsCsv, counts_csv_asset
from pipeline.sources.declare import Layer, snapshot_asset, snapshot_multi_asset, table_out
from pipeline.sources.uk_ocpi import NAME, schema, transforms
from pipeline.sources.uk_ocpi.feeds import Feed
from pipeline.sources.uk_ocpi.fetch import FEED_FIELDS
from pipeline.sources.uk_ocpi.lineage import (
    CONFORMANCE_FROM,
    CONNECTORS_FROM,
    EVSES_FROM,
    FETCH_COLUMNS,
    FROM_EVSES,
    LOCATIONS_FROM,
    FeedConformance,
)
from pipeline.sources.uk_ocpi.raw import read_locations
from pipeline.sources.uk_ocpi.schema import (
    CSV_HEADER,
    ChargePointCounts,
    Connectors,
    Evses,
    Locations,
    OutOfOrderHistory,
    StatusByOperator,
)
from pipeline.sources.uk_ocpi.status import FEEDS, FeedStatus, feed_key, feed_zone

CSV = CountsCsv(
    file="charge_points_UK.csv",
    header=CSV_HEADER,
    asset="uk_ocpi_charge_points_csv",
    check="uploaded_total_equals_evses",
)
HISTORY_DAYS_SHOWN = 14


def included_feeds(data_dir: DataDir, day: str) -> pd.DataFrame:
    """The day's feed status (`uk_ocpi_feeds`): which feeds the snapshot holds."""
    return read_parquet(data_dir.table_path(FEEDS, day))


def cleaned(feeds: list[Feed], data_dir: DataDir, day: str) -> transforms.Cleaned:
    """Every feed whose snapshot of `day` is complete, cleaned; locations streamed page by page."""
    stored = [(feed, feed_zone(data_dir, feed).snapshot(day)) for feed in feeds]
    return transforms.clean_feeds(
        (
            transforms.FeedLocations(feed.operator, feed.name, read_locations(snapshot))
            for feed, snapshot in stored
            if snapshot.complete
        ),
        day=day,
    )


def feeds_metadata(status: pd.DataFrame) -> dict[str, MetadataValue]:
    """What every output of the day says about its sources: the feeds included and the feeds missing."""
    return {
        "feeds_included": MetadataValue.json(status.loc[status["included"], "operator"].tolist()),
        "feeds_missing": MetadataValue.json(status.loc[~status["included"], "operator"].tolist()),
    }


def per_feed_plots(conformance: pd.DataFrame, evses: pd.DataFrame) -> dict[str, MetadataValue]:
    """Numbers per feed, one metadata key each, so the Plots tab draws every feed over the stored days:
    its EVSEs, its out-of-order share (OUTOFORDER + INOPERATIVE) and its share of stale EVSEs."""
    out_of_order = evses["status"].isin(schema.OUT_OF_ORDER).groupby(evses["operator"]).mean()
    plots: dict[str, MetadataValue] = {}
    for operator, count, stale in conformance[["operator", "evses", "stale_evses_share"]].to_numpy().tolist():
        plots[f"{operator}/evses"] = MetadataValue.int(int(count))
        plots[f"{operator}/out_of_order_share"] = MetadataValue.float(_share(out_of_order.get(operator)))
        plots[f"{operator}/stale_evses_share"] = MetadataValue.float(_share(stale))
    return plots


def _share(value: object) -> float:
    """A share rounded for display; NaN (no EVSEs) stays NaN, which Dagster shows as a gap."""
    number = float(value) if isinstance(value, int | float) else float("nan")
    return round(number, 4) if number == number else number


def build_assets(feeds: list[Feed], *, upload: bool) -> list[AssetsDefinition]:
    """The derived assets over `feeds`; the CSV upload only when there is a bucket."""
    from_feeds = {feed_key(feed).to_user_string(): catalog.columns(FEED_FIELDS) for feed in feeds}
    feed_status = {FEEDS: catalog.columns(FeedStatus)}

    def out(
        model: type[pandera.DataFrameModel],
        layer: Layer,
        description: str,
        computed_from: dict[str, list[catalog.Source]],
    ) -> AssetOut:
        metadata = catalog.table(model, upstream=from_feeds, computed_from=computed_from, also=feed_status)
        return table_out(source=NAME, layer=layer, model=model, description=description, metadata=metadata)

    @snapshot_multi_asset(
        source=NAME,
        name=f"{NAME}_clean",
        deps=[FEEDS],
        outs={
            "uk_ocpi_locations": out(
                Locations, "clean", "One row per published location of every feed.", LOCATIONS_FROM
            ),
            "uk_ocpi_evses": out(
                Evses, "clean", "One row per EVSE (operator + uid, or evse_id), not REMOVED.", EVSES_FROM
            ),
            "uk_ocpi_connectors": out(
                Connectors, "clean", "One row per connector of those EVSEs, power in W.", CONNECTORS_FROM
            ),
            "uk_ocpi_rejects": out(
                Rejects,
                "clean",
                "Values that could not be read: where, why, the value.",
                catalog.rejects_from(FEED_FIELDS),  # type: ignore[arg-type]
            ),
            "uk_ocpi_conformance": out(
                FeedConformance, "aggregate", "Per feed: how it departs from OCPI 2.2.1.", CONFORMANCE_FROM
            ),
        },
    )
    def uk_ocpi_clean(context: AssetExecutionContext, data_dir: DataDir) -> Iterator[Output[pd.DataFrame]]:
        """The day's feeds cleaned exactly as the README says, plus each feed's conformance report."""
        day = context.partition_key
        status = included_feeds(data_dir, day)
        result = cleaned(feeds, data_dir, day)
        sources = feeds_metadata(status)
        conformance = result.conformance.assign(day=day).merge(
            status[["operator", *FETCH_COLUMNS]], on="operator", how="left"
        )
        if len(result.rejects):
            context.log.warning(f"{len(result.rejects)} values from the feeds could not be read; first: "
                                f"{result.rejects.iloc[0].to_dict()}")  # fmt: skip
        for name, frame in (
            ("uk_ocpi_locations", result.locations),
            ("uk_ocpi_evses", result.evses),
            ("uk_ocpi_connectors", result.connectors),
            ("uk_ocpi_rejects", result.rejects),
        ):
            yield Output(frame, output_name=name, metadata={**table_metadata(frame), **sources})
        yield Output(
            conformance,
            output_name="uk_ocpi_conformance",
            metadata={
                "dagster/row_count": len(conformance),
                "summary": MetadataValue.md(transforms.conformance_markdown(conformance)),
                **sources,
                **per_feed_plots(conformance, result.evses),
            },
        )

    @snapshot_asset(
        source=NAME,
        layer="aggregate",
        dagster_type=frame_type(StatusByOperator),
        kinds={"parquet"},
        metadata=catalog.table(
            StatusByOperator, upstream=FROM_EVSES, computed_from={"evses": ["uid", "evse_id"]}
        ),
    )
    def uk_ocpi_status_by_operator(uk_ocpi_evses: pd.DataFrame) -> Output[pd.DataFrame]:
        """EVSEs per operator and status on the day."""
        counts = transforms.status_by_operator(uk_ocpi_evses)
        return Output(counts, metadata=table_metadata(counts))

    @snapshot_asset(
        source=NAME,
        layer="aggregate",
        deps=["uk_ocpi_status_by_operator"],
        dagster_type=frame_type(OutOfOrderHistory),
        kinds={"parquet"},
        metadata=catalog.table(
            OutOfOrderHistory,
            upstream={"uk_ocpi_status_by_operator": catalog.columns(StatusByOperator)},
            computed_from={
                "day": [],
                "out_of_order": ["status", "evses"],
                "out_of_order_share": ["status", "evses"],
            },
        ),
    )
    def uk_ocpi_out_of_order_history(
        context: AssetExecutionContext, data_dir: DataDir
    ) -> Output[pd.DataFrame]:
        """Per stored day and operator: EVSEs, how many were OUTOFORDER or INOPERATIVE, and the share;
        metadata compares each operator's share with the snapshot 7 days before."""
        day = context.partition_key
        days = sorted({d for feed in feeds for d in feed_zone(data_dir, feed).days(up_to=day)})
        history = transforms.out_of_order_history({d: _status_of(feeds, data_dir, d) for d in days})
        baseline = week_before(day)
        weekly = transforms.out_of_order_week_over_week(history, day=day, week_before=baseline)
        return Output(
            history,
            metadata=history_metadata(history, days=days, weekly=weekly, baseline=baseline, what="snapshot"),
        )

    assets: list[AssetsDefinition] = [uk_ocpi_clean, uk_ocpi_status_by_operator, uk_ocpi_out_of_order_history]
    if upload:
        assets.append(_csv_asset())
    return assets


def _status_of(feeds: list[Feed], data_dir: DataDir, day: str) -> pd.DataFrame:
    """A stored day's EVSE status per operator: its table, else derived from its raw snapshots (the same
    numbers, so the history never depends on the order a backfill's runs finish in)."""
    table = data_dir.table_path("uk_ocpi_status_by_operator", day)
    if table.exists():
        return read_parquet(table)
    return transforms.status_by_operator(cleaned(feeds, data_dir, day).evses)


def _counts(data_dir: DataDir, day: str) -> Counts:
    evses = read_parquet(data_dir.table_path("uk_ocpi_evses", day))
    counts = pa.Table.from_pandas(transforms.charge_point_counts(evses), preserve_index=False)
    return Counts(
        iter(counts.to_batches(max_chunksize=BATCH_ROWS)),
        expected_total=len(evses),
        metadata=feeds_metadata(included_feeds(data_dir, day)),
    )


def _csv_asset() -> AssetsDefinition:
    return counts_csv_asset(
        CSV,
        source=NAME,
        dep="uk_ocpi_evses",
        description="`charge_points_UK.csv`: EVSEs per operator, parking type, connectors, max power, "
        "postcode and month updated, uploaded next to `charger_models_UK.csv` (latest and dated keys).",
        counts=_counts,
        metadata=catalog.table(
            ChargePointCounts,
            upstream=FROM_EVSES,
            computed_from={
                "Operator": ["operator_name"],
                "ParkingType": ["parking_type"],
                "Connectors": ["connector_standards"],
                "MaxPowerKW": ["max_power_kw"],
                "PostCode": ["postcode"],
                "MonthUpdated": ["last_updated"],
                "Count": ["uid", "evse_id"],
            },
        ),
    )
