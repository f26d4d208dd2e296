/* proc.c — see proc.h */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "proc.h"
#include "proc-priv.h"

#define PROC_QEMU_SYSTEM_RUN_DIR "/run/libvirt/qemu"
#define PROC_STAT_START_FIELD 22

/* Reads a small /proc file whole; NUL-terminated, its length in *ret_len. */
static int
proc_file_read(const char *path, char *buf, size_t size, size_t *ret_len)
{
    size_t len = 0;
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (n < 0)
        return -EIO;
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return 0;
}

int
proc_stat_read(pid_t pid, char *ret_state, unsigned long long *ret_start_ticks)
{
    char path[64];
    char buf[2048];
    char *p = NULL;
    char *end = NULL;
    int field = 0;
    int ret = 0;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    ret = proc_file_read(path, buf, sizeof(buf), NULL);
    if (ret < 0)
        return ret;
    /* "PID (COMM) S ...": COMM may hold spaces and ')', so start after the
     * last ')'; from there fields are separated by one space each. */
    p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return -EIO;
    p += 2;                                  /* field 3, the state */
    if (ret_state)
        *ret_state = *p;
    for (field = 3; field < PROC_STAT_START_FIELD; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return -EIO;
        p++;
    }
    errno = 0;
    if (*p < '0' || *p > '9')
        return -EIO;
    if (ret_start_ticks) {
        *ret_start_ticks = strtoull(p, &end, 10);
        if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
            return -EIO;
    }
    return 0;
}

/* Does the -name value (libvirt: "guest=NAME,debug-threads=on", older
 * "NAME,process=..." or plain "NAME") name this domain? ",," is a comma. */
static bool
proc_name_value_is(const char *value, const char *name)
{
    const char *v = value;
    const char *n = name;

    if (strncmp(v, "guest=", 6) == 0)
        v += 6;
    for (;;) {
        if (*v == ',' && v[1] == ',') {
            if (*n != ',')
                return false;
            v += 2;
            n++;
        } else if (*v == ',' || *v == '\0') {
            return *n == '\0';
        } else if (*v == *n) {
            v++;
            n++;
        } else {
            return false;
        }
    }
}

bool
proc_cmdline_is_domain(const char *cmdline, size_t len, const char *name)
{
    const char *arg = cmdline;
    const char *end = cmdline + len;
    const char *base = NULL;

    if (len == 0 || *name == '\0')
        return false;
    base = strrchr(cmdline, '/');
    if (strstr(base ? base + 1 : cmdline, "qemu") == NULL)
        return false;
    while (arg < end) {
        const char *next = arg + strlen(arg) + 1;

        if (strcmp(arg, "-name") == 0 && next < end)
            return proc_name_value_is(next, name);
        arg = next;
    }
    return false;
}

static bool
proc_is_domain(pid_t pid, const char *name)
{
    char path[64];
    char buf[8192];
    size_t len = 0;

    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    if (proc_file_read(path, buf, sizeof(buf), &len) < 0)
        return false;
    return proc_cmdline_is_domain(buf, len, name);
}

/* True if pid lives in our network namespace (always so on a real host; in a
 * lab of namespaces it keeps one "host" from touching another's processes). */
static bool
proc_same_netns(pid_t pid)
{
    char path[64];
    struct stat mine;
    struct stat theirs;

    snprintf(path, sizeof(path), "/proc/%ld/ns/net", (long)pid);
    if (stat("/proc/self/ns/net", &mine) < 0 || stat(path, &theirs) < 0)
        return false;
    return mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

/* Scans /proc for the QEMU process of domain name (when its pid file is gone). */
static pid_t
proc_scan(const char *name)
{
    DIR *d = opendir("/proc");
    struct dirent *e = NULL;
    pid_t found = 0;

    if (d == NULL)
        return 0;
    while (found == 0 && (e = readdir(d)) != NULL) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);

        if (*end != '\0' || pid <= 1)
            continue;
        if (proc_is_domain((pid_t)pid, name) && proc_same_netns((pid_t)pid))
            found = (pid_t)pid;
    }
    closedir(d);
    return found;
}

int
proc_qemu_find(const char *uri, const char *name, struct proc_ref *ret_proc)
{
    char path[512];
    char buf[32];
    long pid = 0;
    int n = 0;
    struct proc_ref proc = { 0, 0 };

    if (strcmp(uri, "qemu:///system") != 0)
        return -ENOTSUP;
    n = snprintf(path, sizeof(path), PROC_QEMU_SYSTEM_RUN_DIR "/%s.pid", name);
    if (n > 0 && (size_t)n < sizeof(path) && strchr(name, '/') == NULL &&
        proc_file_read(path, buf, sizeof(buf), NULL) == 0)
        pid = strtol(buf, NULL, 10);
    if (pid <= 1 || !proc_is_domain((pid_t)pid, name) || !proc_same_netns((pid_t)pid))
        pid = proc_scan(name);
    if (pid <= 1)
        return -ENOENT;
    proc.pid = (pid_t)pid;
    if (proc_stat_read(proc.pid, NULL, &proc.start_ticks) < 0)
        return -ENOENT;
    *ret_proc = proc;
    return 0;
}

bool
proc_alive(const struct proc_ref *proc)
{
    unsigned long long ticks = 0;
    char state = '?';

    if (proc->pid <= 0)
        return false;
    if (proc_stat_read(proc->pid, &state, &ticks) < 0)
        return false;
    /* a zombie has exited; only its parent has not collected it yet */
    return ticks == proc->start_ticks && state != 'Z' && state != 'X';
}

int
proc_kill(const struct proc_ref *proc, const deadline *dl)
{
    deadline term = deadline_sub(dl, deadline_remaining_ms(dl) / 2);

    if (!proc_alive(proc))
        return 0;
    kill(proc->pid, SIGTERM);
    if (proc_wait_gone(proc, &term, 100) == 0)
        return 0;
    if (proc_alive(proc))
        kill(proc->pid, SIGKILL);
    return proc_wait_gone(proc, dl, 50);
}

int
proc_wait_gone(const struct proc_ref *proc, const deadline *dl, int64_t poll_ms)
{
    while (proc_alive(proc)) {
        if (!deadline_wait_ms(dl, poll_ms))
            return proc_alive(proc) ? FERRY_E_TIMEOUT : 0;
    }
    return 0;
}
