"""The code location's image (deploy/Dockerfile): its size, its build time cold and cached, and how long
its code server takes to answer, built and run with podman exactly as `make test-container` does
(pipeline_tests/container/podman.py).

Build times, each on the base bootstrapped once per machine (its own time is shown beside them):
- cold: every layer rebuilt (`--no-cache`): the wheels downloaded and installed again;
- cached: the same context again, nothing changed;
- code change: one line of pipeline/ changed, so only the package's layers are rebuilt.
The code server's start is the time from `podman run` to its first answer to gRPC's health check, with
every source on against the sandbox (what it loads when it starts), the median of `STARTS`.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.sandbox import Sandbox
from pipeline_tests.container.podman import (
    Podman,
    build_context,
    missing_tools,
    readable_copy,
    runtime_flags,
    wait_for_code_server,
)

IMAGE = "localhost/ev-insight-pipeline:bench"
CONTAINER = "ev-insight-code-bench"
PORT = 4000
STARTS = 3


@dataclass(frozen=True)
class Image:
    base_s: float | None  # None: the base was already in podman's store
    cold_s: float
    cached_s: float
    code_change_s: float
    size_mb: float
    venv_mb: float
    starts_s: tuple[float, ...]

    @property
    def start_s(self) -> float:
        return statistics.median(self.starts_s)


def image(workdir: Path) -> Image:
    podman = Podman(_podman())
    base = podman.ensure_base()
    context = build_context(workdir / "image")  # workdir is the benchmark's, removed when it ends
    dockerfile = context / "deploy" / "Dockerfile"
    cold = _timed(lambda: podman.build(context, IMAGE, dockerfile=dockerfile, cache=False))
    cached = _timed(lambda: podman.build(context, IMAGE, dockerfile=dockerfile))
    with (context / "pipeline" / "__init__.py").open("a") as init:
        init.write("# a change to the code, for the benchmark's cached build\n")
    code_change = _timed(lambda: podman.build(context, IMAGE, dockerfile=dockerfile))
    size = int(podman.run("image", "inspect", "--format", "{{.Size}}", IMAGE).strip())
    du = ["run", "--rm", *runtime_flags(), "--entrypoint", "du", IMAGE, "-sb", "/opt/venv"]
    venv = podman.run(*du).split()[0]
    starts = tuple(_start(podman) for _ in range(STARTS))
    return Image(
        base_s=base or None,
        cold_s=cold,
        cached_s=cached,
        code_change_s=code_change,
        size_mb=size / 1e6,
        venv_mb=int(venv) / 1e6,
        starts_s=starts,
    )


def _start(podman: Podman) -> float:
    """Seconds from `podman run` to the code server's first healthy answer, every source on."""
    podman.remove(CONTAINER)
    with Sandbox() as sandbox, tempfile.TemporaryDirectory(prefix="feeds.") as scratch:
        env = sandbox.env()
        feeds = readable_copy(env["UK_OCPI_FEEDS"], Path(scratch) / "feeds")
        env["UK_OCPI_FEEDS"] = "/run/ev-insight/feeds.yaml"
        started = time.monotonic()
        podman.start(IMAGE, CONTAINER, env=env, mounts=[(feeds, env["UK_OCPI_FEEDS"])])
        try:
            wait_for_code_server(PORT)
            return time.monotonic() - started
        finally:
            podman.remove(CONTAINER)


def _timed(step) -> float:
    started = time.monotonic()
    step()
    return time.monotonic() - started


def _podman() -> str:
    """podman's path; a clear error (not a test failure: this is the benchmark) when a tool is missing."""
    if missing := missing_tools():
        raise RuntimeError(f"the image part needs {', '.join(missing)} (scripts/ensure-podman.sh)")
    return str(shutil.which("podman"))
