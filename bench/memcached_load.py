#!/usr/bin/env python3
"""Loads N small items into a memcached-protocol server over one pipelined connection.

Usage: memcached_load.py HOST PORT N [VALUE_SIZE]
Keys are "key:%08d" (12 bytes), values VALUE_SIZE bytes (default 32). Waits for every reply.
"""
import socket
import sys


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    value = b"v" * size
    s = socket.create_connection((host, port))
    batch = 1000
    for start in range(0, n, batch):
        reqs = b"".join(
            b"set key:%08d 0 0 %d\r\n%s\r\n" % (i, size, value)
            for i in range(start, min(n, start + batch))
        )
        s.sendall(reqs)
        want = b"STORED\r\n" * (min(n, start + batch) - start)
        got = b""
        while len(got) < len(want):
            chunk = s.recv(1 << 20)
            if not chunk:
                raise SystemExit("connection closed")
            got += chunk
        if got != want:
            raise SystemExit("unexpected reply: %r" % got[:200])
    s.close()


if __name__ == "__main__":
    main()
