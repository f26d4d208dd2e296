/* check_cpuload.c — the CPU health agent's library: /proc/stat, cpu.stat,
 * cpu.max, cfs and mountinfo parsing from fixture strings; the
 * red/yellow/green state machine fed fabricated readings with their time
 * injected (hysteresis: nothing flaps between the thresholds); the state file
 * round trip; the parameters and their bad values. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_common.h"
#include "cpuload.h"

/* ---- parsing --------------------------------------------------------- */

START_TEST(test_proc_stat)
{
    /* user nice system idle iowait irq softirq steal guest guest_nice */
    const char *text = "cpu  100 20 30 800 50 0 0 0 40 0\n"
                       "cpu0 50 10 15 400 25 0 0 0 20 0\n"
                       "intr 1234\n";
    int64_t busy = -1, total = -1;

    ck_assert_int_eq(cpuload_proc_stat_parse(text, 100, &busy, &total), 0);
    /* total 1000 ticks (guest is inside user already), idle+iowait 850 */
    ck_assert_int_eq(total, 1000 * 10000);
    ck_assert_int_eq(busy, 150 * 10000);
    /* an old kernel's 4 fields */
    ck_assert_int_eq(cpuload_proc_stat_parse("cpu 1 2 3 4\n", 100, &busy, &total), 0);
    ck_assert_int_eq(total, 10 * 10000);
    ck_assert_int_eq(busy, 6 * 10000);
}
END_TEST

START_TEST(test_proc_stat_bad)
{
    int64_t busy = 7, total = 7;

    ck_assert_int_eq(cpuload_proc_stat_parse("", 100, &busy, &total), -EINVAL);
    ck_assert_int_eq(cpuload_proc_stat_parse("cpu0 1 2 3 4\n", 100, &busy, &total), -EINVAL);
    ck_assert_int_eq(cpuload_proc_stat_parse("cpu 1 2 x 4\n", 100, &busy, &total), -EINVAL);
    ck_assert_int_eq(cpuload_proc_stat_parse("cpu 1 2 3\n", 100, &busy, &total), -EINVAL);
    ck_assert_int_eq(cpuload_proc_stat_parse("cpu 0 0 0 0\n", 100, &busy, &total), -EINVAL);
    ck_assert_int_eq(cpuload_proc_stat_parse("cpu 1 2 3 4\n", 0, &busy, &total), -EINVAL);
    ck_assert_int_eq(cpuload_proc_stat_parse("cpu 1 -2 3 4\n", 100, &busy, &total), -EINVAL);
    ck_assert_int_eq(busy, 7);
    ck_assert_int_eq(total, 7);
}
END_TEST

START_TEST(test_cpu_stat)
{
    int64_t usage = -1;

    ck_assert_int_eq(cpuload_cpu_stat_parse("usage_usec 354272\nuser_usec 347523\n"
                                            "system_usec 6748\n", &usage), 0);
    ck_assert_int_eq(usage, 354272);
    ck_assert_int_eq(cpuload_cpu_stat_parse("nr_periods 3\nusage_usec 0\n", &usage), 0);
    ck_assert_int_eq(usage, 0);
    /* a v1 cpu.stat has none; a prefix of the key is not the key */
    ck_assert_int_eq(cpuload_cpu_stat_parse("nr_periods 0\nnr_throttled 0\n", &usage), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_stat_parse("xusage_usec 5\n", &usage), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_stat_parse("usage_usec\n", &usage), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_stat_parse("usage_usec 12a\n", &usage), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_stat_parse("", &usage), -EINVAL);
    ck_assert_int_eq(usage, 0);
}
END_TEST

