/* params.c — see params.h */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "params.h"

#define PARAMS_ENV_PREFIX "OCF_RESKEY_"
#define PARAMS_MAX_TIME_MS (24LL * 3600 * 1000)
#define PARAMS_MAX_USER_LEN 64
#define PARAMS_MAX_HOST_LEN 253
#define PARAMS_MAX_LABEL_LEN 63

/* The single source for parsing, validation and the meta-data text. The order
 * is the order of the meta-data. */
const char *const params_migrate_names[] = { "live", "pause", NULL };
const char *const params_migration_policy_names[] = {
    "pause", "abort", "auto-converge", "postcopy", NULL
};
const char *const params_migration_compression_names[] = { "none", "xbzrle", "mt", NULL };
const char *const params_migration_connection_names[] = { "p2p", "shared", NULL };

static const struct params_def params_defs[] = {
    {
        .name = PARAMS_CONFIG,
        .identity = true,
        .offset = offsetof(struct ferry_params, config),
        .type = PARAMS_TYPE_STRING,
        .unique = true,
        .shortdesc = "Domain XML file",
        .longdesc =
            "Absolute path to the libvirt domain XML that defines the virtual machine, "
            "typically on storage every cluster node can read. The domain's identity is "
            "its name and UUID in this file; the file's existence is never taken as a "
            "sign of whether the domain runs. If the file cannot be read, monitor and "
            "stop still ask libvirt about the domain (by 'name', or by the name recorded "
            "when this node last started it) instead of declaring it stopped. "
            "At least one of 'config' and 'name' must be set.",
    },
    {
        .name = PARAMS_NAME,
        .identity = true,
        .offset = offsetof(struct ferry_params, name),
        .type = PARAMS_TYPE_STRING,
        .unique = true,
        .shortdesc = "Domain name",
        .longdesc =
            "The domain's name in libvirt, as in rgmanager's vm resource. Without "
            "'config', the domain must already be defined in libvirt on every node that "
            "may run it. With 'config', it must equal the file's <name>; setting both is "
            "recommended, because it keeps monitor and stop exact even while the file is "
            "unreadable.",
    },
    {
        .name = PARAMS_HYPERVISOR,
        .identity = true,
        .offset = offsetof(struct ferry_params, hypervisor),
        .type = PARAMS_TYPE_STRING,
        .default_text = PARAMS_DEFAULT_HYPERVISOR,
        .shortdesc = "libvirt connection URI",
        .longdesc =
            "The libvirt URI of the local hypervisor, as for 'virsh -c'. Each node runs "
            "the domain in its own libvirt daemon, so this is a local URI.",
    },
    {
        .name = PARAMS_FORCE_STOP,
        .offset = offsetof(struct ferry_params, force_stop),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "false",
        .shortdesc = "Stop by destroying the domain",
        .longdesc =
            "If true, stop destroys the domain at once (like pulling the power) instead "
            "of asking the guest to shut down through ACPI first.",
    },
    {
        .name = PARAMS_SHUTDOWN_TIMEOUT,
        .offset = offsetof(struct ferry_params, shutdown_timeout_ms),
        .type = PARAMS_TYPE_TIME,
        .shortdesc = "Graceful shutdown budget",
        .longdesc =
            "How long stop waits for the guest to shut down after the ACPI request "
            "before it destroys the domain (seconds, or with a unit: 500ms, 30s, 2min). "
            "Whatever is set, stop keeps back enough of its own timeout (20 s, or half "
            "the timeout when that is shorter) to destroy the domain and verify that "
            "its QEMU process is gone, so a guest that ignores the request never makes "
            "the stop time out (which would get the node fenced). Unset: everything but "
            "that reserve.",
    },
    {
        .name = PARAMS_PERSISTENT,
        .identity = true,
        .offset = offsetof(struct ferry_params, persistent),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "false",
        .shortdesc = "Define the domain in libvirt",
        .longdesc =
            "If false (the default), start creates a transient domain from 'config': "
            "libvirt forgets it when it stops, so nothing outside the cluster (autostart, "
            "an operator's virsh start) can start a second copy on another node. If true, "
            "start (re)defines the domain from 'config' and starts the definition. A "
            "domain already defined in libvirt is never undefined by start.",
    },
    {
        .name = PARAMS_MIGRATE,
        .offset = offsetof(struct ferry_params, migrate),
        .type = PARAMS_TYPE_ENUM,
        .choices = params_migrate_names,
        .has_enum_field = true,
        .enum_offset = offsetof(struct ferry_params, migrate_mode),
        .default_text = "live",
        .shortdesc = "Migration mode: live or pause",
        .longdesc =
            "How migrate_to moves the running guest, as rgmanager's vm 'migrate': 'live' "
            "copies memory while the guest runs (an outage of milliseconds at the switch); "
            "'pause' suspends the guest for the whole copy (no guest writes to chase, so a "
            "shorter total time, but the guest is frozen throughout: the better choice for "
            "guests that dirty memory faster than the link carries it). The guest is never "
            "left paused: on any failure it runs again on the source.",
    },
    {
        .name = PARAMS_MIGRATION_MAPPING,
        .offset = offsetof(struct ferry_params, migration_mapping),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "Cluster node to migration host map",
        .longdesc =
            "node:host pairs separated by commas (rgmanager's migration_mapping), e.g. "
            "'node1:node1-mig.example.com,node2:node2-mig.example.com'. The target node "
            "Pacemaker names is looked up exactly (never as a substring); the host is where "
            "the target's libvirt is reached over ssh. A target missing from a set map is an "
            "error, not a guess. Each host is a host name, an IPv4 address or an IPv6 address "
            "in brackets ('node2:[fd00::2]'); a name starting with '-' is refused.",
    },
    {
        .name = PARAMS_MIGRATION_NETWORK_SUFFIX,
        .offset = offsetof(struct ferry_params, migration_network_suffix),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "Suffix naming a node on the migration network",
        .longdesc =
            "Added to the target node's name (after its first label: node2.example.com "
            "becomes node2-mig.example.com for '-mig') to name the host that receives the "
            "memory stream, so migration traffic uses a network of its own. Ignored when "
            "'migrateuri' is set.",
    },
    {
        .name = PARAMS_MIGRATEURI,
        .offset = offsetof(struct ferry_params, migrateuri),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "Migration data URI",
        .longdesc =
            "The URI QEMU's memory stream goes to, e.g. 'tcp://%n-mig' (%n is replaced by "
            "the target node's name, which must then be a host name): tcp://HOST[:PORT] or "
            "rdma://HOST[:PORT], HOST a host name, IPv4 address or [IPv6] address. Default: "
            "libvirt's choice (the target's host name), or the 'migration_network_suffix' name.",
    },
    {
        .name = PARAMS_REMOTEURI,
        .offset = offsetof(struct ferry_params, remoteuri),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "libvirt URI of the target",
        .longdesc =
            "The libvirt URI migrate_to uses to reach the target (%n is replaced by the "
            "target node's name). Default: qemu+ssh://[migration_user@]HOST/system?no_tty=1 "
            "with HOST from 'migration_mapping' or the node name. ssh checks host keys "
            "strictly (known_hosts); ferry never turns that off: the URI is "
            "driver[+tls|tcp|ssh|libssh|libssh2]://[user@]host[:port]/path with plain names "
            "only (no %-escapes, ';' or '#'), and its only options may be no_tty, no_sanity, "
            "mode and proxy; no_verify, known_hosts, known_hosts_verify, command, netcat, "
            "socket, name, keyfile, sshauth, auth, authfile, pkipath, tls_priority and any "
            "other option are refused. A node name put in for %n must be a host name.",
    },
    {
        .name = PARAMS_MIGRATION_USER,
        .offset = offsetof(struct ferry_params, migration_user),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "ssh user for migration",
        .longdesc =
            "The user libvirt's ssh connection to the target logs in as (default: ssh's own "
            "default): letters, digits, '.', '-' and '_', not starting with '-'.",
    },
    {
        .name = PARAMS_MIGRATION_SPEED,
        .offset = offsetof(struct ferry_params, migration_speed_mib_s),
        .type = PARAMS_TYPE_INTEGER,
        .content_type = "string",      /* a number of MiB/s, or "auto" */
        .default_text = "0",
        .shortdesc = "Migration bandwidth limit (MiB/s, or auto)",
        .longdesc =
            "Caps the migration's bandwidth, in MiB/s, set in the migrate call itself. 0: no "
            "limit. 'auto' (RHV's auto bandwidth): the slower of the two nodes' link speeds of "
            "the interface the migration stream uses (this node's: the interface the route to "
            "the target's migration address leaves by, its /sys/class/net/IF/speed; the "
            "target's: the interface of the same name, from libvirt's node devices), divided "
            "by the cluster property migration-limit (read with one crm_attribute at "
            "migrate_to; unset: not divided). migrate_to logs the figures it chose; when a "
            "speed is unknown it warns and sets no limit.",
    },
    {
        .name = PARAMS_MIGRATION_DOWNTIME,
        .offset = offsetof(struct ferry_params, migration_downtime_ms),
        .type = PARAMS_TYPE_INTEGER,
        .default_text = "0",
        .shortdesc = "Largest tolerated live-migration downtime (ms)",
        .longdesc =
            "The pause QEMU may take to switch a live migration over, in milliseconds (a "
            "larger value converges sooner). Set on the domain immediately before the "
            "migration starts (libvirt has no migrate-call parameter for it). 0: QEMU's "
            "default (300 ms).",
    },
    {
        .name = PARAMS_MIGRATION_PARALLEL,
        .offset = offsetof(struct ferry_params, migration_parallel),
        .type = PARAMS_TYPE_INTEGER,
        .default_text = "0",
        .shortdesc = "Parallel migration connections",
        .longdesc = "Number of connections carrying the memory stream (multifd). 0 or 1: one.",
    },
    {
        .name = PARAMS_MIGRATION_COMPRESSION,
        .offset = offsetof(struct ferry_params, migration_compression),
        .type = PARAMS_TYPE_ENUM,
        .choices = params_migration_compression_names,
        .shortdesc = "Migration compression",
        .longdesc = "Compression of the memory stream, as libvirt names it: 'xbzrle' or 'mt'. Unset or 'none': none.",
    },
    {
        .name = PARAMS_TUNNELLED,
        .offset = offsetof(struct ferry_params, tunnelled),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "false",
        .shortdesc = "Tunnel the memory stream through libvirt's connection",
        .longdesc =
            "If true, the memory stream travels inside the libvirt connection to the target "
            "(peer-to-peer, tunnelled), so it is encrypted by ssh. Slower than a direct "
            "stream; cannot be combined with 'migrateuri', parallel connections or tls.",
    },
    {
        .name = PARAMS_TLS,
        .offset = offsetof(struct ferry_params, tls),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "false",
        .shortdesc = "Encrypt the memory stream with TLS",
        .longdesc = "If true, QEMU's memory stream uses TLS (needs libvirt's migrate TLS certificates on both nodes).",
    },
    {
        .name = PARAMS_MIGRATION_CONNECTION,
        .offset = offsetof(struct ferry_params, migration_connection),
        .type = PARAMS_TYPE_ENUM,
        .choices = params_migration_connection_names,
        .has_enum_field = true,
        .enum_offset = offsetof(struct ferry_params, migration_connection_id),
        .default_text = "p2p",
        .shortdesc = "Who connects to the target for the migration",
        .longdesc =
            "'p2p' (default): the source's libvirtd migrates peer-to-peer over a connection "
            "of its own to the target, besides the agent's (pre-flight, statistics); if the "
            "agent is killed, libvirtd sees the migration through or aborts it. 'shared': the "
            "agent drives a managed migration over its own connection to the target, so only "
            "one connection (one ssh login) is opened per migrate_to; if the agent is killed "
            "mid-copy, the target's libvirtd removes the incoming guest and the source's "
            "resumes it. Not with 'tunnelled' (always peer-to-peer).",
    },
    {
        .name = PARAMS_SSH_REUSE,
        .offset = offsetof(struct ferry_params, ssh_reuse),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "true",
        .shortdesc = "Share one ssh login per target",
        .longdesc =
            "If true (the default), the qemu+ssh connections to a migration target (the "
            "agent's, and libvirtd's for 'p2p') run ssh through ferry-ssh, which shares one "
            "ssh connection per target: the first login stays up for 60 s after its last "
            "use (an ssh ControlMaster, socket in /run/ferry/ssh, root's alone), so a second "
            "connection and the next migrate_to to the same node log in no more (a login "
            "costs about as much as an idle guest's whole memory copy). A connection through "
            "a master that died (the target rebooted) is retried once. Only for the URI the "
            "agent builds: a 'remoteuri' is used as given.",
    },
    {
        .name = PARAMS_MIGRATION_POLICY,
        .offset = offsetof(struct ferry_params, migration_policy),
        .type = PARAMS_TYPE_ENUM,
        .choices = params_migration_policy_names,
        .has_enum_field = true,
        .enum_offset = offsetof(struct ferry_params, migration_policy_id),
        .default_text = "pause",
        .shortdesc = "What to do when a live migration does not converge",
        .longdesc =
            "When a live migration stalls (see migration_stall_timeout) or runs out of time "
            "(migration_timeout_per_gib, and always before the action's own timeout): "
            "'pause' (default) suspends the guest so the copy finishes, then it runs on the "
            "target; under Pacemaker a failed migrate_to costs a full restart of the guest "
            "(stop on both nodes, start on one), so seconds of pause are the cheaper outcome. "
            "'abort' gives up instead: the guest keeps running, unpaused, on the source, and "
            "the migrate_to fails. 'auto-converge' throttles the guest's CPUs from the start "
            "so it dirties memory more slowly, and pauses to finish if even that is not "
            "enough. 'postcopy' switches to post-copy: the guest runs on the target at once "
            "and fetches missing pages over the network; if the network fails during "
            "post-copy, neither side has the whole guest and it is lost (the agent then "
            "reports the failure and resumes nothing).",
    },
    {
        .name = PARAMS_MIGRATION_STALL_TIMEOUT,
        .offset = offsetof(struct ferry_params, migration_stall_timeout_ms),
        .type = PARAMS_TYPE_TIME,
        .default_text = "30s",
        .shortdesc = "How long a migration may make no progress",
        .longdesc =
            "If the data left to copy has not reached a new low for this long, the migration "
            "has stalled and migration_policy applies (KubeVirt uses 150 s, oVirt 240 s; both "
            "also capped by the action's timeout).",
    },
    {
        .name = PARAMS_MIGRATION_TIMEOUT_PER_GIB,
        .offset = offsetof(struct ferry_params, migration_timeout_per_gib_ms),
        .type = PARAMS_TYPE_TIME,
        .default_text = "64s",
        .shortdesc = "Migration time allowed per GiB of guest memory",
        .longdesc =
            "A live migration may take this long per GiB of guest memory (at least one GiB's "
            "worth) before migration_policy applies (KubeVirt 150 s/GiB, oVirt 64 s/GiB). "
            "Whatever it says, the policy applies early enough for migrate_to to answer "
            "before its Pacemaker timeout.",
    },
    {
        .name = PARAMS_ALLOW_UNSAFE,
        .offset = offsetof(struct ferry_params, allow_unsafe),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "false",
        .shortdesc = "Migrate even where libvirt thinks storage is unsafe",
        .longdesc =
            "libvirt refuses to migrate a guest whose disks are on a filesystem it does not "
            "recognise as shared, or that use a host cache mode (migration without shared "
            "storage is unsafe), and ferry checks the same before it starts. Set true only "
            "where the storage really is shared and coherent between the nodes (a cluster "
            "filesystem or block device libvirt does not detect): libvirt's "
            "VIR_MIGRATE_UNSAFE.",
    },
    {
        .name = PARAMS_AUTOSET_UTILIZATION_CPU,
        .offset = offsetof(struct ferry_params, autoset_utilization_cpu),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "true",
        .shortdesc = "Publish the vCPUs as utilization 'cpu'",
        .longdesc =
            "Sets the resource's utilization attribute 'cpu' to the domain's number of vCPUs, "
            "for Pacemaker's placement-strategy (give each node a 'cpu' capacity). The CIB is "
            "written only when the value differs from what this node last published (at "
            "start, migrate_from, or a monitor after e.g. 'virsh setvcpus'): a monitor of an "
            "unchanged VM starts no process and writes nothing. Same name and meaning as "
            "VirtualDomain's.",
    },
    {
        .name = PARAMS_AUTOSET_UTILIZATION_HV_MEMORY,
        .offset = offsetof(struct ferry_params, autoset_utilization_hv_memory),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "true",
        .shortdesc = "Publish the memory (MiB) as utilization 'hv_memory'",
        .longdesc =
            "Sets the resource's utilization attribute 'hv_memory' to the domain's maximum "
            "memory in MiB (give each node an 'hv_memory' capacity: what it can give its "
            "guests). Written only when it changes, as for autoset_utilization_cpu. Same "
            "name and meaning as VirtualDomain's.",
    },
    {
        .name = PARAMS_AUTOSET_UTILIZATION_VMS,
        .offset = offsetof(struct ferry_params, autoset_utilization_vms),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "false",
        .shortdesc = "Publish utilization 'vms=1' (a VM counts one)",
        .longdesc =
            "Sets the resource's utilization attribute 'vms' to 1, so a node capacity 'vms=N' "
            "caps the number of VMs on that node and placement-strategy=balanced evens the "
            "counts out (RHV's VM_Evenly_Distributed HighVmCount). Give every node a 'vms' "
            "capacity when this is on: a node without one can take no VM. Written once, as "
            "for autoset_utilization_cpu.",
    },
    {
        .name = PARAMS_SAVE_CONFIG,
        .offset = offsetof(struct ferry_params, save_config),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "true",
        .shortdesc = "Write a changed definition back to 'config'",
        .longdesc =
            "When the running domain's persistent definition changes (virsh edit, virsh "
            "setmaxmem --config, ...), write it to the 'config' file, so the next node "
            "starts the changed VM: noticed by the next monitor, and checked again before "
            "migrate_to and stop. The new XML is checked first (well-formed, same name and "
            "UUID) and written atomically (temporary file in the same directory, fsync, "
            "rename, fsync of the directory), keeping the file's owner, group, mode and ACL. "
            "A definition with a graphics password is written only into a file that already "
            "holds one. An unchanged "
            "definition is never written, so a hand-written file keeps its comments until "
            "the definition really changes. After a successful migrate_to the source keeps "
            "no definition of the domain (it runs elsewhere; a leftover could be started by "
            "hand or by libvirt's autostart as a second copy). Set false where the config "
            "file is managed elsewhere.",
    },
    {
        .name = PARAMS_METRICS_DIR,
        .offset = offsetof(struct ferry_params, metrics_dir),
        .type = PARAMS_TYPE_STRING,
        .default_text = PARAMS_DEFAULT_METRICS_DIR,
        .shortdesc = "node_exporter textfile collector directory",
        .longdesc =
            "Where the agent keeps this node's Prometheus metrics (ferry.prom: migrations by "
            "mode and outcome, their time, downtime, pause and bytes, the last failure's "
            "reason, monitors by result), for node_exporter's --collector.textfile.directory. "
            "The default is Debian's prometheus-node-exporter directory; while it does not "
            "exist nothing is written. Empty: no metrics.",
    },
    {
        .name = PARAMS_PATH,
        .identity = true,
        .offset = offsetof(struct ferry_params, path),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "Search path for the domain XML (rgmanager)",
        .longdesc =
            "rgmanager's vm 'path': directories separated by ':' searched, when 'config' is "
            "not set, for a file named after 'name' or 'name'.xml; the first one found is the "
            "config. Needs 'name'.",
    },
    {
        .name = PARAMS_NO_KILL,
        .offset = offsetof(struct ferry_params, no_kill),
        .type = PARAMS_TYPE_BOOLEAN,
        .default_text = "false",
        .shortdesc = "Never destroy on stop (rgmanager)",
        .longdesc =
            "rgmanager's vm 'no_kill': if the guest does not shut down within its budget, "
            "stop fails instead of destroying it. Under Pacemaker a failed stop gets the node "
            "fenced, so this trades a hard power-off of the guest for one of its node.",
    },
    {
        .name = PARAMS_SNAPSHOT,
        .offset = offsetof(struct ferry_params, snapshot),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "Save the guest's memory on stop, restore it on start (rgmanager)",
        .longdesc =
            "rgmanager's vm 'snapshot': an absolute directory, on storage every node can read. "
            "stop saves the running guest's memory to DIR/NAME (libvirt's managed save format, "
            "written under a temporary name and renamed when complete) instead of shutting it "
            "down; the next start, on any node, restores it from there and removes the file, "
            "so the guest resumes where it was. A save that fails or does not finish within "
            "the stop's graceful budget is abandoned and the guest is stopped as usual; an "
            "older image is then renamed DIR/NAME.stale so a later start never restores "
            "memory that no longer matches the disks. An image that belongs to another "
            "domain (other name or UUID), or that libvirt cannot restore, fails the start "
            "and is left where it is.",
    },
    {
        .name = PARAMS_STATUS_PROGRAM,
        .offset = offsetof(struct ferry_params, status_program),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "Extra health check of the guest's services (rgmanager)",
        .longdesc =
            "rgmanager's vm 'status_program': a program (with arguments) that checks the "
            "services inside the guest and exits 0 when they are healthy. It runs in monitors "
            "of depth 10 or more (an op with OCF_CHECK_LEVEL=10) once the domain is known to "
            "run, and after start, which succeeds only once it exits 0 (retried every 5 s "
            "within the start timeout). No shell is involved: words are split as a shell "
            "would split a simple command (quotes and backslash work), and pipes, "
            "redirections, variables or globs are refused; put those in a script and give "
            "its path. The program runs with stdin from /dev/null, in a process group of "
            "its own that is killed when the action's deadline comes; the first line it "
            "prints is quoted in the failure reason.",
    },
    {
        .name = PARAMS_MIGRATE_OPTIONS,
        .offset = offsetof(struct ferry_params, migrate_options),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "virsh migrate options (rgmanager), mapped to typed settings",
        .longdesc =
            "rgmanager's vm 'migrate_options': extra 'virsh migrate' options. ferry runs no "
            "virsh; each option it understands becomes the setting it stands for, set in the "
            "migration call: --live (migrate=live), --tunnelled, --tls, --unsafe "
            "(allow_unsafe), --compressed (migration_compression=xbzrle), --comp-methods "
            "xbzrle|mt, --auto-converge and --postcopy (migration_policy), --bandwidth MiB/s "
            "(migration_speed), --parallel and --parallel-connections N "
            "(migration_parallel), and --p2p, --verbose and --change-protection, which ferry "
            "always does already. An option that contradicts the parameter it maps to, and "
            "any other option (e.g. --direct, --offline, --suspend, --copy-storage-all, "
            "--undefinesource, --xml), is a configuration error naming the option.",
    },
    {
        .name = "xmlfile",
        .identity = true,
        .alias_of = PARAMS_CONFIG,
        .offset = offsetof(struct ferry_params, config),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "rgmanager's name for 'config'",
        .longdesc = "The same as 'config' (rgmanager's vm 'xmlfile'). Setting both to different values is an error.",
    },
    {
        .name = "hypervisor_uri",
        .identity = true,
        .alias_of = PARAMS_HYPERVISOR,
        .offset = offsetof(struct ferry_params, hypervisor),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "rgmanager's name for 'hypervisor'",
        .longdesc = "The same as 'hypervisor' (rgmanager's vm 'hypervisor_uri').",
    },
    {
        .name = "migration_uri",
        .alias_of = PARAMS_REMOTEURI,
        .offset = offsetof(struct ferry_params, remoteuri),
        .type = PARAMS_TYPE_STRING,
        .shortdesc = "rgmanager's name for 'remoteuri'",
        .longdesc =
            "The same as 'remoteuri' (rgmanager's vm 'migration_uri', the target's libvirt URI, "
            "default qemu+ssh://%s/system there); rgmanager's %s for the target is understood "
            "as %n.",
    },
};

