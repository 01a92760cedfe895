#!/usr/bin/env bash
# Installs Debian packages a test needs, for the scripts that know which are missing
# (ensure-chromium.sh, ensure-podman.sh). As root with apt only (CI): a developer's machine is theirs to
# change, so elsewhere it names the packages and fails.
#
#   scripts/apt-ensure.sh WHO [--with-recommends] PACKAGE...   # WHO: the caller's name, for the messages
set -euo pipefail

who="$1"
shift
recommends=--no-install-recommends
if [[ "${1:-}" == --with-recommends ]]; then
    recommends=--install-recommends
    shift
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "$who: missing $*; install them (Debian/Ubuntu: sudo apt-get install $*) and run again (as root, this script installs them with apt)." >&2
    exit 1
fi
echo "$who: installing $* with apt-get (first run on this machine)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq "$recommends" "$@" >&2
