import numpy as np
import pandas as pd

from pipeline.resources.metadata import history_metadata, markdown_table, markdown_text, table_metadata


def test_ids_keep_their_asterisks_and_underscores_as_literal_text():
    assert markdown_text("DE*EBS*E339564") == r"DE\*EBS\*E339564"
    assert markdown_text("a_b|c [x](y) <b>") == r"a\_b\|c \[x\]\(y\) \<b\>"
    assert markdown_text("two\nlines") == "two lines"  # a line break would end the table row


def test_missing_values_show_empty_not_nan_or_nat():
    frame = pd.DataFrame(
        {
            "id": ["DE*EBS*E1", "GB_2"],
            "installDate": pd.to_datetime(["2021-03-04T10:00:00Z", None], utc=True),
            "kw": [7.4, np.nan],
            "note": [None, "ok"],
        }
    )
    assert markdown_table(frame) == (
        "| id          | installDate                  | kw   | note   |\n"
        "|:------------|:-----------------------------|:-----|:-------|\n"
        "| DE\\*EBS\\*E1 | 2021\\-03\\-04 10:00:00\\+00:00 | 7\\.4 |        |\n"
        "| GB\\_2       |                              |      | ok     |"
    )


def test_an_empty_table_says_so_and_the_index_can_be_shown():
    assert markdown_table(pd.DataFrame({"a": []})) == "_(empty)_"
    pivot = pd.DataFrame({"OPERATIONAL": [2]}, index=pd.Index(["Model_X"], name="modelInfo"))
    assert markdown_table(pivot, index=True).splitlines()[2] == "| Model\\_X    | 2             |"


def test_table_metadata_counts_every_row_and_previews_ten():
    frame = pd.DataFrame({"n": range(25)})
    metadata = table_metadata(frame)
    assert metadata["dagster/row_count"].value == 25
    assert len(metadata["preview"].value.splitlines()) == 2 + 10


def test_history_metadata_shows_week_over_week_only_when_the_week_before_is_stored():
    history = pd.DataFrame({"day": ["2026-11-30", "2026-12-07"], "n": [1, 2]})
    weekly = pd.DataFrame({"operator": ["a"], "change": [1.5]})
    days = ["2026-11-30", "2026-12-07"]
    shown = history_metadata(history, days=days, weekly=weekly, baseline="2026-11-30", what="prices")
    assert (shown["dagster/row_count"], shown["days"]) == (2, 2)
    assert shown["week_over_week"].value == markdown_table(weekly)
    missing = history_metadata(history, days=days[1:], weekly=weekly, baseline="2026-11-30", what="prices")
    assert missing["week_over_week"].value == "_No prices stored for 2026-11-30._"
