#!/usr/bin/env bash
# Where the time of a pipeline-1 run goes, server and client side: per server variant, one
# redis-benchmark run (GET, 50 clients, P=1, random keys over 1M) with `perf stat` on the server
# process and on the load generator (task-clock, context switches, epoll_wait calls). This is
# how the wake-up cost behind `--busy-poll` was found (docs/benchmarks.md). Software counters
# only: they work on VMs without hardware counters. Wall-clock figures need a quiet machine.
#
#   bench/redis-wakeups.sh                     # 3 interleaved rounds, 500k requests each
#   ROUNDS=1 N=200000 TEST=set bench/redis-wakeups.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
mkdir -p "$OUT"
ROUNDS=${ROUNDS:-3}
N=${N:-500000}
TEST=${TEST:-get}
BUSY_POLL=${BUSY_POLL:-50}
. "$ROOT/bench/redis-common.sh"
EVENTS=task-clock,context-switches,syscalls:sys_enter_epoll_wait

start() { # variant port -> pid; server on CPU 1
  case $1 in
    redis) taskset -c 1 redis-server --port "$2" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 & ;;
    ours) taskset -c 1 "$BIN" node --engine redis --bind 127.0.0.1 --port "$2" --threads 1 >/dev/null 2>&1 & ;;
    ours-bp) taskset -c 1 "$BIN" node --engine redis --bind 127.0.0.1 --port "$2" --threads 1 --busy-poll "$BUSY_POLL" >/dev/null 2>&1 & ;;
  esac
  echo $!
  for _ in $(seq 100); do redis-cli -p "$2" ping >/dev/null 2>&1 && return; sleep 0.05; done
}
count() { awk -F, -v e="$2" '$3 == e {print $1}' "$1"; }

echo "round,server,rps,p50_ms,server_ms,server_context_switches,server_epoll_waits,client_ms"
for r in $(seq "$ROUNDS"); do
  for v in redis ours ours-bp; do
    port=$(free_port)
    pid=$(start "$v" "$port")
    redis-cli -p "$port" --pipe <"$LOAD" >/dev/null
    taskset -c 0 redis-benchmark -p "$port" -t "$TEST" -n 100000 -r 1000000 -d 32 -c 50 -P 1 -q >/dev/null
    perf stat -x, -e "$EVENTS" -p "$pid" -o "$OUT/wakeups.server" &
    sp=$!
    line=$(perf stat -x, -e "$EVENTS" -o "$OUT/wakeups.client" \
      taskset -c 0 redis-benchmark -p "$port" -t "$TEST" -n "$N" -r 1000000 -d 32 -c 50 -P 1 --csv | tail -1)
    kill -INT "$sp"; wait "$sp" || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rps=$(echo "$line" | cut -d, -f2 | tr -d '"'); p50=$(echo "$line" | cut -d, -f5 | tr -d '"')
    s=$OUT/wakeups.server c=$OUT/wakeups.client
    echo "$r,$v,$rps,$p50,$(count "$s" task-clock),$(count "$s" context-switches),$(count "$s" syscalls:sys_enter_epoll_wait),$(count "$c" task-clock)"
  done
done
