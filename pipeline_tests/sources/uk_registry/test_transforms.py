import csv
import io
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.resources.json_array import array_items
from pipeline.sources.contract import rejects_frame
from pipeline.sources.csv_output import csv_count_total, write_counts_csv
from pipeline.sources.uk_registry.schema import (
    CSV_HEADER,
    ChargeDeviceRecord,
    ChargeDevices,
    ChargerModelCounts,
)
from pipeline.sources.uk_registry.staging import clean_devices_to, distinct_ids
from pipeline.sources.uk_registry.transforms import (
    charger_model_counts,
    latest_mask,
    manufacturer_history,
    week_over_week,
)


def device(device_id, model="Wallbox", maker="ACME", location="On-street", postcode="TW6 2RQ",
           updated="2023-05-12 10:22:01"):  # fmt: skip
    return {
        "ChargeDeviceId": device_id,
        "ChargeDeviceModel": model,
        "ChargeDeviceManufacturer": maker,
        "LocationType": location,
        "DateUpdated": updated,
        "ChargeDeviceLocation": {"Latitude": "51.47", "Address": {"PostCode": postcode, "Country": "gb"}},
        "Connector": [{"ConnectorId": "1"}],
    }


@dataclass
class Cleaned:
    table: pa.Table
    rejects: pd.DataFrame
    without_model: int
    duplicates: int


@pytest.fixture
def clean(tmp_path):
    """Clean records the way the asset does (Parquet staging, dedupe, filter) and read the table back."""
    runs = iter(range(1000))

    def run(records):
        path = tmp_path / f"devices-{next(runs)}.parquet"
        document = io.BytesIO(json.dumps({"Scheme": {}, "ChargeDevice": records}).encode("utf-8"))
        # Tiny chunks: every record boundary is a cut the reader must find and check.
        chunks = array_items(document, "ChargeDevice", ChargeDeviceRecord, chunk_bytes=64)
        cleaned = clean_devices_to(path, chunks)
        return Cleaned(
            pq.read_table(path), rejects_frame(cleaned.rejects), cleaned.without_model, cleaned.duplicates
        )

    return run


def csv_bytes(counts: pa.Table) -> bytes:
    out = io.StringIO(newline="")
    write_counts_csv(counts.to_batches(), out, CSV_HEADER)
    return out.getvalue().encode("utf-8")


def test_devices_without_model_are_skipped_and_null_keys_become_empty(clean):
    records = [
        device("a"),
        device("b", model=None),
        device("c", model=""),
        device("d", maker=None, location=None, postcode=None, updated=None),
        {**device("e"), "ChargeDeviceLocation": None},
    ]
    devices = clean(records)
    table = devices.table.to_pandas()
    ChargeDevices.validate(table)
    assert list(table["ChargeDeviceId"]) == ["a", "d", "e"]
    assert devices.without_model == 2
    assert table.set_index("ChargeDeviceId").loc["d"].to_dict() == {
        "ChargeDeviceManufacturer": "",
        "LocationType": "",
        "ChargeDeviceModel": "Wallbox",
        "PostCode": "",
        "MonthUpdated": "",
        "DateUpdated": "",
    }


def test_each_device_id_counts_once_and_bad_records_are_rejected(clean):
    records = [device("a"), device("a"), device(17), "junk", device("b", model=["x"])]
    devices = clean(records)
    assert devices.table["ChargeDeviceId"].to_pylist() == ["a"]
    assert devices.duplicates == 1
    assert list(devices.rejects["location"]) == ["ChargeDevice[2]", "ChargeDevice[3]", "ChargeDevice[4]"]
    assert list(devices.rejects["reason"]) == [
        "ChargeDeviceId: Expected `str`, got `int`",
        "record: Expected `object`, got `str`",
        "ChargeDeviceModel: Expected `str | null`, got `array`",
    ]
    assert devices.rejects.loc[1, "record"] == '"junk"'
    assert json.loads(devices.rejects.loc[0, "record"]) == device(17)


def test_counts_keep_devices_with_null_keys_and_sort_by_the_five_keys(clean):
    records = [
        device("1", maker="Zeta", postcode="tw62rq"),
        device("2", maker="Zeta", postcode=" TW6 2RQ"),
        device("3", maker=None),
        device("4", maker="Alpha", location=None, updated=None),
    ]
    counts = charger_model_counts(clean(records).table).to_pandas()
    ChargerModelCounts.validate(counts)
    assert counts.values.tolist() == [
        ["", "On-street", "Wallbox", "TW6 2RQ", "2023-05", 1],
        ["Alpha", "", "Wallbox", "TW6 2RQ", "", 1],
        ["Zeta", "On-street", "Wallbox", "TW6 2RQ", "2023-05", 2],
    ]
    assert counts["Count"].sum() == 4


