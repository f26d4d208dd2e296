/* ferry-ticks: heartbeat collector and analyser for the ferry test guests.
 *
 *   ferry-ticks listen ADDR PORT LOGFILE
 *       Receive the guests' COM2/ttyS1 bytes (QEMU's UDP chardev sends about
 *       one byte per datagram), reassemble lines per sender (ip, port) and
 *       append "<recv_ms_since_epoch> <ip>:<port> <line>\n" to LOGFILE.
 *       Runs until SIGTERM/SIGINT, then exits 0.
 *
 *   ferry-ticks report LOGFILE ID [--since MS]
 *       key=value summary of the ticks of guest ID (see usage()).
 *
 *   ferry-ticks wait LOGFILE ID --count N --timeout-ms T [--since MS]
 *       Exit 0 once N ticks of ID (received at or after MS) are in LOGFILE,
 *       1 on timeout.
 *
 * A tick line is "T<seq> <guest_ms> bad=<n> g=<id>".  Lines that do not match
 * exactly are skipped: a lost datagram garbles a line (and can silently drop
 * a digit, see report_add()). */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICKS_LINE_MAX 512     /* longer lines are dropped */
#define TICKS_MAX_SOURCES 256  /* reassembly slots; least recently used is evicted */
#define TICKS_ID_MAX 64
#define TICKS_ADDR_MAX 64      /* "ip:port" */
#define TICKS_WAIT_POLL_MS 50
#define TICKS_RCVBUF (4 << 20)

enum { EXIT_OK = 0, EXIT_NO = 1, EXIT_USAGE = 2 };

/* ---- common ----------------------------------------------------------- */

static uint64_t now_realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(FILE *f)
{
    fputs("usage: ferry-ticks listen ADDR PORT LOGFILE\n"
          "       ferry-ticks report LOGFILE ID [--since MS]\n"
          "       ferry-ticks wait LOGFILE ID --count N --timeout-ms T [--since MS]\n"
          "\n"
          "LOGFILE lines: <recv_ms_since_epoch> <ip>:<port> T<seq> <guest_ms> bad=<n> g=<id>\n"
          "report prints key=value lines: id ticks first_seq last_seq first_ms last_ms\n"
          "  continuous resets missing garbled max_gap_ms max_gap_at_ms max_gap_seq\n"
          "  sources source_changes endpoint_changes switch_<i>=<ms>,<from_ip>,<to_ip>,<gap_ms> bad\n"
          "exit: 0 ok, 1 no ticks / timeout, 2 usage or I/O error\n",
          f);
}

/* Parse a decimal unsigned 64-bit number spanning all of [s, end). */
static bool parse_u64(const char *s, const char *end, uint64_t *ret)
{
    uint64_t v = 0;

    if (s >= end)
        return false;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *ret = v;
    return true;
}

static bool parse_u64_str(const char *s, uint64_t *ret) { return parse_u64(s, s + strlen(s), ret); }

struct tick {
    uint64_t recv_ms;
    char src[TICKS_ADDR_MAX]; /* "ip:port" */
    uint64_t seq;
    uint64_t guest_ms;
    uint64_t bad;
    char id[TICKS_ID_MAX];
};

/* Take the next space-separated field of [*p, end); false if none. */
static bool next_field(const char **p, const char *end, const char **ret_s, const char **ret_e)
{
    const char *s = *p, *e;

    if (s >= end || *s == ' ')
        return false;
    e = memchr(s, ' ', (size_t)(end - s));
    if (!e)
        e = end;
    *ret_s = s;
    *ret_e = e;
    *p = e < end ? e + 1 : e;
    return true;
}

