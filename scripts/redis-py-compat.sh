#!/usr/bin/env bash
# Runs redis-py's tests/test_commands.py (from its PyPI sdist) against redis-server 7.0 and
# against a ferrocache redis node on the same machine, then prints both pass counts and the
# tests that pass on redis-server but not on ferrocache.
#
#   scripts/redis-py-compat.sh            # builds ferrocache (debug) and runs both
#   REDIS_PY_VERSION=5.0.8 scripts/redis-py-compat.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/target/redis-py
mkdir -p "$WORK"
VERSION=${REDIS_PY_VERSION:-}
SPEC=redis${VERSION:+==$VERSION}
if ! ls "$WORK"/redis-*.tar.gz >/dev/null 2>&1; then
  (cd "$WORK" && python3 -m pip download -q --no-binary :all: --no-deps "$SPEC")
fi
TARBALL=$(ls "$WORK"/redis-*.tar.gz | sort -V | tail -1)
SRC=${TARBALL%.tar.gz}
[ -d "$SRC" ] || tar -xzf "$TARBALL" -C "$WORK"
python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q pytest
python3 -c "import packaging" 2>/dev/null || python3 -m pip install -q packaging

cargo build -q -p ferrocache
BIN=$ROOT/target/debug/ferrocache

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(free_port)
FPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null 2>&1 &
RPID=$!
"$BIN" node --engine redis --bind 127.0.0.1 --port "$FPORT" --threads 2 >"$WORK/ferrocache.log" 2>&1 &
FPID=$!
trap 'kill $RPID $FPID 2>/dev/null || true' EXIT
for p in "$RPORT" "$FPORT"; do
  for _ in $(seq 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

run() { # name port
  (cd "$SRC" && timeout 1200 python3 -m pytest tests/test_commands.py -p no:cacheprovider -q -rA \
      --redis-url="redis://127.0.0.1:$2/0" -o addopts="") >"$WORK/$1.txt" 2>&1 || true
  grep -E '^PASSED ' "$WORK/$1.txt" | sed 's/^PASSED //' | sort >"$WORK/$1.passed"
}
run redis "$RPORT"
run ferrocache "$FPORT"
R=$(wc -l <"$WORK/redis.passed")
F=$(wc -l <"$WORK/ferrocache.passed")
BOTH=$(comm -12 "$WORK/redis.passed" "$WORK/ferrocache.passed" | wc -l)
echo "redis-py $(basename "$SRC"): tests/test_commands.py"
echo "passed against redis-server 7.0: $R"
echo "passed against ferrocache:       $F"
echo "of redis-server's passes, ferrocache passes $BOTH ($(python3 -c "print(f'{100*$BOTH/max($R,1):.1f}')")%)"
echo "failing on ferrocache but passing on redis-server:"
comm -23 "$WORK/redis.passed" "$WORK/ferrocache.passed" | sed 's/^/  /'