const struct params_def *
params_table(size_t *ret_count)
{
    *ret_count = sizeof(params_defs) / sizeof(params_defs[0]);
    return params_defs;
}

int
params_parse_bool(const char *text, bool *ret_value)
{
    static const char *const yes[] = { "true", "yes", "on", "y", "1" };
    static const char *const no[] = { "false", "no", "off", "n", "0" };
    size_t i;

    if (text == NULL)
        return -EINVAL;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *ret_value = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *ret_value = false;
            return 0;
        }
    }
    return -EINVAL;
}

int
params_parse_int(const char *text, int64_t min, int64_t max, int64_t *ret_value)
{
    char *end = NULL;
    long long value;

    if (text == NULL || *text == '\0' || isspace((unsigned char)*text))
        return -EINVAL;
    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return -EINVAL;
    if (value < min || value > max)
        return -ERANGE;
    *ret_value = value;
    return 0;
}

int
params_parse_time_ms(const char *text, int64_t *ret_ms)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {
        { "", 1000 }, { "s", 1000 }, { "sec", 1000 }, { "ms", 1 }, { "msec", 1 },
        { "m", 60000 }, { "min", 60000 }, { "h", 3600000 }, { "hr", 3600000 },
    };
    char *end = NULL;
    long long value;
    size_t i;

    if (text == NULL || !isdigit((unsigned char)*text))
        return -EINVAL;
    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0)
        return -ERANGE;
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            if (value > PARAMS_MAX_TIME_MS / units[i].ms)
                return -ERANGE;
            *ret_ms = value * units[i].ms;
            return 0;
        }
    }
    return -EINVAL;
}

