/* health-cpu.c — ocf:ferry:health-cpu, a node health agent.
 *
 * Run as a clone on every node: each monitor measures the CPU load since the
 * previous monitor (the whole host from /proc/stat, or one cgroup v2), turns it
 * into red/yellow/green with hysteresis (lib/cpuload.h) and sets the node
 * attribute #health-ferry-cpu with attrd_updater when that changes; Pacemaker's
 * node-health-strategy then keeps new resources off a yellow node and moves
 * them off a red one (live, for ocf:ferry:vm with allow-migrate=true).
 * Thin like vm.c: parse the environment, call lib/, turn the result into an
 * OCF exit code. Only agents/ knows OCF exit codes.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpuload.h"
#include "deadline.h"
#include "error.h"
#include "exec.h"
#include "log.h"
#include "ocf.h"

extern char **environ;

/* OCF resource agent API 1.1, "Exit codes". */
enum ocf_exitcode {
    OCF_SUCCESS = 0,
    OCF_ERR_GENERIC = 1,
    OCF_ERR_ARGS = 2,
    OCF_ERR_UNIMPLEMENTED = 3,
    OCF_ERR_PERM = 4,
    OCF_ERR_INSTALLED = 5,
    OCF_ERR_CONFIGURED = 6,
    OCF_NOT_RUNNING = 7,
};

/* advertised timeouts, and the ones used when Pacemaker gives none */
#define HEALTH_TIMEOUT_MS 20000
#define HEALTH_MONITOR_INTERVAL_S 10
#define HEALTH_ATTRD_UPDATER "attrd_updater"

struct agent {
    const char *action;
    struct cpuload_params *params;
    deadline dl;
    const char *reason_prefix;
    char state_path[PATH_MAX];
};

/* The meta-data: OCF 1.1 callers (Pacemaker >= 2.1) also get reload-agent and
 * the reloadable flags; anyone else the subset valid against ra-api-1.dtd. */
