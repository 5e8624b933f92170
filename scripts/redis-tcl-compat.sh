#!/usr/bin/env bash
# Runs redis's own test suite (tests/unit/*.tcl of a redis source tree, in its "external
# server" mode) against a fresh ferrocache redis node per unit, and prints ok/err counts per
# unit. Tests tagged needs:debug (DEBUG command), needs:repl and needs:save are skipped, as
# redis itself skips them against an external server it cannot restart.
#
#   scripts/redis-tcl-compat.sh /path/to/redis-7.0.15                  # the default units
#   scripts/redis-tcl-compat.sh /path/to/redis-7.0.15 unit/type/list unit/expire
#
# The source tree is not fetched here (this machine reaches GitHub only through the project's
# tooling): `git archive 7.0.15` of a redis clone, or the redis-7.0.15 release tarball. Needs
# tclsh (Debian's `tcl`). Logs: target/redis-tcl/<unit>.log. Each unit gets UNIT_TIMEOUT
# seconds (default 300); a unit that hangs is reported with rc=124.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SRC=${1:?usage: scripts/redis-tcl-compat.sh REDIS_SOURCE_TREE [unit ...]}
shift
UNITS=("$@")
if [ ${#UNITS[@]} -eq 0 ]; then
  UNITS=(unit/type/string unit/type/incr unit/type/list unit/type/list-2 unit/type/list-3
    unit/type/set unit/type/zset unit/type/hash unit/type/stream unit/type/stream-cgroups
    unit/keyspace unit/expire unit/scan unit/sort unit/dump unit/bitops unit/bitfield
    unit/hyperloglog unit/geo unit/pubsub unit/multi unit/scripting unit/functions
    unit/info-command unit/introspection unit/introspection-2 unit/auth unit/acl
    unit/protocol unit/querybuf unit/latency-monitor unit/slowlog unit/other unit/quit
    unit/lazyfree unit/pause unit/tracking)
fi
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
LOGS=$ROOT/target/redis-tcl
mkdir -p "$LOGS"
cargo build -q --release -p ferrocache
BIN=$ROOT/target/release/ferrocache
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

total_ok=0 total_err=0
for unit in "${UNITS[@]}"; do
  port=$(free_port)
  dir=$(mktemp -d)
  "$BIN" node --engine redis --bind 127.0.0.1 --port "$port" --dir "$dir" --threads 1 >"$dir/node.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  log=$LOGS/$(echo "$unit" | tr / _).log
  (cd "$SRC" && timeout "$UNIT_TIMEOUT" tclsh tests/test_helper.tcl --host 127.0.0.1 --port "$port" \
    --single "$unit" --tags -needs:debug --tags -needs:repl --tags -needs:save) >"$log" 2>&1
  rc=$?
  ok=$(grep -c '\[.*ok.*\]:' "$log")
  err=$(grep -c '^\[.*err.*\]:' "$log")
  exc=$(grep -c '\[.*exception.*\]' "$log")
  total_ok=$((total_ok + ok)) total_err=$((total_err + err + exc))
  printf '%-28s ok=%-4s err=%-3s exception=%s rc=%s\n' "$unit" "$ok" "$err" "$exc" "$rc"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$dir"
done
echo "total: ok=$total_ok failed=$total_err (an exception stops the rest of its unit)"
