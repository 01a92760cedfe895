"""A stored page read on its own (wire style, items, OCPI status, digest); the locations of a snapshot."""

import io
import json

import pytest
from upath import UPath

from pipeline.resources.raw_zone import RawZone
from pipeline.sources.uk_ocpi.raw import (
    WHOLE_PAGE_BYTES,
    NotLocations,
    OcpiStatusError,
    PageInfo,
    check,
    inspect_page,
    page_name,
    read_locations,
)

LOCATIONS = [
    {"id": "L1", "evses": [{"uid": "L1-1", "connectors": [{"id": "1", "max_electric_power": 7000}]}]},
    {"id": "L2", "coordinates": {"latitude": "51.5", "longitude": "-0.1"}, "data": [1, 2]},
    {"id": "L3", "locations": []},  # keys named like the envelope's, one level down, change nothing
]
TARIFFS = [{"id": "T1", "elements": [{"price_components": [{"type": "ENERGY", "price": 0.55}]}]}]
OK = {"status_code": 1000, "status_message": "Success", "timestamp": "2025-06-01T10:00:00Z"}


def page(document):
    return json.dumps(document, separators=(",", ":")).encode()


@pytest.fixture(params=["streamed", "whole"])
def inspect(request):
    """`inspect_page` of a document, streamed (no size, as `read_locations` reads) or parsed whole (a size
    up to `WHOLE_PAGE_BYTES`, as the fetch reads): both ways must say the same."""

    def run(document):
        body = page(document)
        return inspect_page(io.BytesIO(body), size=len(body) if request.param == "whole" else None)

    return run


class StreamOnly(io.BytesIO):
    """A page that cannot be read whole at once: only a streaming parser gets through it."""

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("read whole")
        return super().read(size)


def fields(info):
    return info.style, info.items, info.status_code, info.status_message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param({"data": LOCATIONS, **OK}, ("ocpi", 3, 1000, "Success"), id="ocpi-data-first"),
        pytest.param({**OK, "data": LOCATIONS}, ("ocpi", 3, 1000, "Success"), id="ocpi-status-first"),
        pytest.param({"data": LOCATIONS}, ("ocpi", 3, None, ""), id="ocpi-without-status"),
        pytest.param({"data": [], **OK}, ("ocpi", 0, 1000, "Success"), id="ocpi-empty"),
        pytest.param(
            {"data": {"locations": LOCATIONS, "tariffs": TARIFFS}, **OK},
            ("data_document", 3, 1000, "Success"),
            id="data-document-locations-first",
        ),
        pytest.param(
            {**OK, "data": {"tariffs": TARIFFS, "locations": LOCATIONS}},
            ("data_document", 3, 1000, "Success"),
            id="data-document-tariffs-first",
        ),
        pytest.param({"locations": LOCATIONS}, ("locations_key", 3, None, ""), id="locations-key"),
        pytest.param(
            {"meta": {"data": [9], "locations": [9]}, "locations": LOCATIONS},
            ("locations_key", 3, None, ""),
            id="locations-key-after-a-nested-data",
        ),
        pytest.param(LOCATIONS, ("bare_array", 3, None, ""), id="bare-array"),
        pytest.param([1, "two", None, {"a": [3]}, [4, 5]], ("bare_array", 5, None, ""), id="bare-mixed"),
        pytest.param([], ("bare_array", 0, None, ""), id="bare-empty"),
        pytest.param({"data": None, **OK}, (None, 0, 1000, "Success"), id="data-null-status-1000"),
        pytest.param({**OK, "data": None}, (None, 0, 1000, "Success"), id="status-first-data-null"),
        pytest.param(OK, (None, 0, 1000, "Success"), id="envelope-without-data"),
    ],
)
def test_inspect_page_reads_style_items_and_status_in_any_key_order(inspect, document, expected):
    info = inspect(document)
    assert fields(info) == expected
    assert check(info) is info  # all usable: an envelope with status 1000 and no data is an empty page


def test_the_digest_covers_the_items_only_whatever_the_key_order_timestamp_or_tariffs(inspect):
    ocpi = inspect({"data": LOCATIONS, **OK}).digest
    assert inspect({**OK, "data": LOCATIONS}).digest == ocpi
    later = {**OK, "timestamp": "2025-06-01T10:00:05Z", "status_message": "OK"}
    assert inspect({"data": LOCATIONS, **later}).digest == ocpi
    assert inspect({"data": [*LOCATIONS[:2], {"id": "L4", "locations": []}], **OK}).digest != ocpi
    assert inspect({"data": LOCATIONS[:2], **OK}).digest != ocpi
    document = inspect({"data": {"locations": LOCATIONS, "tariffs": TARIFFS}, **OK}).digest
    assert inspect({"data": {"tariffs": [], "locations": LOCATIONS}, **later}).digest == document
    assert inspect({"data": [], **OK}).digest == inspect({"data": [], **later}).digest


