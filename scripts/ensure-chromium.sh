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
"$(dirname "$0")/apt-ensure.sh" ensure-chromium chromium \
    || { echo "ensure-chromium: or set PIPELINE_TEST_CHROMIUM to a Chromium's path." >&2; exit 1; }
[[ -x "$BROWSER" ]] || { echo "ensure-chromium: apt-get installed chromium but $BROWSER is not there." >&2; exit 1; }
echo "$BROWSER"
