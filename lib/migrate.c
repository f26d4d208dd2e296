/* migrate.c — see migrate.h */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "migrate.h"
#include "migrate-priv.h"

#define MIGRATE_WATCH_POLL_MS 200
/* ... and until QEMU is seen copying (the end of libvirt's prepare phase, for
 * the phase breakdown): finer, so the figure means something; for at most
 * MIGRATE_WATCH_START_FAST_MS (a prepare that takes longer is not timed finely) */
#define MIGRATE_WATCH_START_POLL_MS 20
#define MIGRATE_WATCH_START_FAST_MS 15000
/* how often a running migration's progress is logged */
#define MIGRATE_PROGRESS_LOG_MS 5000
/* how finely the guest-visible pause is measured */
#define MIGRATE_PAUSE_POLL_MS 10
/* What migrate_to keeps back from its deadline after the policy's last
 * chance to act: a paused guest's copy finishing, or an abort and the
 * clean-up (resume, remove the target's half). */
#define MIGRATE_HARD_RESERVE_MIN_MS 5000
#define MIGRATE_HARD_RESERVE_PCT 20
/* the least time a copy is started with, before the policy must act */
#define MIGRATE_MIN_COPY_MS 3000

char *
migrate_expand(const char *pattern, const char *node)
{
    size_t n = 0;
    size_t len = 0;
    const char *p = NULL;
    char *out = NULL;
    char *o = NULL;

    for (p = pattern; (p = strstr(p, "%n")) != NULL; p += 2)
        n++;
    len = strlen(pattern) + n * strlen(node) + 1;
    out = malloc(len);
    if (out == NULL)
        return NULL;
    for (o = out, p = pattern; *p;) {
        if (p[0] == '%' && p[1] == 'n') {
            o = stpcpy(o, node);
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* node2.example.com + "-mig" -> node2-mig.example.com */
static char *
migrate_suffixed(const char *node, const char *suffix)
{
    size_t first = strcspn(node, ".");
    char *out = NULL;

    if (asprintf(&out, "%.*s%s%s", (int)first, node, suffix, node + first) < 0)
        return NULL;
    return out;
}

void
migrate_target_clear(struct migrate_target *t)
{
    free(t->node);
    free(t->host);
    free(t->dest_uri);
    free(t->data_uri);
    memset(t, 0, sizeof(*t));
}

/* The target node's name where it becomes (part of) a host name: it must be
 * one, so it cannot add a user, a port, a path or options to a URI. */
static int
migrate_node_check(const char *node, const char *where, ferry_error **err)
{
    if (params_host_valid(node))
        return 0;
    return error_set(err, FERRY_E_CONFIG,
                     "the migration target node name '%s' is not a host name (letters, digits, "
                     "'-', '_' and dots, not starting with '-'), so it cannot go into %s; "
                     "set migration_mapping", node, where);
}

/* A URI put together at run time: the same check as the parameters get. */
static int
migrate_uri_check(const char *uri, enum params_uri_kind kind, const char *where,
                  ferry_error **err)
{
    char why[512];

    if (params_uri_check(uri, kind, why, sizeof(why)) == 0)
        return 0;
    return error_set(err, FERRY_E_CONFIG, "%s for the migration would be '%s': %s", where, uri,
                     why);
}

/* A path that can go into a URI's query as it is: absolute, and only characters
 * that need no escaping. */
static bool
migrate_ssh_command_plain(const char *path)
{
    if (path == NULL || path[0] != '/')
        return false;
    for (const char *c = path; *c; c++) {
        if (!(isalnum((unsigned char)*c) || strchr("/._-+", *c)))
            return false;
    }
    return true;
}

int
migrate_ssh_command_find(char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash = NULL;

    if (len > 0) {
        exe[len] = '\0';
        slash = strrchr(exe, '/');
        if (slash && (size_t)snprintf(buf, size, "%.*s/%s", (int)(slash - exe), exe,
                                      MIGRATE_SSH_COMMAND) < size &&
            access(buf, X_OK) == 0 && migrate_ssh_command_plain(buf))
            return 0;
    }
    if ((size_t)snprintf(buf, size, "%s/%s", FERRY_PKGLIBEXECDIR, MIGRATE_SSH_COMMAND) < size &&
        access(buf, X_OK) == 0 && migrate_ssh_command_plain(buf))
        return 0;
    if (size)
        buf[0] = '\0';
    return -ENOENT;
}

bool
migrate_uri_shares_ssh(const char *uri)
{
    const char *q = uri ? strchr(uri, '?') : NULL;
    const char *c = q;

    while (c && (c = strstr(c, "command=")) != NULL) {
        if (c[-1] == '?' || c[-1] == '&') {
            const char *end = c + strlen("command=");
            size_t n = strcspn(end, "&");
            size_t k = strlen(MIGRATE_SSH_COMMAND);

            return n > k && end[n - k - 1] == '/' && strncmp(end + n - k, MIGRATE_SSH_COMMAND, k) == 0;
        }
        c++;
    }
    return false;
}

int
migrate_target_resolve(const struct ferry_params *p, const char *target_node,
                       const char *local_node, const char *ssh_command,
                       struct migrate_target *ret_target, ferry_error **err)
{
    struct migrate_target t;
    char *suffixed = NULL;
    int rc = 0;
    int ret = 0;

    memset(&t, 0, sizeof(t));
    if (target_node == NULL || *target_node == '\0')
        return error_set(err, FERRY_E_ARGS, "no migration target: "
                         "OCF_RESKEY_CRM_meta_migrate_target is not set");
    if (local_node && strcmp(target_node, local_node) == 0)
        return error_set(err, FERRY_E_ARGS, "the migration target '%s' is this node",
                         target_node);
    if ((t.node = strdup(target_node)) == NULL)
        goto nomem;
    if (p->migration_mapping) {
        rc = params_mapping_lookup(p->migration_mapping, target_node, &t.host);
        if (rc == -ENOMEM)
            goto nomem;
        if (rc < 0) {
            ret = error_set(err, FERRY_E_CONFIG,
                            "the migration target '%s' is not in migration_mapping '%s'",
                            target_node, p->migration_mapping);
            goto fail;
        }
        if (!params_host_valid(t.host)) {
            ret = error_set(err, FERRY_E_CONFIG, "parameter 'migration_mapping' maps '%s' to "
                            "'%s', which is not a host name", target_node, t.host);
            goto fail;
        }
    } else if ((t.host = strdup(target_node)) == NULL) {
        goto nomem;
    }
    if (p->remoteuri) {
        if (strstr(p->remoteuri, "%n") &&
            (ret = migrate_node_check(target_node, "parameter 'remoteuri' (%n)", err)) < 0)
            goto fail;
        t.dest_uri = migrate_expand(p->remoteuri, target_node);
    } else {
        if (p->migration_mapping == NULL &&
            (ret = migrate_node_check(target_node, "the target's libvirt URI", err)) < 0)
            goto fail;
        if (asprintf(&t.dest_uri, "qemu+ssh://%s%s%s/system?no_tty=1",
                     p->migration_user ? p->migration_user : "",
                     p->migration_user ? "@" : "", t.host) < 0)
            t.dest_uri = NULL;
    }
    if (t.dest_uri == NULL)
        goto nomem;
    /* every part is a plain name by now: nothing needs escaping; the check
     * makes sure of it */
    ret = migrate_uri_check(t.dest_uri, PARAMS_URI_LIBVIRT, p->remoteuri ?
                            "parameter 'remoteuri'" : "the target's libvirt URI", err);
    if (ret < 0)
        goto fail;
    /* ssh_reuse: libvirt runs ferry-ssh instead of ssh (after the check, which refuses a
     * command= in a URI: ours is the one exception, a plain path found by the agent) */
    if (p->ssh_reuse && p->remoteuri == NULL && migrate_ssh_command_plain(ssh_command)) {
        char *with = NULL;

        if (asprintf(&with, "%s&command=%s", t.dest_uri, ssh_command) < 0)
            goto nomem;
        free(t.dest_uri);
        t.dest_uri = with;
    }
    if (p->migrateuri) {
        if (strstr(p->migrateuri, "%n") &&
            (ret = migrate_node_check(target_node, "parameter 'migrateuri' (%n)", err)) < 0)
            goto fail;
        if ((t.data_uri = migrate_expand(p->migrateuri, target_node)) == NULL)
            goto nomem;
        ret = migrate_uri_check(t.data_uri, PARAMS_URI_DATA, "parameter 'migrateuri'", err);
    } else if (p->migration_network_suffix) {
        ret = migrate_node_check(target_node, "parameter 'migration_network_suffix'", err);
        if (ret < 0)
            goto fail;
        suffixed = migrate_suffixed(target_node, p->migration_network_suffix);
        if (suffixed == NULL || asprintf(&t.data_uri, "tcp://%s", suffixed) < 0)
            goto nomem;
        ret = migrate_uri_check(t.data_uri, PARAMS_URI_DATA,
                                "parameter 'migration_network_suffix'", err);
    }
    if (ret < 0)
        goto fail;
    free(suffixed);
    *ret_target = t;
    return 0;
nomem:
    ret = error_set(err, -ENOMEM, "out of memory");
fail:
    free(suffixed);
    migrate_target_clear(&t);
    return ret;
}

int
migrate_uri_host(const char *uri, char **ret_host, int *ret_port)
{
    const char *scheme_end = strstr(uri, "://");
    const char *host = NULL;
    const char *end = NULL;
    const char *at = NULL;
    const char *port_text = NULL;
    size_t len = 0;
    int port = 0;

    if (scheme_end == NULL)
        return -EINVAL;
    host = scheme_end + 3;
    end = host + strcspn(host, "/?");
    at = memchr(host, '@', (size_t)(end - host));
    if (at)
        host = at + 1;
    if (host == end)
        return -ENOTSUP;        /* a local URI */
    if (host[0] == '[') {
        /* an IPv6 literal: the address without its brackets, the port after ']' */
        const char *close = memchr(host, ']', (size_t)(end - host));

        if (close == NULL)
            return -EINVAL;
        host++;
        len = (size_t)(close - host);
        port_text = close + 1 < end ? close + 1 : NULL;
    } else {
        port_text = memchr(host, ':', (size_t)(end - host));
        len = port_text ? (size_t)(port_text - host) : (size_t)(end - host);
    }
    if (port_text) {
        char *stop = NULL;
        long value = 0;

        if (*port_text != ':' || !isdigit((unsigned char)port_text[1]))
            return -EINVAL;
        errno = 0;
        value = strtol(port_text + 1, &stop, 10);
        if (errno || stop != end || value < 1 || value > 65535)
            return -EINVAL;
        port = (int)value;
    }
    if (len == 0)
        return -EINVAL;
    *ret_host = strndup(host, len);
    *ret_port = port;
    return *ret_host ? 0 : -ENOMEM;
}

int
migrate_uri_endpoint(const char *uri, char **ret_host, int *ret_port)
{
    int port = 0;
    int ret = 0;

    if (strstr(uri, "://") == NULL)
        return -EINVAL;
    if (strncmp(uri, "qemu+ssh:", 9) == 0 || strstr(uri, "+ssh:") || strstr(uri, "+libssh"))
        port = 22;
    else if (strstr(uri, "+tls:") || strncmp(uri, "qemu://", 7) == 0)
        port = 16514;
    else if (strstr(uri, "+tcp:"))
        port = 16509;
    else
        return -ENOTSUP;
    ret = migrate_uri_host(uri, ret_host, ret_port);
    if (ret == 0 && *ret_port == 0)
        *ret_port = port;
    return ret;
}

/* One lookup, run by a thread of its own so that the caller can stop waiting
 * for it. The thread reads the name, the service and the hints for as long as
 * the lookup runs, which may be after the caller gave up: so they live here,
 * not in the caller's memory. Two owners hold it, the caller and the thread;
 * the last one to let go frees it, with the result when the caller did not
 * take it. (glibc's getaddrinfo_a was used before: an abandoned request
 * could not be freed, and its completion notice misbehaved under memcheck.) */
struct resolve_req {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int owners;                   /* under lock */
    bool done;                    /* under lock: rc and res are set */
    bool taken;                   /* under lock: the caller took res */
    int rc;
    struct addrinfo *res;
    struct addrinfo hints;
    char service[16];
    char host[];
};

static void
resolve_req_release(struct resolve_req *r)
{
    bool last = false;

    pthread_mutex_lock(&r->lock);
    last = --r->owners == 0;
    pthread_mutex_unlock(&r->lock);
    if (!last)
        return;
    if (!r->taken && r->res)
        freeaddrinfo(r->res);
    pthread_cond_destroy(&r->done_cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void *
resolve_req_run(void *arg)
{
    struct resolve_req *r = arg;
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(r->host, r->service, &r->hints, &res);

    pthread_mutex_lock(&r->lock);
    r->rc = rc;
    r->res = rc == 0 ? res : NULL;
    r->done = true;
    pthread_cond_signal(&r->done_cond);
    pthread_mutex_unlock(&r->lock);
    resolve_req_release(r);
    return NULL;
}

/* getaddrinfo within timeout_ms (a resolver that does not answer must not
 * hold migrate_to). A lookup still running when the time is up is left to
 * finish on its own, and frees itself. */
static int
migrate_resolve_within(const char *host, const char *service, const struct addrinfo *hints,
                       int timeout_ms, struct addrinfo **ret_res)
{
    size_t host_len = strlen(host);
    struct resolve_req *r = NULL;
    pthread_condattr_t cattr;
    pthread_attr_t tattr;
    pthread_t thread;
    struct timespec until;
    int wait_rc = 0;
    int rc = 0;

    if (strlen(service) >= sizeof(r->service))
        return EAI_SERVICE;
    r = calloc(1, sizeof(*r) + host_len + 1);
    if (r == NULL)
        return EAI_MEMORY;
    memcpy(r->host, host, host_len + 1);
    snprintf(r->service, sizeof(r->service), "%s", service);
    r->hints = *hints;
    r->owners = 2;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->done_cond, &cattr);
    pthread_condattr_destroy(&cattr);
    pthread_attr_init(&tattr);
    pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&thread, &tattr, resolve_req_run, r);
    pthread_attr_destroy(&tattr);
    if (rc != 0) {
        r->owners = 1;
        resolve_req_release(r);
        return EAI_AGAIN;
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (!r->done && wait_rc != ETIMEDOUT)
        wait_rc = pthread_cond_timedwait(&r->done_cond, &r->lock, &until);
    if (r->done) {
        rc = r->rc;
        if (rc == 0) {
            *ret_res = r->res;
            r->taken = true;
        }
    } else {
        rc = EAI_AGAIN;                 /* still in the resolver's hands */
    }
    pthread_mutex_unlock(&r->lock);
    resolve_req_release(r);
    return rc;
}

int
migrate_probe_tcp(const char *host, int port, int64_t timeout_ms, ferry_error **err)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    struct addrinfo *ai = NULL;
    char service[16];
    const char *why = "no address";
    int fd = -1;
    int rc = 0;
    int ret = FERRY_E_LIBVIRT;
    /* poll() waits for ever on a negative time: a spent budget is no wait */
    int wait_ms = (int)(timeout_ms > INT_MAX ? INT_MAX : timeout_ms);

    if (wait_ms < 0)
        wait_ms = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%d", port);
    rc = migrate_resolve_within(host, service, &hints, wait_ms, &res);
    if (rc != 0)
        return error_set(err, FERRY_E_LIBVIRT, "cannot resolve '%s'%s: %s", host,
                         rc == EAI_AGAIN ? " in time" : "", gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        int soerr = 0;
        socklen_t slen = sizeof(soerr);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            ret = 0;
            break;
        }
        if (errno != EINPROGRESS) {
            why = strerror(errno);
            close(fd);
            fd = -1;
            continue;
        }
        pfd.fd = fd;
        pfd.events = POLLOUT;
        rc = poll(&pfd, 1, wait_ms);
        if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) == 0 && soerr == 0) {
            ret = 0;
            break;
        }
        why = rc == 0 ? "no answer (timed out)" : strerror(soerr ? soerr : errno);
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    if (ret < 0)
        error_set(err, FERRY_E_LIBVIRT, "cannot reach %s port %d within %lld ms: %s", host, port,
                  (long long)timeout_ms, why);
    return ret;
}

/* The filesystems libvirt's virFileIsSharedFS (9.0) treats as shared, and a
 * few more: ferry must never refuse what libvirt would migrate; where this
 * list says "shared" and libvirt does not (9P, Lustre, a FUSE other than
 * GlusterFS or Quobyte), libvirt refuses in its Begin phase, before the target
 * is asked to prepare anything. GFS2 and OCFS2 are libvirt's cluster
 * filesystems: safe whatever the cache mode. */
bool
migrate_path_is_shared(const char *path)
{
    static const unsigned long shared_magic[] = {
        0x6969,       /* NFS */
        0x517B,       /* SMB */
        0xFF534D42,   /* CIFS */
        0xFE534D42,   /* SMB2 */
        0x01161970,   /* GFS2 */
        0x7461636f,   /* OCFS2 */
        0x00c36400,   /* CEPH */
        0x01021997,   /* 9P */
        0x5346414F,   /* AFS */
        0x6B414653,   /* AFS (kAFS) */
        0x19830326,   /* BeeGFS */
        0x0BD00BD0,   /* Lustre */
        0x47504653,   /* GPFS */
        0x61636673,   /* ACFS */
        0x65735546,   /* FUSE (GlusterFS, Quobyte, ...) */
    };
    char dir[4096];
    struct statfs st;
    char *slash = NULL;
    size_t i;

    if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(dir))
        return false;
    snprintf(dir, sizeof(dir), "%s", path);
    /* like libvirt: a path that cannot be looked at (not there yet, no
     * search permission on an NFS export) counts by its nearest parent */
    while (statfs(dir, &st) < 0) {
        slash = strrchr(dir, '/');
        if (slash == NULL || (slash == dir && dir[1] == '\0'))
            return false;
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    for (i = 0; i < sizeof(shared_magic) / sizeof(shared_magic[0]); i++)
        if ((unsigned long)st.f_type == shared_magic[i])
            return true;
    return false;
}

/* libvirt 9.0's qemuMigrationSrcIsSafe, the part ferry can see: read-only and
 * empty drives are safe; network disks are safe; NVMe is never safe; a file
 * must be on a shared filesystem (shareable or not); block devices and pool
 * volumes are left to libvirt. The cache mode is not looked at: libvirt
 * refuses a host cache only when QEMU cannot drop its caches at the switch-over
 * (QEMU_CAPS_MIGRATION_FILE_DROP_CACHE; Debian 12's QEMU 7.2 can), which ferry
 * cannot see, and then it refuses in the Begin phase, before anything moves. */
int
migrate_check_disks(const domxml *dom, ferry_error **err)
{
    size_t i;

    for (i = 0; i < domxml_disk_count(dom); i++) {
        const struct domxml_disk *d = domxml_disk(dom, i);
        const char *type = d->type ? d->type : "file";

        if (d->readonly)
            continue;
        if (strcmp(type, "nvme") == 0)
            return error_set(err, FERRY_E_STATE,
                             "disk %s is an NVMe device: libvirt does not migrate a guest with "
                             "one as the storage is not shared", d->target ? d->target : "?");
        if (d->source == NULL || strcmp(type, "file") != 0)
            continue;
        if (!migrate_path_is_shared(d->source))
            return error_set(err, FERRY_E_STATE,
                             "disk %s ('%s') is on a filesystem libvirt does not treat as shared: "
                             "libvirt would refuse the migration as unsafe (set allow_unsafe=true "
                             "if the storage really is shared between the nodes)",
                             d->target ? d->target : "?", d->source);
    }
    return 0;
}


const char *
migrate_policy_name(enum migrate_policy policy)
{
    return params_migration_policy_names[policy];
}

const char *
migrate_action_name(enum migrate_action action)
{
    switch (action) {
    case MIGRATE_ACT_PAUSE: return "pause";
    case MIGRATE_ACT_ABORT: return "abort";
    case MIGRATE_ACT_POSTCOPY: return "postcopy";
    case MIGRATE_ACT_NONE: break;
    }
    return "none";
}

void
migrate_watch_init(struct migrate_watch *w, const struct ferry_params *p, uint64_t memory_kib,
                   const deadline *dl, int64_t now_ms)
{
    uint64_t gib_x1000 = memory_kib * 1000 / (1024 * 1024);
    int64_t left_ms = deadline_end_ms(dl) - now_ms;
    int64_t reserve_ms = left_ms * MIGRATE_HARD_RESERVE_PCT / 100;

    memset(w, 0, sizeof(*w));
    if (gib_x1000 < 1000)
        gib_x1000 = 1000;
    if (reserve_ms < MIGRATE_HARD_RESERVE_MIN_MS)
        reserve_ms = MIGRATE_HARD_RESERVE_MIN_MS;
    if (reserve_ms > left_ms / 2)
        reserve_ms = left_ms / 2;
    w->live = p->migrate_mode == MIGRATE_MODE_LIVE;
    w->policy = p->migration_policy_id;
    w->start_ms = now_ms;
    w->stall_timeout_ms = p->migration_stall_timeout_ms;
    w->completion_at_ms = now_ms + (int64_t)((uint64_t)p->migration_timeout_per_gib_ms *
                                             gib_x1000 / 1000);
    w->hard_at_ms = deadline_end_ms(dl) - reserve_ms;
    w->giveup_at_ms = w->hard_at_ms + reserve_ms / 2;
    if (w->completion_at_ms > w->hard_at_ms)
        w->completion_at_ms = w->hard_at_ms;
    w->best_remaining = UINT64_MAX;
    w->best_at_ms = now_ms;
}

void
migrate_watch_progress(struct migrate_watch *w, uint64_t data_remaining, int64_t now_ms)
{
    if (data_remaining < w->best_remaining) {
        w->best_remaining = data_remaining;
        w->best_at_ms = now_ms;
    }
}

void
migrate_watch_suspended(struct migrate_watch *w, int64_t now_ms)
{
    w->suspended = true;
    w->best_at_ms = now_ms;
}

void
migrate_watch_acted(struct migrate_watch *w, enum migrate_action act, bool ok, int64_t now_ms)
{
    switch (act) {
    case MIGRATE_ACT_PAUSE:
        if (ok)
            migrate_watch_suspended(w, now_ms);
        break;
    case MIGRATE_ACT_ABORT:
        w->aborted = true;      /* asked: never switch or pause after that */
        break;
    case MIGRATE_ACT_POSTCOPY:
        if (ok)
            w->postcopy = true;
        else
            w->postcopy_failed = true;
        break;
    case MIGRATE_ACT_NONE:
        return;
    }
    /* a new phase: progress is measured afresh from here */
    w->best_remaining = UINT64_MAX;
    w->best_at_ms = now_ms;
}

bool
migrate_watch_time_enough(const struct migrate_watch *w, int64_t now_ms)
{
    return w->hard_at_ms - now_ms >= MIGRATE_MIN_COPY_MS;
}

enum migrate_action
migrate_watch_decide(const struct migrate_watch *w, int64_t now_ms, const char **ret_why)
{
    bool hard = now_ms >= w->hard_at_ms;
    bool stalled = now_ms - w->best_at_ms >= w->stall_timeout_ms;
    bool overtime = now_ms >= w->completion_at_ms;
    const char *why = "";

    if (hard)
        why = "deadline";
    else if (stalled)
        why = "stalled";
    else if (overtime)
        why = "timeout";
    if (ret_why)
        *ret_why = why;
    if (w->aborted || w->postcopy)
        return MIGRATE_ACT_NONE;     /* nothing more can be done safely */
    if (!w->live || w->suspended) {
        /* the guest is already paused: only giving up is left, and not before the
         * paused copy has had its share of the reserve */
        bool giveup = now_ms >= w->giveup_at_ms;

        if (ret_why)
            *ret_why = giveup ? "deadline" : (stalled ? "stalled" : "");
        return giveup || stalled ? MIGRATE_ACT_ABORT : MIGRATE_ACT_NONE;
    }
    if (!(hard || stalled || overtime))
        return MIGRATE_ACT_NONE;
    if (now_ms >= w->giveup_at_ms) {
        /* too late to pause or switch (a late first look): only giving up is left */
        if (ret_why)
            *ret_why = "deadline";
        return MIGRATE_ACT_ABORT;
    }
    switch (w->policy) {
    case MIGRATE_POLICY_ABORT:
        return MIGRATE_ACT_ABORT;
    case MIGRATE_POLICY_POSTCOPY:
        if (!w->postcopy_failed)
            return MIGRATE_ACT_POSTCOPY;
        break;
    case MIGRATE_POLICY_PAUSE:
    case MIGRATE_POLICY_AUTO_CONVERGE:
        break;
    }
    return MIGRATE_ACT_PAUSE;
}

enum migrate_action
migrate_watch_next(const struct migrate_watch *w, int64_t now_ms, int64_t *ret_at_ms,
                   const char **ret_why)
{
    /* the decision changes only at these moments while nothing progresses */
    int64_t at[] = { now_ms, w->best_at_ms + w->stall_timeout_ms, w->completion_at_ms,
                     w->hard_at_ms, w->giveup_at_ms };
    size_t n = sizeof(at) / sizeof(at[0]);
    size_t i;
    size_t k;

    for (i = 1; i < n; i++) {
        for (k = i; k > 0 && at[k] < at[k - 1]; k--) {
            int64_t t = at[k];

            at[k] = at[k - 1];
            at[k - 1] = t;
        }
    }
    for (i = 0; i < n; i++) {
        enum migrate_action act = MIGRATE_ACT_NONE;

        if (at[i] < now_ms)
            continue;
        act = migrate_watch_decide(w, at[i], ret_why);
        if (act != MIGRATE_ACT_NONE) {
            *ret_at_ms = at[i];
            return act;
        }
    }
    return MIGRATE_ACT_NONE;
}

void
migrate_progress_format(const struct virt_job_stats *s, const struct migrate_watch *w,
                        int64_t now_ms, char *buf, size_t size)
{
    const char *why = "";
    int64_t at_ms = now_ms;
    enum migrate_action next = migrate_watch_next(w, now_ms, &at_ms, &why);
    char next_text[128];

    if (next == MIGRATE_ACT_NONE)
        snprintf(next_text, sizeof(next_text), "none");
    else
        snprintf(next_text, sizeof(next_text), "%s in %.1f s (%s) unless it completes first",
                 migrate_action_name(next), (double)(at_ms - now_ms) / 1000, why);
    snprintf(buf, size, "copied %llu MiB, remaining %llu MiB of %llu MiB, dirty %.1f MiB/s, "
             "iteration %llu, elapsed %.1f s%s; next: %s",
             (unsigned long long)(s->data_processed >> 20),
             (unsigned long long)(s->data_remaining >> 20),
             (unsigned long long)(s->data_total >> 20),
             (double)(s->dirty_rate_pages_s * s->page_size) / (1024.0 * 1024.0),
             (unsigned long long)s->iterations, (double)(now_ms - w->start_ms) / 1000,
             !w->live ? ", guest paused (pause mode)" :
             w->suspended ? ", guest paused by the policy" :
             w->postcopy ? ", in post-copy" : "", next_text);
}

/* Shared between migrate_run and its watcher thread. */
struct migrate_watcher {
    virt_conn *conn;
    virt_conn *dst;                 /* the target's libvirt, for the resume time */
    const struct virt_identity *id;
    struct migrate_watch *w;
    atomic_bool done;
    pthread_mutex_t lock;
    struct virt_job_stats last;     /* under lock */
    bool have_last;
    int64_t paused_at_ms;           /* when the guest was seen/made paused, -1 */
    int64_t resumed_at_ms;          /* when it was first seen running on the target, -1 */
    int64_t copying_at_ms;          /* when QEMU was first seen copying, -1 */
    char trigger[48];
    char act_error[256];            /* libvirt's answer when acting failed */
    enum migrate_action acted;
};

/* Pause tracking, every tick: when the guest stops running on the source
 * (pause mode, or our suspend), and when it runs again on the target. */
static void
migrate_watcher_track_pause(struct migrate_watcher *mw, int64_t now_ms)
{
    struct virt_domain_info info;
    ferry_error *err = NULL;

    if (mw->paused_at_ms < 0) {
        if (mw->w->live && !mw->w->suspended)
            return;
        if (virt_domain_query(mw->conn, mw->id, &info, &err) == 0 &&
            info.state == VIRT_STATE_PAUSED)
            mw->paused_at_ms = now_ms;
    } else if (mw->resumed_at_ms < 0 && mw->dst) {
        if (virt_domain_query(mw->dst, mw->id, &info, &err) == 0 &&
            info.state == VIRT_STATE_RUNNING)
            mw->resumed_at_ms = now_ms;
    }
    error_free(err);
}

static void
migrate_watcher_act(struct migrate_watcher *mw, enum migrate_action act, const char *why)
{
    ferry_error *err = NULL;
    int rc = 0;

    switch (act) {
    case MIGRATE_ACT_PAUSE:
        rc = virt_domain_suspend(mw->conn, mw->id, &err);
        if (rc == 0 && mw->paused_at_ms < 0)
            mw->paused_at_ms = deadline_now_ms();
        break;
    case MIGRATE_ACT_ABORT:
        rc = virt_domain_abort_job(mw->conn, mw->id, &err);
        break;
    case MIGRATE_ACT_POSTCOPY:
        rc = virt_domain_start_postcopy(mw->conn, mw->id, &err);
        break;
    case MIGRATE_ACT_NONE:
        return;
    }
    migrate_watch_acted(mw->w, act, rc == 0, deadline_now_ms());
    if (err)
        snprintf(mw->act_error, sizeof(mw->act_error), "%s", error_message(err));
    if (mw->acted == MIGRATE_ACT_NONE || act == MIGRATE_ACT_ABORT ||
        (mw->acted == MIGRATE_ACT_POSTCOPY && rc < 0)) {
        mw->acted = act;
        snprintf(mw->trigger, sizeof(mw->trigger), "%s", why);
    }
    error_free(err);
}

static void *
migrate_watcher_main(void *arg)
{
    struct migrate_watcher *mw = arg;
    struct virt_job_stats s;
    const char *why = NULL;
    int64_t next_stats_ms = 0;
    int64_t next_progress_ms = deadline_now_ms() + MIGRATE_PROGRESS_LOG_MS;
    char line[512];

    while (!atomic_load(&mw->done)) {
        ferry_error *err = NULL;
        int64_t now_ms = deadline_now_ms();
        deadline tick;

        migrate_watcher_track_pause(mw, now_ms);
        if (now_ms >= next_stats_ms) {
            next_stats_ms = now_ms + (mw->copying_at_ms < 0 &&
                                      now_ms - mw->w->start_ms < MIGRATE_WATCH_START_FAST_MS ?
                                      MIGRATE_WATCH_START_POLL_MS : MIGRATE_WATCH_POLL_MS);
            if (virt_domain_job_stats(mw->conn, mw->id, false, &s, &err) == 0 && s.active) {
                if (mw->copying_at_ms < 0 && (s.data_total > 0 || s.data_processed > 0))
                    mw->copying_at_ms = now_ms;
                migrate_watch_progress(mw->w, s.data_remaining, now_ms);
                pthread_mutex_lock(&mw->lock);
                mw->last = s;
                mw->have_last = true;
                pthread_mutex_unlock(&mw->lock);
                if (now_ms >= next_progress_ms) {
                    /* an operator watching the journal sees what a long migrate_to does */
                    next_progress_ms = now_ms + MIGRATE_PROGRESS_LOG_MS;
                    migrate_progress_format(&s, mw->w, now_ms, line, sizeof(line));
                    log_info("migrating '%s': %s", mw->id->name, line);
                }
            }
            err = error_free(err);
            if (!atomic_load(&mw->done)) {
                enum migrate_action act = migrate_watch_decide(mw->w, now_ms, &why);

                migrate_watcher_act(mw, act, why);
            }
        }
        deadline_init_budget(&tick, MIGRATE_PAUSE_POLL_MS);
        while (!atomic_load(&mw->done) && deadline_wait_ms(&tick, 5))
            ;
    }
    return NULL;
}

int
migrate_run(virt_conn *src, virt_conn *dst, const struct virt_identity *id,
            const struct virt_migrate_spec *spec, struct migrate_watch *w,
            struct migrate_result *ret_result, ferry_error **err)
{
    struct migrate_watcher mw;
    struct migrate_result r;
    virt_conn *watch_conn = NULL;
    ferry_error *werr = NULL;
    pthread_t thread;
    bool started = false;
    int64_t t0 = deadline_now_ms();
    int64_t t1 = 0;
    int64_t t_call = 0;
    int ret = 0;

    memset(&mw, 0, sizeof(mw));
    memset(&r, 0, sizeof(r));
    mw.conn = src;
    mw.dst = dst;
    mw.id = id;
    mw.w = w;
    mw.paused_at_ms = -1;
    mw.resumed_at_ms = -1;
    mw.copying_at_ms = -1;
    atomic_init(&mw.done, false);
    pthread_mutex_init(&mw.lock, NULL);
    /* The watcher needs a connection of its own: a libvirt client connection
     * without an event loop serves one call at a time, and the migrate call
     * holds src until the migration is over. */
    if (virt_conn_open(virt_conn_uri(src), &watch_conn, &werr) == 0) {
        mw.conn = watch_conn;
        started = pthread_create(&thread, NULL, migrate_watcher_main, &mw) == 0;
    }
    if (!started) {
        /* unwatched, only the agent's watchdog would bound it, and libvirtd
         * would carry on after the agent answered: nothing has moved yet */
        ret = error_set(err, FERRY_E_LIBVIRT, "not migrating without a watcher: %s",
                        werr ? error_message(werr) : "cannot start its thread");
        snprintf(r.outcome, sizeof(r.outcome), "failed");
        r.downtime_ms = -1;
        r.pause_ms = -1;
        r.throttle_pct = -1;
        r.call_ms = -1;
        r.prepare_ms = -1;
        r.watch_ms = deadline_now_ms() - t0;
        goto cleanup;
    }

    t_call = deadline_now_ms();
    if (spec->shared)
        ret = virt_domain_migrate_shared(src, dst, id, spec, err);
    else
        ret = virt_domain_migrate(src, id, spec, err);
    t1 = deadline_now_ms();
    atomic_store(&mw.done, true);
    if (started)
        pthread_join(thread, NULL);

    r.total_ms = t1 - t0;
    r.watch_ms = t_call - t0;
    r.call_ms = t1 - t_call;
    r.prepare_ms = mw.copying_at_ms >= 0 ? mw.copying_at_ms - t_call : -1;
    r.downtime_ms = -1;
    if (mw.paused_at_ms >= 0)
        r.pause_ms = (mw.resumed_at_ms >= 0 ? mw.resumed_at_ms : t1) - mw.paused_at_ms;
    else
        r.pause_ms = -1;
    r.throttle_pct = -1;
    if (mw.have_last) {
        r.bytes = mw.last.data_processed;
        r.dirty_rate_bps = mw.last.dirty_rate_pages_s * mw.last.page_size;
        r.iterations = mw.last.iterations;
        r.elapsed_ms = mw.last.elapsed_ms;
        r.throttle_pct = mw.last.throttle_pct;
    }
    snprintf(r.trigger, sizeof(r.trigger), "%s", mw.trigger);
    if (ret == 0)
        snprintf(r.outcome, sizeof(r.outcome), "%s",
                 mw.acted == MIGRATE_ACT_PAUSE ? "completed-paused" :
                 mw.acted == MIGRATE_ACT_POSTCOPY ? "completed-postcopy" : "completed");
    else
        snprintf(r.outcome, sizeof(r.outcome), "%s", w->aborted ? "aborted" : "failed");
    if (ret < 0 && w->aborted)
        error_prefix(*err, "aborted by migration_policy=%s (%s): ", migrate_policy_name(w->policy),
                     mw.trigger[0] ? mw.trigger : "?");
    if (mw.act_error[0])
        log_warning("migration policy action %s failed: %s", migrate_action_name(mw.acted),
                    mw.act_error);
cleanup:
    pthread_mutex_destroy(&mw.lock);
    virt_conn_close(watch_conn);
    error_free(werr);
    *ret_result = r;
    return ret;
}

void
migrate_result_format(const struct migrate_result *r, const char *domain, const char *from,
                      const char *to, const char *mode, const char *policy, char *buf, size_t size)
{
    snprintf(buf, size,
             "domain=%s from=%s to=%s mode=%s policy=%s outcome=%s trigger=%s total_ms=%lld "
             "elapsed_ms=%lld downtime_ms=%lld pause_ms=%lld bytes=%llu dirty_rate_bps=%llu "
             "iterations=%llu throttle_pct=%d",
             domain, from ? from : "-", to ? to : "-", mode, policy, r->outcome,
             r->trigger[0] ? r->trigger : "-", (long long)r->total_ms, (long long)r->elapsed_ms,
             (long long)r->downtime_ms, (long long)r->pause_ms, (unsigned long long)r->bytes,
             (unsigned long long)r->dirty_rate_bps, (unsigned long long)r->iterations,
             r->throttle_pct);
}

/* ---------------------------------------------------------------- where the time goes */

void
migrate_phases_init(struct migrate_phases *ph, int64_t now_ms)
{
    size_t i;

    memset(ph, 0, sizeof(*ph));
    ph->start_ms = now_ms;
    ph->last_ms = now_ms;
    for (i = 0; i < MIGRATE_PHASE_COUNT; i++)
        ph->ms[i] = -1;
    ph->prepare_ms = -1;
    ph->job_ms = -1;
    ph->setup_ms = -1;
    ph->downtime_ms = -1;
}

void
migrate_phases_mark(struct migrate_phases *ph, enum migrate_phase phase, int64_t now_ms)
{
    int64_t d = now_ms - ph->last_ms;

    if ((int)phase < 0 || (int)phase >= MIGRATE_PHASE_COUNT)
        return;
    ph->ms[phase] = (ph->ms[phase] < 0 ? 0 : ph->ms[phase]) + (d < 0 ? 0 : d);
    ph->last_ms = now_ms;
}

void
migrate_phases_migrated(struct migrate_phases *ph, const struct migrate_result *r,
                        const struct virt_job_stats *done)
{
    /* the watcher's set-up counts as the agent's work before the call */
    if (ph->ms[MIGRATE_PHASE_MIGRATE] >= 0 && r->watch_ms >= 0 &&
        r->watch_ms <= ph->ms[MIGRATE_PHASE_MIGRATE]) {
        ph->ms[MIGRATE_PHASE_WATCH] = r->watch_ms;
        ph->ms[MIGRATE_PHASE_MIGRATE] -= r->watch_ms;
    }
    ph->prepare_ms = r->prepare_ms;
    if (done) {
        ph->job_ms = done->elapsed_ms > 0 ? done->elapsed_ms : -1;
        ph->setup_ms = done->setup_ms;
        ph->downtime_ms = done->downtime_ms;
    }
}

/* the sum of the phases from first to last (those reached), -1 if none was */
static int64_t
migrate_phases_sum(const struct migrate_phases *ph, enum migrate_phase first,
                   enum migrate_phase last)
{
    int64_t sum = -1;
    int i;

    for (i = first; i <= (int)last; i++)
        if (ph->ms[i] >= 0)
            sum = (sum < 0 ? 0 : sum) + ph->ms[i];
    return sum;
}

void
migrate_phases_split(const struct migrate_phases *ph, struct migrate_call_split *ret_split)
{
    int64_t call = ph->ms[MIGRATE_PHASE_MIGRATE];
    struct migrate_call_split sp = { ph->prepare_ms, -1, ph->downtime_ms, -1 };

    if (call >= 0 && ph->job_ms >= 0 && ph->job_ms <= call)
        sp.finish_ms = call - ph->job_ms;
    if (ph->job_ms >= 0 && sp.prepare_ms >= 0 && sp.downtime_ms >= 0 &&
        ph->job_ms >= sp.prepare_ms + sp.downtime_ms)
        sp.copy_ms = ph->job_ms - sp.prepare_ms - sp.downtime_ms;
    *ret_split = sp;
}

void
migrate_phases_format(const struct migrate_phases *ph, int64_t now_ms, char *buf, size_t size)
{
    struct migrate_call_split sp;
    const int64_t *m = ph->ms;

    migrate_phases_split(ph, &sp);
    snprintf(buf, size,
             "resolve=%lld connect=%lld (probe=%lld open=%lld) preflight=%lld (states=%lld "
             "sync=%lld xml=%lld checks=%lld) before=%lld (tune=%lld watch=%lld) migrate=%lld "
             "(prepare=%lld setup=%lld copy=%lld downtime=%lld finish=%lld) after=%lld total=%lld",
             (long long)m[MIGRATE_PHASE_RESOLVE],
             (long long)migrate_phases_sum(ph, MIGRATE_PHASE_PROBE, MIGRATE_PHASE_OPEN),
             (long long)m[MIGRATE_PHASE_PROBE], (long long)m[MIGRATE_PHASE_OPEN],
             (long long)migrate_phases_sum(ph, MIGRATE_PHASE_STATES, MIGRATE_PHASE_CHECKS),
             (long long)m[MIGRATE_PHASE_STATES], (long long)m[MIGRATE_PHASE_SYNC],
             (long long)m[MIGRATE_PHASE_XML], (long long)m[MIGRATE_PHASE_CHECKS],
             (long long)migrate_phases_sum(ph, MIGRATE_PHASE_TUNE, MIGRATE_PHASE_WATCH),
             (long long)m[MIGRATE_PHASE_TUNE], (long long)m[MIGRATE_PHASE_WATCH],
             (long long)m[MIGRATE_PHASE_MIGRATE], (long long)sp.prepare_ms,
             (long long)ph->setup_ms, (long long)sp.copy_ms, (long long)sp.downtime_ms,
             (long long)sp.finish_ms, (long long)m[MIGRATE_PHASE_AFTER],
             (long long)(now_ms - ph->start_ms));
}

/* ---------------------------------------------------------------- pre-flight on the target */

/* The quoted value of key in one qemu.conf line (key = "value"), or NULL. */
static const char *
migrate_conf_value(const char *line, const char *key, size_t *ret_len)
{
    const char *p = line + strspn(line, " \t");
    size_t klen = strlen(key);
    const char *end = NULL;

    if (strncmp(p, key, klen) != 0)
        return NULL;
    p += klen;
    p += strspn(p, " \t");
    if (*p != '=')
        return NULL;
    p++;
    p += strspn(p, " \t");
    if (*p != '"')
        return NULL;
    p++;
    end = strchr(p, '"');
    if (end == NULL)
        return NULL;
    *ret_len = (size_t)(end - p);
    return p;
}

int
migrate_tls_dir(const char *qemu_conf, char *buf, size_t size)
{
    char line[1024];
    char migrate_dir[512] = "";
    char default_dir[512] = "";
    const char *v = NULL;
    size_t len = 0;
    FILE *f = fopen(qemu_conf, "re");

    while (f && fgets(line, sizeof(line), f)) {
        if ((v = migrate_conf_value(line, "migrate_tls_x509_cert_dir", &len)) != NULL &&
            len < sizeof(migrate_dir))
            snprintf(migrate_dir, sizeof(migrate_dir), "%.*s", (int)len, v);
        else if ((v = migrate_conf_value(line, "default_tls_x509_cert_dir", &len)) != NULL &&
                 len < sizeof(default_dir))
            snprintf(default_dir, sizeof(default_dir), "%.*s", (int)len, v);
    }
    if (f)
        fclose(f);
    v = migrate_dir[0] ? migrate_dir : default_dir[0] ? default_dir : "/etc/pki/qemu";
    if ((size_t)snprintf(buf, size, "%s", v) >= size)
        return -ENAMETOOLONG;
    return 0;
}

int
migrate_lock_manager(const char *qemu_conf, char *buf, size_t size)
{
    char line[1024];
    const char *v = NULL;
    size_t len = 0;
    int ret = 0;
    FILE *f = fopen(qemu_conf, "re");

    if (size)
        buf[0] = '\0';
    if (f == NULL)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        if ((v = migrate_conf_value(line, "lock_manager", &len)) != NULL && len > 0) {
            snprintf(buf, size, "%.*s", (int)len, v);
            ret = 1;
        }
    }
    fclose(f);
    /* "nop" is libvirt's default: no lock manager */
    if (ret == 1 && strcmp(buf, "nop") == 0)
        ret = 0;
    return ret;
}

