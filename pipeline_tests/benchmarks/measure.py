"""Wall time and peak memory of a child process and everything it starts.

Both ways are measured the same way from the outside, so neither pays for being measured from inside:

- ``single_mb``: the kernel's own high-water mark from ``os.wait4``, taken by the small ``peak``
  wrapper (see there why not here). Linux folds the peak of every descendant the command reaped into
  it, so it is the peak RSS of the *biggest single process* in the tree (for a one-process seed script,
  simply its peak RSS). Exact, no sampling.
- ``tree_mb``: the largest *sum* of VmRSS over the command's process tree, sampled every 50 ms from
  ``/proc`` (psutil is not a dependency of this project). The Dagster CLI may run steps in child
  processes next to a CLI process that stays alive, so this is what the run holds at once. Pages shared
  after a fork count once per process, so it over-states slightly; a peak shorter than the sampling
  interval can be missed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_INTERVAL_S = 0.05
_PROC = Path("/proc")


@dataclass(frozen=True)
class Measurement:
    """What one measured child run cost; ``returncode`` 0 means it finished normally."""

    wall_s: float
    single_mb: float
    tree_mb: float
    returncode: int


def run_measured(
    argv: list[str], *, env: dict[str, str], cwd: Path, log: Path, timeout_s: float
) -> Measurement:
    """Run ``argv`` to completion (output to ``log``) under ``peak``, sampling its tree until it exits.

    ``cwd`` and ``env`` must let ``python -m pipeline_tests.benchmarks.peak`` import. Bounded by
    ``timeout_s``: past it the whole process group is killed and the run counts as failed.
    """
    fd, result_name = tempfile.mkstemp(prefix="peak.", dir=log.parent)
    os.close(fd)
    wrapped = [sys.executable, "-m", "pipeline_tests.benchmarks.peak", result_name, "--", *argv]
    with log.open("ab") as out:
        start = time.perf_counter()
        wrapper = subprocess.Popen(
            wrapped, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        tree_kb, deadline = 0, start + timeout_s
        while wrapper.poll() is None:
            if time.perf_counter() > deadline:
                os.killpg(wrapper.pid, signal.SIGKILL)
                wrapper.wait()
                break
            tree_kb = max(tree_kb, _tree_rss_kb(wrapper.pid))
            time.sleep(SAMPLE_INTERVAL_S)
        outer_wall = time.perf_counter() - start
    peak_kb, wall = _read_result(Path(result_name), outer_wall)
    return Measurement(wall, peak_kb / 1024, tree_kb / 1024, wrapper.returncode)


def _read_result(path: Path, fallback_wall: float) -> tuple[float, float]:
    """``(max RSS kB, wall s)`` as the wrapper wrote them; no peak and the outer wall if it was killed."""
    fields = path.read_text().split()
    path.unlink()
    if len(fields) != 2:
        return 0.0, fallback_wall
    return float(fields[0]), float(fields[1])


def _tree_rss_kb(root: int) -> int:
    """Summed VmRSS (kB) of all descendants of ``root`` (the wrapper itself left out) right now."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent_pid(entry)
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        total += _status_kb(pid, "VmRSS:")
        todo.extend(children.get(pid, ()))
    return total


def _parent_pid(entry: Path) -> int | None:
    """The parent pid from ``/proc/PID/stat``; None when the process vanished meanwhile."""
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses; the fields after the last ")" do not.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _status_kb(pid: int, field: str) -> int:
    """One ``kB`` field of ``/proc/PID/status``; 0 for a process that is gone (or a zombie)."""
    try:
        lines = (_PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(field):
            return int(line.split()[1])
    return 0
