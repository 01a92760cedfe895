"""`make demo` and `make ui`: the pipeline against the sandbox, on the repo's own Dagster instance.

`make demo` starts the fake eConnect and registry servers and a local S3, runs the same CLI command an
operator runs in production (`dagster asset materialize ... --select '*' --partition DAY`) on the
instance in `.dagster_home` and prints where the outputs are. `make ui` starts the sandbox again and
`dagster dev` on that instance, so the UI shows the demo's runs and lineage, and runs launched from it
(or by its schedules and sensors) reach the sandbox instead of the real APIs. Ctrl-C (or SIGTERM) stops
`dagster dev`, everything it started (webserver, daemon, code servers, runs) and the sandbox.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import subprocess  # nosec B404: runs the dagster CLI from this virtualenv, no shell
import sys
import time
from pathlib import Path
from typing import Any

from pipeline.orchestration.partitions import today_key
from pipeline.resources.lake import read_parquet
from pipeline.resources.storage import DataDir
from pipeline.sandbox import Sandbox
from pipeline.sources.csv_output import CountsCsv
from pipeline.sources.uk_ocpi.assets import CSV as OCPI_CSV
from pipeline.sources.uk_ocpi.price_assets import CSV as PRICES_CSV
from pipeline.sources.uk_registry.assets import CSV as REGISTRY_CSV

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ui", action="store_true", help="start `dagster dev` against the sandbox")
    parser.add_argument("--port", type=int, default=3000, help="the UI's port with --ui (default 3000)")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("PIPELINE_DATA_DIR", REPO / "data")).resolve()
    dagster_home = Path(os.environ.get("DAGSTER_HOME", REPO / ".dagster_home")).resolve()
    dagster_home.mkdir(parents=True, exist_ok=True)
    with Sandbox() as sandbox:
        env = {
            **os.environ,
            **sandbox.env(),
            "PIPELINE_DATA_DIR": str(data_dir),
            "PIPELINE_S3_PREFIX": "",
            "DAGSTER_HOME": str(dagster_home),
        }
        devices = len(sandbox.registry["ChargeDevice"])
        feeds = len(sandbox.ocpi.servers)
        print(
            f"Sandbox up: {len(sandbox.stations)} stations, {devices} UK registry devices, {feeds} OCPI "
            "operator feeds (one of them always down).",
            flush=True,
        )
        if args.ui:
            return _serve(["dev", "-h", "127.0.0.1", "-p", str(args.port)], env)
        partition = today_key()
        code = _dagster(
            ["asset", "materialize", "-m", "pipeline.definitions", "--select", "*", "--partition", partition],
            env,
        )
        if code != 0:
            print(f"\nThe materialisation failed (exit {code}); the run log is above.")
            return code
        lake = DataDir(path=str(data_dir))
        client = sandbox.s3.client()
        csvs = [
            _csv_summary(client, sandbox.s3.bucket, spec, partition, lake)
            for spec in (REGISTRY_CSV, OCPI_CSV, PRICES_CSV)
        ]
    report = lake.report_path("econnect_stations", partition, ".xlsx")
    print(
        "\nDone.\n"
        f"  Excel report : {report}\n"
        + "".join(csvs)
        + _feeds_summary(lake, partition)
        + f"  Raw snapshots: {data_dir / 'raw'}\n"
        "  To see the run, the asset graph and lineage in the Dagster UI on this same instance:\n"
        "      make ui     (then open http://127.0.0.1:3000)"
    )
    return 0


def _dagster(arguments: list[str], env: dict[str, str]) -> int:
    command = [str(Path(sys.executable).with_name("dagster")), *arguments]
    print("Running:", " ".join(command), flush=True)
    try:
        return subprocess.run(command, env=env, cwd=REPO, check=False).returncode  # noqa: S603  # nosec B603
    except KeyboardInterrupt:
        return 0


STOP_WAIT_S = 30.0


def _serve(arguments: list[str], env: dict[str, str]) -> int:
    """`dagster dev` in a process group of its own, until Ctrl-C or SIGTERM; then the whole group stops.

    `dagster dev` passes a Ctrl-C on to the webserver, daemon and code servers it started, but ignores
    SIGTERM, and a terminal that closes may leave them behind. So it gets SIGINT from here, the group
    is given STOP_WAIT_S to finish, and whatever is left of it is killed before the sandbox stops.

    Both signals are caught before `dagster dev` starts, even when this process was started with
    SIGINT ignored (a shell's background job, `nohup`): a caught signal is reset to its default in a
    child, an ignored one would stay ignored there, and Ctrl-C would stop nothing.
    """
    command = [str(Path(sys.executable).with_name("dagster")), *arguments]
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print("Running:", " ".join(command), "(Ctrl-C stops it and everything it started)", flush=True)
        process = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True)  # noqa: S603  # nosec B603
        try:
            return process.wait()
        except KeyboardInterrupt:
            print("\nStopping dagster dev and everything it started ...", flush=True)
            _stop_group(process)
            return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the group, then SIGKILL to whatever of it is still there after STOP_WAIT_S."""
    group = process.pid  # the session leader's pid is the group's id
    for sig, wait_s in ((signal.SIGINT, STOP_WAIT_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            process.poll()  # reap the leader, or the group never looks empty
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _csv_summary(client: Any, bucket: str, spec: CountsCsv, partition: str, lake: DataDir) -> str:
    """Where one uploaded CSV is, its first lines and how many rows it has (rows, not lines: a quoted
    cell may hold a line break)."""
    body = client.get_object(Bucket=bucket, Key=spec.file)["Body"].read().decode("utf-8")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    head = body.splitlines()[: 6 if spec is PRICES_CSV else 4]
    return (
        f"  {spec.file}: s3://{bucket}/{spec.file} and s3://{bucket}/{partition}/{spec.file}\n"
        f"    local copy : {lake.report_path(spec.stem, partition, '.csv')}\n"
        f"    {len(rows) - 1:,} rows; the sandbox S3 stops with the demo, its first lines were:\n"
        + "".join(f"      {line}\n" for line in head)
    )


def _feeds_summary(lake: DataDir, partition: str) -> str:
    """The OCPI feeds: which made it into today's snapshot, and how each departs from OCPI 2.2.1."""
    status = read_parquet(lake.table_path("uk_ocpi_feeds", partition))
    conformance = read_parquet(lake.table_path("uk_ocpi_conformance", partition))
    missing = status.loc[~status["included"], ["operator", "error"]]
    shown = conformance[
        ["operator", "wire_style", "pages", "locations", "evses", "statuses_mapped", "reused_evse_uids",
         "ocpi_211_powers", "non_uk_locations", "boms", "no_power_evses", "swapped_coordinates"]
    ]  # fmt: skip
    lines = shown.to_string(index=False).splitlines()
    included = int(status["included"].sum())
    gone = [f"    missing: {op}: {str(error)[:150]}\n" for op, error in missing.itertuples(index=False)]
    return (
        f"  OCPI feeds   : {included} of {len(status)} in today's snapshot; conformance:\n"
        + "".join(f"      {line}\n" for line in lines)
        + "".join(gone)
    )


if __name__ == "__main__":
    raise SystemExit(main())
