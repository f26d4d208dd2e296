/* check_error.c — the error object. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "check_common.h"
#include "error.h"

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

int
main(void)
{
    Suite *s = suite_create("error");

    add_tcase(s, tcase_create("set"), test_set_and_read, 5);
    add_tcase(s, tcase_create("first_wins"), test_first_error_wins, 5);
    add_tcase(s, tcase_create("null"), test_null_tolerant, 5);
    add_tcase(s, tcase_create("prefix"), test_prefix, 5);
    add_tcase(s, tcase_create("names"), test_code_names, 5);
    return check_run(s);
}
