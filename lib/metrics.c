/* metrics.c — see metrics.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"

/* how often a wait for the node's lock tries again */
#define METRICS_LOCK_POLL_MS 10
/* the file is small (tens of series per mode); more than this is not ours */
#define METRICS_FILE_MAX_BYTES (1024 * 1024)
#define METRICS_KEY_MAX 256

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_family {
    const char *name;
    enum metrics_type type;
    const char *help;
};

/* Every family ferry writes, in the file's order. */
static const struct metrics_family metrics_families[] = {
    { "ferry_migrations_total", METRICS_COUNTER,
      "migrate_to actions by migration mode and outcome (refused: failed before anything moved)" },
    { "ferry_migration_duration_seconds", METRICS_HISTOGRAM,
      "Wall time of the migrate call of completed migrations" },
    { "ferry_migration_downtime_seconds", METRICS_HISTOGRAM,
      "libvirt's downtime (the final switch-over) of completed migrations" },
    { "ferry_migration_pause_seconds", METRICS_HISTOGRAM,
      "Guest-visible pause measured by the agent (pause mode, or the policy's pause)" },
    { "ferry_migration_bytes_total", METRICS_COUNTER,
      "Bytes moved by completed migrations" },
    { "ferry_migration_failures_total", METRICS_COUNTER,
      "Failed migrate_to actions by reason" },
    { "ferry_migration_last_failure_info", METRICS_GAUGE,
      "The reason of this node's last failed migrate_to (one series, value 1)" },
    { "ferry_migration_last_failure_timestamp_seconds", METRICS_GAUGE,
      "When this node's last migrate_to failed (Unix time)" },
    { "ferry_monitors_total", METRICS_COUNTER,
      "monitor and probe actions by result" },
};

static const double metrics_duration_buckets[] = { 1, 2, 5, 10, 20, 30, 60, 120, 300, 600 };
static const double metrics_downtime_buckets[] = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
static const double metrics_pause_buckets[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };

static const char *const metrics_reason_names[] = {
    [METRICS_REASON_NONE] = "none",
    [METRICS_REASON_CONFIG] = "config",
    [METRICS_REASON_STATE] = "state",
    [METRICS_REASON_LIBVIRT] = "libvirt",
    [METRICS_REASON_TIMEOUT] = "timeout",
    [METRICS_REASON_ABORTED_STALLED] = "aborted_stalled",
    [METRICS_REASON_ABORTED_TIMEOUT] = "aborted_timeout",
    [METRICS_REASON_ABORTED_DEADLINE] = "aborted_deadline",
    [METRICS_REASON_OTHER] = "other",
};

struct metrics_series {
    char *key;        /* name{labels} */
    double value;
};

struct metrics_set {
    struct metrics_series *s;
    size_t n;
    size_t cap;
};

const char *
metrics_reason_name(enum metrics_reason reason)
{
    if ((unsigned)reason > METRICS_REASON_OTHER)
        return metrics_reason_names[METRICS_REASON_OTHER];
    return metrics_reason_names[reason];
}

enum metrics_reason
metrics_reason_classify(int code, const char *outcome, const char *trigger)
{
    if (outcome && strcmp(outcome, "aborted") == 0 && trigger) {
        if (strcmp(trigger, "stalled") == 0)
            return METRICS_REASON_ABORTED_STALLED;
        if (strcmp(trigger, "timeout") == 0)
            return METRICS_REASON_ABORTED_TIMEOUT;
        if (strcmp(trigger, "deadline") == 0)
            return METRICS_REASON_ABORTED_DEADLINE;
    }
    switch (code) {
    case FERRY_E_CONFIG:
    case FERRY_E_ARGS:
    case FERRY_E_INSTALLED:
    case FERRY_E_XML:
        return METRICS_REASON_CONFIG;
    case FERRY_E_STATE:
        return METRICS_REASON_STATE;
    case FERRY_E_LIBVIRT:
        return METRICS_REASON_LIBVIRT;
    case FERRY_E_TIMEOUT:
        return METRICS_REASON_TIMEOUT;
    default:
        return METRICS_REASON_OTHER;
    }
}

metrics_set *
metrics_set_new(void)
{
    return calloc(1, sizeof(struct metrics_set));
}

