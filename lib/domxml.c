/* domxml.c — see domxml.h */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "domxml.h"
#include "xmlnode.h"

#define DOMXML_MAX_DISKS 256
#define DOMXML_ACL_XATTR "system.posix_acl_access"

struct domxml {
    char *text;
    char *name;
    char *uuid;
    char *type;
    uint64_t memory_kib;
    bool has_secret;
    struct domxml_disk disks[DOMXML_MAX_DISKS];
    size_t n_disks;
    struct domxml_cpu cpu;
    bool has_cpu;
    char *cpu_xml;
    const char *arch;
    bool hugepages;
    uint64_t hugepage_kib;
    /* storage for the disks' strings */
    xmlDocPtr doc;
};

/* libxml2 would print parse errors on stderr; we report them ourselves. */
static void
domxml_silence(void *ctx, xmlErrorPtr error)
{
    (void)ctx;
    (void)error;
}

static int
domxml_read_all(int fd, const char *path, char **ret_text, size_t *ret_len, ferry_error **err)
{
    struct stat st;
    char origin[4200];
    int ret = 0;

    if (fstat(fd, &st) < 0) {
        ret = -errno;
        error_set(err, ret, "config '%s': %s", path, strerror(errno));
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) {
        ret = error_set(err, -EISDIR, "config '%s' is a directory, not a domain XML file", path);
        goto cleanup;
    }
    if (st.st_size > DOMXML_MAX_BYTES) {
        ret = error_set(err, -EFBIG, "config '%s' is %lld bytes; a domain XML larger than "
                        "%d bytes is refused", path, (long long)st.st_size, DOMXML_MAX_BYTES);
        goto cleanup;
    }
    snprintf(origin, sizeof(origin), "config '%s'", path);
    ret = xmlnode_read_fd(fd, origin, DOMXML_MAX_BYTES, ret_text, ret_len, err);
cleanup:
    return ret;
}

int
domxml_load_file(const char *path, domxml **ret_dom, ferry_error **err)
{
    char *text = NULL;
    char origin[4200];
    size_t len = 0;
    int fd = -1;
    int ret = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        ret = -errno;
        error_set(err, ret, "config '%s' cannot be read: %s", path, strerror(errno));
        goto cleanup;
    }
    ret = domxml_read_all(fd, path, &text, &len, err);
    if (ret < 0)
        goto cleanup;
    snprintf(origin, sizeof(origin), "config '%s'", path);
    ret = domxml_parse(text, len, origin, ret_dom, err);
cleanup:
    if (fd >= 0)
        close(fd);
    free(text);
    return ret;
}

/* True if node's text is exactly name (nothing trimmed) and has no line
 * break: libvirt takes a domain's name as written. */
static bool
domxml_name_as_written(const xmlNode *node, const char *name)
{
    xmlChar *content = xmlNodeGetContent(node);
    bool same = content && strcmp((const char *)content, name) == 0 && !strchr(name, '\n');

    xmlFree(content);
    return same;
}

/* The trimmed text content of node, newly allocated (NULL if none). */
static char *
domxml_text_of(const xmlNode *node)
{
    xmlChar *content = NULL;
    char *start = NULL;
    char *end = NULL;
    char *out = NULL;

    if (node == NULL)
        return NULL;
    content = xmlNodeGetContent(node);
    if (content == NULL)
        return NULL;
    start = (char *)content;
    while (isspace((unsigned char)*start))
        start++;
    end = start + strlen(start);
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    if (end > start)
        out = strndup(start, (size_t)(end - start));
    xmlFree(content);
    return out;
}

/* libvirt's <memory unit=...> scaling (virScaleInteger): "b", "byte" and
 * "bytes" are 1; k, m, g, t, p and e alone or followed by "iB" are powers of
 * 1024, followed by "B" powers of 1000; case does not matter. No unit is KiB.
 * Returns 0 on an unknown unit. */
