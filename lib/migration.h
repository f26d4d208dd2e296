/* migration.h — migrate_to and migrate_from as the resource sees them: the
 * phases of one migration (resolve the target, pre-flight, the migrate call
 * and its watcher, finish, recover), its log line, and the clean-up after a
 * migrate_to that was killed (the flight record). The mechanics (target
 * resolution, pre-flight checks, the policy) are in migrate.c, the libvirt
 * calls in virt.c.
 */
#ifndef FERRY_MIGRATION_H
#define FERRY_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadline.h"
#include "error.h"
#include "flight.h"
#include "ident.h"
#include "params.h"
#include "virt.h"
#include "vm.h"

struct migration_result {
    char name[256];
    char target[256];
    char line[1024];      /* the statistics line (migrate_result_format) */
    int64_t downtime_ms;
    /* the migrate call's figures (struct migrate_result's), for the metrics;
     * outcome is "" when it failed before anything moved */
    char outcome[48];
    char trigger[48];
    int64_t total_ms;
    int64_t pause_ms;
    uint64_t bytes;
    bool already;         /* nothing to do: it already runs on the target */
    char phases[512];     /* where the time went (migrate_phases_format) */
};

/* migrate_to, on the source: moves the running domain to
 * params->migrate_target. On failure the guest runs, unpaused, on the source
 * and no half-arrived copy is left on the target. */
int migration_to(const struct ferry_params *params, const deadline *dl,
                 struct migration_result *ret_result, ferry_error **err);

/* migrate_from, on the target: confirms the domain runs here, within dl.
 * *ret_status is VM_STATUS_RUNNING, or VM_STATUS_STOPPED when it is not here. */
int migration_from(const struct ferry_params *params, const deadline *dl,
                   enum vm_status *ret_status, ferry_error **err);

/* Pacemaker SIGKILLs migrate_to at its timeout; libvirtd's job goes on. The
 * next stop, start, probe or migrate_to on the node ends it first: an
 * outgoing job whose migrate_to is dead (or, with any_job, one nobody
 * recorded) is aborted and waited for, a guest it paused resumed. Returns 1
 * (and *ret_f) when a dead migrate_to's record remains and the guest has
 * left for ret_f->target; 0 otherwise. *info is re-read. */
int migration_orphan_settle(const struct ferry_params *p, virt_conn *conn, const struct ident *id,
                            bool any_job, struct virt_domain_info *info, const deadline *dl,
                            struct flight *ret_f);

/* The guest left for f->target by a migration whose migrate_to never
 * answered: destroys our domain there, unless the CIB shows Pacemaker knows
 * it runs there (then the record was one the state directory would not let
 * migrate_to update). alone: no copy runs here, so the one there is the
 * guest, and without force_stop it is asked to shut down first (within
 * shutdown_timeout). 0 once it does not run there, or is left there. */
int migration_orphan_remove_copy(const struct ferry_params *p, const struct ident *id,
                                 const struct flight *f, bool alone, const deadline *dl,
                                 char *note, size_t note_size, ferry_error **err);

/* After a migrate_to here that answered 0 (its flight record handed over):
 * the stop and start here end the copy on the target if the CIB shows
 * Pacemaker never learnt it runs there; see migration.c (alone: as for
 * migration_orphan_remove_copy). Best effort, 0; *note says what was done
 * ("" nothing). */
int migration_handover_settle(const struct ferry_params *p, const struct ident *id, bool alone,
                              const deadline *dl, char *note, size_t note_size);

#endif
