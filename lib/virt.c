/* virt.c — see virt.h */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "virt.h"
#include "xmlnode.h"

struct virt_conn {
    virConnectPtr conn;
    char *uri;
};

/* libvirt prints every error on stderr unless a handler is installed. */
static void
virt_error_silence(void *opaque, virErrorPtr error)
{
    (void)opaque;
    (void)error;
}

/* Records libvirt's last error as ours: "<what>: <libvirt's message>", what
 * given printf-style. */
static int virt_error(ferry_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
virt_error(ferry_error **err, int code, const char *fmt, ...)
{
    const virError *ve = virGetLastError();
    const char *msg = ve && ve->message ? ve->message : "unknown libvirt error";
    char what[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* ssh's host-key warning is a screenful of '@'; say what it means */
    if (strstr(msg, "Host key verification failed"))
        msg = "ssh: Host key verification failed: the target's host key is not the one in "
              "known_hosts (strict host key checking is never turned off)";
    error_set(err, code, "%s: %s", what, msg);
    virResetLastError();
    return code;
}

static bool
virt_error_is(int code)
{
    const virError *ve = virGetLastError();

    return ve && ve->code == code;
}

int
virt_init(ferry_error **err)
{
    if (virInitialize() < 0)
        return virt_error(err, FERRY_E_LIBVIRT, "cannot initialise libvirt");
    virSetErrorFunc(NULL, virt_error_silence);
    return 0;
}

int
virt_conn_open(const char *uri, virt_conn **ret_conn, ferry_error **err)
{
    virt_conn *c = NULL;
    int ret = 0;

    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->uri = strdup(uri)) == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    c->conn = virConnectOpen(uri);
    if (c->conn == NULL) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot connect to libvirt at '%s'", uri);
        goto cleanup;
    }
    *ret_conn = c;
    c = NULL;
cleanup:
    virt_conn_close(c);
    return ret;
}

/* virt_conn_open_within's work, done in a thread that may be abandoned */
struct virt_open_job {
    char *uri;
    virt_conn *conn;
    ferry_error *err;
    int ret;
};

static void
virt_open_job_free(void *arg)
{
    struct virt_open_job *j = arg;

    virt_conn_close(j->conn);
    error_free(j->err);
    free(j->uri);
    free(j);
}

static void
virt_open_job_run(void *arg)
{
    struct virt_open_job *j = arg;

    j->ret = virt_conn_open(j->uri, &j->conn, &j->err);
}

int
virt_conn_open_within(const char *uri, const deadline *dl, virt_conn **ret_conn,
                      ferry_error **err)
{
    struct virt_open_job *j = calloc(1, sizeof(*j));
    int ret = 0;

    if (j == NULL || (j->uri = strdup(uri)) == NULL) {
        free(j);
        return error_set(err, -ENOMEM, "out of memory");
    }
    ret = deadline_run(dl, virt_open_job_run, virt_open_job_free, j);
    if (ret == -ETIMEDOUT)
        return error_set(err, FERRY_E_TIMEOUT, "cannot connect to libvirt at '%s': no answer "
                         "within %lld ms", uri, (long long)deadline_elapsed_ms(dl));
    if (ret < 0) {
        virt_open_job_free(j);
        return error_set(err, ret, "cannot start a thread to connect to '%s'", uri);
    }
    ret = j->ret;
    if (ret < 0) {
        error_set(err, ret, "%s", error_message(j->err));
    } else {
        *ret_conn = j->conn;
        j->conn = NULL;
    }
    virt_open_job_free(j);
    return ret;
}

virt_conn *
virt_conn_close(virt_conn *c)
{
    if (c == NULL)
        return NULL;
    if (c->conn)
        virConnectClose(c->conn);
    free(c->uri);
    free(c);
    return NULL;
}

const char *
virt_conn_uri(const virt_conn *c)
{
    return c->uri;
}

bool
virt_state_inactive(enum virt_state state)
{
    return state == VIRT_STATE_ABSENT || state == VIRT_STATE_SHUTOFF;
}

const char *
virt_state_name(enum virt_state state)
{
    switch (state) {
    case VIRT_STATE_ABSENT: return "absent";
    case VIRT_STATE_SHUTOFF: return "shut off";
    case VIRT_STATE_RUNNING: return "running";
    case VIRT_STATE_PAUSED: return "paused";
    case VIRT_STATE_SHUTDOWN: return "shutting down";
    case VIRT_STATE_CRASHED: return "crashed";
    case VIRT_STATE_PMSUSPENDED: return "suspended (power management)";
    case VIRT_STATE_OTHER: break;
    }
    return "unknown";
}