int
migrate_preflight_tls(const char *dir, const char *target_node, ferry_error **err)
{
    static const char *const files[] = { "ca-cert.pem", "client-cert.pem", "client-key.pem" };
    char path[4096];
    struct stat st;
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            access(path, R_OK) == 0)
            continue;
        return error_set(err, FERRY_E_CONFIG, "tls=true, but this node's migration certificate "
                         "%s is %s (libvirt's migrate_tls_x509_cert_dir in %s: ca-cert.pem, "
                         "client-cert.pem and client-key.pem here, server-cert.pem and "
                         "server-key.pem on the target %s, all issued by one CA); nothing has "
                         "moved", path, stat(path, &st) < 0 ? strerror(errno) : "empty or "
                         "unreadable", MIGRATE_QEMU_CONF, target_node);
    }
    return 0;
}

uint64_t
migrate_memory_available_kib(const struct virt_node_memory *mem)
{
    return mem->free_kib + mem->buffers_kib + mem->cached_kib;
}

bool
migrate_memory_fits(uint64_t need_kib, const struct virt_node_memory *mem)
{
    return need_kib <= migrate_memory_available_kib(mem);
}

bool
migrate_hugepages_fit(uint64_t need_kib, uint64_t page_kib, uint64_t free_pages)
{
    if (page_kib == 0)
        return false;
    return free_pages >= (need_kib + page_kib - 1) / page_kib;
}

