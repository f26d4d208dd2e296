/* cpuload.h — a node's CPU load for ocf:ferry:health-cpu, and the
 * red/yellow/green health it turns into, with hysteresis.
 *
 * The measure is either the whole host (/proc/stat: busy against all time of
 * all CPUs) or one cgroup v2 directory (cpu.stat's usage_usec against the time
 * the cgroup may use: its cpu.max quota, else the online CPUs; on a hybrid host
 * whose cpu controller is still on cgroup v1, the v1 cpu.cfs_quota_us of the
 * same cgroup path). Each monitor compares the counters with the ones the
 * previous monitor kept in the state file: no sleeping inside an action.
 *
 * Health, RHV-style (Evenly_Distributed, CpuOverCommitDurationMinutes):
 *   red     busy >= red_percent for red_after_ms in a row;
 *   green   back only once busy < green_percent for green_after_ms in a row;
 *   yellow  in between: busy above red_percent but not long enough yet
 *           (warming), or below green_percent after red but not long enough
 *           yet (cooling down). Between the two thresholds nothing changes.
 * Under node-health-strategy=progressive a yellow node takes no new resources
 * but keeps its own; a red one loses them.
 *
 * Pure functions (parsers, the state machine with its time injected) plus the
 * file reads and the state file; no logging, no exec.
 */
#ifndef FERRY_CPULOAD_H
#define FERRY_CPULOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CPULOAD_DEFAULT_ATTRIBUTE "#health-ferry-cpu"
#define CPULOAD_DEFAULT_RED_PERCENT 80
#define CPULOAD_DEFAULT_GREEN_PERCENT 60
#define CPULOAD_DEFAULT_RED_AFTER_S 120
#define CPULOAD_DEFAULT_GREEN_AFTER_S 120
#define CPULOAD_DEFAULT_STATE_DIR "/run/resource-agents"
#define CPULOAD_MAX_AFTER_S 86400
/* the "source" a state file records for the whole host */
#define CPULOAD_SOURCE_HOST "/proc/stat"

enum cpuload_health {
    CPULOAD_GREEN = 0,
    CPULOAD_YELLOW,
    CPULOAD_RED,
};

/* "green", "yellow", "red": the attribute's values */
extern const char *const cpuload_health_names[3];

struct cpuload_thresholds {
    int red_percent;
    int green_percent;
    int64_t red_after_ms;
    int64_t green_after_ms;
};

struct cpuload_params {
    char *cgroup;             /* a cgroup v2 directory, or NULL: the whole host */
    char *attribute;          /* the node attribute, "#health-ferry-cpu" */
    struct cpuload_thresholds thresholds;
    char *state_dir;          /* HA_RSCTMP, else /run/resource-agents */
    char *instance;           /* OCF_RESOURCE_INSTANCE */
    int64_t timeout_ms;       /* OCF_RESKEY_CRM_meta_timeout, 0 if not given */
    int64_t interval_ms;      /* OCF_RESKEY_CRM_meta_interval: 0 for a probe */
    bool debug;               /* HA_debug */
};

/* Reads the OCF environment into *ret_params (always set, defaults where a
 * value is missing or bad, unless -ENOMEM). 0; FERRY_E_CONFIG with err set
 * when a value is bad (a percentage not in 1..100, green above red, a
 * duration not in 0..86400 s, a cgroup path that is not absolute, an
 * attribute name that is empty or too long); -ENOMEM. */
int cpuload_params_parse(char *const *envp, struct cpuload_params **ret_params, ferry_error **err);
/* Accepts NULL; returns NULL. */
struct cpuload_params *cpuload_params_free(struct cpuload_params *p);

/* One reading of the counters. */
struct cpuload_sample {
    int64_t time_ms;          /* CLOCK_MONOTONIC when read */
    int64_t busy_usec;        /* CPU time used: /proc/stat's busy fields, or usage_usec */
    int64_t total_usec;       /* /proc/stat: the time of all CPUs; a cgroup: 0 */
    int64_t capacity_mcpu;    /* a cgroup: the CPUs it may use, x1000; /proc/stat: 0 */
};

