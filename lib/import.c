/* import.c — see import.h
 *
 * Translation (rgmanager's vm.sh and failover domains -> Pacemaker):
 *
 *   <vm name=N>                primitive ID ocf:ferry:vm, meta allow-migrate=true, ops from
 *                              ocf_action_get() (start, stop, monitor + interval,
 *                              migrate_to, migrate_from); ID = N made a valid XML ID
 *   migrate=live|pause         params migrate= (default live; anything else is an error)
 *   xmlfile=/abs               params config= (relative: error)
 *   path=/a:/b                 params path= (the agent searches it at every start, as
 *                              vm.sh did); a directory that is not absolute: error
 *   snapshot=/dir              params snapshot= (relative: error)
 *   status_program=CMD         params status_program= and a second monitor op, interval
 *                              60s, OCF_CHECK_LEVEL=10 (vm.sh's depth-10 check); a CMD
 *                              that needs a shell: warning, not translated
 *   migrate_options=OPTS       params migrate_options= when the agent takes every option;
 *                              otherwise a warning naming the option, not translated
 *   migration_mapping          params migration_mapping=
 *   hypervisor_uri             params hypervisor= ("auto": omitted)
 *   migration_uri              params remoteuri= with %s -> %n (it is the target's libvirt
 *                              URI in vm.sh; qemu+ssh://%s/system and "auto" are ferry's
 *                              default and omitted)
 *   tunnelled=1                params tunnelled=true
 *   autostart=0                meta target-role=Stopped
 *   recovery=restart (default) op monitor on-fail=restart; max_restarts=M>0 ->
 *                              migration-threshold=M+1, restart_expire_time=T -> failure-timeout=T
 *   recovery=relocate          migration-threshold=1
 *   recovery=disable           op monitor on-fail=stop (+ warning)
 *   recovery=restart-disable   as restart, migration-threshold=M+1 (+ warning: Pacemaker
 *                              then moves it instead of disabling it)
 *   domain=D                   location constraints, per node of D:
 *                                ordered:   score = (P_max + 1 - P) * IMPORT_SCORE_STEP
 *                                           (P = the node's priority, 1 = highest;
 *                                           P_max = the largest priority in D)
 *                                unordered: score = IMPORT_SCORE_STEP
 *                              restricted: -inf on every <clusternode> not in D
 *                              nofailback: meta resource-stickiness = highest score + STEP
 *                              ordered without nofailback: resource-stickiness=0 (fail back)
 *   depend=service:X|vm:X      order X then ID (Mandatory; depend_mode=soft: Optional) when X
 *                              is an imported <vm>; otherwise a warning. rgmanager's depend
 *                              does not put both on one node, so no colocation is written.
 *   exclusive=1, use_virsh=0, hypervisor=xen, unknown
 *   attributes, <service>s and <vm>s nested in them: warnings, not translated.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "import.h"
#include "xmlnode.h"
#include "ocf.h"
#include "params.h"

#define IMPORT_MAX_PRIORITY 100
#define IMPORT_DEFAULT_MIGRATE "live"
#define IMPORT_QEMU_MIGRATION_URI "qemu+ssh://%s/system"

enum import_recovery {
    IMPORT_RECOVERY_RESTART,
    IMPORT_RECOVERY_RELOCATE,
    IMPORT_RECOVERY_DISABLE,
    IMPORT_RECOVERY_RESTART_DISABLE,
};

struct import_fdnode {
    char *name;
    int priority;          /* 1 (highest) .. IMPORT_MAX_PRIORITY */
    long line;
};

/* A hash table of strings (copies, owned), each with a number: open addressing, at most
 * half full, so a lookup or an insertion takes constant time on average. */
struct import_map_slot {
    char *key;             /* NULL: empty */
    size_t value;
};

struct import_map {
    struct import_map_slot *slots;
    size_t size;           /* 0 or a power of two */
    size_t count;
};

struct import_domain {
    char *name;
    bool ordered;
    bool restricted;
    bool nofailback;
    struct import_fdnode *nodes;
    size_t n_nodes;
    struct import_map node_index;  /* node name -> index in nodes */
    long line;
};

struct import_vm {
    char *id;              /* the primitive's id */
    char *name;
    long line;
    char *config;
    char *path;
    char *snapshot;
    char *status_program;
    char *migrate_options;
    char *migrate;
    char *migration_mapping;
    char *hypervisor;
    char *remoteuri;
    bool tunnelled;
    bool autostart;
    const char *on_fail;           /* monitor's on-fail, NULL: Pacemaker's default */
    int64_t migration_threshold;   /* 0: not written */
    int64_t failure_timeout_s;     /* 0: not written */
    int64_t stickiness;            /* -1: not written */
    char *domain;                  /* failover domain name, NULL: none */
    char *depend;                  /* depend="...", resolved after all VMs are read */
    bool depend_soft;
};

struct import_location {
    char *id;
    size_t vm;
    char *node;
    int64_t score;
    bool minus_inf;
};

struct import_order {
    char *id;
    size_t first;
    size_t then;
    bool optional;
};

struct import_note {
    char *text;            /* "ORIGIN:LINE: warning: ..." */
    ssize_t vm;            /* the VM it is written before, -1: the file's head */
};

struct import_conf {
    char *origin;
    char **nodes;          /* <clusternodes> */
    long *node_lines;
    size_t n_nodes;
    struct import_domain *domains;
    size_t n_domains;
    struct import_vm *vms;
    size_t n_vms;
    struct import_location *locations;
    size_t n_locations;
    struct import_order *orders;
    size_t n_orders;
    struct import_note *notes;
    size_t n_notes;
    struct import_map ids;         /* every id written, for uniqueness */
    struct import_map id_next;     /* base id -> the first suffix n that may be free */
    struct import_map vm_index;    /* vm name -> index in vms */
    struct import_map domain_index;        /* failover domain name -> index in domains */
    struct import_map node_index;  /* clusternode name -> index in nodes */
    size_t *note_order;    /* notes by vm (a stable sort): the head's, vm 0's, vm 1's... */
    size_t *note_start;    /* n_vms + 2: note_order[note_start[vm + 1]] is vm's first */
    /* while parsing */
    size_t *line_starts;   /* offset of each line's first character in the input */
    size_t n_lines;
    const char *text;
    size_t len;
    struct import_map services;    /* the <service> names under <rm> */
    char *problems;        /* '\n'-separated error lines */
    size_t problems_len;
    size_t problems_size;  /* allocated */
    int problem_code;
    bool oom;
};

/* The attributes vm.sh knows; anything else on a <vm> is warned about. */
static const char *const import_vm_attrs[] = {
    "name", "domain", "autostart", "exclusive", "recovery", "migration_mapping", "use_virsh",
    "xmlfile", "migrate", "tunnelled", "path", "snapshot", "depend", "depend_mode",
    "max_restarts", "restart_expire_time", "status_program", "migrate_options", "hypervisor", "hypervisor_uri",
    "migration_uri", NULL,
};

static const char *const import_domain_attrs[] = {
    "name", "ordered", "restricted", "nofailback", NULL,
};

/* ---- small helpers ---- */

/* The first parse error (libxml2's last one is often just "premature end of data"). */
struct import_xml_error {
    int line;
    char message[256];
};

/* libxml2 would print parse errors on stderr; the first one is kept in ctxt->_private. */
static void
import_xml_error_keep(void *ctx, xmlErrorPtr error)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct import_xml_error *first = ctxt ? ctxt->_private : NULL;

    if (first == NULL || error == NULL || first->message[0] != '\0' ||
        error->level < XML_ERR_ERROR)
        return;
    first->line = error->line;
    snprintf(first->message, sizeof(first->message), "%s",
             error->message ? error->message : "parse error");
    first->message[strcspn(first->message, "\n")] = '\0';
}

/* The line of the first "<!DOCTYPE" in text (the DTD node carries none). */
static long
import_doctype_line(const char *text, size_t len)
{
    const char *end = memmem(text, len, "<!DOCTYPE", 9);
    const char *p;
    long line = 1;

    for (p = text; end && p < end; p++)
        if (*p == '\n')
            line++;
    return line;
}

/* The line in from..to (1-based, to <= n_lines) of the last "<name" before the end of line
 * to; to if there is none. */
static long
import_line_find(const import_conf *conf, const char *name, long from, long to)
{
    size_t nlen = strlen(name);
    size_t end = (size_t)to < conf->n_lines ? conf->line_starts[to] : conf->len;
    size_t stop = conf->line_starts[from - 1];
    long l = to;
    size_t i;

    for (i = end; i > stop; i--) {
        const char *q = conf->text + i - 1;

        if (*q == '\n' && i != end)
            l--;
        if (*q == '<' && i + nlen < conf->len && strncmp(q + 1, name, nlen) == 0 &&
            strchr(" \t\r\n/>", q[1 + nlen]) != NULL && q[1 + nlen] != '\0')
            return l;
    }
    return to;
}