bool
migrate_cpu_compare_wanted(const domxml *dom, const char **ret_why)
{
    const struct domxml_cpu *cpu = domxml_cpu(dom);
    const char *type = domxml_type(dom);

    if (type == NULL || strcmp(type, "kvm") != 0)
        *ret_why = "not a KVM guest: QEMU emulates its CPU (TCG), any target runs it";
    else if (cpu == NULL)
        *ret_why = "the domain has no <cpu>: QEMU's default model";
    else if (strcmp(cpu->mode, "host-passthrough") == 0)
        *ret_why = "host-passthrough: the guest sees the source's CPU itself, there is no model "
                   "to compare (the nodes need the same CPU)";
    else if (strcmp(cpu->mode, "maximum") == 0)
        *ret_why = "maximum: the guest gets all the host can give, there is no model to compare";
    else if (strcmp(cpu->mode, "custom") != 0)
        *ret_why = "host-model not expanded into a model: libvirt chooses on the target";
    else if (cpu->model == NULL)
        *ret_why = "no CPU model named";
    else
        return true;
    return false;
}

/* A guest in huge pages needs free huge pages of its size on the target (its
 * ordinary memory is not what it uses). Without a size, any of the target's
 * huge page sizes with room will do: ferry does not know the target's default. */
static int
migrate_preflight_hugepages(virt_conn *dst, const domxml *live, const char *node,
                            uint64_t page_kib, ferry_error **err)
{
    uint64_t need_kib = domxml_memory_kib(live);
    uint64_t sizes[8];
    uint64_t best_kib = 0;
    uint64_t best_page_kib = 0;
    uint64_t pages = 0;
    size_t n = 0;
    size_t i;
    bool known = false;
    ferry_error *e = NULL;
    int ret = 0;

    if (page_kib) {
        sizes[0] = page_kib;
        n = 1;
    } else if (virt_node_hugepage_sizes(dst, sizes, sizeof(sizes) / sizeof(sizes[0]), &n, &e) < 0) {
        log_debug("pre-flight: huge pages on %s not checked: %s", node, error_message(e));
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        e = error_free(e);
        if (virt_node_free_pages(dst, sizes[i], &pages, &e) < 0) {
            log_debug("pre-flight: free %llu KiB pages on %s not known: %s",
                      (unsigned long long)sizes[i], node, error_message(e));
            continue;
        }
        if (migrate_hugepages_fit(need_kib, sizes[i], pages))
            goto cleanup;
        if (!known || pages * sizes[i] > best_kib) {
            best_kib = pages * sizes[i];
            best_page_kib = sizes[i];
        }
        known = true;
    }
    if (n == 0)
        ret = error_set(err, FERRY_E_STATE, "the target %s offers no huge pages; domain '%s' is "
                        "backed by huge pages", node, domxml_name(live));
    else if (known)
        ret = error_set(err, FERRY_E_STATE, "the target %s has %llu MiB free in %llu KiB huge "
                        "pages; domain '%s' needs %llu MiB of huge pages", node,
                        (unsigned long long)(best_kib / 1024), (unsigned long long)best_page_kib,
                        domxml_name(live), (unsigned long long)(need_kib / 1024));
cleanup:
    error_free(e);
    return ret;
}

