/* virt.h — the libvirt connection and the domain lifecycle.
 *
 * libvirt's own error printing is silenced (virt_init); its errors are
 * captured into a ferry_error with the libvirt message. Domains are named by
 * an identity (name and, when known, UUID); a domain found under the name but
 * with another UUID is not ours.
 */
#ifndef FERRY_VIRT_H
#define FERRY_VIRT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "deadline.h"
#include "error.h"

typedef struct virt_conn virt_conn;

enum virt_state {
    VIRT_STATE_ABSENT = 0,   /* libvirt does not know the domain */
    VIRT_STATE_SHUTOFF,      /* defined, not running */
    VIRT_STATE_RUNNING,      /* running or blocked */
    VIRT_STATE_PAUSED,
    VIRT_STATE_SHUTDOWN,     /* being shut down */
    VIRT_STATE_CRASHED,
    VIRT_STATE_PMSUSPENDED,
    VIRT_STATE_OTHER,        /* nostate, or a state this libvirt added later */
};

enum virt_paused_why {
    VIRT_PAUSED_NOT = 0,
    VIRT_PAUSED_USER,            /* virsh suspend, or unknown */
    VIRT_PAUSED_MIGRATION,       /* an outgoing (pause mode) or incoming migration */
    VIRT_PAUSED_IOERROR,         /* storage failed */
    VIRT_PAUSED_POSTCOPY,        /* post-copy migration running */
    VIRT_PAUSED_POSTCOPY_FAILED, /* post-copy failed: neither side is complete */
    VIRT_PAUSED_STARTING,        /* created paused, or waiting for an incoming migration */
    VIRT_PAUSED_OTHER,           /* save, snapshot, crash, watchdog, ... */
};

/* A domain under our name with another UUID. */
enum virt_namesake {
    VIRT_NAMESAKE_NONE = 0,
    VIRT_NAMESAKE_INACTIVE,
    VIRT_NAMESAKE_RUNNING,
};

struct virt_identity {
    const char *name;        /* required */
    const char *uuid;        /* canonical UUID, or NULL */
};

struct virt_domain_info {
    enum virt_state state;
    enum virt_paused_why paused_why;
    int reason;              /* libvirt's state reason code */
    bool persistent;
    bool uuid_mismatch;      /* a domain with our name but another UUID exists */
    bool namesake_running;   /* ... and it is active */
    char uuid[40];
    char state_text[64];     /* e.g. "paused (I/O error)" */
};

/* Once per process, before any other call: silences libvirt's stderr printing. */
int virt_init(ferry_error **err);

/* Opens uri; connection failures are FERRY_E_LIBVIRT with libvirt's message. */
int virt_conn_open(const char *uri, virt_conn **ret_conn, ferry_error **err);
virt_conn *virt_conn_close(virt_conn *conn);   /* accepts NULL, returns NULL */

/* virt_conn_open that gives up at dl (FERRY_E_TIMEOUT): for the target's
 * libvirt over ssh, which has no deadline of its own. */
int virt_conn_open_within(const char *uri, const deadline *dl, virt_conn **ret_conn,
                          ferry_error **err);
const char *virt_conn_uri(const virt_conn *conn);

/* Looks the domain up (by UUID first, then name) and reports its state. */
int virt_domain_query(virt_conn *conn, const struct virt_identity *id,
                      struct virt_domain_info *ret_info, ferry_error **err);

/* Starts a domain from XML: persistent defines it first, then starts the definition;
 * otherwise creates it transient. ret_uuid: the UUID of the domain made. */
int virt_domain_create_xml(virt_conn *conn, const char *xml, bool persistent, char ret_uuid[40],
                           ferry_error **err);

/* Starts a domain that is defined in libvirt. */
int virt_domain_start_defined(virt_conn *conn, const struct virt_identity *id, ferry_error **err);