static uint64_t
domxml_unit_bytes(const char *unit)
{
    static const char prefixes[] = "kmgtpe";
    const char *prefix = NULL;
    uint64_t base = 0;
    uint64_t bytes = 1;

    if (unit == NULL || *unit == '\0')
        return 1024;
    if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "byte") == 0 ||
        strcasecmp(unit, "bytes") == 0)
        return 1;
    prefix = strchr(prefixes, tolower((unsigned char)unit[0]));
    if (prefix == NULL)
        return 0;
    if (unit[1] == '\0' || strcasecmp(unit + 1, "iB") == 0)
        base = 1024;
    else if (strcasecmp(unit + 1, "B") == 0)
        base = 1000;
    else
        return 0;
    for (; prefix >= prefixes; prefix--)
        bytes *= base;
    return bytes;
}

/* <memory>'s text and unit as KiB, rounded up as libvirt does; -EINVAL if the
 * amount is not a plain decimal number, the unit is unknown, or the size is
 * more than libvirt takes (LLONG_MAX bytes). */
static int
domxml_memory_parse(const char *text, const char *unit, uint64_t *ret_kib)
{
    uint64_t scale = domxml_unit_bytes(unit);
    unsigned long long amount = 0;
    char *end = NULL;

    if (text == NULL || scale == 0 || !isdigit((unsigned char)text[0]))
        return -EINVAL;     /* strtoull would take "-1", "+1" and blanks */
    errno = 0;
    amount = strtoull(text, &end, 10);
    if (errno || *end || amount > (unsigned long long)LLONG_MAX / scale)
        return -EINVAL;
    *ret_kib = (amount * scale + 1023) / 1024;
    return 0;
}

/* Canonical UUID (lower case, dashed) from libvirt's accepted spellings. */
static int
domxml_uuid_canon(const char *in, char out[37])
{
    int digits = 0;
    const char *p;

    for (p = in; *p; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        if (!isxdigit((unsigned char)*p) || digits >= 32)
            return -EINVAL;
        if (digits == 8 || digits == 12 || digits == 16 || digits == 20)
            *out++ = '-';
        *out++ = (char)tolower((unsigned char)*p);
        digits++;
    }
    *out = '\0';
    return digits == 32 ? 0 : -EINVAL;
}

static const char *
domxml_attr(const xmlNode *node, const char *name)
{
    const xmlAttr *a;

    for (a = node ? node->properties : NULL; a; a = a->next)
        if (xmlStrcmp(a->name, BAD_CAST name) == 0 && a->children && a->children->content)
            return (const char *)a->children->content;
    return NULL;
}

static void
domxml_read_disks(domxml *dom, const xmlNode *devices)
{
    const xmlNode *d;

    for (d = devices ? devices->children : NULL; d && dom->n_disks < DOMXML_MAX_DISKS; d = d->next) {
        struct domxml_disk *disk = &dom->disks[dom->n_disks];
        const xmlNode *source = NULL;
        const xmlNode *driver = NULL;
        const xmlNode *target = NULL;

        if (!xmlnode_is(d, "disk"))
            continue;
        disk->device = domxml_attr(d, "device");
        if (disk->device == NULL)
            disk->device = "disk";
        disk->type = domxml_attr(d, "type");
        source = xmlnode_child(d, "source");
        disk->source = domxml_attr(source, "file");
        if (disk->source == NULL)
            disk->source = domxml_attr(source, "dev");
        if (disk->source == NULL)
            disk->source = domxml_attr(source, "volume");
        if (disk->source == NULL)
            disk->source = domxml_attr(source, "name");
        driver = xmlnode_child(d, "driver");
        disk->cache = domxml_attr(driver, "cache");
        target = xmlnode_child(d, "target");
        disk->target = domxml_attr(target, "dev");
        disk->readonly = xmlnode_child(d, "readonly") != NULL;
        disk->shareable = xmlnode_child(d, "shareable") != NULL;
        dom->n_disks++;
    }
}

/* A password in a <graphics> element (what libvirt's VIR_DOMAIN_XML_SECURE
 * adds to a definition). */
static bool
domxml_find_secret(const xmlNode *devices)
{
    const xmlNode *d;

    for (d = devices ? devices->children : NULL; d; d = d->next)
        if (xmlnode_is(d, "graphics") && domxml_attr(d, "passwd"))
            return true;
    return false;
}

