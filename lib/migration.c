/* migration.c — see migration.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "domxml.h"
#include "flight.h"
#include "log.h"
#include "migrate.h"
#include "migration.h"
#include "state.h"
#include "sync.h"

/* how often a wait polls libvirt */
#define MIGRATION_POLL_MS 200
/* How long the next action waits for an aborted migration job to end. */
#define MIGRATION_ORPHAN_WAIT_MAX_MS 30000

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
    bool have_record = flight_load(p, ret_f) == 0 && strcmp(ret_f->name, id->name) == 0;
    bool active = info->state != VIRT_STATE_ABSENT && info->state != VIRT_STATE_SHUTOFF;
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
        wait = deadline_sub(dl, MIGRATION_ORPHAN_WAIT_MAX_MS);
        if (!migration_job_wait_ended(conn, &vid, &wait))
            log_warning("the migration job of '%s' has not ended", id->name);
    }
    e = error_free(e);
    if (virt_domain_query(conn, &vid, info, &e) < 0) {
        error_free(e);
        return have_record ? 1 : 0;
    }
    if (!have_record)
        return 0;
    if (info->state != VIRT_STATE_ABSENT && info->state != VIRT_STATE_SHUTOFF) {
        /* the guest stayed here; libvirt removed the target's half */
        if (info->state == VIRT_STATE_PAUSED && ret_f->was_running &&
            (info->paused_why == VIRT_PAUSED_MIGRATION || info->paused_why == VIRT_PAUSED_USER)) {
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

/* The guest left for f->target by a migration whose migrate_to never
 * answered, so Pacemaker does not know it runs there (it may even have
 * stopped it there already, before the copy existed). Destroys our domain
 * there: 0 once it does not run there. */
int
migration_orphan_remove_copy(const struct ident *id, const struct flight *f, const deadline *dl,
                      char *note, size_t note_size, ferry_error **err)
{
    struct virt_identity vid = { f->name, f->uuid[0] ? f->uuid : id->uuid };
    struct virt_domain_info d;
    virt_conn *dst = NULL;
    int ret = 0;

    ret = virt_conn_open(f->dest_uri, &dst, err);
    if (ret < 0) {
        error_prefix(*err, "domain '%s' left for %s by a migration whose migrate_to was killed; "
                     "cannot reach %s to stop it there: ", id->name, f->target, f->target);
        goto cleanup;
    }
    ret = virt_domain_query(dst, &vid, &d, err);
    if (ret < 0)
        goto cleanup;
    if (d.state != VIRT_STATE_ABSENT && d.state != VIRT_STATE_SHUTOFF) {
        ret = virt_domain_destroy(dst, &vid, err);
        if (ret == 0)
            ret = virt_domain_wait_inactive(dst, &vid, dl, MIGRATION_POLL_MS, err);
        if (ret < 0)
            goto cleanup;
        snprintf(note, note_size, "the guest had left for %s by a migration whose migrate_to "
                 "was killed (Pacemaker does not know it runs there): destroyed it there",
                 f->target);
    }
cleanup:
    virt_conn_close(dst);
    return ret;
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
    src_active = s.state != VIRT_STATE_ABSENT && s.state != VIRT_STATE_SHUTOFF;
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
    if (src_active && d.state != VIRT_STATE_ABSENT && d.state != VIRT_STATE_SHUTOFF &&
        d.state != VIRT_STATE_RUNNING) {
        if (virt_domain_destroy(dst, vid, &e) == 0)
            snprintf(note + strlen(note), note_size - strlen(note),
                     "; removed the half-arrived copy from the target");
        e = error_free(e);
    }
    return ret;
}

int
migration_to(const struct ferry_params *p, const deadline *dl, struct migration_result *ret_result,
              ferry_error **err)
{
    struct ident id;
    struct virt_identity vid;
    struct virt_domain_info info;
    struct virt_domain_info dinfo;
    struct migrate_target t;
    struct migrate_watch w;
    struct migrate_result mr;
    struct virt_migrate_spec spec;
    struct virt_job_stats done_stats;
    struct migration_result r;
    virt_conn *src = NULL;
    virt_conn *dst = NULL;
    domxml *live = NULL;
    char *live_xml = NULL;
    char *probe_host = NULL;
    char nodebuf[256];
    char note[512];
    const char *local = NULL;
    ferry_error *e = NULL;
    uint64_t mem_kib = 0;
    int probe_port = 0;
    bool on_target = false;
    bool orphan = false;
    struct flight fl;
    deadline preflight_dl;
    deadline connect_dl;
    int rc = 0;
    int ret = 0;

    memset(&r, 0, sizeof(r));
    memset(ret_result, 0, sizeof(*ret_result));
    memset(&t, 0, sizeof(t));
    memset(&mr, 0, sizeof(mr));
    ret = ident_open(p, IDENT_STRICT, &id, &src, &info, err);
    if (ret < 0)
        goto cleanup;
    if (info.uuid_mismatch) {
        ret = ident_mismatch_error(&id, err);
        goto cleanup;
    }
    snprintf(r.name, sizeof(r.name), "%s", id.name);
    vid = ident_virt(&id);
    /* an earlier migrate_to killed here: end its job first */
    orphan = migration_orphan_settle(p, src, &id, true, &info, dl, &fl) == 1;
    local = migration_local_node(p, nodebuf, sizeof(nodebuf));
    ret = migrate_target_resolve(p, p->migrate_target, local, &t, err);
    if (ret < 0)
        goto cleanup;
    snprintf(r.target, sizeof(r.target), "%s", t.node);

    /* Pre-flight: nothing moves before every check passed. */
    if (migrate_uri_endpoint(t.dest_uri, &probe_host, &probe_port) == 0) {
        int64_t probe_ms = deadline_remaining_ms(dl) / 4;

        if (probe_ms > 5000)
            probe_ms = 5000;
        ret = migrate_probe_tcp(probe_host, probe_port, probe_ms, err);
        if (ret < 0) {
            error_prefix(*err, "target %s unreachable: ", t.node);
            goto cleanup;
        }
    }
    connect_dl = deadline_sub(dl, deadline_remaining_ms(dl) / 4);
    ret = virt_conn_open_within(t.dest_uri, &connect_dl, &dst, err);
    if (ret < 0) {
        error_prefix(*err, "target %s: ", t.node);
        goto cleanup;
    }
    ret = virt_domain_query(dst, &vid, &dinfo, err);
    if (ret < 0)
        goto cleanup;
    if (info.state == VIRT_STATE_ABSENT || info.state == VIRT_STATE_SHUTOFF) {
        if (dinfo.state == VIRT_STATE_RUNNING) {
            r.already = true;       /* a repeated migrate_to after success */
            if (orphan && strcmp(fl.target, t.node) == 0)
                flight_end(p);      /* the killed one's guest arrived where it should */
            *ret_result = r;
            goto cleanup;
        }
        ret = error_set(err, FERRY_E_STATE, "domain '%s' is not running here (%s); nothing to migrate",
                        id.name, info.state_text);
        goto cleanup;
    }
    if (dinfo.state == VIRT_STATE_RUNNING) {
        ret = error_set(err, FERRY_E_STATE, "domain '%s' already runs on the target %s while it "
                        "runs here: refusing to migrate onto a running copy", id.name, t.node);
        goto cleanup;
    }
    if (dinfo.uuid_mismatch) {
        ret = error_set(err, FERRY_E_STATE, "the target %s has another domain named '%s' "
                        "(a different UUID)", t.node, id.name);
        goto cleanup;
    }
    if (dinfo.state != VIRT_STATE_ABSENT && dinfo.state != VIRT_STATE_SHUTOFF) {
        /* a half-arrived copy of an earlier, failed migration */
        ret = virt_domain_destroy(dst, &vid, err);
        if (ret < 0)
            goto cleanup;
        log_warning("removed a stale %s copy of '%s' from %s before migrating", dinfo.state_text,
                    id.name, t.node);
    }
    preflight_dl = deadline_sub(dl, deadline_remaining_ms(dl) / 10);
    if (sync_definition_check(p, src, &id, &preflight_dl) && p->persistent) {
        /* the target is defined from the config file: take the new one */
        domxml *fresh = NULL;

        if (domxml_load_file(id.config_path, &fresh, &e) == 0) {
            domxml_free(id.xml);
            id.xml = fresh;
        }
        e = error_free(e);
    }
    ret = virt_domain_xml(src, &vid, &live_xml, err);
    if (ret < 0)
        goto cleanup;
    ret = domxml_parse(live_xml, strlen(live_xml), "the running domain's XML", &live, err);
    if (ret < 0)
        goto cleanup;
    mem_kib = domxml_memory_kib(live);
    ret = migrate_preflight_target(dst, live, p, t.node, err);
    if (ret < 0)
        goto cleanup;
    if (p->migration_downtime_ms > 0) {
        ret = virt_domain_set_max_downtime(src, &vid, (uint64_t)p->migration_downtime_ms, err);
        if (ret < 0)
            goto cleanup;
    }

    memset(&spec, 0, sizeof(spec));
    spec.dest_uri = t.dest_uri;
    spec.data_uri = p->tunnelled ? NULL : t.data_uri;
    spec.live = strcmp(p->migrate, "pause") != 0;
    spec.persistent = p->persistent;
    spec.persist_xml = p->persistent && id.xml ? domxml_text(id.xml) : NULL;
    spec.tunnelled = p->tunnelled;
    spec.tls = p->tls;
    spec.auto_converge = strcmp(p->migration_policy, "auto-converge") == 0;
    spec.postcopy = strcmp(p->migration_policy, "postcopy") == 0;
    spec.unsafe = p->allow_unsafe;
    spec.compression = p->migration_compression && strcmp(p->migration_compression, "none") != 0 ?
                       p->migration_compression : NULL;
    spec.bandwidth_mib_s = (uint64_t)p->migration_speed_mib_s;
    spec.parallel = (int)p->migration_parallel;

    migrate_watch_init(&w, p, mem_kib, dl, deadline_now_ms());
    if (!migrate_watch_time_enough(&w, deadline_now_ms())) {
        /* the watcher would have to pause or abort at once: a guest paused
         * (or a migration aborted) for nothing */
        ret = error_set(err, FERRY_E_TIMEOUT, "pre-flight took %lld ms of migrate_to's time; "
                        "%lld ms are left, too few to start a migration the policy can still "
                        "bound (nothing has moved)", (long long)deadline_elapsed_ms(dl),
                        (long long)deadline_remaining_ms(dl));
        goto cleanup;
    }
    /* the record the next action here needs if this process is killed */
    memset(&fl, 0, sizeof(fl));
    snprintf(fl.name, sizeof(fl.name), "%s", id.name);
    snprintf(fl.uuid, sizeof(fl.uuid), "%s", id.uuid ? id.uuid : info.uuid);
    snprintf(fl.target, sizeof(fl.target), "%s", t.node);
    snprintf(fl.dest_uri, sizeof(fl.dest_uri), "%s", t.dest_uri);
    fl.was_running = info.state == VIRT_STATE_RUNNING;
    rc = flight_begin(p, &fl);
    if (rc < 0)
        log_warning("cannot record the migration in flight (%s): if this migrate_to is killed, "
                    "the next action here cannot tell where the guest went", strerror(-rc));
    ret = migrate_run(src, dst, &vid, &spec, &w, &mr, err);
    if (ret == 0) {
        if (virt_domain_job_stats(dst, &vid, true, &done_stats, &e) == 0) {
            mr.downtime_ms = done_stats.downtime_ms;
            if (done_stats.data_processed)
                mr.bytes = done_stats.data_processed;
            if (done_stats.elapsed_ms)
                mr.elapsed_ms = done_stats.elapsed_ms;
            if (done_stats.iterations)
                mr.iterations = done_stats.iterations;
        }
        e = error_free(e);
        /* never two running copies */
        if (virt_domain_query(src, &vid, &info, &e) == 0 && info.state == VIRT_STATE_RUNNING) {
            ret = error_set(err, FERRY_E_STATE, "libvirt reported the migration of '%s' done, "
                            "but it still runs here", id.name);
        }
        e = error_free(e);
        /* no definition stays behind to be started by hand or by autostart: the
         * config file holds it (save_config) and the domain runs elsewhere */
        if (ret == 0 && p->save_config && id.config_path && info.state == VIRT_STATE_SHUTOFF) {
            if (virt_domain_undefine(src, &vid, &e) < 0)
                log_warning("migrated '%s', but its definition stays on this node: %s", id.name,
                            error_message(e));
            e = error_free(e);
        }
    } else {
        migration_recover(src, dst, &vid, fl.was_running, &on_target, note, sizeof(note));
        if (on_target) {
            log_warning("migration of '%s' reported an error after the switch-over (%s); it runs "
                        "on %s", id.name, error_message(*err), t.node);
            *err = error_free(*err);
            snprintf(mr.outcome, sizeof(mr.outcome), "completed-with-error");
            ret = 0;
        } else if (note[0]) {
            ferry_error *joined = NULL;

            error_set(&joined, error_code(*err), "%s%s", error_message(*err), note);
            error_free(*err);
            *err = joined;
        }
    }
    /* answered: whatever happened is Pacemaker's to know now */
    flight_end(p);
    migrate_result_format(&mr, id.name, local, t.node, p->migrate, p->migration_policy, r.line,
                          sizeof(r.line));
    r.downtime_ms = mr.downtime_ms;
    migration_log_append(p, r.line);
    *ret_result = r;
cleanup:
    error_free(e);
    free(probe_host);
    free(live_xml);
    domxml_free(live);
    migrate_target_clear(&t);
    virt_conn_close(dst);
    virt_conn_close(src);
    ident_clear(&id);
    return ret;
}

int
migration_from(const struct ferry_params *p, const deadline *dl, enum vm_status *ret_status,
                ferry_error **err)
{
    struct ident id;
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
            sync_keep(p, conn, &id, &info, true, dl);
            goto cleanup;
        }
        if (info.state == VIRT_STATE_ABSENT || info.state == VIRT_STATE_SHUTOFF) {
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
