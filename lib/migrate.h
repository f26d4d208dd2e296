/* migrate.h — live and pause migration: where to (target resolution), whether
 * it is safe to start (pre-flight), and how to see it through (job-stats
 * watching and the non-convergence policy). The libvirt calls themselves are
 * in virt.c; the OCF-facing orchestration is in vm.c.
 */
#ifndef FERRY_MIGRATE_H
#define FERRY_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "deadline.h"
#include "domxml.h"
#include "error.h"
#include "params.h"
#include "virt.h"

/* Where a migration goes. */
struct migrate_target {
    char *node;        /* the cluster node Pacemaker named */
    char *host;        /* where the target's libvirt is reached */
    char *dest_uri;    /* libvirt URI of the target */
    char *data_uri;    /* QEMU data URI, or NULL for libvirt's choice */
};

/* Works out the target from the node name: exact migration_mapping entry,
 * migration_network_suffix, migrateuri/remoteuri with %n. Rejects an empty
 * target, the local node, and a node missing from a set mapping (FERRY_E_CONFIG
 * or FERRY_E_ARGS, with the reason). */
int migrate_target_resolve(const struct ferry_params *params, const char *target_node,
                           const char *local_node, const char *ssh_command,
                           struct migrate_target *ret_target, ferry_error **err);

/* ssh_reuse: the program libvirt runs as ssh for a target URI the agent builds
 * (agents/ferry-ssh.c), so one ssh login serves every connection to a target
 * for a while; the URI then ends in "&command=PATH". */
#define MIGRATE_SSH_COMMAND "ferry-ssh"

/* Where ferry-ssh is: next to the running program (a build tree), else in
 * FERRY_PKGLIBEXECDIR; an absolute path that needs no URI escaping. 0 with the
 * path in buf, or -ENOENT (buf empty): then ssh runs as it is. */
int migrate_ssh_command_find(char *buf, size_t size);

/* Does a libvirt URI run ferry-ssh (command=.../ferry-ssh)? */
bool migrate_uri_shares_ssh(const char *uri);
void migrate_target_clear(struct migrate_target *target);

/* The host and port a libvirt URI connects to (ssh 22, tcp 16509, tls 16514). */
int migrate_uri_endpoint(const char *uri, char **ret_host, int *ret_port);

/* The host of any scheme://[user@]host[:port][/path][?query] URI (an IPv6
 * literal without its brackets) and its port, 0 if it names none: 0, -EINVAL
 * malformed, -ENOTSUP no host (a local URI), -ENOMEM. */
int migrate_uri_host(const char *uri, char **ret_host, int *ret_port);

/* Can a TCP connection to host:port be opened within timeout_ms? (No fork:
 * a non-blocking connect.) 0, or FERRY_E_LIBVIRT with the reason. */
int migrate_probe_tcp(const char *host, int port, int64_t timeout_ms, ferry_error **err);

/* Pre-flight on the target before anything moves: the disks (unless
 * allow_unsafe), the memory (ordinary or huge pages) and the CPU of the
 * running domain live. FERRY_E_STATE with the reason if the target cannot
 * take the guest; a check the target cannot answer is skipped (debug log). */
int migrate_preflight_target(virt_conn *dst, const domxml *live, const struct ferry_params *params,
                             const char *target_node, ferry_error **err);

/* libvirt's QEMU driver configuration, where the migration TLS directory is set. */
#define MIGRATE_QEMU_CONF "/etc/libvirt/qemu.conf"

/* The directory of QEMU's migration certificates as libvirt takes it from
 * qemu_conf: migrate_tls_x509_cert_dir, else default_tls_x509_cert_dir, else
 * /etc/pki/qemu. 0, or -ENAMETOOLONG. */
int migrate_tls_dir(const char *qemu_conf, char *buf, size_t size);

