#!/bin/bash
# The sandbox's placeholder: runs inside it, as the student's uid, in a fresh network
# namespace where only loopback exists, in $HOME/lab, where bwrap copied the submission.
# The script does not run from here: once this says "started", the grader has the
# script zygote fork it into this sandbox's namespaces (engine/script_zygote.py), and
# this waits until that fork's keeper is gone, so that the sandbox lives exactly as
# long as the script.
# $1: a pipe to tell the grader that the sandbox is up,
# $2: the hold pipe, whose only writer is the script's keeper.
# engine/sandbox.py passes this text inline (bash -c): the sandbox uid never
# opens this file, so the checkout may live where that uid cannot go.
set -u
printf '[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n' > "$HOME/.aws/credentials"
printf '[default]\nregion = us-east-1\n' > "$HOME/.aws/config"
printf started >&"$1"
eval "exec $1>&- 0</dev/null"
# EOF when the keeper exits (the script ended, or the keeper never came).
read -r -u "$2" _
exit 0