static enum virt_paused_why
virt_paused_why(int reason)
{
    switch (reason) {
    case VIR_DOMAIN_PAUSED_UNKNOWN:
    case VIR_DOMAIN_PAUSED_USER:
        return VIRT_PAUSED_USER;
    case VIR_DOMAIN_PAUSED_MIGRATION:
        return VIRT_PAUSED_MIGRATION;
    case VIR_DOMAIN_PAUSED_IOERROR:
        return VIRT_PAUSED_IOERROR;
    case VIR_DOMAIN_PAUSED_POSTCOPY:
        return VIRT_PAUSED_POSTCOPY;
    case VIR_DOMAIN_PAUSED_POSTCOPY_FAILED:
        return VIRT_PAUSED_POSTCOPY_FAILED;
    case VIR_DOMAIN_PAUSED_STARTING_UP:
        return VIRT_PAUSED_STARTING;
    default:
        return VIRT_PAUSED_OTHER;
    }
}

static const char *
virt_paused_text(int reason)
{
    static const char *const names[] = {
        "unknown", "user", "migration", "save", "dump", "I/O error", "watchdog",
        "from snapshot", "shutting down", "snapshot", "crashed", "starting up",
        "post-copy", "post-copy failed",
    };

    if (reason >= 0 && (size_t)reason < sizeof(names) / sizeof(names[0]))
        return names[reason];
    return "other";
}

/* Finds the domain: by UUID when known (and checks the name), else by name. */
static int
virt_domain_find(virt_conn *c, const struct virt_identity *id, virDomainPtr *ret_dom,
                 enum virt_namesake *ret_mismatch, ferry_error **err)
{
    virDomainPtr dom = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN];

    *ret_dom = NULL;
    if (ret_mismatch)
        *ret_mismatch = VIRT_NAMESAKE_NONE;
    if (id->uuid) {
        dom = virDomainLookupByUUIDString(c->conn, id->uuid);
        if (dom == NULL && !virt_error_is(VIR_ERR_NO_DOMAIN)) {
            return virt_error(err, FERRY_E_LIBVIRT, "cannot look up domain '%s' (%s)", id->name,
                              id->uuid);
        }
        if (dom) {
            *ret_dom = dom;
            return 0;
        }
        virResetLastError();
    }
    dom = virDomainLookupByName(c->conn, id->name);
    if (dom == NULL) {
        if (virt_error_is(VIR_ERR_NO_DOMAIN)) {
            virResetLastError();
            return 0;
        }
        return virt_error(err, FERRY_E_LIBVIRT, "cannot look up domain '%s'", id->name);
    }
    if (id->uuid && virDomainGetUUIDString(dom, uuid) == 0 && strcasecmp(uuid, id->uuid) != 0) {
        /* Someone else's domain under our name: not ours. */
        if (ret_mismatch)
            *ret_mismatch = virDomainIsActive(dom) == 1 ? VIRT_NAMESAKE_RUNNING :
                                                          VIRT_NAMESAKE_INACTIVE;
        virDomainFree(dom);
        return 0;
    }
    *ret_dom = dom;
    return 0;
}

static int
virt_domain_info_fill(virDomainPtr dom, const char *name, struct virt_domain_info *info,
                      ferry_error **err)
{
    int state = 0;
    int reason = 0;
    int persistent = 0;

    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        if (virt_error_is(VIR_ERR_NO_DOMAIN)) {
            /* it went away between lookup and now (a transient domain shut down) */
            virResetLastError();
            info->state = VIRT_STATE_ABSENT;
            snprintf(info->state_text, sizeof(info->state_text), "%s", "absent");
            return 0;
        }
        return virt_error(err, FERRY_E_LIBVIRT, "cannot read the state of domain '%s'", name);
    }
    persistent = virDomainIsPersistent(dom);
    info->persistent = persistent == 1;
    info->reason = reason;
    if (virDomainGetUUIDString(dom, info->uuid) < 0)
        info->uuid[0] = '\0';
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        info->state = VIRT_STATE_RUNNING;
        break;
    case VIR_DOMAIN_PAUSED:
        info->state = VIRT_STATE_PAUSED;
        info->paused_why = virt_paused_why(reason);
        break;
    case VIR_DOMAIN_SHUTDOWN:
        info->state = VIRT_STATE_SHUTDOWN;
        break;
    case VIR_DOMAIN_SHUTOFF:
        info->state = VIRT_STATE_SHUTOFF;
        break;
    case VIR_DOMAIN_CRASHED:
        info->state = VIRT_STATE_CRASHED;
        break;
    case VIR_DOMAIN_PMSUSPENDED:
        info->state = VIRT_STATE_PMSUSPENDED;
        break;
    default:
        info->state = VIRT_STATE_OTHER;
        break;
    }
    if (info->state == VIRT_STATE_PAUSED)
        snprintf(info->state_text, sizeof(info->state_text), "paused (%s)",
                 virt_paused_text(reason));
    else
        snprintf(info->state_text, sizeof(info->state_text), "%s", virt_state_name(info->state));
    return 0;
}