static void
agent_metadata_write(FILE *out, bool ocf_1_1)
{
    const char *reloadable = ocf_1_1 ? " reloadable=\"1\"" : "";

    fprintf(out,
"<?xml version=\"1.0\"?>\n"
"%s"
"<resource-agent name=\"health-cpu\" version=\"%s\">\n"
"<version>%s</version>\n"
"<longdesc lang=\"en\">\n"
"A node health agent (ferry's health-cpu), run as a clone with the meta attribute "
"allow-unhealthy-nodes=true (so that it keeps running, and measuring, on a node it has turned red). "
"Each monitor measures the CPU load since the previous monitor: the whole host from /proc/stat "
"(busy against all time of all CPUs), or, with 'cgroup', one cgroup v2 directory (its cpu.stat "
"usage_usec against the CPU time its cpu.max quota allows, else the online CPUs). It sets the node "
"attribute 'attribute' (default #health-ferry-cpu) with attrd_updater whenever the health changes, "
"with hysteresis so that resources do not ping-pong: red when the load stays at or above "
"red_percent for red_after_s (RHV's HighUtilization and CpuOverCommitDurationMinutes); a red node is green again only "
"once it stays below green_percent for green_after_s; yellow in between (busy, but not for long "
"enough yet; or cooling down after red). A load between the two thresholds changes nothing. With "
"node-health-strategy=progressive (node-health-red=-INFINITY, node-health-yellow a small negative "
"score below the resource stickiness) a yellow node keeps its resources but receives no new ones, and "
"a red node loses them: ocf:ferry:vm resources with allow-migrate=true leave it by live migration, "
"migration-limit at a time. Monitor always succeeds while the agent is started (a loaded node is not "
"a failed resource); stop deletes the attribute.\n"
"</longdesc>\n"
"<shortdesc lang=\"en\">Sets a node health attribute from the CPU load, with hysteresis</shortdesc>\n"
"<parameters>\n"
"<parameter name=\"cgroup\" unique=\"0\" required=\"0\"%s>\n"
"<longdesc lang=\"en\">\n"
"A cgroup v2 directory (e.g. /sys/fs/cgroup/machine.slice) whose CPU use is the load, as a percentage "
"of what its cpu.max quota allows (of the online CPUs if it has none; on a hybrid host whose cpu "
"controller is on cgroup v1, of the v1 cpu.cfs_quota_us of the same cgroup). Empty: the whole host "
"(/proc/stat), which is what a hypervisor normally wants.\n"
"</longdesc>\n"
"<shortdesc lang=\"en\">cgroup v2 directory to measure (empty: the host)</shortdesc>\n"
"<content type=\"string\" default=\"\" />\n"
"</parameter>\n"
"<parameter name=\"attribute\" unique=\"0\" required=\"0\">\n"
"<longdesc lang=\"en\">\n"
"The node attribute to set to red, yellow or green. Pacemaker's node-health-strategy reads the "
"attributes whose names begin with #health-.\n"
"</longdesc>\n"
"<shortdesc lang=\"en\">Node health attribute</shortdesc>\n"
"<content type=\"string\" default=\"%s\" />\n"
"</parameter>\n"
"<parameter name=\"red_percent\" unique=\"0\" required=\"0\"%s>\n"
"<longdesc lang=\"en\">\n"
"The load (percent, 1-100) at or above which, sustained for red_after_s, the node turns red "
"(RHV's HighUtilization).\n"
"</longdesc>\n"
"<shortdesc lang=\"en\">Red threshold (percent)</shortdesc>\n"
"<content type=\"integer\" default=\"%d\" />\n"
"</parameter>\n"
"<parameter name=\"red_after_s\" unique=\"0\" required=\"0\"%s>\n"
"<longdesc lang=\"en\">\n"
"How long (seconds, 0-86400) the load must stay at or above red_percent before the node turns red "
"(RHV's CpuOverCommitDurationMinutes, 2 minutes). Until then the node is yellow.\n"
"</longdesc>\n"
"<shortdesc lang=\"en\">Seconds above red_percent before red</shortdesc>\n"
"<content type=\"integer\" default=\"%d\" />\n"
"</parameter>\n"
"<parameter name=\"green_percent\" unique=\"0\" required=\"0\"%s>\n"
"<longdesc lang=\"en\">\n"
"The load (percent, 1-100, at most red_percent) below which a node cools down: after red it is "
"yellow at once and green once the load stays below this for green_after_s.\n"
"</longdesc>\n"
"<shortdesc lang=\"en\">Green threshold (percent)</shortdesc>\n"
"<content type=\"integer\" default=\"%d\" />\n"
"</parameter>\n"
"<parameter name=\"green_after_s\" unique=\"0\" required=\"0\"%s>\n"
"<longdesc lang=\"en\">\n"
"How long (seconds, 0-86400) the load must stay below green_percent before a node that was red is "
"green again.\n"
"</longdesc>\n"
"<shortdesc lang=\"en\">Seconds below green_percent before green</shortdesc>\n"
"<content type=\"integer\" default=\"%d\" />\n"
"</parameter>\n"
"</parameters>\n"
"<actions>\n"
"<action name=\"start\" timeout=\"20s\" />\n"
"<action name=\"stop\" timeout=\"20s\" />\n"
"<action name=\"monitor\" timeout=\"20s\" interval=\"%ds\" depth=\"0\" />\n"
"%s"
"<action name=\"meta-data\" timeout=\"5s\" />\n"
"<action name=\"validate-all\" timeout=\"20s\" />\n"
"</actions>\n"
"</resource-agent>\n",
            ocf_1_1 ? "" : "<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n",
            PACKAGE_VERSION, ocf_1_1 ? "1.1" : "1.0", reloadable, CPULOAD_DEFAULT_ATTRIBUTE,
            reloadable, CPULOAD_DEFAULT_RED_PERCENT, reloadable, CPULOAD_DEFAULT_RED_AFTER_S,
            reloadable, CPULOAD_DEFAULT_GREEN_PERCENT, reloadable, CPULOAD_DEFAULT_GREEN_AFTER_S,
            HEALTH_MONITOR_INTERVAL_S,
            ocf_1_1 ? "<action name=\"reload-agent\" timeout=\"20s\" />\n" : "");
}

