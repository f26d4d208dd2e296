/* ocf.h — the OCF side of the agent that is not an exit code: the actions
 * (names, advertised timeouts), the meta-data text, and the exit-reason line.
 * Exit codes live in agents/ only.
 */
#ifndef FERRY_OCF_H
#define FERRY_OCF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define OCF_AGENT_NAME "vm"
#define OCF_AGENT_PROVIDER "ferry"

enum ocf_action {
    OCF_ACTION_UNKNOWN = 0,
    OCF_ACTION_START,
    OCF_ACTION_STOP,
    OCF_ACTION_MONITOR,
    OCF_ACTION_STATUS,
    OCF_ACTION_VALIDATE_ALL,
    OCF_ACTION_META_DATA,
    OCF_ACTION_USAGE,
    OCF_ACTION_MIGRATE_TO,
    OCF_ACTION_MIGRATE_FROM,
    OCF_ACTION_MIGRATE,        /* rgmanager: vm migrate <target-node> */
    OCF_ACTION_RECOVER,        /* stop, then start */
    OCF_ACTION_RECONFIG,       /* rgmanager: parameters changed */
    OCF_ACTION_RELOAD_AGENT,   /* OCF 1.1: reloadable parameters changed */
};

/* The advertised interval of the depth-10 monitor (rgmanager's, where
 * status_program runs). */
#define OCF_DEPTH10_INTERVAL_MS 60000

struct ocf_action_def {
    enum ocf_action action;
    const char *name;
    int64_t timeout_ms;     /* advertised, and used when Pacemaker gives none */
    int64_t interval_ms;    /* advertised interval (monitor), 0 otherwise */
    bool advertised;        /* listed in the meta-data */
};

/* The action named name ("start", "validate-all", "help" = usage...), or UNKNOWN. */
enum ocf_action ocf_action_parse(const char *name);
const struct ocf_action_def *ocf_action_get(enum ocf_action action);

/* Writes the meta-data XML built from the action and parameter tables, in the
 * OCF version the caller speaks (OCF_RA_VERSION_MAJOR/MINOR; 0.0 if not given).
 * An OCF 1.1 caller (Pacemaker >= 2.1, and crmsh and pcs through it) gets
 * reload-agent, reloadable, unique-group, select and deprecated (valid against
 * OCF 1.1's schema, e.g. pcs's ocf-1.1.rng); any other caller (ocf-tester) the
 * OCF 1.0 subset valid against ra-api-1.dtd. */
int ocf_metadata_write(FILE *out, int ra_version_major, int ra_version_minor);

/* Writes the usage text. */
void ocf_usage_write(FILE *out, const char *argv0);

/* Writes "<OCF_EXIT_REASON_PREFIX or ocf-exit-reason:><msg>\n" to out, as one line. */
void ocf_exit_reason_write(FILE *out, const char *prefix, const char *msg);

#endif