int
virt_domain_query(virt_conn *c, const struct virt_identity *id,
                  struct virt_domain_info *ret_info, ferry_error **err)
{
    virDomainPtr dom = NULL;
    struct virt_domain_info info;
    enum virt_namesake mismatch = VIRT_NAMESAKE_NONE;
    int ret = 0;

    memset(&info, 0, sizeof(info));
    ret = virt_domain_find(c, id, &dom, &mismatch, err);
    if (ret < 0)
        goto cleanup;
    if (dom == NULL) {
        info.state = VIRT_STATE_ABSENT;
        info.uuid_mismatch = mismatch != VIRT_NAMESAKE_NONE;
        info.namesake_running = mismatch == VIRT_NAMESAKE_RUNNING;
        snprintf(info.state_text, sizeof(info.state_text), "%s", "absent");
    } else {
        ret = virt_domain_info_fill(dom, id->name, &info, err);
        if (ret < 0)
            goto cleanup;
    }
    *ret_info = info;
cleanup:
    if (dom)
        virDomainFree(dom);
    return ret;
}

/* The UUID of dom into buf (VIR_UUID_STRING_BUFLEN), or "" */
static void
virt_domain_uuid(virDomainPtr dom, char *buf)
{
    if (virDomainGetUUIDString(dom, buf) < 0) {
        buf[0] = '\0';
        virResetLastError();
    }
}

int
virt_domain_create_xml(virt_conn *c, const char *xml, bool persistent, char ret_uuid[40],
                       ferry_error **err)
{
    virDomainPtr dom = NULL;
    int ret = 0;

    ret_uuid[0] = '\0';
    if (persistent) {
        dom = virDomainDefineXML(c->conn, xml);
        if (dom == NULL) {
            ret = virt_error(err, FERRY_E_LIBVIRT, "cannot define the domain");
            goto cleanup;
        }
        if (virDomainCreate(dom) < 0) {
            ret = virt_error(err, FERRY_E_LIBVIRT, "cannot start the domain");
            goto cleanup;
        }
    } else {
        dom = virDomainCreateXML(c->conn, xml, 0);
        if (dom == NULL) {
            ret = virt_error(err, FERRY_E_LIBVIRT, "cannot create the domain");
            goto cleanup;
        }
    }
    /* the domain libvirt made, whatever name lookups would find later */
    virt_domain_uuid(dom, ret_uuid);
cleanup:
    if (dom)
        virDomainFree(dom);
    return ret;
}

/* Our domain, which must exist: FERRY_E_STATE ("cannot VERB domain 'x': it
 * does not exist") if it does not. */
static int
virt_domain_need(virt_conn *c, const struct virt_identity *id, const char *verb,
                 virDomainPtr *ret_dom, ferry_error **err)
{
    int ret = virt_domain_find(c, id, ret_dom, NULL, err);

    if (ret == 0 && *ret_dom == NULL)
        ret = error_set(err, FERRY_E_STATE, "cannot %s domain '%s': it does not exist", verb,
                        id->name);
    return ret;
}

/* Runs op on our domain; a domain that is gone is FERRY_E_STATE. */
static int
virt_domain_op(virt_conn *c, const struct virt_identity *id, int (*op)(virDomainPtr),
               const char *verb, ferry_error **err)
{
    virDomainPtr dom = NULL;
    int ret = 0;

    ret = virt_domain_need(c, id, verb, &dom, err);
    if (ret < 0)
        goto cleanup;
    if (op(dom) < 0) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot %s domain '%s'", verb, id->name);
        goto cleanup;
    }
cleanup:
    if (dom)
        virDomainFree(dom);
    return ret;
}

static int virt_op_create(virDomainPtr d) { return virDomainCreate(d); }
static int virt_op_resume(virDomainPtr d) { return virDomainResume(d); }
static int virt_op_wakeup(virDomainPtr d) { return virDomainPMWakeup(d, 0); }
static int virt_op_shutdown(virDomainPtr d) { return virDomainShutdown(d); }
static int virt_op_destroy(virDomainPtr d) { return virDomainDestroy(d); }

int
virt_domain_start_defined(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    return virt_domain_op(c, id, virt_op_create, "start", err);
}

int
virt_domain_resume(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    return virt_domain_op(c, id, virt_op_resume, "resume", err);
}

int
virt_domain_pm_wakeup(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    return virt_domain_op(c, id, virt_op_wakeup, "wake up", err);
}

int
virt_domain_shutdown(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    return virt_domain_op(c, id, virt_op_shutdown, "shut down", err);
}

int
virt_domain_destroy(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    return virt_domain_op(c, id, virt_op_destroy, "destroy", err);
}

int
virt_domain_wait_inactive(virt_conn *c, const struct virt_identity *id, const deadline *dl,
                          int64_t poll_ms, ferry_error **err)
{
    struct virt_domain_info info;
    int ret = 0;

    for (;;) {
        ret = virt_domain_query(c, id, &info, err);
        if (ret < 0)
            return ret;
        if (virt_state_inactive(info.state))
            return 0;
        if (!deadline_wait_ms(dl, poll_ms))
            return error_set(err, FERRY_E_TIMEOUT, "domain '%s' is still %s", id->name,
                             info.state_text);
    }
}

