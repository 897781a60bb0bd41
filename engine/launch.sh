#!/bin/bash
# Runs inside the sandbox, as the student's uid, in a fresh network namespace
# where only loopback exists. $1: the Python interpreter, $2: the entry point,
# $3: a pipe to tell the grader that the sandbox is up (closed before the script runs).
# engine/sandbox.py passes this text inline (bash -c): the sandbox uid never
# opens this file, so the checkout may live where that uid cannot go.
set -u
printf started >&"$3"
eval "exec $3>&-"
# The script reaches its moto server (a unix socket outside) as plain TCP, so
# the lab's unmodified boto3 code works with AWS_ENDPOINT_URL=http://127.0.0.1:4566.
socat TCP-LISTEN:4566,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:/run/lab/moto.sock 2>/dev/null &
mkdir -p "$HOME/.aws" "$HOME/lab"
printf '[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n' > "$HOME/.aws/credentials"
printf '[default]\nregion = us-east-1\n' > "$HOME/.aws/config"
cp -R /run/lab/submission/. "$HOME/lab/"
cd "$HOME/lab" || exit 125
# Wait until socat listens (port 4566 = 0x11D6, state 0A = LISTEN). Bash builtins
# only: usually socat is up by now, and a grep per look cost a process each time.
listening() {
  local line
  while read -r line; do
    [[ $line == *":11D6 00000000:0000 0A"* ]] && return 0
  done < /proc/net/tcp
  return 1
}
n=0
until listening; do
  n=$((n + 1))
  [ "$n" -gt 1000 ] && break
  sleep 0.002
done
exec "$1" "$2"
