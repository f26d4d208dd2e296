/* vm.c — see vm.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "domxml.h"
#include "exec.h"
#include "flight.h"
#include "ident.h"
#include "log.h"
#include "migrate.h"
#include "migration.h"
#include "proc.h"
#include "snapshot.h"
#include "state.h"
#include "sync.h"
#include "virt.h"
#include "vm.h"

#define VM_POLL_MS 200
/* What stop keeps back from its deadline for destroy and its verification:
 * libvirt's destroy sends SIGTERM, waits up to 10 s, then SIGKILL. */
#define VM_DESTROY_RESERVE_MS 20000
/* start retries a failing status_program this often (rgmanager's interval) */
#define VM_STATUS_PROGRAM_RETRY_MS 5000

int
vm_validate(const struct ferry_params *p, ferry_error **err)
{
    struct ident id = { 0 };
    int ret = 0;

    ret = params_validate(p, err);
    if (ret == 0 && p->snapshot)
        ret = snapshot_dir_check(p, err);
    if (ret < 0)
        return ret;
    if (p->config == NULL && p->path == NULL)
        return 0;
    ret = ident_resolve(p, IDENT_STRICT, &id, err);
    if (ret == 0 && id.xml == NULL)
        ret = ident_config_error(&id, err);
    ident_clear(&id);
    if (ret == 0 && p->hypervisor && strncmp(p->hypervisor, "qemu", 4) == 0) {
        char lm[64] = "";

        /* not an error: most clusters run without one; but the operator should know */
        if (migrate_lock_manager(MIGRATE_QEMU_CONF, lm, sizeof(lm)) == 0)
            log_warning("validate-all: libvirt runs without a lock manager (no lock_manager in "
                        "%s): nothing outside the cluster keeps a second copy of a guest from "
                        "running, and a migration whose target libvirtd fails at the switch-over "
                        "can leave two running for a moment (README, \"Two copies\")",
                        MIGRATE_QEMU_CONF);
    }
    return ret;
}

/* --------------------------------------------------------- snapshot (rgmanager) */

/* ------------------------------------------------------ status_program (rgmanager) */

/* Runs status_program once: 0 and *ok, or a reason in buf. */
static int
vm_status_program_run(const struct ferry_params *p, const deadline *dl, bool *ok, char *buf,
                      size_t size)
{
    struct exec_result er;
    ferry_error *e = NULL;
    int ret = exec_run(p->status_argv, dl, &er, &e);

    *ok = false;
    if (ret < 0) {
        snprintf(buf, size, "status_program: %s", error_message(e));
    } else if (er.exit_status == 0) {
        *ok = true;
    } else if (er.exit_status > 0) {
        snprintf(buf, size, "status_program '%s' exited %d%s%s", p->status_program,
                 er.exit_status, er.first_line[0] ? ": " : "", er.first_line);
    } else {
        snprintf(buf, size, "status_program '%s' was killed by signal %d", p->status_program,
                 er.signal);
    }
    error_free(e);
    return ret;
}

/* After start: succeed once status_program does, retrying within dl. */
static int
vm_status_program_wait(const struct ferry_params *p, const char *name, const deadline *dl,
                       ferry_error **err)
{
    char why[512] = "";
    bool ok = false;
    int tries = 0;

    if (p->status_argv == NULL)
        return 0;
    for (;;) {
        tries++;
        vm_status_program_run(p, dl, &ok, why, sizeof(why));
        if (ok)
            return 0;
        log_info("start: domain '%s' runs, %s; trying again", name, why);
        if (!deadline_wait_ms(dl, VM_STATUS_PROGRAM_RETRY_MS) || deadline_expired(dl))
            return error_set(err, FERRY_E_TIMEOUT, "domain '%s' runs, but its status_program "
                             "did not succeed within the start timeout (%d tries; last: %s)",
                             name, tries, why);
    }
}

/* ------------------------------------------------ what this node keeps in sync */

/* Without libvirt: does a QEMU process of this domain live here? Only a local
 * qemu:///system can tell (-ENOTSUP otherwise): 1 and *proc, or 0 for none. */
static int
vm_process_fallback(const struct ferry_params *p, const char *name, struct proc_ref *proc)
{
    int ret = proc_qemu_find(p->hypervisor, name, proc);

    if (ret == -ENOENT)
        return 0;
    if (ret < 0)
        return ret;
    return proc_alive(proc) ? 1 : 0;
}

