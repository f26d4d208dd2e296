/* state-priv.h — state's seams for the tests (libvirt's *priv.h
 * convention): where the state file is. Not for other modules. */
#ifndef FERRY_STATE_PRIV_H
#define FERRY_STATE_PRIV_H

#include "state.h"

/* The file's path, for messages and tests; -EINVAL without an instance. */
int state_path(const struct ferry_params *p, char *buf, size_t size);

#endif