/* /proc/stat's "cpu" line: busy (all but idle and iowait) and total time in
 * usec, from ticks of clk_tck per second. 0 or -EINVAL. */
int cpuload_proc_stat_parse(const char *text, long clk_tck, int64_t *ret_busy_usec,
                            int64_t *ret_total_usec);
/* cgroup v2 cpu.stat: its usage_usec. 0 or -EINVAL. */
int cpuload_cpu_stat_parse(const char *text, int64_t *ret_usage_usec);
/* cgroup v2 cpu.max ("max 100000", "30000 100000"): the quota in CPUs x1000,
 * 0 for no limit. 0 or -EINVAL. */
int cpuload_cpu_max_parse(const char *text, int64_t *ret_capacity_mcpu);
/* cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us: the same, -1 quota = 0. */
int cpuload_cfs_parse(const char *quota_text, const char *period_text, int64_t *ret_capacity_mcpu);
/* On a hybrid host (/proc/self/mountinfo's text): the cgroup v1 cpu
 * controller's directory for the same cgroup as the v2 directory v2_dir.
 * 0 with ret_dir set; -ENOENT when v2_dir is on no cgroup2 mount or there is
 * no v1 cpu mount holding that cgroup; -ENAMETOOLONG. */
int cpuload_v1_cpu_dir(const char *mountinfo, const char *v2_dir, char *ret_dir, size_t size);

/* Reads the counters of cgroup (NULL or "": the whole host) now.
 * 0; FERRY_E_INSTALLED (err set) when they cannot be read or understood. */
int cpuload_sample_read(const char *cgroup, struct cpuload_sample *ret_sample, ferry_error **err);

/* Busy percentage (0..100) between two readings of the same source.
 * 0; -EINVAL when no time passed or a counter went back (a cgroup made anew). */
int cpuload_busy_percent(const struct cpuload_sample *prev, const struct cpuload_sample *cur,
                         double *ret_percent);

/* What the state file keeps between two actions. */
struct cpuload_state {
    enum cpuload_health health;
    bool cooling;             /* yellow on its way down from red */
    int64_t above_since_ms;   /* start of the run of readings >= red_percent, -1 */
    int64_t below_since_ms;   /* start of the run of readings < green_percent, -1 */
    int64_t changed_ms;       /* when health last changed */
    bool have_sample;
    char source[512];         /* the cgroup the sample is of, or CPULOAD_SOURCE_HOST */
    struct cpuload_sample sample;
};

/* green, no run, no sample, changed at now_ms */
void cpuload_state_init(struct cpuload_state *s, int64_t now_ms);

/* One reading of busy_percent over [from_ms, to_ms]: moves the health as the
 * thresholds say. true when the health changed (s->changed_ms = to_ms). */
bool cpuload_state_update(struct cpuload_state *s, const struct cpuload_thresholds *t,
                          double busy_percent, int64_t from_ms, int64_t to_ms);

/* The state file as text, and back. format: 0 or -ENOSPC; parse: 0 or -EINVAL. */
int cpuload_state_format(const struct cpuload_state *s, char *buf, size_t size);
int cpuload_state_parse(const char *text, struct cpuload_state *ret_state);

/* $state_dir/ferry-health-cpu-<instance>.state. 0 or -ENAMETOOLONG. */
int cpuload_state_path(const struct cpuload_params *p, char *buf, size_t size);
/* Writes atomically (a temporary file, then rename). 0 or -errno (err set). */
int cpuload_state_write(const char *path, const struct cpuload_state *s, ferry_error **err);
/* 0; -ENOENT when there is none (not started); -EINVAL or -errno (err set). */
int cpuload_state_read(const char *path, struct cpuload_state *ret_state, ferry_error **err);

#endif
