/* check_ocf.c — actions, meta-data (OCF 1.0 callers: valid against ra-api-1.dtd;
 * OCF 1.1 callers: valid against pcs's ocf-1.1.rng), exit reasons. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/valid.h>

#include "check_common.h"
#include "ocf.h"
#include "params.h"

#ifndef RA_API_DTD
#define RA_API_DTD "/usr/share/resource-agents/ra-api-1.dtd"
#endif
#ifndef PCS_OCF_1_1_RNG
#define PCS_OCF_1_1_RNG "/usr/share/pcs/data/ocf-1.1.rng"
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

/* what an OCF 1.0 caller (ocf-tester, no OCF_RA_VERSION_*) and an OCF 1.1
 * caller (Pacemaker >= 2.1, and through it crmsh and pcs) get */
static void write_metadata(FILE *f) { ck_assert_int_eq(ocf_metadata_write(f, 1, 0), 0); }
static void write_metadata_1_1(FILE *f) { ck_assert_int_eq(ocf_metadata_write(f, 1, 1), 0); }
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
    ck_assert_int_eq(ocf_action_parse("reload-agent"), OCF_ACTION_RELOAD_AGENT);
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

/* The content type of one parameter in the meta-data, "" if none. */
static void __attribute__((noinline))
content_type(const char *xml, const char *name, char *buf, size_t size)
{
    char want[128];
    const char *at = NULL;
    const char *end = NULL;

    buf[0] = '\0';
    snprintf(want, sizeof(want), "<parameter name=\"%s\"", name);
    at = strstr(xml, want);
    end = at ? strstr(at, "</parameter>") : NULL;
    at = at ? strstr(at, "<content type=\"") : NULL;
    if (at && end && at < end)
        snprintf(buf, size, "%.*s", (int)strcspn(at + 15, "\""), at + 15);
}

START_TEST(test_metadata_lists_every_parameter)
{
    char *xml = capture(write_metadata);
    char type[64];
    size_t n = 0;
    size_t i;
    const struct params_def *t = params_table(&n);
    char want[128];

    for (i = 0; i < n; i++) {
        snprintf(want, sizeof(want), "<parameter name=\"%s\"", t[i].name);
        ck_assert_msg(strstr(xml, want), "meta-data lacks %s", t[i].name);
    }
    /* an integer that also takes "auto" is not an integer to pcs */
    content_type(xml, "migration_speed", type, sizeof(type));
    ck_assert_str_eq(type, "string");
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"start\" timeout=\"90s\""));
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"monitor\" timeout=\"30s\" interval=\"10s\""));
    /* not advertised (pcs copies every advertised action into the CIB as an
     * op): recover (Pacemaker never runs it) and the depth-10 monitor (only
     * for status_program; added by hand) */
    ck_assert_ptr_null(strstr(xml, "depth=\"10\""));
    ck_assert_ptr_null(strstr(xml, "<action name=\"recover\""));
    /* OCF 1.1 only: the DTD's action enumeration has no reload-agent */
    ck_assert_ptr_null(strstr(xml, "<action name=\"reload-agent\""));
    ck_assert_ptr_null(strstr(xml, "reloadable="));
    ck_assert_ptr_nonnull(strstr(xml, "default=\"qemu:///system\""));
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"migrate_to\" timeout=\"120s\""));
    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"migrate_from\" timeout=\"60s\""));
    /* rgmanager's spelling is understood, not advertised (the DTD has no such action) */
    ck_assert_ptr_null(strstr(xml, "<action name=\"migrate\""));
    free(xml);
}
END_TEST

/* The <parameter ...> start tag of name in xml, copied to buf ("" if absent). */
static void
parameter_tag(const char *xml, const char *name, char *buf, size_t size)
{
    char want[128];
    const char *start = NULL;
    const char *end = NULL;

    snprintf(want, sizeof(want), "<parameter name=\"%s\"", name);
    buf[0] = '\0';
    start = strstr(xml, want);
    if (start == NULL)
        return;
    end = strchr(start, '>');
    ck_assert_ptr_nonnull(end);
    snprintf(buf, size, "%.*s", (int)(end - start + 1), start);
}

/* The <parameter> element of name in xml (up to its end tag), copied to buf. */
static void
parameter_element(const char *xml, const char *name, char *buf, size_t size)
{
    char want[128];
    const char *start = NULL;
    const char *end = NULL;

    snprintf(want, sizeof(want), "<parameter name=\"%s\"", name);
    start = strstr(xml, want);
    ck_assert_msg(start != NULL, "meta-data lacks %s", name);
    end = strstr(start, "</parameter>");
    ck_assert_ptr_nonnull(end);
    snprintf(buf, size, "%.*s", (int)(end - start), start);
}

START_TEST(test_metadata_1_1_valid_against_rng)
{
    char *xml = capture(write_metadata_1_1);
    xmlDocPtr doc = NULL;
    xmlRelaxNGParserCtxtPtr pctxt = NULL;
    xmlRelaxNGPtr rng = NULL;
    xmlRelaxNGValidCtxtPtr vctxt = NULL;

    /* not the DTD's: reload-agent, reloadable, select and deprecated are OCF 1.1 */
    ck_assert_ptr_null(strstr(xml, "<!DOCTYPE"));
    ck_assert_ptr_nonnull(strstr(xml, "<version>1.1</version>"));
    doc = xmlReadMemory(xml, (int)strlen(xml), "meta-data.xml", NULL, XML_PARSE_NONET);
    ck_assert_msg(doc != NULL, "meta-data is not well-formed");
    pctxt = xmlRelaxNGNewParserCtxt(PCS_OCF_1_1_RNG);
    rng = xmlRelaxNGParse(pctxt);
    ck_assert_msg(rng != NULL, "cannot read %s (apt-get install pcs)", PCS_OCF_1_1_RNG);
    vctxt = xmlRelaxNGNewValidCtxt(rng);
    ck_assert_msg(xmlRelaxNGValidateDoc(vctxt, doc) == 0, "meta-data does not validate against %s",
                  PCS_OCF_1_1_RNG);
    xmlRelaxNGFreeValidCtxt(vctxt);
    xmlRelaxNGFree(rng);
    xmlRelaxNGFreeParserCtxt(pctxt);
    xmlFreeDoc(doc);
    free(xml);
}
END_TEST

