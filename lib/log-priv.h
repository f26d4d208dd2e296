/* log-priv.h — log's seams for the tests (libvirt's *priv.h
 * convention): capturing what would go to stderr. Not for other modules. */
#ifndef FERRY_LOG_PRIV_H
#define FERRY_LOG_PRIV_H

#include "log.h"

/* Lets tests capture what would be written to stderr. NULL restores stderr. */
void log_set_stream(FILE *stream);

#endif
