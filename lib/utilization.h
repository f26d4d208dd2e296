/* utilization.h — the VM's size as its resource's utilization in the CIB.
 *
 * Pacemaker's placement strategies (balanced, utilization, minimal) weigh a
 * resource's utilization attributes against the nodes' capacity. The agent
 * publishes the domain's vCPUs as "cpu" and its maximum memory in MiB as
 * "hv_memory" (VirtualDomain's names, so node capacities written for it keep
 * working), and optionally "vms=1" so a node capacity "vms" caps the number
 * of VMs, with crm_resource, and only when a value differs from what this
 * node last published: a monitor of an unchanged VM starts no process and
 * writes nothing to the CIB.
 */
#ifndef FERRY_UTILIZATION_H
#define FERRY_UTILIZATION_H

#include <stdint.h>

#include "deadline.h"
#include "error.h"
#include "params.h"
#include "state.h"

#define UTILIZATION_CPU "cpu"
#define UTILIZATION_HV_MEMORY "hv_memory"
#define UTILIZATION_VMS "vms"    /* always 1: a VM counts one (autoset_utilization_vms) */
/* a failed publication is tried again after this long, or when a value changes */
#define UTILIZATION_RETRY_S 300

struct utilization_size {
    int64_t cpu;              /* vCPUs */
    int64_t hv_memory_mib;    /* maximum memory */
};

/* Publishes the pending attributes and records them in st. Returns the number
 * of attributes written (0: nothing was due), or an error (st then holds a
 * retry time). program is "crm_resource" (the tests pass a stand-in). */
int utilization_publish(const struct ferry_params *p, struct ferry_state *st,
                        const struct utilization_size *size, const char *program,
                        const deadline *dl, ferry_error **err);

#endif
