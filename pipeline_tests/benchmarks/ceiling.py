"""``python -m pipeline_tests.benchmarks.ceiling RESULT``: how fast the sandbox can serve every page.

The eConnect fetch target (within 2× of pages × latency ÷ concurrency) only means something if the
sandbox itself can go that fast on this machine: it is a Python server sharing two cores with the
client. This fetches every page with the same concurrency and does nothing else (no parsing, no files),
from its own process like the pipeline, and writes the seconds to RESULT: the floor any client can reach
here. Reads the ``ECONNECT_*`` variables and ``ECONNECT_MAX_CONCURRENCY``.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests


def main(argv: list[str]) -> int:
    (result,) = argv
    base, partner = os.environ["ECONNECT_API_URL"], os.environ["ECONNECT_BUSINESS_PARTNER"]
    url = f"{base}/masterdata/cpos/{partner}/chargingstations"
    auth = (os.environ["ECONNECT_USERNAME"], os.environ["ECONNECT_PASSWORD"])
    concurrency = int(os.environ["ECONNECT_MAX_CONCURRENCY"])
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))
    pages = int(session.get(url, params={"size": 100}, auth=auth, timeout=60).json()["totalPages"]) + 1

    def fetch(page: int) -> None:
        response = session.get(url, params={"page": page, "size": 100}, auth=auth, timeout=60)
        response.raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(fetch, range(pages)))  # the same pages, plus the empty one, as the pipeline reads
    Path(result).write_text(f"{time.perf_counter() - start:.6f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
