#!/usr/bin/env bash
# Load-independent per-request costs of the ferrocache Redis node and redis-server: user-space
# instructions (valgrind callgrind) and system calls (strace -c) per request of the workload of
# bench/redis.sh (1M keys of 32-byte values, random keys, 50 clients, pipeline 1 and 16).
# Wall-clock numbers need a quiet machine; these counts do not, so they can be taken while
# other work runs.
#
#   bench/redis-counts.sh                      # builds the release binary first
#   FC_BIN=/path/to/ferrocache bench/redis-counts.sh
#   TESTS="get" PIPES="1" bench/redis-counts.sh
#
# Each server runs pinned to CPU 1 (ours with --threads 1), the client to CPU 0. Callgrind
# instruments only while the measured redis-benchmark run lasts (callgrind_control -i on/off),
# after loading the keys and a warm-up run, and counts every thread of the server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
mkdir -p "$OUT"
TESTS=${TESTS:-"get set"}
PIPES=${PIPES:-"1 16"}
. "$ROOT/bench/redis-common.sh"

start() { # kind port [wrapper...] -> pid of the server
  local kind=$1 port=$2; shift 2
  if [ "$kind" = redis ]; then
    taskset -c 1 "$@" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
  else
    taskset -c 1 "$@" "$BIN" node --engine redis --bind 127.0.0.1 --port "$port" --threads 1 >/dev/null 2>&1 &
  fi
  echo $!
  for _ in $(seq 600); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$port" --pipe <"$LOAD" >/dev/null
}
stop() { # pid (not a child of this shell: started inside $(...))
  kill "$1" 2>/dev/null || true
  while kill -0 "$1" 2>/dev/null; do sleep 0.1; done
}
bench() { # port test pipeline n
  taskset -c 0 redis-benchmark -p "$1" -t "$2" -n "$4" -r 1000000 -d 32 -c 50 -P "$3" -q >/dev/null
}

echo "server,test,pipeline,requests,user_instructions_per_req,syscalls_per_req,detail"
for kind in redis ferrocache; do
  for t in $TESTS; do
    for p in $PIPES; do
      n=20000; [ "$p" = 16 ] && n=100000
      # Instructions: callgrind, instrumentation on for the measured run only.
      port=$(free_port)
      cg=$OUT/callgrind.$kind.$t.$p
      rm -f "$cg".*
      pid=$(start "$kind" "$port" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$cg.%p")
      bench "$port" "$t" "$p" 5000
      callgrind_control -i on "$pid" >/dev/null 2>&1
      bench "$port" "$t" "$p" "$n"
      callgrind_control -i off "$pid" >/dev/null 2>&1
      stop "$pid"
      ir=$(cat "$cg".* | awk '/^totals:/{s+=$2} END{print s}')
      rm -f "$cg".*
      # System calls: strace -c over a run ten times as long.
      port=$(free_port)
      pid=$(start "$kind" "$port")
      bench "$port" "$t" "$p" 5000
      st=$OUT/strace.$kind.$t.$p
      strace -c -f -p "$pid" -o "$st" 2>/dev/null &
      spid=$!
      sleep 0.5
      bench "$port" "$t" "$p" $((n * 10))
      kill -INT "$spid"; wait "$spid" 2>/dev/null || true
      stop "$pid"
      python3 - "$kind" "$t" "$p" "$n" "$ir" "$st" <<'PY'
import sys
kind, t, p, n, ir, st = sys.argv[1:]
n = int(n)
calls = {}
for line in open(st):
    f = line.split()
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        calls[f[-1]] = int(f[3])
total = sum(calls.values())
top = sorted(calls.items(), key=lambda kv: -kv[1])[:4]
detail = " ".join(f"{k}={v / (10 * n):.3f}" for k, v in top)
print(f"{kind},{t},{p},{n},{int(ir) / n:.0f},{total / (10 * n):.3f},{detail}")
PY
      rm -f "$st"
    done
  done
done
