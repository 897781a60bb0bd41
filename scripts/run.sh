#!/usr/bin/env bash
# The service with a demo course: migrate, seed, a Celery worker (with beat for
# the stuck-submission sweep), and gunicorn on http://127.0.0.1:${PORT:-8000}/.
# SQLite and a filesystem broker by default; DATABASE_URL and REDIS_URL switch
# to PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py collectstatic --noinput >/dev/null
.venv/bin/python manage.py seed_demo
.venv/bin/celery -A grader worker --beat --queues grading,admin --concurrency 2 --loglevel INFO \
  --schedule var/celerybeat-schedule &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
echo "Lab Grader on http://127.0.0.1:${PORT:-8000}/ (log in as alice / demo, ada / demo, admin / demo)"
.venv/bin/gunicorn grader.wsgi --bind "127.0.0.1:${PORT:-8000}" --workers 2 --access-logfile -
