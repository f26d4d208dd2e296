/* fuzz_domxml.c — domain XML parsing (lib/domxml.c: domxml_parse and every
 * accessor). Properties, for an input domxml_parse accepts:
 *  - the name is non-empty, at most 255 bytes, without '/' or a line break;
 *  - the UUID, if any, is canonical: 36 characters, lower-case hex, dashes
 *    at 8, 13, 18 and 23;
 *  - the text kept is the input as given (up to its first NUL);
 *  - <memory> in KiB is what libvirt makes of it: recomputed here in 128-bit
 *    arithmetic, it is at most LLONG_MAX bytes and the same number;
 *  - a huge page size is 0 ("any") or one the <page> elements give, computed
 *    without overflow;
 *  - every disk's strings are readable, domxml_disk() past the end is NULL;
 *  - the <cpu> text is itself well-formed XML with a <cpu> root;
 *  - parsing is deterministic (the same input parses to the same fields).
 * A refused input has an error with a message and a FERRY_E_XML/-EFBIG code.
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "domxml.h"
#include "xmlnode.h"

static void
fz_silence(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* libvirt's unit scaling, written independently of domxml.c (0: unknown). */
static unsigned __int128
fz_unit(const char *unit)
{
    static const char prefixes[] = "kmgtpe";
    const char *p;
    unsigned __int128 base;
    unsigned __int128 v = 1;
    size_t i;

    if (unit == NULL || !*unit)
        return 1024;
    if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") || !strcasecmp(unit, "bytes"))
        return 1;
    p = strchr(prefixes, tolower((unsigned char)unit[0]));
    if (p == NULL || unit[0] == '\0')
        return 0;
    if (unit[1] == '\0' || !strcasecmp(unit + 1, "iB"))
        base = 1024;
    else if (!strcasecmp(unit + 1, "B"))
        base = 1000;
    else
        return 0;
    for (i = 0; i <= (size_t)(p - prefixes); i++)
        v *= base;
    return v;
}

static const char *
fz_attr(const xmlNode *n, const char *name)
{
    const xmlAttr *a;

    for (a = n ? n->properties : NULL; a; a = a->next)
        if (!xmlStrcmp(a->name, BAD_CAST name) && a->children && a->children->content)
            return (const char *)a->children->content;
    return NULL;
}

