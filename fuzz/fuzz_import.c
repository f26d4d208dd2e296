/* fuzz_import.c — ferry-import's whole pipeline (lib/import.c): cluster.conf
 * text -> model -> crmsh text and CIB XML. Properties, for an input
 * import_parse accepts:
 *  - the XML output is well-formed, its root is <configuration>, every id is
 *    unique, and it has one <primitive> per translated VM;
 *  - the crmsh output, read back line by line, has only the lines ferry-import
 *    writes: comments, and statements that start with primitive, location,
 *    order, colocation or group, whose continuation lines start with a tab
 *    and an op/params/meta keyword; quotes balance on every line but
 *    comments; one
 *    primitive per translated VM (nothing in the input can add a statement);
 *  - the warnings are one line each;
 *  - parsing is deterministic: the same input writes the same text.
 * The crm form may refuse a value with a control character or newline (FERRY_E_CONFIG,
 * nothing written: crmsh reads '\r' as a line break); the XML form may not.
 * A refused input has an error with a message and a documented code.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "import.h"

static void
fz_silence(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* The configuration in format; NULL if the crm form refuses a value (a
 * control character: FERRY_E_CONFIG, nothing written). The XML form always
 * works. */
static char *
fz_write(const import_conf *conf, enum import_format format, size_t *ret_len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, ret_len);
    ferry_error *err = NULL;
    int rc;

    assert(out);
    rc = import_write(conf, format, out, &err);
    assert(fclose(out) == 0);
    if (rc == FERRY_E_CONFIG && format == IMPORT_FORMAT_CRM) {
        assert(err && strstr(error_message(err), "the crm form cannot carry"));
        assert(*ret_len == 0);
        error_free(err);
        free(text);
        return NULL;
    }
    assert(rc == 0 && err == NULL);
    return text;
}

static int
fz_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
fz_collect_ids(const xmlNode *node, char ***ids, size_t *n, size_t *cap, size_t *primitives)
{
    for (; node; node = node->next) {
        xmlChar *id = NULL;

        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrcmp(node->name, BAD_CAST "primitive") == 0)
            (*primitives)++;
        id = xmlGetProp(node, BAD_CAST "id");
        if (id) {
            if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 64;
                *ids = realloc(*ids, *cap * sizeof(**ids));
                assert(*ids);
            }
            (*ids)[(*n)++] = (char *)id;
        }
        fz_collect_ids(node->children, ids, n, cap, primitives);
    }
}

static void
fz_check_xml(const char *text, size_t len, size_t vms)
{
    xmlDocPtr doc = xmlReadMemory(text, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    const xmlNode *root = NULL;
    char **ids = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t primitives = 0;
    size_t i;

    assert(doc != NULL);    /* well-formed */
    root = xmlDocGetRootElement(doc);
    assert(root && xmlStrcmp(root->name, BAD_CAST "configuration") == 0);
    fz_collect_ids(root, &ids, &n, &cap, &primitives);
    assert(primitives == vms);
    if (n > 1)
        qsort(ids, n, sizeof(*ids), fz_cmp);
    for (i = 0; i + 1 < n; i++)
        assert(strcmp(ids[i], ids[i + 1]) != 0);    /* every id unique */
    for (i = 0; i < n; i++)
        xmlFree(ids[i]);
    free(ids);
    xmlFreeDoc(doc);
}

/* Quotes balance: "..." with \ escapes. */
static bool
fz_quotes_balance(const char *line, size_t len)
{
    bool in = false;
    size_t i;

    for (i = 0; i < len; i++) {
        if (in && line[i] == '\\' && i + 1 < len)
            i++;
        else if (line[i] == '"')
            in = !in;
    }
    return !in;
}

static void
fz_check_crm(const char *text, size_t len, size_t vms)
{
    static const char *const statements[] = { "primitive ", "location ", "order ",
                                              "colocation ", "group ", NULL };
    static const char *const continuations[] = { "\tparams", "\top ", "\tmeta", NULL };
    const char *line = text;
    const char *end = text + len;
    bool continued = false;
    size_t primitives = 0;

    assert(memchr(text, '\0', len) == NULL);
    assert(len == 0 || text[len - 1] == '\n');
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = (size_t)(nl - line);
        const char *const *k = NULL;
        bool known = false;

        assert(nl);
        assert(memchr(line, '\r', n) == NULL);
        /* a comment may hold anything but a line break; elsewhere quotes balance */
        if (n == 0 || line[0] != '#')
            assert(fz_quotes_balance(line, n));
        if (continued) {
            for (k = continuations; *k; k++)
                known = known || strncmp(line, *k, strlen(*k)) == 0;
        } else if (n > 0 && line[0] == '#') {
            known = n == 1 || line[1] == ' ';
        } else {
            for (k = statements; *k; k++)
                known = known || strncmp(line, *k, strlen(*k)) == 0;
            if (strncmp(line, "primitive ", 10) == 0)
                primitives++;
        }
        assert(known);
        continued = line[0] != '#' && n >= 2 && line[n - 1] == '\\' && line[n - 2] == ' ';
        line = nl + 1;
    }
    assert(!continued);
    assert(primitives == vms);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    import_conf *conf = NULL;
    import_conf *again = NULL;
    ferry_error *err = NULL;
    char *crm = NULL;
    char *xml = NULL;
    char *crm2 = NULL;
    size_t crm_len = 0;
    size_t xml_len = 0;
    size_t crm2_len = 0;
    size_t i;
    int rc;

    xmlSetGenericErrorFunc(NULL, fz_silence);
    rc = import_parse((const char *)data, size, "cluster.conf", &conf, &err);
    if (rc < 0) {
        assert(conf == NULL && err && error_message(err)[0]);
        assert(rc == FERRY_E_XML || rc == FERRY_E_CONFIG || rc == -EFBIG);
        error_free(err);
        return 0;
    }
    assert(rc == 0 && conf && err == NULL);
    for (i = 0; i < import_warning_count(conf); i++)
        assert(!strchr(import_warning(conf, i), '\n'));
    assert(import_warning(conf, import_warning_count(conf)) == NULL);

    crm = fz_write(conf, IMPORT_FORMAT_CRM, &crm_len);
    xml = fz_write(conf, IMPORT_FORMAT_XML, &xml_len);
    if (crm)
        fz_check_crm(crm, crm_len, import_vm_count(conf));
    fz_check_xml(xml, xml_len, import_vm_count(conf));

    assert(import_parse((const char *)data, size, "cluster.conf", &again, &err) == 0);
    crm2 = fz_write(again, IMPORT_FORMAT_CRM, &crm2_len);
    assert((crm == NULL) == (crm2 == NULL));
    assert(crm == NULL || (crm_len == crm2_len && memcmp(crm, crm2, crm_len) == 0));

    free(crm);
    free(crm2);
    free(xml);
    import_free(again);
    import_free(conf);
    return 0;
}
