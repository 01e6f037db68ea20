/* check_app_echo_chat.c - loom-echo, loom-chat and loom-chat-client as
 * processes, driven by real clients: Python socket scripts and nc. Runs once
 * (check_app_* suites are not repeated per backend); the servers are started
 * on epoll and again with --backend poll where it matters. */
#include "harness/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* --- running a server --- */

struct server {
    pid_t pid;
    int port;
    int out; /* its stdout */
};

/* Start a built program with args, wait for "listening on HOST:PORT" (5 s).
 * nofile > 0 limits its fds (RLIMIT_NOFILE). */
static void server_start_limited(struct server *s, const char *prog, const char *const *args,
                                 int nofile)
{
    char path[256];
    test_build_path(prog, path, sizeof path);
    char *argv[16] = {path};
    int n = 1;
    for (; args && args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        dup2(p[1], 1);
        struct rlimit rl = {(rlim_t)nofile, (rlim_t)nofile};
        if (nofile > 0)
            setrlimit(RLIMIT_NOFILE, &rl);
        execv(path, argv);
        _exit(127);
    }
    close(p[1]);
    s->out = p[0];
    char line[256];
    size_t len = 0;
    double deadline = test_now() + 5;
    while (!memchr(line, '\n', len) && test_now() < deadline && len < sizeof line - 1) {
        struct pollfd pf = {s->out, POLLIN, 0};
        if (poll(&pf, 1, 100) > 0) {
            ssize_t r = read(s->out, line + len, sizeof line - 1 - len);
            ck_assert_int_gt(r, 0);
            len += (size_t)r;
        }
    }
    line[len] = '\0';
    const char *colon = strrchr(line, ':');
    ck_assert_msg(!strncmp(line, "listening on 127.0.0.1:", 23) && colon, "got \"%s\"", line);
    s->port = atoi(colon + 1);
    ck_assert_int_gt(s->port, 0);
}

static void server_start(struct server *s, const char *prog, const char *const *args)
{
    server_start_limited(s, prog, args, 0);
}

