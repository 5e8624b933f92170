#!/usr/bin/env bash
# Does a second core help? Back-to-back pairs of runs of the same server on one core and on two,
# so that the slow drift of this VM's speed (single runs vary by +-20%) falls inside a pair, not
# between the two halves being compared.
#
#   bench/redis-scaling.sh                  # 11 pairs per server, P=64, SET and GET
#   PAIRS=15 P=16 bench/redis-scaling.sh
#   FC_BIN=target/release/ferrocache bench/redis-scaling.sh
#
# One core: the server pinned to CPU 1 (ours with --threads 1), redis-benchmark pinned to CPU 0.
# Two cores: the server on CPUs 0-1 (ours with --threads 2), redis-benchmark unpinned. On a
# two-CPU machine the client shares the server's CPUs there; it runs at `nice -n $CLIENT_NICE`
# (default -10) in both halves, as in bench/redis.sh (see its header for why). redis-server is
# measured the same way as a control: it has one command thread whatever it gets, so its ratio
# is what the machine alone gives a server when the client no longer needs the server's core.
# 1M keys of 32-byte values are loaded first; 50 clients, random keys over the 1M.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
mkdir -p "$OUT"
PAIRS=${PAIRS:-11}
P=${P:-64}
N=${N:-2000000}
CLIENT_NICE=${CLIENT_NICE:--10}
SERVERS=${SERVERS:-"ferrocache redis"}
. "$ROOT/bench/redis-common.sh"
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
RESULTS=$OUT/redis-scaling.csv
echo "pair,server,cpus,test,rps,server_cpus_busy" >"$RESULTS"
run() { # pair server cpus
  local pair=$1 kind=$2 cpus=$3 port pid threads=1 ccpus=0
  [ "$cpus" = 0-1 ] && threads=2 && ccpus=0-1
  port=$(free_port)
  if [ "$kind" = redis ]; then
    taskset -c "$cpus" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
  else
    taskset -c "$cpus" "$BIN" node --engine redis --bind 127.0.0.1 --port "$port" --threads "$threads" >/dev/null 2>&1 &
  fi
  pid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  redis-cli -p "$port" --pipe <"$LOAD" >/dev/null
  for t in set get; do
    local c0 c1 s e rps
    c0=$(cpu_ticks "$pid"); s=$(date +%s.%N)
    rps=$(taskset -c "$ccpus" nice -n "$CLIENT_NICE" redis-benchmark -h 127.0.0.1 -p "$port" -t "$t" -n "$N" -r 1000000 -d 32 -c 50 -P "$P" --csv | tail -1 | cut -d, -f2 | tr -d '"')
    c1=$(cpu_ticks "$pid"); e=$(date +%s.%N)
    python3 -c "import os; print(f'$pair,$kind,$cpus,$t,{float($rps):.0f},{($c1-$c0)/os.sysconf(\"SC_CLK_TCK\")/($e-$s):.2f}')" >>"$RESULTS"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for pair in $(seq "$PAIRS"); do
  for kind in $SERVERS; do
    # Alternate which half goes first.
    if [ $((pair % 2)) = 1 ]; then halves="1 0-1"; else halves="0-1 1"; fi
    for cpus in $halves; do run "$pair" "$kind" "$cpus"; done
  done
done
python3 - "$RESULTS" "$P" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"two cores over one core, pipeline {sys.argv[2]}: per pair, then the median of the pairs")
for kind in dict.fromkeys(r["server"] for r in rows):
    for t in ("set", "get"):
        def get(pair, cpus, field):
            return next(float(r[field]) for r in rows if r["pair"] == pair and r["server"] == kind and r["cpus"] == cpus and r["test"] == t)
        pairs = sorted({r["pair"] for r in rows if r["server"] == kind}, key=int)
        ratios = [get(p, "0-1", "rps") / get(p, "1", "rps") for p in pairs]
        busy = statistics.median(get(p, "0-1", "server_cpus_busy") for p in pairs)
        one = statistics.median(get(p, "1", "rps") for p in pairs)
        two = statistics.median(get(p, "0-1", "rps") for p in pairs)
        above = sum(r > 1 for r in ratios)
        print(f"  {kind:<10} {t}: median {statistics.median(ratios):.2f} ({above} of {len(ratios)} pairs above 1; "
              f"rps one core {one:.0f}, two {two:.0f}; server CPUs busy on two: {busy:.2f})  "
              + " ".join(f"{r:.2f}" for r in ratios))
PY