/* The value of NAME in envp, or NULL. An empty value counts as unset. */
const char *
params_env_get(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    size_t i;

    if (envp == NULL)
        return NULL;
    for (i = 0; envp[i]; i++) {
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return envp[i][len + 1] ? envp[i] + len + 1 : NULL;
    }
    return NULL;
}

static const char *
params_env_reskey(char *const *envp, const char *param)
{
    char key[128];

    snprintf(key, sizeof(key), PARAMS_ENV_PREFIX "%s", param);
    return params_env_get(envp, key);
}

static int
params_dup(char **field, const char *value)
{
    free(*field);
    *field = NULL;
    if (value == NULL)
        return 0;
    *field = strdup(value);
    return *field ? 0 : -ENOMEM;
}

/* Reads one instance parameter; on a bad value keeps the default and records why. */
static int
params_read_one(struct ferry_params *p, char *const *envp, const struct params_def *def,
                ferry_error **err)
{
    const char *value = params_env_reskey(envp, def->name);
    void *field = (char *)p + def->offset;
    bool b = false;
    int64_t ms = -1;
    int rc = 0;

    switch (def->type) {
    case PARAMS_TYPE_STRING:
    case PARAMS_TYPE_ENUM:     /* checked once every source is read (params_enums_resolve) */
        return params_dup(field, value ? value : def->default_text);
    case PARAMS_TYPE_BOOLEAN:
        if (def->default_text)
            params_parse_bool(def->default_text, field);
        if (value == NULL)
            return 0;
        if (params_parse_bool(value, &b) < 0)
            return error_set(err, FERRY_E_CONFIG,
                             "parameter '%s' is '%s', which is not a boolean "
                             "(use true/false, yes/no, on/off, 1/0)", def->name, value);
        *(bool *)field = b;
        return 0;
    case PARAMS_TYPE_TIME:
        *(int64_t *)field = -1;
        if (def->default_text)
            params_parse_time_ms(def->default_text, field);
        if (value == NULL)
            return 0;
        rc = params_parse_time_ms(value, &ms);
        if (rc == -ERANGE)
            return error_set(err, FERRY_E_CONFIG,
                             "parameter '%s' is '%s', which is more than a day", def->name, value);
        if (rc < 0)
            return error_set(err, FERRY_E_CONFIG,
                             "parameter '%s' is '%s', which is not a time "
                             "(seconds, or a number with ms, s, min or h)", def->name, value);
        *(int64_t *)field = ms;
        return 0;
    case PARAMS_TYPE_INTEGER:
        *(int64_t *)field = 0;
        if (def->default_text)
            params_parse_int(def->default_text, INT64_MIN, INT64_MAX, field);
        if (value == NULL)
            return 0;
        if (strcmp(def->name, PARAMS_MIGRATION_SPEED) == 0 &&
            strcasecmp(value, PARAMS_MIGRATION_SPEED_AUTO_TEXT) == 0) {
            *(int64_t *)field = PARAMS_MIGRATION_SPEED_AUTO;
            return 0;
        }
        if (params_parse_int(value, 0, INT64_MAX, &ms) < 0)
            return error_set(err, FERRY_E_CONFIG,
                             "parameter '%s' is '%s', which is not a whole number >= 0",
                             def->name, value);
        *(int64_t *)field = ms;
        return 0;
    }
    return 0;
}

