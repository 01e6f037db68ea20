"""c100k.py - the C100K part of make bench (issue 14, item 4): 100,000
concurrent echo connections to loom-echo on 127.0.0.1, each doing one 64 B
round trip every few seconds. Reports the servers' RSS per connection, the
rate at which connections were accepted (opened and echoed once), and the
round-trip time percentiles while all of them are held. Run by bench.py
(BENCH_PARTS=c100k).

Environment: BENCH_C100K_CONNS (100000), BENCH_C100K_INTERVAL (seconds
between one connection's round trips, 5), BENCH_C100K_SECS (seconds held
after the last connection opened, 15), BENCH_C100K_WINDOW (connections each
load generator has opening at once, 1000), BENCH_C100K_PER_SOURCE
(connections per source address, 1000).

Limits it works within, found at run time and printed:
- RLIMIT_NOFILE: it tries to raise the hard limit to fs.nr_open; where it may
  not (no CAP_SYS_RESOURCE, as in this sandbox), one process holds at most its
  hard limit, so the connections are spread over as many loom-echo processes
  (each on its own port) and load generators as needed. Where the limit allows,
  one loom-echo holds them all.
- Source ports: one source address gives about 28k ephemeral ports
  (net.ipv4.ip_local_port_range), and the kernel's search for a free one
  slows connect down long before they run out (15,000 connections from one
  address opened at 2k/s here, from 16 addresses at 10k/s). So load
  generator i binds its connections round robin to 127.0.(i+1).1, .2, ...,
  about BENCH_C100K_PER_SOURCE (1000) connections on each.
The whole part is bounded (BENCH_C100K_DEADLINE, 150 s: what is still
running then is killed, a server not yet measured is skipped)
and closes every connection with a reset, leaving no TIME_WAIT behind."""
import math
import os
import re
import resource
import subprocess
import tempfile
import time

from benchlib import (CLIENT_CPU_LIST, SERVER_CPUS, Server, fmt, percentile_us, pinned, progress,
                      proc_cpu_s, proc_fds, proc_rss_kb, proc_uses_io_uring, raise_nofile, read_hist)

CONNS = int(os.environ.get("BENCH_C100K_CONNS", "100000"))
INTERVAL = float(os.environ.get("BENCH_C100K_INTERVAL", "5"))
HOLD = float(os.environ.get("BENCH_C100K_SECS", "15"))
WINDOW = int(os.environ.get("BENCH_C100K_WINDOW", "1000"))
DEADLINE = float(os.environ.get("BENCH_C100K_DEADLINE", "150"))
SLACK = 64  # fds a process needs besides its connections


def read_int(path, default):
    try:
        return int(open(path).read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def nofile_limit():
    """Raise RLIMIT_NOFILE as far as allowed (children inherit it); returns the
    hard limit and whether it could be raised to fs.nr_open."""
    nr_open = read_int("/proc/sys/fs/nr_open", 1 << 20)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < nr_open:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nr_open, nr_open))
            hard = nr_open
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard, nr_open


def port_span():
    try:
        lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        return hi - lo + 1
    except (OSError, ValueError):
        return 28232


def plan():
    hard, nr_open = nofile_limit()
    per_server = hard - SLACK
    per_client = min(hard - SLACK, port_span() - 1000)
    nservers = math.ceil(CONNS / per_server)
    nclients = math.ceil(CONNS / per_client)
    per_src = int(os.environ.get("BENCH_C100K_PER_SOURCE", "1000"))
    nsrc = min(64, math.ceil(math.ceil(CONNS / nclients) / per_src))
    srcs = [",".join(f"127.0.{1 + i}.{1 + j}" for j in range(nsrc)) for i in range(nclients)]
    return dict(hard=hard, nr_open=nr_open, nservers=nservers, nclients=nclients, srcs=srcs,
                nsrc=nsrc)


