/* migrate-priv.h — migrate's seams for the tests (libvirt's *priv.h
 * convention): the pure pre-flight rules and the policy's decision
 * function. Not for other modules. */
#ifndef FERRY_MIGRATE_PRIV_H
#define FERRY_MIGRATE_PRIV_H

#include "migrate.h"

/* Replaces every %n in pattern by node (newly allocated). */
char *migrate_expand(const char *pattern, const char *node);

/* Disks that make a migration unsafe, by libvirt 9.0's rule (a writable file
 * that is not on a shared filesystem, or an NVMe device; network disks, block
 * devices and any cache mode are libvirt's to judge). Returns 0 if safe,
 * FERRY_E_STATE naming the first unsafe disk otherwise. */
int migrate_check_disks(const domxml *dom, ferry_error **err);

/* True if the filesystem holding path (or, if path cannot be looked at, its
 * nearest parent) is one libvirt treats as shared. */
bool migrate_path_is_shared(const char *path);

/* Does a guest of need_kib fit in the target's free memory, buffers and page
 * cache (free alone when the driver gives no statistics)? */
bool migrate_memory_fits(uint64_t need_kib, const struct virt_node_memory *mem);

/* Does a guest of need_kib fit in free_pages huge pages of page_kib? */
bool migrate_hugepages_fit(uint64_t need_kib, uint64_t page_kib, uint64_t free_pages);

/* Is the guest's CPU worth comparing with the target's (a KVM guest with a
 * named CPU model)? If not, *ret_why says why. */
bool migrate_cpu_compare_wanted(const domxml *dom, const char **ret_why);

/* Records the data left to copy at now_ms (a new low is progress). */
void migrate_watch_progress(struct migrate_watch *w, uint64_t data_remaining, int64_t now_ms);

/* We paused the guest at now_ms: the paused copy gets a stall timeout of its
 * own and the reserve up to giveup_at_ms. */
void migrate_watch_suspended(struct migrate_watch *w, int64_t now_ms);

/* The watcher acted at now_ms and libvirt answered ok or not: what it did
 * counts only if it happened (a refused post-copy switch falls back to
 * pausing the guest; it is not "post-copy, nothing more to do"). */
void migrate_watch_acted(struct migrate_watch *w, enum migrate_action act, bool ok,
                         int64_t now_ms);

/* What the policy says to do now; *ret_why names the trigger. */
enum migrate_action migrate_watch_decide(const struct migrate_watch *w, int64_t now_ms,
                                         const char **ret_why);

/* What the policy does next if the copy makes no more progress from now_ms:
 * the action, when (*ret_at_ms, now_ms if it is due) and why.
 * MIGRATE_ACT_NONE when nothing is left for it to do. */
enum migrate_action migrate_watch_next(const struct migrate_watch *w, int64_t now_ms,
                                       int64_t *ret_at_ms, const char **ret_why);

/* The progress line logged every few seconds while a migration runs: data
 * copied and remaining, dirty rate, iteration, the policy's next step. */
void migrate_progress_format(const struct virt_job_stats *s, const struct migrate_watch *w,
                             int64_t now_ms, char *buf, size_t size);

#endif
