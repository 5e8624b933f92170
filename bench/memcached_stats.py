#!/usr/bin/env python3
"""Prints selected `stats` of a memcached-protocol server: memcached_stats.py HOST PORT [NAME...]"""
import socket
import sys

s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"stats\r\n")
data = b""
while not data.endswith(b"END\r\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
want = set(sys.argv[3:])
for line in data.decode().splitlines():
    parts = line.split(" ")
    if parts[0] == "STAT" and (not want or parts[1] in want):
        print(parts[1], parts[2])