/* Checks memory and huge pages against the document as libxml2 reads it. */
static void
fz_check_sizes(const char *text, size_t len, const domxml *dom)
{
    xmlDocPtr doc = xmlReadMemory(text, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    const xmlNode *root = NULL;
    const xmlNode *mem = NULL;
    const xmlNode *huge = NULL;
    const xmlNode *page = NULL;
    uint64_t page_kib = 0;

    assert(doc != NULL);
    root = xmlDocGetRootElement(doc);
    mem = xmlnode_child(root, "memory");
    if (mem == NULL) {
        assert(domxml_memory_kib(dom) == 0);
    } else {
        /* accepted: a plain decimal number (no sign) of a known unit */
        xmlChar *content = xmlNodeGetContent(mem);
        char *s = (char *)content;
        unsigned __int128 scale = fz_unit(fz_attr(mem, "unit"));
        unsigned __int128 amount = 0;
        unsigned __int128 bytes;

        while (isspace((unsigned char)*s))
            s++;
        assert(isdigit((unsigned char)*s) && scale != 0);
        for (; isdigit((unsigned char)*s); s++) {
            amount = amount * 10 + (unsigned)(*s - '0');
            if (amount > (unsigned __int128)ULLONG_MAX)
                break;
        }
        bytes = amount * scale;
        assert(bytes <= (unsigned __int128)LLONG_MAX);
        assert((uint64_t)((bytes + 1023) / 1024) == domxml_memory_kib(dom));
        xmlFree(content);
    }
    huge = xmlnode_child(xmlnode_child(root, "memoryBacking"), "hugepages");
    assert(domxml_hugepages(dom, &page_kib) == (huge != NULL));
    if (huge && page_kib) {
        bool seen = false;

        for (page = huge->children; page; page = page->next) {
            const char *size = fz_attr(page, "size");
            unsigned __int128 scale = fz_unit(fz_attr(page, "unit"));
            char *end = NULL;
            unsigned long long n;

            if (!xmlnode_is(page, "page"))
                continue;
            assert(size != NULL && isdigit((unsigned char)size[0]));
            errno = 0;
            n = strtoull(size, &end, 10);
            assert(errno == 0 && *end == '\0' && scale != 0 && n != 0);
            /* every page names this size, computed without wrapping */
            assert((unsigned __int128)n * scale / 1024 == page_kib);
            seen = true;
        }
        assert(seen);
    }
    xmlFreeDoc(doc);
}

static void
fz_check(const char *text, size_t len, const domxml *dom)
{
    const char *name = domxml_name(dom);
    const char *uuid = domxml_uuid(dom);
    const struct domxml_cpu *cpu = domxml_cpu(dom);
    size_t i;
    size_t n = domxml_disk_count(dom);

    assert(name && name[0] && strlen(name) <= 255 && !strchr(name, '/') && !strchr(name, '\n'));
    if (uuid) {
        assert(strlen(uuid) == 36);
        for (i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert(uuid[i] == '-');
            else
                assert(isxdigit((unsigned char)uuid[i]) && !isupper((unsigned char)uuid[i]));
        }
    }
    assert(strncmp(domxml_text(dom), text, len) == 0 || memchr(text, '\0', len));
    if (domxml_type(dom))
        (void)strlen(domxml_type(dom));
    if (domxml_arch(dom))
        (void)strlen(domxml_arch(dom));
    (void)domxml_has_secret(dom);
    for (i = 0; i < n; i++) {
        const struct domxml_disk *d = domxml_disk(dom, i);

        assert(d && d->device);
        (void)strlen(d->device);
        if (d->type) (void)strlen(d->type);
        if (d->source) (void)strlen(d->source);
        if (d->cache) (void)strlen(d->cache);
        if (d->target) (void)strlen(d->target);
        assert(d->readonly == 0 || d->readonly == 1);
        assert(d->shareable == 0 || d->shareable == 1);
    }
    assert(domxml_disk(dom, n) == NULL);
    if (cpu) {
        xmlDocPtr doc = NULL;

        assert(cpu->mode && cpu->xml);
        doc = xmlReadMemory(cpu->xml, (int)strlen(cpu->xml), NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        /* a namespace prefix declared on an ancestor is not in the dump */
        if (doc) {
            assert(xmlnode_is(xmlDocGetRootElement(doc), "cpu"));
            xmlFreeDoc(doc);
        }
    }
    if (!memchr(text, '\0', len))
        fz_check_sizes(text, len, dom);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *text = (const char *)data;
    domxml *dom = NULL;
    domxml *again = NULL;
    ferry_error *err = NULL;
    int rc;

    xmlSetGenericErrorFunc(NULL, fz_silence);
    rc = domxml_parse(text, size, "fuzz", &dom, &err);
    if (rc < 0) {
        assert(dom == NULL && err != NULL && error_message(err)[0]);
        assert(rc == FERRY_E_XML || rc == -EFBIG);
        error_free(err);
        return 0;
    }
    assert(rc == 0 && dom != NULL && err == NULL);
    fz_check(text, size, dom);
    assert(domxml_parse(text, size, "fuzz", &again, &err) == 0);
    assert(strcmp(domxml_name(dom), domxml_name(again)) == 0);
    assert(domxml_memory_kib(dom) == domxml_memory_kib(again));
    assert(domxml_disk_count(dom) == domxml_disk_count(again));
    domxml_free(again);
    domxml_free(dom);
    return 0;
}