START_TEST(test_cpu_max)
{
    int64_t cap = -1;

    ck_assert_int_eq(cpuload_cpu_max_parse("max 100000\n", &cap), 0);
    ck_assert_int_eq(cap, 0);
    ck_assert_int_eq(cpuload_cpu_max_parse("30000 100000\n", &cap), 0);
    ck_assert_int_eq(cap, 300);
    ck_assert_int_eq(cpuload_cpu_max_parse("250000 100000", &cap), 0);
    ck_assert_int_eq(cap, 2500);
    /* a quota below a thousandth of a CPU still counts as one */
    ck_assert_int_eq(cpuload_cpu_max_parse("1000 10000000\n", &cap), 0);
    ck_assert_int_eq(cap, 1);
    ck_assert_int_eq(cpuload_cpu_max_parse("", &cap), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_max_parse("30000\n", &cap), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_max_parse("30000 0\n", &cap), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_max_parse("0 100000\n", &cap), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_max_parse("-5 100000\n", &cap), -EINVAL);
    ck_assert_int_eq(cpuload_cpu_max_parse("lots 100000\n", &cap), -EINVAL);
    ck_assert_int_eq(cap, 1);
}
END_TEST

START_TEST(test_cfs)
{
    int64_t cap = -1;

    ck_assert_int_eq(cpuload_cfs_parse("-1\n", "100000\n", &cap), 0);
    ck_assert_int_eq(cap, 0);
    ck_assert_int_eq(cpuload_cfs_parse("10000\n", "100000\n", &cap), 0);
    ck_assert_int_eq(cap, 100);
    ck_assert_int_eq(cpuload_cfs_parse("10000\n", "0\n", &cap), -EINVAL);
    ck_assert_int_eq(cpuload_cfs_parse("ten\n", "100000\n", &cap), -EINVAL);
    ck_assert_int_eq(cpuload_cfs_parse("-2\n", "100000\n", &cap), -EINVAL);
    ck_assert_int_eq(cap, 100);
}
END_TEST

/* this machine's kind: systemd's hybrid layout, cpu on v1 */
static const char mountinfo_hybrid[] =
    "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "26 25 0:24 / /sys/fs/cgroup rw,relatime shared:8 - tmpfs tmpfs rw,mode=755\n"
    "27 26 0:25 / /sys/fs/cgroup/cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpuacct\n"
    "28 26 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:10 - cgroup cgroup rw,cpu\n"
    "29 26 0:27 / /sys/fs/cgroup/cpuset rw,relatime shared:11 - cgroup cgroup rw,cpuset\n"
    "30 26 0:28 / /sys/fs/cgroup/unified rw,relatime shared:12 - cgroup2 cgroup2 rw\n";

START_TEST(test_v1_cpu_dir)
{
    char dir[256] = "";

    ck_assert_int_eq(cpuload_v1_cpu_dir(mountinfo_hybrid, "/sys/fs/cgroup/unified/lab/node1",
                                        dir, sizeof(dir)), 0);
    ck_assert_str_eq(dir, "/sys/fs/cgroup/cpu/lab/node1");
    ck_assert_int_eq(cpuload_v1_cpu_dir(mountinfo_hybrid, "/sys/fs/cgroup/unified/lab/node1/",
                                        dir, sizeof(dir)), 0);
    ck_assert_str_eq(dir, "/sys/fs/cgroup/cpu/lab/node1");
    ck_assert_int_eq(cpuload_v1_cpu_dir(mountinfo_hybrid, "/sys/fs/cgroup/unified",
                                        dir, sizeof(dir)), 0);
    ck_assert_str_eq(dir, "/sys/fs/cgroup/cpu");
    /* co-mounted cpu,cpuacct counts; a mount rooted below / maps its part only */
    ck_assert_int_eq(cpuload_v1_cpu_dir(
        "1 0 0:1 / /cg2 rw - cgroup2 none rw\n"
        "2 0 0:2 /machine /v1cpu rw - cgroup cgroup rw,cpu,cpuacct\n",
        "/cg2/machine/vm1", dir, sizeof(dir)), 0);
    ck_assert_str_eq(dir, "/v1cpu/vm1");
}
END_TEST

