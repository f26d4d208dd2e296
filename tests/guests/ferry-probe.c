/* ferry-probe: a client's view of a guest's network outage (ferry tests).
 *
 *   ferry-probe ping ADDR LOGFILE [--interval-ms N] [--max-seconds S]
 *       Send an ICMP echo request to ADDR every N ms (default 10; a fixed
 *       schedule, missed slots are skipped, never sent in a burst) and record
 *       every request and every echo reply, appending to LOGFILE:
 *           <us_since_epoch> S <seq>                       request sent
 *           <us_since_epoch> S <seq> err=<errno>           sendto failed
 *           <us_since_epoch> R <seq> <ip> <mac> <rtt_us>   reply received
 *       Replies are read from a packet socket, so each carries the Ethernet
 *       source address it came from (the guest's MAC, or whoever answered).
 *       Needs root (raw and packet sockets).  Runs until SIGTERM/SIGINT (exit
 *       0) or for at most S seconds (default 3600).
 *
 *   ferry-probe report LOGFILE [--since MS] [--until MS] [--mac MAC]
 *       key=value summary of the window [MS, MS] (ms since the epoch; default:
 *       from the first request to the last line in the log), see usage().
 *
 *   ferry-probe wait LOGFILE --count N --timeout-ms T [--since MS] [--mac MAC]
 *       Exit 0 once N replies (received at or after MS, from MAC if given) are
 *       in LOGFILE, 1 on timeout. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/icmp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_NO = 1, EXIT_USAGE = 2 };

#define PROBE_MAGIC "FRRYPRB1"
#define PROBE_LINE_MAX 256
#define PROBE_MAX_MACS 16
#define PROBE_WAIT_POLL_MS 50

struct probe_payload {
    char magic[8];
    uint64_t seq;     /* network byte order is not needed: only we read it back */
    uint64_t mono_ns; /* CLOCK_MONOTONIC at send */
    uint32_t pid;
};

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fputs("usage: ferry-probe ping ADDR LOGFILE [--interval-ms N] [--max-seconds S]\n"
          "       ferry-probe report LOGFILE [--since MS] [--until MS] [--mac MAC]\n"
          "       ferry-probe wait LOGFILE --count N --timeout-ms T [--since MS] [--mac MAC]\n"
          "report prints key=value lines:\n"
          "  since_ms until_ms       the window (ms since the epoch; default: first request .. last line)\n"
          "  sent replied lost       requests sent in the window, how many got a reply (even after\n"
          "                          the window), how many not\n"
          "  lost_run_max            longest run of consecutive unanswered requests\n"
          "  replies                 replies received in the window (duplicates included)\n"
          "  first_reply_ms last_reply_ms\n"
          "  max_gap_ms              longest time in the window without a reply (window edges count:\n"
          "                          a guest that stopped answering has a gap up to until_ms)\n"
          "  max_gap_from_ms max_gap_to_ms  where it was; max_gap_open=1 if no reply ended it\n"
          "  rtt_max_us              largest round-trip time in the window\n"
          "  macs=MAC/N,...          Ethernet sources of the replies (N replies each);\n"
          "  ips=IP/N,...            their IP sources\n"
          "  foreign=N               (with --mac) replies whose source MAC is not MAC\n"
          "  send_errors             requests sendto refused (e.g. EHOSTUNREACH: ARP failed)\n"
          "exit 0, or 1 if the window holds no reply\n",
          f);
}

static bool parse_u64_str(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *ret = v;
    return true;
}

static bool parse_mac(const char *s, char out[18])
{
    unsigned b[6];
    char tail;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
        return false;
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return true;
}

/* ---- ping ---------------------------------------------------------------- */

static volatile sig_atomic_t probe_stop;
static void probe_on_signal(int sig) { (void)sig; probe_stop = 1; }

static uint16_t icmp_cksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;

    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)p[0] << 8 | p[1];
    if (len)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

