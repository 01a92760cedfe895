"""Podman on this kind of machine: what it takes to build and run deploy/Dockerfile here.

Found by trying, on machines with no Docker engine and no container registry but Debian's mirror and the
package index in reach:
- the base image cannot be pulled, so it is bootstrapped with `mmdebstrap` (python3, python3-venv,
  ca-certificates: Debian 12's Python is 3.11, the project's) and `podman import`ed once per machine;
- podman's default runtime (crun) fails on these machines' rlimits and hybrid cgroups: every container
  runs under runc with explicit `nofile` and `nproc` limits no higher than the host's hard limits;
- HTTPS to the package index goes through TLS inspection, so the build mounts the host's CA bundle for
  its install steps (PIP_CERT) and never copies it;
- `--network host` lets the container reach the sandbox, moto's S3 and PostgreSQL on 127.0.0.1.
"""

from __future__ import annotations

import os
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline_tests.loopback import only_loopback

BASE_IMAGE = "localhost/ev-insight-base:bookworm-python3"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
SUITE = "bookworm"
CA_IN_BUILD = "/run/host-ca.crt"


TOOLS = ("podman", "mmdebstrap", "runc")


def missing_tools() -> list[str]:
    """Which of the tools building and running the image takes this machine lacks."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def require_podman() -> str:
    """podman's path; the test fails (never skips) where it is missing, saying how to get it."""
    if missing := missing_tools():
        pytest.fail(
            f"The container test needs {', '.join(missing)}, which this machine lacks. Run `make "
            "test-container` as root (scripts/ensure-podman.sh installs podman, mmdebstrap and runc with "
            "apt), or install them yourself (Debian/Ubuntu: sudo apt-get install podman mmdebstrap runc).",
            pytrace=False,
        )
    return str(shutil.which("podman"))


def _limit(kind: int, ceiling: int) -> int:
    _soft, hard = resource.getrlimit(kind)
    return min(ceiling, hard if hard != resource.RLIM_INFINITY else ceiling)


def runtime_flags() -> list[str]:
    """runc, and rlimits the host allows (a limit above the host's hard one makes runc fail)."""
    nofile = _limit(resource.RLIMIT_NOFILE, 65536)
    nproc = _limit(resource.RLIMIT_NPROC, 32768)
    return [
        "--runtime",
        "runc",
        "--ulimit",
        f"nofile={nofile}:{nofile}",
        "--ulimit",
        f"nproc={nproc}:{nproc}",
    ]


def host_ca_bundle() -> Path | None:
    """The CA bundle this host's Python verifies with (where TLS inspection adds its CA), if any."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


REPO = Path(__file__).resolve().parents[2]


def readable_copy(source: Path | str, folder: Path) -> Path:
    """`source` copied into `folder` (made if missing), both readable by any user: the container's user
    is not the one who wrote the original (a 0700 temporary folder, say)."""
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    folder.chmod(0o755)
    copy = folder / Path(source).name
    shutil.copyfile(source, copy)
    copy.chmod(0o644)
    return copy


def wait_for_code_server(port: int, *, timeout_s: float = 180) -> float:
    """Seconds until a code server on 127.0.0.1:`port` answers gRPC's health check (asked from here,
    with this environment's `dagster`)."""
    started = time.monotonic()
    check = [str(Path(sys.executable).with_name("dagster")), "api", "grpc-health-check", "-p", str(port)]
    while time.monotonic() - started < timeout_s:
        if subprocess.run(check, capture_output=True, check=False).returncode == 0:
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"no code server answered on port {port} in {timeout_s:.0f} s")


def build_context(tmp: Path, *, planted: Mapping[str, str] | None = None) -> Path:
    """A copy of the repository's files (tracked, and new ones git does not ignore) to build from, plus
    `planted` files (relative path -> text) that the build must leave out, as a checkout's `.env`."""
    context = tmp / "context"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, context / name)
    for name, text in (planted or {}).items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(text)
    return context


@dataclass
class Podman:
    executable: str

    def run(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600) -> str:
        """Run `podman ARGS`; on failure raise with its output, which names what went wrong."""
        done = subprocess.run(
            [self.executable, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"podman {' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout[-4000:]}\n"
                f"{done.stderr[-4000:]}"
            )
        return done.stdout

    def image_exists(self, name: str) -> bool:
        return subprocess.run([self.executable, "image", "exists", name], check=False).returncode == 0

    def ensure_base(self) -> float:
        """The bootstrapped Debian base, built once per machine and kept in podman's store; the
        seconds it took (0 when it was there)."""
        if self.image_exists(BASE_IMAGE):
            return 0.0
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="ev-insight-base.") as scratch:
            tarball = Path(scratch) / "base.tar"
            subprocess.run(
                [
                    "mmdebstrap",
                    "--variant=minbase",
                    f"--include={','.join(BASE_PACKAGES)}",
                    SUITE,
                    str(tarball),
                ],
                check=True,
                capture_output=True,
                timeout=900,
            )
            self.run("import", "--change", 'CMD ["python3"]', str(tarball), BASE_IMAGE)
        return time.monotonic() - started

    def build(
        self, context: Path, tag: str, *, dockerfile: Path, cache: bool = True, ca_bundle: Path | None = None
    ) -> str:
        """`podman build` of `dockerfile` from `context` on the bootstrapped base; its log. `cache=False`
        rebuilds every layer (a cold build, the base aside); `ca_bundle` replaces the host's bundle."""
        flags = [*runtime_flags(), "--network", "host", "--format", "docker", "--layers"]
        flags += [] if cache else ["--no-cache"]
        ca = ca_bundle or host_ca_bundle()
        if ca is not None:
            flags += ["--volume", f"{ca}:{CA_IN_BUILD}:ro", "--build-arg", f"PIP_CERT={CA_IN_BUILD}"]
        flags += ["--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--file", str(dockerfile), "--tag", tag]
        return self.run("build", *flags, str(context), timeout=1800)

    def start(
        self, image: str, name: str, *, env: Mapping[str, str], mounts: Sequence[tuple[Path, str]]
    ) -> None:
        """Start `image` detached on the host's network, with the variables of `env` and the files of
        `mounts` (read-only). Variables go by name only (`-e NAME`, podman taking the value from its own
        environment), so no secret is ever on a command line. Refused unless every upstream it names is
        on this machine (pipeline_tests/loopback.py): conftest.py's guard does not reach into a container."""
        only_loopback(env, mounts)
        args = ["run", "--detach", "--name", name, *runtime_flags(), "--network", "host"]
        for variable in sorted(env):
            args += ["--env", variable]
        for source, target in mounts:
            args += ["--volume", f"{source}:{target}:ro"]
        self.run(*args, image, env={**os.environ, **env})

    def remove(self, name: str) -> None:
        subprocess.run(
            [self.executable, "rm", "--force", "--time", "5", name], capture_output=True, check=False
        )
