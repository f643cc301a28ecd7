#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright's own download does not work offline);
# install it when this machine lacks it. Without root, say what to run: the tests then fail
# with the same instruction (they are never skipped).
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [[ "$(id -u)" -ne 0 ]]; then
  echo "chromium is missing: run 'sudo apt-get install -y chromium fonts-dejavu-core'" >&2
  exit 0
fi
echo "Installing chromium for the browser tests (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