/* True if the domain's current job is its outgoing migration (the source side). */
static bool
vm_migrating_out(virt_conn *conn, const struct virt_identity *vid)
{
    struct virt_job_stats s;
    ferry_error *e = NULL;
    bool out = virt_domain_job_stats(conn, vid, false, &s, &e) == 0 && s.migrating_out;

    error_free(e);
    return out;
}

int
vm_monitor(const struct ferry_params *p, const deadline *dl,
           struct vm_monitor_result *ret_result, ferry_error **err)
{
    struct ident id = { 0 };
    struct virt_identity vid;
    struct virt_domain_info info;
    struct vm_monitor_result r;
    struct proc_ref proc;
    struct flight flight = { 0 };
    virt_conn *conn = NULL;
    ferry_error *conn_err = NULL;
    int ret = 0;

    memset(&r, 0, sizeof(r));
    ret = ident_resolve(p, IDENT_RECORD, &id, err);
    if (ret < 0)
        goto cleanup;
    snprintf(r.name, sizeof(r.name), "%s", id.name);
    vid = ident_virt(&id);

    ret = ident_connect(p, &conn, &conn_err);
    if (ret < 0) {
        /* libvirtd is down: the QEMU process decides, the same evidence stop uses */
        switch (vm_process_fallback(p, id.name, &proc)) {
        case 1:
            r.status = VM_STATUS_RUNNING;
            snprintf(r.detail, sizeof(r.detail),
                     "running according to its QEMU process %ld (libvirt unreachable: %s)",
                     (long)proc.pid, error_message(conn_err));
            break;
        case 0:
            r.status = VM_STATUS_STOPPED;
            snprintf(r.detail, sizeof(r.detail), "not running: no QEMU process of it exists "
                     "here (libvirt unreachable: %s)", error_message(conn_err));
            break;
        default:
            ret = error_set(err, ret, "%s; cannot tell whether domain '%s' runs",
                            error_message(conn_err), id.name);
            goto cleanup;
        }
        ret = 0;
        *ret_result = r;
        goto cleanup;
    }
    ret = virt_domain_query(conn, &vid, &info, err);
    if (ret < 0)
        goto cleanup;
    if (info.namesake_running) {
        ret = error_set(err, FERRY_E_STATE, "libvirt runs a domain named '%s' whose UUID is not "
                        "%s (from %s): something else holds this resource's name here",
                        id.name, id.uuid, id.source);
        goto cleanup;
    }
    if (!info.uuid_mismatch &&
        migration_orphan_settle(p, conn, &id, false, &info, dl, &flight) == 1)
        log_warning("domain '%s' left for %s by a migration whose migrate_to was killed; the "
                    "next stop here removes it there", id.name, flight.target);
    if (info.uuid_mismatch) {
        char note[512];

        ident_namesake_note(&id, &info, note, sizeof(note));
        log_warning("%s", note);
        snprintf(r.detail, sizeof(r.detail), "absent (%.240s)", note);
        r.status = VM_STATUS_STOPPED;
        *ret_result = r;
        goto cleanup;
    }
    snprintf(r.detail, sizeof(r.detail), "%s", info.state_text);
    switch (info.state) {
    case VIRT_STATE_ABSENT:
    case VIRT_STATE_SHUTOFF:
        r.status = VM_STATUS_STOPPED;
        break;
    case VIRT_STATE_RUNNING:
    case VIRT_STATE_SHUTDOWN:
        r.status = VM_STATUS_RUNNING;
        break;
    case VIRT_STATE_PMSUSPENDED:
        r.status = VM_STATUS_DEGRADED;
        break;
    case VIRT_STATE_PAUSED:
        switch (info.paused_why) {
        case VIRT_PAUSED_USER:
        case VIRT_PAUSED_OTHER:
            r.status = VM_STATUS_DEGRADED;
            break;
        case VIRT_PAUSED_MIGRATION:
        case VIRT_PAUSED_STARTING:
        case VIRT_PAUSED_POSTCOPY:
            if (vm_migrating_out(conn, &vid)) {
                /* a pause-mode migrate_to is under way: the guest is still ours */
                snprintf(r.detail, sizeof(r.detail), "%s: migrating to another node",
                         info.state_text);
                r.status = VM_STATUS_RUNNING;
                break;
            }
            snprintf(r.detail, sizeof(r.detail),
                     "%s: an unfinished migration's copy (incoming, or left behind)",
                     info.state_text);
            r.status = VM_STATUS_FAILED;
            break;
        default:
            r.status = VM_STATUS_FAILED;
            break;
        }
        break;
    case VIRT_STATE_CRASHED:
    case VIRT_STATE_OTHER:
        r.status = VM_STATUS_FAILED;
        break;
    }
    if (r.status == VM_STATUS_RUNNING || r.status == VM_STATUS_DEGRADED)
        sync_keep(p, conn, &id, &info, false, dl);
    if (r.status == VM_STATUS_RUNNING && p->status_argv && p->check_level >= 10) {
        bool ok = false;

        vm_status_program_run(p, dl, &ok, r.detail, sizeof(r.detail));
        if (!ok)
            r.status = VM_STATUS_FAILED;
    }
    *ret_result = r;
cleanup:
    error_free(conn_err);
    virt_conn_close(conn);
    ident_clear(&id);
    return ret;
}

