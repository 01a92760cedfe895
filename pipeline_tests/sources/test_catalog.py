import pandera.pandas as pa
import pytest
from dagster import AssetKey, TableColumnDep
from pandera.typing import Series

from pipeline.sources import catalog
from pipeline.sources.econnect.schema import StationRecord
from pipeline.sources.uk_registry.schema import ChargeDeviceRecord


class Counts(pa.DataFrameModel):
    maker: Series[str] = pa.Field(description="Who made it.")
    PostCode: Series[str]
    day: Series[str]
    Count: Series[int]


def deps(lineage, column):
    return [(dep.asset_key.to_user_string(), dep.column_name) for dep in lineage.deps_by_column[column]]


def test_record_schemas_flatten_nested_records_into_dotted_paths_with_their_types():
    registry = catalog.record_schema(ChargeDeviceRecord, record="device")
    assert [(c.name, c.type) for c in registry.columns] == [
        ("ChargeDeviceId", "str"),
        ("ChargeDeviceModel", "str | null"),
        ("ChargeDeviceManufacturer", "str | null"),
        ("LocationType", "str | null"),
        ("DateUpdated", "str | null"),
        ("ChargeDeviceLocation.Address.PostCode", "str | null"),
    ]
    assert registry.columns[0].description == "`ChargeDeviceId` of each device."
    stations = catalog.record_schema(StationRecord, prefix="content[].")
    assert [(c.name, c.type) for c in stations.columns][:2] == [
        ("content[].id", "str | int"),
        ("content[].modelInfo", "str | null"),
    ]


def test_lineage_takes_same_named_columns_and_the_declared_exceptions():
    metadata = catalog.table(
        Counts,
        upstream={"devices": ["maker", "PostCode", "DeviceId"], "raw": ["PostCode"]},
        computed_from={"day": [], "Count": ["DeviceId"]},
    )
    assert [c.name for c in metadata[catalog.SCHEMA].columns] == ["maker", "PostCode", "day", "Count"]
    assert metadata[catalog.SCHEMA].columns[0].description == "Who made it."
    lineage = metadata[catalog.LINEAGE]
    assert deps(lineage, "maker") == [("devices", "maker")]
    assert deps(lineage, "PostCode") == [("devices", "PostCode"), ("raw", "PostCode")]
    assert deps(lineage, "Count") == [("devices", "DeviceId")]
    assert "day" not in lineage.deps_by_column  # computed from no upstream column: the snapshot day
    assert lineage.deps_by_column["maker"] == [
        TableColumnDep(asset_key=AssetKey("devices"), column_name="maker")
    ]


def test_a_column_named_with_its_asset_is_looked_up_there_only():
    lineage = catalog.lineage(
        ["maker"], {"raw": ["maker"]}, {"maker": [("feeds", "name")]}, also={"feeds": ["name", "maker"]}
    )
    assert deps(lineage, "maker") == [("feeds", "name")]


def test_lineage_that_points_nowhere_is_a_definition_error():
    with pytest.raises(
        ValueError, match=r"column `Count` is computed from `DeviceID`, which no upstream has"
    ):
        catalog.table(Counts, upstream={"devices": ["DeviceId"]}, computed_from={"Count": ["DeviceID"]})
    with pytest.raises(ValueError, match=r"names columns the table does not have: \['Total'\]"):
        catalog.table(Counts, upstream={"devices": ["DeviceId"]}, computed_from={"Total": ["DeviceId"]})


def test_a_rejects_table_traces_its_record_to_every_raw_field():
    raw = catalog.record_schema(StationRecord)
    assert catalog.rejects_from(raw) == {
        "location": [],
        "reason": [],
        "record": ["id", "modelInfo", "installDate", "type", "state"],
    }


def test_columns_are_read_from_a_contract_or_a_schema_alike():
    names = ["maker", "PostCode", "day", "Count"]
    assert catalog.columns(Counts) == names
    assert catalog.columns(catalog.schema_of(Counts)) == names
    assert catalog.schema_of(catalog.record_schema(StationRecord)) == catalog.record_schema(StationRecord)
