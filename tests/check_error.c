/* check_error.c — the error object. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check_common.h"
#include "error.h"

#ifndef FERRY_SANITIZERS
/* calloc() of this program: fails while calloc_fails is set (the library is
 * linked in statically, so error.c calls this one). AddressSanitizer has its
 * own calloc: a sanitizer build leaves this case out (valgrind runs it). */
extern void *__libc_calloc(size_t n, size_t size);
static bool calloc_fails;

void *
calloc(size_t n, size_t size)
{
    if (calloc_fails) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(n, size);
}
#endif

START_TEST(test_set_and_read)
{
    ferry_error *err = NULL;

    ck_assert_int_eq(error_set(&err, FERRY_E_CONFIG, "parameter '%s' is bad", "x"), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(error_code(err), FERRY_E_CONFIG);
    ck_assert_str_eq(error_message(err), "parameter 'x' is bad");
    err = error_free(err);
    ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_first_error_wins)
{
    ferry_error *err = NULL;

    error_set(&err, -ENOENT, "first");
    ck_assert_int_eq(error_set(&err, FERRY_E_LIBVIRT, "second"), FERRY_E_LIBVIRT);
    ck_assert_int_eq(error_code(err), -ENOENT);
    ck_assert_str_eq(error_message(err), "first");
    error_free(err);
}
END_TEST

START_TEST(test_null_tolerant)
{
    ck_assert_int_eq(error_set(NULL, -EIO, "dropped"), -EIO);
    ck_assert_int_eq(error_code(NULL), FERRY_OK);
    ck_assert_str_eq(error_message(NULL), "no error");
    ck_assert_ptr_null(error_free(NULL));
    error_prefix(NULL, "nothing");
}
END_TEST

START_TEST(test_prefix)
{
    ferry_error *err = NULL;

    error_set(&err, FERRY_E_LIBVIRT, "connection refused");
    error_prefix(err, "stopping '%s': ", "vm1");
    ck_assert_str_eq(error_message(err), "stopping 'vm1': connection refused");
    error_free(err);
}
END_TEST

START_TEST(test_code_names)
{
    ck_assert_str_eq(error_code_name(FERRY_E_CONFIG), "config");
    ck_assert_str_eq(error_code_name(FERRY_E_TIMEOUT), "timeout");
    ck_assert_str_eq(error_code_name(-ENOENT), "ENOENT");
    ck_assert_str_eq(error_code_name(12345), "unknown");
}
END_TEST

/* The "ret = error_code(*err)" pattern after a failed call: *err must not be
 * left NULL (error_code(NULL) is FERRY_OK, a failure read as success) even
 * when there is no memory for the error object. */
#ifndef FERRY_SANITIZERS
START_TEST(test_out_of_memory)
{
    ferry_error *err = NULL;
    ferry_error *second = NULL;

    calloc_fails = true;
    ck_assert_int_eq(error_set(&err, FERRY_E_LIBVIRT, "lost %s", "message"), FERRY_E_LIBVIRT);
    ck_assert_int_eq(error_set(&second, FERRY_E_CONFIG, "another"), FERRY_E_CONFIG);
    calloc_fails = false;
    ck_assert_ptr_nonnull(err);
    ck_assert_int_ne(error_code(err), FERRY_OK);
    ck_assert_int_lt(error_code(err), 0);
    ck_assert_ptr_nonnull(strstr(error_message(err), "out of memory"));
    /* it can be prefixed (no change), set again (first wins) and freed, twice */
    error_prefix(err, "stopping '%s': ", "vm1");
    ck_assert_ptr_nonnull(strstr(error_message(err), "out of memory"));
    ck_assert_int_eq(error_set(&err, -EIO, "later"), -EIO);
    ck_assert_int_lt(error_code(err), 0);
    ck_assert_ptr_null(error_free(err));
    ck_assert_ptr_null(error_free(second));
    /* and the next error is a real one again */
    err = NULL;
    error_set(&err, FERRY_E_STATE, "fine");
    ck_assert_int_eq(error_code(err), FERRY_E_STATE);
    ck_assert_str_eq(error_message(err), "fine");
    error_free(err);
}
END_TEST
#endif

/* Every helper takes NULL: error_set and error_setv still return the code. */
static int setv_null(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
setv_null(int code, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = error_setv(NULL, code, fmt, ap);
    va_end(ap);
    return ret;
}

START_TEST(test_null_everywhere)
{
    ck_assert_int_eq(setv_null(FERRY_E_TIMEOUT, "%s", "dropped"), FERRY_E_TIMEOUT);
    ck_assert_int_eq(error_set(NULL, -ENOMEM, "x"), -ENOMEM);
    ck_assert_int_eq(error_set(NULL, FERRY_OK, "x"), FERRY_OK);
    ck_assert_str_eq(error_code_name(error_code(NULL)), "ok");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("error");

    add_test(s, test_set_and_read, 5);
    add_test(s, test_first_error_wins, 5);
    add_test(s, test_null_tolerant, 5);
    add_test(s, test_prefix, 5);
    add_test(s, test_code_names, 5);
#ifndef FERRY_SANITIZERS
    add_test(s, test_out_of_memory, 5);
#endif
    add_test(s, test_null_everywhere, 5);
    return check_run(s);
}
