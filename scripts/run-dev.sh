#!/usr/bin/env bash
# Starts the web server, a Celery worker and the beat scheduler together in the foreground.
# One Ctrl-C (or any of the three exiting) stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
mkdir -p var/broker/queue var/broker/processed var/exports

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$PY" -m celery -A config worker --loglevel=INFO --concurrency=2 -Q default,sla,exports,celery \
  --hostname "worker@%h" &
pids+=($!)
"$PY" -m celery -A config beat --loglevel=INFO --schedule var/celerybeat-schedule &
pids+=($!)
"$PY" manage.py runserver "127.0.0.1:${PORT}" --noreload &
pids+=($!)

echo "Pilot Control Plane: http://127.0.0.1:${PORT}/admin/  (API docs: /api/docs/, health: /healthz/)"
wait -n
