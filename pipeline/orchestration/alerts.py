"""Alerts: one Slack-compatible webhook message per failed run, with a link to the run, and one per feed
left out or short on a day (`feed_alert`, posted by the source that reads the feeds).

A failed scheduled run is silent unless someone opens the UI, so a sensor watches for failures in this
code location and posts the job, the assets it was building, the error and a link to the run. The
webhook URL carries a token, so it comes from `PIPELINE_ALERT_WEBHOOK_URL` through `EnvVar` and never
reaches a repr or a log line. Without it the alert is logged on the sensor tick instead, so a local
`dagster dev` still shows every failure and needs no secret.

No `from __future__ import annotations` here: Dagster reads the sensor's annotations at runtime to
find its resources.
"""

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from dagster import (
    ConfigurableResource,
    DagsterEvent,
    DagsterEventType,
    DefaultSensorStatus,
    RunFailureSensorContext,
    run_failure_sensor,
)
from pydantic import Field

TEXT_ERROR_MAX_CHARS = 300
ERROR_MAX_CHARS = 2000
# More than this many asset names make the one-line text unreadable; the `assets` field keeps them all.
TEXT_MAX_ASSETS = 10


class AlertWebhook(ConfigurableResource):
    """Where failure alerts go: a Slack-compatible incoming webhook, or the sensor's log when unset."""

    url: str = Field(
        default="",
        repr=False,
        description="Incoming webhook URL (a secret: it carries a token). Empty: alerts are only logged.",
    )
    ui_base_url: str = Field(
        default="http://127.0.0.1:3000", description="Dagster UI base URL that run links in alerts point to."
    )
    timeout_s: float = Field(default=10.0, description="Connect and read timeout for the webhook POST.")

    def send(self, payload: dict[str, Any], *, log: logging.Logger) -> bool:
        """POST the alert; True only on a 2xx.

        Never raises: the sensor runs after the failure it reports, and an exception here would only
        move the error to the sensor tick, where nobody is looking. Failures are logged instead, naming
        the webhook by scheme and host only, because the rest of the URL is the token.
        """
        summary = payload.get("text", "")
        if not self.url:
            log.warning(
                "Alert (not sent: PIPELINE_ALERT_WEBHOOK_URL is not set): %s\n%s",
                summary,
                json.dumps(payload, indent=2, sort_keys=True),
            )
            return False
        where = _scheme_and_host(self.url)
        try:
            # trust_env=False: no proxy or ~/.netrc from the environment gets to see (or rewrite) the
            # request that carries the token; the webhook is reached directly or not at all.
            with requests.Session() as session:
                session.trust_env = False
                response = session.post(self.url, json=payload, timeout=self.timeout_s, allow_redirects=False)
        except requests.RequestException as exc:
            log.error(
                "Could not deliver the alert to the webhook at %s: %s: %s. Check that the host "
                "is reachable from where Dagster evaluates sensors. Alert was: %s",
                where,
                type(exc).__name__,
                self._redact(str(exc)),
                summary,
            )
            return False
        if not 200 <= response.status_code < 300:
            log.error(
                "The webhook at %s refused the alert with HTTP %s (%s). Check "
                "PIPELINE_ALERT_WEBHOOK_URL; the webhook may have been revoked. Alert was: %s",
                where,
                response.status_code,
                self._redact(response.text[:200].strip()) or "empty body",
                summary,
            )
            return False
        return True

    def _redact(self, text: str) -> str:
        """`text` without the webhook URL or its path: exception messages quote the path, the token."""
        parts = urlsplit(self.url)
        secrets = [self.url, f"{parts.path}?{parts.query}" if parts.query else "", parts.path, parts.query]
        for secret in secrets:
            if len(secret) > 1:  # never replace a bare "/" or "" all over the message
                text = text.replace(secret, "<redacted>")
        return text


