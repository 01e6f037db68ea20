/* check_broadcast.c - net/broadcast over socketpairs: everyone gets every
 * message in one order, a member over the high watermark holds the sender (and
 * the others still get the message at once), a stalled member is dropped with a
 * reason after the stall timeout while a slow one that keeps reading never is,
 * fairness between two floods and a chatty sender, the per-member memory bound,
 * timeouts and cancellation of a waiting send, leave while a sender waits,
 * write errors, and a framing write callback. */
#include "harness/harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/broadcast.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "reactor/park.h"
#include "reactor/task.h"

/* --- helpers --- */

enum { MAXM = 4 };

/* One member: the room's end (srv, joined) and the peer's end (cli). */
struct peer {
    struct loom_broadcast_member m;
    struct loom_stream *srv, *cli;
    char *got; /* everything read from cli */
    size_t len, cap;
    size_t chunk;  /* read this much at a time (0: never read) */
    int64_t pause; /* sleep between reads */
    bool stop;     /* reader: return once nothing is buffered */
    struct loom_task *reader;
    int dropped; /* on_drop's reason */
    char why[128];
    size_t max_queued; /* the largest queue seen after a send */
};

static struct {
    struct loom_broadcast b;
    struct peer p[MAXM];
    int n;
} room;

static void on_drop(struct loom_broadcast_member *m, int reason, const char *why, void *arg)
{
    struct peer *p = m->data;
    p->dropped = reason;
    snprintf(p->why, sizeof p->why, "%s", why);
}

/* Read p->cli at p's pace into p->got until EOF (or stop and nothing left). */
static intptr_t reader(void *arg)
{
    struct peer *p = arg;
    char buf[65536];
    for (;;) {
        size_t want = p->chunk < sizeof buf ? p->chunk : sizeof buf;
        ssize_t n = loom_stream_read_some(p->cli, buf, want, p->stop ? LOOM_MS(200) : -1);
        if (n < 0)
            return n == LOOM_EOF || (n == -ETIMEDOUT && p->stop) ? 0 : n;
        if (p->len + (size_t)n > p->cap) {
            p->cap = (p->len + (size_t)n) * 2;
            p->got = realloc(p->got, p->cap);
            ck_assert_ptr_nonnull(p->got);
        }
        memcpy(p->got + p->len, buf, (size_t)n);
        p->len += (size_t)n;
        if (p->pause && loom_sleep(p->pause) < 0)
            return 0;
    }
}

/* A room of n members; sndbuf bounds each member's kernel buffers so a reader
 * that stops is felt after a few KiB. chunk/pause per member set afterwards. */
static void room_open(int n, const struct loom_broadcast_options *opt)
{
    memset(&room, 0, sizeof room);
    struct loom_broadcast_options o = opt ? *opt : (struct loom_broadcast_options){0};
    o.on_drop = on_drop;
    loom_broadcast_init(&room.b, &o);
    room.n = n;
    for (int i = 0; i < n; i++) {
        struct peer *p = &room.p[i];
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        loom_socket_set_buffers(sv[0], 4096, 0);
        loom_socket_set_buffers(sv[1], 0, 4096);
        ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[0], 0, &p->srv), 0);
        ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[1], 0, &p->cli), 0);
        p->m.data = p;
        p->chunk = 65536;
        ck_assert_int_eq(loom_broadcast_join(&room.b, &p->m, p->srv, NULL, NULL), 0);
    }
}

static void readers_start(void)
{
    for (int i = 0; i < room.n; i++)
        if (room.p[i].chunk)
            room.p[i].reader = loom_spawn(reader, &room.p[i], "reader");
}

/* Leave, flush what is queued (bounded), close the room's ends, let the readers
 * take the rest and finish, then close everything. */
static void room_close(void)
{
    for (int i = 0; i < room.n; i++) {
        struct peer *p = &room.p[i];
        loom_broadcast_leave(&p->m);
        if (p->reader && !p->dropped)
            loom_stream_flush(p->srv, LOOM_SEC(10));
        loom_stream_close(p->srv);
    }
    for (int i = 0; i < room.n; i++) {
        struct peer *p = &room.p[i];
        if (p->reader)
            ck_assert_int_eq(loom_task_join(p->reader), 0);
        loom_stream_close(p->cli);
    }
    loom_broadcast_close(&room.b);
}