/* handle one packet from the packet socket; logs a reply if it is ours */
static void probe_packet(const uint8_t *buf, size_t n, const struct sockaddr_ll *ll, struct in_addr target,
                         uint16_t ident, FILE *out)
{
    const struct iphdr *ip = (const void *)buf;
    const struct icmphdr *icmp;
    struct probe_payload pl;
    size_t ihl;
    char ipstr[INET_ADDRSTRLEN], mac[18] = "-";
    uint64_t now_mono = clock_ns(CLOCK_MONOTONIC), now_real = clock_ns(CLOCK_REALTIME);

    if (ll->sll_pkttype == PACKET_OUTGOING || n < sizeof *ip)
        return;
    ihl = (size_t)ip->ihl * 4;
    if (ip->version != 4 || ip->protocol != IPPROTO_ICMP || ihl < sizeof *ip || n < ihl + sizeof *icmp + sizeof pl)
        return;
    if (ip->saddr != target.s_addr)
        return;
    icmp = (const void *)(buf + ihl);
    if (icmp->type != ICMP_ECHOREPLY || icmp->code != 0 || icmp->un.echo.id != htons(ident))
        return;
    memcpy(&pl, buf + ihl + sizeof *icmp, sizeof pl);
    if (memcmp(pl.magic, PROBE_MAGIC, sizeof pl.magic) || pl.pid != (uint32_t)getpid())
        return;
    inet_ntop(AF_INET, &ip->saddr, ipstr, sizeof ipstr);
    if (ll->sll_halen == 6)
        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", ll->sll_addr[0], ll->sll_addr[1],
                 ll->sll_addr[2], ll->sll_addr[3], ll->sll_addr[4], ll->sll_addr[5]);
    fprintf(out, "%" PRIu64 " R %" PRIu64 " %s %s %" PRIu64 "\n", now_real / 1000, pl.seq, ipstr, mac,
            now_mono > pl.mono_ns ? (now_mono - pl.mono_ns) / 1000 : 0);
    fflush(out);
}

static int cmd_ping(int argc, char **argv)
{
    struct in_addr target;
    uint64_t interval_ms = 10, max_s = 3600, seq = 0, next, end;
    uint16_t ident = (uint16_t)(getpid() & 0xffff);
    struct icmp_filter filt = {.data = ~0u};
    struct sigaction sa;
    int raw, pkt, i;
    FILE *out;

    if (argc < 4) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (inet_pton(AF_INET, argv[2], &target) != 1) {
        fprintf(stderr, "ferry-probe: '%s' is not an IPv4 address\n", argv[2]);
        return EXIT_USAGE;
    }
    for (i = 4; i < argc; i += 2) {
        uint64_t *dst = !strcmp(argv[i], "--interval-ms") ? &interval_ms
                        : !strcmp(argv[i], "--max-seconds") ? &max_s
                                                            : NULL;
        if (!dst || i + 1 >= argc || !parse_u64_str(argv[i + 1], dst) || *dst == 0) {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    pkt = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
    if (raw < 0 || pkt < 0) {
        fprintf(stderr, "ferry-probe: raw/packet socket: %s (needs root)\n", strerror(errno));
        return EXIT_NO;
    }
    /* the raw socket only sends: it would otherwise queue a copy of every ICMP packet */
    if (setsockopt(raw, SOL_RAW, ICMP_FILTER, &filt, sizeof filt) < 0) {
        fprintf(stderr, "ferry-probe: ICMP_FILTER: %s\n", strerror(errno));
        return EXIT_NO;
    }
    out = fopen(argv[3], "ae");
    if (!out) {
        fprintf(stderr, "ferry-probe: %s: %s\n", argv[3], strerror(errno));
        return EXIT_NO;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = probe_on_signal; /* no SA_RESTART: ppoll returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fprintf(out, "# %" PRIu64 " ferry-probe ping %s interval_ms=%" PRIu64 " pid=%d\n",
            clock_ns(CLOCK_REALTIME) / 1000, argv[2], interval_ms, (int)getpid());
    fflush(out);

    next = clock_ns(CLOCK_MONOTONIC);
    end = next + max_s * 1000000000u;
    while (!probe_stop) {
        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        if (now >= end)
            break;
        if (now >= next) {
            struct {
                struct icmphdr h;
                struct probe_payload p;
            } msg;
            struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = target};
            memset(&msg, 0, sizeof msg);
            msg.h.type = ICMP_ECHO;
            msg.h.un.echo.id = htons(ident);
            msg.h.un.echo.sequence = htons((uint16_t)seq);
            memcpy(msg.p.magic, PROBE_MAGIC, sizeof msg.p.magic);
            msg.p.seq = seq;
            msg.p.pid = (uint32_t)getpid();
            msg.p.mono_ns = clock_ns(CLOCK_MONOTONIC);
            msg.h.checksum = icmp_cksum(&msg, sizeof msg);
            if (sendto(raw, &msg, sizeof msg, 0, (const struct sockaddr *)&to, sizeof to) < 0)
                fprintf(out, "%" PRIu64 " S %" PRIu64 " err=%s\n", clock_ns(CLOCK_REALTIME) / 1000, seq,
                        strerrorname_np(errno) ? strerrorname_np(errno) : "?");
            else
                fprintf(out, "%" PRIu64 " S %" PRIu64 "\n", clock_ns(CLOCK_REALTIME) / 1000, seq);
            fflush(out);
            seq++;
            /* fixed schedule; slots missed while we were not scheduled are skipped */
            next += interval_ms * 1000000u;
            now = clock_ns(CLOCK_MONOTONIC);
            while (next <= now)
                next += interval_ms * 1000000u;
        }
        struct timespec ts = {.tv_sec = (time_t)((next - now) / 1000000000u),
                              .tv_nsec = (long)((next - now) % 1000000000u)};
        struct pollfd pfd = {.fd = pkt, .events = POLLIN};
        int r = ppoll(&pfd, 1, &ts, NULL);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "ferry-probe: poll: %s\n", strerror(errno));
            break;
        }
        if (r > 0) {
            uint8_t buf[2048];
            struct sockaddr_ll ll;
            socklen_t ll_len;
            ssize_t n;
            for (;;) {
                ll_len = sizeof ll;
                n = recvfrom(pkt, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&ll, &ll_len);
                if (n < 0)
                    break;
                probe_packet(buf, (size_t)n, &ll, target, ident, out);
            }
        }
    }
    fprintf(out, "# %" PRIu64 " ferry-probe end sent=%" PRIu64 "\n", clock_ns(CLOCK_REALTIME) / 1000, seq);
    fclose(out);
    return EXIT_OK;
}

