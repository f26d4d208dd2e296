/* migration.c — see migration.h */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "domxml.h"
#include "exec.h"
#include "flight.h"
#include "linkspeed.h"
#include "log.h"
#include "migrate.h"
#include "migration.h"
#include "migration-priv.h"
#include "state.h"
#include "sync.h"

/* how often a wait polls libvirt */
#define MIGRATION_POLL_MS 200
/* How long the next action waits for an aborted migration job to end. */
#define MIGRATION_ORPHAN_WAIT_MAX_MS 30000
/* what ending the target's copy keeps back from a graceful attempt there:
 * the destroy and the wait for it to end */
#define MIGRATION_DESTROY_RESERVE_MS 10000
/* cibadmin answers a local query in well under a second */
#define MIGRATION_HANDOVER_CIB_MS 5000
/* how long a "Pacemaker does not know" is asked again, and how often */
#define MIGRATION_HANDOVER_SETTLE_MS 3000
#define MIGRATION_HANDOVER_POLL_MS 250
/* slack for the nodes' clocks (1 s resolution; a migrate_from cannot end
 * before its migrate_to, so the migration's own duration adds to it) */
#define MIGRATION_HANDOVER_CLOCK_SLACK_S 2
/* cibadmin's exit status when an XPath query matches nothing (CRM_EX_NOSUCH) */
#define MIGRATION_CIBADMIN_NO_MATCH 105

/* Waits until the domain has no job running, polling, until dl. */
static bool
migration_job_wait_ended(virt_conn *conn, const struct virt_identity *vid, const deadline *dl)
{
    for (;;) {
        struct virt_job_stats s;
        ferry_error *e = NULL;
        bool active = virt_domain_job_stats(conn, vid, false, &s, &e) == 0 && s.active;

        error_free(e);
        if (!active)
            return true;
        if (!deadline_wait_ms(dl, 100))
            return false;
    }
}

/* Pacemaker SIGKILLs migrate_to at its timeout; libvirtd's job goes on. The
 * next stop, start or probe here ends it before judging the state: an
 * outgoing migration whose migrate_to is dead (its flight record's process is
 * gone), or, for stop and start, one nobody recorded, is aborted and waited
 * for. A guest the migration had paused is resumed. Returns 1 (and *ret_f)
 * when a dead migrate_to's record remains: if the guest has left, the caller
 * must deal with the copy on f->target; 0 otherwise. *info is re-read. */
int
migration_orphan_settle(const struct ferry_params *p, virt_conn *conn, const struct ident *id,
                        bool any_job, struct virt_domain_info *info, const deadline *dl,
                        struct flight *ret_f)
{
    struct virt_identity vid = ident_virt(id);
    struct virt_job_stats s;
    ferry_error *e = NULL;
    /* a handed-over record is not a migration in flight (migration_handover_settle) */
    bool have_record = flight_load(p, ret_f) == 0 && strcmp(ret_f->name, id->name) == 0 &&
                       !ret_f->handed;
    bool active = !virt_state_inactive(info->state);
    bool aborted = false;
    deadline wait;

    if (have_record && flight_owner_alive(ret_f))
        return 0;       /* its migrate_to is running: the migration is watched */
    if (!have_record && !any_job)
        return 0;
    if (active && virt_domain_job_stats(conn, &vid, false, &s, &e) == 0 && s.migrating_out) {
        log_warning("domain '%s' is migrating%s%s, but no migrate_to watches it (killed at its "
                    "timeout?): aborting the migration", id->name, have_record ? " to " : "",
                    have_record ? ret_f->target : "");
        e = error_free(e);
        if (virt_domain_abort_job(conn, &vid, &e) < 0)
            log_warning("aborting the migration of '%s': %s", id->name, error_message(e));
        aborted = true;
        wait = deadline_sub(dl, MIGRATION_ORPHAN_WAIT_MAX_MS);
        if (!migration_job_wait_ended(conn, &vid, &wait))
            log_warning("the migration job of '%s' has not ended", id->name);
    }
    e = error_free(e);
    if (virt_domain_query(conn, &vid, info, &e) < 0) {
        /* cannot tell where the guest is: the action goes on with what it knew */
        error_free(e);
        return 0;
    }
    if (!have_record)
        return 0;
    if (!virt_state_inactive(info->state)) {
        /* the guest stayed here; libvirt removed the target's half. Resumed
         * only if it ran before and this migration paused it (pause mode, or
         * the watcher's suspend just before we aborted it): never a guest an
         * operator paused since */
        if (info->state == VIRT_STATE_PAUSED && ret_f->was_running &&
            (info->paused_why == VIRT_PAUSED_MIGRATION ||
             (aborted && info->paused_why == VIRT_PAUSED_USER))) {
            if (virt_domain_resume(conn, &vid, &e) == 0)
                log_warning("resumed '%s', paused by the interrupted migration", id->name);
            e = error_free(e);
            virt_domain_query(conn, &vid, info, &e);
            e = error_free(e);
        }
        flight_end(p);
        return 0;
    }
    return 1;
}