/* Strictly parse one log line (without the newline). */
static bool tick_parse(const char *line, size_t len, struct tick *ret)
{
    const char *p = line, *end = line + len, *s, *e;
    struct tick t;

    memset(&t, 0, sizeof t);
    if (!next_field(&p, end, &s, &e) || !parse_u64(s, e, &t.recv_ms))
        return false;
    if (!next_field(&p, end, &s, &e) || (size_t)(e - s) >= sizeof t.src || !memchr(s, ':', (size_t)(e - s)))
        return false;
    memcpy(t.src, s, (size_t)(e - s));
    if (!next_field(&p, end, &s, &e) || *s != 'T' || !parse_u64(s + 1, e, &t.seq))
        return false;
    if (!next_field(&p, end, &s, &e) || !parse_u64(s, e, &t.guest_ms))
        return false;
    if (!next_field(&p, end, &s, &e) || e - s < 5 || memcmp(s, "bad=", 4) || !parse_u64(s + 4, e, &t.bad))
        return false;
    if (!next_field(&p, end, &s, &e) || e - s < 3 || memcmp(s, "g=", 2) || (size_t)(e - s - 2) >= sizeof t.id)
        return false;
    memcpy(t.id, s + 2, (size_t)(e - s - 2));
    if (p != end)
        return false; /* trailing garbage (e.g. two lines merged by a lost newline) */
    *ret = t;
    return true;
}

/* The "ip" part of "ip:port". */
static void src_ip(const char *src, char *ret, size_t size)
{
    const char *colon = strrchr(src, ':');
    size_t n = colon ? (size_t)(colon - src) : strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(ret, src, n);
    ret[n] = 0;
}

/* ---- listen ----------------------------------------------------------- */

struct source {
    struct sockaddr_in addr;
    uint64_t last_used;
    size_t len;
    bool overflow; /* dropping bytes until the next newline */
    bool used;
    char buf[TICKS_LINE_MAX];
};

static struct source *source_get(struct source *tab, const struct sockaddr_in *a, uint64_t stamp)
{
    struct source *victim = &tab[0];

    for (int i = 0; i < TICKS_MAX_SOURCES; i++) {
        struct source *s = &tab[i];
        if (s->used && s->addr.sin_addr.s_addr == a->sin_addr.s_addr && s->addr.sin_port == a->sin_port) {
            s->last_used = stamp;
            return s;
        }
        if (!s->used)
            victim = s;
        else if (victim->used && s->last_used < victim->last_used)
            victim = s;
    }
    memset(victim, 0, sizeof *victim);
    victim->used = true;
    victim->addr = *a;
    victim->last_used = stamp;
    return victim;
}

static int source_feed(struct source *s, const char *data, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];

        if (c == '\n') {
            if (!s->overflow && s->len) {
                char ip[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &s->addr.sin_addr, ip, sizeof ip);
                if (fprintf(out, "%" PRIu64 " %s:%u %.*s\n", now_realtime_ms(), ip,
                            (unsigned)ntohs(s->addr.sin_port), (int)s->len, s->buf) < 0 ||
                    fflush(out) == EOF)
                    return -errno;
            }
            s->len = 0;
            s->overflow = false;
        } else if (c == '\r' || c == '\0') {
            continue;
        } else if (s->len < sizeof s->buf) {
            s->buf[s->len++] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
        } else {
            s->overflow = true;
        }
    }
    return 0;
}

static void ticks_on_signal(int sig) { (void)sig; }

