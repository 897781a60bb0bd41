#!/usr/bin/env bash
# Runs the whole test suite. Needs root (the sandbox switches to per-run uids).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