/* An rgmanager name for one of our string parameters: used when ours is unset,
 * an error when both are set and differ. The aliases follow their targets in
 * the table, so the target has been read already. */
static int
params_read_alias(struct ferry_params *p, char *const *envp, const struct params_def *def,
                  ferry_error **err)
{
    const char *value = params_env_reskey(envp, def->name);
    const char *own = params_env_reskey(envp, def->alias_of);
    char **field = (char **)((char *)p + def->offset);
    char *translated = NULL;
    char *s = NULL;

    if (value == NULL)
        return 0;
    if (strcmp(def->alias_of, PARAMS_REMOTEURI) == 0) {
        /* rgmanager's %s (the target) is our %n */
        translated = strdup(value);
        if (translated == NULL)
            return -ENOMEM;
        for (s = translated; (s = strstr(s, "%s")) != NULL; s += 2)
            s[1] = 'n';
        value = translated;
    }
    if (own && strcmp(own, value) != 0) {
        error_set(err, FERRY_E_CONFIG, "parameters '%s' ('%s') and '%s' ('%s') disagree; "
                  "set one of them", def->name, value, def->alias_of, own);
        free(translated);
        return FERRY_E_CONFIG;
    }
    free(*field);
    *field = translated ? translated : strdup(value);
    return *field ? 0 : -ENOMEM;
}

