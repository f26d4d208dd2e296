/* deadline.h — every wait in ferry ends at a deadline.
 *
 * An action's deadline comes from OCF_RESKEY_CRM_meta_timeout minus a margin, so
 * the agent answers before Pacemaker kills it. Times are CLOCK_MONOTONIC ms.
 */
#ifndef FERRY_DEADLINE_H
#define FERRY_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct deadline {
    int64_t start_ms;   /* when the action began */
    int64_t end_ms;     /* when our answer must be ready */
} deadline;

/* The margin kept back from a Pacemaker timeout of timeout_ms:
 * 10 %, at least 1 s, at most 10 s, and never more than half the timeout. */
int64_t deadline_margin_ms(int64_t timeout_ms);

/* Starts a deadline now for an action Pacemaker gives timeout_ms. */
void deadline_init(deadline *d, int64_t timeout_ms);

/* Starts a deadline now that ends after exactly budget_ms (no margin). */
void deadline_init_budget(deadline *d, int64_t budget_ms);

/* A deadline that ends at whichever comes first: now + budget_ms, or parent. */
deadline deadline_sub(const deadline *parent, int64_t budget_ms);

int64_t deadline_now_ms(void);
int64_t deadline_end_ms(const deadline *d);        /* when it ends, deadline_now_ms()'s clock */
int64_t deadline_remaining_ms(const deadline *d);  /* never negative */
int64_t deadline_elapsed_ms(const deadline *d);
bool deadline_expired(const deadline *d);

/* Sleeps interval_ms, or until the deadline if that comes first.
 * Returns false if the deadline has passed (nothing left to wait for). */
bool deadline_wait_ms(const deadline *d, int64_t interval_ms);

/* Runs fn(arg) in a thread of its own and waits for it until d: for I/O
 * that has no deadline of its own (a file on a share that may stall, an ssh
 * connection). 0: it finished. -ETIMEDOUT: it goes on and is abandoned; the
 * thread calls release(arg) when it ends (or dies with the process), and the
 * caller must not touch arg again. Another negative errno: the thread could
 * not start, fn did not run, arg is still the caller's. */
int deadline_run(const deadline *d, void (*fn)(void *arg), void (*release)(void *arg),
                 void *arg);

#endif