/* ---- log analysis ---------------------------------------------------------- */

struct line {
    uint64_t us, seq, rtt_us;
    char kind; /* 'S' sent, 'E' send error, 'R' reply */
    char ip[INET_ADDRSTRLEN], mac[18];
};

static bool line_parse(const char *s, struct line *l)
{
    char kind[4], a[64] = "", b[64] = "";
    unsigned long long us, seq, rtt = 0;
    int n;

    memset(l, 0, sizeof *l);
    if (*s == '#')
        return false;
    n = sscanf(s, "%llu %3s %llu %63s %63s %llu", &us, kind, &seq, a, b, &rtt);
    if (n < 3)
        return false;
    l->us = us;
    l->seq = seq;
    if (!strcmp(kind, "S")) {
        l->kind = n >= 4 && !strncmp(a, "err=", 4) ? 'E' : 'S';
        return true;
    }
    if (!strcmp(kind, "R") && n == 6) {
        l->kind = 'R';
        l->rtt_us = rtt;
        snprintf(l->ip, sizeof l->ip, "%s", a);
        snprintf(l->mac, sizeof l->mac, "%s", b);
        return true;
    }
    return false;
}

typedef void (*line_cb)(void *ctx, const struct line *l);

/* calls CB for every complete, well-formed line; false if the file cannot be read */
static bool log_scan(const char *path, line_cb cb, void *ctx)
{
    char buf[PROBE_LINE_MAX];
    struct line l;
    FILE *f = fopen(path, "re");

    if (!f)
        return false;
    while (fgets(buf, sizeof buf, f)) {
        size_t len = strlen(buf);
        if (len == 0 || buf[len - 1] != '\n')
            break; /* a line still being written */
        if (line_parse(buf, &l))
            cb(ctx, &l);
    }
    fclose(f);
    return true;
}

struct counted {
    char key[INET_ADDRSTRLEN > 18 ? INET_ADDRSTRLEN : 18];
    uint64_t n;
};

static void count_key(struct counted *tab, int *used, const char *key)
{
    int i;
    for (i = 0; i < *used; i++)
        if (!strcmp(tab[i].key, key)) {
            tab[i].n++;
            return;
        }
    if (*used < PROBE_MAX_MACS) {
        snprintf(tab[*used].key, sizeof tab[*used].key, "%s", key);
        tab[(*used)++].n = 1;
    }
}

