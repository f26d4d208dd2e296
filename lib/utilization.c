/* utilization.c — see utilization.h */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exec.h"
#include "utilization.h"
#include "utilization-priv.h"

/* crm_resource answers in well under a second; never let it eat a monitor */
#define UTILIZATION_EXEC_BUDGET_MS 10000

unsigned
utilization_pending(const struct ferry_params *p, const struct ferry_state *st,
                    const struct utilization_size *size, int64_t now_s)
{
    unsigned due = 0;

    if (!p->pacemaker || p->instance == NULL)
        return 0;   /* not run by Pacemaker: there is no CIB to write to */
    if (p->autoset_utilization_cpu && size->cpu > 0 && size->cpu != st->util_cpu)
        due |= 1;
    if (p->autoset_utilization_hv_memory && size->hv_memory_mib > 0 &&
        size->hv_memory_mib != st->util_hv_memory_mib)
        due |= 2;
    if (p->autoset_utilization_vms && st->util_vms != 1)
        due |= 4;
    if (due && st->util_retry_after_s > now_s)
        return 0;   /* it failed recently; wait */
    return due;
}

int
utilization_publish(const struct ferry_params *p, struct ferry_state *st,
                    const struct utilization_size *size, const char *program,
                    const deadline *dl, ferry_error **err)
{
    int64_t now_s = (int64_t)time(NULL);
    unsigned due = utilization_pending(p, st, size, now_s);
    deadline sub = deadline_sub(dl, UTILIZATION_EXEC_BUDGET_MS);
    int written = 0;
    int i;

    for (i = 0; i < 3; i++) {
        static const char *const attrs[] = { UTILIZATION_CPU, UTILIZATION_HV_MEMORY,
                                             UTILIZATION_VMS };
        const int64_t values[] = { size->cpu, size->hv_memory_mib, 1 };
        const char *attr = attrs[i];
        int64_t value = values[i];
        char text[32];
        char *argv[] = { (char *)program, "--resource", p->instance, "--utilization",
                         "--set-parameter", (char *)attr, "--parameter-value", text, NULL };
        struct exec_result r;
        ferry_error *e = NULL;

        if (!(due & (1u << i)))
            continue;
        snprintf(text, sizeof(text), "%" PRId64, value);
        if (exec_run(argv, &sub, &r, &e) < 0 || r.exit_status != 0) {
            st->util_retry_after_s = now_s + UTILIZATION_RETRY_S;
            const char *why = "crm_resource failed";

            if (e)
                why = error_message(e);
            else if (r.first_line[0])
                why = r.first_line;
            error_set(err, FERRY_E_STATE, "cannot set utilization %s=%s of '%s' (%s); trying "
                      "again in %d s or when it changes", attr, text, p->instance, why,
                      UTILIZATION_RETRY_S);
            error_free(e);
            return FERRY_E_STATE;
        }
        if (i == 0)
            st->util_cpu = value;
        else if (i == 1)
            st->util_hv_memory_mib = value;
        else
            st->util_vms = value;
        written++;
    }
    st->util_retry_after_s = 0;
    return written;
}
