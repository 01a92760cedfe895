"""Environments for tests that build definitions without running anything: every source on, every
upstream a closed port on 127.0.0.1 (so nothing could ever reach a real host)."""

from pipeline.sandbox import BUSINESS_PARTNER, PASSWORD, USERNAME

DEAD = "http://127.0.0.1:9"

ALL_SOURCES_ON = {
    "ECONNECT_API_URL": DEAD,
    "ECONNECT_USERNAME": USERNAME,
    "ECONNECT_PASSWORD": PASSWORD,
    "ECONNECT_BUSINESS_PARTNER": BUSINESS_PARTNER,
    "NCR_API_URL": f"{DEAD}/registry.json",
    "PIPELINE_S3_BUCKET": "ev-insight-sandbox",
}
