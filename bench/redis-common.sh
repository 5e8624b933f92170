# Sourced by bench/redis.sh and bench/redis-counts.sh (with ROOT and OUT set): the binary under
# test (FC_BIN, or a release build), the 1M-key load file (redis-benchmark's own key names,
# key:000000000000.., 32-byte values) and free_port.
if [ -n "${FC_BIN:-}" ]; then
  BIN=$FC_BIN
else
  cargo build --release -q -p ferrocache
  BIN=$ROOT/target/release/ferrocache
fi
LOAD=$OUT/load-1m.resp
if [ ! -s "$LOAD" ]; then
  python3 - "$LOAD" <<'PY'
import sys
val = b"x" * 32
with open(sys.argv[1], "wb") as f:
    for i in range(1_000_000):
        k = b"key:%012d" % i
        f.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$32\r\n" + val + b"\r\n")
PY
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
