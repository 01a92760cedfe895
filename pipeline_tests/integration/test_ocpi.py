"""The UK OCPI feeds through the whole graph, in process, against the sandbox's fake operators: one feed
is down (500 on every request) and the run still writes charge_points_UK.csv from all the others, exactly
as an oracle computed from the served locations says; one feed can be fetched again on its own."""

import io
import logging
import re
from dataclasses import dataclass

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, serialize_value
from dagster._core.execution.execute_in_process_result import ExecuteInProcessResult

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline.resources.http import HttpSettings
from pipeline.resources.storage import DataDir
from pipeline_tests.integration import expected_ocpi as expected

PARTITION = today_key()
DOWN = "sandbox_down"
TOKEN_FEED = "sandbox_token"
FAST = HttpSettings(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02)
CSV_FILE = "charge_points_UK.csv"


def feed_asset(operator: str) -> str:
    return f"uk_ocpi_{operator}_locations"


def request_counts(sandbox) -> dict[str, int]:
    """Requests to each feed's Locations endpoint (its tariffs are counted in their own snapshot)."""
    return {
        operator: sum(path.startswith("/ocpi/2.2.1/locations") for path, _ in server.requests)
        for operator, server in sandbox.ocpi.servers.items()
    }


@dataclass
class Ran:
    defs: Definitions
    instance: DagsterInstance
    result: ExecuteInProcessResult
    before: dict[str, int]  # requests each fake had answered before the run (the sandbox is shared)
    after: dict[str, int]

    def requests(self, operator: str) -> int:
        return self.after[operator] - self.before[operator]


def materialise(defs: Definitions, instance: DagsterInstance, sandbox, **options) -> Ran:
    before = request_counts(sandbox)
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(partition_key=PARTITION, instance=instance, **options)
    return Ran(defs, instance, result, before, request_counts(sandbox))


@pytest.fixture(scope="module")
def run(sandbox, sandbox_env) -> Ran:
    ran = materialise(build_definitions(sandbox_env, http=FAST), DagsterInstance.ephemeral(), sandbox)
    assert ran.result.success
    return ran


@pytest.fixture(scope="module")
def refetch(run, sandbox) -> Ran:
    """After the full run: the token feed fetched again, with the day's feed status and nothing else."""
    keys = [AssetKey(feed_asset(TOKEN_FEED)), AssetKey("uk_ocpi_feeds")]
    ran = materialise(run.defs, run.instance, sandbox, asset_selection=keys)
    assert ran.result.success
    return ran


@pytest.fixture(scope="module")
def up(sandbox) -> list[str]:
    """The feeds that answer, in feed-list order."""
    operators = [spec.operator for spec in sandbox.ocpi.specs]
    assert DOWN in operators and TOKEN_FEED in operators
    return [operator for operator in operators if operator != DOWN]


@pytest.fixture(scope="module")
def evses(sandbox, up) -> list[expected.Evse]:
    return expected.all_evses(sandbox, up)