static int
migrate_preflight_memory(virt_conn *dst, const domxml *live, const char *node, ferry_error **err)
{
    struct virt_node_memory mem;
    uint64_t need_kib = domxml_memory_kib(live);
    uint64_t page_kib = 0;
    ferry_error *e = NULL;
    int ret = 0;

    if (domxml_hugepages(live, &page_kib))
        return migrate_preflight_hugepages(dst, live, node, page_kib, err);
    if (virt_node_memory(dst, &mem, &e) < 0) {
        log_debug("pre-flight: memory of %s not checked: %s", node, error_message(e));
        goto cleanup;
    }
    if (!migrate_memory_fits(need_kib, &mem))
        ret = error_set(err, FERRY_E_STATE, "the target %s has %llu MiB of free memory (free, "
                        "buffers and page cache); domain '%s' needs %llu MiB", node,
                        (unsigned long long)(migrate_memory_available_kib(&mem) / 1024),
                        domxml_name(live), (unsigned long long)(need_kib / 1024));
cleanup:
    error_free(e);
    return ret;
}

/* Nova's and KubeVirt's check: can the target's hypervisor run the guest's
 * CPU model and features? Only a definite "no" refuses; when the comparison
 * cannot be made, libvirt still checks the CPU when the target starts the
 * incoming guest (the Prepare phase, before memory is copied). */
