#!/bin/bash
# Runs inside the sandbox, as the student's uid, in a fresh network namespace
# where only loopback exists, in $HOME/lab, where bwrap copied the submission.
# $1: the Python interpreter, $2: the entry point,
# $3: a pipe to tell the grader that the sandbox is up (closed before the script runs),
# $4...: the run's rlimits as `ulimit` options, applied here, before anything of the
# student's runs (builtins: no process of their own, as prlimit was).
# engine/sandbox.py passes this text inline (bash -c): the sandbox uid never
# opens this file, so the checkout may live where that uid cannot go.
set -u
printf started >&"$3"
eval "exec $3>&-"
python=$1 entry=$2
shift 3
ulimit "$@" || exit 125
printf '[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n' > "$HOME/.aws/credentials"
printf '[default]\nregion = us-east-1\n' > "$HOME/.aws/config"
# No relay to the mock: the script's Python hands the mock its own listener on
# 127.0.0.1:4566 as it starts (engine/mock_bridge.py, installed in the runtime).
exec "$python" "$entry"
