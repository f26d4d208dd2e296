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
#include "log.h"
#include "migrate.h"
#include "proc.h"
#include "state.h"
#include "utilization.h"
#include "virt.h"
#include "vm.h"

#define VM_POLL_MS 200
/* What stop keeps back from its deadline for destroy and its verification:
 * libvirt's destroy sends SIGTERM, waits up to 10 s, then SIGKILL. */
#define VM_DESTROY_RESERVE_MS 20000
/* start retries a failing status_program this often (rgmanager's interval) */
#define VM_STATUS_PROGRAM_RETRY_MS 5000

/* Which domain the parameters mean, and where that came from. */
struct vm_ident {
    char *name;
    char *uuid;
    domxml *xml;               /* the parsed config, NULL if unset or unreadable */
    char *config_path;         /* the config file in use (config, or found in path), or NULL */
    ferry_error *config_err;   /* why the config could not be used */
    int config_rc;
    const char *source;        /* "config", "name", "state file" */
};

static void
vm_ident_clear(struct vm_ident *id)
{
    free(id->name);
    free(id->uuid);
    free(id->config_path);
    domxml_free(id->xml);
    error_free(id->config_err);
    memset(id, 0, sizeof(*id));
}

static struct virt_identity
vm_ident_virt(const struct vm_ident *id)
{
    struct virt_identity v = { id->name, id->uuid };

    return v;
}

static int
vm_strdup(char **dst, const char *src, ferry_error **err)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : error_set(err, -ENOMEM, "out of memory");
}

/* rgmanager's path: the first of dir/name, dir/name.xml over the ':'-separated
 * dirs that is a readable file, written to buf; NULL if none. */
static const char *
vm_config_search(const char *path, const char *name, char *buf, size_t size)
{
    const char *dir = path;

    while (dir && *dir) {
        size_t len = strcspn(dir, ":");
        static const char *const suffixes[] = { "", ".xml" };
        size_t i;

        for (i = 0; len > 0 && i < 2; i++) {
            struct stat st;

            int n = snprintf(buf, size, "%.*s/%s%s", (int)len, dir, name, suffixes[i]);

            /* a cut-off path would be another file */
            if (n < 0 || (size_t)n >= size)
                continue;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, R_OK) == 0)
                return buf;
        }
        dir += len;
        if (*dir == ':')
            dir++;
    }
    return NULL;
}

/* How an action works out which domain it means. */
enum vm_resolve {
    /* start, validate-all, migrate_to: the config decides; a config that
     * contradicts 'name' is an error (6) */
    VM_RESOLVE_STRICT,
    /* migrate_from: the config decides, but a contradiction only means "look
     * by name" (the guest has arrived: never ban it) */
    VM_RESOLVE_LENIENT,
    /* monitor, stop: the identity this node recorded when it last started or
     * received the domain comes first, so a stalled share holding the config
     * never blocks them; otherwise as lenient */
    VM_RESOLVE_RECORD,
};

/* The identity recorded in this node's state file, if it names a domain with
 * a UUID and agrees with 'name'. No I/O on the config file. */
static bool
vm_ident_from_record(const struct ferry_params *p, const struct ferry_state *st,
                     struct vm_ident *id, ferry_error **err, int *ret)
{
    /* it must be the record of what these parameters name: the resource's
     * config file (or name) may have changed since, and a record must never
     * make an action touch another domain */
    if (st->name[0] == '\0' || st->uuid[0] == '\0' || (p->name && strcmp(p->name, st->name) != 0) ||
        (p->config && strcmp(p->config, st->config) != 0))
        return false;
    id->source = "this node's record";
    *ret = 0;
    if (vm_strdup(&id->name, st->name, err) < 0 || vm_strdup(&id->uuid, st->uuid, err) < 0 ||
        vm_strdup(&id->config_path, p->config, err) < 0)
        *ret = -ENOMEM;
    return true;
}

/* Works out which domain is meant. A config that cannot be read is not fatal
 * as long as the name is known some other way. */
