/* farm.c - see farm.h. */
#include "farm.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void test_feed_farm_start(struct test_server *srv, const char *dir, int stall_max_s)
{
    ck_assert_msg(access("/usr/bin/python3", X_OK) == 0,
                  "python3 is missing: the feed farm needs it (make deps)");
    test_make_certs(dir, "loom feed farm CA");
    char crt[512], key[512], list[512], expect[512], stall[16];
    snprintf(crt, sizeof crt, "%s/srv.pem", dir);
    snprintf(key, sizeof key, "%s/srv.key", dir);
    snprintf(list, sizeof list, "%s/feeds.txt", dir);
    snprintf(expect, sizeof expect, "%s/expect.json", dir);
    snprintf(stall, sizeof stall, "%d", stall_max_s);
    char *argv[] = {"/usr/bin/python3",
                    "tests/tools/feed_farm.py",
                    "--cert",
                    crt,
                    "--key",
                    key,
                    "--feeds-out",
                    list,
                    "--expect-out",
                    expect,
                    "--huge-items",
                    "300",
                    "--stall-max",
                    stall,
                    "--lifetime",
                    "300",
                    "--exit-with-parent",
                    NULL};
    test_server_start(srv, argv);
    /* the TLS listener's line follows the plain one */
    for (double t0 = test_now(); !strstr(srv->buf, " tls\n") && test_now() - t0 < 10;)
        test_server_read(srv, 0.5);
    ck_assert_contains(srv->buf, " tls\n");
}

void test_feed_farm_stop(struct test_server *srv)
{
    kill(srv->pid, SIGTERM);
    test_server_wait(srv, 10);
}
