/* sync.c — see sync.h */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "domxml.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "utilization.h"

/* A config write-back in a thread of its own: the config usually lives on
 * shared storage, and a stalled share must never hold an action past its
 * deadline. A write still running at the deadline is abandoned (it finishes,
 * or dies with the process); the caller goes on. */
struct sync_write_job {
    int ret;
    ferry_error *err;
    char *path;
    char *xml;
    char *name;
    char *uuid;
};

static void
sync_write_job_free(void *arg)
{
    struct sync_write_job *j = arg;

    if (j == NULL)
        return;
    error_free(j->err);
    free(j->path);
    free(j->xml);
    free(j->name);
    free(j->uuid);
    free(j);
}

static void
sync_write_job_run(void *arg)
{
    struct sync_write_job *j = arg;

    j->ret = domxml_write_file(j->path, j->xml, j->name, j->uuid, &j->err);
}

static int
sync_config_write(const char *path, const char *xml, const char *name, const char *uuid,
                  const deadline *dl, ferry_error **err)
{
    struct sync_write_job *j = calloc(1, sizeof(*j));
    int ret = 0;

    if (j == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    if (error_strdup(&j->path, path, err) < 0 || error_strdup(&j->xml, xml, err) < 0 ||
        error_strdup(&j->name, name, err) < 0 || error_strdup(&j->uuid, uuid, err) < 0) {
        sync_write_job_free(j);
        return -ENOMEM;
    }
    ret = deadline_run(dl, sync_write_job_run, sync_write_job_free, j);
    if (ret == -ETIMEDOUT)
        return error_set(err, FERRY_E_TIMEOUT, "writing '%s' did not finish in time (a stalled "
                         "share?); left to finish in the background", path);
    if (ret < 0) {
        sync_write_job_free(j);
        return error_set(err, ret, "cannot start a thread to write '%s'", path);
    }
    ret = j->ret;
    if (ret < 0)
        error_set(err, ret, "%s", error_message(j->err));
    sync_write_job_free(j);
    return ret;
}

/* The definition: when the running domain's persistent definition differs
 * from the one last seen here, write it to the config file. With baseline,
 * only record what it is now (after start or an arrival). A domain known to
 * be transient has none (and costs no libvirt call). */
static bool
sync_definition(const struct ferry_params *p, virt_conn *conn, const struct ident *id,
                struct ferry_state *st, bool baseline, bool transient, const deadline *dl)
{
    struct virt_identity vid = ident_virt(id);
    char *xml = NULL;
    ferry_error *e = NULL;
    uint64_t h = 0;
    bool written = false;

    if (!p->save_config || id->config_path == NULL)
        return false;
    if (!transient && virt_domain_definition(conn, &vid, &xml, &e) < 0) {
        log_warning("cannot read the definition of '%s' to keep '%s' current: %s", id->name,
                    id->config_path, error_message(e));
        goto cleanup;
    }
    h = xml ? state_hash(xml) : 0;
    if (baseline || !st->def_known || h == st->def_hash || xml == NULL) {
        st->def_hash = h;
        st->def_known = true;
        goto cleanup;
    }
    if (sync_config_write(id->config_path, xml, id->name, id->uuid, dl, &e) < 0) {
        log_warning("the definition of '%s' changed, but it could not be saved to '%s': %s",
                    id->name, id->config_path, error_message(e));
        goto cleanup;
    }
    log_info("the definition of '%s' changed: saved to '%s'", id->name, id->config_path);
    st->def_hash = h;
    written = true;
cleanup:
    error_free(e);
    free(xml);
    return written;
}

/* Before the domain leaves this node (stop, migrate_to): a last look at its
 * definition. True if the config file was rewritten. */
bool
sync_definition_check(const struct ferry_params *p, virt_conn *conn, const struct ident *id,
                      const deadline *dl)
{
    struct ferry_state st;
    struct ferry_state before;
    bool written = false;

    if (!p->save_config || id->config_path == NULL)
        return false;
    state_load(p, &st);
    if (strcmp(st.name, id->name) != 0)
        return false;   /* not started here by us: no baseline to compare with */
    before = st;
    written = sync_definition(p, conn, id, &st, false, false, dl);
    if (!state_equal(&before, &st))
        state_save(p, &st);
    return written;
}

/* The utilization attributes: published when they differ from what this node
 * published last. No libvirt call and no process when there is nothing to do
 * or nowhere to write. */
static void
sync_utilization(const struct ferry_params *p, virt_conn *conn, const struct ident *id,
                 struct ferry_state *st, const deadline *dl)
{
    struct virt_identity vid = ident_virt(id);
    struct utilization_size size = { 0, 0 };
    int64_t mem_kib = 0;
    ferry_error *e = NULL;
    int written = 0;

    if (!p->pacemaker || (!p->autoset_utilization_cpu && !p->autoset_utilization_hv_memory &&
                          !p->autoset_utilization_vms))
        return;
    if (virt_domain_size(conn, &vid, &size.cpu, &mem_kib, &e) < 0) {
        log_warning("cannot read the size of '%s' for its utilization: %s", id->name,
                    error_message(e));
        goto cleanup;
    }
    size.hv_memory_mib = mem_kib / 1024;
    written = utilization_publish(p, st, &size, "crm_resource", dl, &e);
    if (written < 0)
        log_warning("%s", error_message(e));
    else if (written > 0)
        log_info("utilization of '%s' published: cpu=%lld hv_memory=%lld%s", id->name,
                 (long long)size.cpu, (long long)size.hv_memory_mib,
                 p->autoset_utilization_vms ? " vms=1" : "");
cleanup:
    error_free(e);
}

/* After start, an arrival, or a monitor that found it running: bring this
 * node's record of the domain up to date, and save it if anything changed. */
void
sync_keep(const struct ferry_params *p, virt_conn *conn, const struct ident *id,
          const struct virt_domain_info *info, bool arrived, const deadline *dl)
{
    const char *uuid = id->uuid;
    struct ferry_state st;
    struct ferry_state before;

    if (uuid == NULL && info->uuid[0])
        uuid = info->uuid;
    state_load(p, &st);
    if (strcmp(st.name, id->name) != 0 || (uuid && strcmp(st.uuid, uuid) != 0)) {
        /* another domain than the one recorded: nothing of the old record holds */
        state_init(&st);
        snprintf(st.name, sizeof(st.name), "%s", id->name);
        snprintf(st.uuid, sizeof(st.uuid), "%s", uuid ? uuid : "");
    }
    /* which config named it (the record is used only with the same one) */
    if (id->config_path == NULL || strlen(id->config_path) >= sizeof(st.config))
        st.config[0] = '\0';
    else
        snprintf(st.config, sizeof(st.config), "%s", id->config_path);
    if (arrived) {
        st.started_ms = state_realtime_ms();   /* snapshot images older than this are stale */
        /* what another node published since may differ: publish once on arrival */
        st.util_cpu = -1;
        st.util_hv_memory_mib = -1;
        st.util_retry_after_s = 0;
    }
    before = st;
    sync_definition(p, conn, id, &st, arrived, !info->persistent, dl);
    sync_utilization(p, conn, id, &st, dl);
    if (!state_equal(&before, &st) || arrived)
        state_save(p, &st);
}