START_TEST(test_v1_cpu_dir_none)
{
    char dir[32] = "unchanged";

    /* a pure v2 host: no v1 cpu at all */
    ck_assert_int_eq(cpuload_v1_cpu_dir("30 26 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                        "/sys/fs/cgroup/machine.slice", dir, sizeof(dir)), -ENOENT);
    /* not on a cgroup2 mount; a prefix that is not a path prefix */
    ck_assert_int_eq(cpuload_v1_cpu_dir(mountinfo_hybrid, "/tmp/x", dir, sizeof(dir)), -ENOENT);
    ck_assert_int_eq(cpuload_v1_cpu_dir(mountinfo_hybrid, "/sys/fs/cgroup/unifiedx/a",
                                        dir, sizeof(dir)), -ENOENT);
    /* cpuset and cpuacct are not cpu */
    ck_assert_int_eq(cpuload_v1_cpu_dir("1 0 0:1 / /u rw - cgroup2 none rw\n"
                                        "2 0 0:2 / /c rw - cgroup cgroup rw,cpuset,cpuacct\n",
                                        "/u/a", dir, sizeof(dir)), -ENOENT);
    /* a mount rooted elsewhere does not hold the cgroup */
    ck_assert_int_eq(cpuload_v1_cpu_dir("1 0 0:1 / /u rw - cgroup2 none rw\n"
                                        "2 0 0:2 /other /c rw - cgroup cgroup rw,cpu\n",
                                        "/u/a", dir, sizeof(dir)), -ENOENT);
    ck_assert_int_eq(cpuload_v1_cpu_dir("garbage\n\n- -\n", "/u/a", dir, sizeof(dir)), -ENOENT);
    ck_assert_str_eq(dir, "unchanged");
    ck_assert_int_eq(cpuload_v1_cpu_dir(mountinfo_hybrid, "/sys/fs/cgroup/unified/a-rather-long-name",
                                        dir, sizeof(dir)), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_busy_percent)
{
    struct cpuload_sample a = { .time_ms = 1000, .busy_usec = 100000, .total_usec = 0, .capacity_mcpu = 300 };
    struct cpuload_sample b = a;
    double pct = -1;

    /* cgroup: 0.15 CPU-s used in 1 s of a 0.3 CPU quota */
    b.time_ms = 2000;
    b.busy_usec = 250000;
    ck_assert_int_eq(cpuload_busy_percent(&a, &b, &pct), 0);
    ck_assert_double_eq_tol(pct, 50.0, 0.001);
    /* bursts above the quota are 100 */
    b.busy_usec = 900000;
    ck_assert_int_eq(cpuload_busy_percent(&a, &b, &pct), 0);
    ck_assert_double_eq_tol(pct, 100.0, 0.001);
    /* host: deltas of busy over total */
    a = (struct cpuload_sample){ .time_ms = 0, .busy_usec = 1000, .total_usec = 10000 };
    b = (struct cpuload_sample){ .time_ms = 5000, .busy_usec = 1750, .total_usec = 11000 };
    ck_assert_int_eq(cpuload_busy_percent(&a, &b, &pct), 0);
    ck_assert_double_eq_tol(pct, 75.0, 0.001);
    /* counters back, no time, no total */
    ck_assert_int_eq(cpuload_busy_percent(&b, &a, &pct), -EINVAL);
    ck_assert_int_eq(cpuload_busy_percent(&a, &a, &pct), -EINVAL);
    ck_assert_double_eq_tol(pct, 75.0, 0.001);
}
END_TEST

/* ---- the state machine ---------------------------------------------- */

static const struct cpuload_thresholds thr = {
    .red_percent = 80, .green_percent = 60, .red_after_ms = 120000, .green_after_ms = 120000,
};

/* feeds one reading per 10 s from *t on, for dur_ms; returns the health after */
static enum cpuload_health
feed(struct cpuload_state *s, double pct, int64_t *t, int64_t dur_ms, int *changes)
{
    int64_t end = *t + dur_ms;

    for (; *t < end; *t += 10000)
        if (cpuload_state_update(s, &thr, pct, *t, *t + 10000))
            (*changes)++;
    return s->health;
}

START_TEST(test_state_red_after_sustained_load)
{
    struct cpuload_state s;
    int64_t t = 0;
    int changes = 0;

    cpuload_state_init(&s, 0);
    ck_assert_int_eq(s.health, CPULOAD_GREEN);
    ck_assert_int_eq(feed(&s, 30, &t, 60000, &changes), CPULOAD_GREEN);
    ck_assert_int_eq(changes, 0);
    /* busy at once: yellow (no new VMs), red only after 120 s of it */
    ck_assert_int_eq(feed(&s, 95, &t, 10000, &changes), CPULOAD_YELLOW);
    ck_assert_int_eq(s.cooling, false);
    ck_assert_int_eq(feed(&s, 95, &t, 100000, &changes), CPULOAD_YELLOW);
    ck_assert_int_eq(feed(&s, 95, &t, 10000, &changes), CPULOAD_RED);
    ck_assert_int_eq(s.changed_ms, 60000 + 120000);
    ck_assert_int_eq(changes, 2);
    /* staying loaded changes nothing */
    ck_assert_int_eq(feed(&s, 100, &t, 600000, &changes), CPULOAD_RED);
    ck_assert_int_eq(changes, 2);
}
END_TEST

START_TEST(test_state_short_burst_never_red)
{
    struct cpuload_state s;
    int64_t t = 0;
    int changes = 0;
    int i;

    cpuload_state_init(&s, 0);
    /* 110 s busy, then one reading between the thresholds: the run is broken */
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(feed(&s, 90, &t, 110000, &changes), CPULOAD_YELLOW);
        ck_assert_int_eq(feed(&s, 70, &t, 10000, &changes), CPULOAD_YELLOW);
    }
    /* a warming node that calms down is green at once */
    ck_assert_int_eq(feed(&s, 10, &t, 10000, &changes), CPULOAD_GREEN);
    ck_assert_int_eq(changes, 2);
}
END_TEST

START_TEST(test_state_hysteresis_no_flapping)
{
    struct cpuload_state s;
    int64_t t = 0;
    int changes = 0;
    int i;

    cpuload_state_init(&s, 0);
    ck_assert_int_eq(feed(&s, 90, &t, 120000, &changes), CPULOAD_RED);
    /* load swinging around 70 % (between green 60 and red 80): stays red */
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(feed(&s, i % 2 ? 79 : 61, &t, 10000, &changes), CPULOAD_RED);
        ck_assert_int_eq(feed(&s, 85, &t, 10000, &changes), CPULOAD_RED);
    }
    ck_assert_int_eq(changes, 2);
    /* below green: yellow (cooling down) at once, green only after 120 s */
    ck_assert_int_eq(feed(&s, 20, &t, 10000, &changes), CPULOAD_YELLOW);
    ck_assert_int_eq(s.cooling, true);
    ck_assert_int_eq(feed(&s, 20, &t, 100000, &changes), CPULOAD_YELLOW);
    ck_assert_int_eq(feed(&s, 20, &t, 10000, &changes), CPULOAD_GREEN);
    ck_assert_int_eq(s.cooling, false);
    ck_assert_int_eq(changes, 4);
}
END_TEST

START_TEST(test_state_cooling_interrupted)
{
    struct cpuload_state s;
    int64_t t = 0;
    int changes = 0;

    cpuload_state_init(&s, 0);
    ck_assert_int_eq(feed(&s, 90, &t, 120000, &changes), CPULOAD_RED);
    ck_assert_int_eq(feed(&s, 20, &t, 60000, &changes), CPULOAD_YELLOW);
    /* a reading between the thresholds restarts the cool-down */
    ck_assert_int_eq(feed(&s, 70, &t, 10000, &changes), CPULOAD_YELLOW);
    ck_assert_int_eq(feed(&s, 20, &t, 110000, &changes), CPULOAD_YELLOW);
    /* loaded again while cooling: still cooling (no short cut to green) and
     * red again only after a whole red_after */
    ck_assert_int_eq(feed(&s, 95, &t, 110000, &changes), CPULOAD_YELLOW);
    ck_assert_int_eq(s.cooling, true);
    ck_assert_int_eq(feed(&s, 20, &t, 10000, &changes), CPULOAD_YELLOW);
    ck_assert_int_eq(feed(&s, 95, &t, 120000, &changes), CPULOAD_RED);
    ck_assert_int_eq(s.cooling, false);
    ck_assert_int_eq(changes, 4);
}
END_TEST

START_TEST(test_state_zero_durations)
{
    static const struct cpuload_thresholds now = {
        .red_percent = 50, .green_percent = 50, .red_after_ms = 0, .green_after_ms = 0,
    };
    struct cpuload_state s;

    cpuload_state_init(&s, 0);
    ck_assert(cpuload_state_update(&s, &now, 50, 0, 5000));
    ck_assert_int_eq(s.health, CPULOAD_RED);
    ck_assert(!cpuload_state_update(&s, &now, 100, 5000, 10000));
    ck_assert(cpuload_state_update(&s, &now, 49.9, 10000, 15000));
    ck_assert_int_eq(s.health, CPULOAD_GREEN);
    ck_assert_int_eq(s.changed_ms, 15000);
}
END_TEST

/* ---- the state file -------------------------------------------------- */

START_TEST(test_state_roundtrip)
{
    struct cpuload_state s, back;
    char buf[1024];

    cpuload_state_init(&s, 42);
    s.health = CPULOAD_YELLOW;
    s.cooling = true;
    s.above_since_ms = -1;
    s.below_since_ms = 123456789012LL;
    s.have_sample = true;
    snprintf(s.source, sizeof(s.source), "/sys/fs/cgroup/unified/lab/node1");
    s.sample = (struct cpuload_sample){ 5, 6000000000LL, 0, 300 };
    ck_assert_int_eq(cpuload_state_format(&s, buf, sizeof(buf)), 0);
    ck_assert_int_eq(cpuload_state_parse(buf, &back), 0);
    ck_assert_int_eq(back.health, CPULOAD_YELLOW);
    ck_assert(back.cooling);
    ck_assert_int_eq(back.above_since_ms, -1);
    ck_assert_int_eq(back.below_since_ms, 123456789012LL);
    ck_assert_int_eq(back.changed_ms, 42);
    ck_assert(back.have_sample);
    ck_assert_str_eq(back.source, s.source);
    ck_assert_int_eq(back.sample.busy_usec, 6000000000LL);
    ck_assert_int_eq(back.sample.capacity_mcpu, 300);
    ck_assert_int_eq(cpuload_state_format(&s, buf, 16), -ENOSPC);
    /* a fresh state has no sample */
    cpuload_state_init(&s, 1);
    ck_assert_int_eq(cpuload_state_format(&s, buf, sizeof(buf)), 0);
    ck_assert_int_eq(cpuload_state_parse(buf, &back), 0);
    ck_assert(!back.have_sample);
    ck_assert_int_eq(back.health, CPULOAD_GREEN);
}
END_TEST

START_TEST(test_state_parse_bad)
{
    struct cpuload_state s;

    ck_assert_int_eq(cpuload_state_parse("", &s), -EINVAL);
    ck_assert_int_eq(cpuload_state_parse("health=purple\n", &s), -EINVAL);
    ck_assert_int_eq(cpuload_state_parse("health=red\nchanged_ms=abc\n", &s), -EINVAL);
    ck_assert_int_eq(cpuload_state_parse("health=red\nsample=1 2\n", &s), -EINVAL);
    /* unknown keys (a newer version's) are ignored */
    ck_assert_int_eq(cpuload_state_parse("health=red\nfuture=1\n", &s), 0);
    ck_assert_int_eq(s.health, CPULOAD_RED);
}
END_TEST

START_TEST(test_state_file)
{
    char dir[] = "/tmp/check_cpuload.XXXXXX";
    char path[256];
    struct cpuload_state s, back;
    ferry_error *err = NULL;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/x.state", dir);
    ck_assert_int_eq(cpuload_state_read(path, &back, &err), -ENOENT);
    err = error_free(err);
    cpuload_state_init(&s, 7);
    s.health = CPULOAD_RED;
    ck_assert_int_eq(cpuload_state_write(path, &s, &err), 0);
    ck_assert_int_eq(cpuload_state_read(path, &back, &err), 0);
    ck_assert_int_eq(back.health, CPULOAD_RED);
    ck_assert_ptr_null(err);
    /* no temporary file left beside it */
    ck_assert_int_eq(rmdir(dir), -1);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    /* a directory that is not there */
    ck_assert_int_lt(cpuload_state_write("/nonexistent/dir/x.state", &s, &err), 0);
    ck_assert_ptr_nonnull(err);
    error_free(err);
}
END_TEST

/* ---- reading the counters ------------------------------------------- */

static void
write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_sample_read)
{
    char dir[] = "/tmp/check_cpuload.XXXXXX";
    char path[512];
    struct cpuload_sample s;
    ferry_error *err = NULL;
    long online = sysconf(_SC_NPROCESSORS_ONLN);

    /* the whole host */
    ck_assert_int_eq(cpuload_sample_read(NULL, &s, &err), 0);
    ck_assert_int_gt(s.total_usec, 0);
    ck_assert_int_le(s.busy_usec, s.total_usec);
    ck_assert_int_eq(s.capacity_mcpu, 0);
    /* a cgroup directory (a plain one here, with the files a cgroup has) */
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_file(dir, "cpu.stat", "usage_usec 5000\nuser_usec 4000\n");
    write_file(dir, "cpu.max", "20000 100000\n");
    ck_assert_int_eq(cpuload_sample_read(dir, &s, &err), 0);
    ck_assert_int_eq(s.busy_usec, 5000);
    ck_assert_int_eq(s.total_usec, 0);
    ck_assert_int_eq(s.capacity_mcpu, 200);
    ck_assert_int_gt(s.time_ms, 0);
    /* no limit, or a quota above the machine: the online CPUs */
    write_file(dir, "cpu.max", "max 100000\n");
    ck_assert_int_eq(cpuload_sample_read(dir, &s, &err), 0);
    ck_assert_int_eq(s.capacity_mcpu, online * 1000);
    write_file(dir, "cpu.max", "100000000 100000\n");
    ck_assert_int_eq(cpuload_sample_read(dir, &s, &err), 0);
    ck_assert_int_eq(s.capacity_mcpu, online * 1000);
    /* no cpu.max and no v1 cpu for it: the online CPUs */
    snprintf(path, sizeof(path), "%s/cpu.max", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(cpuload_sample_read(dir, &s, &err), 0);
    ck_assert_int_eq(s.capacity_mcpu, online * 1000);
    ck_assert_ptr_null(err);
    /* bad cpu.max, bad cpu.stat, no cpu.stat */
    write_file(dir, "cpu.max", "lots\n");
    ck_assert_int_eq(cpuload_sample_read(dir, &s, &err), FERRY_E_INSTALLED);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cpu.max"));
    err = error_free(err);
    ck_assert_int_eq(unlink(path), 0);
    write_file(dir, "cpu.stat", "nr_periods 0\n");
    ck_assert_int_eq(cpuload_sample_read(dir, &s, &err), FERRY_E_INSTALLED);
    ck_assert_ptr_nonnull(strstr(error_message(err), "usage_usec"));
    err = error_free(err);
    snprintf(path, sizeof(path), "%s/cpu.stat", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(cpuload_sample_read(dir, &s, &err), FERRY_E_INSTALLED);
    ck_assert_ptr_nonnull(strstr(error_message(err), dir));
    err = error_free(err);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- parameters ------------------------------------------------------ */

START_TEST(test_params_defaults)
{
    char *env[] = { "OCF_RESOURCE_INSTANCE=health:1", "OCF_RESKEY_CRM_meta_timeout=20000",
                    "OCF_RESKEY_CRM_meta_interval=10000", NULL };
    struct cpuload_params *p = NULL;
    ferry_error *err = NULL;
    char path[256];

    ck_assert_int_eq(cpuload_params_parse(env, &p, &err), 0);
    ck_assert_ptr_null(err);
    ck_assert_ptr_null(p->cgroup);
    ck_assert_str_eq(p->attribute, "#health-ferry-cpu");
    ck_assert_int_eq(p->thresholds.red_percent, 80);
    ck_assert_int_eq(p->thresholds.green_percent, 60);
    ck_assert_int_eq(p->thresholds.red_after_ms, 120000);
    ck_assert_int_eq(p->thresholds.green_after_ms, 120000);
    ck_assert_int_eq(p->timeout_ms, 20000);
    ck_assert_int_eq(p->interval_ms, 10000);
    ck_assert_str_eq(p->state_dir, "/run/resource-agents");
    ck_assert_int_eq(cpuload_state_path(p, path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/run/resource-agents/ferry-health-cpu-health:1.state");
    cpuload_params_free(p);
    ck_assert_ptr_null(cpuload_params_free(NULL));
}
END_TEST

START_TEST(test_params_set)
{
    char *env[] = { "OCF_RESKEY_cgroup=/sys/fs/cgroup/machine.slice", "OCF_RESKEY_attribute=#health-x",
                    "OCF_RESKEY_red_percent=50", "OCF_RESKEY_green_percent=25",
                    "OCF_RESKEY_red_after_s=15", "OCF_RESKEY_green_after_s=0",
                    "HA_RSCTMP=/var/run/x", "HA_debug=1", NULL };
    struct cpuload_params *p = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(cpuload_params_parse(env, &p, &err), 0);
    ck_assert_str_eq(p->cgroup, "/sys/fs/cgroup/machine.slice");
    ck_assert_str_eq(p->attribute, "#health-x");
    ck_assert_int_eq(p->thresholds.red_percent, 50);
    ck_assert_int_eq(p->thresholds.green_percent, 25);
    ck_assert_int_eq(p->thresholds.red_after_ms, 15000);
    ck_assert_int_eq(p->thresholds.green_after_ms, 0);
    ck_assert_str_eq(p->state_dir, "/var/run/x");
    ck_assert(p->debug);
    cpuload_params_free(p);
}
END_TEST

static void
params_bad(const char *var, const char *what)
{
    char *env[] = { (char *)var, NULL };
    struct cpuload_params *p = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(cpuload_params_parse(env, &p, &err), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(strstr(error_message(err), what) != NULL, "'%s': '%s' lacks '%s'", var,
                  error_message(err), what);
    /* the defaults stay for stop */
    ck_assert_int_eq(p->thresholds.red_percent, 80);
    ck_assert_int_eq(p->thresholds.green_after_ms, 120000);
    cpuload_params_free(p);
    error_free(err);
}

START_TEST(test_params_bad)
{
    params_bad("OCF_RESKEY_red_percent=0", "red_percent");
    params_bad("OCF_RESKEY_red_percent=101", "red_percent");
    params_bad("OCF_RESKEY_red_percent=8o", "red_percent");
    params_bad("OCF_RESKEY_green_percent=90", "green_percent");  /* above red 80 */
    params_bad("OCF_RESKEY_green_percent=-1", "green_percent");
    params_bad("OCF_RESKEY_red_after_s=86401", "red_after_s");
    params_bad("OCF_RESKEY_green_after_s=2m", "green_after_s");
    params_bad("OCF_RESKEY_cgroup=relative/dir", "cgroup");
    params_bad("OCF_RESKEY_attribute=a b", "attribute");
}
END_TEST

static Suite *
cpuload_suite(void)
{
    Suite *s = suite_create("cpuload");

    add_test(s, test_proc_stat, 5);
    add_test(s, test_proc_stat_bad, 5);
    add_test(s, test_cpu_stat, 5);
    add_test(s, test_cpu_max, 5);
    add_test(s, test_cfs, 5);
    add_test(s, test_v1_cpu_dir, 5);
    add_test(s, test_v1_cpu_dir_none, 5);
    add_test(s, test_busy_percent, 5);
    add_test(s, test_state_red_after_sustained_load, 5);
    add_test(s, test_state_short_burst_never_red, 5);
    add_test(s, test_state_hysteresis_no_flapping, 5);
    add_test(s, test_state_cooling_interrupted, 5);
    add_test(s, test_state_zero_durations, 5);
    add_test(s, test_state_roundtrip, 5);
    add_test(s, test_state_parse_bad, 5);
    add_test(s, test_state_file, 5);
    add_test(s, test_sample_read, 5);
    add_test(s, test_params_defaults, 5);
    add_test(s, test_params_set, 5);
    add_test(s, test_params_bad, 5);
    return s;
}

int
main(void)
{
    return check_run(cpuload_suite());
}
