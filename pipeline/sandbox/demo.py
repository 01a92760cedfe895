"""`make demo` and `make ui`: the pipeline against the sandbox, on the repo's own Dagster instance.

`make demo` starts the fake eConnect and registry servers and a local S3, runs the same CLI command an
operator runs in production (`dagster asset materialize ... --select '*' --partition DAY`) on the
instance in `.dagster_home` and prints where the outputs are. `make ui` starts the sandbox again and
`dagster dev` on that instance, so the UI shows the demo's runs and lineage, and runs launched from it
(or by its schedules and sensors) reach the sandbox instead of the real APIs.
"""

from __future__ import annotations

import argparse
import os
import subprocess  # nosec B404: runs the dagster CLI from this virtualenv, no shell
import sys
from pathlib import Path

import boto3

from pipeline.orchestration.partitions import today_key
from pipeline.resources.storage import DataDir
from pipeline.sandbox import Sandbox
from pipeline.sources.uk_registry.assets import CSV

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ui", action="store_true", help="start `dagster dev` against the sandbox")
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
        print(f"Sandbox up: {len(sandbox.stations)} stations, {devices} UK devices.", flush=True)
        if args.ui:
            return _dagster(["dev"], env)
        partition = today_key()
        code = _dagster(
            ["asset", "materialize", "-m", "pipeline.definitions", "--select", "*", "--partition", partition],
            env,
        )
        if code != 0:
            print(f"\nThe materialisation failed (exit {code}); the run log is above.")
            return code
        csv_head = _csv_head(sandbox.s3.endpoint_url, sandbox.s3.bucket, sandbox.env())
        bucket = sandbox.s3.bucket
    report = DataDir(path=str(data_dir)).report_path("econnect_stations", partition, ".xlsx")
    print(
        "\nDone.\n"
        f"  Excel report : {report}\n"
        f"  S3 object    : s3://{bucket}/{CSV.file} (and s3://{bucket}/{partition}/{CSV.file});\n"
        "                 the sandbox S3 stops with the demo, its first lines were:\n"
        + "".join(f"                   {line}\n" for line in csv_head)
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


def _csv_head(endpoint: str, bucket: str, env: dict[str, str], lines: int = 4) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    body = client.get_object(Bucket=bucket, Key=CSV.file)["Body"].read().decode("utf-8")
    return [*body.splitlines()[:lines], f"... ({body.count(chr(10))} lines)"]


if __name__ == "__main__":
    raise SystemExit(main())
