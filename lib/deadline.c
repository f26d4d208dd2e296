/* deadline.c — see deadline.h */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
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
deadline_end_ms(const deadline *d)
{
    return d->end_ms;
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

/* Shared by deadline_run and its thread; the last one out frees it. */
struct deadline_job {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    bool abandoned;
    void (*fn)(void *arg);
    void (*release)(void *arg);
    void *arg;
};

static void
deadline_job_free(struct deadline_job *j)
{
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static void *
deadline_job_main(void *data)
{
    struct deadline_job *j = data;
    bool abandoned = false;

    j->fn(j->arg);
    pthread_mutex_lock(&j->lock);
    j->done = true;
    abandoned = j->abandoned;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    if (abandoned) {
        if (j->release)
            j->release(j->arg);
        deadline_job_free(j);
    }
    return NULL;
}

int
deadline_run(const deadline *d, void (*fn)(void *arg), void (*release)(void *arg), void *arg)
{
    struct deadline_job *j = calloc(1, sizeof(*j));
    int64_t end_ms = deadline_end_ms(d);
    pthread_condattr_t cattr;
    pthread_attr_t tattr;
    pthread_t thread;
    struct timespec ts;
    bool done = false;
    int rc = 0;

    if (j == NULL)
        return -ENOMEM;
    j->fn = fn;
    j->release = release;
    j->arg = arg;
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &cattr);
    pthread_condattr_destroy(&cattr);
    pthread_attr_init(&tattr);
    pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&thread, &tattr, deadline_job_main, j);
    pthread_attr_destroy(&tattr);
    if (rc != 0) {
        deadline_job_free(j);
        return -rc;
    }
    ts.tv_sec = (time_t)(end_ms / 1000);
    ts.tv_nsec = (long)(end_ms % 1000) * 1000000L;
    pthread_mutex_lock(&j->lock);
    while (!j->done && pthread_cond_timedwait(&j->cond, &j->lock, &ts) != ETIMEDOUT)
        ;
    done = j->done;
    if (!done)
        j->abandoned = true;
    pthread_mutex_unlock(&j->lock);
    if (!done)
        return -ETIMEDOUT;
    deadline_job_free(j);
    return 0;
}