/* Keeps in each element's _private the line where its start tag begins. libxml2 records
 * the line where it ends, which differs for a tag spread over several lines: look back
 * from the end of that line for "<name" (a literal '<' cannot occur inside a start tag).
 * In document order a start tag begins after the previous one ended (*prev_end), so the
 * search goes no further back than that line: every line is looked at at most twice. */
static void
import_lines_mark(const import_conf *conf, xmlNode *node, long *prev_end)
{
    long end;
    long start;

    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        end = xmlGetLineNo(node);
        start = end;
        if (end > *prev_end && (size_t)end <= conf->n_lines)
            start = import_line_find(conf, (const char *)node->name,
                                     *prev_end > 0 ? *prev_end : 1, end);
        node->_private = (void *)(intptr_t)start;
        if (end > *prev_end)
            *prev_end = end;
        import_lines_mark(conf, node->children, prev_end);
    }
}

/* The line where node's start tag begins (import_lines_mark()), or where it ends. */
static long
import_line(const xmlNode *node)
{
    return node->_private ? (long)(intptr_t)node->_private : xmlGetLineNo(node);
}

/* The attribute's value, newly allocated; NULL if absent (or out of memory: conf->oom). */
static char *
import_attr(import_conf *conf, const xmlNode *node, const char *name)
{
    xmlChar *v = NULL;
    char *out = NULL;

    v = xmlGetProp(node, BAD_CAST name);
    if (v == NULL)
        return NULL;
    out = strdup((const char *)v);
    if (out == NULL)
        conf->oom = true;
    xmlFree(v);
    return out;
}

