/* linkspeed.h — migration_speed=auto: RHV's "auto" bandwidth on Pacemaker.
 *
 * The migration stream's bandwidth is capped at the slower of the two hosts'
 * link speeds of the interface the stream uses, shared by the migrations a
 * node may run at once (the cluster property migration-limit):
 *   local:  the interface the kernel routes the target's migration address
 *           through (a connected UDP socket's source address, no packet
 *           sent), and its /sys/class/net/IF/speed;
 *   target: the interface of the same name, from libvirt's node device XML
 *           over the connection the migration already has (its <link
 *           speed=.../>) — a migration network has the same interface name
 *           on every node, as RHV's logical networks do;
 *   limit:  crm_attribute --type crm_config --name migration-limit (one
 *           process, at migrate_to only: Pacemaker passes no cluster property
 *           to an agent).
 * A speed nobody reports gives no limit (the caller warns).
 */
#ifndef FERRY_LINKSPEED_H
#define FERRY_LINKSPEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadline.h"
#include "error.h"
#include "virt.h"

#define LINKSPEED_UNKNOWN (-1)
#define LINKSPEED_SYSFS_NET "/sys/class/net"
#define LINKSPEED_MIGRATION_LIMIT "migration-limit"

/* What migration_speed=auto found and chose, for the log line. */
struct linkspeed_choice {
    char ifname[64];        /* the local interface ("" if the route lookup failed) */
    int64_t local_mbps;     /* LINKSPEED_UNKNOWN if not known */
    int64_t remote_mbps;
    int64_t limit;          /* migration-limit; -1: none (Pacemaker's default), 0: not known */
    int64_t bandwidth_mib_s;    /* the choice; 0: no limit */
    char why[512];          /* "" or why a figure is missing (a warning for the log) */
};

/* Works out migration_speed=auto for a stream to stream_host (the migration
 * address: linkspeed_uri_host of the data URI, else the target's libvirt
 * host), the target's speed over dst. Never fails: what cannot be found is
 * said in ret->why, and an unknown speed gives no limit. pacemaker: whether
 * to ask for migration-limit (no cluster, no limit to share). */
void linkspeed_auto(virt_conn *dst, const char *stream_host, bool pacemaker, const deadline *dl,
                    struct linkspeed_choice *ret);

/* The bandwidth in MiB/s for links of local_mbps and remote_mbps (Mb/s, 10^6
 * bit/s) shared by limit migrations (<= 0: one): at least 1; 0 (no limit)
 * when either speed is LINKSPEED_UNKNOWN. */
int64_t linkspeed_choose_mib_s(int64_t local_mbps, int64_t remote_mbps, int64_t limit);

/* The host part of a URI (tcp://host:port, qemu+ssh://user@host/system,
 * tcp://[v6]:port) into buf. -EINVAL if it has none, -ENAMETOOLONG. */
int linkspeed_uri_host(const char *uri, char *buf, size_t size);

/* The local interface the kernel would send to host through (host: a name
 * or an address). FERRY_E_STATE with the reason if it cannot be found. */
int linkspeed_route_interface(const char *host, char *ret_ifname, size_t size, ferry_error **err);

/* sysfs_net/IF/speed in Mb/s; LINKSPEED_UNKNOWN when the file is missing,
 * unreadable or not positive (a link that is down, lo). -EINVAL for a bad name. */
int linkspeed_sysfs_mbps(const char *sysfs_net, const char *ifname, int64_t *ret_mbps);

/* The cluster property migration-limit, by program (crm_attribute; the tests
 * pass a stand-in): -1 when unset. FERRY_E_STATE if it cannot be read. */
int linkspeed_migration_limit(const char *program, const deadline *dl, int64_t *ret_limit,
                              ferry_error **err);

#endif
