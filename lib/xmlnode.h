/* xmlnode.h — the small libxml2 tree helpers the XML readers share
 * (domxml.c for domain XML, import.c for rgmanager's cluster.conf). */
#ifndef FERRY_XMLNODE_H
#define FERRY_XMLNODE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#include <libxml/tree.h>

/* True if node is an element named name. */
bool xmlnode_is(const xmlNode *node, const char *name);

/* The first child element of parent named name, or NULL (parent may be NULL). */
const xmlNode *xmlnode_child(const xmlNode *parent, const char *name);

/* Reads all of fd (at most max_bytes, or -EFBIG) into a NUL-terminated
 * buffer, newly allocated; origin names it in messages ("config '/x.xml'"). */
int xmlnode_read_fd(int fd, const char *origin, size_t max_bytes, char **ret_text,
                    size_t *ret_len, ferry_error **err);

#endif
