/* ident.h — which libvirt domain a resource's parameters mean, and finding it.
 *
 * The config file (or rgmanager's path search), the 'name' parameter, and the
 * identity this node recorded when it last started or received the domain
 * (the state file) each say which domain is meant; how much each counts
 * depends on the action (enum ident_how). A domain under the name with
 * another UUID is not ours.
 */
#ifndef FERRY_IDENT_H
#define FERRY_IDENT_H

#include <stddef.h>

#include "domxml.h"
#include "error.h"
#include "params.h"
#include "virt.h"

/* Which domain the parameters mean, and where that came from. */
struct ident {
    char *name;
    char *uuid;
    domxml *xml;               /* the parsed config, NULL if unset or unreadable */
    char *config_path;         /* the config file in use (config, or found in path), or NULL */
    ferry_error *config_err;   /* why the config could not be used */
    int config_rc;
    const char *source;        /* "config", "name", "state file" */
};

/* How an action works out which domain it means. */
enum ident_how {
    /* start, validate-all, migrate_to: the config decides; a config that
     * contradicts 'name' is an error (6) */
    IDENT_STRICT,
    /* migrate_from: the config decides, but a contradiction only means "look
     * by name" (the guest has arrived: never ban it) */
    IDENT_LENIENT,
    /* monitor, stop: the identity this node recorded when it last started or
     * received the domain comes first, so a stalled share holding the config
     * never blocks them; otherwise as lenient */
    IDENT_RECORD,
};

/* Works out which domain is meant; *id is set (ident_clear it) even on failure. */
int ident_resolve(const struct ferry_params *p, enum ident_how how, struct ident *id,
                  ferry_error **err);
void ident_clear(struct ident *id);

/* The identity as libvirt lookups take it (borrowed strings). */
struct virt_identity ident_virt(const struct ident *id);

/* The config problem as an error of ours: 6 for a contradiction, else 5 (the
 * file is missing or broken on this host). */
int ident_config_error(const struct ident *id, ferry_error **err);

/* FERRY_E_STATE: a domain under our name with another UUID. */
int ident_mismatch_error(const struct ident *id, ferry_error **err);

/* "a domain named 'x' with another UUID is ..." for notes and warnings. */
void ident_namesake_note(const struct ident *id, const struct virt_domain_info *info, char *buf,
                         size_t size);

/* A connection to the local hypervisor (p->hypervisor). */
int ident_connect(const struct ferry_params *p, virt_conn **ret_conn, ferry_error **err);

/* The common start of an action: resolve, connect, and the domain's state.
 * A namesake (ret_info->uuid_mismatch) is left to the caller. */
int ident_open(const struct ferry_params *p, enum ident_how how, struct ident *id,
               virt_conn **ret_conn, struct virt_domain_info *ret_info, ferry_error **err);

#endif
