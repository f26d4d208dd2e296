/* ident.c — see ident.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ident.h"
#include "log.h"
#include "state.h"

void
ident_clear(struct ident *id)
{
    free(id->name);
    free(id->uuid);
    free(id->config_path);
    domxml_free(id->xml);
    error_free(id->config_err);
    memset(id, 0, sizeof(*id));
}

struct virt_identity
ident_virt(const struct ident *id)
{
    struct virt_identity v = { id->name, id->uuid };

    return v;
}

/* rgmanager's path: the first of dir/name, dir/name.xml over the ':'-separated
 * dirs that is a readable file, written to buf; NULL if none. */
static const char *
ident_config_search(const char *path, const char *name, char *buf, size_t size)
{
    const char *dir = path;

    while (dir && *dir) {
        size_t len = strcspn(dir, ":");
        static const char *const suffixes[] = { "", ".xml" };
        size_t i;

        for (i = 0; len > 0 && i < 2; i++) {
            struct stat st;

            int n = snprintf(buf, size, "%.*s/%s%s", (int)len, dir, name, suffixes[i]);

            /* a cut-off path would be another file */
            if (n < 0 || (size_t)n >= size)
                continue;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, R_OK) == 0)
                return buf;
        }
        dir += len;
        if (*dir == ':')
            dir++;
    }
    return NULL;
}

/* The identity recorded in this node's state file, if it names a domain with
 * a UUID and agrees with 'name'. No I/O on the config file. */
static bool
ident_from_record(const struct ferry_params *p, const struct ferry_state *st,
                  struct ident *id, ferry_error **err, int *ret)
{
    /* it must be the record of what these parameters name: the resource's
     * config file (or name) may have changed since, and a record must never
     * make an action touch another domain */
    if (st->name[0] == '\0' || st->uuid[0] == '\0' || (p->name && strcmp(p->name, st->name) != 0) ||
        (p->config && strcmp(p->config, st->config) != 0))
        return false;
    id->source = "this node's record";
    *ret = 0;
    if (error_strdup(&id->name, st->name, err) < 0 || error_strdup(&id->uuid, st->uuid, err) < 0 ||
        error_strdup(&id->config_path, p->config, err) < 0)
        *ret = -ENOMEM;
    return true;
}

/* Works out which domain is meant. A config that cannot be read is not fatal
 * as long as the name is known some other way. */
int
ident_resolve(const struct ferry_params *p, enum ident_how how, struct ident *id,
              ferry_error **err)
{
    struct ferry_state st;
    int ret = 0;

    memset(id, 0, sizeof(*id));
    state_load(p, &st);
    if (how == IDENT_RECORD && ident_from_record(p, &st, id, err, &ret))
        return ret;
    if (p->config || (p->path && p->name)) {
        char found[4096];
        const char *config = p->config;

        if (config == NULL) {
            config = ident_config_search(p->path, p->name, found, sizeof(found));
            if (config == NULL) {
                id->config_rc = error_set(&id->config_err, -ENOENT,
                                          "neither '%s' nor '%s.xml' is in path '%s'",
                                          p->name, p->name, p->path);
                goto by_name;
            }
        }
        if (error_strdup(&id->config_path, config, err) < 0)
            return -ENOMEM;
        id->config_rc = domxml_load_file(config, &id->xml, &id->config_err);
        if (id->config_rc == 0 && p->name && strcmp(p->name, domxml_name(id->xml)) != 0) {
            id->config_rc = error_set(&id->config_err, FERRY_E_CONFIG,
                                      "parameter 'name' is '%s' but config '%s' names the "
                                      "domain '%s'", p->name, config, domxml_name(id->xml));
            id->xml = domxml_free(id->xml);
            if (how == IDENT_STRICT)
                return error_set(err, FERRY_E_CONFIG, "%s", error_message(id->config_err));
            log_warning("%s; looking for the domain by its name", error_message(id->config_err));
        }
        if (id->config_rc == 0) {
            id->source = "config";
            if (error_strdup(&id->name, domxml_name(id->xml), err) < 0 ||
                error_strdup(&id->uuid, domxml_uuid(id->xml), err) < 0)
                return -ENOMEM;
            return 0;
        }
    }
by_name:
    if (p->name) {
        id->source = "name";
        if (error_strdup(&id->name, p->name, err) < 0)
            return -ENOMEM;
        /* the UUID recorded at start, if it was for this name */
        if (strcmp(st.name, p->name) == 0 && st.uuid[0] &&
            error_strdup(&id->uuid, st.uuid, err) < 0)
            return -ENOMEM;
        goto cleanup;
    }
    if (st.name[0]) {
        id->source = "state file";
        if (error_strdup(&id->name, st.name, err) < 0 ||
            (st.uuid[0] && error_strdup(&id->uuid, st.uuid, err) < 0))
            return -ENOMEM;
        goto cleanup;
    }
    /* Nothing names the domain: we cannot tell whether it runs. */
    ret = error_set(err, FERRY_E_INSTALLED,
                    "%s, 'name' is not set and this node has no record of the domain's name: "
                    "cannot tell which domain to look for",
                    error_message(id->config_err));
cleanup:
    return ret;
}

