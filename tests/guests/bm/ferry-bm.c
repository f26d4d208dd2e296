/* ferry-bm: bare-metal multiboot test guest for ferry.
 *
 * A 32-bit, paging-off, interrupt-free guest that runs under QEMU TCG and under
 * kvm-pvm (where an unmodified Linux kernel does not boot).  It ignores ACPI
 * entirely, so it is also the "guest that ignores the power button".
 *
 * Command line (multiboot; QEMU prepends the kernel path, unknown tokens are
 * ignored):
 *     id=<name> dirty=<MiB> rate=<MiB/s, 0 = unlimited> tick=<ms, default 20>
 *
 * Output:
 *   COM2 (0x2F8), every tick:   "T<seq> <guest_ms> bad=<n> g=<id>\n"
 *   COM1 (0x3F8), about 1/s:    a human-readable status line
 *
 * Working set: <dirty> MiB starting at 4 MiB.  Each write pass stores one
 * non-zero 32-bit word per 4 KiB page, with a value that depends on the page
 * and on the pass number (so every pass really dirties every page, and zero
 * pages, which migration sends for free, never occur).  Each write pass is
 * followed by a verify pass that re-reads every page; mismatches add to the
 * cumulative bad= counter.  A migration that loses a dirty page shows up as
 * bad > 0 on the destination.
 *
 * Time: rdtsc, calibrated once against PIT channel 2 at boot. */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP (1u << 6)

#define COM1 0x3F8
#define COM2 0x2F8

#define PAGE_SIZE 4096u
#define PAGES_PER_MIB 256u
#define WORK_BASE (4u << 20)        /* working set starts here */
#define WORK_TOP_MARGIN (1u << 20)  /* left free below the end of RAM */
#define CHUNK_PAGES 64u             /* pages per work step between clock checks */

#define PIT_HZ 1193182u
#define CALIB_MS 50u
#define CALIB_ROUNDS 3
#define FALLBACK_TSC_KHZ 2000000u

#define ID_MAX 32

extern char _end[];

struct mb_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline;
    u32 mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
};

struct mb_mmap_entry {
    u32 size;
    u32 addr_lo, addr_hi, len_lo, len_hi;
    u32 type;
} __attribute__((packed));

struct bm_config {
    char id[ID_MAX + 1];
    u32 dirty_mib;
    u32 rate_mib_s;
    u32 tick_ms;
};

struct line {
    char buf[160];
    u32 len;
};

/* ---- port I/O, TSC ---------------------------------------------------- */

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static inline void cpu_relax(void) { __asm__ volatile("pause"); }

/* ---- 64-bit arithmetic without libgcc --------------------------------- */

/* n / d for a 32-bit divisor, using two hardware divl steps. */
static u64 div64_32(u64 n, u32 d, u32 *ret_rem)
{
    u32 hi = (u32)(n >> 32), lo = (u32)n, qhi, qlo, rem;

    qhi = hi / d;
    hi %= d;
    __asm__("divl %4" : "=a"(qlo), "=d"(rem) : "a"(lo), "d"(hi), "rm"(d));
    if (ret_rem)
        *ret_rem = rem;
    return ((u64)qhi << 32) | qlo;
}

/* ---- serial ------------------------------------------------------------ */

static void serial_init(u16 port)
{
    outb(port + 1, 0x00); /* no interrupts */
    outb(port + 3, 0x80); /* DLAB */
    outb(port + 0, 0x01); /* divisor 1: 115200 baud */
    outb(port + 1, 0x00);
    outb(port + 3, 0x03); /* 8N1 */
    outb(port + 2, 0x07); /* FIFO on, cleared */
    outb(port + 4, 0x03); /* DTR, RTS */
}

static void serial_write(u16 port, const char *s, u32 len)
{
    for (u32 i = 0; i < len; i++) {
        /* wait (bounded) for the transmit holding register to empty */
        for (u32 spin = 0; spin < 100000 && !(inb(port + 5) & 0x20); spin++)
            cpu_relax();
        outb(port, (u8)s[i]);
    }
}

static void line_str(struct line *l, const char *s)
{
    while (*s && l->len < sizeof l->buf)
        l->buf[l->len++] = *s++;
}

static void line_u64(struct line *l, u64 v)
{
    char tmp[24];
    u32 n = 0, rem;

    do {
        v = div64_32(v, 10, &rem);
        tmp[n++] = (char)('0' + rem);
    } while (v);
    while (n && l->len < sizeof l->buf)
        l->buf[l->len++] = tmp[--n];
}

