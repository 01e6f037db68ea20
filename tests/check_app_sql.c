/* check_app_sql.c - loom-sql driven as users drive it, against the harness's
 * throwaway cluster (database `appsql`): scripts run in order on one session,
 * transactions, long input, exit statuses, every result of a multi-statement
 * line, every type rendered as psql renders it, UTF-8 alignment and editing
 * at a terminal, control characters escaped, bounded memory for a large
 * result; and demos 5.8 / 6.15 failing loudly when backends are killed. */
#include "harness/harness.h"
#include "harness/pg.h"

#include <fcntl.h>
#include <pty.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

static char sql_path[512];

/* Run loom-sql with args (NULL-terminated) and input; returns its status, *out its output. */
static int sql_run(const char *input, char **out, ...)
{
    char *argv[16] = {sql_path};
    int n = 1;
    va_list ap;
    va_start(ap, out);
    for (char *a; n < 15 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    double t;
    return test_run(argv, input, 60, out, &t);
}

/* A script runs in input order on one session: the INSERTs see the CREATE,
 * BEGIN ... ROLLBACK really rolls back, statements may span lines. */
START_TEST(script_order_and_rollback)
{
    char *out;
    int rc = sql_run("CREATE TABLE ord(a int, b text);\n"
                     "INSERT INTO ord VALUES (1, 'one');\nINSERT INTO ord\n  VALUES (2,\n 'two');\n"
                     "BEGIN;\nUPDATE ord SET a = a + 100;\nDELETE FROM ord WHERE a = 101;\n"
                     "ROLLBACK;\nSELECT a, b FROM ord ORDER BY a;\nDROP TABLE ord;\n",
                     &out, NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    TEST_IN_ORDER(out, "CREATE TABLE\n", "INSERT 0 1\n", "INSERT 0 1\n", "BEGIN\n", "UPDATE 2\n",
                  "DELETE 1\n", "ROLLBACK\n",
                  " a |  b  \n---+-----\n 1 | one\n 2 | two\n(2 rows)\n\n", "DROP TABLE\n");
    free(out);
}
END_TEST

/* ';' inside quotes, dollar quotes, comments and parentheses does not end a
 * statement; several statements on a line each run and show their result. */
START_TEST(splitting_and_multi_results)
{
    char *out;
    int rc = sql_run("SELECT 'a;b' AS \"x;y\", $$;$$ AS d, $t$ $$; $t$ AS e -- c;\n;"
                     " SELECT E'\\';' AS q /* ; /* ; */ */; SELECT 1 AS one; SELECT 2 AS two\n",
                     &out, NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    TEST_IN_ORDER(out, " a;b | ; | ", "(1 row)", " q  \n----\n ';\n(1 row)",
                  " one \n-----\n   1\n(1 row)", " two \n-----\n   2\n(1 row)");
    free(out);
    /* a routine body in BEGIN ATOMIC ... END keeps its semicolons (CASE ... END nests) */
    rc = sql_run("CREATE FUNCTION f_at(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
                 "  SELECT CASE WHEN a > 0 THEN 1 END;\n  SELECT a + 1;\nEND;\n"
                 "BEGIN; SELECT f_at(5) AS r; COMMIT;\nDROP FUNCTION f_at;\n",
                 &out, NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    TEST_IN_ORDER(out, "CREATE FUNCTION\n", "BEGIN\n", " r \n---\n 6\n", "COMMIT\n",
                  "DROP FUNCTION\n");
    free(out);
    /* -c sends one simple query: every result of it is shown */
    rc = sql_run(NULL, &out, "-c", "SELECT 1 AS a; CREATE TEMP TABLE tt(i int); SELECT 3 AS c",
                 NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    TEST_IN_ORDER(out, " a \n---\n 1\n(1 row)\n", "CREATE TABLE\n", " c \n---\n 3\n(1 row)\n");
    free(out);
}
END_TEST

/* A 100 KiB statement on one line, then 10,000 lines: nothing is lost. (From
 * a file: test_run writes stdin blocking, which would deadlock with 100 KiB
 * of output waiting in the other pipe.) */
START_TEST(long_input)
{
    char dir[] = "/tmp/loom-sql-XXXXXX", file[64];
    ck_assert(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/long.sql", dir);
    FILE *f = fopen(file, "w");
    ck_assert(f != NULL);
    fprintf(f, "SELECT length('");
    for (int i = 0; i < 100 * 1024; i++)
        fputc('x', f);
    fprintf(f, "') AS len;\nCREATE TABLE many(i int);\n");
    for (int i = 0; i < 10000; i++)
        fprintf(f, "INSERT INTO many VALUES (%d);\n", i);
    fprintf(f, "SELECT count(*), sum(i) FROM many;\nDROP TABLE many;\n");
    ck_assert(fclose(f) == 0);
    char *out;
    int rc = sql_run(NULL, &out, "-f", file, NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%.2000s", rc, out);
    ck_assert_contains(out, "  len   \n--------\n 102400\n(1 row)");
    ck_assert_int_eq(test_count(out, "INSERT 0 1\n"), 10000);
    ck_assert_contains(out, " count |   sum    \n-------+----------\n 10000 | 49995000\n");
    free(out);
    unlink(file);
    rmdir(dir);
}
END_TEST

/* Every column is shown (300 here), aligned. */
START_TEST(many_columns)
{
    char sql[8192], *p = sql, *out;
    p += sprintf(p, "SELECT 1 AS c1");
    for (int i = 2; i <= 300; i++)
        p += sprintf(p, ", %d AS c%d", i, i);
    sprintf(p, ";\n");
    int rc = sql_run(sql, &out, NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%.2000s", rc, out);
    ck_assert_contains(out, " c1 | c2 | c3 |");
    ck_assert_contains(out, "| c299 | c300 \n");
    ck_assert_contains(out, "|  299 |  300\n(1 row)\n");
    ck_assert_int_eq(test_count(out, "|"), 2 * 299); /* header and row */
    free(out);
}
END_TEST

/* Exit statuses: 1 after a failed statement (the rest still runs), 3 when
 * ON_ERROR_STOP stops the script (-v, -Q or \set), errors name the line. */
START_TEST(error_status)
{
    const char *script = "SELECT 1 AS first;\nSELEC 2;\nSELECT 3 AS third;\n";
    char *out;
    int rc = sql_run(script, &out, NULL);
    ck_assert_msg(rc == 1, "exit %d, want 1:\n%s", rc, out);
    TEST_IN_ORDER(out, " first", "loom-sql:<stdin>:2: ERROR:  42601: syntax error at or near",
                  " third");
    free(out);
    const char *const stops[][3] = {
        {"-v", "ON_ERROR_STOP=1", NULL}, {"--set=ON_ERROR_STOP=on", NULL}, {"-Q", NULL}};
    for (size_t i = 0; i < 3; i++) {
        rc = sql_run(script, &out, stops[i][0], stops[i][1], NULL);
        ck_assert_msg(rc == 3, "case %zu: exit %d, want 3:\n%s", i, rc, out);
        ck_assert_contains(out, "syntax error");
        ck_assert_msg(!strstr(out, "third"), "ran past the error:\n%s", out);
        free(out);
    }
    rc = sql_run("\\set ON_ERROR_STOP on\nSELECT 1/0;\nSELECT 3 AS third;\n", &out, NULL);
    ck_assert_msg(rc == 3 && !strstr(out, "third"), "exit %d:\n%s", rc, out);
    ck_assert_contains(out, "22012: division by zero");
    free(out);
    rc = sql_run("SELECT 1 AS ok;\n", &out, "-f", "-", NULL); /* -f -: standard input */
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    ck_assert_contains(out, " ok \n----\n  1\n");
    free(out);
}
END_TEST

/* The connection lost mid-script: status 2, nothing after it runs. */
START_TEST(connection_lost)
{
    char *out;
    int rc =
        sql_run("SELECT pg_terminate_backend(pg_backend_pid());\nSELECT 3 AS third;\n", &out, NULL);
    ck_assert_msg(rc == 2, "exit %d, want 2:\n%s", rc, out);
    ck_assert_contains(out, "the connection to the server was lost");
    ck_assert_msg(!strstr(out, "third"), "ran past the loss:\n%s", out);
    free(out);
}
END_TEST

static const char types_sql[] =
    "SET timezone = 'Europe/Paris';\n"
    "SELECT true AS b, 32767::int2 AS i2, '-2147483648'::int4 AS i4,"
    " 9223372036854775807::int8 AS i8, 1.5::float4 AS f4, 'NaN'::float8 AS f8,"
    " '-Infinity'::float8 AS f8i, 123456789012345678901234567890.123456789::numeric AS n,"
    " 0.10::numeric(5,3) AS n3, 'txt'::text AS t, 'vc'::varchar AS v, 'nm'::name AS nm;\n"
    "SELECT '\\xdeadbeef00'::bytea AS by, ''::bytea AS by0,"
    " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '2024-02-29'::date AS d,"
    " '23:59:59.999999'::time AS tm, '2024-01-01 12:00:00'::timestamp AS ts,"
    " '2024-07-01 12:00:00+00'::timestamptz AS tz, '-infinity'::timestamptz AS tzi,"
    " '1 year 2 mons 3 days 04:05:06'::interval AS iv;\n"
    "SELECT '{\"a\": [1, 2]}'::json AS j, '{\"b\": 1}'::jsonb AS jb, ARRAY[1,NULL,3] AS ai,"
    " ARRAY['a b','c\"d',NULL] AS at, '{}'::int[] AS ae, ARRAY[1.10,2.200]::numeric[] AS an,"
    " ARRAY['2024-01-01 00:00+00']::timestamptz[] AS atz, NULL::text AS nul, '' AS empty,"
    " '日本語' AS wide, 'x' AS \"列\", 'é' AS \"ü\";\n"
    "SELECT g AS n, repeat('日', g) AS w FROM generate_series(1, 3) g;\n";

/* Every type renders exactly as psql renders it (NULL shown as psql shows it
 * with --null ''), wide characters aligned by display width. */
START_TEST(types_as_psql)
{
    test_require_tool("psql", "postgresql-client", "the rendering is compared with psql's");
    char dir[] = "/tmp/loom-sql-XXXXXX", file[64];
    ck_assert(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/types.sql", dir);
    FILE *f = fopen(file, "w");
    ck_assert(f && fputs(types_sql, f) >= 0 && fclose(f) == 0);
    char *ours, *theirs;
    int rc = sql_run(NULL, &ours, "--null", "", "-f", file, NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, ours);
    char *argv[] = {"/usr/bin/psql", "-X", "-d", getenv("LOOM_PG_DSN"), "-f", file, NULL};
    double t;
    rc = test_run(argv, NULL, 30, &theirs, &t);
    ck_assert_msg(rc == 0, "psql exit %d:\n%s", rc, theirs);
    ck_assert_msg(strcmp(ours, theirs) == 0, "loom-sql:\n%s\npsql:\n%s", ours, theirs);
    ck_assert_contains(ours, " n |   w    \n---+--------\n 1 | 日\n 2 | 日日\n 3 | 日日日\n");
    free(ours);
    /* by default NULL is told apart from the empty string */
    rc = sql_run("SELECT NULL AS a, '' AS b, 'x' AS c;\n", &ours, NULL);
    ck_assert_contains(ours, "   a    | b | c \n--------+---+---\n (null) |   | x\n");
    free(ours);
    free(theirs);
    unlink(file);
    rmdir(dir);
}
END_TEST

/* Server text cannot drive the terminal: ESC, newlines, C1 become pictures. */
START_TEST(control_chars_escaped)
{
    char *out;
    int rc = sql_run("SELECT E'a\\x1b[31mred\\nline\\u009b' AS \"c\\x1b[2J\";\n"
                     "DO $$ BEGIN RAISE NOTICE E'n\\x1b]0;title\\x07'; END $$;\n",
                     &out, NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    ck_assert_msg(!strchr(out, 0x1b) && !strchr(out, 0x07), "a control byte got out:\n%s", out);
    ck_assert_msg(!strstr(out, "\xc2\x9b"), "C1 CSI got out:\n%s", out);
    ck_assert_contains(out, "a\xe2\x90\x9b[31mred\xe2\x90\x8aline\xef\xbf\xbd");
    ck_assert_contains(out, "NOTICE:  n\xe2\x90\x9b]0;title\xe2\x90\x87");
    free(out);
}
END_TEST

/* \timing, \o and -o; unaligned and tuples-only output; COPY TO STDOUT. */
START_TEST(timing_output_modes)
{
    char dir[] = "/tmp/loom-sql-XXXXXX", file[64], *out;
    ck_assert(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/o.txt", dir);
    char script[512];
    snprintf(script, sizeof script,
             "\\timing on\nSELECT 1 AS a;\n\\o %s\nSELECT 2 AS b;\n\\o\n\\timing off\n"
             "SELECT 3 AS c;\nCOPY (SELECT 1, 'x') TO STDOUT;\n",
             file);
    int rc = sql_run(script, &out, NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    TEST_IN_ORDER(out, "Timing is on.", " a \n---\n 1\n(1 row)\n\nTime: ", " ms\n",
                  "Timing is off.", " c \n---\n 3\n", "1\tx\nCOPY 1\n");
    ck_assert_msg(!strstr(out, " b \n"), "\\o output reached stdout:\n%s", out);
    ck_assert_int_eq(test_count(out, "Time: "), 1);
    free(out);
    FILE *f = fopen(file, "r");
    char got[256] = {0};
    ck_assert(f && fread(got, 1, sizeof got - 1, f) > 0);
    fclose(f);
    TEST_IN_ORDER(got, " b \n---\n 2\n(1 row)\n\nTime: ");
    rc = sql_run("SELECT 1 AS a, NULL AS b UNION ALL SELECT 2, 'x|y';\n", &out, "-A", "-o", file,
                 NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    free(out);
    f = fopen(file, "r");
    memset(got, 0, sizeof got);
    ck_assert(f && fread(got, 1, sizeof got - 1, f) > 0);
    fclose(f);
    ck_assert_str_eq(got, "a|b\n1|(null)\n2|x|y\n(2 rows)\n");
    rc = sql_run("SELECT 1 AS a;\n", &out, "-t", NULL);
    ck_assert_str_eq(out, " 1\n\n");
    free(out);
    unlink(file);
    rmdir(dir);
}
END_TEST

/* COPY FROM STDIN takes the lines after it up to "\\." (pg_dump's form),
 * with -c from standard input; bad data fails that COPY only. */
START_TEST(copy_from_stdin)
{
    char *out;
    int rc = sql_run("CREATE TABLE cp(i int, t text);\n"
                     "COPY cp (i, t) FROM stdin;\n1\tsemi;colon\n2\t\\N\n3\t'quote\n\\.\n"
                     "COPY cp FROM STDIN WITH (FORMAT csv);\n4,x\nnot a number,y\n\\.\n"
                     "SELECT i, t FROM cp ORDER BY i;\nDROP TABLE cp;\n",
                     &out, NULL);
    ck_assert_msg(rc == 1, "exit %d, want 1:\n%s", rc, out);
    TEST_IN_ORDER(out, "CREATE TABLE\n", "COPY 3\n", "22P02: invalid input syntax",
                  " i |     t      \n---+------------\n 1 | semi;colon\n 2 | (null)\n"
                  " 3 | 'quote\n(3 rows)\n",
                  "DROP TABLE\n");
    free(out);
    rc = sql_run("7\tseven\n", &out, "-c",
                 "CREATE TEMP TABLE c2(i int, t text); COPY c2 FROM STDIN; TABLE c2", NULL);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    TEST_IN_ORDER(out, "COPY 1\n", " 7 | seven\n(1 row)\n");
    free(out);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define RSS_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_UNDER_ASAN 1
#endif
#endif

/* Run loom-sql with args, its output to a file; returns the status and the
 * peak resident memory (KiB, from wait4) in *maxrss. */
static int run_measured(char *const argv[], const char *out_path, long *maxrss)
{
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0), dup2(fd, 1), dup2(fd, 2);
#ifdef RSS_UNDER_ASAN
        /* freed blocks would sit in ASan's quarantine (256 MiB) and count as RSS */
        char opts[512];
        snprintf(opts, sizeof opts, "%s:quarantine_size_mb=0:thread_local_quarantine_size_kb=0",
                 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");
        setenv("ASAN_OPTIONS", opts, 1);
#endif
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    ck_assert(wait4(pid, &st, 0, &ru) == pid);
    *maxrss = ru.ru_maxrss;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* The last bytes of a file, NUL-terminated, into buf. */
static const char *file_tail(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    ck_assert(f && fseek(f, -(long)(len - 1), SEEK_END) == 0);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* A million rows stream through: memory stays flat (a block of rows), aligned or not. */
START_TEST(large_result_bounded)
{
    char dir[] = "/tmp/loom-sql-XXXXXX", file[64], tail[128];
    ck_assert(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/big.txt", dir);
    char q[] = "SELECT g, md5(g::text) AS h FROM generate_series(1, 1000000) g";
    char *aligned[] = {sql_path, "-c", q, NULL}, *unaligned[] = {sql_path, "-A", "-c", q, NULL};
    char *const *runs[] = {aligned, unaligned};
    const char *ends[] = {"1000000 | 8155bc545f84d9652f1012ef2bdfb6eb\n(1000000 rows)\n\n",
                          "1000000|8155bc545f84d9652f1012ef2bdfb6eb\n(1000000 rows)\n"};
    for (int i = 0; i < 2; i++) {
        long kib = 0;
        int rc = run_measured(runs[i], file, &kib);
        ck_assert_msg(rc == 0, "exit %d: %s", rc, file_tail(file, tail, sizeof tail));
        ck_assert_msg(strstr(file_tail(file, tail, sizeof tail), ends[i]), "ends with:\n%s", tail);
        /* the whole result is ~45 MB of text; psql buffers it all (~100 MB RSS) */
        ck_assert_msg(kib < 40 * 1024, "run %d: peak RSS %ld KiB for 1M rows", i, kib);
    }
    unlink(file);
    rmdir(dir);
}
END_TEST

/* Ctrl-C cancels the running statement (on the server), not the program:
 * the next statement runs, and the status says something failed. */
START_TEST(sigint_cancels_statement)
{
    int in[2], out[2];
    ck_assert(pipe(in) == 0 && pipe(out) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0), dup2(out[1], 1), dup2(out[1], 2);
        close(in[1]), close(out[0]);
        execl(sql_path, "loom-sql", (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    const char q[] = "SELECT pg_sleep(20) AS app_sql_sigint;\nSELECT 'after' AS next;\n";
    ck_assert(write(in[1], q, sizeof q - 1) == (ssize_t)(sizeof q - 1));
    close(in[1]);
    bool active = false;
    for (double t0 = test_now(); !active && test_now() - t0 < 10; usleep(50000))
        active = test_pg_psql("appsql", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM "
                                        "pg_stat_activity WHERE state = 'active' AND query LIKE "
                                        "'SELECT pg_sleep(20) AS app_sql_sigint%') THEN RAISE "
                                        "EXCEPTION 'no'; END IF; END $$;") == 0;
    ck_assert_msg(active, "the statement never ran");
    double t0 = test_now();
    kill(pid, SIGINT);
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(out[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    close(out[0]);
    int st;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d, output:\n%s", st, buf);
    TEST_IN_ORDER(buf, "statement cancelled", " after\n");
    ck_assert_msg(test_now() - t0 < 3, "took %.2f s after SIGINT", test_now() - t0);
}
END_TEST

/* Read from the pty master until needle shows up (at most 10 s). */
static bool pty_wait(int fd, const char *needle, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    for (double t0 = test_now(); test_now() - t0 < 10;) {
        if (strstr(buf, needle))
            return true;
        struct timeval tv = {0, 100000};
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        if (select(fd + 1, &rd, NULL, NULL, &tv) > 0) {
            ssize_t n = read(fd, buf + len, cap - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = 0;
        }
    }
    return strstr(buf, needle) != NULL;
}

/* At a terminal: a prompt, and backspace removes a whole UTF-8 character. */
START_TEST(tty_utf8_editing)
{
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    ck_assert(pid >= 0);
    if (pid == 0) {
        execl(sql_path, "loom-sql", (char *)NULL);
        _exit(127);
    }
    static char buf[1 << 16];
    buf[0] = 0;
    ck_assert_msg(pty_wait(master, "sql=> ", buf, sizeof buf), "no prompt:\n%s", buf);
    /* type "SELECT 'aé" then backspace (the é is 2 bytes), an arrow key (ignored), "b' AS x;" */
    const char keys[] = "SELECT 'a\xc3\xa9\x7f\x1b[D"
                        "b' AS x;\r";
    ck_assert(write(master, keys, sizeof keys - 1) == (ssize_t)(sizeof keys - 1));
    ck_assert_msg(pty_wait(master, "(1 row)", buf, sizeof buf), "no result:\n%s", buf);
    ck_assert_contains(buf, " x  \r\n----\r\n ab\r\n");
    /* Ctrl-C drops the line being typed (and the statement begun) */
    const char half[] = "SELECT 'half\r'x";
    ck_assert(write(master, half, sizeof half - 1) == (ssize_t)(sizeof half - 1));
    ck_assert_msg(pty_wait(master, "sql-> 'x", buf, sizeof buf), "no continuation:\n%s", buf);
    ck_assert(write(master, "\x03", 1) == 1);
    ck_assert_msg(pty_wait(master, "^C", buf, sizeof buf), "no ^C:\n%s", buf);
    const char ok[] = "SELECT 'ok' AS y;\r";
    ck_assert(write(master, ok, sizeof ok - 1) == (ssize_t)(sizeof ok - 1));
    ck_assert_msg(pty_wait(master, " y  \r\n----\r\n ok\r\n", buf, sizeof buf), "after ^C:\n%s",
                  buf);
    ck_assert(write(master, "\x04", 1) == 1); /* Ctrl-D at an empty prompt quits */
    int st;
    waitpid(pid, &st, 0);
    close(master);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d:\n%s", st, buf);
}
END_TEST

/* Bad options exit 2 before any connection, naming the problem. */
START_TEST(bad_args)
{
    static const struct {
        const char *args[3];
        const char *says;
    } cases[] = {
        {{"--batch", "0"}, "loom-sql: --batch: '0' is out of range (1..1000000)"},
        {{"--pool", "4"}, "loom-sql: unknown option '--pool'"},
        {{"-v", "FOO=1"}, "loom-sql: --set: 'FOO=1' is not ON_ERROR_STOP=1|0|on|off"},
        {{"--dsn", "host=a\tb"}, "loom-sql: --dsn: control characters are not allowed"},
        {{"SELECT 1"}, "loom-sql: unexpected argument 'SELECT 1'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[5] = {sql_path, (char *)cases[i].args[0], (char *)cases[i].args[1], NULL};
        char *out = NULL;
        double t;
        int rc = test_run(argv, NULL, 10, &out, &t);
        ck_assert_msg(rc == 2, "case %zu: exit %d, want 2:\n%s", i, rc, out);
        ck_assert_contains(out, cases[i].says);
        free(out);
    }
    char *out;
    int rc = sql_run(NULL, &out, "-f", "/nonexistent/x.sql", NULL);
    ck_assert_msg(rc == 1, "exit %d:\n%s", rc, out);
    ck_assert_contains(out, "loom-sql: /nonexistent/x.sql: No such file or directory");
    free(out);
    rc = sql_run("SELECT 1;\n", &out, "--dsn", "host=127.0.0.1 port=1 connect_timeout=5", NULL);
    ck_assert_msg(rc == 2, "exit %d, want 2:\n%s", rc, out);
    ck_assert_contains(out, "loom-sql: error: ");
    free(out);
}
END_TEST

/* Run a demo while every backend of `products` is terminated every 100 ms;
 * it must fail with the error, not report success. */
static void demo_under_kills(const char *rel, const char *const *args, const char *must_not)
{
    struct test_server s;
    memset(&s, 0, sizeof s);
    char path[512], *argv[16] = {(char *)test_build_path(rel, path, sizeof path)};
    int n = 1;
    for (const char *const *a = args; *a; a++)
        argv[n++] = (char *)*a;
    argv[n] = NULL;
    int out[2];
    ck_assert(pipe(out) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1), dup2(out[1], 2), close(out[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    int st = 0;
    pid_t done = 0;
    for (double t0 = test_now(); !done && test_now() - t0 < 60; usleep(100000)) {
        test_pg_psql("products", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE datname = 'products' AND pid <> pg_backend_pid()");
        done = waitpid(pid, &st, WNOHANG);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    char buf[8192];
    ssize_t len = read(out[0], buf, sizeof buf - 1);
    buf[len > 0 ? len : 0] = 0;
    close(out[0]);
    ck_assert_msg(done, "%s did not finish within 60 s:\n%s", rel, buf);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s: status %d:\n%s", rel, st, buf);
    ck_assert_msg(!strstr(buf, must_not), "%s reported \"%s\" for a failed run:\n%s", rel, must_not,
                  buf);
    ck_assert_msg(strstr(buf, "terminat") || strstr(buf, "server closed the connection"),
                  "%s: no error text:\n%s", rel, buf);
}

START_TEST(demos_report_failures)
{
    char dsn[512];
    test_pg_dsn("products", dsn, sizeof dsn);
    const char *a58[] = {"--dsn", dsn, "--count", "2000000", NULL};
    demo_under_kills("demos/ch05/listing_5_8", a58, "took");
    const char *a615[] = {"--dsn", dsn, "--processes", "2", "--queries", "20000", NULL};
    demo_under_kills("demos/ch06/listing_6_15", a615, "Products selected");
}
END_TEST

int main(void)
{
    char dsn[512];
    if (test_pg_start() < 0 || test_pg_createdb("appsql") < 0)
        return EXIT_FAILURE;
    setenv("LOOM_PG_DSN", test_pg_dsn("appsql", dsn, sizeof dsn), 1);
    test_build_path("bin/loom-sql", sql_path, sizeof sql_path);
    Suite *s = suite_create("app_sql");
    TCase *tc = test_tcase(s, "loom-sql", 60);
    tcase_add_test(tc, script_order_and_rollback);
    tcase_add_test(tc, splitting_and_multi_results);
    tcase_add_test(tc, long_input);
    tcase_add_test(tc, many_columns);
    tcase_add_test(tc, error_status);
    tcase_add_test(tc, connection_lost);
    tcase_add_test(tc, types_as_psql);
    tcase_add_test(tc, control_chars_escaped);
    tcase_add_test(tc, timing_output_modes);
    tcase_add_test(tc, copy_from_stdin);
    tcase_add_test(tc, large_result_bounded);
    tcase_add_test(tc, sigint_cancels_statement);
    tcase_add_test(tc, tty_utf8_editing);
    tcase_add_test(tc, bad_args);
    tc = test_tcase(s, "demos", 120);
    tcase_add_test(tc, demos_report_failures);
    int rc = test_main(s);
    test_pg_stop();
    return rc;
}
