/* metrics.h — Prometheus text-format metrics for node_exporter's textfile
 * collector: migrations by mode and outcome, histograms of their total time,
 * downtime and pause, bytes moved, the last failure's reason, monitors by
 * result.
 *
 * One file per node, <dir>/ferry.prom, holds every ferry resource's series on
 * that node; it is also the counters' store. Each update takes the node's lock
 * (<dir>/.ferry.prom.lock, flock), reads the file, changes the counters,
 * writes a temporary file and renames it over ferry.prom: concurrent agents
 * lose no update and the collector never reads half a file. Waiting for the
 * lock is bounded by a deadline.
 */
#ifndef FERRY_METRICS_H
#define FERRY_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "deadline.h"
#include "error.h"

#define METRICS_FILE_NAME "ferry.prom"
#define METRICS_LOCK_NAME ".ferry.prom.lock"

/* Why a migration failed: the reason label's values (a closed set, so the
 * label's cardinality stays bounded whatever the error text). */
enum metrics_reason {
    METRICS_REASON_NONE = 0,
    METRICS_REASON_CONFIG,            /* the parameters or the target's name */
    METRICS_REASON_STATE,             /* refused: the domain's state or the target's
                                       * resources (pre-flight) */
    METRICS_REASON_LIBVIRT,           /* libvirt refused or failed, or the target was unreachable */
    METRICS_REASON_TIMEOUT,           /* the action's time ran out */
    METRICS_REASON_ABORTED_STALLED,   /* migration_policy aborted: no progress */
    METRICS_REASON_ABORTED_TIMEOUT,   /* ... over its per-GiB budget */
    METRICS_REASON_ABORTED_DEADLINE,  /* ... the action's deadline */
    METRICS_REASON_OTHER,
};

/* The label value of a reason ("none", "config", "aborted_stalled", ...). */
const char *metrics_reason_name(enum metrics_reason reason);

/* The reason of a failed migration from its error code (FERRY_E_*, -errno),
 * its outcome ("aborted", "failed", or "" when it never started) and the
 * policy's trigger ("stalled", "timeout", "deadline" or ""). */
enum metrics_reason metrics_reason_classify(int code, const char *outcome, const char *trigger);

/* One migrate_to as the metrics see it. */
struct metrics_migration {
    const char *mode;        /* "live" or "pause" */
    const char *outcome;     /* "completed", "completed-paused", ..., "aborted", "failed";
                              * "refused" when it failed before anything moved */
    enum metrics_reason reason;  /* METRICS_REASON_NONE when it succeeded */
    int64_t total_ms;        /* wall time of the migrate call; < 0 unknown */
    int64_t downtime_ms;     /* libvirt's; < 0 unknown */
    int64_t pause_ms;        /* the guest-visible pause; < 0 none */
    uint64_t bytes;
    int64_t time_s;          /* when it ended (epoch seconds) */
};

/* The counters, as read from and written to the file. Opaque. */
typedef struct metrics_set metrics_set;

metrics_set *metrics_set_new(void);
metrics_set *metrics_set_free(metrics_set *set);   /* accepts NULL, returns NULL */

/* Reads the file's text: every "ferry_..." series line; comments and other
 * lines are skipped. 0 or -ENOMEM. */
int metrics_set_parse(metrics_set *set, const char *text, size_t len);

/* The value of series key (e.g. ferry_monitors_total{result="running"}), or
 * -1 if it is not there. */
double metrics_set_get(const metrics_set *set, const char *key);

/* Counts one migration / one monitor result ("running", "stopped",
 * "degraded", "failed", "error") into set. 0 or -ENOMEM. */
int metrics_set_add_migration(metrics_set *set, const struct metrics_migration *m);
int metrics_set_add_monitor(metrics_set *set, const char *result);

/* Writes set in the text format (HELP and TYPE per family). */
int metrics_set_write(const metrics_set *set, FILE *f);

/* Locks <dir>'s counters (until dl), reads them, counts m / result, and
 * replaces <dir>/ferry.prom atomically. -ENOENT (with err) when dir does not
 * exist: node_exporter is not installed there, nothing to do. FERRY_E_TIMEOUT
 * when the lock is not had by dl. */
int metrics_record_migration(const char *dir, const struct metrics_migration *m,
                             const deadline *dl, ferry_error **err);
int metrics_record_monitor(const char *dir, const char *result, const deadline *dl,
                           ferry_error **err);

#endif