/* ---- migration primitives ---- */

/* The flags and typed parameters of a migrate call from spec (peer-to-peer
 * or not): the caller frees *ret_params with virTypedParamsFree. */
static int
virt_migrate_build(const struct virt_migrate_spec *spec, bool p2p, unsigned int *ret_flags,
                   virTypedParameterPtr *ret_params, int *ret_nparams, ferry_error **err)
{
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int maxparams = 0;
    unsigned int flags = VIR_MIGRATE_ABORT_ON_ERROR;

    if (p2p)
        flags |= VIR_MIGRATE_PEER2PEER;
    if (spec->live)
        flags |= VIR_MIGRATE_LIVE;
    if (spec->persistent)
        flags |= VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
    if (spec->tunnelled)
        flags |= VIR_MIGRATE_TUNNELLED;
    if (spec->tls)
        flags |= VIR_MIGRATE_TLS;
    if (spec->auto_converge)
        flags |= VIR_MIGRATE_AUTO_CONVERGE;
    if (spec->postcopy)
        flags |= VIR_MIGRATE_POSTCOPY;
    if (spec->unsafe)
        flags |= VIR_MIGRATE_UNSAFE;
    if (spec->compression)
        flags |= VIR_MIGRATE_COMPRESSED;
    if (spec->parallel > 1)
        flags |= VIR_MIGRATE_PARALLEL;
    if ((spec->data_uri &&
         virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_URI,
                                 spec->data_uri) < 0) ||
        (spec->persistent && spec->persist_xml &&
         virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_PERSIST_XML,
                                 spec->persist_xml) < 0) ||
        (spec->bandwidth_mib_s &&
         virTypedParamsAddULLong(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_BANDWIDTH,
                                 spec->bandwidth_mib_s) < 0) ||
        (spec->compression &&
         virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_COMPRESSION,
                                 spec->compression) < 0) ||
        (spec->parallel > 1 &&
         virTypedParamsAddInt(&params, &nparams, &maxparams,
                              VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, spec->parallel) < 0)) {
        virTypedParamsFree(params, nparams);
        return virt_error(err, -ENOMEM, "cannot build the migration parameters");
    }
    *ret_flags = flags;
    *ret_params = params;
    *ret_nparams = nparams;
    return 0;
}

int
virt_domain_migrate(virt_conn *c, const struct virt_identity *id,
                    const struct virt_migrate_spec *spec, ferry_error **err)
{
    virDomainPtr dom = NULL;
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    unsigned int flags = 0;
    int ret = 0;

    ret = virt_domain_need(c, id, "migrate", &dom, err);
    if (ret < 0)
        goto cleanup;
    ret = virt_migrate_build(spec, true, &flags, &params, &nparams, err);
    if (ret < 0)
        goto cleanup;
    if (virDomainMigrateToURI3(dom, spec->dest_uri, params, (unsigned int)nparams, flags) < 0) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "migration of domain '%s' to %s failed", id->name,
                         spec->dest_uri);
        goto cleanup;
    }
cleanup:
    virTypedParamsFree(params, nparams);
    if (dom)
        virDomainFree(dom);
    return ret;
}

int
virt_domain_migrate_shared(virt_conn *c, virt_conn *dst, const struct virt_identity *id,
                           const struct virt_migrate_spec *spec, ferry_error **err)
{
    virDomainPtr dom = NULL;
    virDomainPtr arrived = NULL;
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    unsigned int flags = 0;
    int ret = 0;

    if (dst == NULL)
        return error_set(err, -EINVAL, "a shared-connection migration needs the connection "
                         "to the target");
    if (spec->tunnelled)
        return error_set(err, FERRY_E_CONFIG, "a tunnelled migration is always peer-to-peer: "
                         "it cannot use the shared connection");
    ret = virt_domain_need(c, id, "migrate", &dom, err);
    if (ret == 0)
        ret = virt_migrate_build(spec, false, &flags, &params, &nparams, err);
    if (ret < 0)
        goto cleanup;
    arrived = virDomainMigrate3(dom, dst->conn, params, (unsigned int)nparams, flags);
    if (arrived == NULL) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "migration of domain '%s' to %s failed", id->name,
                         dst->uri);
        goto cleanup;
    }
cleanup:
    virTypedParamsFree(params, nparams);
    if (arrived)
        virDomainFree(arrived);
    if (dom)
        virDomainFree(dom);
    return ret;
}

static uint64_t
virt_param_ull(virTypedParameterPtr params, int n, const char *name, uint64_t fallback)
{
    unsigned long long v = 0;

    return virTypedParamsGetULLong(params, n, name, &v) == 1 ? v : fallback;
}

