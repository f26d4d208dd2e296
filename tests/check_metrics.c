/* check_metrics.c — the textfile collector's file: counting, the text format,
 * the lock and the atomic replace. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_common.h"
#include "metrics.h"

#define LIVE_OK "ferry_migrations_total{mode=\"live\",outcome=\"completed\"}"

static char tmpdir[64];

static void
tmpdir_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_metrics.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmpdir_teardown(void)
{
    char path[512];
    DIR *d = opendir(tmpdir);
    struct dirent *e = NULL;

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

static struct metrics_migration
migration_ok(const char *mode, int64_t total_ms, int64_t downtime_ms, int64_t pause_ms)
{
    struct metrics_migration m = {
        .mode = mode, .outcome = "completed", .reason = METRICS_REASON_NONE,
        .total_ms = total_ms, .downtime_ms = downtime_ms, .pause_ms = pause_ms,
        .bytes = 1000, .time_s = 1700000000,
    };

    return m;
}

static struct metrics_migration
migration_failed(const char *outcome, enum metrics_reason reason, int64_t time_s)
{
    struct metrics_migration m = {
        .mode = "live", .outcome = outcome, .reason = reason,
        .total_ms = -1, .downtime_ms = -1, .pause_ms = -1, .time_s = time_s,
    };

    return m;
}

/* the set's text, as the collector would read it */
static char *
set_text(const metrics_set *set)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(metrics_set_write(set, f), 0);
    fclose(f);
    return buf;
}

static metrics_set *
file_read(const char *dir)
{
    char path[128];
    char buf[65536];
    metrics_set *set = metrics_set_new();
    FILE *f = NULL;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, METRICS_FILE_NAME);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ck_assert_int_eq(metrics_set_parse(set, buf, n), 0);
    return set;
}

START_TEST(test_reason_classify)
{
    ck_assert_int_eq(metrics_reason_classify(FERRY_E_STATE, "", ""), METRICS_REASON_STATE);
    ck_assert_int_eq(metrics_reason_classify(FERRY_E_CONFIG, "", ""), METRICS_REASON_CONFIG);
    ck_assert_int_eq(metrics_reason_classify(FERRY_E_ARGS, "", ""), METRICS_REASON_CONFIG);
    ck_assert_int_eq(metrics_reason_classify(FERRY_E_LIBVIRT, "failed", ""),
                     METRICS_REASON_LIBVIRT);
    ck_assert_int_eq(metrics_reason_classify(FERRY_E_TIMEOUT, "", ""), METRICS_REASON_TIMEOUT);
    ck_assert_int_eq(metrics_reason_classify(FERRY_E_LIBVIRT, "aborted", "stalled"),
                     METRICS_REASON_ABORTED_STALLED);
    ck_assert_int_eq(metrics_reason_classify(FERRY_E_LIBVIRT, "aborted", "timeout"),
                     METRICS_REASON_ABORTED_TIMEOUT);
    ck_assert_int_eq(metrics_reason_classify(FERRY_E_LIBVIRT, "aborted", "deadline"),
                     METRICS_REASON_ABORTED_DEADLINE);
    ck_assert_int_eq(metrics_reason_classify(-ENOMEM, "failed", ""), METRICS_REASON_OTHER);
    ck_assert_str_eq(metrics_reason_name(METRICS_REASON_ABORTED_STALLED), "aborted_stalled");
    ck_assert_str_eq(metrics_reason_name(METRICS_REASON_NONE), "none");
    /* out of range: still one of the closed set */
    ck_assert_str_eq(metrics_reason_name((enum metrics_reason)99), "other");
}
END_TEST