struct report {
    uint64_t since_us, until_us; /* 0 = from the log */
    const char *mac;
    /* pass 1 */
    uint64_t first_sent_us, last_us;
    bool any_sent;
    /* pass 2 */
    uint8_t *answered; /* by seq: 1 sent in window, 2 answered */
    uint64_t cap, seq_lo, seq_hi;
    bool any_seq;
    uint64_t sent, send_errors, replies, foreign, rtt_max_us;
    uint64_t first_reply_us, last_reply_us, prev_us, gap_us, gap_from_us, gap_to_us;
    bool gap_open;
    struct counted macs[PROBE_MAX_MACS], ips[PROBE_MAX_MACS];
    int n_macs, n_ips;
};

static void pass1_cb(void *ctx, const struct line *l)
{
    struct report *r = ctx;
    if (l->us > r->last_us)
        r->last_us = l->us;
    if (l->kind != 'S' && l->kind != 'E')
        return;
    if (!r->any_sent)
        r->first_sent_us = l->us;
    r->any_sent = true;
}

static bool mark(struct report *r, uint64_t seq, uint8_t v)
{
    if (seq >= r->cap) {
        uint64_t cap = r->cap ? r->cap : 4096;
        uint8_t *p;
        while (cap <= seq)
            cap *= 2;
        p = realloc(r->answered, cap);
        if (!p)
            return false;
        memset(p + r->cap, 0, cap - r->cap);
        r->answered = p;
        r->cap = cap;
    }
    if (v == 1 || r->answered[seq] == 1)
        r->answered[seq] = v;
    return true;
}

static void pass2_cb(void *ctx, const struct line *l)
{
    struct report *r = ctx;
    uint64_t gap;

    /* a request sent in the window counts as answered whenever its reply came */
    if (l->kind == 'R' && l->seq < r->cap)
        mark(r, l->seq, 2);
    if (l->us < r->since_us || l->us > r->until_us)
        return;
    if (l->kind == 'S' || l->kind == 'E') {
        r->sent++;
        if (l->kind == 'E')
            r->send_errors++;
        if (!mark(r, l->seq, 1))
            return;
        if (!r->any_seq || l->seq < r->seq_lo)
            r->seq_lo = l->seq;
        if (!r->any_seq || l->seq > r->seq_hi)
            r->seq_hi = l->seq;
        r->any_seq = true;
        return;
    }
    /* a reply */
    if (!r->replies)
        r->first_reply_us = l->us;
    r->last_reply_us = l->us;
    r->replies++;
    if (l->rtt_us > r->rtt_max_us)
        r->rtt_max_us = l->rtt_us;
    if (r->mac && strcmp(l->mac, r->mac))
        r->foreign++;
    count_key(r->macs, &r->n_macs, l->mac);
    count_key(r->ips, &r->n_ips, l->ip);
    gap = l->us > r->prev_us ? l->us - r->prev_us : 0;
    if (gap > r->gap_us) {
        r->gap_us = gap;
        r->gap_from_us = r->prev_us;
        r->gap_to_us = l->us;
    }
    r->prev_us = l->us;
}

static uint64_t ms_round(uint64_t us) { return (us + 500) / 1000; }

static void print_counted(const char *key, const struct counted *tab, int n)
{
    int i;
    printf("%s=", key);
    for (i = 0; i < n; i++)
        printf("%s%s/%" PRIu64, i ? "," : "", tab[i].key, tab[i].n);
    printf("\n");
}

struct opts {
    uint64_t since_ms, until_ms, count, timeout_ms;
    bool has_since, has_until, has_count, has_timeout;
    char mac[18];
    bool has_mac;
};

static bool opts_parse(int argc, char **argv, int first, bool wait, struct opts *o)
{
    int i;
    memset(o, 0, sizeof *o);
    for (i = first; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return false;
        if (!strcmp(k, "--since") && parse_u64_str(v, &o->since_ms))
            o->has_since = true;
        else if (!wait && !strcmp(k, "--until") && parse_u64_str(v, &o->until_ms))
            o->has_until = true;
        else if (!strcmp(k, "--mac") && parse_mac(v, o->mac))
            o->has_mac = true;
        else if (wait && !strcmp(k, "--count") && parse_u64_str(v, &o->count))
            o->has_count = true;
        else if (wait && !strcmp(k, "--timeout-ms") && parse_u64_str(v, &o->timeout_ms))
            o->has_timeout = true;
        else
            return false;
    }
    return !wait || (o->has_count && o->has_timeout);
}