int
virt_domain_job_stats(virt_conn *c, const struct virt_identity *id, bool completed,
                      struct virt_job_stats *ret_stats, ferry_error **err)
{
    virDomainPtr dom = NULL;
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int type = VIR_DOMAIN_JOB_NONE;
    int throttle = -1;
    int operation = 0;
    struct virt_job_stats s;
    int ret = 0;

    memset(&s, 0, sizeof(s));
    ret = virt_domain_need(c, id, "read the job statistics of", &dom, err);
    if (ret < 0)
        goto cleanup;
    if (virDomainGetJobStats(dom, &type, &params, &nparams,
                             completed ? VIR_DOMAIN_JOB_STATS_COMPLETED |
                                         VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED : 0) < 0) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot read the migration job's statistics");
        goto cleanup;
    }
    s.active = type == VIR_DOMAIN_JOB_BOUNDED || type == VIR_DOMAIN_JOB_UNBOUNDED;
    s.elapsed_ms = (int64_t)virt_param_ull(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, 0);
    s.downtime_ms = (int64_t)virt_param_ull(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, (uint64_t)-1);
    s.setup_ms = (int64_t)virt_param_ull(params, nparams, VIR_DOMAIN_JOB_SETUP_TIME, (uint64_t)-1);
    s.data_total = virt_param_ull(params, nparams, VIR_DOMAIN_JOB_DATA_TOTAL, 0);
    s.data_processed = virt_param_ull(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED, 0);
    s.data_remaining = virt_param_ull(params, nparams, VIR_DOMAIN_JOB_DATA_REMAINING, 0);
    s.memory_bps = virt_param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_BPS, 0);
    s.dirty_rate_pages_s = virt_param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, 0);
    s.page_size = virt_param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, 4096);
    s.iterations = virt_param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_ITERATION, 0);
    if (virTypedParamsGetInt(params, nparams, VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE, &throttle) != 1)
        throttle = -1;
    s.throttle_pct = throttle;
    if (virTypedParamsGetInt(params, nparams, VIR_DOMAIN_JOB_OPERATION, &operation) == 1)
        s.migrating_out = s.active && operation == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT;
    *ret_stats = s;
cleanup:
    virTypedParamsFree(params, nparams);
    if (dom)
        virDomainFree(dom);
    return ret;
}

static int virt_op_abort(virDomainPtr d) { return virDomainAbortJob(d); }
static int virt_op_suspend(virDomainPtr d) { return virDomainSuspend(d); }
static int virt_op_postcopy(virDomainPtr d) { return virDomainMigrateStartPostCopy(d, 0); }

int
virt_domain_abort_job(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    return virt_domain_op(c, id, virt_op_abort, "abort the migration of", err);
}

int
virt_domain_suspend(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    return virt_domain_op(c, id, virt_op_suspend, "suspend", err);
}

int
virt_domain_start_postcopy(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    return virt_domain_op(c, id, virt_op_postcopy, "switch to post-copy", err);
}

int
virt_domain_set_max_downtime(virt_conn *c, const struct virt_identity *id, uint64_t downtime_ms,
                             ferry_error **err)
{
    virDomainPtr dom = NULL;
    int ret = virt_domain_need(c, id, "set the migration downtime of", &dom, err);

    if (ret < 0)
        return ret;
    if (virDomainMigrateSetMaxDowntime(dom, downtime_ms, 0) < 0)
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot set the migration's largest downtime");
    virDomainFree(dom);
    return ret;
}

int
virt_domain_xml(virt_conn *c, const struct virt_identity *id, char **ret_xml, ferry_error **err)
{
    virDomainPtr dom = NULL;
    char *xml = NULL;
    int ret = virt_domain_need(c, id, "read the XML of", &dom, err);

    if (ret < 0)
        return ret;
    xml = virDomainGetXMLDesc(dom, 0);
    if (xml == NULL)
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot read the domain's XML");
    else
        *ret_xml = xml;
    virDomainFree(dom);
    return ret;
}

int
virt_node_free_memory_kib(virt_conn *c, uint64_t *ret_kib, ferry_error **err)
{
    unsigned long long bytes = virNodeGetFreeMemory(c->conn);

    if (bytes == 0)
        return virt_error(err, FERRY_E_LIBVIRT, "cannot read the host's free memory");
    *ret_kib = bytes / 1024;
    return 0;
}

/* The <link speed> of a net node device's XML if its interface is ifname:
 * 1 and *ret_mbps (-1 without a speed), 0 if it is another interface. */
