/* params.h — the agent's instance parameters and Pacemaker's meta environment.
 *
 * One table (params.c) is the single source for parsing, validation and the
 * parameter part of the meta-data text. The environment is parsed once into a
 * struct ferry_params which is then passed down read-only.
 */
#ifndef FERRY_PARAMS_H
#define FERRY_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define PARAMS_CONFIG "config"
#define PARAMS_NAME "name"
#define PARAMS_HYPERVISOR "hypervisor"
#define PARAMS_FORCE_STOP "force_stop"
#define PARAMS_SHUTDOWN_TIMEOUT "shutdown_timeout"
#define PARAMS_PERSISTENT "persistent"
#define PARAMS_MIGRATE "migrate"
#define PARAMS_MIGRATION_MAPPING "migration_mapping"
#define PARAMS_MIGRATION_NETWORK_SUFFIX "migration_network_suffix"
#define PARAMS_MIGRATEURI "migrateuri"
#define PARAMS_REMOTEURI "remoteuri"
#define PARAMS_MIGRATION_USER "migration_user"
#define PARAMS_MIGRATION_SPEED "migration_speed"
#define PARAMS_MIGRATION_DOWNTIME "migration_downtime"
#define PARAMS_MIGRATION_PARALLEL "migration_parallel"
#define PARAMS_MIGRATION_COMPRESSION "migration_compression"
#define PARAMS_TUNNELLED "tunnelled"
#define PARAMS_TLS "tls"
#define PARAMS_MIGRATION_POLICY "migration_policy"
#define PARAMS_MIGRATION_CONNECTION "migration_connection"
#define PARAMS_SSH_REUSE "ssh_reuse"
#define PARAMS_MIGRATION_STALL_TIMEOUT "migration_stall_timeout"
#define PARAMS_MIGRATION_TIMEOUT_PER_GIB "migration_timeout_per_gib"
#define PARAMS_ALLOW_UNSAFE "allow_unsafe"
#define PARAMS_PATH "path"
#define PARAMS_NO_KILL "no_kill"
#define PARAMS_SNAPSHOT "snapshot"
#define PARAMS_STATUS_PROGRAM "status_program"
#define PARAMS_MIGRATE_OPTIONS "migrate_options"
#define PARAMS_AUTOSET_UTILIZATION_CPU "autoset_utilization_cpu"
#define PARAMS_AUTOSET_UTILIZATION_HV_MEMORY "autoset_utilization_hv_memory"
#define PARAMS_AUTOSET_UTILIZATION_VMS "autoset_utilization_vms"
#define PARAMS_SAVE_CONFIG "save_config"
#define PARAMS_METRICS_DIR "metrics_dir"

/* migration_speed=auto (linkspeed.h): the slower end's link speed / migration-limit */
#define PARAMS_MIGRATION_SPEED_AUTO (-1)
#define PARAMS_MIGRATION_SPEED_AUTO_TEXT "auto"

#define PARAMS_DEFAULT_HYPERVISOR "qemu:///system"
#define PARAMS_DEFAULT_STATE_DIR "/run/resource-agents"
#define PARAMS_DEFAULT_METRICS_DIR "/var/lib/prometheus/node-exporter"

/* migrate: how the guest travels (params_migrate_names) */
enum migrate_mode {
    MIGRATE_MODE_LIVE = 0,
    MIGRATE_MODE_PAUSE,
};

/* migration_policy: what the watcher does with a copy that does not converge
 * (params_migration_policy_names) */
enum migrate_policy {
    MIGRATE_POLICY_PAUSE = 0,
    MIGRATE_POLICY_ABORT,
    MIGRATE_POLICY_AUTO_CONVERGE,
    MIGRATE_POLICY_POSTCOPY,
};

/* migration_connection: who connects to the target for the migrate call
 * (params_migration_connection_names) */
enum migration_connection {
    MIGRATION_CONNECTION_P2P = 0,   /* the source's libvirtd, peer-to-peer (a second connection) */
    MIGRATION_CONNECTION_SHARED,    /* the agent, managed, over its pre-flight connection */
};

/* The values of the enumerated parameters, indexed by their enum,
 * NULL-terminated: the parser, validation, meta-data and messages use these. */