static int cmd_report(int argc, char **argv)
{
    struct report r;
    struct opts o;
    uint64_t seq, lost = 0, run = 0, run_max = 0, replied = 0, tail;

    if (argc < 3 || !opts_parse(argc, argv, 3, false, &o)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    memset(&r, 0, sizeof r);
    if (!log_scan(argv[2], pass1_cb, &r)) {
        fprintf(stderr, "ferry-probe: %s: %s\n", argv[2], strerror(errno));
        return EXIT_NO;
    }
    r.since_us = o.has_since ? o.since_ms * 1000 : r.first_sent_us;
    r.until_us = o.has_until ? o.until_ms * 1000 : (r.any_sent ? r.last_us : UINT64_MAX);
    r.mac = o.has_mac ? o.mac : NULL;
    r.prev_us = r.since_us;
    log_scan(argv[2], pass2_cb, &r);
    /* the window's end counts as an edge: a guest that stopped answering has an open gap */
    if (r.until_us != UINT64_MAX && r.until_us > r.prev_us && r.until_us - r.prev_us > r.gap_us) {
        r.gap_us = r.until_us - r.prev_us;
        r.gap_from_us = r.prev_us;
        r.gap_to_us = r.until_us;
        r.gap_open = true;
    }
    for (seq = r.seq_lo; r.any_seq && seq <= r.seq_hi; seq++) {
        if (r.answered[seq] == 0)
            continue; /* not sent in the window */
        if (r.answered[seq] == 2) {
            replied++;
            run = 0;
        } else {
            lost++;
            if (++run > run_max)
                run_max = run;
        }
    }
    tail = r.until_us == UINT64_MAX ? 0 : r.until_us;
    printf("since_ms=%" PRIu64 "\nuntil_ms=%" PRIu64 "\n", r.since_us / 1000, tail / 1000);
    printf("sent=%" PRIu64 "\nreplied=%" PRIu64 "\nlost=%" PRIu64 "\nlost_run_max=%" PRIu64 "\n", r.sent, replied,
           lost, run_max);
    printf("replies=%" PRIu64 "\nsend_errors=%" PRIu64 "\n", r.replies, r.send_errors);
    printf("first_reply_ms=%" PRIu64 "\nlast_reply_ms=%" PRIu64 "\n", r.first_reply_us / 1000,
           r.last_reply_us / 1000);
    printf("max_gap_ms=%" PRIu64 "\nmax_gap_from_ms=%" PRIu64 "\nmax_gap_to_ms=%" PRIu64 "\nmax_gap_open=%d\n",
           ms_round(r.gap_us), r.gap_from_us / 1000, r.gap_to_us / 1000, r.gap_open ? 1 : 0);
    printf("rtt_max_us=%" PRIu64 "\n", r.rtt_max_us);
    print_counted("macs", r.macs, r.n_macs);
    print_counted("ips", r.ips, r.n_ips);
    if (r.mac)
        printf("foreign=%" PRIu64 "\n", r.foreign);
    free(r.answered);
    return r.replies ? EXIT_OK : EXIT_NO;
}

struct wait_ctx {
    uint64_t since_us, n;
    const char *mac;
};

static void wait_cb(void *ctx, const struct line *l)
{
    struct wait_ctx *w = ctx;
    if (l->kind == 'R' && l->us >= w->since_us && (!w->mac || !strcmp(l->mac, w->mac)))
        w->n++;
}

static int cmd_wait(int argc, char **argv)
{
    struct opts o;
    uint64_t deadline;

    if (argc < 3 || !opts_parse(argc, argv, 3, true, &o)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    deadline = clock_ns(CLOCK_MONOTONIC) / 1000000 + o.timeout_ms;
    for (;;) {
        struct wait_ctx w = {.since_us = o.since_ms * 1000, .mac = o.has_mac ? o.mac : NULL};
        log_scan(argv[2], wait_cb, &w);
        if (w.n >= o.count)
            return EXIT_OK;
        if (clock_ns(CLOCK_MONOTONIC) / 1000000 >= deadline)
            return EXIT_NO;
        poll(NULL, 0, PROBE_WAIT_POLL_MS);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "ping"))
        return cmd_ping(argc, argv);
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
