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
    ("document", "keys"),
    [
        ({"foo": [1, 2]}, "`foo`"),
        ({"error": "Forbidden", "status": 403}, "`error`, `status`"),
        ({"locations": {"oops": 1}}, "`locations`"),
        ({"data": {"oops": 1}}, "`data`"),
        ({"data": None}, "`data`"),
        ({"data": {"locations": None}}, "`data`"),
        ({"items": "abc", "next": None}, "`items`, `next`"),
        ({"data": {"locations": {"data": {"deeper": [1]}}}}, "`data`"),  # past one envelope deeper
        ({"meta": {"data": [1]}}, "`meta`"),
        ({}, "none (not a JSON object)"),
        ("just a string", "none (not a JSON object)"),
        (42, "none (not a JSON object)"),
    ],
)
def test_a_document_with_no_known_list_of_locations_fails_naming_the_top_level_keys(inspect, document, keys):
    info = inspect(document)
    assert fields(info) == (None, 0, None, "")
    with pytest.raises(NotLocations) as caught:
        check(info)
    assert str(caught.value) == (
        "no list of locations: expected a bare array, or a list under `data`, `locations` or `items` at the "
        f"top or one envelope deeper; top-level keys: {keys}"
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
        expected = PageInfo(
            "locations_key", 3, None, "", info.digest, keys=("locations",), items_at="locations.item"
        )
        assert info == expected and len(info.digest) == 64
    with pytest.raises(AssertionError, match="read whole"):
        inspect_page(StreamOnly(body), size=WHOLE_PAGE_BYTES)


CAMEL_OK = {"statusCode": 1000, "statusMessage": "Success", "timestamp": "2025-06-01T10:00:00Z"}
WRAPPER = {"name": "OK", "message": "ok", "error": None, "forcelogout": False}


def nested(locations, **inner):
    """Mer UK's document: a whole OCPI envelope per object type, inside the data."""
    return {"data": {"locations": {"data": locations, **OK, **inner}, "tariffs": {"data": TARIFFS, **OK}}}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(nested(LOCATIONS), ("nested_envelope", 3, 1000, "Success"), id="nested-envelope"),
        pytest.param(
            {**OK, "data": {"tariffs": {"data": TARIFFS, **OK}, "locations": {**OK, "data": LOCATIONS}}},
            ("nested_envelope", 3, 1000, "Success"),
            id="nested-envelope-tariffs-first-outer-status",
        ),
        pytest.param({"data": LOCATIONS, **CAMEL_OK}, ("ocpi_camel", 3, 1000, "Success"), id="camel"),
        pytest.param(
            {"data": LOCATIONS, "statusCode": "1000", "statusMessage": "OK"},
            ("ocpi_camel", 3, 1000, "OK"),
            id="camel-code-as-string",
        ),
        pytest.param({**WRAPPER, "data": LOCATIONS}, ("data_wrapper", 3, None, ""), id="data-wrapper"),
        pytest.param({"items": LOCATIONS, "next": "abc"}, ("items_cursor", 3, None, ""), id="items-cursor"),
        pytest.param({"items": LOCATIONS, "next": None}, ("items_cursor", 3, None, ""), id="items-last"),
        pytest.param(
            {"data": LOCATIONS, "status_code": "1000", "status_message": "Success"},
            ("ocpi", 3, 1000, "Success"),
            id="ocpi-code-as-string",
        ),
        pytest.param(
            {"data": {"items": LOCATIONS}, **OK}, ("envelope:data.items", 3, 1000, "Success"), id="data-items"
        ),
        pytest.param(
            {"data": [{"id": "tariff?"}], "locations": LOCATIONS},
            ("locations_key", 3, None, ""),
            id="locations-preferred-over-data",
        ),
        pytest.param(
            {"data": {"locations": None}, **OK}, (None, 0, 1000, "Success"), id="data-document-null-locations"
        ),
        pytest.param(nested(None), (None, 0, 1000, "Success"), id="nested-envelope-null-data"),
    ],
)
def test_every_envelope_real_uk_feeds_send_is_read_from_the_page_itself(inspect, document, expected):
    info = inspect(document)
    assert fields(info) == expected
    assert check(info) is info


