/* netclient.h - a blocking TCP client for tests that drive a server running
 * in another thread or process: connect, send, read until close or until one
 * whole HTTP response (Content-Length framed) has come. Every read is bounded. */
#ifndef LOOM_TESTS_NETCLIENT_H
#define LOOM_TESTS_NETCLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Connect to 127.0.0.1:port (blocking); fails the test on error. */
int test_dial(int port);
/* Like test_dial but returns -errno instead of failing. */
int test_try_dial(int port);
/* A listener on 127.0.0.1 on a free port (*port), close-on-exec, with this
 * backlog; fails the test on error. */
int test_listen(int backlog, int *port);
/* Send everything; fails the test on error. */
void test_send_all(int fd, const void *data, size_t len);
/* Read until the peer closes or timeout_s passes; malloc'd, NUL-terminated.
 * *closed says whether it ended with a close (or a reset). */
char *test_recv_until_close(int fd, double timeout_s, bool *closed);
/* Read exactly one HTTP response whose body has a Content-Length (or none);
 * fails the test if it does not complete within timeout_s. malloc'd. */
char *test_recv_http_response(int fd, double timeout_s);
/* One request on a fresh connection; everything until the server closes. */
char *test_http_exchange(int port, const void *req, size_t len);
#define TEST_HTTP_EXCHANGE(port, lit) test_http_exchange((port), (lit), sizeof(lit) - 1)

#endif