/* Does a copy of the guest run here (a paused one does not: it is the
 * source's copy after a switch-over, or one the next step ends)? */
static bool
vm_state_runs(enum virt_state state)
{
    return state == VIRT_STATE_RUNNING || state == VIRT_STATE_SHUTDOWN;
}

/* A migrate_to here handed the guest over and Pacemaker may not know it runs
 * there (migration_handover_settle); within a quarter of what is left, or
 * half when no copy runs here (info: the domain here), so that the guest
 * there has time to shut down and this action little else to do. */
static void
vm_handover_settle(const struct ferry_params *p, const struct ident *id,
                   const struct virt_domain_info *info, const deadline *dl, const char *action)
{
    bool alone = !vm_state_runs(info->state);
    deadline sub = deadline_sub(dl, deadline_remaining_ms(dl) / (alone ? 2 : 4));
    char note[1024] = "";

    migration_handover_settle(p, id, alone, &sub, note, sizeof(note));
    if (note[0])
        log_warning("%s: %s", action, note);
}

/* Brings a domain that libvirt knows into the running state. */
static int
vm_start_existing(virt_conn *conn, const struct ident *id, const struct virt_domain_info *info,
                  const struct ferry_params *p, struct vm_start_result *r, char ret_uuid[40],
                  ferry_error **err)
{
    struct virt_identity vid = ident_virt(id);

    switch (info->state) {
    case VIRT_STATE_RUNNING:
    case VIRT_STATE_SHUTDOWN:
        snprintf(r->how, sizeof(r->how), "already running");
        return 0;
    case VIRT_STATE_PAUSED:
        if (info->paused_why != VIRT_PAUSED_USER)
            return error_set(err, FERRY_E_STATE,
                             "domain '%s' is %s; refusing to resume it behind whatever paused it",
                             id->name, info->state_text);
        snprintf(r->how, sizeof(r->how), "resumed");
        return virt_domain_resume(conn, &vid, err);
    case VIRT_STATE_PMSUSPENDED:
        snprintf(r->how, sizeof(r->how), "woken up");
        return virt_domain_pm_wakeup(conn, &vid, err);
    case VIRT_STATE_CRASHED:
        if (virt_domain_destroy(conn, &vid, err) < 0)
            return error_code(*err);
        break;
    default:
        break;
    }
    /* shut off (defined), absent, or crashed and now destroyed */
    if (id->xml) {
        snprintf(r->how, sizeof(r->how), p->persistent ? "defined and started" :
                 "created (transient)");
        return virt_domain_create_xml(conn, domxml_text(id->xml), p->persistent, ret_uuid, err);
    }
    if (info->state == VIRT_STATE_SHUTOFF || info->state == VIRT_STATE_CRASHED) {
        snprintf(r->how, sizeof(r->how), "started its libvirt definition");
        return virt_domain_start_defined(conn, &vid, err);
    }
    if (id->config_err)
        return ident_config_error(id, err);
    return error_set(err, FERRY_E_INSTALLED,
                     "domain '%s' is not defined in libvirt on this node and no 'config' is set",
                     id->name);
}

