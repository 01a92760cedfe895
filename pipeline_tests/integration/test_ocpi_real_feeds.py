"""The whole graph against fakes shaped like the UK feeds seen in 2026: Mer UK's nested envelope, an OCPI
2.1.1 back office, uids numbered per site, a BOM, a crawl cut short by a shrinking X-Total-Count, camelCase
and cursor envelopes, a non-OCPI wrapper, and the two other auth styles. charge_points_UK.csv equals an
oracle written without the project's code; the short feed is stored, flagged and alerted once per day."""

import io
from dataclasses import dataclass

import pandas as pd
import pytest
from dagster import DagsterInstance, Definitions, serialize_value
from dagster._core.execution.execute_in_process_result import ExecuteInProcessResult

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline.resources.http import HttpSettings
from pipeline.resources.storage import DataDir
from pipeline.sandbox._ocpi_variants import apply
from pipeline.sandbox.uk_ocpi import FeedSpec, OcpiSandbox, make_locations
from pipeline.sources.uk_ocpi.feed_alerts import marker
from pipeline_tests.integration import expected_ocpi as expected
from pipeline_tests.webhook import Receiver

PARTITION = today_key()
FAST = HttpSettings(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02)
SECRET = "real-feeds-secret-4b1d"  # fake
TRUNCATED, PAGE = "truncated", 10


def locations(operator: str, count: int, *variants: str) -> list[dict]:
    return apply(make_locations(operator, count, seed=5), *variants)


SPECS = (
    FeedSpec("mer_like", "Mer Like", "nested_envelope", locations("mer_like", 30, "real_statuses")),
    FeedSpec("old_211", "Old Back Office", "ocpi_link", locations("old_211", 30, "ocpi_211"), page_size=PAGE),
    FeedSpec(
        "per_site",
        "Per Site Uids",
        "ocpi_total_count",
        locations("per_site", 30, "per_site_uids", "numeric_ids"),
        page_size=7,
    ),
    FeedSpec(
        "bom_abroad",
        "Bom Abroad",
        "locations_key",
        locations("bom_abroad", 25, "abroad", "loose_timestamps"),
        quirks=frozenset({"bom"}),
    ),
    FeedSpec(TRUNCATED, "Truncated", "ocpi_link", 40, page_size=PAGE, quirks=frozenset({"shrinking_total"})),
    FeedSpec(
        "camel",
        "Camel Case",
        "ocpi_camel",
        locations("camel", 25, "power_quirks"),
        page_size=PAGE,
        quirks=frozenset({"rel_list", "wp_link", "relative_link"}),
    ),
    FeedSpec("cursor", "Cursor", "items_cursor", 25, page_size=PAGE, quirks=frozenset({"cursor_url"})),
    FeedSpec("wrapper", "Wrapper", "data_wrapper", locations("wrapper", 20, "without_location_ids")),
    FeedSpec("by_param", "By Param", "ocpi_link", 20, page_size=PAGE, token=SECRET, auth_param="apiKey"),
    FeedSpec(
        "by_header",
        "By Header",
        "ocpi_link",
        20,
        page_size=PAGE,
        token=SECRET,
        auth_header="ec-subscription-key",
    ),
)


@dataclass
class Ran:
    defs: Definitions
    instance: DagsterInstance
    result: ExecuteInProcessResult


@pytest.fixture(scope="module")
def feeds():
    with OcpiSandbox(SPECS, seed=5) as running:
        yield running


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as webhook:
        yield webhook


