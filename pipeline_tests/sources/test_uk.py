import pytest

from pipeline.sources.uk import month_updated, normalise_postcode


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("tw62rq", "TW6 2RQ"),
        (" tw6  2rq ", "TW6 2RQ"),
        ("TW6 2RQ", "TW6 2RQ"),
        ("sw1a1aa", "SW1A 1AA"),
        ("M1\t1AE", "M1 1AE"),
        ("ab", "AB"),
        ("", ""),
        ("   ", ""),
        (None, ""),
    ],
)
def test_postcode_normalisation(raw, expected):
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("2023-05-12 10:22:01", "2023-05"), ("2019-11", "2019-11"), (None, ""), ("", "")]
)
def test_month_updated_is_first_seven_characters(raw, expected):
    assert month_updated(raw) == expected
