/* ferry-guestd: workload of the ferry Linux test guest (busybox initramfs).
 *
 *   ferry-guestd            the workload (started by /init in a respawn loop)
 *   ferry-guestd powerwatch ACPI power button handler
 *
 * Options come from the kernel command line:
 *   ferry.id=<name> ferry.dirty=<MiB> ferry.rate=<MiB/s, 0 = unlimited>
 *   ferry.tick=<ms, default 20> ferry.acpi=ignore
 *
 * Workload: every tick writes "T<seq> <guest_ms> bad=<n> g=<id>\n" to
 * /dev/ttyS1 (libvirt: UDP to the collector), about once a second a status
 * line to /dev/console.  It rewrites <dirty> MiB of anonymous memory, one
 * non-zero 64-bit word per 4 KiB page with a value that changes every pass,
 * and re-reads every page after each write pass; mismatches add to bad=.
 *
 * powerwatch: waits for KEY_POWER on the input devices (the ACPI "button"
 * driver turns the ACPI power button into an input event) and powers the
 * guest off, unless ferry.acpi=ignore. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/input.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define GUESTD_ID_MAX 32
#define GUESTD_PAGE 4096u
#define GUESTD_CHUNK_PAGES 256u /* 1 MiB between clock checks */
#define GUESTD_MAX_INPUTS 32

struct guestd_config {
    char id[GUESTD_ID_MAX + 1];
    uint64_t dirty_mib, rate_mib_s, tick_ms;
    bool acpi_ignore;
};

static int console_fd = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    if (write(console_fd >= 0 ? console_fd : STDERR_FILENO, buf, (size_t)n) < 0) {
        /* nowhere left to complain */
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    nanosleep(&ts, NULL);
}

/* ---- configuration ------------------------------------------------------ */

static bool parse_u64(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *ret = v;
    return true;
}

static void config_read(struct guestd_config *cfg)
{
    char cmd[4096];
    ssize_t n = 0;
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->id, "?");
    cfg->tick_ms = 20;
    if (fd >= 0) {
        n = read(fd, cmd, sizeof cmd - 1);
        close(fd);
    }
    cmd[n > 0 ? n : 0] = 0;
    for (char *save = NULL, *tok = strtok_r(cmd, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        uint64_t v;

        if (!strncmp(tok, "ferry.id=", 9) && tok[9]) {
            size_t i = 0;
            for (const char *p = tok + 9; *p && i < GUESTD_ID_MAX; p++, i++) {
                bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                          *p == '-' || *p == '_' || *p == '.';
                cfg->id[i] = ok ? *p : '_';
            }
            cfg->id[i] = 0;
        } else if (!strncmp(tok, "ferry.dirty=", 12) && parse_u64(tok + 12, &v)) {
            cfg->dirty_mib = v;
        } else if (!strncmp(tok, "ferry.rate=", 11) && parse_u64(tok + 11, &v)) {
            cfg->rate_mib_s = v;
        } else if (!strncmp(tok, "ferry.tick=", 11) && parse_u64(tok + 11, &v) && v >= 1 && v <= 60000) {
            cfg->tick_ms = v;
        } else if (!strcmp(tok, "ferry.acpi=ignore")) {
            cfg->acpi_ignore = true;
        }
    }
}

/* ---- workload ------------------------------------------------------------ */

static int tty_open_raw(const char *path)
{
    struct termios tio;
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (tcgetattr(fd, &tio) == 0) {
        cfmakeraw(&tio);
        cfsetispeed(&tio, B115200);
        cfsetospeed(&tio, B115200);
        tio.c_cflag |= CLOCAL;
        tcsetattr(fd, TCSANOW, &tio);
    }
    return fd;
}

static inline uint64_t pattern(uint64_t gen, uint64_t page)
{
    return ((gen * 0x9E3779B97F4A7C15ull) ^ (page * 0xC2B2AE3D27D4EB4Full)) | 1u; /* never zero */
}