class Run:
    def __init__(self, build, p, name, argv_for_port, end):
        self.build, self.p = build, p
        self.name, self.argv_for_port = name, argv_for_port
        self.bb = os.path.join(build, "bench")
        self.tmp = tempfile.mkdtemp(prefix="loom-c100k-")
        self.servers, self.clients = [], []
        self.end = end

    def start_servers(self):
        for i in range(self.p["nservers"]):
            srv = Server(f"c100k-{self.name}-{i}", self.argv_for_port, self.bb, cpus=SERVER_CPUS)
            self.servers.append(srv)
            if not srv.ok:
                raise RuntimeError(f"{self.name} did not start")

    def start_clients(self):
        ports = ",".join(str(s.port) for s in self.servers)
        pids = ",".join(str(s.proc.pid) for s in self.servers)
        n = self.p["nclients"]
        for i in range(n):
            conns = CONNS // n + (1 if i < CONNS % n else 0)
            out = open(os.path.join(self.tmp, f"out{i}"), "w+")
            argv = pinned(CLIENT_CPU_LIST[i % len(CLIENT_CPU_LIST)], [
                os.path.join(self.bb, "echo_load"), "-p", ports, "--pid", pids, "-c", str(conns),
                "-t", str(HOLD), "--interval", str(INTERVAL), "--window", str(WINDOW),
                "--src", self.p["srcs"][i], "--hist", os.path.join(self.tmp, f"hist{i}")])
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    preexec_fn=raise_nofile)
            self.clients.append((proc, out))

    def client_lines(self):
        lines = []
        for _, out in self.clients:
            out.seek(0)
            lines.append(out.read())
        return lines

    def wait_ramped(self):
        """Seconds until every load generator has opened all its connections."""
        t0 = time.time()
        while time.time() < self.end - HOLD:
            texts = self.client_lines()
            if all("ramped" in t for t in texts):
                return time.time() - t0
            for (proc, _), t in zip(self.clients, texts):
                if proc.poll() is not None:
                    raise RuntimeError(f"a load generator stopped: {t.strip()[-300:]}")
            time.sleep(0.05)
        raise RuntimeError("connections not all open before the deadline")

    def wait_clients(self):
        for proc, _ in self.clients:
            proc.wait(max(1, self.end - time.time()))
        texts = self.client_lines()
        for (proc, _), t in zip(self.clients, texts):
            if proc.returncode != 0:
                raise RuntimeError(f"a load generator failed: {t.strip()[-300:]}")
        return texts

    def rss_kb(self):
        return sum(proc_rss_kb(s.proc.pid) or 0 for s in self.servers)

    def cpu_s(self):
        return sum(proc_cpu_s(s.proc.pid) or 0 for s in self.servers)

    def fds(self):
        return sum(proc_fds(s.proc.pid) or 0 for s in self.servers)

    def cleanup(self):
        for proc, out in self.clients:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            out.close()
        for srv in self.servers:
            srv.stop()
        for f in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, f))
        os.rmdir(self.tmp)


def measure(build, p, name, argv_for_port, end):
    run = Run(build, p, name, argv_for_port, end)
    try:
        run.start_servers()
        time.sleep(0.2)
        rss0, fds0 = run.rss_kb(), run.fds()
        backend = "io_uring" if proc_uses_io_uring(run.servers[0].proc.pid) else "epoll"
        run.start_clients()
        ramp = run.wait_ramped()
        progress(f"c100k {name}: {CONNS:,} connections open in {ramp:.1f} s; "
                 f"holding {HOLD:g} s")
        time.sleep(min(2.0, HOLD / 4))
        rss1, fds1, cpu1, t1 = run.rss_kb(), run.fds(), run.cpu_s(), time.time()
        time.sleep(HOLD / 2)  # server CPU over a window inside the hold
        cpu_rate = (run.cpu_s() - cpu1) / (time.time() - t1)
        texts = run.wait_clients()
        h = {}
        for i in range(p["nclients"]):
            read_hist(os.path.join(run.tmp, f"hist{i}"), h)
        final = [dict(re.findall(r"(\w+)=([\d.]+)", line)) for t in texts
                 for line in t.splitlines() if line.startswith("rt=")]
        p50, p99, p999 = (percentile_us(h, q) for q in (0.5, 0.99, 0.999))
        rt = sum(float(f["rt"]) for f in final)
        rps = sum(float(f["rps"]) for f in final)
        return dict(rate=CONNS / ramp, rss_mib=(rss1 - rss0) / 1024.0,
                    per_conn=(rss1 - rss0) * 1024.0 / CONNS, held=fds1 - fds0,
                    rt=rt, cpu_us=cpu_rate * 1e6 / rps if rps else None, p50=p50, p99=p99, p999=p999,
                    late=sum(float(f["late"]) for f in final),
                    backend=backend if name == "loom" else "epoll (by hand)")
    finally:
        run.cleanup()


