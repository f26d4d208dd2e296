/* fuzz_params.c — the parameter table (lib/params.c) and the migration
 * target built from it (lib/migrate.c: migrate_target_resolve,
 * migrate_expand, migrate_uri_endpoint).
 *
 * The input is a list of NUL-separated records; a record's first byte picks
 * an environment variable (every parameter of the table, its rgmanager alias,
 * and the meta variables), the rest is the value. Two more records name the
 * migration target and the local node. Properties:
 *  - params_parse always returns a params object, 0 or FERRY_E_CONFIG with a
 *    message; every value it kept is what the value parser makes of the text;
 *  - a parsed time prints back ("<ms>ms") to the same number of ms, an integer
 *    prints back to itself; a boolean is one of the ten spellings;
 *  - status_program's words, each quoted again, split back to the same words;
 *  - params_validate's 0 means what its documentation says (an identity, an
 *    absolute config, migrate live|pause, positive timeouts, plain user and
 *    mapping hosts, a libvirt URI);
 *  - a resolved migration target has a plain host, a libvirt URI and data URI
 *    that pass params_uri_check, and an endpoint host that is a plain host;
 *  - a valid user or host name has only the characters the documentation
 *    allows; a URI params_uri_check accepts has no '%', ';' or '#'.
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrate.h"
#include "migrate-priv.h"   /* the decision function: a test seam */
#include "params.h"

#define FZ_MAX_RECORDS 48

static const char *const fz_meta[] = {
    "OCF_RESKEY_CRM_meta_timeout", "OCF_RESKEY_CRM_meta_interval", "OCF_RESOURCE_INSTANCE",
    "OCF_RESKEY_CRM_meta_migrate_source", "OCF_RESKEY_CRM_meta_migrate_target",
    "OCF_RESKEY_CRM_meta_on_node", "OCF_RA_VERSION_MAJOR", "OCF_RA_VERSION_MINOR",
    "OCF_CHECK_LEVEL", "HA_RSCTMP", "HA_debug", "OCF_RESKEY_crm_feature_set",
};

static void
fz_check_time(const char *text)
{
    int64_t ms = -1;
    int64_t back = -1;
    char buf[64];

    if (params_parse_time_ms(text, &ms) < 0)
        return;
    assert(ms >= 0 && ms <= 24LL * 3600 * 1000);
    snprintf(buf, sizeof(buf), "%" PRId64 "ms", ms);
    assert(params_parse_time_ms(buf, &back) == 0 && back == ms);
    if (ms % 1000 == 0) {
        snprintf(buf, sizeof(buf), "%" PRId64, ms / 1000);
        assert(params_parse_time_ms(buf, &back) == 0 && back == ms);
    }
}

static void
fz_check_int(const char *text)
{
    int64_t v = -1;
    int64_t back = -1;
    char buf[32];

    if (params_parse_int(text, 0, INT64_MAX, &v) < 0)
        return;
    assert(v >= 0);
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    assert(params_parse_int(buf, 0, INT64_MAX, &back) == 0 && back == v);
}

static void
fz_check_bool(const char *text)
{
    static const char *const words[] = { "true", "yes", "on", "y", "1",
                                         "false", "no", "off", "n", "0" };
    bool b = false;
    size_t i;
    bool known = false;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        known = known || strcasecmp(text, words[i]) == 0;
    assert((params_parse_bool(text, &b) == 0) == known);
}

static void
fz_check_names(const char *text)
{
    const char *c;
    char why[256];

    if (params_user_valid(text)) {
        assert(text[0] && text[0] != '-');
        for (c = text; *c; c++)
            assert(isalnum((unsigned char)*c) || strchr("._-", *c));
    }
    if (params_host_valid(text)) {
        assert(text[0] && text[0] != '-');
        for (c = text; *c; c++)
            assert(isalnum((unsigned char)*c) || strchr("._-[]:", *c));
        if (text[0] != '[')
            assert(!strchr(text, ':') && !strchr(text, '[') && !strchr(text, ']'));
    }
    if (params_uri_check(text, PARAMS_URI_LIBVIRT, why, sizeof(why)) == 0 ||
        params_uri_check(text, PARAMS_URI_DATA, why, sizeof(why)) == 0)
        assert(!strchr(text, '%') && !strchr(text, ';') && !strchr(text, '#') &&
               !strchr(text, ' ') && !strchr(text, '\n'));
}

