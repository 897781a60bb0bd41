#!/usr/bin/env bash
# Runs the whole test suite. Needs root (the sandbox switches to per-run uids)
# and starts what the end-to-end tests talk to: Redis and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test: starting redis-server"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "test: starting PostgreSQL"
  cluster=$(ls /etc/postgresql | head -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
# The e2e tests create their databases as postgres over TCP. A stock Debian
# cluster wants a password there: give the local superuser one, over the socket.
export E2E_PG_ADMIN_URL=${E2E_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
if ! psql "$E2E_PG_ADMIN_URL" -Atc "select 1" >/dev/null 2>&1; then
  su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'labgrader-tests'\"" >/dev/null
  export E2E_PG_ADMIN_URL=postgresql://postgres:labgrader-tests@127.0.0.1:5432/postgres
fi
exec .venv/bin/python -m pytest "$@"