def test_csv_text_is_exact(clean):
    records = [
        device("1", maker="Zeta", postcode="tw62rq"),
        device("2", maker="Zeta", postcode="tw6 2rq"),
        device("3", maker=None, model='Pulsar "Plus", 22kW', updated=None),
        device("4", model="=HYPERLINK(1)", location="Line\nbreak"),
    ]
    text = csv_bytes(charger_model_counts(clean(records).table)).decode("utf-8")
    assert text == (
        "ChargeDeviceManufacturer,LocationType,ChargeDeviceModel,PostCode,MonthUpdated,Count\n"
        ',On-street,"Pulsar ""Plus"", 22kW",TW6 2RQ,,1\n'
        'ACME,"Line\nbreak",=HYPERLINK(1),TW6 2RQ,2023-05,1\n'
        "Zeta,On-street,Wallbox,TW6 2RQ,2023-05,2\n"
    )
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[1][2] == 'Pulsar "Plus", 22kW' and parsed[2][1] == "Line\nbreak"
    assert csv_count_total(io.StringIO(text, newline="")) == 4


def test_csv_of_no_devices_is_the_header_alone(clean):
    counts = charger_model_counts(clean([]).table)
    assert (
        csv_bytes(counts)
        == b"ChargeDeviceManufacturer,LocationType,ChargeDeviceModel,PostCode,MonthUpdated,Count\n"
    )


def test_manufacturer_history_and_week_over_week(clean):
    week_before = charger_model_counts(clean([device("1", maker="A"), device("2", maker="B")]).table)
    today = charger_model_counts(
        clean([device("1", maker="A"), device("3", maker="A"), device("4", maker="C")]).table
    )
    history = manufacturer_history({"2026-11-25": today.to_pandas(), "2026-11-18": week_before.to_pandas()})
    assert history.values.tolist() == [
        ["2026-11-18", "A", 1],
        ["2026-11-18", "B", 1],
        ["2026-11-25", "A", 2],
        ["2026-11-25", "C", 1],
    ]
    weekly = week_over_week(
        history, key="ChargeDeviceManufacturer", value="devices", day="2026-11-25", week_before="2026-11-18"
    )
    assert weekly.values.tolist() == [["A", 1, 2, 1], ["B", 1, 0, -1], ["C", 0, 1, 1]]


def test_counts_of_a_table_stored_in_several_row_groups_with_their_own_dictionaries(clean, tmp_path):
    """Regression: registries over one batch (50,000 devices) are written in several row groups, and
    reading the keys dictionary-encoded gave each its own dictionary, which grouping refused."""
    first = clean([device("1", maker="A"), device("2", maker="B")]).table
    second = clean([device("3", maker="C"), device("4", maker="A")]).table
    path = tmp_path / "devices.parquet"
    with pq.ParquetWriter(path, first.schema) as writer:
        writer.write_table(first)
        writer.write_table(second)
    keys = ["ChargeDeviceManufacturer", "LocationType", "ChargeDeviceModel", "PostCode", "MonthUpdated"]
    stored = pq.read_table(path, columns=keys, read_dictionary=keys)
    counts = charger_model_counts(stored).to_pandas()
    assert counts[["ChargeDeviceManufacturer", "Count"]].values.tolist() == [["A", 2], ["B", 1], ["C", 1]]


def test_latest_mask_keeps_the_last_position_of_each_id_even_when_hashes_collide(monkeypatch):
    ids = ["a", "b", "a", "c", "b", "d"]
    batches = lambda: [(pa.array(ids[:3]), pa.array([0, 1, 2])), (pa.array(ids[3:]), pa.array([3, 4, 6]))]  # noqa: E731
    assert latest_mask(batches, 7).tolist() == [False, False, True, True, True, False, True]
    # Every id hashing alike must not merge different devices: the suspects are compared by id.
    monkeypatch.setattr("builtins.hash", lambda value: 42)
    assert latest_mask(batches, 7).tolist() == [False, False, True, True, True, False, True]
    # Hashes computed while staging (all colliding here) give the same answer, ids compared from the batches.
    hashed = [(np.full(3, 42), np.array([0, 1, 2])), (np.full(3, 42), np.array([3, 4, 6]))]
    assert latest_mask(batches, 7, hashed=hashed).tolist() == [False, False, True, True, True, False, True]


def test_distinct_ids_of_a_stored_table_counts_repeats(tmp_path):
    path = tmp_path / "devices.parquet"
    with pq.ParquetWriter(path, pa.schema([("ChargeDeviceId", pa.string())])) as writer:
        writer.write_table(pa.table({"ChargeDeviceId": ["a", "b"]}))
        writer.write_table(pa.table({"ChargeDeviceId": ["a", "c"]}))
    assert distinct_ids(path) == (4, 3)