static int cmd_listen(int argc, char **argv)
{
    struct sigaction sa = { .sa_flags = 0 };
    struct sockaddr_in addr = { .sin_family = AF_INET };
    struct source *tab = NULL;
    FILE *out = NULL;
    sigset_t block, empty;
    uint64_t port, stamp = 0;
    int fd = -1, rcvbuf = TICKS_RCVBUF, ret = EXIT_USAGE;

    if (argc != 5) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
        fprintf(stderr, "ferry-ticks: bad IPv4 address '%s'\n", argv[2]);
        return EXIT_USAGE;
    }
    if (!parse_u64_str(argv[3], &port) || port == 0 || port > 65535) {
        fprintf(stderr, "ferry-ticks: bad port '%s'\n", argv[3]);
        return EXIT_USAGE;
    }
    addr.sin_port = htons((uint16_t)port);

    /* SIGTERM/SIGINT are only delivered inside ppoll(): no race, no flag */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&empty);
    sa.sa_handler = ticks_on_signal; /* does nothing: ppoll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    tab = calloc(TICKS_MAX_SOURCES, sizeof *tab);
    out = fopen(argv[4], "a");
    if (!tab || !out) {
        fprintf(stderr, "ferry-ticks: cannot open '%s': %s\n", argv[4], strerror(errno));
        goto cleanup;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "ferry-ticks: socket: %s\n", strerror(errno));
        goto cleanup;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "ferry-ticks: bind %s:%s: %s\n", argv[2], argv[3], strerror(errno));
        goto cleanup;
    }

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r = ppoll(&pfd, 1, NULL, &empty);

        if (r < 0) {
            if (errno == EINTR) { /* only our blocked signals can interrupt */
                ret = EXIT_OK;
                goto cleanup;
            }
            fprintf(stderr, "ferry-ticks: poll: %s\n", strerror(errno));
            goto cleanup;
        }
        for (;;) {
            char data[2048];
            struct sockaddr_in from;
            socklen_t fromlen = sizeof from;
            ssize_t n = recvfrom(fd, data, sizeof data, 0, (struct sockaddr *)&from, &fromlen);

            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    break;
                fprintf(stderr, "ferry-ticks: recvfrom: %s\n", strerror(errno));
                goto cleanup;
            }
            if (fromlen < sizeof from || from.sin_family != AF_INET)
                continue;
            if (source_feed(source_get(tab, &from, ++stamp), data, (size_t)n, out) < 0) {
                fprintf(stderr, "ferry-ticks: write '%s': %s\n", argv[4], strerror(errno));
                goto cleanup;
            }
        }
    }

cleanup:
    if (fd >= 0)
        close(fd);
    if (out && fclose(out) == EOF && ret == EXIT_OK) {
        fprintf(stderr, "ferry-ticks: close '%s': %s\n", argv[4], strerror(errno));
        ret = EXIT_USAGE;
    }
    free(tab);
    return ret;
}

/* ---- report ------------------------------------------------------------ */

#define REPORT_MAX_SWITCHES 64

struct report {
    const char *id;
    uint64_t since_ms;
    uint64_t ticks, garbled, resets, missing, dup;
    bool have_prev;
    struct tick first, prev;
    uint64_t max_gap_ms, max_gap_at_ms, max_gap_seq;
    char sources[1024];
    size_t sources_len;
    char cur_ip[TICKS_ADDR_MAX];
    uint64_t source_changes;
    uint64_t endpoint_changes; /* ip or port changed: also a QEMU restart on the same host */
    char switches[REPORT_MAX_SWITCHES][160];
};

static void report_source(struct report *r, const struct tick *t)
{
    char ip[TICKS_ADDR_MAX];

    src_ip(t->src, ip, sizeof ip);
    if (r->have_prev && strcmp(t->src, r->prev.src))
        r->endpoint_changes++;
    if (r->have_prev && !strcmp(ip, r->cur_ip))
        return;
    if (r->have_prev) {
        if (r->source_changes < REPORT_MAX_SWITCHES)
            snprintf(r->switches[r->source_changes], sizeof r->switches[0], "%" PRIu64 ",%s,%s,%" PRIu64,
                     t->recv_ms, r->cur_ip, ip, t->recv_ms - r->prev.recv_ms);
        r->source_changes++;
    }
    if (r->sources_len + strlen(ip) + 2 < sizeof r->sources)
        r->sources_len += (size_t)snprintf(r->sources + r->sources_len, sizeof r->sources - r->sources_len,
                                           "%s%s", r->sources_len ? "," : "", ip);
    snprintf(r->cur_ip, sizeof r->cur_ip, "%s", ip);
}