static _Noreturn void run_workload(const struct guestd_config *cfg)
{
    size_t pages = (size_t)cfg->dirty_mib * (1u << 20) / GUESTD_PAGE, pos = 0;
    volatile uint64_t *work = NULL;
    uint64_t t0, next_tick, next_status, next_write, chunk_ns = 0, tick_ns = cfg->tick_ms * 1000000u;
    uint64_t seq = 0, gen = 1, bad = 0, dirtied_pages = 0;
    bool verifying = false;
    int tty = tty_open_raw("/dev/ttyS1");

    if (pages) {
        void *m = mmap(NULL, pages * GUESTD_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                       -1, 0);
        if (m == MAP_FAILED) {
            say("ferry-guestd: mmap %" PRIu64 " MiB failed: %s; running idle\n", cfg->dirty_mib, strerror(errno));
            pages = 0;
        } else {
            work = m;
        }
    }
    if (pages && cfg->rate_mib_s)
        chunk_ns = 1000000000ull * GUESTD_CHUNK_PAGES / (cfg->rate_mib_s * 256u);
    say("ferry-guestd: id=%s dirty=%zuMiB rate=%" PRIu64 "MiB/s tick=%" PRIu64 "ms acpi=%s ttyS1=%s\n", cfg->id,
        pages / 256u, cfg->rate_mib_s, cfg->tick_ms, cfg->acpi_ignore ? "ignore" : "poweroff",
        tty >= 0 ? "ok" : strerror(errno));

    t0 = now_ns();
    next_tick = next_status = next_write = t0;
    for (;;) {
        uint64_t t = now_ns();

        if (t >= next_tick) {
            char line[96];
            int n = snprintf(line, sizeof line, "T%" PRIu64 " %" PRIu64 " bad=%" PRIu64 " g=%s\n", seq,
                             (t - t0) / 1000000u, bad, cfg->id);
            if (tty >= 0 && write(tty, line, (size_t)n) < 0) {
                /* nothing sensible to do; the collector sees the gap */
            }
            seq++;
            next_tick += tick_ns;
            if (next_tick <= t) /* fell behind (vCPU paused, migration): skip, don't burst */
                next_tick = t + tick_ns;
        }
        if (t >= next_status) {
            say("ferry-guestd g=%s up_ms=%" PRIu64 " seq=%" PRIu64 " gen=%" PRIu64 " dirtied_mib=%" PRIu64
                " bad=%" PRIu64 "\n",
                cfg->id, (t - t0) / 1000000u, seq, gen, dirtied_pages / 256u, bad);
            next_status += 1000000000u;
            if (next_status <= t)
                next_status = t + 1000000000u;
        }
        if (!pages || (!verifying && chunk_ns && t < next_write)) {
            /* idle or rate-limited: sleep until the next thing to do */
            uint64_t wake = next_tick < next_status ? next_tick : next_status;
            if (pages && next_write < wake)
                wake = next_write;
            t = now_ns();
            if (wake > t)
                sleep_ns(wake - t);
            continue;
        }
        if (!verifying && chunk_ns) {
            next_write += chunk_ns;
            if (next_write + tick_ns < t) /* no credit for time we were stopped */
                next_write = t;
        }
        for (unsigned i = 0; i < GUESTD_CHUNK_PAGES; i++) {
            volatile uint64_t *w = work + pos * (GUESTD_PAGE / sizeof *work);
            if (!verifying) {
                *w = pattern(gen, pos);
                dirtied_pages++;
            } else if (*w != pattern(gen, pos)) {
                bad++;
            }
            if (++pos == pages) {
                pos = 0;
                if (verifying)
                    gen++;
                verifying = !verifying;
                break;
            }
        }
    }
}

/* ---- power button -------------------------------------------------------- */

#define BITS_PER_LONG (8 * sizeof(unsigned long))

static bool has_power_key(int fd)
{
    unsigned long keys[KEY_MAX / BITS_PER_LONG + 1];

    memset(keys, 0, sizeof keys);
    if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof keys), keys) < 0)
        return false;
    return keys[KEY_POWER / BITS_PER_LONG] & (1ul << (KEY_POWER % BITS_PER_LONG));
}

/* Open every /dev/input/event* that can report KEY_POWER; returns how many. */
static int inputs_open(struct pollfd *pfds, int max)
{
    DIR *d = opendir("/dev/input");
    struct dirent *de;
    int n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) && n < max) {
        char path[300];
        int fd;

        if (strncmp(de->d_name, "event", 5))
            continue;
        snprintf(path, sizeof path, "/dev/input/%s", de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue;
        if (!has_power_key(fd)) {
            close(fd);
            continue;
        }
        pfds[n].fd = fd;
        pfds[n].events = POLLIN;
        n++;
    }
    closedir(d);
    return n;
}

static int run_powerwatch(const struct guestd_config *cfg)
{
    struct pollfd pfds[GUESTD_MAX_INPUTS];
    int n;
    bool told = false;

    while ((n = inputs_open(pfds, GUESTD_MAX_INPUTS)) == 0) {
        if (!told)
            say("ferry-guestd: no input device with KEY_POWER yet, waiting\n");
        told = true;
        sleep_ns(500000000u);
    }
    say("ferry-guestd: watching %d power button device(s), ACPI power button -> %s\n", n,
        cfg->acpi_ignore ? "ignored (ferry.acpi=ignore)" : "poweroff");
    for (;;) {
        if (poll(pfds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            say("ferry-guestd: poll: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct input_event ev;

            if (!(pfds[i].revents & POLLIN))
                continue;
            while (read(pfds[i].fd, &ev, sizeof ev) == (ssize_t)sizeof ev) {
                if (ev.type != EV_KEY || ev.code != KEY_POWER || ev.value != 1)
                    continue;
                if (cfg->acpi_ignore) {
                    say("ferry-guestd: power button pressed, ignored (ferry.acpi=ignore)\n");
                    continue;
                }
                say("ferry-guestd: power button pressed, powering off\n");
                sync();
                reboot(RB_POWER_OFF);
                say("ferry-guestd: poweroff failed: %s\n", strerror(errno));
            }
        }
    }
}

int main(int argc, char **argv)
{
    struct guestd_config cfg;

    console_fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    config_read(&cfg);
    if (argc > 1 && !strcmp(argv[1], "powerwatch"))
        return run_powerwatch(&cfg);
    if (argc > 1) {
        say("usage: ferry-guestd [powerwatch]\n");
        return 2;
    }
    run_workload(&cfg);
}
