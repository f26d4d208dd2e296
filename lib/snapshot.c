/* snapshot.c — see snapshot.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "domxml.h"
#include "log.h"
#include "snapshot.h"
#include "state.h"

/* DIR/NAME with suffix ("", ".stale", or a temporary name). */
int
snapshot_path(const struct ferry_params *p, const char *name, const char *prefix,
              const char *suffix, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s%s%s", p->snapshot, prefix, name, suffix);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void
snapshot_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* What start restores comes from the snapshot directory, so only who is
 * trusted anyway may write there: the directory must be owned by root, or by
 * the user the agent runs as (root under Pacemaker; the unit tests' user),
 * and not be writable by group or others (not even sticky, as /tmp: anyone
 * could create DIR/<name> there). A missing directory is refused too: on this
 * node the shared storage may not be mounted, and starting afresh beside an
 * image would leave it to be restored over disks that moved on. */
int
snapshot_dir_check(const struct ferry_params *p, ferry_error **err)
{
    struct stat st;

    if (stat(p->snapshot, &st) < 0)
        return error_set(err, FERRY_E_INSTALLED, "snapshot directory '%s' cannot be used: %s",
                         p->snapshot, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return error_set(err, FERRY_E_INSTALLED, "snapshot directory '%s' is not a directory",
                         p->snapshot);
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return error_set(err, FERRY_E_INSTALLED, "snapshot directory '%s' is owned by uid %ld, "
                         "not root: its owner could make libvirt restore any memory image "
                         "(chown root)", p->snapshot, (long)st.st_uid);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return error_set(err, FERRY_E_INSTALLED, "snapshot directory '%s' is writable by %s "
                         "(mode %04o): they could make libvirt restore any memory image "
                         "(chmod go-w)", p->snapshot,
                         (st.st_mode & S_IWOTH) ? "others" : "its group",
                         (unsigned)(st.st_mode & 07777));
    return 0;
}

/* A stop that does not save leaves the image, if any, behind a guest that ran
 * on: it no longer matches the disks and is renamed DIR/NAME.stale, never
 * restored. Only an image older than this node's copy of the guest (the
 * state file's start time, recorded when it arrived here) is: one written
 * since was saved by another node (after a migration or a failover) while
 * this copy existed, and is the guest's; one this node cannot date is kept. */
void
snapshot_retire(const struct ferry_params *p, const char *name, const char *why)
{
    struct ferry_state rec;
    struct stat st;
    char path[4096];
    char stale[4200];
    int64_t mtime_ms = 0;

    if (snapshot_path(p, name, "", "", path, sizeof(path)) < 0 || stat(path, &st) < 0)
        return;
    mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    state_load(p, &rec);
    if (strcmp(rec.name, name) != 0 || rec.started_ms <= 0) {
        log_warning("snapshot image '%s' kept: this node has no record of when its copy of "
                    "'%s' started, so it cannot tell that the image is older", path, name);
        return;
    }
    if (mtime_ms >= rec.started_ms) {
        log_warning("snapshot image '%s' kept: it was written after this node's copy of '%s' "
                    "started (%lld ms later), by another node", path, name,
                    (long long)(mtime_ms - rec.started_ms));
        return;
    }
    snprintf(stale, sizeof(stale), "%s.stale", path);
    if (rename(path, stale) == 0) {
        log_warning("snapshot image '%s' renamed '%s': %s", path, stale, why);
        snapshot_fsync_dir(p->snapshot);
    } else {
        log_error("cannot rename stale snapshot image '%s': %s", path, strerror(errno));
    }
}

/* xml with <uuid>uuid</uuid> as the first child of its root element, newly
 * allocated; NULL if its <domain> start tag is not found. */
static char *
snapshot_xml_with_uuid(const char *xml, const char *uuid)
{
    const char *c = strstr(xml, "<domain");
    char quote = 0;
    char *out = NULL;
    size_t head = 0;
    size_t size = 0;

    while (c && c[7] != '>' && c[7] != ' ' && c[7] != '\t' && c[7] != '\n' && c[7] != '\r')
        c = strstr(c + 7, "<domain");
    for (; c && *c; c++) {
        if (quote && *c == quote)
            quote = 0;
        else if (!quote && (*c == '\'' || *c == '"'))
            quote = *c;
        else if (!quote && *c == '>')
            break;
    }
    if (c == NULL || *c != '>' || c[-1] == '/')
        return NULL;
    head = (size_t)(c + 1 - xml);
    size = strlen(xml) + strlen(uuid) + sizeof("<uuid></uuid>");
    out = malloc(size);
    if (out)
        snprintf(out, size, "%.*s<uuid>%s</uuid>%s", (int)head, xml, uuid, c + 1);
    return out;
}

/* start with a saved image: restore it with the domain's definition that this
 * node trusts (the config file; without one, libvirt's persistent definition),
 * never the one inside the image, then remove it. An image that cannot be
 * restored is kept and start fails: the guest's memory is not given up, and
 * nothing starts afresh beside it. */
int
snapshot_restore(virt_conn *conn, const struct ident *id,
                 const struct virt_domain_info *info, const struct ferry_params *p,
                 const char *path, struct vm_start_result *r, ferry_error **err)
{
    struct virt_identity vid = ident_virt(id);
    ferry_error *e = NULL;
    char *xml = NULL;
    char *definition = NULL;
    char *with_uuid = NULL;
    const char *dxml = NULL;
    domxml *saved = NULL;
    const char *uuid = NULL;
    bool kept = false;
    int ret = 0;

    /* the caller checked it too (start refuses such a directory even without an image) */
    ret = snapshot_dir_check(p, err);
    if (ret < 0)
        goto cleanup;
    if (id->xml) {
        dxml = domxml_text(id->xml);
    } else if (info->state == VIRT_STATE_SHUTOFF) {
        ret = virt_domain_definition(conn, &vid, &definition, err);
        if (ret < 0)
            goto cleanup;
        dxml = definition;
    }
    if (dxml == NULL) {
        ret = error_set(err, FERRY_E_INSTALLED, "snapshot image '%s' not restored and kept: "
                        "domain '%s' has no config and no libvirt definition on this node to "
                        "restore it with (the definition inside an image is never used)%s%s",
                        path, id->name, id->config_err ? ": " : "",
                        id->config_err ? error_message(id->config_err) : "");
        goto cleanup;
    }
    kept = true;    /* from here a failure leaves the image for the operator */
    /* an image of another domain, in plain words */
    ret = virt_save_image_xml(conn, path, &xml, err);
    if (ret < 0)
        goto cleanup;
    ret = domxml_parse(xml, strlen(xml), path, &saved, err);
    if (ret < 0)
        goto cleanup;
    uuid = domxml_uuid(saved);
    if (strcmp(domxml_name(saved), id->name) != 0 ||
        (id->uuid && uuid && strcasecmp(uuid, id->uuid) != 0)) {
        ret = error_set(err, FERRY_E_CONFIG, "snapshot image '%s' holds domain '%s' (%s), not "
                        "'%s' (%s)", path, domxml_name(saved),
                        uuid ? uuid : "no UUID", id->name, id->uuid ? id->uuid : "no UUID");
        goto cleanup;
    }
    if (id->xml && domxml_uuid(id->xml) == NULL && uuid) {
        /* a config without a UUID: libvirt gave the guest one, and restores
         * only with it; an identity, nothing to trust the image with */
        with_uuid = snapshot_xml_with_uuid(dxml, uuid);
        if (with_uuid == NULL) {
            ret = error_set(err, FERRY_E_XML, "cannot add the image's UUID to config '%s'",
                            id->config_path);
            goto cleanup;
        }
        dxml = with_uuid;
    }
    ret = virt_domain_restore(conn, path, dxml, err);
    if (ret < 0)
        goto cleanup;
    kept = false;
    /* restored once: the image is history now (the guest's disks move on) */
    if (unlink(path) < 0)
        log_error("cannot remove restored snapshot image '%s': %s", path, strerror(errno));
    snapshot_fsync_dir(p->snapshot);
    if (p->persistent && id->xml && virt_domain_define(conn, domxml_text(id->xml), err) < 0) {
        ret = error_code(*err);
        goto cleanup;
    }
    snprintf(r->how, sizeof(r->how), "restored from its snapshot image");
cleanup:
    if (ret < 0 && kept && err && *err) {
        e = *err;
        *err = NULL;
        error_set(err, ret, "%s; not restored, the image is kept: restore it with the "
                  "definition it was saved with, or rename it to start the guest afresh "
                  "(losing its memory)", error_message(e));
        error_free(e);
    }
    domxml_free(saved);
    free(xml);
    free(definition);
    free(with_uuid);
    return ret;
}

/* Whether stop may save this copy of the guest: one that runs, or that the
 * user or an I/O error paused (its memory is whole; restore resumes it). Never
 * a migration's copy: paused for an incoming migration (or starting up for
 * one) its memory is half-arrived, and an outgoing one's job would block the
 * save; nor one shutting down, crashed or paused by libvirt itself. NULL if
 * it may, else why not. */
static const char *
snapshot_unsavable(const struct virt_domain_info *info)
{
    if (info->state == VIRT_STATE_RUNNING)
        return NULL;
    if (info->state != VIRT_STATE_PAUSED)
        return "it is not running";
    switch (info->paused_why) {
    case VIRT_PAUSED_USER:
    case VIRT_PAUSED_IOERROR:
        return NULL;
    case VIRT_PAUSED_MIGRATION:
    case VIRT_PAUSED_STARTING:
    case VIRT_PAUSED_POSTCOPY:
    case VIRT_PAUSED_POSTCOPY_FAILED:
        return "it is a migration's copy, whose memory is not the guest's";
    default:
        return "it is paused by libvirt";
    }
}

/* stop with 'snapshot': save the guest instead of shutting it down. Returns
 * true when saved; otherwise why not is in note and the caller stops it.
 * The save goes to a temporary name of this node's and this process's own,
 * created exclusively (two nodes saving at once on shared storage must not
 * write one file), renamed DIR/NAME when complete. */
bool
snapshot_save(virt_conn *conn, const struct ident *id, const struct virt_domain_info *info,
              const struct ferry_params *p, const deadline *dl, char *note, size_t note_size)
{
    struct virt_identity vid = ident_virt(id);
    struct utsname node;
    char suffix[128];
    char path[4096];
    char tmp[4096];
    int64_t budget_ms = vm_stop_graceful_budget_ms(p->shutdown_timeout_ms,
                                                   deadline_remaining_ms(dl));
    deadline save_dl = deadline_sub(dl, budget_ms);
    const char *why = snapshot_unsavable(info);
    ferry_error *e = NULL;
    bool saved = false;
    int fd = -1;

    if (why) {
        snprintf(note, note_size, "not saved: %s (%s)", why, info->state_text);
        return false;
    }
    if (snapshot_dir_check(p, &e) < 0) {
        snprintf(note, note_size, "not saved: %.400s", error_message(e));
        error_free(e);
        return false;
    }
    if (budget_ms <= 0) {
        snprintf(note, note_size, "no time left to save it to '%.300s'", p->snapshot);
        return false;
    }
    if (uname(&node) < 0)
        snprintf(node.nodename, sizeof(node.nodename), "unknown");
    snprintf(suffix, sizeof(suffix), ".saving.%.64s.%ld", node.nodename, (long)getpid());
    if (snapshot_path(p, id->name, "", "", path, sizeof(path)) < 0 ||
        snapshot_path(p, id->name, ".", suffix, tmp, sizeof(tmp)) < 0) {
        snprintf(note, note_size, "snapshot path too long");
        return false;
    }
    /* the name is this process's: one that exists is left by an earlier
     * process of this node with the same pid */
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(note, note_size, "cannot create '%.300s': %.60s", tmp, strerror(errno));
        return false;
    }
    close(fd);
    if (virt_domain_save(conn, &vid, tmp, &save_dl, &e) < 0) {
        snprintf(note, note_size, "not saved: %.400s", error_message(e));
        unlink(tmp);
    } else if (rename(tmp, path) < 0) {
        snprintf(note, note_size, "saved to '%.200s' but cannot rename it '%.200s': %.60s", tmp, path,
                 strerror(errno));
    } else {
        snapshot_fsync_dir(p->snapshot);
        snprintf(note, note_size, "saved to '%.400s'", path);
        saved = true;
    }
    error_free(e);
    return saved;
}
