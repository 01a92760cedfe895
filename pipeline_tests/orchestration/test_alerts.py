"""Run-failure alerts: a real failed run, the real sensor, and a local webhook that records what it got."""

import json
import logging
import socket

import dagster as dg
import pytest

from pipeline.orchestration.alerts import (
    AlertWebhook,
    failure_alert,
    failure_error_text,
    pipeline_run_failure_alert,
)
from pipeline_tests.webhook import TOKEN_PATH, Receiver

UI = "http://dagster.test:3000/"


@dg.asset(key_prefix=["econnect"])
def station_pages():
    return [1, 2]


@dg.asset(key_prefix=["econnect"], deps=[station_pages])
def stations():
    raise RuntimeError("boom: upstream refused")


refresh_job = dg.define_asset_job("econnect_refresh", selection=[station_pages, stations])


@pytest.fixture(scope="module")
def failed_run():
    """One real failed run of an asset job on a throwaway instance: (instance, run, run failure event)."""
    defs = dg.Definitions(assets=[station_pages, stations], jobs=[refresh_job])
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("econnect_refresh").execute_in_process(
            raise_on_error=False, instance=instance
        )
        assert not result.success
        yield instance, result.dagster_run, result.get_run_failure_event()


def sensor_context(failed_run, webhook, *, event=None):
    instance, run, failure_event = failed_run
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event or failure_event,
        resources={"alert_webhook": webhook},
    )


def test_a_failed_run_posts_one_alert_naming_job_assets_error_and_run_link(failed_run):
    _, run, _ = failed_run
    with Receiver() as receiver:
        result = pipeline_run_failure_alert(
            sensor_context(failed_run, AlertWebhook(url=receiver.url, ui_base_url=UI))
        )

    assert result is None  # None lets Dagster mark the run handled and move on to the next failure
    assert len(receiver.posts) == 1
    path, content_type, body = receiver.posts[0]
    assert (path, content_type) == (TOKEN_PATH, "application/json")
    run_url = f"http://dagster.test:3000/runs/{run.run_id}"
    assert body["job"] == "econnect_refresh"
    assert body["run_id"] == run.run_id
    assert body["run_url"] == run_url and body["run_url"].endswith(f"/runs/{run.run_id}")
    # A whole-job run has an empty asset_selection: the assets come from its planned materializations.
    assert run.asset_selection == frozenset()
    assert body["assets"] == ["econnect/station_pages", "econnect/stations"]
    assert body["error"] == "econnect__stations: RuntimeError: boom: upstream refused"
    assert body["text"] == (
        ":red_circle: Dagster run failed: job econnect_refresh, assets econnect/station_pages, "
        f"econnect/stations — econnect__stations: RuntimeError: boom: upstream refused  {run_url}"
    )


