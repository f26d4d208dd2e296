/* check_ocf.c — actions, meta-data (valid against ra-api-1.dtd), exit reasons. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/valid.h>

#include "check_common.h"
#include "ocf.h"
#include "params.h"

#ifndef RA_API_DTD
#define RA_API_DTD "/usr/share/resource-agents/ra-api-1.dtd"
#endif

static char *
capture(void (*fn)(FILE *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    fn(f);
    fclose(f);
    return buf;
}

static void write_metadata(FILE *f) { ck_assert_int_eq(ocf_metadata_write(f), 0); }
static void write_usage(FILE *f) { ocf_usage_write(f, "vm"); }

START_TEST(test_action_parse)
{
    ck_assert_int_eq(ocf_action_parse("start"), OCF_ACTION_START);
    ck_assert_int_eq(ocf_action_parse("stop"), OCF_ACTION_STOP);
    ck_assert_int_eq(ocf_action_parse("monitor"), OCF_ACTION_MONITOR);
    ck_assert_int_eq(ocf_action_parse("status"), OCF_ACTION_STATUS);
    ck_assert_int_eq(ocf_action_parse("validate-all"), OCF_ACTION_VALIDATE_ALL);
    ck_assert_int_eq(ocf_action_parse("meta-data"), OCF_ACTION_META_DATA);
    ck_assert_int_eq(ocf_action_parse("metadata"), OCF_ACTION_META_DATA);
    ck_assert_int_eq(ocf_action_parse("usage"), OCF_ACTION_USAGE);
    ck_assert_int_eq(ocf_action_parse("help"), OCF_ACTION_USAGE);
    ck_assert_int_eq(ocf_action_parse("migrate_to"), OCF_ACTION_MIGRATE_TO);
    ck_assert_int_eq(ocf_action_parse("migrate_from"), OCF_ACTION_MIGRATE_FROM);
    ck_assert_int_eq(ocf_action_parse("migrate"), OCF_ACTION_MIGRATE);
    ck_assert_int_eq(ocf_action_parse("Start"), OCF_ACTION_UNKNOWN);
    ck_assert_int_eq(ocf_action_parse("reboot"), OCF_ACTION_UNKNOWN);
    ck_assert_int_eq(ocf_action_parse(""), OCF_ACTION_UNKNOWN);
    ck_assert_int_eq(ocf_action_parse(NULL), OCF_ACTION_UNKNOWN);
    ck_assert_int_eq(ocf_action_get(OCF_ACTION_STOP)->timeout_ms, 90000);
    ck_assert_ptr_null(ocf_action_get(OCF_ACTION_UNKNOWN));
}
END_TEST

START_TEST(test_metadata_valid_against_dtd)
{
    char *xml = capture(write_metadata);
    xmlDocPtr doc = NULL;
    xmlDtdPtr dtd = NULL;
    xmlValidCtxtPtr vctxt = NULL;

    ck_assert_ptr_nonnull(strstr(xml, "<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">"));
    doc = xmlReadMemory(xml, (int)strlen(xml), "meta-data.xml", NULL, XML_PARSE_NONET);
    ck_assert_msg(doc != NULL, "meta-data is not well-formed");
    dtd = xmlParseDTD(NULL, BAD_CAST RA_API_DTD);
    ck_assert_msg(dtd != NULL, "cannot read %s (apt-get install resource-agents)", RA_API_DTD);
    vctxt = xmlNewValidCtxt();
    ck_assert_msg(xmlValidateDtd(vctxt, doc, dtd) == 1, "meta-data does not validate against %s",
                  RA_API_DTD);
    xmlFreeValidCtxt(vctxt);
    xmlFreeDtd(dtd);
    xmlFreeDoc(doc);
    free(xml);
}
END_TEST

START_TEST(test_metadata_lists_every_parameter)
{
    char *xml = capture(write_metadata);
    size_t n = 0;
    size_t i;
    const struct params_def *t = params_table(&n);
    char want[128];

    for (i = 0; i < n; i++) {
        snprintf(want, sizeof(want), "<parameter name=\"%s\"", t[i].name);
        ck_assert_msg(strstr(xml, want), "meta-data lacks %s", t[i].name);
    }
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"start\" timeout=\"90s\""));
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"monitor\" timeout=\"30s\" interval=\"10s\""));
    /* the depth-10 monitor, where rgmanager's status_program runs */
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"monitor\" timeout=\"30s\" interval=\"60s\" depth=\"10\" />"));
    ck_assert_ptr_nonnull(strstr(xml, "default=\"qemu:///system\""));
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"migrate_to\" timeout=\"120s\""));
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"migrate_from\" timeout=\"60s\""));
    /* rgmanager's spelling is understood, not advertised (the DTD has no such action) */
    ck_assert_ptr_null(strstr(xml, "<action name=\"migrate\""));
    free(xml);
}
END_TEST

START_TEST(test_usage)
{
    char *text = capture(write_usage);

    ck_assert_ptr_nonnull(strstr(text, "usage: vm {start|stop|monitor"));
    free(text);
}
END_TEST

START_TEST(test_exit_reason_one_line)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ocf_exit_reason_write(f, NULL, "two\nlines");
    ocf_exit_reason_write(f, "custom:", "x");
    ocf_exit_reason_write(f, "", "y");
    fclose(f);
    ck_assert_str_eq(buf, "ocf-exit-reason:two lines\ncustom:x\nocf-exit-reason:y\n");
    free(buf);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ocf");

    add_test(s, test_action_parse, 5);
    add_test(s, test_metadata_valid_against_dtd, 10);
    add_test(s, test_metadata_lists_every_parameter, 5);
    add_test(s, test_usage, 5);
    add_test(s, test_exit_reason_one_line, 5);
    return check_run(s);
}