static int
vm_ident_resolve(const struct ferry_params *p, enum vm_resolve how, struct vm_ident *id,
                 ferry_error **err)
{
    struct ferry_state st;
    int ret = 0;

    memset(id, 0, sizeof(*id));
    state_load(p, &st);
    if (how == VM_RESOLVE_RECORD && vm_ident_from_record(p, &st, id, err, &ret))
        return ret;
    if (p->config || (p->path && p->name)) {
        char found[4096];
        const char *config = p->config;

        if (config == NULL) {
            config = vm_config_search(p->path, p->name, found, sizeof(found));
            if (config == NULL) {
                id->config_rc = error_set(&id->config_err, -ENOENT,
                                          "neither '%s' nor '%s.xml' is in path '%s'",
                                          p->name, p->name, p->path);
                goto by_name;
            }
        }
        if (vm_strdup(&id->config_path, config, err) < 0)
            return -ENOMEM;
        id->config_rc = domxml_load_file(config, &id->xml, &id->config_err);
        if (id->config_rc == 0 && p->name && strcmp(p->name, domxml_name(id->xml)) != 0) {
            id->config_rc = error_set(&id->config_err, FERRY_E_CONFIG,
                                      "parameter 'name' is '%s' but config '%s' names the "
                                      "domain '%s'", p->name, config, domxml_name(id->xml));
            id->xml = domxml_free(id->xml);
            if (how == VM_RESOLVE_STRICT)
                return error_set(err, FERRY_E_CONFIG, "%s", error_message(id->config_err));
            log_warning("%s; looking for the domain by its name", error_message(id->config_err));
        }
        if (id->config_rc == 0) {
            id->source = "config";
            if (vm_strdup(&id->name, domxml_name(id->xml), err) < 0 ||
                vm_strdup(&id->uuid, domxml_uuid(id->xml), err) < 0)
                return -ENOMEM;
            return 0;
        }
    }
by_name:
    if (p->name) {
        id->source = "name";
        if (vm_strdup(&id->name, p->name, err) < 0)
            return -ENOMEM;
        /* the UUID recorded at start, if it was for this name */
        if (strcmp(st.name, p->name) == 0 && st.uuid[0] && vm_strdup(&id->uuid, st.uuid, err) < 0)
            return -ENOMEM;
        goto cleanup;
    }
    if (st.name[0]) {
        id->source = "state file";
        if (vm_strdup(&id->name, st.name, err) < 0 ||
            (st.uuid[0] && vm_strdup(&id->uuid, st.uuid, err) < 0))
            return -ENOMEM;
        goto cleanup;
    }
    /* Nothing names the domain: we cannot tell whether it runs. */
    ret = error_set(err, FERRY_E_INSTALLED,
                    "%s, 'name' is not set and this node has no record of the domain's name: "
                    "cannot tell which domain to look for",
                    error_message(id->config_err));
cleanup:
    return ret;
}

/* The config problem as an error of ours: the file is missing or broken on this host. */
static int
vm_config_error(const struct vm_ident *id, ferry_error **err)
{
    return error_set(err, id->config_rc == FERRY_E_CONFIG ? FERRY_E_CONFIG : FERRY_E_INSTALLED,
                     "%s", error_message(id->config_err));
}

static int vm_snapshot_dir_check(const struct ferry_params *p, ferry_error **err);

int
vm_validate(const struct ferry_params *p, ferry_error **err)
{
    struct vm_ident id;
    int ret = 0;

    ret = params_validate(p, err);
    if (ret == 0 && p->snapshot)
        ret = vm_snapshot_dir_check(p, err);
    if (ret < 0)
        return ret;
    if (p->config == NULL && p->path == NULL)
        return 0;
    ret = vm_ident_resolve(p, VM_RESOLVE_STRICT, &id, err);
    if (ret == 0 && id.xml == NULL)
        ret = vm_config_error(&id, err);
    vm_ident_clear(&id);
    return ret;
}

static int
vm_connect(const struct ferry_params *p, virt_conn **ret_conn, ferry_error **err)
{
    int ret = virt_init(err);

    if (ret < 0)
        return ret;
    return virt_conn_open(p->hypervisor, ret_conn, err);
}