extern const char *const params_migrate_names[];
extern const char *const params_migration_policy_names[];
extern const char *const params_migration_compression_names[];
extern const char *const params_migration_connection_names[];

struct ferry_params {
    /* Instance parameters (OCF_RESKEY_<name>). Strings are NULL when unset. */
    char *config;                  /* path of the libvirt domain XML */
    char *name;                    /* the domain's name in libvirt */
    char *hypervisor;              /* libvirt connection URI */
    bool force_stop;               /* destroy at once, no graceful shutdown */
    int64_t shutdown_timeout_ms;   /* graceful budget; -1: most of the stop deadline */
    bool persistent;               /* define the domain (true) or create it transient */

    /* Migration. */
    char *migrate;                 /* "live" or "pause", as given */
    enum migrate_mode migrate_mode;    /* ... parsed */
    char *migration_mapping;       /* "node:host,node2:host2" */
    char *migration_network_suffix;
    char *migrateuri;              /* QEMU data URI, %n = target node */
    char *remoteuri;               /* libvirt URI of the target, %n = target node */
    char *migration_user;
    int64_t migration_speed_mib_s;     /* 0: unlimited; PARAMS_MIGRATION_SPEED_AUTO: "auto" */
    int64_t migration_downtime_ms;     /* 0: libvirt's default */
    int64_t migration_parallel;        /* connections; 0 or 1: one */
    char *migration_compression;       /* NULL/"none", "xbzrle", "mt" */
    bool tunnelled;
    bool tls;
    char *migration_policy;            /* "pause", "abort", "auto-converge", "postcopy", as given */
    enum migrate_policy migration_policy_id;   /* ... parsed */
    char *migration_connection;        /* "p2p" or "shared", as given */
    enum migration_connection migration_connection_id;  /* ... parsed */
    bool ssh_reuse;                    /* qemu+ssh to a target through ferry-ssh (one login) */
    int64_t migration_stall_timeout_ms;
    int64_t migration_timeout_per_gib_ms;
    bool allow_unsafe;

    /* Placement and persistence. */
    bool autoset_utilization_cpu;      /* publish vCPUs as utilization "cpu" */
    bool autoset_utilization_hv_memory;/* publish max memory (MiB) as "hv_memory" */
    bool autoset_utilization_vms;      /* publish "vms=1" (a VM counts one) */
    bool save_config;                  /* write a changed definition back to config */
    char *metrics_dir;                 /* node_exporter textfile directory; "" = none */

    /* rgmanager's vm. */
    char *path;                        /* search path for <name> or <name>.xml */
    bool no_kill;                      /* stop fails instead of destroying */
    char *snapshot;                    /* directory: stop saves the guest there, start restores */
    char *status_program;              /* as given */
    char **status_argv;                /* status_program split into words; NULL if unset */
    char *migrate_options;             /* virsh migrate options, mapped onto the fields above */

    /* Pacemaker's meta environment. */
    char *instance;                /* OCF_RESOURCE_INSTANCE */
    int64_t timeout_ms;            /* OCF_RESKEY_CRM_meta_timeout; 0 if not given */
    int64_t interval_ms;           /* OCF_RESKEY_CRM_meta_interval; 0 = probe */
    char *migrate_source;          /* OCF_RESKEY_CRM_meta_migrate_source */
    char *migrate_target;          /* OCF_RESKEY_CRM_meta_migrate_target */
    char *on_node;                 /* OCF_RESKEY_CRM_meta_on_node */
    int ra_version_major;          /* OCF_RA_VERSION_MAJOR (0 if not given) */
    int ra_version_minor;
    int check_level;               /* OCF_CHECK_LEVEL (monitor depth), 0 if not given */
    char *state_dir;               /* HA_RSCTMP, else /run/resource-agents */
    bool debug;                    /* HA_debug */
    bool pacemaker;                /* OCF_RESKEY_crm_feature_set is set: run by Pacemaker */
};

enum params_type {
    PARAMS_TYPE_STRING,
    PARAMS_TYPE_INTEGER,
    PARAMS_TYPE_BOOLEAN,
    PARAMS_TYPE_TIME,     /* "30", "30s", "500ms", "2min"; bare numbers are seconds */
    PARAMS_TYPE_ENUM,     /* one of choices; the string is kept, its index stored at enum_offset */
};