static void line_hex(struct line *l, u32 v)
{
    line_str(l, "0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        if (l->len < sizeof l->buf)
            l->buf[l->len++] = "0123456789abcdef"[(v >> shift) & 0xF];
}

static void line_send(struct line *l, u16 port)
{
    serial_write(port, l->buf, l->len);
    l->len = 0;
}

/* ---- command line ------------------------------------------------------ */

static int key_is(const char *tok, u32 len, const char *key, const char **ret_val)
{
    u32 i = 0;

    while (key[i] && i < len && tok[i] == key[i])
        i++;
    if (key[i] || i >= len || tok[i] != '=')
        return 0;
    *ret_val = tok + i + 1;
    return 1;
}

static u32 parse_u32(const char *s, const char *end, u32 def)
{
    u32 v = 0;

    if (s >= end)
        return def;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return def;
        if (v > 100000000u)
            return def;
        v = v * 10 + (u32)(*s - '0');
    }
    return v;
}

static void config_parse(struct bm_config *cfg, const char *cmd)
{
    cfg->id[0] = '?';
    cfg->id[1] = 0;
    cfg->dirty_mib = 0;
    cfg->rate_mib_s = 0;
    cfg->tick_ms = 20;
    if (!cmd)
        return;
    while (*cmd) {
        const char *tok, *val, *end;
        u32 len;

        while (*cmd == ' ' || *cmd == '\t')
            cmd++;
        tok = cmd;
        while (*cmd && *cmd != ' ' && *cmd != '\t')
            cmd++;
        end = cmd;
        len = (u32)(end - tok);
        if (!len)
            continue;
        if (key_is(tok, len, "id", &val)) {
            u32 n = 0;
            for (; val < end && n < ID_MAX; val++, n++) {
                char c = *val;
                int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '-' || c == '_' || c == '.';
                cfg->id[n] = ok ? c : '_';
            }
            cfg->id[n ? n : 1] = 0;
        } else if (key_is(tok, len, "dirty", &val)) {
            cfg->dirty_mib = parse_u32(val, end, 0);
        } else if (key_is(tok, len, "rate", &val)) {
            cfg->rate_mib_s = parse_u32(val, end, 0);
        } else if (key_is(tok, len, "tick", &val)) {
            cfg->tick_ms = parse_u32(val, end, 20);
        }
    }
    if (cfg->tick_ms < 1)
        cfg->tick_ms = 1;
    if (cfg->tick_ms > 60000)
        cfg->tick_ms = 60000;
}

/* ---- memory ------------------------------------------------------------ */

/* End (exclusive) of the usable RAM region that contains `base`. */
static u32 ram_end_for(const struct mb_info *mbi, u32 base)
{
    if (mbi && (mbi->flags & MB_INFO_MMAP)) {
        u32 p = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;

        while (p < end) {
            const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
            if (e->type == 1 && !e->addr_hi && e->addr_lo <= base) {
                u64 top = (u64)e->addr_lo + (((u64)e->len_hi << 32) | e->len_lo);
                if (top > base)
                    return top > 0xFFFFF000ull ? 0xFFFFF000u : (u32)top;
            }
            p += e->size + 4;
        }
    }
    if (mbi && (mbi->flags & MB_INFO_MEM))
        return (1u << 20) + mbi->mem_upper * 1024u;
    return 0;
}

static inline u32 pattern(u32 gen, u32 page)
{
    return ((gen * 0x9E3779B1u) ^ (page * 0x85EBCA77u)) | 1u; /* never zero */
}

/* ---- time -------------------------------------------------------------- */

/* TSC ticks per millisecond measured against PIT channel 2 (the method Linux
 * uses in pit_calibrate_tsc), best of a few rounds; 0 if the PIT never fired. */
static u32 tsc_calibrate_khz(void)
{
    const u32 latch = PIT_HZ * CALIB_MS / 1000;
    u64 best = 0;

    for (int round = 0; round < CALIB_ROUNDS; round++) {
        u64 t0, t1;
        u32 spins = 0;

        outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01)); /* gate high, speaker off */
        outb(0x43, 0xB0);                            /* ch2, lo/hi, mode 0 */
        outb(0x42, (u8)(latch & 0xFF));
        outb(0x42, (u8)(latch >> 8));
        t0 = rdtsc();
        while (!(inb(0x61) & 0x20)) {
            if (++spins > 50000000u)
                return 0;
        }
        t1 = rdtsc();
        if (!best || t1 - t0 < best)
            best = t1 - t0;
    }
    /* kHz = ticks / (latch / PIT_HZ) / 1000 = ticks * PIT_HZ / (latch * 1000) */
    return (u32)div64_32(div64_32(best * PIT_HZ, latch, 0), 1000, 0);
}

/* ---- main -------------------------------------------------------------- */

void bm_main(u32 magic, const struct mb_info *mbi);

