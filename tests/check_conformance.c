/* check_conformance - the differential conformance suite (tests/conformance/README.md).
 *
 * Each case is a pair: tests/conformance/NAME.py (asyncio, the reference, run
 * with python3) and tests/conformance/NAME.c (loom's public API, built into
 * $LOOM_BUILD/tests/conformance/NAME). Both print an event trace; the traces
 * must be equal. A case whose difference is known declares it in
 * tests/conformance/expected/NAME.diff: a first line "# reason", then the exact
 * `diff PY C` output; that case passes only while the difference is exactly
 * that one (printed as "known difference"). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/harness.h"

#define CONF_DIR "tests/conformance"
#define MAX_CASES 256

static char *cases[MAX_CASES];
static int ncases;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every NAME with both NAME.py and NAME.c, sorted. */
static void find_cases(void)
{
    DIR *d = opendir(CONF_DIR);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && ncases < MAX_CASES) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".py") != 0)
            continue;
        char c[512];
        snprintf(c, sizeof c, "%s/%.*s.c", CONF_DIR, (int)(n - 3), e->d_name);
        if (access(c, R_OK) == 0)
            cases[ncases++] = strndup(e->d_name, n - 3);
    }
    closedir(d);
    qsort(cases, (size_t)ncases, sizeof *cases, cmp_str);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* `diff py c` of the two traces (malloc'd; "" when equal). */
static char *trace_diff(const char *name, const char *py, const char *c)
{
    char dir[] = "/tmp/loom-conf-XXXXXX", pyp[64], cp[64];
    ck_assert(mkdtemp(dir) != NULL);
    snprintf(pyp, sizeof pyp, "%s/py", dir);
    snprintf(cp, sizeof cp, "%s/c", dir);
    write_file(pyp, py);
    write_file(cp, c);
    char *out = NULL;
    double el;
    char *argv[] = {"/usr/bin/diff", pyp, cp, NULL};
    int st = test_run(argv, NULL, 10, &out, &el);
    ck_assert_msg(st == 0 || st == 1, "diff failed for %s (%d): %s", name, st, out);
    unlink(pyp);
    unlink(cp);
    rmdir(dir);
    return out;
}

/* NULL when the traces conform (equal, or differing exactly as declared), else
 * a malloc'd explanation. */
static char *judge(const char *name, const char *py, const char *c)
{
    char path[512];
    snprintf(path, sizeof path, "%s/expected/%s.diff", CONF_DIR, name);
    char *expected = read_file(path);
    char *d = trace_diff(name, py, c);
    char *msg = NULL;
    if (!expected) {
        if (*d && asprintf(&msg, "%s: loom's trace differs from asyncio's (< asyncio, > loom):\n%s",
                           name, d) < 0)
            msg = strdup("out of memory");
    } else {
        char *body = strchr(expected, '\n');
        body = body ? body + 1 : expected + strlen(expected);
        if (!*d) {
            if (asprintf(&msg, "%s: now matches asyncio; remove %s", name, path) < 0)
                msg = strdup("out of memory");
        } else if (strcmp(body, d) != 0) {
            if (asprintf(&msg, "%s: differs other than declared in %s:\n%s", name, path, d) < 0)
                msg = strdup("out of memory");
        } else {
            printf("%s: known difference: %.*s\n", name, (int)strcspn(expected + 2, "\n"),
                   expected + 2);
        }
    }
    free(expected);
    free(d);
    return msg;
}

static void run_case(const char *name, char **py, char **c)
{
    test_require_tool("python3", "python3", "asyncio is the reference of the conformance suite");
    char script[512], bin[512], rel[512];
    snprintf(script, sizeof script, "%s/%s.py", CONF_DIR, name);
    snprintf(rel, sizeof rel, "tests/conformance/%s", name);
    test_build_path(rel, bin, sizeof bin);
    double el;
    char *pargv[] = {"/usr/bin/python3", script, NULL};
    int st = test_run(pargv, NULL, 30, py, &el);
    ck_assert_msg(st == 0, "%s exited %d:\n%s", script, st, *py);
    char *cargv[] = {bin, NULL};
    st = test_run(cargv, NULL, 30, c, &el);
    ck_assert_msg(st == 0, "%s exited %d:\n%s", bin, st, *c);
}

START_TEST(test_case)
{
    ck_assert_msg(_i < ncases, "no case %d", _i);
    char *py, *c;
    run_case(cases[_i], &py, &c);
    char *msg = judge(cases[_i], py, c);
    ck_assert_msg(msg == NULL, "%s", msg);
    free(py);
    free(c);
}
END_TEST

/* The runner can fail: a corrupted loom trace of every case is caught. */
START_TEST(test_corruption_caught)
{
    ck_assert_msg(ncases >= 60, "only %d cases found in %s (run from the source root)", ncases,
                  CONF_DIR);
    char *py, *c;
    run_case(cases[0], &py, &c);
    size_t n = strlen(c);
    char *bad = malloc(n + 32);
    memcpy(bad, c, n + 1);
    strcat(bad, "corrupted\n");
    char *msg = judge(cases[0], py, bad);
    ck_assert_msg(msg != NULL, "a corrupted trace of %s was not caught", cases[0]);
    free(msg);
    /* Dropping the first line is caught as well. */
    char *nl = strchr(c, '\n');
    msg = judge(cases[0], py, nl ? nl + 1 : "");
    ck_assert_msg(msg != NULL, "a truncated trace of %s was not caught", cases[0]);
    free(msg);
    free(bad);
    free(py);
    free(c);
}
END_TEST

int main(void)
{
    find_cases();
    Suite *s = suite_create("conformance");
    TCase *tc = test_tcase(s, "cases", 60);
    tcase_add_test(tc, test_corruption_caught);
    tcase_add_loop_test(tc, test_case, 0, ncases > 0 ? ncases : 1);
    return test_main(s);
}
