/* domxml.h — reading a libvirt domain XML (libxml2) for what the agent needs:
 * the domain's identity (name, UUID), its type, memory and disks.
 * The XML is never modified; the raw text is kept to hand to libvirt.
 */
#ifndef FERRY_DOMXML_H
#define FERRY_DOMXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Larger files are refused: a domain XML is a few KiB. */
#define DOMXML_MAX_BYTES (4 * 1024 * 1024)

typedef struct domxml domxml;

/* Reads and parses a file. Returns 0; -ENOENT, -EACCES, -EISDIR, -EFBIG or
 * another -errno when the file cannot be read; FERRY_E_XML when it is not a
 * usable domain XML. */
int domxml_load_file(const char *path, domxml **ret_dom, ferry_error **err);

/* Parses XML text. origin names it in messages ("config '/x.xml'"). */
int domxml_parse(const char *text, size_t len, const char *origin, domxml **ret_dom,
                 ferry_error **err);

const char *domxml_name(const domxml *dom);
const char *domxml_uuid(const domxml *dom);         /* canonical lower-case; NULL if absent */
const char *domxml_type(const domxml *dom);         /* "kvm", "qemu", ... */
uint64_t domxml_memory_kib(const domxml *dom);      /* <memory>, 0 if absent */
const char *domxml_text(const domxml *dom);         /* the XML as read, NUL-terminated */
/* A <graphics> element has a passwd (libvirt writes them with VIR_DOMAIN_XML_SECURE). */
bool domxml_has_secret(const domxml *dom);

struct domxml_disk {
    const char *device;     /* "disk", "cdrom", ... */
    const char *type;       /* "file", "block", "network", ... */
    const char *source;     /* file/dev path, pool/volume or network name; may be NULL */
    const char *cache;      /* driver cache mode, NULL if not set */
    const char *target;     /* "vda", ... */
    int readonly;
    int shareable;
};
size_t domxml_disk_count(const domxml *dom);
const struct domxml_disk *domxml_disk(const domxml *dom, size_t index);

/* The guest CPU (<cpu>), NULL if the domain has none. */
struct domxml_cpu {
    const char *mode;       /* "custom" (also when not set), "host-model", "host-passthrough", ... */
    const char *model;      /* the <model> name, NULL if none */
    const char *xml;        /* the <cpu> element as text, for libvirt's CPU comparison */
};
const struct domxml_cpu *domxml_cpu(const domxml *dom);
const char *domxml_arch(const domxml *dom);         /* <os><type arch=...>, NULL if not set */

/* True if the guest's memory is backed by huge pages (<memoryBacking><hugepages>);
 * *ret_page_kib is their size, or 0 for the host's default size (also when the
 * <page> elements name more than one size). */
bool domxml_hugepages(const domxml *dom, uint64_t *ret_page_kib);

/* Replaces the file at path with xml, after checking that xml is a domain
 * XML for want_name (and want_uuid, unless NULL): a temporary file in the same
 * directory (O_EXCL, unpredictable name), fsync, rename, fsync of the
 * directory. The old file's owner, group and mode are kept (0600 if there was
 * none), and its ACL as far as the filesystem allows. A definition with a
 * graphics password is written only over a file that already has one
 * (-EPERM otherwise), so the password never lands in a file whose owner did
 * not put one there. On any failure the old file is left as it was. */
int domxml_write_file(const char *path, const char *xml, const char *want_name,
                      const char *want_uuid, ferry_error **err);

/* Accepts NULL; returns NULL. */
domxml *domxml_free(domxml *dom);

#endif