/* libvirt's lock manager as qemu_conf sets it (lock_manager = "lockd" or "sanlock"): 1 with
 * its name in buf, 0 if none ("nop", libvirt's default, or not set), -errno if qemu_conf cannot
 * be read. Without one nothing but the agents keeps a second copy of a guest from running,
 * and one window is out of their reach (README, "Two copies"). */
int migrate_lock_manager(const char *qemu_conf, char *buf, size_t size);

/* tls=true, before anything moves: this node (QEMU's TLS client) has its CA
 * and client certificate and key in dir (readable, not empty).
 * FERRY_E_CONFIG naming the file otherwise. */
int migrate_preflight_tls(const char *dir, const char *target_node, ferry_error **err);

/* What the target can give a guest: free + buffers + page cache (libvirt has
 * no MemAvailable; this is the usual approximation). */
uint64_t migrate_memory_available_kib(const struct virt_node_memory *mem);

/* enum migrate_policy is parsed with the parameters (params.h) */
const char *migrate_policy_name(enum migrate_policy policy);

enum migrate_action {
    MIGRATE_ACT_NONE = 0,
    MIGRATE_ACT_PAUSE,      /* suspend the guest so the copy completes */
    MIGRATE_ACT_ABORT,      /* give up: the guest stays on the source */
    MIGRATE_ACT_POSTCOPY,   /* switch to post-copy */
};
const char *migrate_action_name(enum migrate_action action);

/* What the watcher knows about a running migration. */
struct migrate_watch {
    bool live;
    enum migrate_policy policy;
    int64_t start_ms;
    int64_t stall_timeout_ms;
    int64_t completion_at_ms;    /* start + per-GiB budget */
    int64_t hard_at_ms;          /* the last moment to act before the action's deadline */
    int64_t giveup_at_ms;        /* paused and still copying: abort here, half-way into the
                                  * reserve, leaving the rest to resume on the source */
    uint64_t best_remaining;     /* lowest data_remaining seen; UINT64_MAX before any */
    int64_t best_at_ms;
    bool suspended;              /* we paused the guest */
    bool postcopy;               /* we switched to post-copy */
    bool postcopy_failed;        /* libvirt refused the switch: pause instead */
    bool aborted;                /* we asked libvirt to abort */
};

/* Sets up the watch for a guest of memory_kib, within dl. */
void migrate_watch_init(struct migrate_watch *w, const struct ferry_params *params,
                        uint64_t memory_kib, const deadline *dl, int64_t now_ms);

/* Is there time to start the copy at now_ms: at least MIGRATE_MIN_COPY_MS
 * before the policy's last chance to act? (A long pre-flight can eat it.) */
bool migrate_watch_time_enough(const struct migrate_watch *w, int64_t now_ms);

/* The outcome of a migration, for the log and ferry's report. */
struct migrate_result {
    char outcome[48];            /* "completed", "completed-paused", "completed-postcopy", "aborted", "failed" */
    char trigger[48];            /* what made the policy act, or "" */
    int64_t total_ms;            /* wall time of migrate_run: the watcher's set-up and the call */
    int64_t watch_ms;            /* ... of which the watcher's set-up, before the call */
    int64_t call_ms;             /* ... and the migrate call, -1 if it was not made */
    int64_t prepare_ms;          /* from the call to QEMU first seen copying (the watcher,
                                  * every 20 ms until then), -1 if never seen */
    int64_t downtime_ms;         /* libvirt's, -1 if unknown */
    int64_t pause_ms;            /* guest-visible pause measured by the agent, -1 if none */
    int64_t elapsed_ms;          /* libvirt's job time */
    uint64_t bytes;
    uint64_t dirty_rate_bps;
    uint64_t iterations;
    int throttle_pct;
};

/* Runs the migration on src, watching it and applying the policy from a
 * second thread (dst, the target's libvirt, tells when the guest resumes). Fills ret_result whether or not it succeeded. */
int migrate_run(virt_conn *src, virt_conn *dst, const struct virt_identity *id,
                const struct virt_migrate_spec *spec, struct migrate_watch *w,
                struct migrate_result *ret_result, ferry_error **err);