static void
agent_usage_write(FILE *out, const char *argv0)
{
    fprintf(out, "usage: %s {start|stop|monitor|validate-all|reload-agent|meta-data}\n", argv0);
}

static int
agent_fail(const struct agent *a, int rc, const ferry_error *err)
{
    log_error("%s failed: %s", a->action, error_message(err));
    ocf_exit_reason_write(stderr, a->reason_prefix, error_message(err));
    return rc;
}

static int
agent_rc_from_error(const ferry_error *err)
{
    switch (error_code(err)) {
    case FERRY_E_CONFIG:
        return OCF_ERR_CONFIGURED;
    case FERRY_E_INSTALLED:
        return OCF_ERR_INSTALLED;
    case -EPERM:
    case -EACCES:
        return OCF_ERR_PERM;
    default:
        return OCF_ERR_GENERIC;
    }
}

static const char *
agent_source(const struct cpuload_params *p)
{
    return p->cgroup ? p->cgroup : CPULOAD_SOURCE_HOST;
}

/* attrd_updater -n NAME -U VALUE, or -D when value is NULL. */
static int
agent_attribute_set(struct agent *a, const char *value, ferry_error **err)
{
    char *argv[] = { HEALTH_ATTRD_UPDATER, "-n", a->params->attribute, value ? "-U" : "-D",
                     (char *)value, NULL };
    struct exec_result r;
    int rc = exec_run(argv, &a->dl, &r, err);

    if (rc < 0) {
        error_prefix(*err, "%s -n '%s' %s: ", HEALTH_ATTRD_UPDATER, a->params->attribute,
                     value ? value : "-D");
        return rc;
    }
    if (r.exit_status != 0)
        return error_set(err, -EIO, "%s -n '%s' %s %s failed (%s %d): %s", HEALTH_ATTRD_UPDATER,
                         a->params->attribute, value ? "-U" : "-D", value ? value : "",
                         r.signal ? "signal" : "exit status", r.signal ? r.signal : r.exit_status,
                         r.first_line[0] ? r.first_line : "no output");
    return 0;
}

static void
agent_thresholds_text(const struct cpuload_thresholds *t, char *buf, size_t size)
{
    snprintf(buf, size, "red at >= %d %% for %lld s, green below %d %% for %lld s",
             t->red_percent, (long long)(t->red_after_ms / 1000), t->green_percent,
             (long long)(t->green_after_ms / 1000));
}

static int
agent_start(struct agent *a)
{
    struct cpuload_state st;
    struct cpuload_sample sample;
    ferry_error *err = NULL;
    char thr[160];
    int rc = OCF_SUCCESS;

    if (cpuload_sample_read(a->params->cgroup, &sample, &err) < 0) {
        rc = agent_fail(a, agent_rc_from_error(err), err);
        goto cleanup;
    }
    /* started already: keep what it measured, say it again */
    if (cpuload_state_read(a->state_path, &st, &err) < 0) {
        err = error_free(err);
        cpuload_state_init(&st, deadline_now_ms());
    }
    if (mkdir(a->params->state_dir, 0755) < 0 && errno != EEXIST) {
        error_set(&err, -errno, "cannot create %s: %s", a->params->state_dir, strerror(errno));
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
        goto cleanup;
    }
    if (agent_attribute_set(a, cpuload_health_names[st.health], &err) < 0 ||
        cpuload_state_write(a->state_path, &st, &err) < 0) {
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
        goto cleanup;
    }
    agent_thresholds_text(&a->params->thresholds, thr, sizeof(thr));
    log_info("start: %s=%s; measuring %s (%s)", a->params->attribute, cpuload_health_names[st.health],
             agent_source(a->params), thr);
cleanup:
    error_free(err);
    return rc;
}

/* Stop never fails for the attribute: a node leaving the cluster loses its
 * transient attributes anyway, and a failed stop would get it fenced. */
static int
agent_stop(struct agent *a)
{
    ferry_error *err = NULL;
    bool deleted = true;
    int rc = OCF_SUCCESS;

    if (agent_attribute_set(a, NULL, &err) < 0) {
        log_warning("stop: %s", error_message(err));
        err = error_free(err);
        deleted = false;
    }
    if (unlink(a->state_path) < 0 && errno != ENOENT) {
        error_set(&err, -errno, "cannot remove %s: %s", a->state_path, strerror(errno));
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
    } else if (deleted) {
        log_info("stop: %s deleted", a->params->attribute);
    }
    error_free(err);
    return rc;
}