metrics_set *
metrics_set_free(metrics_set *set)
{
    size_t i;

    if (set == NULL)
        return NULL;
    for (i = 0; i < set->n; i++)
        free(set->s[i].key);
    free(set->s);
    free(set);
    return NULL;
}

static struct metrics_series *
metrics_set_find(const metrics_set *set, const char *key)
{
    size_t i;

    for (i = 0; i < set->n; i++)
        if (strcmp(set->s[i].key, key) == 0)
            return &set->s[i];
    return NULL;
}

double
metrics_set_get(const metrics_set *set, const char *key)
{
    const struct metrics_series *s = metrics_set_find(set, key);

    return s ? s->value : -1;
}

/* Sets key to value (add: adds it), appending a new series in order. */
static int
metrics_set_put(metrics_set *set, const char *key, double value, bool add)
{
    struct metrics_series *s = metrics_set_find(set, key);

    if (s) {
        s->value = add ? s->value + value : value;
        return 0;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 32;
        struct metrics_series *grown = realloc(set->s, cap * sizeof(*grown));

        if (grown == NULL)
            return -ENOMEM;
        set->s = grown;
        set->cap = cap;
    }
    s = &set->s[set->n];
    s->key = strdup(key);
    if (s->key == NULL)
        return -ENOMEM;
    s->value = value;
    set->n++;
    return 0;
}

/* Drops every series whose key starts with prefix. */
static void
metrics_set_drop(metrics_set *set, const char *prefix)
{
    size_t i = 0;
    size_t len = strlen(prefix);

    while (i < set->n) {
        if (strncmp(set->s[i].key, prefix, len) == 0) {
            free(set->s[i].key);
            memmove(&set->s[i], &set->s[i + 1], (set->n - i - 1) * sizeof(set->s[0]));
            set->n--;
        } else {
            i++;
        }
    }
}

int
metrics_set_parse(metrics_set *set, const char *text, size_t len)
{
    const char *p = text;
    const char *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t n = (size_t)(eol - p);
        char line[METRICS_KEY_MAX + 64];
        char *sp = NULL;
        char *stop = NULL;
        double value = 0;

        if (n > 6 && n < sizeof(line) && strncmp(p, "ferry_", 6) == 0) {
            memcpy(line, p, n);
            line[n] = '\0';
            sp = strrchr(line, ' ');
            if (sp && sp[1] != '\0') {
                *sp = '\0';
                errno = 0;
                value = strtod(sp + 1, &stop);
                if (errno == 0 && *stop == '\0' && strchr(line, ' ') == NULL &&
                    metrics_set_put(set, line, value, false) < 0)
                    return -ENOMEM;
            }
        }
        p = eol + 1;
    }
    return 0;
}

