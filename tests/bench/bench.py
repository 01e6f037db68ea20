"""bench.py - runs loom's benchmarks and its peers, prints plain tables and
writes a markdown copy to BUILD/bench.md. Started by tests/bench/run.

    python3 tests/bench/bench.py BUILD

Environment: BENCH_PARTS ("micro,echo,workers,c100k"), BENCH_SCALE
(micro-benchmark iterations, default 1), BENCH_SECS (echo sample window,
default 0.5), BENCH_ROUNDS (samples per echo cell, default 5),
BENCH_IDLE_CONNS (default 10000), BENCH_WORKERS (loom-echo --workers counts,
default 1,2 and powers of two up to the server CPUs), BENCH_SERVER_CPUS /
BENCH_CLIENT_CPUS (benchlib.py; default 0 and 1), and c100k.py's
BENCH_C100K_*. Progress goes to stderr. Every target of issue 14 that a part
measures is printed at the end, met or MISSED with its gap."""
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

from benchlib import (CLIENT_CPU_LIST, CLIENT_CPUS, LOAD_CPU, NCPU, SERVER_CPU_LIST,
                      SERVER_CPUS, Report, Server, fmt, lat_cell, median, percentile_us,
                      pinned, progress, proc_uses_io_uring, raise_nofile, ratio, read_hist)

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
BB = os.path.join(BUILD, "bench")
HERE = os.path.dirname(os.path.abspath(__file__))
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SECS = float(os.environ.get("BENCH_SECS", "0.5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PARTS = os.environ.get("BENCH_PARTS", "micro,echo,workers,c100k").split(",")
IDLE_CONNS = int(os.environ.get("BENCH_IDLE_CONNS", "10000"))


def default_workers():
    ns, n = [1, 2], 4
    while n <= len(SERVER_CPU_LIST):
        ns.append(n)
        n *= 2
    return ",".join(map(str, ns))


WORKERS = [int(x) for x in os.environ.get("BENCH_WORKERS", default_workers()).split(",")]


def peer_python():
    """Debian's python3 has python3-uvloop; a pyenv one may not."""
    for py in ("/usr/bin/python3", "python3"):
        try:
            subprocess.run([py, "-c", "import uvloop"], check=True, capture_output=True)
            return py, True
        except (OSError, subprocess.CalledProcessError):
            continue
    return "python3", False


PY, HAVE_UVLOOP = peer_python()


def parse_pairs(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                out[parts[0]] = parts[1]
    return out


def run_pairs(argv, what, timeout=300):
    progress(f"{what}: {' '.join(argv)}")
    t0 = time.time()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        progress(f"{what}: FAILED ({e})")
        return {}
    if r.returncode != 0:
        progress(f"{what}: FAILED (exit {r.returncode}) {r.stderr.strip()[-300:]}")
    progress(f"{what}: done in {time.time() - t0:.1f} s")
    return parse_pairs(r.stdout)


# --- machine ---

def cmd_out(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    virt = cmd_out(["systemd-detect-virt"]) or ""
    cc = cmd_out(["gcc", "-dumpfullversion"])
    pyv = cmd_out([PY, "-c", "import sys; print(sys.version.split()[0])"])
    uvl = cmd_out([PY, "-c", "import uvloop; print(uvloop.__version__)"]) if HAVE_UVLOOP else "-"
    libuv = cmd_out(["pkg-config", "--modversion", "libuv"]) or "?"
    libev = cmd_out(["pkg-config", "--modversion", "libevent"]) or "?"
    load = open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Machine: {cpu or platform.processor()}, {NCPU} CPUs"
            f"{' (' + virt + ' VM)' if virt and virt != 'none' else ''}, Linux {platform.release()}; "
            f"gcc {cc}, Python {pyv}, uvloop {uvl}, libuv {libuv}, libevent {libev}. "
            f"Date: {now}. Load average at start: {load}. "
            f"Pinned with taskset: micro-benchmarks on CPU {LOAD_CPU}; servers on CPUs "
            f"{SERVER_CPUS}, load generators on CPUs {CLIENT_CPUS} "
            "(BENCH_SERVER_CPUS, BENCH_CLIENT_CPUS).")


# --- part 1: micro-benchmarks ---

def part_micro(rep):
    s = str(SCALE)
    asm = run_pairs(pinned(LOAD_CPU, [os.path.join(BB, "micro"), s]), "micro (asm switch)")
    uc = run_pairs(pinned(LOAD_CPU, [os.path.join(BB, "micro-ucontext"), s]),
                   "micro (ucontext switch)")
    pyscript = os.path.join(HERE, "pybench.py")
    aio = run_pairs(pinned(LOAD_CPU, [PY, pyscript, "asyncio", s]), "python asyncio loops")
    uvl = (run_pairs(pinned(LOAD_CPU, [PY, pyscript, "uvloop", s]), "python uvloop loops")
           if HAVE_UVLOOP else {})

    def g(d, k, div=1.0):
        v = d.get(k)
        return v / div if isinstance(v, float) else None

    def target(v, limit):
        if v is None:
            return "—"
        return f"≤ {limit}: {'met' if v <= limit else 'MISSED'}"

    rows = []
    for label, key, div, limit, item in [
        ("raw context switch (loom__ctx_switch)", "switch_raw", 1, 10, None),
        ("task switch: 2 tasks ping-pong with loom_yield", "yield_2", 1, 10, "1"),
        ("task switch: 100 tasks round-robin with loom_yield", "yield_100", 1, 10, None),
        ("task switch: 2 tasks ping-pong with park/wake", "parkwake", 0.5, 10, "1"),
        ("spawn + join, one at a time (pooled stack)", "spawn_join_1", 1, 100, "1"),
        ("spawn + join, batches of 100 (pooled stacks)", "spawn_join_100", 1, 100, None),
    ]:
        a, u = g(asm, key, div), g(uc, key, div)
        unit = "ns/switch" if "switch" in label else "ns/task"
        rows.append([label, unit, fmt(a), fmt(u), ratio(u, a),
                     target(a, limit) if limit else "—"])
        if item:
            rep.target(item, f"{label} ≤ {limit} {unit}: "
                       + (f"{a:.1f}" + (f" (gap +{a - limit:.1f})" if a > limit else "")
                          if a is not None else "not measured"),
                       None if a is None else a <= limit)
    rep.table("Context switches and tasks (loom, asm vs ucontext build)",
              ["benchmark", "unit", "asm", "ucontext", "ucontext ÷ asm", "target (asm)"], rows,
              ["A task switch is one stack switch. With the direct hand-off a loom_yield, or "
               "a wake followed by a park, is one task → task switch, so ns/switch = ns per "
               "yield, and per wake + park (micro.c prints half of that, its pre-hand-off "
               "unit; the row doubles it). park/wake is the internal primitive "
               "every suspending call uses (reactor/task_internal.h). The raw row is the "
               "assembly routine alone, no scheduler. Thread CPU time, best of 3."])

    rows = []
    for label, key in [
        ("yield / sleep(0), 2 tasks (ns per yield)", "yield_2"),
        ("yield / sleep(0), 100 tasks (ns per yield)", "yield_100"),
        ("spawn + join / await create_task(), one at a time", "spawn_join_1"),
        ("spawn + join / create_task() + await, batches of 100", "spawn_join_100"),
        ("call_later + cancel, empty timer heap", "call_later_cancel"),
        ("timer add + cancel, 10,000 timers pending", "timer_10k"),
        ("call_soon chain, 1 in flight (ns per call)", "call_soon_1"),
        ("call_soon, 1,000 in flight (ns per call)", "call_soon_1000"),
    ]:
        l, a, v = g(asm, key), g(aio, key), g(uvl, key)
        rows.append([label, fmt(l), fmt(a), fmt(v), ratio(a, l), ratio(v, l)])
    rep.table("loom vs Python asyncio and uvloop (ns per operation, lower is better)",
              ["benchmark", "loom", "asyncio", "uvloop", "asyncio ÷ loom", "uvloop ÷ loom"],
              rows, ["Same loops on each side (tests/bench/micro.c, tests/bench/pybench.py); "
                     "best of 3. loom's timer rows use loom_call_later + loom_handle_cancel "
                     "(empty heap) and loom_timer_start/stop (10k pending); Python's use "
                     "loop.call_later(...).cancel()."])


# --- load generation (tests/bench/echo_load.c) ---

def multi_load(srv, conns, args, what, cpus):
    """One echo_load per CPU of cpus, the connections split between them, run
    at once. Returns {"rps", "cpu_ns_per_rt", "hist"} or None. Server CPU per
    round trip = the servers' CPU rate in the window / the summed round trips."""
    k = min(len(cpus), conns)
    tmp = tempfile.mkdtemp(prefix="loom-bench-")
    procs = []
    t0 = time.time()
    for i in range(k):
        n = conns // k + (1 if i < conns % k else 0)
        hist = os.path.join(tmp, f"hist{i}")
        argv = pinned(cpus[i], [os.path.join(BB, "echo_load"), "-p", str(srv.port),
                                "--pid", str(srv.proc.pid), "-c", str(n), "--hist", hist] + args)
        procs.append((subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, preexec_fn=raise_nofile), hist))
    res, h, failed = [], {}, False
    for p, hist in procs:
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            err = "timed out"
        if p.returncode != 0:
            progress(f"{what}: FAILED: {err.strip()[-300:]}")
            failed = True
            continue
        res.append({key: float(v) for key, v in re.findall(r"(\w+)=([\d.]+)", out)})
        read_hist(hist, h)
        os.unlink(hist)
    os.rmdir(tmp)
    if failed or not res:
        return None
    rps = sum(r["rps"] for r in res)
    cpu_rate = sum(r["server_cpu_ns"] / r["secs"] for r in res) / len(res)
    out = {"rps": rps, "cpu_ns_per_rt": cpu_rate / rps if rps else 0.0, "hist": h}
    p99 = percentile_us(h, 0.99)
    progress(f"{what}: rps={rps:.0f} cpu_us_per_rt={out['cpu_ns_per_rt'] / 1000:.2f} "
             f"p99_us={p99 if p99 is None else round(p99)} ({time.time() - t0:.1f} s)")
    return out


def load_idle(srv, conns, what):
    argv = pinned(LOAD_CPU, [os.path.join(BB, "echo_load"), "-p", str(srv.port),
                             "--pid", str(srv.proc.pid), "-c", str(conns), "--idle"])
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                           preexec_fn=raise_nofile)
    except subprocess.TimeoutExpired:
        progress(f"{what}: load generator timed out")
        return None
    if r.returncode != 0:
        progress(f"{what}: FAILED: {r.stderr.strip()[-300:]}")
        return None
    progress(f"{what}: {r.stdout.strip()}")
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", r.stdout)}


# --- part 2: echo servers ---

LOOM_ECHO = lambda: os.path.join(BUILD, "bin", "loom-echo")


def loom_argv(extra=()):
    return lambda p: [LOOM_ECHO(), "--host", "127.0.0.1", "--port", str(p)] + list(extra)


def echo_servers():
    """(name, argv for a port, extra environment)."""
    servers = []
    if os.access(LOOM_ECHO(), os.X_OK):
        servers.append(("loom", loom_argv(["--workers", "1", "--backend", "epoll"]), None))
        servers.append(("loom io_uring", loom_argv(["--workers", "1"]),
                        {"LOOM_BACKEND": "io_uring"}))
    for name, prog in [("libuv", "echo_uv"), ("libevent", "echo_event"), ("epoll", "echo_epoll")]:
        path = os.path.join(BB, prog)
        if os.access(path, os.X_OK):
            servers.append((name, lambda p, path=path: [path, str(p)], None))
    pyecho = os.path.join(HERE, "echo_py.py")
    servers.append(("asyncio", lambda p: [PY, pyecho, "asyncio", str(p)], None))
    if HAVE_UVLOOP:
        servers.append(("uvloop", lambda p: [PY, pyecho, "uvloop", str(p)], None))
    return servers


def start_server(name, argv, env):
    srv = Server(name, argv, BB, env=env)
    if srv.ok and env and env.get("LOOM_BACKEND") == "io_uring":
        time.sleep(0.05)
        if not proc_uses_io_uring(srv.proc.pid):
            progress(f"{name}: no io_uring instance in the server (backend missing or fell "
                     "back to epoll): column left empty")
            srv.ok = False
    return srv


CONFIGS = [(c, s) for c in (1, 100, 1000) for s in (64, 4096)]


def measure_echo(servers):
    """Every server runs at once (idle ones cost nothing); each cell is sampled
    ROUNDS times, the servers taking turns, so drift in the machine's speed hits
    them all alike. Returns {(name, c, size): ([(rps, cpu_ns), ...], hist)}."""
    samples = {}
    for c, size in CONFIGS:
        for rnd in range(ROUNDS):
            for srv in servers:
                if not srv.ok:
                    continue
                r = multi_load(srv, c, ["-s", str(size), "-t", str(SECS), "-w", "0.15",
                                        "--spin"],
                               f"echo {srv.name} c={c} size={size} #{rnd + 1}", [LOAD_CPU])
                if r:
                    cell = samples.setdefault((srv.name, c, size), ([], {}))
                    cell[0].append((r["rps"], r["cpu_ns_per_rt"]))
                    for top, n in r["hist"].items():
                        cell[1][top] = cell[1].get(top, 0) + n
    return samples


def measure_idle(specs):
    rss = {}
    for name, argv, env in specs:
        srv = start_server(name, argv, env)  # fresh process: growth from a clean heap
        if srv.ok:
            r = load_idle(srv, IDLE_CONNS, f"echo {name} idle {IDLE_CONNS}")
            if r:
                rss[name] = r["bytes_per_conn"]
        srv.stop()
    return rss


def cell_ratio_targets(rep, names, thr, cpu):
    """Issue 14 items 2 and 3, cell by cell; returns the table rows."""
    rows, cpu_gaps, thr_gaps, uring_gaps = [], [], [], []
    for c, s in CONFIGS:
        lc, ec = cpu.get(("loom", c, s)), cpu.get(("epoll", c, s))
        lt, ut = thr.get(("loom", c, s)), thr.get(("libuv", c, s))
        ic = cpu.get(("loom io_uring", c, s))
        r1 = lc / ec if lc and ec else None
        r2 = lt / ut if lt and ut else None
        r3 = ic / ec if ic and ec else None
        if r1 is not None:
            cpu_gaps.append((r1, c, s))
        if r2 is not None:
            thr_gaps.append((r2, c, s))
        if r3 is not None and c >= 100:
            uring_gaps.append((r3, c, s))
        mark = lambda r, ok: "—" if r is None else f"{r:.2f}× {'met' if ok(r) else 'MISSED'}"
        rows.append([f"c={c}, {s} B", mark(r1, lambda r: r <= 1.05),
                     mark(r2, lambda r: r >= 1.0),
                     mark(r3, lambda r: r <= 0.8) if c >= 100 else (f"{r3:.2f}×" if r3 else "—")])

    def summary(item, what, gaps, ok, worst):
        if not gaps:
            rep.target(item, what, None)
            return
        bad = [g for g in gaps if not ok(g[0])]
        w = worst(gaps)
        rep.target(item, f"{what}: met in {len(gaps) - len(bad)} of {len(gaps)} cells; worst "
                   f"c={w[1]}, {w[2]} B at {w[0]:.2f}×", not bad)
    summary("2", "loom server CPU per round trip ≤ 1.05× the epoll loop, every cell", cpu_gaps,
            lambda r: r <= 1.05, max)
    summary("2", "loom round trips/s ≥ libuv's, every cell", thr_gaps, lambda r: r >= 1.0, min)
    summary("3", "loom on io_uring: server CPU per round trip ≤ 0.8× the epoll loop at c=100 "
            "and c=1000", uring_gaps, lambda r: r <= 0.8, max)
    return rows


def latency_targets(rep, lat):
    have = {n: any(lat.get((n, c, 64)) for c in (100, 1000)) for n in ("loom", "libuv", "epoll")}
    missing = [n for n, ok in have.items() if not ok]
    rep.target("5", "p50/p99/p99.9 round-trip time shown for loom, libuv and the epoll loop at "
               "c=100 and c=1000" + (f" (missing: {', '.join(missing)})" if missing else ""),
               not missing)


def part_echo(rep):
    specs = echo_servers()
    progress(f"echo servers: {', '.join(n for n, _, _ in specs)}")
    servers = [start_server(n, a, e) for n, a, e in specs]
    try:
        samples = measure_echo(servers)
    finally:
        for srv in servers:
            srv.stop()
    names = [s.name for s in servers if s.ok]
    specs = [sp for sp in specs if sp[0] in names]
    rss = measure_idle(specs)
    thr = {k: median([a for a, _ in v[0]]) for k, v in samples.items()}
    cpu = {k: median([b for _, b in v[0]]) / 1000.0 for k, v in samples.items()}
    lat = {k: v[1] for k, v in samples.items()}
    rows = [[f"c={c}, {s} B"] + [fmt(thr.get((n, c, s))) for n in names] for c, s in CONFIGS]
    rep.table("Echo: round trips per second (median of %d; higher is better)" % ROUNDS,
              ["load"] + names, rows)
    rows = [[f"c={c}, {s} B"] + [fmt(cpu.get((n, c, s)), 2) for n in names]
            for c, s in CONFIGS]
    rep.table("Echo: server CPU µs per round trip (utime+stime from /proc, median of %d; "
              "lower is better)" % ROUNDS, ["load"] + names, rows)
    rows = [[f"c={c}, {s} B"] + [lat_cell(lat.get((n, c, s))) for n in names]
            for c, s in CONFIGS]
    rep.table("Echo: round-trip time p50 / p99 / p99.9 in µs (all %d samples merged; "
              "lower is better)" % ROUNDS, ["load"] + names, rows,
              ["Closed loop: each connection sends its next message as soon as the last one "
               "is back, so at c=1000 the time is mostly queueing (about c ÷ round trips/s); "
               "measured by the load generator from send to the last byte back, in a "
               "log-linear histogram (32 buckets per power of two: values err up to 3% "
               "high)."])
    rows = [["bytes per idle connection"] + [fmt(rss.get(n)) for n in names]]
    rep.table(f"Echo: server RSS growth per idle connection at {IDLE_CONNS:,} connections",
              ["measure"] + names, rows)
    if "loom" not in names:
        rep.text(f"loom-echo did not run ({LOOM_ECHO()}): the tables have no loom column.")
        return
    rows = cell_ratio_targets(rep, names, thr, cpu)
    rep.table("Echo: issue 14 targets, cell by cell",
              ["load", "loom CPU ÷ epoll (≤ 1.05×)", "loom rt/s ÷ libuv (≥ 1×)",
               "loom io_uring CPU ÷ epoll (≤ 0.8×, c ≥ 100)"], rows)
    latency_targets(rep, lat)
    if rss.get("loom") is not None:
        b = rss["loom"]
        rep.target("earlier", f"≤ 8 KiB RSS per idle connection: loom {b:,.0f} B", b <= 8192)
    rep.text(f"Servers pinned to CPUs {SERVER_CPUS}, load generator (tests/bench/echo_load.c: "
             f"one thread, busy-polling epoll, every byte verified) to CPU {LOAD_CPU}; "
             f"each cell: {ROUNDS} samples of {SECS:g} s after a 0.15 s warm-up, the "
             "servers taking turns. loom runs with --backend epoll, \"loom io_uring\" with "
             "LOOM_BACKEND=io_uring (its column is empty when the server holds no io_uring "
             "instance). Round trips/s on this VM swing by 2-3x between "
             "samples (wake-up latency between the two vCPUs), CPU per round trip far "
             "less: compare servers by CPU per round trip first. Each sample is a new "
             "connection, and at c=1 x 4 KiB a connection runs in one of two modes "
             "(about 20.7k or 26k round trips/s, 17 or 14 us of server CPU, the epoll "
             "loop as much as loom): hence 5 samples a cell, not 3. RSS growth is VmRSS "
             "after the connections each did one 64 B round trip, minus VmRSS with one "
             "connection, divided by the connections added (kernel socket buffers are "
             "not in RSS).")


# --- part 3: loom-echo --workers N ---

def part_workers(rep):
    if not os.access(LOOM_ECHO(), os.X_OK):
        rep.text(f"workers: {LOOM_ECHO()} is not built")
        return
    res = {}
    for n in WORKERS:
        srv = Server(f"loom-workers-{n}", loom_argv(["--workers", str(n), "--backend", "epoll"]),
                     BB)
        try:
            for c in (100, 1000):
                got = []
                for rnd in range(ROUNDS):
                    r = multi_load(srv, c, ["-s", "64", "-t", str(SECS), "-w", "0.15", "--spin"],
                                   f"workers={n} c={c} #{rnd + 1}", CLIENT_CPU_LIST) if srv.ok \
                        else None
                    if r:
                        got.append(r)
                if got:
                    h = {}
                    for r in got:
                        for top, cnt in r["hist"].items():
                            h[top] = h.get(top, 0) + cnt
                    res[(n, c)] = (median([r["rps"] for r in got]),
                                   median([r["cpu_ns_per_rt"] for r in got]) / 1000.0, h)
        finally:
            srv.stop()
    rows = []
    for c in (100, 1000):
        base = res.get((1, c))
        for n in WORKERS:
            r = res.get((n, c))
            if not r:
                rows.append([f"c={c}, 64 B", str(n), "—", "—", "—", "—"])
                continue
            scale = f"{r[0] / base[0]:.2f}× ({r[0] / base[0] / n:.0%} of linear)" if base else "—"
            rows.append([f"c={c}, 64 B", str(n), fmt(r[0]), fmt(r[1], 2), lat_cell(r[2]), scale])
    rep.table("loom-echo --workers N (SO_REUSEPORT, a loop per thread; median of %d)" % ROUNDS,
              ["load", "workers", "rt/s", "server CPU µs/rt", "p50 / p99 / p99.9 µs",
               "rt/s ÷ 1 worker"], rows,
              [f"Server on CPUs {SERVER_CPUS} ({len(SERVER_CPU_LIST)}), "
               f"{min(len(CLIENT_CPU_LIST), 100)} load generator(s) on CPUs {CLIENT_CPUS}, "
               "the connections split between them. Workers scale only up to the server "
               "CPUs" + (": with one server CPU (as on a 2-CPU machine, where the other drives "
                         "the load) N workers share it, and the rows show what the extra "
                         "threads cost; on a bigger machine run e.g. BENCH_SERVER_CPUS=0-3 "
                         "BENCH_CLIENT_CPUS=4-7 BENCH_WORKERS=1,2,4."
                         if len(SERVER_CPU_LIST) == 1 else
                         ", and the load generators must keep up (one per client CPU).")])
    measured = [n for n in WORKERS if (n, 100) in res]
    rep.target("6", f"--workers N scaling measured and printed for N = "
               f"{', '.join(map(str, measured)) or 'none'}",
               all(n in measured for n in (1, 2)))


def print_targets(rep):
    if not rep.targets:
        return
    lines = ["Targets (issue 14; 'earlier' = from before it):"]
    order = lambda t: (not t[0].isdigit(), t[0])  # items 1-6 in order, then earlier ones
    for item, text, met in sorted(rep.targets, key=order):
        verdict = "not measured" if met is None else "met" if met else "MISSED"
        lines.append(f"- item {item}: {text}: {verdict}")
    rep.text("\n".join(lines))


def main():
    t0 = time.time()
    rep = Report()
    info = machine()
    load1 = os.getloadavg()[0]
    if load1 > NCPU / 2:
        info += (f" Warning: the machine was busy (load {load1:.1f} on {NCPU} CPUs), so "
                 "wall-clock figures (echo round trips/s, latency) are depressed and noisy; the "
                 "CPU-time figures suffer less.")
    rep.text(info)
    if "micro" in PARTS:
        part_micro(rep)
    if "echo" in PARTS:
        part_echo(rep)
    if "workers" in PARTS:
        part_workers(rep)
    if "c100k" in PARTS:
        import c100k
        c100k.part_c100k(rep, BUILD)
    print_targets(rep)
    md = "## Benchmarks\n\n" + "\n".join(rep.md) + "\n"
    with open(os.path.join(BUILD, "bench.md"), "w") as f:
        f.write(md)
    progress(f"all done in {time.time() - t0:.0f} s; markdown copy in {BUILD}/bench.md")


if __name__ == "__main__":
    main()
