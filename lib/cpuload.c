/* cpuload.c — see cpuload.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpuload.h"
#include "params.h"

const char *const cpuload_health_names[3] = {
    [CPULOAD_GREEN] = "green",
    [CPULOAD_YELLOW] = "yellow",
    [CPULOAD_RED] = "red",
};

#define CPULOAD_ENV_PREFIX "OCF_RESKEY_"
#define CPULOAD_ATTRIBUTE_MAX 100
#define CPULOAD_FILE_MAX 65536

/* ---- parameters ------------------------------------------------------ */

static const char *
cpuload_env_reskey(char *const *envp, const char *param)
{
    char key[128];

    snprintf(key, sizeof(key), CPULOAD_ENV_PREFIX "%s", param);
    return params_env_get(envp, key);
}

/* A whole decimal number in [min, max]: 0 or -EINVAL. */
static int
cpuload_int_parse(const char *text, int64_t min, int64_t max, int64_t *ret_value)
{
    char *end = NULL;
    long long v = 0;

    if (text == NULL || *text == '\0' || (*text != '-' && (*text < '0' || *text > '9')))
        return -EINVAL;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *ret_value = v;
    return 0;
}

static int
cpuload_dup(char **field, const char *value)
{
    free(*field);
    *field = NULL;
    if (value == NULL)
        return 0;
    *field = strdup(value);
    return *field ? 0 : -ENOMEM;
}

/* One integer parameter; a bad value keeps the default and sets err. */
static void
cpuload_param_int(char *const *envp, const char *name, int64_t min, int64_t max, int64_t *value,
                  ferry_error **err)
{
    const char *text = cpuload_env_reskey(envp, name);
    int64_t v = 0;

    if (text == NULL)
        return;
    if (cpuload_int_parse(text, min, max, &v) < 0) {
        error_set(err, FERRY_E_CONFIG, "%s='%s' is not a whole number from %" PRId64 " to %" PRId64,
                  name, text, min, max);
        return;
    }
    *value = v;
}

static bool
cpuload_attribute_valid(const char *name)
{
    size_t i;

    if (name[0] == '\0' || strlen(name) > CPULOAD_ATTRIBUTE_MAX)
        return false;
    for (i = 0; name[i]; i++)
        if (name[i] <= ' ' || name[i] == '"' || name[i] == '\'' || name[i] == '\\' || name[i] == 0x7f)
            return false;
    return true;
}

struct cpuload_params *
cpuload_params_free(struct cpuload_params *p)
{
    if (p == NULL)
        return NULL;
    free(p->cgroup);
    free(p->attribute);
    free(p->state_dir);
    free(p->instance);
    free(p);
    return NULL;
}

