import json
from datetime import date

import pandas as pd
import pytest
from dagster import check_dagster_type
from pydantic import BaseModel, ValidationError, model_validator

from pipeline.sources.contract import (
    REJECT_COLUMNS,
    Rejects,
    column_schema,
    frame_type,
    reject_row,
    rejects_frame,
)
from pipeline.sources.econnect.schema import StationCounts


class Address(BaseModel):
    city: str


class Station(BaseModel):
    id: int
    name: str
    tags: list[str] = []
    address: Address | None = None

    @model_validator(mode="after")
    def name_is_not_reserved(self):
        if self.name == "reserved":
            raise ValueError("name is reserved")
        return self


def _error(raw: dict) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        Station.model_validate(raw)
    return raised.value


def test_reject_row_joins_field_paths_and_messages():
    raw = {"id": "x", "tags": ["ok", 2], "address": {}}
    location, reason, record = reject_row("page 3, item 17", _error(raw), raw)
    assert location == "page 3, item 17"
    assert reason == (
        "id: Input should be a valid integer, unable to parse string as an integer; "
        "name: Field required; "
        "tags.1: Input should be a valid string; "
        "address.city: Field required"
    )
    assert json.loads(record) == raw


def test_reject_row_blames_the_record_for_a_model_level_error():
    raw = {"id": 1, "name": "reserved"}
    _, reason, _ = reject_row("item 0", _error(raw), raw)
    assert reason == "record: Value error, name is reserved"


def test_reject_row_keeps_non_ascii_and_stringifies_unknown_types():
    raw = {"id": "x", "name": "Zürich – Ladestation ⚡", "opened": date(2024, 5, 1)}
    _, reason, record = reject_row("item 1", _error(raw), raw)
    assert reason == "id: Input should be a valid integer, unable to parse string as an integer"
    assert record == '{"id": "x", "name": "Zürich – Ladestation ⚡", "opened": "2024-05-01"}'


def test_rejects_frame_has_the_reject_columns_as_strings():
    frame = rejects_frame([("item 0", "id: Field required", "{}"), ("item 1", "name: bad", '{"a": 1}')])
    assert list(frame.columns) == REJECT_COLUMNS == ["location", "reason", "record"]
    assert frame.dtypes.tolist() == [object, object, object]
    assert frame.values.tolist() == [
        ["item 0", "id: Field required", "{}"],
        ["item 1", "name: bad", '{"a": 1}'],
    ]


def test_rejects_frame_of_no_rows_is_empty_with_the_same_columns():
    frame = rejects_frame([])
    assert frame.shape == (0, 3)
    assert list(frame.columns) == ["location", "reason", "record"]
    assert frame.dtypes.tolist() == [object, object, object]


def test_frame_type_is_cached_per_model():
    first = frame_type(Rejects)
    assert frame_type(Rejects) is first
    assert first.key == "Rejects"


def test_frame_type_accepts_a_valid_frame_including_an_empty_one():
    dagster_type = frame_type(Rejects)
    assert check_dagster_type(dagster_type, rejects_frame([("item 0", "why", "{}")])).success is True
    assert check_dagster_type(dagster_type, rejects_frame([])).success is True


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (pd.DataFrame({"location": ["a"], "reason": ["b"]}), "column 'record' not in dataframe"),
        (
            pd.DataFrame({"location": ["a"], "reason": ["b"], "record": ["c"], "extra": ["d"]}),
            "column 'extra' not in DataFrameSchema",
        ),
        (pd.DataFrame({"reason": ["b"], "location": ["a"], "record": ["c"]}), "out-of-order"),
        # Text columns are checked by infer_dtype first: a number or a missing value among the texts
        # still fails, and pandera's own report says which.
        (pd.DataFrame({"location": ["a", 7], "reason": ["b", "c"], "record": ["c", "d"]}), "location"),
        (pd.DataFrame({"location": ["a", None], "reason": ["b", "c"], "record": ["c", "d"]}), "location"),
    ],
    ids=["missing-column", "extra-column", "wrong-order", "number-among-texts", "missing-text"],
)
def test_frame_type_rejects_an_invalid_frame(frame, error):
    result = check_dagster_type(frame_type(Rejects), frame)
    assert result.success is False
    assert error in result.description


def test_frame_type_still_runs_every_other_check_of_the_contract():
    valid = pd.DataFrame({"field": ["state"], "value": ["OPERATIONAL"], "count": [3]})
    assert check_dagster_type(frame_type(StationCounts), valid).success is True
    for column, bad in (("field", "colour"), ("count", 0)):
        result = check_dagster_type(frame_type(StationCounts), valid.assign(**{column: [bad]}))
        assert result.success is False
        assert column in result.description


def test_column_schema_lists_the_rejects_columns_in_order():
    columns = column_schema(Rejects).columns
    assert [(c.name, c.type, c.description) for c in columns] == [
        ("location", "str", "Where in the raw snapshot, e.g. 'page 3, item 17'."),
        ("reason", "str", "Which fields failed and how."),
        ("record", "str", "The raw record as JSON, unchanged."),
    ]
