"""``python -m pipeline_tests.benchmarks.peak RESULT -- COMMAND...``: run COMMAND, record its true peak RSS.

Why a wrapper: Linux carries a process's RSS high-water mark across ``fork`` + ``exec`` (the forking
process's image counts until the exec), so ``os.wait4`` in the benchmark itself, which holds the sandbox
data (up to gigabytes of registry), would report the benchmark's size, not the child's. Started from
this small process instead, the command's ``ru_maxrss`` is its own: the peak of the biggest single
process in its tree, since Linux folds in the peak of every descendant it reaped.

Writes ``<max RSS in kB> <wall seconds>`` to RESULT and exits with the command's exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    result, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit(__doc__)
    start = time.perf_counter()
    child = subprocess.Popen(command)  # the command line is the benchmark's own, not user input
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    Path(result).write_text(f"{usage.ru_maxrss} {wall:.6f}\n")
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
