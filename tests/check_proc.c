/* check_proc.c — processes by /proc: the start-time guard against PID reuse,
 * QEMU command lines, kill and wait. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_common.h"
#include "proc-priv.h"
#include "proc.h"

START_TEST(test_process_tracking)
{
    struct proc_ref self = { 0, 0 };
    struct proc_ref child = { 0, 0 };
    deadline dl;
    pid_t pid;

    ck_assert_int_eq(proc_qemu_find("test:///default", "test", &self), -ENOTSUP);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    /* a process we know is not a qemu domain: alive check by pid + start time */
    child.pid = pid;
    child.start_ticks = 0;
    ck_assert(!proc_alive(&child));      /* wrong start time: not the same process */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    deadline_init_budget(&dl, 1000);
    ck_assert_int_eq(proc_wait_gone(&child, &dl, 20), 0);
    child.pid = 0;
    ck_assert(!proc_alive(&child));
}
END_TEST

/* Field 22 of /proc/PID/stat, parsed here independently of the library:
 * the fields after the last ')' are space-separated, field 3 first. */
static unsigned long long
test_start_ticks(pid_t pid)
{
    char path[64];
    char buf[2048];
    char *p = NULL;
    char *save = NULL;
    FILE *f = NULL;
    size_t n = 0;
    int field = 3;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    ck_assert_ptr_nonnull(p);
    for (p = strtok_r(p + 2, " ", &save); p && field < 22; p = strtok_r(NULL, " ", &save))
        field++;
    ck_assert_ptr_nonnull(p);
    return strtoull(p, NULL, 10);
}

/* The PID-reuse guard: the same PID and start time is alive; another start
 * time is not; a process whose memory map changes stays alive. */
START_TEST(test_process_start_time)
{
    struct proc_ref child = { 0, 0 };
    void *big = NULL;
    int ready[2];
    char c = 0;
    pid_t pid;

    ck_assert_int_eq(pipe(ready), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* change the virtual memory size after the parent looked */
        if (read(ready[0], &c, 1) == 1)
            big = malloc(64 << 20);
        if (big)
            ((volatile char *)big)[0] = 1;
        pause();
        _exit(0);
    }
    child.pid = pid;
    child.start_ticks = test_start_ticks(pid);
    ck_assert_msg(proc_alive(&child), "a live process with its own start time (%llu) "
                  "is not alive", child.start_ticks);
    ck_assert_int_eq(write(ready[1], "x", 1), 1);
    usleep(100000);
    ck_assert_msg(proc_alive(&child), "alive depends on the memory map");
    child.start_ticks++;
    ck_assert(!proc_alive(&child));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
}
END_TEST

/* QEMU's -name guest=NAME doubles commas: domain 'vm' is not 'vm,x'. A
 * process that looks like a QEMU of domain 'vm,x' (only the command line is
 * read) is found for 'vm,x' and never for 'vm'. */
START_TEST(test_process_name_escaping)
{
    struct proc_ref found = { 0, 0 };
    pid_t pid;
    int rc = 0;

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "qemu-system-x86_64", "-c", "sleep 30; exit 0", "sh", "-name",
              "guest=ferry-ck,,x,debug-threads=on", (char *)NULL);
        _exit(127);
    }
    usleep(200000);
    rc = proc_qemu_find("qemu:///system", "ferry-ck", &found);
    ck_assert_msg(rc == -ENOENT, "domain 'ferry-ck' matched the QEMU of 'ferry-ck,x' (pid %ld)",
                  (long)found.pid);
    rc = proc_qemu_find("qemu:///system", "ferry-ck,x", &found);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(found.pid, pid);
}
END_TEST


START_TEST(test_cmdline_names)
{
    static const char qemu[] = "/usr/bin/qemu-system-x86_64\0-name\0guest=vm,debug-threads=on\0-S";
    static const char comma[] = "qemu-system-x86_64\0-name\0guest=a,,b,debug-threads=on";
    static const char old[] = "qemu-kvm\0-name\0vm";
    static const char notqemu[] = "/bin/sleep\0-name\0guest=vm,debug-threads=on";
    static const char arg_only[] = "qemu-system-x86_64\0-S\0vm";

    ck_assert(proc_cmdline_is_domain(qemu, sizeof(qemu), "vm"));
    ck_assert(!proc_cmdline_is_domain(qemu, sizeof(qemu), "v"));
    ck_assert(!proc_cmdline_is_domain(qemu, sizeof(qemu), "vm,debug-threads=on"));
    ck_assert(proc_cmdline_is_domain(comma, sizeof(comma), "a,b"));
    ck_assert(!proc_cmdline_is_domain(comma, sizeof(comma), "a"));
    ck_assert(!proc_cmdline_is_domain(comma, sizeof(comma), "a,"));
    ck_assert(proc_cmdline_is_domain(old, sizeof(old), "vm"));
    ck_assert(!proc_cmdline_is_domain(notqemu, sizeof(notqemu), "vm"));
    ck_assert(!proc_cmdline_is_domain(arg_only, sizeof(arg_only), "vm"));
    ck_assert(!proc_cmdline_is_domain(qemu, sizeof(qemu), ""));
}
END_TEST

START_TEST(test_stat_of_self)
{
    unsigned long long ticks = 0;
    char state = 0;

    ck_assert_int_eq(proc_stat_read(getpid(), &state, &ticks), 0);
    ck_assert_int_eq(state, 'R');
    ck_assert(ticks == test_start_ticks(getpid()));
    ck_assert_int_eq(proc_stat_read(0, NULL, NULL), -ENOENT);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("proc");

    add_test(s, test_process_tracking, 10);
    add_test(s, test_process_start_time, 10);
    add_test(s, test_process_name_escaping, 10);
    add_test(s, test_cmdline_names, 5);
    add_test(s, test_stat_of_self, 5);
    return check_run(s);
}
