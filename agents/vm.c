/* vm.c — ocf:ferry:vm, the agent binary.
 *
 * Thin on purpose: parse the action and the environment once, call lib/, and
 * turn the result into an OCF exit code. Only this file knows OCF exit codes.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "ocf.h"
#include "params.h"
#include "migration.h"
#include "vm.h"

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
    OCF_DEGRADED = 190,
};

struct agent {
    enum ocf_action action;
    const char *action_name;
    struct ferry_params *params;
    deadline dl;
    const char *reason_prefix;
    timer_t watchdog;
    bool watchdog_armed;
    char watchdog_msg[512];
};

/* Runs in a thread of its own when the action's time is nearly up: answer
 * before Pacemaker's SIGKILL, with a reason, instead of dying silently. */
static void
agent_watchdog_fire(union sigval value)
{
    const char *msg = value.sival_ptr;

    if (write(STDERR_FILENO, msg, strlen(msg)) < 0) {
        /* nothing else can be done */
    }
    _exit(OCF_ERR_GENERIC);
}

static void
agent_watchdog_arm(struct agent *a, int64_t timeout_ms)
{
    struct sigevent sev;
    struct itimerspec its;
    int64_t fire_ms = timeout_ms - deadline_margin_ms(timeout_ms) / 2;

    snprintf(a->watchdog_msg, sizeof(a->watchdog_msg),
             "%s%s did not finish within %lld ms of its %lld ms timeout; giving up before "
             "Pacemaker kills the agent\n",
             a->reason_prefix, a->action_name, (long long)fire_ms, (long long)timeout_ms);
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = agent_watchdog_fire;
    sev.sigev_value.sival_ptr = a->watchdog_msg;
    if (timer_create(CLOCK_MONOTONIC, &sev, &a->watchdog) < 0) {
        log_warning("cannot arm the watchdog timer: %s", strerror(errno));
        return;
    }
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = fire_ms / 1000;
    its.it_value.tv_nsec = (fire_ms % 1000) * 1000000;
    if (timer_settime(a->watchdog, 0, &its, NULL) < 0) {
        timer_delete(a->watchdog);
        return;
    }
    a->watchdog_armed = true;
}

static int
agent_fail(const struct agent *a, int rc, const ferry_error *err)
{
    log_error("%s failed: %s", a->action_name, error_message(err));
    ocf_exit_reason_write(stderr, a->reason_prefix, error_message(err));
    return rc;
}

/* Most errors map one to one; monitor and stop never say "not installed"
 * (a probe would take 5 as "stopped here": the double start of
 * resource-agents issue #856). */
static int
agent_rc_from_error(const struct agent *a, const ferry_error *err)
{
    int code = error_code(err);
    bool checks_state = a->action == OCF_ACTION_MONITOR || a->action == OCF_ACTION_STATUS ||
                        a->action == OCF_ACTION_STOP;

    switch (code) {
    case FERRY_E_CONFIG:
        return OCF_ERR_CONFIGURED;
    case FERRY_E_INSTALLED:
        return checks_state ? OCF_ERR_GENERIC : OCF_ERR_INSTALLED;
    case FERRY_E_ARGS:
        return OCF_ERR_ARGS;
    case -EPERM:
    case -EACCES:
        return checks_state ? OCF_ERR_GENERIC : OCF_ERR_PERM;
    default:
        return OCF_ERR_GENERIC;
    }
}

/* How long an action waits for the node's metrics lock. */
#define AGENT_METRICS_WAIT_MS 1000

/* Counts the action into node_exporter's textfile (metrics_dir); never fails the action. */
static void
agent_metrics_record(struct agent *a, const struct metrics_migration *m, const char *result)
{
    deadline dl = deadline_sub(&a->dl, AGENT_METRICS_WAIT_MS);
    ferry_error *err = NULL;
    int rc = m ? metrics_record_migration(a->params->metrics_dir, m, &dl, &err) :
                 metrics_record_monitor(a->params->metrics_dir, result, &dl, &err);

    if (rc == -ENOENT)
        log_debug("%s", error_message(err));
    else if (rc < 0)
        log_warning("%s", error_message(err));
    error_free(err);
}

