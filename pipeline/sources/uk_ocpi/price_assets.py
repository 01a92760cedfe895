"""What charging costs at each UK connector: the operators' tariffs read, each connector priced by the
README's rules, the price conformance per feed, the median price per operator and power band over the
stored days, and charge_prices_UK.csv. Thin glue over the pure `tariffs`, `prices` and
`price_aggregates` modules."""

from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext, AssetOut, AssetsDefinition, MetadataValue, Output

from pipeline.orchestration.partitions import week_before
from pipeline.resources.lake import read_parquet
from pipeline.resources.metadata import history_metadata, table_metadata
from pipeline.resources.storage import DataDir
from pipeline.sources import catalog
from pipeline.sources.contract import frame_type
from pipeline.sources.csv_output import BATCH_ROWS, Counts, CountsCsv, counts_csv_asset
from pipeline.sources.declare import Layer, snapshot_asset, snapshot_multi_asset, table_out
from pipeline.sources.uk_ocpi import NAME, price_aggregates, prices, tariffs
from pipeline.sources.uk_ocpi import price_schema as ps
from pipeline.sources.uk_ocpi.feeds import Feed
from pipeline.sources.uk_ocpi.fetch import FEED_TARIFF_FIELDS
from pipeline.sources.uk_ocpi.schema import Connectors, frame
from pipeline.sources.uk_ocpi.status import FEEDS, feed_key
from pipeline.sources.uk_ocpi.tariff_raw import stored_tariffs

PRICES = "uk_ocpi_connector_prices"
CSV = CountsCsv(
    file="charge_prices_UK.csv",
    header=ps.PRICES_CSV_HEADER,
    asset="uk_ocpi_charge_prices_csv",
    check="uploaded_connectors_equal_priced_table",
    total_column="Connectors",
)
T, P = "tariffs[].", "tariffs[].elements[].price_components[]."  # where a feed's tariff fields sit
TARIFFS_FROM: dict[str, list[catalog.Source]] = {
    "operator": [(FEEDS, "operator")],
    "tariff_id": [f"{T}id"],
    "currency": [f"{T}currency"],
    "tariff_type": [f"{T}type"],
    "element": [],
    "component_type": [f"{P}type"],
    "price": [f"{P}price"],
    "vat": [f"{P}vat"],
    "step_size": [f"{P}step_size"],
    "restrictions": [f"{T}elements[].restrictions"],
    "min_price": [f"{T}min_price"],
    "last_updated": [f"{T}last_updated"],
}
_PRICE: list[catalog.Source] = ["tariff_ids", f"{T}id", f"{T}currency", f"{T}type", f"{P}type", f"{P}price"]
CONNECTOR_PRICES_FROM: dict[str, list[catalog.Source]] = {
    "operator_name": [(FEEDS, "name")],
    "power_band": ["power_w"],
    "tariff_id": ["tariff_ids", f"{T}id", f"{T}type"],
    "tariff_feed": ["tariff_ids", f"{T}id"],
    **{name: [*_PRICE, f"{P}vat"] for name in ("price_min_p", "price_max_p", "flat_fee_p")},
    "time_price_p_per_hour": [*_PRICE, f"{P}vat"],
    "vat_stated": [*_PRICE, f"{P}vat"],
    "free": list(_PRICE),
    "price_unknown_reason": list(_PRICE),
}


CONFORMANCE_FROM: dict[str, list[catalog.Source]] = {
    "tariffs": [f"{T}id"],
    "unreadable_tariffs": [f"{T}id"],
    "duplicate_tariffs": [f"{T}id"],
    "connectors": ["tariff_ids"],
    "priced_connectors": list(_PRICE),
    "connectors_without_tariff": ["tariff_ids"],
    "connectors_tariff_not_found": ["tariff_ids", f"{T}id"],
    "tariffs_other_currency": [f"{T}currency"],
    "prices_as_text": [f"{P}price"],
    "tariffs_vat_not_stated": [f"{P}vat"],
}


def feed_tariffs(feeds: list[Feed], data_dir: DataDir, day: str) -> dict[str, tariffs.FeedTariffs | None]:
    """Each feed's stored tariffs of `day`, read; None for a feed whose tariffs could not be read."""
    return {
        feed.operator: None if (raw := stored_tariffs(data_dir, feed, day)) is None
        else tariffs.read_tariffs(feed.operator, raw)
        for feed in feeds
    }  # fmt: skip


