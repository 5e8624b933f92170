#!/usr/bin/env bash
# The project's test command (the README's second command; .ci/run calls it).
# Installs what the tests talk to when it is missing, then runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
command -v memcached >/dev/null || need_apt+=(memcached)
command -v memccapable >/dev/null || need_apt+=(libmemcached-tools)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian starts the packaged servers as services; the tests start their own on free ports.
python3 -m pip install -q --disable-pip-version-check -r scripts/test-requirements.txt

cargo test --workspace --all-targets