static int
agent_monitor(struct agent *a)
{
    const struct cpuload_thresholds *t = &a->params->thresholds;
    struct cpuload_state st;
    struct cpuload_sample now;
    enum cpuload_health old = CPULOAD_GREEN;
    int64_t old_changed_ms = 0;
    ferry_error *err = NULL;
    const char *source = agent_source(a->params);
    char thr[160];
    double pct = 0;
    int64_t run_ms = 0;
    int rc = OCF_SUCCESS;

    if (cpuload_state_read(a->state_path, &st, &err) == -ENOENT) {
        rc = OCF_NOT_RUNNING;
        goto cleanup;
    } else if (err) {
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
        goto cleanup;
    }
    if (a->params->interval_ms == 0)   /* a probe: started, nothing measured */
        goto cleanup;
    if (cpuload_sample_read(a->params->cgroup, &now, &err) < 0) {
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
        goto cleanup;
    }
    if (!st.have_sample || strcmp(st.source, source) != 0 ||
        cpuload_busy_percent(&st.sample, &now, &pct) < 0) {
        /* the first monitor after start (or a new source): only records */
        log_debug("monitor: first reading of %s recorded", source);
    } else {
        old = st.health;
        old_changed_ms = st.changed_ms;
        if (cpuload_state_update(&st, t, pct, st.sample.time_ms, now.time_ms)) {
            agent_thresholds_text(t, thr, sizeof(thr));
            run_ms = now.time_ms - (st.health == CPULOAD_RED || !st.cooling ?
                                    st.above_since_ms : st.below_since_ms);
            if (st.health == CPULOAD_GREEN)
                run_ms = st.below_since_ms >= 0 ? now.time_ms - st.below_since_ms : 0;
            if (agent_attribute_set(a, cpuload_health_names[st.health], &err) < 0) {
                /* tried again at the next monitor: the timers stay */
                log_warning("monitor: %s; %s stays %s for now", error_message(err),
                            a->params->attribute, cpuload_health_names[old]);
                err = error_free(err);
                st.health = old;
                st.changed_ms = old_changed_ms;
            } else {
                log_info("%s: %s -> %s: %s busy %.1f %% over the last %.1f s, %s for %.1f s "
                         "(%s; %s %.1f s)", a->params->attribute, cpuload_health_names[old],
                         cpuload_health_names[st.health], source, pct,
                         (double)(now.time_ms - st.sample.time_ms) / 1000.0,
                         st.health == CPULOAD_GREEN || st.cooling ? "below green" : "at or above red",
                         (double)run_ms / 1000.0, thr, cpuload_health_names[old],
                         (double)(now.time_ms - old_changed_ms) / 1000.0);
            }
        } else {
            log_debug("monitor: %s busy %.1f %%: %s", source, pct, cpuload_health_names[st.health]);
        }
    }
    st.have_sample = true;
    st.sample = now;
    snprintf(st.source, sizeof(st.source), "%s", source);
    if (cpuload_state_write(a->state_path, &st, &err) < 0)
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
cleanup:
    error_free(err);
    return rc;
}

static int
agent_validate(struct agent *a)
{
    struct cpuload_sample sample;
    ferry_error *err = NULL;
    int rc = OCF_SUCCESS;

    if (cpuload_sample_read(a->params->cgroup, &sample, &err) < 0)
        rc = agent_fail(a, agent_rc_from_error(err), err);
    error_free(err);
    return rc;
}

/* reload-agent: new thresholds or cgroup apply from the next monitor (a new
 * cgroup's first monitor only records). */
static int
agent_reload(struct agent *a)
{
    char thr[160];
    int rc = agent_validate(a);

    if (rc == OCF_SUCCESS) {
        agent_thresholds_text(&a->params->thresholds, thr, sizeof(thr));
        log_info("reload-agent: measuring %s (%s) from the next monitor", agent_source(a->params), thr);
    }
    return rc;
}