int
vm_start(const struct ferry_params *p, const deadline *dl, struct vm_start_result *ret_result,
         ferry_error **err)
{
    struct ident id = { 0 };
    struct virt_identity vid;
    struct virt_domain_info info;
    struct vm_start_result r;
    struct flight flight = { 0 };
    virt_conn *conn = NULL;
    char image[4096];
    char uuid[40] = "";
    int ret = 0;

    memset(&r, 0, sizeof(r));
    ret = ident_open(p, IDENT_STRICT, &id, &conn, &info, err);
    if (ret < 0)
        goto cleanup;
    if (info.uuid_mismatch) {
        ret = ident_mismatch_error(&id, err);
        goto cleanup;
    }
    snprintf(r.name, sizeof(r.name), "%s", id.name);
    vid = ident_virt(&id);
    vm_handover_settle(p, &id, &info, dl, "start");
    if (migration_orphan_settle(p, conn, &id, true, &info, dl, &flight) == 1) {
        /* Pacemaker starts it here believing it runs nowhere: a copy left
         * on the target by a killed migrate_to would be the second */
        char note[512] = "";

        ret = migration_orphan_remove_copy(p, &id, &flight, !vm_state_runs(info.state), dl,
                                           note, sizeof(note), err);
        if (ret < 0)
            goto cleanup;
        if (note[0])
            log_warning("start: %s", note);
        flight_end(p);
    }
    if (p->snapshot && virt_state_inactive(info.state) &&
        (ret = snapshot_dir_check(p, err)) == 0 &&
        snapshot_path(p, id.name, "", "", image, sizeof(image)) == 0 &&
        access(image, F_OK) == 0)
        ret = snapshot_restore(conn, &id, &info, p, image, &r, err);
    else if (ret == 0)
        ret = vm_start_existing(conn, &id, &info, p, &r, uuid, err);
    if (ret < 0)
        goto cleanup;

    /* Succeed only when libvirt says it runs. */
    if (id.uuid == NULL) {
        /* the UUID libvirt gave the domain it made (or, for a restored or
         * defined one, the one its name finds now), so we never confuse it
         * with a namesake */
        if (uuid[0] == '\0') {
            ret = virt_domain_query(conn, &vid, &info, err);
            if (ret < 0)
                goto cleanup;
            snprintf(uuid, sizeof(uuid), "%s", info.uuid);
        }
        ret = error_strdup(&id.uuid, uuid[0] ? uuid : NULL, err);
        if (ret < 0)
            goto cleanup;
        vid = ident_virt(&id);
    }
    ret = virt_domain_query(conn, &vid, &info, err);
    if (ret < 0)
        goto cleanup;
    if (info.state != VIRT_STATE_RUNNING) {
        ret = error_set(err, FERRY_E_STATE, "domain '%s' is %s right after it was started",
                        id.name, info.state_text);
        goto cleanup;
    }
    sync_keep(p, conn, &id, &info, true, dl);
    ret = vm_status_program_wait(p, id.name, dl, err);
    if (ret < 0)
        goto cleanup;
    *ret_result = r;
cleanup:
    virt_conn_close(conn);
    ident_clear(&id);
    return ret;
}

int64_t
vm_stop_graceful_budget_ms(int64_t shutdown_timeout_ms, int64_t remaining_ms)
{
    int64_t reserve_ms = VM_DESTROY_RESERVE_MS;
    int64_t budget_ms;

    if (reserve_ms > remaining_ms / 2)
        reserve_ms = remaining_ms / 2;
    budget_ms = remaining_ms - reserve_ms;
    if (shutdown_timeout_ms >= 0 && shutdown_timeout_ms < budget_ms)
        budget_ms = shutdown_timeout_ms;
    return budget_ms > 0 ? budget_ms : 0;
}

/* stop while libvirt is unreachable: 0 once no QEMU process of the domain
 * is left here (each one found is ended, SIGTERM then SIGKILL); the error of
 * the connection stays in *err otherwise. */
static int
vm_stop_without_libvirt(const struct ferry_params *p, const char *name, const deadline *dl,
                        struct vm_stop_result *r, ferry_error **err)
{
    struct proc_ref proc = { 0, 0 };
    long ended = 0;
    int found = 0;
    int rounds = 0;

