/* runstat.c — the measuring tool of bench/run.sh.
 *
 *   runstat [-d PID]... [-t MS] [-2 FILE] -- CMD ARGS...
 *       Runs CMD once (stdin and stdout /dev/null, stderr /dev/null or FILE)
 *       in a process group of its own and prints one line
 *         wall_us=W user_us=U sys_us=S maxrss_kb=M rc=R daemon_us=D timeout=T
 *       W: fork to reap, CLOCK_MONOTONIC.  U, S: CPU time of CMD and every
 *       descendant it waited for (wait4's rusage: RUSAGE_BOTH of the child).
 *       D: CPU time the daemons PID... (e.g. libvirtd, pacemaker-based) spent
 *       meanwhile, summed over their threads from /proc/PID/task/TID/schedstat
 *       (nanosecond run time; if one of their threads ended meanwhile, the
 *       process-wide utime+stime, to the clock tick, and daemon_coarse=1);
 *       0 without -d.  -t: after MS milliseconds the
 *       process group gets SIGKILL, as pacemaker-execd does on an operation
 *       timeout (T=1, R=137).
 *
 *   runstat sched -P PERIOD_MS -W WINDOW_MS -N COUNT [-d PID]...
 *                 [-e NAME=TEMPLATE]... -- CMD ARGS...
 *       Pacemaker-like recurring monitors: instance i (1..COUNT) runs CMD at
 *       (i - 1) * PERIOD/COUNT + k * PERIOD for every k while that is before WINDOW
 *       (instances overlap when an action outlasts its slot, as under
 *       pacemaker-execd).  TEMPLATE's "%d" becomes i.  Prints
 *         runs=N failed=F window_us=W elapsed_us=E user_us=U sys_us=S
 *         daemon_us=D daemon_coarse=C act_mean_us=A act_max_us=X
 *       U, S: CPU of all runs (and their waited-for descendants); D as above.
 *
 * Exit status: 0 when it measured (whatever CMD returned), 2 on usage or
 * system errors. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DAEMONS 8
#define MAX_ENV 16

static pid_t daemons[MAX_DAEMONS];
static int ndaemons;

static void
die(const char *msg)
{
    fprintf(stderr, "runstat: %s%s%s\n", msg, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(2);
}

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
tv_us(struct timeval tv)
{
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* CPU time of the daemons.  Precise: the sum of their threads' schedstat run
 * times (ns).  A thread that ends in between takes its time with it (libvirtd
 * ends a domain's event thread when the domain stops), so when a thread of the
 * first snapshot is gone, the process-wide utime+stime of /proc/PID/stat (which
 * keeps dead threads' time, in clock ticks) is used instead. */
#define MAX_TIDS 1024

struct snap {
    int n;
    pid_t tid[MAX_TIDS];
    int64_t ns[MAX_TIDS];
    int64_t stat_ns;            /* utime+stime of the process, tick resolution */
};

static void
snap_one(pid_t pid, struct snap *s)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    FILE *f;

    s->n = 0;
    s->stat_ns = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (f != NULL) {
        char buf[2048];
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        char *p;
        unsigned long long ut = 0, st = 0;

        buf[len] = '\0';
        p = strrchr(buf, ')');
        /* after "pid (comm)": state is field 3; utime 14, stime 15 */
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
            s->stat_ns = (int64_t)(ut + st) * (1000000000LL / sysconf(_SC_CLK_TCK));
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL && s->n < MAX_TIDS) {
        char p[320];
        long long ns = 0;

        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        f = fopen(p, "re");
        if (f == NULL)
            continue;
        if (fscanf(f, "%lld", &ns) == 1) {
            s->tid[s->n] = (pid_t)atoi(e->d_name);
            s->ns[s->n] = ns;
            s->n++;
        }
        fclose(f);
    }
    closedir(d);
}

static struct snap snaps_before[MAX_DAEMONS];

static void
daemons_begin(void)
{
    for (int i = 0; i < ndaemons; i++)
        snap_one(daemons[i], &snaps_before[i]);
}