/* Counts one observation of value (seconds) into histogram name{mode}. */
static int
metrics_set_observe(metrics_set *set, const char *name, const char *mode, const double *buckets,
                    size_t n, double value)
{
    char key[METRICS_KEY_MAX];
    char le[32];
    size_t i;
    int rc = 0;

    for (i = 0; i <= n && rc == 0; i++) {
        if (i < n)
            snprintf(le, sizeof(le), "%g", buckets[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        snprintf(key, sizeof(key), "%s_bucket{mode=\"%s\",le=\"%s\"}", name, mode, le);
        rc = metrics_set_put(set, key, i == n || value <= buckets[i] ? 1 : 0, true);
    }
    if (rc == 0) {
        snprintf(key, sizeof(key), "%s_sum{mode=\"%s\"}", name, mode);
        rc = metrics_set_put(set, key, value, true);
    }
    if (rc == 0) {
        snprintf(key, sizeof(key), "%s_count{mode=\"%s\"}", name, mode);
        rc = metrics_set_put(set, key, 1, true);
    }
    return rc;
}

/* A label value we write: the closed sets' names, never free text. */
static const char *
metrics_label(const char *value)
{
    size_t i;

    if (value == NULL || *value == '\0')
        return "unknown";
    for (i = 0; value[i]; i++)
        if (!((value[i] >= 'a' && value[i] <= 'z') || value[i] == '-' || value[i] == '_'))
            return "unknown";
    return value;
}

int
metrics_set_add_migration(metrics_set *set, const struct metrics_migration *m)
{
    const char *mode = metrics_label(m->mode);
    char key[METRICS_KEY_MAX];
    int rc = 0;

    snprintf(key, sizeof(key), "ferry_migrations_total{mode=\"%s\",outcome=\"%s\"}", mode,
             metrics_label(m->outcome));
    rc = metrics_set_put(set, key, 1, true);
    if (rc == 0 && m->reason != METRICS_REASON_NONE) {
        snprintf(key, sizeof(key), "ferry_migration_failures_total{reason=\"%s\"}",
                 metrics_reason_name(m->reason));
        rc = metrics_set_put(set, key, 1, true);
        /* one series: the last reason only */
        metrics_set_drop(set, "ferry_migration_last_failure_info{");
        snprintf(key, sizeof(key), "ferry_migration_last_failure_info{reason=\"%s\"}",
                 metrics_reason_name(m->reason));
        if (rc == 0)
            rc = metrics_set_put(set, key, 1, false);
        if (rc == 0)
            rc = metrics_set_put(set, "ferry_migration_last_failure_timestamp_seconds",
                                 (double)m->time_s, false);
        return rc;
    }
    if (rc == 0 && m->total_ms >= 0)
        rc = metrics_set_observe(set, "ferry_migration_duration_seconds", mode,
                                 metrics_duration_buckets,
                                 sizeof(metrics_duration_buckets) / sizeof(double),
                                 (double)m->total_ms / 1000);
    if (rc == 0 && m->downtime_ms >= 0)
        rc = metrics_set_observe(set, "ferry_migration_downtime_seconds", mode,
                                 metrics_downtime_buckets,
                                 sizeof(metrics_downtime_buckets) / sizeof(double),
                                 (double)m->downtime_ms / 1000);
    if (rc == 0 && m->pause_ms >= 0)
        rc = metrics_set_observe(set, "ferry_migration_pause_seconds", mode,
                                 metrics_pause_buckets,
                                 sizeof(metrics_pause_buckets) / sizeof(double),
                                 (double)m->pause_ms / 1000);
    if (rc == 0) {
        snprintf(key, sizeof(key), "ferry_migration_bytes_total{mode=\"%s\"}", mode);
        rc = metrics_set_put(set, key, (double)m->bytes, true);
    }
    return rc;
}

int
metrics_set_add_monitor(metrics_set *set, const char *result)
{
    char key[METRICS_KEY_MAX];

    snprintf(key, sizeof(key), "ferry_monitors_total{result=\"%s\"}", metrics_label(result));
    return metrics_set_put(set, key, 1, true);
}

/* Does series key belong to family f (name, name{...}, name_bucket{...}, ...)? */
static bool
metrics_family_has(const struct metrics_family *f, const char *key)
{
    static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
    size_t len = strlen(f->name);
    size_t i;

    if (strncmp(key, f->name, len) != 0)
        return false;
    key += len;
    if (*key == '\0' || *key == '{')
        return true;
    if (f->type != METRICS_HISTOGRAM)
        return false;
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t slen = strlen(suffixes[i]);

        if (strncmp(key, suffixes[i], slen) == 0 && (key[slen] == '\0' || key[slen] == '{'))
            return true;
    }
    return false;
}

int
metrics_set_write(const metrics_set *set, FILE *f)
{
    static const char *const types[] = {
        [METRICS_COUNTER] = "counter", [METRICS_GAUGE] = "gauge",
        [METRICS_HISTOGRAM] = "histogram",
    };
    size_t i;
    size_t k;

    for (i = 0; i < sizeof(metrics_families) / sizeof(metrics_families[0]); i++) {
        const struct metrics_family *fam = &metrics_families[i];
        bool headed = false;

        for (k = 0; k < set->n; k++) {
            if (!metrics_family_has(fam, set->s[k].key))
                continue;
            if (!headed) {
                fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
                        types[fam->type]);
                headed = true;
            }
            fprintf(f, "%s %.15g\n", set->s[k].key, set->s[k].value);
        }
    }
    return ferror(f) ? -EIO : 0;
}

/* Takes the node's lock within dl: the open lock file's descriptor, or -1
 * with *ret_rc set. */
