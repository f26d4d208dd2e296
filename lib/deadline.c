/* deadline.c — see deadline.h */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "deadline.h"

int64_t
deadline_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
deadline_margin_ms(int64_t timeout_ms)
{
    int64_t margin_ms = timeout_ms / 10;

    if (timeout_ms <= 0)
        return 0;
    if (margin_ms < 1000)
        margin_ms = 1000;
    if (margin_ms > 10000)
        margin_ms = 10000;
    if (margin_ms > timeout_ms / 2)
        margin_ms = timeout_ms / 2;
    return margin_ms;
}

void
deadline_init(deadline *d, int64_t timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    d->start_ms = deadline_now_ms();
    d->end_ms = d->start_ms + timeout_ms - deadline_margin_ms(timeout_ms);
}

void
deadline_init_budget(deadline *d, int64_t budget_ms)
{
    if (budget_ms < 0)
        budget_ms = 0;
    d->start_ms = deadline_now_ms();
    d->end_ms = d->start_ms + budget_ms;
}

deadline
deadline_sub(const deadline *parent, int64_t budget_ms)
{
    deadline d;

    deadline_init_budget(&d, budget_ms);
    if (parent && parent->end_ms < d.end_ms)
        d.end_ms = parent->end_ms;
    return d;
}

int64_t
deadline_remaining_ms(const deadline *d)
{
    int64_t left_ms = d->end_ms - deadline_now_ms();

    return left_ms > 0 ? left_ms : 0;
}

int64_t
deadline_elapsed_ms(const deadline *d)
{
    return deadline_now_ms() - d->start_ms;
}

bool
deadline_expired(const deadline *d)
{
    return deadline_remaining_ms(d) == 0;
}

bool
deadline_wait_ms(const deadline *d, int64_t interval_ms)
{
    int64_t left_ms = deadline_remaining_ms(d);
    struct timespec ts;

    if (left_ms == 0)
        return false;
    if (interval_ms > left_ms)
        interval_ms = left_ms;
    if (interval_ms < 0)
        interval_ms = 0;
    ts.tv_sec = interval_ms / 1000;
    ts.tv_nsec = (interval_ms % 1000) * 1000000;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return !deadline_expired(d);
}