static void room_free(void)
{
    for (int i = 0; i < room.n; i++)
        free(room.p[i].got);
}

/* Message k of sender s, size bytes with the "\n". */
static size_t msg(char *buf, size_t size, int s, int k)
{
    int n = snprintf(buf, size, "S%d:%06d:", s, k);
    memset(buf + n, 'a' + s, size - (size_t)n - 1);
    buf[size - 1] = '\n';
    return size;
}

/* Count sender s's messages in p->got, asserting they come 0, 1, 2... */
static int count_in_order(const struct peer *p, int s)
{
    int next = 0;
    char tag[8];
    int tl = snprintf(tag, sizeof tag, "S%d:", s);
    for (const char *l = p->got, *end = p->got + p->len; l < end;) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        ck_assert_msg(nl, "a cut message at the end");
        if (!strncmp(l, tag, (size_t)tl)) {
            int k = atoi(l + tl);
            ck_assert_msg(k == next, "sender %d: got #%d, expected #%d", s, k, next);
            next++;
        }
        l = nl + 1;
    }
    return next;
}

/* The longest run of consecutive messages from one sender after the first skip. */
static int longest_run(const struct peer *p, int skip)
{
    int best = 0, run = 0, last = -1, seen = 0;
    for (const char *l = p->got, *end = p->got + p->len; l < end; seen++) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        int who = atoi(l + 1);
        if (seen >= skip) {
            run = who == last ? run + 1 : 1;
            best = run > best ? run : best;
        }
        last = who;
        l = nl + 1;
    }
    return best;
}

struct sender {
    int id, count;
    size_t size;
    int64_t timeout;
    int rc; /* first error */
    int sent;
    double done_at; /* test_now() at the end */
};

static void note_queues(void)
{
    for (int i = 0; i < room.n; i++) {
        size_t q = loom_broadcast_member_queued(&room.p[i].m);
        if (q > room.p[i].max_queued)
            room.p[i].max_queued = q;
    }
}

static intptr_t sender(void *arg)
{
    struct sender *s = arg;
    char buf[4096];
    for (int k = 0; k < s->count; k++) {
        size_t len = msg(buf, s->size, s->id, k);
        int rc = loom_broadcast_send(&room.b, NULL, buf, len, s->timeout);
        note_queues();
        if (rc < 0) {
            s->rc = rc;
            break;
        }
        s->sent++;
    }
    s->done_at = test_now();
    return 0;
}

/* --- everyone gets everything, in one order --- */

static intptr_t order_main(void *arg)
{
    room_open(3, NULL);
    room.p[2].pause = LOOM_MS(1); /* a slower reader */
    room.p[2].chunk = 8192;
    readers_start();
    struct sender s[2] = {{.id = 0, .count = 2000, .size = 300, .timeout = -1},
                          {.id = 1, .count = 2000, .size = 700, .timeout = -1}};
    struct loom_task *t[2] = {loom_spawn(sender, &s[0], "s0"), loom_spawn(sender, &s[1], "s1")};
    loom_gather(t, 2, NULL, LOOM_GATHER_ALL);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(s[i].rc, 0);
    room_close();
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(room.p[i].dropped, 0);
        ck_assert_int_eq(count_in_order(&room.p[i], 0), 2000);
        ck_assert_int_eq(count_in_order(&room.p[i], 1), 2000);
        ck_assert_uint_eq(room.p[i].len, 2000 * 1000);
    }
    /* The same interleaving for every member. */
    ck_assert(!memcmp(room.p[0].got, room.p[1].got, room.p[0].len));
    ck_assert(!memcmp(room.p[0].got, room.p[2].got, room.p[0].len));
    room_free();
    return 0;
}

START_TEST(test_order) { ck_assert_int_eq(test_run_task(order_main, NULL), 0); }
END_TEST