/* Identity parameters (which domain, where) restart the VM when changed;
 * everything else only affects future actions and is reloadable. */
START_TEST(test_metadata_1_1_reloadable)
{
    static const char *const identity[] = {
        "config", "name", "hypervisor", "persistent", "path", "xmlfile", "hypervisor_uri",
    };
    static const char *const must_reload[] = {
        "migrate", "migration_speed", "migration_downtime", "migration_policy",
        "migration_stall_timeout", "migration_timeout_per_gib", "migration_mapping",
        "migration_network_suffix", "migration_user", "migration_parallel",
        "migration_compression", "migrateuri", "remoteuri", "migration_uri", "tunnelled", "tls",
        "shutdown_timeout", "force_stop", "autoset_utilization_cpu",
        "autoset_utilization_hv_memory", "save_config", "status_program", "allow_unsafe",
        "no_kill", "snapshot", "migrate_options",
    };
    char *xml = capture(write_metadata_1_1);
    const struct params_def *t = NULL;
    char tag[256];
    size_t n = 0;
    size_t i;
    size_t j;

    ck_assert_ptr_nonnull(strstr(xml, "<action name=\"reload-agent\" timeout=\""));
    for (i = 0; i < sizeof(must_reload) / sizeof(must_reload[0]); i++) {
        parameter_tag(xml, must_reload[i], tag, sizeof(tag));
        ck_assert_msg(strstr(tag, "reloadable=\"1\""), "%s is not reloadable: %s",
                      must_reload[i], tag);
    }
    t = params_table(&n);
    for (i = 0; i < n; i++) {
        bool is_identity = false;

        for (j = 0; j < sizeof(identity) / sizeof(identity[0]); j++)
            is_identity = is_identity || strcmp(t[i].name, identity[j]) == 0;
        parameter_tag(xml, t[i].name, tag, sizeof(tag));
        if (is_identity)
            ck_assert_msg(strstr(tag, "reloadable=") == NULL, "identity parameter %s is "
                          "reloadable: %s", t[i].name, tag);
        else
            ck_assert_msg(strstr(tag, "reloadable=\"1\""), "%s is not reloadable: %s",
                          t[i].name, tag);
    }
    /* pcs ignores unique in OCF 1.1: each identity is a group of its own */
    parameter_tag(xml, "config", tag, sizeof(tag));
    ck_assert_msg(strstr(tag, "unique-group=\"config\""), "%s", tag);
    parameter_tag(xml, "name", tag, sizeof(tag));
    ck_assert_msg(strstr(tag, "unique-group=\"name\""), "%s", tag);
    parameter_tag(xml, "migration_speed", tag, sizeof(tag));
    ck_assert_msg(strstr(tag, "unique-group") == NULL, "%s", tag);
    free(xml);
}
END_TEST

/* Every enumeration is a select with one option per value. */
START_TEST(test_metadata_1_1_select)
{
    char *xml = capture(write_metadata_1_1);
    const struct params_def *t = NULL;
    char element[8192];
    char want[128];
    size_t n = 0;
    size_t enums = 0;
    size_t i;
    size_t j;

    t = params_table(&n);
    for (i = 0; i < n; i++) {
        parameter_element(xml, t[i].name, element, sizeof(element));
        if (t[i].type != PARAMS_TYPE_ENUM) {
            ck_assert_msg(strstr(element, "select") == NULL, "%s", t[i].name);
            continue;
        }
        enums++;
        ck_assert_msg(strstr(element, "<content type=\"select\""), "%s is not a select",
                      t[i].name);
        for (j = 0; t[i].choices[j]; j++) {
            snprintf(want, sizeof(want), "<option value=\"%s\" />", t[i].choices[j]);
            ck_assert_msg(strstr(element, want), "%s lacks %s", t[i].name, want);
        }
    }
    ck_assert_uint_ge(enums, 3);
    free(xml);
}
END_TEST

/* rgmanager's names are deprecated, each replaced with ours. */
START_TEST(test_metadata_1_1_deprecated)
{
    static const char *const alias[][2] = {
        { "xmlfile", "config" }, { "hypervisor_uri", "hypervisor" },
        { "migration_uri", "remoteuri" },
    };
    char *xml = capture(write_metadata_1_1);
    char element[4096];
    char want[256];
    size_t i;

    for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
        parameter_element(xml, alias[i][0], element, sizeof(element));
        snprintf(want, sizeof(want), "<deprecated><replaced-with name=\"%s\" /></deprecated>",
                 alias[i][1]);
        ck_assert_msg(strstr(element, want), "%s lacks %s", alias[i][0], want);
    }
    parameter_element(xml, "config", element, sizeof(element));
    ck_assert_ptr_null(strstr(element, "<deprecated>"));
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
    add_test(s, test_metadata_1_1_valid_against_rng, 10);
    add_test(s, test_metadata_1_1_reloadable, 5);
    add_test(s, test_metadata_1_1_select, 5);
    add_test(s, test_metadata_1_1_deprecated, 5);
    add_test(s, test_usage, 5);
    add_test(s, test_exit_reason_one_line, 5);
    return check_run(s);
}