/* microseconds the daemons ran since daemons_begin; *coarse set if a tick-based figure was used */
static int64_t
daemons_end(int *coarse)
{
    static struct snap after;
    int64_t total = 0;

    for (int i = 0; i < ndaemons; i++) {
        const struct snap *b = &snaps_before[i];
        int64_t sum_b = 0, sum_a = 0;
        int gone = 0;

        snap_one(daemons[i], &after);
        for (int j = 0; j < b->n; j++) {
            int found = 0;

            for (int k = 0; k < after.n; k++)
                if (after.tid[k] == b->tid[j]) {
                    found = 1;
                    break;
                }
            gone |= !found;
            sum_b += b->ns[j];
        }
        for (int k = 0; k < after.n; k++)
            sum_a += after.ns[k];
        if (gone) {
            *coarse = 1;
            total += after.stat_ns - b->stat_ns;
        } else
            total += sum_a - sum_b;
    }
    return total / 1000;
}

static volatile sig_atomic_t alarmed;

static void
on_alarm(int sig)
{
    (void)sig;
    alarmed = 1;
}

static pid_t
spawn(char **argv, const char *errfile)
{
    pid_t pid = fork();

    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);

        if (fd < 0)
            _exit(127);
        setpgid(0, 0);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
        if (errfile) {
            fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0 || dup2(fd, 2) < 0)
                _exit(127);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int
parse_daemon(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0 || ndaemons == MAX_DAEMONS)
        return -1;
    daemons[ndaemons++] = (pid_t)v;
    return 0;
}

static int
once(int argc, char **argv)
{
    int i = 1, timed_out = 0;
    long timeout_ms = 0;
    const char *errfile = NULL;
    struct rusage ru;
    int status;
    int64_t t0, t1, dmn;
    int coarse = 0;
    pid_t pid;

    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            if (parse_daemon(argv[++i]) < 0)
                die("bad -d PID");
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            timeout_ms = strtol(argv[++i], NULL, 10);
            if (timeout_ms <= 0)
                die("bad -t MS");
        } else if (strcmp(argv[i], "-2") == 0 && i + 1 < argc)
            errfile = argv[++i];
        else
            die("usage: runstat [-d PID]... [-t MS] [-2 FILE] -- CMD ARGS...");
    }
    if (i + 1 >= argc)
        die("no command after --");
    if (timeout_ms) {
        struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: wait4 returns EINTR */

        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
    }
    daemons_begin();
    t0 = now_us();
    pid = spawn(argv + i + 1, errfile);
    setpgid(pid, pid); /* also here: no race with the kill below */
    if (timeout_ms) {
        struct itimerval it = { .it_value = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 } };

        setitimer(ITIMER_REAL, &it, NULL);
    }
    for (;;) {
        if (alarmed && !timed_out) {
            timed_out = 1;
            kill(-pid, SIGKILL);
        }
        if (wait4(pid, &status, 0, &ru) >= 0)
            break;
        if (errno != EINTR)
            die("wait4");
    }
    t1 = now_us();
    if (timeout_ms) {
        struct itimerval off = { { 0, 0 }, { 0, 0 } };

        setitimer(ITIMER_REAL, &off, NULL);
    }
    dmn = daemons_end(&coarse);
    printf("wall_us=%" PRId64 " user_us=%" PRId64 " sys_us=%" PRId64 " maxrss_kb=%ld rc=%d daemon_us=%" PRId64
           " daemon_coarse=%d timeout=%d\n",
           t1 - t0, tv_us(ru.ru_utime), tv_us(ru.ru_stime), ru.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), dmn, coarse, timed_out);
    return 0;
}

/* ---- sched ---- */

struct envt {
    char name[128];
    char tmpl[512];
};

struct running {
    pid_t pid;
    int64_t start;
};

