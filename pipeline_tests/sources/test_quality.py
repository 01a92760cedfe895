import pandas as pd
import pydantic
import pytest
from dagster import AssetCheckSeverity, AssetKey

from pipeline.sources.quality import (
    QualitySettings,
    cleaning_check_specs,
    distinct_ids_check,
    reject_share_check,
    totals_check,
    unique_ids_check,
)


def test_quality_settings_default_and_bounds_are_accepted():
    assert QualitySettings().max_reject_share == 0.01
    assert QualitySettings(max_reject_share=0.0).max_reject_share == 0.0
    assert QualitySettings(max_reject_share=1.0).max_reject_share == 1.0


@pytest.mark.parametrize(("share", "error_type"), [(-0.01, "greater_than_equal"), (1.5, "less_than_equal")])
def test_quality_settings_rejects_a_share_outside_zero_to_one(share, error_type):
    with pytest.raises(pydantic.ValidationError) as raised:
        QualitySettings(max_reject_share=share)
    [error] = raised.value.errors()
    assert error["loc"] == ("max_reject_share",)
    assert error["type"] == error_type


def test_cleaning_check_specs_declares_blocking_unique_ids_and_reject_share():
    unique, share = cleaning_check_specs("stations", "station_rejects")
    assert (unique.name, unique.asset_key, unique.blocking) == ("ids_unique", AssetKey("stations"), True)
    assert unique.description == "Each id appears once in the table; blocks what is derived from it if not."
    assert (share.name, share.asset_key, share.blocking) == (
        "reject_share",
        AssetKey("station_rejects"),
        False,
    )
    assert share.description == "At most PIPELINE_MAX_REJECT_SHARE of the records may break the contract."
    assert len(cleaning_check_specs("stations", "station_rejects")) == 2


@pytest.mark.parametrize(
    ("rejected", "passed", "percent"),
    [(9, True, "0.90%"), (10, True, "1.00%"), (11, False, "1.10%")],
    ids=["below-limit", "at-limit", "above-limit"],
)
def test_reject_share_check_around_the_limit(rejected, passed, percent):
    result = reject_share_check("station_rejects", rejected=rejected, received=1000, limit=0.01)
    assert result.passed is passed
    assert result.asset_key == AssetKey("station_rejects")
    assert result.check_name == "reject_share"
    assert result.severity == AssetCheckSeverity.ERROR
    assert result.description == (f"{rejected} of 1000 records broke the contract ({percent}; limit 1.00%).")
    assert {key: value.value for key, value in result.metadata.items()} == {
        "rejected": rejected,
        "received": 1000,
        "share": rejected / 1000,
    }


def test_reject_share_check_with_no_records_received_passes_with_zero_share():
    result = reject_share_check("station_rejects", rejected=0, received=0, limit=0.0)
    assert result.passed is True
    assert result.severity == AssetCheckSeverity.ERROR
    assert result.description == "0 of 0 records broke the contract (0.00%; limit 0.00%)."
    assert {key: value.value for key, value in result.metadata.items()} == {
        "rejected": 0,
        "received": 0,
        "share": 0.0,
    }


def test_unique_ids_check_passes_when_every_id_is_distinct():
    result = unique_ids_check("stations", pd.Series(["a", "b", "c"]))
    assert result.passed is True
    assert result.asset_key == AssetKey("stations")
    assert result.check_name == "ids_unique"
    assert result.metadata["duplicated_ids"].value == 0
    assert result.metadata["examples"].data == []


def test_unique_ids_check_counts_surplus_rows_and_names_duplicated_ids():
    # "a" three times, "c" twice: 7 rows, 4 distinct ids, so 3 rows too many.
    result = unique_ids_check("stations", pd.Series(["a", "b", "a", "c", "c", "a", "d"]))
    assert result.passed is False
    assert result.severity == AssetCheckSeverity.ERROR
    assert result.metadata["duplicated_ids"].value == 3
    assert result.metadata["examples"].data == ["a", "c"]


def test_unique_ids_check_keeps_at_most_five_examples_in_first_seen_order():
    ids = pd.Series([f"id-{n}" for n in range(7)] * 2)
    result = unique_ids_check("stations", ids)
    assert result.passed is False
    assert result.metadata["duplicated_ids"].value == 7
    assert result.metadata["examples"].data == ["id-0", "id-1", "id-2", "id-3", "id-4"]


def test_distinct_ids_check_compares_rows_with_distinct_count():
    ok = distinct_ids_check("chargers", rows=5, distinct=5, examples=[])
    assert ok.passed is True
    assert ok.metadata["duplicated_ids"].value == 0
    bad = distinct_ids_check("chargers", rows=5, distinct=3, examples=["x", "y"])
    assert bad.passed is False
    assert bad.asset_key == AssetKey("chargers")
    assert bad.check_name == "ids_unique"
    assert bad.metadata["duplicated_ids"].value == 2
    assert bad.metadata["examples"].data == ["x", "y"]


def test_totals_check_passes_when_every_total_matches():
    result = totals_check("counts", "sheets_sum_to_stations", {"by_state": 12, "by_model": 12}, 12)
    assert result.passed is True
    assert result.asset_key == AssetKey("counts")
    assert result.check_name == "sheets_sum_to_stations"
    assert result.description == "Every total must equal 12."
    assert result.metadata["expected"].value == 12
    assert result.metadata["totals"].data == {"by_state": 12, "by_model": 12}


def test_totals_check_names_only_the_wrong_totals_in_the_description():
    totals = {"by_state": 12, "by_model": 11, "by_operator": 13}
    result = totals_check("counts", "sheets_sum_to_stations", totals, 12)
    assert result.passed is False
    assert (
        result.description == "Every total must equal 12. These do not: {'by_model': 11, 'by_operator': 13}"
    )
    assert result.metadata["expected"].value == 12
    assert result.metadata["totals"].data == totals
