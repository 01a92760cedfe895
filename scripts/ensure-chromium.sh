#!/usr/bin/env bash
# The browser test drives Debian's Chromium (Playwright with `executable_path`, never a downloaded
# browser). This installs the `chromium` package with apt when it is missing; as root only (CI), since a
# developer's machine is theirs to change: elsewhere it says what to run.
#
#   scripts/ensure-chromium.sh   # prints the browser's path
set -euo pipefail

BROWSER="${PIPELINE_TEST_CHROMIUM:-/usr/bin/chromium}"

if [[ -x "$BROWSER" ]]; then
    echo "$BROWSER"
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "ensure-chromium: no browser at $BROWSER; install Chromium (Debian/Ubuntu: sudo apt-get install chromium) or set PIPELINE_TEST_CHROMIUM to its path." >&2
    exit 1
fi
echo "ensure-chromium: installing chromium with apt-get (first run on this machine)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium >&2
[[ -x "$BROWSER" ]] || { echo "ensure-chromium: apt-get installed chromium but $BROWSER is not there." >&2; exit 1; }
echo "$BROWSER"
