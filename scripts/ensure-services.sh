#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis the tests use are answering; starts the local ones if not.
set -euo pipefail
pg_ok() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_ok() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if [[ -z "${DATABASE_URL:-}" ]] && ! pg_ok; then
  echo "PostgreSQL is not answering; starting the local cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_ok && break; sleep 1; done
  pg_ok || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
if [[ -z "${REDIS_URL:-}" ]] && ! redis_ok; then
  echo "Redis is not answering; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_ok && break; sleep 1; done
  redis_ok || { echo "Redis did not start" >&2; exit 1; }
fi