void bm_main(u32 magic, const struct mb_info *mbi)
{
    struct bm_config cfg;
    struct line l = { .len = 0 };
    const char *cmd = 0;
    char cmdcopy[512];
    u32 tsc_khz, base, limit, pages, max_pages;
    u64 t0, tsc_per_tick, next_tick, next_status, chunk_tsc = 0, next_write = 0;
    u64 seq = 0, dirtied_pages = 0, bad = 0;
    u32 pos = 0, gen = 1, verifying = 0;
    volatile u32 *work;

    serial_init(COM1);
    serial_init(COM2);

    if (magic != MB_BOOT_MAGIC)
        mbi = 0;
    if (mbi && (mbi->flags & MB_INFO_CMDLINE)) {
        const char *src = (const char *)mbi->cmdline;
        u32 n = 0;
        while (src[n] && n < sizeof cmdcopy - 1) {
            cmdcopy[n] = src[n];
            n++;
        }
        cmdcopy[n] = 0;
        cmd = cmdcopy;
    }
    config_parse(&cfg, cmd);

    base = ((u32)_end + (1u << 20) - 1) & ~((1u << 20) - 1);
    if (base < WORK_BASE)
        base = WORK_BASE;
    limit = ram_end_for(mbi, base);
    max_pages = limit > base + WORK_TOP_MARGIN ? (limit - base - WORK_TOP_MARGIN) / PAGE_SIZE : 0;
    pages = cfg.dirty_mib * PAGES_PER_MIB;
    if (pages > max_pages)
        pages = max_pages & ~(PAGES_PER_MIB - 1);
    work = (volatile u32 *)base;

    tsc_khz = tsc_calibrate_khz();
    line_str(&l, "ferry-bm: id=");
    line_str(&l, cfg.id);
    line_str(&l, " dirty=");
    line_u64(&l, pages / PAGES_PER_MIB);
    line_str(&l, "MiB");
    if (pages != cfg.dirty_mib * PAGES_PER_MIB) {
        line_str(&l, " (asked ");
        line_u64(&l, cfg.dirty_mib);
        line_str(&l, "MiB, RAM too small)");
    }
    line_str(&l, " rate=");
    line_u64(&l, cfg.rate_mib_s);
    line_str(&l, "MiB/s tick=");
    line_u64(&l, cfg.tick_ms);
    line_str(&l, "ms base=");
    line_hex(&l, base);
    line_str(&l, " ram_end=");
    line_hex(&l, limit);
    line_str(&l, " tsc_khz=");
    if (!tsc_khz) {
        tsc_khz = FALLBACK_TSC_KHZ;
        line_str(&l, "fallback:");
    }
    line_u64(&l, tsc_khz);
    line_str(&l, "\n");
    line_send(&l, COM1);

    tsc_per_tick = (u64)tsc_khz * cfg.tick_ms;
    if (cfg.rate_mib_s && pages) /* TSC ticks one chunk of writes may take */
        chunk_tsc = div64_32((u64)tsc_khz * 1000u * CHUNK_PAGES, cfg.rate_mib_s * PAGES_PER_MIB, 0);

    t0 = rdtsc();
    next_tick = t0;
    next_status = t0;
    next_write = t0;

    for (;;) {
        u64 t = rdtsc();

        if (t >= next_tick) {
            line_str(&l, "T");
            line_u64(&l, seq);
            line_str(&l, " ");
            line_u64(&l, div64_32(t - t0, tsc_khz, 0));
            line_str(&l, " bad=");
            line_u64(&l, bad);
            line_str(&l, " g=");
            line_str(&l, cfg.id);
            line_str(&l, "\n");
            line_send(&l, COM2);
            seq++;
            next_tick += tsc_per_tick;
            if (next_tick <= t) /* fell behind (e.g. vCPU paused): skip, don't burst */
                next_tick = t + tsc_per_tick;
        }
        if (t >= next_status) {
            line_str(&l, "ferry-bm g=");
            line_str(&l, cfg.id);
            line_str(&l, " up_ms=");
            line_u64(&l, div64_32(t - t0, tsc_khz, 0));
            line_str(&l, " seq=");
            line_u64(&l, seq);
            line_str(&l, " gen=");
            line_u64(&l, gen);
            line_str(&l, " dirtied_mib=");
            line_u64(&l, dirtied_pages / PAGES_PER_MIB);
            line_str(&l, " bad=");
            line_u64(&l, bad);
            line_str(&l, "\n");
            line_send(&l, COM1);
            next_status += (u64)tsc_khz * 1000u;
            if (next_status <= t)
                next_status = t + (u64)tsc_khz * 1000u;
        }
        if (!pages) {
            cpu_relax();
            continue;
        }
        if (!verifying && chunk_tsc) {
            if (t < next_write) {
                cpu_relax();
                continue;
            }
            next_write += chunk_tsc;
            if (next_write + tsc_per_tick < t) /* no credit for time we were stopped */
                next_write = t;
        }
        for (u32 i = 0; i < CHUNK_PAGES; i++) {
            volatile u32 *w = work + pos * (PAGE_SIZE / 4);
            if (!verifying) {
                *w = pattern(gen, pos);
                dirtied_pages++;
            } else if (*w != pattern(gen, pos))
                bad++;
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
