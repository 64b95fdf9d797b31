#!/usr/bin/env bash
# Install Debian's chromium for the end-to-end tests (tests/e2e) when it is missing. Playwright
# drives it with executable_path=/usr/bin/chromium; `playwright install` is never used (it
# downloads a browser, which an offline machine cannot). Without root or apt it says so and
# leaves the e2e tests to skip with that reason.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-chromium: /usr/bin/chromium is missing and cannot be installed here" \
    "(needs root and apt-get); the end-to-end tests will skip" >&2
  exit 0
fi
echo "install-chromium: installing Debian's chromium for the end-to-end tests" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends chromium; } >&2; then
  echo "install-chromium: apt-get failed; the end-to-end tests will skip" >&2
fi
