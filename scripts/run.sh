#!/usr/bin/env bash
# Serve the platform on the embedded default: SQLite, a filesystem Celery broker, a real worker (with the
# watchdog's beat), the demo project. Safe to run again: everything already set up is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=${ALFA_HOST:-127.0.0.1}
PORT=${ALFA_PORT:-8000}
mkdir -p var/log

$PY manage.py migrate --no-input -v 0
$PY manage.py load_demo
if ! $PY manage.py prepare_demo_model; then
  echo "WARNING: the SmolLM2 demo model could not be prepared (see above); synthesis needs a model endpoint." >&2
fi

$PY -m celery -A alfa_platform worker -B -Q default,gpu --concurrency 2 -l info \
  --schedule var/celerybeat-schedule >var/log/worker.log 2>&1 &
WORKER_PID=$!
cleanup() { kill -TERM "$WORKER_PID" 2>/dev/null || true; wait "$WORKER_PID" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

echo
echo "ALFA platform: http://$HOST:$PORT/   (worker log: var/log/worker.log, Ctrl-C stops both)"
echo "Demo credentials are listed above and kept in var/demo-credentials.json."
exec_status=0
.venv/bin/gunicorn alfa_platform.wsgi -b "$HOST:$PORT" -w 2 --threads 4 --access-logfile - || exec_status=$?
exit $exec_status
