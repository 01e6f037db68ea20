/* check_transport.c - callback transports beyond the basics in check_stream:
 * BufferedProtocol-style zero-copy receive (the protocol's buffer, small or
 * refused, reading paused or the transport closed from get_buffer, EOF, a
 * flooding peer against a protocol that stops reading) and switching
 * protocols mid-connection. The peer is the other end of a socketpair. */
#include "harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/transport.h"
#include "reactor/task.h"

/* --- a buffered protocol that collects into its own small buffer --- */

struct sink {
    char buf[8];       /* what get_buffer hands out (small on purpose) */
    size_t give;       /* size reported for it (0: refuse) */
    char got[1 << 16]; /* everything received, copied out of buf */
    size_t len;
    int gets, updates, eofs, lost, lost_err;
    size_t hint;
    bool bad_n;        /* buffer_updated got more than the buffer's size */
    bool pause_in_get; /* get_buffer pauses reading (once) */
    bool close_in_get; /* get_buffer closes the transport */
    size_t pause_at;   /* pause reading once this much arrived (0: never) */
};

static void *s_get(struct loom_transport *t, size_t hint, size_t *len, void *arg)
{
    struct sink *k = arg;
    k->gets++;
    k->hint = hint;
    if (k->pause_in_get) {
        k->pause_in_get = false;
        loom_transport_pause_reading(t);
    }
    if (k->close_in_get)
        loom_transport_close(t);
    *len = k->give;
    return k->give ? k->buf : NULL;
}

static void s_updated(struct loom_transport *t, size_t n, void *arg)
{
    struct sink *k = arg;
    k->updates++;
    if (n > k->give || k->len + n > sizeof k->got) {
        k->bad_n = true;
        return;
    }
    memcpy(k->got + k->len, k->buf, n);
    k->len += n;
    if (k->pause_at && k->len >= k->pause_at)
        loom_transport_pause_reading(t);
}

static bool s_eof(struct loom_transport *t, void *arg)
{
    ((struct sink *)arg)->eofs++;
    return false;
}

static void s_lost(struct loom_transport *t, int err, void *arg)
{
    struct sink *k = arg;
    k->lost++;
    k->lost_err = err;
}

static const struct loom_protocol sink_proto = {
    .eof_received = s_eof,
    .connection_lost = s_lost,
    .get_buffer = s_get,
    .buffer_updated = s_updated,
};

/* A transport on one end of a socketpair; the other end is returned. */
static int pair(const struct loom_protocol *p, void *arg, struct loom_transport **t)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    ck_assert_int_eq(loom_transport_open_fd(loom_loop_current(), sv[0], p, arg, t), 0);
    return sv[1];
}