/* A lost datagram can drop a single digit and still leave a well-formed line;
 * that makes one field (seq or guest_ms) smaller than the previous tick's
 * while the other one still grows.  A real reset (guest reboot) makes both
 * smaller.  So: both grew -> normal; both shrank -> reset; mixed -> garbled. */
static void report_add(struct report *r, const struct tick *t)
{
    if (r->have_prev) {
        bool seq_back = t->seq <= r->prev.seq, ms_back = t->guest_ms < r->prev.guest_ms;

        if (seq_back != ms_back) {
            r->garbled++;
            return;
        }
        if (seq_back) {
            if (t->seq == r->prev.seq && t->guest_ms == r->prev.guest_ms) {
                r->dup++;
                return;
            }
            r->resets++;
        } else {
            r->missing += t->seq - r->prev.seq - 1;
        }
        if (t->recv_ms >= r->prev.recv_ms && t->recv_ms - r->prev.recv_ms > r->max_gap_ms) {
            r->max_gap_ms = t->recv_ms - r->prev.recv_ms;
            r->max_gap_at_ms = t->recv_ms;
            r->max_gap_seq = t->seq;
        }
    } else {
        r->first = *t;
    }
    report_source(r, t);
    r->prev = *t;
    r->have_prev = true;
    r->ticks++;
}

/* Read `path` line by line from *offset, calling fn for every tick of `id`
 * at or after since_ms.  A final line without '\n' is left for next time.
 * Returns 0, or -errno (-ENOENT if the file does not exist). */
static int log_scan(const char *path, long *offset, const char *id, uint64_t since_ms, uint64_t *ret_malformed,
                    void (*fn)(void *ctx, const struct tick *t), void *ctx)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct stat st;
    FILE *f = fopen(path, "r");
    int ret = 0;

    if (!f)
        return -errno;
    if (fstat(fileno(f), &st) == 0 && st.st_size < *offset)
        *offset = 0; /* truncated / replaced */
    if (fseek(f, *offset, SEEK_SET) < 0) {
        ret = -errno;
        goto cleanup;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        struct tick t;

        if (line[n - 1] != '\n')
            break; /* partial line, still being written */
        *offset += n;
        if (!tick_parse(line, (size_t)n - 1, &t)) {
            if (ret_malformed)
                (*ret_malformed)++;
            continue;
        }
        if (strcmp(t.id, id) || t.recv_ms < since_ms)
            continue;
        fn(ctx, &t);
    }
    if (ferror(f))
        ret = -EIO;
cleanup:
    free(line);
    fclose(f);
    return ret;
}

static void report_cb(void *ctx, const struct tick *t) { report_add(ctx, t); }

/* Parse "[--since MS] [--count N] [--timeout-ms T]" after the positional args. */
struct opts {
    uint64_t since_ms, count, timeout_ms;
    bool have_count, have_timeout;
};

static bool opts_parse(int argc, char **argv, int first, bool allow_wait, struct opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = first; i < argc; i++) {
        uint64_t *dst = NULL;

        if (!strcmp(argv[i], "--since"))
            dst = &o->since_ms;
        else if (allow_wait && !strcmp(argv[i], "--count"))
            dst = &o->count, o->have_count = true;
        else if (allow_wait && !strcmp(argv[i], "--timeout-ms"))
            dst = &o->timeout_ms, o->have_timeout = true;
        if (!dst || i + 1 >= argc || !parse_u64_str(argv[i + 1], dst)) {
            fprintf(stderr, "ferry-ticks: bad option '%s'\n", argv[i]);
            return false;
        }
        i++;
    }
    return true;
}

