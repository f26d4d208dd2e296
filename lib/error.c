/* error.c — see error.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct ferry_error {
    int code;
    char *message;
};

/* What *err is set to when there is no memory for an error object: never
 * changed, never freed, so it is safe in any thread. */
static ferry_error error_oom = { -ENOMEM, NULL };

int
error_setv(ferry_error **err, int code, const char *fmt, va_list ap)
{
    ferry_error *e = NULL;
    char *msg = NULL;

    if (err == NULL || *err != NULL)
        return code;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        /* *err must not stay NULL: error_code(*err) would say FERRY_OK */
        free(msg);
        *err = &error_oom;
        return code;
    }
    e->code = code;
    e->message = msg;
    *err = e;
    return code;
}

int
error_set(ferry_error **err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void
error_prefix(ferry_error *err, const char *fmt, ...)
{
    va_list ap;
    char *prefix = NULL;
    char *joined = NULL;
    int n;

    if (err == NULL || err == &error_oom)
        return;
    va_start(ap, fmt);
    n = vasprintf(&prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (asprintf(&joined, "%s%s", prefix, err->message ? err->message : "") >= 0) {
        free(err->message);
        err->message = joined;
    }
    free(prefix);
}

int
error_code(const ferry_error *err)
{
    return err ? err->code : FERRY_OK;
}

const char *
error_message(const ferry_error *err)
{
    if (err == NULL)
        return "no error";
    return err->message ? err->message : "out of memory while reporting an error";
}

ferry_error *
error_free(ferry_error *err)
{
    if (err && err != &error_oom) {
        free(err->message);
        free(err);
    }
    return NULL;
}

const char *
error_code_name(int code)
{
    switch (code) {
    case FERRY_OK: return "ok";
    case FERRY_E_CONFIG: return "config";
    case FERRY_E_INSTALLED: return "installed";
    case FERRY_E_ARGS: return "args";
    case FERRY_E_LIBVIRT: return "libvirt";
    case FERRY_E_TIMEOUT: return "timeout";
    case FERRY_E_STATE: return "state";
    case FERRY_E_XML: return "xml";
    default:
        break;
    }
    if (code < 0 && code > -4096) {
        const char *s = strerrorname_np(-code);
        return s ? s : "errno";
    }
    return "unknown";
}

int
error_strdup(char **dst, const char *src, ferry_error **err)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : error_set(err, -ENOMEM, "out of memory");
}
