/* params.c — see params.h */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "params.h"

#define PARAMS_ENV_PREFIX "OCF_RESKEY_"
#define PARAMS_MAX_TIME_MS (24LL * 3600 * 1000)

/* The single source for parsing, validation and the meta-data text. The order
 * is the order of the meta-data. */
static const struct params_def params_defs[] = {
    {
        .name = PARAMS_CONFIG,
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
static const char *
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
        if (params_parse_int(value, 0, INT64_MAX, &ms) < 0)
            return error_set(err, FERRY_E_CONFIG,
                             "parameter '%s' is '%s', which is not a whole number >= 0",
                             def->name, value);
        *(int64_t *)field = ms;
        return 0;
    }
    return 0;
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
        rc = params_read_one(p, envp, &params_defs[i], err);
        if (rc == -ENOMEM) {
            ret = error_set(err, -ENOMEM, "out of memory");
            goto cleanup;
        }
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

    value = params_env_get(envp, "HA_RSCTMP");
    if (params_dup(&p->state_dir, value ? value : PARAMS_DEFAULT_STATE_DIR) < 0) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }

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

int
params_validate(const struct ferry_params *p, ferry_error **err)
{
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
    free(p->instance);
    free(p->migrate_source);
    free(p->migrate_target);
    free(p->on_node);
    free(p->state_dir);
    free(p);
    return NULL;
}
