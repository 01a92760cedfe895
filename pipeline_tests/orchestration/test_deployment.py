import pytest
from upath import UPath

from pipeline.definitions import build_definitions
from pipeline.orchestration.deployment import (
    DEFAULT_OWNER,
    UNLISTED_FIRST_DAY,
    Deployment,
    first_snapshot_day,
    stored_days,
)
from pipeline.orchestration.partitions import today_key
from pipeline_tests.environments import ALL_SOURCES_ON

TODAY = "2026-12-01"


@pytest.fixture
def lake(tmp_path):
    for folder in ("raw/econnect/2026-11-20", "raw/econnect/2026-11-27", "raw/uk_ocpi/chargy/2026-11-18",
                   "raw/uk_ocpi/chargy/not-a-day", "raw/uk_registry/2026-11-25/attempt-1"):  # fmt: skip
        (tmp_path / folder).mkdir(parents=True)
    return UPath(tmp_path)


def test_stored_days_are_the_day_folders_of_every_zone_feeds_included(lake):
    assert stored_days(lake / "raw") == {"2026-11-18", "2026-11-20", "2026-11-25", "2026-11-27"}


def test_the_partitions_start_at_the_first_stored_snapshot_or_today(lake, tmp_path_factory):
    assert first_snapshot_day("", lake / "raw", today=TODAY) == "2026-11-18"
    empty = UPath(tmp_path_factory.mktemp("empty"))
    assert first_snapshot_day("", empty / "raw", today=TODAY) == TODAY
    assert first_snapshot_day(" 2026-10-01 ", lake / "raw", today=TODAY) == "2026-10-01"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("01/10/2026", r"PIPELINE_FIRST_SNAPSHOT_DAY='01/10/2026' is not a day; write YYYY-MM-DD"),
        ("2026-12-02", r"PIPELINE_FIRST_SNAPSHOT_DAY=2026-12-02 is after today \(2026-12-01 UTC\)"),
    ],
)
def test_a_first_day_that_cannot_be_is_refused_naming_the_setting(lake, setting, message):
    with pytest.raises(ValueError, match=message):
        first_snapshot_day(setting, lake / "raw", today=TODAY)


def test_owner_is_a_team_or_an_address(lake):
    assert Deployment.from_env({}, lake, today=TODAY).owner == DEFAULT_OWNER == "team:ev-data"
    assert (
        Deployment.from_env({"PIPELINE_OWNER": "ops@example.org"}, lake, today=TODAY).owner
        == "ops@example.org"
    )
    with pytest.raises(ValueError, match=r"PIPELINE_OWNER='data team': write an e-mail address or team:NAME"):
        Deployment.from_env({"PIPELINE_OWNER": "data team"}, lake, today=TODAY)


def test_in_an_empty_lake_today_is_the_only_day_so_nothing_looks_missing():
    [partitions] = {a.partitions_def for a in build_definitions(ALL_SOURCES_ON).assets}
    assert partitions.get_partition_keys() == [today_key()]


def test_every_asset_gets_the_owner_and_the_deployments_partitions(tmp_path):
    (tmp_path / "raw" / "econnect" / "2026-11-02").mkdir(parents=True)
    env = {**ALL_SOURCES_ON, "PIPELINE_DATA_DIR": str(tmp_path), "PIPELINE_OWNER": "team:charging"}
    defs = build_definitions(env)
    assets = list(defs.assets)
    assert {spec.owners[0] for a in assets for spec in a.specs} == {"team:charging"}
    keys = {a.partitions_def.get_partition_keys()[0] for a in assets}
    assert keys == {"2026-11-02"}
    assert {a.partitions_def.get_partition_keys()[-1] for a in assets} == {today_key()}


def test_a_lake_that_cannot_be_listed_does_not_stop_loading(caplog):
    # No S3 server and no credentials here: the listing fails, the code location still loads.
    defs = build_definitions({**ALL_SOURCES_ON, "PIPELINE_DATA_DIR": "s3://lake-bucket/prefix"})
    [first] = {a.partitions_def.get_partition_keys()[0] for a in defs.assets}
    assert first == UNLISTED_FIRST_DAY
    assert "Could not list s3://lake-bucket/prefix/raw to find the first snapshot day" in caplog.text
    assert "Set PIPELINE_FIRST_SNAPSHOT_DAY to skip the listing" in caplog.text


def test_on_an_s3_lake_everything_the_lake_holds_says_s3(tmp_path):
    env = {
        **ALL_SOURCES_ON,
        "PIPELINE_DATA_DIR": "s3://lake-bucket/prefix",
        "PIPELINE_FIRST_SNAPSHOT_DAY": TODAY,
    }
    defs = build_definitions(env)
    kinds = {spec.key.to_user_string(): spec.kinds for a in defs.assets for spec in a.specs}
    assert kinds["econnect_stations"] == {"parquet", "s3"}
    assert kinds["econnect_station_pages"] == {"api", "json", "s3"}
    assert kinds["econnect_station_report"] == {"excel", "s3"}
    local = build_definitions(ALL_SOURCES_ON)
    assert {spec.key.to_user_string(): spec.kinds for a in local.assets for spec in a.specs}[
        "econnect_stations"
    ] == {"parquet"}
