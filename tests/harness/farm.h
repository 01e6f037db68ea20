/* farm.h - the local feed farm (tests/tools/feed_farm.py) as a test server:
 * 58 feeds over HTTP and HTTPS with a CA made at run time, plus the list of
 * their URLs and the report it expects (DIR/feeds.txt, DIR/expect.json). */
#ifndef LOOM_TESTS_FARM_H
#define LOOM_TESTS_FARM_H

#include "harness.h"

/* Make certificates in dir (srv.pem, srv.key, ca.pem) and start the farm
 * there; returns once both listeners are up, else fails the test. A stalled
 * feed drips its body for stall_max_s seconds. */
void test_feed_farm_start(struct test_server *srv, const char *dir, int stall_max_s);
/* SIGTERM the farm and wait for it (at most 10 s). */
void test_feed_farm_stop(struct test_server *srv);

#endif