static int
virt_nodedev_link_speed(const char *xml, const char *ifname, int64_t *ret_mbps)
{
    xmlDocPtr doc = NULL;
    const xmlNode *cap = NULL;
    const xmlNode *n = NULL;
    xmlChar *name = NULL;
    xmlChar *type = NULL;
    xmlChar *speed = NULL;
    int found = 0;

    doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL)
        goto cleanup;
    for (cap = xmlDocGetRootElement(doc) ? xmlDocGetRootElement(doc)->children : NULL; cap;
         cap = cap->next) {
        if (!xmlnode_is(cap, "capability"))
            continue;
        xmlFree(type);
        type = xmlGetProp(cap, BAD_CAST "type");
        if (type && strcmp((const char *)type, "net") == 0)
            break;
    }
    n = xmlnode_child(cap, "interface");
    name = n ? xmlNodeGetContent(n) : NULL;
    if (name == NULL || strcmp((const char *)name, ifname) != 0)
        goto cleanup;
    found = 1;
    *ret_mbps = -1;
    n = xmlnode_child(cap, "link");
    speed = n ? xmlGetProp(n, BAD_CAST "speed") : NULL;
    if (speed && strtoll((const char *)speed, NULL, 10) > 0)
        *ret_mbps = strtoll((const char *)speed, NULL, 10);
cleanup:
    xmlFree(speed);
    xmlFree(name);
    xmlFree(type);
    if (doc)
        xmlFreeDoc(doc);
    return found;
}

int
virt_node_link_speed_mbps(virt_conn *c, const char *ifname, int64_t *ret_mbps, ferry_error **err)
{
    virNodeDevicePtr *devs = NULL;
    char prefix[128];
    size_t len = 0;
    int n = 0;
    int i;
    int ret = 0;
    int found = 0;

    /* libvirt names them net_<interface>_<MAC>, anything but letters and
     * digits made '_': only those are asked for their XML (a host has a tap
     * device per guest NIC) */
    snprintf(prefix, sizeof(prefix), "net_%s_", ifname);
    len = strlen(prefix);
    for (i = 4; i < (int)len - 1; i++)
        if (!isalnum((unsigned char)prefix[i]))
            prefix[i] = '_';
    n = virConnectListAllNodeDevices(c->conn, &devs, VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET);
    if (n < 0) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot list the host's network interfaces");
        goto cleanup;
    }
    for (i = 0; i < n && !found; i++) {
        const char *name = virNodeDeviceGetName(devs[i]);
        char *xml = NULL;

        if (name == NULL || strncmp(name, prefix, len) != 0)
            continue;
        xml = virNodeDeviceGetXMLDesc(devs[i], 0);

        if (xml)
            found = virt_nodedev_link_speed(xml, ifname, ret_mbps);
        free(xml);
    }
    if (!found)
        ret = error_set(err, FERRY_E_STATE, "the host has no network interface '%s'", ifname);
cleanup:
    for (i = 0; i < n; i++)
        virNodeDeviceFree(devs[i]);
    free(devs);
    return ret;
}

/* ---------------------------------------------------------------- save / restore */

/* Aborts the domain's job (a save) if it is still running at the deadline. */
struct virt_guard {
    const char *uri;
    struct virt_identity id;
    const deadline *dl;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    bool aborted;
};

static void *
virt_guard_main(void *arg)
{
    struct virt_guard *g = arg;
    struct timespec ts;
    int64_t end_ms = deadline_end_ms(g->dl);
    bool fire = false;

    /* the deadline as an absolute CLOCK_MONOTONIC time */
    ts.tv_sec = (time_t)(end_ms / 1000);
    ts.tv_nsec = (long)(end_ms % 1000) * 1000000L;
    pthread_mutex_lock(&g->lock);
    while (!g->done) {
        if (pthread_cond_timedwait(&g->cond, &g->lock, &ts) == ETIMEDOUT) {
            fire = !g->done;
            break;
        }
    }
    pthread_mutex_unlock(&g->lock);
    if (fire) {
        /* a connection of its own: the save's call blocks the other one */
        virt_conn *c = NULL;
        ferry_error *e = NULL;

        if (virt_conn_open(g->uri, &c, &e) == 0 && virt_domain_abort_job(c, &g->id, &e) == 0)
            g->aborted = true;
        error_free(e);
        virt_conn_close(c);
    }
    return NULL;
}

int
virt_domain_save(virt_conn *c, const struct virt_identity *id, const char *path,
                 const deadline *dl, ferry_error **err)
{
    struct virt_guard g = { .uri = c->uri, .id = *id, .dl = dl };
    pthread_condattr_t attr;
    pthread_t thread;
    bool guarded = false;
    virDomainPtr dom = NULL;
    int ret = 0;

    ret = virt_domain_need(c, id, "save", &dom, err);
    if (ret < 0)
        return ret;
    pthread_mutex_init(&g.lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g.cond, &attr);
    pthread_condattr_destroy(&attr);
    guarded = pthread_create(&thread, NULL, virt_guard_main, &g) == 0;
    if (!guarded) {
        ret = error_set(err, -EAGAIN, "cannot start the save's deadline thread");
        goto cleanup;
    }
    if (virDomainSaveFlags(dom, path, NULL, 0) < 0) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot save domain '%s' to '%s'", id->name,
                         path);
    }
    pthread_mutex_lock(&g.lock);
    g.done = true;
    pthread_cond_signal(&g.cond);
    pthread_mutex_unlock(&g.lock);
    pthread_join(thread, NULL);
    if (ret < 0 && g.aborted) {
        *err = error_free(*err);
        ret = error_set(err, FERRY_E_TIMEOUT, "saving domain '%s' to '%s' did not finish "
                        "within %lld ms; aborted it (the domain keeps running)", id->name,
                        path, (long long)deadline_elapsed_ms(dl));
    }
