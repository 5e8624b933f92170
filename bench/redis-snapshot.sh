#!/usr/bin/env bash
# Snapshot and restore throughput and the latency impact of a snapshot, ferrocache next to
# redis-server 7.0 on the same data (FERRO_BENCH_KEYS keys of 100-byte strings, default 1M).
# Also runs the point-in-time consistency test at that size in the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
export FERRO_BENCH_KEYS="${FERRO_BENCH_KEYS:-1000000}"
export FERRO_SNAPSHOT_KEYS="${FERRO_SNAPSHOT_KEYS:-$FERRO_BENCH_KEYS}"
cargo test --release -p node --test redis_persist bgsave_during_writes_is_one_point_in_time -- --nocapture
cargo test --release -p node --test redis_persist_bench bench_snapshot_and_restore -- --ignored --nocapture