/* One row of the parameter table. */
struct params_def {
    const char *name;
    enum params_type type;
    const char *content_type;   /* meta-data's content type when the type's own would be wrong
                                 * (an integer that also takes a word); NULL: the type's */
    const char *default_text;   /* as shown in meta-data; NULL: no default */
    bool required;
    bool unique;                /* no two resources may share it (OCF 1.1: a unique-group of its own) */
    bool identity;              /* says which domain, or where: a change restarts the VM; every
                                 * other parameter only affects later actions (reloadable) */
    const char *shortdesc;
    const char *longdesc;
    size_t offset;              /* where the parsed value goes in struct ferry_params */
    const char *alias_of;       /* rgmanager's name for that parameter, or NULL */
    const char *const *choices; /* PARAMS_TYPE_ENUM: the values, NULL-terminated */
    bool has_enum_field;        /* ... and the index goes to enum_offset (an int-sized enum) */
    size_t enum_offset;
};

/* The parameter table, for the meta-data writer and the tests. */
const struct params_def *params_table(size_t *ret_count);

/* The value of NAME in an environ-style array, or NULL; an empty value counts as unset. */
const char *params_env_get(char *const *envp, const char *name);

/* Parses an environ-style array (NAME=value, NULL-terminated).
 * Always returns a params object (defaults where values are bad) unless out of
 * memory; the first problem found is put in *err with FERRY_E_CONFIG, naming
 * the parameter and what is wrong. Returns 0 or the error code. */
int params_parse(char *const *envp, struct ferry_params **ret_params, ferry_error **err);

/* Checks what can be checked without the hypervisor: a domain is identified
 * (config and/or name), values are in range. Does not touch the config file. */
int params_validate(const struct ferry_params *params, ferry_error **err);

/* Accepts NULL; returns NULL. */
struct ferry_params *params_free(struct ferry_params *params);

/* Value parsers, exported for the tests. Each returns 0 or -EINVAL. */
int params_parse_bool(const char *text, bool *ret_value);
int params_parse_int(const char *text, int64_t min, int64_t max, int64_t *ret_value);
int params_parse_time_ms(const char *text, int64_t *ret_ms);

/* The host migration_mapping gives node (exact match), newly allocated.
 * -ENOENT if node is not in the map. */
int params_mapping_lookup(const char *mapping, const char *node, char **ret_host);

/* What goes into the migration target's URIs (libvirt's and QEMU's) must be
 * plain names, so nothing in them can change the host, the port or the
 * connection's options. A user name is letters, digits, '.', '-' and '_', not
 * starting with '-' (ssh would read it as an option). A host is a DNS name
 * (labels of letters, digits, '-' and '_', none starting with '-'), an IPv4
 * address, or an IPv6 address in brackets ("[fd00::1]"). */
bool params_user_valid(const char *user);
bool params_host_valid(const char *host);

enum params_uri_kind {
    PARAMS_URI_LIBVIRT,   /* remoteuri: driver[+tls|tcp|ssh|libssh|libssh2]://[user@]host[:port]/path[?opts] */
    PARAMS_URI_DATA,      /* migrateuri: tcp|rdma://host[:port] */
};

/* Checks a URI (with any %n already replaced) for kind: every part is a plain
 * name as above, a port is 1-65535, there is no '%' escape, ';' or fragment,
 * and a libvirt URI's options are only no_tty, no_sanity, mode and proxy
 * (none of them changes who is contacted or how the peer is authenticated).
 * 0, or -EINVAL with the reason (one line) in why. */
int params_uri_check(const char *uri, enum params_uri_kind kind, char *why, size_t why_size);

/* Splits a command line into words, the way a shell would split a simple
 * command: blanks separate words, '...' and "..." quote, \ escapes. Anything
 * that needs a shell (| & ; < > ( ) $ ` * ? [ ] ~ { }, newlines) unquoted is
 * -EINVAL with the reason in *err. *ret_argv is NULL-terminated, freed with
 * params_argv_free. An empty command is -EINVAL. */
int params_split_argv(const char *text, char ***ret_argv, ferry_error **err);
char **params_argv_free(char **argv);   /* accepts NULL, returns NULL */

/* True if OCF_RA_VERSION is at least major.minor. */
bool params_ra_version_at_least(const struct ferry_params *params, int major, int minor);

#endif
