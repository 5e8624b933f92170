#!/usr/bin/env bash
# Control-plane benchmark: CreateCacheCluster -> available (memcached 1 and 20 nodes, redis 1
# node) and DescribeCacheClusters requests/s, against a release `ferrocache serve` started here
# with a fresh data dir. Usage: bench/control.sh [runs] [seconds-per-throughput-test]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SECONDS_PER_TEST=${2:-5}
BIN=${FERROCACHE_BIN:-target/release/ferrocache}
[ -x "$BIN" ] || cargo build --release -p ferrocache
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export FERROCACHE_ACCESS_KEY_ID=AKIDBENCHMARK0000000 FERROCACHE_SECRET_ACCESS_KEY=bench-secret
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA/data" > "$DATA/serve.log" 2>&1 &
SERVE=$!
cleanup() {
  kill "$SERVE" 2>/dev/null || true
  # Nodes outlive serve by design; stop the ones this run started (pid files in the data dir).
  for f in "$DATA"/data/nodes/*/*/pid; do [ -f "$f" ] && kill -9 "$(head -1 "$f")" 2>/dev/null || true; done
  rm -rf "$DATA"
}
trap cleanup EXIT
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, $("$BIN" version), runs=$RUNS"
python3 bench/control.py "http://127.0.0.1:$PORT" "$FERROCACHE_ACCESS_KEY_ID" "$FERROCACHE_SECRET_ACCESS_KEY" "$RUNS" "$SECONDS_PER_TEST" "$SERVE"
