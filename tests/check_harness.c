/* check_harness.c - the test harness itself: test_run feeds a large input to
 * a program that writes a lot before reading it, without deadlocking. */
#include "harness/harness.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_run_both_pipes_full)
{
    size_t n = 300000; /* several pipe buffers each way */
    char *input = malloc(n + 1);
    memset(input, 'x', n);
    input[n] = 0;
    char *argv[] = {"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' y; wc -c", NULL};
    char *out = NULL;
    int rc = test_run(argv, input, 30, &out, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(strlen(out), 300000 + strlen("300000\n"));
    ck_assert_str_eq(out + 300000, "300000\n");
    free(out);
    free(input);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("harness");
    TCase *tc = test_tcase(s, "run", 40);
    tcase_add_test(tc, test_run_both_pipes_full);
    return test_main(s);
}
