#!/usr/bin/env bash
# Serve the platform on the embedded default: SQLite, a filesystem Celery broker, a real worker and beat (the
# watchdog's schedule), the demo project. Safe to run again: everything already set up is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=${ALFA_HOST:-127.0.0.1}
PORT=${ALFA_PORT:-8000}
VAR=${ALFA_VAR_DIR:-var}
mkdir -p "$VAR/log"

$PY manage.py migrate --no-input -v 0
$PY manage.py load_demo
if ! $PY manage.py prepare_demo_model; then
  echo "WARNING: the SmolLM2 demo model could not be prepared (see above); synthesis needs a model endpoint." >&2
fi

# Beat (it schedules the watchdog) runs as its own process: an embedded beat (-B) can hang the worker's shutdown.
# A thread pool: prefork children killed by a terminal's SIGTERM can leave the main process waiting forever.
$PY -m celery -A alfa_platform worker -Q default,gpu --pool threads --concurrency 2 -l info \
  >"$VAR/log/worker.log" 2>&1 &
WORKER_PID=$!
$PY -m celery -A alfa_platform beat -l info --schedule "$VAR/celerybeat-schedule" >"$VAR/log/beat.log" 2>&1 &
BEAT_PID=$!
# --timeout 120: a large item upload (24,800 pairs, 43 MB) is parsed and inserted within its request
$PY -m gunicorn alfa_platform.wsgi -b "$HOST:$PORT" -w 2 --threads 4 --timeout 120 --access-logfile "$VAR/log/access.log" &
WEB_PID=$!
stop() {
  trap - EXIT INT TERM
  kill -TERM "$WEB_PID" "$WORKER_PID" "$BEAT_PID" 2>/dev/null || true
  # A warm shutdown finishes the running task; after 30 s stop waiting (the watchdog re-queues lost jobs).
  for _ in $(seq 60); do
    kill -0 "$WEB_PID" 2>/dev/null || kill -0 "$WORKER_PID" 2>/dev/null || kill -0 "$BEAT_PID" 2>/dev/null || break
    sleep 0.5
  done
  for pid in "$WORKER_PID" "$WEB_PID" "$BEAT_PID"; do
    if kill -0 "$pid" 2>/dev/null; then
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait "$WEB_PID" "$WORKER_PID" "$BEAT_PID" 2>/dev/null || true
}
trap stop EXIT INT TERM

echo
echo "ALFA platform: http://$HOST:$PORT/   (logs in $VAR/log/; Ctrl-C stops the web server and the worker)"
echo "Demo credentials are listed above and kept in $VAR/demo-credentials.json."
wait "$WEB_PID"
