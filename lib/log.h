/* log.h — the agent's log sink: syslog (the HA_LOGTAG convention) and stderr.
 *
 * The only global state in ferry. The agent opens it once from its params.
 * Library code returns its errors (ferry_error) and never logs them; it logs
 * what an operator needs to follow a decision it took and carried on from (a
 * warning: a namesake left alone, an orphaned migration aborted, a config
 * write-back that did not finish), at most a line per event. The agent logs
 * each action's outcome.
 * HA_debug=1 (or yes/true) adds debug lines; HA_LOGFACILITY picks the syslog
 * facility ("none" turns syslog off).
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stdbool.h>
#include <stdio.h>

/* tag: the syslog ident, e.g. "ferry-vm(vm1)[1234]"; NULL builds one from
 * HA_LOGTAG / OCF_RESOURCE_INSTANCE. to_stderr: also print to stderr. */
void log_open(const char *tag, bool debug, bool to_stderr);
void log_close(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool log_debug_enabled(void);

#endif