/* Reads an integer meta variable; bad values are recorded and leave *field alone. */
static int
params_read_meta_int(char *const *envp, const char *var, int64_t max, int64_t *field,
                     ferry_error **err)
{
    const char *value = params_env_get(envp, var);
    int64_t v = 0;

    if (value == NULL)
        return 0;
    if (params_parse_int(value, 0, max, &v) < 0)
        return error_set(err, FERRY_E_CONFIG, "%s is '%s', which is not a number of "
                         "milliseconds", var, value);
    *field = v;
    return 0;
}

char **
params_argv_free(char **argv)
{
    size_t i;

    if (argv == NULL)
        return NULL;
    for (i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
    return NULL;
}

int
params_split_argv(const char *text, char ***ret_argv, ferry_error **err)
{
    size_t len = strlen(text);
    char **argv = NULL;
    char *word = NULL;
    size_t argc = 0;
    size_t wlen = 0;
    bool in_word = false;
    char quote = 0;
    const char *c = NULL;
    int ret = 0;

    /* at most len/2+1 words, each no longer than the text */
    argv = calloc(len / 2 + 2, sizeof(*argv));
    word = malloc(len + 1);
    if (argv == NULL || word == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    for (c = text; ; c++) {
        if (quote == 0 && (*c == '\0' || *c == ' ' || *c == '\t')) {
            if (in_word) {
                word[wlen] = '\0';
                if ((argv[argc++] = strdup(word)) == NULL) {
                    ret = error_set(err, -ENOMEM, "out of memory");
                    goto cleanup;
                }
                wlen = 0;
                in_word = false;
            }
            if (*c == '\0')
                break;
            continue;
        }
        if (*c == '\0') {
            ret = error_set(err, -EINVAL, "'%s' has an unterminated %c quote", text, quote);
            goto cleanup;
        }
        in_word = true;
        if (quote == '\'') {
            if (*c == '\'')
                quote = 0;
            else
                word[wlen++] = *c;
            continue;
        }
        if (*c == '\\' && (quote == 0 || strchr("\"\\$`", c[1]))) {
            if (c[1] == '\0' || c[1] == '\n') {
                ret = error_set(err, -EINVAL, "'%s' ends in a lone backslash", text);
                goto cleanup;
            }
            word[wlen++] = *++c;
            continue;
        }
        if (quote == '"') {
            if (*c == '"')
                quote = 0;
            else if (*c == '$' || *c == '`') {
                ret = error_set(err, -EINVAL, "'%s' needs a shell ('%c' inside double quotes); "
                                "ferry runs no shell: put the command in a script and give "
                                "the script's path", text, *c);
                goto cleanup;
            } else
                word[wlen++] = *c;
            continue;
        }
        if (*c == '\'' || *c == '"') {
            quote = *c;
            continue;
        }
        if (strchr("|&;<>()$`*?[]~{}#\n\r", *c)) {
            ret = error_set(err, -EINVAL, "'%s' needs a shell (it has '%c'); ferry runs no "
                            "shell: put the command in a script and give the script's path",
                            text, *c == '\n' || *c == '\r' ? ' ' : *c);
            goto cleanup;
        }
        word[wlen++] = *c;
    }
    if (argc == 0) {
        ret = error_set(err, -EINVAL, "the command is empty");
        goto cleanup;
    }
    *ret_argv = argv;
    argv = NULL;
cleanup:
    params_argv_free(argv);
    free(word);
    return ret;
}

/* migrate_options: one virsh option sets a field, unless the field's own
 * parameter was set to something else. */
struct params_mo {
    char *const *envp;
    const char *options;
    ferry_error **err;
};

static int
params_mo_conflict(const struct params_mo *mo, const char *option, const char *param,
                   const char *own)
{
    return error_set(mo->err, FERRY_E_CONFIG,
                     "parameter 'migrate_options' ('%s') has %s, but parameter '%s' is '%s'; "
                     "set one of them", mo->options, option, param, own);
}

static int
params_mo_bool(const struct params_mo *mo, const char *option, const char *param, bool *field)
{
    const char *own = params_env_reskey(mo->envp, param);
    bool b = false;

    if (own && params_parse_bool(own, &b) == 0 && !b)
        return params_mo_conflict(mo, option, param, own);
    *field = true;
    return 0;
}

static int
params_mo_string(const struct params_mo *mo, const char *option, const char *param,
                 char **field, const char *value)
{
    const char *own = params_env_reskey(mo->envp, param);

    if (own && strcmp(own, value) != 0)
        return params_mo_conflict(mo, option, param, own);
    return params_dup(field, value) < 0 ? -ENOMEM : 0;
}

static int
params_mo_int(const struct params_mo *mo, const char *option, const char *param, int64_t *field,
              const char *value)
{
    const char *own = params_env_reskey(mo->envp, param);
    int64_t v = 0;

    if (value == NULL || params_parse_int(value, 1, INT64_MAX, &v) < 0)
        return error_set(mo->err, FERRY_E_CONFIG,
                         "parameter 'migrate_options' ('%s'): %s needs a whole number > 0",
                         mo->options, option);
    if (own && strcmp(own, value) != 0)
        return params_mo_conflict(mo, option, param, own);
    *field = v;
    return 0;
}

static int
params_apply_migrate_options(struct ferry_params *p, char *const *envp, ferry_error **err)
{
    struct params_mo mo = { envp, p->migrate_options, err };
    const char *methods = NULL;
    bool compressed = false;
    bool parallel = false;
    char **argv = NULL;
    ferry_error *split_err = NULL;
    size_t i;
    int ret = 0;

    if (p->migrate_options == NULL)
        return 0;
    ret = params_split_argv(p->migrate_options, &argv, &split_err);
    if (ret == -ENOMEM)
        goto cleanup;
    if (ret < 0) {
        ret = error_set(err, FERRY_E_CONFIG, "parameter 'migrate_options': %s",
                        error_message(split_err));
        goto cleanup;
    }
    for (i = 0; ret == 0 && argv[i]; i++) {
        const char *o = argv[i];
        const char *next = argv[i + 1];

        if (strcmp(o, "--p2p") == 0 || strcmp(o, "--verbose") == 0 ||
            strcmp(o, "--change-protection") == 0)
            continue;   /* what ferry always does */
        if (strcmp(o, "--live") == 0)
            ret = params_mo_string(&mo, o, PARAMS_MIGRATE, &p->migrate, "live");
        else if (strcmp(o, "--tunnelled") == 0)
            ret = params_mo_bool(&mo, o, PARAMS_TUNNELLED, &p->tunnelled);
        else if (strcmp(o, "--tls") == 0)
            ret = params_mo_bool(&mo, o, PARAMS_TLS, &p->tls);
        else if (strcmp(o, "--unsafe") == 0)
            ret = params_mo_bool(&mo, o, PARAMS_ALLOW_UNSAFE, &p->allow_unsafe);
        else if (strcmp(o, "--compressed") == 0)
            compressed = true;
        else if (strcmp(o, "--comp-methods") == 0) {
            if (next == NULL || (strcmp(next, "xbzrle") != 0 && strcmp(next, "mt") != 0))
                ret = error_set(err, FERRY_E_CONFIG, "parameter 'migrate_options' ('%s'): "
                                "--comp-methods needs xbzrle or mt (one method)",
                                p->migrate_options);
            methods = next;
            i++;
        } else if (strcmp(o, "--auto-converge") == 0)
            ret = params_mo_string(&mo, o, PARAMS_MIGRATION_POLICY, &p->migration_policy,
                                   "auto-converge");
        else if (strcmp(o, "--postcopy") == 0 || strcmp(o, "--postcopy-after-precopy") == 0)
            ret = params_mo_string(&mo, o, PARAMS_MIGRATION_POLICY, &p->migration_policy,
                                   "postcopy");
        else if (strcmp(o, "--bandwidth") == 0) {
            ret = params_mo_int(&mo, o, PARAMS_MIGRATION_SPEED, &p->migration_speed_mib_s, next);
            i += next != NULL;
        } else if (strcmp(o, "--parallel-connections") == 0) {
            ret = params_mo_int(&mo, o, PARAMS_MIGRATION_PARALLEL, &p->migration_parallel, next);
            i += next != NULL;
        } else if (strcmp(o, "--parallel") == 0) {
            parallel = true;
        } else
            ret = error_set(err, FERRY_E_CONFIG,
                            "parameter 'migrate_options' ('%s') has '%s', which ferry does not "
                            "take: it understands --live --tunnelled --tls --unsafe --compressed "
                            "--comp-methods --auto-converge --postcopy --bandwidth --parallel "
                            "--parallel-connections --p2p --verbose --change-protection "
                            "(see the meta-data)", p->migrate_options, o);
    }
    /* --compressed alone is virsh's default method, xbzrle */
    if (ret == 0 && (methods || compressed))
        ret = params_mo_string(&mo, methods ? "--comp-methods" : "--compressed",
                               PARAMS_MIGRATION_COMPRESSION, &p->migration_compression,
                               methods ? methods : "xbzrle");
    /* --parallel alone is QEMU's default of 2 connections */
    if (ret == 0 && parallel && p->migration_parallel < 2)
        ret = params_mo_int(&mo, "--parallel", PARAMS_MIGRATION_PARALLEL, &p->migration_parallel,
                            "2");
cleanup:
    if (ret == -ENOMEM)
        error_set(err, -ENOMEM, "out of memory");
    error_free(split_err);
    params_argv_free(argv);
    return ret;
}

/* "'a', 'b' or 'c'" for messages. */
static void
params_choices_text(const char *const *choices, char *buf, size_t size)
{
    size_t used = 0;
    size_t i;

    buf[0] = '\0';
    for (i = 0; choices[i] && used < size; i++) {
        const char *sep = choices[i + 1] ? ", " : " or ";
        int n = snprintf(buf + used, size - used, "%s'%s'", i == 0 ? "" : sep, choices[i]);

        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* The index of value in choices, or -1. */
static int
params_choice_index(const char *const *choices, const char *value)
{
    int k;

    for (k = 0; value && choices[k]; k++)
        if (strcmp(value, choices[k]) == 0)
            return k;
    return -1;
}

/* The enumerated parameters, once every source (the parameter, its rgmanager
 * alias, migrate_options) has been read: a value that is not one of the
 * choices is an error and the default counts; the index goes to the typed
 * field. */
static int
params_enums_resolve(struct ferry_params *p, ferry_error **err)
{
    size_t i;
    int ret = 0;

    for (i = 0; i < sizeof(params_defs) / sizeof(params_defs[0]); i++) {
        const struct params_def *def = &params_defs[i];
        char **field = (char **)((char *)p + def->offset);
        char choices[160];
        int index = 0;

        if (def->type != PARAMS_TYPE_ENUM || *field == NULL)
            continue;
        index = params_choice_index(def->choices, *field);
        if (index < 0) {
            params_choices_text(def->choices, choices, sizeof(choices));
            if (ret == 0)
                ret = error_set(err, FERRY_E_CONFIG, "parameter '%s' is '%s'; use %s", def->name,
                                *field, choices);
            free(*field);
            *field = NULL;
            if (def->default_text && (*field = strdup(def->default_text)) == NULL)
                return -ENOMEM;
            index = params_choice_index(def->choices, *field);
        }
        if (def->has_enum_field)
            *(int *)((char *)p + def->enum_offset) = index < 0 ? 0 : index;
    }
    return ret;
}

int
params_parse(char *const *envp, struct ferry_params **ret_params, ferry_error **err)
{
    struct ferry_params *p = NULL;
    size_t i;
    int64_t v = 0;
    int rc = 0;
    int ret = 0;
    const char *value = NULL;

    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    for (i = 0; i < sizeof(params_defs) / sizeof(params_defs[0]); i++) {
        if (params_defs[i].alias_of)
            rc = params_read_alias(p, envp, &params_defs[i], err);
        else
            rc = params_read_one(p, envp, &params_defs[i], err);
        if (rc == -ENOMEM) {
            ret = error_set(err, -ENOMEM, "out of memory");
            goto cleanup;
        }
        if (rc < 0 && ret == 0)
            ret = rc;
    }
    /* metrics_dir set empty turns the metrics off (any other empty parameter is unset) */
    for (i = 0; envp && envp[i]; i++) {
        if (strcmp(envp[i], PARAMS_ENV_PREFIX PARAMS_METRICS_DIR "=") == 0 &&
            params_dup(&p->metrics_dir, "") < 0) {
            ret = error_set(err, -ENOMEM, "out of memory");
            goto cleanup;
        }
    }

    rc = params_apply_migrate_options(p, envp, err);
    if (rc == -ENOMEM) {
        ret = rc;
        goto cleanup;
    }
    if (rc < 0 && ret == 0)
        ret = rc;
    rc = params_enums_resolve(p, ret == 0 ? err : NULL);
    if (rc == -ENOMEM) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    if (rc < 0 && ret == 0)
        ret = rc;
    if (p->status_program) {
        ferry_error *split_err = NULL;

        rc = params_split_argv(p->status_program, &p->status_argv, &split_err);
        if (rc == -ENOMEM) {
            error_free(split_err);
            ret = error_set(err, -ENOMEM, "out of memory");
            goto cleanup;
        }
        if (rc < 0)
            rc = error_set(err, FERRY_E_CONFIG, "parameter 'status_program': %s",
                           error_message(split_err));
        error_free(split_err);
        if (rc < 0 && ret == 0)
            ret = rc;
    }

    rc = params_read_meta_int(envp, "OCF_RESKEY_CRM_meta_timeout", PARAMS_MAX_TIME_MS,
                              &p->timeout_ms, err);
    if (rc < 0 && ret == 0)
        ret = rc;
    rc = params_read_meta_int(envp, "OCF_RESKEY_CRM_meta_interval", PARAMS_MAX_TIME_MS * 365,
                              &p->interval_ms, err);
    if (rc < 0 && ret == 0)
        ret = rc;

    if (params_dup(&p->instance, params_env_get(envp, "OCF_RESOURCE_INSTANCE")) < 0 ||
        params_dup(&p->migrate_source, params_env_get(envp, "OCF_RESKEY_CRM_meta_migrate_source")) < 0 ||
        params_dup(&p->migrate_target, params_env_get(envp, "OCF_RESKEY_CRM_meta_migrate_target")) < 0 ||
        params_dup(&p->on_node, params_env_get(envp, "OCF_RESKEY_CRM_meta_on_node")) < 0) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }

    value = params_env_get(envp, "OCF_RA_VERSION_MAJOR");
    if (value && params_parse_int(value, 0, 1000, &v) == 0)
        p->ra_version_major = (int)v;
    value = params_env_get(envp, "OCF_RA_VERSION_MINOR");
    if (value && params_parse_int(value, 0, 1000, &v) == 0)
        p->ra_version_minor = (int)v;

    value = params_env_get(envp, "OCF_CHECK_LEVEL");
    if (value && params_parse_int(value, 0, 1000, &v) == 0)
        p->check_level = (int)v;

    value = params_env_get(envp, "HA_RSCTMP");
    if (params_dup(&p->state_dir, value ? value : PARAMS_DEFAULT_STATE_DIR) < 0) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }

    p->pacemaker = params_env_get(envp, "OCF_RESKEY_crm_feature_set") != NULL;

    value = params_env_get(envp, "HA_debug");
    if (value == NULL || params_parse_bool(value, &p->debug) < 0)
        p->debug = false;

cleanup:
    if (ret == -ENOMEM) {
        params_free(p);
        return ret;
    }
    *ret_params = p;
    return ret;
}

static bool
params_ascii_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* True if each of the len bytes at text is a letter, a digit or one of extra. */
static bool
params_chars_in(const char *text, size_t len, const char *extra)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!params_ascii_alnum(text[i]) && (text[i] == '\0' || strchr(extra, text[i]) == NULL))
            return false;
    return true;
}

