/* check_log.c — the log sink: levels, HA_debug, the tag. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_common.h"
#include "log-priv.h"
#include "log.h"

static char *
run_logging(bool debug, const char *tag)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    setenv("HA_LOGFACILITY", "none", 1);
    log_open(tag, debug, false);
    log_set_stream(f);
    log_debug("d %d", 1);
    log_info("i %s", "x");
    log_warning("w");
    log_error("e");
    log_set_stream(NULL);
    log_close();
    fclose(f);
    return buf;
}

START_TEST(test_levels_without_debug)
{
    char *out = run_logging(false, "ferry-vm(t)");

    ck_assert_ptr_null(strstr(out, "DEBUG"));
    ck_assert_ptr_nonnull(strstr(out, "ferry-vm(t) INFO: i x\n"));
    ck_assert_ptr_nonnull(strstr(out, "ferry-vm(t) WARNING: w\n"));
    ck_assert_ptr_nonnull(strstr(out, "ferry-vm(t) ERROR: e\n"));
    free(out);
}
END_TEST

START_TEST(test_debug)
{
    char *out = run_logging(true, "tag");

    ck_assert_ptr_nonnull(strstr(out, "tag DEBUG: d 1\n"));
    ck_assert(log_debug_enabled());
    free(out);
}
END_TEST

START_TEST(test_tag_from_environment)
{
    char *out = NULL;

    unsetenv("HA_LOGTAG");
    setenv("OCF_RESOURCE_INSTANCE", "p_vm9", 1);
    out = run_logging(false, NULL);
    ck_assert_ptr_nonnull(strstr(out, "ferry-vm(p_vm9)["));
    free(out);
    setenv("HA_LOGTAG", "mytag", 1);
    out = run_logging(false, NULL);
    ck_assert_ptr_nonnull(strstr(out, "mytag INFO"));
    free(out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("log");

    add_test(s, test_levels_without_debug, 5);
    add_test(s, test_debug, 5);
    add_test(s, test_tag_from_environment, 5);
    return check_run(s);
}
