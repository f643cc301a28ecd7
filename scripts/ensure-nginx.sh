#!/usr/bin/env bash
# The production layout puts Debian's nginx in front of gunicorn (deploy/nginx.conf) and the
# slow-clients test starts it; install it when this machine lacks it. Without root, say what to
# run: the test then fails with the same instruction (it is never skipped). `make run` does not
# use nginx.
set -euo pipefail
command -v nginx >/dev/null 2>&1 && exit 0
[[ -x /usr/sbin/nginx ]] && exit 0
if [[ "$(id -u)" -ne 0 ]]; then
  echo "nginx is missing: run 'sudo apt-get install -y nginx'" >&2
  exit 0
fi
echo "Installing nginx for the production-layout tests (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# The package lists are fetched only when apt does not know the package, or knows a version
# the mirror no longer has.
install_nginx() { apt-get install -y -qq --no-install-recommends nginx >/dev/null; }
if ! apt-cache show nginx >/dev/null 2>&1 || ! install_nginx; then
  apt-get update -qq
  install_nginx
fi
