#!/bin/sh
# Entry point of the Lab Grader image, for every service (web, worker, beat, migrate).
#
# The database password is a file (a Docker secret), never an environment value:
# when POSTGRES_PASSWORD_FILE is set, its content goes into DATABASE_URL, which
# the compose file gives without a password (user, host and database only).
# It is URL-quoted, and read the way the postgres image reads the same file
# (trailing newlines dropped), so both sides agree on the password.
set -eu

if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  DATABASE_URL=$(python -c '
import os, sys, urllib.parse as parse
url = parse.urlsplit(os.environ.get("DATABASE_URL", ""))
user, at, host = url.netloc.rpartition("@")
user = user.partition(":")[0]
if not (url.scheme and user and host):
    sys.exit("docker-entrypoint: DATABASE_URL must name a user and a host, e.g. postgres://labgrader@postgres:5432/labgrader")
with open(os.environ["POSTGRES_PASSWORD_FILE"]) as secret:
    password = secret.read().rstrip("\n")
print(parse.urlunsplit(url._replace(netloc=user + ":" + parse.quote(password, safe="") + "@" + host)))
')
  export DATABASE_URL
fi

exec "$@"