int virt_domain_resume(virt_conn *conn, const struct virt_identity *id, ferry_error **err);
int virt_domain_pm_wakeup(virt_conn *conn, const struct virt_identity *id, ferry_error **err);

/* Asks the guest to shut down (ACPI power button or guest agent); does not wait. */
int virt_domain_shutdown(virt_conn *conn, const struct virt_identity *id, ferry_error **err);

/* Destroys the domain (libvirt: SIGTERM, then SIGKILL, waits for the process). */
int virt_domain_destroy(virt_conn *conn, const struct virt_identity *id, ferry_error **err);

/* Waits until the domain is shut off or gone, polling every poll_ms, until dl.
 * Returns 0 when inactive, FERRY_E_TIMEOUT when dl passed first. */
int virt_domain_wait_inactive(virt_conn *conn, const struct virt_identity *id,
                              const deadline *dl, int64_t poll_ms, ferry_error **err);

const char *virt_state_name(enum virt_state state);

/* Not running in any sense: absent, or defined and shut off. */
bool virt_state_inactive(enum virt_state state);

/* ---- migration primitives (the policy lives in migrate.c) ---- */

struct virt_migrate_spec {
    const char *dest_uri;         /* libvirt URI of the target (peer-to-peer) */
    const char *data_uri;         /* QEMU data URI, NULL: libvirt's choice */
    const char *persist_xml;      /* definition to persist on the target, or NULL */
    const char *compression;      /* NULL: none */
    bool live;
    bool persistent;              /* persist on the target, undefine on the source */
    bool tunnelled;
    bool tls;
    bool auto_converge;
    bool postcopy;                /* allow switching to post-copy */
    bool unsafe;
    uint64_t bandwidth_mib_s;     /* 0: unlimited */
    int parallel;                 /* > 1: that many connections */
    bool shared;                  /* managed over the caller's connection to the target
                                   * (virt_domain_migrate_shared), not peer-to-peer */
};

struct virt_job_stats {
    bool active;                  /* a job is running (pending stats) */
    int64_t elapsed_ms;
    int64_t downtime_ms;          /* -1 if not reported */
    int64_t setup_ms;             /* QEMU's setup time, -1 if not reported */
    uint64_t data_total;
    uint64_t data_processed;
    uint64_t data_remaining;
    uint64_t memory_bps;
    uint64_t dirty_rate_pages_s;
    uint64_t page_size;
    uint64_t iterations;
    int throttle_pct;             /* auto-converge CPU throttle, -1 if not reported */
    bool migrating_out;           /* the job is this domain's outgoing migration */
};

/* Migrates the domain to spec->dest_uri (peer-to-peer); blocks until done. */
int virt_domain_migrate(virt_conn *conn, const struct virt_identity *id,
                        const struct virt_migrate_spec *spec, ferry_error **err);

/* The same migration as a managed (not peer-to-peer) one over dst, a
 * connection to the target the caller already has (migration_connection=
 * shared): this process drives libvirt's phases (begin and perform on the
 * source, prepare and finish on the target, confirm on the source), so no
 * second connection to the target is opened. Not for a tunnelled migration,
 * which is always peer-to-peer (FERRY_E_CONFIG). */
int virt_domain_migrate_shared(virt_conn *conn, virt_conn *dst, const struct virt_identity *id,
                               const struct virt_migrate_spec *spec, ferry_error **err);

/* The running job's statistics, or (completed) the last finished job's. */
int virt_domain_job_stats(virt_conn *conn, const struct virt_identity *id, bool completed,
                          struct virt_job_stats *ret_stats, ferry_error **err);

int virt_domain_abort_job(virt_conn *conn, const struct virt_identity *id, ferry_error **err);
int virt_domain_suspend(virt_conn *conn, const struct virt_identity *id, ferry_error **err);
int virt_domain_start_postcopy(virt_conn *conn, const struct virt_identity *id, ferry_error **err);
int virt_domain_set_max_downtime(virt_conn *conn, const struct virt_identity *id,
                                 uint64_t downtime_ms, ferry_error **err);