    /* more than one only if another appeared meanwhile; a few rounds at most */
    while (rounds++ < 4 && (found = vm_process_fallback(p, name, &proc)) == 1) {
        if (proc_kill(&proc, dl) < 0)
            return error_code(*err);
        ended = (long)proc.pid;
    }
    if (found != 0)
        return error_code(*err);
    r->how = ended ? VM_STOP_DESTROYED : VM_STOP_WAS_STOPPED;
    if (ended)
        snprintf(r->note, sizeof(r->note), "libvirt unreachable (%.300s); ended its QEMU process "
                 "%ld directly", error_message(*err), ended);
    else
        snprintf(r->note, sizeof(r->note), "libvirt unreachable (%.300s); no QEMU process of the "
                 "domain runs here", error_message(*err));
    *err = error_free(*err);
    r->elapsed_ms = deadline_elapsed_ms(dl);
    return 0;
}

int
vm_stop(const struct ferry_params *p, const deadline *dl, struct vm_stop_result *ret_result,
        ferry_error **err)
{
    struct ident id = { 0 };
    struct virt_identity vid;
    struct virt_domain_info info;
    struct vm_stop_result r;
    struct proc_ref proc = { 0, 0 };
    struct flight flight = { 0 };
    deadline graceful;
    virt_conn *conn = NULL;
    ferry_error *shutdown_err = NULL;
    bool have_proc = false;
    bool persistent = false;
    int ret = 0;

    memset(&r, 0, sizeof(r));
    ret = ident_open(p, IDENT_RECORD, &id, &conn, &info, err);
    if (ret == FERRY_E_LIBVIRT && conn == NULL && id.name) {
        /* libvirt is unreachable (resource-agents #546): the QEMU process
         * decides. None here: stopped. One: end it, so the node need not be
         * fenced for a failed stop. */
        snprintf(r.name, sizeof(r.name), "%s", id.name);
        ret = vm_stop_without_libvirt(p, id.name, dl, &r, err);
        if (ret == 0)
            *ret_result = r;
        goto cleanup;
    }
    if (ret < 0)
        goto cleanup;
    snprintf(r.name, sizeof(r.name), "%s", id.name);
    vid = ident_virt(&id);
    vm_handover_settle(p, &id, &info, dl, "stop");
    if (info.uuid_mismatch) {
        /* our UUID is not here: stopped, whatever the namesake does */
        ident_namesake_note(&id, &info, r.note, sizeof(r.note));
        r.how = VM_STOP_WAS_STOPPED;
        r.elapsed_ms = deadline_elapsed_ms(dl);
        *ret_result = r;
        goto cleanup;
    }
    if (migration_orphan_settle(p, conn, &id, true, &info, dl, &flight) == 1) {
        /* never "stopped" while the guest runs where Pacemaker does not know */
        ret = migration_orphan_remove_copy(p, &id, &flight, !vm_state_runs(info.state), dl,
                                           r.note, sizeof(r.note), err);
        if (ret < 0)
            goto cleanup;
        flight_end(p);
    }
    if (virt_state_inactive(info.state)) {
        r.how = VM_STOP_WAS_STOPPED;
        r.elapsed_ms = deadline_elapsed_ms(dl);
        *ret_result = r;
        goto cleanup;
    }
    persistent = info.persistent;
    have_proc = proc_qemu_find(p->hypervisor, id.name, &proc) == 0;

    r.how = VM_STOP_DESTROYED;
    if (p->snapshot) {
        if (snapshot_save(conn, &id, &info, p, dl, r.note, sizeof(r.note))) {
            r.how = VM_STOP_SAVED;
            goto verify;
        }
        log_warning("stop: domain '%s': %s; stopping it the usual way", id.name, r.note);
        snapshot_retire(p, id.name, "the guest ran on and is stopped without a new save");
        r.note[0] = '\0';
    }
    if (!p->force_stop && (info.state == VIRT_STATE_RUNNING || info.state == VIRT_STATE_SHUTDOWN)) {
        r.graceful_budget_ms = vm_stop_graceful_budget_ms(p->shutdown_timeout_ms,
                                                          deadline_remaining_ms(dl));
        graceful = deadline_sub(dl, r.graceful_budget_ms);
        if (r.graceful_budget_ms > 0 &&
            virt_domain_shutdown(conn, &vid, &shutdown_err) == 0 &&
            virt_domain_wait_inactive(conn, &vid, &graceful, VM_POLL_MS, &shutdown_err) == 0)
            r.how = VM_STOP_GRACEFUL;
    }
    if (r.how == VM_STOP_DESTROYED && p->no_kill && info.state == VIRT_STATE_RUNNING) {
        ret = error_set(err, FERRY_E_TIMEOUT, "domain '%s' did not shut down within %lld ms "
                        "and no_kill is set: not destroying it", id.name,
                        (long long)r.graceful_budget_ms);
        goto cleanup;
    }
    if (r.how == VM_STOP_DESTROYED) {
        ret = virt_domain_destroy(conn, &vid, err);
        if (ret < 0) {
            /* it may have gone by itself meanwhile */
            ferry_error *again = NULL;

            if (virt_domain_query(conn, &vid, &info, &again) == 0 &&
                virt_state_inactive(info.state)) {
                *err = error_free(*err);
                ret = 0;
            }
            error_free(again);
            if (ret < 0)
                goto cleanup;
        }
    }
verify:
    /* 0 only when libvirt has it inactive and its QEMU process is gone. */
    ret = virt_domain_wait_inactive(conn, &vid, dl, VM_POLL_MS, err);
    if (ret < 0)
        goto cleanup;
    if (have_proc && proc_wait_gone(&proc, dl, VM_POLL_MS) < 0) {
        ret = error_set(err, FERRY_E_TIMEOUT,
                        "domain '%s' is shut off in libvirt but its QEMU process %ld still exists",
                        id.name, (long)proc.pid);
        goto cleanup;
    }
    /* the guest is down: now, and only now, keep the config current (a
     * stalled share must never delay or fail a stop) */
    if (persistent)
        sync_definition_check(p, conn, &id, dl);
    r.elapsed_ms = deadline_elapsed_ms(dl);
    *ret_result = r;
cleanup:
    error_free(shutdown_err);
    virt_conn_close(conn);
    ident_clear(&id);
    return ret;
}

