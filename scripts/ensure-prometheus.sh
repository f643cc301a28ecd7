#!/usr/bin/env bash
# The metrics test checks a real /metrics scrape with `promtool check metrics` (Debian's
# `prometheus` package ships promtool); install it when this machine lacks it. Without root,
# say what to run: the test then fails with the same instruction (it is never skipped).
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0
[[ -x /usr/bin/promtool ]] && exit 0
if [[ "$(id -u)" -ne 0 ]]; then
  echo "promtool is missing: run 'sudo apt-get install -y --no-install-recommends prometheus'" >&2
  exit 0
fi
echo "Installing prometheus (promtool) for the metrics test (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# The package lists are fetched only when apt does not know the package, or knows a version
# the mirror no longer has.
install_prometheus() { apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
if ! apt-cache show prometheus >/dev/null 2>&1 || ! install_prometheus; then
  apt-get update -qq
  install_prometheus
fi
