/* xmlnode.h — the small libxml2 tree helpers the XML readers share
 * (domxml.c for domain XML, import.c for rgmanager's cluster.conf). */
#ifndef FERRY_XMLNODE_H
#define FERRY_XMLNODE_H

#include <stdbool.h>

#include <libxml/tree.h>

/* True if node is an element named name. */
bool xmlnode_is(const xmlNode *node, const char *name);

/* The first child element of parent named name, or NULL (parent may be NULL). */
const xmlNode *xmlnode_child(const xmlNode *parent, const char *name);

#endif