static void
agent_metrics_migration(struct agent *a, const struct migration_result *r, int code)
{
    struct metrics_migration m = {
        .mode = params_migrate_names[a->params->migrate_mode],
        .outcome = r->outcome[0] ? r->outcome : "refused",
        .reason = code == 0 ? METRICS_REASON_NONE :
                  metrics_reason_classify(code, r->outcome, r->trigger),
        .total_ms = r->outcome[0] ? r->total_ms : -1,
        .downtime_ms = r->outcome[0] ? r->downtime_ms : -1,
        .pause_ms = r->outcome[0] ? r->pause_ms : -1,
        .bytes = r->bytes,
        .time_s = (int64_t)time(NULL),
    };

    agent_metrics_record(a, &m, NULL);
}

static int
agent_monitor(struct agent *a)
{
    static const char *const monitor_results[] = {
        [VM_STATUS_STOPPED] = "stopped",
        [VM_STATUS_RUNNING] = "running",
        [VM_STATUS_DEGRADED] = "degraded",
        [VM_STATUS_FAILED] = "failed",
    };
    struct vm_monitor_result r;
    ferry_error *err = NULL;
    bool probe = a->params->interval_ms == 0;
    int rc = OCF_ERR_GENERIC;

    if (vm_monitor(a->params, &a->dl, &r, &err) < 0) {
        rc = agent_fail(a, agent_rc_from_error(a, err), err);
        agent_metrics_record(a, NULL, "error");
        goto cleanup;
    }
    switch (r.status) {
    case VM_STATUS_STOPPED:
        log_debug("%s: domain '%s' is %s", probe ? "probe" : "monitor", r.name, r.detail);
        rc = OCF_NOT_RUNNING;
        break;
    case VM_STATUS_RUNNING:
        log_debug("%s: domain '%s' is %s", probe ? "probe" : "monitor", r.name, r.detail);
        rc = OCF_SUCCESS;
        break;
    case VM_STATUS_DEGRADED:
        log_warning("domain '%s' is %s: active, but not running", r.name, r.detail);
        ocf_exit_reason_write(stderr, a->reason_prefix, r.detail);
        rc = params_ra_version_at_least(a->params, 1, 1) ? OCF_DEGRADED : OCF_SUCCESS;
        break;
    case VM_STATUS_FAILED:
        error_set(&err, FERRY_E_STATE, "domain '%s' is %s", r.name, r.detail);
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
        break;
    }
    agent_metrics_record(a, NULL, monitor_results[r.status]);
cleanup:
    error_free(err);
    return rc;
}

static int
agent_start(struct agent *a)
{
    struct vm_start_result r;
    ferry_error *err = NULL;
    int rc = OCF_SUCCESS;

    if (vm_start(a->params, &a->dl, &r, &err) < 0)
        rc = agent_fail(a, agent_rc_from_error(a, err), err);
    else
        log_info("start: domain '%s' %s in %lld ms", r.name, r.how,
                 (long long)deadline_elapsed_ms(&a->dl));
    error_free(err);
    return rc;
}

static int
agent_stop(struct agent *a)
{
    static const char *const hows[] = {
        [VM_STOP_WAS_STOPPED] = "was already stopped",
        [VM_STOP_GRACEFUL] = "shut down gracefully",
        [VM_STOP_DESTROYED] = "destroyed",
        [VM_STOP_SAVED] = "saved to its snapshot image",
    };
    struct vm_stop_result r;
    ferry_error *err = NULL;
    int rc = OCF_SUCCESS;

    if (vm_stop(a->params, &a->dl, &r, &err) < 0)
        rc = agent_fail(a, agent_rc_from_error(a, err), err);
    else if (r.note[0])
        log_warning("stop: domain '%s' %s in %lld ms: %s", r.name, hows[r.how],
                    (long long)r.elapsed_ms, r.note);
    else
        log_info("stop: domain '%s' %s in %lld ms (graceful budget %lld ms)", r.name,
                 hows[r.how], (long long)r.elapsed_ms, r.graceful_budget_ms > 0 ?
                 (long long)r.graceful_budget_ms : 0LL);
    error_free(err);
    return rc;
}