static int
domxml_read_cpu(domxml *dom, const xmlNode *cpu)
{
    xmlBufferPtr buf = NULL;
    const xmlNode *model = xmlnode_child(cpu, "model");

    if (cpu == NULL)
        return 0;
    dom->has_cpu = true;
    dom->cpu.mode = domxml_attr(cpu, "mode");
    if (dom->cpu.mode == NULL)
        dom->cpu.mode = "custom";
    if (model && model->children && model->children->type == XML_TEXT_NODE &&
        model->children->content && model->children->content[0])
        dom->cpu.model = (const char *)model->children->content;
    buf = xmlBufferCreate();
    if (buf == NULL || xmlNodeDump(buf, dom->doc, (xmlNode *)cpu, 0, 0) < 0 ||
        (dom->cpu_xml = strdup((const char *)xmlBufferContent(buf))) == NULL) {
        if (buf)
            xmlBufferFree(buf);
        return -ENOMEM;
    }
    xmlBufferFree(buf);
    dom->cpu.xml = dom->cpu_xml;
    return 0;
}

/* <memoryBacking><hugepages>[<page size= unit=/>...]</hugepages> */
static void
domxml_read_hugepages(domxml *dom, const xmlNode *backing)
{
    const xmlNode *huge = xmlnode_child(backing, "hugepages");
    const xmlNode *page = NULL;
    uint64_t size_kib = 0;

    if (huge == NULL)
        return;
    dom->hugepages = true;
    for (page = huge->children; page; page = page->next) {
        const char *size = domxml_attr(page, "size");
        uint64_t scale = domxml_unit_bytes(domxml_attr(page, "unit"));
        char *end = NULL;
        unsigned long long n = 0;

        if (!xmlnode_is(page, "page"))
            continue;
        errno = 0;
        n = size && isdigit((unsigned char)size[0]) ? strtoull(size, &end, 10) : 0;
        if (n == 0 || errno || *end || scale == 0 || n > UINT64_MAX / scale ||
            n * scale < 1024) {
            size_kib = 0;      /* a size we cannot read (or under 1 KiB): count any size */
            break;
        }
        if (size_kib && size_kib != n * scale / 1024) {
            size_kib = 0;      /* several sizes */
            break;
        }
        size_kib = n * scale / 1024;
    }
    dom->hugepage_kib = size_kib;
}

