#!/usr/bin/python3
"""pushgw_bench.py BUILD_DIR: the same Pushgateway workload against Debian's
prometheus-pushgateway and against moongate, in one run.

Both servers are started here on 127.0.0.1 and stopped here. The workload,
over one kept-alive HTTP connection with text-format bodies built before
the clock starts:
  1. PUT 100 groups of 1,000 series (10 families of 100): new series;
  2. rounds of PUTs of the same groups with new values: pushes/s,
     samples/s, push p50/p99;
  3. 900 more groups of 10 series, so 1,000 groups are held, then rounds of
     PUTs of the big groups again: push p99 with 1,000 groups held.
Every phase stops at its time budget (MG_PGW_SECONDS, phase 1 twice that)
whatever it reached: Pushgateway checks each push against everything it
holds, so one PUT costs it time in proportion to the series held (0.5 to 2 s
with 100,000) and the whole workload would take it an hour. What each
server reached (groups created, groups held) is printed beside its figures:
when Pushgateway holds fewer series its pushes are cheaper, so the ratios
flatter it. Resident bytes per series are read from /proc after phase 1
against the resident size before it.

Prints key=value lines per server and the ratios. A refused push stops the
run with the server's reply.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

GROUPS = int(os.environ.get("MG_PGW_GROUPS", "100"))
FAMILIES = 10
PER_FAMILY = int(os.environ.get("MG_PGW_PER_FAMILY", "100"))
ROUNDS = int(os.environ.get("MG_PGW_ROUNDS", "20"))
PHASE_SECONDS = float(os.environ.get("MG_PGW_SECONDS", "15"))
SMALL_GROUPS = 900


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(proc, port, path, deadline):
    while time.time() < deadline and proc.poll() is None:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def body(group, value, per_family=PER_FAMILY):
    lines = []
    for f in range(FAMILIES):
        name = "bench_f%d_total" % f
        lines.append("# TYPE %s counter\n" % name)
        for s in range(per_family):
            lines.append('%s{path="/p%d",code="%d"} %d\n' % (name, s, 200 + s % 5, value + s))
    return "".join(lines).encode()


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def put(self, job, data):
        t0 = time.perf_counter()
        self.conn.request("PUT", "/metrics/job/%s" % job, body=data,
                          headers={"Content-Type": "text/plain; version=0.0.4"})
        r = self.conn.getresponse()
        text = r.read()
        if r.status not in (200, 202):
            raise RuntimeError("PUT /metrics/job/%s: %d %s" % (
                job, r.status, text[:300].decode(errors="replace")))
        return time.perf_counter() - t0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else 0.0


def rounds(c, groups, variants, nrounds, seconds):
    """PUTs of groups 0..groups-1 round after round, bodies alternating
    between variants, until nrounds or seconds: (latencies, wall seconds)."""
    lat = []
    t0 = time.perf_counter()
    for r in range(nrounds):
        for g in range(groups):
            if time.perf_counter() - t0 >= seconds:
                return lat, time.perf_counter() - t0
            lat.append(c.put("g%d" % g, variants[r % 2][g]))
    return lat, time.perf_counter() - t0


def workload(proc, port):
    c = Client(port)
    per_push = FAMILIES * PER_FAMILY
    first = [body(g, 1) for g in range(GROUPS)]
    variants = ([body(g, 10) for g in range(GROUPS)], [body(g, 20) for g in range(GROUPS)])
    small = body(0, 1, per_family=1)
    # 1. new series
    rss0 = rss_bytes(proc.pid)
    created = 0
    t0 = time.perf_counter()
    while created < GROUPS and time.perf_counter() - t0 < 2 * PHASE_SECONDS:
        c.put("g%d" % created, first[created])
        created += 1
    rss1 = rss_bytes(proc.pid)
    # 2. updates
    lat, wall = rounds(c, created, variants, ROUNDS, PHASE_SECONDS)
    # 3. 1,000 groups held
    smalls = 0
    t1 = time.perf_counter()
    while smalls < SMALL_GROUPS and time.perf_counter() - t1 < PHASE_SECONDS:
        c.put("small%d" % smalls, small)
        smalls += 1
    held, _ = rounds(c, created, variants, max(2, ROUNDS // 4), PHASE_SECONDS)
    return {
        "groups_created": created,
        "series_held": created * per_push + smalls * FAMILIES,
        "pushes": len(lat),
        "pushes_per_s": len(lat) / wall,
        "samples_per_s": len(lat) * per_push / wall,
        "push_p50_ms": pct(lat, 0.5) * 1000,
        "push_p99_ms": pct(lat, 0.99) * 1000,
        "groups_held": created + smalls,
        "held_push_p99_ms": pct(held, 0.99) * 1000,
        "rss_per_series": (rss1 - rss0) / max(1, created * per_push),
    }


def run(name, argv, port, work):
    log = open(os.path.join(work, name + ".log"), "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=log)
    try:
        if not wait_ready(proc, port, "/-/ready", time.time() + 15):
            raise RuntimeError("%s did not become ready" % name)
        return workload(proc, port)
    except Exception:
        log.flush()
        with open(log.name, "rb") as f:
            sys.stderr.write(f.read()[-2000:].decode(errors="replace"))
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def write_config(work):
    path = os.path.join(work, "bench.conf.lua")
    with open(path, "w") as f:
        # one push holds 1,000 series; the default (10,000) would do too
        f.write("return { limits = { max_metrics = 100000 } }\n")
    return path


def main():
    if len(sys.argv) != 2:
        print("usage: pushgw_bench.py BUILD_DIR", file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    pgw = shutil.which("prometheus-pushgateway")
    if not pgw:
        print("pushgw_bench: prometheus-pushgateway is not installed", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="moongate-pgw-bench.")
    try:
        port = free_port()
        pg = run("pushgateway", [pgw, "--web.listen-address=127.0.0.1:%d" % port,
                                 "--persistence.file="], port, work)
        port = free_port()
        mg = run("moongate", [build + "/gateway/moongate", "--http", "127.0.0.1:%d" % port,
                              "--ingest", "127.0.0.1:%d" % free_port(),
                              "--config", write_config(work)], port, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, r in (("pushgateway", pg), ("moongate", mg)):
        print("pushgw_bench server=%s %s" % (name, " ".join(
            "%s=%.3f" % (k, v) if isinstance(v, float) else "%s=%s" % (k, v)
            for k, v in r.items())))
    print("pushgw_bench ratio samples_per_s=%.1f push_p99=%.1f held_push_p99=%.1f "
          "rss_per_series=%.2f" % (
              mg["samples_per_s"] / pg["samples_per_s"],
              pg["push_p99_ms"] / max(mg["push_p99_ms"], 1e-9),
              pg["held_push_p99_ms"] / max(mg["held_push_p99_ms"], 1e-9),
              mg["rss_per_series"] / max(pg["rss_per_series"], 1e-9)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