static bool
import_known(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

/* Grows *array by one zeroed element of size bytes; returns it, or NULL (conf->oom). The
 * array holds the smallest power of two >= *count elements: it doubles when *count is one. */
static void *
import_grow(import_conf *conf, void **array, size_t *count, size_t size)
{
    char *p = *array;
    size_t n = *count;

    if (n == 0 || (n & (n - 1)) == 0) {
        if (n > SIZE_MAX / 2 / size ||
            (p = realloc(*array, (n == 0 ? 1 : 2 * n) * size)) == NULL) {
            conf->oom = true;
            return NULL;
        }
        *array = p;
    }
    memset(p + n * size, 0, size);
    return p + (*count)++ * size;
}

static size_t
import_map_hash(const char *key)
{
    uint64_t h = UINT64_C(14695981039346656037);   /* FNV-1a */

    for (; *key; key++) {
        h ^= (unsigned char)*key;
        h *= UINT64_C(1099511628211);
    }
    return (size_t)h;
}

/* key's slot, or the empty one where it would go (map->size > 0). */
static struct import_map_slot *
import_map_slot(const struct import_map *map, const char *key)
{
    size_t mask = map->size - 1;
    size_t i = import_map_hash(key) & mask;

    while (map->slots[i].key && strcmp(map->slots[i].key, key) != 0)
        i = (i + 1) & mask;
    return &map->slots[i];
}

/* key's value, NULL when key is not in map. */
static size_t *
import_map_get(const struct import_map *map, const char *key)
{
    struct import_map_slot *slot = NULL;

    if (map->size == 0)
        return NULL;
    slot = import_map_slot(map, key);
    return slot->key ? &slot->value : NULL;
}

/* Sets key's value, adding a copy of key when it is new. Returns map's copy of key (it
 * stays where it is while map lives), or NULL when out of memory (conf->oom). */
static const char *
import_map_set(import_conf *conf, struct import_map *map, const char *key, size_t value)
{
    struct import_map_slot *old = map->slots;
    struct import_map_slot *slot = NULL;
    size_t old_size = map->size;
    size_t i;

    if (2 * (map->count + 1) > map->size) {
        map->size = old_size ? 2 * old_size : 16;
        map->slots = calloc(map->size, sizeof(*map->slots));
        if (map->slots == NULL) {
            map->slots = old;
            map->size = old_size;
            conf->oom = true;
            return NULL;
        }
        for (i = 0; i < old_size; i++)
            if (old[i].key)
                *import_map_slot(map, old[i].key) = old[i];
        free(old);
    }
    slot = import_map_slot(map, key);
    if (slot->key == NULL) {
        if ((slot->key = strdup(key)) == NULL) {
            conf->oom = true;
            return NULL;
        }
        map->count++;
    }
    slot->value = value;
    return slot->key;
}

static void
import_map_free(struct import_map *map)
{
    size_t i;

    for (i = 0; i < map->size; i++)
        free(map->slots[i].key);
    free(map->slots);
    memset(map, 0, sizeof(*map));
}

/* The message of a problem or warning, on one line whatever the input held
 * (newly allocated); NULL when out of memory (conf->oom). */
static char *
import_vmessage(import_conf *conf, const char *fmt, va_list ap)
{
    char *msg = NULL;
    char *p = NULL;

    if (vasprintf(&msg, fmt, ap) < 0) {
        conf->oom = true;
        return NULL;
    }
    for (p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return msg;
}

static void
import_problem(import_conf *conf, int code, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records one error line "ORIGIN:LINE: msg"; the first one's code is returned. */
static void
import_problem(import_conf *conf, int code, long line, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    char *joined = NULL;
    char *buf = NULL;
    size_t size;
    int n;

    va_start(ap, fmt);
    msg = import_vmessage(conf, fmt, ap);
    va_end(ap);
    if (msg == NULL)
        return;
    /* appended: the buffer doubles when full */
    n = asprintf(&joined, "%s%s:%ld: %s", conf->problems ? "\n" : "", conf->origin, line, msg);
    if (n < 0) {
        joined = NULL;
        conf->oom = true;
    } else if (conf->problems_len + (size_t)n + 1 > conf->problems_size) {
        size = 2 * conf->problems_size;
        if (size < conf->problems_len + (size_t)n + 1)
            size = conf->problems_len + (size_t)n + 1;
        if ((buf = realloc(conf->problems, size)) == NULL) {
            conf->oom = true;
        } else {
            conf->problems = buf;
            conf->problems_size = size;
        }
    }
    if (joined && conf->problems_len + (size_t)n + 1 <= conf->problems_size) {
        memcpy(conf->problems + conf->problems_len, joined, (size_t)n + 1);
        conf->problems_len += (size_t)n;
    }
    if (conf->problem_code == 0)
        conf->problem_code = code;
    free(joined);
    free(msg);
}

static void
import_warn(import_conf *conf, ssize_t vm, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
import_warn(import_conf *conf, ssize_t vm, long line, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    struct import_note *note = NULL;

    va_start(ap, fmt);
    msg = import_vmessage(conf, fmt, ap);
    va_end(ap);
    if (msg == NULL)
        return;
    note = import_grow(conf, (void **)&conf->notes, &conf->n_notes, sizeof(*note));
    if (note == NULL)
        goto cleanup;
    note->vm = vm;
    if (asprintf(&note->text, "%s:%ld: warning: %s", conf->origin, line, msg) < 0) {
        note->text = NULL;
        conf->n_notes--;
        conf->oom = true;
    }
cleanup:
    free(msg);
}

/* A valid, unused XML ID made from base (NCName: a letter or '_' first, then letters,
 * digits, '.', '-', '_'); "-2", "-3"... appended on collision: the smallest free suffix.
 * Registered in conf. Returns conf's copy (owned by conf), or NULL when out of memory.
 * Each base remembers where its search for a free suffix ended (conf->id_next), and an id
 * is "BASE-N" for one BASE only: all the searches together take linear time. */
static const char *
import_id_make(import_conf *conf, const char *base)
{
    char *clean = NULL;
    char *id = NULL;
    const char *ret = NULL;
    size_t *next = NULL;
    size_t i;
    size_t len = strlen(base);
    size_t n;

    clean = malloc(len + 2);
    if (clean == NULL)
        goto cleanup;
    i = 0;
    if (len == 0 || !(isalpha((unsigned char)base[0]) || base[0] == '_'))
        clean[i++] = '_';
    for (; *base; base++)
        clean[i++] = (isalnum((unsigned char)*base) || *base == '.' || *base == '-' ||
                      *base == '_') && (unsigned char)*base < 0x80 ? *base : '_';
    clean[i] = '\0';
    if (import_map_get(&conf->ids, clean) == NULL) {
        ret = import_map_set(conf, &conf->ids, clean, 0);
        goto cleanup;
    }
    next = import_map_get(&conf->id_next, clean);
    for (n = next ? *next : 2; ; n++) {
        free(id);
        if (asprintf(&id, "%s-%zu", clean, n) < 0) {
            id = NULL;
            goto cleanup;
        }
        if (import_map_get(&conf->ids, id) == NULL)
            break;
    }
    if (import_map_set(conf, &conf->id_next, clean, n + 1) != NULL)
        ret = import_map_set(conf, &conf->ids, id, 0);
cleanup:
    if (ret == NULL)
        conf->oom = true;
    free(clean);
    free(id);
    return ret;
}

static const char *
import_id_makef(import_conf *conf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
import_id_makef(import_conf *conf, const char *fmt, ...)
{
    va_list ap;
    char *base = NULL;
    const char *id = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&base, fmt, ap);
    va_end(ap);
    if (n < 0) {
        conf->oom = true;
        return NULL;
    }
    id = import_id_make(conf, base);
    free(base);
    return id;
}

/* A host name as Pacemaker node names usually are: letters, digits, '.', '-', '_'. */
static bool
import_node_name_ok(const char *name)
{
    const char *p;

    if (name == NULL || *name == '\0' || strlen(name) > 255)
        return false;
    for (p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'))
            return false;
    return true;
}

/* rgmanager's time values: N, Ns, Nm, Nh, Nd. Returns 0 or -EINVAL. */
static int
import_parse_time_s(const char *text, int64_t *ret_s)
{
    char *end = NULL;
    long long v;
    int64_t mult = 1;

    if (text == NULL || !isdigit((unsigned char)*text))
        return -EINVAL;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || v > INT32_MAX)
        return -EINVAL;
    if (*end != '\0') {
        switch (*end) {
        case 's': mult = 1; break;
        case 'm': mult = 60; break;
        case 'h': mult = 3600; break;
        case 'd': mult = 86400; break;
        default: return -EINVAL;
        }
        if (end[1] != '\0')
            return -EINVAL;
    }
    *ret_s = v * mult;
    return 0;
}

static ssize_t
import_vm_find(const import_conf *conf, const char *name)
{
    const size_t *i = import_map_get(&conf->vm_index, name);

    return i ? (ssize_t)*i : -1;
}

static struct import_domain *
import_domain_find(const import_conf *conf, const char *name)
{
    const size_t *i = import_map_get(&conf->domain_index, name);

    return i ? &conf->domains[*i] : NULL;
}

static bool
import_node_known(const import_conf *conf, const char *name)
{
    return import_map_get(&conf->node_index, name) != NULL;
}

/* A boolean attribute (rgmanager's 0/1, also yes/no, true/false, on/off). */
static bool
import_bool_attr(import_conf *conf, const xmlNode *node, const char *what, const char *name,
                 bool default_value)
{
    char *v = import_attr(conf, node, name);
    bool b = default_value;

    if (v && params_parse_bool(v, &b) < 0)
        import_problem(conf, FERRY_E_CONFIG, import_line(node),
                       "%s: %s=\"%s\" is not a boolean (0 or 1)", what, name, v);
    free(v);
    return b;
}

static void
import_warn_unknown_attrs(import_conf *conf, ssize_t vm, const xmlNode *node, const char *what,
                          const char *const *known)
{
    const xmlAttr *a;

    for (a = node->properties; a; a = a->next)
        if (!import_known(known, (const char *)a->name))
            import_warn(conf, vm, import_line(node), "%s: unknown attribute '%s' ignored", what,
                        (const char *)a->name);
}

/* ---- parsing ---- */

static void
import_parse_nodes(import_conf *conf, const xmlNode *root)
{
    const xmlNode *list = xmlnode_child(root, "clusternodes");
    const xmlNode *c;
    char *name = NULL;
    char **slot = NULL;
    long *line = NULL;
    const size_t *i = NULL;
    size_t n = 0;

    for (c = list ? list->children : NULL; c; c = c->next) {
        if (!xmlnode_is(c, "clusternode"))
            continue;
        name = import_attr(conf, c, "name");
        if (name == NULL) {
            import_problem(conf, FERRY_E_CONFIG, import_line(c),
                           "<clusternode> without a name");
            continue;
        }
        if (!import_node_name_ok(name)) {
            import_problem(conf, FERRY_E_CONFIG, import_line(c),
                           "<clusternode name=\"%s\">: not a valid node name", name);
            free(name);
            continue;
        }
        if ((i = import_map_get(&conf->node_index, name)) != NULL) {
            import_problem(conf, FERRY_E_CONFIG, import_line(c),
                           "<clusternode name=\"%s\"> is defined twice (first at line %ld)",
                           name, conf->node_lines[*i]);
            free(name);
            continue;
        }
        n = conf->n_nodes;
        slot = import_grow(conf, (void **)&conf->nodes, &n, sizeof(*slot));
        n = conf->n_nodes;
        line = import_grow(conf, (void **)&conf->node_lines, &n, sizeof(*line));
        if (slot == NULL || line == NULL ||
            import_map_set(conf, &conf->node_index, name, conf->n_nodes) == NULL) {
            free(name);
            return;
        }
        *slot = name;
        *line = import_line(c);
        conf->n_nodes++;
    }
}

static void
import_parse_domain(import_conf *conf, const xmlNode *fd)
{
    struct import_domain *d = NULL;
    struct import_fdnode *n = NULL;
    const xmlNode *c;
    char *name = NULL;
    char *prio = NULL;
    char what[300];
    int64_t p = 0;
    const size_t *i = NULL;

    name = import_attr(conf, fd, "name");
    if (name == NULL) {
        import_problem(conf, FERRY_E_CONFIG, import_line(fd), "<failoverdomain> without a name");
        return;
    }
    if ((d = import_domain_find(conf, name)) != NULL) {
        import_problem(conf, FERRY_E_CONFIG, import_line(fd),
                       "failover domain '%s' is defined twice (first at line %ld)", name, d->line);
        free(name);
        return;
    }
    if (import_map_set(conf, &conf->domain_index, name, conf->n_domains) == NULL ||
        (d = import_grow(conf, (void **)&conf->domains, &conf->n_domains, sizeof(*d))) == NULL) {
        free(name);
        return;
    }
    d->name = name;
    d->line = import_line(fd);
    snprintf(what, sizeof(what), "failover domain '%s'", name);
    d->ordered = import_bool_attr(conf, fd, what, "ordered", false);
    d->restricted = import_bool_attr(conf, fd, what, "restricted", false);
    d->nofailback = import_bool_attr(conf, fd, what, "nofailback", false);
    import_warn_unknown_attrs(conf, -1, fd, what, import_domain_attrs);
    for (c = fd->children; c; c = c->next) {
        if (!xmlnode_is(c, "failoverdomainnode"))
            continue;
        name = import_attr(conf, c, "name");
        prio = import_attr(conf, c, "priority");
        if (name == NULL || !import_node_name_ok(name)) {
            import_problem(conf, FERRY_E_CONFIG, import_line(c),
                           "%s: <failoverdomainnode> without a valid node name", what);
            goto next;
        }
        if ((i = import_map_get(&d->node_index, name)) != NULL) {
            import_warn(conf, -1, import_line(c), "%s lists node '%s' twice; "
                        "the first entry (line %ld) is used", what, name, d->nodes[*i].line);
            goto next;
        }
        p = IMPORT_MAX_PRIORITY;
        if (prio && params_parse_int(prio, 1, IMPORT_MAX_PRIORITY, &p) < 0) {
            import_problem(conf, FERRY_E_CONFIG, import_line(c),
                           "%s: node '%s' has priority=\"%s\"; a priority is 1 (highest) to %d",
                           what, name, prio, IMPORT_MAX_PRIORITY);
            goto next;
        }
        if (prio == NULL && d->ordered)
            import_warn(conf, -1, import_line(c), "%s is ordered but node '%s' has no "
                        "priority; it gets the lowest (%d)", what, name, IMPORT_MAX_PRIORITY);
        if (conf->n_nodes > 0 && !import_node_known(conf, name))
            import_warn(conf, -1, import_line(c), "%s: node '%s' is not a <clusternode>",
                        what, name);
        if (import_map_set(conf, &d->node_index, name, d->n_nodes) == NULL)
            goto next;
        n = import_grow(conf, (void **)&d->nodes, &d->n_nodes, sizeof(*n));
        if (n == NULL)
            goto next;
        n->name = name;
        n->priority = (int)p;
        n->line = import_line(c);
        name = NULL;
next:
        free(name);
        free(prio);
        name = NULL;
        prio = NULL;
    }
    if (d->n_nodes == 0)
        import_warn(conf, -1, d->line, "%s has no nodes", what);
}

/* path: every directory absolute (the agent searches them at each start). */
static void
import_vm_path(import_conf *conf, struct import_vm *vm, const char *path)
{
    const char *dir = path;

    while (*dir) {
        size_t len = strcspn(dir, ":");

        if (len > 0 && dir[0] != '/') {
            import_problem(conf, FERRY_E_CONFIG, vm->line, "vm '%s': path=\"%s\": '%.*s' is "
                           "not an absolute directory", vm->name, path, (int)len, dir);
            return;
        }
        dir += len;
        if (*dir == ':')
            dir++;
    }
    if ((vm->path = strdup(path)) == NULL)
        conf->oom = true;
}

/* migrate_options and status_program go through the agent's own parser. */
static void
import_vm_agent_params(import_conf *conf, struct import_vm *vm, ssize_t index,
                       const xmlNode *node)
{
    char *v = NULL;
    char *env = NULL;
    char *envp[3] = { NULL, NULL, NULL };
    char **argv = NULL;
    struct ferry_params *params = NULL;
    ferry_error *e = NULL;

    v = import_attr(conf, node, "status_program");
    if (v && *v) {
        if (params_split_argv(v, &argv, &e) == 0) {
            vm->status_program = v;
            v = NULL;
        } else {
            import_warn(conf, index, vm->line, "vm '%s': status_program is not translated: "
                        "%s", vm->name, error_message(e));
        }
    }
    params_argv_free(argv);
    e = error_free(e);
    free(v);

    v = import_attr(conf, node, "migrate_options");
    if (v && *v) {
        /* as the agent would see it, next to the VM's own migrate= */
        if (asprintf(&env, "OCF_RESKEY_migrate_options=%s", v) < 0) {
            env = NULL;
            conf->oom = true;
        } else {
            envp[0] = env;
            envp[1] = vm->tunnelled ? "OCF_RESKEY_tunnelled=true" :
                      strcmp(vm->migrate, "pause") == 0 ? "OCF_RESKEY_migrate=pause" : NULL;
            if (params_parse(envp, &params, &e) == 0) {
                vm->migrate_options = v;
                v = NULL;
            } else if (params) {
                import_warn(conf, index, vm->line, "vm '%s': migrate_options is not "
                            "translated: %s", vm->name, error_message(e));
            } else {
                conf->oom = true;
            }
        }
    }
    params_free(params);
    error_free(e);
    free(env);
    free(v);
}

static void
import_parse_vm(import_conf *conf, const xmlNode *node)
{
    struct import_vm *vm = NULL;
    const char *id = NULL;
    char *name = NULL;
    char *v = NULL;
    char *p = NULL;
    bool exclusive = false;
    int64_t max_restarts = 0;
    int64_t expire_s = 0;
    enum import_recovery recovery = IMPORT_RECOVERY_RESTART;
    long line = xmlGetLineNo(node);
    ssize_t index;
    ssize_t other;

    name = import_attr(conf, node, "name");
    if (name == NULL || *name == '\0') {
        import_problem(conf, FERRY_E_CONFIG, line, "<vm> without a name");
        free(name);
        return;
    }
    if (strchr(name, '/') || strchr(name, '\n') || strlen(name) > 255) {
        import_problem(conf, FERRY_E_CONFIG, line, "<vm name=\"%s\">: not a valid domain name",
                       name);
        free(name);
        return;
    }
    if ((other = import_vm_find(conf, name)) >= 0) {
        import_problem(conf, FERRY_E_CONFIG, line, "vm '%s' is defined twice (first at line %ld)",
                       name, conf->vms[other].line);
        free(name);
        return;
    }
    index = (ssize_t)conf->n_vms;
    if (import_map_set(conf, &conf->vm_index, name, conf->n_vms) == NULL ||
        (vm = import_grow(conf, (void **)&conf->vms, &conf->n_vms, sizeof(*vm))) == NULL) {
        free(name);
        return;
    }
    vm->name = name;
    vm->line = line;
    vm->stickiness = -1;
    id = import_id_make(conf, name);
    if (id && (vm->id = strdup(id)) == NULL)
        conf->oom = true;
    if (id && strcmp(id, name) != 0)
        import_warn(conf, index, line, "vm '%s': resource id is '%s' (a valid, unique XML ID)",
                    name, id);
    import_warn_unknown_attrs(conf, index, node, "vm", import_vm_attrs);

    vm->migrate = import_attr(conf, node, "migrate");
    if (vm->migrate && strcmp(vm->migrate, "live") != 0 && strcmp(vm->migrate, "pause") != 0)
        import_problem(conf, FERRY_E_CONFIG, line,
                       "vm '%s': migrate=\"%s\" is not 'live' or 'pause'", name, vm->migrate);
    if (vm->migrate == NULL && (vm->migrate = strdup(IMPORT_DEFAULT_MIGRATE)) == NULL)
        conf->oom = true;

    v = import_attr(conf, node, "xmlfile");
    p = import_attr(conf, node, "path");
    if (v) {
        if (v[0] != '/')
            import_problem(conf, FERRY_E_CONFIG, line,
                           "vm '%s': xmlfile=\"%s\" is not an absolute path", name, v);
        vm->config = v;
        v = NULL;
        if (p)
            import_warn(conf, index, line, "vm '%s': path=\"%s\" ignored: xmlfile is set "
                        "(as vm.sh does)", name, p);
    } else if (p && *p) {
        import_vm_path(conf, vm, p);
    }
    free(p);
    p = NULL;

    vm->migration_mapping = import_attr(conf, node, "migration_mapping");
    vm->hypervisor = import_attr(conf, node, "hypervisor_uri");
    if (vm->hypervisor && (strcmp(vm->hypervisor, "auto") == 0 || *vm->hypervisor == '\0')) {
        free(vm->hypervisor);
        vm->hypervisor = NULL;
    }

    v = import_attr(conf, node, "migration_uri");
    if (v && *v && strcmp(v, "auto") != 0 && strcmp(v, IMPORT_QEMU_MIGRATION_URI) != 0) {
        /* vm.sh: printf(migration_uri, target host); ferry: %n = target node */
        char *s = strstr(v, "%s");

        if (s && strstr(s + 2, "%s")) {
            import_problem(conf, FERRY_E_CONFIG, line,
                           "vm '%s': migration_uri=\"%s\" has more than one %%s", name, v);
        } else if (s) {
            s[1] = 'n';
            if (vm->migration_mapping)
                import_warn(conf, index, line, "vm '%s': remoteuri '%s': ferry puts the node "
                            "name at %%n, not the migration_mapping host vm.sh put at %%s",
                            name, v);
        }
        vm->remoteuri = v;
        v = NULL;
    }
    free(v);
    v = NULL;

    v = import_attr(conf, node, "tunnelled");
    if (v && *v && params_parse_bool(v, &vm->tunnelled) < 0) {
        vm->tunnelled = false;
        import_warn(conf, index, line, "vm '%s': tunnelled=\"%s\" is not a boolean; false, "
                    "as vm.sh takes it", name, v);
    }
    free(v);
    v = NULL;

    vm->autostart = import_bool_attr(conf, node, "vm", "autostart", true);
    exclusive = import_bool_attr(conf, node, "vm", "exclusive", false);
    if (exclusive)
        import_warn(conf, index, line, "vm '%s': exclusive=\"1\" has no exact Pacemaker "
                    "equivalent and is not translated; give nodes a utilization capacity "
                    "and this VM all of it (placement-strategy=utilization), or add "
                    "-inf colocations with the other resources", name);

    v = import_attr(conf, node, "max_restarts");
    if (v && params_parse_int(v, 0, 1000000, &max_restarts) < 0)
        import_problem(conf, FERRY_E_CONFIG, line,
                       "vm '%s': max_restarts=\"%s\" is not a number of restarts", name, v);
    free(v);
    v = import_attr(conf, node, "restart_expire_time");
    if (v && import_parse_time_s(v, &expire_s) < 0)
        import_problem(conf, FERRY_E_CONFIG, line, "vm '%s': restart_expire_time=\"%s\" is not "
                       "a time (N, Ns, Nm, Nh, Nd)", name, v);
    free(v);

    v = import_attr(conf, node, "recovery");
    if (v == NULL || strcmp(v, "restart") == 0)
        recovery = IMPORT_RECOVERY_RESTART;
    else if (strcmp(v, "relocate") == 0)
        recovery = IMPORT_RECOVERY_RELOCATE;
    else if (strcmp(v, "disable") == 0)
        recovery = IMPORT_RECOVERY_DISABLE;
    else if (strcmp(v, "restart-disable") == 0)
        recovery = IMPORT_RECOVERY_RESTART_DISABLE;
    else
        import_problem(conf, FERRY_E_CONFIG, line, "vm '%s': recovery=\"%s\" is not restart, "
                       "relocate, disable or restart-disable", name, v);
    free(v);
    v = NULL;
    switch (recovery) {
    case IMPORT_RECOVERY_RESTART:
    case IMPORT_RECOVERY_RESTART_DISABLE:
        vm->on_fail = "restart";
        if (max_restarts > 0) {
            vm->migration_threshold = max_restarts + 1;
            vm->failure_timeout_s = expire_s;
        } else if (expire_s > 0) {
            import_warn(conf, index, line, "vm '%s': restart_expire_time without max_restarts "
                        "has no effect (in rgmanager either); not translated", name);
        }
        if (recovery == IMPORT_RECOVERY_RESTART_DISABLE)
            import_warn(conf, index, line, "vm '%s': recovery=\"restart-disable\": restarted in "
                        "place up to max_restarts times, but then Pacemaker moves it to another "
                        "node instead of disabling it", name);
        break;
    case IMPORT_RECOVERY_RELOCATE:
        vm->migration_threshold = 1;
        if (max_restarts > 0)
            import_warn(conf, index, line, "vm '%s': max_restarts ignored with "
                        "recovery=\"relocate\"", name);
        break;
    case IMPORT_RECOVERY_DISABLE:
        vm->on_fail = "stop";
        import_warn(conf, index, line, "vm '%s': recovery=\"disable\": a failed monitor stops "
                    "it and leaves it stopped (on-fail=stop) until 'crm resource cleanup'",
                    name);
        break;
    }

    vm->domain = import_attr(conf, node, "domain");
    if (vm->domain && *vm->domain == '\0') {
        free(vm->domain);
        vm->domain = NULL;
    }
    if (vm->domain && import_domain_find(conf, vm->domain) == NULL)
        import_problem(conf, FERRY_E_CONFIG, line, "vm '%s': failover domain '%s' is not "
                       "defined in <failoverdomains>", name, vm->domain);

    vm->depend = import_attr(conf, node, "depend");
    v = import_attr(conf, node, "depend_mode");
    if (v && strcmp(v, "soft") == 0)
        vm->depend_soft = true;
    else if (v && strcmp(v, "hard") != 0)
        import_problem(conf, FERRY_E_CONFIG, line,
                       "vm '%s': depend_mode=\"%s\" is not 'hard' or 'soft'", name, v);
    free(v);
    v = NULL;

    v = import_attr(conf, node, "use_virsh");
    if (v && strcmp(v, "0") == 0)
        import_warn(conf, index, line, "vm '%s': use_virsh=\"0\" (xm): ferry manages the "
                    "domain through libvirt only", name);
    free(v);
    v = import_attr(conf, node, "hypervisor");
    if (v && strcmp(v, "xen") == 0)
        import_warn(conf, index, line, "vm '%s': hypervisor=\"xen\": ferry manages KVM "
                    "guests", name);
    free(v);
    v = import_attr(conf, node, "snapshot");
    if (v && *v && v[0] != '/')
        import_problem(conf, FERRY_E_CONFIG, line, "vm '%s': snapshot=\"%s\" is not an "
                       "absolute directory", name, v);
    if (v && *v) {
        vm->snapshot = v;
        v = NULL;
    }
    free(v);
    import_vm_agent_params(conf, vm, index, node);
}

/* Warns about every <vm> below node (a <service>, <resources>...), which is not translated. */
static void
import_warn_nested(import_conf *conf, const xmlNode *node, const char *where)
{
    const xmlNode *c;
    char *name = NULL;

    for (c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (xmlnode_is(c, "vm")) {
            name = import_attr(conf, c, "name");
            if (name == NULL)
                name = import_attr(conf, c, "ref");
            import_warn(conf, -1, import_line(c), "vm '%s' inside %s is not translated: "
                        "only <vm>s directly under <rm> are", name ? name : "?", where);
            free(name);
            name = NULL;
        }
        import_warn_nested(conf, c, where);
    }
}

static void
import_resolve_depends(import_conf *conf)
{
    struct import_order *o = NULL;
    const char *target = NULL;
    const char *id = NULL;
    ssize_t first;
    size_t i;

    for (i = 0; i < conf->n_vms; i++) {
        struct import_vm *vm = &conf->vms[i];

        if (vm->depend == NULL || *vm->depend == '\0')
            continue;
        if (strncmp(vm->depend, "service:", 8) == 0)
            target = vm->depend + 8;
        else if (strncmp(vm->depend, "vm:", 3) == 0)
            target = vm->depend + 3;
        else
            target = NULL;
        if (target == NULL || *target == '\0') {
            import_problem(conf, FERRY_E_CONFIG, vm->line, "vm '%s': depend=\"%s\" is not "
                           "service:NAME", vm->name, vm->depend);
            continue;
        }
        first = import_vm_find(conf, target);
        if (first == (ssize_t)i) {
            import_problem(conf, FERRY_E_CONFIG, vm->line, "vm '%s' depends on itself",
                           vm->name);
            continue;
        }
        if (first < 0) {
            import_warn(conf, (ssize_t)i, vm->line, "vm '%s': depend=\"%s\" not translated: "
                        "'%s' is %s; order it after that resource by hand", vm->name,
                        vm->depend, target, import_map_get(&conf->services, target)
                        ? "a <service>, not an imported vm" : "not defined");
            continue;
        }
        if (vm->id == NULL || conf->vms[first].id == NULL)
            continue;
        id = import_id_makef(conf, "%s-after-%s", vm->id, conf->vms[first].id);
        o = import_grow(conf, (void **)&conf->orders, &conf->n_orders, sizeof(*o));
        if (id == NULL || o == NULL)
            continue;
        if ((o->id = strdup(id)) == NULL)
            conf->oom = true;
        o->first = (size_t)first;
        o->then = i;
        o->optional = vm->depend_soft;
    }
}

static void
import_add_location(import_conf *conf, size_t vm, const char *node, int64_t score,
                    bool minus_inf)
{
    struct import_location *l = NULL;
    const char *id = NULL;

    id = import_id_makef(conf, "%s-%s-%s", conf->vms[vm].id, minus_inf ? "avoids" : "prefers",
                         node);
    if (id == NULL)
        return;
    l = import_grow(conf, (void **)&conf->locations, &conf->n_locations, sizeof(*l));
    if (l == NULL)
        return;
    l->id = strdup(id);
    l->node = strdup(node);
    if (l->id == NULL || l->node == NULL)
        conf->oom = true;
    l->vm = vm;
    l->score = score;
    l->minus_inf = minus_inf;
}

/* Orders the notes by the VM they go before (note_order, note_start), keeping their order
 * within each VM: a counting sort. */
static void
import_notes_index(import_conf *conf)
{
    size_t *start = NULL;
    size_t i;

    conf->note_start = calloc(conf->n_vms + 2, sizeof(*conf->note_start));
    conf->note_order = calloc(conf->n_notes + 1, sizeof(*conf->note_order));
    if (conf->note_start == NULL || conf->note_order == NULL ||
        (start = calloc(conf->n_vms + 1, sizeof(*start))) == NULL) {
        conf->oom = true;
        return;
    }
    for (i = 0; i < conf->n_notes; i++)
        conf->note_start[conf->notes[i].vm + 2]++;
    for (i = 1; i < conf->n_vms + 2; i++)
        conf->note_start[i] += conf->note_start[i - 1];
    memcpy(start, conf->note_start, (conf->n_vms + 1) * sizeof(*start));
    for (i = 0; i < conf->n_notes; i++)
        conf->note_order[start[conf->notes[i].vm + 1]++] = i;
    free(start);
}

/* The location constraints the failover domains make: each VM in a domain gets one per
 * node of it, and with restricted one per other <clusternode>. */
static uint64_t
import_location_count(const import_conf *conf)
{
    uint64_t *per_domain = NULL;
    const struct import_domain *d = NULL;
    uint64_t total = 0;
    size_t known;
    size_t i;
    size_t j;

    per_domain = calloc(conf->n_domains + 1, sizeof(*per_domain));
    if (per_domain == NULL)
        return UINT64_MAX;
    for (i = 0; i < conf->n_domains; i++) {
        d = &conf->domains[i];
        known = 0;
        for (j = 0; j < d->n_nodes; j++)
            if (import_node_known(conf, d->nodes[j].name))
                known++;
        per_domain[i] = d->n_nodes + (d->restricted ? conf->n_nodes - known : 0);
    }
    for (i = 0; i < conf->n_vms; i++)
        if (conf->vms[i].domain && (d = import_domain_find(conf, conf->vms[i].domain)))
            total += per_domain[d - conf->domains];
    free(per_domain);
    return total;
}

static void
import_build_locations(import_conf *conf)
{
    const struct import_domain *d = NULL;
    int64_t score;
    int64_t best;
    int max_prio;
    size_t i;
    size_t j;
    size_t k;
    uint64_t count = import_location_count(conf);

    /* the output stays linear in the input: VMs x nodes has a bound */
    if (count > IMPORT_MAX_LOCATIONS) {
        import_problem(conf, FERRY_E_CONFIG, conf->domains[0].line, "the failover domains "
                       "make %" PRIu64 " location constraints (a VM in a domain gets one per node of it, and "
                       "one per other <clusternode> when it is restricted); ferry-import "
                       "writes at most %d", count, IMPORT_MAX_LOCATIONS);
        return;
    }
    for (i = 0; i < conf->n_vms; i++) {
        struct import_vm *vm = &conf->vms[i];

        if (vm->domain == NULL || vm->id == NULL ||
            (d = import_domain_find(conf, vm->domain)) == NULL)
            continue;
        max_prio = 1;
        for (j = 0; j < d->n_nodes; j++)
            if (d->nodes[j].priority > max_prio)
                max_prio = d->nodes[j].priority;
        best = 0;
        for (j = 0; j < d->n_nodes; j++) {
            score = d->ordered ? (int64_t)(max_prio + 1 - d->nodes[j].priority) * IMPORT_SCORE_STEP
                               : IMPORT_SCORE_STEP;
            if (score > best)
                best = score;
            import_add_location(conf, i, d->nodes[j].name, score, false);
        }
        if (d->restricted) {
            if (conf->n_nodes == 0)
                import_warn(conf, (ssize_t)i, d->line, "failover domain '%s' is restricted but "
                            "there are no <clusternodes>: no -inf locations written",
                            d->name);
            for (k = 0; k < conf->n_nodes; k++)
                if (import_map_get(&d->node_index, conf->nodes[k]) == NULL)
                    import_add_location(conf, i, conf->nodes[k], 0, true);
        }
        if (d->nofailback)
            vm->stickiness = best + IMPORT_SCORE_STEP;
        else if (d->ordered)
            vm->stickiness = 0;
    }
}

int
import_parse(const char *text, size_t len, const char *origin, import_conf **ret_conf,
             ferry_error **err)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    const xmlNode *root = NULL;
    const xmlNode *rm = NULL;
    const xmlNode *c = NULL;
    import_conf *conf = NULL;
    char where[300];
    xmlChar *sname = NULL;
    struct import_xml_error first;
    long prev_end = 0;
    char *p = NULL;
    size_t i;
    size_t l;
    int ret = 0;

    memset(&first, 0, sizeof(first));
    if (origin == NULL)
        origin = "cluster.conf";
    if (len > IMPORT_MAX_BYTES || len > INT32_MAX) {
        ret = error_set(err, -EFBIG, "%s: larger than %d bytes; refused", origin,
                        IMPORT_MAX_BYTES);
        goto cleanup;
    }
    conf = calloc(1, sizeof(*conf));
    if (conf == NULL || (conf->origin = strdup(origin)) == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    /* the origin is in every message and in the comments written: one line, printable */
    for (p = conf->origin; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    ctxt->_private = &first;
    ctxt->sax->serror = import_xml_error_keep;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    /* no XML_PARSE_NOENT (entities are not substituted), no DTD loading, no network */
    doc = xmlCtxtReadMemory(ctxt, text, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                            XML_PARSE_BIG_LINES);
    if (doc == NULL) {
        ret = error_set(err, FERRY_E_XML, "%s:%d: not well-formed XML: %s", origin,
                        first.line, first.message[0] ? first.message : "parse error");
        goto cleanup;
    }
    if (doc->intSubset && (doc->intSubset->entities || doc->intSubset->pentities)) {
        ret = error_set(err, FERRY_E_XML, "%s:%ld: entity declarations are not allowed in a "
                        "cluster.conf", origin, import_doctype_line(text, len));
        goto cleanup;
    }
    root = xmlDocGetRootElement(doc);
    if (!xmlnode_is(root, "cluster")) {
        ret = error_set(err, FERRY_E_CONFIG, "%s:%ld: the root element is <%s>, not <cluster>: "
                        "not a cluster.conf", origin, root ? import_line(root) : 0L,
                        root ? (const char *)root->name : "");
        goto cleanup;
    }
    rm = xmlnode_child(root, "rm");
    if (rm == NULL) {
        ret = error_set(err, FERRY_E_CONFIG, "%s:%ld: <cluster> has no <rm> section: no "
                        "rgmanager resources to import", origin, import_line(root));
        goto cleanup;
    }
    for (i = 0; i < len; i++)
        if (text[i] == '\n')
            conf->n_lines++;
    conf->n_lines++;
    conf->line_starts = calloc(conf->n_lines, sizeof(*conf->line_starts));
    if (conf->line_starts == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    for (i = 0, l = 1; i < len; i++)
        if (text[i] == '\n')
            conf->line_starts[l++] = i + 1;
    conf->text = text;
    conf->len = len;
    import_lines_mark(conf, xmlDocGetRootElement(doc), &prev_end);
    import_parse_nodes(conf, root);
    c = xmlnode_child(rm, "failoverdomains");
    for (c = c ? c->children : NULL; c; c = c->next)
        if (xmlnode_is(c, "failoverdomain"))
            import_parse_domain(conf, c);
    for (c = rm->children; c; c = c->next) {
        if (xmlnode_is(c, "vm")) {
            import_parse_vm(conf, c);
        } else if (xmlnode_is(c, "service")) {
            sname = xmlGetProp(c, BAD_CAST "name");
            if (sname)
                import_map_set(conf, &conf->services, (const char *)sname, 0);
            snprintf(where, sizeof(where), "service '%s'", sname ? (const char *)sname : "?");
            xmlFree(sname);
            sname = NULL;
            import_warn(conf, -1, import_line(c), "%s is not translated: ferry-import "
                        "translates <vm> resources only", where);
            import_warn_nested(conf, c, where);
        } else if (xmlnode_is(c, "resources")) {
            import_warn_nested(conf, c, "<resources>");
        }
    }
    import_resolve_depends(conf);
    if (conf->problems == NULL)
        import_build_locations(conf);
    if (conf->n_vms == 0 && conf->problems == NULL)
        import_warn(conf, -1, import_line(rm), "no <vm> resources under <rm>: nothing to "
                    "import");
    if (conf->problems == NULL)
        import_notes_index(conf);
    if (conf->oom) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    if (conf->problems) {
        ret = error_set(err, conf->problem_code, "%s", conf->problems);
        goto cleanup;
    }
    free(conf->line_starts);
    conf->line_starts = NULL;
    conf->text = NULL;
    *ret_conf = conf;
    conf = NULL;
cleanup:
    import_free(conf);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return ret;
}

int
import_load_fd(int fd, const char *origin, import_conf **ret_conf, ferry_error **err)
{
    char *buf = NULL;
    size_t len = 0;
    int ret = 0;

    ret = xmlnode_read_fd(fd, origin, IMPORT_MAX_BYTES, &buf, &len, err);
    if (ret < 0)
        goto cleanup;
    ret = import_parse(buf, len, origin, ret_conf, err);
cleanup:
    free(buf);
    return ret;
}

/* ---- writing ---- */

/* "90s", or "500ms" when not whole seconds. */
static void
import_ms_text(int64_t ms, char *buf, size_t size)
{
    if (ms % 1000 == 0)
        snprintf(buf, size, "%" PRId64 "s", ms / 1000);
    else
        snprintf(buf, size, "%" PRId64 "ms", ms);
}

static const enum ocf_action import_ops[] = {
    OCF_ACTION_START, OCF_ACTION_STOP, OCF_ACTION_MONITOR, OCF_ACTION_MIGRATE_TO,
    OCF_ACTION_MIGRATE_FROM,
};

/* One instance attribute or meta attribute: name and value (value NULL: not written). */
struct import_pair {
    const char *name;
    const char *value;
};

#define IMPORT_MAX_PAIRS 16

static size_t
import_vm_params(const struct import_vm *vm, struct import_pair *out)
{
    size_t n = 0;

    out[n++] = (struct import_pair){ PARAMS_NAME, vm->name };
    if (vm->config)
        out[n++] = (struct import_pair){ PARAMS_CONFIG, vm->config };
    if (vm->path)
        out[n++] = (struct import_pair){ PARAMS_PATH, vm->path };
    out[n++] = (struct import_pair){ PARAMS_MIGRATE, vm->migrate };
    if (vm->migration_mapping)
        out[n++] = (struct import_pair){ PARAMS_MIGRATION_MAPPING, vm->migration_mapping };
    if (vm->hypervisor)
        out[n++] = (struct import_pair){ PARAMS_HYPERVISOR, vm->hypervisor };
    if (vm->remoteuri)
        out[n++] = (struct import_pair){ PARAMS_REMOTEURI, vm->remoteuri };
    if (vm->tunnelled)
        out[n++] = (struct import_pair){ PARAMS_TUNNELLED, "true" };
    if (vm->migrate_options)
        out[n++] = (struct import_pair){ PARAMS_MIGRATE_OPTIONS, vm->migrate_options };
    if (vm->snapshot)
        out[n++] = (struct import_pair){ PARAMS_SNAPSHOT, vm->snapshot };
    if (vm->status_program)
        out[n++] = (struct import_pair){ PARAMS_STATUS_PROGRAM, vm->status_program };
    return n;
}

/* bufs: storage for the numbers, IMPORT_MAX_PAIRS x 32 bytes. */
static size_t
import_vm_meta(const struct import_vm *vm, struct import_pair *out, char (*bufs)[32])
{
    size_t n = 0;

    out[n++] = (struct import_pair){ "allow-migrate", "true" };
    if (!vm->autostart)
        out[n++] = (struct import_pair){ "target-role", "Stopped" };
    if (vm->migration_threshold > 0) {
        snprintf(bufs[n], 32, "%" PRId64, vm->migration_threshold);
        out[n] = (struct import_pair){ "migration-threshold", bufs[n] };
        n++;
    }
    if (vm->failure_timeout_s > 0) {
        snprintf(bufs[n], 32, "%" PRId64 "s", vm->failure_timeout_s);
        out[n] = (struct import_pair){ "failure-timeout", bufs[n] };
        n++;
    }
    if (vm->stickiness >= 0) {
        snprintf(bufs[n], 32, "%" PRId64, vm->stickiness);
        out[n] = (struct import_pair){ "resource-stickiness", bufs[n] };
        n++;
    }
    return n;
}

/* A crm value: bare when made of safe characters, else double-quoted with \ and " escaped.
 * (It holds no control character but tab: import_crm_check().) */
static void
import_crm_value(FILE *out, const char *v)
{
    const char *p;
    bool bare = *v != '\0';

    for (p = v; *p && bare; p++)
        bare = isalnum((unsigned char)*p) || strchr("/._-:,+@%", *p);
    if (bare) {
        fputs(v, out);
        return;
    }
    fputc('"', out);
    for (p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

/* crmsh reads its file with Python's universal newlines, so a carriage return is a line
 * break as much as a newline, and its values have no escape for either: a value holding a
 * control character (but tab) is refused, with FERRY_E_CONFIG, before anything is written.
 * (The comments cannot hold one: import_warn() and import_parse() took them out.) */
static int
import_crm_check(const import_conf *conf, ferry_error **err)
{
    struct import_pair pairs[IMPORT_MAX_PAIRS];
    const char *p;
    size_t i;
    size_t j;
    size_t n;

    for (i = 0; i < conf->n_vms; i++) {
        n = import_vm_params(&conf->vms[i], pairs);
        for (j = 0; j < n; j++) {
            for (p = pairs[j].value; *p; p++)
                if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
                    break;
            if (*p)
                return error_set(err, FERRY_E_CONFIG, "resource '%s': parameter '%s' holds "
                                 "a %s, which the crm form cannot carry (crmsh would read "
                                 "a line break or garble it); use --format=xml",
                                 conf->vms[i].id, pairs[j].name,
                                 *p == '\r' ? "carriage return" :
                                 *p == '\n' ? "newline" : "control character");
        }
    }
    return 0;
}

/* The notes written before vm (-1: the file's head). */
static void
import_crm_notes(const import_conf *conf, FILE *out, ssize_t vm)
{
    size_t k;

    for (k = conf->note_start[vm + 1]; k < conf->note_start[vm + 2]; k++)
        fprintf(out, "# %s\n", conf->notes[conf->note_order[k]].text);
}

static void
import_write_crm(const import_conf *conf, FILE *out)
{
    struct import_pair pairs[IMPORT_MAX_PAIRS];
    char bufs[IMPORT_MAX_PAIRS][32];
    char t[32];
    char iv[32];
    char depth_iv[32];
    size_t i;
    size_t j;
    size_t n;

    import_ms_text(OCF_DEPTH10_INTERVAL_MS, depth_iv, sizeof(depth_iv));
    fprintf(out, "# ferry-import: %zu vm resource(s) from %s (rgmanager) for ocf:%s:%s.\n"
            "# Load with: crm configure load update FILE\n", conf->n_vms, conf->origin,
            OCF_AGENT_PROVIDER, OCF_AGENT_NAME);
    import_crm_notes(conf, out, -1);
    for (i = 0; i < conf->n_vms; i++) {
        const struct import_vm *vm = &conf->vms[i];

        import_crm_notes(conf, out, (ssize_t)i);
        fprintf(out, "primitive %s ocf:%s:%s \\\n\tparams", vm->id, OCF_AGENT_PROVIDER,
                OCF_AGENT_NAME);
        n = import_vm_params(vm, pairs);
        for (j = 0; j < n; j++) {
            fprintf(out, " %s=", pairs[j].name);
            import_crm_value(out, pairs[j].value);
        }
        fputs(" \\\n", out);
        for (j = 0; j < sizeof(import_ops) / sizeof(import_ops[0]); j++) {
            const struct ocf_action_def *a = ocf_action_get(import_ops[j]);

            import_ms_text(a->timeout_ms, t, sizeof(t));
            import_ms_text(a->interval_ms, iv, sizeof(iv));
            fprintf(out, "\top %s timeout=%s interval=%s", a->name, t, iv);
            if (a->action == OCF_ACTION_MONITOR && vm->on_fail)
                fprintf(out, " on-fail=%s", vm->on_fail);
            fputs(" \\\n", out);
            if (a->action == OCF_ACTION_MONITOR && vm->status_program) {
                fprintf(out, "\top %s timeout=%s interval=%s", a->name, t, depth_iv);
                if (vm->on_fail)
                    fprintf(out, " on-fail=%s", vm->on_fail);
                fputs(" OCF_CHECK_LEVEL=10 \\\n", out);
            }
        }
        fputs("\tmeta", out);
        n = import_vm_meta(vm, pairs, bufs);
        for (j = 0; j < n; j++)
            fprintf(out, " %s=%s", pairs[j].name, pairs[j].value);
        fputc('\n', out);
    }
    for (i = 0; i < conf->n_locations; i++) {
        const struct import_location *l = &conf->locations[i];

        if (l->minus_inf)
            fprintf(out, "location %s %s -inf: %s\n", l->id, conf->vms[l->vm].id, l->node);
        else
            fprintf(out, "location %s %s %" PRId64 ": %s\n", l->id, conf->vms[l->vm].id,
                    l->score, l->node);
    }
    for (i = 0; i < conf->n_orders; i++) {
        const struct import_order *o = &conf->orders[i];

        fprintf(out, "order %s %s: %s %s\n", o->id, o->optional ? "Optional" : "Mandatory",
                conf->vms[o->first].id, conf->vms[o->then].id);
    }
}

/* Returns the new element, or NULL (out of memory). */
static xmlNodePtr
import_xml_child(xmlNodePtr parent, const char *name)
{
    return xmlNewChild(parent, NULL, BAD_CAST name, NULL);
}

static bool
import_xml_set(xmlNodePtr node, const char *name, const char *value)
{
    return node && xmlSetProp(node, BAD_CAST name, BAD_CAST value) != NULL;
}

/* An XML comment holding text; "--" cannot appear in one, so a space goes between. */
static bool
import_xml_comment(xmlDocPtr doc, xmlNodePtr parent, const char *text)
{
    char *s = NULL;
    const char *p;
    size_t n = 0;
    xmlNodePtr c = NULL;

    s = malloc(2 * strlen(text) + 3);
    if (s == NULL)
        return false;
    s[n++] = ' ';
    for (p = text; *p; p++) {
        if (*p == '-' && n > 0 && s[n - 1] == '-')
            s[n++] = ' ';
        s[n++] = *p;
    }
    s[n++] = ' ';
    s[n] = '\0';
    c = xmlNewDocComment(doc, BAD_CAST s);
    free(s);
    return c && xmlAddChild(parent, c) != NULL;
}

/* The XML ids below the primitives are registered in a scratch copy of the id list
 * (ids), so they collide neither with each other nor with the resources' own ids. */
static int
import_write_xml_doc(const import_conf *conf, import_conf *ids, xmlDocPtr doc)
{
    struct import_pair pairs[IMPORT_MAX_PAIRS];
    char bufs[IMPORT_MAX_PAIRS][32];
    char t[32];
    char iv[32];
    char depth_iv[32];
    char head[512];
    xmlNodePtr root = NULL;
    xmlNodePtr resources = NULL;
    xmlNodePtr constraints = NULL;
    xmlNodePtr prim = NULL;
    xmlNodePtr set = NULL;
    const char *set_id = NULL;
    xmlNodePtr ops = NULL;
    xmlNodePtr e = NULL;
    bool ok = true;
    size_t i;
    size_t j;
    size_t k;
    size_t n;

    import_ms_text(OCF_DEPTH10_INTERVAL_MS, depth_iv, sizeof(depth_iv));
    root = xmlNewNode(NULL, BAD_CAST "configuration");
    if (root == NULL)
        return -ENOMEM;
    xmlDocSetRootElement(doc, root);
    snprintf(head, sizeof(head), "ferry-import: %zu vm resource(s) from %s (rgmanager) for "
             "ocf:%s:%s. Load with: cibadmin -M -c -o configuration -x FILE "
             "(modify, allow-create)", conf->n_vms, conf->origin, OCF_AGENT_PROVIDER, OCF_AGENT_NAME);
    ok = import_xml_comment(doc, root, head);
    for (k = conf->note_start[0]; ok && k < conf->note_start[1]; k++)
        ok = import_xml_comment(doc, root, conf->notes[conf->note_order[k]].text);
    resources = import_xml_child(root, "resources");
    constraints = import_xml_child(root, "constraints");
    ok = ok && resources && constraints;
    for (i = 0; ok && i < conf->n_vms; i++) {
        const struct import_vm *vm = &conf->vms[i];

        for (k = conf->note_start[i + 1]; ok && k < conf->note_start[i + 2]; k++)
            ok = import_xml_comment(doc, resources, conf->notes[conf->note_order[k]].text);
        prim = import_xml_child(resources, "primitive");
        ok = ok && import_xml_set(prim, "id", vm->id) && import_xml_set(prim, "class", "ocf") &&
             import_xml_set(prim, "provider", OCF_AGENT_PROVIDER) &&
             import_xml_set(prim, "type", OCF_AGENT_NAME);
        for (k = 0; ok && k < 2; k++) {
            const char *kind = k == 0 ? "instance_attributes" : "meta_attributes";

            n = k == 0 ? import_vm_params(vm, pairs) : import_vm_meta(vm, pairs, bufs);
            set = import_xml_child(prim, kind);
            set_id = import_id_makef(ids, "%s-%s", vm->id, kind);
            ok = set_id && import_xml_set(set, "id", set_id);
            for (j = 0; ok && j < n; j++) {
                e = import_xml_child(set, "nvpair");
                ok = import_xml_set(e, "id", import_id_makef(ids, "%s-%s", set_id, pairs[j].name)) &&
                     import_xml_set(e, "name", pairs[j].name) &&
                     import_xml_set(e, "value", pairs[j].value);
            }
        }
        ops = ok ? import_xml_child(prim, "operations") : NULL;
        ok = ok && ops;
        for (j = 0; ok && j < sizeof(import_ops) / sizeof(import_ops[0]); j++) {
            const struct ocf_action_def *a = ocf_action_get(import_ops[j]);

            import_ms_text(a->timeout_ms, t, sizeof(t));
            import_ms_text(a->interval_ms, iv, sizeof(iv));
            e = import_xml_child(ops, "op");
            ok = import_xml_set(e, "id", import_id_makef(ids, "%s-%s", vm->id, a->name)) &&
                 import_xml_set(e, "name", a->name) && import_xml_set(e, "interval", iv) &&
                 import_xml_set(e, "timeout", t);
            if (ok && a->action == OCF_ACTION_MONITOR && vm->on_fail)
                ok = import_xml_set(e, "on-fail", vm->on_fail);
            if (ok && a->action == OCF_ACTION_MONITOR && vm->status_program) {
                /* vm.sh's depth-10 check, where status_program runs */
                const char *op_id = import_id_makef(ids, "%s-%s-depth10", vm->id, a->name);

                e = import_xml_child(ops, "op");
                ok = op_id && import_xml_set(e, "id", op_id) &&
                     import_xml_set(e, "name", a->name) &&
                     import_xml_set(e, "interval", depth_iv) &&
                     import_xml_set(e, "timeout", t) &&
                     (vm->on_fail == NULL || import_xml_set(e, "on-fail", vm->on_fail));
                set = ok ? import_xml_child(e, "instance_attributes") : NULL;
                set_id = import_id_makef(ids, "%s-attrs", op_id ? op_id : "");
                ok = ok && set_id && import_xml_set(set, "id", set_id);
                e = ok ? import_xml_child(set, "nvpair") : NULL;
                ok = ok && import_xml_set(e, "id", import_id_makef(ids, "%s-level", set_id)) &&
                     import_xml_set(e, "name", "OCF_CHECK_LEVEL") &&
                     import_xml_set(e, "value", "10");
            }
        }
    }
    for (i = 0; ok && i < conf->n_locations; i++) {
        const struct import_location *l = &conf->locations[i];
        char score[32];

        if (l->minus_inf)
            snprintf(score, sizeof(score), "-INFINITY");
        else
            snprintf(score, sizeof(score), "%" PRId64, l->score);
        e = import_xml_child(constraints, "rsc_location");
        ok = import_xml_set(e, "id", l->id) && import_xml_set(e, "rsc", conf->vms[l->vm].id) &&
             import_xml_set(e, "node", l->node) && import_xml_set(e, "score", score);
    }
    for (i = 0; ok && i < conf->n_orders; i++) {
        const struct import_order *o = &conf->orders[i];

        e = import_xml_child(constraints, "rsc_order");
        ok = import_xml_set(e, "id", o->id) && import_xml_set(e, "first", conf->vms[o->first].id) &&
             import_xml_set(e, "then", conf->vms[o->then].id) &&
             import_xml_set(e, "kind", o->optional ? "Optional" : "Mandatory");
    }
    return ok && !ids->oom ? 0 : -ENOMEM;
}

static int
import_write_xml(const import_conf *conf, FILE *out, ferry_error **err)
{
    import_conf ids;
    xmlDocPtr doc = NULL;
    xmlChar *text = NULL;
    int size = 0;
    size_t i;
    int ret = 0;

    memset(&ids, 0, sizeof(ids));
    for (i = 0; i < conf->ids.size; i++)
        if (conf->ids.slots[i].key &&
            import_map_set(&ids, &ids.ids, conf->ids.slots[i].key, 0) == NULL)
            break;
    doc = xmlNewDoc(BAD_CAST "1.0");
    if (ids.oom || doc == NULL || import_write_xml_doc(conf, &ids, doc) < 0) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    xmlDocDumpFormatMemoryEnc(doc, &text, &size, "UTF-8", 1);
    if (text == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    fwrite(text, 1, (size_t)size, out);
cleanup:
    import_map_free(&ids.ids);
    import_map_free(&ids.id_next);
    xmlFree(text);
    xmlFreeDoc(doc);
    return ret;
}

int
import_write(const import_conf *conf, enum import_format format, FILE *out, ferry_error **err)
{
    int ret = 0;

    if (format == IMPORT_FORMAT_XML)
        ret = import_write_xml(conf, out, err);
    else if ((ret = import_crm_check(conf, err)) == 0)
        import_write_crm(conf, out);
    if (ret == 0 && (fflush(out) != 0 || ferror(out)))
        ret = error_set(err, -EIO, "writing the configuration failed: %s", strerror(errno));
    return ret;
}

int
import_format_parse(const char *name, enum import_format *ret_format)
{
    if (name && strcmp(name, "crm") == 0)
        *ret_format = IMPORT_FORMAT_CRM;
    else if (name && strcmp(name, "xml") == 0)
        *ret_format = IMPORT_FORMAT_XML;
    else
        return -EINVAL;
    return 0;
}

size_t
import_vm_count(const import_conf *conf)
{
    return conf ? conf->n_vms : 0;
}

size_t
import_warning_count(const import_conf *conf)
{
    return conf ? conf->n_notes : 0;
}

const char *
import_warning(const import_conf *conf, size_t i)
{
    return conf && i < conf->n_notes ? conf->notes[i].text : NULL;
}

import_conf *
import_free(import_conf *conf)
{
    size_t i;
    size_t j;

    if (conf == NULL)
        return NULL;
    for (i = 0; i < conf->n_nodes; i++)
        free(conf->nodes[i]);
    free(conf->nodes);
    free(conf->node_lines);
    for (i = 0; i < conf->n_domains; i++) {
        for (j = 0; j < conf->domains[i].n_nodes; j++)
            free(conf->domains[i].nodes[j].name);
        free(conf->domains[i].nodes);
        import_map_free(&conf->domains[i].node_index);
        free(conf->domains[i].name);
    }
    free(conf->domains);
    for (i = 0; i < conf->n_vms; i++) {
        struct import_vm *vm = &conf->vms[i];

        free(vm->id);
        free(vm->name);
        free(vm->config);
        free(vm->migrate);
        free(vm->migration_mapping);
        free(vm->path);
        free(vm->snapshot);
        free(vm->status_program);
        free(vm->migrate_options);
        free(vm->hypervisor);
        free(vm->remoteuri);
        free(vm->domain);
        free(vm->depend);
    }
    free(conf->vms);
    for (i = 0; i < conf->n_locations; i++) {
        free(conf->locations[i].id);
        free(conf->locations[i].node);
    }
    free(conf->locations);
    for (i = 0; i < conf->n_orders; i++)
        free(conf->orders[i].id);
    free(conf->orders);
    for (i = 0; i < conf->n_notes; i++)
        free(conf->notes[i].text);
    free(conf->notes);
    free(conf->note_order);
    free(conf->note_start);
    import_map_free(&conf->ids);
    import_map_free(&conf->id_next);
    import_map_free(&conf->vm_index);
    import_map_free(&conf->domain_index);
    import_map_free(&conf->node_index);
    import_map_free(&conf->services);
    free(conf->problems);
    free(conf->line_starts);
    free(conf->origin);
    free(conf);
    return NULL;
}
