"""What a data engineer sees of every asset in the catalog, for the whole code location with every
source on: columns, column lineage, owners, tags, kinds, and a description on every check and job."""

import pytest
from dagster import AssetSpec

from pipeline.definitions import build_definitions
from pipeline.sources.catalog import LINEAGE, SCHEMA
from pipeline_tests.environments import ALL_SOURCES_ON

DEFS = build_definitions(ALL_SOURCES_ON)
SPECS: dict[str, AssetSpec] = {spec.key.to_user_string(): spec for a in DEFS.assets for spec in a.specs}
TABLE_KINDS = {"parquet", "csv"}


def columns(spec: AssetSpec) -> list[str]:
    return [column.name for column in spec.metadata[SCHEMA].columns]


def test_every_table_and_every_raw_document_declares_its_columns():
    without = [
        key for key, spec in SPECS.items() if SCHEMA not in spec.metadata and "excel" not in spec.kinds
    ]
    assert without == []
    assert len([spec for spec in SPECS.values() if spec.kinds & TABLE_KINDS]) == 25  # 6 + 5 + 14 per source
    assert columns(SPECS["uk_registry_models_csv"]) == [
        "ChargeDeviceManufacturer", "LocationType", "ChargeDeviceModel", "PostCode", "MonthUpdated", "Count",
    ]  # fmt: skip
    assert columns(SPECS["econnect_state_history"]) == ["day", "state", "stations"]
    undescribed = [
        f"{key}.{column.name}"
        for key, spec in SPECS.items()
        for column in (spec.metadata[SCHEMA].columns if SCHEMA in spec.metadata else [])
        if not column.description or not column.type
    ]
    assert undescribed == []
    assert SPECS["econnect_stations"].metadata[SCHEMA].columns[1].description == (
        "Charger model; '' when the API sent none."
    )


@pytest.mark.parametrize(
    "key", sorted(k for k, s in SPECS.items() if s.tags["layer"] != "raw" and SCHEMA in s.metadata)
)
def test_every_derived_table_traces_its_columns_to_real_upstream_columns(key):
    spec = SPECS[key]
    lineage = spec.metadata[LINEAGE]
    assert lineage.deps_by_column, f"{key} has no column lineage"
    assert set(lineage.deps_by_column) <= set(columns(spec))
    for column, deps in lineage.deps_by_column.items():
        for dep in deps:
            upstream = SPECS[dep.asset_key.to_user_string()]
            assert dep.column_name in columns(upstream), f"{key}.{column} ← {dep.asset_key}.{dep.column_name}"


def test_lineage_follows_the_data_through_renames():
    def sources(key, column):
        return sorted(
            f"{d.asset_key.to_user_string()}.{d.column_name}"
            for d in SPECS[key].metadata[LINEAGE].deps_by_column[column]
        )

    assert sources("uk_registry_devices", "PostCode") == [
        "uk_registry_snapshot.ChargeDeviceLocation.Address.PostCode"
    ]
    assert sources("uk_registry_model_counts", "Count") == ["uk_registry_devices.ChargeDeviceId"]
    assert sources("uk_ocpi_charge_points_csv", "Operator") == ["uk_ocpi_evses.operator_name"]
    assert sources("uk_ocpi_evses", "operator_name") == ["uk_ocpi_feeds.name"]
    assert sources("econnect_state_history", "stations") == ["econnect_station_counts.count"]
    assert "day" not in SPECS["econnect_state_history"].metadata[LINEAGE].deps_by_column


def test_every_asset_has_an_owner_source_and_layer_tags_and_kinds_that_say_where_it_lives():
    assert {key: spec.owners for key, spec in SPECS.items() if spec.owners != ["team:ev-data"]} == {}
    layers = {spec.tags["layer"] for spec in SPECS.values()}
    assert layers == {"raw", "clean", "aggregate", "report"}
    assert {spec.tags["source"] for spec in SPECS.values()} == {"econnect", "uk_registry", "uk_ocpi"}
    kinds = {frozenset(spec.kinds) for spec in SPECS.values()}
    assert kinds == {
        frozenset({"api", "json"}),
        frozenset({"parquet"}),
        frozenset({"excel"}),
        frozenset({"csv", "s3"}),
    }
    assert SPECS["econnect_stations"].kinds == {"parquet"}  # written as Parquet, not "pandas"


def test_every_check_and_every_job_says_what_it_is_for():
    checks = [spec for a in DEFS.assets for spec in a.check_specs]
    checks += [spec for c in DEFS.asset_checks or [] for spec in c.check_specs]
    assert len(checks) > 10
    assert [str(spec.key) for spec in checks if not spec.description] == []
    assert [job.name for job in DEFS.jobs or [] if not job.description] == []