static int
agent_migrate_to(struct agent *a)
{
    struct migration_result r;
    ferry_error *err = NULL;
    int rc = OCF_SUCCESS;

    memset(&r, 0, sizeof(r));
    /* Every failure is an ordinary error (1): Pacemaker then stops the
     * resource on both nodes and starts it once; 2, 5 or 6 would also ban it. */
    if (migration_to(a->params, &a->dl, &r, &err) < 0)
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
    else if (r.already)
        log_info("migrate_to: domain '%s' already runs on %s", r.name, r.target);
    else
        log_info("migrate_to: domain '%s' migrated to %s: %s", r.name, r.target, r.line);
    if (rc != OCF_SUCCESS && r.line[0])
        log_info("migrate_to: %s", r.line);
    if (!r.already)
        agent_metrics_migration(a, &r, rc == OCF_SUCCESS ? 0 : error_code(err));
    error_free(err);
    return rc;
}

static int
agent_migrate_from(struct agent *a)
{
    enum vm_status status = VM_STATUS_STOPPED;
    ferry_error *err = NULL;
    int rc = OCF_SUCCESS;

    if (migration_from(a->params, &a->dl, &status, &err) < 0) {
        rc = agent_fail(a, OCF_ERR_GENERIC, err);
    } else if (status != VM_STATUS_RUNNING) {
        error_set(&err, FERRY_E_STATE, "the domain does not run on this node after the migration");
        rc = agent_fail(a, OCF_NOT_RUNNING, err);
    } else {
        log_info("migrate_from: the domain runs here (from %s)",
                 a->params->migrate_source ? a->params->migrate_source : "?");
    }
    error_free(err);
    return rc;
}

/* reload-agent: Pacemaker changed reloadable parameters of a resource active
 * here. The new values are in the environment and the next actions use them;
 * check them, refresh the record, leave the guest alone. */
static int
agent_reload(struct agent *a)
{
    struct vm_reload_result r;
    ferry_error *err = NULL;
    int rc = OCF_SUCCESS;

    if (vm_reload(a->params, &a->dl, &r, &err) < 0)
        rc = agent_fail(a, agent_rc_from_error(a, err), err);
    else if (r.running && r.detail[0])
        log_warning("reload-agent: domain '%s' left running; the new parameters apply from its "
                    "next action, but: %s", r.name, r.detail);
    else if (r.running)
        log_info("reload-agent: domain '%s' left running; the new parameters apply from its "
                 "next action (migration speed %lld MiB/s, policy %s)", r.name,
                 (long long)a->params->migration_speed_mib_s,
                 params_migration_policy_names[a->params->migration_policy_id]);
    else
        log_info("reload-agent: parameters valid; nothing to refresh here (%s)", r.detail);
    error_free(err);
    return rc;
}