static bool
params_user_valid_n(const char *user, size_t len)
{
    return len > 0 && len <= PARAMS_MAX_USER_LEN && user[0] != '-' &&
           params_chars_in(user, len, "._-");
}

bool
params_user_valid(const char *user)
{
    return user && params_user_valid_n(user, strlen(user));
}

static bool
params_host_valid_n(const char *host, size_t len)
{
    char addr[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    size_t label = 0;
    size_t i;

    if (len == 0)
        return false;
    if (host[0] == '[') {
        if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(addr))
            return false;
        memcpy(addr, host + 1, len - 2);
        addr[len - 2] = '\0';
        return inet_pton(AF_INET6, addr, &a6) == 1;
    }
    if (len > PARAMS_MAX_HOST_LEN)
        return false;
    for (i = 0; i < len; i++) {
        if (host[i] == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!params_chars_in(host + i, 1, "-_") || (label == 0 && host[i] == '-') ||
            ++label > PARAMS_MAX_LABEL_LEN)
            return false;
    }
    return label > 0;
}

bool
params_host_valid(const char *host)
{
    return host && params_host_valid_n(host, strlen(host));
}

/* libvirt's remote URI options that change neither who is contacted nor how
 * the peer is authenticated. Everything else is refused: no_verify,
 * known_hosts_verify and known_hosts (host key checks), command and netcat
 * (programs run locally or on the target), socket and name (what is reached
 * on the target), keyfile, sshauth, auth, authfile, pkipath and tls_priority
 * (credentials and their checking), and any option libvirt would pass on to
 * the remote end. */