/* A connection to a target's libvirt within dl. Through ferry-ssh the first
 * attempt may have met a master whose peer is gone (the target rebooted): ssh
 * removes such a master as it fails, so one retry logs in afresh. */
static int
migration_open_target(const char *uri, const deadline *dl, virt_conn **ret_conn,
                      ferry_error **err)
{
    ferry_error *first = NULL;
    int ret = virt_conn_open_within(uri, dl, ret_conn, &first);

    if (ret < 0 && ret != FERRY_E_TIMEOUT && migrate_uri_shares_ssh(uri) &&
        deadline_remaining_ms(dl) > 0) {
        log_info("connecting to %s failed (%s); once more, in case a shared ssh connection "
                 "had died", uri, error_message(first));
        first = error_free(first);
        ret = virt_conn_open_within(uri, dl, ret_conn, &first);
    }
    if (ret < 0)
        error_set(err, ret, "%s", error_message(first));
    error_free(first);
    return ret;
}

/* Destroys our domain on f->target, whose copy Pacemaker does not know of
 * (why says how it got there): 0 once it does not run there. The target is
 * reached within a part of dl: its ssh port first (a bounded TCP connect),
 * then its libvirt. With alone (no copy runs here: the one there is the
 * guest itself, which Pacemaker asked to stop, or to start here) and without
 * force_stop, a running guest there is first asked to shut down, as a stop
 * here would ask it: within shutdown_timeout and what dl leaves beyond the
 * destroy's reserve. Two copies running (not alone) are never given time. */
static int
migration_remove_copy(const struct ferry_params *p, const struct ident *id,
                      const struct flight *f, bool alone, const deadline *dl, const char *why,
                      char *note, size_t note_size, ferry_error **err)
{
    struct virt_identity vid = { f->name, f->uuid[0] ? f->uuid : id->uuid };
    struct virt_domain_info d;
    virt_conn *dst = NULL;
    deadline reach = deadline_sub(dl, deadline_remaining_ms(dl) / 2);
    ferry_error *shutdown_err = NULL;
    bool asked = false;
    char *host = NULL;
    int port = 0;
    int ret = 0;

    if (migrate_uri_endpoint(f->dest_uri, &host, &port) == 0) {
        int64_t probe_ms = deadline_remaining_ms(&reach) / 2;

        ret = migrate_probe_tcp(host, port, probe_ms > 5000 ? 5000 : probe_ms, err);
        free(host);
    }
    if (ret == 0)
        ret = migration_open_target(f->dest_uri, &reach, &dst, err);
    if (ret < 0) {
        error_prefix(*err, "domain '%s': cannot reach %s to stop it there: ", id->name,
                     f->target);
        goto cleanup;
    }
    ret = virt_domain_query(dst, &vid, &d, err);
    if (ret < 0)
        goto cleanup;
    if (alone && !p->force_stop && d.state == VIRT_STATE_RUNNING) {
        int64_t left_ms = deadline_remaining_ms(dl);
        int64_t budget_ms = left_ms - (left_ms / 2 < MIGRATION_DESTROY_RESERVE_MS ?
                                       left_ms / 2 : MIGRATION_DESTROY_RESERVE_MS);
        deadline graceful;

        if (p->shutdown_timeout_ms >= 0 && p->shutdown_timeout_ms < budget_ms)
            budget_ms = p->shutdown_timeout_ms;
        graceful = deadline_sub(dl, budget_ms);
        if (budget_ms > 0 && virt_domain_shutdown(dst, &vid, &shutdown_err) == 0 &&
            virt_domain_wait_inactive(dst, &vid, &graceful, MIGRATION_POLL_MS,
                                      &shutdown_err) == 0) {
            snprintf(note, note_size, "%s: shut it down there", why);
            goto cleanup;
        }
        ret = virt_domain_query(dst, &vid, &d, err);
        if (ret < 0)
            goto cleanup;
        asked = true;
        snprintf(note, note_size, "%s: it did not shut down within %lld ms (%s)", why,
                 (long long)budget_ms,
                 shutdown_err ? error_message(shutdown_err) : "no ACPI answer");
    }
    if (!virt_state_inactive(d.state)) {
        size_t used = asked ? strlen(note) : 0;

        ret = virt_domain_destroy(dst, &vid, err);
        if (ret == 0)
            ret = virt_domain_wait_inactive(dst, &vid, dl, MIGRATION_POLL_MS, err);
        if (ret < 0)
            goto cleanup;
        if (asked)
            snprintf(note + used, note_size - used, ": destroyed it there");
        else
            snprintf(note, note_size, "%s: destroyed it there", why);
    }
cleanup:
    error_free(shutdown_err);
    virt_conn_close(dst);
    return ret;
}