/* Quotes word for params_split_argv: '...' with ' as '\'' */
static void
fz_quote(char *out, const char *word)
{
    *out++ = '\'';
    for (; *word; word++) {
        if (*word == '\'') {
            memcpy(out, "'\\''", 4);
            out += 4;
        } else {
            *out++ = *word;
        }
    }
    *out++ = '\'';
    *out++ = ' ';
    *out = '\0';
}

static void
fz_check_argv(const char *text)
{
    char **argv = NULL;
    char **again = NULL;
    ferry_error *err = NULL;
    char *line = NULL;
    size_t len = 0;
    size_t i;

    if (params_split_argv(text, &argv, &err) < 0) {
        assert(argv == NULL && err && error_message(err)[0]);
        error_free(err);
        return;
    }
    assert(argv && argv[0]);
    for (i = 0; argv[i]; i++)
        len += 4 * strlen(argv[i]) + 3;
    line = malloc(len + 1);
    assert(line);
    line[0] = '\0';
    for (i = 0; argv[i]; i++)
        fz_quote(line + strlen(line), argv[i]);
    assert(params_split_argv(line, &again, &err) == 0);
    for (i = 0; argv[i]; i++)
        assert(again[i] && strcmp(argv[i], again[i]) == 0);
    assert(again[i] == NULL);
    params_argv_free(again);
    params_argv_free(argv);
    free(line);
}

static void
fz_check_valid(const struct ferry_params *p)
{
    char *h = NULL;

    assert(p->config || p->name);
    assert(p->config == NULL || p->config[0] == '/');
    assert(p->name == NULL || (!strchr(p->name, '/') && strlen(p->name) <= 255));
    assert(strcmp(p->migrate, "live") == 0 || strcmp(p->migrate, "pause") == 0);
    assert(p->migration_stall_timeout_ms > 0 && p->migration_timeout_per_gib_ms > 0);
    assert(p->migration_user == NULL || params_user_valid(p->migration_user));
    assert(p->hypervisor && strstr(p->hypervisor, ":/"));
    if (p->migration_mapping) {
        /* every node maps to a plain host */
        const char *entry = p->migration_mapping;

        while (*entry) {
            size_t n = strcspn(entry, ",");
            const char *colon = memchr(entry, ':', n);
            char node[256];

            assert(colon);
            if ((size_t)(colon - entry) < sizeof(node)) {
                memcpy(node, entry, (size_t)(colon - entry));
                node[colon - entry] = '\0';
                if (params_mapping_lookup(p->migration_mapping, node, &h) == 0) {
                    assert(params_host_valid(h));
                    free(h);
                }
            }
            entry += n + (entry[n] == ',');
        }
    }
}

#define FZ_SSH_COMMAND "/usr/libexec/ferry/ferry-ssh"