static const char *const params_uri_options[] = { "no_tty", "no_sanity", "mode", "proxy" };

static int
params_uri_query_check(const char *query, char *why, size_t why_size)
{
    const char *opt = query;

    while (*opt) {
        size_t len = strcspn(opt, "&");
        const char *eq = memchr(opt, '=', len);
        size_t name_len = eq ? (size_t)(eq - opt) : len;
        bool known = false;
        size_t i;

        for (i = 0; i < sizeof(params_uri_options) / sizeof(params_uri_options[0]); i++)
            known = known || (strlen(params_uri_options[i]) == name_len &&
                              strncasecmp(opt, params_uri_options[i], name_len) == 0);
        if (!known) {
            snprintf(why, why_size, "the libvirt URI option '%.*s' is not accepted: ferry passes "
                     "on only no_tty, no_sanity, mode and proxy, never one that changes the host, "
                     "the host key check, the ssh command, key or socket", (int)name_len, opt);
            return -EINVAL;
        }
        if (eq == NULL || !params_chars_in(eq + 1, len - name_len - 1, "._-")) {
            snprintf(why, why_size, "the libvirt URI option '%.*s' needs a plain value "
                     "(letters, digits, '.', '-', '_')", (int)name_len, opt);
            return -EINVAL;
        }
        opt += len;
        if (*opt == '&')
            opt++;
    }
    return 0;
}

int
params_uri_check(const char *uri, enum params_uri_kind kind, char *why, size_t why_size)
{
    static const char *const transports[] = { "tls", "tcp", "ssh", "libssh", "libssh2" };
    const char *scheme_end = strstr(uri, "://");
    const char *plus = NULL;
    const char *auth = NULL;
    const char *auth_end = NULL;
    const char *at = NULL;
    const char *host_end = NULL;
    const char *rest = NULL;
    size_t scheme_len = 0;
    bool ok = false;
    size_t i;

    for (i = 0; uri[i]; i++) {
        if (!params_chars_in(uri + i, 1, "-._~:/?&=@[]+")) {
            if (uri[i] > ' ' && uri[i] < 127)
                snprintf(why, why_size, "'%c' is not accepted in it (no %%-escapes, fragments, "
                         "';' or quoting: only plain names)", uri[i]);
            else
                snprintf(why, why_size, "it has a blank, control or non-ASCII character");
            return -EINVAL;
        }
    }
    if (scheme_end == NULL || scheme_end == uri) {
        snprintf(why, why_size, "it is not of the form scheme://host...");
        return -EINVAL;
    }
    scheme_len = (size_t)(scheme_end - uri);
    if (kind == PARAMS_URI_DATA) {
        ok = (scheme_len == 3 && strncmp(uri, "tcp", 3) == 0) ||
             (scheme_len == 4 && strncmp(uri, "rdma", 4) == 0);
        if (!ok) {
            snprintf(why, why_size, "QEMU's memory stream goes to tcp://HOST[:PORT] or "
                     "rdma://HOST[:PORT]");
            return -EINVAL;
        }
    } else {
        plus = memchr(uri, '+', scheme_len);
        if (plus == NULL) {
            ok = true;
        } else {
            for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
                ok = ok || (strlen(transports[i]) == (size_t)(scheme_end - plus - 1) &&
                            strncmp(plus + 1, transports[i], strlen(transports[i])) == 0);
        }
        if (!ok || !params_chars_in(uri, plus ? (size_t)(plus - uri) : scheme_len, "")) {
            snprintf(why, why_size, "the target's libvirt is reached over tls, tcp, ssh, "
                     "libssh or libssh2 (driver+transport://HOST/...)");
            return -EINVAL;
        }
    }
    auth = scheme_end + 3;
    auth_end = auth + strcspn(auth, "/?");
    at = memchr(auth, '@', (size_t)(auth_end - auth));
    if (at && kind == PARAMS_URI_DATA) {
        snprintf(why, why_size, "QEMU's memory stream URI has no user@");
        return -EINVAL;
    }
    if (at && !params_user_valid_n(auth, (size_t)(at - auth))) {
        snprintf(why, why_size, "the user '%.*s' is not a plain user name (letters, digits, "
                 "'.', '-', '_'; not starting with '-')", (int)(at - auth), auth);
        return -EINVAL;
    }
    if (at)
        auth = at + 1;
    if (auth[0] == '[')
        host_end = memchr(auth, ']', (size_t)(auth_end - auth));
    else
        host_end = memchr(auth, ':', (size_t)(auth_end - auth));
    host_end = host_end == NULL ? auth_end : host_end + (auth[0] == '[');
    if (!params_host_valid_n(auth, (size_t)(host_end - auth))) {
        snprintf(why, why_size, "the host '%.*s' is not a host name, IPv4 address or "
                 "[IPv6] address (or a name starting with '-')", (int)(host_end - auth), auth);
        return -EINVAL;
    }
    if (host_end < auth_end) {
        size_t digits = strspn(host_end + 1, "0123456789");
        long port = strtol(host_end + 1, NULL, 10);

        if (*host_end != ':' || digits == 0 || digits > 5 || host_end + 1 + digits != auth_end ||
            port < 1 || port > 65535) {
            bool colon = *host_end == ':';

            snprintf(why, why_size, "the port '%.*s' is not a number from 1 to 65535",
                     (int)(auth_end - host_end - colon), host_end + colon);
            return -EINVAL;
        }
    }
    rest = auth_end;
    if (kind == PARAMS_URI_DATA) {
        if (strcmp(rest, "") != 0 && strcmp(rest, "/") != 0) {
            snprintf(why, why_size, "'%s' after the host and port is not accepted", rest);
            return -EINVAL;
        }
        return 0;
    }
    if (!params_chars_in(rest, strcspn(rest, "?"), "/._-")) {
        snprintf(why, why_size, "the path '%.*s' is not a plain path", (int)strcspn(rest, "?"), rest);
        return -EINVAL;
    }
    rest += strcspn(rest, "?");
    return *rest ? params_uri_query_check(rest + 1, why, why_size) : 0;
}

