#!/usr/bin/env bash
# The container test (`make test-container`) builds and runs the image with podman, on a Debian base
# bootstrapped with mmdebstrap, under runc (podman's default crun fails on these machines' rlimits and
# hybrid cgroups). Installs the three with apt when one is missing (scripts/apt-ensure.sh: as root only);
# elsewhere it says what to install, and the test then fails saying the same (it is never skipped).
#
#   scripts/ensure-podman.sh   # prints podman's version
set -euo pipefail

missing=()
for tool in podman mmdebstrap runc; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    # with podman's recommended packages, as the machines this was tried on had it
    "$(dirname "$0")/apt-ensure.sh" ensure-podman --with-recommends "${missing[@]}"
fi
podman --version
