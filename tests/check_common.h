/* check_common.h — shared bits of the Check suites (one suite per lib module). */
#ifndef FERRY_CHECK_COMMON_H
#define FERRY_CHECK_COMMON_H

#include <check.h>
#include <stdlib.h>

static inline void
add_tcase(Suite *s, TCase *tc, const TTest *fn, int timeout_s)
{
    tcase_add_test(tc, fn);
    tcase_set_timeout(tc, timeout_s);
    suite_add_tcase(s, tc);
}

/* Adds test fn in a case of its own, named after the function (libqb's
 * add_tcase): no hand-typed name to drift from the test it runs. */
#define add_test(s, fn, timeout_s) add_tcase((s), tcase_create(#fn), (fn), (timeout_s))

/* Runs the suite verbosely (its summary line is what CI reads) and turns
 * the failure count into the exit status. */
static inline int
check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