/* Has Pacemaker learnt how the guest stands on f->target since f's migrate_to
 * began? Its record of the resource on that node holds an operation that
 * ended then or later with rc 0 (migrate_from, start, monitor or probe: it
 * knows the guest runs there; stop: it stopped it there). A partition without
 * quorum counts as knowing: the node acts on nothing beyond itself (the chaos
 * campaign's seed 103: a node cut off from the cluster stopped c4 "due to no
 * quorum" and its stop destroyed the copy the quorate side had on node1). The nodes' clocks
 * are compared, as Pacemaker's scheduler compares them for this very question
 * (last-rc-change across nodes), with a little slack. One cibadmin query
 * (local IPC; CIB_file is honoured, as by every Pacemaker tool). 1 yes, 0 no,
 * < 0 cannot tell (not run by Pacemaker, names unfit for an XPath literal,
 * the CIB unreachable). */
int
migration_handover_known(const struct ferry_params *p, const struct flight *f,
                         const char *program, const deadline *dl)
{
    char xpath[1024];
    char *argv[] = { (char *)program, "--query", "--xpath", xpath, NULL };
    struct exec_result r;
    deadline sub = deadline_sub(dl, MIGRATION_HANDOVER_CIB_MS);
    ferry_error *e = NULL;
    int n = 0;

    if (!p->pacemaker || p->instance == NULL)
        return -ENOTSUP;
    if (strchr(f->target, '\'') || strchr(p->instance, '\''))
        return -EINVAL;
    /* or this node's partition has no quorum: then the quorate side decides
     * about the target's copy (it fences this node), not a stop here */
    n = snprintf(xpath, sizeof(xpath), "/cib[@have-quorum='0' or @have-quorum='false'] | "
                 "//node_state[@uname='%s']//lrm_resource[@id='%s']/"
                 "lrm_rsc_op[@rc-code='0' and @op-status='0' and @last-rc-change>=%lld and "
                 "(@operation='migrate_from' or @operation='start' or @operation='monitor' or "
                 "@operation='stop')]", f->target, p->instance,
                 (long long)(f->begun_s - MIGRATION_HANDOVER_CLOCK_SLACK_S));
    if (n < 0 || (size_t)n >= sizeof(xpath))
        return -ENAMETOOLONG;
    if (exec_run(argv, &sub, &r, &e) < 0) {
        error_free(e);
        return -EIO;
    }
    if (r.exit_status == 0)
        return 1;
    if (r.exit_status == MIGRATION_CIBADMIN_NO_MATCH)
        return 0;
    log_debug("%s --query: exit %d: %s", program, r.exit_status, r.first_line);
    return -EIO;
}

int
migration_orphan_remove_copy(const struct ferry_params *p, const struct ident *id,
                             const struct flight *f, bool alone, const deadline *dl, char *note,
                             size_t note_size, ferry_error **err)
{
    char why[512];

    /* a record that could not be updated when migrate_to answered (the state
     * directory full or read-only) looks the same: the CIB tells them apart */
    if (migration_handover_known(p, f, "cibadmin", dl) == 1) {
        snprintf(note, note_size, "a migration record of '%s' to %s was left here, but "
                 "Pacemaker knows the guest runs there (the CIB): left it there", id->name,
                 f->target);
        return 0;
    }

    snprintf(why, sizeof(why), "the guest had left for %s by a migration whose migrate_to was "
             "killed (Pacemaker does not know it runs there)", f->target);
    return migration_remove_copy(p, id, f, alone, dl, why, note, note_size, err);
}

/* Ends a handed-over record of this domain (it arrived or started here again). */
static void
migration_handover_forget(const struct ferry_params *p, const struct ident *id)
{
    struct flight f;

    if (flight_load(p, &f) == 0 && f.handed && strcmp(f.name, id->name) == 0)
        flight_end(p);
}

/* A migrate_to here that answered 0 handed the guest to its target, and
 * Pacemaker is normally told so by the migrate_from it runs there. It is not
 * always: Pacemaker 2.1.5, its transition aborted while migrate_to ran (a
 * changed constraint), scheduled "Restart" on this node and nothing on the
 * target, whose copy then ran on beside the new one (tests/chaos, seed 102).
 * So the next stop or start here asks the CIB whether Pacemaker has learnt of
 * the guest on the target since; if not, Pacemaker believes it runs nowhere
 * but here, and what it asks of this node (stop, or restart) applies to that
 * copy: it is destroyed there. Not run by Pacemaker, or the CIB unreadable:
 * the copy is left alone (as before this check). Best effort: 0, with *note
 * saying what was done. */
