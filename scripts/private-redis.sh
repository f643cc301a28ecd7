#!/usr/bin/env bash
# A throw-away Redis for fault drills (never the machine's shared one): prints its URL, runs in
# the foreground until Ctrl-C / kill. Usage: scripts/private-redis.sh [port]
set -euo pipefail
port="${1:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
echo "REDIS_URL=redis://127.0.0.1:${port}/0"
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  --dir "$dir"