START_TEST(test_migration_counted)
{
    metrics_set *set = metrics_set_new();
    struct metrics_migration m = migration_ok("live", 1500, 30, -1);

    ck_assert_int_eq(metrics_set_add_migration(set, &m), 0);
    m.total_ms = 7000;
    m.downtime_ms = 200;
    ck_assert_int_eq(metrics_set_add_migration(set, &m), 0);
    ck_assert(metrics_set_get(set, LIVE_OK) == 2);
    ck_assert(metrics_set_get(set, "ferry_migration_duration_seconds_bucket{mode=\"live\","
                                   "le=\"1\"}") == 0);
    ck_assert(metrics_set_get(set, "ferry_migration_duration_seconds_bucket{mode=\"live\","
                                   "le=\"2\"}") == 1);
    ck_assert(metrics_set_get(set, "ferry_migration_duration_seconds_bucket{mode=\"live\","
                                   "le=\"10\"}") == 2);
    ck_assert(metrics_set_get(set, "ferry_migration_duration_seconds_bucket{mode=\"live\","
                                   "le=\"+Inf\"}") == 2);
    ck_assert(metrics_set_get(set, "ferry_migration_duration_seconds_sum{mode=\"live\"}") == 8.5);
    ck_assert(metrics_set_get(set, "ferry_migration_duration_seconds_count{mode=\"live\"}") == 2);
    ck_assert(metrics_set_get(set, "ferry_migration_downtime_seconds_bucket{mode=\"live\","
                                   "le=\"0.05\"}") == 1);
    ck_assert(metrics_set_get(set, "ferry_migration_downtime_seconds_count{mode=\"live\"}") == 2);
    /* no pause measured: no observation (not a 0 s one) */
    ck_assert(metrics_set_get(set, "ferry_migration_pause_seconds_count{mode=\"live\"}") <= 0);
    ck_assert(metrics_set_get(set, "ferry_migration_bytes_total{mode=\"live\"}") == 2000);
    /* a pause-mode migration has its own series */
    m = migration_ok("pause", 2500, 40, 2400);
    ck_assert_int_eq(metrics_set_add_migration(set, &m), 0);
    ck_assert(metrics_set_get(set, "ferry_migration_pause_seconds_count{mode=\"pause\"}") == 1);
    ck_assert(metrics_set_get(set, "ferry_migration_pause_seconds_sum{mode=\"pause\"}") == 2.4);
    ck_assert(metrics_set_get(set, LIVE_OK) == 2);
    metrics_set_free(set);
}
END_TEST

START_TEST(test_failure_reason_bounded)
{
    metrics_set *set = metrics_set_new();
    struct metrics_migration m = migration_failed("refused", METRICS_REASON_STATE, 1700000100);
    char *text = NULL;

    ck_assert_int_eq(metrics_set_add_migration(set, &m), 0);
    ck_assert(metrics_set_get(set, "ferry_migrations_total{mode=\"live\",outcome=\"refused\"}") == 1);
    ck_assert(metrics_set_get(set, "ferry_migration_failures_total{reason=\"state\"}") == 1);
    ck_assert(metrics_set_get(set, "ferry_migration_last_failure_info{reason=\"state\"}") == 1);
    ck_assert(metrics_set_get(set, "ferry_migration_last_failure_timestamp_seconds") == 1700000100);
    /* a failure is no observation of the time histograms */
    ck_assert(metrics_set_get(set, "ferry_migration_duration_seconds_count{mode=\"live\"}") <= 0);
    m = migration_failed("aborted", METRICS_REASON_ABORTED_STALLED, 1700000200);
    ck_assert_int_eq(metrics_set_add_migration(set, &m), 0);
    /* the last failure has one series: the reason before is gone from it */
    ck_assert(metrics_set_get(set, "ferry_migration_last_failure_info{reason=\"state\"}") == -1);
    ck_assert(metrics_set_get(set, "ferry_migration_last_failure_info{reason=\"aborted_stalled\"}")
              == 1);
    ck_assert(metrics_set_get(set, "ferry_migration_failures_total{reason=\"state\"}") == 1);
    ck_assert(metrics_set_get(set, "ferry_migration_last_failure_timestamp_seconds") == 1700000200);
    text = set_text(set);
    ck_assert_ptr_null(strstr(text, "ferry_migration_last_failure_info{reason=\"state\"}"));
    ck_assert_ptr_nonnull(strstr(text, "ferry_migration_last_failure_info{reason=\"aborted_stalled\"} 1\n"));
    free(text);
    metrics_set_free(set);
}
END_TEST