int
migration_handover_settle(const struct ferry_params *p, const struct ident *id, bool alone,
                          const deadline *dl, char *note, size_t note_size)
{
    struct flight f;
    char why[512] = "";
    ferry_error *e = NULL;
    deadline settle;
    int known = 0;

    note[0] = '\0';
    if (flight_load(p, &f) < 0 || !f.handed || strcmp(f.name, id->name) != 0)
        return 0;
    /* this node's replica of the CIB may lag a moment behind the DC's request
     * that brought this action: a "no" is asked again for a little while */
    settle = deadline_sub(dl, MIGRATION_HANDOVER_SETTLE_MS);
    while ((known = migration_handover_known(p, &f, "cibadmin", dl)) == 0 &&
           deadline_wait_ms(&settle, MIGRATION_HANDOVER_POLL_MS))
        ;
    if (known < 0) {
        if (p->pacemaker)
            log_info("'%s' was handed to %s by a migrate_to here; cannot tell from the CIB "
                     "whether Pacemaker knows it runs there (%s): left alone", id->name, f.target,
                     strerror(-known));
        return 0;
    }
    if (known == 0) {
        snprintf(why, sizeof(why), "the guest was handed to %s by a migrate_to here that "
                 "Pacemaker never followed with migrate_from there (it believes the guest runs "
                 "nowhere but here)", f.target);
        if (migration_remove_copy(p, id, &f, alone, dl, why, note, note_size, &e) < 0) {
            snprintf(note, note_size, "%s, and %s", why, error_message(e));
            error_free(e);
            return 0;    /* the record stays: the next stop or start tries again */
        }
    }
    flight_end(p);
    return 0;
}