@pytest.mark.parametrize(
    ("document", "expected", "message"),
    [
        (
            {"status_code": 2001, "status_message": "Invalid or missing parameters", "timestamp": "t"},
            (None, 0, 2001, "Invalid or missing parameters"),
            "OCPI status_code 2001: Invalid or missing parameters",
        ),
        (
            {"data": LOCATIONS, "status_code": 3000},
            ("ocpi", 3, 3000, ""),
            "OCPI status_code 3000: (no message)",
        ),
        (
            {"status_code": 2003, "data": None, "status_message": "Unknown Location"},
            (None, 0, 2003, "Unknown Location"),
            "OCPI status_code 2003: Unknown Location",
        ),
    ],
)
def test_a_status_code_other_than_1000_is_an_error_naming_code_and_message(
    inspect, document, expected, message
):
    info = inspect(document)
    assert fields(info) == expected
    with pytest.raises(OcpiStatusError) as caught:
        check(info)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "document",
    [
        {"foo": [1, 2]},
        {"error": "Forbidden", "status": 403},
        {"locations": {"oops": 1}},
        {"data": {"oops": 1}},
        {"data": None},
        {"data": {"locations": None}},
        "just a string",
        42,
    ],
)
def test_a_document_with_no_known_list_of_locations_is_not_locations(inspect, document):
    info = inspect(document)
    assert fields(info) == (None, 0, None, "")
    with pytest.raises(NotLocations) as caught:
        check(info)
    assert str(caught.value) == (
        "no list of locations: expected a bare array, or `data` (a list, or an object with a `locations` "
        "list), or `locations`"
    )


@pytest.mark.parametrize(
    "data",
    [{"oops": 1}, {"tariffs": TARIFFS, "locations": {"oops": 1}}],
    ids=["data-an-object", "data-locations-an-object"],
)
def test_a_success_envelope_whose_data_holds_no_list_is_not_locations_rather_than_an_empty_page(
    inspect, data
):
    # Only `data` null or absent is the empty page that ends paging; a `data` holding no list of locations
    # (the fakes' `content_not_list`) would otherwise end a feed early and store it as complete.
    with pytest.raises(NotLocations):
        check(inspect({"data": data, **OK}))


def test_read_locations_yields_every_item_in_page_order_with_where_it_was(tmp_path):
    a, b, c, d, e, f = ({"id": name, "lat": 51.5, "power": 7000} for name in "ABCDEF")
    zone = RawZone(UPath(tmp_path), "uk_ocpi")
    with zone.writing("2025-06-01") as writer:  # written out of order: the names set the order
        writer.write_bytes(page_name(10), page([f]))
        writer.write_bytes(page_name(3), page({"locations": [d, e]}))
        writer.write_bytes(page_name(2), page({"data": None, **OK}))  # an empty page
        writer.write_bytes(page_name(1), page({**OK, "data": {"tariffs": TARIFFS, "locations": [c]}}))
        writer.write_bytes(page_name(0), page({"data": [a, b], **OK}))
        writer.write_bytes("notes.json", page([{"id": "not a page"}]))
    snapshot = zone.snapshot("2025-06-01")
    assert snapshot.names == ["notes.json", *(page_name(n) for n in (0, 1, 2, 3, 10))]
    assert page_name(10) == "page-000010.json"
    got = list(read_locations(snapshot))
    assert got == [
        ("page 0, item 0", a),
        ("page 0, item 1", b),
        ("page 1, item 0", c),
        ("page 3, item 0", d),
        ("page 3, item 1", e),
        ("page 10, item 0", f),
    ]
    assert [(type(item["lat"]), type(item["power"])) for _, item in got] == [(float, int)] * 6


def test_read_locations_of_pages_that_hold_no_locations_yields_nothing(tmp_path):
    zone = RawZone(UPath(tmp_path), "uk_ocpi")
    with zone.writing("2025-06-01") as writer:
        writer.write_bytes(page_name(0), page({"data": [], **OK}))
        writer.write_bytes(page_name(1), page([]))
        writer.write_bytes(page_name(2), page(OK))
    assert list(read_locations(zone.snapshot("2025-06-01"))) == []


def test_a_page_is_parsed_whole_up_to_32_mb_and_streamed_above_or_without_a_size():
    body = page({"locations": LOCATIONS})
    assert WHOLE_PAGE_BYTES == 32 * 1024 * 1024
    for size in (None, WHOLE_PAGE_BYTES + 1):
        info = inspect_page(StreamOnly(body), size=size)
        assert info == PageInfo("locations_key", 3, None, "", info.digest) and len(info.digest) == 64
    with pytest.raises(AssertionError, match="read whole"):
        inspect_page(StreamOnly(body), size=WHOLE_PAGE_BYTES)