static int
migrate_preflight_cpu(virt_conn *dst, const domxml *live, const char *node, ferry_error **err)
{
    const struct domxml_cpu *cpu = domxml_cpu(live);
    const char *why = NULL;
    ferry_error *e = NULL;
    int rc = 0;
    int ret = 0;

    if (!migrate_cpu_compare_wanted(live, &why)) {
        log_debug("pre-flight: CPU of '%s' not compared with %s: %s", domxml_name(live), node, why);
        goto cleanup;
    }
    rc = virt_cpu_compare(dst, domxml_arch(live), domxml_type(live), cpu->xml, &e);
    if (rc == FERRY_E_STATE)
        ret = error_set(err, FERRY_E_STATE, "the target %s cannot run the CPU of domain '%s' "
                        "(model %s): %s", node, domxml_name(live), cpu->model, error_message(e));
    else if (rc == -EOPNOTSUPP)
        log_debug("pre-flight: CPU of '%s' not compared with %s: %s", domxml_name(live), node,
                  error_message(e));
    else if (rc < 0)
        log_warning("pre-flight: CPU of '%s' not compared with %s (%s); libvirt checks it when "
                    "the target prepares", domxml_name(live), node, error_message(e));
cleanup:
    error_free(e);
    return ret;
}

int
migrate_preflight_target(virt_conn *dst, const domxml *live, const struct ferry_params *p,
                         const char *target_node, ferry_error **err)
{
    int ret = 0;

    if (!p->allow_unsafe) {
        ret = migrate_check_disks(live, err);
        if (ret < 0)
            goto cleanup;
    }
    ret = migrate_preflight_memory(dst, live, target_node, err);
    if (ret < 0)
        goto cleanup;
    ret = migrate_preflight_cpu(dst, live, target_node, err);
cleanup:
    return ret;
}