static int
vm_uuid_mismatch_error(const struct vm_ident *id, ferry_error **err)
{
    return error_set(err, FERRY_E_STATE,
                     "libvirt has a domain named '%s' whose UUID is not %s (from %s): "
                     "not touching a domain that may not be this resource's",
                     id->name, id->uuid, id->source);
}

/* The common start of an action: which domain, a connection to the local
 * libvirt, and the domain's state there. A namesake with another UUID is left
 * to the caller (ret_info->uuid_mismatch): it is not ours. */
static int
vm_open(const struct ferry_params *p, enum vm_resolve how, struct vm_ident *id,
        virt_conn **ret_conn, struct virt_domain_info *ret_info, ferry_error **err)
{
    struct virt_identity vid;
    int ret = vm_ident_resolve(p, how, id, err);

    if (ret < 0)
        return ret;
    ret = vm_connect(p, ret_conn, err);
    if (ret < 0) {
        error_prefix(*err, "domain '%s': ", id->name);
        return ret;
    }
    vid = vm_ident_virt(id);
    return virt_domain_query(*ret_conn, &vid, ret_info, err);
}

/* "a domain named 'x' with another UUID is ..." for notes and warnings */
static void
vm_namesake_note(const struct vm_ident *id, const struct virt_domain_info *info, char *buf,
                 size_t size)
{
    snprintf(buf, size, "a domain named '%s' with another UUID is %s here; it is not this "
             "resource's (UUID %s, from %s) and was left alone", id->name,
             info->namesake_running ? "running" : "defined", id->uuid, id->source);
}

/* --------------------------------------------------------- snapshot (rgmanager) */