int
cpuload_params_parse(char *const *envp, struct cpuload_params **ret_params, ferry_error **err)
{
    struct cpuload_params *p = calloc(1, sizeof(*p));
    const char *value = NULL;
    int64_t red = CPULOAD_DEFAULT_RED_PERCENT;
    int64_t green = CPULOAD_DEFAULT_GREEN_PERCENT;
    int64_t red_after_s = CPULOAD_DEFAULT_RED_AFTER_S;
    int64_t green_after_s = CPULOAD_DEFAULT_GREEN_AFTER_S;
    int64_t n = 0;
    ferry_error *bad = NULL;
    int ret = 0;

    if (p == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    value = params_env_get(envp, "HA_RSCTMP");
    if (cpuload_dup(&p->state_dir, value ? value : CPULOAD_DEFAULT_STATE_DIR) < 0 ||
        cpuload_dup(&p->instance, params_env_get(envp, "OCF_RESOURCE_INSTANCE")) < 0 ||
        cpuload_dup(&p->attribute, CPULOAD_DEFAULT_ATTRIBUTE) < 0) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    value = params_env_get(envp, "OCF_RESKEY_CRM_meta_timeout");
    if (value && cpuload_int_parse(value, 1, INT64_MAX / 2, &n) == 0)
        p->timeout_ms = n;
    value = params_env_get(envp, "OCF_RESKEY_CRM_meta_interval");
    if (value && cpuload_int_parse(value, 0, INT64_MAX / 2, &n) == 0)
        p->interval_ms = n;
    value = params_env_get(envp, "HA_debug");
    p->debug = value && (strcmp(value, "1") == 0 || strcmp(value, "yes") == 0 ||
                         strcmp(value, "true") == 0);

    value = cpuload_env_reskey(envp, "cgroup");
    if (value && value[0] != '/')
        error_set(&bad, FERRY_E_CONFIG, "cgroup='%s' is not an absolute path", value);
    else if (value && strlen(value) >= sizeof(((struct cpuload_state *)NULL)->source))
        error_set(&bad, FERRY_E_CONFIG, "cgroup='%.40s...' is too long", value);
    else if (cpuload_dup(&p->cgroup, value) < 0) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    value = cpuload_env_reskey(envp, "attribute");
    if (value && !cpuload_attribute_valid(value))
        error_set(&bad, FERRY_E_CONFIG, "attribute='%s' is not a node attribute name (1 to %d "
                  "characters, no blanks or quotes)", value, CPULOAD_ATTRIBUTE_MAX);
    else if (value && cpuload_dup(&p->attribute, value) < 0) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    cpuload_param_int(envp, "red_percent", 1, 100, &red, &bad);
    cpuload_param_int(envp, "green_percent", 1, 100, &green, &bad);
    cpuload_param_int(envp, "red_after_s", 0, CPULOAD_MAX_AFTER_S, &red_after_s, &bad);
    cpuload_param_int(envp, "green_after_s", 0, CPULOAD_MAX_AFTER_S, &green_after_s, &bad);
    if (green > red) {
        error_set(&bad, FERRY_E_CONFIG, "green_percent=%" PRId64 " is above red_percent=%" PRId64
                  ": a node leaves red below green_percent", green, red);
        red = CPULOAD_DEFAULT_RED_PERCENT;
        green = CPULOAD_DEFAULT_GREEN_PERCENT;
    }
    p->thresholds.red_percent = (int)red;
    p->thresholds.green_percent = (int)green;
    p->thresholds.red_after_ms = red_after_s * 1000;
    p->thresholds.green_after_ms = green_after_s * 1000;
    if (bad) {
        ret = error_set(err, FERRY_E_CONFIG, "%s", error_message(bad));
        goto cleanup;
    }
cleanup:
    error_free(bad);
    if (ret == -ENOMEM)
        p = cpuload_params_free(p);
    *ret_params = p;
    return ret;
}

/* ---- parsing --------------------------------------------------------- */

/* Reads a decimal in [0, max] at *s, skipping blanks first; advances *s. */
static int
cpuload_next_u64(const char **s, int64_t max, int64_t *ret_value)
{
    const char *p = *s;
    char *end = NULL;
    unsigned long long v = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno || v > (unsigned long long)max || (*end != '\0' && *end != ' ' && *end != '\t' &&
                                            *end != '\n'))
        return -EINVAL;
    *ret_value = (int64_t)v;
    *s = end;
    return 0;
}

int
cpuload_proc_stat_parse(const char *text, long clk_tck, int64_t *ret_busy_usec,
                        int64_t *ret_total_usec)
{
    const char *p = text;
    int64_t v[8] = { 0 };
    int64_t total = 0;
    int64_t idle = 0;
    int n = 0;
    int i;

    if (clk_tck <= 0 || strncmp(p, "cpu ", 4) != 0)
        return -EINVAL;
    p += 4;
    /* user nice system idle iowait irq softirq steal (guest and guest_nice
     * are counted in user and nice already) */
    for (n = 0; n < 8; n++) {
        while (*p == ' ')
            p++;
        if (*p == '\n' || *p == '\0')
            break;
        if (cpuload_next_u64(&p, INT64_MAX / 1000000 / 8, &v[n]) < 0)
            return -EINVAL;
    }
    if (n < 4)
        return -EINVAL;
    for (i = 0; i < n; i++)
        total += v[i];
    idle = v[3] + v[4];
    if (total <= 0)
        return -EINVAL;
    *ret_busy_usec = (total - idle) * (1000000 / clk_tck);
    *ret_total_usec = total * (1000000 / clk_tck);
    return 0;
}