cleanup:
    pthread_cond_destroy(&g.cond);
    pthread_mutex_destroy(&g.lock);
    virDomainFree(dom);
    return ret;
}

int
virt_save_image_xml(virt_conn *c, const char *path, char **ret_xml, ferry_error **err)
{
    char *xml = virDomainSaveImageGetXMLDesc(c->conn, path, 0);

    if (xml == NULL) {
        return virt_error(err, FERRY_E_LIBVIRT, "cannot read the saved image '%s'", path);
    }
    *ret_xml = xml;
    return 0;
}

int
virt_domain_restore(virt_conn *c, const char *path, const char *xml, ferry_error **err)
{

    if (xml == NULL)
        return error_set(err, -EINVAL, "no definition to restore '%s' with", path);
    /* running, even if it was saved paused; a driver without the flag (the
     * test driver) restores it as saved */
    if (virDomainRestoreFlags(c->conn, path, xml, VIR_DOMAIN_SAVE_RUNNING) < 0 &&
        (!virt_error_is(VIR_ERR_INVALID_ARG) ||
         (virResetLastError(), virDomainRestoreFlags(c->conn, path, xml, 0) < 0))) {
        /* libvirt's ABI check: the definition does not fit the saved guest */
        if (virt_error_is(VIR_ERR_CONFIG_UNSUPPORTED)) {
            return virt_error(err, FERRY_E_CONFIG, "the saved image '%s' does not fit the "
                              "domain's definition", path);
        }
        return virt_error(err, FERRY_E_LIBVIRT, "cannot restore the saved image '%s'", path);
    }
    return 0;
}

int
virt_domain_define(virt_conn *c, const char *xml, ferry_error **err)
{
    virDomainPtr dom = virDomainDefineXML(c->conn, xml);

    if (dom == NULL)
        return virt_error(err, FERRY_E_LIBVIRT, "cannot define the domain");
    virDomainFree(dom);
    return 0;
}

int
virt_domain_size(virt_conn *c, const struct virt_identity *id, int64_t *ret_vcpus,
                 int64_t *ret_max_mem_kib, ferry_error **err)
{
    virDomainPtr dom = NULL;
    virDomainInfo info;
    int ret = virt_domain_need(c, id, "read the size of", &dom, err);

    if (ret < 0)
        return ret;
    if (virDomainGetInfo(dom, &info) < 0) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot read the domain's size");
    } else {
        *ret_vcpus = info.nrVirtCpu;
        *ret_max_mem_kib = (int64_t)info.maxMem;
    }
    virDomainFree(dom);
    return ret;
}

int
virt_domain_definition(virt_conn *c, const struct virt_identity *id, char **ret_xml,
                       ferry_error **err)
{
    virDomainPtr dom = NULL;
    char *xml = NULL;
    int persistent = 0;
    int ret = 0;

    *ret_xml = NULL;
    ret = virt_domain_need(c, id, "read the definition of", &dom, err);
    if (ret < 0)
        return ret;
    persistent = virDomainIsPersistent(dom);
    if (persistent < 0) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot tell whether the domain is persistent");
    } else if (persistent) {
        /* the next boot's definition, with secrets, without what libvirt adds at run time */
        xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE |
                                       VIR_DOMAIN_XML_MIGRATABLE);
        if (xml == NULL)
            ret = virt_error(err, FERRY_E_LIBVIRT, "cannot read the domain's definition");
        *ret_xml = xml;
    }
    virDomainFree(dom);
    return ret;
}

int
virt_domain_undefine(virt_conn *c, const struct virt_identity *id, ferry_error **err)
{
    virDomainPtr dom = NULL;
    int ret = virt_domain_find(c, id, &dom, NULL, err);

    if (ret < 0 || dom == NULL)
        return ret;
    /* keeps NVRAM and such: they belong to the domain, wherever it runs */
    if (virDomainIsPersistent(dom) == 1 && virDomainUndefineFlags(dom, 0) < 0)
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot undefine the domain");
    virDomainFree(dom);
    return ret;
}

/* ---------------------------------------------------------------- migration target */

