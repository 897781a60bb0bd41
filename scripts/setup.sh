#!/usr/bin/env bash
# Installs everything Lab Grader needs on a fresh Debian machine, and does
# nothing when it is already there: Debian packages (the sandbox, the browser
# for page tests), the project's venv, and the sandbox's boto3 runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

# bubblewrap: the sandbox; util-linux: setpriv; socat: the multi-host tests' relay; python3-venv:
# the runtime scripts run with; redis-server: the broker for end-to-end tests;
# postgresql: initdb and the server for the tests' own throwaway clusters (the
# machine's cluster is never used by the tests); chromium + chromium-driver:
# the browser tests.
packages=(bubblewrap socat util-linux python3-venv redis-server postgresql chromium chromium-driver)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
stamp=.venv/.requirements-stamp
wanted=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing Python packages into .venv"
  "$python" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" > "$stamp"
fi

.venv/bin/python -m engine.runtime
