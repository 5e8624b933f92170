#!/usr/bin/env bash
# Replication (issue 6), numbers for docs/benchmarks.md:
#  1. full sync of FERRO_BENCH_KEYS keys (default 1M) both ways between ferrocache and
#     redis-server 7.0 (keys/s, MB/s of RDB), replica lag under write load, partial resync after
#     a dropped link (keys/s, MB/s of backlog) — release build;
#  2. failover of a Multi-AZ group of three through `ferrocache serve` and the aws CLI,
#     FERRO_BENCH_FAILOVERS runs (default 10) by kill -9 and 10 by SIGSTOP of the primary: time
#     until writes through the primary endpoint resume (median, worst) and acknowledged writes
#     lost. Debug build: the time is the control plane's detection and timers, not the engine's.
# Machine load is printed first and last: numbers taken with a load above ~1.5 are not clean.
set -euo pipefail
cd "$(dirname "$0")/.."
export FERRO_BENCH_KEYS="${FERRO_BENCH_KEYS:-1000000}"
export FERRO_BENCH_FAILOVERS="${FERRO_BENCH_FAILOVERS:-10}"
uptime
cargo test --release -p node --test redis_persist_bench bench_replication -- --ignored --nocapture
uptime
cargo test -p ferrocache --test replication_groups bench_failover -- --ignored --nocapture
uptime
