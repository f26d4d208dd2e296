/* state.h — what this node remembers about a resource between actions.
 *
 * One small file per resource, $HA_RSCTMP/ferry-vm-<instance>.state, written
 * atomically (temporary file, rename). It holds the domain's identity as last
 * started here (so monitor and stop stay exact while the config file is
 * unreadable), a fingerprint of the domain's persistent definition as last
 * seen (so a changed definition is noticed without rewriting the config file
 * every time), when the domain arrived here (so a stop can date a snapshot
 * image against this node's copy of the guest), and the utilization last
 * published to the CIB (so the CIB is written only when a value changes).
 */
#ifndef FERRY_STATE_H
#define FERRY_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "params.h"

struct ferry_state {
    char name[256];            /* "" if unknown */
    char uuid[40];
    char config[1024];         /* the config file that named it at start, "" if none (or longer) */
    bool def_known;            /* def_hash is set */
    uint64_t def_hash;         /* state_hash() of the persistent definition; 0: none (transient) */
    int64_t util_cpu;          /* last value published (or tried); -1: none */
    int64_t util_hv_memory_mib;
    int64_t util_vms;
    int64_t util_retry_after_s;  /* CLOCK_REALTIME s: a failed publication waits until then */
    int64_t started_ms;          /* CLOCK_REALTIME ms when the domain arrived here; 0: unknown */
};

/* An empty state: nothing known. */
void state_init(struct ferry_state *st);

/* Reads the resource's state; a missing file gives an empty state and -ENOENT. */
int state_load(const struct ferry_params *p, struct ferry_state *st);

/* Writes it atomically: a new file (O_EXCL, unpredictable name, mode 0600) in
 * the state directory, fsync, rename. -errno on failure (the caller logs,
 * nothing fails). */
int state_save(const struct ferry_params *p, const struct ferry_state *st);

/* True if a and b hold the same state (field by field: the struct has padding,
 * and bytes after the strings' NULs, that memcmp would compare). */
bool state_equal(const struct ferry_state *a, const struct ferry_state *b);

/* The path of one of this resource's files: $state_dir/ferry-vm-<instance><suffix>
 * ('/' in the instance replaced); -EINVAL without an instance. */
int state_path_suffix(const struct ferry_params *p, const char *suffix, char *buf, size_t size);

/* 64-bit FNV-1a of text; never 0 (0 means "no definition"). */
uint64_t state_hash(const char *text);

/* CLOCK_REALTIME in ms, comparable with a file's modification time (started_ms). */
int64_t state_realtime_ms(void);

#endif
