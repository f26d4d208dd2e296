/* xmlnode.c — see xmlnode.h */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int
xmlnode_read_fd(int fd, const char *origin, size_t max_bytes, char **ret_text, size_t *ret_len,
                ferry_error **err)
{
    char *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int ret = 0;

    buf = malloc(max_bytes + 1);
    if (buf == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    for (;;) {
        n = read(fd, buf + len, max_bytes + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            error_set(err, ret, "%s: %s", origin, strerror(errno));
            goto cleanup;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max_bytes) {
            ret = error_set(err, -EFBIG, "%s is larger than %zu bytes; refused", origin,
                            max_bytes);
            goto cleanup;
        }
    }
    buf[len] = '\0';
    *ret_text = buf;
    *ret_len = len;
    buf = NULL;
cleanup:
    free(buf);
    return ret;
}