static int
agent_validate(struct agent *a)
{
    ferry_error *err = NULL;
    int rc = OCF_SUCCESS;

    if (vm_validate(a->params, &err) < 0)
        rc = agent_fail(a, agent_rc_from_error(a, err), err);
    error_free(err);
    return rc;
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
    const struct ocf_action_def *def = NULL;
    ferry_error *err = NULL;
    ferry_error *verr = NULL;
    int rc = OCF_ERR_GENERIC;

    memset(&a, 0, sizeof(a));
    /* A peer that goes away (the target's libvirtd dying mid-migration) is an
     * error to report, not a signal that kills the agent without a word
     * (libvirt's advice for clients; children get the default back, exec.c). */
    signal(SIGPIPE, SIG_IGN);
    a.reason_prefix = getenv("OCF_EXIT_REASON_PREFIX");
    if (a.reason_prefix == NULL || *a.reason_prefix == '\0')
        a.reason_prefix = "ocf-exit-reason:";
    if (argc < 2) {
        ocf_usage_write(stderr, argv[0]);
        return OCF_ERR_ARGS;
    }
    a.action_name = argv[1];
    a.action = ocf_action_parse(argv[1]);

    switch (a.action) {
    case OCF_ACTION_META_DATA:
        /* the OCF version the caller speaks: Pacemaker >= 2.1 says 1.1 */
        return ocf_metadata_write(stdout, agent_env_int("OCF_RA_VERSION_MAJOR"),
                                  agent_env_int("OCF_RA_VERSION_MINOR")) == 0 ?
               OCF_SUCCESS : OCF_ERR_GENERIC;
    case OCF_ACTION_USAGE:
        ocf_usage_write(stdout, argv[0]);
        return OCF_SUCCESS;
    case OCF_ACTION_UNKNOWN:
        ocf_usage_write(stderr, argv[0]);
        error_set(&err, FERRY_E_ARGS, "unknown action '%s'", argv[1]);
        ocf_exit_reason_write(stderr, a.reason_prefix, error_message(err));
        error_free(err);
        return OCF_ERR_UNIMPLEMENTED;
    default:
        break;
    }

    if (params_parse(environ, &a.params, &err) == -ENOMEM) {
        ocf_exit_reason_write(stderr, a.reason_prefix, error_message(err));
        error_free(err);
        return OCF_ERR_GENERIC;
    }
    log_open(NULL, a.params->debug, true);
    def = ocf_action_get(a.action);
    if (a.params->timeout_ms <= 0)
        a.params->timeout_ms = def->timeout_ms;
    deadline_init(&a.dl, a.params->timeout_ms);
    agent_watchdog_arm(&a, a.params->timeout_ms);
    log_debug("%s: timeout %lld ms, interval %lld ms", a.action_name,
              (long long)a.params->timeout_ms, (long long)a.params->interval_ms);

    /* Bad parameters: refuse every action but stop, which goes on with the
     * defaults (a failed stop gets the node fenced); it still fails if it
     * cannot tell which domain to stop. */
    if (err == NULL)
        params_validate(a.params, &verr);
    if (err || verr) {
        const ferry_error *first = err ? err : verr;

        if (a.action != OCF_ACTION_STOP) {
            rc = agent_fail(&a, agent_rc_from_error(&a, first), first);
            goto cleanup;
        }
        log_warning("stop: %s; stopping with the defaults", error_message(first));
    }

    switch (a.action) {
    case OCF_ACTION_START:
        rc = agent_start(&a);
        break;
    case OCF_ACTION_STOP:
        rc = agent_stop(&a);
        break;
    case OCF_ACTION_MONITOR:
    case OCF_ACTION_STATUS:
        rc = agent_monitor(&a);
        break;
    case OCF_ACTION_VALIDATE_ALL:
        rc = agent_validate(&a);
        break;
    case OCF_ACTION_MIGRATE:
        /* rgmanager: vm migrate <target-node> */
        if (argc < 3 || argv[2][0] == '\0') {
            error_set(&verr, FERRY_E_ARGS, "usage: %s migrate <target-node>", argv[0]);
            rc = agent_fail(&a, OCF_ERR_ARGS, verr);
            break;
        }
        free(a.params->migrate_target);
        a.params->migrate_target = strdup(argv[2]);
        rc = agent_migrate_to(&a);
        break;
    case OCF_ACTION_RECOVER:
        rc = agent_stop(&a);
        if (rc == OCF_SUCCESS)
            rc = agent_start(&a);
        break;
    case OCF_ACTION_RECONFIG:
        /* rgmanager: the parameters changed; a running guest has nothing to
         * apply, the next start uses them. Check them now. */
        rc = agent_validate(&a);
        break;
    case OCF_ACTION_RELOAD_AGENT:
        rc = agent_reload(&a);
        break;
    case OCF_ACTION_MIGRATE_TO:
        rc = agent_migrate_to(&a);
        break;
    case OCF_ACTION_MIGRATE_FROM:
        rc = agent_migrate_from(&a);
        break;
    default:
        error_set(&verr, FERRY_E_ARGS, "action '%s' is not implemented", a.action_name);
        ocf_exit_reason_write(stderr, a.reason_prefix, error_message(verr));
        rc = OCF_ERR_UNIMPLEMENTED;
        break;
    }

cleanup:
    if (a.watchdog_armed)
        timer_delete(a.watchdog);
    error_free(err);
    error_free(verr);
    params_free(a.params);
    log_close();
    return rc;
}
