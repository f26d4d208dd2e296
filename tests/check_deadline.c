/* check_deadline.c — deadline arithmetic. */
#include "config.h"

#include "check_common.h"
#include "deadline.h"

START_TEST(test_margin)
{
    ck_assert_int_eq(deadline_margin_ms(0), 0);
    ck_assert_int_eq(deadline_margin_ms(-5), 0);
    ck_assert_int_eq(deadline_margin_ms(20000), 2000);    /* 10 % */
    ck_assert_int_eq(deadline_margin_ms(5000), 1000);     /* at least 1 s */
    ck_assert_int_eq(deadline_margin_ms(1000), 500);      /* never more than half */
    ck_assert_int_eq(deadline_margin_ms(600000), 10000);  /* at most 10 s */
    ck_assert_int_eq(deadline_margin_ms(90000), 9000);
}
END_TEST

START_TEST(test_init_keeps_margin)
{
    deadline d;
    int64_t left;

    deadline_init(&d, 20000);
    ck_assert_int_eq(d.end_ms - d.start_ms, 18000);
    left = deadline_remaining_ms(&d);
    ck_assert_int_le(left, 18000);
    ck_assert_int_gt(left, 17000);
    ck_assert(!deadline_expired(&d));
}
END_TEST

START_TEST(test_zero_and_negative_expire_at_once)
{
    deadline d;

    deadline_init(&d, 0);
    ck_assert(deadline_expired(&d));
    ck_assert_int_eq(deadline_remaining_ms(&d), 0);
    deadline_init_budget(&d, -100);
    ck_assert(deadline_expired(&d));
    ck_assert(!deadline_wait_ms(&d, 1000));
}
END_TEST

START_TEST(test_sub_is_capped_by_parent)
{
    deadline parent;
    deadline child;

    deadline_init_budget(&parent, 1000);
    child = deadline_sub(&parent, 60000);
    ck_assert_int_eq(child.end_ms, parent.end_ms);
    child = deadline_sub(&parent, 100);
    ck_assert_int_lt(child.end_ms, parent.end_ms);
    child = deadline_sub(NULL, 100);
    ck_assert_int_eq(child.end_ms - child.start_ms, 100);
}
END_TEST

START_TEST(test_wait_never_overshoots)
{
    deadline d;
    int64_t t0 = deadline_now_ms();

    deadline_init_budget(&d, 150);
    while (deadline_wait_ms(&d, 1000))
        ;
    ck_assert(deadline_expired(&d));
    /* asked for 1 s waits, but the deadline was 150 ms away */
    ck_assert_int_lt(deadline_now_ms() - t0, 900);
    ck_assert_int_ge(deadline_now_ms() - t0, 150);
    ck_assert_int_ge(deadline_elapsed_ms(&d), 150);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("deadline");

    add_tcase(s, tcase_create("margin"), test_margin, 5);
    add_tcase(s, tcase_create("init"), test_init_keeps_margin, 5);
    add_tcase(s, tcase_create("expired"), test_zero_and_negative_expire_at_once, 5);
    add_tcase(s, tcase_create("sub"), test_sub_is_capped_by_parent, 5);
    add_tcase(s, tcase_create("wait"), test_wait_never_overshoots, 5);
    return check_run(s);
}
