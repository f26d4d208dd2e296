/* state.c — see state.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "state-priv.h"

void
state_init(struct ferry_state *st)
{
    memset(st, 0, sizeof(*st));
    st->util_cpu = -1;
    st->util_hv_memory_mib = -1;
    st->util_vms = -1;
}

int
state_path_suffix(const struct ferry_params *p, const char *suffix, char *buf, size_t size)
{
    size_t i;
    int n;

    if (p->instance == NULL || p->state_dir == NULL)
        return -EINVAL;
    n = snprintf(buf, size, "%s/ferry-vm-%s%s", p->state_dir, p->instance, suffix);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    for (i = strlen(p->state_dir) + 1; buf[i]; i++)
        if (buf[i] == '/')
            buf[i] = '_';
    return 0;
}

int
state_path(const struct ferry_params *p, char *buf, size_t size)
{
    return state_path_suffix(p, ".state", buf, size);
}

uint64_t
state_hash(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *c;

    for (c = (const unsigned char *)text; *c; c++) {
        h ^= *c;
        h *= 0x100000001b3ULL;
    }
    return h ? h : 1;
}

static void
state_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

int
state_load(const struct ferry_params *p, struct ferry_state *st)
{
    char path[4096];
    char line[1200];
    FILE *f = NULL;
    int ret = 0;

    state_init(st);
    ret = state_path(p, path, sizeof(path));
    if (ret < 0)
        return ret;
    f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *v = strchr(line, '=');

        line[strcspn(line, "\n")] = '\0';
        if (v == NULL)
            continue;
        *v++ = '\0';
        if (strcmp(line, "name") == 0)
            state_copy(st->name, sizeof(st->name), v);
        else if (strcmp(line, "uuid") == 0)
            state_copy(st->uuid, sizeof(st->uuid), v);
        else if (strcmp(line, "config") == 0)
            state_copy(st->config, sizeof(st->config), v);
        else if (strcmp(line, "definition") == 0 && *v)
            st->def_known = sscanf(v, "%" SCNx64, &st->def_hash) == 1;
        else if (strcmp(line, "utilization_cpu") == 0 && *v)
            st->util_cpu = strtoll(v, NULL, 10);
        else if (strcmp(line, "utilization_hv_memory") == 0 && *v)
            st->util_hv_memory_mib = strtoll(v, NULL, 10);
        else if (strcmp(line, "utilization_vms") == 0 && *v)
            st->util_vms = strtoll(v, NULL, 10);
        else if (strcmp(line, "utilization_retry_after") == 0 && *v)
            st->util_retry_after_s = strtoll(v, NULL, 10);
        else if (strcmp(line, "started") == 0 && *v)
            st->started_ms = strtoll(v, NULL, 10);
    }
    fclose(f);
    return 0;
}

bool
state_equal(const struct ferry_state *a, const struct ferry_state *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->uuid, b->uuid) == 0 &&
           strcmp(a->config, b->config) == 0 &&
           a->def_known == b->def_known && a->def_hash == b->def_hash &&
           a->util_cpu == b->util_cpu && a->util_hv_memory_mib == b->util_hv_memory_mib &&
           a->util_vms == b->util_vms &&
           a->util_retry_after_s == b->util_retry_after_s && a->started_ms == b->started_ms;
}

int
state_save(const struct ferry_params *p, const struct ferry_state *st)
{
    char path[4096];
    char tmp[4200];
    int fd = -1;
    int n = 0;
    int ret = 0;

    tmp[0] = '\0';
    ret = state_path(p, path, sizeof(path));
    if (ret < 0)
        return ret;
    if (mkdir(p->state_dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    /* O_CREAT|O_EXCL (no symlink followed) under an unpredictable name, 0600 */
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        tmp[0] = '\0';
        ret = -errno;
        goto cleanup;
    }
    n = dprintf(fd, "name=%s\nuuid=%s\n", st->name, st->uuid);
    if (n >= 0 && st->config[0])
        n = dprintf(fd, "config=%s\n", st->config);
    if (n >= 0 && st->def_known)
        n = dprintf(fd, "definition=%016" PRIx64 "\n", st->def_hash);
    if (n >= 0 && st->util_cpu >= 0)
        n = dprintf(fd, "utilization_cpu=%" PRId64 "\n", st->util_cpu);
    if (n >= 0 && st->util_hv_memory_mib >= 0)
        n = dprintf(fd, "utilization_hv_memory=%" PRId64 "\n", st->util_hv_memory_mib);
    if (n >= 0 && st->util_vms >= 0)
        n = dprintf(fd, "utilization_vms=%" PRId64 "\n", st->util_vms);
    if (n >= 0 && st->util_retry_after_s > 0)
        n = dprintf(fd, "utilization_retry_after=%" PRId64 "\n", st->util_retry_after_s);
    if (n >= 0 && st->started_ms > 0)
        n = dprintf(fd, "started=%" PRId64 "\n", st->started_ms);
    if (n < 0 || fsync(fd) < 0) {
        ret = n < 0 ? -EIO : -errno;
        goto cleanup;
    }
    n = close(fd);
    fd = -1;
    if (n < 0 || rename(tmp, path) < 0) {
        ret = -errno;
        goto cleanup;
    }
    tmp[0] = '\0';
cleanup:
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    return ret;
}

int64_t
state_realtime_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