@pytest.fixture(scope="module")
def env(sandbox, feeds, receiver, tmp_path_factory):
    env = {
        **sandbox.env(),
        **feeds.env(),
        "PIPELINE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "PIPELINE_S3_PREFIX": "real/",
        "PIPELINE_ALERT_WEBHOOK_URL": receiver.url,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


def materialise(defs: Definitions, instance: DagsterInstance) -> Ran:
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(partition_key=PARTITION, instance=instance)
    assert result.success
    return Ran(defs, instance, result)


@pytest.fixture(scope="module")
def run(env) -> Ran:
    return materialise(build_definitions(env, http=FAST), DagsterInstance.ephemeral())


@pytest.fixture(scope="module")
def served(feeds) -> dict[str, list[dict]]:
    """What each fake served: the truncated feed stops after two pages (its total shrank to those)."""
    return {
        operator: locations[: 2 * PAGE] if operator == TRUNCATED else locations
        for operator, locations in feeds.locations.items()
    }


def oracle(feeds, served) -> list[expected.Evse]:
    return [
        evse
        for spec in feeds.specs
        for evse in expected.feed_evses(spec.operator, spec.name, served[spec.operator])
    ]


def checks(result: ExecuteInProcessResult, name: str) -> dict:
    return {
        e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations() if e.check_name == name
    }


def test_the_data_carries_the_quirks_the_rules_are_for(feeds):
    first_uids = [str(site["evses"][0].get("uid")) for site in feeds.locations["per_site"]]
    assert first_uids.count("1") > 20  # uids numbered per site: "1" at nearly every site
    connector = feeds.locations["old_211"][0]["evses"][0]["connectors"][0]
    assert "voltage" in connector and "max_voltage" not in connector
    assert {site["country"] for site in feeds.locations["bom_abroad"]} == {"GBR", "AUS"}
    assert all("id" not in site for site in feeds.locations["wrapper"])


def test_the_csv_on_s3_is_the_oracles_text(run, sandbox, feeds, served, s3_client):
    evses = oracle(feeds, served)
    assert {e.operator for e in evses} == {spec.operator for spec in SPECS}
    # per-site uids: every EVSE is there, not one per distinct uid (keyed by uid alone: 4 of them)
    uids = {str(e.get("uid")) for site in served["per_site"] for e in site["evses"] if e.get("uid")}
    assert len(uids) <= 4 < sum(e.operator == "per_site" for e in evses) == 69
    # OCPI 2.1.1: a power and a parking type for the EVSEs, from voltage/amperage and `type`
    old = [e for e in evses if e.operator == "old_211"]
    assert all(e.max_power_kw for e in old) and any(e.parking_type for e in old)
    want = expected.charge_points_csv(evses).encode("utf-8")
    for key in ("real/charge_points_UK.csv", f"real/{PARTITION}/charge_points_UK.csv"):
        assert s3_client.get_object(Bucket=sandbox.s3.bucket, Key=key)["Body"].read() == want, key


def test_every_envelope_is_read_and_named(run, env):
    path = DataDir(path=env["PIPELINE_DATA_DIR"]).table_path("uk_ocpi_feeds", PARTITION)
    status = pd.read_parquet(io.BytesIO(path.read_bytes())).set_index("operator")
    assert status["included"].all()
    assert status["wire_style"].to_dict() == {
        "mer_like": "nested_envelope",
        "old_211": "ocpi",
        "per_site": "ocpi",
        "bom_abroad": "locations_key",
        TRUNCATED: "ocpi",
        "camel": "ocpi_camel",
        "cursor": "items_cursor",
        "wrapper": "data_wrapper",
        "by_param": "ocpi",
        "by_header": "ocpi",
    }
    assert status.loc["bom_abroad", "boms"] == 1
    assert status["boms"].drop("bom_abroad").eq(0).all()


def test_the_short_feed_is_stored_but_flagged_with_both_numbers(run, env, served):
    fetched = checks(run.result, "fetched")
    assert {asset: e.passed for asset, e in fetched.items() if not e.passed} == {
        "uk_ocpi_truncated_locations": False
    }
    short = fetched["uk_ocpi_truncated_locations"]
    assert short.description == (
        "Stored, but short: below the declared total: received 20 locations, the feed declared 40 "
        "(X-Total-Count)."
    )
    assert (short.metadata["records"].value, short.metadata["expected"].value) == (20, 40)
    [included] = checks(run.result, "every_feed_included").values()
    assert not included.passed
    assert included.metadata["short"].value == {TRUNCATED: short.description[len("Stored, but short: ") : -1]}
    conformance = run.result.asset_value("uk_ocpi_conformance").set_index("operator")
    assert (conformance.loc[TRUNCATED, "records"], conformance.loc[TRUNCATED, "declared_total"]) == (20, 40)
    assert conformance.loc[TRUNCATED, "evses"] == len(expected.feed_evses(TRUNCATED, "", served[TRUNCATED]))


def test_the_non_uk_site_is_left_out_counted_and_rejected(run, feeds):
    abroad = [site for site in feeds.locations["bom_abroad"] if site["country"] == "AUS"]
    conformance = run.result.asset_value("uk_ocpi_conformance").set_index("operator")
    assert conformance.loc["bom_abroad", "non_uk_locations"] == len(abroad) == 1
    rejects = run.result.asset_value("uk_ocpi_rejects")
    assert rejects["reason"].str.contains("'AUS', not the UK").sum() == 1
    assert not run.result.asset_value("uk_ocpi_locations")["country"].eq("AUS").any()


def test_one_alert_per_feed_and_day_even_when_the_day_runs_again(run, receiver, feeds, env):
    assert [(body["feed"], body["day"]) for _, _, body in receiver.posts] == [(TRUNCATED, PARTITION)]
    [(_, _, body)] = receiver.posts
    assert body["run_id"] == run.result.run_id
    assert body["assets"] == ["uk_ocpi_truncated_locations"]
    assert "received 20 locations, the feed declared 40" in body["error"]
    asked = len(feeds.servers[TRUNCATED].requests)
    again = materialise(run.defs, run.instance)  # today is fetched again: the feed is short again
    assert again.result.success
    assert len(feeds.servers[TRUNCATED].requests) > asked
    [short] = [
        e for e in again.result.get_asset_check_evaluations() if not e.passed and e.check_name == "fetched"
    ]
    assert short.asset_key.to_user_string() == "uk_ocpi_truncated_locations"
    assert len(receiver.posts) == 1  # the day's alert was delivered already (its marker is in the lake)
    assert marker(DataDir(path=env["PIPELINE_DATA_DIR"]), PARTITION, TRUNCATED).exists()


def test_the_secret_is_sent_by_header_and_query_and_shown_nowhere(run, feeds):
    assert all(status == 200 for _, status in feeds.servers["by_param"].requests)
    assert all(status == 200 for _, status in feeds.servers["by_header"].requests)
    logs = list(run.instance.all_logs(run.result.run_id))
    assert SECRET not in serialize_value(logs)
    for event in run.result.get_asset_materialization_events():
        assert SECRET not in str(event.materialization.metadata)