/* from is skipped; send_to reaches one member in the room's order. */
static intptr_t from_main(void *arg)
{
    room_open(2, NULL);
    readers_start();
    ck_assert_int_eq(loom_broadcast_send(&room.b, &room.p[0].m, "all but 0\n", 10, -1), 0);
    ck_assert_int_eq(loom_broadcast_send_to(&room.p[0].m, "just 0\n", 7, -1), 0);
    ck_assert_int_eq(loom_broadcast_send(&room.b, NULL, "all\n", 4, -1), 0);
    ck_assert_uint_eq(loom_broadcast_count(&room.b), 2);
    room_close();
    ck_assert_uint_eq(room.p[0].len, 11);
    ck_assert(!memcmp(room.p[0].got, "just 0\nall\n", 11));
    ck_assert_uint_eq(room.p[1].len, 14);
    ck_assert(!memcmp(room.p[1].got, "all but 0\nall\n", 14));
    ck_assert_int_eq(loom_broadcast_send_to(&room.p[0].m, "x", 1, -1), -ENOENT);
    room_free();
    return 0;
}

START_TEST(test_from) { ck_assert_int_eq(test_run_task(from_main, NULL), 0); }
END_TEST

/* --- backpressure: the sender waits, the others still get each message --- */

static intptr_t hold_main(void *arg)
{
    struct loom_broadcast_options o = {
        .high_water = 8192, .low_water = 2048, .stall_timeout_ns = -1};
    room_open(2, &o);
    room.p[1].chunk = 0; /* member 1 does not read yet */
    readers_start();
    struct sender s = {.id = 0, .count = 1000, .size = 1000, .timeout = -1};
    struct loom_task *t = loom_spawn(sender, &s, "sender");
    /* Wait (bounded) until the sender is held by member 1. */
    double deadline = test_now() + 5;
    int last = -1;
    while (test_now() < deadline) {
        loom_sleep(LOOM_MS(20));
        if (s.sent == last)
            break;
        last = s.sent;
    }
    ck_assert_int_lt(s.sent, 1000);
    ck_assert(!loom_task_done(t));
    /* Member 0 has every message sent so far, and the one the sender waits with. */
    deadline = test_now() + 5;
    while (room.p[0].len < (size_t)(s.sent + 1) * 1000 && test_now() < deadline)
        loom_sleep(LOOM_MS(5));
    ck_assert_uint_eq(room.p[0].len, (size_t)(s.sent + 1) * 1000);
    /* Member 1 starts reading: the sender finishes, nothing lost. */
    room.p[1].chunk = 65536;
    room.p[1].reader = loom_spawn(reader, &room.p[1], "late reader");
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_int_eq(s.rc, 0);
    room_close();
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(count_in_order(&room.p[i], 0), 1000);
        /* Memory bound: at most high + one message queued. */
        ck_assert_uint_le(room.p[i].max_queued, 8192 + 1000);
    }
    room_free();
    return 0;
}

START_TEST(test_hold) { ck_assert_int_eq(test_run_task(hold_main, NULL), 0); }
END_TEST

/* --- a stalled member is dropped after the stall timeout, with a reason --- */

static intptr_t stall_main(void *arg)
{
    struct loom_broadcast_options o = {
        .high_water = 8192, .low_water = 2048, .stall_timeout_ns = LOOM_MS(300)};
    room_open(3, &o);
    room.p[2].chunk = 0; /* never reads */
    readers_start();
    struct sender s = {.id = 0, .count = 200, .size = 1000, .timeout = -1};
    double t0 = test_now();
    struct loom_task *t = loom_spawn(sender, &s, "sender");
    ck_assert_int_eq(loom_task_join(t), 0);
    double took = s.done_at - t0;
    ck_assert_int_eq(s.rc, 0);
    for (int i = 0; i < 100 && !room.p[2].dropped; i++) /* on_drop runs from a callback */
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(room.p[2].dropped, -ETIMEDOUT);
    ck_assert_msg(strstr(room.p[2].why, "stalled 0.3 s with ") &&
                      strstr(room.p[2].why, " bytes queued"),
                  "%s", room.p[2].why);
    ck_assert_int_eq(loom_broadcast_member_error(&room.p[2].m), -ETIMEDOUT);
    ck_assert_uint_eq(loom_broadcast_count(&room.b), 2);
    /* Held for the stall timeout (not much longer), then free to go on. */
    ck_assert_msg(took >= 0.29 && took < 3, "took %.3f s", took);
    room_close();
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(count_in_order(&room.p[i], 0), 200);
    room_free();
    return 0;
}

START_TEST(test_stall) { ck_assert_int_eq(test_run_task(stall_main, NULL), 0); }
END_TEST

/* --- slow but reading: never dropped, even far past the stall timeout --- */