/* Send sig and wait (bounded) for the exit; returns the exit code or -signal. */
static int server_stop(struct server *s, int sig, double timeout_s)
{
    kill(s->pid, sig);
    int status = 0;
    double deadline = test_now() + timeout_s;
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (test_now() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            close(s->out);
            return -1000;
        }
        usleep(5000);
    }
    close(s->out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* Run a Python client script with the port (and pid) as arguments. */
static void python(const char *script, struct server *s, const char *expect)
{
    char port[16], pid[16];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(pid, sizeof pid, "%d", (int)s->pid);
    char *argv[] = {"/usr/bin/env", "python3", "-c", (char *)script, port, pid, NULL};
    char *out;
    double el;
    int rc = test_run(argv, NULL, 60, &out, &el);
    ck_assert_msg(rc == 0, "python exit %d:\n%s", rc, out);
    ck_assert_contains(out, expect);
    free(out);
}

/* --- loom-echo --- */

static const char echo_many_py[] =
    "import socket, sys, threading\n"
    "port = int(sys.argv[1]); errors = []\n"
    "def client(i):\n"
    "    try:\n"
    "        data = bytes((i + j) % 251 for j in range(100000))\n"
    "        s = socket.create_connection(('127.0.0.1', port))\n"
    "        s.sendall(data); s.shutdown(socket.SHUT_WR)  # half-close: echo the rest, then EOF\n"
    "        got = b''\n"
    "        while True:\n"
    "            x = s.recv(65536)\n"
    "            if not x: break\n"
    "            got += x\n"
    "        assert got == data, (i, len(got))\n"
    "    except Exception as e: errors.append(repr(e))\n"
    "ts = [threading.Thread(target=client, args=(i,)) for i in range(50)]\n"
    "[t.start() for t in ts]; [t.join() for t in ts]\n"
    "print('errors', errors) if errors else print('all good')\n";

static const char echo_dribble_py[] =
    "import socket, sys\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
    "msg = b'dribbled one byte at a time\\n'\n"
    "got = b''\n"
    "for b in msg:\n"
    "    s.sendall(bytes([b]))\n"
    "    got += s.recv(1)\n"
    "assert got == msg, got\n"
    "print('dribble ok')\n";

/* A peer that resets while the server writes back; then the server still works. */
static const char echo_rst_py[] =
    "import socket, struct, sys, time\n"
    "port = int(sys.argv[1])\n"
    "for k in range(5):\n"
    "    s = socket.create_connection(('127.0.0.1', port))\n"
    "    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)\n"
    "    s.settimeout(0.5)\n"
    "    try: s.sendall(b'x' * 2000000)  # never reads: the server blocks writing\n"
    "    except OSError: pass\n"
    "    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n"
    "    s.close()  # RST\n"
    "s = socket.create_connection(('127.0.0.1', port))\n"
    "s.sendall(b'still alive'); s.shutdown(socket.SHUT_WR)\n"
    "print(s.recv(100).decode())\n";

/* Data already sent when SIGTERM arrives is still echoed; then EOF. */
static const char echo_graceful_py[] = "import os, signal, socket, sys, time\n"
                                       "port, pid = int(sys.argv[1]), int(sys.argv[2])\n"
                                       "idle = socket.create_connection(('127.0.0.1', port))\n"
                                       "s = socket.create_connection(('127.0.0.1', port))\n"
                                       "data = b'y' * 100000\n"
                                       "s.sendall(data)\n"
                                       "time.sleep(0.2)  # let it reach the server's socket\n"
                                       "os.kill(pid, signal.SIGTERM)\n"
                                       "got = b''\n"
                                       "while True:\n"
                                       "    x = s.recv(65536)\n"
                                       "    if not x: break\n"
                                       "    got += x\n"
                                       "assert got == data, len(got)\n"
                                       "assert idle.recv(10) == b''  # idle client: closed\n"
                                       "print('answered', len(got))\n";

/* Clients that never read hold their handlers in drain; SIGTERM starts the
 * grace period (--grace 30), a second SIGTERM ends it: the server exits at
 * once (the second signal used to be ignored for the whole grace). */
static const char echo_twice_py[] =
    "import os, signal, socket, sys, time\n"
    "port, pid = int(sys.argv[1]), int(sys.argv[2])\n"
    "def gone(): return open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()[0] == 'Z'\n"
    "socks = []\n"
    "for i in range(3):\n"
    "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)\n"
    "    s.connect(('127.0.0.1', port)); s.setblocking(False); socks.append(s)\n"
    "t = time.time(); last = t\n"
    "while time.time() - last < 1 and time.time() - t < 20:  # until nothing goes for 1 s\n"
    "    for s in socks:\n"
    "        try: s.send(b'x' * 65536); last = time.time()\n"
    "        except BlockingIOError: pass\n"
    "    time.sleep(0.01)\n"
    "os.kill(pid, signal.SIGTERM)\n"
    "time.sleep(0.5)\n"
    "assert not gone(), 'exited in its grace period'\n"
    "t = time.time(); os.kill(pid, signal.SIGTERM)\n"
    "while not gone() and time.time() - t < 10: time.sleep(0.01)\n"
    "print('second SIGTERM: exit after %.2f s' % (time.time() - t))\n";

static void echo_twice(const char *workers)
{
    struct server s;
    const char *args[] = {"--port", "0", "--grace", "30", "--workers", workers, NULL};
    server_start(&s, "bin/loom-echo", args);
    char port[16], pid[16];
    snprintf(port, sizeof port, "%d", s.port);
    snprintf(pid, sizeof pid, "%d", (int)s.pid);
    char *argv[] = {"/usr/bin/env", "python3", "-c", (char *)echo_twice_py, port, pid, NULL};
    char *out;
    double el;
    int rc = test_run(argv, NULL, 60, &out, &el);
    ck_assert_msg(rc == 0, "python exit %d:\n%s", rc, out);
    const char *at = strstr(out, "exit after ");
    ck_assert_msg(at && atof(at + 11) < 3, "--workers %s: %s", workers, out);
    free(out);
    ck_assert_int_eq(server_stop(&s, 0, 10), 0);
}

START_TEST(test_echo_signal_twice)
{
    echo_twice("1");
    echo_twice("2");
}
END_TEST

START_TEST(test_echo)
{
    struct server s;
    const char *args[] = {"--port", "0", NULL};
    server_start(&s, "bin/loom-echo", args);
    python(echo_many_py, &s, "all good");
    python(echo_dribble_py, &s, "dribble ok");
    python(echo_rst_py, &s, "still alive");
    /* nc: -N shuts the socket down at the end of its input. */
    char port[16];
    snprintf(port, sizeof port, "%d", s.port);
    char *argv[] = {"/usr/bin/env", "nc", "-N", "127.0.0.1", port, NULL};
    char *out;
    double el;
    ck_assert_int_eq(test_run(argv, "hello from nc\n", 10, &out, &el), 0);
    ck_assert_str_eq(out, "hello from nc\n");
    free(out);
    ck_assert_int_eq(server_stop(&s, SIGINT, 10), 0);
}
END_TEST

START_TEST(test_echo_poll_workers)
{
    struct server s;
    const char *poll_args[] = {"--port", "0", "--backend", "poll", NULL};
    server_start(&s, "bin/loom-echo", poll_args);
    python(echo_many_py, &s, "all good");
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
    const char *worker_args[] = {"--port", "0", "--workers", "4", NULL};
    server_start(&s, "bin/loom-echo", worker_args);
    python(echo_many_py, &s, "all good");
    python(echo_dribble_py, &s, "dribble ok");
    ck_assert_int_eq(server_stop(&s, SIGINT, 10), 0);
}
END_TEST

/* loom-echo with 16 fds: accept runs out (EMFILE), pauses without spinning, and
 * serves the waiting clients once others leave. */
static const char echo_emfile_py[] =
    "import socket, sys, time\n"
    "port, pid = int(sys.argv[1]), int(sys.argv[2])\n"
    "def cpu(): f = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split(); "
    "return (int(f[11]) + int(f[12])) / 100\n"
    "socks = [socket.create_connection(('127.0.0.1', port)) for _ in range(20)]\n"
    "for s in socks: s.sendall(b'ping'); s.settimeout(0.3)\n"
    "served, waiting = [], []\n"
    "for s in socks:\n"
    "    try: assert s.recv(10) == b'ping'; served.append(s)\n"
    "    except socket.timeout: waiting.append(s)\n"
    "assert served and waiting, (len(served), len(waiting))\n"
    "c0 = cpu(); time.sleep(0.5); spent = cpu() - c0\n"
    "assert spent < 0.2, 'spinning: %.2f s CPU' % spent\n"
    "for s in served: s.close()\n"
    "for s in waiting: s.settimeout(5); assert s.recv(10) == b'ping'; s.close()\n"
    "print('served', len(served), 'then', len(waiting))\n";

START_TEST(test_echo_emfile)
{
    struct server s;
    const char *args[] = {"--port", "0", NULL};
    server_start_limited(&s, "bin/loom-echo", args, 16);
    python(echo_emfile_py, &s, "then");
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
}
END_TEST

START_TEST(test_echo_graceful)
{
    struct server s;
    const char *args[] = {"--port", "0", NULL};
    server_start(&s, "bin/loom-echo", args);
    python(echo_graceful_py, &s, "answered 100000");
    ck_assert_int_eq(server_stop(&s, 0, 10), 0); /* already exiting after SIGTERM */
}
END_TEST

/* --- loom-chat --- */

static const char chat_py[] =
    "import socket, sys, time\n"
    "port = int(sys.argv[1])\n"
    "def join(name):\n"
    "    s = socket.create_connection(('127.0.0.1', port)); f = s.makefile('rb')\n"
    "    s.sendall(b'CONNECT ' + name.encode() + b'\\n'); return s, f\n"
    "def line(f): return f.readline().decode().rstrip('\\n')\n"
    "a, af = join('alice')\n"
    "assert line(af) == 'Welcome! Users connected: 1!'\n"
    "assert line(af) == 'alice connected!'\n"
    "b, bf = join('bob')\n"
    "assert line(bf) == 'Welcome! Users connected: 2!'\n"
    "assert line(bf) == 'bob connected!' and line(af) == 'bob connected!'\n"
    "for ch in b'hi bob\\n': a.send(bytes([ch]))  # dribbled\n"
    "assert line(af) == 'alice: hi bob' and line(bf) == 'alice: hi bob'\n"
    "b.shutdown(socket.SHUT_WR)  # EOF: bob leaves and is removed\n"
    "assert line(af) == 'bob has left the chat'\n"
    "c, cf = join('carol')\n"
    "assert line(cf) == 'Welcome! Users connected: 2!', 'bob not removed'\n"
    "x, xf = join('no spaces allowed')\n"
    "assert line(xf).startswith('Expected: CONNECT')\n"
    "t = time.time()\n"
    "assert line(cf) == 'carol connected!'\n"
    "assert line(cf) == 'alice has left the chat'  # alice idles out (0.5 s)\n"
    "while af.readline(): pass  # and is disconnected\n"
    "print('chat ok', round(time.time() - t, 1))\n";

/* A client that never reads cannot stall the room or grow the server. */
static const char chat_slow_py[] =
    "import socket, sys, time\n"
    "port, pid = int(sys.argv[1]), int(sys.argv[2])\n"
    "def join(name, rcvbuf=None):\n"
    "    s = socket.socket()\n"
    "    if rcvbuf: s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)\n"
    "    s.connect(('127.0.0.1', port)); f = s.makefile('rb')\n"
    "    s.sendall(b'CONNECT ' + name.encode() + b'\\n'); return s, f\n"
    "def rss(): return int([l.split()[1] for l in open('/proc/%d/status' % pid)\n"
    "                       if l.startswith('VmRSS')][0])\n"
    "rss0 = rss()\n"
    "slow, _ = join('slow', 4096)  # never reads\n"
    "a, af = join('talker')\n"
    "msg = b'z' * 900 + b'\\n'\n"
    "seen_left = False; t = time.time()\n"
    "for i in range(3000):\n"
    "    a.sendall(msg)\n"
    "    while True:\n"
    "        l = af.readline()\n"
    "        if l.startswith(b'talker: '): break\n"
    "        if l == b'slow has left the chat\\n': seen_left = True\n"
    "assert seen_left, 'slow reader was not dropped'\n"
    "grew = rss() - rss0\n"
    "import os  # ASan keeps freed memory in quarantine: RSS says nothing there\n"
    "assert grew < 8000 or os.environ.get('LOOM_ASAN'), grew  # 2.7 MB went through\n"
    "print('room kept moving', round(time.time() - t, 2), 's; server RSS grew', grew, 'KiB')\n";

static const char chat_flood_py[] =
    "import socket, sys, threading, time\n"
    "port, pid = int(sys.argv[1]), int(sys.argv[2])\n"
    "MB = 20  # tens of MB of lines\n"
    "def rss():\n"
    "    return int([l.split()[1] for l in open('/proc/%d/status' % pid) if "
    "l.startswith('VmRSS')][0])\n"
    "def join(name, rcvbuf=None):\n"
    "    s = socket.socket()\n"
    "    if rcvbuf: s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)\n"
    "    s.connect(('127.0.0.1', port))\n"
    "    s.sendall(b'CONNECT ' + name.encode() + b'\\n')\n"
    "    return s\n"
    "class Reader(threading.Thread):\n"
    "    def __init__(self, name):\n"
    "        super().__init__(daemon=True); self.s = join(name); self.name = name\n"
    "        self.flood = 0; self.bad = None; self.seen = {}; self.left = []; self.eof = False\n"
    "    def run(self):\n"
    "        buf = b''\n"
    "        while True:\n"
    "            x = self.s.recv(1 << 20)\n"
    "            if not x: self.eof = True; return\n"
    "            buf += x\n"
    "            lines = buf.split(b'\\n'); buf = lines.pop()\n"
    "            for l in lines:\n"
    "                if l.startswith(b'flood: '):\n"
    "                    k = int(l[7:15])\n"
    "                    if k != self.flood and not self.bad: self.bad = 'got %d, expected %d' % "
    "(k, self.flood)\n"
    "                    self.flood += 1\n"
    "                elif l.startswith(b'talk: '):\n"
    "                    self.seen[l] = time.time()\n"
    "                elif l.endswith(b' has left the chat'):\n"
    "                    self.left.append(l)\n"
    "readers = [Reader('r%d' % i) for i in range(2)]\n"
    "stuck = join('stuck', 4096)  # never reads\n"
    "time.sleep(0.3)\n"
    "rss0 = rss()\n"
    "for r in readers: r.start()\n"
    "talk = join('talk')\n"
    "flood = join('flood')\n"
    "n = MB * 1000 * 1000 // 1000\n"
    "line = lambda k: b'%08d' % k + b'x' * 991 + b'\\n'\n"
    "peak = [rss0]\n"
    "def flooder():\n"
    "    chunk = b''\n"
    "    for k in range(n):\n"
    "        chunk += line(k)\n"
    "        if len(chunk) > 65536: flood.sendall(chunk); chunk = b''\n"
    "    flood.sendall(chunk)\n"
    "def drain(s):\n"
    "    try:\n"
    "        while s.recv(1 << 20): pass\n"
    "    except OSError: pass\n"
    "threading.Thread(target=drain, args=(flood,), daemon=True).start()\n"
    "threading.Thread(target=drain, args=(talk,), daemon=True).start()\n"
    "t0 = time.time()\n"
    "ft = threading.Thread(target=flooder, daemon=True); ft.start()\n"
    "lat = []\n"
    "for i in range(5):\n"
    "    time.sleep(0.5)\n"
    "    peak.append(rss())\n"
    "    if i == 1:  # the first line went while 'stuck' held the room; the rest after its drop\n"
    "        while not all(b'stuck has left the chat' in r.left for r in readers) and time.time() "
    "- t0 < 30:\n"
    "            time.sleep(0.01)\n"
    "    msg = b'talk: hello %d' % i\n"
    "    sent = time.time(); talk.sendall(msg[6:] + b'\\n')\n"
    "    while not all(msg in r.seen for r in readers) and time.time() - sent < 5: "
    "time.sleep(0.005)\n"
    "    lat.append(max(r.seen.get(msg, 99) for r in readers) - sent)\n"
    "while ft.is_alive() and time.time() - t0 < 120:\n"
    "    ft.join(0.2); peak.append(rss())\n"
    "deadline = time.time() + 60\n"
    "while any(r.flood < n for r in readers) and time.time() < deadline:\n"
    "    time.sleep(0.05); peak.append(rss())\n"
    "took = time.time() - t0\n"
    "for r in readers:\n"
    "    assert not r.bad, r.bad\n"
    "    assert not r.eof, r.name + ' was disconnected'\n"
    "    assert r.flood == n, (r.name, r.flood, n)\n"
    "    assert b'stuck has left the chat' in r.left, r.left\n"
    "    assert not [l for l in r.left if l != b'stuck has left the chat'], r.left\n"
    "assert max(lat) < 1.0, lat\n"
    "import os  # ASan keeps freed memory in quarantine: RSS says nothing there\n"
    "assert max(peak) - rss0 < 16000 or os.environ.get('LOOM_ASAN'), (rss0, max(peak))\n"
    "print('flood ok: %d MB in %.1f s (%.0f MB/s to each reader); talk latency max %.3f s; RSS %d "
    "KiB -> peak %d KiB' % (MB, took, MB / took, max(lat), rss0, max(peak)))\n";

static const char chat_fair_py[] =
    "import socket, sys, threading, time\n"
    "port = int(sys.argv[1])\n"
    "def join(name):\n"
    "    s = socket.create_connection(('127.0.0.1', port))\n"
    "    s.sendall(b'CONNECT ' + name.encode() + b'\\n')\n"
    "    return s\n"
    "class Reader(threading.Thread):\n"
    "    def __init__(self):\n"
    "        super().__init__(daemon=True); self.s = join('reader'); self.n = {b'f1': 0, b'f2': "
    "0}\n"
    "        self.seen = {}; self.eof = False; self.bad = None\n"
    "    def run(self):\n"
    "        buf = b''\n"
    "        while True:\n"
    "            x = self.s.recv(1 << 20)\n"
    "            if not x: self.eof = True; return\n"
    "            buf += x\n"
    "            lines = buf.split(b'\\n'); buf = lines.pop()\n"
    "            for l in lines:\n"
    "                who = l[:2]\n"
    "                if who in self.n and l[2:4] == b': ':\n"
    "                    k = int(l[4:12])\n"
    "                    if k != self.n[who] and not self.bad: self.bad = (who, k, self.n[who])\n"
    "                    self.n[who] += 1\n"
    "                elif l.startswith(b'chatty: '):\n"
    "                    self.seen[l] = time.time()\n"
    "r = Reader(); r.start()\n"
    "stop = False\n"
    "def flood(name):\n"
    "    s = join(name)\n"
    "    threading.Thread(target=lambda: [None for _ in iter(lambda: s.recv(1 << 20), b'')], "
    "daemon=True).start()\n"
    "    k = 0\n"
    "    while not stop:\n"
    "        s.sendall(b''.join(b'%08d' % (k + i) + b'y' * 500 + b'\\n' for i in range(64)))\n"
    "        k += 64\n"
    "fl = [threading.Thread(target=flood, args=(n,), daemon=True) for n in ('f1', 'f2')]\n"
    "for t in fl: t.start()\n"
    "c = join('chatty')\n"
    "threading.Thread(target=lambda: [None for _ in iter(lambda: c.recv(1 << 20), b'')], "
    "daemon=True).start()\n"
    "time.sleep(0.3)\n"
    "lat = []; counts = []\n"
    "for i in range(20):\n"
    "    msg = b'chatty: line %d' % i\n"
    "    sent = time.time(); c.sendall(msg[8:] + b'\\n')\n"
    "    while msg not in r.seen and time.time() - sent < 5: time.sleep(0.002)\n"
    "    lat.append(r.seen.get(msg, 99) - sent)\n"
    "    counts.append(dict(r.n))\n"
    "    time.sleep(0.05)\n"
    "stop = True\n"
    "assert not r.bad, r.bad\n"
    "assert not r.eof\n"
    "assert max(lat) < 1.0, lat\n"
    "# Both floods kept moving the whole time (each got lines through in every interval).\n"
    "for a, b in zip(counts, counts[5:]):\n"
    "    assert b[b'f1'] > a[b'f1'] and b[b'f2'] > a[b'f2'], counts\n"
    "n1, n2 = counts[-1][b'f1'], counts[-1][b'f2']\n"
    "assert min(n1, n2) * 3 > max(n1, n2), (n1, n2)\n"
    "print('fair ok: floods %d and %d lines, chatty latency max %.3f s' % (n1, n2, max(lat)))\n";

static const char chat_hostile_py[] =
    "import socket, sys, time\n"
    "port = int(sys.argv[1])\n"
    "def join(name):\n"
    "    s = socket.create_connection(('127.0.0.1', port)); s.settimeout(5); f = s.makefile('rb')\n"
    "    s.sendall(b'CONNECT ' + name + b'\\n'); return s, f\n"
    "for bad in [b'a\\x1bb', b'bell\\x07', b'vt\\x0b', b'\\xff\\xfe', b'x' * 33, b'two words', "
    "b'nul\\x00x',\n"
    "            b'c1\\xc2\\x9b', b'rlo\\xe2\\x80\\xaeabc', b'zw\\xe2\\x80\\x8b', b'', "
    "b'del\\x7f', b'cr\\rx']:\n"
    "    s, f = join(bad)\n"
    "    l = f.readline()\n"
    "    assert l.startswith(b'Expected: CONNECT'), (bad, l)\n"
    "    assert f.readline() == b'', 'not disconnected'\n"
    "    s.close()\n"
    "name = ('\\xe9' * 32).encode()  # 32 characters, 64 bytes: fine\n"
    "a, af = join(name)\n"
    "assert af.readline() == b'Welcome! Users connected: 1!\\n'\n"
    "assert af.readline() == name + b' connected!\\n'\n"
    "b, bf = join(b'bob')\n"
    "assert bf.readline() == b'Welcome! Users connected: 2!\\n'\n"
    "assert bf.readline() == b'bob connected!\\n' and af.readline() == b'bob connected!\\n'\n"
    "def clean(got):\n"
    "    body = got[5:-1].decode('utf-8')  # valid UTF-8\n"
    "    bad = [c for c in body if ord(c) < 0x20 and c != '\\t' or 0x7f <= ord(c) <= 0x9f]\n"
    "    assert not bad, got\n"
    "    return body\n"
    "hostile = {b'\\x1b[2J\\x1b[Hclear': '\\u241b[2J\\u241b[Hclear',\n"
    "           b'\\x1b]0;title\\x07': '\\u241b]0;title\\u2407',\n"
    "           b'\\x1b]52;c;SGVsbG8=\\x07': '\\u241b]52;c;SGVsbG8=\\u2407',  # OSC 52: clipboard "
    "write\n"
    "           b'hi\\rSYSTEM: enter your password': 'hi\\u240dSYSTEM: enter your password',\n"
    "           b'a\\x00b': 'a\\u2400b', b'csi\\xc2\\x9b31m': 'csi\\ufffd31m', b'del\\x7f': "
    "'del\\u2421',\n"
    "           b'\\x08\\x08\\x08\\x08\\x08back': '\\u2408' * 5 + 'back', b'tab\\tok': "
    "'tab\\tok',\n"
    "           b'\\x1bP+q\\x1b\\\\': '\\u241bP+q\\u241b\\\\'}\n"
    "for h, want in hostile.items():\n"
    "    b.sendall(h + b'\\n')\n"
    "    for f in (af, bf):\n"
    "        got = f.readline()\n"
    "        assert got.startswith(b'bob: ') and got.endswith(b'\\n'), got\n"
    "        assert clean(got) == want, (got, want)\n"
    "b.sendall(b'bad \\xff\\xfe utf8\\n')\n"
    "assert bf.readline() == b'Not sent: the line is not valid UTF-8\\n'\n"
    "b.sendall(b'y' * 5000 + b'\\n' + b'after long\\n')\n"
    "assert bf.readline() == b'Not sent: the line is longer than 1024 bytes\\n'\n"
    "assert af.readline() == b'bob: after long\\n'  # nothing from the refused lines\n"
    "assert bf.readline() == b'bob: after long\\n'\n"
    "b.sendall(b'z' * 1024 + b'\\r\\n')\n"
    "assert af.readline() == b'bob: ' + b'z' * 1024 + b'\\n'\n"
    "print('hostile ok')\n";

static const char chat_gate_py[] =
    "import socket, sys, time\n"
    "port = int(sys.argv[1])  # server: --handshake-timeout 0.5 --max-clients 3\n"
    "t0 = time.time()\n"
    "idle = [socket.create_connection(('127.0.0.1', port)) for _ in range(3)]\n"
    "for s in idle: s.settimeout(10)\n"
    "time.sleep(0.1)  # (the connections are accepted in order; the fourth must find three)\n"
    "full = socket.create_connection(('127.0.0.1', port)); full.settimeout(10)\n"
    "assert full.makefile('rb').readline() == b'Server full (3 connections); try again later\\n'\n"
    "assert full.recv(10) == b''\n"
    "for s in idle:\n"
    "    f = s.makefile('rb')\n"
    "    assert f.readline() == b'Timed out waiting for CONNECT <name>\\n'\n"
    "    assert f.readline() == b''\n"
    "took = time.time() - t0\n"
    "assert 0.4 < took < 5, took\n"
    "s = socket.create_connection(('127.0.0.1', port)); s.settimeout(10)\n"
    "s.sendall(b'CONNECT late\\n')\n"
    "assert s.makefile('rb').readline() == b'Welcome! Users connected: 1!\\n'\n"
    "print('gate ok %.2f' % took)\n";

START_TEST(test_chat)
{
    struct server s;
    const char *args[] = {"--port", "0", "--idle-timeout", "0.5", "--stall-timeout", "1", NULL};
    server_start(&s, "bin/loom-chat", args);
    if (UNDER_ASAN)
        setenv("LOOM_ASAN", "1", 1);
    python(chat_py, &s, "chat ok");
    python(chat_slow_py, &s, "room kept moving");
    /* The client with a pipe: joins, sends, half-closes, prints until the server closes. */
    char port[16], client[256];
    snprintf(port, sizeof port, "%d", s.port);
    test_build_path("bin/loom-chat-client", client, sizeof client);
    char *argv[] = {client, "--port", port, NULL};
    char *out;
    double el;
    ck_assert_int_eq(test_run(argv, "dave\nhello room\n", 10, &out, &el), 0);
    ck_assert_contains(out, "Enter username: ");
    ck_assert_contains(out, "Welcome! Users connected: 1!");
    ck_assert_contains(out, "dave connected!");
    ck_assert_contains(out, "dave: hello room");
    ck_assert_contains(out, "Server closed connection.");
    free(out);
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
}
END_TEST

/* Tens of MB of lines from one client while another never reads: the readers
 * stay connected and get every line in order, a third user's lines reach them
 * within 1 s, the stuck client is dropped after --stall-timeout, the server's
 * memory stays bounded. */
START_TEST(test_chat_flood)
{
    struct server s;
    const char *args[] = {"--port", "0", "--stall-timeout", "2", NULL};
    server_start(&s, "bin/loom-chat", args);
    if (UNDER_ASAN)
        setenv("LOOM_ASAN", "1", 1);
    python(chat_flood_py, &s, "flood ok");
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
}
END_TEST

/* Two floods and a chatty user: nobody starves. */
START_TEST(test_chat_fairness)
{
    struct server s;
    const char *args[] = {"--port", "0", NULL};
    server_start(&s, "bin/loom-chat", args);
    python(chat_fair_py, &s, "fair ok");
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
}
END_TEST

/* Names and lines that try to drive other users' terminals, invalid UTF-8, a
 * line over the limit. */
START_TEST(test_chat_hostile)
{
    struct server s;
    const char *args[] = {"--port", "0", NULL};
    server_start(&s, "bin/loom-chat", args);
    python(chat_hostile_py, &s, "hostile ok");
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
}
END_TEST

/* No CONNECT within --handshake-timeout: disconnected; over --max-clients: told.
 * On io_uring by name, as loom-echo takes it (loom-chat used to refuse it). */
START_TEST(test_chat_gate)
{
    struct server s;
    const char *args[] = {
        "--port",   "0", "--handshake-timeout", "0.5", "--max-clients", "3", "--backend",
        "io_uring", NULL};
    server_start(&s, "bin/loom-chat", args);
    python(chat_gate_py, &s, "gate ok");
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
}
END_TEST

/* Run a program with args; assert exit status 2 and that stderr names what was wrong. */
static void expect_bad_args(const char *prog, const char *const *args, const char *named)
{
    char path[256];
    test_build_path(prog, path, sizeof path);
    char *argv[8] = {path};
    for (int i = 0; args[i]; i++)
        argv[i + 1] = (char *)args[i];
    char *out;
    double el;
    int rc = test_run(argv, NULL, 10, &out, &el);
    ck_assert_msg(rc == 2, "%s %s: exit %d\n%s", prog, args[0], rc, out);
    ck_assert_contains(out, named);
    ck_assert_contains(out, "Try '");
    ck_assert_msg(!strstr(out, "usage:"), "the whole usage printed:\n%s", out);
    free(out);
}

START_TEST(test_chat_args)
{
    const char *progs[] = {"bin/loom-chat", "bin/loom-chat-client"};
    for (int i = 0; i < 2; i++) {
        const char *p = progs[i];
        expect_bad_args(p, (const char *[]){"--port", "99999", NULL}, "--port: '99999'");
        expect_bad_args(p, (const char *[]){"--port", "-5", NULL}, "--port: '-5'");
        expect_bad_args(p, (const char *[]){"--port", "abc", NULL}, "--port: 'abc'");
        expect_bad_args(p, (const char *[]){"--port", "", NULL}, "--port: ''");
        expect_bad_args(p, (const char *[]){"--port", NULL}, "--port needs a value");
        expect_bad_args(p, (const char *[]){"--host", "a b", NULL}, "--host: 'a b'");
        expect_bad_args(p, (const char *[]){"--bogus", NULL}, "unknown option '--bogus'");
        expect_bad_args(p, (const char *[]){"stray", NULL}, "unexpected argument 'stray'");
    }
    const char *c = "bin/loom-chat";
    expect_bad_args(c, (const char *[]){"--grace", "abc", NULL}, "--grace: 'abc'");
    expect_bad_args(c, (const char *[]){"--grace", "-1", NULL}, "--grace: '-1'");
    expect_bad_args(c, (const char *[]){"--stall-timeout", "1e3", NULL}, "--stall-timeout: '1e3'");
    expect_bad_args(c, (const char *[]){"--stall-timeout", "0", NULL}, "--stall-timeout: '0'");
    expect_bad_args(c, (const char *[]){"--idle-timeout", "inf", NULL}, "--idle-timeout: 'inf'");
    expect_bad_args(c, (const char *[]){"--max-clients", "0", NULL}, "--max-clients: '0'");
    expect_bad_args(c, (const char *[]){"--max-queue", "12k", NULL}, "--max-queue: '12k'");
    expect_bad_args(c, (const char *[]){"--backend", "select", NULL}, "--backend: 'select'");
    expect_bad_args(c, (const char *[]){"--port=70000", NULL}, "--port: '70000'");
    expect_bad_args(c, (const char *[]){"--port", "1", "--port", "2", NULL},
                    "--port is given twice");
    expect_bad_args("bin/loom-chat-client", (const char *[]){"--port", "0", NULL}, "--port: '0'");
    expect_bad_args("bin/loom-chat-client", (const char *[]){"--name", "a\033b", NULL},
                    "--name: control characters");
}
END_TEST

/* Run the client with args and stdin from input (NULL: a pipe kept open until
 * the client exits); returns its status, output (stdout + stderr) in *out. */
static int run_client(const char *const *args, const char *input, char **out)
{
    char path[256];
    test_build_path("bin/loom-chat-client", path, sizeof path);
    char *argv[8] = {path};
    for (int i = 0; args[i]; i++)
        argv[i + 1] = (char *)args[i];
    if (input) {
        double el;
        return test_run(argv, input, 20, out, &el);
    }
    int in[2], o[2];
    ck_assert_int_eq(pipe2(in, O_CLOEXEC) | pipe2(o, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(o[1], 1);
        dup2(o[1], 2);
        execv(path, argv);
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    double deadline = test_now() + 20;
    ssize_t r = 1;
    while (r > 0 && len < cap - 1 && test_now() < deadline) {
        struct pollfd pf = {o[0], POLLIN, 0};
        if (poll(&pf, 1, 100) > 0)
            len += (size_t)(r = read(o[0], buf + len, cap - 1 - len));
    }
    buf[len] = '\0';
    int status = 0;
    if (r > 0)
        kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(in[1]);
    close(o[0]);
    *out = buf;
    ck_assert_msg(r <= 0, "the client did not exit:\n%s", buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* A port where nothing listens. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Every failure: a message in words (no source path) and status 1. */
START_TEST(test_chat_client_errors)
{
    char port[16], want[96], *out;
    snprintf(port, sizeof port, "%d", dead_port());
    ck_assert_int_eq(run_client((const char *[]){"--port", port, "--name", "x", NULL}, "", &out),
                     1);
    snprintf(want, sizeof want,
             "loom-chat-client: cannot connect to 127.0.0.1:%s: Connection refused", port);
    ck_assert_contains(out, want);
    ck_assert_msg(!strstr(out, ".c:"), "a source path:\n%s", out);
    free(out);

    struct server s;
    const char *sargs[] = {"--port", "0", "--idle-timeout", "0.5", NULL};
    server_start(&s, "bin/loom-chat", sargs);
    snprintf(port, sizeof port, "%d", s.port);
    /* Join refused: the name is taken. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(write(fd, "CONNECT dave\n", 13), 13);
    char buf[64];
    ck_assert_int_gt(read(fd, buf, sizeof buf), 0); /* welcome: dave is in */
    ck_assert_int_eq(run_client((const char *[]){"--port", port, NULL}, "dave\nhi\n", &out), 1);
    ck_assert_contains(out, "loom-chat-client: join refused: Name taken");
    free(out);
    close(fd);
    /* A piped line over the limit. */
    static char big[3000];
    memset(big, 'a', sizeof big - 2);
    memcpy(big, "erin\n", 5);
    big[sizeof big - 2] = '\n';
    ck_assert_int_eq(run_client((const char *[]){"--port", port, NULL}, big, &out), 1);
    ck_assert_contains(out, "loom-chat-client: an input line is longer than 1024 bytes");
    free(out);
    /* The server goes first (idle timeout) while our input is still open. */
    ck_assert_int_eq(
        run_client((const char *[]){"--port", port, "--name", "fay", NULL}, NULL, &out), 1);
    ck_assert_contains(out, "Server closed connection.");
    ck_assert_contains(out, "loom-chat-client: the server closed the connection");
    free(out);
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
}
END_TEST

/* What a (hostile) server sends is printed with its control characters made
 * visible: no escape sequence reaches the terminal. */
START_TEST(test_chat_client_escapes)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* the fake server */
        int fd = accept(lfd, NULL, NULL);
        char buf[256];
        if (fd < 0 || read(fd, buf, sizeof buf) <= 0)
            _exit(1);
        const char m[] = "Welcome! Users connected: 1!\n\033[2J\033]52;c;SGVsbG8=\007evil\r"
                         "SYSTEM: x\302\233\n";
        if (write(fd, m, sizeof m - 1) < 0)
            _exit(1);
        while (read(fd, buf, sizeof buf) > 0) /* until the client half-closes */
            ;
        _exit(0);
    }
    close(lfd);
    char port[16], *out;
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    int rc = run_client((const char *[]){"--port", port, "--name", "gus", NULL}, "", &out);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    ck_assert_contains(out, "\342\220\233[2J\342\220\233]52;c;SGVsbG8=\342\220\207evil\342\220\215"
                            "SYSTEM: x\357\277\275");
    ck_assert_msg(!strchr(out, '\033') && !strchr(out, '\007') && !strchr(out, '\r'), "%s", out);
    free(out);
}
END_TEST

/* Read the pty master until want shows up (5 s); the output so far in buf. */
static bool pty_wait(int master, char *buf, size_t cap, size_t *len, const char *want)
{
    double deadline = test_now() + 5;
    while (test_now() < deadline) {
        buf[*len] = '\0';
        if (strstr(buf, want))
            return true;
        struct pollfd pf = {master, POLLIN, 0};
        if (poll(&pf, 1, 50) > 0) {
            ssize_t r = read(master, buf + *len, cap - 1 - *len);
            if (r <= 0)
                return false;
            *len += (size_t)r;
        }
    }
    return false;
}

/* The TUI on a real (pseudo-)terminal: messages drawn above, typing at the bottom,
 * Ctrl-D quits and the terminal is back in canonical mode. */
START_TEST(test_chat_tui)
{
    struct server s;
    const char *args[] = {"--port", "0", NULL};
    server_start(&s, "bin/loom-chat", args);
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master) | unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct winsize ws = {.ws_row = 12, .ws_col = 60};
    ioctl(master, TIOCSWINSZ, &ws);
    char port[16], client[256];
    snprintf(port, sizeof port, "%d", s.port);
    test_build_path("bin/loom-chat-client", client, sizeof client);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setsid();
        dup2(slave, 0);
        dup2(slave, 1);
        dup2(slave, 2);
        execl(client, client, "--port", port, "--name", "eve", (char *)NULL);
        _exit(127);
    }
    static char buf[65536];
    size_t len = 0;
    ck_assert_msg(pty_wait(master, buf, sizeof buf, &len, "eve connected!"), "%s", buf);
    ck_assert_int_eq(write(master, "hi all\r", 7), 7);
    ck_assert_msg(pty_wait(master, buf, sizeof buf, &len, "eve: hi all"), "%s", buf);
    ck_assert_contains(buf, "\0337"); /* redrawn with the cursor saved and restored */
    ck_assert_contains(buf, "\0338");
    ck_assert_contains(buf, "\033[12;0H"); /* the input line at the bottom row */
    /* UTF-8 typing: backspace takes the whole "\u00fc" (2 bytes) back, so the
     * line is valid text; a byte-wise backspace would leave half of it. An arrow
     * key's escape sequence is not taken as text. */
    ck_assert_int_eq(write(master, "\303\251\303\274\177x\033[D!\r", 11), 11);
    ck_assert_msg(pty_wait(master, buf, sizeof buf, &len, "eve: \303\251x!"), "%s", buf);
    ck_assert_msg(!strstr(buf, "Not sent"), "%s", buf);
    ck_assert_int_eq(write(master, "\x04", 1), 1); /* Ctrl-D */
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 500 && (got = waitpid(pid, &status, WNOHANG)) == 0; i++) {
        struct pollfd pf = {master, POLLIN, 0}; /* keep the pty drained */
        if (poll(&pf, 1, 10) > 0 && read(master, buf, sizeof buf - 1) <= 0)
            usleep(10000);
    }
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ck_abort_msg("the client did not exit on Ctrl-D");
    }
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct termios t;
    ck_assert_int_eq(tcgetattr(slave, &t), 0);
    ck_assert(t.c_lflag & ICANON); /* restored */
    close(slave);
    close(master);
    ck_assert_int_eq(server_stop(&s, SIGTERM, 10), 0);
}
END_TEST

START_TEST(test_help)
{
    const char *progs[] = {"bin/loom-echo", "bin/loom-chat", "bin/loom-chat-client"};
    for (int i = 0; i < 3; i++) {
        char path[256];
        test_build_path(progs[i], path, sizeof path);
        char *argv[] = {path, "--help", NULL};
        char *out;
        double el;
        ck_assert_int_eq(test_run(argv, NULL, 10, &out, &el), 0);
        ck_assert_contains(out, "usage:");
        free(out);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("app_echo_chat");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"echo", test_echo},
        {"echo_poll_workers", test_echo_poll_workers},
        {"echo_graceful", test_echo_graceful},
        {"echo_signal_twice", test_echo_signal_twice},
        {"echo_emfile", test_echo_emfile},
        {"chat", test_chat},
        {"chat_flood", test_chat_flood},
        {"chat_fairness", test_chat_fairness},
        {"chat_hostile", test_chat_hostile},
        {"chat_gate", test_chat_gate},
        {"chat_args", test_chat_args},
        {"chat_client_errors", test_chat_client_errors},
        {"chat_client_escapes", test_chat_client_escapes},
        {"chat_tui", test_chat_tui},
        {"help", test_help},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 60);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