/* DIR/NAME with suffix ("", ".stale", or a temporary name). */
static int
vm_snapshot_path(const struct ferry_params *p, const char *name, const char *prefix,
                 const char *suffix, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s%s%s", p->snapshot, prefix, name, suffix);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void
vm_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* CLOCK_REALTIME in ms: comparable with a file's modification time. */
static int64_t
vm_realtime_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What start restores comes from the snapshot directory, so only who is
 * trusted anyway may write there: the directory must be owned by root, or by
 * the user the agent runs as (root under Pacemaker; the unit tests' user),
 * and not be writable by group or others (not even sticky, as /tmp: anyone
 * could create DIR/<name> there). A missing directory is refused too: on this
 * node the shared storage may not be mounted, and starting afresh beside an
 * image would leave it to be restored over disks that moved on. */
static int
vm_snapshot_dir_check(const struct ferry_params *p, ferry_error **err)
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
static void
vm_snapshot_retire(const struct ferry_params *p, const char *name, const char *why)
{
    struct ferry_state rec;
    struct stat st;
    char path[4096];
    char stale[4200];
    int64_t mtime_ms = 0;

    if (vm_snapshot_path(p, name, "", "", path, sizeof(path)) < 0 || stat(path, &st) < 0)
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
        vm_fsync_dir(p->snapshot);
    } else {
        log_error("cannot rename stale snapshot image '%s': %s", path, strerror(errno));
    }
}

/* xml with <uuid>uuid</uuid> as the first child of its root element, newly
 * allocated; NULL if its <domain> start tag is not found. */
static char *
vm_snapshot_xml_with_uuid(const char *xml, const char *uuid)
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
static int
vm_snapshot_restore(virt_conn *conn, const struct vm_ident *id,
                    const struct virt_domain_info *info, const struct ferry_params *p,
                    const char *path, struct vm_start_result *r, ferry_error **err)
{
    struct virt_identity vid = vm_ident_virt(id);
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
    ret = vm_snapshot_dir_check(p, err);
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
        with_uuid = vm_snapshot_xml_with_uuid(dxml, uuid);
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
    vm_fsync_dir(p->snapshot);
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
vm_snapshot_unsavable(const struct virt_domain_info *info)
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
static bool
vm_snapshot_save(virt_conn *conn, const struct vm_ident *id, const struct virt_domain_info *info,
                 const struct ferry_params *p, const deadline *dl, char *note, size_t note_size)
{
    struct virt_identity vid = vm_ident_virt(id);
    struct utsname node;
    char suffix[128];
    char path[4096];
    char tmp[4096];
    int64_t budget_ms = vm_stop_graceful_budget_ms(p->shutdown_timeout_ms,
                                                   deadline_remaining_ms(dl));
    deadline save_dl = deadline_sub(dl, budget_ms);
    const char *why = vm_snapshot_unsavable(info);
    ferry_error *e = NULL;
    bool saved = false;
    int fd = -1;

    if (why) {
        snprintf(note, note_size, "not saved: %s (%s)", why, info->state_text);
        return false;
    }
    if (vm_snapshot_dir_check(p, &e) < 0) {
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
    if (vm_snapshot_path(p, id->name, "", "", path, sizeof(path)) < 0 ||
        vm_snapshot_path(p, id->name, ".", suffix, tmp, sizeof(tmp)) < 0) {
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
        vm_fsync_dir(p->snapshot);
        snprintf(note, note_size, "saved to '%.400s'", path);
        saved = true;
    }
    error_free(e);
    return saved;
}

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

/* A config write-back in a thread of its own: the config usually lives on
 * shared storage, and a stalled share must never hold an action past its
 * deadline. A write still running at the deadline is abandoned (it finishes,
 * or dies with the process); the caller goes on. */
struct vm_write_job {
    int ret;
    ferry_error *err;
    char *path;
    char *xml;
    char *name;
    char *uuid;
};

static void
vm_write_job_free(void *arg)
{
    struct vm_write_job *j = arg;

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
vm_write_job_run(void *arg)
{
    struct vm_write_job *j = arg;

    j->ret = domxml_write_file(j->path, j->xml, j->name, j->uuid, &j->err);
}

static int
vm_config_write_bounded(const char *path, const char *xml, const char *name, const char *uuid,
                        const deadline *dl, ferry_error **err)
{
    struct vm_write_job *j = calloc(1, sizeof(*j));
    int ret = 0;

    if (j == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    if (vm_strdup(&j->path, path, err) < 0 || vm_strdup(&j->xml, xml, err) < 0 ||
        vm_strdup(&j->name, name, err) < 0 || vm_strdup(&j->uuid, uuid, err) < 0) {
        vm_write_job_free(j);
        return -ENOMEM;
    }
    ret = deadline_run(dl, vm_write_job_run, vm_write_job_free, j);
    if (ret == -ETIMEDOUT)
        return error_set(err, FERRY_E_TIMEOUT, "writing '%s' did not finish in time (a stalled "
                         "share?); left to finish in the background", path);
    if (ret < 0) {
        vm_write_job_free(j);
        return error_set(err, ret, "cannot start a thread to write '%s'", path);
    }
    ret = j->ret;
    if (ret < 0)
        error_set(err, ret, "%s", error_message(j->err));
    vm_write_job_free(j);
    return ret;
}

/* The definition: when the running domain's persistent definition differs
 * from the one last seen here, write it to the config file. With baseline,
 * only record what it is now (after start or an arrival). A domain known to
 * be transient has none (and costs no libvirt call). */
static bool
vm_definition_sync(const struct ferry_params *p, virt_conn *conn, const struct vm_ident *id,
                   struct ferry_state *st, bool baseline, bool transient, const deadline *dl)
{
    struct virt_identity vid = vm_ident_virt(id);
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
    if (vm_config_write_bounded(id->config_path, xml, id->name, id->uuid, dl, &e) < 0) {
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
static bool
vm_definition_check(const struct ferry_params *p, virt_conn *conn, const struct vm_ident *id,
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
    written = vm_definition_sync(p, conn, id, &st, false, false, dl);
    if (!state_equal(&before, &st))
        state_save(p, &st);
    return written;
}

/* The utilization attributes: published when they differ from what this node
 * published last. No libvirt call and no process when there is nothing to do
 * or nowhere to write. */
static void
vm_utilization_sync(const struct ferry_params *p, virt_conn *conn, const struct vm_ident *id,
                    struct ferry_state *st, const deadline *dl)
{
    struct virt_identity vid = vm_ident_virt(id);
    struct utilization_size size = { 0, 0 };
    int64_t mem_kib = 0;
    ferry_error *e = NULL;
    int written = 0;

    if (!p->pacemaker || (!p->autoset_utilization_cpu && !p->autoset_utilization_hv_memory))
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
        log_info("utilization of '%s' published: cpu=%lld hv_memory=%lld", id->name,
                 (long long)size.cpu, (long long)size.hv_memory_mib);
cleanup:
    error_free(e);
}

/* After start, an arrival, or a monitor that found it running: bring this
 * node's record of the domain up to date, and save it if anything changed. */
static void
vm_keep(const struct ferry_params *p, virt_conn *conn, const struct vm_ident *id,
        const struct virt_domain_info *info, bool arrived, const deadline *dl)
{
    const char *uuid = id->uuid ? id->uuid : info->uuid[0] ? info->uuid : NULL;
    struct ferry_state st;
    struct ferry_state before;

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
        st.started_ms = vm_realtime_ms();   /* snapshot images older than this are stale */
        /* what another node published since may differ: publish once on arrival */
        st.util_cpu = -1;
        st.util_hv_memory_mib = -1;
        st.util_retry_after_s = 0;
    }
    before = st;
    vm_definition_sync(p, conn, id, &st, arrived, !info->persistent, dl);
    vm_utilization_sync(p, conn, id, &st, dl);
    if (!state_equal(&before, &st) || arrived)
        state_save(p, &st);
}

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

/* ------------------------------------------ a migrate_to that was killed */

/* How long the next action waits for an aborted migration job to end. */
#define VM_ORPHAN_WAIT_MAX_MS 30000

/* Waits until the domain has no job running, polling, until dl. */
static bool
vm_job_wait_ended(virt_conn *conn, const struct virt_identity *vid, const deadline *dl)
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
static int
vm_orphan_settle(const struct ferry_params *p, virt_conn *conn, const struct vm_ident *id,
                 bool any_job, struct virt_domain_info *info, const deadline *dl,
                 struct flight *ret_f)
{
    struct virt_identity vid = vm_ident_virt(id);
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
        wait = deadline_sub(dl, VM_ORPHAN_WAIT_MAX_MS);
        if (!vm_job_wait_ended(conn, &vid, &wait))
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
static int
vm_orphan_remove_copy(const struct vm_ident *id, const struct flight *f, const deadline *dl,
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
            ret = virt_domain_wait_inactive(dst, &vid, dl, VM_POLL_MS, err);
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
    struct vm_ident id;
    struct virt_identity vid;
    struct virt_domain_info info;
    struct vm_monitor_result r;
    struct proc_ref proc;
    struct flight flight;
    virt_conn *conn = NULL;
    ferry_error *conn_err = NULL;
    int ret = 0;

    memset(&r, 0, sizeof(r));
    ret = vm_ident_resolve(p, VM_RESOLVE_RECORD, &id, err);
    if (ret < 0)
        goto cleanup;
    snprintf(r.name, sizeof(r.name), "%s", id.name);
    vid = vm_ident_virt(&id);

    ret = vm_connect(p, &conn, &conn_err);
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
    if (!info.uuid_mismatch && vm_orphan_settle(p, conn, &id, false, &info, dl, &flight) == 1)
        log_warning("domain '%s' left for %s by a migration whose migrate_to was killed; the "
                    "next stop here removes it there", id.name, flight.target);
    if (info.uuid_mismatch) {
        char note[512];

        vm_namesake_note(&id, &info, note, sizeof(note));
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
        vm_keep(p, conn, &id, &info, false, dl);
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
    vm_ident_clear(&id);
    return ret;
}

/* Brings a domain that libvirt knows into the running state. */
static int
vm_start_existing(virt_conn *conn, const struct vm_ident *id, const struct virt_domain_info *info,
                  const struct ferry_params *p, struct vm_start_result *r, char ret_uuid[40],
                  ferry_error **err)
{
    struct virt_identity vid = vm_ident_virt(id);

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
        return vm_config_error(id, err);
    return error_set(err, FERRY_E_INSTALLED,
                     "domain '%s' is not defined in libvirt on this node and no 'config' is set",
                     id->name);
}

int
vm_start(const struct ferry_params *p, const deadline *dl, struct vm_start_result *ret_result,
         ferry_error **err)
{
    struct vm_ident id;
    struct virt_identity vid;
    struct virt_domain_info info;
    struct vm_start_result r;
    struct flight flight;
    virt_conn *conn = NULL;
    char image[4096];
    char uuid[40] = "";
    int ret = 0;

    memset(&r, 0, sizeof(r));
    ret = vm_open(p, VM_RESOLVE_STRICT, &id, &conn, &info, err);
    if (ret < 0)
        goto cleanup;
    if (info.uuid_mismatch) {
        ret = vm_uuid_mismatch_error(&id, err);
        goto cleanup;
    }
    snprintf(r.name, sizeof(r.name), "%s", id.name);
    vid = vm_ident_virt(&id);
    if (vm_orphan_settle(p, conn, &id, true, &info, dl, &flight) == 1) {
        /* Pacemaker starts it here believing it runs nowhere: a copy left
         * on the target by a killed migrate_to would be the second */
        char note[512] = "";

        ret = vm_orphan_remove_copy(&id, &flight, dl, note, sizeof(note), err);
        if (ret < 0)
            goto cleanup;
        if (note[0])
            log_warning("start: %s", note);
        flight_end(p);
    }
    if (p->snapshot && (info.state == VIRT_STATE_ABSENT || info.state == VIRT_STATE_SHUTOFF) &&
        (ret = vm_snapshot_dir_check(p, err)) == 0 &&
        vm_snapshot_path(p, id.name, "", "", image, sizeof(image)) == 0 &&
        access(image, F_OK) == 0)
        ret = vm_snapshot_restore(conn, &id, &info, p, image, &r, err);
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
        ret = vm_strdup(&id.uuid, uuid[0] ? uuid : NULL, err);
        if (ret < 0)
            goto cleanup;
        vid = vm_ident_virt(&id);
    }
    ret = virt_domain_query(conn, &vid, &info, err);
    if (ret < 0)
        goto cleanup;
    if (info.state != VIRT_STATE_RUNNING) {
        ret = error_set(err, FERRY_E_STATE, "domain '%s' is %s right after it was started",
                        id.name, info.state_text);
        goto cleanup;
    }
    vm_keep(p, conn, &id, &info, true, dl);
    ret = vm_status_program_wait(p, id.name, dl, err);
    if (ret < 0)
        goto cleanup;
    *ret_result = r;
cleanup:
    virt_conn_close(conn);
    vm_ident_clear(&id);
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
    struct vm_ident id;
    struct virt_identity vid;
    struct virt_domain_info info;
    struct vm_stop_result r;
    struct proc_ref proc = { 0, 0 };
    struct flight flight;
    deadline graceful;
    virt_conn *conn = NULL;
    ferry_error *shutdown_err = NULL;
    bool have_proc = false;
    bool persistent = false;
    int ret = 0;

    memset(&r, 0, sizeof(r));
    ret = vm_open(p, VM_RESOLVE_RECORD, &id, &conn, &info, err);
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
    vid = vm_ident_virt(&id);
    if (info.uuid_mismatch) {
        /* our UUID is not here: stopped, whatever the namesake does */
        vm_namesake_note(&id, &info, r.note, sizeof(r.note));
        r.how = VM_STOP_WAS_STOPPED;
        r.elapsed_ms = deadline_elapsed_ms(dl);
        *ret_result = r;
        goto cleanup;
    }
    if (vm_orphan_settle(p, conn, &id, true, &info, dl, &flight) == 1) {
        /* never "stopped" while the guest runs where Pacemaker does not know */
        ret = vm_orphan_remove_copy(&id, &flight, dl, r.note, sizeof(r.note), err);
        if (ret < 0)
            goto cleanup;
        flight_end(p);
    }
    if (info.state == VIRT_STATE_ABSENT || info.state == VIRT_STATE_SHUTOFF) {
        r.how = VM_STOP_WAS_STOPPED;
        r.elapsed_ms = deadline_elapsed_ms(dl);
        *ret_result = r;
        goto cleanup;
    }
    persistent = info.persistent;
    have_proc = proc_qemu_find(p->hypervisor, id.name, &proc) == 0;

    r.how = VM_STOP_DESTROYED;
    if (p->snapshot) {
        if (vm_snapshot_save(conn, &id, &info, p, dl, r.note, sizeof(r.note))) {
            r.how = VM_STOP_SAVED;
            goto verify;
        }
        log_warning("stop: domain '%s': %s; stopping it the usual way", id.name, r.note);
        vm_snapshot_retire(p, id.name, "the guest ran on and is stopped without a new save");
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
                (info.state == VIRT_STATE_ABSENT || info.state == VIRT_STATE_SHUTOFF)) {
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
        vm_definition_check(p, conn, &id, dl);
    r.elapsed_ms = deadline_elapsed_ms(dl);
    *ret_result = r;
cleanup:
    error_free(shutdown_err);
    virt_conn_close(conn);
    vm_ident_clear(&id);
    return ret;
}

/* ---- migration ---- */

/* Appends the statistics line to ${state_dir}/ferry-migrations.log (best effort). */
static void
vm_migration_record(const struct ferry_params *p, const char *line)
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
vm_local_node(const struct ferry_params *p, char *buf, size_t size)
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
vm_migrate_recover(virt_conn *src, virt_conn *dst, const struct virt_identity *vid,
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
vm_migrate_to(const struct ferry_params *p, const deadline *dl, struct vm_migrate_result *ret_result,
              ferry_error **err)
{
    struct vm_ident id;
    struct virt_identity vid;
    struct virt_domain_info info;
    struct virt_domain_info dinfo;
    struct migrate_target t;
    struct migrate_watch w;
    struct migrate_result mr;
    struct virt_migrate_spec spec;
    struct virt_job_stats done_stats;
    struct vm_migrate_result r;
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
    ret = vm_open(p, VM_RESOLVE_STRICT, &id, &src, &info, err);
    if (ret < 0)
        goto cleanup;
    if (info.uuid_mismatch) {
        ret = vm_uuid_mismatch_error(&id, err);
        goto cleanup;
    }
    snprintf(r.name, sizeof(r.name), "%s", id.name);
    vid = vm_ident_virt(&id);
    /* an earlier migrate_to killed here: end its job first */
    orphan = vm_orphan_settle(p, src, &id, true, &info, dl, &fl) == 1;
    local = vm_local_node(p, nodebuf, sizeof(nodebuf));
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
    if (vm_definition_check(p, src, &id, &preflight_dl) && p->persistent) {
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
        vm_migrate_recover(src, dst, &vid, fl.was_running, &on_target, note, sizeof(note));
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
    vm_migration_record(p, r.line);
    *ret_result = r;
cleanup:
    error_free(e);
    free(probe_host);
    free(live_xml);
    domxml_free(live);
    migrate_target_clear(&t);
    virt_conn_close(dst);
    virt_conn_close(src);
    vm_ident_clear(&id);
    return ret;
}

int
vm_migrate_from(const struct ferry_params *p, const deadline *dl, enum vm_status *ret_status,
                ferry_error **err)
{
    struct vm_ident id;
    struct virt_identity vid;
    struct virt_domain_info info;
    virt_conn *conn = NULL;
    int ret = 0;

    ret = vm_ident_resolve(p, VM_RESOLVE_LENIENT, &id, err);
    if (ret < 0)
        goto cleanup;
    vid = vm_ident_virt(&id);
    ret = vm_connect(p, &conn, err);
    if (ret < 0)
        goto cleanup;
    for (;;) {
        ret = virt_domain_query(conn, &vid, &info, err);
        if (ret < 0)
            goto cleanup;
        if (info.uuid_mismatch) {
            ret = vm_uuid_mismatch_error(&id, err);
            goto cleanup;
        }
        if (info.state == VIRT_STATE_RUNNING) {
            *ret_status = VM_STATUS_RUNNING;
            vm_keep(p, conn, &id, &info, true, dl);
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
            vm_keep(p, conn, &id, &info, true, dl);
            goto cleanup;
        }
        /* still arriving (paused by the migration): wait for it */
        if (!deadline_wait_ms(dl, VM_POLL_MS)) {
            ret = error_set(err, FERRY_E_TIMEOUT, "domain '%s' is still %s here", id.name,
                            info.state_text);
            goto cleanup;
        }
    }
cleanup:
    virt_conn_close(conn);
    vm_ident_clear(&id);
    return ret;
}
