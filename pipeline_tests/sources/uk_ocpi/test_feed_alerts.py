"""A failed or short feed is posted to the webhook once per feed and day, in the run-failure style."""

import json
import logging

from pipeline.orchestration.alerts import AlertWebhook, feed_alert
from pipeline.resources.storage import DataDir
from pipeline.sources.uk_ocpi.feed_alerts import alert_once, marker
from pipeline_tests.webhook import TOKEN_PATH, Receiver

LOG = logging.getLogger("test-feed-alerts")
DAY = "2026-12-07"


def send(webhook, data_dir, operator="mer_uk", problem="UpstreamError: HTTP 500", run_id="run-1"):
    return alert_once(
        webhook,
        data_dir,
        operator=operator,
        asset_key=f"uk_ocpi_{operator}_locations",
        day=DAY,
        problem=problem,
        job_name="__ASSET_JOB",
        run_id=run_id,
        log=LOG,
    )


def test_the_payload_names_the_feed_the_day_the_problem_and_the_run():
    payload = feed_alert(
        source="uk_ocpi",
        feed="mer_uk",
        day=DAY,
        problem="stored, but short: below the declared total <60 of 100>\nsecond line",
        job_name="daily",
        run_id="abc",
        asset_key="uk_ocpi_mer_uk_locations",
        ui_base_url="http://dagster.test:3000/",
    )
    assert payload == {
        "text": ":warning: Feed mer_uk (uk_ocpi) not read whole for 2026-12-07: stored, but short: below the "
        "declared total &lt;60 of 100&gt;  http://dagster.test:3000/runs/abc",
        "job": "daily",
        "run_id": "abc",
        "assets": ["uk_ocpi_mer_uk_locations"],
        "error": "stored, but short: below the declared total <60 of 100>\nsecond line",
        "run_url": "http://dagster.test:3000/runs/abc",
        "source": "uk_ocpi",
        "feed": "mer_uk",
        "day": DAY,
    }


def test_one_alert_per_feed_and_day_however_many_runs(tmp_path):
    data_dir = DataDir(path=str(tmp_path))
    with Receiver() as receiver:
        webhook = AlertWebhook(url=receiver.url, ui_base_url="http://dagster.test:3000")
        assert send(webhook, data_dir) is True
        assert send(webhook, data_dir, run_id="run-2") is False  # the same feed, the same day: once
        assert send(webhook, data_dir, operator="evolt") is True  # another feed: its own alert
    assert [(path, body["feed"], body["run_id"]) for path, _, body in receiver.posts] == [
        (TOKEN_PATH, "mer_uk", "run-1"),
        (TOKEN_PATH, "evolt", "run-1"),
    ]
    record = json.loads(marker(data_dir, DAY, "mer_uk").read_text())
    assert (record["run_id"], record["problem"]) == ("run-1", "UpstreamError: HTTP 500")


def test_an_alert_the_webhook_refused_is_tried_again_by_the_next_run(tmp_path):
    data_dir = DataDir(path=str(tmp_path))
    with Receiver(status=500) as refusing:
        assert send(AlertWebhook(url=refusing.url), data_dir) is False
    assert not marker(data_dir, DAY, "mer_uk").exists()
    with Receiver() as receiver:
        assert send(AlertWebhook(url=receiver.url), data_dir, run_id="run-2") is True
    assert [body["run_id"] for _, _, body in receiver.posts] == ["run-2"]


def test_without_a_webhook_the_alert_is_logged_and_not_marked_sent(tmp_path, caplog):
    data_dir = DataDir(path=str(tmp_path))
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        assert send(AlertWebhook(url=""), data_dir) is False
    assert "Alert (not sent: PIPELINE_ALERT_WEBHOOK_URL is not set)" in caplog.text
    assert "Feed mer_uk (uk_ocpi) not read whole for 2026-12-07: UpstreamError: HTTP 500" in caplog.text
    assert not marker(data_dir, DAY, "mer_uk").exists()
