#!/usr/bin/env bash
# ferrocache's Memcached engine next to Debian's memcached, in one run.
#
#   bench/memcached.sh [RUNS] [SECONDS]
#
# Throughput: memcaslap (90% get / 10% set, 32 concurrent clients, one client thread) against
# each server in turn, text, binary, and text with 20-key multi-gets (memcaslap -d 20), RUNS
# interleaved rounds of SECONDS each; both
# servers run one worker thread pinned to CPU 0, the client is pinned to CPU 1. Reported: median
# ops/s, median average latency, and ops per server CPU-second (utime+stime from /proc/PID/stat),
# which is steadier than ops/s on a shared machine.
# Memory: 1M items (12-byte keys, 32-byte values) loaded into a fresh instance of each; RSS
# growth per item.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SECS=${2:-10}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
MC_PORT=${MC_PORT:-23101}
FC_PORT=${FC_PORT:-23102}

cargo build --release -q -p ferrocache
FERRO=target/release/ferrocache
USER_ARGS=()
[ "$(id -u)" = 0 ] && USER_ARGS=(-u root)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_servers() {
  taskset -c "$SERVER_CPU" memcached "${USER_ARGS[@]}" -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 1024 -t 1 &
  MC=$!
  taskset -c "$SERVER_CPU" "$FERRO" node --engine memcached --bind 127.0.0.1 --port "$FC_PORT" \
    --threads 1 --param max_cache_memory=1024 --param memcached_connections_overhead=0 2>/dev/null &
  FC=$!
  pids+=("$MC" "$FC")
  for port in "$MC_PORT" "$FC_PORT"; do
    for _ in $(seq 50); do
      python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
      sleep 0.1
    done
  done
}
stop_servers() { kill "$MC" "$FC"; wait "$MC" "$FC" 2>/dev/null || true; pids=(); }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# One memcaslap run: prints "tps avg_us ops_per_cpu_second".
slap() { # port pid extra-args...
  local port=$1 pid=$2; shift 2
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(taskset -c "$CLIENT_CPU" memcaslap -s "127.0.0.1:$port" -t "${SECS}s" -T 1 -c 32 -S "${SECS}s" "$@" 2>&1)
  after=$(cpu_ticks "$pid")
  echo "$out" | awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    /^Total Statistics/ {t=1}
    t && $1 == "Global" {ops=$3; tps=$4; avg=$9; t=0}
    END {printf "%s %s %.0f\n", tps, avg, (ticks > 0 ? ops / (ticks / hz) : 0)}'
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "memcached $(memcached -V | cut -d' ' -f2), ferrocache $(git rev-parse --short HEAD), ${RUNS} rounds x ${SECS}s"
echo "start: $(date -u +%H:%M:%S) UTC, $(uptime | sed 's/.*load/load/')"
echo
start_servers
declare -A res
PROTOS="text binary multiget"
for proto in $PROTOS; do
  extra=()
  [ "$proto" = binary ] && extra=(-B)
  [ "$proto" = multiget ] && extra=(-d 20)
  for r in $(seq "$RUNS"); do
    # Alternate who goes first so that drift in machine load hits both alike.
    if (( r % 2 )); then order="mc fc"; else order="fc mc"; fi
    for who in $order; do
      if [ "$who" = mc ]; then line=$(slap "$MC_PORT" "$MC" "${extra[@]}"); else line=$(slap "$FC_PORT" "$FC" "${extra[@]}"); fi
      res[$proto,$who]+="$line"$'\n'
    done
  done
done
stop_servers
echo "end of throughput part: $(date -u +%H:%M:%S) UTC, $(uptime | sed 's/.*load/load/')"

printf '%-8s %-11s %12s %12s %16s\n' protocol server "ops/s" "avg lat us" "ops/CPU-second"
for proto in $PROTOS; do
  for who in mc fc; do
    name=$([ "$who" = mc ] && echo memcached || echo ferrocache)
    tps=$(printf '%s' "${res[$proto,$who]}" | awk 'NF{print $1}' | median)
    lat=$(printf '%s' "${res[$proto,$who]}" | awk 'NF{print $2}' | median)
    eff=$(printf '%s' "${res[$proto,$who]}" | awk 'NF{print $3}' | median)
    printf '%-8s %-11s %12s %12s %16s\n' "$proto" "$name" "$tps" "$lat" "$eff"
    eval "${who}_${proto}_tps=$tps; ${who}_${proto}_eff=$eff; ${who}_${proto}_lat=$lat"
  done
  awk -v a="$(eval echo \$fc_${proto}_tps)" -v b="$(eval echo \$mc_${proto}_tps)" \
      -v c="$(eval echo \$fc_${proto}_eff)" -v d="$(eval echo \$mc_${proto}_eff)" -v p="$proto" \
      'BEGIN {printf "%-8s ratio ferrocache/memcached: ops/s %.2f, ops/CPU-second %.2f\n", p, a/b, c/d}'
done

echo
start_servers
mc0=$(rss_kb "$MC"); fc0=$(rss_kb "$FC")
python3 bench/memcached_load.py 127.0.0.1 "$MC_PORT" 1000000 32
python3 bench/memcached_load.py 127.0.0.1 "$FC_PORT" 1000000 32
sleep 1
mc1=$(rss_kb "$MC"); fc1=$(rss_kb "$FC")
stop_servers
awk -v a=$((mc1 - mc0)) -v b=$((fc1 - fc0)) 'BEGIN {
  printf "memory after 1M items (12 B keys, 32 B values): memcached %.1f B/item, ferrocache %.1f B/item, ratio %.2f\n",
    a * 1024 / 1e6, b * 1024 / 1e6, b / a }'
