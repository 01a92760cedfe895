"""Environments for tests that build definitions without running anything: every source on, every
upstream a closed port on 127.0.0.1 (so nothing could ever reach a real host)."""

DEAD = "http://127.0.0.1:9"

ALL_SOURCES_ON = {
    "ECONNECT_API_URL": DEAD,
    "ECONNECT_USERNAME": "sandbox",
    "ECONNECT_PASSWORD": "sandbox-secret",
    "ECONNECT_BUSINESS_PARTNER": "BP-SANDBOX",
    "NCR_API_URL": f"{DEAD}/registry.json",
    "PIPELINE_S3_BUCKET": "ev-insight-sandbox",
}
