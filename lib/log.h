/* log.h — the agent's log sink: syslog (the HA_LOGTAG convention) and stderr.
 *
 * The only global state in ferry. The agent opens it once from its params;
 * library code does not log, the action function does (one line per event).
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

/* Lets tests capture what would be written to stderr. NULL restores stderr. */
void log_set_stream(FILE *stream);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool log_debug_enabled(void);

#endif
