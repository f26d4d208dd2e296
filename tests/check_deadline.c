/* check_deadline.c — deadline arithmetic. */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

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

struct slow_job {
    int sleep_ms;
    atomic_int ran;
    atomic_int released;
};

static void
slow_job_run(void *arg)
{
    struct slow_job *j = arg;

    usleep((useconds_t)j->sleep_ms * 1000);
    atomic_store(&j->ran, 1);
}

static void
slow_job_release(void *arg)
{
    struct slow_job *j = arg;

    atomic_store(&j->released, 1);
}

/* I/O without a deadline of its own is waited for until the deadline, then
 * abandoned: the caller answers in time, the thread cleans up after itself. */
START_TEST(test_run_abandons_at_the_deadline)
{
    static struct slow_job quick;
    static struct slow_job slow;
    deadline d;
    int i;

    quick.sleep_ms = 10;
    deadline_init_budget(&d, 2000);
    ck_assert_int_eq(deadline_run(&d, slow_job_run, slow_job_release, &quick), 0);
    ck_assert_int_eq(atomic_load(&quick.ran), 1);
    ck_assert_int_eq(atomic_load(&quick.released), 0);    /* the caller's to free */

    slow.sleep_ms = 1000;
    deadline_init_budget(&d, 100);
    ck_assert_int_eq(deadline_run(&d, slow_job_run, slow_job_release, &slow), -ETIMEDOUT);
    ck_assert_int_lt(deadline_elapsed_ms(&d), 500);
    ck_assert_int_eq(atomic_load(&slow.ran), 0);
    for (i = 0; i < 300 && !atomic_load(&slow.released); i++)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&slow.ran), 1);
    ck_assert_int_eq(atomic_load(&slow.released), 1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("deadline");

    add_test(s, test_margin, 5);
    add_test(s, test_init_keeps_margin, 5);
    add_test(s, test_zero_and_negative_expire_at_once, 5);
    add_test(s, test_sub_is_capped_by_parent, 5);
    add_test(s, test_wait_never_overshoots, 5);
    add_test(s, test_run_abandons_at_the_deadline, 10);
    return check_run(s);
}
