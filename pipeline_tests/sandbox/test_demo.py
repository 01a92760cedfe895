"""`make ui` (`python -m pipeline.sandbox.demo --ui`): Ctrl-C or SIGTERM stops everything it started."""

import os
import signal
import socket
import subprocess  # nosec B404: this virtualenv's python, no shell
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment holds `marker` (everything the demo started inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for_ui(url: str, demo: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert demo.poll() is None, "the demo exited before the UI came up"
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:  # nosec B310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"no UI at {url} after {timeout_s} s")


@pytest.mark.parametrize(
    ("stop", "started_ignoring_sigint"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["ctrl-c", "sigterm", "ctrl-c-after-a-background-start"],
)
def test_stopping_make_ui_stops_dagster_dev_and_everything_it_started(
    tmp_path, stop, started_ignoring_sigint
):
    """`started_ignoring_sigint`: as a shell's background job (or CI's) starts it, SIGINT ignored; a
    child inherits that, so without the demo's own handler Ctrl-C would reach no process at all."""
    marker = f"PIPELINE_TEST_UI_{uuid.uuid4().hex}"
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "ECONNECT_", "NCR_"))}
    env = {
        **inherited,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "PIPELINE_DATA_DIR": str(tmp_path / "lake"),
        marker: "1",
    }
    # Its own group, as a terminal's foreground job: Ctrl-C there sends SIGINT to that group.
    inherited_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN) if started_ignoring_sigint else None
    try:
        demo = subprocess.Popen(  # nosec B603
            [sys.executable, "-m", "pipeline.sandbox.demo", "--ui", "--port", str(port)],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    finally:
        if inherited_sigint is not None:
            signal.signal(signal.SIGINT, inherited_sigint)
    try:
        wait_for_ui(f"http://127.0.0.1:{port}", demo)
        started = processes_with(marker)
        assert len(started) >= 3  # the demo, dagster dev, and what dagster dev started
        if stop == signal.SIGINT:
            os.killpg(demo.pid, signal.SIGINT)
        else:
            demo.send_signal(signal.SIGTERM)  # e.g. a supervisor stopping `make ui`
        assert demo.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_with(marker) == []
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens on the UI's port any more
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