int
virt_node_memory(virt_conn *c, struct virt_node_memory *ret_mem, ferry_error **err)
{
    virNodeMemoryStatsPtr stats = NULL;
    struct virt_node_memory mem;
    int n = 0;
    int i;
    int ret = 0;

    memset(&mem, 0, sizeof(mem));
    if (virNodeGetMemoryStats(c->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) < 0) {
        if (!virt_error_is(VIR_ERR_NO_SUPPORT)) {
            ret = virt_error(err, FERRY_E_LIBVIRT, "cannot read the host's memory statistics");
            goto cleanup;
        }
        virResetLastError();
        ret = virt_node_free_memory_kib(c, &mem.free_kib, err);
        if (ret == 0)
            *ret_mem = mem;
        goto cleanup;
    }
    stats = calloc(n > 0 ? (size_t)n : 1, sizeof(*stats));
    if (stats == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    if (virNodeGetMemoryStats(c->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, stats, &n, 0) < 0) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot read the host's memory statistics");
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(stats[i].field, VIR_NODE_MEMORY_STATS_TOTAL) == 0)
            mem.total_kib = stats[i].value;
        else if (strcmp(stats[i].field, VIR_NODE_MEMORY_STATS_FREE) == 0)
            mem.free_kib = stats[i].value;
        else if (strcmp(stats[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) == 0)
            mem.buffers_kib = stats[i].value;
        else if (strcmp(stats[i].field, VIR_NODE_MEMORY_STATS_CACHED) == 0)
            mem.cached_kib = stats[i].value;
    }
    *ret_mem = mem;
cleanup:
    free(stats);
    return ret;
}

int
virt_node_hugepage_sizes(virt_conn *c, uint64_t *ret_sizes_kib, size_t max, size_t *ret_count,
                         ferry_error **err)
{
    char *caps = NULL;
    xmlDocPtr doc = NULL;
    const xmlNode *cpu = NULL;
    const xmlNode *p = NULL;
    uint64_t sizes[16];
    uint64_t smallest = UINT64_MAX;
    size_t n = 0;
    size_t i;
    size_t out = 0;
    int ret = 0;

    caps = virConnectGetCapabilities(c->conn);
    if (caps == NULL) {
        ret = virt_error(err, FERRY_E_LIBVIRT, "cannot read the host's capabilities");
        goto cleanup;
    }
    doc = xmlReadMemory(caps, (int)strlen(caps), NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        ret = error_set(err, FERRY_E_LIBVIRT, "the host's capabilities are not XML");
        goto cleanup;
    }
    cpu = xmlnode_child(xmlnode_child(xmlDocGetRootElement(doc), "host"), "cpu");
    for (p = cpu ? cpu->children : NULL; p && n < sizeof(sizes) / sizeof(sizes[0]); p = p->next) {
        xmlChar *size = NULL;
        unsigned long long kib = 0;

        if (!xmlnode_is(p, "pages"))
            continue;
        size = xmlGetProp(p, BAD_CAST "size");      /* libvirt reports them in KiB */
        kib = size ? strtoull((const char *)size, NULL, 10) : 0;
        xmlFree(size);
        if (kib == 0)
            continue;
        sizes[n++] = kib;
        if (kib < smallest)
            smallest = kib;
    }
    for (i = 0; i < n && out < max; i++)
        if (sizes[i] != smallest)
            ret_sizes_kib[out++] = sizes[i];
    *ret_count = out;
cleanup:
    if (doc)
        xmlFreeDoc(doc);
    free(caps);
    return ret;
}

int
virt_node_free_pages(virt_conn *c, uint64_t page_kib, uint64_t *ret_pages, ferry_error **err)
{
    unsigned int size = (unsigned int)page_kib;
    unsigned long long count = 0;

    /* start cell -1: the whole host, all NUMA cells summed */
    if (virNodeGetFreePages(c->conn, 1, &size, -1, 1, &count, 0) < 0)
        return virt_error(err, FERRY_E_LIBVIRT, "cannot read the host's free huge pages");
    *ret_pages = count;
    return 0;
}

int
virt_cpu_compare(virt_conn *c, const char *arch, const char *virt_type, const char *cpu_xml,
                 ferry_error **err)
{
    int r = virConnectCompareHypervisorCPU(c->conn, NULL, arch, NULL, virt_type, cpu_xml,
                                           VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);

    if (r == VIR_CPU_COMPARE_IDENTICAL || r == VIR_CPU_COMPARE_SUPERSET)
        return 0;
    if (r == VIR_CPU_COMPARE_INCOMPATIBLE)
        return error_set(err, FERRY_E_STATE, "the guest CPU is incompatible with the host's");
    if (virt_error_is(VIR_ERR_NO_SUPPORT) || virt_error_is(VIR_ERR_OPERATION_UNSUPPORTED)) {
        virt_error(err, -EOPNOTSUPP, "the host cannot compare CPUs");
        return -EOPNOTSUPP;
    }
    if (virt_error_is(VIR_ERR_CPU_INCOMPATIBLE))     /* libvirt names the missing features */
        return virt_error(err, FERRY_E_STATE, "hypervisor CPU comparison");
    return virt_error(err, FERRY_E_LIBVIRT, "cannot compare the guest CPU with the host's");
}