/* The domain's current XML (newly allocated) and its memory size. */
int virt_domain_xml(virt_conn *conn, const struct virt_identity *id, char **ret_xml,
                    ferry_error **err);

/* Saves the domain's memory to path (libvirt's save format) and stops it. If
 * the save has not finished by dl it is aborted: FERRY_E_TIMEOUT, and the
 * domain runs on. */
int virt_domain_save(virt_conn *conn, const struct virt_identity *id, const char *path,
                     const deadline *dl, ferry_error **err);

/* The domain XML recorded in a saved image (newly allocated, free()). */
int virt_save_image_xml(virt_conn *conn, const char *path, char **ret_xml, ferry_error **err);

/* Defines (or redefines) a persistent domain from xml. */
int virt_domain_define(virt_conn *conn, const char *xml, ferry_error **err);

/* Starts the domain saved in path, running, with the definition xml (required):
 * the one inside the image is not used. libvirt checks that xml fits the saved
 * guest (same ABI: memory, devices, ...); when it does not, FERRY_E_CONFIG. */
int virt_domain_restore(virt_conn *conn, const char *path, const char *xml, ferry_error **err);

/* The domain's vCPUs and maximum memory. */
int virt_domain_size(virt_conn *conn, const struct virt_identity *id, int64_t *ret_vcpus,
                     int64_t *ret_max_mem_kib, ferry_error **err);

/* The domain's persistent definition (what its next boot uses), newly
 * allocated; *ret_xml NULL (and 0) for a transient domain. */
int virt_domain_definition(virt_conn *conn, const struct virt_identity *id, char **ret_xml,
                           ferry_error **err);

/* Removes the domain's persistent definition, if it has one (0 if not). */
int virt_domain_undefine(virt_conn *conn, const struct virt_identity *id, ferry_error **err);

/* Free memory on the connection's host, in KiB (MemFree: no page cache). */
int virt_node_free_memory_kib(virt_conn *conn, uint64_t *ret_kib, ferry_error **err);

/* The link speed in Mb/s of the host's network interface ifname, from its
 * node device (<capability type='net'><link speed=.../>): -1 when the device
 * reports none. FERRY_E_STATE if the host has no such interface. */
int virt_node_link_speed_mbps(virt_conn *conn, const char *ifname, int64_t *ret_mbps,
                              ferry_error **err);

/* ---- what a migration target offers (pre-flight) ---- */

/* Memory on the connection's host, in KiB, from libvirt's node memory
 * statistics; a driver without them gives the free memory only. */
struct virt_node_memory {
    uint64_t total_kib;
    uint64_t free_kib;
    uint64_t buffers_kib;
    uint64_t cached_kib;
};
int virt_node_memory(virt_conn *conn, struct virt_node_memory *ret_mem, ferry_error **err);

/* The huge page sizes the host offers, in KiB (the <pages> of its
 * capabilities, without the smallest, the base page): at most max of them. */
int virt_node_hugepage_sizes(virt_conn *conn, uint64_t *ret_sizes_kib, size_t max,
                             size_t *ret_count, ferry_error **err);

/* Free pages of page_kib on the host, all NUMA cells together. */
int virt_node_free_pages(virt_conn *conn, uint64_t page_kib, uint64_t *ret_pages,
                         ferry_error **err);

/* Can the host's hypervisor run the guest CPU cpu_xml (a domain's <cpu>
 * element) for arch and virt_type (either may be NULL)? libvirt's
 * virConnectCompareHypervisorCPU. 0 if it can; FERRY_E_STATE with libvirt's
 * reason (the missing features) if it cannot; -EOPNOTSUPP if the driver
 * cannot compare; FERRY_E_LIBVIRT if the comparison failed otherwise. */
int virt_cpu_compare(virt_conn *conn, const char *arch, const char *virt_type,
                     const char *cpu_xml, ferry_error **err);

#endif
