"""When a stored snapshot of a feed looks short: below its declared total, or dropped against the last one."""

from pipeline.sources.uk_ocpi.completeness import shortfall


def test_a_feed_that_received_its_declared_total_is_whole():
    short = shortfall({"records": 120, "declared_total": 120}, previous=118, max_drop=0.2)
    assert not short
    assert (short.reason, short.received, short.expected) == ("", 120, None)


def test_received_below_the_largest_declared_total_is_short_with_both_numbers():
    short = shortfall({"records": 60, "declared_total": 100}, previous=None, max_drop=0.2)
    assert short
    assert (short.received, short.expected) == (60, 100)
    assert short.reason == (
        "below the declared total: received 60 locations, the feed declared 100 (X-Total-Count)"
    )


def test_a_drop_of_more_than_max_drop_against_the_previous_snapshot_is_short():
    short = shortfall({"records": 79}, previous=100, previous_day="2026-12-06", max_drop=0.2)
    assert (short.received, short.expected) == (79, 100)
    assert short.reason == (
        "dropped 21%: received 79 locations, 100 in the previous complete snapshot (2026-12-06); "
        "more than UK_OCPI_MAX_DROP (20%)"
    )


def test_a_drop_of_exactly_max_drop_is_not_short():
    assert not shortfall({"records": 80}, previous=100, max_drop=0.2)


def test_no_previous_snapshot_or_an_empty_one_never_makes_a_drop():
    assert not shortfall({"records": 0}, previous=None, max_drop=0.2)
    assert not shortfall({"records": 0}, previous=0, max_drop=0.2)


def test_the_declared_total_is_checked_before_the_drop():
    short = shortfall({"records": 10, "declared_total": 50}, previous=100, max_drop=0.2)
    assert short.expected == 50
    assert short.reason.startswith("below the declared total")


def test_a_declared_total_of_none_or_not_a_number_is_ignored():
    assert not shortfall({"records": 5, "declared_total": None}, previous=None, max_drop=0.2)
    assert not shortfall({"records": 5, "declared_total": True}, previous=None, max_drop=0.2)
    assert shortfall({"records": 5, "declared_total": "6"}, previous=None, max_drop=0.2).expected == 6