static int
metrics_lock(const char *dir, const deadline *dl, int *ret_rc, ferry_error **err)
{
    char path[4096];
    int fd = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, METRICS_LOCK_NAME);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        *ret_rc = error_set(err, -errno, "metrics: cannot open the lock %s: %s", path,
                            strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            *ret_rc = error_set(err, -errno, "metrics: cannot lock %s: %s", path,
                                strerror(errno));
            close(fd);
            return -1;
        }
        if (!deadline_wait_ms(dl, METRICS_LOCK_POLL_MS)) {
            *ret_rc = error_set(err, FERRY_E_TIMEOUT, "metrics: the lock %s is held by another "
                                "agent on this node; the update is dropped", path);
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* The node's counters as the file has them (none if it is not there yet). */
static int
metrics_load(const char *path, metrics_set *set, ferry_error **err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "re");
    int ret = 0;

    if (f == NULL)
        return errno == ENOENT ? 0 : error_set(err, -errno, "metrics: cannot read %s: %s", path,
                                               strerror(errno));
    buf = malloc(METRICS_FILE_MAX_BYTES);
    if (buf == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    len = fread(buf, 1, METRICS_FILE_MAX_BYTES, f);
    if (ferror(f)) {
        ret = error_set(err, -EIO, "metrics: cannot read %s", path);
        goto cleanup;
    }
    if (metrics_set_parse(set, buf, len) < 0)
        ret = error_set(err, -ENOMEM, "out of memory");
cleanup:
    free(buf);
    fclose(f);
    return ret;
}

/* Writes set to a temporary file in dir and renames it over the file. */
static int
metrics_store(const char *dir, const char *path, const metrics_set *set, ferry_error **err)
{
    char tmp[4096];
    FILE *f = NULL;
    int fd = -1;
    int ret = 0;

    /* not *.prom: the collector never reads it */
    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, METRICS_FILE_NAME, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return error_set(err, -errno, "metrics: cannot write %s: %s", tmp, strerror(errno));
    f = fdopen(fd, "w");
    if (f == NULL) {
        ret = error_set(err, -errno, "metrics: cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        goto cleanup;
    }
    /* no fsync: the rename is what makes the update atomic for the collector;
     * counters lost to a power cut are a counter reset to Prometheus, and a
     * monitor every few seconds per resource should not wait for the disk */
    ret = metrics_set_write(set, f);
    if (fflush(f) != 0)
        ret = -EIO;
    if (fclose(f) != 0)
        ret = -EIO;
    if (ret < 0) {
        ret = error_set(err, ret, "metrics: cannot write %s", tmp);
        goto cleanup;
    }
    if (rename(tmp, path) < 0)
        ret = error_set(err, -errno, "metrics: cannot rename %s to %s: %s", tmp, path,
                        strerror(errno));
cleanup:
    if (ret < 0)
        unlink(tmp);
    return ret;
}

/* Lock, read, count (one of m or result), write, rename, unlock. */
static int
metrics_update(const char *dir, const struct metrics_migration *m, const char *result,
               const deadline *dl, ferry_error **err)
{
    char path[4096];
    struct stat st;
    metrics_set *set = NULL;
    int fd = -1;
    int ret = 0;

    if (dir == NULL || *dir == '\0')
        return 0;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return error_set(err, -ENOENT, "metrics: no directory %s (node_exporter's textfile "
                         "collector directory)", dir);
    fd = metrics_lock(dir, dl, &ret, err);
    if (fd < 0)
        return ret;
    set = metrics_set_new();
    if (set == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, METRICS_FILE_NAME);
    ret = metrics_load(path, set, err);
    if (ret < 0)
        goto cleanup;
    ret = m ? metrics_set_add_migration(set, m) : metrics_set_add_monitor(set, result);
    if (ret < 0) {
        ret = error_set(err, ret, "out of memory");
        goto cleanup;
    }
    ret = metrics_store(dir, path, set, err);
cleanup:
    metrics_set_free(set);
    close(fd);      /* unlocks */
    return ret;
}

int
metrics_record_migration(const char *dir, const struct metrics_migration *m, const deadline *dl,
                         ferry_error **err)
{
    return metrics_update(dir, m, NULL, dl, err);
}

int
metrics_record_monitor(const char *dir, const char *result, const deadline *dl, ferry_error **err)
{
    return metrics_update(dir, NULL, result, dl, err);
}