/* Yield (bounded) until *flag is set. */
static void until(const int *flag)
{
    for (int i = 0; i < 5000 && !*flag; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert(*flag);
}

static void until_len(const struct sink *k, size_t len)
{
    for (int i = 0; i < 5000 && k->len < len; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_uint_eq(k->len, len);
}

/* --- tests --- */

static intptr_t buffered_main(void *arg)
{
    struct sink k = {.give = sizeof k.buf};
    struct loom_transport *t;
    int peer = pair(&sink_proto, &k, &t);
    char msg[1000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)('a' + i % 26);
    ck_assert_int_eq(write(peer, msg, sizeof msg), (ssize_t)sizeof msg);
    until_len(&k, sizeof msg);
    ck_assert(!k.bad_n);
    ck_assert_int_eq(memcmp(k.got, msg, sizeof msg), 0);
    ck_assert_uint_eq(k.hint, LOOM_TRANSPORT_READ_SIZE);
    ck_assert_int_ge(k.updates, (int)(sizeof msg / sizeof k.buf)); /* never past the buffer */
    /* EOF from the peer: eof_received, then the transport closes itself */
    shutdown(peer, SHUT_WR);
    until(&k.lost);
    ck_assert_int_eq(k.eofs, 1);
    ck_assert_int_eq(k.lost_err, 0);
    close(peer);
    return 0;
}

START_TEST(test_buffered) { ck_assert_int_eq(test_run_task(buffered_main, NULL), 0); }
END_TEST

/* get_buffer giving nothing is fatal for the connection: -ENOBUFS, and the
 * peer sees the connection end. */
static intptr_t refused_buffer_main(void *arg)
{
    struct sink k = {.give = 0};
    struct loom_transport *t;
    int peer = pair(&sink_proto, &k, &t);
    ck_assert_int_eq(write(peer, "x", 1), 1);
    until(&k.lost);
    ck_assert_int_eq(k.lost_err, -ENOBUFS);
    ck_assert_int_eq(k.updates, 0);
    char c;
    ssize_t n;
    for (int i = 0; i < 5000 && (n = read(peer, &c, 1)) < 0 && errno == EAGAIN; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_le(n, 0); /* EOF or reset, not data and not "still open" */
    close(peer);
    return 0;
}

START_TEST(test_refused_buffer) { ck_assert_int_eq(test_run_task(refused_buffer_main, NULL), 0); }
END_TEST

/* Pausing or closing from inside get_buffer: that read does not happen. */
static intptr_t get_buffer_control_main(void *arg)
{
    struct sink k = {.give = sizeof k.buf, .pause_in_get = true};
    struct loom_transport *t;
    int peer = pair(&sink_proto, &k, &t);
    ck_assert_int_eq(write(peer, "hello", 5), 5);
    for (int i = 0; i < 5000 && !k.gets; i++)
        loom_sleep(LOOM_MS(1));
    loom_sleep(LOOM_MS(20));
    ck_assert_int_eq(k.gets, 1);
    ck_assert_int_eq(k.updates, 0);
    ck_assert(!loom_transport_is_reading(t));
    loom_transport_resume_reading(t);
    until_len(&k, 5);
    ck_assert_int_eq(memcmp(k.got, "hello", 5), 0);
    k.close_in_get = true;
    ck_assert_int_eq(write(peer, "more", 4), 4);
    until(&k.lost);
    ck_assert_uint_eq(k.len, 5);
    ck_assert_int_eq(k.lost_err, 0);
    close(peer);
    return 0;
}

START_TEST(test_get_buffer_control)
{
    ck_assert_int_eq(test_run_task(get_buffer_control_main, NULL), 0);
}
END_TEST

/* A peer that floods a protocol that stops reading: the transport reads
 * nothing more (no buffer of its own grows), the peer's writes back up. */
static intptr_t flood_main(void *arg)
{
    static struct sink k;
    memset(&k, 0, sizeof k);
    k.give = sizeof k.buf;
    k.pause_at = 64;
    struct loom_transport *t;
    int peer = pair(&sink_proto, &k, &t);
    static char chunk[65536];
    size_t sent = 0;
    for (int i = 0; i < 2000; i++) {
        ssize_t n = write(peer, chunk, sizeof chunk);
        if (n > 0)
            sent += (size_t)n;
        else
            loom_sleep(LOOM_MS(1));
        if (n < 0 && sent > 64 && !loom_transport_is_reading(t) && i > 200)
            break;
    }
    ck_assert(!loom_transport_is_reading(t));
    int gets = k.gets;
    loom_sleep(LOOM_MS(20));
    ck_assert_int_eq(k.gets, gets); /* not asked again while paused */
    ck_assert_uint_lt(k.len, 80);
    ck_assert_uint_gt(sent, k.len); /* the rest waits in the kernel, not in loom */
    loom_transport_abort(t);
    until(&k.lost);
    close(peer);
    return 0;
}

START_TEST(test_flood_paused) { ck_assert_int_eq(test_run_task(flood_main, NULL), 0); }
END_TEST

/* --- switching protocols --- */

struct switcher {
    struct sink *next;
    char first[16];
    size_t first_len;
    int made, lost;
};

static void w_made(struct loom_transport *t, void *arg) { ((struct switcher *)arg)->made++; }

/* Take the first line, then hand the connection to the buffered sink. */
static void w_data(struct loom_transport *t, const void *d, size_t n, void *arg)
{
    struct switcher *w = arg;
    const char *nl = memchr(d, '\n', n);
    ck_assert_ptr_nonnull(nl); /* the test sends the line alone first */
    memcpy(w->first, d, (size_t)(nl - (const char *)d) + 1);
    w->first_len = (size_t)(nl - (const char *)d) + 1;
    loom_transport_set_protocol(t, &sink_proto, w->next);
}

static void w_lost(struct loom_transport *t, int err, void *arg)
{
    ((struct switcher *)arg)->lost++;
}

static const struct loom_protocol switch_proto = {
    .connection_made = w_made, .data_received = w_data, .connection_lost = w_lost};

static intptr_t switch_main(void *arg)
{
    struct sink k = {.give = sizeof k.buf};
    struct switcher w = {.next = &k};
    struct loom_transport *t;
    int peer = pair(&switch_proto, &w, &t);
    ck_assert_int_eq(write(peer, "STARTTLS\n", 9), 9);
    for (int i = 0; i < 5000 && !w.first_len; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_uint_eq(w.first_len, 9);
    ck_assert_int_eq(write(peer, "payload", 7), 7);
    until_len(&k, 7);
    close(peer);
    until(&k.lost); /* the new protocol gets the end, the old one nothing */
    ck_assert_int_eq(w.made, 1);
    ck_assert_int_eq(w.lost, 0);
    return 0;
}

START_TEST(test_switch_protocol) { ck_assert_int_eq(test_run_task(switch_main, NULL), 0); }
END_TEST

/* Set before connection_made: the new protocol gets connection_made too. */
static intptr_t switch_early_main(void *arg)
{
    struct switcher w = {0};
    struct switcher v = {0};
    struct loom_transport *t;
    int peer = pair(&switch_proto, &w, &t);
    loom_transport_set_protocol(t, &switch_proto, &v);
    close(peer);
    until(&v.lost);
    ck_assert_int_eq(v.made, 1);
    ck_assert_int_eq(w.made + w.lost, 0);
    return 0;
}

START_TEST(test_switch_early) { ck_assert_int_eq(test_run_task(switch_early_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("transport");
    TCase *tc = test_tcase(s, "buffered", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_buffered);
    tcase_add_test(tc, test_refused_buffer);
    tcase_add_test(tc, test_get_buffer_control);
    tcase_add_test(tc, test_flood_paused);
    tc = test_tcase(s, "set_protocol", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_switch_protocol);
    tcase_add_test(tc, test_switch_early);
    return test_main(s);
}
