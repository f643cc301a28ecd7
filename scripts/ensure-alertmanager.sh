#!/usr/bin/env bash
# The alert-receiver test drives a real Alertmanager and amtool (Debian's prometheus-alertmanager);
# install it when this machine lacks it. Without root, say what to run: the test then fails with
# the same instruction (it is never skipped).
set -euo pipefail
if command -v amtool >/dev/null 2>&1 \
  && { command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1; }; then
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]]; then
  echo "alertmanager is missing: run 'sudo apt-get install -y --no-install-recommends prometheus-alertmanager'" >&2
  exit 0
fi
echo "Installing prometheus-alertmanager for the alert-receiver test (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The test runs its own Alertmanager on free loopback ports, whether or not the package's
# service runs.
apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