/* The config problem as an error of ours: the file is missing or broken on this host. */
int
ident_config_error(const struct ident *id, ferry_error **err)
{
    return error_set(err, id->config_rc == FERRY_E_CONFIG ? FERRY_E_CONFIG : FERRY_E_INSTALLED,
                     "%s", error_message(id->config_err));
}

int
ident_connect(const struct ferry_params *p, virt_conn **ret_conn, ferry_error **err)
{
    int ret = virt_init(err);

    if (ret < 0)
        return ret;
    return virt_conn_open(p->hypervisor, ret_conn, err);
}

int
ident_mismatch_error(const struct ident *id, ferry_error **err)
{
    return error_set(err, FERRY_E_STATE,
                     "libvirt has a domain named '%s' whose UUID is not %s (from %s): "
                     "not touching a domain that may not be this resource's",
                     id->name, id->uuid, id->source);
}

/* The common start of an action: which domain, a connection to the local
 * libvirt, and the domain's state there. A namesake with another UUID is left
 * to the caller (ret_info->uuid_mismatch): it is not ours. */
int
ident_open(const struct ferry_params *p, enum ident_how how, struct ident *id,
           virt_conn **ret_conn, struct virt_domain_info *ret_info, ferry_error **err)
{
    struct virt_identity vid;
    int ret = ident_resolve(p, how, id, err);

    if (ret < 0)
        return ret;
    ret = ident_connect(p, ret_conn, err);
    if (ret < 0) {
        error_prefix(*err, "domain '%s': ", id->name);
        return ret;
    }
    vid = ident_virt(id);
    ret = virt_domain_query(*ret_conn, &vid, ret_info, err);
    if (ret < 0 || !ret_info->uuid_mismatch || how != IDENT_RECORD ||
        strcmp(id->source, "this node's record") != 0)
        return ret;
    /* The record may be of an earlier incarnation: a guest whose config has no
     * UUID gets a new one at every start, and one that came back here by a
     * migrate_to whose migrate_from never ran left the record as it was (found
     * by the chaos campaign: a stop left the resource's own guest running, and
     * Pacemaker started a second copy). The config decides then, as for
     * migrate_from; unreadable, it gives the record's UUID again. */
    ident_clear(id);
    ret = ident_resolve(p, IDENT_LENIENT, id, err);
    if (ret < 0)
        return ret;
    vid = ident_virt(id);
    return virt_domain_query(*ret_conn, &vid, ret_info, err);
}

/* "a domain named 'x' with another UUID is ..." for notes and warnings */
void
ident_namesake_note(const struct ident *id, const struct virt_domain_info *info, char *buf,
                    size_t size)
{
    snprintf(buf, size, "a domain named '%s' with another UUID is %s here; it is not this "
             "resource's (UUID %s, from %s) and was left alone", id->name,
             info->namesake_running ? "running" : "defined", id->uuid, id->source);
}