def test_the_step_failure_event_gives_the_same_error_as_the_run_failure_event(failed_run):
    instance, run, run_failure = failed_run
    records = instance.get_records_for_run(
        run_id=run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    [step_failure] = [record.event_log_entry.dagster_event for record in records]
    assert failure_error_text(step_failure) == failure_error_text(run_failure)
    assert "boom: upstream refused" in failure_error_text(step_failure)


def test_without_a_webhook_the_alert_is_logged_and_nothing_is_posted(failed_run, caplog):
    _, run, _ = failed_run
    context = sensor_context(failed_run, AlertWebhook())
    # The sensor's logger is Dagster's own, outside the logging tree, so caplog must be attached to it.
    context.log.addHandler(caplog.handler)
    with Receiver() as receiver:
        pipeline_run_failure_alert(context)

    assert receiver.posts == []
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    summary, logged_json = message.split("\n", 1)
    assert "PIPELINE_ALERT_WEBHOOK_URL is not set" in summary
    assert "boom: upstream refused" in summary
    payload = json.loads(logged_json)
    assert payload["run_id"] == run.run_id
    assert payload["run_url"] == f"http://127.0.0.1:3000/runs/{run.run_id}"


def test_a_refusing_webhook_is_logged_by_status_without_the_token(caplog):
    log = logging.getLogger("test.alerts")
    payload = failure_alert(job_name="j", run_id="r1", asset_keys=[], error="boom", ui_base_url=UI)
    with (
        Receiver(status=500, body=b"invalid_token") as receiver,
        caplog.at_level(logging.INFO, "test.alerts"),
    ):
        sent = AlertWebhook(url=receiver.url).send(payload, log=log)
        port = receiver.server.server_address[1]

    assert sent is False
    assert len(receiver.posts) == 1
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert "HTTP 500" in message and "invalid_token" in message
    assert f"http://127.0.0.1:{port}" in message
    assert "SECRETTOKEN" not in caplog.text and "/services/" not in caplog.text


def test_an_unreachable_webhook_is_logged_without_the_token(caplog):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    webhook = AlertWebhook(url=f"http://127.0.0.1:{port}{TOKEN_PATH}", timeout_s=2.0)
    payload = failure_alert(job_name="j", run_id="r1", asset_keys=[], error="boom", ui_base_url=UI)
    with caplog.at_level(logging.INFO, "test.alerts"):
        sent = webhook.send(payload, log=logging.getLogger("test.alerts"))

    assert sent is False
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "ConnectionError" in record.getMessage()
    assert f"http://127.0.0.1:{port}" in record.getMessage()
    assert "SECRETTOKEN" not in caplog.text and "/services/" not in caplog.text


def test_failure_alert_payload():
    assert failure_alert(
        job_name="uk_refresh",
        run_id="abc-123",
        asset_keys=["uk_registry_devices", "uk_registry_model_counts"],
        error="uk_registry_devices: ValueError: bad <Scheme> & more\n  at line 2\n",
        ui_base_url="http://ui:3000/",
    ) == {
        "text": ":red_circle: Dagster run failed: job uk_refresh, assets uk_registry_devices, "
        "uk_registry_model_counts — uk_registry_devices: ValueError: bad &lt;Scheme&gt; &amp; more  "
        "http://ui:3000/runs/abc-123",
        "job": "uk_refresh",
        "run_id": "abc-123",
        "assets": ["uk_registry_devices", "uk_registry_model_counts"],
        "error": "uk_registry_devices: ValueError: bad <Scheme> & more\n  at line 2",
        "run_url": "http://ui:3000/runs/abc-123",
    }


def test_failure_alert_truncates_long_errors_and_long_asset_lists():
    error = "x" * 500 + "\n" + "y" * 3000
    assets = [f"a{i}" for i in range(12)]
    assert failure_alert(
        job_name="j", run_id="r", asset_keys=assets, error=error, ui_base_url="http://ui"
    ) == {
        "text": ":red_circle: Dagster run failed: job j, "
        + "assets a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 (+2 more) — "
        + "x" * 299
        + "…  http://ui/runs/r",
        "job": "j",
        "run_id": "r",
        "assets": assets,
        "error": ("x" * 500 + "\n" + "y" * 3000)[:1999] + "…",
        "run_url": "http://ui/runs/r",
    }


def test_failure_alert_without_assets_or_error():
    payload = failure_alert(job_name="j", run_id="r", asset_keys=[], error="", ui_base_url="http://ui")
    assert payload["text"] == ":red_circle: Dagster run failed: job j — no error message  http://ui/runs/r"
    assert (payload["assets"], payload["error"]) == ([], "")


def test_the_webhook_url_never_appears_in_repr(monkeypatch):
    webhook = AlertWebhook(url="https://hooks.example/services/T/B/SECRET")
    assert "SECRET" not in repr(webhook) and "SECRET" not in str(webhook)
    assert "ui_base_url" in repr(webhook)
    monkeypatch.setenv("PIPELINE_ALERT_WEBHOOK_URL", "https://hooks.example/services/T/B/SECRET")
    with dg.build_resources(
        {"alert_webhook": AlertWebhook(url=dg.EnvVar("PIPELINE_ALERT_WEBHOOK_URL"))}
    ) as res:
        assert res.alert_webhook.url == "https://hooks.example/services/T/B/SECRET"
        assert "SECRET" not in repr(res.alert_webhook)


def test_the_sensor_watches_this_code_location_and_starts_running():
    assert pipeline_run_failure_alert.name == "run_failure_alert"
    assert pipeline_run_failure_alert.default_status == dg.DefaultSensorStatus.RUNNING
    assert pipeline_run_failure_alert.required_resource_keys == {"alert_webhook"}
    assert "PIPELINE_ALERT_WEBHOOK_URL" in (pipeline_run_failure_alert.description or "")
    # It loads in a Definitions object with the unset (log-only) webhook, as definitions will wire it.
    defs = dg.Definitions(sensors=[pipeline_run_failure_alert], resources={"alert_webhook": AlertWebhook()})
    assert defs.resolve_sensor_def("run_failure_alert") is not None