int
cpuload_cpu_stat_parse(const char *text, int64_t *ret_usage_usec)
{
    static const char key[] = "usage_usec ";
    const char *line = text;
    const char *p = NULL;
    int64_t v = 0;

    while (line && *line) {
        if (strncmp(line, key, sizeof(key) - 1) == 0) {
            p = line + sizeof(key) - 1;
            if (cpuload_next_u64(&p, INT64_MAX / 4, &v) < 0 || (*p != '\n' && *p != '\0'))
                return -EINVAL;
            *ret_usage_usec = v;
            return 0;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -EINVAL;
}

/* quota/period in thousandths of a CPU, at least 1 */
static int64_t
cpuload_mcpu(int64_t quota_usec, int64_t period_usec)
{
    int64_t m = quota_usec * 1000 / period_usec;

    return m > 0 ? m : 1;
}

int
cpuload_cpu_max_parse(const char *text, int64_t *ret_capacity_mcpu)
{
    const char *p = text;
    int64_t quota = 0;
    int64_t period = 0;
    bool unlimited = strncmp(p, "max ", 4) == 0;

    if (unlimited)
        p += 3;
    else if (cpuload_next_u64(&p, INT64_MAX / 1000, &quota) < 0 || quota == 0)
        return -EINVAL;
    if (cpuload_next_u64(&p, INT64_MAX / 1000, &period) < 0 || period == 0)
        return -EINVAL;
    *ret_capacity_mcpu = unlimited ? 0 : cpuload_mcpu(quota, period);
    return 0;
}

int
cpuload_cfs_parse(const char *quota_text, const char *period_text, int64_t *ret_capacity_mcpu)
{
    const char *p = period_text;
    int64_t quota = 0;
    int64_t period = 0;
    bool unlimited = strncmp(quota_text, "-1", 2) == 0 &&
                     (quota_text[2] == '\n' || quota_text[2] == '\0');

    if (cpuload_next_u64(&p, INT64_MAX / 1000, &period) < 0 || period == 0)
        return -EINVAL;
    p = quota_text;
    if (!unlimited && (cpuload_next_u64(&p, INT64_MAX / 1000, &quota) < 0 || quota == 0))
        return -EINVAL;
    *ret_capacity_mcpu = unlimited ? 0 : cpuload_mcpu(quota, period);
    return 0;
}

/* One line of /proc/self/mountinfo: its root, mount point, fstype and super
 * options (pointers into buf, which it cuts up). false if not of that form. */
static bool
cpuload_mountinfo_split(char *buf, char **root, char **mnt, char **fstype, char **opts)
{
    char *field[6] = { NULL };
    char *save = NULL;
    char *tok = NULL;
    int n = 0;

    for (tok = strtok_r(buf, " ", &save); tok && n < 5; tok = strtok_r(NULL, " ", &save))
        field[n++] = tok;
    if (n < 5)
        return false;
    /* optional fields up to "-" */
    while (tok && strcmp(tok, "-") != 0)
        tok = strtok_r(NULL, " ", &save);
    if (tok == NULL)
        return false;
    *fstype = strtok_r(NULL, " ", &save);
    if (*fstype == NULL || strtok_r(NULL, " ", &save) == NULL)
        return false;
    *opts = strtok_r(NULL, " ", &save);
    if (*opts == NULL)
        return false;
    *root = field[3];
    *mnt = field[4];
    return true;
}

/* path under prefix ("/a/b" under "/a", or "/a" itself): the rest ("/b", ""), else NULL */
static const char *
cpuload_path_under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strcmp(prefix, "/") == 0)
        return path;
    if (strncmp(path, prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
        return NULL;
    return path + n;
}

static bool
cpuload_opts_have(const char *opts, const char *word)
{
    size_t n = strlen(word);
    const char *p = opts;

    for (p = opts; p; p = strchr(p, ',')) {
        if (*p == ',')
            p++;
        if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    }
    return false;
}

int
cpuload_v1_cpu_dir(const char *mountinfo, const char *v2_dir, char *ret_dir, size_t size)
{
    char cgpath[PATH_MAX] = "";
    char dir[PATH_MAX] = "";
    char line[4096];
    const char *p = mountinfo;
    const char *nl = NULL;
    char *root = NULL, *mnt = NULL, *fstype = NULL, *opts = NULL;
    const char *rest = NULL;
    size_t best = 0;
    size_t len = 0;
    int pass;
    int n = 0;

    /* pass 0: the cgroup2 mount v2_dir is on (the longest), so its cgroup path;
     * pass 1: a v1 mount with the cpu controller that holds that path */
    for (pass = 0; pass < 2; pass++) {
        for (p = mountinfo; p && *p; p = nl ? nl + 1 : NULL) {
            nl = strchr(p, '\n');
            len = nl ? (size_t)(nl - p) : strlen(p);
            if (len >= sizeof(line))
                continue;
            memcpy(line, p, len);
            line[len] = '\0';
            if (!cpuload_mountinfo_split(line, &root, &mnt, &fstype, &opts))
                continue;
            if (pass == 0 && strcmp(fstype, "cgroup2") == 0 &&
                (rest = cpuload_path_under(v2_dir, mnt)) != NULL && strlen(mnt) + 1 > best) {
                best = strlen(mnt) + 1;
                n = snprintf(cgpath, sizeof(cgpath), "%s%s", strcmp(root, "/") ? root : "", rest);
                if (n < 0 || (size_t)n >= sizeof(cgpath))
                    return -ENAMETOOLONG;
            } else if (pass == 1 && strcmp(fstype, "cgroup") == 0 && cpuload_opts_have(opts, "cpu") &&
                       (rest = cpuload_path_under(cgpath[0] ? cgpath : "/", root)) != NULL) {
                n = snprintf(dir, sizeof(dir), "%s%s", mnt, rest);
                if (n < 0 || (size_t)n >= sizeof(dir))
                    return -ENAMETOOLONG;
                break;
            }
        }
        if (pass == 0 && best == 0)
            return -ENOENT;
    }
    if (dir[0] == '\0')
        return -ENOENT;
    /* no trailing slashes ("/sys/fs/cgroup/unified/a/" is "/.../cpu/a") */
    len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = '\0';
    if (len >= size)
        return -ENAMETOOLONG;
    memcpy(ret_dir, dir, len + 1);
    return 0;
}

/* ---- reading the counters ------------------------------------------- */

/* The whole of a small file into buf. 0 or -errno. */
static int
cpuload_file_read(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t used = 0;
    ssize_t n = 0;
    int ret = 0;

    if (fd < 0)
        return -errno;
    while (used + 1 < size && (n = read(fd, buf + used, size - 1 - used)) > 0)
        used += (size_t)n;
    if (n < 0)
        ret = -errno;
    buf[used] = '\0';
    close(fd);
    return ret;
}

static int64_t
cpuload_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CPUs cgroup may use, x1000: cpu.max, else (a hybrid host) the v1
 * controller's quota of the same cgroup, at most the online CPUs. */
static int
cpuload_capacity_read(const char *cgroup, int64_t *ret_mcpu, ferry_error **err)
{
    char path[PATH_MAX + 32];
    char text[256];
    char period[64];
    char *mountinfo = NULL;
    char v1[PATH_MAX] = "";
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t cap = 0;
    int rc = 0;
    int ret = 0;

    if (online < 1)
        online = 1;
    snprintf(path, sizeof(path), "%s/cpu.max", cgroup);
    rc = cpuload_file_read(path, text, sizeof(text));
    if (rc == 0) {
        if (cpuload_cpu_max_parse(text, &cap) < 0) {
            ret = error_set(err, FERRY_E_INSTALLED, "%s: cannot understand '%.40s'", path, text);
            goto cleanup;
        }
    } else if (rc == -ENOENT) {
        mountinfo = malloc(CPULOAD_FILE_MAX);
        if (mountinfo && cpuload_file_read("/proc/self/mountinfo", mountinfo, CPULOAD_FILE_MAX) == 0 &&
            cpuload_v1_cpu_dir(mountinfo, cgroup, v1, sizeof(v1)) == 0) {
            snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", v1);
            rc = cpuload_file_read(path, text, sizeof(text));
            snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", v1);
            if (rc == 0 && cpuload_file_read(path, period, sizeof(period)) == 0 &&
                cpuload_cfs_parse(text, period, &cap) < 0)
                cap = 0;
        }
    } else {
        ret = error_set(err, FERRY_E_INSTALLED, "cannot read %s: %s", path, strerror(-rc));
        goto cleanup;
    }
    if (cap <= 0 || cap > online * 1000)
        cap = online * 1000;
    *ret_mcpu = cap;
cleanup:
    free(mountinfo);
    return ret;
}

int
cpuload_sample_read(const char *cgroup, struct cpuload_sample *ret_sample, ferry_error **err)
{
    struct cpuload_sample s = { .time_ms = cpuload_now_ms() };
    char path[PATH_MAX + 32];
    char *text = malloc(CPULOAD_FILE_MAX);
    int rc = 0;
    int ret = 0;

    if (text == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    if (cgroup == NULL || cgroup[0] == '\0') {
        rc = cpuload_file_read("/proc/stat", text, CPULOAD_FILE_MAX);
        if (rc < 0 || cpuload_proc_stat_parse(text, sysconf(_SC_CLK_TCK), &s.busy_usec,
                                              &s.total_usec) < 0) {
            ret = error_set(err, FERRY_E_INSTALLED, "cannot read the cpu line of /proc/stat%s%s",
                            rc < 0 ? ": " : "", rc < 0 ? strerror(-rc) : "");
            goto cleanup;
        }
        *ret_sample = s;
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/cpu.stat", cgroup);
    rc = cpuload_file_read(path, text, CPULOAD_FILE_MAX);
    if (rc < 0) {
        ret = error_set(err, FERRY_E_INSTALLED, "cannot read %s (is %s a cgroup v2 directory?): %s",
                        path, cgroup, strerror(-rc));
        goto cleanup;
    }
    if (cpuload_cpu_stat_parse(text, &s.busy_usec) < 0) {
        ret = error_set(err, FERRY_E_INSTALLED, "%s has no usage_usec line (not cgroup v2?)", path);
        goto cleanup;
    }
    ret = cpuload_capacity_read(cgroup, &s.capacity_mcpu, err);
    if (ret == 0)
        *ret_sample = s;
cleanup:
    free(text);
    return ret;
}

int
cpuload_busy_percent(const struct cpuload_sample *prev, const struct cpuload_sample *cur,
                     double *ret_percent)
{
    double busy = (double)(cur->busy_usec - prev->busy_usec);
    double total = 0;
    double pct = 0;

    if (cur->capacity_mcpu > 0)
        total = (double)(cur->time_ms - prev->time_ms) * (double)cur->capacity_mcpu;  /* ms x mCPU = usec */
    else
        total = (double)(cur->total_usec - prev->total_usec);
    if (busy < 0 || total <= 0)
        return -EINVAL;
    pct = 100.0 * busy / total;
    *ret_percent = pct > 100.0 ? 100.0 : pct;
    return 0;
}

/* ---- the state machine ---------------------------------------------- */

void
cpuload_state_init(struct cpuload_state *s, int64_t now_ms)
{
    memset(s, 0, sizeof(*s));
    s->health = CPULOAD_GREEN;
    s->above_since_ms = -1;
    s->below_since_ms = -1;
    s->changed_ms = now_ms;
}

bool
cpuload_state_update(struct cpuload_state *s, const struct cpuload_thresholds *t,
                     double busy_percent, int64_t from_ms, int64_t to_ms)
{
    enum cpuload_health old = s->health;

    if (busy_percent >= t->red_percent) {
        s->below_since_ms = -1;
        if (s->above_since_ms < 0)
            s->above_since_ms = from_ms;
        if (s->health != CPULOAD_RED && to_ms - s->above_since_ms >= t->red_after_ms) {
            s->health = CPULOAD_RED;
            s->cooling = false;
        } else if (s->health == CPULOAD_GREEN) {
            s->health = CPULOAD_YELLOW;   /* warming: busy, not long enough yet */
        }
    } else if (busy_percent < t->green_percent) {
        s->above_since_ms = -1;
        if (s->below_since_ms < 0)
            s->below_since_ms = from_ms;
        if (s->health == CPULOAD_RED) {
            s->health = CPULOAD_YELLOW;   /* cooling down */
            s->cooling = true;
        }
        if (s->health == CPULOAD_YELLOW &&
            (!s->cooling || to_ms - s->below_since_ms >= t->green_after_ms)) {
            s->health = CPULOAD_GREEN;
            s->cooling = false;
        }
    } else {
        /* between the thresholds: no run goes on, the health stays */
        s->above_since_ms = -1;
        s->below_since_ms = -1;
    }
    if (s->health != old)
        s->changed_ms = to_ms;
    return s->health != old;
}

/* ---- the state file -------------------------------------------------- */

int
cpuload_state_format(const struct cpuload_state *s, char *buf, size_t size)
{
    int n = snprintf(buf, size,
                     "health=%s\ncooling=%d\nabove_since_ms=%" PRId64 "\nbelow_since_ms=%" PRId64
                     "\nchanged_ms=%" PRId64 "\n",
                     cpuload_health_names[s->health], s->cooling ? 1 : 0, s->above_since_ms,
                     s->below_since_ms, s->changed_ms);
    size_t used = 0;

    if (n < 0 || (size_t)n >= size)
        return -ENOSPC;
    used = (size_t)n;
    if (!s->have_sample)
        return 0;
    n = snprintf(buf + used, size - used,
                 "source=%s\nsample=%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
                 s->source, s->sample.time_ms, s->sample.busy_usec, s->sample.total_usec,
                 s->sample.capacity_mcpu);
    if (n < 0 || (size_t)n >= size - used)
        return -ENOSPC;
    return 0;
}

static int
cpuload_i64_parse(const char *text, int64_t *ret_value)
{
    return cpuload_int_parse(text, INT64_MIN / 2, INT64_MAX / 2, ret_value);
}

int
cpuload_state_parse(const char *text, struct cpuload_state *ret_state)
{
    struct cpuload_state s;
    char line[1024];
    const char *p = text;
    const char *nl = NULL;
    char *eq = NULL;
    size_t len = 0;
    bool have_health = false;
    long long v[4];
    char extra = 0;
    int i;

    cpuload_state_init(&s, 0);
    for (p = text; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == 0)
            continue;
        if (len >= sizeof(line))
            return -EINVAL;
        memcpy(line, p, len);
        line[len] = '\0';
        eq = strchr(line, '=');
        if (eq == NULL)
            return -EINVAL;
        *eq++ = '\0';
        if (strcmp(line, "health") == 0) {
            for (i = 0; i < 3 && strcmp(eq, cpuload_health_names[i]) != 0; i++)
                ;
            if (i == 3)
                return -EINVAL;
            s.health = (enum cpuload_health)i;
            have_health = true;
        } else if (strcmp(line, "cooling") == 0) {
            s.cooling = strcmp(eq, "1") == 0;
        } else if (strcmp(line, "above_since_ms") == 0) {
            if (cpuload_i64_parse(eq, &s.above_since_ms) < 0)
                return -EINVAL;
        } else if (strcmp(line, "below_since_ms") == 0) {
            if (cpuload_i64_parse(eq, &s.below_since_ms) < 0)
                return -EINVAL;
        } else if (strcmp(line, "changed_ms") == 0) {
            if (cpuload_i64_parse(eq, &s.changed_ms) < 0)
                return -EINVAL;
        } else if (strcmp(line, "source") == 0) {
            snprintf(s.source, sizeof(s.source), "%s", eq);
        } else if (strcmp(line, "sample") == 0) {
            if (sscanf(eq, "%lld %lld %lld %lld %c", &v[0], &v[1], &v[2], &v[3], &extra) != 4)
                return -EINVAL;
            s.sample = (struct cpuload_sample){ v[0], v[1], v[2], v[3] };
            s.have_sample = true;
        }
        /* other keys: a newer version's, ignored */
    }
    if (!have_health)
        return -EINVAL;
    *ret_state = s;
    return 0;
}

int
cpuload_state_path(const struct cpuload_params *p, char *buf, size_t size)
{
    char name[256];
    size_t i;
    int n = 0;

    snprintf(name, sizeof(name), "%s", p->instance ? p->instance : "default");
    for (i = 0; name[i]; i++)
        if (name[i] == '/')
            name[i] = '_';
    n = snprintf(buf, size, "%s/ferry-health-cpu-%s.state", p->state_dir, name);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int
cpuload_state_write(const char *path, const struct cpuload_state *s, ferry_error **err)
{
    char tmp[PATH_MAX + 16] = "";
    char text[1024];
    size_t len = 0;
    int fd = -1;
    int ret = 0;

    if (cpuload_state_format(s, text, sizeof(text)) < 0) {
        ret = error_set(err, -ENOSPC, "the state of %s does not fit in its buffer", path);
        goto cleanup;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
        tmp[0] = '\0';
        ret = error_set(err, -ENAMETOOLONG, "state file name too long: %s", path);
        goto cleanup;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        tmp[0] = '\0';
        ret = error_set(err, -errno, "cannot create a state file beside %s: %s", path, strerror(errno));
        goto cleanup;
    }
    len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len || fchmod(fd, 0644) < 0) {
        ret = error_set(err, -EIO, "cannot write %s", tmp);
        goto cleanup;
    }
    if (close(fd) < 0) {
        fd = -1;
        ret = error_set(err, -errno, "cannot write %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        ret = error_set(err, -errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
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

int
cpuload_state_read(const char *path, struct cpuload_state *ret_state, ferry_error **err)
{
    char text[2048];
    int rc = cpuload_file_read(path, text, sizeof(text));

    if (rc == -ENOENT)
        return error_set(err, -ENOENT, "no state file %s: not started", path);
    if (rc < 0)
        return error_set(err, rc, "cannot read %s: %s", path, strerror(-rc));
    if (cpuload_state_parse(text, ret_state) < 0)
        return error_set(err, -EINVAL, "%s is not a state file of this agent", path);
    return 0;
}