/* Appends the statistics line to ${state_dir}/ferry-migrations.log (best effort). */
static void
migration_log_append(const struct ferry_params *p, const char *line)
{
    char path[4096];
    FILE *f = NULL;
    struct timespec ts;

    if (p->state_dir == NULL)
        return;
    if (mkdir(p->state_dir, 0755) < 0 && errno != EEXIST)
        return;
    snprintf(path, sizeof(path), "%s/ferry-migrations.log", p->state_dir);
    f = fopen(path, "ae");
    if (f == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(f, "time=%lld.%03ld resource=%s %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000L,
            p->instance ? p->instance : "-", line);
    fclose(f);
}

/* This node's name as Pacemaker knows it. */
static const char *
migration_local_node(const struct ferry_params *p, char *buf, size_t size)
{
    struct utsname u;

    if (p->migrate_source)
        return p->migrate_source;
    if (p->on_node)
        return p->on_node;
    if (uname(&u) < 0)
        return NULL;
    snprintf(buf, size, "%s", u.nodename);
    return buf;
}

/* After a failed migration: the guest must run, unpaused, on the source, and
 * nothing of it may be left on the target unless it runs there and not here. */
static int
migration_recover(virt_conn *src, virt_conn *dst, const struct virt_identity *vid,
                  bool was_running, bool *ret_on_target, char *note, size_t note_size)
{
    struct virt_domain_info s;
    struct virt_domain_info d;
    ferry_error *e = NULL;
    bool src_active = false;
    int ret = 0;

    *ret_on_target = false;
    note[0] = '\0';
    if (virt_domain_query(src, vid, &s, &e) < 0) {
        snprintf(note, note_size, "; the source's state is unknown: %s", error_message(e));
        e = error_free(e);
        return -EIO;
    }
    src_active = !virt_state_inactive(s.state);
    if (s.state == VIRT_STATE_PAUSED && s.paused_why == VIRT_PAUSED_POSTCOPY_FAILED) {
        snprintf(note, note_size, "; post-copy failed: neither node has the whole guest, "
                 "it is left paused on the source for inspection");
        return -EIO;
    }
    if (s.state == VIRT_STATE_PAUSED && !was_running) {
        /* paused before the migration (by the operator, or an I/O error):
         * not ours to resume */
        snprintf(note, note_size, "; the guest stays %s on the source, as it was before the "
                 "migration", s.state_text);
    } else if (s.state == VIRT_STATE_PAUSED) {
        if (virt_domain_resume(src, vid, &e) < 0) {
            snprintf(note, note_size, "; could not resume the guest on the source: %s",
                     error_message(e));
            e = error_free(e);
            ret = -EIO;
        } else {
            snprintf(note, note_size, "; the guest was resumed on the source");
        }
    }
    if (dst == NULL)
        return ret;
    if (virt_domain_query(dst, vid, &d, &e) < 0) {
        e = error_free(e);
        return ret;
    }
    if (!src_active && d.state == VIRT_STATE_RUNNING) {
        /* it failed after the switch-over: the guest lives on the target */
        *ret_on_target = true;
        return 0;
    }
    if (src_active && !virt_state_inactive(d.state) &&
        d.state != VIRT_STATE_RUNNING) {
        if (virt_domain_destroy(dst, vid, &e) == 0)
            snprintf(note + strlen(note), note_size - strlen(note),
                     "; removed the half-arrived copy from the target");
        e = error_free(e);
    }
    return ret;
}

/* One migrate_to, as it goes through its phases. */
struct migration_ctx {
    const struct ferry_params *p;
    const deadline *dl;
    struct ident id;
    struct virt_identity vid;
    struct virt_domain_info info;     /* the domain on the source */
    struct migrate_target t;
    virt_conn *src;
    virt_conn *dst;
    domxml *live;                     /* the running domain's XML */
    const char *local;                /* this node's name */
    char nodebuf[256];
    struct flight fl;                 /* a killed migrate_to's record, then ours */
    bool orphan;                      /* fl is a killed migrate_to's, whose guest left */
    struct migrate_watch w;           /* the policy's clock and state */
    char tls_dir[256];                /* tls=true: QEMU's migration certificates, or "" */
    struct migration_result r;
    struct migrate_phases ph;         /* where the time goes */
};

static void
migration_ctx_clear(struct migration_ctx *c)
{
    domxml_free(c->live);
    migrate_target_clear(&c->t);
    virt_conn_close(c->dst);
    virt_conn_close(c->src);
    ident_clear(&c->id);
}

/* Which domain, which target; an earlier migrate_to killed here is ended first. */
static int
migration_resolve(struct migration_ctx *c, ferry_error **err)
{
    char ssh_command[PATH_MAX] = "";
    int ret = ident_open(c->p, IDENT_STRICT, &c->id, &c->src, &c->info, err);

    if (ret < 0)
        return ret;
    if (c->info.uuid_mismatch)
        return ident_mismatch_error(&c->id, err);
    snprintf(c->r.name, sizeof(c->r.name), "%s", c->id.name);
    c->vid = ident_virt(&c->id);
    c->orphan = migration_orphan_settle(c->p, c->src, &c->id, true, &c->info, c->dl, &c->fl) == 1;
    c->local = migration_local_node(c->p, c->nodebuf, sizeof(c->nodebuf));
    if (c->p->ssh_reuse && c->p->remoteuri == NULL &&
        migrate_ssh_command_find(ssh_command, sizeof(ssh_command)) < 0)
        log_debug("ssh_reuse: no %s next to the agent or in %s: every connection to the "
                  "target logs in", MIGRATE_SSH_COMMAND, FERRY_PKGLIBEXECDIR);
    ret = migrate_target_resolve(c->p, c->p->migrate_target, c->local, ssh_command, &c->t, err);
    if (ret < 0)
        return ret;
    snprintf(c->r.target, sizeof(c->r.target), "%s", c->t.node);
    return 0;
}

/* The target answers: its ssh port (a bounded TCP connect), then its libvirt
 * (a bounded connection). */
static int
migration_connect_target(struct migration_ctx *c, ferry_error **err)
{
    char *host = NULL;
    int port = 0;
    deadline connect_dl;
    int ret = 0;

    if (migrate_uri_endpoint(c->t.dest_uri, &host, &port) == 0) {
        int64_t probe_ms = deadline_remaining_ms(c->dl) / 4;

        ret = migrate_probe_tcp(host, port, probe_ms > 5000 ? 5000 : probe_ms, err);
        free(host);
        migrate_phases_mark(&c->ph, MIGRATE_PHASE_PROBE, deadline_now_ms());
        if (ret < 0) {
            error_prefix(*err, "target %s unreachable: ", c->t.node);
            return ret;
        }
    }
    connect_dl = deadline_sub(c->dl, deadline_remaining_ms(c->dl) / 4);
    ret = migration_open_target(c->t.dest_uri, &connect_dl, &c->dst, err);
    migrate_phases_mark(&c->ph, MIGRATE_PHASE_OPEN, deadline_now_ms());
    if (ret < 0)
        error_prefix(*err, "target %s: ", c->t.node);
    return ret;
}

/* Where the domain is on both nodes. 1: nothing to do (a repeated
 * migrate_to after success); 0: migrate it; < 0: refused. */
static int
migration_check_states(struct migration_ctx *c, ferry_error **err)
{
    struct virt_domain_info d;
    int ret = virt_domain_query(c->dst, &c->vid, &d, err);

    if (ret < 0)
        return ret;
    if (virt_state_inactive(c->info.state)) {
        if (d.state != VIRT_STATE_RUNNING)
            return error_set(err, FERRY_E_STATE, "domain '%s' is not running here (%s); nothing "
                             "to migrate", c->id.name, c->info.state_text);
        if (c->orphan && strcmp(c->fl.target, c->t.node) == 0)
            flight_end(c->p);      /* the killed one's guest arrived where it should */
        c->r.already = true;
        return 1;
    }
    if (d.state == VIRT_STATE_RUNNING)
        return error_set(err, FERRY_E_STATE, "domain '%s' already runs on the target %s while "
                         "it runs here: refusing to migrate onto a running copy", c->id.name,
                         c->t.node);
    if (d.uuid_mismatch)
        return error_set(err, FERRY_E_STATE, "the target %s has another domain named '%s' "
                         "(a different UUID)", c->t.node, c->id.name);
    if (!virt_state_inactive(d.state)) {
        /* a half-arrived copy of an earlier, failed migration */
        ret = virt_domain_destroy(c->dst, &c->vid, err);
        if (ret < 0)
            return ret;
        log_warning("removed a stale %s copy of '%s' from %s before migrating", d.state_text,
                    c->id.name, c->t.node);
    }
    return 0;
}

/* Is the hypervisor this node's system libvirt, whose qemu.conf we can read? */
static bool
migration_hypervisor_system(const struct ferry_params *p)
{
    return p->hypervisor == NULL || strncmp(p->hypervisor, "qemu:///system", 14) == 0;
}

/* Pre-flight: nothing moves before every check passed. 1: nothing to do. */
static int
migration_preflight(struct migration_ctx *c, ferry_error **err)
{
    deadline sync_dl = deadline_sub(c->dl, deadline_remaining_ms(c->dl) / 10);
    char *live_xml = NULL;
    ferry_error *e = NULL;
    int ret = migration_connect_target(c, err);

    if (ret == 0) {
        ret = migration_check_states(c, err);
        migrate_phases_mark(&c->ph, MIGRATE_PHASE_STATES, deadline_now_ms());
    }
    if (ret != 0)
        return ret;
    if (sync_definition_check(c->p, c->src, &c->id, &sync_dl) && c->p->persistent) {
        /* the target is defined from the config file: take the new one */
        domxml *fresh = NULL;

        if (domxml_load_file(c->id.config_path, &fresh, &e) == 0) {
            domxml_free(c->id.xml);
            c->id.xml = fresh;
        }
        error_free(e);
    }
    migrate_phases_mark(&c->ph, MIGRATE_PHASE_SYNC, deadline_now_ms());
    ret = virt_domain_xml(c->src, &c->vid, &live_xml, err);
    if (ret == 0)
        ret = domxml_parse(live_xml, strlen(live_xml), "the running domain's XML", &c->live, err);
    free(live_xml);
    migrate_phases_mark(&c->ph, MIGRATE_PHASE_XML, deadline_now_ms());
    if (ret == 0)
        ret = migrate_preflight_target(c->dst, c->live, c->p, c->t.node, err);
    if (ret == 0 && c->p->tls && migration_hypervisor_system(c->p) &&
        migrate_tls_dir(MIGRATE_QEMU_CONF, c->tls_dir, sizeof(c->tls_dir)) == 0)
        ret = migrate_preflight_tls(c->tls_dir, c->t.node, err);
    if (ret == 0 && c->p->migration_downtime_ms > 0)
        ret = virt_domain_set_max_downtime(c->src, &c->vid, (uint64_t)c->p->migration_downtime_ms,
                                           err);
    migrate_phases_mark(&c->ph, MIGRATE_PHASE_CHECKS, deadline_now_ms());
    if (ret < 0)
        return ret;
    migrate_watch_init(&c->w, c->p, domxml_memory_kib(c->live), c->dl, deadline_now_ms());
    if (!migrate_watch_time_enough(&c->w, deadline_now_ms())) {
        /* the watcher would have to pause or abort at once: a guest paused
         * (or a migration aborted) for nothing */
        return error_set(err, FERRY_E_TIMEOUT, "pre-flight took %lld ms of migrate_to's time; "
                         "%lld ms are left, too few to start a migration the policy can still "
                         "bound (nothing has moved)", (long long)deadline_elapsed_ms(c->dl),
                         (long long)deadline_remaining_ms(c->dl));
    }
    return 0;
}

void
migration_spec(const struct ferry_params *p, const struct migrate_target *t,
               const char *persist_xml,               struct virt_migrate_spec *ret_spec)
{
    struct virt_migrate_spec spec = {
        .dest_uri = t->dest_uri,
        .data_uri = p->tunnelled ? NULL : t->data_uri,
        .live = p->migrate_mode == MIGRATE_MODE_LIVE,
        .persistent = p->persistent,
        .persist_xml = p->persistent ? persist_xml : NULL,
        .tunnelled = p->tunnelled,
        .tls = p->tls,
        .auto_converge = p->migration_policy_id == MIGRATE_POLICY_AUTO_CONVERGE,
        .postcopy = p->migration_policy_id == MIGRATE_POLICY_POSTCOPY,
        .unsafe = p->allow_unsafe,
        .compression = p->migration_compression &&
                       strcmp(p->migration_compression, "none") != 0 ?
                       p->migration_compression : NULL,
        .bandwidth_mib_s = p->migration_speed_mib_s > 0 ? (uint64_t)p->migration_speed_mib_s : 0,
        .parallel = (int)p->migration_parallel,
        .shared = p->migration_connection_id == MIGRATION_CONNECTION_SHARED,
    };

    *ret_spec = spec;
}

/* migration_speed=auto: the bandwidth for the stream to the target's
 * migration address, logged with the figures behind it. */
static void
migration_speed_auto(struct migration_ctx *c, struct virt_migrate_spec *spec)
{
    struct linkspeed_choice ch;
    char host[256];

    if (spec->data_uri == NULL || linkspeed_uri_host(spec->data_uri, host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "%s", c->t.host);
    linkspeed_auto(c->dst, host, c->p->pacemaker, c->dl, &ch);
    spec->bandwidth_mib_s = (uint64_t)ch.bandwidth_mib_s;
    if (ch.bandwidth_mib_s > 0)
        log_info("migration_speed=auto: %lld MiB/s for '%s' to %s (%s): link %lld Mb/s here, "
                 "%lld Mb/s on the target, migration-limit %lld%s%s", (long long)ch.bandwidth_mib_s,
                 c->id.name, c->t.node, ch.ifname, (long long)ch.local_mbps,
                 (long long)ch.remote_mbps, (long long)ch.limit, ch.why[0] ? "; " : "", ch.why);
    else
        log_warning("migration_speed=auto: no bandwidth limit for '%s' to %s: %s", c->id.name,
                    c->t.node, ch.why);
}

/* The migrate call and its watcher, with the flight record around it. */
static int
migration_run(struct migration_ctx *c, struct migrate_result *mr, ferry_error **err)
{
    struct virt_migrate_spec spec;
    int rc = 0;

    migration_spec(c->p, &c->t, c->id.xml ? domxml_text(c->id.xml) : NULL, &spec);
    if (c->p->migration_speed_mib_s == PARAMS_MIGRATION_SPEED_AUTO)
        migration_speed_auto(c, &spec);
    /* the record the next action here needs if this process is killed */
    memset(&c->fl, 0, sizeof(c->fl));
    snprintf(c->fl.name, sizeof(c->fl.name), "%s", c->id.name);
    snprintf(c->fl.uuid, sizeof(c->fl.uuid), "%s", c->id.uuid ? c->id.uuid : c->info.uuid);
    snprintf(c->fl.target, sizeof(c->fl.target), "%s", c->t.node);
    snprintf(c->fl.dest_uri, sizeof(c->fl.dest_uri), "%s", c->t.dest_uri);
    c->fl.was_running = c->info.state == VIRT_STATE_RUNNING;
    c->fl.begun_s = (int64_t)time(NULL);
    rc = flight_begin(c->p, &c->fl);
    if (rc < 0)
        log_warning("cannot record the migration in flight (%s): if this migrate_to is killed, "
                    "the next action here cannot tell where the guest went", strerror(-rc));
    migrate_phases_mark(&c->ph, MIGRATE_PHASE_TUNE, deadline_now_ms());
    rc = migrate_run(c->src, c->dst, &c->vid, &spec, &c->w, mr, err);
    migrate_phases_mark(&c->ph, MIGRATE_PHASE_MIGRATE, deadline_now_ms());
    return rc;
}

/* After a successful migrate call: libvirt's own figures, never two running
 * copies, no definition left behind. */
static int
migration_finish(struct migration_ctx *c, struct migrate_result *mr, ferry_error **err)
{
    struct virt_job_stats done;
    ferry_error *e = NULL;
    bool have_done = virt_domain_job_stats(c->dst, &c->vid, true, &done, &e) == 0;
    int ret = 0;

    migrate_phases_migrated(&c->ph, mr, have_done ? &done : NULL);
    if (have_done) {
        mr->downtime_ms = done.downtime_ms;
        if (done.data_processed)
            mr->bytes = done.data_processed;
        if (done.elapsed_ms)
            mr->elapsed_ms = done.elapsed_ms;
        if (done.iterations)
            mr->iterations = done.iterations;
    }
    e = error_free(e);
    if (virt_domain_query(c->src, &c->vid, &c->info, &e) == 0 &&
        c->info.state == VIRT_STATE_RUNNING)
        ret = error_set(err, FERRY_E_STATE, "libvirt reported the migration of '%s' done, but "
                        "it still runs here", c->id.name);
    e = error_free(e);
    /* no definition stays behind to be started by hand or by autostart: the
     * config file holds it (save_config) and the domain runs elsewhere */
    if (ret == 0 && c->p->save_config && c->id.config_path &&
        c->info.state == VIRT_STATE_SHUTOFF && virt_domain_undefine(c->src, &c->vid, &e) < 0)
        log_warning("migrated '%s', but its definition stays on this node: %s", c->id.name,
                    error_message(e));
    error_free(e);
    return ret;
}

/* After a failed migrate call: the guest runs, unpaused, on the source, or
 * it had switched over (then the migration counts as done). */
static int
migration_fail(struct migration_ctx *c, struct migrate_result *mr, int ret, ferry_error **err)
{
    char note[2048] = "";
    bool on_target = false;

    migrate_phases_migrated(&c->ph, mr, NULL);
    migration_recover(c->src, c->dst, &c->vid, c->fl.was_running, &on_target, note, sizeof(note));
    if (on_target) {
        log_warning("migration of '%s' reported an error after the switch-over (%s); it runs "
                    "on %s", c->id.name, error_message(*err), c->t.node);
        *err = error_free(*err);
        snprintf(mr->outcome, sizeof(mr->outcome), "completed-with-error");
        return 0;
    }
    if (c->p->tls && c->tls_dir[0] && mr->bytes == 0 && !c->w.aborted) {
        /* the stream never started: libvirt often says no more than "End of
         * file" when QEMU's TLS handshake failed (the reason is in QEMU's log
         * of the domain, e.g. "The certificate hasn't got a known issuer") */
        snprintf(note + strlen(note), sizeof(note) - strlen(note),
                 "; tls=true and no memory was copied: check the migration certificates in "
                 "%s on both nodes (the target's server-cert.pem must be issued by the CA of "
                 "this node's %s/ca-cert.pem and name the target's host; this node's "
                 "client-cert.pem by the target's ca-cert.pem); QEMU's log of the domain "
                 "says why", c->tls_dir, c->tls_dir);
    }
    if (note[0]) {
        ferry_error *joined = NULL;

        error_set(&joined, error_code(*err), "%s%s", error_message(*err), note);
        error_free(*err);
        *err = joined;
    }
    return ret;
}

int
migration_to(const struct ferry_params *p, const deadline *dl, struct migration_result *ret_result,
             ferry_error **err)
{
    struct migration_ctx c = { .p = p, .dl = dl };
    struct migrate_result mr;
    char phases[512];
    int ret = 0;

    memset(ret_result, 0, sizeof(*ret_result));
    memset(&mr, 0, sizeof(mr));
    migrate_phases_init(&c.ph, deadline_now_ms());
    ret = migration_resolve(&c, err);
    migrate_phases_mark(&c.ph, MIGRATE_PHASE_RESOLVE, deadline_now_ms());
    if (ret == 0)
        ret = migration_preflight(&c, err);
    if (ret != 0) {
        if (ret > 0) {            /* nothing to do */
            *ret_result = c.r;
            ret = 0;
        }
        goto cleanup;
    }
    ret = migration_run(&c, &mr, err);
    if (ret == 0)
        ret = migration_finish(&c, &mr, err);
    else
        ret = migration_fail(&c, &mr, ret, err);
    /* answered. A failure: the guest is here, Pacemaker's to know now. A
     * success: the record stays, handed over, until an action here learns
     * that Pacemaker knows the guest runs on the target (it does not always
     * follow with migrate_from: migration_handover_settle) */
    if (ret == 0) {
        int rc = flight_handed(p, &c.fl);

        if (rc < 0) {
            log_warning("cannot record that '%s' was handed to %s (%s)", c.id.name, c.t.node,
                        strerror(-rc));
            flight_end(p);
        }
    } else {
        flight_end(p);
    }
    migrate_result_format(&mr, c.id.name, c.local, c.t.node, p->migrate, p->migration_policy,
                          c.r.line, sizeof(c.r.line));
    c.r.downtime_ms = mr.downtime_ms;
    snprintf(c.r.outcome, sizeof(c.r.outcome), "%s", mr.outcome);
    snprintf(c.r.trigger, sizeof(c.r.trigger), "%s", mr.trigger);
    c.r.total_ms = mr.total_ms;
    c.r.pause_ms = mr.pause_ms;
    c.r.bytes = mr.bytes;
    migration_log_append(p, c.r.line);
    *ret_result = c.r;
cleanup:
    migrate_phases_mark(&c.ph, MIGRATE_PHASE_AFTER, deadline_now_ms());
    migrate_phases_format(&c.ph, c.ph.last_ms, phases, sizeof(phases));
    log_debug("migrate_to phases: %s", phases);
    snprintf(ret_result->phases, sizeof(ret_result->phases), "%s", phases);
    migration_ctx_clear(&c);
    return ret;
}

int
migration_from(const struct ferry_params *p, const deadline *dl, enum vm_status *ret_status,
               ferry_error **err)
{
    struct ident id = { 0 };
    struct virt_identity vid;
    struct virt_domain_info info;
    virt_conn *conn = NULL;
    int ret = 0;

    ret = ident_resolve(p, IDENT_LENIENT, &id, err);
    if (ret < 0)
        goto cleanup;
    vid = ident_virt(&id);
    ret = ident_connect(p, &conn, err);
    if (ret < 0)
        goto cleanup;
    for (;;) {
        ret = virt_domain_query(conn, &vid, &info, err);
        if (ret < 0)
            goto cleanup;
        if (info.uuid_mismatch) {
            ret = ident_mismatch_error(&id, err);
            goto cleanup;
        }
        if (info.state == VIRT_STATE_RUNNING) {
            *ret_status = VM_STATUS_RUNNING;
            migration_handover_forget(p, &id);
            sync_keep(p, conn, &id, &info, true, dl);
            goto cleanup;
        }
        if (virt_state_inactive(info.state)) {
            *ret_status = VM_STATUS_STOPPED;
            goto cleanup;
        }
        if (info.state == VIRT_STATE_PAUSED && info.paused_why != VIRT_PAUSED_MIGRATION &&
            info.paused_why != VIRT_PAUSED_STARTING && info.paused_why != VIRT_PAUSED_POSTCOPY) {
            /* it arrived paused, as it was on the source (by the operator, or
             * an I/O error): here it is; monitor reports it degraded */
            log_warning("migrate_from: domain '%s' arrived %s, as it was before the migration",
                        id.name, info.state_text);
            *ret_status = VM_STATUS_RUNNING;
            sync_keep(p, conn, &id, &info, true, dl);
            goto cleanup;
        }
        /* still arriving (paused by the migration): wait for it */
        if (!deadline_wait_ms(dl, MIGRATION_POLL_MS)) {
            ret = error_set(err, FERRY_E_TIMEOUT, "domain '%s' is still %s here", id.name,
                            info.state_text);
            goto cleanup;
        }
    }
cleanup:
    virt_conn_close(conn);
    ident_clear(&id);
    return ret;
}
