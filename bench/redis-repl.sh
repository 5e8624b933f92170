#!/usr/bin/env bash
# Replication: full sync of FERRO_BENCH_KEYS keys (default 1M) both ways between ferrocache and
# redis-server 7.0, replica lag under write load, partial resync after a dropped link.
set -euo pipefail
cd "$(dirname "$0")/.."
export FERRO_BENCH_KEYS="${FERRO_BENCH_KEYS:-1000000}"
cargo test --release -p node --test redis_persist_bench bench_replication -- --ignored --nocapture