static int
sched(int argc, char **argv)
{
    int64_t period = 0, window = 0, n = 0;
    struct envt env[MAX_ENV];
    int nenv = 0, i = 2;
    struct running *run;
    int nrun = 0, runs = 0, failed = 0;
    int64_t user = 0, sys = 0, act_sum = 0, act_max = 0, t0, dmn;
    int coarse = 0;
    int64_t next_k = 0; /* slot index: instance (k % n) + 1 at t0 + k * period / n */

    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (i + 1 >= argc)
            die("option without value");
        if (strcmp(argv[i], "-P") == 0)
            period = strtoll(argv[++i], NULL, 10) * 1000;
        else if (strcmp(argv[i], "-W") == 0)
            window = strtoll(argv[++i], NULL, 10) * 1000;
        else if (strcmp(argv[i], "-N") == 0)
            n = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-d") == 0) {
            if (parse_daemon(argv[++i]) < 0)
                die("bad -d PID");
        } else if (strcmp(argv[i], "-e") == 0) {
            const char *s = argv[++i], *eq = strchr(s, '=');

            if (eq == NULL || nenv == MAX_ENV || (size_t)(eq - s) >= sizeof(env[0].name) ||
                strlen(eq + 1) >= sizeof(env[0].tmpl))
                die("bad -e NAME=TEMPLATE");
            memcpy(env[nenv].name, s, (size_t)(eq - s));
            env[nenv].name[eq - s] = '\0';
            snprintf(env[nenv].tmpl, sizeof(env[nenv].tmpl), "%s", eq + 1);
            nenv++;
        } else
            die("usage: runstat sched -P MS -W MS -N COUNT [-d PID]... [-e NAME=TEMPLATE]... -- CMD...");
    }
    if (period <= 0 || window <= 0 || n <= 0 || i + 1 >= argc)
        die("sched needs -P, -W, -N and a command");
    run = calloc((size_t)n * (size_t)(window / period + 2) + 16, sizeof(*run));
    if (run == NULL)
        die("calloc");

    daemons_begin();
    t0 = now_us();
    for (;;) {
        int64_t due = t0 + period * next_k / n, now = now_us();
        int status;
        struct rusage ru;
        pid_t pid;

        /* reap whatever finished */
        while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
            for (int j = 0; j < nrun; j++) {
                if (run[j].pid != pid)
                    continue;
                int64_t d = now_us() - run[j].start;

                act_sum += d;
                if (d > act_max)
                    act_max = d;
                run[j] = run[--nrun];
                break;
            }
            user += tv_us(ru.ru_utime);
            sys += tv_us(ru.ru_stime);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                failed++;
        }
        if (due - t0 >= window) {
            if (nrun == 0)
                break;
            usleep(2000);
            continue;
        }
        if (now < due) {
            int64_t s = due - now;

            usleep((useconds_t)(s > 2000 ? 2000 : s));
            continue;
        }
        /* launch instance (next_k % n) + 1 */
        {
            int inst = (int)(next_k % n) + 1;
            pid_t c = fork();

            if (c < 0)
                die("fork");
            if (c == 0) {
                int fd = open("/dev/null", O_RDWR);

                for (int e = 0; e < nenv; e++) {
                    char val[1024];
                    const char *p = strstr(env[e].tmpl, "%d");

                    if (p)
                        snprintf(val, sizeof(val), "%.*s%d%s", (int)(p - env[e].tmpl), env[e].tmpl, inst, p + 2);
                    else
                        snprintf(val, sizeof(val), "%s", env[e].tmpl);
                    setenv(env[e].name, val, 1);
                }
                if (fd >= 0) {
                    dup2(fd, 0);
                    dup2(fd, 1);
                    dup2(fd, 2);
                }
                execvp(argv[i + 1], argv + i + 1);
                _exit(127);
            }
            run[nrun].pid = c;
            run[nrun].start = now_us();
            nrun++;
            runs++;
            next_k++;
        }
    }
    dmn = daemons_end(&coarse);
    printf("runs=%d failed=%d window_us=%" PRId64 " elapsed_us=%" PRId64 " user_us=%" PRId64 " sys_us=%" PRId64
           " daemon_us=%" PRId64 " daemon_coarse=%d act_mean_us=%" PRId64 " act_max_us=%" PRId64 "\n",
           runs, failed, window, now_us() - t0, user, sys, dmn, coarse, runs ? act_sum / runs : 0, act_max);
    free(run);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "sched") == 0)
        return sched(argc, argv);
    return once(argc, argv);
}