/* ---- where the time of one migrate_to goes ----
 *
 * The agent's own clock (deadline_now_ms: CLOCK_MONOTONIC) marks the end of
 * each phase; libvirt's completed-job statistics (on the target) split the
 * migrate call. All in ms; -1: not reached, or not reported. */
enum migrate_phase {
    MIGRATE_PHASE_RESOLVE = 0,  /* the domain here, a killed migrate_to settled, the target named */
    MIGRATE_PHASE_PROBE,        /* a TCP connect to the target's libvirt (ssh) port */
    MIGRATE_PHASE_OPEN,         /* ferry's libvirt connection to the target (ssh) */
    MIGRATE_PHASE_STATES,       /* pre-flight: the domain's state on the target */
    MIGRATE_PHASE_SYNC,         /* pre-flight: the definition's sync check (here) */
    MIGRATE_PHASE_XML,          /* pre-flight: the running domain's XML (here) */
    MIGRATE_PHASE_CHECKS,       /* pre-flight: the target's memory and CPU, TLS files, max downtime */
    MIGRATE_PHASE_TUNE,         /* the agent's work before the call: spec, speed=auto, flight record */
    MIGRATE_PHASE_WATCH,        /* ... the watcher's connection (here) and thread */
    MIGRATE_PHASE_MIGRATE,      /* the migrate call */
    MIGRATE_PHASE_AFTER,        /* libvirt's figures, the source checked, the record ended */
    MIGRATE_PHASE_COUNT
};

struct migrate_phases {
    int64_t start_ms;                    /* migrate_to began (the agent's clock) */
    int64_t last_ms;                     /* the last mark */
    int64_t ms[MIGRATE_PHASE_COUNT];     /* time spent in each phase */
    int64_t prepare_ms;                  /* the call until QEMU copies (struct migrate_result's) */
    int64_t job_ms;                      /* libvirt's job time (begin to finish on the target) */
    int64_t setup_ms;                    /* QEMU's own set-up of the stream (libvirt's figure) */
    int64_t downtime_ms;                 /* the switch-over (libvirt's figure) */
};

/* The migrate call split by libvirt's job: prepare (begin on the source, the
 * target started, QEMU's stream set up), copy (the rest of libvirt's job up to
 * the switch-over), downtime (the switch-over), finish (the call outside
 * libvirt's job clock: confirm on the source, the answer). prepare + copy +
 * downtime + finish = the call when all are known. */
struct migrate_call_split {
    int64_t prepare_ms;
    int64_t copy_ms;
    int64_t downtime_ms;
    int64_t finish_ms;
};

void migrate_phases_init(struct migrate_phases *ph, int64_t now_ms);

/* phase ended at now_ms: it gets the time since the last mark (added, if it
 * ran before). */
void migrate_phases_mark(struct migrate_phases *ph, enum migrate_phase phase, int64_t now_ms);

/* After the call (marked MIGRATE): moves the watcher's set-up out of it, and
 * takes libvirt's figures from done (the completed job, NULL if unknown). */
void migrate_phases_migrated(struct migrate_phases *ph, const struct migrate_result *r,
                             const struct virt_job_stats *done);

void migrate_phases_split(const struct migrate_phases *ph, struct migrate_call_split *ret_split);

/* The breakdown at now_ms, for the debug line "migrate_to phases: ...":
 * resolve= connect= (probe= open=) preflight= (states= sync= xml= checks=)
 * before= (tune= watch=) migrate= (prepare= setup= copy= downtime= finish=)
 * after= total=, all in ms. */
void migrate_phases_format(const struct migrate_phases *ph, int64_t now_ms, char *buf,
                           size_t size);

/* One line of key=value pairs describing a migration. */
void migrate_result_format(const struct migrate_result *r, const char *domain,
                           const char *from, const char *to, const char *mode,
                           const char *policy, char *buf, size_t size);

#endif