static void
fz_check_target(const struct ferry_params *p, const char *target, const char *local)
{
    struct migrate_target t;
    ferry_error *err = NULL;
    char why[256];
    char *host = NULL;
    int port = 0;
    int rc = migrate_target_resolve(p, target, local, FZ_SSH_COMMAND, &t, &err);
    char *cmd = NULL;

    if (rc < 0) {
        assert(err && error_message(err)[0]);
        error_free(err);
        return;
    }
    assert(strcmp(t.node, target) == 0);
    assert(local == NULL || strcmp(target, local) != 0);
    /* the host is what the default URI is made of (with a remoteuri of its
     * own and no mapping, it is the node's name and not used) */
    assert(t.host && (params_host_valid(t.host) || (p->remoteuri && !p->migration_mapping)));
    assert(t.dest_uri);
    /* ssh_reuse: ferry-ssh as command= ends the URI the agent builds (and only that one), after
     * the check the parameters get, which refuses a command=; the rest must pass it */
    cmd = strstr(t.dest_uri, "&command=");
    if (p->ssh_reuse && p->remoteuri == NULL) {
        assert(cmd && strcmp(cmd, "&command=" FZ_SSH_COMMAND) == 0 && migrate_uri_shares_ssh(t.dest_uri));
        *cmd = '\0';
    } else {
        assert(cmd == NULL || p->remoteuri);
    }
    assert(params_uri_check(t.dest_uri, PARAMS_URI_LIBVIRT, why, sizeof(why)) == 0);
    assert(t.data_uri == NULL ||
           params_uri_check(t.data_uri, PARAMS_URI_DATA, why, sizeof(why)) == 0);
    if (migrate_uri_endpoint(t.dest_uri, &host, &port) == 0) {
        char bracketed[512];

        /* an IPv6 address comes without its brackets (for getaddrinfo) */
        snprintf(bracketed, sizeof(bracketed), "[%s]", host ? host : "");
        assert(host && (params_host_valid(host) || params_host_valid(bracketed)));
        assert(port > 0 && port <= 65535);
        free(host);
    }
    migrate_target_clear(&t);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t n_defs = 0;
    const struct params_def *defs = params_table(&n_defs);
    size_t n_keys = n_defs + sizeof(fz_meta) / sizeof(fz_meta[0]);
    char *copy = malloc(size + 1);
    char *env[FZ_MAX_RECORDS + 1];
    const char *target = "node2";
    const char *local = NULL;
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;
    size_t n_env = 0;
    size_t i;
    char *rec;
    char *end;
    int rc;

    assert(copy);
    memcpy(copy, data, size);
    copy[size] = '\0';
    end = copy + size;
    for (rec = copy; rec < end && n_env < FZ_MAX_RECORDS; rec += strlen(rec) + 1) {
        unsigned char key = (unsigned char)rec[0];
        const char *value = rec[0] ? rec + 1 : rec;
        const char *name = NULL;

        if (key == 0xff) { target = value; continue; }
        if (key == 0xfe) { local = value; continue; }
        fz_check_time(value);
        fz_check_int(value);
        fz_check_bool(value);
        fz_check_names(value);
        if (key % n_keys < n_defs)
            name = defs[key % n_keys].name;
        else
            name = fz_meta[key % n_keys - n_defs];
        if (asprintf(&env[n_env], "%s%s=%s", key % n_keys < n_defs ? "OCF_RESKEY_" : "",
                     name, value) < 0)
            abort();
        n_env++;
        if (name && strcmp(name, PARAMS_STATUS_PROGRAM) == 0 && value[0])
            fz_check_argv(value);
    }
    env[n_env] = NULL;

    rc = params_parse(env, &p, &err);
    assert(rc == 0 || rc == FERRY_E_CONFIG);
    assert(p != NULL);
    assert((rc == 0) == (err == NULL));
    if (err)
        assert(error_message(err)[0]);
    err = error_free(err);
    /* what was kept is what the parsers make of the text: times and integers */
    for (i = 0; i < n_defs; i++) {
        const int64_t *field = (const int64_t *)((const char *)p + defs[i].offset);

        if (defs[i].type == PARAMS_TYPE_TIME)
            assert(*field >= -1 && *field <= 24LL * 3600 * 1000);
        if (defs[i].type == PARAMS_TYPE_INTEGER)
            assert(*field >= 0);
    }
    assert(p->state_dir != NULL);
    if (p->status_program && p->status_argv)
        assert(p->status_argv[0] != NULL);
    if (params_validate(p, &err) == 0) {
        fz_check_valid(p);
        fz_check_target(p, target, local);
    } else {
        assert(err && error_message(err)[0]);
    }
    error_free(err);
    params_free(p);
    for (i = 0; i < n_env; i++)
        free(env[i]);
    free(copy);
    return 0;
}
