/* fuzz_watch.c — the migration watcher's decisions (lib/migrate.c:
 * migrate_watch_init/progress/suspended/acted/decide/time_enough), fed an
 * arbitrary configuration (within what params_validate lets through) and an
 * arbitrary sequence of job statistics, clock steps and libvirt answers, the
 * way migrate_watcher_main drives them. Properties:
 *  - init: start <= completion <= hard <= giveup <= the deadline whenever the
 *    deadline is not already past; time_enough only with MIGRATE_MIN_COPY_MS
 *    (3 s) left before hard;
 *  - decide is a pure function of the watch and the time (same answer twice,
 *    the watch unchanged), and once it acts it keeps acting as time goes on;
 *  - it never pauses a guest that is already paused (pause mode, or paused by
 *    us), never pauses at or after giveup (a pause then is an abort with a
 *    guest-visible pause first), never switches to post-copy unless that is
 *    the policy and has not failed, never pauses under the abort policy,
 *    and does nothing after an abort or a successful post-copy switch;
 *  - every action has a reason; there is no resume action at all.
 * UBSan catches a division by zero or a signed overflow.
 */
#include "config.h"

#include <assert.h>
#include <string.h>

#include "migrate.h"
#include "migrate-priv.h"   /* the decision function: a test seam */

#define FZ_MAX_TIME_MS (24LL * 3600 * 1000)      /* params.c's PARAMS_MAX_TIME_MS */
#define FZ_MIN_COPY_MS 3000                        /* migrate.c's MIGRATE_MIN_COPY_MS */

struct fz_in {
    const unsigned char *p;
    size_t left;
};

static uint64_t
fz_take(struct fz_in *in, size_t n)
{
    uint64_t v = 0;

    while (n-- > 0 && in->left > 0) {
        v = v << 8 | *in->p++;
        in->left--;
    }
    return v;
}

static void
fz_check_decide(const struct migrate_watch *w, int64_t now_ms, enum migrate_action act,
                const char *why)
{
    assert(act >= MIGRATE_ACT_NONE && act <= MIGRATE_ACT_POSTCOPY);
    if (act != MIGRATE_ACT_NONE)
        assert(why != NULL && why[0] != '\0');
    if (w->aborted || w->postcopy)
        assert(act == MIGRATE_ACT_NONE);
    if (act == MIGRATE_ACT_PAUSE) {
        assert(w->live && !w->suspended);
        assert(w->policy != MIGRATE_POLICY_ABORT);
        assert(now_ms < w->giveup_at_ms);
    }
    if (act == MIGRATE_ACT_POSTCOPY) {
        assert(w->policy == MIGRATE_POLICY_POSTCOPY && !w->postcopy_failed);
        assert(w->live && !w->suspended);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char *const policies[] = { "pause", "abort", "auto-converge", "postcopy" };
    struct fz_in in = { data, size };
    struct ferry_params p;
    struct migrate_watch w;
    deadline dl;
    uint64_t flags = fz_take(&in, 1);
    uint64_t memory_kib = fz_take(&in, 8) % ((uint64_t)INT64_MAX / 1024 + 1);  /* domxml's range */
    int64_t now_ms = (int64_t)(fz_take(&in, 6) & ((1ULL << 46) - 1));
    int64_t left_ms = (int64_t)(fz_take(&in, 4) % (FZ_MAX_TIME_MS + 20001)) - 20000;
    int steps = 0;

    memset(&p, 0, sizeof(p));
    p.migrate = flags & 1 ? "pause" : "live";
    p.migration_policy = (char *)policies[(flags >> 1) & 3];
    if ((flags & 1) && strcmp(p.migration_policy, "postcopy") == 0)
        p.migration_policy = "pause";   /* params_validate refuses pause + postcopy */
    p.migration_stall_timeout_ms = (int64_t)(fz_take(&in, 4) % FZ_MAX_TIME_MS) + 1;
    p.migration_timeout_per_gib_ms = (int64_t)(fz_take(&in, 4) % FZ_MAX_TIME_MS) + 1;
    dl.start_ms = now_ms;
    dl.end_ms = now_ms + left_ms;

    migrate_watch_init(&w, &p, memory_kib, &dl, now_ms);
    assert(w.best_remaining == UINT64_MAX && !w.suspended && !w.aborted && !w.postcopy);
    if (left_ms >= 0) {
        assert(w.start_ms == now_ms);
        assert(w.start_ms <= w.completion_at_ms);
        assert(w.completion_at_ms <= w.hard_at_ms);
        assert(w.hard_at_ms <= w.giveup_at_ms);
        assert(w.giveup_at_ms <= dl.end_ms);
    }
    if (migrate_watch_time_enough(&w, now_ms))
        assert(w.hard_at_ms - now_ms >= FZ_MIN_COPY_MS);
    else
        assert(w.hard_at_ms - now_ms < FZ_MIN_COPY_MS);
    /* migrate_to starts no copy without that time (vm.c) */
    if (!migrate_watch_time_enough(&w, now_ms))
        return 0;

    while (in.left > 0 && steps++ < 512) {
        uint64_t op = fz_take(&in, 1);
        int64_t dt = (int64_t)fz_take(&in, op & 0x80 ? 4 : 2);
        struct migrate_watch before;
        enum migrate_action act;
        enum migrate_action again;
        const char *why = NULL;
        const char *why_again = NULL;

        if (dt > 2 * FZ_MAX_TIME_MS)
            dt %= 2 * FZ_MAX_TIME_MS;
        now_ms += dt;
        if (op & 0x40)
            migrate_watch_progress(&w, fz_take(&in, 8), now_ms);
        if (op & 0x20)
            migrate_watch_progress(&w, 0, now_ms);

        before = w;
        act = migrate_watch_decide(&w, now_ms, &why);
        assert(memcmp(&before, &w, sizeof(w)) == 0);
        fz_check_decide(&w, now_ms, act, why);
        again = migrate_watch_decide(&w, now_ms, &why_again);
        assert(again == act && strcmp(why, why_again) == 0);
        assert(migrate_watch_decide(&w, now_ms, NULL) == act);
        if (act != MIGRATE_ACT_NONE) {
            /* nothing happened in between: still acting later */
            assert(migrate_watch_decide(&w, now_ms + 1 + (int64_t)(op & 0x1f) * 1000, NULL) !=
                   MIGRATE_ACT_NONE);
            /* libvirt answers (op bit 0x10: the call failed) a little later */
            migrate_watch_acted(&w, act, !(op & 0x10), now_ms + (int64_t)(op & 0x0f));
            if (act == MIGRATE_ACT_PAUSE && !(op & 0x10))
                assert(w.suspended);
            if (act == MIGRATE_ACT_ABORT)
                assert(w.aborted);
        }
        if (op & 0x08) {
            /* a NONE action changes nothing */
            before = w;
            migrate_watch_acted(&w, MIGRATE_ACT_NONE, true, now_ms);
            assert(memcmp(&before, &w, sizeof(w)) == 0);
        }
    }
    return 0;
}