/* What is written reads back the same, and is Prometheus's text format:
 * HELP and TYPE once per family, before its series. */
START_TEST(test_text_round_trip)
{
    metrics_set *set = metrics_set_new();
    metrics_set *again = metrics_set_new();
    struct metrics_migration m = migration_ok("live", 1234, 56, -1);
    char *text = NULL;
    char *text2 = NULL;
    char *line = NULL;
    char *save = NULL;
    char *copy = NULL;

    ck_assert_int_eq(metrics_set_add_migration(set, &m), 0);
    ck_assert_int_eq(metrics_set_add_monitor(set, "running"), 0);
    ck_assert_int_eq(metrics_set_add_monitor(set, "running"), 0);
    ck_assert_int_eq(metrics_set_add_monitor(set, "stopped"), 0);
    text = set_text(set);
    ck_assert_int_eq(metrics_set_parse(again, text, strlen(text)), 0);
    text2 = set_text(again);
    ck_assert_str_eq(text, text2);
    ck_assert(metrics_set_get(again, "ferry_monitors_total{result=\"running\"}") == 2);
    ck_assert(metrics_set_get(again, "ferry_migration_duration_seconds_sum{mode=\"live\"}") == 1.234);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE ferry_migration_duration_seconds histogram\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE ferry_migrations_total counter\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE ferry_monitors_total counter\n"));
    ck_assert_ptr_null(strstr(strstr(text, "# TYPE ferry_monitors_total") + 1,
                              "# TYPE ferry_monitors_total"));
    /* every series line: a name, optional labels, one space, a number */
    copy = strdup(text);
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strrchr(line, ' ');
        char *end = NULL;

        if (line[0] == '#')
            continue;
        ck_assert_msg(strncmp(line, "ferry_", 6) == 0, "line '%s'", line);
        ck_assert_msg(sp != NULL && strchr(line, ' ') == sp, "line '%s'", line);
        strtod(sp + 1, &end);
        ck_assert_msg(*end == '\0', "line '%s'", line);
    }
    free(copy);
    free(text);
    free(text2);
    metrics_set_free(set);
    metrics_set_free(again);
}
END_TEST

/* A file with lines not ours (or mangled) still counts on from what is ours. */
START_TEST(test_parse_tolerant)
{
    static const char text[] =
        "# HELP something else\n"
        "node_foo 3\n"
        "ferry_monitors_total{result=\"running\"} 41\n"
        "ferry_monitors_total{result=\"stopped\"} not-a-number\n"
        "ferry_garbage\n"
        "\n";
    metrics_set *set = metrics_set_new();

    ck_assert_int_eq(metrics_set_parse(set, text, sizeof(text) - 1), 0);
    ck_assert_int_eq(metrics_set_add_monitor(set, "running"), 0);
    ck_assert(metrics_set_get(set, "ferry_monitors_total{result=\"running\"}") == 42);
    ck_assert(metrics_set_get(set, "node_foo") == -1);
    ck_assert(metrics_set_get(set, "ferry_monitors_total{result=\"stopped\"}") == -1);
    metrics_set_free(set);
}
END_TEST

START_TEST(test_record_file)
{
    struct metrics_migration m = migration_ok("live", 900, 20, -1);
    ferry_error *err = NULL;
    metrics_set *set = NULL;
    deadline dl;
    DIR *d = NULL;
    struct dirent *e = NULL;
    int files = 0;

    tmpdir_setup();
    deadline_init_budget(&dl, 5000);
    ck_assert_int_eq(metrics_record_migration(tmpdir, &m, &dl, &err), 0);
    ck_assert_int_eq(metrics_record_migration(tmpdir, &m, &dl, &err), 0);
    ck_assert_int_eq(metrics_record_monitor(tmpdir, "degraded", &dl, &err), 0);
    set = file_read(tmpdir);
    ck_assert(metrics_set_get(set, LIVE_OK) == 2);
    ck_assert(metrics_set_get(set, "ferry_monitors_total{result=\"degraded\"}") == 1);
    metrics_set_free(set);
    /* the temporary file was renamed: only the file and the lock are there */
    d = opendir(tmpdir);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
            continue;
        ck_assert_msg(strcmp(e->d_name, METRICS_FILE_NAME) == 0 ||
                      strcmp(e->d_name, METRICS_LOCK_NAME) == 0, "left behind: %s", e->d_name);
        files++;
    }
    closedir(d);
    ck_assert_int_eq(files, 2);
    tmpdir_teardown();
}
END_TEST

