"""One alert per feed and day when a feed fails or comes back short, while the run stays green.

A feed left out of today's snapshot is visible in the UI (a failed `fetched` check, `uk_ocpi_feeds`),
but nobody opens the UI to find out. So the fetch posts to the alert webhook, once per feed and day: a
marker in the lake (`alerts/uk_ocpi/DAY/<operator>.json`) records each alert delivered, so a re-run of
the day, or the next hourly attempt, does not post the same news again. An alert that could not be
delivered leaves no marker and is tried again by the next run.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from upath import UPath

from pipeline.orchestration.alerts import AlertWebhook, feed_alert
from pipeline.resources.lake import put_bytes
from pipeline.resources.storage import DataDir
from pipeline.sources.uk_ocpi import NAME


def marker(data_dir: DataDir, day: str, operator: str) -> UPath:
    """Where the delivery of the day's alert about `operator` is recorded."""
    return data_dir.root / "alerts" / NAME / day / f"{operator}.json"


def alert_once(
    webhook: AlertWebhook,
    data_dir: DataDir,
    *,
    operator: str,
    asset_key: str,
    day: str,
    problem: str,
    job_name: str,
    run_id: str,
    log: logging.Logger,
) -> bool:
    """Post the alert about `operator` on `day` unless one was delivered already; True when posted now."""
    done = marker(data_dir, day, operator)
    if done.exists():
        log.info(f"Feed {operator}: the alert for {day} was sent already; not sending it again.")
        return False
    payload = feed_alert(
        source=NAME,
        feed=operator,
        day=day,
        problem=problem,
        job_name=job_name,
        run_id=run_id,
        asset_key=asset_key,
        ui_base_url=webhook.ui_base_url,
    )
    if not webhook.send(payload, log=log):
        return False
    record = {
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "problem": problem,
    }
    put_bytes(done, json.dumps(record, ensure_ascii=False).encode())
    return True