static intptr_t slow_main(void *arg)
{
    struct loom_broadcast_options o = {
        .high_water = 4096, .low_water = 1024, .stall_timeout_ns = LOOM_MS(200)};
    room_open(2, &o);
    room.p[1].chunk = 2048; /* ~2 KiB every 20 ms: 100 KiB/s */
    room.p[1].pause = LOOM_MS(20);
    readers_start();
    struct sender s = {.id = 0, .count = 200, .size = 1000, .timeout = -1};
    double t0 = test_now();
    ck_assert_int_eq(loom_task_join(loom_spawn(sender, &s, "sender")), 0);
    ck_assert_msg(test_now() - t0 > 1.0,
                  "the slow reader did not hold the sender: %.3f s, queued max %zu, read %zu",
                  test_now() - t0, room.p[1].max_queued, room.p[1].len);
    ck_assert_int_eq(s.rc, 0);
    ck_assert_int_eq(loom_broadcast_member_error(&room.p[1].m), 0);
    room_close();
    ck_assert_int_eq(room.p[1].dropped, 0);
    ck_assert_int_eq(count_in_order(&room.p[1], 0), 200);
    ck_assert_int_eq(count_in_order(&room.p[0], 0), 200);
    room_free();
    return 0;
}

START_TEST(test_slow_reader) { ck_assert_int_eq(test_run_task(slow_main, NULL), 0); }
END_TEST

/* --- fairness: two floods and a chatty sender share a slow member --- */

static intptr_t fair_main(void *arg)
{
    struct loom_broadcast_options o = {.high_water = 8192, .low_water = 2048};
    room_open(2, &o);
    room.p[1].chunk = 4096; /* slow enough that everyone queues on it */
    room.p[1].pause = LOOM_MS(2);
    readers_start();
    struct sender s[3] = {{.id = 0, .count = 1000000, .size = 2000, .timeout = -1},
                          {.id = 1, .count = 1000000, .size = 2000, .timeout = -1},
                          {.id = 2, .count = 30, .size = 100, .timeout = -1}};
    struct loom_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = loom_spawn(sender, &s[i], "sender");
    /* The chatty one is done while both floods are still going. */
    ck_assert_int_eq(loom_task_join(t[2]), 0);
    ck_assert_int_eq(s[2].rc, 0);
    ck_assert(!loom_task_done(t[0]) && !loom_task_done(t[1]));
    int f0 = s[0].sent, f1 = s[1].sent;
    loom_task_cancel(t[0]);
    loom_task_cancel(t[1]);
    loom_gather(t, 2, NULL, LOOM_GATHER_ALL);
    room_close();
    /* Everyone's messages arrived; the floods took turns with each other. */
    ck_assert_int_eq(count_in_order(&room.p[1], 2), 30);
    int n0 = count_in_order(&room.p[1], 0), n1 = count_in_order(&room.p[1], 1);
    ck_assert_msg(n0 >= 30 && n1 >= 30, "a flood starved: %d and %d (sent %d, %d)", n0, n1, f0, f1);
    /* Once all three wait on the slow member they take turns: after the first
     * burst (what fitted before it went over the mark) no sender gets two
     * messages in a row. */
    ck_assert_int_le(longest_run(&room.p[1], 20), 1);
    /* The chatty sender waited one turn per message: 30 messages took about 30
     * rounds of the two floods, not all of them. */
    ck_assert_msg(f0 < 30 * 2 + 40 && f1 < 30 * 2 + 40, "chatty waited behind %d + %d", f0, f1);
    room_free();
    return 0;
}

START_TEST(test_fairness) { ck_assert_int_eq(test_run_task(fair_main, NULL), 0); }
END_TEST

/* --- a waiting send times out, is cancelled, or the member leaves --- */