START_TEST(test_record_no_dir)
{
    ferry_error *err = NULL;
    deadline dl;

    deadline_init_budget(&dl, 1000);
    ck_assert_int_eq(metrics_record_monitor("/nonexistent/ferry-metrics", "running", &dl, &err),
                     -ENOENT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "/nonexistent/ferry-metrics"));
    error_free(err);
}
END_TEST

/* Agents on one node at once: every update counts. */
START_TEST(test_record_concurrent)
{
    enum { CHILDREN = 4, EACH = 25 };
    metrics_set *set = NULL;
    pid_t pids[CHILDREN];
    int i;

    tmpdir_setup();
    for (i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            int k;
            int bad = 0;

            for (k = 0; k < EACH; k++) {
                ferry_error *err = NULL;
                deadline dl;

                deadline_init_budget(&dl, 20000);
                bad += metrics_record_monitor(tmpdir, "running", &dl, &err) != 0;
                error_free(err);
            }
            _exit(bad ? 1 : 0);
        }
    }
    for (i = 0; i < CHILDREN; i++) {
        int status = 0;

        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    set = file_read(tmpdir);
    ck_assert_msg(metrics_set_get(set, "ferry_monitors_total{result=\"running\"}") ==
                  CHILDREN * EACH, "counted %g of %d",
                  metrics_set_get(set, "ferry_monitors_total{result=\"running\"}"),
                  CHILDREN * EACH);
    metrics_set_free(set);
    tmpdir_teardown();
}
END_TEST

/* Somebody holds the lock: the update gives up at its deadline, the file untouched. */
START_TEST(test_record_lock_bounded)
{
    char path[128];
    ferry_error *err = NULL;
    metrics_set *set = NULL;
    deadline dl;
    int64_t t0 = 0;
    int64_t took_ms = 0;
    int fd = -1;

    tmpdir_setup();
    deadline_init_budget(&dl, 5000);
    ck_assert_int_eq(metrics_record_monitor(tmpdir, "running", &dl, &err), 0);
    snprintf(path, sizeof(path), "%s/%s", tmpdir, METRICS_LOCK_NAME);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    t0 = deadline_now_ms();
    deadline_init_budget(&dl, 300);
    ck_assert_int_eq(metrics_record_monitor(tmpdir, "running", &dl, &err), FERRY_E_TIMEOUT);
    took_ms = deadline_now_ms() - t0;
    ck_assert_msg(took_ms >= 290 && took_ms < 3000, "took %lld ms", (long long)took_ms);
    ck_assert_ptr_nonnull(strstr(error_message(err), "lock"));
    err = error_free(err);
    close(fd);
    set = file_read(tmpdir);
    ck_assert(metrics_set_get(set, "ferry_monitors_total{result=\"running\"}") == 1);
    metrics_set_free(set);
    tmpdir_teardown();
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("metrics");

    add_test(s, test_reason_classify, 5);
    add_test(s, test_migration_counted, 5);
    add_test(s, test_failure_reason_bounded, 5);
    add_test(s, test_text_round_trip, 5);
    add_test(s, test_parse_tolerant, 5);
    add_test(s, test_record_file, 10);
    add_test(s, test_record_no_dir, 5);
    add_test(s, test_record_concurrent, 60);
    add_test(s, test_record_lock_bounded, 10);
    return check_run(s);
}
