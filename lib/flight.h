/* flight.h — the record of a migration in flight from this node.
 *
 * migrate_to writes it before the migration starts and removes it when it
 * answers. Pacemaker SIGKILLs an agent at its timeout, and libvirtd's
 * peer-to-peer job goes on without it: a record whose writer is dead is how
 * the next stop, start or probe on this node knows that a migration nobody
 * watches may still be running, or may have carried the guest to the target
 * behind Pacemaker's back, and where to.
 */
#ifndef FERRY_FLIGHT_H
#define FERRY_FLIGHT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "params.h"
#include "proc.h"

struct flight {
    struct proc_ref owner;     /* the migrate_to process */
    char name[256];            /* the domain */
    char uuid[40];
    char target[256];          /* the target node */
    char dest_uri[1024];       /* the target's libvirt */
    bool was_running;          /* the guest ran (not paused) before the migration */
    int64_t begun_s;           /* CLOCK_REALTIME s when the migrate_to began */
    bool handed;               /* migrate_to answered 0: the guest was handed to target */
};

/* Writes the record for this process (owner filled in here); -errno. */
int flight_begin(const struct ferry_params *p, struct flight *f);

/* Rewrites the record once migrate_to has answered 0: the guest was handed to
 * f->target. It stays until an action here learns whether Pacemaker knows the
 * guest runs there (a migrate_to that answered 0 is not always followed by
 * migrate_from: see migration_handover_settle). -errno. */
int flight_handed(const struct ferry_params *p, struct flight *f);

/* Reads the record: 0, -ENOENT if there is none, -EIO if it is unreadable. */
int flight_load(const struct ferry_params *p, struct flight *ret_f);

/* Removes the record (0 also if there was none). */
int flight_end(const struct ferry_params *p);

/* True while the migrate_to that wrote the record still runs. */
bool flight_owner_alive(const struct flight *f);

#endif
