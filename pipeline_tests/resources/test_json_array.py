import io
import json

import msgspec
import pytest

from pipeline.resources.json_array import Invalid, JsonArrayError, array_items


class Record(msgspec.Struct):
    ChargeDeviceId: str


def elements(document: bytes, *, item_type=msgspec.Raw, chunk_bytes: int = 64) -> list[list]:
    return list(array_items(io.BytesIO(document), "ChargeDevice", item_type, chunk_bytes=chunk_bytes))


# Strings and nested values that look like element boundaries, so wrong cuts are tried and refused.
TRICKY = [
    {
        "ChargeDeviceId": f"id{i}",
        "Text": 'a},{"ChargeDeviceId": "b' * (i % 3),
        "Connector": [{"ConnectorId": "1"}, {"More": [1, 2, {"c": "}, {"}]}],
    }
    for i in range(120)
]
TRICKY[40:40] = ["junk", 17, [1, {"ChargeDeviceId": "2"}]]


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("chunk_bytes", [16, 200, 5_000, 1 << 20])
def test_every_element_comes_back_in_order_whatever_the_chunk_size(indent, chunk_bytes):
    document = {"Scheme": {"ChargeDevice": [1]}, "ChargeDevice": TRICKY, "After": {"x": [1, 2]}}
    chunks = elements(json.dumps(document, indent=indent).encode(), chunk_bytes=chunk_bytes)
    assert [json.loads(bytes(raw)) for chunk in chunks for raw in chunk] == TRICKY
    assert all(chunks)
    if chunk_bytes == 16:
        assert len(chunks) > 80  # cut (nearly) at every element after the first read, not read whole


def test_elements_not_of_the_item_type_are_invalid_in_their_place():
    document = json.dumps({"ChargeDevice": [{"ChargeDeviceId": "a"}, {"ChargeDeviceId": 7}, "x"]}).encode()
    items = [item for chunk in elements(document, item_type=Record) for item in chunk]
    assert items == [
        Record("a"),
        Invalid(b'{"ChargeDeviceId": 7}', "Expected `str`, got `int` - at `$.ChargeDeviceId`"),
        Invalid(b'"x"', "Expected `object`, got `str`"),
    ]


def test_an_empty_array_yields_nothing_and_spaces_around_are_fine():
    assert elements(b'{"ChargeDevice": []}') == []
    assert elements(b'  {"x": 1, "ChargeDevice" : [ ] , "y": [1]}\n') == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'{"ChargeDevice": [', "cut short"),
        (b'{"ChargeDevice": [{"a": 1}, {"a": 2}', "cut short"),
        (b'{"ChargeDevice": [{"a": 1}, {"a": 2}]', "cut short"),
        (b'{"ChargeDevice": {"oops": 1}}', r"no top-level `ChargeDevice` list \(the document is a JSON dict"),
        (b"[1, 2]", r"no top-level `ChargeDevice` list \(the document is a JSON list\)"),
        (b"<html>maintenance</html>", "invalid character at byte 0"),
        (b'{"ChargeDevice": []} {}', r"trailing characters at byte 2[12]\)"),
    ],
)
def test_a_document_that_is_not_whole_or_not_the_format_is_refused(document, message):
    with pytest.raises(JsonArrayError, match=message):
        elements(document, chunk_bytes=8)


def test_a_fault_deep_in_a_large_array_names_its_byte_offset():
    good = b",".join(b'{"a": %d}' % i for i in range(20_000))
    document = b'{"ChargeDevice": [' + good + b', {"a": tru}' + b', {"a": 1}' * 300_000 + b"]}"
    fault = document.index(b"tru}")
    with pytest.raises(JsonArrayError, match=r"the array is malformed: .* at byte (\d+)") as raised:
        elements(document, chunk_bytes=4096)
    offset = int(str(raised.value).rsplit(" ", 1)[1])
    assert fault <= offset <= fault + 4