def _scheme_and_host(url: str) -> str:
    """The part of a webhook URL that is safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def failure_alert(*, job_name: str, run_id: str, asset_keys: list[str], error: str, ui_base_url: str) -> dict:
    """The Slack-compatible payload for one failed run.

    `text` is the one line a person reads in the channel; the other fields carry the same facts whole,
    for receivers that parse JSON. Slack needs `&`, `<` and `>` escaped in `text`, or an error such as
    `<class 'X'>` would be read as a link.
    """
    run_url = f"{ui_base_url.rstrip('/')}/runs/{run_id}"
    error = error.strip()
    headline = _clip(error.splitlines()[0] if error else "no error message", TEXT_ERROR_MAX_CHARS)
    subject = f"job {job_name}"
    if asset_keys:
        shown = ", ".join(asset_keys[:TEXT_MAX_ASSETS])
        more = len(asset_keys) - TEXT_MAX_ASSETS
        subject += f", assets {shown}" + (f" (+{more} more)" if more > 0 else "")
    text = f":red_circle: Dagster run failed: {subject} — {headline}  {run_url}"
    return {
        "text": _slack_escape(text),
        "job": job_name,
        "run_id": run_id,
        "assets": list(asset_keys),
        "error": _clip(error, ERROR_MAX_CHARS),
        "run_url": run_url,
    }


def feed_alert(
    *,
    source: str,
    feed: str,
    day: str,
    problem: str,
    job_name: str,
    run_id: str,
    asset_key: str,
    ui_base_url: str,
) -> dict:
    """The payload for one feed of a source that failed or came back short, in the run-failure style.

    The run itself stays green (the other feeds are in), so this is the only message a person gets:
    `text` names the feed, the day and the problem; the other fields carry the same facts whole.
    """
    run_url = f"{ui_base_url.rstrip('/')}/runs/{run_id}"
    problem = problem.strip() or "no error message"
    headline = _clip(problem.splitlines()[0], TEXT_ERROR_MAX_CHARS)
    text = f":warning: Feed {feed} ({source}) not read whole for {day}: {headline}  {run_url}"
    return {
        "text": _slack_escape(text),
        "job": job_name,
        "run_id": run_id,
        "assets": [asset_key],
        "error": _clip(problem, ERROR_MAX_CHARS),
        "run_url": run_url,
        "source": source,
        "feed": feed,
        "day": day,
    }


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def failure_error_text(event: DagsterEvent) -> str:
    """What went wrong, as the person who wrote the failing asset would say it.

    Dagster wraps an exception raised in an asset in its own `DagsterExecutionStepExecutionError`
    ("Error occurred while executing op ..."), so the wrappers are peeled off down to the first
    non-Dagster error, and the failed step is named instead. An exception's own cause is kept: it is
    what the asset chose to raise.
    """
    error = None
    step_key = event.step_key
    if event.event_type == DagsterEventType.RUN_FAILURE:
        failure = event.job_failure_data
        error = failure.error
        if failure.first_step_failure_event is not None:
            step_key = failure.first_step_failure_event.step_key
    elif event.event_type == DagsterEventType.STEP_FAILURE:
        error = event.step_failure_data.error
    if error is None:
        return event.message or f"{event.event_type_value} without an error message"
    while error.cause is not None and error.cls_name and error.cls_name.startswith("Dagster"):
        error = error.cause
    message = error.message.strip()
    return f"{step_key}: {message}" if step_key else message


def run_asset_keys(context: RunFailureSensorContext) -> list[str]:
    """The assets the failed run was meant to materialize, as `prefix/name` strings, sorted.

    `asset_selection` is only filled in when a run is a subset; a run of a whole asset job has an
    empty (or no) selection, so then the run's planned materializations say which assets it covered.
    """
    run = context.dagster_run
    keys = set(run.asset_selection or ())
    if not keys:
        records = context.instance.get_records_for_run(
            run_id=run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
        for record in records:
            event = record.event_log_entry.dagster_event
            if event is not None and event.asset_key is not None:
                keys.add(event.asset_key)
    return sorted(key.to_user_string() for key in keys)


SENSOR_DESCRIPTION = (
    "Posts one alert per failed run in this code location to the webhook in PIPELINE_ALERT_WEBHOOK_URL: "
    "the job, the assets it was building, the error and a link to the run. Without that variable the "
    "alert is written to this sensor's tick log instead. A webhook that cannot be reached is logged "
    "here too; the sensor never fails because of it."
)


@run_failure_sensor(
    name="run_failure_alert",
    description=SENSOR_DESCRIPTION,
    default_status=DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
)
def pipeline_run_failure_alert(context: RunFailureSensorContext, alert_webhook: AlertWebhook) -> None:
    """Alert a person about a failed run, because a failed scheduled run is otherwise silent.

    Runs once per failed run; returns nothing so Dagster records the run as handled and goes on to
    the next failure in the same tick.
    """
    payload = failure_alert(
        job_name=context.dagster_run.job_name,
        run_id=context.dagster_run.run_id,
        asset_keys=run_asset_keys(context),
        error=failure_error_text(context.failure_event),
        ui_base_url=alert_webhook.ui_base_url,
    )
    if alert_webhook.send(payload, log=context.log):
        context.log.info("Sent the failure alert for run %s.", context.dagster_run.run_id)
