"""benchlib.py - what bench.py and c100k.py share: CPU pinning from the
environment, starting and stopping servers, the load generator's round-trip
histograms, number formatting and the plain + markdown table report.

CPU lists (taskset syntax, e.g. "0", "0-3", "0,2"):
    BENCH_SERVER_CPUS   servers (default "0")
    BENCH_CLIENT_CPUS   load generators and micro-benchmarks (default "1"; "0"
                        on a one-CPU machine)
Several client CPUs: the multi-load parts (workers, c100k) run one load
generator per client CPU; the echo table uses the first."""
import os
import resource
import signal
import socket
import subprocess
import sys
import time

NCPU = os.cpu_count() or 1


def parse_cpus(spec):
    """ "0-2,5" -> [0, 1, 2, 5]."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    if not out:
        raise ValueError(f"empty CPU list {spec!r}")
    return out


SERVER_CPUS = os.environ.get("BENCH_SERVER_CPUS", "0")
CLIENT_CPUS = os.environ.get("BENCH_CLIENT_CPUS", "1" if NCPU > 1 else "0")
SERVER_CPU_LIST = parse_cpus(SERVER_CPUS)
CLIENT_CPU_LIST = parse_cpus(CLIENT_CPUS)
LOAD_CPU = str(CLIENT_CPU_LIST[0])


def progress(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pinned(cpus, argv):
    return ["taskset", "-c", str(cpus)] + argv


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def proc_uses_io_uring(pid):
    """True when the process holds an io_uring instance (its backend is live)."""
    try:
        d = f"/proc/{pid}/fd"
        return any("io_uring" in os.readlink(os.path.join(d, f)) for f in os.listdir(d))
    except OSError:
        return False


class Server:
    """A server process pinned to cpus, logging to logdir/echo-NAME.log; ok once
    it printed "listening on"."""

    def __init__(self, name, argv_for_port, logdir, cpus=SERVER_CPUS, env=None, port=None):
        self.name = name
        self.port = port or free_port()
        self.log = open(os.path.join(logdir, f"echo-{name.replace(' ', '_')}.log"), "w+")
        self.proc = subprocess.Popen(pinned(cpus, argv_for_port(self.port)),
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=raise_nofile,
                                     env=dict(os.environ, **env) if env else None)
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
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- round-trip histograms (echo_load --hist FILE: "upper_ns count" lines) ---

def read_hist(path, into=None):
    h = into if into is not None else {}
    try:
        with open(path) as f:
            for line in f:
                top, n = line.split()
                h[int(top)] = h.get(int(top), 0) + int(n)
    except (OSError, ValueError):
        pass
    return h


def percentile_us(h, q):
    """The bucket bound below which a fraction q of the samples lie, in µs."""
    total = sum(h.values())
    if not total:
        return None
    want = max(1, int(q * total + 0.999999))
    seen = 0
    for top in sorted(h):
        seen += h[top]
        if seen >= want:
            return top / 1000.0
    return max(h) / 1000.0


def lat_cell(h):
    """ "p50 / p99 / p99.9" in whole µs, or —."""
    ps = [percentile_us(h, q) for q in (0.5, 0.99, 0.999)] if h else [None]
    if ps[0] is None:
        return "—"
    return " / ".join(f"{p:,.0f}" for p in ps)


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


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return None if not n else xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


class Report:
    def __init__(self):
        self.md = []
        self.targets = []  # (issue item, text, met or None for "not measured")

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

    def target(self, item, text, met):
        """One target of the issue: met True/False, or None when it was not measured."""
        self.targets.append((item, text, met))
