#!/usr/bin/env bash
# The container test (`make test-container`) builds and runs the image with podman, on a Debian base
# bootstrapped with mmdebstrap, under runc (podman's default crun fails on these machines' rlimits and
# hybrid cgroups). This installs the three with apt when one is missing; as root only (CI), since a
# developer's machine is theirs to change: elsewhere it says what to run, and the test then fails
# saying the same (it is never skipped).
#
#   scripts/ensure-podman.sh   # prints podman's version
set -euo pipefail

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v runc >/dev/null || missing+=(runc)

if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ "$(id -u)" != 0 ]]; then
        echo "ensure-podman: missing ${missing[*]}; install them (Debian/Ubuntu: sudo apt-get install podman mmdebstrap runc) and run the container test as root." >&2
        exit 1
    fi
    echo "ensure-podman: installing ${missing[*]} with apt-get (first run on this machine)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq podman mmdebstrap runc >&2
fi
podman --version