int
domxml_parse(const char *text, size_t len, const char *origin, domxml **ret_dom,
             ferry_error **err)
{
    xmlParserCtxtPtr ctxt = NULL;
    const xmlNode *root = NULL;
    const xmlNode *node = NULL;
    domxml *dom = NULL;
    char uuid[37];
    char *value = NULL;
    int ret = 0;

    if (len > DOMXML_MAX_BYTES) {
        ret = error_set(err, -EFBIG, "%s is larger than %d bytes; refused", origin,
                        DOMXML_MAX_BYTES);
        goto cleanup;
    }
    dom = calloc(1, sizeof(*dom));
    if (dom == NULL || (dom->text = strndup(text, len)) == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    ctxt->sax->serror = domxml_silence;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    dom->doc = xmlCtxtReadMemory(ctxt, text, (int)len, NULL, NULL,
                                 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (dom->doc == NULL) {
        const xmlError *xe = xmlCtxtGetLastError(ctxt);

        ret = error_set(err, FERRY_E_XML, "%s is not well-formed XML (line %d: %s)", origin,
                        xe ? xe->line : 0,
                        xe && xe->message ? strtok(xe->message, "\n") : "parse error");
        goto cleanup;
    }
    root = xmlDocGetRootElement(dom->doc);
    if (!xmlnode_is(root, "domain")) {
        ret = error_set(err, FERRY_E_XML, "%s is not a libvirt domain XML (root element is <%s>, "
                        "not <domain>)", origin, root ? (const char *)root->name : "");
        goto cleanup;
    }
    if (domxml_attr(root, "type") && (dom->type = strdup(domxml_attr(root, "type"))) == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    dom->name = domxml_text_of(xmlnode_child(root, "name"));
    if (dom->name == NULL) {
        ret = error_set(err, FERRY_E_XML, "%s has no <name>: the domain cannot be identified",
                        origin);
        goto cleanup;
    }
    if (!domxml_name_as_written(xmlnode_child(root, "name"), dom->name)) {
        ret = error_set(err, FERRY_E_XML, "%s: <name> '%s' has white space around it or a line "
                        "break in it: libvirt would keep it as written, so the domain could not "
                        "be found by its name", origin, dom->name);
        goto cleanup;
    }
    if (strchr(dom->name, '/') || strlen(dom->name) > 255) {
        ret = error_set(err, FERRY_E_XML, "%s: <name> '%s' is not a valid domain name", origin,
                        dom->name);
        goto cleanup;
    }
    value = domxml_text_of(xmlnode_child(root, "uuid"));
    if (value) {
        if (domxml_uuid_canon(value, uuid) < 0) {
            ret = error_set(err, FERRY_E_XML, "%s: <uuid> '%s' is not a UUID", origin, value);
            goto cleanup;
        }
        if ((dom->uuid = strdup(uuid)) == NULL) {
            ret = error_set(err, -ENOMEM, "out of memory");
            goto cleanup;
        }
        free(value);
        value = NULL;
    }
    node = xmlnode_child(root, "memory");
    if (node) {
        value = domxml_text_of(node);
        if (domxml_memory_parse(value, domxml_attr(node, "unit"), &dom->memory_kib) < 0) {
            ret = error_set(err, FERRY_E_XML, "%s: <memory> '%s' (unit '%s') is not a size",
                            origin, value ? value : "", domxml_attr(node, "unit") ?
                            domxml_attr(node, "unit") : "KiB");
            goto cleanup;
        }
    }
    domxml_read_disks(dom, xmlnode_child(root, "devices"));
    dom->has_secret = domxml_find_secret(xmlnode_child(root, "devices"));
    domxml_read_hugepages(dom, xmlnode_child(root, "memoryBacking"));
    dom->arch = domxml_attr(xmlnode_child(xmlnode_child(root, "os"), "type"), "arch");
    if (domxml_read_cpu(dom, xmlnode_child(root, "cpu")) < 0) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    *ret_dom = dom;
    dom = NULL;
cleanup:
    free(value);
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    domxml_free(dom);
    return ret;
}

const char *domxml_name(const domxml *dom) { return dom->name; }
const char *domxml_uuid(const domxml *dom) { return dom->uuid; }
const char *domxml_type(const domxml *dom) { return dom->type; }
uint64_t domxml_memory_kib(const domxml *dom) { return dom->memory_kib; }
const char *domxml_text(const domxml *dom) { return dom->text; }
size_t domxml_disk_count(const domxml *dom) { return dom->n_disks; }
bool domxml_has_secret(const domxml *dom) { return dom->has_secret; }

const struct domxml_cpu *domxml_cpu(const domxml *dom) { return dom->has_cpu ? &dom->cpu : NULL; }
const char *domxml_arch(const domxml *dom) { return dom->arch; }

bool
domxml_hugepages(const domxml *dom, uint64_t *ret_page_kib)
{
    if (dom->hugepages)
        *ret_page_kib = dom->hugepage_kib;
    return dom->hugepages;
}

const struct domxml_disk *
domxml_disk(const domxml *dom, size_t index)
{
    return index < dom->n_disks ? &dom->disks[index] : NULL;
}

domxml *
domxml_free(domxml *dom)
{
    if (dom == NULL)
        return NULL;
    if (dom->doc)
        xmlFreeDoc(dom->doc);
    free(dom->text);
    free(dom->name);
    free(dom->uuid);
    free(dom->type);
    free(dom->cpu_xml);
    free(dom);
    return NULL;
}

/* The ACL of path (its system.posix_acl_access attribute), newly allocated;
 * NULL with *ret_len 0 if it has none or the filesystem keeps none. */
static void *
domxml_acl_read(const char *path, size_t *ret_len)
{
    ssize_t len = getxattr(path, DOMXML_ACL_XATTR, NULL, 0);
    void *acl = NULL;

    *ret_len = 0;
    if (len <= 0 || (acl = malloc((size_t)len)) == NULL)
        return NULL;
    len = getxattr(path, DOMXML_ACL_XATTR, acl, (size_t)len);
    if (len <= 0) {
        free(acl);
        return NULL;
    }
    *ret_len = (size_t)len;
    return acl;
}

/* Gives the new file at fd what the old one had: owner and group (or the
 * write fails: another owner could lock the old one's users out), its ACL
 * (best effort; a default ACL of the directory is not left on it either),
 * and its mode, never wider than the old file's (0600 if there was none). */
static int
domxml_copy_attrs(int fd, const char *tmp, const struct stat *old, const void *acl,
                  size_t acl_len, ferry_error **err)
{
    struct stat now;
    mode_t mode = old ? old->st_mode & 07777 : 0600;

    if (old && fstat(fd, &now) == 0 && (now.st_uid != old->st_uid || now.st_gid != old->st_gid) &&
        fchown(fd, old->st_uid, old->st_gid) < 0)
        return error_set(err, -errno, "cannot give '%s' the owner and group of the config "
                         "(%ld:%ld): %s", tmp, (long)old->st_uid, (long)old->st_gid,
                         strerror(errno));
    if (acl)
        (void)fsetxattr(fd, DOMXML_ACL_XATTR, acl, acl_len, 0);
    else
        (void)fremovexattr(fd, DOMXML_ACL_XATTR);
    if (fchmod(fd, mode) < 0)   /* after fchown, which may clear set-id bits */
        return error_set(err, -errno, "cannot set the mode of '%s': %s", tmp, strerror(errno));
    return 0;
}

int
domxml_write_file(const char *path, const char *xml, const char *want_name,
                  const char *want_uuid, ferry_error **err)
{
    domxml *dom = NULL;
    domxml *old = NULL;
    char *dir = NULL;
    char *slash = NULL;
    char tmp[4200];
    struct stat st;
    bool have_st = false;
    char *real = NULL;
    void *acl = NULL;
    size_t acl_len = 0;
    size_t len = strlen(xml);
    size_t done = 0;
    int fd = -1;
    int dfd = -1;
    int rc = 0;
    int ret = 0;

    tmp[0] = '\0';
    /* validate before anything is touched */
    ret = domxml_parse(xml, len, "the domain's definition", &dom, err);
    if (ret < 0)
        goto cleanup;
    if (strcmp(domxml_name(dom), want_name) != 0 ||
        (want_uuid && (domxml_uuid(dom) == NULL || strcasecmp(domxml_uuid(dom), want_uuid) != 0))) {
        ret = error_set(err, FERRY_E_XML, "the definition names domain '%s' (%s), not '%s' (%s); "
                        "'%s' left as it was", domxml_name(dom),
                        domxml_uuid(dom) ? domxml_uuid(dom) : "no UUID", want_name,
                        want_uuid ? want_uuid : "no UUID", path);
        goto cleanup;
    }
    /* a symlinked config stays a symlink: write where it points */
    real = realpath(path, NULL);
    if (real)
        path = real;
    have_st = stat(path, &st) == 0;
    /* a password goes only where the operator already keeps one */
    if (domxml_has_secret(dom) &&
        (domxml_load_file(path, &old, NULL) < 0 || !domxml_has_secret(old))) {
        ret = error_set(err, -EPERM, "the definition of '%s' has a graphics password and '%s' "
                        "has none; not written there (put the password into '%s' by hand to "
                        "have the definition kept)", want_name, path, path);
        goto cleanup;
    }
    acl = have_st ? domxml_acl_read(path, &acl_len) : NULL;
    if ((dir = strdup(path)) == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        snprintf(dir, strlen(dir) + 1, "%s", slash == dir ? "/" : ".");
    else
        *slash = '\0';
    /* O_CREAT|O_EXCL under an unpredictable name, mode 0600 until it is set */
    snprintf(tmp, sizeof(tmp), "%s.ferry-XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ret = error_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
        tmp[0] = '\0';
        goto cleanup;
    }
    ret = domxml_copy_attrs(fd, tmp, have_st ? &st : NULL, acl, acl_len, err);
    if (ret < 0)
        goto cleanup;
    while (done < len) {
        ssize_t n = write(fd, xml + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = error_set(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
            goto cleanup;
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0) {
        ret = error_set(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
        goto cleanup;
    }
    rc = close(fd);
    fd = -1;
    if (rc < 0) {
        ret = error_set(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (rename(tmp, path) < 0) {
        ret = error_set(err, -errno, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto cleanup;
    }
    tmp[0] = '\0';
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fsync(dfd);
cleanup:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp[0])
        unlink(tmp);
    free(acl);
    free(dir);
    free(real);
    domxml_free(old);
    domxml_free(dom);
    return ret;
}
