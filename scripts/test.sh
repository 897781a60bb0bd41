#!/usr/bin/env bash
# Runs the whole test suite. Needs root (the sandbox switches to per-run uids)
# and starts what the end-to-end tests talk to: Redis, and a PostgreSQL cluster of
# their own that is removed when the run ends.
set -euo pipefail
cd "$(dirname "$0")/.."

# What this run starts, it stops: the machine is left as it was found.
started_redis=""
pgdir=""
cleanup() {
  if [ -n "$pgdir" ]; then .venv/bin/python -m tests.pgcluster stop "$pgdir"; fi
  if [ -n "$started_redis" ]; then redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test: starting redis-server (stopped again at the end)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  started_redis=1
fi
# The end-to-end tests need a PostgreSQL superuser over TCP. They get a throwaway
# cluster of their own (initdb in a temp dir, a free port, a random password), so the
# machine's PostgreSQL is left exactly as it was: no role, database or password
# changed, no server started. E2E_PG_ADMIN_URL names another server instead.
if [ -z "${E2E_PG_ADMIN_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/labgrader-tests-pg.XXXXXX)  # short: the server's socket lives there
  E2E_PG_ADMIN_URL=$(.venv/bin/python -m tests.pgcluster start "$pgdir")
  export E2E_PG_ADMIN_URL
fi
.venv/bin/python -m pytest "$@"
