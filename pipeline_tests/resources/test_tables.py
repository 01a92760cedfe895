"""The `ParquetTables` IO manager: one Parquet file per asset and partition, replaced whole."""

import pandas as pd
import pytest
from dagster import AssetIn, Config, DailyPartitionsDefinition, asset, materialize

from pipeline.resources.storage import DataDir
from pipeline.resources.tables import ParquetTables, columns_in

DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
DAY = "2024-01-02"
LOADED: list[pd.DataFrame] = []  # what the downstream asset received through the IO manager


class ReadingsConfig(Config):
    scale: int = 1


def expected_readings(scale):
    frame = pd.DataFrame(
        {
            "kwh": [1.5 * scale, 0.25 * scale, 7.0 * scale],
            "sessions": [scale, 2 * scale, 3 * scale],
            "site": ["Zürich", "東京", "Leeds"],
            "seen_at": pd.to_datetime(
                ["2024-01-02T08:00:00+00:00", "2024-01-02T12:30:00+00:00", "2024-01-02T23:59:59+00:00"]
            ).tz_convert("Europe/London"),
        },
        index=pd.Index(["dev-b", "dev-a", "dev-c"], name="device_id"),
    )
    return frame


@asset(partitions_def=DAILY)
def readings(config: ReadingsConfig) -> pd.DataFrame:
    return expected_readings(config.scale)


@asset(partitions_def=DAILY, ins={"readings": AssetIn()})
def reading_totals(readings: pd.DataFrame) -> pd.DataFrame:
    LOADED.append(readings)
    return readings.groupby("site")[["kwh", "sessions"]].sum()


def run(tmp_path, scale=1):
    LOADED.clear()
    result = materialize(
        [readings, reading_totals],
        partition_key=DAY,
        resources={"io_manager": ParquetTables(data_dir=str(tmp_path))},
        run_config={"ops": {"readings": {"config": {"scale": scale}}}},
    )
    assert result.success
    return result


def test_a_partition_is_written_to_its_parquet_file_and_read_back_equal(tmp_path):
    run(tmp_path)

    path = tmp_path / "tables" / "readings" / f"{DAY}.parquet"
    assert path == DataDir(path=str(tmp_path)).table_path("readings", DAY)
    stored = pd.read_parquet(path)
    pd.testing.assert_frame_equal(stored, expected_readings(1))
    assert str(stored["seen_at"].dtype) == "datetime64[ns, Europe/London]"
    assert list(stored.index) == ["dev-b", "dev-a", "dev-c"]
    assert stored.index.name == "device_id"

    assert len(LOADED) == 1  # the downstream asset got the same frame through load_from_path
    pd.testing.assert_frame_equal(LOADED[0], expected_readings(1))

    totals = pd.read_parquet(tmp_path / "tables" / "reading_totals" / f"{DAY}.parquet")
    assert totals.to_dict() == {
        "kwh": {"Leeds": 7.0, "Zürich": 1.5, "東京": 0.25},
        "sessions": {"Leeds": 3, "Zürich": 1, "東京": 2},
    }
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == ["reading_totals", "readings"]


def test_materialising_the_same_partition_again_replaces_the_file(tmp_path):
    run(tmp_path, scale=1)
    folder = tmp_path / "tables" / "readings"
    first = (folder / f"{DAY}.parquet").read_bytes()

    run(tmp_path, scale=10)

    second = (folder / f"{DAY}.parquet").read_bytes()
    assert second != first
    pd.testing.assert_frame_equal(pd.read_parquet(folder / f"{DAY}.parquet"), expected_readings(10))
    pd.testing.assert_frame_equal(LOADED[0], expected_readings(10))
    assert [p.name for p in folder.iterdir()] == [f"{DAY}.parquet"]  # no temporary files left
    totals_folder = tmp_path / "tables" / "reading_totals"
    assert [p.name for p in totals_folder.iterdir()] == [f"{DAY}.parquet"]
    assert pd.read_parquet(totals_folder / f"{DAY}.parquet").loc["Leeds", "kwh"] == 70.0


def test_other_partitions_get_their_own_files(tmp_path):
    run(tmp_path, scale=2)
    LOADED.clear()
    result = materialize(
        [readings],
        partition_key="2024-01-03",
        resources={"io_manager": ParquetTables(data_dir=str(tmp_path))},
        run_config={"ops": {"readings": {"config": {"scale": 3}}}},
    )
    assert result.success

    folder = tmp_path / "tables" / "readings"
    assert sorted(p.name for p in folder.iterdir()) == ["2024-01-02.parquet", "2024-01-03.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "2024-01-02.parquet"), expected_readings(2))
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "2024-01-03.parquet"), expected_readings(3))


@asset(partitions_def=DAILY, ins={"readings": columns_in("site", "kwh")})
def site_energy(readings: pd.DataFrame) -> pd.DataFrame:
    LOADED.append(readings)
    return readings


@asset(partitions_def=DAILY, ins={"readings": columns_in("site", "voltage")})
def site_voltage(readings: pd.DataFrame) -> pd.DataFrame:
    return readings


def test_an_input_with_columns_reads_only_those_columns_with_the_index(tmp_path):
    run(tmp_path, scale=2)
    LOADED.clear()
    result = materialize(
        [readings.to_source_asset(), site_energy],
        partition_key=DAY,
        resources={"io_manager": ParquetTables(data_dir=str(tmp_path))},
    )
    assert result.success

    [loaded] = LOADED
    assert list(loaded.columns) == ["site", "kwh"]  # in the order asked for
    pd.testing.assert_frame_equal(loaded, expected_readings(2)[["site", "kwh"]])
    assert loaded.index.name == "device_id"


def test_an_input_asking_for_a_column_the_table_lacks_names_it_and_the_file(tmp_path):
    run(tmp_path)
    result = materialize(
        [readings.to_source_asset(), site_voltage],
        partition_key=DAY,
        resources={"io_manager": ParquetTables(data_dir=str(tmp_path))},
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = str(failure.step_failure_data.error)
    assert "['voltage']" in message
    assert str(tmp_path / "tables" / "readings" / f"{DAY}.parquet") in message
    assert not (tmp_path / "tables" / "site_voltage").exists()


def test_columns_in_needs_a_column():
    with pytest.raises(ValueError, match="at least one column"):
        columns_in()