/* params_uri_check of a parameter's pattern: %n stands for a node name. */
static int
params_uri_param_check(const char *param, const char *pattern, enum params_uri_kind kind,
                       ferry_error **err)
{
    char why[512];
    char *uri = strdup(pattern);
    char *o = uri;
    const char *s = NULL;
    int ret = 0;

    if (uri == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    for (s = pattern; *s; s++) {
        *o++ = *s;
        if (s[0] == '%' && s[1] == 'n') {
            o[-1] = 'n';
            s++;
        }
    }
    *o = '\0';
    if (params_uri_check(uri, kind, why, sizeof(why)) < 0)
        ret = error_set(err, FERRY_E_CONFIG, "parameter '%s' is '%s': %s", param, pattern, why);
    free(uri);
    return ret;
}

static int
params_mapping_check(const char *mapping, ferry_error **err)
{
    const char *entry = mapping;

    while (*entry) {
        size_t len = strcspn(entry, ",");
        const char *colon = memchr(entry, ':', len);
        const char *host = colon ? colon + 1 : NULL;
        size_t host_len = colon ? (size_t)(entry + len - host) : 0;

        if (colon == NULL || colon == entry || host_len == 0 ||
            (host[0] != '[' && memchr(host, ':', host_len)))
            return error_set(err, FERRY_E_CONFIG,
                             "parameter 'migration_mapping' is '%s': each entry must be "
                             "node:host (the entry '%.*s' is not)", mapping, (int)len, entry);
        if (!params_host_valid_n(host, host_len))
            return error_set(err, FERRY_E_CONFIG,
                             "parameter 'migration_mapping' is '%s': '%.*s' is not a host name, "
                             "IPv4 address or [IPv6] address (or it starts with '-')", mapping,
                             (int)host_len, host);
        entry += len;
        if (*entry == ',')
            entry++;
    }
    return 0;
}

int
params_mapping_lookup(const char *mapping, const char *node, char **ret_host)
{
    const char *entry = mapping;
    size_t node_len = strlen(node);

    while (entry && *entry) {
        size_t len = strcspn(entry, ",");
        const char *colon = memchr(entry, ':', len);

        if (colon && (size_t)(colon - entry) == node_len && strncmp(entry, node, node_len) == 0) {
            *ret_host = strndup(colon + 1, (size_t)(entry + len - colon - 1));
            return *ret_host ? 0 : -ENOMEM;
        }
        entry += len;
        if (*entry == ',')
            entry++;
    }
    return -ENOENT;
}

int
params_validate(const struct ferry_params *p, ferry_error **err)
{
    int rc = 0;

    if (p->config == NULL && p->name == NULL)
        return error_set(err, FERRY_E_CONFIG,
                         "neither 'config' nor 'name' is set: one of them must identify the domain");
    if (p->config && p->config[0] != '/')
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'config' is '%s', which is not an absolute path", p->config);
    if (p->name && (strchr(p->name, '/') || strlen(p->name) > 255))
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'name' is '%s', which is not a valid libvirt domain name "
                         "(no '/', at most 255 bytes)", p->name);
    if (p->metrics_dir && p->metrics_dir[0] && p->metrics_dir[0] != '/')
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'metrics_dir' is '%s', which is not an absolute path",
                         p->metrics_dir);
    if (p->snapshot && p->snapshot[0] != '/')
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'snapshot' is '%s', which is not an absolute path",
                         p->snapshot);
    if (p->migrate_mode == MIGRATE_MODE_PAUSE && p->migration_policy_id == MIGRATE_POLICY_POSTCOPY)
        return error_set(err, FERRY_E_CONFIG,
                         "migration_policy 'postcopy' needs migrate 'live': post-copy runs the "
                         "guest on the target while memory still arrives, and a pause-mode "
                         "migration keeps it paused until the copy is complete");
    if (p->tunnelled && (p->migrateuri || p->migration_network_suffix || p->tls ||
                         p->migration_parallel > 1))
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'tunnelled' is true: the memory stream then goes through "
                         "libvirt's connection, so 'migrateuri', 'migration_network_suffix', "
                         "'tls' and 'migration_parallel' cannot be used with it");
    if (p->tunnelled && p->migration_connection_id == MIGRATION_CONNECTION_SHARED)
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'tunnelled' is true: a tunnelled migration is always "
                         "peer-to-peer, so 'migration_connection' cannot be 'shared'");
    if (p->migration_stall_timeout_ms <= 0 || p->migration_timeout_per_gib_ms <= 0)
        return error_set(err, FERRY_E_CONFIG,
                         "parameters 'migration_stall_timeout' and 'migration_timeout_per_gib' "
                         "must be more than 0");
    if (p->migration_mapping && params_mapping_check(p->migration_mapping, err) < 0)
        return FERRY_E_CONFIG;
    if (p->migration_user && !params_user_valid(p->migration_user))
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'migration_user' is '%s', which is not a plain user name "
                         "(letters, digits, '.', '-', '_'; not starting with '-')",
                         p->migration_user);
    if (p->migration_network_suffix &&
        (p->migration_network_suffix[0] == '\0' ||
         !params_chars_in(p->migration_network_suffix, strlen(p->migration_network_suffix), "._-")))
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'migration_network_suffix' is '%s': a part of a host name "
                         "(letters, digits, '.', '-', '_') is expected", p->migration_network_suffix);
    if (p->remoteuri && (rc = params_uri_param_check(PARAMS_REMOTEURI, p->remoteuri,
                                                     PARAMS_URI_LIBVIRT, err)) < 0)
        return rc;
    if (p->migrateuri && (rc = params_uri_param_check(PARAMS_MIGRATEURI, p->migrateuri,
                                                      PARAMS_URI_DATA, err)) < 0)
        return rc;
    if (p->hypervisor == NULL || strstr(p->hypervisor, ":/") == NULL)
        return error_set(err, FERRY_E_CONFIG,
                         "parameter 'hypervisor' is '%s', which is not a libvirt URI "
                         "(e.g. qemu:///system)", p->hypervisor ? p->hypervisor : "");
    return 0;
}

bool
params_ra_version_at_least(const struct ferry_params *p, int major, int minor)
{
    return p->ra_version_major > major ||
           (p->ra_version_major == major && p->ra_version_minor >= minor);
}

struct ferry_params *
params_free(struct ferry_params *p)
{
    if (p == NULL)
        return NULL;
    free(p->config);
    free(p->name);
    free(p->hypervisor);
    free(p->migrate);
    free(p->migration_mapping);
    free(p->migration_network_suffix);
    free(p->migrateuri);
    free(p->remoteuri);
    free(p->migration_user);
    free(p->migration_compression);
    free(p->migration_policy);
    free(p->migration_connection);
    free(p->path);
    free(p->snapshot);
    free(p->status_program);
    params_argv_free(p->status_argv);
    free(p->migrate_options);
    free(p->instance);
    free(p->migrate_source);
    free(p->migrate_target);
    free(p->on_node);
    free(p->state_dir);
    free(p->metrics_dir);
    free(p);
    return NULL;
}
