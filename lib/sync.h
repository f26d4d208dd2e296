/* sync.h — what this node keeps current about a running domain: its record
 * (state file), its definition in the config file (save_config: a changed
 * definition written back, bounded by the deadline), and its size as the
 * resource's utilization in the CIB (written only when it changes).
 */
#ifndef FERRY_SYNC_H
#define FERRY_SYNC_H

#include <stdbool.h>

#include "deadline.h"
#include "ident.h"
#include "params.h"
#include "virt.h"

/* After start, an arrival, or a monitor that found it running: bring this
 * node's record of the domain up to date, and save it if anything changed. */
void sync_keep(const struct ferry_params *p, virt_conn *conn, const struct ident *id,
               const struct virt_domain_info *info, bool arrived, const deadline *dl);

/* Before or after the domain leaves this node (stop, migrate_to): a last look
 * at its definition. True if the config file was rewritten. */
bool sync_definition_check(const struct ferry_params *p, virt_conn *conn, const struct ident *id,
                           const deadline *dl);

#endif
