/* pg.c - see pg.h. Shell commands are built with snprintf and run with
 * system(): this is test scaffolding, paths come from mkdtemp and glob. */
#include "pg.h"

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char bindir[256], topdir[128], runas[64];
static int port;
static bool owned, started;
static pid_t owner_pid, watchdog_pid;
static int watchdog_fd = -1;

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS brand(brand_id SERIAL PRIMARY KEY, brand_name TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS product(product_id SERIAL PRIMARY KEY,"
    " product_name TEXT NOT NULL, brand_id INT NOT NULL REFERENCES brand(brand_id));"
    "CREATE TABLE IF NOT EXISTS product_color(product_color_id SERIAL PRIMARY KEY,"
    " product_color_name TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS product_size(product_size_id SERIAL PRIMARY KEY,"
    " product_size_name TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sku(sku_id SERIAL PRIMARY KEY,"
    " product_id INT NOT NULL REFERENCES product(product_id),"
    " product_size_id INT NOT NULL REFERENCES product_size(product_size_id),"
    " product_color_id INT NOT NULL REFERENCES product_color(product_color_id));"
    "INSERT INTO product_color VALUES(1, 'Blue'), (2, 'Black');"
    "INSERT INTO product_size VALUES(1, 'Small'), (2, 'Medium'), (3, 'Large');"
    "CREATE TABLE user_favorite(user_id INT NOT NULL, product_id INT NOT NULL);"
    "CREATE TABLE user_cart(user_id INT NOT NULL, product_id INT NOT NULL);"
    "INSERT INTO brand(brand_name) VALUES('Levis'), ('Seven');"
    "INSERT INTO product(product_name, brand_id) VALUES('Blue Jeans', 1), ('Black Jeans', 1),"
    " ('Red Shirt', 2), ('Green Shirt', 2);"
    "INSERT INTO sku(product_id, product_size_id, product_color_id)"
    " SELECT p, s, c FROM generate_series(1, 4) p, generate_series(1, 3) s,"
    " generate_series(1, 2) c;"
    "INSERT INTO user_favorite VALUES(3, 1), (3, 3);"
    "INSERT INTO user_cart VALUES(3, 2), (3, 4);";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command (as the server user when root); 0 on exit status 0. */
static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int find_bindir(void)
{
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0)
        return -1;
    /* glob sorts: the last is the newest major version (same digit count) */
    snprintf(bindir, sizeof bindir, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    *strrchr(bindir, '/') = 0;
    return 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* The watchdog outlives the parent by design: it waits for EOF on a pipe only
 * the parent (and its forks) hold, then stops the server and removes the dir. */
static void watchdog(int rfd)
{
    setsid();
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    char c;
    while (read(rfd, &c, 1) != 0) {
    }
    run("%s %s/pg_ctl -D %s/data -m immediate stop >/dev/null 2>&1", runas, bindir, topdir);
    run("rm -rf %s", topdir);
    _exit(0);
}

static int start_watchdog(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(p[1]);
        watchdog(p[0]);
    }
    close(p[0]);
    watchdog_fd = p[1];
    watchdog_pid = pid;
    return 0;
}

static void stop_at_exit(void) { test_pg_stop(); }

static int init_cluster(void)
{
    char pw[256];
    snprintf(pw, sizeof pw, "%s/pw", topdir);
    FILE *f = fopen(pw, "w");
    if (!f)
        return -1;
    fputs("postgres\n", f);
    fclose(f);
    if (getuid() == 0 && run("chown -R postgres: %s", topdir) < 0)
        return -1;
    return run("%s %s/initdb -D %s/data -U postgres --pwfile=%s --auth-local=trust "
               "--auth-host=scram-sha-256 -E UTF8 --no-sync >%s/initdb.log 2>&1",
               runas, bindir, topdir, pw, topdir);
}

int test_pg_ctl(const char *args)
{
    if (!owned)
        return -1;
    return run("%s %s/pg_ctl -D %s/data -l %s/server.log -w -t 30 -o \"-p %d -k %s/sock "
               "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=200\" %s >>%s/pg_ctl.log 2>&1",
               runas, bindir, topdir, topdir, port, topdir, args, topdir);
}

static int start_owned(void)
{
    char tmpl[] = "/tmp/loom-pg-XXXXXX";
    if (find_bindir() < 0 || !mkdtemp(tmpl))
        return -1;
    snprintf(topdir, sizeof topdir, "%s", tmpl);
    if (getuid() == 0)
        snprintf(runas, sizeof runas, "runuser -u postgres --");
    owner_pid = getpid();
    owned = true;
    if (start_watchdog() < 0)
        return -1;
    atexit(stop_at_exit);
    if (run("mkdir -p %s/sock", topdir) < 0 || init_cluster() < 0)
        return -1;
    for (int tries = 0; tries < 5; tries++) {
        port = free_port();
        if (port > 0 && test_pg_ctl("start") == 0)
            return 0;
    }
    return -1;
}

const char *test_pg_dsn(const char *db, char *buf, unsigned len)
{
    const char *env = getenv("LOOM_PG_DSN");
    if (!owned && env)
        snprintf(buf, len, "%s dbname=%s", env, db);
    else
        snprintf(buf, len, "host=127.0.0.1 port=%d user=postgres password=postgres dbname=%s", port,
                 db);
    return buf;
}

int test_pg_psql(const char *db, const char *sql)
{
    char dsn[512], path[300];
    test_pg_dsn(db, dsn, sizeof dsn);
    snprintf(path, sizeof path, "/tmp/loom-pg-sql-%d.sql", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(sql, f);
    fclose(f);
    int rc = run("psql -X -q -v ON_ERROR_STOP=1 \"%s\" -f %s >/dev/null", dsn, path);
    unlink(path);
    return rc;
}

int test_pg_createdb(const char *db)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SET client_min_messages=warning; DROP DATABASE IF EXISTS %s;", db);
    if (test_pg_psql("postgres", sql) < 0)
        return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s;", db);
    return test_pg_psql("postgres", sql);
}

int test_pg_start(void)
{
    if (started)
        return 0;
    if (getenv("LOOM_PG_DSN") && *getenv("LOOM_PG_DSN")) {
        started = true;
        return 0;
    }
    if (start_owned() < 0 || test_pg_createdb("products") < 0 ||
        test_pg_psql("products", schema_sql) < 0) {
        fprintf(stderr, "test_pg_start: could not start a cluster (logs in %s)\n", topdir);
        test_pg_stop();
        return -1;
    }
    started = true;
    char dsn[512];
    setenv("LOOM_PG_DSN", test_pg_dsn("products", dsn, sizeof dsn), 1);
    return 0;
}

bool test_pg_owned(void) { return owned; }

const char *test_pg_datadir(void)
{
    static char dir[160];
    snprintf(dir, sizeof dir, "%s/data", topdir);
    return owned ? dir : "";
}

void test_pg_stop(void)
{
    if (!owned || getpid() != owner_pid || watchdog_fd < 0)
        return;
    close(watchdog_fd);
    watchdog_fd = -1;
    int st;
    while (waitpid(watchdog_pid, &st, 0) < 0 && errno == EINTR)
        ;
}

int test_pg_main(const char *suite, const struct test_pg_case *cases, size_t n)
{
    if (test_pg_start() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create(suite);
    for (size_t i = 0; i < n; i++) {
        TCase *tc = test_tcase_fd(s, cases[i].name, cases[i].timeout_s ? cases[i].timeout_s : 60);
        tcase_add_test(tc, cases[i].fn);
    }
    int rc = test_main(s);
    test_pg_stop();
    return rc;
}
