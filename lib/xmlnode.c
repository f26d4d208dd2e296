/* xmlnode.c — see xmlnode.h */
#include "config.h"

#include "xmlnode.h"

bool
xmlnode_is(const xmlNode *node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && xmlStrcmp(node->name, BAD_CAST name) == 0;
}

const xmlNode *
xmlnode_child(const xmlNode *parent, const char *name)
{
    const xmlNode *c;

    for (c = parent ? parent->children : NULL; c; c = c->next)
        if (xmlnode_is(c, name))
            return c;
    return NULL;
}