static bool
agent_action_known(const char *action)
{
    static const char *const known[] = { "start", "stop", "monitor", "status", "validate-all",
                                         "reload-agent" };
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(action, known[i]) == 0)
            return true;
    return false;
}

/* A small non-negative number from the environment; 0 if unset or not one. */
static int
agent_env_int(const char *var)
{
    const char *text = getenv(var);
    char *end = NULL;
    long value = 0;

    if (text == NULL || *text < '0' || *text > '9')
        return 0;
    value = strtol(text, &end, 10);
    return *end == '\0' && value < 1000 ? (int)value : 0;
}

int
main(int argc, char **argv)
{
    struct agent a;
    ferry_error *err = NULL;
    char tag[128];
    const char *instance = getenv("OCF_RESOURCE_INSTANCE");
    int rc = OCF_ERR_GENERIC;

    memset(&a, 0, sizeof(a));
    signal(SIGPIPE, SIG_IGN);
    a.reason_prefix = getenv("OCF_EXIT_REASON_PREFIX");
    if (a.reason_prefix == NULL || *a.reason_prefix == '\0')
        a.reason_prefix = "ocf-exit-reason:";
    if (argc < 2) {
        agent_usage_write(stderr, argv[0]);
        return OCF_ERR_ARGS;
    }
    a.action = argv[1];
    if (strcmp(a.action, "meta-data") == 0) {
        agent_metadata_write(stdout, agent_env_int("OCF_RA_VERSION_MAJOR") > 1 ||
                                     (agent_env_int("OCF_RA_VERSION_MAJOR") == 1 &&
                                      agent_env_int("OCF_RA_VERSION_MINOR") >= 1));
        return fflush(stdout) == 0 ? OCF_SUCCESS : OCF_ERR_GENERIC;
    }
    if (strcmp(a.action, "usage") == 0 || strcmp(a.action, "help") == 0) {
        agent_usage_write(stdout, argv[0]);
        return OCF_SUCCESS;
    }
    if (!agent_action_known(a.action)) {
        agent_usage_write(stderr, argv[0]);
        error_set(&err, FERRY_E_ARGS, "action '%s' is not implemented", a.action);
        ocf_exit_reason_write(stderr, a.reason_prefix, error_message(err));
        error_free(err);
        return OCF_ERR_UNIMPLEMENTED;
    }

    if (cpuload_params_parse(environ, &a.params, &err) == -ENOMEM) {
        ocf_exit_reason_write(stderr, a.reason_prefix, error_message(err));
        error_free(err);
        return OCF_ERR_GENERIC;
    }
    snprintf(tag, sizeof(tag), "ferry-health-cpu(%s)[%ld]", instance && *instance ? instance : "-",
             (long)getpid());
    log_open(getenv("HA_LOGTAG") ? NULL : tag, a.params->debug, true);
    deadline_init(&a.dl, a.params->timeout_ms > 0 ? a.params->timeout_ms : HEALTH_TIMEOUT_MS);
    if (cpuload_state_path(a.params, a.state_path, sizeof(a.state_path)) < 0) {
        error_free(err);
        err = NULL;
        error_set(&err, FERRY_E_CONFIG, "state file name too long under %s", a.params->state_dir);
    }
    /* bad parameters: refuse every action but stop, which goes on with the
     * defaults (it deletes the default attribute then) */
    if (err && strcmp(a.action, "stop") != 0) {
        rc = agent_fail(&a, agent_rc_from_error(err), err);
        goto cleanup;
    } else if (err) {
        log_warning("stop: %s; stopping with the defaults", error_message(err));
    }

    if (strcmp(a.action, "start") == 0)
        rc = agent_start(&a);
    else if (strcmp(a.action, "stop") == 0)
        rc = agent_stop(&a);
    else if (strcmp(a.action, "monitor") == 0 || strcmp(a.action, "status") == 0)
        rc = agent_monitor(&a);
    else if (strcmp(a.action, "validate-all") == 0)
        rc = agent_validate(&a);
    else
        rc = agent_reload(&a);
cleanup:
    error_free(err);
    cpuload_params_free(a.params);
    log_close();
    return rc;
}
