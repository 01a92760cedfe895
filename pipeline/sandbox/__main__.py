"""``python -m pipeline.sandbox serve``: run the sandbox in the foreground for manual runs and demos.

Prints ``export NAME=value`` lines (sandbox-only fake credentials, safe to show) so another shell can
``eval`` them, then serves until Ctrl-C or SIGTERM and stops everything cleanly.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from types import FrameType

from pipeline.sandbox import Sandbox


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the fake upstreams and local S3 until interrupted")
    serve.add_argument("--stations", type=int, default=1234, help="eConnect stations to serve")
    serve.add_argument("--devices", type=int, default=2345, help="NCR registry devices to serve")
    serve.add_argument("--latency-ms", type=int, default=0, help="delay before every HTTP answer")
    return parser


def serve(*, stations: int, devices: int, latency_ms: int) -> None:
    """Start the sandbox, print its environment, block until SIGINT/SIGTERM, then stop."""
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Sandbox(stations=stations, devices=devices, latency_s=latency_ms / 1000) as sandbox:
            for name, value in sandbox.env().items():
                print(f"export {name}={shlex.quote(value)}")
            sys.stdout.flush()
            print("# sandbox running; Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
            # Short waits rather than one long one, so the signal handler's flag is seen promptly.
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("# sandbox stopped", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        serve(stations=args.stations, devices=args.devices, latency_ms=args.latency_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