def servers(build):
    loom = os.path.join(build, "bin", "loom-echo")
    epoll = os.path.join(build, "bench", "echo_epoll")
    return [("loom", lambda port: [loom, "--host", "127.0.0.1", "--port", str(port)]),
            ("epoll", lambda port: [epoll, str(port)])]


def part_c100k(rep, build):
    p = plan()
    progress(f"c100k: {CONNS:,} connections over {p['nservers']} server process(es) and "
             f"{p['nclients']} load generator(s); RLIMIT_NOFILE hard limit {p['hard']:,} "
             f"(fs.nr_open {p['nr_open']:,})")
    t0 = time.time()
    res, names, end = {}, [], t0 + DEADLINE
    for name, argv in servers(build):
        names.append(name)
        if end - time.time() < HOLD + 20:
            res[name] = {"error": f"skipped: the part's {DEADLINE:g} s were spent"}
            continue
        try:
            res[name] = measure(build, p, name, argv, end)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            progress(f"c100k {name}: FAILED: {e}")
            res[name] = {"error": str(e)}
    rows = [[label] + [cell(res[n], key) for n in names] for label, key in ROWS]
    rows.insert(1, ["server processes × connections each"]
                + [f"{p['nservers']} × {math.ceil(CONNS / p['nservers']):,}"] * len(names))
    notes = [f"{CONNS:,} connections to each server on 127.0.0.1 from {p['nclients']} load "
             f"generator(s) (tests/bench/echo_load.c --interval, CPUs "
             f"{','.join(map(str, CLIENT_CPU_LIST))}), each binding {p['nsrc']} source addresses "
             f"(127.0.1.1, …: ~{math.ceil(CONNS / p['nclients'] / p['nsrc']):,} connections on "
             f"each, since the kernel's search for a free port slows connect as they fill); servers on CPUs {SERVER_CPUS}; "
             "epoll is the hand-written loop of the echo table. "
             f"Up to {WINDOW} connections per generator opening at once; then every connection "
             f"sends 64 B every {INTERVAL:g} s, starts spread evenly, for {HOLD:g} s. RSS per "
             "connection = (VmRSS with all open − VmRSS before) ÷ connections, summed over the "
             "server processes (kernel socket buffers are not in it). Whole part: "
             f"{time.time() - t0:.0f} s."]
    if p["nservers"] > 1:
        notes.append(f"RLIMIT_NOFILE's hard limit here is {p['hard']:,} and may not be raised "
                     "(no CAP_SYS_RESOURCE), so one process cannot hold 100k sockets: the "
                     f"connections are spread over {p['nservers']} server processes on "
                     "their own ports. With a hard limit above 100k (fs.nr_open is "
                     f"{p['nr_open']:,}) one process holds them all, unchanged.")
    for n in names:
        if "error" in res[n]:
            notes.append(f"{n}: FAILED ({res[n]['error']}).")
    rep.table(f"C100K: {CONNS:,} concurrent echo connections, one round trip each "
              f"{INTERVAL:g} s", ["measure"] + names, rows, notes)
    m = res["loom"]
    if "error" in m:
        rep.target("4", f"{CONNS:,} concurrent connections to loom-echo: {m['error']}", False)
        return
    where = "" if p["nservers"] == 1 else (f" over {p['nservers']} processes (RLIMIT_NOFILE "
                                           f"hard limit {p['hard']:,})")
    rep.target("4", f"{CONNS:,} concurrent connections held by loom-echo: {m['held']:,}{where}"
               f"; RSS {m['per_conn']:,.0f} B per connection, {m['rate']:,.0f} accepts/s, p99 "
               f"{fmt(m['p99'])} µs", m["held"] >= CONNS)


ROWS = [("connections held at once (server fds opened)", "held"),
        ("backend", "backend"),
        ("accept rate (opened and echoed once, per second)", "rate"),
        ("server RSS growth with all connections open (MiB)", "rss_mib"),
        ("server RSS per connection (bytes)", "per_conn"),
        ("round trips while held (late: skipped, last still out)", "rt"),
        ("server CPU µs per round trip while held", "cpu_us"),
        ("round-trip time p50 / p99 / p99.9 (µs)", "lat")]


def cell(m, key):
    if "error" in m:
        return "failed"
    if key == "rt":
        return f"{int(m['rt']):,} ({int(m['late'])} late)"
    if key == "lat":
        return " / ".join(fmt(v) for v in (m["p50"], m["p99"], m["p999"]))
    v = m[key]
    return f"{v:,}" if isinstance(v, int) else fmt(v)
