#!/usr/bin/env bash
# Starts the web server, a Celery worker and the beat scheduler together in the foreground.
# One Ctrl-C (or any of the three exiting) stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
mkdir -p var/broker/queue var/broker/processed var/broker/control var/exports

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

# The first run plays a demo pilot through the real API, with the runbook's four common
# incidents injected, so detectors open incidents by themselves. Later runs keep that data.
if [[ ! -e var/.demo-simulated ]]; then
  (
    for _ in $(seq 1 60); do
      "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:${PORT}/healthz/', timeout=2)" \
        2>/dev/null && break
      sleep 1
    done
    "$PY" manage.py simulate_pilot --base-url "http://127.0.0.1:${PORT}" --deals 40 \
      --inject duplicate-ledger,timer-missing,dispute-ttl,stuck-deal && touch var/.demo-simulated
  ) &
  pids+=($!)
fi

echo "Pilot Control Plane: http://127.0.0.1:${PORT}/admin/  (API docs: /api/docs/, health: /healthz/)"
wait -n "${pids[@]:0:3}"
