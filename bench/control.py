"""Control-plane benchmark (driven by bench/control.sh).

1. CreateCacheCluster -> `available`, for memcached clusters of 1 and 20 nodes and a redis
   cluster of 1 node: the time from the API call returning to DescribeCacheClusters first
   showing `available` (polled every 20 ms), then DeleteCacheCluster -> gone. Each run is
   repeated and the median is printed.
2. DescribeCacheClusters requests per second: one request signed once with SigV4 (a replay is
   valid for 15 minutes, as on AWS) and sent over keep-alive HTTP/1.1 connections by several
   processes; the server holds 10 clusters with node info shown.
"""
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, key, secret = sys.argv[1:4]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 5.0
serve_pid = int(sys.argv[6]) if len(sys.argv) > 6 else None


def serve_cpu_seconds():
    """utime+stime of every thread of `serve`, from /proc (DESIGN.md §5)."""
    if serve_pid is None:
        return 0.0
    with open(f"/proc/{serve_pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

ec = boto3.client("elasticache", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key, aws_secret_access_key=secret)


def status(cid):
    try:
        return ec.describe_cache_clusters(CacheClusterId=cid)["CacheClusters"][0]["CacheClusterStatus"]
    except ec.exceptions.CacheClusterNotFoundFault:
        return None


def until(cid, want, limit=120):
    t0 = time.monotonic()
    while status(cid) != want:
        if time.monotonic() - t0 > limit:
            raise SystemExit(f"{cid} did not reach {want}")
        time.sleep(0.02)
    return time.monotonic() - t0


results = {}
for engine, nodes, node_type in [("memcached", 1, "cache.t2.micro"), ("memcached", 20, "cache.t2.micro"), ("redis", 1, "cache.t2.micro")]:
    times, deletes = [], []
    for run in range(runs):
        cid = f"bench-{engine[:2]}{nodes}-{run}"
        t0 = time.monotonic()
        ec.create_cache_cluster(CacheClusterId=cid, Engine=engine, CacheNodeType=node_type, NumCacheNodes=nodes)
        created = time.monotonic() - t0
        times.append(created + until(cid, "available"))
        t0 = time.monotonic()
        ec.delete_cache_cluster(CacheClusterId=cid)
        deletes.append(time.monotonic() - t0 + until(cid, None))
    label = f"{engine} x{nodes}"
    results[label] = (statistics.median(times), min(times), max(times), statistics.median(deletes))
    print(f"create->available {label:>14}: median {statistics.median(times)*1000:7.0f} ms "
          f"(min {min(times)*1000:.0f}, max {max(times)*1000:.0f}, n={runs}); "
          f"delete->gone median {statistics.median(deletes)*1000:.0f} ms", flush=True)

# DescribeCacheClusters throughput.
for i in range(10):
    ec.create_cache_cluster(CacheClusterId=f"rps-{i}", Engine="memcached", CacheNodeType="cache.t2.micro", NumCacheNodes=2)
for i in range(10):
    until(f"rps-{i}", "available")

host = endpoint.split("://", 1)[1].rstrip("/")
body = "Action=DescribeCacheClusters&Version=2015-02-02&ShowCacheNodeInfo=true"
req = AWSRequest(method="POST", url=endpoint + "/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Host": host})
SigV4Auth(Credentials(key, secret), "elasticache", "us-east-1").add_auth(req)
head = f"POST / HTTP/1.1\r\nContent-Length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
wire = (head + "\r\n" + body).encode()
hostname, port = host.split(":")


def worker(deadline, out):
    s = socket.create_connection((hostname, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    done = 0
    while time.monotonic() < deadline:
        s.sendall(wire)
        status_line = f.readline()
        if b" 200 " not in status_line:
            raise SystemExit(f"unexpected reply {status_line!r}")
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        f.read(length)
        done += 1
    out.put(done)


for procs in (1, 4):
    q = multiprocessing.Queue()
    deadline = time.monotonic() + seconds
    ps = [multiprocessing.Process(target=worker, args=(deadline, q)) for _ in range(procs)]
    t0 = time.monotonic()
    cpu0 = serve_cpu_seconds()
    for p in ps:
        p.start()
    total = sum(q.get() for _ in ps)
    for p in ps:
        p.join()
    elapsed = time.monotonic() - t0
    cpu = serve_cpu_seconds() - cpu0
    per_cpu = f", {total/cpu:,.0f} requests per serve CPU-second ({cpu:.2f} CPU-s)" if cpu > 0 else ""
    print(f"DescribeCacheClusters (10 clusters, ShowCacheNodeInfo) with {procs} client connection(s): "
          f"{total/elapsed:,.0f} requests/s ({total} in {elapsed:.1f} s){per_cpu}", flush=True)

for i in range(10):
    ec.delete_cache_cluster(CacheClusterId=f"rps-{i}")
for i in range(10):
    until(f"rps-{i}", None)