def build_price_assets(feeds: list[Feed], *, upload: bool) -> list[AssetsDefinition]:
    """The price assets over `feeds`; the CSV upload only when there is a bucket."""
    names = {feed.operator: feed.name for feed in feeds}
    also = {feed.operator: feed.tariffs_from for feed in feeds if feed.tariffs_from}
    from_feeds = {feed_key(feed).to_user_string(): catalog.columns(FEED_TARIFF_FIELDS) for feed in feeds}
    feed_status = {FEEDS: ["operator", "name"]}

    def out(model: type, layer: Layer, description: str, metadata: dict) -> AssetOut:
        return table_out(source=NAME, layer=layer, model=model, description=description, metadata=metadata)

    @snapshot_multi_asset(
        source=NAME,
        name=f"{NAME}_prices",
        deps=[FEEDS],
        outs={
            "uk_ocpi_tariffs": out(
                ps.Tariffs,
                "clean",
                "One row per operator, tariff, element and price component, as the feeds publish them.",
                catalog.table(ps.Tariffs, upstream=from_feeds, computed_from=TARIFFS_FROM, also=feed_status),
            ),
            PRICES: out(
                ps.ConnectorPrices,
                "aggregate",
                "One row per connector of every EVSE in charge_points_UK.csv: its tariff and price, or why "
                "its price is unknown.",
                catalog.table(
                    ps.ConnectorPrices,
                    upstream={"uk_ocpi_connectors": catalog.columns(Connectors), **from_feeds},
                    computed_from=CONNECTOR_PRICES_FROM,
                    also=feed_status,
                ),
            ),
            "uk_ocpi_price_conformance": out(
                ps.PriceConformance,
                "aggregate",
                "Per feed: connectors without a tariff or with one not found, tariffs in another "
                "currency, prices sent as strings, VAT not stated.",
                catalog.table(
                    ps.PriceConformance,
                    upstream={"uk_ocpi_connectors": ["operator", "tariff_ids"], **from_feeds},
                    computed_from=CONFORMANCE_FROM,
                ),
            ),
        },
    )
    def uk_ocpi_prices(
        context: AssetExecutionContext, data_dir: DataDir, uk_ocpi_connectors: pd.DataFrame
    ) -> Iterator[Output[pd.DataFrame]]:
        """Read each feed's tariffs of the day and price every connector of the day's EVSEs."""
        day = context.partition_key
        read = feed_tariffs(feeds, data_dir, day)
        table = frame(ps.Tariffs, tariffs.tariff_rows(read))
        priced = prices.connector_prices(uk_ocpi_connectors, read, names=names, tariffs_from=also)
        conformance = price_aggregates.price_conformance(priced, read)
        unavailable = sorted(op for op, feed in read.items() if feed is None)
        if unavailable:
            context.log.warning(f"Tariffs unavailable on {day} for: {', '.join(unavailable)}")
        extra = {"tariffs_unavailable": MetadataValue.json(unavailable)}
        yield Output(table, output_name="uk_ocpi_tariffs", metadata={**table_metadata(table), **extra})
        yield Output(priced, output_name=PRICES, metadata={**table_metadata(priced), **_reasons(priced)})
        yield Output(
            conformance, output_name="uk_ocpi_price_conformance", metadata=table_metadata(conformance)
        )

    assets: list[AssetsDefinition] = [uk_ocpi_prices, _history_asset()]
    if upload:
        assets.append(_csv_asset())
    return assets


def _reasons(priced: pd.DataFrame) -> dict[str, MetadataValue]:
    """How many connectors are priced, and why the others are not."""
    reasons = priced["price_unknown_reason"].replace("", "priced").value_counts().sort_index()
    return {"prices": MetadataValue.json({str(k): int(v) for k, v in reasons.items()})}


def _history_asset() -> AssetsDefinition:
    @snapshot_asset(
        source=NAME,
        layer="aggregate",
        deps=[PRICES],
        dagster_type=frame_type(ps.PriceHistory),
        kinds={"parquet"},
        metadata=catalog.table(
            ps.PriceHistory,
            upstream={PRICES: catalog.columns(ps.ConnectorPrices)},
            computed_from={
                "day": [],
                "operator": ["operator_name"],
                "connectors": ["connector_id"],
                "priced_connectors": ["price_unknown_reason"],
                "median_p": ["price_min_p"],
            },
        ),
    )
    def uk_ocpi_price_history(context: AssetExecutionContext, data_dir: DataDir) -> Output[pd.DataFrame]:
        """Per stored day, operator and power band: connectors, priced connectors and the median price;
        metadata compares each median with the day a week before and gives numbers for the Plots tab."""
        day = context.partition_key
        days = stored_price_days(data_dir, up_to=day)
        history = price_aggregates.price_history(
            {d: price_aggregates.charge_prices(read_parquet(data_dir.table_path(PRICES, d))) for d in days}
        )
        baseline = week_before(day)
        weekly = price_aggregates.price_week_over_week(history, day=day, week_before=baseline)
        today = history.loc[history["day"] == day]
        plots = {
            f"{operator}/{band}/median_p": MetadataValue.float(round(float(value), 2))
            for operator, band, value in today[["operator", "power_band", "median_p"]].itertuples(index=False)
            if value == value
        }
        shown = history_metadata(history, days=days, weekly=weekly, baseline=baseline, what="prices")
        return Output(history, metadata={**shown, **plots})

    return uk_ocpi_price_history


def stored_price_days(data_dir: DataDir, *, up_to: str) -> list[str]:
    """The days up to `up_to` whose connector prices are stored, oldest first."""
    folder = data_dir.table_path(PRICES, up_to).parent
    if not folder.exists():
        return []
    days = (path.name.removesuffix(".parquet") for path in folder.iterdir() if path.name.endswith(".parquet"))
    return sorted(day for day in days if day <= up_to)


def _counts(data_dir: DataDir, day: str) -> Counts:
    priced = read_parquet(data_dir.table_path(PRICES, day))
    rows = pa.Table.from_pandas(price_aggregates.charge_prices(priced), preserve_index=False)
    return Counts(iter(rows.to_batches(max_chunksize=BATCH_ROWS)), expected_total=len(priced))


def _csv_asset() -> AssetsDefinition:
    return counts_csv_asset(
        CSV,
        source=NAME,
        dep=PRICES,
        description="`charge_prices_UK.csv`: per operator and power band, connectors, those priced, and "
        "the minimum, median and maximum pence per kWh, uploaded next to `charge_points_UK.csv`.",
        counts=_counts,
        metadata=catalog.table(
            ps.ChargePrices,
            upstream={PRICES: catalog.columns(ps.ConnectorPrices)},
            computed_from={
                "Operator": ["operator_name"],
                "PowerBand": ["power_band"],
                "Connectors": ["connector_id"],
                "PricedConnectors": ["price_unknown_reason"],
                **{name: ["price_min_p"] for name in ps.PRICES_CSV_HEADER[4:]},
            },
        ),
    )
