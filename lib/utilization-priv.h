/* utilization-priv.h — utilization's seams for the tests (libvirt's *priv.h
 * convention): what would be published. Not for other modules. */
#ifndef FERRY_UTILIZATION_PRIV_H
#define FERRY_UTILIZATION_PRIV_H

#include "utilization.h"

/* What publish would write, given st: a bit per attribute (1: cpu, 2: hv_memory,
 * 4: vms). */
unsigned utilization_pending(const struct ferry_params *p, const struct ferry_state *st,
                             const struct utilization_size *size, int64_t now_s);

#endif