static int cmd_report(int argc, char **argv)
{
    struct report *r = NULL;
    struct opts o;
    long offset = 0;
    uint64_t malformed = 0;
    int err, ret = EXIT_USAGE;

    if (argc < 4 || !opts_parse(argc, argv, 4, false, &o)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    r = calloc(1, sizeof *r);
    if (!r)
        return EXIT_USAGE;
    r->id = argv[3];
    r->since_ms = o.since_ms;
    err = log_scan(argv[2], &offset, r->id, o.since_ms, &malformed, report_cb, r);
    if (err < 0) {
        fprintf(stderr, "ferry-ticks: read '%s': %s\n", argv[2], strerror(-err));
        goto cleanup;
    }
    printf("id=%s\n", r->id);
    printf("ticks=%" PRIu64 "\n", r->ticks);
    if (r->ticks) {
        printf("first_seq=%" PRIu64 "\nlast_seq=%" PRIu64 "\n", r->first.seq, r->prev.seq);
        printf("first_ms=%" PRIu64 "\nlast_ms=%" PRIu64 "\n", r->first.recv_ms, r->prev.recv_ms);
    }
    printf("continuous=%d\n", r->ticks && !r->resets);
    printf("resets=%" PRIu64 "\n", r->resets);
    printf("missing=%" PRIu64 "\n", r->missing);
    printf("garbled=%" PRIu64 "\n", r->garbled);
    printf("malformed_lines=%" PRIu64 "\n", malformed);
    printf("max_gap_ms=%" PRIu64 "\nmax_gap_at_ms=%" PRIu64 "\nmax_gap_seq=%" PRIu64 "\n", r->max_gap_ms,
           r->max_gap_at_ms, r->max_gap_seq);
    printf("sources=%s\n", r->sources);
    printf("source_changes=%" PRIu64 "\n", r->source_changes);
    printf("endpoint_changes=%" PRIu64 "\n", r->endpoint_changes);
    for (uint64_t i = 0; i < r->source_changes && i < REPORT_MAX_SWITCHES; i++)
        printf("switch_%" PRIu64 "=%s\n", i + 1, r->switches[i]);
    if (r->ticks)
        printf("bad=%" PRIu64 "\n", r->prev.bad);
    ret = r->ticks ? EXIT_OK : EXIT_NO;
cleanup:
    free(r);
    return ret;
}

/* ---- wait -------------------------------------------------------------- */

static void count_cb(void *ctx, const struct tick *t)
{
    (void)t;
    (*(uint64_t *)ctx)++;
}

static int cmd_wait(int argc, char **argv)
{
    struct opts o;
    long offset = 0;
    uint64_t seen = 0, deadline;

    if (argc < 4 || !opts_parse(argc, argv, 4, true, &o) || !o.have_count || !o.have_timeout) {
        usage(stderr);
        return EXIT_USAGE;
    }
    deadline = now_monotonic_ms() + o.timeout_ms;
    for (;;) {
        int err = log_scan(argv[2], &offset, argv[3], o.since_ms, NULL, count_cb, &seen);

        if (err < 0 && err != -ENOENT) {
            fprintf(stderr, "ferry-ticks: read '%s': %s\n", argv[2], strerror(-err));
            return EXIT_USAGE;
        }
        if (err == -ENOENT)
            offset = 0;
        if (seen >= o.count)
            return EXIT_OK;
        if (now_monotonic_ms() >= deadline) {
            fprintf(stderr, "ferry-ticks: timeout: %" PRIu64 " of %" PRIu64 " ticks of '%s'\n", seen, o.count,
                    argv[3]);
            return EXIT_NO;
        }
        {
            uint64_t left = deadline - now_monotonic_ms();
            struct timespec ts = { 0, (long)(left < TICKS_WAIT_POLL_MS ? left : TICKS_WAIT_POLL_MS) * 1000000L };
            nanosleep(&ts, NULL);
        }
        /* a truncated file restarts the count */
        {
            struct stat st;
            if (stat(argv[2], &st) == 0 && st.st_size < offset)
                seen = 0;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "listen"))
        return cmd_listen(argc, argv);
    if (!strcmp(argv[1], "report"))
        return cmd_report(argc, argv);
    if (!strcmp(argv[1], "wait"))
        return cmd_wait(argc, argv);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return EXIT_OK;
    }
    usage(stderr);
    return EXIT_USAGE;
}
