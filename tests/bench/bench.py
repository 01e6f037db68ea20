"""bench.py - runs loom's benchmarks and its peers, prints plain tables and
writes a markdown copy to BUILD/bench.md. Started by tests/bench/run.

    python3 tests/bench/bench.py BUILD

Environment: BENCH_SCALE (micro-benchmark iterations, default 1), BENCH_SECS
(echo sample window, default 0.5), BENCH_ROUNDS
(samples per echo cell, default 3), BENCH_PARTS ("micro,echo"),
BENCH_IDLE_CONNS (default 10000). Progress goes to stderr."""
import datetime
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
BB = os.path.join(BUILD, "bench")
HERE = os.path.dirname(os.path.abspath(__file__))
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SECS = float(os.environ.get("BENCH_SECS", "0.5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PARTS = os.environ.get("BENCH_PARTS", "micro,echo").split(",")
IDLE_CONNS = int(os.environ.get("BENCH_IDLE_CONNS", "10000"))
NCPU = os.cpu_count() or 1
# server on one CPU, load generator (and micro-benchmarks) on another
SERVER_CPU, LOAD_CPU = ("0", "1") if NCPU > 1 else ("0", "0")


def progress(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pinned(cpu, argv):
    return ["taskset", "-c", cpu] + argv


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


# --- formatting ---

def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    """a / b, formatted as N.N×, or — when either is missing."""
    if not isinstance(a, float) or not isinstance(b, float) or b <= 0:
        return "—"
    return f"{a / b:.1f}×" if a / b >= 10 else f"{a / b:.2f}×"


class Report:
    def __init__(self):
        self.md = []

    def table(self, title, head, rows, notes=()):
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                       for i, (c, w) in enumerate(zip(cells, widths)))
        print()
        print(title)
        print(line(head))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print(line(r))
        for n in notes:
            print(n)
        sys.stdout.flush()
        self.md.append(f"### {title}\n")
        self.md.append("| " + " | ".join(head) + " |")
        self.md.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for r in rows:
            self.md.append("| " + " | ".join(str(c) for c in r) + " |")
        if notes:
            self.md.append("")
            self.md.extend(notes)
        self.md.append("")

    def text(self, s):
        print(s)
        self.md.append(s + "\n")


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
            f"Pinned with taskset: micro-benchmarks on CPU {LOAD_CPU}; echo servers on CPU "
            f"{SERVER_CPU}, load generator on CPU {LOAD_CPU}.")


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
    for label, key, div, limit in [
        ("raw context switch (loom__ctx_switch)", "switch_raw", 1, 10),
        ("task switch: 2 tasks ping-pong with loom_yield", "yield_2", 2, 10),
        ("task switch: 100 tasks round-robin with loom_yield", "yield_100", 2, 10),
        ("task switch: 2 tasks ping-pong with park/wake", "parkwake", 1, 10),
        ("spawn + join, one at a time (pooled stack)", "spawn_join_1", 1, 100),
        ("spawn + join, batches of 100 (pooled stacks)", "spawn_join_100", 1, 100),
    ]:
        a, u = g(asm, key, div), g(uc, key, div)
        unit = "ns/switch" if "switch" in label else "ns/task"
        rows.append([label, unit, fmt(a), fmt(u), ratio(u, a),
                     target(a, limit) if limit else "—"])
    rep.table("Context switches and tasks (loom, asm vs ucontext build)",
              ["benchmark", "unit", "asm", "ucontext", "ucontext ÷ asm", "target (asm)"], rows,
              ["A task switch is one stack switch; a loom_yield is two (task → scheduler → "
               "task), so ns/switch = ns per yield ÷ 2. park/wake is the internal primitive "
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


# --- part 2: echo servers ---

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def echo_servers():
    loom = os.path.join(BUILD, "bin", "loom-echo")
    servers = []
    if os.access(loom, os.X_OK):
        servers.append(("loom", lambda p: [loom, "--host", "127.0.0.1", "--port", str(p),
                                           "--workers", "1"]))
    for name, prog in [("libuv", "echo_uv"), ("libevent", "echo_event"), ("epoll", "echo_epoll")]:
        path = os.path.join(BB, prog)
        if os.access(path, os.X_OK):
            servers.append((name, lambda p, path=path: [path, str(p)]))
    pyecho = os.path.join(HERE, "echo_py.py")
    servers.append(("asyncio", lambda p: [PY, pyecho, "asyncio", str(p)]))
    if HAVE_UVLOOP:
        servers.append(("uvloop", lambda p: [PY, pyecho, "uvloop", str(p)]))
    return servers


class Server:
    def __init__(self, name, make_argv):
        self.name = name
        self.port = free_port()
        self.log = open(os.path.join(BB, f"echo-{name}.log"), "w+")
        self.proc = subprocess.Popen(pinned(SERVER_CPU, make_argv(self.port)),
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=raise_nofile)
        self.ok = self.wait_listening()

    def wait_listening(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            self.log.seek(0)
            if "listening on" in self.log.read():
                return True
            time.sleep(0.02)
        self.log.seek(0)
        progress(f"{self.name}: server did not start: {self.log.read()[-300:]!r}")
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def raise_nofile():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def load(server, args, what):
    argv = pinned(LOAD_CPU, [os.path.join(BB, "echo_load"), "-p", str(server.port),
                             "--pid", str(server.proc.pid)] + args)
    t0 = time.time()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                           preexec_fn=raise_nofile)
    except subprocess.TimeoutExpired:
        progress(f"{what}: load generator timed out")
        return None
    if r.returncode != 0:
        progress(f"{what}: FAILED: {r.stderr.strip()[-300:]}")
        return None
    res = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", r.stdout)}
    progress(f"{what}: {r.stdout.strip()} ({time.time() - t0:.1f} s)")
    return res


CONFIGS = [(c, s) for c in (1, 100, 1000) for s in (64, 4096)]


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return None if not n else xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def measure_echo(servers):
    """Every server runs at once (idle ones cost nothing); each cell is sampled
    ROUNDS times, the servers taking turns, so drift in the machine's speed hits
    them all alike. Returns {(name, c, size): [(rps, cpu_ns), ...]}."""
    samples = {}
    for c, size in CONFIGS:
        for rnd in range(ROUNDS):
            for srv in servers:
                if not srv.ok:
                    continue
                r = load(srv, ["-c", str(c), "-s", str(size), "-t", str(SECS), "-w", "0.15",
                               "--spin"], f"echo {srv.name} c={c} size={size} #{rnd + 1}")
                if r:
                    samples.setdefault((srv.name, c, size), []).append(
                        (r["rps"], r["cpu_ns_per_rt"]))
    return samples


def measure_idle(servers):
    rss = {}
    for name, make_argv in servers:
        srv = Server(name, make_argv)  # fresh process: growth from a clean heap
        if srv.ok:
            r = load(srv, ["-c", str(IDLE_CONNS), "--idle"], f"echo {name} idle {IDLE_CONNS}")
            if r:
                rss[name] = r["bytes_per_conn"]
        srv.stop()
    return rss


def echo_targets(names, thr, cpu, rss):
    notes = []
    if "loom" not in names:
        notes.append(f"loom-echo was not built ({BUILD}/bin/loom-echo missing): "
                     "the tables have no loom column.")
        return notes
    lt, ut = thr.get(("loom", 100, 64)), thr.get(("libuv", 100, 64))
    lc, ec = cpu.get(("loom", 100, 64)), cpu.get(("epoll", 100, 64))
    if lt and ut:
        notes.append(f"Target c=100, 64 B throughput ≥ libuv: loom {lt:,.0f} vs libuv "
                     f"{ut:,.0f} rt/s ({lt / ut:.2f}×): {'met' if lt >= ut else 'MISSED'}.")
    if lc and ec:
        notes.append(f"Target c=100, 64 B server CPU per round trip ≤ 1.15× plain epoll: loom "
                     f"{lc:.2f} µs vs epoll {ec:.2f} µs ({lc / ec:.2f}×): "
                     f"{'met' if lc <= 1.15 * ec else 'MISSED'}.")
    if rss.get("loom") is not None:
        b = rss["loom"]
        notes.append(f"Target ≤ 8 KiB RSS per idle connection: loom {b:,.0f} B: "
                     f"{'met' if b <= 8192 else 'MISSED'}.")
    return notes


def part_echo(rep):
    specs = echo_servers()
    names = [n for n, _ in specs]
    progress(f"echo servers: {', '.join(names)}")
    servers = [Server(n, m) for n, m in specs]
    try:
        samples = measure_echo(servers)
    finally:
        for srv in servers:
            srv.stop()
    rss = measure_idle(specs)
    thr = {k: median([a for a, _ in v]) for k, v in samples.items()}
    cpu = {k: median([b for _, b in v]) / 1000.0 for k, v in samples.items()}
    rows = [[f"c={c}, {s} B"] + [fmt(thr.get((n, c, s))) for n in names] for c, s in CONFIGS]
    rep.table("Echo: round trips per second (median of %d; higher is better)" % ROUNDS,
              ["load"] + names, rows)
    rows = [[f"c={c}, {s} B"] + [fmt(cpu.get((n, c, s)), 2) for n in names]
            for c, s in CONFIGS]
    rep.table("Echo: server CPU µs per round trip (utime+stime from /proc, median of %d; "
              "lower is better)" % ROUNDS, ["load"] + names, rows)
    rows = [["bytes per idle connection"] + [fmt(rss.get(n)) for n in names]]
    rep.table(f"Echo: server RSS growth per idle connection at {IDLE_CONNS:,} connections",
              ["measure"] + names, rows)
    notes = echo_targets(names, thr, cpu, rss)
    notes.append(f"Server pinned to CPU {SERVER_CPU}, load generator (tests/bench/echo_load.c: "
                 f"one thread, busy-polling epoll, every byte verified) to CPU {LOAD_CPU}; "
                 f"each cell: {ROUNDS} samples of {SECS:g} s after a 0.15 s warm-up, the "
                 "servers taking turns. Round trips/s on this VM swing by 2-3x between "
                 "samples (wake-up latency between the two vCPUs), CPU per round trip far "
                 "less: compare servers by CPU per round trip first. RSS growth is VmRSS "
                 "after the connections each did one 64 B round trip, minus VmRSS with one "
                 "connection, divided by the connections added (kernel socket buffers are "
                 "not in RSS).")
    rep.text("\n".join(notes))


def main():
    t0 = time.time()
    rep = Report()
    info = machine()
    load1 = os.getloadavg()[0]
    if load1 > NCPU / 2:
        info += (f" Warning: the machine was busy (load {load1:.1f} on {NCPU} CPUs), so "
                 "wall-clock figures (echo round trips/s) are depressed and noisy; the CPU-time "
                 "figures suffer less.")
    rep.text(info)
    if "micro" in PARTS:
        part_micro(rep)
    if "echo" in PARTS:
        part_echo(rep)
    md = "## Benchmarks\n\n" + "\n".join(rep.md) + "\n"
    with open(os.path.join(BUILD, "bench.md"), "w") as f:
        f.write(md)
    progress(f"all done in {time.time() - t0:.0f} s; markdown copy in {BUILD}/bench.md")


if __name__ == "__main__":
    main()
