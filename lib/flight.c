/* flight.c — see flight.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flight.h"
#include "state.h"

static int
flight_path(const struct ferry_params *p, const char *suffix, char *buf, size_t size)
{
    char kind[48];

    snprintf(kind, sizeof(kind), ".flight%s", suffix);
    return state_path_suffix(p, kind, buf, size);
}

static int
flight_write(const struct ferry_params *p, struct flight *f)
{
    char path[4096];
    char tmp[4096];
    char suffix[32];
    char *text = NULL;
    int fd = -1;
    int len = 0;
    int ret = 0;

    f->owner.pid = getpid();
    ret = proc_stat_read(f->owner.pid, NULL, &f->owner.start_ticks);
    if (ret < 0)
        return ret;
    snprintf(suffix, sizeof(suffix), ".%ld.tmp", (long)f->owner.pid);
    if ((ret = flight_path(p, "", path, sizeof(path))) < 0 ||
        (ret = flight_path(p, suffix, tmp, sizeof(tmp))) < 0)
        return ret;
    if (mkdir(p->state_dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    len = asprintf(&text, "pid=%ld\nstart_ticks=%llu\nname=%s\nuuid=%s\ntarget=%s\ndest_uri=%s\n"
                   "was_running=%d\nbegun_s=%lld\nhanded=%d\n", (long)f->owner.pid,
                   f->owner.start_ticks, f->name, f->uuid, f->target, f->dest_uri,
                   f->was_running ? 1 : 0, (long long)f->begun_s, f->handed ? 1 : 0);
    if (len < 0)
        return -ENOMEM;
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        ret = -errno;
        goto cleanup;
    }
    if (write(fd, text, (size_t)len) != len || fsync(fd) < 0) {
        ret = -EIO;
        goto cleanup;
    }
    if (rename(tmp, path) < 0)
        ret = -errno;
cleanup:
    if (fd >= 0)
        close(fd);
    if (ret < 0)
        unlink(tmp);
    free(text);
    return ret;
}

int
flight_begin(const struct ferry_params *p, struct flight *f)
{
    f->handed = false;
    return flight_write(p, f);
}

int
flight_handed(const struct ferry_params *p, struct flight *f)
{
    f->handed = true;
    return flight_write(p, f);
}

/* "key=value\n" lines; unknown keys are ignored */
static void
flight_field(struct flight *f, const char *key, const char *value)
{
    if (strcmp(key, "pid") == 0)
        f->owner.pid = (pid_t)strtol(value, NULL, 10);
    else if (strcmp(key, "start_ticks") == 0)
        f->owner.start_ticks = strtoull(value, NULL, 10);
    else if (strcmp(key, "name") == 0)
        snprintf(f->name, sizeof(f->name), "%s", value);
    else if (strcmp(key, "uuid") == 0)
        snprintf(f->uuid, sizeof(f->uuid), "%s", value);
    else if (strcmp(key, "target") == 0)
        snprintf(f->target, sizeof(f->target), "%s", value);
    else if (strcmp(key, "dest_uri") == 0)
        snprintf(f->dest_uri, sizeof(f->dest_uri), "%s", value);
    else if (strcmp(key, "was_running") == 0)
        f->was_running = strcmp(value, "1") == 0;
    else if (strcmp(key, "begun_s") == 0)
        f->begun_s = strtoll(value, NULL, 10);
    else if (strcmp(key, "handed") == 0)
        f->handed = strcmp(value, "1") == 0;
}

int
flight_load(const struct ferry_params *p, struct flight *ret_f)
{
    char path[4096];
    char line[1400];
    struct flight f;
    FILE *fp = NULL;
    int ret = 0;

    memset(&f, 0, sizeof(f));
    memset(ret_f, 0, sizeof(*ret_f));
    ret = flight_path(p, "", path, sizeof(path));
    if (ret < 0)
        return ret == -EINVAL ? -ENOENT : ret;
    fp = fopen(path, "re");
    if (fp == NULL)
        return errno == ENOENT ? -ENOENT : -EIO;
    while (fgets(line, sizeof(line), fp)) {
        char *eq = strchr(line, '=');

        line[strcspn(line, "\n")] = '\0';
        if (eq == NULL)
            continue;
        *eq = '\0';
        flight_field(&f, line, eq + 1);
    }
    fclose(fp);
    if (f.owner.pid <= 0 || f.name[0] == '\0' || f.dest_uri[0] == '\0')
        return -EIO;
    *ret_f = f;
    return 0;
}

int
flight_end(const struct ferry_params *p)
{
    char path[4096];
    int ret = flight_path(p, "", path, sizeof(path));

    if (ret < 0)
        return ret == -EINVAL ? 0 : ret;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

bool
flight_owner_alive(const struct flight *f)
{
    return proc_alive(&f->owner);
}