static intptr_t wait_main(void *arg)
{
    struct loom_broadcast_options o = {
        .high_water = 4096, .low_water = 1024, .stall_timeout_ns = -1};
    room_open(2, &o);
    room.p[1].chunk = 0;
    readers_start();
    struct sender s = {.id = 0, .count = 100000, .size = 1000, .timeout = LOOM_MS(100)};
    ck_assert_int_eq(loom_task_join(loom_spawn(sender, &s, "timeout")), 0);
    ck_assert_int_eq(s.rc, -ETIMEDOUT);
    ck_assert_int_lt(s.sent, 100);
    /* Cancelled while waiting. */
    struct sender c = {.id = 1, .count = 1, .size = 1000, .timeout = -1};
    struct loom_task *t = loom_spawn(sender, &c, "cancelled");
    loom_sleep(LOOM_MS(20));
    ck_assert(!loom_task_done(t));
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_int_eq(c.rc, -ECANCELED);
    /* Waiting, then the member leaves: the send completes. */
    struct sender l = {.id = 2, .count = 1, .size = 1000, .timeout = -1};
    t = loom_spawn(sender, &l, "left");
    loom_sleep(LOOM_MS(20));
    ck_assert(!loom_task_done(t));
    loom_broadcast_leave(&room.p[1].m);
    ck_assert_int_eq(loom_broadcast_member_error(&room.p[1].m), -ENOENT);
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_int_eq(l.rc, 0);
    ck_assert_int_eq(l.sent, 1);
    room_close();
    /* Member 0 got all that was sent, in order. */
    ck_assert_int_eq(count_in_order(&room.p[0], 0), s.sent + 1);
    ck_assert_int_eq(count_in_order(&room.p[0], 2), 1);
    room_free();
    return 0;
}

START_TEST(test_wait) { ck_assert_int_eq(test_run_task(wait_main, NULL), 0); }
END_TEST

/* --- a member whose peer is gone is dropped with the write error --- */

static intptr_t gone_main(void *arg)
{
    room_open(2, NULL);
    room.p[1].chunk = 0;
    readers_start();
    loom_stream_close(room.p[1].cli);
    room.p[1].cli = NULL;
    struct sender s = {.id = 0, .count = 50, .size = 1000, .timeout = -1};
    ck_assert_int_eq(loom_task_join(loom_spawn(sender, &s, "sender")), 0);
    ck_assert_int_eq(s.rc, 0);
    for (int i = 0; i < 100 && !room.p[1].dropped; i++)
        loom_sleep(LOOM_MS(10));
    ck_assert_int_eq(room.p[1].dropped, -EPIPE);
    ck_assert_msg(strstr(room.p[1].why, "write failed: "), "%s", room.p[1].why);
    room_close();
    ck_assert_int_eq(count_in_order(&room.p[0], 0), 50);
    room_free();
    return 0;
}

START_TEST(test_gone) { ck_assert_int_eq(test_run_task(gone_main, NULL), 0); }
END_TEST

/* --- framing through a write callback; a stream can be in one room only --- */

static int frame(struct loom_stream *s, const void *data, size_t len, void *arg)
{
    char head[16];
    int n = snprintf(head, sizeof head, "%s%zu:", (const char *)arg, len);
    struct iovec iov[2] = {{head, (size_t)n}, {(void *)data, len}};
    return loom_stream_writev(s, iov, 2);
}

static intptr_t frame_main(void *arg)
{
    room_open(1, NULL);
    readers_start();
    struct peer *p = &room.p[0];
    loom_broadcast_leave(&p->m);
    ck_assert_int_eq(loom_broadcast_join(&room.b, &p->m, p->srv, frame, "#"), 0);
    struct loom_broadcast other;
    struct loom_broadcast_member om = {0};
    loom_broadcast_init(&other, NULL);
    ck_assert_int_eq(loom_broadcast_join(&other, &om, p->srv, NULL, NULL), -EBUSY);
    ck_assert_int_eq(loom_broadcast_send(&room.b, NULL, "hello", 5, -1), 0);
    ck_assert_int_eq(loom_broadcast_send(&room.b, NULL, "", 0, -1), 0);
    ck_assert_int_eq(loom_broadcast_send(&room.b, NULL, "world!", 6, -1), 0);
    room_close();
    ck_assert_uint_eq(p->len, 17);
    ck_assert(!memcmp(p->got, "#5:hello#6:world!", 17));
    room_free();
    return 0;
}

START_TEST(test_frame) { ck_assert_int_eq(test_run_task(frame_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("broadcast");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"order", test_order},
        {"from", test_from},
        {"hold", test_hold},
        {"stall", test_stall},
        {"slow_reader", test_slow_reader},
        {"fairness", test_fairness},
        {"wait", test_wait},
        {"gone", test_gone},
        {"frame", test_frame},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 30);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