def metadata(result: ExecuteInProcessResult, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {name: value.value for name, value in event.materialization.metadata.items()}


def checks(result: ExecuteInProcessResult, name: str) -> dict:
    return {
        e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations() if e.check_name == name
    }


def test_the_csv_on_s3_is_the_oracles_text_from_every_feed_but_the_down_one(run, sandbox, s3_client, evses):
    # the served data carries the rules' edge cases: boundary powers, messy and missing postcodes
    assert {"7.4", "22", "22.1", "150", "3.7", "9.6", "14.7"} <= {e.max_power_kw for e in evses}
    assert {"TW6 2RQ", ""} <= {e.postcode for e in evses}
    want = expected.charge_points_csv(evses).encode("utf-8")
    for key in (f"exports/{CSV_FILE}", f"exports/{PARTITION}/{CSV_FILE}"):
        body = s3_client.get_object(Bucket=sandbox.s3.bucket, Key=key)["Body"].read()
        assert body == want, key
    csv = metadata(run.result, "uk_ocpi_charge_points_csv")
    assert csv["uri"] == f"s3://{sandbox.s3.bucket}/exports/{CSV_FILE}"
    assert csv["dagster/row_count"] == want.count(b"\n") - 1


def test_the_down_feed_is_retried_then_left_out_and_named(run, sandbox):
    assert run.requests(DOWN) == FAST.max_attempts
    assert {status for _, status in sandbox.ocpi.servers[DOWN].requests[run.before[DOWN] :]} == {500}
    materialised = {e.asset_key.to_user_string() for e in run.result.get_asset_materialization_events()}
    assert feed_asset(DOWN) not in materialised
    logs = run.instance.all_logs(run.result.run_id)
    errors = [e.user_message for e in logs if e.level == logging.ERROR and DOWN in e.user_message]
    assert errors, "the run's log should name the feed that failed in an ERROR event"


def test_only_the_down_feeds_fetched_check_fails(run, up):
    fetched = checks(run.result, "fetched")
    assert {asset: e.passed for asset, e in fetched.items()} == {
        **{feed_asset(operator): True for operator in up},
        feed_asset(DOWN): False,
    }
    [included] = checks(run.result, "every_feed_included").values()
    assert not included.passed
    assert DOWN in (included.description or "")
    assert list(included.metadata["missing"].value) == [DOWN]


@pytest.mark.parametrize("asset", ["uk_ocpi_feeds", "uk_ocpi_evses", "uk_ocpi_charge_points_csv"])
def test_outputs_list_the_feeds_included_and_missing(run, up, asset):
    shown = metadata(run.result, asset)
    assert sorted(shown["feeds_included"]) == sorted(up)
    assert shown["feeds_missing"] == [DOWN]


def test_each_feeds_materialisation_says_what_its_fetch_took(run, sandbox, up):
    specs = {spec.operator: spec for spec in sandbox.ocpi.specs}
    for operator in up:
        served = len(sandbox.ocpi.locations[operator])
        pages = expected.pages(specs[operator], served)
        shown = metadata(run.result, feed_asset(operator))
        assert {
            key: shown[key] for key in ("pages", "records", "http_requests", "http_retries", "wire_style")
        } == {
            "pages": pages,
            "records": served,
            "http_requests": run.requests(operator),
            "http_retries": 0,
            "wire_style": expected.WIRE_STYLES[specs[operator].style],
        }, operator
        assert run.requests(operator) == pages, operator


def test_refetching_one_feed_asks_only_that_feed(refetch, sandbox, sandbox_env, up):
    asked = {operator for operator in sandbox.ocpi.servers if refetch.requests(operator)}
    assert asked == {TOKEN_FEED}
    spec = next(spec for spec in sandbox.ocpi.specs if spec.operator == TOKEN_FEED)
    assert refetch.requests(TOKEN_FEED) == expected.pages(spec, len(sandbox.ocpi.locations[TOKEN_FEED]))
    shown = metadata(refetch.result, "uk_ocpi_feeds")
    assert sorted(shown["feeds_included"]) == sorted(up)
    assert shown["feeds_missing"] == [DOWN]
    path = DataDir(path=sandbox_env["PIPELINE_DATA_DIR"]).table_path("uk_ocpi_feeds", PARTITION)
    status = pd.read_parquet(io.BytesIO(path.read_bytes()))
    assert dict(zip(status["operator"], status["status"], strict=True)) == {
        **{operator: "stored earlier" for operator in up},
        TOKEN_FEED: "fetched",
        DOWN: "not fetched",
    }


def test_the_token_is_in_no_log_event_and_no_metadata(run, refetch, sandbox):
    token = sandbox.env()["SANDBOX_OCPI_TOKEN"]
    assert token and run.requests(TOKEN_FEED) > 0 and refetch.requests(TOKEN_FEED) > 0
    for ran in (run, refetch):
        logs = list(ran.instance.all_logs(ran.result.run_id))
        assert token not in serialize_value(logs)
        for event in ran.result.get_asset_materialization_events():
            assert token not in serialize_value(event.materialization.metadata)
            assert token not in str(event.materialization.metadata)


def test_evses_and_conformance_match_the_oracle(run, sandbox, up, evses):
    table = run.result.asset_value("uk_ocpi_evses")
    assert len(table) == len(evses)
    assert metadata(run.result, "uk_ocpi_evses")["dagster/row_count"] == len(evses)
    conformance = run.result.asset_value("uk_ocpi_conformance")
    assert sorted(conformance["operator"]) == sorted(up)
    per_operator = {op: sum(1 for e in evses if e.operator == op) for op in up}
    assert dict(zip(conformance["operator"], conformance["evses"], strict=True)) == per_operator
    records = {op: len(sandbox.ocpi.locations[op]) for op in up}
    assert dict(zip(conformance["operator"], conformance["records"], strict=True)) == records
    summary = metadata(run.result, "uk_ocpi_conformance")["summary"]
    shown = re.sub(r"\\(.)", r"\1", summary)  # the text a reader sees, markdown escapes undone
    names = {spec.operator: spec.name for spec in sandbox.ocpi.specs}
    for operator in up:
        assert f"{names[operator]} ({operator})" in shown, operator
    assert DOWN not in shown


def test_status_by_operator_and_history_add_up_to_the_evses(run, up, evses):
    status = run.result.asset_value("uk_ocpi_status_by_operator")
    counts = {(op, st): n for op, st, n in status[["operator", "status", "evses"]].itertuples(index=False)}
    assert counts == dict(expected.status_counts(evses))
    assert status["evses"].sum() == len(evses)
    history = run.result.asset_value("uk_ocpi_out_of_order_history")
    assert list(zip(history["day"], history["operator"], strict=True)) == [
        (PARTITION, op) for op in sorted(up)
    ]
    assert history["evses"].sum() == len(evses)
    broken = expected.out_of_order(evses)
    assert dict(zip(history["operator"], history["out_of_order"], strict=True)) == {
        op: broken[op] for op in up
    }


def test_conformance_has_a_row_per_feed_and_day_and_numbers_per_feed_for_the_plots(run, up, evses):
    conformance = run.result.asset_value("uk_ocpi_conformance")
    assert list(conformance["day"].unique()) == [PARTITION]
    shown = metadata(run.result, "uk_ocpi_conformance")
    broken = expected.out_of_order(evses)
    for operator in up:
        total = sum(1 for e in evses if e.operator == operator)
        assert shown[f"{operator}/evses"] == total, operator
        assert shown[f"{operator}/out_of_order_share"] == round(broken[operator] / total, 4), operator
        stale = conformance.loc[conformance["operator"] == operator, "stale_evses_share"].item()
        assert shown[f"{operator}/stale_evses_share"] == round(stale, 4), operator
    # The sandbox's EVSEs were all updated in 2024-2025, long before today: every one is stale.
    assert set(conformance["stale_evses_share"]) == {1.0}
    assert not any(key.startswith(f"{DOWN}/") for key in shown)


def published_tariffs(sandbox) -> dict[str, list[dict] | None]:
    """What each fake publishes as tariffs, where the reader finds them (None: its endpoint is down)."""
    in_document = ("data_document", "nested_envelope")
    return {
        spec.operator: None
        if spec.tariffs_down
        else sandbox.ocpi.tariffs(spec.operator)
        if spec.tariffs in ("paged", "per_id") or spec.style in in_document
        else []
        for spec in sandbox.ocpi.specs
    }


def test_the_prices_csv_is_the_oracles_text(run, sandbox, s3_client, up):
    specs = {spec.operator: spec for spec in sandbox.ocpi.specs}
    rows = expected.connector_prices(
        {op: (specs[op].name, sandbox.ocpi.locations[op]) for op in up},
        published_tariffs(sandbox),
        {op: spec.tariffs_from for op, spec in specs.items()},
    )
    # the served data prices some connectors (own tariffs, another feed's, one per request) and not others
    # (a tariffs endpoint down, feeds publishing none)
    assert 0 < sum(price is not None for _, _, price in rows) < len(rows)
    want = expected.charge_prices_csv(rows).encode("utf-8")
    for key in ("exports/charge_prices_UK.csv", f"exports/{PARTITION}/charge_prices_UK.csv"):
        assert s3_client.get_object(Bucket=sandbox.s3.bucket, Key=key)["Body"].read() == want, key
    priced = run.result.asset_value("uk_ocpi_connector_prices")
    assert len(priced) == len(rows)
    reasons = dict(priced["price_unknown_reason"].value_counts())
    assert set(reasons) == {
        "",
        "no_tariff",
        "tariff_not_found",
        "tariffs_unavailable",
        "currency:EUR",
        "currency:USD",
        "no_energy_price",
    }
    link = priced.loc[priced["operator"] == "sandbox_link"]
    assert {"0.0", "12.35", "50.39", "78.0"} <= {str(p) for p in link["price_min_p"].dropna()}
    assert link["free"].sum() > 0
    down = priced.loc[priced["operator"] == "sandbox_total_count", "price_unknown_reason"]
    assert set(down) == {"tariffs_unavailable"}
    polite = priced.loc[priced["operator"] == "sandbox_polite"]
    assert set(polite["tariff_feed"]) == {"sandbox_link"} and set(polite["price_unknown_reason"]) == {""}


def test_price_history_has_todays_medians_and_numbers_for_the_plots(run):
    history = run.result.asset_value("uk_ocpi_price_history")
    assert set(history["day"]) == {PARTITION}
    shown = metadata(run.result, "uk_ocpi_price_history")
    today = history.dropna(subset=["median_p"])
    assert len(today) > 0
    for operator, band, value in today[["operator", "power_band", "median_p"]].itertuples(index=False):
        assert shown[f"{operator}/{band}/median_p"] == round(value, 2)
