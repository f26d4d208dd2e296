/* error.h — the error object lib/ hands back to its caller.
 *
 * lib/ functions return 0 on success and a negative value on failure: either
 * -errno or one of the FERRY_E_* codes below. The details travel in a
 * ferry_error, created by the failing function and owned by the caller.
 * Only agents/ turns codes into OCF exit codes.
 */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

#include <stdarg.h>

enum ferry_status {
    FERRY_OK = 0,
    /* Parameters are inherently wrong: no node could run this (OCF 6). */
    FERRY_E_CONFIG = -1000,
    /* Parameters name something missing on this host, e.g. the config file (OCF 5). */
    FERRY_E_INSTALLED = -1001,
    /* Parameters are invalid on this host (OCF 2). */
    FERRY_E_ARGS = -1002,
    /* libvirt answered with an error, or could not be reached. */
    FERRY_E_LIBVIRT = -1003,
    /* The action's deadline passed before the work was done. */
    FERRY_E_TIMEOUT = -1004,
    /* The domain is in a state that does not allow the action. */
    FERRY_E_STATE = -1005,
    /* The domain XML could not be read or understood. */
    FERRY_E_XML = -1006,
};

typedef struct ferry_error ferry_error;

/* Sets *err and returns code. err may be NULL: the message is dropped and the
 * code still returned. If *err is already set, the first error wins (it is
 * kept, the code is still returned). If there is no memory for the error,
 * *err is set to a shared "out of memory" error (code -ENOMEM) that the other
 * helpers accept like any other, so after a call that set it *err is never
 * NULL. Callers use the returned code: error_code(*err) is FERRY_OK when the
 * failing function set no error, and needs a non-NULL err. */
int error_set(ferry_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_setv(ferry_error **err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefixes the existing message with more context ("stopping 'vm1': " + msg).
 * Accepts NULL (and leaves the shared out-of-memory error as it is). */
void error_prefix(ferry_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Both accept NULL: FERRY_OK and "no error". */
int error_code(const ferry_error *err);
const char *error_message(const ferry_error *err);

/* Accepts NULL (and the shared out-of-memory error); returns NULL. */
ferry_error *error_free(ferry_error *err);

/* A short name for a code, for logs ("config", "libvirt", "ENOENT"...). */
const char *error_code_name(int code);

/* *dst = a copy of src (NULL for NULL): 0, or -ENOMEM with err set. */
int error_strdup(char **dst, const char *src, ferry_error **err);

#endif