/* ---- migration ---- */

/* ------------------------------------------------------------- reload-agent */

int
vm_reload(const struct ferry_params *p, const deadline *dl, struct vm_reload_result *ret_result,
          ferry_error **err)
{
    struct ident id = { 0 };
    struct virt_identity vid;
    struct virt_domain_info info;
    struct vm_reload_result r;
    struct ferry_state st;
    virt_conn *conn = NULL;
    ferry_error *e = NULL;
    int ret = 0;

    memset(&r, 0, sizeof(r));
    /* Values that are wrong in themselves fail it (6, the guest untouched).
     * What this node cannot see right now (the config file on shared storage,
     * the snapshot directory, libvirt) does not: the parameters did not make
     * it so, and a failed reload would get the VM restarted or banned. */
    ret = params_validate(p, err);
    if (ret < 0)
        goto cleanup;
    if (vm_validate(p, &e) < 0) {
        if (error_code(e) == FERRY_E_CONFIG) {
            ret = error_set(err, FERRY_E_CONFIG, "%s", error_message(e));
            goto cleanup;
        }
        snprintf(r.detail, sizeof(r.detail), "%s", error_message(e));
        e = error_free(e);
    }
    if (ident_resolve(p, IDENT_RECORD, &id, &e) < 0 || ident_connect(p, &conn, &e) < 0) {
        snprintf(r.detail, sizeof(r.detail), "%s", error_message(e));
        goto cleanup;
    }
    snprintf(r.name, sizeof(r.name), "%s", id.name);
    vid = ident_virt(&id);
    if (virt_domain_query(conn, &vid, &info, &e) < 0) {
        snprintf(r.detail, sizeof(r.detail), "%s", error_message(e));
        goto cleanup;
    }
    if (info.uuid_mismatch || info.namesake_running || virt_state_inactive(info.state)) {
        snprintf(r.detail, sizeof(r.detail), "domain '%s' does not run here", id.name);
        goto cleanup;
    }
    /* publish the utilization again: an autoset_utilization_* may have changed */
    state_load(p, &st);
    if (st.util_cpu != -1 || st.util_hv_memory_mib != -1) {
        st.util_cpu = -1;
        st.util_hv_memory_mib = -1;
        st.util_retry_after_s = 0;
        state_save(p, &st);
    }
    sync_keep(p, conn, &id, &info, false, dl);
    r.running = true;
cleanup:
    if (ret == 0)
        *ret_result = r;
    error_free(e);
    virt_conn_close(conn);
    ident_clear(&id);
    return ret;
}