def test_where_the_locations_are_and_the_cursor_are_read_alike_both_ways(inspect):
    assert inspect(nested(LOCATIONS)).items_at == "data.locations.data.item"
    assert inspect({"data": LOCATIONS, **CAMEL_OK}).items_at == "data.item"
    assert inspect(LOCATIONS).items_at == "item"
    cursor = inspect({"items": LOCATIONS, "next": "c2Vjb25k"})
    assert (cursor.items_at, cursor.next, cursor.has_next) == ("items.item", "c2Vjb25k", True)
    last = inspect({"items": LOCATIONS, "next": None})
    assert (last.next, last.has_next) == (None, True)
    url = inspect({"next": "/locations?cursor=3", "items": []})
    assert (url.style, url.items, url.next, url.has_next) == ("items_cursor", 0, "/locations?cursor=3", True)
    assert inspect({"items": [], "next": 7}).next == "7"
    assert (inspect({"data": LOCATIONS, **OK}).next, inspect({"data": LOCATIONS, **OK}).has_next) == (
        None,
        False,
    )
    assert inspect({**WRAPPER, "data": LOCATIONS}).keys == ("name", "message", "error", "forcelogout", "data")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            {"data": None, "statusCode": 2001, "statusMessage": "Invalid or missing parameters"},
            "OCPI status_code 2001: Invalid or missing parameters",
            id="camel",
        ),
        pytest.param(
            {"data": LOCATIONS, "status_code": "3000", "status_message": "Generic server error"},
            "OCPI status_code 3000: Generic server error",
            id="code-as-string",
        ),
        pytest.param(
            {"data": LOCATIONS, "status_code": "FAILED"}, "OCPI status_code FAILED: (no message)", id="word"
        ),
        pytest.param(
            nested(None, status_code=2003, status_message="Unknown Location"),
            "OCPI status_code 2003: Unknown Location",
            id="inner-envelope",
        ),
        pytest.param(
            {"data": {"locations": {"data": LOCATIONS, **OK}}, "status_code": 3001, "status_message": "No"},
            "OCPI status_code 3001: No",
            id="outer-envelope-after-the-inner",
        ),
    ],
)
def test_a_status_other_than_1000_at_any_envelope_level_is_an_error(inspect, document, message):
    with pytest.raises(OcpiStatusError) as caught:
        check(inspect(document))
    assert str(caught.value) == message


def test_a_failed_tariffs_envelope_beside_good_locations_is_not_the_pages_status(inspect):
    document = nested(LOCATIONS)
    document["data"]["tariffs"] = {"data": None, "status_code": 3000, "status_message": "Tariffs down"}
    assert fields(check(inspect(document))) == ("nested_envelope", 3, 1000, "Success")


@pytest.mark.parametrize("size", ["whole", "streamed"])
@pytest.mark.parametrize(
    "document", [{"data": LOCATIONS, **OK}, LOCATIONS, nested(LOCATIONS)], ids=["ocpi", "bare", "nested"]
)
def test_a_utf8_bom_before_the_json_is_skipped_and_counted(document, size):
    plain = page(document)
    read = {"whole": lambda body: len(body), "streamed": lambda body: None}[size]
    without = inspect_page(io.BytesIO(plain), size=read(plain))
    marked = inspect_page(io.BytesIO(b"\xef\xbb\xbf" + plain), size=read(b"\xef\xbb\xbf" + plain))
    assert (without.bom, marked.bom) == (False, True)
    assert marked == PageInfo(**{**without.__dict__, "bom": True})
    assert marked.items == 3


def test_the_whole_and_the_streamed_reading_agree_on_every_style_but_the_digest():
    documents = [
        {"data": LOCATIONS, **OK},
        {"data": LOCATIONS, **CAMEL_OK},
        {**WRAPPER, "data": LOCATIONS},
        {"data": {"locations": LOCATIONS, "tariffs": TARIFFS}, **OK},
        nested(LOCATIONS),
        {"locations": LOCATIONS},
        {"items": LOCATIONS, "next": "tok"},
        LOCATIONS,
        {"data": None, **OK},
        {"data": {"oops": 1}, **OK},
    ]
    for document in documents:
        body = page(document)
        whole, streamed = inspect_page(io.BytesIO(body), size=len(body)), inspect_page(io.BytesIO(body))
        assert {**whole.__dict__, "digest": ""} == {**streamed.__dict__, "digest": ""}, document


def test_read_locations_reads_every_style_skips_a_bom_and_a_page_repeating_the_one_before(tmp_path):
    a, b, c, d, e = ({"id": name} for name in "ABCDE")
    zone = RawZone(UPath(tmp_path), "uk_ocpi")
    with zone.writing("2025-06-01") as writer:
        writer.write_bytes(page_name(0), b"\xef\xbb\xbf" + page(nested([a])))
        writer.write_bytes(page_name(1), page({"data": [b], **CAMEL_OK}))
        writer.write_bytes(page_name(2), page({**WRAPPER, "data": [c, d]}))
        writer.write_bytes(page_name(3), page({"data": [c, d], **OK}))  # the same items: how guessing ends
        writer.write_bytes(page_name(4), page({"items": [e], "next": None}))
    got = list(read_locations(zone.snapshot("2025-06-01")))
    assert got == [
        ("page 0, item 0", a),
        ("page 1, item 0", b),
        ("page 2, item 0", c),
        ("page 2, item 1", d),
        ("page 4, item 0", e),
    ]
